"""What chat models cost per token, and how much context they take, from the router's model list.

``GET {base_url}/v1/models`` answers ``{"data": [{"id": "org/name", "providers": [{"provider":
"novita", "status": "live", "pricing": {"input": 0.05, "output": 0.08}, "context_length": 131072,
...}]}]}``: prices in US dollars per million tokens, per provider serving the model.

The list is fetched once per router URL, like the model mapping (:mod:`.mapping`): kept in memory
for the process and, beside the answer cache, in the providers' SQLite file for :data:`TTL` seconds.
Nothing is fetched for ``endpoint=`` and ``provider="local"`` calls, when the settings carry a
``client=``/``transport=`` (the user's own wire: a stored list is still used), or offline
(``HF_HUB_OFFLINE``) unless the router is on this machine. A server without the list (404) has no
prices for :data:`TTL` seconds; another failure is retried after :data:`.mapping.RETRY_AFTER`
seconds. Unknown prices are None, never guessed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from ....config import Settings, offline
from ....errors import RequestError
from .. import http
from .mapping import RETRY_AFTER, TTL, _store, is_loopback

log = logging.getLogger("hf_frame.providers")

_CACHE_PREFIX = "hf_frame:router-models:v1:"
_memo: dict[str, tuple[float, dict[str, list[Price]] | None]] = {}
_locks: dict[str, asyncio.Lock] = {}


@dataclass(frozen=True)
class Price:
    """One provider serving a model: USD per million input and output tokens, and its context length."""

    provider: str
    input: float | None = None
    output: float | None = None
    context_length: int | None = None


def forget() -> None:
    """Drop the in-process memory of price lists (the persistent copy is kept)."""
    _memo.clear()


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return None
    return float(value)


def parse(body: Any) -> dict[str, list[Price]]:
    """Model id -> the live providers' prices, from a ``/v1/models`` answer (unknown fields ignored)."""
    models = body.get("data") if isinstance(body, dict) else None
    out: dict[str, list[Price]] = {}
    for model in models if isinstance(models, list) else []:
        if not isinstance(model, dict) or not isinstance(model.get("id"), str):
            continue
        prices = []
        for entry in model.get("providers") or []:
            if not isinstance(entry, dict) or not entry.get("provider") or entry.get("status", "live") != "live":
                continue
            pricing = entry.get("pricing") if isinstance(entry.get("pricing"), dict) else {}
            context = entry.get("context_length")
            prices.append(Price(str(entry["provider"]), _number(pricing.get("input")), _number(pricing.get("output")),
                                int(context) if _number(context) else None))
        out[model["id"]] = prices
    return out


def _serves_router(settings: Settings) -> bool:
    return not settings.endpoint and settings.provider != "local"


async def catalog(settings: Settings) -> dict[str, list[Price]] | None:
    """Every model's prices on the router of ``settings`` (None: not known, see the module docs)."""
    if not _serves_router(settings):
        return None
    base = settings.base_url.rstrip("/")
    hit = _memo.get(base)
    if hit is not None and hit[0] > time.time():
        return hit[1]
    async with _locks.setdefault(base, asyncio.Lock()):
        hit = _memo.get(base)
        if hit is not None and hit[0] > time.time():
            return hit[1]
        return await _load(base, settings)


async def _load(base: str, settings: Settings) -> dict[str, list[Price]] | None:
    store = _store(settings)
    key = f"{_CACHE_PREFIX}{base}"
    stored = store.get_many([key]).get(key) if store is not None else None
    no_network = (offline() and not is_loopback(base)) or settings.client is not None or settings.transport is not None
    if stored is not None:
        record = json.loads(stored)
        if no_network or record["at"] + TTL > time.time():
            models = {m: [Price(**p) for p in prices] for m, prices in record["models"].items()}
            _memo[base] = (time.time() + (TTL if no_network else record["at"] + TTL - time.time()), models)
            return models
    if no_network:
        _memo[base] = (time.time() + RETRY_AFTER, None)
        return None
    quiet = dataclasses.replace(settings, client=None, transport=None, endpoint=None,
                                max_retries=min(settings.max_retries, 2), retry_backoff=min(settings.retry_backoff, 0.5),
                                timeout=min(settings.timeout, 30.0), requests_per_minute=None)
    try:
        reply = await http.exchange(http.Request(url=f"{base}/v1/models", method="GET"), quiet,
                                    task="model list", model=None)
        models = parse(reply.body)
    except RequestError as exc:
        if exc.status == 404:  # a server with no model list (a mirror, a proxy): no prices, asked again tomorrow
            log.info("%s lists no models (404): costs are unknown", base)
            models = {}
        else:
            log.warning("could not read the router's model list (prices) from %s: %s", base, exc)
            _memo[base] = (time.time() + RETRY_AFTER, None)
            return None
    at = time.time()
    _memo[base] = (at + TTL, models)
    if store is not None:
        value = {"at": at, "models": {m: [dataclasses.asdict(p) for p in prices] for m, prices in models.items()}}
        store.put_many({key: json.dumps(value).encode()})
    return models


def split_model(model: str | None) -> tuple[str | None, str | None]:
    """``"org/name:groq"`` -> ``("org/name", "groq")``; policy suffixes (``:fastest``...) name no provider."""
    if not model:
        return model, None
    base, _, suffix = model.partition(":")
    return base, (suffix if suffix and suffix not in ("fastest", "cheapest", "preferred") else None)


async def prices(model: str | None, settings: Settings) -> list[Price]:
    """The live providers' prices of ``model`` (its ``:provider`` suffix, if any, picks one); [] when unknown."""
    models = await catalog(settings)
    base, provider = split_model(model)
    found = (models or {}).get(base or "", [])
    if provider is not None:
        found = [p for p in found if p.provider == provider]
    return found
