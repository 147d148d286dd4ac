"""Write-behind shared by the persistent stores (SQLite, Redis).

``put_many`` only queues: one writer thread per store takes everything queued, waits a few
milliseconds for more (group commit: at most :attr:`BufferedCache.window` seconds or
:attr:`BufferedCache.max_batch` answers), and writes it in one transaction / pipeline. A crash
therefore loses at most that window; :meth:`flush` waits for the writes, :meth:`close` flushes and
releases the store.

Until written, values stay in memory and ``get_many`` serves them (read-your-writes). A failed
write loses nothing: the values stay queued and the writer retries with backoff, for as long as the
process lives; the caller is warned once per outage (:class:`~hf_frame.errors.CacheWarning`), and
once more at exit or ``close`` if some were never written.

Locks: ``_cond`` guards the queue and counters (held briefly, never during I/O); ``_io_lock`` is
held while the backend is written, cleared, opened or closed, so those never interleave. A store
may take a lock of its own for reads, always after ``_io_lock`` when it needs both.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import time
import warnings
import weakref
from collections.abc import Iterable, Mapping

from ..errors import CacheWarning

#: Seconds ``atexit`` waits, across every open store, for queued answers to be written.
EXIT_TIMEOUT = 5.0

_open_stores: weakref.WeakSet[BufferedCache] = weakref.WeakSet()


class BufferedCache:
    """Base of the stores written by a background thread (see the module docstring).

    Subclasses set :attr:`location` and implement ``_write`` (write every item or raise; leave the
    backend as it was on failure), ``_read`` (the stored values of some keys; raise
    :class:`~hf_frame.errors.CacheError` when the backend cannot be read), ``_explain`` (a short
    reason for a failed write, with no secret in it), ``_stats``, ``_clear_backend`` and
    ``_close_backend``. A store that cannot be written at all sets ``_readonly_reason``.
    """

    window = 0.005  # group commit: seconds the writer waits for more answers...
    max_batch = 500  # ...or this many answers, whichever comes first
    backoff_first = 0.02  # seconds before the first retry of a failed write; doubles up to...
    backoff_cap = 0.5
    warn_after = 5.0  # seconds a write may keep failing before the caller is warned
    idle_exit = 5.0  # the writer thread ends after this long with nothing to write (restarts on demand)
    info_flush_timeout = 2.0  # info() first waits this long for queued answers to be written

    location: str = "?"

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._io_lock = threading.RLock()
        self._queued: dict[str, bytes] = {}  # put, not yet taken by the writer
        self._writing: dict[str, bytes] = {}  # taken by the writer, not yet written (kept on failure)
        self._enqueued = 0  # put_many calls so far...
        self._committed = 0  # ...and how many of them are written
        self._flushers = 0  # callers waiting in flush(): the writer skips its window
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._failing_since: float | None = None
        self._problem: str | None = None  # why the last write failed
        self._warned_problem = False  # warned for the current outage
        self._readonly_reason: str | None = None
        self._warned_readonly = False
        _open_stores.add(self)

    # -- the Cache protocol ---------------------------------------------------------------

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        """The values of those keys that are present, including ones not yet written."""
        keys = list(keys)
        found: dict[str, bytes] = {}
        rest = keys
        with self._cond:
            if self._queued or self._writing:
                rest = []
                for key in keys:
                    value = self._queued.get(key)
                    if value is None:
                        value = self._writing.get(key)
                    if value is None:
                        rest.append(key)
                    else:
                        found[key] = value
        self._maybe_warn()
        if rest:
            # A key absent above was either written already (the writer drops a batch only after
            # writing it) or put after this call started: reading the backend now is consistent.
            found.update(self._read(rest))
        return found

    def put_many(self, items: Mapping[str, bytes]) -> None:
        """Queue values (overwriting); returns at once. The writer thread stores them shortly."""
        if not items:
            return
        with self._cond:
            was_empty = not self._queued
            self._queued.update(items)
            self._enqueued += 1
            if self._readonly_reason is None:
                self._start_writer()
                if was_empty or len(self._queued) >= self.max_batch:
                    self._cond.notify_all()
        self._maybe_warn()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every value put so far is written; False if ``timeout`` seconds passed first
        (or the store is read-only). ``timeout=None`` waits as long as it takes."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            target = self._enqueued
            if self._committed >= target:
                return True
            if self._readonly_reason is not None:
                return False
            self._start_writer()
            self._flushers += 1
            self._cond.notify_all()
            try:
                while self._committed < target:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        break
                    self._cond.wait(left)
                done = self._committed >= target
            finally:
                self._flushers -= 1
        self._maybe_warn()
        return done

    def close(self, timeout: float | None = 30.0) -> bool:
        """Flush (up to ``timeout`` seconds), stop the writer and release the backend.

        Returns whether everything was written; if not, warns once how many answers were not and
        why. The store stays usable: the next call reopens it (and retries what is left)."""
        done = self.flush(timeout)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)
        with self._io_lock:
            self._close_backend()
        with self._cond:
            self._stopping = False
            left = len(self._queued.keys() | self._writing.keys())
            reason = self._readonly_reason or self._problem or "the writes did not finish in time"
            told = self._readonly_reason is not None and self._warned_readonly  # "kept in memory only"
        if left and not done and not told:
            _warn(f"hf_frame: {left} cached answer(s) could not be written to {self.location} ({reason}); "
                  "they are lost when this process ends")
        return done

    def info(self) -> dict:
        """Entries, bytes and location; answers not written yet count too."""
        self.flush(self.info_flush_timeout)
        entries, size = self._stats()
        with self._cond:
            pending = {**self._writing, **self._queued}
        return {"entries": entries + len(pending), "bytes": size + sum(map(len, pending.values())),
                "path": self.location}

    def clear(self) -> int:
        """Delete every answer, written or queued; returns how many were removed."""
        with self._io_lock:
            with self._cond:
                pending = self._queued.keys() | self._writing.keys()
            removed = self._clear_backend(pending)
            with self._cond:
                for key in pending:
                    self._queued.pop(key, None)
                    self._writing.pop(key, None)
                if not self._queued and not self._writing:
                    self._committed = self._enqueued
                self._problem, self._failing_since, self._warned_problem = None, None, False
                self._cond.notify_all()
        return removed

    # -- for subclasses -------------------------------------------------------------------

    def _pending_count(self) -> int:
        with self._cond:
            return len(self._queued.keys() | self._writing.keys())

    def _write(self, items: dict[str, bytes]) -> None:
        raise NotImplementedError

    def _read(self, keys: list[str]) -> dict[str, bytes]:
        raise NotImplementedError

    def _explain(self, exc: BaseException) -> str:
        return f"{type(exc).__name__}: {exc}"

    def _stats(self) -> tuple[int, int]:
        raise NotImplementedError

    def _clear_backend(self, pending: set[str]) -> int:
        """Delete everything stored; return how many entries that removed, counting the keys of
        ``pending`` (queued, not written) that were not stored yet. Called under ``_io_lock``."""
        raise NotImplementedError

    def _close_backend(self) -> None:
        """Release connections (the next read or write reopens them). Called under ``_io_lock``."""

    # -- the writer -----------------------------------------------------------------------

    def _start_writer(self) -> None:
        """Start the writer thread if none runs (called with ``_cond`` held)."""
        if self._thread is not None and self._thread.is_alive():
            return
        thread = threading.Thread(target=self._run, name=f"hf_frame-cache-writer {self.location}", daemon=True)
        try:
            thread.start()
        except RuntimeError:  # interpreter shutting down: the values stay in memory
            return
        self._thread = thread

    def _run(self) -> None:
        failures = 0
        while True:
            with self._cond:
                if not self._wait_for_work(failures):
                    idle = not self._stopping
                    self._writer_done()
                    break
            error: BaseException | None = None
            with self._io_lock:
                with self._cond:
                    self._writing.update(self._queued)  # newer values win
                    self._queued = {}
                    batch = dict(self._writing)
                    target = self._enqueued
                if batch:
                    try:
                        self._write(batch)
                    except Exception as exc:  # noqa: BLE001 - any failure is retried, never lost
                        error = exc
                with self._cond:
                    if error is None:
                        self._writing = {}  # only this thread and clear() (under _io_lock too) change it
                        self._committed = max(self._committed, target)
                        self._problem, self._failing_since, self._warned_problem = None, None, False
                        failures = 0
                        self._cond.notify_all()
                    else:
                        failures += 1
                        self._problem = self._explain(error)
                        if self._failing_since is None:
                            self._failing_since = time.monotonic()
            if error is not None:
                self._back_off(min(self.backoff_cap, self.backoff_first * 2 ** (failures - 1)))
        if idle:  # nothing to write for a while: give the connections back too (the next use reopens)
            with self._io_lock:
                self._close_backend()

    def _wait_for_work(self, failures: int) -> bool:
        """With ``_cond`` held: wait for answers to write, then for the group-commit window (not on
        a retry). False when the writer should end: idle too long, or close() gave up on it."""
        idle_until = time.monotonic() + self.idle_exit
        while not self._queued and not self._writing:
            left = idle_until - time.monotonic()
            if self._stopping or left <= 0:
                return False
            self._cond.wait(left)
        if self._stopping and failures:
            return False  # close() stopped waiting: what is left stays in memory (and is retried later)
        if not failures:  # group commit: give the next answers a moment to join
            until = time.monotonic() + self.window
            while len(self._queued) < self.max_batch and not self._flushers and not self._stopping:
                left = until - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
        return True

    def _back_off(self, delay: float) -> None:
        """Sleep ``delay`` seconds; close() cuts it short (new puts do not)."""
        until = time.monotonic() + delay
        with self._cond:
            was_stopping = self._stopping
            while time.monotonic() < until and self._stopping == was_stopping:
                self._cond.wait(until - time.monotonic())

    def _writer_done(self) -> None:
        if self._thread is threading.current_thread():
            self._thread = None

    # -- warnings (given on the caller's thread, never the writer's) ------------------------

    def _maybe_warn(self) -> None:
        message = None
        with self._cond:
            if self._readonly_reason is not None and self._queued and not self._warned_readonly:
                self._warned_readonly = True
                message = (f"hf_frame: the answer cache {self.location} cannot be written "
                           f"({self._readonly_reason}); answers of this session are kept in memory only")
            elif (self._problem is not None and not self._warned_problem and self._failing_since is not None
                  and time.monotonic() - self._failing_since >= self.warn_after):
                self._warned_problem = True
                left = len(self._queued.keys() | self._writing.keys())
                message = (f"hf_frame: cannot write {left} answer(s) to the cache {self.location} "
                           f"({self._problem}); they are kept in memory, still served, and retried until written")
        if message is not None:
            _warn(message)


def _warn(message: str) -> None:
    warnings.warn(CacheWarning(message), stacklevel=4)


@atexit.register
def _close_open_stores() -> None:
    """At exit, give every store up to :data:`EXIT_TIMEOUT` seconds (in all) to write its queue."""
    deadline = time.monotonic() + EXIT_TIMEOUT
    for store in list(_open_stores):
        with contextlib.suppress(Exception):  # exiting anyway: a close failure must not mask the exit status
            store.close(timeout=max(0.0, deadline - time.monotonic()))
