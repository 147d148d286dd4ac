"""Reading request bodies and shaping answers, for every handler of the in-process backend.

* media: the image/audio bytes of one input (raw, base64, ``data:`` URL), decoded to a PIL image
  or to mono float32 samples at the model's sampling rate (WAV only: there is no ffmpeg);
* inputs and parameters: the list of texts or items of a body, and the check that refuses
  parameters a task does not know;
* answers: model outputs as plain JSON values, as ``json.loads`` of the HF API's answer gives.
"""

from __future__ import annotations

import io
from typing import Any

from ...errors import LocalModelError, MediaError
from ...formats.cells import is_pil_image
from ...formats.wire import decode_base64

# ------------------------------------------------------------------------------------------------
# Media
# ------------------------------------------------------------------------------------------------


def media_bytes(value: Any, task: str) -> bytes:
    """Raw bytes of one image/audio input: bytes, or base64 text (optionally a ``data:`` URL), as
    the engine sends media either raw or base64-encoded in JSON."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, dict) and value.get("bytes") is not None:  # datasets-style {"bytes", "path"}
        return media_bytes(value["bytes"], task)
    if isinstance(value, str):
        try:
            return decode_base64(value, what="image/audio input")
        except MediaError:
            raise LocalModelError(f"{task}: expected image/audio bytes or base64 text, got a non-base64 string") from None
    raise LocalModelError(f"{task}: expected image/audio bytes or base64 text, got {type(value).__name__}")


def to_image(value: Any, task: str):
    """A PIL image from bytes / base64 / a PIL image."""
    from PIL import Image

    if is_pil_image(value):
        return value
    data = media_bytes(value, task)
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


def resample(samples: Any, rate: int, target: int) -> Any:
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


def to_audio(value: Any, task: str, target_rate: int | None) -> dict:
    """``{"raw": float32 mono array, "sampling_rate": sr}`` from WAV bytes / base64 / a raw dict."""
    import numpy as np

    if isinstance(value, dict) and "raw" in value:
        samples, rate = np.asarray(value["raw"], dtype=np.float32), int(value["sampling_rate"])
    elif isinstance(value, np.ndarray):
        if target_rate is None:
            raise LocalModelError(f"{task}: a bare array needs a sampling rate; pass {{'raw': ..., 'sampling_rate': ...}}")
        samples, rate = value.astype(np.float32), target_rate
    else:
        data = media_bytes(value, task)
        try:
            samples, rate = decode_wav(data)
        except ValueError as exc:
            raise LocalModelError(
                f"{task}: cannot decode audio locally ({exc}); only WAV is supported without ffmpeg -- "
                "convert the audio to WAV first"
            ) from None
    if target_rate:
        samples, rate = resample(samples, rate, target_rate), target_rate
    return {"raw": samples, "sampling_rate": rate}


# ------------------------------------------------------------------------------------------------
# Inputs and parameters
# ------------------------------------------------------------------------------------------------


def check_params(task: str, params: dict, allowed: set[str] | frozenset[str]) -> None:
    """Reject parameters this backend does not know for ``task``, instead of silently ignoring them."""
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise LocalModelError(
            f"{task}: parameter(s) {', '.join(map(repr, unknown))} not supported locally "
            f"(supported: {', '.join(sorted(allowed)) or 'none'})"
        )


def text_inputs(task: str, inputs: Any) -> tuple[list[str], bool]:
    """(list of texts, whether the caller sent a list)."""
    if isinstance(inputs, str):
        return [inputs], False
    if isinstance(inputs, (list, tuple)) and inputs and all(isinstance(t, str) for t in inputs):
        return list(inputs), True
    raise LocalModelError(f"{task}: 'inputs' must be a string or a non-empty list of strings, got {_describe(inputs)}")


def _describe(value: Any) -> str:
    """What a bad ``inputs`` was, for the error message: its type (and length and first item's type)."""
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)}" + (f" starting with {type(value[0]).__name__}" if value else "")
    return type(value).__name__


def listed(inputs: Any) -> tuple[list, bool]:
    """(the items of ``inputs``, whether the caller sent a list): a single item becomes a list of one."""
    many = isinstance(inputs, list)
    return (inputs if many else [inputs]), many


def root_inputs(body: dict, keys: tuple[str, ...]) -> Any:
    """``body["inputs"]``; for a legacy body without it, the dict of ``keys`` found at the body's root
    (``question``/``context``, ``query``/``table``)."""
    inputs = body.get("inputs")
    if inputs is None and keys[0] in body:
        inputs = {key: body.get(key) for key in keys}
    return inputs


def media_inputs(task: str, body: dict) -> tuple[list, bool]:
    """(the image/audio inputs of ``body``, whether the caller sent a list); refuses none or an empty list."""
    inputs = body.get("inputs")
    if inputs is None:
        raise LocalModelError(f"{task}: the body has no 'inputs'")
    items, many = listed(inputs)
    if not items:
        raise LocalModelError(f"{task}: 'inputs' is an empty list")
    return items, many


# ------------------------------------------------------------------------------------------------
# Answers
# ------------------------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """``value`` with numpy/torch scalars as Python numbers and tuples as lists, recursively,
    so that results are exactly what ``json.loads`` of the HF API response would give."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
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


def answer(out: list, many: bool) -> Any:
    """The JSON answer for per-input results ``out``: the list when the caller sent a list, else its only item."""
    return jsonable(out if many else out[0])
