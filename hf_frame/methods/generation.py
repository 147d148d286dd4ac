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

The docstrings describe what users call, ``df.hf.<method>(...)`` (they are the accessors' own):
called directly, each function returns the :class:`Job` that the accessor runs on the frame.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..config import SettingsKwargs, Unpack
from . import checks
from .job import Input, Job, make_job, prompt_inputs, reject_unknown, split_kwargs
from .kwargs import ImageToImageKwargs, TextToImageKwargs, TextToSpeechKwargs


def _seed(method: str, seed: Any, settings: SettingsKwargs, *, sends_derived: bool) -> tuple[dict, dict]:
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
                  prefix: str | None = None, **params: Unpack[TextToImageKwargs]) -> Job:
    """Text-to-image: an image generated from each row's prompt.

    Parameters
    ----------
    prompt : str
        A column of prompts, or a template filled from each row's columns, such as
        ``"A {animal} in the style of {painter}"``. A row with a missing value gets null outputs.
    negative_prompt : str, optional
        What the image should not show.
    width : int, optional
        The image width in pixels (default: the model's).
    height : int, optional
        The image height in pixels (default: the model's).
    seed : int, "auto" or None, default "auto"
        ``auto``: a seed derived from each prompt, so the same prompt gives the same image and a rerun comes from the cache; a whole number: sent as the ``seed`` of every row, answers cached under
        it; None: no seed, and nothing is read from or written to the cache (a fresh result every run).
    num_inference_steps : int, optional
        Denoising steps: more is slower and usually better (default: the model's).
    guidance_scale : float, optional
        How closely the image follows the prompt (default: the model's).
    model : str, optional
        A Hub model id; default ``black-forest-labs/FLUX.1-schnell``.
    parameters : dict, optional
        Extra API parameters, sent as given; they win over the named arguments.
    prefix : str, optional
        The output columns' prefix, instead of the prompt column's name (``text_to_image`` for a
        template).
    dry_run : bool, default False
        Return what the call would send and cost (a :class:`~hf_frame.methods.plan.Plan`: rows,
        unique inputs, cached answers, requests, tokens, dollars) instead of running it; nothing is
        sent. Not on ``Expr.hf``.
    **params
        Settings for this call (:class:`~hf_frame.SettingsKwargs`), and other text-to-image
        parameters (``scheduler``...; see :class:`~hf_frame.methods.kwargs.TextToImageKwargs`): any
        keyword that is not a setting.

    Returns
    -------
    DataFrame
        The frame with these columns added, named ``<prompt column>_<field>``
        (``text_to_image_<field>`` for a template), of the Arrow types below (``pd.ArrowDtype`` in
        pandas, the matching dtypes in polars). ``Series.hf`` returns the fields alone,
        ``LazyFrame.hf`` adds them to the plan, ``Expr.hf`` is one struct of them:

        * ``image`` (binary): the image as the model returned it (PNG, JPEG...);
          :func:`hf_frame.save_media` writes a column of them to files;
        * ``image_format`` (string): its format (``png``, ``jpeg``...);
        * ``error`` (string): null, or why the row failed.

    Examples
    --------
    >>> out = df.hf.text_to_image("prompt", width=512, height=512)          # doctest: +SKIP
    >>> PIL.Image.open(io.BytesIO(out["prompt_image"][0]))                  # doctest: +SKIP
    >>> hf_frame.save_media(out["prompt_image"], "renders")                 # doctest: +SKIP
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
                   parameters: dict | None = None, prefix: str | None = None,
                   **params: Unpack[ImageToImageKwargs]) -> Job:
    """Image-to-image: each image edited, restyled or upscaled, as an instruction says.

    Parameters
    ----------
    image : str
        The image column; cells as for the other vision methods (paths, URLs, bytes, PIL images,
        files). On ``Series.hf`` and ``Expr.hf`` the series or expression itself is this input.
    prompt : str, optional
        The instruction: a column, or one text for every row (a row whose prompt cell is missing
        gets null outputs).
    seed : int, "auto" or None, default "auto"
        ``auto``: the API has no seed for this task, so none is sent and the first answer per image and prompt is cached; a whole number: sent as the ``seed`` of every row, answers cached under
        it; None: no seed, and nothing is read from or written to the cache (a fresh result every run).
    model : str, optional
        A Hub model id; default ``black-forest-labs/FLUX.1-Kontext-dev``.
    parameters : dict, optional
        Extra API parameters, sent as given; they win over the named arguments.
    prefix : str, optional
        The output columns' prefix, instead of the input column's name.
    dry_run : bool, default False
        Return what the call would send and cost (a :class:`~hf_frame.methods.plan.Plan`: rows,
        unique inputs, cached answers, requests, tokens, dollars) instead of running it; nothing is
        sent. Not on ``Expr.hf``.
    **params
        Settings for this call (:class:`~hf_frame.SettingsKwargs`), and image-to-image parameters
        (``negative_prompt``, ``guidance_scale``, ``num_inference_steps``, ``target_size``...; see
        :class:`~hf_frame.methods.kwargs.ImageToImageKwargs`): any keyword that is not a setting.
        With no parameter at all the image is sent as the raw body.

    Returns
    -------
    DataFrame
        The frame with these columns added, named ``<image column>_<field>``, of the Arrow types
        below (``pd.ArrowDtype`` in pandas, the matching dtypes in polars). ``Series.hf`` returns
        the fields alone, ``LazyFrame.hf`` adds them to the plan, ``Expr.hf`` is one struct of them:

        * ``image`` (binary): the new image as the model returned it;
        * ``error`` (string): null, or why the row failed.

    Examples
    --------
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
                   parameters: dict | None = None, prefix: str | None = None,
                   **params: Unpack[TextToSpeechKwargs]) -> Job:
    """Text-to-speech: the spoken sound of each row's text.

    Parameters
    ----------
    text : str
        The text column. On ``Series.hf`` and ``Expr.hf`` the series or expression itself is this
        input. Missing values and empty strings give null outputs and send nothing.
    seed : int, "auto" or None, default "auto"
        ``auto``: no seed is sent and the first answer per text is cached; a whole number: sent as the ``seed`` of every row, answers cached under
        it; None: no seed, and nothing is read from or written to the cache (a fresh result every run).
    model : str, optional
        A Hub model id (with ``provider="local"`` also a local directory); default
        ``hexgrad/Kokoro-82M``.
    parameters : dict, optional
        Extra API parameters, sent as given; they win over the named arguments.
    prefix : str, optional
        The output columns' prefix, instead of the input column's name.
    dry_run : bool, default False
        Return what the call would send and cost (a :class:`~hf_frame.methods.plan.Plan`: rows,
        unique inputs, cached answers, requests, tokens, dollars) instead of running it; nothing is
        sent. Not on ``Expr.hf``.
    **params
        Settings for this call (:class:`~hf_frame.SettingsKwargs`), and text-to-speech parameters
        (``generation_parameters``, a provider's ``voice``...; see
        :class:`~hf_frame.methods.kwargs.TextToSpeechKwargs`): any keyword that is not a setting.

    Returns
    -------
    DataFrame
        The frame with these columns added, named ``<text column>_<field>``, of the Arrow types
        below (``pd.ArrowDtype`` in pandas, the matching dtypes in polars). ``Series.hf`` returns
        the fields alone, ``LazyFrame.hf`` adds them to the plan, ``Expr.hf`` is one struct of them:

        * ``audio`` (binary): the sound as the model returned it (FLAC, WAV, MP3...);
        * ``audio_format`` (string): its format (``flac``, ``wav``...);
        * ``error`` (string): null, or why the row failed.

    Examples
    --------
    >>> df.hf.text_to_speech("line")["line_audio"]                            # doctest: +SKIP
    """
    settings, extra = split_kwargs(params)
    seeded, options = _seed("text_to_speech", seed, settings, sends_derived=False)
    return make_job("text_to_speech", "text-to-speech", [Input("text", text)], model=model, parameters=parameters,
                    wire={**extra, **seeded}, options=options, prefix=prefix, settings=settings)


def audio_to_audio(audio: Any, *, model: str | None = None, parameters: dict | None = None,
                   prefix: str | None = None, **settings: Unpack[SettingsKwargs]) -> Job:
    """Audio-to-audio: the sounds a model makes of each clip (source separation, speech enhancement).

    Parameters
    ----------
    audio : str
        The audio column (paths, URLs, bytes, files). On ``Series.hf`` and ``Expr.hf`` the series or
        expression itself is this input. Missing cells give null outputs and send nothing.
    model : str, optional
        A Hub model id; default ``speechbrain/sepformer-wham``.
    parameters : dict, optional
        Extra API parameters, sent as given; they win over the named arguments.
    prefix : str, optional
        The output columns' prefix, instead of the input column's name.
    dry_run : bool, default False
        Return what the call would send and cost (a :class:`~hf_frame.methods.plan.Plan`: rows,
        unique inputs, cached answers, requests, tokens, dollars) instead of running it; nothing is
        sent. Not on ``Expr.hf``.
    **settings
        Settings for this call only, any of :class:`~hf_frame.SettingsKwargs`
        (``max_concurrency=8``, ``cache=False``, ``errors="raise"``, ``provider="local"``...).

    Returns
    -------
    DataFrame
        The frame with these columns added, named ``<audio column>_<field>``, of the Arrow types
        below (``pd.ArrowDtype`` in pandas, the matching dtypes in polars). ``Series.hf`` returns
        the fields alone, ``LazyFrame.hf`` adds them to the plan, ``Expr.hf`` is one struct of them:

        * ``outputs`` (list<struct<label: string, audio: binary, content_type: string>>): one sound
          per output of the model (``audio``: its bytes);
        * ``error`` (string): null, or why the row failed.

    Examples
    --------
    >>> df.hf.audio_to_audio("recording")["recording_outputs"]               # doctest: +SKIP
    """
    settings, extra = split_kwargs(settings)
    reject_unknown("audio_to_audio", extra)
    return make_job("audio_to_audio", "audio-to-audio", [Input("audio", audio)], model=model,
                    parameters=parameters, prefix=prefix, settings=settings)


__all__ = ["audio_to_audio", "image_to_image", "text_to_image", "text_to_speech"]
