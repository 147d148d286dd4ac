"""Handlers of the audio tasks: speech recognition, audio classification and text-to-speech.

Inputs are WAV bytes (raw, base64 or a ``data:`` URL), ``{"raw", "sampling_rate"}`` dicts or bare
arrays; each is decoded to mono float32 samples at the sampling rate of the model's feature
extractor (so the model is loaded first). Text-to-speech answers the sound as 16-bit PCM WAV (a
:class:`~hf_frame.formats.wire.BinaryAnswer`, as the HF API answers the file); a ``seed``
parameter seeds torch for that text only (the process's random state is restored), so the same
text and seed give the same sound.
"""

from __future__ import annotations

import io
import wave
from typing import Any, Callable

from ...errors import LocalModelError
from ...formats.wire import BinaryAnswer
from .decoding import answer, check_params, media_inputs, to_audio
from .models import ModelHandle
from .seq2seq import GENERATE_DICTS, generation_kwargs


def _audio_pipeline(model: ModelHandle, body: dict, params: dict, allowed: set[str]) -> Any:
    """Run the task's pipeline over the clips, resampled for its feature extractor."""
    check_params(model.task, params, allowed)
    items, many = media_inputs(model.task, body)
    loaded = model.pipeline()
    extractor = getattr(loaded.obj, "feature_extractor", None)
    rate = getattr(extractor, "sampling_rate", None)
    audios = [to_audio(x, model.task, rate) for x in items]
    kwargs = {k: v for k, v in params.items() if v is not None and k not in GENERATE_DICTS}
    generate = generation_kwargs({k: v for k, v in params.items() if k in GENERATE_DICTS})
    if generate:
        kwargs["generate_kwargs"] = generate
    if kwargs.get("return_timestamps") is True and getattr(loaded.obj, "type", None) in ("ctc", "ctc_with_lm"):
        # The HF API's boolean means word timestamps for CTC models (which take "char"/"word").
        kwargs["return_timestamps"] = "word"
    return answer(model.per_input(loaded, audios, **kwargs), many)


def speech_recognition(model: ModelHandle, body: dict, params: dict) -> Any:
    """``{"text"}`` (plus ``chunks`` with timestamps) per clip."""
    return _audio_pipeline(model, body, params,
                           {"return_timestamps", "chunk_length_s", "stride_length_s", *GENERATE_DICTS})


def audio_classification(model: ModelHandle, body: dict, params: dict) -> Any:
    """``[{label, score}]`` per clip, best first."""
    return _audio_pipeline(model, body, params, {"top_k", "function_to_apply"})


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


def text_to_speech(model: ModelHandle, body: dict, params: dict) -> Any:
    """The sound of one text, as WAV (the text-to-audio pipeline's waveform)."""
    check_params(model.task, params, {"seed", "forward_params", "generate_kwargs"})
    text = body.get("inputs")
    if not isinstance(text, str) or not text.strip():
        raise LocalModelError(f"{model.task}: 'inputs' must be a non-empty string")
    loaded = model.pipeline()
    kwargs = {k: params[k] for k in ("forward_params", "generate_kwargs") if params.get(k)}
    out = model.compute(loaded, lambda: _seeded(params.get("seed"), model.device, lambda: loaded.obj(text, **kwargs)))
    return BinaryAnswer(wav_bytes(out["audio"], out["sampling_rate"]), "audio/wav")
