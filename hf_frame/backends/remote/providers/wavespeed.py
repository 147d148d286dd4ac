"""wavespeed: text-to-image through its task API.

``POST {base}/api/v3/{provider id}`` ``{"prompt", ...}`` -> ``{"data": {"id", "urls": {"get"}}}``;
then ``GET`` the result (its path under the same base) until ``data.status`` is ``completed``
(``created``/``processing``: wait; ``failed``: a row error), and download ``data.outputs[0]``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ....errors import RowRequestError
from .base import Helper, expect, first_url

BASE_URL = "https://api.wavespeed.ai"
OTHER_TASKS = ("image-to-image", "text-to-video", "image-to-video")
_PENDING = ("created", "processing")


class TextToImage(Helper):
    provider, task = "wavespeed", "text-to-image"

    def path(self, target):
        return f"/api/v3/{target.model}"

    def body(self, call, target, hf):
        return {"prompt": hf.inputs, **hf.parameters}, None, None

    async def finish(self, call, target, reply, poller):
        submitted = reply.body.get("data") if isinstance(reply.body, dict) else None
        result = (submitted or {}).get("urls", {}).get("get") if isinstance(submitted, dict) else None
        expect(isinstance(result, str) and bool(result), self.provider, "a task {'data': {'urls': {'get'}}}",
               reply.body)
        url = f"{target.base.rstrip('/')}{urlsplit(result).path}"
        while True:
            await poller.pause("the wavespeed task")
            answer = await poller.get(url)
            data = answer.get("data") if isinstance(answer, dict) else None
            expect(isinstance(data, dict), self.provider, "a task result {'data': {'status'}}", answer)
            if data.get("status") == "completed":
                return await poller.download_file(first_url(data.get("outputs"), self.provider, "an output URL"))
            if data.get("status") not in _PENDING:
                raise RowRequestError(f"wavespeed: the task {data.get('status')}: {data.get('error') or 'no details'}",
                                      task=self.task, model=call.model or "")


HELPERS: dict[str, Helper] = {"text-to-image": TextToImage()}
