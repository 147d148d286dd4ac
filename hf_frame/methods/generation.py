"""The generation methods: images from text, images from images, speech from text, sounds from
sounds. Each output is a column of bytes, exactly as the model returned them (PNG/JPEG images,
FLAC/WAV... sounds); nothing is written to disk (:func:`hf_frame.save_media` does it when asked).

================  ===============  ==========================================================
method            HF task          fields
================  ===============  ==========================================================
text_to_image     text-to-image    image (binary), image_format (``"png"``, ``"jpeg"``...)
image_to_image    image-to-image   image (binary)
text_to_speech    text-to-speech   audio (binary), audio_format (``"flac"``, ``"wav"``...)
audio_to_audio    audio-to-audio   outputs: list<label, audio (binary), content_type>
================  ===============  ==========================================================

Seeds. A generated image differs from run to run, so answers are cached and deduplicated only
when the request is reproducible; ``seed`` says how:

* ``"auto"`` (default): ``text_to_image`` sends a seed derived from the row's prompt (the
  first 31 bits of its sha256), so the same prompt gives the same image, a rerun is served from
  the cache, and a lost cache reproduces it. ``image_to_image`` and ``text_to_speech`` have no
  seed in the Hugging Face API: ``"auto"`` sends none and caches the first answer per input.
* an integer: sent as the ``seed`` parameter for every row; answers are cached under it.
* ``None``: no seed is sent and nothing is read from or written to the cache for this call
  (a fresh result every run). Identical inputs within the call still share one request.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from . import checks
from .job import Input, Job, make_job, prompt_inputs, reject_unknown, split_kwargs


def _seed(method: str, seed: Any, settings: dict, *, sends_derived: bool) -> tuple[dict, dict]:
    """(API parameters, options) for a ``seed`` argument; ``None`` turns the cache off."""
    if seed is None:
        settings["cache"] = False
        return {}, {}
    if isinstance(seed, str) and seed == "auto":
        return {}, ({"seed": "auto"} if sends_derived else {})
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise ValueError(f"{method}: seed must be 'auto', None or a non-negative integer, got {seed!r}")
    return {"seed": seed}, {}


def text_to_image(prompt: Any, *, negative_prompt: str | None = None, width: int | None = None,
                  height: int | None = None, seed: int | str | None = "auto", num_inference_steps: int | None = None,
                  guidance_scale: float | None = None, model: str | None = None, parameters: dict | None = None,
                  prefix: str | None = None, **params: Any) -> Job:
    """Text-to-image. Outputs ``image`` (the bytes as returned: JPEG or PNG...) and ``image_format``.

    ``prompt``: a column, or a template filled from the row (``"A {animal} in the style of
    {painter}"``; a row with a missing value gets null outputs). ``negative_prompt``, ``width``,
    ``height``, ``num_inference_steps``, ``guidance_scale`` and other keywords are sent as API
    parameters. ``seed``: ``"auto"`` (a seed derived from each prompt: reproducible and cached),
    an integer for every row, or None (nothing cached); see :mod:`hf_frame.methods.generation`.

    >>> out = df.hf.text_to_image("prompt", width=512, height=512)          # doctest: +SKIP
    >>> PIL.Image.open(io.BytesIO(out["prompt_image"][0]))                  # doctest: +SKIP
    """
    settings, extra = split_kwargs(params)
    for name, value in (("width", width), ("height", height), ("num_inference_steps", num_inference_steps)):
        checks.positive_int("text_to_image", name, value)
    if negative_prompt is not None and not isinstance(negative_prompt, str):
        raise TypeError(f"text_to_image: negative_prompt must be a string or None, got {type(negative_prompt).__name__}")
    seeded, options = _seed("text_to_image", seed, settings, sends_derived=True)
    template, inputs = prompt_inputs(prompt)
    wire = {"negative_prompt": negative_prompt, "width": width, "height": height,
            "num_inference_steps": num_inference_steps, "guidance_scale": guidance_scale, **extra, **seeded}
    job = make_job("text_to_image", "text-to-image", inputs, model=model, parameters=parameters, wire=wire,
                   options=options, prefix=prefix or ("text_to_image" if template else None), settings=settings)
    if template is not None:
        job.calls[0] = dataclasses.replace(job.calls[0], view={"template": template})
    return job


def image_to_image(image: Any, *, prompt: Any = None, seed: int | str | None = "auto", model: str | None = None,
                   parameters: dict | None = None, prefix: str | None = None, **params: Any) -> Job:
    """Image-to-image (edits, restyling, upscaling). Output ``image`` (bytes as returned).

    ``prompt``: the instruction, a column or a literal text for every row (a row whose prompt
    cell is missing gets null outputs). Other keywords (``negative_prompt``, ``guidance_scale``,
    ``num_inference_steps``, ``target_size``...) are API parameters; with none the image is sent
    as the raw body. ``seed``: see :mod:`hf_frame.methods.generation` (``"auto"`` caches the first
    answer per image and prompt; None caches nothing).

    >>> df.hf.image_to_image("photo", prompt="Turn the cat into a tiger")   # doctest: +SKIP
    """
    settings, extra = split_kwargs(params)
    seeded, options = _seed("image_to_image", seed, settings, sends_derived=False)
    inputs = [Input("image", image)]
    if prompt is not None:
        inputs.append(Input("prompt", prompt, literal_ok=True))
    return make_job("image_to_image", "image-to-image", inputs, model=model, parameters=parameters,
                    wire={**extra, **seeded}, options=options, prefix=prefix, settings=settings)


def text_to_speech(text: Any, *, seed: int | str | None = "auto", model: str | None = None,
                   parameters: dict | None = None, prefix: str | None = None, **params: Any) -> Job:
    """Text-to-speech. Outputs ``audio`` (bytes as returned: FLAC, WAV, MP3...) and ``audio_format``.

    Keywords other than settings are API parameters (generation options, a provider's
    ``voice``...). ``seed``: see :mod:`hf_frame.methods.generation` (``"auto"`` caches the first
    answer per text; an integer is sent as ``seed``; None caches nothing).

    >>> df.hf.text_to_speech("line")["line_audio"]                            # doctest: +SKIP
    """
    settings, extra = split_kwargs(params)
    seeded, options = _seed("text_to_speech", seed, settings, sends_derived=False)
    return make_job("text_to_speech", "text-to-speech", [Input("text", text)], model=model, parameters=parameters,
                    wire={**extra, **seeded}, options=options, prefix=prefix, settings=settings)


def audio_to_audio(audio: Any, *, model: str | None = None, parameters: dict | None = None,
                   prefix: str | None = None, **settings: Any) -> Job:
    """Audio-to-audio (source separation, speech enhancement). Output ``outputs``: a list of
    ``{label, audio, content_type}``, one per sound the model returns (``audio``: bytes).

    >>> df.hf.audio_to_audio("recording")["recording_outputs"]               # doctest: +SKIP
    """
    settings, extra = split_kwargs(settings)
    reject_unknown("audio_to_audio", extra)
    return make_job("audio_to_audio", "audio-to-audio", [Input("audio", audio)], model=model,
                    parameters=parameters, prefix=prefix, settings=settings)


__all__ = ["audio_to_audio", "image_to_image", "text_to_image", "text_to_speech"]
