"""The default wire underneath: a raw aiohttp session, one per (timeout, concurrency) on the runner loop.

Why not httpx here: measured on this project's loopback benchmark (benchmarks/bench_engine.py,
DESIGN.md), httpx's stock async pool manages ~300 req/s and httpx over the aiohttp transport
~1,800, where raw aiohttp reaches ~5,000. httpx stays the seam users and tests see: passing
``client=`` or ``transport=`` in the settings routes every request through httpx instead.
"""

from __future__ import annotations

import asyncio
import json
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from ... import runtime
from ..._version import __version__
from ...errors import WireError, WireTimeout, WireTooLarge, WireUnreachable

if TYPE_CHECKING:  # pragma: no cover
    import aiohttp

# aiohttp is imported when the first request goes out (a fully cached call never loads it).
_sessions: dict[tuple, aiohttp.ClientSession] = {}


async def _close_sessions() -> None:
    for session in list(_sessions.values()):
        await session.close()
    _sessions.clear()


runtime.on_shutdown(_close_sessions)


@dataclass
class RawResponse:
    """What the retry logic needs of an answer, whichever client produced it."""

    status: int
    headers: Mapping[str, str]  # case-insensitive lookups
    content: bytes
    reason: str = ""


def _session(timeout: float, max_connections: int) -> aiohttp.ClientSession:
    import aiohttp

    key = (timeout, max_connections)
    session = _sessions.get(key)
    if session is None or session.closed:
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max_connections, limit_per_host=max_connections),
            timeout=aiohttp.ClientTimeout(total=timeout, connect=min(timeout, 30.0)),
            headers={"User-Agent": f"hf_frame/{__version__}"},
            raise_for_status=False,
        )
        _sessions[key] = session
    return session


async def post(url: str, *, json_body: Any, content: bytes | None, headers: Mapping[str, str],
               timeout: float, max_connections: int, max_bytes: int, method: str = "POST") -> RawResponse:
    """POST (or ``method``) and read the answer, at most ``max_bytes`` of it (else WireTooLarge);
    raise WireTimeout / WireError / WireUnreachable on network failures."""
    import aiohttp

    session = _session(timeout, max_connections)
    extra = {}
    if content is None and method != "GET":
        # Encoding here is cheaper than aiohttp's JsonPayload (measured: ~20% of its client CPU).
        content = json.dumps(json_body, separators=(",", ":"), ensure_ascii=False).encode()
        extra = {"Content-Type": "application/json"}
    try:
        async with session.request(method, url, data=content, headers={**extra, **headers}) as response:
            body = await _read(response, max_bytes)
            return RawResponse(response.status, response.headers, body, response.reason or "")
    except asyncio.TimeoutError as exc:
        raise WireTimeout(str(exc)) from exc
    except aiohttp.ClientConnectorError as exc:
        unreachable = isinstance(exc.os_error, (ConnectionRefusedError, socket.gaierror))
        raise (WireUnreachable if unreachable else WireError)(f"{type(exc).__name__}: {exc}") from exc
    except aiohttp.ClientError as exc:
        raise WireError(f"{type(exc).__name__}: {exc}") from exc


async def _read(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """The body, or WireTooLarge as soon as it exceeds ``max_bytes`` (the rest is never read)."""
    length = response.content_length
    if length is not None and length <= max_bytes and "content-encoding" not in response.headers:
        return await response.read()  # the common case: a known, acceptable size
    if length is not None and length > max_bytes:
        raise WireTooLarge(response.status, f"{length} bytes")
    chunks, size = [], 0
    async for chunk in response.content.iter_chunked(1 << 16):  # decompressed bytes, as they come
        size += len(chunk)
        if size > max_bytes:
            raise WireTooLarge(response.status, f"more than {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
