"""What a provider helper is, and the :class:`Target` a call is resolved to.

A task spec builds its request in the hf-inference form (``{"inputs", "parameters"}`` JSON, or
the raw bytes of an image or audio file). A :class:`Helper` turns that request into the
provider's own (route, body, headers) and turns the provider's answer back into the answer
hf-inference would have given, so every task's ``parse`` works unchanged whoever answers.
Helpers that wait for a queued result poll through the same HTTP layer (retries, limits,
timeouts), for at most the call's ``timeout``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ....errors import RowRequestError
from ....formats.ids import provider_model_id
from ....formats.media import sniff
from ....formats.wire import BinaryAnswer, decode_base64
from .. import http

#: Hugging Face tasks as the Hub mapping names them, where hf_frame's task id differs.
HUB_TASKS = {"chat-completion": "conversational", "image-text-to-text": "conversational"}
#: hf_frame task ids served by another task's helpers: chat with images is chat, on the same routes.
HELPER_TASKS = {"image-text-to-text": "chat-completion"}
#: hf-inference answers these two from the same deployment (sentence-transformers models).
SENTENCE_TASKS = frozenset({"feature-extraction", "sentence-similarity"})


def helper_task(task: str) -> str:
    """The task whose helpers serve hf_frame task ``task`` (itself, except chat with images)."""
    return HELPER_TASKS.get(task, task)


def hub_task(task: str) -> str:
    """The Hub mapping's name for an hf_frame task id (``chat-completion`` -> ``conversational``)."""
    return HUB_TASKS.get(task, task)


def task_matches(task: str, mapped: str, provider: str) -> bool:
    """Does a mapping entry for task ``mapped`` let ``provider`` serve hf_frame task ``task``?

    Besides equal tasks: text generation is served from a chat (``conversational``) entry through
    the provider's OpenAI completions route, and hf-inference answers feature extraction and
    sentence similarity from the same sentence-transformers deployment.
    """
    if mapped == hub_task(task):
        return True
    if task == "text-generation" and mapped == "conversational":
        return True
    return provider == "hf-inference" and {task, mapped} <= SENTENCE_TASKS


@dataclass(frozen=True)
class Target:
    """Where one call's requests go, resolved once per call (see :func:`..providers.resolve`).

    ``base`` is the URL routes are appended to: ``{base_url}/{provider}`` through the router, or
    the provider's own base URL (``direct``: called with the provider's own key). ``route`` is
    what the cache key records (it never depends on the key used). ``mapped_task`` is the task
    of the Hub mapping entry (None when the model was used as given).
    """

    provider: str
    model: str
    helper: Helper
    base: str
    route: str
    direct: bool = False
    mapped_task: str | None = None


@dataclass
class HFBody:
    """An hf-inference request, decoded: what the task sends, whichever form it took."""

    inputs: Any
    parameters: dict = field(default_factory=dict)
    root: dict = field(default_factory=dict)  # other top-level keys (feature-extraction options)
    content_type: str | None = None  # media inputs: the sniffed MIME type


def decode(request: http.Request, binary: bool) -> HFBody:
    """The hf-inference ``request`` as inputs, parameters and root options.

    ``binary``: the task sends a file (raw bytes, or base64 ``inputs`` when it has parameters).
    """
    if request.content is not None:
        ctype = request.headers.get("Content-Type") or sniff(request.content)
        return HFBody(bytes(request.content), {}, {}, ctype)
    body = dict(request.json or {})
    inputs = body.pop("inputs", None)
    parameters = dict(body.pop("parameters", None) or {})
    if binary and isinstance(inputs, str):
        data = base64.b64decode(inputs)
        return HFBody(data, parameters, body, sniff(data))
    return HFBody(inputs, parameters, body, None)


def data_uri(data: bytes, content_type: str | None) -> str:
    """``data:<type>;base64,<data>``, the form JSON providers take files in."""
    return f"data:{content_type or 'application/octet-stream'};base64,{base64.b64encode(data).decode('ascii')}"


def multipart(file: bytes, content_type: str | None, fields: dict[str, Any]) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body: the file as ``file``, then one part per field."""
    boundary = uuid.uuid4().hex
    ext = (content_type or "audio/wav").split("/")[-1].replace("x-", "").replace("mpeg", "mp3")
    lines = [f"--{boundary}".encode(),
             f'Content-Disposition: form-data; name="file"; filename="audio.{ext}"'.encode(),
             f"Content-Type: {content_type or 'application/octet-stream'}".encode(), b"", file]
    for name, value in fields.items():
        if value is None:
            continue
        text = value if isinstance(value, str) else json.dumps(value)
        if isinstance(value, bool):
            text = "true" if value else "false"
        lines += [f"--{boundary}".encode(), f'Content-Disposition: form-data; name="{name}"'.encode(), b"",
                  text.encode()]
    lines += [f"--{boundary}--".encode(), b""]
    return b"\r\n".join(lines), f"multipart/form-data; boundary={boundary}"


def expect(condition: bool, provider: str, what: str, answer: Any) -> None:
    """Raise ValueError (an unexpected answer: the row's error) unless ``condition``."""
    if not condition:
        shown = json.dumps(answer, default=str)[:160] if not isinstance(answer, bytes) else f"{len(answer)} bytes"
        raise ValueError(f"{provider}: expected {what}, got {shown}")


def normalized(vectors: list) -> list:
    """Rows scaled to unit L2 norm (providers' OpenAI-style embeddings have no ``normalize`` flag)."""
    matrix = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return (matrix / np.where(norms == 0, 1.0, norms)).tolist()


def speech_answer(answer: Any, provider: str) -> dict:
    """``{"text", "segments": [{text, start, end}]}`` (or ``chunks``) -> the hf-inference ASR answer."""
    expect(isinstance(answer, dict) and isinstance(answer.get("text", answer.get("output")), str),
           provider, "a transcription {'text': ...}", answer)
    out: dict[str, Any] = {"text": answer.get("text", answer.get("output"))}
    if isinstance(answer.get("chunks"), list):
        out["chunks"] = answer["chunks"]
    elif isinstance(answer.get("segments"), list):
        out["chunks"] = [{"text": s.get("text"), "timestamp": [s.get("start"), s.get("end")]}
                         for s in answer["segments"] if isinstance(s, dict)]
    return out


def file_answer(data: bytes, declared: str | None = None) -> BinaryAnswer:
    """A generated file as the hf-inference answer (the bytes, their sniffed or declared type)."""
    return BinaryAnswer(bytes(data), sniff(data) or declared or "application/octet-stream")


def b64_file(answer: Any, provider: str) -> BinaryAnswer:
    """The first file of an OpenAI-images answer ``{"data": [{"b64_json": ...}]}``."""
    data = answer.get("data") if isinstance(answer, dict) else None
    expect(isinstance(data, list) and data and isinstance(data[0], dict) and isinstance(data[0].get("b64_json"), str),
           provider, "an image {'data': [{'b64_json'}]}", answer)
    return file_answer(decode_base64(data[0]["b64_json"], what=f"{provider}'s image", strict=False))


def first_url(value: Any, provider: str, what: str) -> str:
    """The URL of a result: a string, the first of a list, or a ``{"url"}`` (first of a list too)."""
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, dict):
        value = value.get("url")
    expect(isinstance(value, str) and bool(value), provider, what, value)
    return value


class Poller:
    """GETs for queued results, through the HTTP layer, bounded by the call's ``timeout``."""

    FIRST_WAIT = 0.25
    MAX_WAIT = 2.0

    def __init__(self, call: Any, sent: http.Request):
        # Made for every answer and used by few (queued providers): the rest is set on first use.
        self.call = call
        self.sent = sent  # the provider request that was answered
        self.wait = self.FIRST_WAIT
        self._deadline: float | None = None

    def deadline(self) -> float:
        """When polling gives up: the call's ``timeout`` after the first poll or pause."""
        if self._deadline is None:
            self._deadline = asyncio.get_running_loop().time() + self.call.settings.timeout
        return self._deadline

    @property
    def headers(self) -> dict[str, str]:
        """The sent request's headers (its credentials) for the polls, without its body's."""
        return {k: v for k, v in self.sent.headers.items() if k.lower() not in ("content-type", "prefer")}

    async def get(self, url: str) -> Any:
        self.deadline()  # the timeout counts from the first poll
        request = http.Request(url=url, method="GET", headers=self.headers)
        reply = await http.exchange(request, self.call.settings, task=self.call.task.name, model=self.call.model)
        return reply.body

    async def pause(self, what: str) -> None:
        """Wait before the next poll; a RowRequestError once the call's timeout is spent."""
        loop = asyncio.get_running_loop()
        if loop.time() + self.wait > self.deadline():
            raise RowRequestError(
                f"{self.call.task.name} with model {self.call.model!r}: {what} was not ready after "
                f"{self.call.settings.timeout:g}s (raise timeout= to wait longer)",
                task=self.call.task.name, model=self.call.model or "")
        await asyncio.sleep(self.wait)
        self.wait = min(self.MAX_WAIT, self.wait * 1.5)

    async def download_file(self, url: str) -> BinaryAnswer:
        """A result file (a provider's file store URL, or a data URI) as the hf-inference answer."""
        return file_answer(await self.download(url))

    async def download(self, url: str) -> bytes:
        """The bytes at a result URL (a provider's file store): sent without any token."""
        if url.startswith("data:"):
            return base64.b64decode(url.split(",", 1)[1])
        client = http.get_client(self.call.settings)
        response = await client.get(url)
        if response.status_code >= 300:
            raise RowRequestError(f"{self.call.task.name}: fetching the result {url[:120]} failed: "
                                  f"HTTP {response.status_code}", status=response.status_code,
                                  task=self.call.task.name, model=self.call.model or "")
        return response.content


class Helper:
    """One (provider, task): its route, its body, and how its answer maps back.

    Subclasses override :meth:`path`, :meth:`body` and :meth:`answer`; queued providers
    override :meth:`finish` to poll.
    """

    provider: str = ""
    task: str = ""

    def __init__(self, provider: str = "", task: str = "", route: str = ""):
        self.provider = provider or self.provider
        self.task = task or self.task
        self.route = route

    def path(self, target: Target) -> str:
        """The route after the base URL (default: the fixed ``route``)."""
        return self.route

    def url(self, target: Target) -> str:
        provider_model_id(target.model)
        return target.base.rstrip("/") + self.path(target)

    def auth(self, token: str | None) -> dict[str, str]:
        """Headers authenticating a direct call with the provider's own key (default: bearer)."""
        return {}

    def headers(self, target: Target) -> dict[str, str]:
        """Extra headers the provider wants on every request."""
        return {}

    def body(self, call: Any, target: Target, hf: HFBody) -> tuple[Any, bytes | None, str | None]:
        """(JSON body, or raw bytes and their content type) of the provider's request."""
        raise NotImplementedError

    def build(self, call: Any, target: Target, request: http.Request, binary: bool) -> http.Request:
        """The provider's request for the hf-inference ``request`` the task built."""
        payload, content, ctype = self.body(call, target, decode(request, binary))
        headers = dict(self.headers(target))
        if content is not None:
            headers["Content-Type"] = ctype or "application/octet-stream"
            return http.Request(url=self.url(target), content=content, headers=headers, expect=request.expect)
        return http.Request(url=self.url(target), json=payload, headers=headers, expect=request.expect)

    def answer(self, call: Any, target: Target, body: Any) -> Any:
        """The provider's answer as hf-inference gives it (raise ValueError when it is malformed)."""
        return body

    async def finish(self, call: Any, target: Target, reply: http.Reply, poller: Poller) -> Any:
        return self.answer(call, target, reply.body)


class Passthrough(Helper):
    """hf-inference and the router's own chat route: the task's request is already the wire form."""

    def build(self, call: Any, target: Target, request: http.Request, binary: bool) -> http.Request:
        return http.Request(url=request.url, json=request.json, content=request.content,
                            headers=dict(request.headers), method=request.method, expect=request.expect)
