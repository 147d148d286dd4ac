"""Sending one request with retries, under the process-wide concurrency and rate limits.

Two wires, one behaviour: by default a raw aiohttp session (:mod:`.aio`, the fastest measured
here); when the settings carry ``client=`` (an ``httpx.AsyncClient``) or ``transport=`` (e.g.
``httpx.MockTransport``, respx), httpx. Retry, wait and error rules are the same for both.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ... import runtime
from ..._version import __version__
from ...config import Settings
from ...errors import FatalRequestError, RowRequestError, WireError, WireTimeout
from . import aio, limits, retry

if TYPE_CHECKING:  # pragma: no cover
    import httpx


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
    import httpx  # here, not at import: a fully cached call never loads it

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


async def _post(request: Request, headers: dict[str, str], settings: Settings) -> aio.RawResponse:
    if settings.client is None and settings.transport is None:
        return await aio.post(request.url, json_body=request.json, content=request.content, headers=headers,
                              timeout=settings.timeout, max_connections=settings.max_concurrency)
    import httpx
    try:
        response = await get_client(settings).post(request.url, json=request.json, content=request.content,
                                                   headers=headers)
    except httpx.TimeoutException as exc:
        raise WireTimeout(str(exc)) from exc
    except httpx.TransportError as exc:
        raise WireError(f"{type(exc).__name__}: {exc}") from exc
    return aio.RawResponse(response.status_code, response.headers, response.content, response.reason_phrase)


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


_HINTS = {401: " (check the token)", 403: " (the token lacks permission)", 404: " (check the model id and URL)"}


async def send(request: Request, settings: Settings, *, task: str, model: str | None) -> Any:
    """POST ``request`` and return the decoded JSON answer.

    Retries what is transient (see :mod:`.retry`); raises :class:`FatalRequestError` for
    401/403/404 and :class:`RowRequestError` for other failures once retries are exhausted.
    """
    gate = limits.semaphore(settings.max_concurrency)
    server = limits.server_limit(request.url, settings.max_concurrency)
    pace = limits.rate_limiter(settings.requests_per_minute)
    headers = dict(request.headers)
    if settings.token:
        headers["Authorization"] = f"Bearer {settings.token}"
    where = f"{task} with model {model!r}" if model else task
    attempt = 0
    while True:
        wait: float | None = None
        status: int | None = None
        busy = False  # refused because the server is overloaded (no wait hint)
        epoch = await server.acquire()
        try:
            async with gate:
                if pace is not None:
                    await pace.acquire()
                runtime.count_request()
                try:
                    response = await _post(request, headers, settings)
                except WireTimeout:
                    problem = f"timed out after {settings.timeout:g}s"
                except WireError as exc:
                    problem = f"connection failed ({_scrub(str(exc), settings.token)})"
                else:
                    status = response.status
                    ok, body = _decode(response.content)
                    if status < 300:
                        if ok:
                            server.succeeded()
                            return body
                        problem = "the answer was not valid JSON"
                    else:
                        problem = f"HTTP {status}: {_scrub(_error_text(response, body), settings.token)}"
                        if status in retry.FATAL_STATUSES:
                            hint = _HINTS.get(status, "")
                            if status == 401 and not settings.token:
                                hint = " (no token was found: set HF_TOKEN, run `huggingface-cli login`, or hf_frame.configure(token=...))"
                            raise FatalRequestError(f"{where} failed: {problem}{hint}",
                                                    status=status, task=task, model=model or "")
                        if status not in retry.RETRY_STATUSES:
                            raise RowRequestError(f"{where} failed: {problem}", status=status, task=task,
                                                  model=model or "")
                        wait = retry.server_wait(status, response.headers, body)
                        if wait is None and status in retry.OVERLOAD_STATUSES:
                            busy = True
                            server.overloaded(epoch)  # fewer requests at once to this server from now on
                        if status == 503 and settings.wait_for_model:
                            headers["X-Wait-For-Model"] = "true"
        finally:
            server.release()
        if attempt >= settings.max_retries:
            tries = f" after {attempt + 1} attempts" if attempt else ""
            raise RowRequestError(f"{where} failed{tries}: {problem}", status=status, task=task, model=model or "")
        # The wait holds no slot: neither this semaphore (released above) nor the calling
        # engine worker's, so other requests go out meanwhile.
        if wait is None:  # an overloaded server is already sent fewer requests: a short wait is enough
            wait = retry.backoff(attempt, min(settings.retry_backoff, retry.OVERLOAD_BACKOFF) if busy
                                 else settings.retry_backoff)
        async with runtime.slot_released():
            await asyncio.sleep(wait)
        attempt += 1
