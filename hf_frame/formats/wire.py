"""The one base64 / data-URI codec: media bodies, masks, OpenAI base64 embeddings all use it.

>>> decode_base64(encode_base64(b"abc"), what="mask")
b'abc'
>>> decode_data_uri("data:text/plain,hi%21")
b'hi!'
>>> decode_base64("data:image/png;base64,YWJj", what="mask")
b'abc'
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import unquote

from ..errors import MediaError


def encode_base64(data: bytes) -> str:
    """Standard base64 text of ``data``.

    >>> encode_base64(b"abc")
    'YWJj'
    """
    return base64.b64encode(data).decode("ascii")


def decode_base64(text: str, *, what: str, strict: bool = True) -> bytes:
    """The bytes of base64 ``text`` (a ``data:...;base64,`` prefix is allowed).

    ``what`` names the value in the :class:`MediaError` raised for invalid base64; ``strict``
    refuses characters outside the base64 alphabet instead of skipping them.
    """
    if text.startswith("data:"):
        text = text.split(",", 1)[1] if "," in text else ""
    try:
        return base64.b64decode(text, validate=strict)
    except (binascii.Error, ValueError) as exc:
        raise MediaError(f"{what} is not valid base64: {exc}") from None


def decode_data_uri(value: str) -> bytes:
    """The payload of a ``data:`` URI, base64 or percent-encoded."""
    header, sep, payload = value.partition(",")
    if not sep:
        raise MediaError(f"malformed data URI (no comma): {value[:40]}...")
    if header.endswith(";base64"):
        return decode_base64(payload, what="data URI", strict=False)
    return unquote(payload).encode("latin-1")


def is_seekable(f: object) -> bool:
    """Whether a file object can be rewound (``seekable()`` that answers True without raising)."""
    try:
        return bool(f.seekable())  # type: ignore[attr-defined]
    except Exception:
        return False


@dataclass(frozen=True)
class BinaryAnswer:
    """An answer that is a file, not JSON: a generated image or sound and its content type.

    ``content_type`` is what the server said (``image/jpeg``, ``audio/flac``...), else what the
    bytes sniff as, else ``application/octet-stream``.
    """

    data: bytes
    content_type: str

    def __repr__(self) -> str:  # never dump the bytes
        return f"BinaryAnswer({self.content_type}, {len(self.data)} bytes)"
