"""The in-process backend behind ``provider="local"``: run transformers models on this machine.

The engine never talks to models directly: for every request it builds the JSON body it would POST
to the Hugging Face Inference API (``{"inputs": ..., "parameters": {...}}``), and
:class:`LocalBackend` answers that body in this process with a Python object of **the same shape
the HF API returns** (``[[{"label", "score"}]]`` for text classification, ``{"answer", "score",
"start", "end"}`` for question answering, ...), so one parser per task serves both backends and
this one is a drop-in way to work offline, on private models or on a GPU. ``LocalBackend.run``
looks the task up in one table (:data:`~.backend.HANDLERS`), resolves and caches the model
(:mod:`.models`), and hands a per-modality handler (:mod:`.text`, :mod:`.vision`, :mod:`.audio`,
:mod:`.embeddings`) the model, the body and its parameters; the handlers decode inputs and check
parameters with :mod:`.decoding`, and the two algorithms whose pipelines transformers 5 removed live
in :mod:`.extractive_qa` and :mod:`.seq2seq`. :mod:`.dispatch` runs a body off the event loop for
the engine. ``torch``, ``transformers`` and ``sentence-transformers`` are imported only inside
functions, so importing this package is cheap and works without the ``local`` extra installed.
"""

from ...errors import LocalModelError, LocalModelLoadError
from .backend import SUPPORTED_TASKS, UNSUPPORTED_TASKS, LocalBackend
from .decoding import decode_wav
from .models import EMBEDDING_TASKS, minilm_path

__all__ = [
    "EMBEDDING_TASKS",
    "SUPPORTED_TASKS",
    "UNSUPPORTED_TASKS",
    "LocalBackend",
    "LocalModelError",
    "LocalModelLoadError",
    "decode_wav",
    "minilm_path",
]
