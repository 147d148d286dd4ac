"""Runs a request body through the in-process backend (``provider="local"``) off the event loop."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from ..errors import FatalRequestError, RowRequestError
from ..tasks.base import Call

_backends: dict[tuple, Any] = {}
_lock = threading.Lock()
# One model computation at a time: torch already uses every core for one batch, and
# interleaving batches only thrashes the CPU cache.
_compute = None


def _backend(call: Call):
    from ..local import LocalBackend

    key = (call.settings.device, call.settings.batch_size)
    with _lock:
        if key not in _backends:
            _backends[key] = LocalBackend(device=call.settings.device, batch_size=call.settings.batch_size)
        return _backends[key]


async def run_local(call: Call, payload: dict) -> Any:
    global _compute
    if _compute is None:
        _compute = asyncio.Semaphore(1)
    from ..local import LocalModelLoadError

    backend = _backend(call)
    async with _compute:
        try:
            return await asyncio.to_thread(backend.run, call.task.name, call.model, payload)
        except LocalModelLoadError as exc:  # the same for every row: stop now, not once per batch
            raise FatalRequestError(
                f"{call.task.name} (local, model {call.model!r}) cannot run: {exc}",
                task=call.task.name, model=call.model or "",
            ) from exc
        except ValueError as exc:  # LocalModelError: bad input or a model that cannot be loaded
            # status 400: the engine treats repeated identical failures (a model that cannot
            # load fails every row the same way) as systematic and stops the call.
            raise RowRequestError(
                f"{call.task.name} (local, model {call.model!r}) failed: {exc}",
                status=400, task=call.task.name, model=call.model or "",
            ) from exc
