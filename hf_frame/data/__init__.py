"""Sample data shipped with hf_frame, for the demo (``hf-frame demo``), the notebook and the docs.

``reviews.csv``: 40 short product reviews (``id``, ``product``, ``rating`` 1-5, ``title``,
``review``), written for hf_frame, 10 products x 4 reviews, covering praise, defects, delivery
damage, sizing, battery life and customer service.

>>> from hf_frame.data import reviews
>>> reviews().shape
(40, 5)
"""

from __future__ import annotations

from importlib import resources
from typing import Any

__all__ = ["path", "reviews"]


def path(name: str = "reviews.csv") -> str:
    """The file system path of a bundled data file (default: ``reviews.csv``)."""
    ref = resources.files(__name__) / name
    if not ref.is_file():
        available = sorted(p.name for p in resources.files(__name__).iterdir() if p.name.endswith(".csv"))
        raise FileNotFoundError(f"no bundled data file {name!r}; available: {available}")
    return str(ref)


def reviews() -> Any:
    """The bundled product reviews as a pandas DataFrame (``rating`` int64, the rest text)."""
    import pandas as pd

    return pd.read_csv(path("reviews.csv"), keep_default_na=False, na_values=[""])
