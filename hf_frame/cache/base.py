"""The cache protocol and the in-memory implementation."""

from __future__ import annotations

import threading
from typing import Iterable, Mapping, Protocol


class Cache(Protocol):
    """A key -> bytes store. Implementations must be safe to call from several threads."""

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        """The stored values of those keys that are present."""

    def put_many(self, items: Mapping[str, bytes]) -> None:
        """Store values (overwriting), durably before returning."""

    def info(self) -> dict:
        """Entry count, size and location."""

    def clear(self) -> int:
        """Delete everything; returns the number of entries removed."""


class MemoryCache:
    """A dict behind a lock: for ``cache="memory"`` and for tests."""

    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        with self._lock:
            return {k: self._data[k] for k in keys if k in self._data}

    def put_many(self, items: Mapping[str, bytes]) -> None:
        with self._lock:
            self._data.update(items)

    def info(self) -> dict:
        with self._lock:
            return {"entries": len(self._data), "bytes": sum(map(len, self._data.values())), "path": None}

    def clear(self) -> int:
        with self._lock:
            n = len(self._data)
            self._data.clear()
            return n
