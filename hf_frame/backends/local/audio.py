"""Handlers of the audio tasks: speech recognition and audio classification.

Inputs are WAV bytes (raw, base64 or a ``data:`` URL), ``{"raw", "sampling_rate"}`` dicts or bare
arrays; each is decoded to mono float32 samples at the sampling rate of the model's feature
extractor (so the model is loaded first).
"""

from __future__ import annotations

from typing import Any

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
