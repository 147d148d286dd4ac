"""The one owner of process state: the event-loop thread, the in-flight table, the cache
stores and the run statistics (``last_run``, ``usage``).

Everything that outlives a single call lives here, so that the layers above hold no
module-level state of their own (accessors stay stateless: pandas 3 does not cache them).

The loop. Why one asyncio event loop, owned by one daemon thread: ``asyncio.run`` fails inside Jupyter's running loop, an ``httpx.AsyncClient`` cannot be
reused across ``asyncio.run`` calls, and polars calls our functions from its worker threads.
Running every coroutine on one long-lived loop solves all three: sync callers from any thread
submit work with :func:`run` and block on the result, and all the engine's shared state
(single-flight futures, rate limiters, clients) lives on that single loop, so it needs no locks.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import contextvars
import gc
import signal
import threading
from dataclasses import dataclass
from typing import Any, AsyncIterator, Awaitable, Callable, Coroutine, Iterator, TypeVar

from .cache import Cache, open_cache
from .config import Settings, SettingsKwargs, Unpack, is_cache_url, resolve_settings

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
                # Ctrl-C is for the caller's thread: the loop thread (and the worker threads it
                # starts, which inherit its mask) never takes SIGINT from the main thread.
                if hasattr(signal, "pthread_sigmask"):
                    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            thread = threading.Thread(target=serve, name="hf_frame-loop", daemon=True)
            thread.start()
            ready.wait()
            _loop, _thread = loop, thread
        return _loop


_POLL = 0.1  # seconds between checks for Ctrl-C while a caller waits for the loop
_STOP_WAIT = 1.0  # how long an interrupted caller lets the call stop cleanly before raising


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on the shared loop and wait for its result (from any thread but the loop's).

    Ctrl-C (KeyboardInterrupt, Jupyter's interrupt) while waiting cancels the coroutine: sending
    stops, requests in flight are cancelled, the answers that already arrived are cached, and
    the KeyboardInterrupt is raised within a second. (The wait wakes up every 0.1 s to let
    Python run its signal handlers: a blocked lock wait does not see a signal another thread
    received.)
    """
    loop = get_loop()
    if threading.current_thread() is _thread:
        raise RuntimeError("hf_frame.runtime.run() called from the runner loop itself; await instead")
    stopped = threading.Event()

    async def guarded() -> T:
        try:
            return await coro
        finally:
            stopped.set()

    future = asyncio.run_coroutine_threadsafe(guarded(), loop)
    try:
        while True:
            try:
                return future.result(timeout=_POLL)
            except concurrent.futures.TimeoutError:
                continue
    except BaseException:
        future.cancel()
        stopped.wait(_STOP_WAIT)  # cancelled requests closed, answers so far queued for the cache
        raise


# ---------------------------------------------------------------------------------------------
# in-flight requests: key -> the engine's sender that is sending it right now, for any call (a
# call that needs the same input waits for that sender's answer). Only touched on the loop
# thread, so it needs no lock.
inflight: dict[str, Any] = {}


# ---------------------------------------------------------------------------------------------
# bulk work without the cyclic garbage collector

_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = False


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a block creates many objects at once.

    Decoding 100,000 cached answers creates ~300,000 lists and dicts; the collector, triggered
    every 700 allocations, then dominates (measured: bulk ``json.loads`` of 100,000 answers
    3.5x faster with it paused). Nothing made meanwhile is garbage, so nothing is lost; pauses
    from several threads nest, and the collector's previous state is restored after the last.
    """
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


# ---------------------------------------------------------------------------------------------
# per-call meters: what the requests of one call cost, counted where they happen


@dataclass
class Meter:
    """Counts of one engine call, filled by the layers below it (every HTTP attempt counts)."""

    requests: int = 0  # attempts sent, retries and re-asks included
    # Told what the call is waiting for besides requests ("loading model ..."; None: done).
    on_status: Callable[[str | None], None] | None = None


_meter: contextvars.ContextVar[Meter | None] = contextvars.ContextVar("hf_frame_meter", default=None)
# The work slot (see :class:`Permit`) the current task holds, if any.
_permit: contextvars.ContextVar[Permit | None] = contextvars.ContextVar("hf_frame_permit", default=None)


def use_meter(meter: Meter) -> contextvars.Token:
    """Count the requests of the current task (and the tasks it starts) on ``meter``."""
    return _meter.set(meter)


def note_status(text: str | None) -> None:
    """Say what the current call waits for (e.g. a local model loading); None when it is over.

    Called by the backends, from any thread the call's context reached; the progress bar shows it."""
    meter = _meter.get()
    if meter is not None and meter.on_status is not None:
        meter.on_status(text)


def count_request() -> None:
    """One request attempt is about to be sent (called by the backends)."""
    meter = _meter.get()
    if meter is not None:
        meter.requests += 1


class WorkSlots(asyncio.Semaphore):
    """A call's ``max_concurrency`` work slots: a semaphore that also knows who is waiting.

    ``resuming`` counts the workers back from a retry wait and waiting for a slot (a busy
    worker gives its slot up for them between batches, and only then); ``on_wait`` is called when
    a worker gives its slot up for a wait, so the call can start another worker meanwhile.
    """

    def __init__(self, value: int, on_wait: Callable[[], None] | None = None) -> None:
        super().__init__(value)
        self.resuming = 0
        self.on_wait = on_wait


class Permit:
    """One of a call's work slots (:class:`WorkSlots`), held by one of its workers.

    A worker holds it while it builds and sends requests; a retry wait gives it back
    (:func:`slot_released`) so another batch can go out meanwhile, and takes it again after.
    """

    __slots__ = ("gate", "held")

    def __init__(self, gate: WorkSlots) -> None:
        self.gate, self.held = gate, False

    async def acquire(self) -> None:
        if not self.held:
            await self.gate.acquire()
            self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.gate.release()

    @property
    def wanted(self) -> bool:
        """Is a worker back from a retry wait waiting for a slot?"""
        return self.gate.resuming > 0


def hold(permit: Permit) -> None:
    """Mark ``permit`` as the work slot of the current task."""
    _permit.set(permit)


@contextlib.asynccontextmanager
async def slot_released() -> AsyncIterator[None]:
    """Around a wait (a retry backoff): the current task's work slot is free meanwhile.

    If the wait is interrupted (the call is cancelled), the slot is not taken again.
    """
    permit = _permit.get()
    if permit is None or not permit.held:
        yield
        return
    permit.release()
    gate = permit.gate
    if gate.on_wait is not None:
        gate.on_wait()
    yield
    gate.resuming += 1
    try:
        await permit.acquire()
    finally:
        gate.resuming -= 1


# ---------------------------------------------------------------------------------------------
# cache stores, one per location

_stores_lock = threading.Lock()
_stores: dict[str, Cache] = {}


def get_cache(settings: Settings) -> Cache | None:
    """The cache these settings point at (None when ``cache=False``)."""
    if settings.cache is False:
        return None
    path = settings.cache_path
    name = str(settings.cache) if is_cache_url(settings.cache) else "memory" if path is None else str(path)
    with _stores_lock:
        if name not in _stores:
            _stores[name] = open_cache(settings.cache if path is None else path)
        return _stores[name]


def cache_info(**settings: Unpack[SettingsKwargs]) -> dict:
    """Entries, bytes and location of the cache that calls with these settings use.

    Parameters
    ----------
    **settings
        Settings that choose the cache, as a method call takes them (usually ``cache=``: a
        directory, a ``.sqlite`` file, ``"memory"`` or ``redis://...``); default: the session's.

    Returns
    -------
    dict
        ``{"entries": int, "bytes": int, "path": str or None}``: the number of answers kept, their
        size, and where they are (the SQLite file, or the server URL with its password shown as
        ``***``; None in memory). With ``cache=False``: zero entries and no path.

    Examples
    --------
    >>> import hf_frame
    >>> hf_frame.cache_info()  # doctest: +SKIP
    {'entries': 1200, 'bytes': 482113, 'path': '/home/me/.cache/hf_frame/cache.sqlite'}
    >>> hf_frame.cache_info(cache="memory")["path"] is None
    True
    """
    cache = get_cache(resolve_settings(**settings))
    return {"entries": 0, "bytes": 0, "path": None} if cache is None else cache.info()


_clear_hooks: list[Callable[[], None]] = []


def on_clear(hook: Callable[[], None]) -> None:
    """Register a function called whenever a cache is cleared (what is kept in memory from it)."""
    _clear_hooks.append(hook)


def clear_cache(**settings: Unpack[SettingsKwargs]) -> int:
    """Delete every cached answer of the cache these settings use; returns how many were removed.

    Parameters
    ----------
    **settings
        Settings that choose the cache, as for :func:`cache_info` (default: the session's cache).

    Returns
    -------
    int
        The number of answers removed (0 with ``cache=False``).

    Examples
    --------
    >>> import hf_frame
    >>> hf_frame.clear_cache()                        # doctest: +SKIP
    1200
    >>> hf_frame.clear_cache(cache="./answers")       # another cache  # doctest: +SKIP
    0
    """
    cache = get_cache(resolve_settings(**settings))
    for hook in _clear_hooks:
        hook()
    return 0 if cache is None else cache.clear()


# ---------------------------------------------------------------------------------------------
# run statistics

_stats_lock = threading.Lock()
_last_run: dict[str, Any] = {}
_usage_total: dict[str, int] = {}
_thread_stats = threading.local()  # the same counts, per calling thread (a Dask worker runs tasks in threads)
_run_sources: list[Callable[[], None]] = []


def add_run_source(source: Callable[[], None]) -> None:
    """Register a function :func:`last_run` calls first, to record counts gathered elsewhere
    (the Dask adapter adds its workers' counts this way)."""
    if source not in _run_sources:
        _run_sources.append(source)
_usage_by_model: dict[tuple, dict[str, Any]] = {}


def last_run() -> dict[str, Any]:
    """Counts of the last method call in this process: rows, unique inputs, cached, requests, failed.

    After a Dask computation, the counts its workers reported, summed (see :mod:`hf_frame.adapters.dask`).

    ``provider`` is the Inference Provider that answered (the router's ``x-inference-provider``
    header when it says, e.g. for chat with ``provider="auto"``); absent when nothing was sent.

    Returns
    -------
    dict
        A copy of the counts: ``method`` (str), ``rows`` (rows with an input), ``unique`` (distinct
        inputs), ``cached`` (answers read from the cache), ``requests`` (HTTP requests sent, or
        batches run locally), ``failed`` (rows that failed), and when known ``provider`` (str).
        ``embed`` and ``search`` add ``chunks``. Methods whose answers report token counts
        (``chat``) add ``usage``: the tokens of the answers received by that call (cached rows cost
        0), e.g. ``{'prompt_tokens': 812, 'completion_tokens': 95, 'total_tokens': 907}``;
        ``cost``: their estimated price in US dollars (the router's price per token for the
        provider that answered; None when unknown); and ``by_model``: the same per provider and
        model, a list of ``{provider, model, requests, prompt_tokens, completion_tokens,
        total_tokens, cost}``. Empty before the first call.

    Examples
    --------
    >>> df.hf.classify("review"); hf_frame.last_run()  # doctest: +SKIP
    {'method': 'classify', 'rows': 1000, 'unique': 640, 'cached': 600, 'requests': 40, 'failed': 0,
     'provider': 'hf-inference'}
    """
    for source in list(_run_sources):
        source()
    with _stats_lock:
        return dict(_last_run)


def thread_last_run() -> dict[str, Any]:
    """Like :func:`last_run`, but the most recent call made by the calling thread (exact when
    several threads run calls at once)."""
    return dict(getattr(_thread_stats, "last", {}))


def record_run(stats: dict[str, Any]) -> None:
    """Replace :func:`last_run`'s counts, and add the call's token usage to :func:`usage`'s totals."""
    with _stats_lock:
        _last_run.clear()
        _last_run.update(stats)
        _thread_stats.last = dict(stats)
        for name, count in stats.get("usage", {}).items():
            _usage_total[name] = _usage_total.get(name, 0) + count
        for row in stats.get("by_model", ()):
            key = (row.get("provider"), row.get("model"))
            total = _usage_by_model.setdefault(key, {k: v if k in ("provider", "model") else None
                                                     for k, v in row.items()})
            for name, value in row.items():
                if name not in ("provider", "model") and value is not None:
                    total[name] = (total.get(name) or 0) + value


def update_last_run(**changes: Any) -> None:
    """Adjust the counts of the most recent call (jobs that run several engine passes)."""
    with _stats_lock:
        _last_run.update(changes)
        getattr(_thread_stats, "last", {}).update(changes)


def usage(reset: bool = False, *, by_model: bool = False) -> Any:
    """Tokens of every answer received in this process (summed over calls and polars batches).

    Parameters
    ----------
    reset : bool, default False
        Start counting from zero again (the totals so far are still returned).
    by_model : bool, default False
        The totals per provider and model, with their estimated cost in US dollars, instead of
        one set of totals.

    Returns
    -------
    dict or list of dict
        Token name -> count, as the answers report them (``prompt_tokens``, ``completion_tokens``,
        ``total_tokens``); empty when no answer reported any. Cached answers cost nothing. With
        ``by_model=True``: a list of ``{provider, model, requests, prompt_tokens,
        completion_tokens, total_tokens, cost}`` (``cost`` None when the router lists no price),
        ready for ``pd.DataFrame(...)``.

    Examples
    --------
    >>> df.hf.chat("review", max_tokens=50)            # doctest: +SKIP
    >>> hf_frame.usage(reset=True)                     # doctest: +SKIP
    {'prompt_tokens': 8120, 'completion_tokens': 950, 'total_tokens': 9070}
    >>> hf_frame.usage(by_model=True)                  # doctest: +SKIP
    [{'provider': 'groq', 'model': 'meta-llama/Llama-3.1-8B-Instruct', 'requests': 40, ..., 'cost': 0.00011}]
    """
    with _stats_lock:
        totals = [dict(row) for row in _usage_by_model.values()] if by_model else dict(_usage_total)
        if reset:
            _usage_total.clear()
            _usage_by_model.clear()
    return totals
