"""UrlFetcher: ``http(s)`` downloads with a size limit and an LRU of recent downloads."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import TYPE_CHECKING

from ...errors import MediaError
from .refs import MiB, _display_url, _too_big

if TYPE_CHECKING:  # pragma: no cover
    import httpx

DEFAULT_MAX_BYTES = 50 * MiB
"""Largest media file accepted (files, downloads, in-memory bytes alike)."""
DEFAULT_CACHE_BYTES = 64 * MiB
"""Budget of the per-fetcher LRU of downloaded bytes."""


class UrlFetcher:
    """Downloads ``http(s)`` media with a size limit, and remembers recent downloads.

    * follows redirects; ``timeout`` (seconds) applies to connecting and to each read;
    * refuses a response whose ``Content-Length`` exceeds ``max_bytes``, and aborts a streamed
      body as soon as it grows past ``max_bytes``;
    * raises :class:`MediaError` naming the URL on HTTP status >= 400, timeouts and connection
      errors;
    * keeps downloaded bytes in an LRU keyed by URL, up to ``cache_bytes`` in total, so that
      :func:`load` after :func:`fingerprint` does not download twice (beyond the budget it
      simply downloads again);
    * concurrent fetches of the same URL share one download;
    * never sends the client's ``Authorization`` header: the client may carry a Hugging Face
      token, which must not leak to image hosts.

    The client is borrowed, not owned: close it yourself.

    >>> async def demo():
    ...     async with httpx.AsyncClient() as client:
    ...         fetcher = UrlFetcher(client, timeout=10, max_bytes=5 * MiB)
    ...         return await fetcher.fetch("https://example.com/cat.png")
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        timeout: float = 30.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
        *,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, got {max_bytes}")
        self.client = client
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.cache_bytes = cache_bytes
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cached_total = 0
        self._inflight: dict[str, asyncio.Future[bytes]] = {}

    async def fetch(self, url: str) -> bytes:
        """The body of ``url`` (from the LRU when it is there)."""
        cached = self._cache.get(url)
        if cached is not None:
            self._cache.move_to_end(url)
            return cached
        task = self._inflight.get(url)
        if task is None:
            task = asyncio.ensure_future(self._download(url))
            self._inflight[url] = task
            task.add_done_callback(lambda t, url=url: self._finish(url, t))
        # shield: one caller being cancelled must not cancel the download others wait for
        return await asyncio.shield(task)

    def forget(self, url: str) -> None:
        """Drop ``url`` from the LRU (e.g. once its bytes have been sent)."""
        data = self._cache.pop(url, None)
        if data is not None:
            self._cached_total -= len(data)

    def _finish(self, url: str, task: asyncio.Future[bytes]) -> None:
        self._inflight.pop(url, None)
        if task.cancelled() or task.exception() is not None:  # exception() marks it retrieved
            return
        self._remember(url, task.result())

    def _remember(self, url: str, data: bytes) -> None:
        if len(data) > self.cache_bytes:
            return
        self.forget(url)
        self._cache[url] = data
        self._cached_total += len(data)
        while self._cached_total > self.cache_bytes:
            _, evicted = self._cache.popitem(last=False)
            self._cached_total -= len(evicted)

    async def _download(self, url: str) -> bytes:
        import httpx  # here, not at import: a call that downloads nothing never loads it

        shown = _display_url(url)
        try:
            request = self.client.build_request("GET", url, timeout=self.timeout)
            request.headers.pop("Authorization", None)
            response = await self.client.send(request, stream=True, follow_redirects=True)
            try:
                if response.status_code >= 400:
                    reason = f" {response.reason_phrase}" if response.reason_phrase else ""
                    raise MediaError(f"HTTP {response.status_code}{reason} fetching {shown}")
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > self.max_bytes:
                    raise _too_big(shown, int(declared), self.max_bytes)
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > self.max_bytes:
                        raise _too_big(shown, len(body), self.max_bytes, at_least=True)
                return bytes(body)
            finally:
                await response.aclose()
        except httpx.TimeoutException as exc:
            cause = exc.__cause__
            if type(cause).__module__.startswith("aiohttp") and not isinstance(cause, TimeoutError):
                # httpx-aiohttp maps every aiohttp connection error (refused, DNS) to ConnectTimeout
                raise MediaError(f"could not fetch {shown}: {cause}") from None
            raise MediaError(f"timed out after {self.timeout:g}s fetching {shown}") from None
        except httpx.TooManyRedirects:
            raise MediaError(f"too many redirects fetching {shown}") from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            detail = str(exc) or type(exc).__name__
            raise MediaError(f"could not fetch {shown}: {detail}") from None
