"""Concurrency and rate limits shared by every call in the process (they live on the runner loop)."""

from __future__ import annotations

import asyncio
import logging
import time

logger = logging.getLogger(__name__)


class RateLimiter:
    """Spaces request starts ``60 / requests_per_minute`` seconds apart (no bursts).

    Shared by all batches and calls with the same limit, so a limit like Elasticsearch's
    3,000 requests/minute holds for the whole process, retries included.
    """

    def __init__(self, requests_per_minute: float) -> None:
        self.interval = 60.0 / requests_per_minute
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            now = time.monotonic()
            wait = self._next - now
            self._next = max(now, self._next) + self.interval
        if wait > 0:
            logger.debug("requests_per_minute: the next request waits %.3f s", wait)
            await asyncio.sleep(wait)


_semaphores: dict[int, asyncio.Semaphore] = {}
_limiters: dict[float, RateLimiter] = {}


def semaphore(max_concurrency: int) -> asyncio.Semaphore:
    """The process-wide semaphore for this concurrency limit (call on the runner loop)."""
    if max_concurrency not in _semaphores:
        _semaphores[max_concurrency] = asyncio.Semaphore(max_concurrency)
    return _semaphores[max_concurrency]


def rate_limiter(requests_per_minute: float | None) -> RateLimiter | None:
    """The process-wide limiter for this rate, or None when unlimited."""
    if not requests_per_minute:
        return None
    if requests_per_minute not in _limiters:
        _limiters[requests_per_minute] = RateLimiter(requests_per_minute)
        logger.debug("requests_per_minute=%g: request starts are spaced %.3f s apart", requests_per_minute,
                     _limiters[requests_per_minute].interval)
    return _limiters[requests_per_minute]
