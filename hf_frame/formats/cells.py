"""What a frame cell is: the one rule for "missing", and the one check for PIL images."""

from __future__ import annotations

import sys
from typing import Any


def is_missing(value: Any) -> bool:
    """Whether a cell value counts as missing: None, NaN, ``pd.NA`` or ``pd.NaT``.

    Works without importing pandas or numpy: NaN is detected as ``value != value``
    (true for float, numpy and Decimal NaN), NA/NaT by their type names.
    Containers (lists, arrays) are never missing, even if they hold NaN.

    >>> [is_missing(v) for v in (None, float("nan"), "", 0, [None])]
    [True, True, False, False, False]
    """
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return True
    try:
        differs = value != value
        if getattr(differs, "ndim", 0) != 0:  # element-wise result of an array or Series
            return False
        return bool(differs)
    except Exception:  # objects whose comparison or truth value is ambiguous
        return False


def is_pil_image(value: Any) -> bool:
    """Whether ``value`` is a ``PIL.Image.Image``, without importing PIL.

    If PIL has not been imported, the value cannot be a PIL image.
    """
    pil_image = sys.modules.get("PIL.Image")
    return pil_image is not None and isinstance(value, pil_image.Image)
