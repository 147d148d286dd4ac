"""Handlers of the image tasks: image classification, object detection and captioning.

Inputs are image bytes (raw, base64 or a ``data:`` URL) or PIL images, one per input; each is
decoded to an RGB PIL image before the model is loaded.
"""

from __future__ import annotations

from typing import Any

from .decoding import answer, check_params, media_inputs, to_image
from .models import ModelHandle
from .seq2seq import GENERATE_DICTS, GENERATE_KEYS, caption, generation_kwargs


def _images(model: ModelHandle, body: dict, params: dict, allowed: set[str]) -> tuple[list, bool]:
    """(the decoded images of ``body``, whether the caller sent a list), after checking ``params``."""
    check_params(model.task, params, allowed)
    items, many = media_inputs(model.task, body)
    return [to_image(x, model.task) for x in items], many


def _image_pipeline(model: ModelHandle, body: dict, params: dict, allowed: set[str]) -> Any:
    """Run the task's pipeline over the images; the HF API parameters are the pipeline's own."""
    images, many = _images(model, body, params, allowed)
    kwargs = {k: v for k, v in params.items() if v is not None}
    return answer(model.per_input(model.pipeline(), images, **kwargs), many)


def image_classification(model: ModelHandle, body: dict, params: dict) -> Any:
    """``[{label, score}]`` per image, best first."""
    return _image_pipeline(model, body, params, {"top_k", "function_to_apply"})


def object_detection(model: ModelHandle, body: dict, params: dict) -> Any:
    """``[{label, score, box: {xmin, ymin, xmax, ymax}}]`` per image."""
    return _image_pipeline(model, body, params, {"threshold"})


def image_to_text(model: ModelHandle, body: dict, params: dict) -> Any:
    """Captioning with ``generate`` (transformers 5 replaced the image-to-text pipeline with a
    chat-oriented image-text-to-text one that needs a multimodal processor)."""
    images, many = _images(model, body, params, GENERATE_KEYS | set(GENERATE_DICTS))
    loaded = model.generator(vision=True)
    kwargs = generation_kwargs(params)
    texts = model.compute(loaded, lambda: caption(loaded.obj, images, kwargs, model.batch_size, model.device))
    out = [[{"generated_text": t.strip()}] for t in texts]
    return out if many else out[0]
