"""The cache protocol and the in-memory implementation."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Protocol


class Cache(Protocol):
    """A key -> bytes store shared by every call of the process.

    Keys are the engine's sha256 request keys (never a token); values are encoded answers.
    Every implementation guarantees:

    * **thread-safe**: any method may be called from any thread, concurrently;
    * **put_many never blocks on I/O**: values are queued and written by the store's own writer
      (group commits a few milliseconds apart), so a crash loses at most that window;
    * **read-your-writes**: ``get_many`` returns every value put earlier in this process, written
      yet or not;
    * **nothing is lost on a failed write**: the values stay in memory (still served) and are
      retried until written; the caller gets one :class:`~hf_frame.errors.CacheWarning` per outage
      and one at exit / ``close`` for whatever could never be written;
    * ``get_many`` and ``info`` raise :class:`~hf_frame.errors.CacheError` (naming the file or
      URL, never a password) when the store cannot be read.
    """

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        """The stored values of those keys that are present (cheap in bulk)."""

    def put_many(self, items: Mapping[str, bytes]) -> None:
        """Store values (overwriting); returns at once, the write happens in the background."""

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every value put so far is written; False if ``timeout`` seconds passed first."""

    def close(self, timeout: float | None = 30.0) -> bool:
        """Flush, then release connections and threads (a later call reopens); whether all was written."""

    def info(self) -> dict:
        """``{"entries": n, "bytes": n, "path": location or None}``."""

    def clear(self) -> int:
        """Delete everything; returns the number of entries removed."""


class MemoryCache:
    """A dict behind a lock: for ``cache="memory"`` and for tests (nothing to flush)."""

    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        with self._lock:
            return {k: self._data[k] for k in keys if k in self._data}

    def put_many(self, items: Mapping[str, bytes]) -> None:
        with self._lock:
            self._data.update(items)

    def flush(self, timeout: float | None = None) -> bool:
        return True

    def close(self, timeout: float | None = 30.0) -> bool:
        return True

    def info(self) -> dict:
        with self._lock:
            return {"entries": len(self._data), "bytes": sum(map(len, self._data.values())), "path": None}

    def clear(self) -> int:
        with self._lock:
            n = len(self._data)
            self._data.clear()
            return n
