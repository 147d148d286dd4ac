"""What the pandas and polars adapters share: turning a job's inputs into value lists, building
the output of jobs that return other rows, plans (``dry_run=True``), and the one factory that turns
every entry of ``METHODS`` into an accessor method.

Jobs that return rows (``search``, ``filter``, ``top_k``, ``join``, ``agg``) give back a
:class:`~hf_frame.methods.Selection`: row positions into each frame they read and their new
columns. :func:`select_rows` builds the output frame from it with a few primitives each adapter
provides (:class:`FrameOps`), and :func:`output_layout` names its columns from the frames' column
names alone, so a polars lazy plan can declare its schema before anything runs.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import pyarrow as pa

from ..config import Unpack
from ..core.columns import Repeat
from ..methods import ERROR_FIELD, FRAME, METHODS, Job, table_to_dict
from ..methods.plan import Plan


@dataclass
class ResolvedInputs:
    """Per input: its column (one value per row: a Series, an Arrow array, a list, or a
    :class:`~hf_frame.core.columns.Repeat` for a literal), its column name (None for a literal),
    literal or not."""

    columns: list[Sequence[Any]]
    names: list[str | None]
    literal: list[bool]


def resolve_inputs(job: Job, *, n_rows: int, columns: Sequence[str], get_column: Callable[[str], Sequence[Any]],
                   as_values: Callable[[Any], tuple[str | None, Sequence[Any]] | None]) -> ResolvedInputs:
    """Fetch every input of ``job``: a column of the frame, a series-like, or a literal.

    ``as_values`` recognises the backend's own series objects (returns ``(name, values)`` or None).
    An unknown column name raises ``KeyError`` naming it and the columns that exist.
    """
    out = ResolvedInputs([], [], [])
    for inp in job.inputs:
        value = inp.value
        series = as_values(value)
        if series is not None:
            name, values = series
            if len(values) != n_rows:
                raise ValueError(f"{job.method}: {inp.arg} has {len(values)} values but the frame has {n_rows} rows")
            out.columns.append(values), out.names.append(name), out.literal.append(False)
        elif _is_column(value, columns):
            out.columns.append(get_column(value)), out.names.append(str(value)), out.literal.append(False)
        elif inp.literal_ok and not isinstance(value, (list, tuple, dict, set)):
            out.columns.append(Repeat(value, n_rows)), out.names.append(None), out.literal.append(True)
        elif isinstance(value, (list, tuple, set)):
            raise TypeError(f"{job.method}: {inp.arg} takes one column name, got {type(value).__name__} {value!r}; "
                            "call the method once per column")
        else:
            raise KeyError(f"{job.method}: column {value!r} not found; the frame has columns {list(columns)}")
    return out


def _is_column(value: Any, columns: Sequence[Any]) -> bool:
    """A column name of the frame: a string, or another label pandas allows (``0``, ``2024``)."""
    if isinstance(value, str):
        return value in columns
    if isinstance(value, bool) or not isinstance(value, (int, float)):  # True == 1: never a column by accident
        return False
    return any(type(c) is type(value) and c == value for c in columns)


def bind_frame_table(job: Job, frame: Any, resolved: ResolvedInputs) -> Job:
    """table_qa's default table is the frame itself, without the question column."""
    if job.table is not FRAME:
        return job
    exclude = [n for n in resolved.names if n]
    return job.bind_table(table_to_dict(frame, exclude=exclude))


# ---------------------------------------------------------------------------------------------
# jobs that return rows, and plans


@dataclass(frozen=True)
class FrameOps:
    """What :func:`select_rows` and :func:`plan_job` need of a frame library (pandas, polars).

    * ``columns(frame)``: the column names; ``labels(frame)``: row labels for messages (or None);
    * ``resolve(job, frame)``: the :class:`ResolvedInputs` of the job's inputs, from that frame,
      with columns handed over as the library's series (so a column of vectors stays arrow);
    * ``take(frame, positions, columns, names)``: those columns at those row positions, renamed;
    * ``combine(parts, new, keep_index)``: the parts side by side (the first part's row labels
      kept when ``keep_index``), then the new columns (name -> arrow array);
    * ``as_frame(value, what)``: another frame argument (``join``'s right side) as this library's
      eager frame, or a ``TypeError`` naming ``what``.
    """

    columns: Callable[[Any], list[str]]
    labels: Callable[[Any], Sequence[Any] | None]
    resolve: Callable[[Job, Any], ResolvedInputs]
    take: Callable[[Any, np.ndarray, list[str], list[str]], Any]
    combine: Callable[[list[Any], dict[str, pa.Array], bool], Any]
    as_frame: Callable[[Any, str], Any]


def job_frames(job: Job, frame: Any, ops: FrameOps) -> dict[str | None, Any]:
    """The frames a job reads: None is the one the method is called on, then :attr:`Job.frames`."""
    return {None: frame, **{name: ops.as_frame(other, f"{job.method}: {name}") for name, other in job.frames.items()}}


def resolve_all(job: Job, frames: dict[str | None, Any], ops: FrameOps) -> ResolvedInputs:
    """Every input of ``job``, each from its own frame (:attr:`Input.frame`), in the job's order."""
    out = ResolvedInputs([None] * len(job.inputs), [None] * len(job.inputs), [False] * len(job.inputs))
    for name, frame in frames.items():
        index = [i for i, inp in enumerate(job.inputs) if inp.frame == name]
        if not index:
            continue
        part = ops.resolve(dataclasses.replace(job, inputs=[job.inputs[i] for i in index]), frame)
        for j, i in enumerate(index):
            out.columns[i], out.names[i], out.literal[i] = part.columns[j], part.names[j], part.literal[j]
    return out


def output_layout(job: Job, columns: dict[str | None, Sequence[str]], input_names: Sequence[str | None]
                  ) -> tuple[list[tuple[str | None, str, str]], dict[str, str]]:
    """How the output of a ``returns_rows`` job is named, from the frames' column names alone.

    Returns ``[(frame, column, output name)]`` for the carried columns, then ``{field: output name}``
    for the new ones. A carried column whose name is taken already gets the frame's name as a
    suffix (``name_right``); the new columns are named by :meth:`Job.output_names` among them.
    """
    carried: list[tuple[str | None, str, str]] = []
    used: set[str] = set()
    for frame, names in columns.items():
        for column in job.carried(frame, list(names)):
            name = str(column)
            while name in used:
                name = f"{name}_{frame}"
            used.add(name)
            carried.append((frame, column, name))
    names = job.output_names(list(input_names), [name for _, _, name in carried])
    return carried, {f.name: names[f.name] for f in job.selected_fields()}


def select_rows(job: Job, frame: Any, ops: FrameOps) -> Any:
    """Run a ``returns_rows`` job on ``frame``: its rows (and those of its other frames) at the
    positions it selects, side by side, then its new columns."""
    frames = job_frames(job, frame, ops)
    job = job.bind_frames({k: ops.columns(f) for k, f in frames.items()})
    resolved = resolve_all(job, frames, ops)
    own = [name if inp.frame is None else None for name, inp in zip(resolved.names, job.inputs)]
    carried, new = output_layout(job, {k: ops.columns(f) for k, f in frames.items()}, own)
    labels = ops.labels(frame)
    frame_labels = {k: ops.labels(f) for k, f in frames.items() if k is not None}
    selection = job.select(resolved.columns, labels=labels, error_column=new.get(ERROR_FIELD, ERROR_FIELD),
                           input_names=input_names(job, resolved), frame_labels=frame_labels)
    parts = []
    for name in frames:
        picked = [(column, out) for f, column, out in carried if f == name]
        if picked and name in selection.positions:
            positions = np.asarray(selection.positions[name], dtype=np.int64)
            parts.append(ops.take(frames[name], positions, [c for c, _ in picked], [o for _, o in picked]))
    data = selection.columns
    added = {new[f.name]: data.field(i) for i, f in enumerate(data.type) if f.name in new}
    return ops.combine(parts, added, selection.keep_index and len(selection.positions) == 1 and None
                       in selection.positions)


def plan_job(job: Job, frame: Any, ops: FrameOps) -> Any:
    """``dry_run=True``: the job's :class:`~hf_frame.methods.plan.Plan` on ``frame``, sending nothing."""
    frames = job_frames(job, frame, ops)
    job = job.bind_frames({k: ops.columns(f) for k, f in frames.items()})
    if job.table is FRAME:
        job = bind_frame_table(job, frame, resolve_all(job, {None: frame}, ops))
    resolved = resolve_all(job, frames, ops)
    columns = job.arrange(resolved.columns, resolved.literal) if not job.returns_rows else resolved.columns
    frame_labels = {k: ops.labels(f) for k, f in frames.items() if k is not None}
    return job.plan(columns, labels=ops.labels(frame), input_names=input_names(job, resolved),
                    frame_labels=frame_labels)


class _Optional:
    """The default shown for a keyword that may be left out (a setting: the session's value is used)."""

    def __repr__(self) -> str:
        return "..."


OPTIONAL = _Optional()


def accessor_signature(build: Callable, *, fills_input: bool, returns: Any) -> inspect.Signature:
    """The signature ``help(df.hf.<method>)`` shows: ``self`` + the method's parameters + ``dry_run``.

    ``fills_input``: the accessor object (a Series or an Expr) is one of the inputs, so its
    parameter is left out (the first, or the one named by the function's ``series_arg``).
    ``returns`` is what the accessor returns (``pd.DataFrame``, ``pl.LazyFrame``...). The
    annotations are the parameters' resolved types (``typing.get_type_hints`` of the function),
    not the strings written in its module, so they mean the same wherever they are read.

    ``**settings: Unpack[SettingsKwargs]`` is written out as one keyword-only parameter per key
    (what it means, PEP 692), defaulting to :data:`OPTIONAL`: tools that read a live object's
    signature (IPython and Jupyter completion, ``help()``) then offer ``max_concurrency=``.
    """
    hints = _resolved_hints(build)
    named = set(inspect.signature(build).parameters) | {"dry_run"}
    params: list[inspect.Parameter] = []
    keywords: list[inspect.Parameter] = []
    for p in inspect.signature(build).parameters.values():
        hint = hints.get(p.name, p.annotation)
        if p.kind is p.VAR_KEYWORD and typing.get_origin(hint) is Unpack:
            (typed,) = typing.get_args(hint)
            keywords += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=OPTIONAL, annotation=type_)
                         for name, type_ in typing.get_type_hints(typed, include_extras=True).items()
                         if name not in named]  # a named parameter wins (it is the one a call fills)
        elif p.kind is p.VAR_KEYWORD:
            keywords.append(p.replace(annotation=hint))
        else:
            params.append(p.replace(annotation=hint))
    if fills_input:
        series_arg = getattr(build, "series_arg", None)
        params = [p for p in params if p.name != series_arg] if series_arg else params[1:]
    self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    dry_run = inspect.Parameter("dry_run", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=bool)
    return inspect.Signature([self_param, *params, dry_run, *keywords], return_annotation=returns)


def _resolved_hints(build: Callable) -> dict[str, Any]:
    try:
        return typing.get_type_hints(build, include_extras=True)
    except Exception:  # a plug-in method whose annotations do not resolve: they are shown as written
        return {}


def describe_accessor(method: Any, build: Callable, *, fills_input: bool, returns: Any) -> Callable:
    """Give the accessor ``method`` the name and docstring of ``build``, and a signature and
    ``__annotations__`` that agree: so ``inspect.signature`` and ``typing.get_type_hints`` both
    say what the accessor takes and that it returns ``returns``.

    ``__wrapped__`` is not kept: the accessor is no transparent wrapper of ``build`` (which takes
    the series itself, and returns a job), so tools that unwrap must not show ``build``'s signature.
    """
    functools.update_wrapper(method, build)
    del method.__wrapped__
    signature = accessor_signature(build, fills_input=fills_input, returns=returns)
    method.__signature__ = signature
    method.__annotations__ = {**{name: p.annotation for name, p in signature.parameters.items()
                                 if p.annotation is not p.empty}, "return": returns}
    return method


def input_names(job: Job, resolved: ResolvedInputs) -> tuple[str, ...]:
    """Names for messages: the column, or ``literal <arg>``."""
    return tuple(n if n else f"literal {inp.arg}" for n, inp in zip(resolved.names, job.inputs))


def accessor_method(name: str, run: Callable[..., Any], *, target: str, fills_input: bool, returns: type,
                    plan: Callable[..., Any] | None = None) -> Callable:
    """The ``.hf.<name>`` method of an accessor class: build the job, hand it to ``run``.

    ``target`` is the accessor attribute holding the wrapped object (a frame, a series, an
    expression); ``run(job, obj)`` computes or plans the job on it. With ``fills_input`` the
    object is itself an input: the first one, or the one named by the function's ``series_arg``
    (``rerank(query, col)``: a Series is ``col``). ``dry_run=True`` hands the job to
    ``plan(job, obj)`` instead, which returns what it would send and cost (every method has it):
    so the method returns ``returns | Plan``.
    """
    build = METHODS[name]
    series_arg = getattr(build, "series_arg", None) if fills_input else None

    def method(self, *args, dry_run: bool = False, **kwargs):
        obj = getattr(self, target)
        if not fills_input:
            job = build(*args, **kwargs)
        elif series_arg:
            job = build(*args, **{series_arg: obj}, **kwargs)
        else:
            job = build(obj, *args, **kwargs)
        if dry_run:
            if plan is None:
                raise TypeError(f"{name}: dry_run=True needs a frame or a series (an expression is only "
                                f"evaluated by polars); call df.hf.{name}(..., dry_run=True)")
            return plan(job, obj)
        return run(job, obj)

    return describe_accessor(method, build, fills_input=fills_input,
                             returns=returns if plan is None else returns | Plan)


def install_methods(cls: type, make: Callable[[str], Callable]) -> None:
    """Give an accessor class one method per entry of ``METHODS`` (so ``dir()`` and ``help()`` show them).

    A function a user adds to ``METHODS`` later (a plug-in method) still resolves, through the
    class's ``__getattr__``; an unknown name raises ``AttributeError`` listing the methods.
    """
    for name in METHODS:
        setattr(cls, name, make(name))

    def __getattr__(self, name: str):
        if not name.startswith("_") and name in METHODS:
            return make(name).__get__(self)
        raise AttributeError(f"'.hf' has no method {name!r}; available: {sorted(METHODS)}")

    def __dir__(self):
        return sorted(set(object.__dir__(self)) | set(METHODS))

    cls.__getattr__, cls.__dir__ = __getattr__, __dir__
