"""Model ids as the URL path segments they become: checked, so no request (token included) ever
reaches another path on a host.

>>> hub_model_id("org/name")
'org/name'
>>> provider_model_id("fal-ai/flux/dev")
'fal-ai/flux/dev'
>>> hub_model_id("org/../../x")
Traceback (most recent call last):
...
hf_frame.errors.ConfigError: model 'org/../../x' is not a Hugging Face model id ('name' or 'org/name' of letters, digits, '-', '_' and '.'); for another server pass endpoint='https://...'
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import ConfigError

_HUB_ID = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)?")
_PROVIDER_ID = re.compile(r"[A-Za-z0-9_.:-]+(/[A-Za-z0-9_.:-]+)*")


def _has_dot_segment(model: str) -> bool:
    return any(part in (".", "..") for part in model.split("/")) or ".." in model


def hub_model_id(model: Any) -> str:
    """``model`` as a Hub model id: ``org/name`` or ``name`` of letters, digits, ``-``, ``_``, ``.``,
    with no ``..``; anything else (``org/../../x``, ``?``, ``#``, a third segment) is a ConfigError."""
    if not isinstance(model, str) or not _HUB_ID.fullmatch(model) or _has_dot_segment(model):
        raise ConfigError(
            f"model {model!r} is not a Hugging Face model id ('name' or 'org/name' of letters, digits, "
            "'-', '_' and '.'); for another server pass endpoint='https://...'"
        )
    return model


def provider_model_id(model: Any) -> str:
    """``model`` as an Inference Provider's id, which may have more segments (``fal-ai/flux/dev``,
    ``accounts/fireworks/models/x``) and ``:`` (replicate versions), but never ``..``, ``?`` or ``#``."""
    if not isinstance(model, str) or not _PROVIDER_ID.fullmatch(model) or _has_dot_segment(model):
        raise ConfigError(f"model {model!r} is not a valid provider model id (segments of letters, digits, "
                          "'-', '_', '.', ':' separated by '/')")
    return model
