"""replicate: speech recognition through the predictions API.

``POST {base}/v1/models/{owner}/{name}/predictions`` (or ``/v1/predictions`` with ``"version"``
when the provider id is ``owner/name:version``), header ``Prefer: wait``, body
``{"input": {"audio": "data:...;base64,...", ...}}`` -> a prediction ``{"id", "status", "output"}``.
A prediction still ``starting``/``processing`` is polled at ``GET {base}/v1/predictions/{id}``
until it ``succeeded`` (or ``failed``/``canceled``: a row error), for at most the call's timeout.
Outputs: a string, a list of strings, or ``{"transcription" | "translation" | "txt_file"}``.
"""

from __future__ import annotations

from typing import Any

from ....errors import RowRequestError
from .base import Helper, data_uri, expect

BASE_URL = "https://api.replicate.com"
OTHER_TASKS = ("text-to-image", "text-to-speech", "image-to-image", "text-to-video")
_PENDING = ("starting", "processing")


class SpeechRecognition(Helper):
    provider, task = "replicate", "automatic-speech-recognition"

    def path(self, target):
        return "/v1/predictions" if ":" in target.model else f"/v1/models/{target.model}/predictions"

    def headers(self, target):
        return {"Prefer": "wait"}

    def body(self, call, target, hf):
        body: dict[str, Any] = {"input": {"audio": data_uri(hf.inputs, hf.content_type or "audio/wav"),
                                          **hf.parameters}}
        if ":" in target.model:
            body["version"] = target.model.split(":", 1)[1]
        return body, None, None

    async def finish(self, call, target, reply, poller):
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
        return {"text": await self._text(prediction.get("output"), poller)}

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


HELPERS: dict[str, Helper] = {"automatic-speech-recognition": SpeechRecognition()}
