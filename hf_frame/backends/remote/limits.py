"""Concurrency and rate limits shared by every call in the process (they live on the runner loop)."""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from urllib.parse import urlsplit

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


class AdaptiveLimit:
    """How many requests one server gets at once: ``maximum`` until it says it is overloaded.

    A server that answers 429 (or 503) without saying how long to wait is taking fewer requests
    than we send: the limit drops to 70% of itself (once per round trip: answers to requests sent
    before the drop do not count again), then grows back by one per ``limit`` successes
    (additive increase, multiplicative decrease, as TCP does). The requests above the limit wait
    here, in order, instead of being refused and backing off: a server that takes 8 requests at
    once gets about 8, whatever ``max_concurrency`` is.
    """

    DECREASE = 0.7

    def __init__(self, maximum: int) -> None:
        self.maximum = maximum
        self.limit = float(maximum)
        self.in_flight = 0
        self.epoch = 0  # bumped by every decrease
        self._waiters: collections.deque[asyncio.Future] = collections.deque()

    async def acquire(self) -> int:
        """Wait for a place; returns the epoch the request is sent in (for :meth:`overloaded`)."""
        if self.in_flight < int(self.limit) and not self._waiters:
            self.in_flight += 1
        else:
            future = asyncio.get_running_loop().create_future()
            self._waiters.append(future)
            try:
                await future  # the place is handed over: in_flight already counts it
            except BaseException:
                if future.done() and not future.cancelled():
                    self.release()  # handed a place while being cancelled: pass it on
                else:
                    self._waiters.remove(future)
                raise
        return self.epoch

    def release(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.in_flight < int(self.limit):
            future = self._waiters.popleft()
            if not future.done():
                self.in_flight += 1
                future.set_result(None)

    def overloaded(self, epoch: int) -> None:
        """The server refused a request sent in ``epoch`` because it is busy."""
        if epoch == self.epoch:
            self.limit = max(1.0, self.limit * self.DECREASE)
            self.epoch += 1

    def succeeded(self) -> None:
        if self.limit < self.maximum:
            self.limit = min(float(self.maximum), self.limit + 1.0 / self.limit)
            self._wake()


_semaphores: dict[int, asyncio.Semaphore] = {}
_limiters: dict[float, RateLimiter] = {}
_adaptive: dict[tuple[str, int], AdaptiveLimit] = {}


def server_limit(url: str, max_concurrency: int) -> AdaptiveLimit:
    """The process-wide :class:`AdaptiveLimit` of the server ``url`` is on (scheme, host and port)."""
    parts = urlsplit(url)
    key = (f"{parts.scheme}://{parts.netloc}", max_concurrency)
    limit = _adaptive.get(key)
    if limit is None:
        limit = _adaptive[key] = AdaptiveLimit(max_concurrency)
    return limit


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
