"""Where answers are kept between runs: a small protocol with SQLite, Redis and in-memory stores.

:func:`open_cache` turns a ``cache`` setting into a store. Stores with a background writer are
flushed at interpreter exit (see :mod:`.buffered`).
"""

from __future__ import annotations

from pathlib import Path

from ..config import cache_file, is_cache_url
from .base import Cache, MemoryCache
from .sqlite import SQLiteCache

__all__ = ["Cache", "MemoryCache", "RedisCache", "SQLiteCache", "open_cache"]


def open_cache(setting: str | bool | Path | None) -> Cache | None:
    """The store a ``cache`` setting names.

    ``True``: the default SQLite file (``~/.cache/hf_frame/cache.sqlite``); ``False`` / ``None``: no
    cache; ``"memory"``: a dict for this process; ``"redis://host:port/db"`` (also ``rediss://``,
    ``unix:///path.sock``; Valkey too): a Redis server; anything else: a directory or a
    ``.sqlite`` / ``.db`` file.

    >>> open_cache("memory").info()
    {'entries': 0, 'bytes': 0, 'path': None}
    """
    if setting is None or setting is False:
        return None
    if setting == "memory":
        return MemoryCache()
    if is_cache_url(setting):
        from .redis import RedisCache

        return RedisCache(str(setting))
    return SQLiteCache(cache_file(setting if isinstance(setting, bool) else str(setting)))


def __getattr__(name: str):
    if name == "RedisCache":  # imported on demand: the redis client is an optional dependency
        from .redis import RedisCache

        return RedisCache
    raise AttributeError(name)
