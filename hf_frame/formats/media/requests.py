"""Requests and responses: the body and headers sent for one input, masks decoded from answers."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from ...errors import MediaError
from ..wire import decode_base64, encode_base64
from .sniffing import Kind, validate_kind

if TYPE_CHECKING:  # pragma: no cover
    import numpy


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
