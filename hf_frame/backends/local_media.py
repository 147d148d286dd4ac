"""``provider="local"`` for visual question answering, document question answering and
text-to-speech, registered in the local backend's handler table (:mod:`hf_frame.local`).

Each handler takes an HF API body and answers what the HF API would:

* **visual-question-answering**: ``{"inputs": {"image", "question"}`` (or a list of them),
  ``"parameters": {"top_k"}}`` -> ``[{answer, score}]`` best first. Classifier models (ViLT:
  one score per answer of the model's vocabulary, a sigmoid as the HF pipeline had) give the
  ``top_k`` best (5 by default); generative ones (BLIP) give their generated answer, no score.
  transformers 5 has no pipeline for it: the model and its processor are called directly.
* **document-question-answering**: the transformers pipeline. Donut models read the image
  themselves; LayoutLM-family models need OCR (``pytesseract`` and the ``tesseract`` binary).
  -> ``[{answer, score, start, end}]``.
* **text-to-speech**: the text-to-audio pipeline; the waveform is returned as 16-bit PCM WAV
  (a :class:`~hf_frame.formats.wire.BinaryAnswer`, as the HF API returns the file). A ``seed``
  parameter seeds torch for that text only (the process's random state is restored), so the
  same text and seed give the same sound.
"""

from __future__ import annotations

import io
import wave
from typing import Any, Callable

from ..formats.wire import BinaryAnswer

#: The HF pipelines' default number of VQA answers.
VQA_TOP_K = 5
#: Longest generated answer of a generative VQA model, in tokens.
VQA_MAX_NEW_TOKENS = 20
DOCUMENT_QA_PARAMETERS = frozenset({"top_k", "doc_stride", "max_answer_len", "max_seq_len", "max_question_len",
                                    "handle_impossible_answer", "lang", "word_boxes"})


def _image_and_question(task: str, item: Any) -> tuple[Any, str]:
    from ..local import LocalModelError, _to_image

    if not isinstance(item, dict) or not isinstance(item.get("question"), str) or item.get("image") is None:
        raise LocalModelError(f"{task}: each input must be {{'image': ..., 'question': str}}")
    return _to_image(item["image"], task), item["question"]


def _inputs(backend: Any, task: str, body: dict) -> tuple[list[tuple[Any, str]], bool]:
    if "inputs" not in body and "image" in body:  # the legacy root-level body
        body = {"inputs": {"image": body["image"], "question": body.get("question")}}
    items, many = backend._media_list(task, body)
    return [_image_and_question(task, item) for item in items], many


# -- visual question answering -----------------------------------------------------------------


def _load_vqa(task: str, model: str, device: str) -> tuple[Any, Any]:
    import transformers

    from ..local import _load_error

    try:
        processor = transformers.AutoProcessor.from_pretrained(model)
        net = transformers.AutoModelForVisualQuestionAnswering.from_pretrained(model)
    except ImportError:
        raise
    except Exception as exc:
        raise _load_error(task, model, exc) from exc
    net.to(device)
    net.eval()
    return net, processor


def _vqa_batch(net: Any, processor: Any, pairs: list, top_k: int | None, device: str) -> list[list[dict]]:
    import torch

    encoded = processor(images=[p[0] for p in pairs], text=[p[1] for p in pairs], return_tensors="pt",
                        padding=True).to(device)
    with torch.no_grad():
        if net.can_generate():
            ids = net.generate(**encoded, max_new_tokens=VQA_MAX_NEW_TOKENS)
            return [[{"answer": text.strip(), "score": None}] for text in processor.batch_decode(ids, skip_special_tokens=True)]
        probabilities = net(**encoded).logits.sigmoid()
    k = min(top_k or VQA_TOP_K, probabilities.shape[-1])
    scores, ids = probabilities.topk(k, dim=-1)
    labels = net.config.id2label
    return [[{"score": float(s), "answer": labels[int(i)]} for s, i in zip(row_scores, row_ids)]
            for row_scores, row_ids in zip(scores, ids)]


def visual_question_answering(backend: Any, task: str, model: str, body: dict, params: dict) -> Any:
    from ..local import _check_params

    _check_params(task, params, {"top_k"})
    pairs, many = _inputs(backend, task, body)
    loaded = backend._get(("visual-question-answering", model, backend.device),
                          lambda: _load_vqa(task, model, backend.device))

    def answer() -> list:
        net, processor = loaded.obj
        out: list = []
        for start in range(0, len(pairs), backend.batch_size):
            out += _vqa_batch(net, processor, pairs[start:start + backend.batch_size], params.get("top_k"),
                              backend.device)
        return out

    out = backend._call(loaded, task, answer)
    return out if many else out[0]


# -- document question answering ---------------------------------------------------------------


def document_question_answering(backend: Any, task: str, model: str, body: dict, params: dict) -> Any:
    from ..local import _check_params, _jsonable

    _check_params(task, params, DOCUMENT_QA_PARAMETERS)
    pairs, many = _inputs(backend, task, body)
    loaded = backend._pipeline(task, model)
    kwargs = {k: v for k, v in params.items() if v is not None}
    out = [backend._call(loaded, task, lambda p=p: loaded.obj(image=p[0], question=p[1], **kwargs)) for p in pairs]
    out = [_jsonable(o if isinstance(o, list) else [o]) for o in out]
    return out if many else out[0]


# -- text to speech ----------------------------------------------------------------------------


def wav_bytes(samples: Any, rate: int) -> bytes:
    """A waveform (floats in [-1, 1]; ``(n,)`` or ``(channels, n)``) as 16-bit PCM WAV bytes."""
    import numpy as np

    audio = np.asarray(samples, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[None, :]
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").T  # frames x channels, interleaved
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(audio.shape[0])
        w.setsampwidth(2)
        w.setframerate(int(rate))
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def _seeded(seed: int | None, device: str, fn: Callable[[], Any]) -> Any:
    """``fn()`` with torch seeded by ``seed`` (None: as is), the random state restored afterwards."""
    if seed is None:
        return fn()
    import torch

    with torch.random.fork_rng(devices=[] if not device.startswith("cuda") else None):
        torch.manual_seed(int(seed))
        return fn()


def text_to_speech(backend: Any, task: str, model: str, body: dict, params: dict) -> Any:
    from ..local import LocalModelError, _check_params

    _check_params(task, params, {"seed", "forward_params", "generate_kwargs"})
    text = body.get("inputs")
    if not isinstance(text, str) or not text.strip():
        raise LocalModelError(f"{task}: 'inputs' must be a non-empty string")
    loaded = backend._pipeline(task, model)
    kwargs = {k: params[k] for k in ("forward_params", "generate_kwargs") if params.get(k)}
    out = backend._call(loaded, task, lambda: _seeded(params.get("seed"), backend.device,
                                                        lambda: loaded.obj(text, **kwargs)))
    return BinaryAnswer(wav_bytes(out["audio"], out["sampling_rate"]), "audio/wav")


HANDLERS: dict[str, Callable[..., Any]] = {
    "visual-question-answering": visual_question_answering,
    "document-question-answering": document_question_answering,
    "text-to-speech": text_to_speech,
}
