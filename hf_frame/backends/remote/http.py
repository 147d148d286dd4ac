"""Sending one request with retries, under the process-wide concurrency and rate limits.

Two wires, one behaviour: by default a raw aiohttp session (:mod:`.aio`, the fastest measured
here); when the settings carry ``client=`` (an ``httpx.AsyncClient``) or ``transport=`` (e.g.
``httpx.MockTransport``, respx), httpx. Retry, wait and error rules are the same for both.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ... import runtime
from ..._version import __version__
from ...config import Settings
from ...errors import (
    FatalRequestError,
    RowRequestError,
    WireError,
    WireTimeout,
    WireTooLarge,
    WireUnreachable,
)
from ...formats.media import sniff
from ...formats.wire import BinaryAnswer
from . import aio, limits, retry

if TYPE_CHECKING:  # pragma: no cover
    import httpx

logger = logging.getLogger(__name__)


@dataclass
class Request:
    """One HTTP request: a JSON body, or raw bytes with their content type (``GET``: neither).

    ``expect="binary"``: the answer may be a file (a generated image or sound). A successful
    answer that is not JSON is then returned as a :class:`BinaryAnswer`; a JSON one is decoded
    as usual (providers that answer JSON), and a JSON ``{"error": ...}`` is still an error.
    """

    url: str
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "POST"
    expect: str = "json"  # "json" | "binary"


@dataclass
class Reply:
    """A successful answer: the decoded JSON body and the response headers (case-insensitive)."""

    body: Any  # the decoded JSON, or a BinaryAnswer (``expect="binary"``)
    headers: Any


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


async def _post(request: Request, headers: Mapping[str, str], settings: Settings) -> aio.RawResponse:
    limit = settings.max_response_bytes
    if settings.client is None and settings.transport is None:
        return await aio.post(request.url, json_body=request.json, content=request.content, headers=headers,
                              timeout=settings.timeout, max_connections=settings.max_concurrency, max_bytes=limit,
                              method=request.method)
    import httpx

    try:
        async with get_client(settings).stream(request.method, request.url, json=request.json,
                                               content=request.content, headers=dict(headers)) as response:
            content = await _read(response, limit)
    except httpx.TimeoutException as exc:
        raise WireTimeout(str(exc)) from exc
    except httpx.ConnectError as exc:
        raise WireUnreachable(f"{type(exc).__name__}: {exc}") from exc
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


def _binary_answer(response: aio.RawResponse) -> BinaryAnswer | None:
    """The answer as a file, or None when it is JSON (said so, or unlabelled JSON text)."""
    declared = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if "json" in declared:
        return None
    if not declared or declared in ("application/octet-stream", "binary/octet-stream"):
        sniffed = sniff(response.content)
        if sniffed is None and _decode(response.content)[0]:
            return None
        declared = sniffed or declared or "application/octet-stream"
    return BinaryAnswer(bytes(response.content), declared)


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
        # An Authorization header already there is kept (a provider's own key may use another scheme).
        if token and not any(k.lower() == "authorization" for k in self._headers):
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


_HINTS = {401: " (check the token)", 403: " (the token lacks permission)", 404: " (check the model id and URL)",
          402: " (your Hugging Face credits are exhausted: add credits or a payment method at "
               "https://huggingface.co/settings/billing, or bill an organization with bill_to='org')"}
# The router's 400 when no provider the user enabled serves the model: no other row can succeed.
_NO_PROVIDER = "not supported by any provider you have enabled"

#: host:port of every server that answered in this process (with any status): a refusal from one of
#: them is transient (a restart); from any other it means nothing listens there.
_answered: set[str] = set()


def _host(url: str) -> str:
    """``host:port`` of a URL (never its user or password)."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{parts.hostname}:{port or (443 if parts.scheme == 'https' else 80)}"


async def send(request: Request, settings: Settings, *, task: str, model: str | None) -> Any:
    """POST ``request`` and return the decoded JSON answer (or a :class:`BinaryAnswer`, see
    :class:`Request`).

    Retries what is transient (see :mod:`.retry`); raises :class:`FatalRequestError` for
    401/402/403/404 and :class:`RowRequestError` for other failures once retries are exhausted.
    """
    return (await exchange(request, settings, task=task, model=model)).body


def _scale_up_budget(settings: Settings) -> float | None:
    """Seconds an ``endpoint=`` scaled to zero may take to answer something else than 503."""
    if settings.endpoint and settings.scale_up_timeout:
        return float(settings.scale_up_timeout)
    return None


def _without_token(response: aio.RawResponse, token: str | None) -> aio.RawResponse:
    """An answer echoing the request has the token replaced by ``***``: never quoted, never cached."""
    if token and token.encode() in response.content:
        content = response.content.replace(token.encode(), b"***")
        return aio.RawResponse(response.status, response.headers, content, response.reason)
    return response


def _check_reachable(unreachable: int, attempt: int, settings: Settings, where: str, host: str, problem: str,
                     task: str, model: str | None) -> None:
    """A host that never answered in this process refused us again: it is unreachable, stop now."""
    if unreachable > retry.UNREACHABLE_RETRIES or attempt >= settings.max_retries:
        raise FatalRequestError(
            f"{where} failed: {host} is unreachable, {problem}; check the URL (base_url / "
            "endpoint) and that the server is running", task=task, model=model or "") from None


async def exchange(request: Request, settings: Settings, *, task: str, model: str | None) -> Reply:
    """Send ``request`` (``request.method``) with the retry rules of :func:`send`; the body and headers.

    An ``Authorization`` header already in ``request.headers`` is kept (providers called with
    their own key use other schemes); otherwise the token is sent as a bearer token.
    """
    gate = limits.semaphore(settings.max_concurrency)
    server = limits.server_limit(request.url, settings.max_concurrency)
    pace = limits.rate_limiter(settings.requests_per_minute)
    token = settings.auth_token()
    headers = SecretHeaders(request.headers, token)
    scale_up = _scale_up_budget(settings)
    if scale_up is not None:
        headers["X-Scale-Up-Timeout"] = str(max(1, int(min(scale_up, settings.timeout))))
    started = asyncio.get_running_loop().time()
    where = f"{task} with model {model!r}" if model else task
    host = _host(request.url)
    attempt = unreachable = 0
    waking = 0  # 503s of an endpoint scaling up: waited for within the budget, not counted as retries
    while True:
        wait: float | None = None
        wake_pause: float | None = None
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
                except WireTooLarge as exc:
                    raise RowRequestError(
                        f"{where} failed: the answer is larger than max_response_bytes={settings.max_response_bytes} "
                        f"({exc}); raise the setting if such answers are expected",
                        status=exc.status, task=task, model=model or "") from None
                except WireTimeout:
                    problem = f"timed out after {settings.timeout:g}s"
                except WireUnreachable as exc:
                    problem = f"connection failed ({_scrub(str(exc), token)})"
                    if host not in _answered:
                        unreachable += 1
                        _check_reachable(unreachable, attempt, settings, where, host, problem, task, model)
                        wait = retry.UNREACHABLE_WAIT
                except WireError as exc:
                    problem = f"connection failed ({_scrub(str(exc), token)})"
                else:
                    _answered.add(host)
                    status = response.status
                    if status < 300 and request.expect == "binary":
                        answer = _binary_answer(response)
                        if answer is not None:
                            server.succeeded()
                            return Reply(answer, response.headers)
                    response = _without_token(response, token)
                    ok, body = _decode(response.content)
                    if status < 300:
                        if ok and request.expect == "binary" and isinstance(body, dict) and body.get("error"):
                            problem = f"HTTP {status}: {_scrub(_error_text(response, body), token)}"
                            raise RowRequestError(f"{where} failed: {problem}", status=status, task=task,
                                                  model=model or "")
                        if ok:
                            server.succeeded()
                            return Reply(body, response.headers)
                        problem = "the answer was not valid JSON"
                    else:
                        problem = f"HTTP {status}: {_scrub(_error_text(response, body), token)}"
                        if status in retry.FATAL_STATUSES:
                            hint = _HINTS.get(status, "")
                            if status == 401 and not token:
                                hint = " (no token was found: set HF_TOKEN, run `hf auth login`, or hf_frame.configure(token=...))"
                            raise FatalRequestError(f"{where} failed: {problem}{hint}",
                                                    status=status, task=task, model=model or "")
                        if status == 400 and _NO_PROVIDER in problem:
                            raise FatalRequestError(
                                f"{where} failed: {problem} (enable a provider serving it at "
                                "https://huggingface.co/settings/inference-providers, or pass provider=)",
                                status=status, task=task, model=model or "")
                        if status not in retry.RETRY_STATUSES:
                            raise RowRequestError(f"{where} failed: {problem}", status=status, task=task, model=model or "")
                        wait = retry.server_wait(status, response.headers, body)
                        if wait is None and status in retry.OVERLOAD_STATUSES:
                            busy = True
                            server.overloaded(epoch)  # fewer requests at once to this server from now on
                        if status == 503 and scale_up is not None:
                            elapsed = asyncio.get_running_loop().time() - started
                            if elapsed < scale_up:  # scaling up from zero: wait (outside the gate), not a retry
                                pause = wait if wait is not None else min(10.0, retry.backoff(waking, settings.retry_backoff))
                                waking += 1
                                wake_pause = min(pause, scale_up - elapsed)
                            else:
                                problem += (f" (the endpoint was still scaling up after {scale_up:g}s: "
                                            "raise scale_up_timeout)")
        finally:
            server.release()
        if wake_pause is not None:
            async with runtime.slot_released():
                await asyncio.sleep(wake_pause)
            continue
        if attempt >= settings.max_retries:
            tries = f" after {attempt + 1} attempts" if attempt else ""
            logger.debug("%s: giving up%s: %s", where, tries, problem)
            raise RowRequestError(f"{where} failed{tries}: {problem}", status=status, task=task, model=model or "")
        # The wait holds no slot: neither this semaphore (released above) nor the calling
        # engine worker's, so other requests go out meanwhile.
        hinted = wait is not None
        if wait is None:  # an overloaded server is already sent fewer requests: a short wait is enough
            wait = retry.backoff(attempt, min(settings.retry_backoff, retry.OVERLOAD_BACKOFF) if busy
                                 else settings.retry_backoff)
        # `problem` is scrubbed of the token; the headers (Authorization) are never logged.
        logger.debug("%s: %s (attempt %d of %d); retrying in %.2f s%s", where, problem, attempt + 1,
                     settings.max_retries + 1, wait, " (the server said so)" if hinted else "")
        async with runtime.slot_released():
            await asyncio.sleep(wait)
        attempt += 1
