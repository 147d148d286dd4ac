"""Cache keys: a sha256 over the canonical JSON of everything that determines an answer.

The key covers task, model, the route (endpoint or base URL, provider), parameters and the
input itself. It never covers the token: two users with different tokens share answers, and a
token can never be recovered from a cache file.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from typing import Any

# json.dumps(text, ensure_ascii=False) of a str, without the encoder's per-call set-up.
_encode_text = json.encoder.encode_basestring

KEY_VERSION = 1


def canonical_json(value: Any) -> str:
    """JSON with sorted keys, no whitespace, and floats that round-trip; NaN is rejected."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_default)


def _default(value: Any) -> Any:
    cache_key = getattr(type(value), "__cache_key__", None)
    if cache_key is not None:  # an item naming what identifies it (media: the content hash)
        return cache_key(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"__sha256__": hashlib.sha256(bytes(value)).hexdigest()}
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    raise TypeError(f"cannot build a cache key from {type(value).__name__}")


class KeyMaker:
    """Keys of many inputs under one call configuration.

    The configuration (task, model, route, parameters) is serialised once, not once per row; the
    digest of each input continues from it. Equal inputs give equal keys, and any change in the
    configuration gives different keys.
    """

    def __init__(self, *, task: str, model: str | None, route: str, parameters: Any) -> None:
        config = {"v": KEY_VERSION, "task": task, "model": model, "route": route, "parameters": parameters}
        self._base = hashlib.sha256(canonical_json(config).encode() + b"\x00")

    def key(self, item: Any) -> str:
        digest = self._base.copy()
        digest.update(canonical_json(item).encode())
        return digest.hexdigest()

    def keys(self, items: Sequence[Any]) -> list[str]:
        """The keys of many items (equal to ``[self.key(i) for i in items]``, faster for texts)."""
        copy, encode_text, key = self._base.copy, _encode_text, self.key
        out = []
        append = out.append
        for item in items:
            if type(item) is str:
                digest = copy()
                digest.update(encode_text(item).encode())
                append(digest.hexdigest())
            else:
                append(key(item))
        return out


def request_key(*, task: str, model: str | None, route: str, parameters: Any, item: Any) -> str:
    """The cache key of one input under one call configuration."""
    return KeyMaker(task=task, model=model, route=route, parameters=parameters).key(item)
