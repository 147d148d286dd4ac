"""Answers written to a cache from a worker thread, so the event loop never waits on a store.

One :class:`CacheWriter` per cache store, shared by every call in the process: the loop only
queues answers (``put``); one write at a time runs in a thread and takes whatever arrived
meanwhile. A store that queues its own writes (the buffered SQLite and Redis stores) is handed
the answers directly. A failed write keeps its answers and is tried again with backoff (another
process may hold the SQLite write lock for a while): nothing is lost, and the call warns once.
"""

from __future__ import annotations

import asyncio
import time
import warnings
from typing import Any

from .. import runtime

#: How long the end of a call waits for its answers to reach the cache (they are written later
#: anyway, and kept in memory meanwhile).
FLUSH_WAIT = 2.0



class CacheWriter:
    """Writes answers to one cache from a worker thread, batching whatever arrives meanwhile.

    The loop only queues (``put``); one write at a time runs in a thread. A failed write keeps
    its answers and is tried again (the store may be locked by another process for a while).
    """

    def __init__(self, cache: Any) -> None:
        self.cache = cache
        # A store with flush() queues writes itself and never blocks (the buffered caches): it
        # is handed the answers directly.
        self.direct = callable(getattr(cache, "flush", None))
        self.pending: dict[str, bytes] = {}
        self.writing: dict[str, bytes] = {}  # the batch a thread is writing now
        self.written = 0  # writes completed
        self.task: asyncio.Task | None = None
        self.warned = False

    def unwritten(self) -> dict[str, bytes]:
        """A snapshot of the answers not yet in the store (so a lookup reads its own writes)."""
        return {**self.writing, **self.pending} if (self.writing or self.pending) else {}

    def put(self, items: dict[str, bytes]) -> None:
        if self.direct:
            self.cache.put_many(items)  # served to later reads at once, written in the background
            self.written += 1  # a call that read the cache meanwhile reads its claimed keys again
            return
        self.pending.update(items)
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        delay = 0.05
        while self.pending:
            batch = self.writing = self.pending
            self.pending = {}
            try:
                await asyncio.to_thread(self.cache.put_many, batch)
            except asyncio.CancelledError:
                self.pending = {**batch, **self.pending}
                raise
            except Exception as exc:  # noqa: BLE001 (locked, disk full...: keep the answers, try again)
                self.pending = {**batch, **self.pending}
                if not self.warned:
                    self.warned = True
                    warnings.warn(f"hf_frame: {len(self.pending)} answers could not be written to the cache yet "
                                  f"({type(exc).__name__}: {exc}); they are kept and written when it can be",
                                  RuntimeWarning, stacklevel=1)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
            else:
                delay = 0.05
                self.warned = False
                self.written += 1
            finally:
                self.writing = {}

    async def settle(self, timeout: float) -> None:
        """Wait up to ``timeout`` s for the queued answers to be written (and flushed, if the store
        has ``flush``); past that, they are written in the background."""
        deadline = time.monotonic() + timeout
        if self.task is not None and not self.task.done():
            try:
                await asyncio.wait_for(asyncio.shield(self.task), timeout)
            except asyncio.TimeoutError:
                return
        flush = getattr(self.cache, "flush", None)
        remaining = deadline - time.monotonic()
        if flush is not None and remaining > 0:
            await asyncio.to_thread(flush, remaining)


_writers: dict[int, CacheWriter] = {}


async def _write_all() -> None:
    """At exit: write what is still queued (an interrupted call's last answers)."""
    for writer in list(_writers.values()):
        await writer.settle(FLUSH_WAIT)


runtime.on_shutdown(_write_all)


def writer_for(cache: Any) -> CacheWriter:
    writer = _writers.get(id(cache))
    if writer is None or writer.cache is not cache:
        writer = _writers[id(cache)] = CacheWriter(cache)
    return writer
