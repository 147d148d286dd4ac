"""The Dask accessors: ``dask.dataframe.DataFrame.hf`` and ``Series.hf``.

The same methods, arguments, output names and ``pd.ArrowDtype`` types as the pandas accessor,
but lazy: a method adds tasks to the graph and sends nothing; ``compute()`` / ``to_parquet()`` run
them on the cluster. Every output column's dtype is declared (``meta``) from the method's output
schema, so ``out.dtypes`` is known before anything is sent.

>>> import dask.dataframe as dd, pandas as pd, hf_frame
>>> ddf = dd.from_pandas(pd.DataFrame({"review": ["Great!", "Broke.", "Great!"]}), npartitions=2)
>>> out = ddf.hf.classify("review")                  # doctest: +SKIP
>>> out.dtypes["review_label"]                        # nothing sent yet  # doctest: +SKIP
string[pyarrow]
>>> out.compute()                                     # doctest: +SKIP

**Each unique input is sent once per cluster** (global dedup), in three steps:

1. every partition gives a 128-bit key per row (its input values, hashed); a tree reduction
   (``drop_duplicates`` with ``split_out``) leaves each unique key, with its inputs, in exactly one
   of ``npartitions`` chunks;
2. one task per chunk runs the method on those unique inputs (the engine: cache, batching,
   retries), writing each answer to the cache as it arrives;
3. every partition joins the answers back to its rows. With a shared cache (the default SQLite
   file, which every worker process of one host opens, or ``cache="redis://..."``) the join is a
   cache read, keyed like every other read: memory stays per partition. With ``cache=False`` or
   ``"memory"`` (nothing is shared between processes) the answers of step 2 are handed to every
   partition and joined on the key. Inputs that failed in step 2 are not sent again in step 3:
   their rows get the error.

Why not simply run the pandas accessor per partition (``map_partitions``) and let the shared
cache and single-flight dedupe? Single-flight only works inside one process, and a cache only
helps once an answer is written: partitions that run at the same time on different workers all
miss it and send the same inputs. Measured with ``benchmarks/bench_dask.py`` (200k rows, 20k
unique, each unique in every partition): per partition sends 40,000 requests on 2 workers (each
unique twice) and 20,000 on 1; the global pass sends 20,000 on both (README, "Scaling out"). The
price is a second pass over the input partitions (step 1 reads only the input columns; persist
the frame first when it is expensive to compute).

**Limits hold for the whole cluster.** ``max_concurrency`` and ``requests_per_minute`` are shared
out: a task running on a cluster of ``n`` workers uses ``max_concurrency // n`` (at least 1) and
``requests_per_minute / n``, the worker count being read from the scheduler when the task starts.
Within a worker process every task shares that process's limits. A ``distributed.Semaphore``
around each request was measured too: a scheduler round trip per request (README numbers), for
a limit the share gives without any.

**Fault tolerance.** Tasks are pure functions of their inputs, so Dask reruns the partitions of a
worker that dies; answers are in the cache as they arrive, so a rerun sends only what was not
answered yet.

**Progress and counts.** hf_frame's own bar is off in Dask tasks (the Dask dashboard shows them).
Each task reports its counts (a ``distributed`` event, or in-process under the local schedulers);
:func:`hf_frame.last_run` on the client sums those of the computation that finished last, for
the method added to the graph last (rows, unique, cached, requests, failed, usage).

Whole-column methods: ``rerank`` ranks rows against each other, so it gathers the column into one
partition (a reranker is for candidate lists, not millions of rows); ``search`` keeps each
partition's top ``k`` and reduces them to the global top ``k`` (a tree reduction); ``table_qa``
needs ``table=`` (its default table is the frame itself, which a cluster holds in pieces).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import pickle
import sys
import threading
import time
import uuid
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pyarrow as pa
from dask.dataframe.extensions import register_dataframe_accessor, register_series_accessor

from .. import runtime
from ..config import Settings
from ..config import replace as replace_settings
from ..core.keys import canonical_json
from ..errors import RowErrors, RowErrorWarning
from ..formats.cells import is_missing
from ..methods import ERROR_FIELD, FRAME, Job
from . import common
from . import pandas as pandas_adapter

__all__ = ["DataFrameAccessor", "SeriesAccessor", "cluster_size", "plan_job_on_frame", "plan_job_on_series", "row_keys"]

KEY = "__hf_frame_key__"  # the per-row key column of step 1 (never in a result)
TOPIC = "hf_frame-run"  # the distributed event topic the tasks report their counts on
MAX_CHUNKS = 128  # step 2 runs in at most this many tasks (else one per input partition)


# ---------------------------------------------------------------------------------------------
# row keys


def _part_bytes(value: Any) -> bytes:
    if isinstance(value, str):
        return b"s" + value.encode("utf-8", "surrogatepass")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return b"b" + bytes(value)
    if is_missing(value):
        return b"n"
    try:
        return b"j" + canonical_json(value).encode("utf-8", "surrogatepass")
    except (TypeError, ValueError):  # arrays, images...: pickle is faithful (equal values may dedupe less)
        return b"p" + pickle.dumps(value, protocol=5)


def row_keys(frame: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    """A 128-bit key per row of ``frame[columns]``: equal input values, equal keys."""
    if not columns:
        return ["-"] * len(frame)
    cells = [frame[c].tolist() for c in columns]
    memo: dict[Any, str] = {}
    out: list[str] = []
    if len(cells) == 1:
        for value in cells[0]:
            if isinstance(value, str):  # the common case: one text column with many duplicates
                key = memo.get(value)
                if key is None:
                    key = memo[value] = hashlib.blake2b(_part_bytes(value), digest_size=16).hexdigest()
            else:
                key = hashlib.blake2b(_part_bytes(value), digest_size=16).hexdigest()
            out.append(key)
        return out
    for values in zip(*cells):
        digest = hashlib.blake2b(digest_size=16)
        for value in values:
            part = _part_bytes(value)
            digest.update(len(part).to_bytes(8, "little"))
            digest.update(part)
        out.append(digest.hexdigest())
    return out


# ---------------------------------------------------------------------------------------------
# the plan: what every task of one method needs (built on the client, pickled to the workers)


_sequence = itertools.count(1)


@dataclass(frozen=True)
class _Plan:
    job: Job
    inputs: tuple[str, ...]  # the frame columns feeding the job (literals live in the job)
    columns: tuple[str, ...]  # output column per field of job.output_type(), in that order
    dtypes: tuple[Any, ...]  # their pd.ArrowDtype
    error_column: str  # the name messages use for the error column
    series: bool  # Series.hf: the result is the output columns only
    shared_cache: bool  # answers reach every worker through the cache
    run_id: str
    seq: int

    @property
    def method(self) -> str:
        return self.job.method


def _with_settings(job: Job, **changes: Any) -> Job:
    """``job`` whose calls run with these setting changes (validated)."""
    calls = [dataclasses.replace(c, settings=replace_settings(c.settings, **changes)) for c in job.calls]
    output_call = job.output_call
    if output_call is not None:
        output_call = dataclasses.replace(output_call, settings=replace_settings(output_call.settings, **changes))
    return dataclasses.replace(job, calls=calls, output_call=output_call)


def _shared(settings: Settings) -> bool:
    return settings.cache is not False and settings.cache != "memory"


def _reject_dask(job: Job) -> Callable[[Any], None]:
    def as_values(value: Any):
        if isinstance(value, (dd.DataFrame, dd.Series, pd.Series)):
            raise TypeError(f"{job.method}: on a Dask DataFrame pass inputs as column names (or literals), "
                            f"not a {type(value).__name__}")
        return None
    return as_values


def _resolve(job: Job, meta: pd.DataFrame) -> common.ResolvedInputs:
    return common.resolve_inputs(job, n_rows=0, columns=list(meta.columns), get_column=lambda c: [],
                                 as_values=_reject_dask(job))


def _make_plan(job: Job, frame: dd.DataFrame, *, series: bool) -> _Plan:
    meta = frame._meta
    resolved = _resolve(job, meta)
    fields = list(job.output_type())
    if series:
        columns = [f.name for f in fields]
        error_column = ERROR_FIELD
    else:
        names = job.output_names(resolved.names, [str(c) for c in meta.columns])
        columns = [names[f.name] for f in fields]
        error_column = names[ERROR_FIELD]
    inputs = tuple(dict.fromkeys(n for n in resolved.names if n))
    _watch_client()
    return _Plan(job=job, inputs=inputs, columns=tuple(columns),
                 dtypes=tuple(pd.ArrowDtype(f.type) for f in fields), error_column=error_column, series=series,
                 shared_cache=_shared(job.settings), run_id=uuid.uuid4().hex, seq=next(_sequence))


def _meta_of(plan: _Plan, frame_meta: pd.DataFrame) -> pd.DataFrame:
    """The empty frame a planned method produces: its dtypes are what ``compute()`` returns."""
    outputs = {c: pd.Series([], dtype=t, index=frame_meta.index[:0]) for c, t in zip(plan.columns, plan.dtypes)}
    if plan.series:
        return pd.DataFrame(outputs, index=frame_meta.index[:0])
    return frame_meta.iloc[:0].assign(**outputs)


# ---------------------------------------------------------------------------------------------
# the cluster: worker count, limits shared out, counts reported back


_size_lock = threading.Lock()
_size_cache: dict[str, tuple[float, int]] = {}
SIZE_TTL = 2.0  # seconds a task trusts the worker count read by an earlier task of its process


def _from_distributed(name: str):
    """``distributed.<name>()`` (get_worker, default_client), or None when there is none or distributed
    was never imported (then no cluster is in use: importing it here would only cost time)."""
    if "distributed" not in sys.modules:
        return None
    try:
        return getattr(sys.modules["distributed"], name)()
    except ValueError:
        return None


def _current_worker():
    """The distributed worker running this task, or None (local schedulers, or the client)."""
    return _from_distributed("get_worker")


def cluster_size() -> int:
    """How many worker processes share the limits: the scheduler's count, 1 outside a cluster."""
    worker = _current_worker()
    if worker is None:
        return 1
    address = worker.scheduler.address
    now = time.monotonic()
    with _size_lock:
        cached = _size_cache.get(address)
        if cached is not None and now - cached[0] < SIZE_TTL:
            return cached[1]
    from distributed import get_client

    n = max(1, len(get_client().nthreads()))
    with _size_lock:
        _size_cache[address] = (now, n)
    return n


def _task_job(job: Job, **changes: Any) -> Job:
    """The job as a task runs it: no progress bar, and this worker's share of the cluster's limits."""
    settings = job.settings
    n = cluster_size()
    changes["progress"] = False
    if n > 1:
        changes["max_concurrency"] = max(1, settings.max_concurrency // n)
        if settings.requests_per_minute:
            changes["requests_per_minute"] = settings.requests_per_minute / n
    return _with_settings(job, **changes)


_local_events: list[dict] = []
_local_lock = threading.Lock()


def _report(plan: _Plan, phase: str, counts: dict[str, Any]) -> None:
    """Send one task's counts to the client (a distributed event, or this process's list)."""
    event = {"id": uuid.uuid4().hex, "run": plan.run_id, "seq": plan.seq, "method": plan.method,
             "phase": phase, "counts": counts}
    worker = _current_worker()
    if worker is not None:
        worker.log_event(TOPIC, event)
    else:
        with _local_lock:
            _local_events.append(event)


def _engine_counts(keys: Sequence[str]) -> dict[str, Any]:
    stats = runtime.thread_last_run()
    out = {k: stats[k] for k in keys if isinstance(stats.get(k), int)}
    if "usage" in stats and "usage" in keys:
        out["usage"] = dict(stats["usage"])
    return out


class _Collector:
    """On the client: gathers the tasks' counts and records them for :func:`hf_frame.last_run`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pushed: list[dict] = []  # from the subscription (the scheduler pushes every event)
        self.seen: OrderedDict[str, None] = OrderedDict()
        self.clients: set[str] = set()

    def watch(self, client: Any) -> None:
        if client.id in self.clients:
            return
        self.clients.add(client.id)
        try:
            client.subscribe_topic(TOPIC, self._pushed)
        except Exception:  # an old or closing client: the pull in collect() still finds recent events
            pass

    def _pushed(self, event: Any) -> None:
        msg = event[1] if isinstance(event, tuple) and len(event) == 2 else event
        with self.lock:
            self.pushed.append(msg)

    def _pulled(self) -> list[dict]:
        client = _default_client()
        if client is None:
            return []
        try:
            return [e[1] for e in client.get_events(TOPIC)]
        except Exception:  # a closed client: nothing more to read
            return []

    def collect(self) -> None:
        with _local_lock:
            events = list(_local_events)
            _local_events.clear()
        pulled = self._pulled()
        with self.lock:
            events += self.pushed
            self.pushed = []
            fresh = []
            for event in events + pulled:
                if not isinstance(event, dict) or event.get("id") in self.seen:
                    continue
                self.seen[event["id"]] = None
                fresh.append(event)
            while len(self.seen) > 100_000:
                self.seen.popitem(last=False)
        if not fresh:
            return
        runs: dict[str, list[dict]] = {}
        for event in fresh:
            runs.setdefault(event["run"], []).append(event)
        for events in sorted(runs.values(), key=lambda es: es[0]["seq"]):  # the latest planned is recorded last
            runtime.record_run(_sum_counts(events))


def _sum_counts(events: list[dict]) -> dict[str, Any]:
    total: dict[str, Any] = {"method": events[0]["method"], "rows": 0, "unique": 0, "cached": 0, "requests": 0,
                             "failed": 0}
    usage: dict[str, int] = {}
    for event in events:
        for name, value in event["counts"].items():
            if name == "usage":
                for k, v in value.items():
                    usage[k] = usage.get(k, 0) + v
            else:
                total[name] = total.get(name, 0) + value
    if usage:
        total["usage"] = usage
    return total


_collector = _Collector()
runtime.add_run_source(_collector.collect)


def _default_client():
    return _from_distributed("default_client")


def _watch_client() -> None:
    client = _default_client()
    if client is not None:
        _collector.watch(client)


# ---------------------------------------------------------------------------------------------
# the tasks


def _keys_frame(part: pd.DataFrame, inputs: Sequence[str]) -> pd.DataFrame:
    """Step 1, per partition: the inputs and their row key, duplicates dropped."""
    keyed = part[list(inputs)].assign(**{KEY: row_keys(part, inputs)})
    return keyed.drop_duplicates(subset=[KEY])


def _outputs(job: Job, frame: pd.DataFrame) -> list[pd.Series]:
    """Run ``job`` on ``frame`` with the pandas adapter; its output columns, in field order."""
    out = pandas_adapter.run_job_on_frame(job, frame)
    return [out.iloc[:, i] for i in range(frame.shape[1], out.shape[1])]


def _run_unique(chunk: pd.DataFrame, plan: _Plan) -> Any:
    """Step 2, per chunk of unique inputs: send what the cache lacks; the answers, or only the failures."""
    inputs = chunk.drop(columns=[KEY])
    if len(chunk):
        job = _task_job(plan.job, errors="ignore")
        outputs = _outputs(job, inputs)
        _report(plan, "unique", _engine_counts(("unique", "cached", "requests", "chunks", "usage")))
        cache = runtime.get_cache(job.settings)
        flush = getattr(cache, "flush", None)
        if callable(flush):  # a store that writes in the background: make the answers visible to other workers
            flush()
    else:
        outputs = [pd.Series([], dtype=t, index=chunk.index) for t in plan.dtypes]
    errors = outputs[-1]
    failed = errors.notna().to_numpy()
    if plan.shared_cache:
        return dict(zip(chunk[KEY][failed].tolist(), errors[failed].tolist()))
    frame = pd.DataFrame({f"f{i}": s.array for i, s in enumerate(outputs)})
    frame.index = pd.Index(chunk[KEY].tolist(), name=KEY)
    return frame


def _combine(results: list[Any], plan: _Plan) -> Any:
    """What every partition needs from step 2: the failures (shared cache), or every answer."""
    if plan.shared_cache:
        failed: dict[str, str] = {}
        for r in results:
            failed.update(r)
        return failed
    frames = [r for r in results if len(r)]
    if not frames:
        return results[0] if results else pd.DataFrame()
    return pd.concat(frames)


def _cast(series: pd.Series, dtype: Any, plan: _Plan) -> pd.Series:
    if series.dtype == dtype:
        return series
    try:
        return series.astype(dtype)
    except (TypeError, ValueError, pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise ValueError(
            f"{plan.method}: the answers have type {series.dtype} but the plan declared {dtype}; for embeddings "
            "pass dim=<the model's dimension> (or leave it out to get a list of float32)"
        ) from None


def _attach(part: pd.DataFrame, plan: _Plan, outputs: list[pd.Series]) -> pd.DataFrame:
    values = {c: _cast(s.set_axis(part.index), t, plan) for c, s, t in zip(plan.columns, outputs, plan.dtypes)}
    if plan.series:
        return pd.DataFrame(values, index=part.index)
    out = part.copy(deep=False)
    for column, series in values.items():
        out[column] = series
    return out


def _report_rows(plan: _Plan, part: pd.DataFrame, result: pd.DataFrame, extra: dict[str, Any]) -> None:
    """Counts of step 3 (rows that got an output or an error), then errors="raise"/"warn" as pandas does."""
    outputs = result[list(plan.columns)]
    errors = outputs[plan.columns[-1]]
    rows = int(outputs.notna().any(axis=1).sum())
    failed = errors.notna()
    _report(plan, "rows", {"rows": rows, "failed": int(failed.sum()), **extra})
    if not failed.any():
        return
    mode = plan.job.settings.errors
    if mode == "ignore":
        return
    messages = dict(zip(part.index[failed.to_numpy()].tolist(), errors[failed].tolist()))
    if mode == "raise":
        raise RowErrors(messages, column=plan.error_column, total=len(part))
    first = next(iter(messages.values()))
    warnings.warn(
        f"{plan.method}: {len(messages)} of {len(part)} rows of a partition failed; their outputs are null and "
        f"{plan.error_column!r} says why (first: {first}). Rerunning retries only those rows.",
        RowErrorWarning, stacklevel=2,
    )


def _join(part: pd.DataFrame, plan: _Plan, answers: Any) -> pd.DataFrame:
    """Step 3, per partition: the rows with their answers."""
    extra: dict[str, Any] = {}
    if plan.shared_cache:
        outputs = _read_back(part, plan, answers)
        extra = _engine_counts(("requests",))
    else:
        table: pd.DataFrame = answers
        keys = row_keys(part, plan.inputs)
        picked = table.reindex(keys) if len(table) else pd.DataFrame(index=keys)
        outputs = [picked.iloc[:, i] if i < picked.shape[1] else pd.Series([None] * len(part), dtype=t)
                   for i, t in enumerate(plan.dtypes)]
    result = _attach(part, plan, outputs)
    _report_rows(plan, part, result, extra)
    return result


def _read_back(part: pd.DataFrame, plan: _Plan, failed: dict[str, str]) -> list[pd.Series]:
    """The answers of a partition from the shared cache; inputs that failed in step 2 are not sent
    again (their input is blanked for the engine, the row gets step 2's error)."""
    frame = part[list(plan.inputs)]
    masked = None
    if failed:
        keys = row_keys(part, plan.inputs)
        masked = np.fromiter((k in failed for k in keys), dtype=bool, count=len(keys))
        if masked.any():
            frame = frame.copy()
            frame.loc[masked, list(plan.inputs)] = None
        else:
            masked = None
    outputs = _outputs(_task_job(plan.job, errors="ignore"), frame)
    if masked is not None:
        errors = outputs[-1].copy()
        errors[masked] = [failed[k] for k, m in zip(keys, masked) if m]
        outputs[-1] = errors
    return outputs


def _whole(part: pd.DataFrame, plan: _Plan) -> pd.DataFrame:
    """A job that needs the whole column (rerank), run on a frame holding all of it."""
    job = _task_job(plan.job)
    outputs = _outputs(job, part[list(plan.inputs)] if plan.inputs else part.iloc[:, :0])
    _report(plan, "whole", _engine_counts(("rows", "unique", "cached", "requests", "failed", "usage")))
    return _attach(part, plan, outputs)


def _search_part(part: pd.DataFrame, job: Job, plan: _Plan) -> pd.DataFrame:
    """search, per partition: its top k rows with their score (the tree reduction keeps the global top k)."""
    out = pandas_adapter.run_job_on_frame(_task_job(job), part)
    _report(plan, "whole", _engine_counts(("rows", "unique", "cached", "requests", "failed", "usage")))
    score = plan.columns[0]
    return out.assign(**{score: _cast(out[score], plan.dtypes[0], plan)})


# ---------------------------------------------------------------------------------------------
# planning


def plan_job_on_frame(job: Job, frame: dd.DataFrame, *, series: bool = False) -> dd.DataFrame:
    """``frame`` plus the output columns of ``job``, lazily (see the module docstring for the steps)."""
    if job.table is FRAME:
        raise ValueError(f"{job.method}: on a Dask DataFrame pass table= (a pandas DataFrame or a dict of columns): "
                         "the default table is the frame itself, which the cluster holds in partitions, and every "
                         "request would carry all of it")
    if job.returns_rows:
        return _plan_search(job, frame)
    job = job.for_frame(list(frame.columns))
    plan = _make_plan(job, frame, series=series)
    meta = _meta_of(plan, frame._meta)
    if not job.elementwise:  # ranks compare rows: the whole column in one partition
        whole = frame.repartition(npartitions=1) if frame.npartitions > 1 else frame
        return whole.map_partitions(_whole, plan, meta=meta, align_dataframes=False)
    keyed = frame[list(plan.inputs)].map_partitions(_keys_frame, plan.inputs,
                                                    meta=_keys_meta(frame._meta, plan.inputs))
    # Hash-partitioned by key: each unique input lands in exactly one chunk. The task-based shuffle
    # (not P2P) recovers from a lost worker like any other task.
    chunks_out = max(1, min(frame.npartitions, MAX_CHUNKS))
    unique = keyed.drop_duplicates(subset=[KEY], split_out=chunks_out, shuffle_method="tasks")
    chunks = unique.to_delayed()
    answers = dask.delayed(_combine, pure=False)([dask.delayed(_run_unique, pure=False)(c, plan) for c in chunks],
                                                 plan)
    return frame.map_partitions(_join, plan, answers, meta=meta, align_dataframes=False)


def _keys_meta(meta: pd.DataFrame, inputs: Sequence[str]) -> pd.DataFrame:
    return meta[list(inputs)].assign(**{KEY: pd.Series([], dtype=object, index=meta.index[:0])})


def _plan_search(job: Job, frame: dd.DataFrame) -> dd.DataFrame:
    resolved = _resolve(job, frame._meta)
    names = job.output_names(resolved.names, [str(c) for c in frame._meta.columns])
    fields = [f for f in job.output_type() if f.name != ERROR_FIELD]
    columns = tuple(names[f.name] for f in fields)
    plan = _Plan(job=job, inputs=tuple(n for n in resolved.names if n), columns=columns,
                 dtypes=tuple(pd.ArrowDtype(f.type) for f in fields), error_column=names.get(ERROR_FIELD, "error"),
                 series=False, shared_cache=_shared(job.settings), run_id=uuid.uuid4().hex, seq=next(_sequence))
    _watch_client()
    meta = frame._meta.iloc[:0].assign(**{c: pd.Series([], dtype=t) for c, t in zip(plan.columns, plan.dtypes)})
    tops = frame.map_partitions(_search_part, job, plan, meta=meta, align_dataframes=False)
    return tops.nlargest(job.k, columns[0])


def plan_job_on_series(job: Job, series: dd.Series) -> dd.DataFrame:
    """``s.hf.<method>()``: a frame of the outputs (``label``, ``score``, ``error``...) with the series' index."""
    name = series.name if series.name is not None else "value"
    name = str(name)
    frame = series.to_frame(name=name)
    inputs = [dataclasses.replace(inp, value=name) if inp.value is series else inp for inp in job.inputs]
    job = dataclasses.replace(job, inputs=inputs)
    if job.returns_rows:
        return _plan_search(job, frame)
    return plan_job_on_frame(job, frame, series=True)


# ---------------------------------------------------------------------------------------------
# the accessors


class _Accessor:
    """The methods are set on the class from :data:`hf_frame.methods.METHODS` (see the end of this module)."""


@register_dataframe_accessor("hf")
class DataFrameAccessor(_Accessor):
    """``ddf.hf.<method>(column, ...)``: a lazy Dask DataFrame with the output columns; nothing is sent yet."""

    def __init__(self, ddf: dd.DataFrame) -> None:
        self._ddf = ddf


@register_series_accessor("hf")
class SeriesAccessor(_Accessor):
    """``s.hf.<method>(...)``: the Series is the first input; a lazy Dask DataFrame of the outputs."""

    def __init__(self, series: dd.Series) -> None:
        self._s = series


common.install_methods(DataFrameAccessor, lambda name: common.accessor_method(
    name, plan_job_on_frame, target="_ddf", fills_input=False, returns=dd.DataFrame))
common.install_methods(SeriesAccessor, lambda name: common.accessor_method(
    name, plan_job_on_series, target="_s", fills_input=True, returns=dd.DataFrame))
