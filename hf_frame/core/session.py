"""Process-wide state that outlives a call: the cache stores, one per location."""

from __future__ import annotations

import threading

from ..cache import Cache, open_cache
from ..config import Settings, is_cache_url, resolve_settings

_lock = threading.Lock()
_stores: dict[str, Cache] = {}


def get_cache(settings: Settings) -> Cache | None:
    """The cache these settings point at (None when ``cache=False``)."""
    if settings.cache is False:
        return None
    path = settings.cache_path
    name = str(settings.cache) if is_cache_url(settings.cache) else "memory" if path is None else str(path)
    with _lock:
        if name not in _stores:
            _stores[name] = open_cache(settings.cache if path is None else path)
        return _stores[name]


def cache_info(**settings) -> dict:
    """Entries, bytes and location (file, or server URL without its password) of the current cache.

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
