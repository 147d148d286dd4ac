"""hf_frame: Hugging Face inference on dataframe columns.

>>> import pandas as pd, hf_frame
>>> df = pd.DataFrame({"review": ["Great product!", "Broke after a day."]})
>>> df.hf.classify("review").columns.tolist()   # doctest: +SKIP
['review', 'review_label', 'review_score', 'review_error']

Importing registers ``.hf`` on pandas and polars objects, for whichever of them is installed.
"""

from __future__ import annotations

import importlib.util

from . import data
from ._version import __version__
from .config import Settings, configure, resolve_settings
from .errors import (
    CacheError,
    CacheWarning,
    ConfigError,
    FatalRequestError,
    HFFrameError,
    InputError,
    InputTypeError,
    RequestError,
    RowErrors,
    RowErrorWarning,
    RowRequestError,
)
from .formats.generated import media_html, save_media
from .formats.media import decode_mask
from .methods import METHODS
from .runtime import cache_info, clear_cache, last_run, usage

# The adapters register the accessors as they are imported; each only when its library is installed.
if importlib.util.find_spec("pandas") is not None:
    from .adapters import pandas as _pandas_adapter  # noqa: F401
if importlib.util.find_spec("polars") is not None:
    from .adapters import polars as _polars_adapter  # noqa: F401

__all__ = [
    "CacheError",
    "CacheWarning",
    "ConfigError",
    "FatalRequestError",
    "HFFrameError",
    "InputError",
    "InputTypeError",
    "METHODS",
    "RequestError",
    "RowErrorWarning",
    "RowErrors",
    "RowRequestError",
    "Settings",
    "__version__",
    "cache_info",
    "clear_cache",
    "configure",
    "data",
    "decode_mask",
    "last_run",
    "media_html",
    "resolve_settings",
    "save_media",
    "usage",
]
