"""hf_frame: Hugging Face inference on dataframe columns.

>>> import pandas as pd, hf_frame
>>> df = pd.DataFrame({"review": ["Great product!", "Broke after a day."]})
>>> df.hf.classify("review").columns.tolist()   # doctest: +SKIP
['review', 'review_label', 'review_score', 'review_error']

Importing registers ``.hf`` on pandas and polars objects, for whichever of them is installed: at
once when it is already imported, else as soon as it is (and on Dask DataFrames and Series once
``dask.dataframe`` is imported). The methods (and pyarrow, httpx, aiohttp with them) load then, or
on first use of ``METHODS``, ``last_run``, ``usage``, ``cache_info``, ``clear_cache``,
``decode_mask``, ``plan``, ``save_media``, ``media_html`` or ``data``, so ``import hf_frame`` alone stays
cheap (the ``hf-frame --help`` command, a script that only configures settings).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import typing

from . import _deferred
from ._version import __version__
from .config import Settings, SettingsKwargs, configure, resolve_settings
from .errors import (
    BudgetExceeded,
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

if typing.TYPE_CHECKING:  # what the names loaded on first use are, for type checkers and editors
    from . import data
    from .formats.media import decode_mask
    from .methods import METHODS
    from .runtime import cache_info, clear_cache, last_run, usage

# Log records (retries, waits, call summaries) reach the application's handlers, and nothing is
# printed when the application configured none.
logging.getLogger(__name__).addHandler(logging.NullHandler())

#: Public names loaded on first use, and the module each comes from.
_LAZY = {
    "METHODS": ".methods",
    "cache_info": ".runtime",
    "clear_cache": ".runtime",
    "data": None,  # the subpackage itself
    "decode_mask": ".formats.media",
    "last_run": ".runtime",
    "media_html": ".formats.generated",
    "plan": ".methods.plan",
    "save_media": ".formats.generated",
    "usage": ".runtime",
}


def __getattr__(name: str) -> typing.Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    source = _LAZY[name]
    value = importlib.import_module(f"{__name__}.{name}") if source is None else \
        getattr(importlib.import_module(source, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def _register(adapter: str) -> typing.Callable[[typing.Any], None]:
    def register(_module: typing.Any) -> None:
        importlib.import_module(adapter, __name__)  # the adapter module registers the accessors

    return register


# The adapters register the accessors as they are imported; each only when its library is installed.
if importlib.util.find_spec("pandas") is not None:
    _deferred.when_imported("pandas", _register(".adapters.pandas"))
if importlib.util.find_spec("polars") is not None:
    _deferred.when_imported("polars", _register(".adapters.polars"))
if importlib.util.find_spec("dask") is not None:
    # Importing dask.dataframe costs about as much again as hf_frame itself: wait for the user to.
    _deferred.when_imported("dask.dataframe", _register(".adapters.dask"))

__all__ = [
    "BudgetExceeded",
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
    "SettingsKwargs",
    "__version__",
    "cache_info",
    "clear_cache",
    "configure",
    "data",
    "decode_mask",
    "last_run",
    "media_html",
    "plan",
    "resolve_settings",
    "save_media",
    "usage",
]
