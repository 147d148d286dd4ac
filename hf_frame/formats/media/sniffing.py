"""Sniffing and validation: the content type from magic bytes, and the image / audio check."""

from __future__ import annotations

from typing import Literal

from ...errors import MediaError

Kind = Literal["image", "audio"]

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
