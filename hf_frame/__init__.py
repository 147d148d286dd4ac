"""hf_frame: Hugging Face inference on dataframe columns.

>>> import pandas as pd, hf_frame
>>> df = pd.DataFrame({"review": ["Great product!", "Broke after a day."]})
>>> df.hf.classify("review").columns.tolist()   # doctest: +SKIP
['review', 'review_label', 'review_score', 'review_error']

Importing registers ``.hf`` on pandas and polars objects, for whichever of them is installed.
"""

from __future__ import annotations

import importlib.util
import logging

__version__ = "0.1.0"

# Log records (retries, waits, call summaries) reach the application's handlers, and nothing is
# printed when the application configured none.
logging.getLogger(__name__).addHandler(logging.NullHandler())

from .config import Settings, configure, resolve_settings  # noqa: E402
from .core.session import cache_info, clear_cache  # noqa: E402
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
from .methods import METHODS, last_run, usage  # noqa: E402
from . import chat as _chat  # noqa: F401,E402  (registers df.hf.chat; before the adapters)
from . import methods_media as _methods_media  # noqa: F401,E402  (vision/audio methods; before the adapters)
from . import embeddings as _embeddings  # noqa: F401,E402  (embed, rerank, search; before the adapters)
from .media import decode_mask  # noqa: E402

if importlib.util.find_spec("pandas") is not None:
    from . import pandas as _pandas_accessor  # noqa: F401,E402
if importlib.util.find_spec("polars") is not None:
    from . import polars as _polars_namespace  # noqa: F401,E402

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
    "data",
    "decode_mask",
    "last_run",
    "resolve_settings",
    "usage",
])


def __getattr__(name: str):
    # hf_frame.data (the bundled sample reviews) is imported on first use: `import hf_frame` stays as fast.
    if name == "data":
        import importlib

        return importlib.import_module(f"{__name__}.data")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {"data"})
