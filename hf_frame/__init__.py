"""hf_frame: Hugging Face inference on dataframe columns.

>>> import pandas as pd, hf_frame
>>> df = pd.DataFrame({"review": ["Great product!", "Broke after a day."]})
>>> df.hf.classify("review").columns.tolist()   # doctest: +SKIP
['review', 'review_label', 'review_score', 'review_error']

Importing registers ``.hf`` on pandas and polars objects, for whichever of them is installed.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging

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
from .formats.media import decode_mask
from .methods import METHODS
from .runtime import cache_info, clear_cache, last_run, usage

# Log records (retries, waits, call summaries) reach the application's handlers, and nothing is
# printed when the application configured none.
logging.getLogger(__name__).addHandler(logging.NullHandler())

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
    "resolve_settings",
    "usage",
]


def __getattr__(name: str):
    # hf_frame.data (the bundled sample reviews) is imported on first use: `import hf_frame` stays as fast.
    if name == "data":
        return importlib.import_module(f"{__name__}.data")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {"data"})
