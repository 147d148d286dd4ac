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

One module per step -- ``refs`` (:func:`describe`), ``fetching`` (:class:`UrlFetcher`), ``loading``
(:func:`fingerprint`, :func:`load`), ``sniffing`` (:func:`sniff`, :func:`validate_kind`) and
``requests`` (:func:`to_request`, :func:`decode_mask`); import the names from this package.

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

from ...errors import MediaError
from ..wire import encode_base64
from .fetching import DEFAULT_CACHE_BYTES, DEFAULT_MAX_BYTES, UrlFetcher
from .loading import fingerprint, load
from .refs import MediaRef, describe
from .requests import decode_mask, to_request
from .sniffing import sniff, validate_kind

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
