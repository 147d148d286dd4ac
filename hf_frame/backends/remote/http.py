"""Sending one request with retries, under the process-wide concurrency and rate limits.

Two wires, one behaviour: by default a raw aiohttp session (:mod:`.aio`, the fastest measured
here); when the settings carry ``client=`` (an ``httpx.AsyncClient``) or ``transport=`` (e.g.
``httpx.MockTransport``, respx), httpx. Retry, wait and error rules are the same for both.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from ... import runtime
from ..._version import __version__
from ...config import Settings
from ...errors import (
    FatalRequestError,
    RowRequestError,
    WireError,
    WireTimeout,
    WireTooLarge,
)
from . import aio, limits, retry


@dataclass
class Request:
    """One HTTP request: a JSON body, or raw bytes with their content type."""

    url: str
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


_clients: dict[tuple, httpx.AsyncClient] = {}


async def _close_clients() -> None:
    for client in list(_clients.values()):
        await client.aclose()
    _clients.clear()


runtime.on_shutdown(_close_clients)


def get_client(settings: Settings) -> httpx.AsyncClient:
    """An httpx client for these settings: the user's ``client``, or one over their ``transport``
    (or over httpx-aiohttp when neither is set: used for side downloads such as image URLs)."""
    if settings.client is not None:
        return settings.client
    key = (settings.timeout, settings.max_concurrency, id(settings.transport))
    client = _clients.get(key)
    if client is None or client.is_closed:
        transport = settings.transport
        if transport is None:
            limits_ = httpx.Limits(max_connections=settings.max_concurrency,
                                   max_keepalive_connections=settings.max_concurrency)
            try:
                from httpx_aiohttp import AiohttpTransport

                transport = AiohttpTransport(limits=limits_)
            except ImportError:
                transport = httpx.AsyncHTTPTransport(limits=limits_)
        client = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(settings.timeout, connect=min(settings.timeout, 30.0)),
            headers={"User-Agent": f"hf_frame/{__version__}"},
            follow_redirects=True,
        )
        _clients[key] = client
    return client


async def _post(request: Request, headers: Mapping[str, str], settings: Settings) -> aio.RawResponse:
    limit = settings.max_response_bytes
    if settings.client is None and settings.transport is None:
        return await aio.post(request.url, json_body=request.json, content=request.content, headers=headers,
                              timeout=settings.timeout, max_connections=settings.max_concurrency, max_bytes=limit)
    try:
        async with get_client(settings).stream("POST", request.url, json=request.json, content=request.content,
                                               headers=dict(headers)) as response:
            content = await _read(response, limit)
    except httpx.TimeoutException as exc:
        raise WireTimeout(str(exc)) from exc
    except httpx.TransportError as exc:
        raise WireError(f"{type(exc).__name__}: {exc}") from exc
    return aio.RawResponse(response.status_code, response.headers, content, response.reason_phrase)


async def _read(response: httpx.Response, max_bytes: int) -> bytes:
    """The body, or WireTooLarge as soon as it exceeds ``max_bytes`` (the rest is never read)."""
    length = response.headers.get("content-length")
    if length and length.isdigit() and int(length) > max_bytes and "content-encoding" not in response.headers:
        raise WireTooLarge(response.status_code, f"{length} bytes")
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():  # decompressed bytes, as they come
        size += len(chunk)
        if size > max_bytes:
            raise WireTooLarge(response.status_code, f"more than {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(content: bytes) -> tuple[bool, Any]:
    try:
        return True, json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return False, None


def _error_text(response: aio.RawResponse, body: Any) -> str:
    if isinstance(body, dict):
        err = body.get("error") or body.get("message") or body.get("detail")
        if isinstance(err, dict):
            err = err.get("message") or json.dumps(err)
        if isinstance(err, list):
            err = "; ".join(str(e) for e in err)
        if err:
            return str(err)[:500]
    text = response.content.decode("utf-8", "replace").strip()
    return text[:500] if text else (response.reason or "no details")


def _scrub(message: str, token: str | None) -> str:
    return message.replace(token, "***") if token else message


class SecretHeaders(Mapping[str, str]):
    """Request headers whose repr never shows the ``Authorization`` value, so that the locals of a
    traceback (rich, pytest ``--showlocals``, error trackers) never hold the token in plain view.
    Turned into a plain dict only inside the call that hands them to aiohttp or httpx."""

    __slots__ = ("_headers",)

    def __init__(self, headers: Mapping[str, str], token: str | None) -> None:
        self._headers = dict(headers)
        if token:
            self._headers["Authorization"] = f"Bearer {token}"

    def __getitem__(self, name: str) -> str:
        return self._headers[name]

    def __setitem__(self, name: str, value: str) -> None:
        self._headers[name] = value

    def __iter__(self):
        return iter(self._headers)

    def __len__(self) -> int:
        return len(self._headers)

    def __repr__(self) -> str:
        return repr({k: "***" if k.lower() == "authorization" else v for k, v in self._headers.items()})


_HINTS = {401: " (check the token)", 403: " (the token lacks permission)", 404: " (check the model id and URL)"}


async def send(request: Request, settings: Settings, *, task: str, model: str | None) -> Any:
    """POST ``request`` and return the decoded JSON answer.

    Retries what is transient (see :mod:`.retry`); raises :class:`FatalRequestError` for
    401/403/404 and :class:`RowRequestError` for other failures once retries are exhausted.
    """
    gate = limits.semaphore(settings.max_concurrency)
    pace = limits.rate_limiter(settings.requests_per_minute)
    token = settings.auth_token()
    headers = SecretHeaders(request.headers, token)
    where = f"{task} with model {model!r}" if model else task
    attempt = 0
    while True:
        wait: float | None = None
        status: int | None = None
        async with gate:
            if pace is not None:
                await pace.acquire()
            try:
                response = await _post(request, headers, settings)
            except WireTooLarge as exc:
                raise RowRequestError(
                    f"{where} failed: the answer is larger than max_response_bytes={settings.max_response_bytes} "
                    f"({exc}); raise the setting if such answers are expected",
                    status=exc.status, task=task, model=model or "") from None
            except WireTimeout:
                problem = f"timed out after {settings.timeout:g}s"
            except WireError as exc:
                problem = f"connection failed ({_scrub(str(exc), token)})"
            else:
                status = response.status
                content = response.content
                if token and token.encode() in content:  # an answer echoing the request: never quoted, never cached
                    content = content.replace(token.encode(), b"***")
                    response = aio.RawResponse(status, response.headers, content, response.reason)
                ok, body = _decode(content)
                if status < 300:
                    if ok:
                        return body
                    problem = "the answer was not valid JSON"
                else:
                    problem = f"HTTP {status}: {_scrub(_error_text(response, body), token)}"
                    if status in retry.FATAL_STATUSES:
                        hint = _HINTS.get(status, "")
                        if status == 401 and not token:
                            hint = " (no token was found: set HF_TOKEN, run `huggingface-cli login`, or hf_frame.configure(token=...))"
                        raise FatalRequestError(f"{where} failed: {problem}{hint}",
                                                status=status, task=task, model=model or "")
                    if status not in retry.RETRY_STATUSES:
                        raise RowRequestError(f"{where} failed: {problem}", status=status, task=task, model=model or "")
                    wait = retry.server_wait(status, response.headers, body)
                    if status == 503 and settings.wait_for_model:
                        headers["X-Wait-For-Model"] = "true"
        if attempt >= settings.max_retries:
            tries = f" after {attempt + 1} attempts" if attempt else ""
            raise RowRequestError(f"{where} failed{tries}: {problem}", status=status, task=task, model=model or "")
        await asyncio.sleep(wait if wait is not None else retry.backoff(attempt, settings.retry_backoff))
        attempt += 1
