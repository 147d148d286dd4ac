"""LocalBackend: one HF API request body in, the HF API's answer out, computed in this process.

:data:`HANDLERS` is the one list of the tasks the backend runs, each with the function that runs
it; :data:`UNSUPPORTED_TASKS` says why the others offered by the HF API are not run.
"""

from __future__ import annotations

from typing import Any, Callable

from ...errors import LocalModelError, LocalModelLoadError
from .. import LOCAL_UNSUPPORTED as UNSUPPORTED_TASKS
from . import audio, embeddings, questions, text, vision
from .models import ModelCache, ModelHandle, require_local_extra, resolve_model

#: What a handler is: ``(model, body, params) -> answer``. It checks ``params`` and the body's
#: inputs, loads the model through ``model`` (cached), runs it and returns the HF-API-shaped answer.
Handler = Callable[[ModelHandle, dict, dict], Any]

#: The tasks this backend runs, and how: the one place that says what is supported locally.
#: Most go through a ``transformers.pipeline``; extractive QA, summarization, translation and
#: captioning, whose pipelines transformers 5 removed, run the old pipelines' algorithms on the
#: model classes (:mod:`.extractive_qa`, :mod:`.seq2seq`); the embedding tasks use
#: sentence-transformers for sentence-transformers models.
HANDLERS: dict[str, Handler] = {
    "text-classification": text.text_classification,
    "zero-shot-classification": text.zero_shot_classification,
    "token-classification": text.token_classification,
    "question-answering": text.question_answering,
    "fill-mask": text.fill_mask,
    "summarization": text.summarization,
    "translation": text.translation,
    "text-generation": text.text_generation,
    "table-question-answering": text.table_question_answering,
    "feature-extraction": embeddings.feature_extraction,
    "sentence-similarity": embeddings.sentence_similarity,
    "image-classification": vision.image_classification,
    "object-detection": vision.object_detection,
    "image-to-text": vision.image_to_text,
    "automatic-speech-recognition": audio.speech_recognition,
    "audio-classification": audio.audio_classification,
    "text-to-speech": audio.text_to_speech,
    "visual-question-answering": questions.visual_question_answering,
    "document-question-answering": questions.document_question_answering,
}

#: Tasks :class:`LocalBackend` runs.
SUPPORTED_TASKS = frozenset(HANDLERS)


class LocalBackend(ModelCache):
    """Runs HF Inference API request bodies through local transformers models.

    >>> backend = LocalBackend(device="cpu")
    >>> backend.run("text-classification", "path/to/model", {"inputs": "I like you"})  # doctest: +SKIP
    [[{'label': 'POSITIVE', 'score': 0.99}, {'label': 'NEGATIVE', 'score': 0.01}]]

    Models load on first use and stay cached on the backend (see :class:`~.models.ModelCache`).

    Args:
        device: torch device (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``) or CUDA index
            (``-1`` = CPU). Default: CUDA when available, else CPU.
        batch_size: batch size of the pipeline / ``encode`` / ``generate`` calls when ``inputs``
            is a list.
    """

    def __repr__(self) -> str:
        return f"LocalBackend(device={self._device_spec!r}, batch_size={self.batch_size}, loaded={len(self._loaded)})"

    def run(self, task: str, model: str | None, body: dict) -> Any:
        """Run one HF API request body locally; return what the HF API would return for it.

        ``body`` is ``{"inputs": ..., "parameters": {...}}`` plus any root keys the task uses
        (``normalize``, ``truncate``, ``prompt_name``, ``truncation_direction`` for feature
        extraction; the legacy root-level ``question``/``context`` and ``query``/``table`` are
        accepted too). Media tasks also accept the raw bytes as the whole body, as the engine sends
        them when there are no parameters. When ``inputs`` is a list, the model runs once over
        it in batches of ``batch_size`` and one result per input is returned.

        Raises :class:`LocalModelError` (a ``ValueError``) for bad input, unknown parameters, an
        unsupported task or a model that cannot be loaded; ``ImportError`` when the ``local``
        extra is not installed.
        """
        handler = HANDLERS.get(task)
        if handler is None:
            why = UNSUPPORTED_TASKS.get(task)
            raise LocalModelLoadError(
                f"task {task!r} is not supported locally" + (f" ({why})" if why else "")
                + f"; supported: {', '.join(sorted(HANDLERS))}"
            )
        require_local_extra()
        if isinstance(body, (bytes, bytearray, memoryview)):
            body = {"inputs": bytes(body)}
        if not isinstance(body, dict):
            raise LocalModelError(f"{task}: the request body must be a dict, got {type(body).__name__}")
        params = body.get("parameters") or {}
        if not isinstance(params, dict):
            raise LocalModelError(f"{task}: 'parameters' must be an object, got {type(params).__name__}")
        return handler(ModelHandle(task, resolve_model(task, model), self), body, dict(params))
