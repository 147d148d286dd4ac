"""columns -> distinct values -> prepare -> keys -> cache -> single-flight -> send -> cache put.

The engine is framework-free and works on distinct inputs, never row by row. The adapters hand
it one column per input (:mod:`.columns` factorizes them once, in vectorized code); everything
after that runs once per distinct value:

1. ``prepare`` (and ``resolve_items``) turn each distinct input combination into an item, or a
   :class:`~hf_frame.tasks.base.RowFailure`; rows with a missing input never get here;
2. keys (:mod:`.keys`) name each item's answer; equal keys share one *slot*;
3. the cache is read in bulk in a worker thread (``get_many``), its values decoded in one pass;
4. the keys no other call is sending are sent by a fixed pool of ``max_concurrency`` workers
   pulling batches, so memory in flight is bounded by the concurrency, not the input size; a
   retry wait gives its work slot back meanwhile;
5. answers are written to the cache as they arrive, off the event loop (:mod:`.writer`), and
   built into Arrow a few thousand at a time (:mod:`.sink`).

The :class:`Outcome` holds one result and one error per slot and ``codes`` (row -> slot), so the
caller builds the output arrays once per slot and expands them to rows with one ``take``.

Everything runs on the shared runner loop (:mod:`hf_frame.runtime`), so the single-flight
table is shared by every call in the process (polars worker threads included) without locks.
"""

from __future__ import annotations

import asyncio
import time
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pyarrow as pa

from .. import runtime
from ..backends.remote import retry
from ..errors import AnswerError, FatalRequestError, InputError, RowRequestError
from ..runtime import get_cache
from ..tasks.base import BUILD_ERRORS, UNREADABLE, Call, RowFailure, Task
from . import keys
from .columns import ArrowValues, Factorized, blank_texts, factorize, from_rows
from .progress import Progress
from .sink import Builder, Sink
from .writer import FLUSH_WAIT, CacheWriter, writer_for

# key -> the _Sender sending it right now, for every call in the process.
_inflight = runtime.inflight

# After this many different inputs sent alone failed with the same client error and nothing
# succeeded, the error is systematic (invalid parameters, wrong task for the model...) and the call
# stops instead of failing each row (see _Sender._note_client_error).
SYSTEMATIC_AFTER = 4
#: The message of inputs whose sender (another call) stopped before answering them.
STOPPED = "cancelled: the call that was sending this input stopped"
_SORT_KEYS_ABOVE = 64  # sorted keys read a B-tree in order (measured ~1.6x faster for 100k keys)
_DECODE_CHUNK = 8192  # cached values decoded (and built) at a time
_ARROW_CHUNK = 65536  # cached values read by a task's columnar decoder at a time

Slots = array  # slot numbers, 8 bytes each (a list of ints costs 36)


@dataclass
class Outcome:
    """What the engine returns for one call: one result and error per slot, and what it cost.

    A *slot* is one distinct request (a cache key) or one input that failed before any request
    (a :class:`RowFailure`). ``codes`` maps every row to its slot (-1: an input is missing, the
    row's outputs are null and it has no error); ``value_slots`` maps every distinct input
    combination of the factorized columns to its slot.
    """

    codes: np.ndarray
    slot_results: list[Any]  # None everywhere when the results were built into ``slot_array``
    slot_errors: list[str | None]
    value_slots: np.ndarray
    slot_array: pa.Array | None = None  # one built result per slot (``build=``)
    rows: int = 0  # rows with every input present
    unique: int = 0  # distinct requests (keys)
    cached: int = 0  # of those, answered from the cache
    requests: int = 0  # HTTP attempts (or local computations), retries included
    answers: int = 0  # distinct requests answered by the model during this call
    failed: int = 0  # rows with an error
    slot_keys: list[str | None] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)  # summed Task.answer_usage of every answer received
    seconds: dict[str, float] = field(default_factory=dict)  # prepare / cache / network
    provider: str | None = None  # the Inference Provider that answered (None: local, endpoint, all cached)

    @cached_property
    def results(self) -> list[Any]:
        """One result per row (None for null rows and failures)."""
        slots = self.slot_results
        return [slots[s] if s >= 0 else None for s in self.codes.tolist()]

    @cached_property
    def row_keys(self) -> list[str | None]:
        """The cache key of each row's answer (None for null rows and failures before a request)."""
        slots = self.slot_keys
        return [slots[s] if 0 <= s < len(slots) else None for s in self.codes.tolist()]

    @cached_property
    def errors(self) -> list[str | None]:
        """One error message (or None) per row."""
        slots = self.slot_errors
        return [slots[s] if s >= 0 else None for s in self.codes.tolist()]


def run(call: Call, rows: Sequence[tuple], labels: Sequence[Any] | None = None) -> Outcome:
    """Synchronously compute ``call`` for every row (a tuple of input values per row)."""
    return run_factorized(call, from_rows(rows), labels)


def run_columns(call: Call, columns: Sequence[Any], labels: Sequence[Any] | None = None) -> Outcome:
    """Synchronously compute ``call`` on columns (one per input: Arrow, pandas, polars, numpy, list)."""
    return run_factorized(call, factorize(columns), labels)


def run_factorized(call: Call, inputs: Factorized, labels: Sequence[Any] | None = None,
                   build: Builder | None = None) -> Outcome:
    """Synchronously compute ``call`` on already factorized inputs (several calls may share them).

    With ``build`` (results -> an Arrow array, e.g. the task's ``build_array``), results are
    built into Arrow as they arrive, a few thousand at a time, and the outcome holds
    ``slot_array`` instead of Python results: a call then keeps ~30 bytes per answer, not the
    ~600 of its Python objects.
    """
    return runtime.run(execute_factorized(call, inputs, labels, build))


async def execute(call: Call, rows: Sequence[tuple], labels: Sequence[Any] | None = None) -> Outcome:
    """:func:`run` on the runner loop."""
    return await execute_factorized(call, from_rows(rows), labels)


async def execute_factorized(call: Call, inputs: Factorized, labels: Sequence[Any] | None = None,
                             build: Builder | None = None) -> Outcome:
    """Compute ``call`` for every distinct input combination of ``inputs`` (see the module docstring)."""
    started = time.perf_counter()
    if inputs.count:  # something may be sent
        call = await call.backend.resolve(call)  # e.g. the provider and its model id: part of the cache key
    # CPU work on every distinct value runs in a worker thread, so the loop keeps serving the
    # requests of other calls meanwhile.
    plan = await asyncio.to_thread(_Plan.prepare, call, inputs, labels, build)
    await plan.resolve()
    await asyncio.to_thread(plan.make_keys)
    prepared = time.perf_counter()

    cache = get_cache(call.settings)
    writer = writer_for(cache) if cache is not None else None
    sender = _Sender(call, plan, writer)
    meter = runtime.Meter()
    runtime.use_meter(meter)  # this task's context: the workers it starts count on it too
    try:
        stored, theirs = await _read_cache(cache, writer, plan, sender)
        looked_up = time.perf_counter()
        built_reading = plan.sink.seconds if plan.sink is not None else 0.0
        outcome = plan.outcome
        outcome.cached = len(stored)
        sender.progress = progress = Progress(
            call, total=outcome.rows, cached=int(plan.weight[np.frombuffer(stored, dtype=np.int64)].sum()),
            meter=meter)
        if plan.failed_rows:
            progress.advance(plan.failed_rows, sent=False, failed=True)
        try:
            await sender.run(sender.mine, theirs)
        finally:
            progress.close()
            outcome.requests = meter.requests
    finally:
        sender.release(sender.mine)
    sent = time.perf_counter()
    if writer is not None:
        await writer.settle(FLUSH_WAIT)
    settled = time.perf_counter()
    outcome.answers = sender.answered
    outcome.usage = sender.usage
    outcome.provider = sender.provider
    outcome.failed = plan.failed()
    build = {"cache": 0.0, "network": 0.0, "build": 0.0}  # building Arrow, inside each phase
    if plan.sink is not None:
        build["cache"], build["network"] = built_reading, plan.sink.seconds - built_reading
        finishing = time.perf_counter()
        outcome.slot_array = await asyncio.to_thread(plan.sink.finish, len(plan.errors))
        build["build"] = time.perf_counter() - finishing
    outcome.seconds = {
        "prepare": prepared - started,
        "cache": (looked_up - prepared) + (settled - sent) - build["cache"],
        "network": sent - looked_up - build["network"],
        "build": build["cache"] + build["network"] + build["build"],
    }
    return outcome


async def _read_cache(cache: Any, writer: CacheWriter | None, plan: _Plan, sender: _Sender
                      ) -> tuple[Slots, list[tuple[int, asyncio.Future]]]:
    """Fill the cached slots, claim the others (``sender.mine``); returns the cached results and
    the slots another call is sending (with a future of its answer)."""
    stored = Slots("q")
    written = writer.written if writer is not None else 0
    if writer is not None:
        stored = await asyncio.to_thread(_lookup, cache, plan, None, writer.unwritten())
    sender.mine, theirs = sender.claim(plan.missing())
    if writer is not None and sender.mine and (writer.written != written or writer.pending or writer.writing):
        # Another call wrote answers while we read: the ones we just claimed may be among them.
        late = await asyncio.to_thread(_lookup, cache, plan, sender.mine, writer.unwritten())
        stored += late
        sender.mine = sender.publish_cached(sender.mine)
        theirs = [(slot, future) for slot, future in theirs if not plan.cached[slot]]
    return stored, theirs


# ---------------------------------------------------------------------------------------------
# the distinct inputs of one call


def _is_text(arrow_type: pa.DataType) -> bool:
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)


class _Plan:
    """The slots of one call: their items, keys, results, errors and row weights.

    A slot is one distinct request (its key) or one input that failed before any request
    (a :class:`RowFailure`, after the keyed slots). ``value_slots`` maps each distinct input
    combination to its slot, ``codes`` each row (-1: null output, nothing to do).
    """

    def __init__(self, call: Call, inputs: Factorized, build: Builder | None = None) -> None:
        self.call, self.task, self.inputs = call, call.task, inputs
        self.sink = Sink(build) if build is not None else None
        self.slot_keys: list[str | None] = []  # per slot (None for failures)
        self.n_keys = 0
        self.results: list[Any] = []
        self.errors: list[str | None] = []
        self.shareable = bytearray()  # per slot: may a waiting call take this error as its answer?
        self.cached = bytearray()  # per slot: answered from the cache
        self.value_slots = np.full(inputs.count, -1, dtype=np.int64)
        self.codes = np.zeros(0, dtype=np.int64)
        self.weight = np.zeros(0, dtype=np.int64)  # per slot: its rows
        self.failed_rows = 0
        self._outcome: Outcome | None = None
        self.items: Sequence[Any] = []  # per slot (None for failures)
        self._items: list[Any] = []  # per distinct value, until the keys are made
        self._present: Sequence[int] = []  # distinct values with an item to send
        self._texts: pa.Array | None = None  # or: the present values are these texts (the default prepare)

    @classmethod
    def prepare(cls, call: Call, inputs: Factorized, labels: Sequence[Any] | None,
                build: Builder | None = None) -> _Plan:
        """``task.prepare`` once per distinct input combination (its first row names it)."""
        plan = cls(call, inputs, build)
        texts = inputs.arrow
        task = type(plan.task)
        if (task.prepare is Task.prepare and task.resolve_items is Task.resolve_items and texts is not None
                and _is_text(texts.type)):
            # The default prepare of a column of Arrow strings: blank ones give no item, the
            # others are the item (Arrow text is valid Unicode), found without a Python call. The
            # texts stay in Arrow; each becomes a Python str only to be keyed, then to be sent.
            blank = blank_texts(texts)
            plan._present = np.flatnonzero(~blank)
            plan._texts = texts.filter(pa.array(~blank)) if blank.any() else texts
            return plan
        prepare = plan.task.prepare
        firsts = inputs.first.tolist()
        if labels is not None:
            firsts = [labels[i] for i in firsts]
        with runtime.gc_paused():
            items = [prepare(call, values, row) for values, row in zip(inputs.rows(), firsts)]
        plan._items = items
        plan._present = [j for j, item in enumerate(items) if item is not None and not isinstance(item, RowFailure)]
        return plan

    async def resolve(self) -> None:
        """The task's async resolution of the items (media: content hashes), if it has one."""
        if type(self.task).resolve_items is Task.resolve_items or not self._present:
            return
        resolved = await self.task.resolve_items(self.call, [self._items[j] for j in self._present])
        for j, item in zip(self._present, resolved):
            self._items[j] = item
        self._present = [j for j in self._present if not isinstance(self._items[j], RowFailure)]

    def make_keys(self) -> None:
        """Keys of the items; equal keys share a slot; failures get a slot each. Then row -> slot."""
        with runtime.gc_paused():
            self._make_keys()

    def _make_keys(self) -> None:
        call, items, present = self.call, self._items, self._present
        maker = keys.KeyMaker(task=self.task.name, model=call.model, route=call.route,
                              parameters=[call.parameters, call.body, call.options])
        if self._texts is not None:  # distinct texts, each its own item: distinct keys (no set to check)
            self.items = ArrowValues(self._texts)
            self.slot_keys = maker.keys(self.items)
            self.value_slots[present] = np.arange(len(present), dtype=np.int64)
            self._texts = None
            self._slot_rows(len(self.slot_keys), [])
            return
        present_items = [items[j] for j in present]
        all_keys = maker.keys(present_items)
        if len(set(all_keys)) == len(all_keys):  # the usual case: distinct inputs, distinct keys
            self.slot_keys, self.items = all_keys, present_items
            self.value_slots[present] = np.arange(len(present), dtype=np.int64)
        else:  # some distinct values make the same item (or the same media content)
            key_slots: dict[str, int] = {}
            for j, key, item in zip(present, all_keys, present_items):
                slot = key_slots.get(key)
                if slot is None:
                    slot = key_slots[key] = len(self.slot_keys)
                    self.slot_keys.append(key)
                    self.items.append(item)
                self.value_slots[j] = slot
        self._slot_rows(len(self.slot_keys), [j for j, item in enumerate(items) if isinstance(item, RowFailure)])

    def _slot_rows(self, n_keys: int, failures: list[int]) -> None:
        """The slots' results and errors (a failure's slot after the keyed ones), then row -> slot."""
        self.n_keys = n_keys
        total = n_keys + len(failures)
        self.results, self.errors = [None] * total, [None] * total
        self.shareable, self.cached = bytearray(total), bytearray(total)
        for offset, j in enumerate(failures):
            self.value_slots[j] = n_keys + offset
            self.errors[n_keys + offset] = self._items[j].message
        if failures:
            self.slot_keys = self.slot_keys + [None] * len(failures)
            self.items = self.items + [None] * len(failures)
        self._items = self._present = []  # the slots hold what is needed from here on
        codes = self.inputs.codes
        rows = np.full(len(codes), -1, dtype=np.int64)
        present_rows = codes >= 0
        rows[present_rows] = self.value_slots[codes[present_rows]]
        self.codes = rows
        self.weight = np.bincount(rows[rows >= 0], minlength=total).astype(np.int64)
        self.failed_rows = int(self.weight[n_keys:].sum())

    def fill_cached(self, slots: list[int], results: list[Any], *, keep: bool = False) -> None:
        """Results read from the cache (``keep``: as Python objects even when building Arrow)."""
        cached = self.cached
        for slot in slots:
            cached[slot] = 1
        if self.sink is None or keep:
            for slot, result in zip(slots, results):
                self.results[slot] = result
        else:
            self.sink.add_many(slots, results)

    def fill_built(self, slots: list[int], built: pa.Array, seconds: float) -> None:
        """Cached results already built into Arrow (one per slot), and the time that took."""
        cached = self.cached
        for slot in slots:
            cached[slot] = 1
        self.sink.add_array(slots, built, seconds)

    def settle(self, slot: int, result: Any) -> None:
        """An answer for ``slot`` (None for a failure)."""
        if self.sink is None or result is None:
            self.results[slot] = result
        else:
            self.results[slot] = None
            self.sink.add(slot, result)

    def missing(self) -> Slots:
        """Slots with a key and no cached answer, in order."""
        cached = self.cached
        return Slots("q", (s for s in range(self.n_keys) if not cached[s]))

    def failed(self) -> int:
        """Rows with an error."""
        slots = [s for s, e in enumerate(self.errors) if e is not None]
        return int(self.weight[slots].sum()) if slots else 0

    @property
    def outcome(self) -> Outcome:
        if self._outcome is None:
            self._outcome = Outcome(
                codes=self.codes, slot_results=self.results, slot_errors=self.errors, value_slots=self.value_slots,
                rows=int(self.weight.sum()), unique=self.n_keys, slot_keys=self.slot_keys)
        return self._outcome


def _lookup(cache: Any, plan: _Plan, slots: Slots | None, unwritten: dict[str, bytes]) -> Slots:
    """Fill the slots (default: every keyed slot) whose key the cache, or the answers still being
    written to it, holds; returns them. Runs in a worker thread; decodes a chunk at a time."""
    with runtime.gc_paused():  # ~100,000 values and keys at once: nothing here is garbage
        return _lookup_unpaused(cache, plan, slots, unwritten)


def _lookup_unpaused(cache: Any, plan: _Plan, slots: Slots | None, unwritten: dict[str, bytes]) -> Slots:
    slot_keys = plan.slot_keys
    keep = slots is not None  # claimed slots: waiters may need the Python results (publish_cached)
    if slots is None:
        slots = range(plan.n_keys)
    keys_ = [slot_keys[s] for s in slots]
    if not keys_:
        return Slots("q")
    found = cache.get_many(sorted(keys_) if len(keys_) > _SORT_KEYS_ABOVE else keys_)
    if unwritten:
        found.update((k, unwritten[k]) for k in keys_ if k in unwritten)
    if not found:
        return Slots("q")
    if len(found) == len(keys_):  # the usual rerun: every key is there
        hit_slots, values = list(slots), [found[k] for k in keys_]
    else:
        hit_slots = [s for s, k in zip(slots, keys_) if k in found]
        values = [found[slot_keys[s]] for s in hit_slots]
    del found, keys_
    done = Slots("q")
    if not keep and plan.sink is not None:  # straight into Arrow, where the task can
        hit_slots, values = _decode_into_sink(plan, hit_slots, values, done)
    for start in range(0, len(hit_slots), _DECODE_CHUNK):
        part = hit_slots[start : start + _DECODE_CHUNK]
        decoded = plan.task.decode_many(values[start : start + _DECODE_CHUNK])
        good = [i for i, r in enumerate(decoded) if r is not UNREADABLE]
        done.extend(_fill_fitting(plan, [part[i] for i in good], [decoded[i] for i in good], keep))
    return done


def _fill_fitting(plan: _Plan, slots: list[int], results: list[Any], keep: bool) -> list[int]:
    """Fill the slots with the decoded cached results that fit the output type; returns those.

    A value that decodes but does not fit (written by another version, or damaged into other
    valid JSON) is treated as absent: its input is sent again, never built into a wrong row."""
    sink = plan.sink
    if sink is not None and not keep:  # build the chunk now: a failed build finds the misfits
        started = time.perf_counter()
        try:
            built = sink.build(results)
        except BUILD_ERRORS:
            built = None
        if built is not None:
            plan.fill_built(slots, built, time.perf_counter() - started)
            return slots
    problems = plan.task.check(plan.call, results)
    fitting = [i for i, problem in enumerate(problems) if problem is None]
    slots, results = [slots[i] for i in fitting], [results[i] for i in fitting]
    plan.fill_cached(slots, results, keep=keep)
    return slots


def _decode_into_sink(plan: _Plan, slots: list[int], values: list[bytes], done: Slots
                      ) -> tuple[list[int], list[bytes]]:
    """Decode cached values with the task's columnar decoder (:meth:`Task.decode_array`) into the
    sink, ``_ARROW_CHUNK`` at a time; returns the slots and values it could not read (those are
    decoded one by one)."""
    rest_slots: list[int] = []
    rest_values: list[bytes] = []
    for start in range(0, len(slots), _ARROW_CHUNK):
        part, datas = slots[start : start + _ARROW_CHUNK], values[start : start + _ARROW_CHUNK]
        started = time.perf_counter()
        built = plan.task.decode_array(plan.call, datas)
        if built is None:
            rest_slots += part
            rest_values += datas
            continue
        plan.fill_built(part, built, time.perf_counter() - started)
        done.extend(part)
    return rest_slots, rest_values


# ---------------------------------------------------------------------------------------------
# sending


class _Sender:
    """Sends the slots this call owns with a fixed pool of workers, and publishes each answer."""

    def __init__(self, call: Call, plan: _Plan, writer: CacheWriter | None) -> None:
        self.call, self.task, self.plan = call, call.task, plan
        self.writer = writer
        self.progress: Progress | None = None
        self.usage: dict[str, int] = {}
        self.answered = 0
        self.successes = 0
        self.provider: str | None = None
        # The systematic-error rule (see _note_client_error): per message, how many inputs sent
        # alone failed with it; the probes of failed batches in flight; requests on the wire.
        self.client_errors: dict[str, int] = {}
        self.first_error: dict[str, RowRequestError] = {}
        self.probing = 0
        self.probed = asyncio.Event()  # set when no probe is in flight
        self.probed.set()
        self.in_flight = 0
        self.steady = asyncio.Event()  # cleared while the call looks systematically failing
        self.steady.set()
        self.fatal: FatalRequestError | None = None
        self.waiters: dict[str, asyncio.Future] = {}  # key -> future of another call waiting for it
        self.published = bytearray(len(plan.slot_keys))
        # Answers parsed and not yet checked, cached and published (see _verify).
        self._fresh_slots: Slots = Slots("q")
        self._fresh_results: list[Any] = []
        self._verifying = False
        self.mine: Slots = Slots("q")  # the slots this call claimed to send
        self.drained = False  # every batch of the current send_all has been taken

    # -- single-flight -----------------------------------------------------------------------
    def claim(self, slots: Iterable[int]) -> tuple[Slots, list[tuple[int, asyncio.Future]]]:
        """Take the slots no other call is sending (ours to send), and a future for the others."""
        keys_, mine, theirs = self.plan.slot_keys, Slots("q"), []
        for slot in slots:
            key = keys_[slot]
            owner = _inflight.get(key)
            if owner is None or owner is self:
                _inflight[key] = self
                mine.append(slot)
            else:
                theirs.append((slot, owner.waiter(key)))
        return mine, theirs

    def publish_cached(self, mine: Slots) -> Slots:
        """Release the claimed slots the cache answered (telling anyone waiting); the rest, to send."""
        cached, keys_, results = self.plan.cached, self.plan.slot_keys, self.plan.results
        rest = Slots("q")
        for slot in mine:
            if cached[slot]:
                self.published[slot] = 1
                key = keys_[slot]
                if _inflight.get(key) is self:
                    del _inflight[key]
                if self.waiters:
                    future = self.waiters.pop(key, None)
                    if future is not None and not future.done():
                        future.set_result((results[slot], None, True))
                self.plan.settle(slot, results[slot])
            else:
                rest.append(slot)
        return rest

    async def run(self, mine: Slots, theirs: list[tuple[int, asyncio.Future]]) -> None:
        """Send our slots, wait for the others; resend what their sender could not answer for a
        reason of its own (its token, its settings, it stopped)."""
        for _ in range(4):
            try:
                await self.send_all(mine)
            finally:
                self.release(mine)
            again = []
            for slot, future in theirs:
                result, error, shareable = await asyncio.shield(future)
                if error is not None and not shareable:
                    again.append(slot)  # that call's own failure: ask ourselves
                else:
                    self._settle(slot, result, error, shareable)
            if not again:
                return
            mine, theirs = self.claim(again)
        # A fourth sender in a row stopped: send regardless of the table.
        await self.send_all(mine + Slots("q", [slot for slot, _ in theirs]))

    def waiter(self, key: str) -> asyncio.Future:
        """A future of (result, error, shareable) for another call that needs ``key``."""
        future = self.waiters.get(key)
        if future is None:
            future = self.waiters[key] = asyncio.get_running_loop().create_future()
        return future

    def release(self, mine: Slots) -> None:
        """Whatever happened, give up our single-flight entries; waiters of unanswered keys learn it."""
        keys_ = self.plan.slot_keys
        for slot in mine:
            if not self.published[slot]:
                self.published[slot] = 1
                key = keys_[slot]
                if _inflight.get(key) is self:
                    del _inflight[key]
                future = self.waiters.pop(key, None)
                if future is not None and not future.done():
                    future.set_result((None, STOPPED, False))

    # -- the worker pool ---------------------------------------------------------------------
    def _batches(self, slots: Slots) -> Iterator[Slots]:
        size = max(1, self.task.batch_size(self.call))
        if type(self.task).group_key is Task.group_key:
            for i in range(0, len(slots), size):
                yield slots[i : i + size]
            return
        groups: dict[Any, Slots] = {}
        items = self.plan.items
        for slot in slots:
            key = self.task.group_key(self.call, items[slot])
            group = groups.get(key)
            if group is None:
                group = groups[key] = Slots("q")
            group.append(slot)
        for group in groups.values():
            for i in range(0, len(group), size):
                yield group[i : i + size]

    async def send_all(self, slots: Slots) -> None:
        if not slots:
            return
        concurrency = self.call.settings.max_concurrency
        size = max(1, self.task.batch_size(self.call))
        batches = self._batches(slots)
        n_batches = -(-len(slots) // size)
        workers: list[asyncio.Future] = []
        self.drained = False  # set once a worker found no batch left: no new worker is worth starting

        def start_worker() -> None:
            # `concurrency` workers hold the slots; one more starts whenever a worker gives its
            # slot up for a retry wait (at most as many again), so a wait never idles the wire.
            if len(workers) < min(2 * concurrency, n_batches) and not self.drained:
                workers.append(asyncio.ensure_future(self._worker(batches, gate)))

        gate = runtime.WorkSlots(concurrency, on_wait=start_worker)
        for _ in range(min(concurrency, n_batches)):
            start_worker()
        try:
            while True:  # workers started during the wait are waited for too
                done, pending = await asyncio.wait(list(workers), return_when=asyncio.FIRST_EXCEPTION)
                if any(not w.cancelled() and w.exception() is not None for w in done) or len(done) == len(workers):
                    break
        except BaseException:  # cancelled from outside (KeyboardInterrupt in the caller)
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise
        finally:
            self._verify()  # the answers of the last turn (and of a call stopped meanwhile) are kept
        pending = [w for w in workers if not w.done()]
        for worker in pending:
            worker.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        # Read every finished worker's exception (asyncio logs the unread ones), raise the first.
        errors = [w.exception() for w in workers if w.done() and not w.cancelled()]
        first = next((e for e in errors if e is not None), None)
        if first is not None:
            raise first

    async def _worker(self, batches: Iterator[Slots], gate: runtime.WorkSlots) -> None:
        permit = runtime.Permit(gate)
        runtime.hold(permit)  # this task's context: a retry wait below releases it
        try:
            while True:
                await permit.acquire()
                batch = next(batches, None)
                if batch is None:
                    self.drained = True
                    return
                await self.send(batch)
                if permit.wanted:  # a worker back from a retry wait goes first
                    permit.release()
        finally:
            permit.release()

    async def send(self, batch: Slots) -> None:
        items = [self.plan.items[s] for s in batch]
        try:
            attempt = 0
            while True:  # an answer parse() rejects is asked again task.answer_retries(call) times
                answer = await self._dispatch(items)
                for name, count in self.task.answer_usage(self.call, answer).items():
                    self.usage[name] = self.usage.get(name, 0) + count
                try:
                    results = self.task.parse(self.call, answer, items)
                    break
                except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError) as exc:
                    attempt += 1
                    if attempt > self.task.answer_retries(self.call):
                        raise AnswerError(self.task.answer_error(self.call, exc, attempt),
                                          task=self.task.name, model=self.call.model or "") from None
            if len(results) != len(items):
                raise AnswerError(f"{self.task.name}: expected {len(items)} results, got {len(results)}",
                                  task=self.task.name, model=self.call.model or "")
        except (RowRequestError, InputError) as exc:
            # InputError: a file or URL that could not be read when the request was built.
            if len(batch) > 1:  # isolate the offending item(s): split the batch and retry the parts
                await self._split(batch, exc)
                return
            if isinstance(exc, RowRequestError):
                self._note_client_error(exc)
            self._publish(batch[0], None, str(exc), _shareable(exc))
            return
        self.successes += 1
        self.steady.set()  # an input succeeded: whatever failed so far is not systematic
        self.probed.set()
        self._fresh_slots.extend(batch)
        self._fresh_results.extend(results)
        if not self._verifying:  # checked with every other answer of this loop turn (see _verify)
            self._verifying = True
            asyncio.get_running_loop().call_soon(self._verify)

    def _verify(self) -> None:
        """Check, cache and publish the answers parsed since the last call, in one pass.

        Each result is published as the cache gives it back, checked against the output type:
        one that does not fit is a row error and is never cached. The answers of one loop turn
        go together (a few at a time when many are in flight), because checking builds an Arrow
        array, whose fixed cost (~7 µs) was a tenth of the loop's time at high concurrency."""
        self._verifying = False
        batch, results = self._fresh_slots, self._fresh_results
        if not batch:
            return
        self._fresh_slots, self._fresh_results = Slots("q"), []
        checked = self.task.verified(self.call, results)
        if self.writer is not None:
            keys_ = self.plan.slot_keys
            stored = {keys_[s]: data for s, (_, data, _) in zip(batch, checked) if data is not None}
            if stored:
                self.writer.put(stored)
        for slot, (value, _, error) in zip(batch, checked):
            self._publish(slot, value, error, True)

    async def _dispatch(self, items: list[Any]) -> Any:
        if not self.steady.is_set():  # the call looks systematically failing: wait for what is on the wire
            await self.steady.wait()
        if self.fatal is not None:
            raise self.fatal
        self.in_flight += 1
        try:
            answer, provider = await self.call.backend.send(self.task, self.call, items)
            if provider is not None:
                self.provider = provider
            return answer
        finally:
            self.in_flight -= 1
            if not self.in_flight and not self.steady.is_set():
                # Decide once this request's outcome has been noted (its task runs on first).
                asyncio.get_running_loop().call_soon(self._recheck)

    def _suspect(self, exc: Exception) -> bool:
        """Could this failure be systematic? A client error (or an unreachable service, or an
        answer of the wrong shape) while no input of the call has succeeded yet."""
        return isinstance(exc, RowRequestError) and exc.status in (400, 422, None) and not self.successes

    async def _split(self, batch: Slots, exc: Exception) -> None:
        """Send a failed batch again in parts: halves, to isolate the offending inputs.

        While the failure may be systematic, a few of its inputs first go alone (as many as the
        rule below still needs), and the halves wait for them: then a service refusing every
        request stops the call after a handful of requests, not after ``2n - 1``, and batches that
        each hold one bad input go on as soon as one input alone succeeds."""
        probes = Slots("q")
        if self._suspect(exc):
            if self.probing:  # other probes are out: their outcome decides for this batch too
                await self.probed.wait()
            if self._suspect(exc):
                needed = SYSTEMATIC_AFTER - max(self.client_errors.values(), default=0)
                probes = batch[:max(0, min(needed, len(batch) - 1))]
        if probes:
            self.probing += len(probes)
            self.probed.clear()
            try:
                await asyncio.gather(*(self.send(Slots("q", [slot])) for slot in probes))
            finally:
                self.probing -= len(probes)
                if not self.probing:
                    self.probed.set()
        rest = batch[len(probes):]
        if len(rest) == 1:
            await self.send(rest)
            return
        half = len(rest) // 2
        await self.send(rest[:half])
        await self.send(rest[half:])

    def _note_client_error(self, exc: RowRequestError) -> None:
        """Stop the call when its requests all fail the same way: that is systematic.

        One rule for single and batched tasks. Counted, per message: the different inputs that
        failed with it when sent alone (a failed batch sends a few of its inputs alone first,
        see :meth:`_split`). Once ``SYSTEMATIC_AFTER`` did and no input succeeded, nothing new is
        sent; if the requests still on the wire bring no success either, the call stops. Any
        success ends the suspicion for the rest of the call: a few bad rows among valid ones
        never stop it.

        400/422: the parameters or the model are wrong. No status: the service is unreachable
        (each of those already went through every retry), or its answers have the wrong shape."""
        if not self._suspect(exc):
            return
        message = str(exc)
        self.first_error.setdefault(message, exc)
        self.client_errors[message] = self.client_errors.get(message, 0) + 1
        if self.client_errors[message] < SYSTEMATIC_AFTER:
            return
        if self.in_flight:  # requests on the wire may still succeed: hold new ones until they are back
            self.steady.clear()
            return
        self.fatal = self._systematic(message)
        self.steady.set()  # requests held back raise it too
        raise self.fatal

    def _recheck(self) -> None:
        """The last request on the wire came back while new ones were held: stop or go on."""
        if self.steady.is_set() or self.in_flight:
            return
        if not self.successes and self.fatal is None:
            message, count = max(self.client_errors.items(), key=lambda kv: kv[1])
            if count >= SYSTEMATIC_AFTER:
                self.fatal = self._systematic(message)
        self.steady.set()

    def _systematic(self, message: str) -> FatalRequestError:
        count, exc = self.client_errors[message], self.first_error[message]
        status = exc.status
        if isinstance(exc, AnswerError):
            cause = "the model's answers do not have the shape this task reads"
        elif status is None:
            cause = "the service is unreachable"
        else:
            cause = "the parameters or the model are likely wrong"
        return FatalRequestError(
            f"{message} ({count} different inputs all failed this way and none succeeded, so {cause}; stopping)",
            status=status, task=self.task.name, model=self.call.model or "",
        )

    def _publish(self, slot: int, result: Any, error: str | None, shareable: bool) -> None:
        self.published[slot] = 1
        key = self.plan.slot_keys[slot]
        if _inflight.get(key) is self:
            del _inflight[key]
        future = self.waiters.pop(key, None)
        if future is not None and not future.done():
            future.set_result((result, error, shareable))
        if error is None:
            self.answered += 1
        self._settle(slot, result, error, shareable)

    def _settle(self, slot: int, result: Any, error: str | None, shareable: bool) -> None:
        plan = self.plan
        plan.settle(slot, result)
        plan.errors[slot], plan.shareable[slot] = error, shareable
        if self.progress is not None:
            self.progress.advance(int(plan.weight[slot]), sent=True, failed=error is not None)


def _shareable(exc: Exception) -> bool:
    """May a call waiting for this input take this error as its answer too? Only when the error
    is about the input itself (a 4xx for it, an answer that does not parse), not about how the
    sending call asked (its token, retries, timeout) or a transient failure."""
    if isinstance(exc, AnswerError):  # an answer the task could not read: about this input
        return True
    if isinstance(exc, RowRequestError):
        return exc.status is not None and exc.status not in retry.RETRY_STATUSES
    return False
