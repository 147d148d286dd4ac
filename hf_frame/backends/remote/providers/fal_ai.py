"""fal-ai: speech recognition, text-to-image and text-to-speech (one call), image segmentation and
image-to-image (queued); JSON bodies with files as data URIs, results as file URLs (downloaded,
without any token).

* ``text_to_image``: ``{"prompt", "image_size": {"width", "height"}, "seed"...}`` ->
  ``{"images": [{"url"}]}``; ``text_to_speech``: ``{"text", ...}`` -> ``{"audio": {"url"}}``;
  ``image_to_image`` (queued like ``segment``): ``{"image_url", "image_urls", "prompt"...}`` ->
  ``{"images": [{"url"}]}``.

* ``transcribe``: ``POST {base}/{provider id}`` ``{"audio_url": "data:audio/...;base64,..."}`` ->
  ``{"text", "chunks"?}`` (``output`` instead of ``text`` for some models).
* ``segment``: ``POST {base}/{provider id}?_subdomain=queue`` (direct: https://queue.fal.run)
  ``{"image_url": ..., "sync_mode": true}`` -> ``{"request_id", "status", "response_url"}``; then
  ``GET .../requests/{id}/status`` until ``COMPLETED`` and ``GET .../requests/{id}`` ->
  ``{"image": {"url"}}``: one mask, labelled ``mask`` (fal gives no labels or scores).

A direct call (fal's own key) is authenticated with ``Authorization: Key <key>``.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlsplit

from ....errors import RowRequestError
from .base import Helper, data_uri, expect, first_url, speech_answer

BASE_URL = "https://fal.run"
QUEUE_URL = "https://queue.fal.run"
OTHER_TASKS = ("text-to-video", "image-to-video", "audio-to-audio", "text-to-audio")
# fal maps a data URI's type to a file extension and refuses types it cannot map: send the
# labels it accepts for the same bytes (checked by huggingface.js against fal-ai/whisper).
_AUDIO_TYPES = {"audio/wav": "audio/x-wav", "audio/wave": "audio/x-wav", "audio/x-wav": "audio/x-wav",
                "audio/mpeg": "audio/mpeg", "audio/mp3": "audio/mpeg", "audio/webm": "video/webm",
                "video/webm": "video/webm"}
_PENDING = ("IN_QUEUE", "IN_PROGRESS")


class _Fal(Helper):
    provider = "fal-ai"

    def path(self, target):
        return f"/{target.model}"

    def auth(self, token):
        return {"Authorization": f"Key {token}"} if token else {}


class SpeechRecognition(_Fal):
    task = "automatic-speech-recognition"

    def body(self, call, target, hf):
        ctype = _AUDIO_TYPES.get((hf.content_type or "").split(";")[0].lower(), hf.content_type)
        params = {k: v for k, v in hf.parameters.items() if k != "return_timestamps"}
        if hf.parameters.get("return_timestamps"):
            params["chunk_level"] = "word" if hf.parameters["return_timestamps"] == "word" else "segment"
        return {"audio_url": data_uri(hf.inputs, ctype), **params}, None, None

    def answer(self, call, target, body):
        return speech_answer(body, self.provider)


class _Queued(_Fal):
    """A queued fal app: submit, poll the status until ``COMPLETED``, then fetch the result."""

    what = "the queued request"

    def path(self, target):
        return f"/{target.model}" if target.direct else f"/{target.model}?_subdomain=queue"

    async def result(self, call, target, reply, poller) -> Any:
        queued = reply.body
        expect(isinstance(queued, dict) and queued.get("request_id") and queued.get("response_url"),
               self.provider, "a queued request {'request_id', 'response_url'}", queued)
        # The result's path comes from the answer: it may name another app than the mapping did.
        where = urlsplit(queued["response_url"]).path
        query = "" if target.direct else "?_subdomain=queue"
        base = target.base.rstrip("/")
        status = queued.get("status")
        while status != "COMPLETED":
            if status not in _PENDING and status is not None:
                raise RowRequestError(f"fal-ai: the queued request ended with status {status!r}",
                                      task=self.task, model=call.model or "")
            await poller.pause(self.what)
            answer = await poller.get(f"{base}{where}/status{query}")
            status = answer.get("status") if isinstance(answer, dict) else None
        return await poller.get(f"{base}{where}{query}")


class Segmentation(_Queued):
    """Queued: submit, poll the status, fetch the result, then the mask."""

    task = "image-segmentation"
    what = "the queued segmentation"

    def body(self, call, target, hf):
        return {"image_url": data_uri(hf.inputs, hf.content_type or "image/png"), **hf.parameters,
                "sync_mode": True}, None, None

    async def finish(self, call, target, reply, poller):
        result = await self.result(call, target, reply, poller)
        image = result.get("image") if isinstance(result, dict) else None
        expect(isinstance(image, dict) and isinstance(image.get("url"), str), self.provider,
               "a segmentation {'image': {'url'}}", result)
        mask = await poller.download(image["url"])
        return [{"label": "mask", "score": None, "mask": base64.b64encode(mask).decode("ascii")}]


class TextToImage(_Fal):
    """``{"prompt", "image_size": {"width", "height"}, ...}`` -> ``{"images": [{"url"}]}``; the image is downloaded."""

    task = "text-to-image"

    def body(self, call, target, hf):
        body: dict[str, Any] = {"prompt": hf.inputs, **hf.parameters}
        if "width" in body and "height" in body:
            body["image_size"] = {"width": body.pop("width"), "height": body.pop("height")}
        return body, None, None

    async def finish(self, call, target, reply, poller):
        images = reply.body.get("images") if isinstance(reply.body, dict) else None
        return await poller.download_file(first_url(images, self.provider, "an image {'images': [{'url'}]}"))


class TextToSpeech(_Fal):
    """``{"text", ...}`` -> ``{"audio": {"url"}}``; the sound is downloaded."""

    task = "text-to-speech"

    def body(self, call, target, hf):
        return {"text": hf.inputs, **hf.parameters}, None, None

    async def finish(self, call, target, reply, poller):
        audio = reply.body.get("audio") if isinstance(reply.body, dict) else None
        return await poller.download_file(first_url(audio, self.provider, "a sound {'audio': {'url'}}"))


class ImageToImage(_Queued):
    """Queued: ``{"image_url", "image_urls", "prompt", ...}`` -> ``{"images": [{"url"}]}``."""

    task = "image-to-image"
    what = "the queued image"

    def body(self, call, target, hf):
        image = data_uri(hf.inputs, hf.content_type or "image/png")
        parameters = dict(hf.parameters)
        if "target_size" in parameters:
            parameters["image_size"] = parameters.pop("target_size")
        return {"image_url": image, "image_urls": [image], **parameters}, None, None

    async def finish(self, call, target, reply, poller):
        result = await self.result(call, target, reply, poller)
        images = result.get("images") if isinstance(result, dict) else None
        return await poller.download_file(first_url(images, self.provider, "an image {'images': [{'url'}]}"))


HELPERS: dict[str, Helper] = {"automatic-speech-recognition": SpeechRecognition(),
                              "image-segmentation": Segmentation(), "text-to-image": TextToImage(),
                              "text-to-speech": TextToSpeech(), "image-to-image": ImageToImage()}
QUEUED_TASKS = frozenset(task for task, helper in HELPERS.items() if isinstance(helper, _Queued))


def direct_base(task: str) -> str:
    """fal's own base URL for a task: the queue host for queued tasks."""
    return QUEUE_URL if task in QUEUED_TASKS else BASE_URL
