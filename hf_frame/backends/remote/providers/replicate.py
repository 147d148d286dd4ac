"""replicate: speech recognition, text-to-image, text-to-speech and image-to-image through the
predictions API.

``POST {base}/v1/models/{owner}/{name}/predictions`` (or ``/v1/predictions`` with ``"version"``
when the provider id is ``owner/name:version``), header ``Prefer: wait``, body
``{"input": {"audio": "data:...;base64,...", ...}}`` -> a prediction ``{"id", "status", "output"}``.
A prediction still ``starting``/``processing`` is polled at ``GET {base}/v1/predictions/{id}``
until it ``succeeded`` (or ``failed``/``canceled``: a row error), for at most the call's timeout.
Inputs: ``{"audio"}`` (speech recognition), ``{"prompt", ...}`` (text-to-image), ``{"text", ...}``
(text-to-speech), the image under ``image``, ``images``, ``input_image`` and ``input_images``
(image-to-image). Outputs: a string, a list of strings, or ``{"transcription" | "translation" |
"txt_file"}`` for speech recognition; a file URL (or a list of them) for the others, downloaded
without any token.
"""

from __future__ import annotations

from typing import Any

from ....errors import RowRequestError
from .base import Helper, data_uri, expect, first_url

BASE_URL = "https://api.replicate.com"
OTHER_TASKS = ("text-to-video",)
_PENDING = ("starting", "processing")


class _Prediction(Helper):
    """The predictions API: one ``{"input": {...}}`` body, then the prediction polled until done."""

    provider = "replicate"

    def path(self, target):
        return "/v1/predictions" if ":" in target.model else f"/v1/models/{target.model}/predictions"

    def headers(self, target):
        return {"Prefer": "wait"}

    def inputs(self, hf) -> dict[str, Any]:
        """The prediction's ``input`` for the task's hf-inference body."""
        raise NotImplementedError

    def body(self, call, target, hf):
        body: dict[str, Any] = {"input": self.inputs(hf)}
        if ":" in target.model:
            body["version"] = target.model.split(":", 1)[1]
        return body, None, None

    async def output(self, call, target, reply, poller) -> Any:
        """The ``output`` of the prediction, once it ``succeeded`` (a row error when it did not)."""
        prediction = reply.body
        expect(isinstance(prediction, dict) and "status" in prediction, self.provider,
               "a prediction {'id', 'status', 'output'}", prediction)
        while prediction.get("status") in _PENDING:
            expect(bool(prediction.get("id")), self.provider, "a prediction id to poll", prediction)
            await poller.pause("the prediction")
            prediction = await poller.get(f"{target.base.rstrip('/')}/v1/predictions/{prediction['id']}")
            expect(isinstance(prediction, dict), self.provider, "a prediction", prediction)
        if prediction.get("status") != "succeeded":
            raise RowRequestError(f"replicate: the prediction {prediction.get('status')}: "
                                  f"{prediction.get('error') or 'no details'}", task=self.task, model=call.model or "")
        return prediction.get("output")


class SpeechRecognition(_Prediction):
    task = "automatic-speech-recognition"

    def inputs(self, hf):
        return {"audio": data_uri(hf.inputs, hf.content_type or "audio/wav"), **hf.parameters}

    async def finish(self, call, target, reply, poller):
        return {"text": await self._text(await self.output(call, target, reply, poller), poller)}

    async def _text(self, output: Any, poller) -> str:
        if isinstance(output, list) and output:
            output = output[0]
        if isinstance(output, str):
            return output
        if isinstance(output, dict):
            for key in ("transcription", "translation"):
                if isinstance(output.get(key), str):
                    return output[key]
            if isinstance(output.get("txt_file"), str):
                return (await poller.download(output["txt_file"])).decode("utf-8", "replace")
        raise ValueError(f"replicate: expected a transcription in the prediction's output, got {str(output)[:160]}")


class _FileOutput(_Prediction):
    """A prediction whose output is a file URL (or a list of them): the first file is downloaded."""

    async def finish(self, call, target, reply, poller):
        output = await self.output(call, target, reply, poller)
        return await poller.download_file(first_url(output, self.provider, "a file URL in the prediction's output"))


class TextToImage(_FileOutput):
    task = "text-to-image"

    def inputs(self, hf):
        return {"prompt": hf.inputs, **hf.parameters}


class TextToSpeech(_FileOutput):
    task = "text-to-speech"

    def inputs(self, hf):
        return {"text": hf.inputs, **hf.parameters}


class ImageToImage(_FileOutput):
    """Models name their input image differently: every usual key is sent."""

    task = "image-to-image"

    def inputs(self, hf):
        image = data_uri(hf.inputs, hf.content_type or "image/png")
        return {"image": image, "images": [image], "input_image": image, "input_images": [image], **hf.parameters}


HELPERS: dict[str, Helper] = {"automatic-speech-recognition": SpeechRecognition(), "text-to-image": TextToImage(),
                              "text-to-speech": TextToSpeech(), "image-to-image": ImageToImage()}
