"""hf_frame: Hugging Face inference on dataframe columns.

>>> import pandas as pd, hf_frame
>>> df = pd.DataFrame({"review": ["Great product!", "Broke after a day."]})
>>> df.hf.classify("review").columns.tolist()   # doctest: +SKIP
['review', 'review_label', 'review_score', 'review_error']

Importing registers ``.hf`` on pandas and polars objects, for whichever of them is installed: at
once when it is already imported, else as soon as it is. The methods (and pyarrow, httpx, aiohttp
with them) load then, or on first use of ``METHODS``, ``last_run``, ``usage``, ``cache_info``,
``clear_cache`` or ``decode_mask``, so ``import hf_frame`` alone stays cheap.
"""

from __future__ import annotations

import importlib
import importlib.util
import typing

__version__ = "0.1.0"

from . import _deferred  # noqa: E402
from .config import Settings, configure, resolve_settings  # noqa: E402
from .errors import (  # noqa: E402
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

#: Public names loaded on first use, and the module each comes from.
_LAZY = {"METHODS": ".methods", "last_run": ".methods", "usage": ".methods", "cache_info": ".core.session",
         "clear_cache": ".core.session", "decode_mask": ".media"}


def _load_methods() -> None:
    """Import every method module, so METHODS is complete (before any adapter reads it)."""
    from . import chat, embeddings, methods, methods_media  # noqa: F401


def __getattr__(name: str) -> typing.Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    _load_methods()
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def _register(adapter: str) -> typing.Callable[[typing.Any], None]:
    def register(_module: typing.Any) -> None:
        _load_methods()
        importlib.import_module(adapter, __name__)

    return register


if importlib.util.find_spec("pandas") is not None:
    _deferred.when_imported("pandas", _register(".pandas"))
if importlib.util.find_spec("polars") is not None:
    _deferred.when_imported("polars", _register(".polars"))

__all__ = sorted([
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
    "decode_mask",
    "last_run",
    "resolve_settings",
    "usage",
])
