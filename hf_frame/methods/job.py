"""What every public method builds: a :class:`Job` (inputs, calls, output type), run on plain values.

A job knows which inputs it needs (columns or literals), the output type it will produce (known
before anything is sent, so polars lazy plans can declare it) and how to run on plain Python
values. The pandas and polars adapters only fetch columns, call :meth:`Job.run`, and attach the
typed results; so every method behaves the same on every backend.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Mapping, Sequence, cast

import numpy as np
import pyarrow as pa

from .. import runtime
from ..backends.remote import providers
from ..config import Settings, SettingsKwargs, is_setting, resolve_settings
from ..core import columns as columns_
from ..core import engine, recall
from ..errors import RowErrors, RowErrorWarning, user_stacklevel
from ..formats.prompting import PromptTemplate, is_template
from ..tasks import TASKS, Call
from ..tasks.defaults import default_model
from . import budget, checks
from .plan import Plan, plan_passes

ERROR_FIELD = "error"
FRAME = object()  # marker: "the frame the method is called on" (table_qa's default table)

logger = logging.getLogger(__name__)

@dataclass(frozen=True)
class Input:
    """One input of a method: a column name, or a literal value broadcast to every row.

    ``frame`` names the frame the column comes from: None for the frame the method is called on,
    else a key of :attr:`Job.frames` (``join``: ``"right"``).
    """

    arg: str
    value: Any
    literal_ok: bool = False  # may a string that is not a column be used as a literal?
    frame: str | None = None


@dataclass
class Selection:
    """The rows a ``returns_rows`` job gives back, described by positions into its frames.

    ``positions`` maps a frame (None: the frame the method is called on; else a key of
    :attr:`Job.frames`) to one row position per output row; ``columns`` holds the new columns,
    one value per output row. The adapter builds the output frame: the carried columns of each
    frame (:meth:`Job.carried`) taken at those positions, side by side, then the new columns.
    """

    positions: dict[str | None, np.ndarray]
    columns: pa.StructArray
    keep_index: bool = True  # pandas: keep the index labels of the frame's rows (one frame only)


@dataclass
class Job:
    """A method call, resolved but not run. ``run`` takes plain per-input value lists."""

    method: str
    calls: list[Call]
    inputs: list[Input]
    prefix: str | None = None
    output_call: Call | None = None  # the call whose output_type describes the merged result
    merge: Callable[[list[Any]], Any] | None = None  # merges one result per call into one
    table: Any = None  # table_qa: a dict of columns, or FRAME until an adapter binds the frame
    swap_to_literal: bool = False  # similarity: put the literal side first so its rows share requests
    # Each row's outputs depend on that row alone, so polars may run the job on parts of a column
    # (in parallel, and batch by batch under the streaming engine). False: whole column at once.
    elementwise: bool = True
    # Other frames the job reads (join: {"right": frame}); inputs name them with Input.frame.
    frames: dict[str, Any] = field(default_factory=dict)
    # What the call may still spend (budget.Meter, made on first use; shared by copies of the job).
    meter: Any = field(default=None, compare=False, repr=False)
    # True for jobs that pick rows (search, filter, join...): adapters call select() instead of
    # run() and build the output frame from the Selection it returns.
    returns_rows: ClassVar[bool] = False
    # False for jobs with no per-row form (join, agg, top_k): run() is not offered (polars expressions).
    row_form: ClassVar[bool] = True

    def for_frame(self, columns: Sequence[Any]) -> Job:
        """This job on a frame with these columns: jobs whose inputs are the frame's columns
        (``tabular_classify()`` with no ``columns=``) take them here; others are unchanged."""
        return self

    def bind_table(self, table: dict[str, list[str]]) -> Job:
        """A copy whose calls carry ``table`` (table_qa answers questions about it)."""
        calls = [dataclasses.replace(c, body={**c.body, "table": table}) for c in self.calls]
        return dataclasses.replace(self, calls=calls, table=table)

    def arrange(self, columns: list[Sequence[Any]], literal: Sequence[bool]) -> list[Sequence[Any]]:
        """Reorder inputs before running (only similarity uses this: cosine is symmetric)."""
        if self.swap_to_literal and len(columns) == 2 and literal[1] and not literal[0]:
            return [columns[1], columns[0]]
        return columns

    @property
    def call(self) -> Call:
        return self.output_call or self.calls[0]

    @property
    def settings(self) -> Settings:
        return self.call.settings

    def output_type(self) -> pa.StructType:
        """The struct type of the outputs, ``error`` last. Known before anything is sent."""
        fields = list(self.call.task.output_type(self.call))
        return pa.struct(fields + [pa.field(ERROR_FIELD, pa.string())])

    def default_prefix(self, resolved_names: Sequence[str | None]) -> str:
        """The first input that is a column names the outputs; otherwise the method name."""
        if self.prefix:
            return self.prefix
        return next((n for n in resolved_names if n), self.method)

    def output_names(self, resolved_names: Sequence[str | None], existing: Sequence[str]) -> dict[str, str]:
        """Output field -> column name, never clobbering an existing column.

        Default names are ``<input column>_<field>``. If one of the output fields already exists
        (say a previous ``classify`` made ``review_label`` and ``zero_shot`` runs on ``review``
        next), the method name is inserted in all of them: ``review_zero_shot_label``. The error
        column follows the same rule on its own, so ``ner`` after ``classify`` gives
        ``review_entities`` and ``review_ner_error``. With an explicit ``prefix=`` whose output
        fields exist, or when the inserted names exist too, a ``ValueError`` names the clashing
        columns.
        """
        fields = [f.name for f in self.output_type() if f.name != ERROR_FIELD]
        prefix = self.default_prefix(resolved_names)
        existing = set(map(str, existing))
        names = {f: f"{prefix}_{f}" for f in fields}
        if not self.prefix and not existing.isdisjoint(names.values()):
            names = {f: f"{prefix}_{self.method}_{f}" for f in fields}
        error = f"{prefix}_{ERROR_FIELD}"
        names[ERROR_FIELD] = f"{prefix}_{self.method}_{ERROR_FIELD}" if error in existing else error
        clash = existing.intersection(names.values())
        if clash:
            raise ValueError(
                f"{self.method}: output column(s) {sorted(clash)} already exist; pass prefix='...' to choose other names"
            )
        return names

    def run(self, columns: Sequence[Sequence[Any]], *, labels: Sequence[Any] | None = None,
            error_column: str = ERROR_FIELD, input_names: Sequence[str] = ()) -> pa.StructArray:
        """Compute every row. ``columns`` has one equal-length column per input (an Arrow array, a
        pandas or polars Series, a numpy array, a list, or a :class:`~hf_frame.core.columns.Repeat`).

        The inputs are factorized once; the output is built once per distinct input and expanded
        to the rows with one ``take``. ``labels`` (row labels, any positional sequence such as a
        pandas Index) and ``input_names`` (column names) only make messages precise.
        """
        started = time.perf_counter()
        passes = self.passes(columns, labels, input_names)
        calls = [call for _, call, _, _ in passes]
        task = self.call.task
        if budget.meter_of(self).active:
            # A budget: each pass goes out in waves the plan counted, row by row (methods.budget).
            rows = passes[0][2]
            outcomes = [budget.run(self, call, rows, labels) for call in calls]
            if len(outcomes) == 1:
                results, errors = outcomes[0].results, outcomes[0].errors
            else:
                errors = [next((o.errors[i] for o in outcomes if o.errors[i]), None) for i in range(len(rows))]
                results = [None if errors[i] or outcomes[0].results[i] is None
                           else self.merge([o.results[i] for o in outcomes]) for i in range(len(rows))]
            data = task.build_array(self.call, results)
            error_array = pa.array(errors, type=pa.string())
            built = 0.0
        else:
            if len(calls) == 1 and len(columns) == 1:  # a rerun of a call this process answered
                recalled = recall.recall(calls[0], self.call, columns[0])
                if recalled is not None:
                    return self._recalled(recalled, time.perf_counter() - started)
            # Unique-first: the engine works on distinct inputs; one take expands them to rows.
            inputs = columns_.factorize(list(columns), keep_missing=task.keeps_missing_cells)
            if len(calls) == 1:  # results are built into Arrow as they arrive
                [outcome] = outcomes = [engine.run_factorized(
                    calls[0], inputs, labels, build=lambda results: task.build_array(self.call, results))]
                building = time.perf_counter()
                recall.remember(calls[0], self.call, inputs, outcome.value_slots, outcome.slot_array,
                                outcome.slot_errors)
                data, slot_errors, codes = outcome.slot_array, outcome.slot_errors, outcome.codes
            else:  # several calls: their results are merged per distinct input first
                outcomes = [engine.run_factorized(call, inputs, labels) for call in calls]
                building = time.perf_counter()
                results, slot_errors = self._merge(outcomes, inputs.count)
                codes = inputs.codes
                with runtime.gc_paused():  # to_row makes a dict per distinct input
                    data = task.build_array(self.call, results)
            data = columns_.expand(data, codes)
            if any(e is not None for e in slot_errors):
                error_array = columns_.expand(pa.array(slot_errors, type=pa.string()), codes)
            else:  # the usual case: no error anywhere, no take over every row
                error_array = pa.nulls(len(codes), pa.string())
            built = time.perf_counter() - building
        failed = len(error_array) - error_array.null_count
        seconds = {name: sum(o.seconds.get(name, 0.0) for o in outcomes) for name in ("prepare", "cache", "network")}
        seconds["build"] = built + sum(o.seconds.get("build", 0.0) for o in outcomes)
        stats = dict(method=self.method, rows=outcomes[0].rows, unique=outcomes[0].unique,
                     cached=sum(o.cached for o in outcomes), requests=sum(o.requests for o in outcomes),
                     answers=sum(o.answers for o in outcomes), failed=failed,
                     seconds={k: round(v, 4) for k, v in seconds.items()})
        provider = next((o.provider for o in outcomes if o.provider), None)
        if provider:
            stats["provider"] = provider
        # token counts and cost of the answers received now: cached and shared rows cost 0
        stats.update(budget.usage_stats(list(zip(calls, outcomes))))
        runtime.record_run(stats)
        self.log_summary(started)
        if failed:
            self._report(error_array, labels, error_column)
        # flatten() (unlike field()) turns null rows into null children, whatever the children held.
        arrays = data.flatten() + [error_array]
        fields = list(data.type) + [pa.field(ERROR_FIELD, pa.string())]
        return pa.StructArray.from_arrays(arrays, fields=fields)

    def _recalled(self, recalled: recall.Recalled, seconds: float) -> pa.StructArray:
        """The outputs of a rerun answered from this process's memory (:mod:`hf_frame.core.recall`)."""
        runtime.record_run(dict(method=self.method, rows=recalled.rows, unique=recalled.unique,
                                cached=recalled.unique, requests=0, answers=0, failed=0,
                                seconds={"prepare": 0.0, "cache": round(seconds, 4), "network": 0.0, "build": 0.0},
                                **({"usage": dict.fromkeys(self.call.task.usage_fields, 0)}
                                   if self.call.task.usage_fields else {})))
        self.log_summary(time.perf_counter() - seconds)
        data = recalled.data
        arrays = data.flatten() + [pa.nulls(len(data), pa.string())]
        return pa.StructArray.from_arrays(arrays, fields=list(data.type) + [pa.field(ERROR_FIELD, pa.string())])

    def _merge(self, outcomes: list[engine.Outcome], count: int) -> tuple[list[Any], list[str | None]]:
        """One result per distinct input from several calls (``merge``), the first error wins."""
        slots = [o.value_slots.tolist() for o in outcomes]
        results: list[Any] = [None] * count
        errors: list[str | None] = [None] * count
        for j in range(count):
            parts = [(o.slot_results[s[j]], o.slot_errors[s[j]]) if s[j] >= 0 else (None, None)
                     for o, s in zip(outcomes, slots)]
            errors[j] = next((e for _, e in parts if e), None)
            if errors[j] is None and parts[0][0] is not None:
                results[j] = self.merge([r for r, _ in parts])
        return results, errors

    def select(self, columns: Sequence[Sequence[Any]], *, labels: Sequence[Any] | None = None,
               error_column: str = ERROR_FIELD, input_names: Sequence[str] = (),
               frame_labels: dict[str, Sequence[Any]] | None = None) -> Selection:
        """For ``returns_rows`` jobs: the :class:`Selection` of output rows and their new columns.

        ``columns`` hold one value list per input (each as long as the frame the input comes
        from); ``frame_labels`` the row labels of the other frames, for messages."""
        raise NotImplementedError(f"{self.method} computes a column per row; call run()")

    def bind_frames(self, columns: dict[str | None, Sequence[str]]) -> Job:
        """The job once the column names of its frames are known (``join`` decides there which frame
        each of its prompt's columns comes from). Default: unchanged."""
        return self

    def carried(self, frame: str | None, columns: Sequence[str]) -> list[str]:
        """The columns of ``frame`` (None: the frame the method is called on) a ``returns_rows``
        job's output carries: all of them by default."""
        return list(columns)

    def selected_fields(self) -> list[pa.Field]:
        """The new columns :meth:`select` returns: the output fields without ``error``."""
        return [f for f in self.output_type() if f.name != ERROR_FIELD]

    def passes(self, columns: Sequence[Sequence[Any]], labels: Sequence[Any] | None = None,
               input_names: Sequence[str] = ()) -> list[tuple[str, Call, list[tuple], Any]]:
        """The engine passes :meth:`run` makes: ``(stage name, call, rows, labels)`` each."""
        rows = columns_.LazyRows(columns)  # built only when a pass is planned or budgeted row by row
        calls = [dataclasses.replace(c, input_names=tuple(input_names), view={**c.view, "method": self.method})
                 for c in self.calls]
        names = [self.method] if len(calls) == 1 else [f"{self.method} ({i}/{len(calls)})"
                                                       for i in range(1, len(calls) + 1)]
        return [(name, call, rows, labels) for name, call in zip(names, calls)]

    def plan(self, columns: Sequence[Sequence[Any]], *, labels: Sequence[Any] | None = None,
             input_names: Sequence[str] = (), frame_labels: dict[str, Sequence[Any]] | None = None) -> Plan:
        """What :meth:`run` (or :meth:`select`) would send and cost, sending nothing (see :mod:`.plan`)."""
        n = len(columns[0]) if columns else 0
        return plan_passes(self.method, self.passes(columns, labels, input_names), n, self.settings)

    def log_summary(self, started: float) -> None:
        """INFO: what the call just recorded in :func:`last_run` (rows, unique, cached, requests, failed), and its time."""
        if logger.isEnabledFor(logging.INFO):
            run = runtime.last_run()
            logger.info("%s: %s rows, %s unique, %s cached, %s requests, %s failed in %.2f s (model %r, provider %r)",
                        self.method, run.get("rows"), run.get("unique"), run.get("cached"), run.get("requests"),
                        run.get("failed"), time.perf_counter() - started, self.call.model, self.settings.provider)

    def _report(self, errors: Sequence[str | None] | pa.Array, labels, error_column: str) -> None:
        if isinstance(errors, pa.Array):  # only the failed rows reach Python
            rows = np.flatnonzero(errors.is_valid().to_numpy(zero_copy_only=False))
            messages = errors.take(pa.array(rows, type=pa.int64())).to_pylist()
        else:
            rows = [i for i, e in enumerate(errors) if e is not None]
            messages = [errors[i] for i in rows]
        rows = rows.tolist() if isinstance(rows, np.ndarray) else rows
        failed = {(labels[i] if labels is not None else i): e for i, e in zip(rows, messages)}
        if not failed or self.settings.errors == "ignore":
            return
        if self.settings.errors == "raise":
            raise RowErrors(failed, column=error_column, total=len(errors))
        first = next(iter(failed.values()))
        warnings.warn(
            f"{self.method}: {len(failed)} of {len(errors)} rows failed; their outputs are null and "
            f"{error_column!r} says why (first: {first}). Rerunning retries only those rows.",
            RowErrorWarning, stacklevel=user_stacklevel(),
        )


# ---------------------------------------------------------------------------------------------
# building jobs


def split_kwargs(kwargs: Mapping[str, Any], api: Sequence[str] = ()) -> tuple[SettingsKwargs, dict[str, Any]]:
    """Per-call settings overrides vs. extra API parameters (e.g. generation options).

    ``api`` names keywords that stay API parameters although a setting has the name (chat's
    ``max_tokens`` is the reply's length, as in every chat API, not the token budget)."""
    settings = cast(SettingsKwargs, {k: v for k, v in kwargs.items() if is_setting(k) and k not in api})
    extra = {k: v for k, v in kwargs.items() if not is_setting(k) or k in api}
    return settings, extra


def make_job(method: str, task_name: str, inputs: list[Input], *, model: str | None, parameters: dict | None,
             wire: dict | None = None, body: dict | None = None, options: dict | None = None, prefix: str | None = None,
             settings: SettingsKwargs | None = None, **extra: Any) -> Job:
    """Resolve settings, model and parameters into a one-call :class:`Job`."""
    task = TASKS[task_name]
    resolved = resolve_settings(**(settings or {}))
    providers.check(resolved.provider, task_name, endpoint=resolved.endpoint, describe=_describe_task)
    if parameters is not None and not isinstance(parameters, dict):
        raise TypeError(f"{method}: parameters must be a dict, got {type(parameters).__name__}")
    merged = {**(wire or {}), **(parameters or {})}
    sent = checks.json_parameters(method, {k: v for k, v in merged.items() if v is not None})
    model = model or (default_model(task_name, resolved.provider) if task.default_model else None)
    call = Call(task=task, model=model, parameters=sent, options=options or {}, body=body or {}, settings=resolved)
    return Job(method=method, calls=[call], inputs=inputs, prefix=prefix, **extra)


def prompt_inputs(prompt: Any, *, literal_ok: bool = False) -> tuple[PromptTemplate | None, list[Input]]:
    """A prompt argument's inputs: a template's columns (``"Rate {product}: {review}"``), else
    the one column (or, with ``literal_ok``, the literal text) it names. A malformed template
    raises TemplateError here."""
    if isinstance(prompt, str) and is_template(prompt):
        template = PromptTemplate(prompt)
        return template, [Input(f"prompt {{{column}}}", column) for column in template.columns]
    return None, [Input("prompt", prompt, literal_ok)]


def _describe_task(task_name: str) -> str:
    """``"embed (feature-extraction)"``: a task named by its method(s), for messages."""
    names = sorted({t.method for t in TASKS.values() if t.name == task_name and t.method})
    if task_name == "feature-extraction":
        names = ["embed", "search"]
    return f"{'/'.join(names)} ({task_name})" if names else task_name


def reject_unknown(method: str, extra: dict) -> None:
    if extra:
        raise TypeError(f"{method}() got unexpected keyword argument(s) {sorted(extra)}")
