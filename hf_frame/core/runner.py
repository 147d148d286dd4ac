"""One asyncio event loop, owned by one daemon thread, for the whole process.

Why: ``asyncio.run`` fails inside Jupyter's running loop, an ``httpx.AsyncClient`` cannot be
reused across ``asyncio.run`` calls, and polars calls our functions from its worker threads.
Running every coroutine on one long-lived loop solves all three: sync callers from any thread
submit work with :func:`run` and block on the result, and all the engine's shared state
(single-flight futures, rate limiters, clients) lives on that single loop, so it needs no locks.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
from typing import Any, Awaitable, Callable, Coroutine, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
_closers: list[Callable[[], Awaitable[None]]] = []


def on_shutdown(closer: Callable[[], Awaitable[None]]) -> None:
    """Register a coroutine function run on the loop at interpreter exit (closing HTTP sessions)."""
    _closers.append(closer)


@atexit.register
def _shutdown() -> None:
    loop = _loop
    if loop is None or loop.is_closed() or not (_thread and _thread.is_alive()):
        return

    async def close_all() -> None:
        for closer in _closers:
            try:
                await closer()
            except Exception:  # exiting anyway: a close failure must not mask the real exit status
                pass

    try:
        asyncio.run_coroutine_threadsafe(close_all(), loop).result(timeout=5)
    except Exception:
        pass


def get_loop() -> asyncio.AbstractEventLoop:
    """The shared loop, started on first use."""
    global _loop, _thread
    with _lock:
        if _loop is None or _loop.is_closed() or not (_thread and _thread.is_alive()):
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def serve() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            thread = threading.Thread(target=serve, name="hf_frame-loop", daemon=True)
            thread.start()
            ready.wait()
            _loop, _thread = loop, thread
        return _loop


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on the shared loop and wait for its result (from any thread but the loop's).

    KeyboardInterrupt while waiting cancels the coroutine, so an interrupted notebook cell
    stops sending; results that already arrived are cached.
    """
    loop = get_loop()
    if threading.current_thread() is _thread:
        raise RuntimeError("hf_frame.core.runner.run() called from the runner loop itself; await instead")
    future = asyncio.run_coroutine_threadsafe(coro, loop)
    try:
        return future.result()
    except BaseException:
        future.cancel()
        raise
