"""Runs a request body through the in-process backend (``provider="local"``) off the event loop.

This is what the backend seam (:class:`hf_frame.backends.LocalBackend`) calls for every batch:
the body runs in a worker thread, and the backend's errors become the request errors the engine
knows, as the remote backend's HTTP failures do.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from ... import runtime
from ...config import Settings
from ...errors import FatalRequestError, LocalModelLoadError, RowRequestError
from .backend import LocalBackend

_backends: dict[tuple, LocalBackend] = {}
_lock = threading.Lock()
# One model computation at a time: torch already uses every core for one batch, and
# interleaving batches only thrashes the CPU cache.
_compute = None


def _backend(settings: Settings) -> LocalBackend:
    """The process's backend for these settings' device and batch size: models load once per process."""
    key = (settings.device, settings.batch_size)
    with _lock:
        if key not in _backends:
            _backends[key] = LocalBackend(device=settings.device, batch_size=settings.batch_size)
        return _backends[key]


async def run_local(task: str, model: str | None, settings: Settings, payload: dict) -> Any:
    """The HF-API-shaped answer of the local model for ``payload``; request errors as the remote backend's."""
    global _compute
    if _compute is None:
        _compute = asyncio.Semaphore(1)
    backend = _backend(settings)
    async with _compute:
        runtime.count_request()
        try:
            return await asyncio.to_thread(backend.run, task, model, payload)
        except LocalModelLoadError as exc:  # the same for every row: stop now, not once per batch
            raise FatalRequestError(
                f"{task} (local, model {model!r}) cannot run: {exc}", task=task, model=model or "",
            ) from exc
        except ValueError as exc:  # LocalModelError: bad input or a model that cannot be loaded
            # status 400: the engine treats repeated identical failures (a model that cannot
            # load fails every row the same way) as systematic and stops the call.
            raise RowRequestError(
                f"{task} (local, model {model!r}) failed: {exc}", status=400, task=task, model=model or "",
            ) from exc
