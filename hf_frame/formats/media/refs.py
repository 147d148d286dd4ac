"""describe: one cell -> a :class:`MediaRef`, touching nothing on disk or network.

Also what the other steps share: URLs shown without their password, and the message of
a size-limit error.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit, urlunsplit
from urllib.request import url2pathname

from ...errors import MediaError
from ..cells import is_missing, is_pil_image
from ..wire import decode_data_uri

MiB = 1024 * 1024

Source = Literal["path", "url", "bytes", "pil", "file"]


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
