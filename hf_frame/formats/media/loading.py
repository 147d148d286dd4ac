"""fingerprint and load: the sha256 of a :class:`MediaRef`'s content, and the content itself.

Reads paths, bytes, PIL images (as PNG) and file objects; URLs go through a :class:`UrlFetcher`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import stat
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from ...errors import MediaError
from ..wire import is_seekable
from .fetching import DEFAULT_MAX_BYTES, UrlFetcher
from .refs import MediaRef, MiB, _too_big

BLOCK_SIZE = MiB
"""Files are hashed in blocks of this size."""

# (resolved path, st_size, st_mtime_ns) -> sha256 hex; bounded, shared by the whole process.
_PATH_MEMO: OrderedDict[tuple[str, int, int], str] = OrderedDict()
_PATH_MEMO_MAX = 100_000
_PATH_MEMO_LOCK = threading.Lock()


async def fingerprint(
    ref: MediaRef, fetcher: UrlFetcher | None = None, *, max_bytes: int | None = None
) -> str:
    """sha256 hex digest of the content of ``ref``: equal content, equal key, whatever the source.

    * paths are hashed in 1 MiB blocks (in a worker thread) and memoized per process under
      (resolved path, size, mtime_ns): fingerprinting again is one ``stat``, and a file
      rewritten in place gets a new key;
    * URLs are downloaded (through ``fetcher``, whose LRU then serves :func:`load`);
    * PIL images are hashed as their PNG encoding.

    ``max_bytes`` defaults to ``fetcher.max_bytes`` (or :data:`DEFAULT_MAX_BYTES`); downloads
    always use the fetcher's own limit.

    >>> import asyncio
    >>> asyncio.run(fingerprint(describe(b"abc")))[:16]
    'ba7816bf8f01cfea'
    """
    limit = _limit(fetcher, max_bytes)
    if ref.source == "path":
        return await asyncio.to_thread(_hash_path, ref.value, ref.name, limit)
    if ref.source == "file" and not ref._buffer:
        if is_seekable(ref.value):
            return await asyncio.to_thread(_hash_seekable_file, ref.value, ref.name, limit)
    # url, bytes, pil, non-seekable file: the bytes are in memory anyway
    return hashlib.sha256(await load(ref, fetcher, max_bytes=max_bytes)).hexdigest()


async def load(
    ref: MediaRef, fetcher: UrlFetcher | None = None, *, max_bytes: int | None = None
) -> bytes:
    """The content of ``ref``, read now (files in a worker thread, URLs through ``fetcher``).

    Raises :class:`MediaError` for a missing/unreadable file, a failed download, or content
    over ``max_bytes`` (default ``fetcher.max_bytes`` or :data:`DEFAULT_MAX_BYTES`; downloads
    always use the fetcher's own limit).

    >>> import asyncio
    >>> asyncio.run(load(describe(bytearray(b"abc"))))
    b'abc'
    """
    limit = _limit(fetcher, max_bytes)
    if ref.source == "path":
        return await asyncio.to_thread(_read_path, ref.value, ref.name, limit)
    if ref.source == "url":
        if fetcher is None:
            raise MediaError(f"a UrlFetcher is needed to download {ref.name}")
        return await fetcher.fetch(ref.value)
    if ref.source == "bytes":
        if len(ref.value) > limit:
            raise _too_big(ref.name, len(ref.value), limit)
        return ref.value
    if ref.source == "pil":
        data = await asyncio.to_thread(_encode_png, ref.value)
        if len(data) > limit:
            raise _too_big(f"{ref.name} encoded as PNG", len(data), limit)
        return data
    if ref.source == "file":
        if ref._buffer:
            return ref._buffer[0]
        return await asyncio.to_thread(_read_file_object, ref, limit)
    raise AssertionError(f"unknown source {ref.source!r}")  # pragma: no cover


def _limit(fetcher: UrlFetcher | None, max_bytes: int | None) -> int:
    if max_bytes is not None:
        return max_bytes
    return fetcher.max_bytes if fetcher is not None else DEFAULT_MAX_BYTES


@contextlib.contextmanager
def _file_errors(name: str):
    """OS errors about a file -> a MediaError naming it (never its contents)."""
    try:
        yield
    except FileNotFoundError:
        raise MediaError(f"file not found: {name}") from None
    except PermissionError:
        raise MediaError(f"permission denied: {name}") from None
    except OSError as exc:
        raise MediaError(f"cannot read {name}: {exc.strerror or exc}") from None


def _stat_file(path: Path, name: str, limit: int) -> os.stat_result:
    with _file_errors(name):
        st = path.stat()
    if not stat.S_ISREG(st.st_mode):
        raise MediaError(f"not a regular file: {name}")
    if st.st_size > limit:
        raise _too_big(name, st.st_size, limit)
    return st


def _open(path: Path, name: str):
    with _file_errors(name):
        return open(path, "rb")


def _hash_path(path: Path, name: str, limit: int) -> str:
    before = _stat_file(path, name, limit)
    key = (os.path.realpath(path), before.st_size, before.st_mtime_ns)
    with _PATH_MEMO_LOCK:
        digest = _PATH_MEMO.get(key)
        if digest is not None:
            _PATH_MEMO.move_to_end(key)
            return digest
    with _open(path, name) as f:
        digest = _hash_stream(f, name, limit)
    after = path.stat()
    if (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns):
        # Only memoize when the file did not change while being read.
        with _PATH_MEMO_LOCK:
            _PATH_MEMO[key] = digest
            while len(_PATH_MEMO) > _PATH_MEMO_MAX:
                _PATH_MEMO.popitem(last=False)
    return digest


def _hash_stream(f, name: str, limit: int) -> str:
    h = hashlib.sha256()
    total = 0
    while block := f.read(BLOCK_SIZE):
        if not isinstance(block, (bytes, bytearray, memoryview)):
            raise MediaError(f"{name} is opened in text mode; open it with 'rb'")
        total += len(block)
        if total > limit:
            raise _too_big(name, total, limit, at_least=True)
        h.update(block)
    return h.hexdigest()


def _read_path(path: Path, name: str, limit: int) -> bytes:
    st = _stat_file(path, name, limit)
    with _open(path, name) as f:
        data = _read_bounded(f, limit, st.st_size)
    if len(data) > limit:
        raise _too_big(name, len(data), limit, at_least=True)
    return data


def _regular_file_size(f) -> int | None:
    """The size of the regular file behind a file object (None for pipes, BytesIO...)."""
    try:
        st = os.fstat(f.fileno())
    except Exception:
        return None
    return st.st_size if stat.S_ISREG(st.st_mode) else None


def _read_bounded(f, limit: int, expected: int):
    """At most ``limit + 1`` bytes of ``f`` (one more than allowed tells "too big").

    Never ``f.read(limit + 1)`` on a real file: CPython allocates the whole requested size up
    front (50 MiB for a 100 KB image). Read the expected size, then blocks if the file grew.
    """
    first = f.read(min(limit, expected) + 1)
    if not isinstance(first, (bytes, bytearray, memoryview)) or len(first) <= expected:
        return first  # text (the caller complains), or all of it
    parts, total = [first], len(first)
    while total <= limit:
        block = f.read(min(BLOCK_SIZE, limit + 1 - total))
        if not block:
            break
        parts.append(block)
        total += len(block)
    return b"".join(parts)


def _hash_seekable_file(f, name: str, limit: int) -> str:
    f.seek(0)
    try:
        return _hash_stream(f, name, limit)
    finally:
        f.seek(0)


def _read_file_object(ref: MediaRef, limit: int) -> bytes:
    f = ref.value
    seekable = is_seekable(f)
    if seekable:
        f.seek(0)
    size = _regular_file_size(f)
    data = f.read(limit + 1) if size is None else _read_bounded(f, limit, size)
    if seekable:
        f.seek(0)
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise MediaError(f"{ref.name} is opened in text mode; open it with 'rb'")
    if len(data) > limit:
        raise _too_big(ref.name, len(data), limit, at_least=True)
    data = bytes(data)
    if not seekable:
        ref._buffer.append(data)  # a stream can be read once: keep it for the next load
    return data


_PNG_MODES = {"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"}


def _encode_png(image: Any) -> bytes:
    if image.mode not in _PNG_MODES:
        has_alpha = "A" in image.mode or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()
