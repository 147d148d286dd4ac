"""Where answers are kept between runs: a small protocol with SQLite and in-memory stores."""

from .base import Cache, MemoryCache
from .sqlite import SQLiteCache

__all__ = ["Cache", "MemoryCache", "SQLiteCache"]
