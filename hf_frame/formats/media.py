"""Turn dataframe cells into image/audio bytes, lazily.

Vision and audio tasks take a column whose cells may be any of:

* a local path (``str`` or :class:`os.PathLike`, ``file://`` URLs too),
* an ``http(s)://`` URL (``str``),
* ``bytes`` / ``bytearray`` / ``memoryview``,
* a PIL image (only recognised if Pillow is already imported; encoded to PNG),
* a binary file-like object (anything with ``.read()``; rewound with ``seek(0)`` when seekable),
* a dict ``{"bytes": ..., "path": ...}`` as Hugging Face ``datasets`` stores images and audio
  (``bytes`` wins when present),
* ``None`` / NaN / ``pd.NA`` -- missing.

Work is split in three steps so that a column of 10,000 image paths never holds 10,000 images:

1. :func:`describe` -- cheap, touches nothing on disk or network, returns a :class:`MediaRef`
   (or ``None`` for a missing cell);
2. :func:`fingerprint` -- sha256 of the *content*, streamed in 1 MiB blocks, so the same image
   under two paths or URLs gets one key and a file edited in place gets a new one;
3. :func:`load` -- the bytes, read only when the request is about to go out.

Then :func:`validate_kind` checks the bytes are really an image/audio clip (by magic bytes,
:func:`sniff`) and :func:`to_request` builds the request body and headers.

Example::

    >>> import asyncio, httpx
    >>> async def demo(cell):
    ...     async with httpx.AsyncClient() as client:
    ...         fetcher = UrlFetcher(client)
    ...         ref = describe(cell)                    # no I/O
    ...         key = await fingerprint(ref, fetcher)   # sha256 hex of the content
    ...         data = await load(ref, fetcher)         # the bytes
    ...         return key, to_request(data, "image", None)
    >>> key, (body, headers) = asyncio.run(demo(b"\\x89PNG\\r\\n\\x1a\\n..."))
    >>> headers
    {'Content-Type': 'image/png'}

Every :class:`MediaError` message names the offending path or URL -- never file contents.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import re
import stat
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlsplit, urlunsplit
from urllib.request import url2pathname

from ..errors import MediaError
from .cells import is_missing, is_pil_image
from .wire import decode_base64, decode_data_uri, encode_base64, is_seekable

if TYPE_CHECKING:  # pragma: no cover
    import httpx
    import numpy

__all__ = [
    "DEFAULT_CACHE_BYTES",
    "DEFAULT_MAX_BYTES",
    "MediaError",
    "MediaRef",
    "UrlFetcher",
    "decode_mask",
    "describe",
    "encode_base64",
    "fingerprint",
    "load",
    "sniff",
    "to_request",
    "validate_kind",
]

MiB = 1024 * 1024
DEFAULT_MAX_BYTES = 50 * MiB
"""Largest media file accepted (files, downloads, in-memory bytes alike)."""
DEFAULT_CACHE_BYTES = 64 * MiB
"""Budget of the per-fetcher LRU of downloaded bytes."""
BLOCK_SIZE = MiB
"""Files are hashed in blocks of this size."""

Kind = Literal["image", "audio"]
Source = Literal["path", "url", "bytes", "pil", "file"]





# --------------------------------------------------------------------------------------------
# describe: cell -> MediaRef
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class MediaRef:
    """A cheap handle on one cell's media; nothing is read until :func:`fingerprint`/:func:`load`.

    ``source`` says what ``value`` is:

    ==========  =====================================================
    ``path``    a :class:`pathlib.Path` (not yet opened)
    ``url``     an ``http(s)://`` URL string (not yet downloaded)
    ``bytes``   the content itself (``bytes``)
    ``pil``     a ``PIL.Image.Image`` (encoded to PNG on load)
    ``file``    a binary file-like object
    ==========  =====================================================

    ``name`` is what error messages show: the path, the URL (without any password), or a short
    description such as ``<2048 bytes>``.

    >>> describe("photos/cat.png")
    MediaRef(source='path', name='photos/cat.png')
    >>> describe(b"abc").name
    '<3 bytes>'
    """

    source: Source
    value: Any = field(repr=False)
    name: str
    # Non-seekable streams can be read only once: their bytes are kept here after the first read.
    _buffer: list = field(default_factory=list, repr=False)


_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def describe(value: Any) -> MediaRef | None:
    """Classify a cell without reading anything. Returns ``None`` for a missing cell.

    Raises :class:`MediaError` for a value that can never be media (an ``ftp://`` URL, an int,
    a text-mode file...).

    >>> describe(None) is None, describe(float("nan")) is None
    (True, True)
    >>> describe("https://example.com/cat.jpg")
    MediaRef(source='url', name='https://example.com/cat.jpg')
    >>> describe({"bytes": None, "path": "/data/cat.jpg"})
    MediaRef(source='path', name='/data/cat.jpg')
    """
    if is_missing(value):
        return None
    if isinstance(value, str):
        return _describe_str(value)
    if isinstance(value, os.PathLike):
        path = Path(value)
        return MediaRef("path", path.expanduser(), str(path))
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)  # copies mutable buffers so later edits cannot change the content
        return MediaRef("bytes", data, f"<{len(data)} bytes>")
    if isinstance(value, dict):
        return _describe_dict(value)
    if is_pil_image(value):
        return MediaRef("pil", value, f"<PIL image {value.width}x{value.height} {value.mode}>")
    if callable(getattr(value, "read", None)):
        name = getattr(value, "name", None)
        label = f"<file {name}>" if isinstance(name, str) else f"<{type(value).__name__} object>"
        return MediaRef("file", value, label)
    raise MediaError(
        f"cannot use a {type(value).__name__} as image/audio: expected a path, an http(s) URL, "
        "bytes, a PIL image, a binary file object or a {'bytes': ..., 'path': ...} dict"
    )


def _describe_str(value: str) -> MediaRef:
    if not value.strip():
        raise MediaError("empty string is neither a path nor a URL")
    match = _SCHEME.match(value)
    if match:
        scheme = match.group(1).lower()
        if scheme in ("http", "https"):
            return MediaRef("url", value, _display_url(value))
        if scheme == "file":
            parts = urlsplit(value)
            path = Path(url2pathname(unquote(parts.path)))
            return MediaRef("path", path, str(path))
        raise MediaError(
            f"unsupported URL scheme {scheme!r} in {_display_url(value)}: only http(s) URLs "
            "and local paths can be read"
        )
    if value.startswith("data:"):
        return MediaRef("bytes", decode_data_uri(value), f"<data URI, {len(value)} chars>")
    return MediaRef("path", Path(value).expanduser(), value)


def _describe_dict(value: dict) -> MediaRef | None:
    if "bytes" not in value and "path" not in value:
        raise MediaError(
            f"a dict cell needs a 'bytes' or 'path' key (as in datasets' Image/Audio), "
            f"got keys {sorted(map(str, value))[:5]}"
        )
    data, path = value.get("bytes"), value.get("path")
    if data is not None and not is_missing(data):
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise MediaError(f"dict cell 'bytes' must be bytes, got {type(data).__name__}")
        ref = describe(data)
        if isinstance(path, (str, os.PathLike)):
            return MediaRef("bytes", ref.value, str(path))  # name errors after the original file
        return ref
    if path is None or is_missing(path):
        return None  # datasets stores a missing image as {"bytes": None, "path": None}
    return describe(path)


def _display_url(url: str) -> str:
    """The URL with any ``user:password@`` removed, for messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


def _fmt_size(n: int) -> str:
    if n >= MiB:
        return f"{n / MiB:.1f} MiB ({n:,} bytes)"
    return f"{n:,} bytes"


def _too_big(name: str, size: int, limit: int, *, at_least: bool = False) -> MediaError:
    what = f"more than {_fmt_size(limit)}" if at_least else _fmt_size(size)
    return MediaError(f"{name} is {what}, over the size limit of {_fmt_size(limit)}")


# --------------------------------------------------------------------------------------------
# UrlFetcher: downloads with a size limit and a bounded LRU
# --------------------------------------------------------------------------------------------


class UrlFetcher:
    """Downloads ``http(s)`` media with a size limit, and remembers recent downloads.

    * follows redirects; ``timeout`` (seconds) applies to connecting and to each read;
    * refuses a response whose ``Content-Length`` exceeds ``max_bytes``, and aborts a streamed
      body as soon as it grows past ``max_bytes``;
    * raises :class:`MediaError` naming the URL on HTTP status >= 400, timeouts and connection
      errors;
    * keeps downloaded bytes in an LRU keyed by URL, up to ``cache_bytes`` in total, so that
      :func:`load` after :func:`fingerprint` does not download twice (beyond the budget it
      simply downloads again);
    * concurrent fetches of the same URL share one download;
    * never sends the client's ``Authorization`` header: the client may carry a Hugging Face
      token, which must not leak to image hosts.

    The client is borrowed, not owned: close it yourself.

    >>> async def demo():
    ...     async with httpx.AsyncClient() as client:
    ...         fetcher = UrlFetcher(client, timeout=10, max_bytes=5 * MiB)
    ...         return await fetcher.fetch("https://example.com/cat.png")
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        timeout: float = 30.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
        *,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, got {max_bytes}")
        self.client = client
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.cache_bytes = cache_bytes
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cached_total = 0
        self._inflight: dict[str, asyncio.Future[bytes]] = {}

    async def fetch(self, url: str) -> bytes:
        """The body of ``url`` (from the LRU when it is there)."""
        cached = self._cache.get(url)
        if cached is not None:
            self._cache.move_to_end(url)
            return cached
        task = self._inflight.get(url)
        if task is None:
            task = asyncio.ensure_future(self._download(url))
            self._inflight[url] = task
            task.add_done_callback(lambda t, url=url: self._finish(url, t))
        # shield: one caller being cancelled must not cancel the download others wait for
        return await asyncio.shield(task)

    def forget(self, url: str) -> None:
        """Drop ``url`` from the LRU (e.g. once its bytes have been sent)."""
        data = self._cache.pop(url, None)
        if data is not None:
            self._cached_total -= len(data)

    def _finish(self, url: str, task: asyncio.Future[bytes]) -> None:
        self._inflight.pop(url, None)
        if task.cancelled() or task.exception() is not None:  # exception() marks it retrieved
            return
        self._remember(url, task.result())

    def _remember(self, url: str, data: bytes) -> None:
        if len(data) > self.cache_bytes:
            return
        self.forget(url)
        self._cache[url] = data
        self._cached_total += len(data)
        while self._cached_total > self.cache_bytes:
            _, evicted = self._cache.popitem(last=False)
            self._cached_total -= len(evicted)

    async def _download(self, url: str) -> bytes:
        import httpx  # here, not at import: a call that downloads nothing never loads it

        shown = _display_url(url)
        try:
            request = self.client.build_request("GET", url, timeout=self.timeout)
            request.headers.pop("Authorization", None)
            response = await self.client.send(request, stream=True, follow_redirects=True)
            try:
                if response.status_code >= 400:
                    reason = f" {response.reason_phrase}" if response.reason_phrase else ""
                    raise MediaError(f"HTTP {response.status_code}{reason} fetching {shown}")
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > self.max_bytes:
                    raise _too_big(shown, int(declared), self.max_bytes)
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > self.max_bytes:
                        raise _too_big(shown, len(body), self.max_bytes, at_least=True)
                return bytes(body)
            finally:
                await response.aclose()
        except httpx.TimeoutException as exc:
            cause = exc.__cause__
            if type(cause).__module__.startswith("aiohttp") and not isinstance(cause, TimeoutError):
                # httpx-aiohttp maps every aiohttp connection error (refused, DNS) to ConnectTimeout
                raise MediaError(f"could not fetch {shown}: {cause}") from None
            raise MediaError(f"timed out after {self.timeout:g}s fetching {shown}") from None
        except httpx.TooManyRedirects:
            raise MediaError(f"too many redirects fetching {shown}") from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            detail = str(exc) or type(exc).__name__
            raise MediaError(f"could not fetch {shown}: {detail}") from None


# --------------------------------------------------------------------------------------------
# fingerprint and load
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# sniffing and validation
# --------------------------------------------------------------------------------------------

_BMP_HEADER_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}
_HEIF_BRANDS = {b"heic": "image/heic", b"heix": "image/heic", b"mif1": "image/heif",
                b"msf1": "image/heif", b"avif": "image/avif", b"avis": "image/avif"}
_M4A_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "}
# Containers that may hold audio only; accepted as audio (HF decodes them with ffmpeg).
_AUDIO_CONTAINERS = {"video/mp4", "video/webm", "video/x-matroska", "video/quicktime"}


def sniff(data: bytes) -> str | None:
    """The MIME type of ``data`` from its magic bytes, or ``None`` when unrecognised.

    Images: png, jpeg, gif, webp, bmp, tiff, ico, avif/heic, jpeg 2000.
    Audio: wav, flac, mp3, aac (ADTS), ogg, aiff, m4a/mp4, webm/mkv.

    >>> sniff(b"\\x89PNG\\r\\n\\x1a\\n....")
    'image/png'
    >>> sniff(b"RIFF\\x24\\x00\\x00\\x00WAVEfmt ")
    'audio/wav'
    >>> sniff(b"<html>") is None
    True
    """
    head = bytes(data[:64])
    for offset, magic, content_type in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return content_type
    for check in _SPECIAL_SIGNATURES:
        content_type = check(head)
        if content_type is not None:
            return content_type
    return None


# Fixed magic bytes at a fixed offset: (offset, magic, content type), checked in order.
_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"II*\x00", "image/tiff"),
    (0, b"MM\x00*", "image/tiff"),
    (0, b"\x00\x00\x00\x0cjP  \r\n\x87\n", "image/jp2"),
    (0, b"\xff\x4f\xff\x51", "image/jp2"),
    (0, b"fLaC", "audio/flac"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"OggS", "audio/ogg"),
)


def _riff(head: bytes) -> str | None:
    if head[:4] == b"RIFF":
        return {b"WEBP": "image/webp", b"WAVE": "audio/wav"}.get(head[8:12])
    return None


def _bmp(head: bytes) -> str | None:
    # "BM" alone is too weak: also check the DIB header size
    return "image/bmp" if head[:2] == b"BM" and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES else None


def _mpeg_frame(head: bytes) -> str | None:
    # MPEG audio frame sync; layer bits 00 mean an AAC ADTS stream instead of mp3
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "audio/aac" if head[1] & 0x06 == 0 else "audio/mpeg"
    return None


def _aiff(head: bytes) -> str | None:
    return "audio/aiff" if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC") else None


def _iso_media(head: bytes) -> str | None:
    if head[4:8] != b"ftyp":
        return None
    brand = head[8:12]
    if brand in _HEIF_BRANDS:
        return _HEIF_BRANDS[brand]
    if brand in _M4A_BRANDS:
        return "audio/mp4"
    return "video/quicktime" if brand == b"qt  " else "video/mp4"


def _ico(head: bytes) -> str | None:
    return "image/x-icon" if head[:4] == b"\x00\x00\x01\x00" and len(head) >= 6 and head[4:6] != b"\x00\x00" else None


def _matroska(head: bytes) -> str | None:
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "video/webm" if b"webm" in head else "video/x-matroska"
    return None


# Signatures that need more than a prefix, checked in order after _SIGNATURES.
_SPECIAL_SIGNATURES = (_riff, _bmp, _mpeg_frame, _aiff, _iso_media, _ico, _matroska)


def validate_kind(data: bytes, kind: Kind, name: str | None = None) -> str:
    """The sniffed content type of ``data``, or :class:`MediaError` if it is not a ``kind``.

    ``name`` (a path, URL, ...) is put in the message.

    >>> validate_kind(b"\\xff\\xd8\\xff\\xe0 JFIF", "image")
    'image/jpeg'
    >>> try:
    ...     validate_kind(b"<!DOCTYPE html>", "image", "https://x.org/a.jpg")
    ... except MediaError as exc:
    ...     print(exc)
    https://x.org/a.jpg is not an image (first bytes: b'<!DOCTYPE html>')
    """
    if kind not in ("image", "audio"):
        raise ValueError(f"kind must be 'image' or 'audio', got {kind!r}")
    label = name or "data"
    what = "an image" if kind == "image" else "audio"
    if not data:
        raise MediaError(f"{label} is empty, not {what}")
    content_type = sniff(data)
    if content_type is not None:
        if kind == "image" and content_type.startswith("image/"):
            return content_type
        if kind == "audio" and (
            content_type.startswith("audio/") or content_type in _AUDIO_CONTAINERS
        ):
            return content_type
    detected = f"detected {content_type}; " if content_type else ""
    raise MediaError(f"{label} is not {what} ({detected}first bytes: {bytes(data[:16])!r})")


# --------------------------------------------------------------------------------------------
# requests and responses
# --------------------------------------------------------------------------------------------


def to_request(
    data: bytes, kind: Kind, parameters: dict[str, Any] | None = None, *, name: str | None = None
) -> tuple[bytes | dict[str, Any], dict[str, str]]:
    """Body and headers of an inference request for one image/audio input.

    Checks ``data`` with :func:`validate_kind` first (``name`` goes in its message).

    * no parameters (or only ``None`` values) -> the raw bytes, ``Content-Type`` sniffed;
    * parameters -> a JSON-able dict ``{"inputs": <base64>, "parameters": {...}}`` with
      ``Content-Type: application/json`` (the form the HF API needs for parameters);
      ``None`` parameters are dropped.

    >>> png = b"\\x89PNG\\r\\n\\x1a\\n" + b"\\x00" * 8
    >>> to_request(png, "image", None)[1]
    {'Content-Type': 'image/png'}
    >>> body, headers = to_request(png, "image", {"top_k": 3, "threshold": None})
    >>> body["parameters"], headers
    ({'top_k': 3}, {'Content-Type': 'application/json'})
    """
    content_type = validate_kind(data, kind, name)
    params = {k: v for k, v in (parameters or {}).items() if v is not None}
    if not params:
        return bytes(data), {"Content-Type": content_type}
    body = {"inputs": encode_base64(data), "parameters": params}
    return body, {"Content-Type": "application/json"}


def decode_mask(mask: bytes | str) -> numpy.ndarray:
    """A segmentation mask (PNG bytes, or base64 text as the HF API returns) as a 2-D numpy array.

    Needs Pillow and numpy, imported on first use.

    Parameters
    ----------
    mask : bytes or str
        One ``mask`` of ``segment``'s output (PNG bytes), or the base64 text of a raw HF answer.

    Returns
    -------
    numpy.ndarray
        ``(height, width)``: ``bool`` for mode ``1`` masks, else ``uint8`` (HF masks are 0/255
        greyscale; other modes are converted to greyscale).

    Raises
    ------
    MediaError
        The bytes are not an image (the message shows their first bytes).

    Examples
    --------
    >>> out = df.hf.segment("photo")                                      # doctest: +SKIP
    >>> decode_mask(out["photo_segments"][0][0]["mask"]).shape            # doctest: +SKIP
    (512, 512)
    >>> from PIL import Image
    >>> png = io.BytesIO(); Image.new("L", (3, 2), 255).save(png, "PNG")
    >>> decode_mask(png.getvalue()).tolist()
    [[255, 255, 255], [255, 255, 255]]
    """
    image_module = _require_pillow("decode segmentation masks")
    import numpy as np

    if isinstance(mask, str):
        mask = decode_base64(mask, what="mask")
    try:
        with image_module.open(io.BytesIO(mask)) as image:
            image.load()
            if image.mode == "1":
                return np.array(image, dtype=bool)
            if image.mode != "L":
                image = image.convert("L")
            return np.array(image, dtype=np.uint8)
    except image_module.UnidentifiedImageError:
        raise MediaError(f"mask is not an image (first bytes: {bytes(mask[:16])!r})") from None


def _require_pillow(purpose: str):
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(
            f"Pillow is needed to {purpose}: pip install pillow"
        ) from None
    return Image
