"""The default wire underneath: a raw aiohttp session, one per (timeout, concurrency) on the runner loop.

Why not httpx here: measured on this project's loopback benchmark (benchmarks/bench_engine.py,
DESIGN.md), httpx's stock async pool manages ~300 req/s and httpx over the aiohttp transport
~1,800, where raw aiohttp reaches ~5,000. httpx stays the seam users and tests see: passing
``client=`` or ``transport=`` in the settings routes every request through httpx instead.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from ... import runtime
from ..._version import __version__
from ...errors import WireError, WireTimeout

if TYPE_CHECKING:  # pragma: no cover
    import aiohttp

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)

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


async def post(url: str, *, json_body: Any, content: bytes | None, headers: dict[str, str],
               timeout: float, max_connections: int) -> RawResponse:
    """POST and read the whole answer; raise WireTimeout / WireError on network failures."""
    import aiohttp

    session = _session(timeout, max_connections)
    if content is None:
        # Encoding here is cheaper than aiohttp's JsonPayload (measured: ~20% of its client CPU),
        # with one encoder for every request (json.dumps with options builds one per call).
        content = _ENCODER.encode(json_body).encode()
        headers = {"Content-Type": "application/json", **headers}
    try:
        async with session.post(url, data=content, headers=headers) as response:
            body = await response.read()
            return RawResponse(response.status, response.headers, body, response.reason or "")
    except asyncio.TimeoutError as exc:
        raise WireTimeout(str(exc)) from exc
    except aiohttp.ClientError as exc:
        raise WireError(f"{type(exc).__name__}: {exc}") from exc
