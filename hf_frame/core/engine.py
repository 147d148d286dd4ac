"""values -> skip nulls -> dedupe -> cache -> single-flight -> send -> cache put -> scatter back.

The engine is framework-free: frame adapters hand it one tuple of input values per row and get
back one result (or error message) per row, in order. Everything runs on the shared runner loop
(:mod:`.runner`), so the single-flight table below is shared by every call in the process (polars
worker threads included) without locks.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Sequence

from .. import runtime
from ..errors import AnswerError, FatalRequestError, InputError, RowRequestError
from ..runtime import get_cache
from ..tasks.base import Call, RowFailure
from . import keys
from .progress import Progress

# key -> future of (result, error) for requests being sent right now, by any call.
_inflight = runtime.inflight

# When this many different inputs, each sent alone, failed with the same client error, none
# succeeded and nothing else is on the wire, the error is systematic (invalid parameters, wrong
# task for the model...) and the call stops instead of failing each row.
SYSTEMATIC_AFTER = 4


@dataclass
class Outcome:
    """What the engine returns for one call: per-row results and errors, and what it cost."""

    results: list[Any]
    errors: list[str | None]
    rows: int = 0
    unique: int = 0
    cached: int = 0
    requests: int = 0
    fresh_keys: set[str] = field(default_factory=set)
    row_keys: list[str | None] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)  # summed Task.answer_usage of every answer received
    provider: str | None = None  # the Inference Provider that answered (None: local, endpoint, all cached)

    @property
    def failed(self) -> int:
        return sum(e is not None for e in self.errors)


def run(call: Call, rows: Sequence[tuple], labels: Sequence[Any] | None = None) -> Outcome:
    """Synchronously compute ``call`` for every row (a tuple of input values per row)."""
    return runtime.run(execute(call, rows, labels))


async def execute(call: Call, rows: Sequence[tuple], labels: Sequence[Any] | None = None) -> Outcome:
    task = call.task
    n = len(rows)
    items: list[Any] = []
    for position, values in enumerate(rows):
        label = labels[position] if labels is not None else position
        items.append(task.prepare(call, values, label))
    failures: dict[int, str] = {}
    present = [i for i, item in enumerate(items) if item is not None and not isinstance(item, RowFailure)]
    resolved = await task.resolve_items(call, [items[i] for i in present])
    for i, item in zip(present, resolved):
        items[i] = item
    for i, item in enumerate(items):
        if isinstance(item, RowFailure):  # from prepare or resolve_items: an error, no request
            failures[i] = item.message
            items[i] = None

    if any(item is not None for item in items):
        call = await call.backend.resolve(call)  # e.g. the provider and its model id: part of the cache key
    row_keys: list[str | None] = [None] * n
    unique: dict[str, Any] = {}
    weight: dict[str, int] = {}
    maker = keys.KeyMaker(task=task.name, model=call.model, route=call.route,
                          parameters=[call.parameters, call.body, call.options])
    text_keys: dict[str, str] = {}  # duplicate texts (the common case) are hashed once
    for i, item in enumerate(items):
        if item is None:
            continue
        if isinstance(item, str):
            key = text_keys.get(item) or text_keys.setdefault(item, maker.key(item))
        else:
            key = maker.key(item)
        row_keys[i] = key
        unique.setdefault(key, item)
        weight[key] = weight.get(key, 0) + 1

    cache = get_cache(call.settings)
    stored = cache.get_many(unique) if cache is not None else {}
    answers: dict[str, tuple[Any, str | None]] = {k: (task.decode(v), None) for k, v in stored.items()}
    outcome = Outcome(results=[None] * n, errors=[None] * n, unique=len(unique), cached=len(stored),
                      rows=sum(k is not None for k in row_keys) + len(failures), row_keys=row_keys)

    progress = Progress(call, total=outcome.rows, cached=sum(weight[k] for k in stored))
    if failures:
        progress.advance(len(failures), sent=False, failed=True)
    try:
        waiting: dict[str, asyncio.Future] = {}
        mine: list[str] = []
        loop = asyncio.get_running_loop()
        for key in unique:
            if key in answers:
                continue
            if key in _inflight:
                waiting[key] = _inflight[key]
            else:
                _inflight[key] = loop.create_future()
                mine.append(key)
        sender = _Sender(call, unique, weight, cache, progress, outcome)
        try:
            await sender.send_all(mine)
        finally:
            # Whatever happened, release our single-flight slots (failed ones carry the error).
            for key in mine:
                fut = _inflight.pop(key, None)
                if fut is not None and not fut.done():
                    fut.set_result((None, "cancelled: the call that was sending this input stopped"))
        answers.update(sender.answers)
        for key, fut in waiting.items():
            answers[key] = await asyncio.shield(fut)
            progress.advance(weight[key], sent=True)
    finally:
        progress.close()

    for i, key in enumerate(row_keys):
        if key is not None:
            outcome.results[i], outcome.errors[i] = answers[key]
    for i, message in failures.items():
        outcome.errors[i] = message
    return outcome


class _Sender:
    """Sends the keys this call owns, in batches, and publishes each answer as it arrives."""

    def __init__(self, call: Call, unique: dict, weight: dict, cache, progress: Progress, outcome: Outcome):
        self.call, self.task = call, call.task
        self.unique, self.weight, self.cache = unique, weight, cache
        self.progress, self.outcome = progress, outcome
        self.answers: dict[str, tuple[Any, str | None]] = {}
        self.successes = 0
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
        # Bounds the batches being built and sent at once: a request body is built only when it
        # is about to go out, so 10,000 image paths never hold 10,000 images in memory.
        self.gate = asyncio.Semaphore(call.settings.max_concurrency)

    async def send_all(self, owned: list[str]) -> None:
        groups: dict[Any, list[str]] = {}
        for key in owned:
            groups.setdefault(self.task.group_key(self.call, self.unique[key]), []).append(key)
        size = self.task.batch_size(self.call)
        batches = [keys_[i : i + size] for keys_ in groups.values() for i in range(0, len(keys_), size)]
        jobs = [asyncio.ensure_future(self.send(batch)) for batch in batches]
        if not jobs:
            return
        try:
            done, pending = await asyncio.wait(jobs, return_when=asyncio.FIRST_EXCEPTION)
        except BaseException:  # cancelled from outside (KeyboardInterrupt in the caller)
            for job in jobs:
                job.cancel()
            raise
        for job in pending:
            job.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        # Read every finished job's exception (asyncio logs the unread ones), raise the first.
        errors = [job.exception() for job in done if not job.cancelled()]
        first = next((e for e in errors if e is not None), None)
        if first is not None:
            raise first

    async def send(self, batch: list[str]) -> None:
        items = [self.unique[k] for k in batch]
        try:
            attempt = 0
            while True:  # an answer parse() rejects is asked again task.answer_retries(call) times
                async with self.gate:
                    answer = await self._dispatch(items)
                self.outcome.requests += 1
                for name, count in self.task.answer_usage(self.call, answer).items():
                    self.outcome.usage[name] = self.outcome.usage.get(name, 0) + count
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
            self._publish(batch[0], None, str(exc))
            return
        self.successes += 1
        self.steady.set()  # an input succeeded: whatever failed so far is not systematic
        self.probed.set()
        # Each result as the cache gives it back, checked against the output type: one that does
        # not fit is a row error and is never cached.
        checked = self.task.verified(self.call, results)
        stored = {key: data for key, (_, data, _) in zip(batch, checked) if data is not None}
        if self.cache is not None and stored:
            self.cache.put_many(stored)
        for key, (value, _, error) in zip(batch, checked):
            self._publish(key, value, error)

    async def _dispatch(self, items: list[Any]) -> Any:
        if not self.steady.is_set():  # the call looks systematically failing: wait for what is on the wire
            await self.steady.wait()
        if self.fatal is not None:
            raise self.fatal
        self.in_flight += 1
        try:
            answer, provider = await self.call.backend.send(self.task, self.call, items)
            if provider is not None:
                self.outcome.provider = provider
            return answer
        finally:
            self.in_flight -= 1
            if not self.in_flight and not self.steady.is_set():
                # Decide once this request's outcome has been noted (its task runs on first).
                asyncio.get_running_loop().call_soon(self._settle)

    def _suspect(self, exc: Exception) -> bool:
        """Could this failure be systematic? A client error (or an unreachable service, or an
        answer of the wrong shape) while no input of the call has succeeded yet."""
        return isinstance(exc, RowRequestError) and exc.status in (400, 422, None) and not self.successes

    async def _split(self, batch: list[str], exc: Exception) -> None:
        """Send a failed batch again in parts: halves, to isolate the offending inputs.

        While the failure may be systematic, a few of its inputs first go alone (as many as the
        rule below still needs), and the halves wait for them: then a service refusing every
        request stops the call after a handful of requests, not after ``2n - 1``, and batches that
        each hold one bad input go on as soon as one input alone succeeds."""
        probes: list[str] = []
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
                await asyncio.gather(*(self.send([key]) for key in probes))
            finally:
                self.probing -= len(probes)
                if not self.probing:
                    self.probed.set()
        rest = batch[len(probes):]
        if len(rest) == 1:
            await self.send(rest)
            return
        half = len(rest) // 2
        await asyncio.gather(self.send(rest[:half]), self.send(rest[half:]))

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

    def _settle(self) -> None:
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

    def _publish(self, key: str, result: Any, error: str | None) -> None:
        self.answers[key] = (result, error)
        fut = _inflight.pop(key, None)
        if fut is not None and not fut.done():
            fut.set_result((result, error))
        if error is None:
            self.outcome.fresh_keys.add(key)
        self.progress.advance(self.weight[key], sent=True, failed=error is not None)
