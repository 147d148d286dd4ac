"""Argument checks shared by the methods: one validator per rule, so every method says the same.

>>> positive_int("classify", "top_k", True)
Traceback (most recent call last):
...
ValueError: classify: top_k must be a positive integer or None, got True
"""

from __future__ import annotations

import json
from typing import Any, Sequence

#: API parameters that count things (refused unless a positive int, whichever method sends them).
COUNT_PARAMETERS = ("top_k", "top_n", "k")


def positive_int(method: str, name: str, value: Any, *, allow_none: bool = True) -> None:
    """``value`` is a positive ``int`` (never a bool), or None when ``allow_none``."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        also = " or None" if allow_none else ""
        raise ValueError(f"{method}: {name} must be a positive integer{also}, got {value!r}")


def unit_interval(method: str, name: str, value: Any) -> None:
    """``value`` is a number in [0, 1], or None."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1):
        raise ValueError(f"{method}: {name} must be a number between 0 and 1 or None, got {value!r}")


def candidate_labels(method: str, labels: str | Sequence[str] | None, example: str) -> list[str]:
    """Zero-shot labels as a list: non-empty, non-blank strings without duplicates."""
    if isinstance(labels, str):
        labels = [labels]
    labels = list(labels or [])
    if not labels:
        raise ValueError(f"{method}: labels is empty; pass the candidate labels, e.g. labels={example}")
    bad = [label for label in labels if not isinstance(label, str) or not label.strip()]
    if bad:
        raise ValueError(f"{method}: every label must be a non-empty string, got {bad!r}")
    if len(set(labels)) != len(labels):
        raise ValueError(f"{method}: labels contain duplicates: {labels!r}")
    return labels


def alias(method: str, extra: dict, alias: str, value: Any, default: Any = None) -> Any:
    """Take ``alias=`` (huggingface_hub's name of an argument) out of ``extra`` as ``value``."""
    if alias not in extra:
        return value
    given = extra.pop(alias)
    if value is not default and value != given:
        raise TypeError(f"{method}: {alias}= is another name for the same argument; pass only one")
    return given


def non_empty_text(method: str, name: str, value: Any) -> None:
    """``value`` is a string with something other than whitespace."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{method}: {name} must be a non-empty string, got {value!r}")


def json_parameters(method: str, parameters: Any) -> dict:
    """The API parameters, checked: a dict of JSON values (numpy scalars become Python numbers).

    A value that cannot be sent as JSON (an object, a set, NaN, a lone surrogate) is refused
    with a ``TypeError`` naming the parameter; so is ``top_k=True`` (see :func:`positive_int`).
    """
    if not isinstance(parameters, dict):
        raise TypeError(f"{method}: parameters must be a dict, got {type(parameters).__name__}")
    out = {}
    for name, value in parameters.items():
        if not isinstance(name, str):
            raise TypeError(f"{method}: parameter names must be strings, got {name!r}")
        plain = _plain(value)
        try:
            json.dumps(plain, ensure_ascii=False, allow_nan=False).encode()
        except (TypeError, ValueError) as exc:  # UnicodeEncodeError is a ValueError
            raise TypeError(f"{method}: parameter {name!r} cannot be sent as JSON ({exc}); "
                            f"got {type(value).__name__} {repr(value)[:60]}") from None
        if name in COUNT_PARAMETERS:
            positive_int(method, name, plain)
        out[name] = plain
    return out


def _plain(value: Any) -> Any:
    """numpy scalars (``np.int64(5)``) as Python numbers, inside lists and dicts too."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        return value.item()
    return value
