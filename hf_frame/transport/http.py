"""Sending one request over HTTP with retries, under the process-wide concurrency and rate limits.

Users and tests see httpx: pass ``client=`` (an ``httpx.AsyncClient``) or ``transport=`` (e.g.
``httpx.MockTransport`` or respx) in the settings. Underneath, by default, runs the
``httpx-aiohttp`` transport: measured on this project's loopback benchmark it is ~6x faster than
httpx's stock async pool at high concurrency (see DESIGN.md and benchmarks/).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from .. import __version__
from ..config import Settings
from ..errors import FatalRequestError, RowRequestError
from . import limits, retry


@dataclass
class Request:
    """One HTTP request: a JSON body, or raw bytes with their content type."""

    url: str
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


_clients: dict[tuple, httpx.AsyncClient] = {}


def _default_transport(max_connections: int) -> httpx.AsyncBaseTransport:
    limits_ = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    try:
        from httpx_aiohttp import AiohttpTransport
    except ImportError:  # the stock pool still works, just slower at high concurrency
        return httpx.AsyncHTTPTransport(limits=limits_)
    return AiohttpTransport(limits=limits_)


def get_client(settings: Settings) -> httpx.AsyncClient:
    """The shared client for these settings (created on the runner loop, reused across calls)."""
    if settings.client is not None:
        return settings.client
    key = (settings.timeout, settings.max_concurrency, id(settings.transport))
    client = _clients.get(key)
    if client is None or client.is_closed:
        transport = settings.transport or _default_transport(settings.max_concurrency)
        client = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(settings.timeout, connect=min(settings.timeout, 30.0)),
            headers={"User-Agent": f"hf_frame/{__version__}"},
            follow_redirects=True,
        )
        _clients[key] = client
    return client


def _error_text(response: httpx.Response, body: Any) -> str:
    if isinstance(body, dict):
        err = body.get("error") or body.get("message") or body.get("detail")
        if isinstance(err, dict):
            err = err.get("message") or json.dumps(err)
        if isinstance(err, list):
            err = "; ".join(str(e) for e in err)
        if err:
            return str(err)[:500]
    text = response.text.strip()
    return (text[:500] or response.reason_phrase) if text else response.reason_phrase


def _scrub(message: str, token: str | None) -> str:
    return message.replace(token, "***") if token else message


def _decode(response: httpx.Response) -> tuple[bool, Any]:
    try:
        return True, response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return False, None


async def send(request: Request, settings: Settings, *, task: str, model: str | None) -> Any:
    """POST ``request`` and return the decoded JSON answer.

    Retries what is transient (see :mod:`.retry`); raises :class:`FatalRequestError` for
    401/403/404 and :class:`RowRequestError` for other failures once retries are exhausted.
    """
    client = get_client(settings)
    gate = limits.semaphore(settings.max_concurrency)
    pace = limits.rate_limiter(settings.requests_per_minute)
    headers = dict(request.headers)
    if settings.token:
        headers["Authorization"] = f"Bearer {settings.token}"
    where = f"{task} with model {model!r}" if model else task
    attempt = 0
    while True:
        wait: float | None = None
        async with gate:
            if pace is not None:
                await pace.acquire()
            try:
                response = await client.post(request.url, json=request.json, content=request.content, headers=headers)
            except httpx.TimeoutException:
                problem, status = f"timed out after {settings.timeout:g}s", None
            except httpx.TransportError as exc:
                problem, status = f"connection failed ({type(exc).__name__}: {exc})", None
            else:
                status = response.status_code
                ok, body = _decode(response)
                if status < 300:
                    if ok:
                        return body
                    problem = "the answer was not valid JSON"
                else:
                    message = _scrub(_error_text(response, body), settings.token)
                    problem = f"HTTP {status}: {message}"
                    if status in retry.FATAL_STATUSES:
                        hint = {401: " (check the token)", 403: " (the token lacks permission)", 404: " (check the model id and URL)"}
                        raise FatalRequestError(
                            f"{where} failed: {problem}{hint.get(status, '')}", status=status, task=task, model=model or ""
                        )
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
