"""fal-ai: speech recognition (one call) and image segmentation (queued), JSON bodies with the
file as a data URI.

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
from urllib.parse import urlsplit

from ....errors import RowRequestError
from .base import Helper, data_uri, expect, speech_answer

BASE_URL = "https://fal.run"
QUEUE_URL = "https://queue.fal.run"
OTHER_TASKS = ("text-to-image", "text-to-speech", "image-to-image", "text-to-video", "image-to-video",
               "audio-to-audio", "text-to-audio")
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


class Segmentation(_Fal):
    """Queued: submit, poll the status, fetch the result, then the mask."""

    task = "image-segmentation"

    def path(self, target):
        return f"/{target.model}" if target.direct else f"/{target.model}?_subdomain=queue"

    def body(self, call, target, hf):
        return {"image_url": data_uri(hf.inputs, hf.content_type or "image/png"), **hf.parameters,
                "sync_mode": True}, None, None

    async def finish(self, call, target, reply, poller):
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
            await poller.pause("the queued segmentation")
            answer = await poller.get(f"{base}{where}/status{query}")
            status = answer.get("status") if isinstance(answer, dict) else None
        result = await poller.get(f"{base}{where}{query}")
        image = result.get("image") if isinstance(result, dict) else None
        expect(isinstance(image, dict) and isinstance(image.get("url"), str), self.provider,
               "a segmentation {'image': {'url'}}", result)
        mask = await poller.download(image["url"])
        return [{"label": "mask", "score": None, "mask": base64.b64encode(mask).decode("ascii")}]


HELPERS: dict[str, Helper] = {"automatic-speech-recognition": SpeechRecognition(),
                              "image-segmentation": Segmentation()}


def direct_base(task: str) -> str:
    """fal's own base URL for a task: the queue host for queued tasks."""
    return QUEUE_URL if task == "image-segmentation" else BASE_URL
