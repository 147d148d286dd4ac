"""Process-wide state that outlives a call: the cache stores, one per location."""

from __future__ import annotations

import threading

from ..cache import Cache, MemoryCache, SQLiteCache
from ..config import Settings, resolve_settings

_lock = threading.Lock()
_stores: dict[str, Cache] = {}


def get_cache(settings: Settings) -> Cache | None:
    """The cache these settings point at (None when ``cache=False``)."""
    if settings.cache is False:
        return None
    path = settings.cache_path
    name = "memory" if path is None else str(path)
    with _lock:
        if name not in _stores:
            _stores[name] = MemoryCache() if path is None else SQLiteCache(path)
        return _stores[name]


def cache_info(**settings) -> dict:
    """Entries, bytes and path of the cache the current settings use.

    >>> import hf_frame
    >>> hf_frame.cache_info()  # doctest: +SKIP
    {'entries': 1200, 'bytes': 482113, 'path': '/home/me/.cache/hf_frame/cache.sqlite'}
    """
    cache = get_cache(resolve_settings(**settings))
    return {"entries": 0, "bytes": 0, "path": None} if cache is None else cache.info()


def clear_cache(**settings) -> int:
    """Delete every cached answer of the current cache; returns how many were removed."""
    cache = get_cache(resolve_settings(**settings))
    return 0 if cache is None else cache.clear()
