"""The Hub's model -> provider mapping: which providers serve a model, under which id, for which task.

``GET {HF_ENDPOINT}/api/models/{id}?expand[]=inferenceProviderMapping`` answers
``{"inferenceProviderMapping": {provider: {"providerId", "task", "status"}}}`` (a list of
entries with a ``provider`` key in some answers), in the order of the user's preferences at
https://huggingface.co/settings/inference-providers when a token is sent.

Each model is fetched once: kept in memory for the process and, next to the persistent answer
cache, in its own SQLite file (``<cache>.providers.sqlite``: mappings are not answers, so they
are neither counted nor cleared with them) for :data:`TTL` seconds, shared by every process
using the same cache. A model the Hub does not
know (404) is remembered the same way; a failed lookup (network, 5xx) is retried after
:data:`RETRY_AFTER` seconds. With ``HF_HUB_OFFLINE`` set, nothing is fetched from a remote Hub:
a stored mapping is used however old it is, else none.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

from ....cache import SQLiteCache
from ....config import Settings, hub_endpoint, offline
from ....errors import FatalRequestError, RequestError
from .. import http

log = logging.getLogger("hf_frame.providers")

TTL = 24 * 3600.0
RETRY_AFTER = 60.0
_CACHE_PREFIX = "hf_frame:provider-mapping:v1:"

_memo: dict[tuple[str, str], tuple[float, list[Entry] | None]] = {}
_locks: dict[tuple[str, str], asyncio.Lock] = {}
_stores: dict[str, SQLiteCache] = {}


def _store(settings: Settings) -> SQLiteCache | None:
    """The mapping store beside the answer cache (None when caching is off or in memory)."""
    path = settings.cache_path
    if path is None:
        return None
    path = path.with_name(path.stem + ".providers.sqlite")
    store = _stores.get(str(path))
    if store is None:
        store = _stores[str(path)] = SQLiteCache(path)
    return store


@dataclass(frozen=True)
class Entry:
    """One provider serving a model: its id for the model, the task, ``live``/``staging``/``error``."""

    provider: str
    provider_id: str
    task: str
    status: str = "live"


def forget() -> None:
    """Drop the in-process memory of mappings (the persistent cache is kept)."""
    _memo.clear()


def is_loopback(url: str) -> bool:
    """Does ``url`` point at this machine (127.x, ::1, localhost)?"""
    host = (urllib.parse.urlsplit(url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


def parse(body: Any) -> list[Entry]:
    """The entries of a model-info answer, in the Hub's order (dict or list form)."""
    raw = body.get("inferenceProviderMapping") if isinstance(body, dict) else None
    if isinstance(raw, dict):
        raw = [{"provider": name, **value} for name, value in raw.items() if isinstance(value, dict)]
    entries = []
    for item in raw or []:
        if isinstance(item, dict) and item.get("provider") and item.get("providerId"):
            entries.append(Entry(str(item["provider"]), str(item["providerId"]), str(item.get("task") or ""),
                                 str(item.get("status") or "live")))
    return entries


async def lookup(model: str, settings: Settings) -> list[Entry] | None:
    """The providers serving ``model`` (Hub order), or None when the Hub does not know it or
    cannot be asked (offline, unreachable). An empty list: the Hub knows it, no provider serves it."""
    hub = hub_endpoint()
    key = (hub, model)
    now = time.time()
    hit = _memo.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    lock = _locks.setdefault(key, asyncio.Lock())
    async with lock:
        hit = _memo.get(key)
        if hit is not None and hit[0] > time.time():
            return hit[1]
        return await _load(hub, model, settings)


async def _load(hub: str, model: str, settings: Settings) -> list[Entry] | None:
    key = (hub, model)
    cache = _store(settings)
    ckey = f"{_CACHE_PREFIX}{hub}|{model}"
    stored = cache.get_many([ckey]).get(ckey) if cache is not None else None
    no_network = offline() and not is_loopback(hub)
    if stored is not None:
        record = json.loads(stored)
        entries = None if record["entries"] is None else [Entry(**e) for e in record["entries"]]
        if no_network or record["at"] + TTL > time.time():
            _memo[key] = (record["at"] + TTL if not no_network else time.time() + TTL, entries)
            return entries
    if no_network:
        _memo[key] = (time.time() + RETRY_AFTER, None)
        return None
    try:
        entries = await _fetch(hub, model, settings)
    except RequestError as exc:
        log.warning("could not read the provider mapping of %s from %s: %s", model, hub, exc)
        _memo[key] = (time.time() + RETRY_AFTER, None)
        return None
    at = time.time()
    _memo[key] = (at + TTL, entries)
    if cache is not None:
        value = {"at": at, "entries": None if entries is None else [dataclasses.asdict(e) for e in entries]}
        cache.put_many({ckey: json.dumps(value).encode()})
    return entries


async def _fetch(hub: str, model: str, settings: Settings) -> list[Entry] | None:
    """One GET of the Hub API (never through a user's ``client=``/``transport=``: those carry
    inference traffic). The token goes only to the Hub, and only when it is an HF token."""
    found = settings.auth_token()
    token = found if found and found.startswith("hf_") else None
    quiet = dataclasses.replace(settings, client=None, transport=None, endpoint=None, token=token,
                                max_retries=min(settings.max_retries, 2), retry_backoff=min(settings.retry_backoff, 0.5),
                                timeout=min(settings.timeout, 30.0), requests_per_minute=None)
    url = f"{hub}/api/models/{urllib.parse.quote(model, safe='/')}?expand[]=inferenceProviderMapping"
    try:
        reply = await http.exchange(http.Request(url=url, method="GET"), quiet, task="provider mapping",
                                    model=model)
    except FatalRequestError as exc:
        if exc.status == 404:  # not a Hub model: its id is used as given
            return None
        raise
    return parse(reply.body)
