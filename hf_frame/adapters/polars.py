"""The polars namespaces: ``DataFrame.hf``, ``LazyFrame.hf``, ``Series.hf`` and ``Expr.hf``.

The same methods, arguments, output names and types as the pandas accessor, in polars' idioms:

>>> import polars as pl, hf_frame
>>> df = pl.DataFrame({"review": ["Great product!", "Broke after a day."]})
>>> df.hf.classify("review").columns                                    # doctest: +SKIP
['review', 'review_label', 'review_score', 'review_error']
>>> df.lazy().hf.classify("review").collect()                           # doctest: +SKIP
>>> df.with_columns(pl.col("review").hf.classify().struct.unnest())     # doctest: +SKIP

* ``DataFrame.hf`` runs at once, like pandas; ``Series.hf`` returns a DataFrame of the outputs
  (``label``, ``score``, ``error``), like pandas' ``Series.hf``.
* ``LazyFrame.hf`` and ``Expr.hf`` add a node to the plan and send nothing until ``collect()``.
  The node declares its output type (``return_dtype``), so ``collect_schema()`` sends nothing and
  ``collect()`` sends each request once. Polars may call the node on parts of a column from several
  threads (always so under ``collect(engine="streaming")``); every call goes through the one
  engine, whose deduplication, single-flight and cache are shared, so the requests sent equal the
  unique inputs.
* In expressions a string argument is a literal where the method accepts literals (use
  ``pl.col("name")`` for a column), and a column name otherwise. Several inputs can come from one
  struct: ``pl.struct("question", "context").hf.qa()`` (fields matched by name, else by position).

Row labels in messages and :class:`~hf_frame.errors.RowErrors` are row positions: in the frame for
``DataFrame.hf``/``Series.hf``, in the batch polars hands over for lazy plans and expressions.
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass
from typing import Any, Sequence

import polars as pl
import pyarrow as pa

from ..core.columns import Repeat
from ..errors import HFFrameError
from ..methods import FRAME, METHODS, Input, Job
from . import common

__all__ = ["polars_dtype", "output_dtype", "run_job_on_frame", "run_job_on_series", "plan_job_on_lazy",
           "job_expression"]


# ---------------------------------------------------------------------------------------------
# types


def polars_dtype(arrow_type: pa.DataType) -> pl.DataType:
    """The polars dtype of an arrow type (``pa.string()`` -> ``pl.String``, fixed lists -> ``pl.Array``...)."""
    return pl.Series(pa.array([], type=arrow_type)).dtype


def output_dtype(job: Job) -> pl.Struct:
    """The ``pl.Struct`` a job produces (fields + ``error``), known before anything is sent."""
    return polars_dtype(job.output_type())


def _to_series(result: pa.StructArray, declared: pl.DataType | None, method: str, name: str = "") -> pl.Series:
    """The result as a polars Series; cast to ``declared`` when given (lazy plans promised that type)."""
    series = pl.Series(name, result)
    if declared is None or series.dtype == declared:
        return series
    try:
        return series.cast(declared)
    except pl.exceptions.PolarsError:
        raise ValueError(
            f"{method}: the answers have type {series.dtype} but the plan declared {declared}; "
            "for embeddings pass dim=<the model's dimension> (or leave it out to get pl.List(pl.Float32))"
        ) from None


# ---------------------------------------------------------------------------------------------
# eager: DataFrame.hf and Series.hf


@dataclass
class _Evaluated:
    """A ``pl.Expr`` input evaluated on the frame."""

    name: str | None
    values: list
    literal: bool


def _is_literal(expr: pl.Expr) -> bool:
    try:
        return expr.meta.is_literal(allow_aliasing=True)
    except Exception:  # older polars
        return False


def _expr_name(expr: pl.Expr) -> str | None:
    if _is_literal(expr):
        return None
    try:
        return expr.meta.output_name()
    except Exception:
        return None


def _as_values(value: Any):
    # The Series itself: the engine factorizes its Arrow data (no Python object per row).
    if isinstance(value, pl.Series):
        return (value.name or None), value
    if isinstance(value, _Evaluated):
        return value.name, value.values
    return None


def _evaluate_exprs(job: Job, frame: pl.DataFrame) -> Job:
    """``pl.Expr`` inputs (``pl.lit(...)``, ``pl.col("a").str.strip_chars()``) evaluated on ``frame``."""
    if not any(isinstance(inp.value, pl.Expr) for inp in job.inputs):
        return job
    inputs = []
    for inp in job.inputs:
        if isinstance(inp.value, pl.Expr):
            series = frame.select(inp.value).to_series()
            literal = _is_literal(inp.value) or (series.len() == 1 and frame.height != 1)
            values = series
            if literal and len(values) == 1:
                values = Repeat(series[0], frame.height)
            name = None if literal else _expr_name(inp.value)
            inp = dataclasses.replace(inp, value=_Evaluated(name, values, literal))
        inputs.append(inp)
    return dataclasses.replace(job, inputs=inputs)


def _resolve_eager(job: Job, frame: pl.DataFrame, columns: Sequence[str],
                   as_series: bool = True) -> tuple[Job, common.ResolvedInputs]:
    """The job's inputs as polars Series (the engine factorizes their Arrow data; ``as_series`` is
    kept for the row-selecting jobs, which also take Series)."""
    job = _evaluate_exprs(job, frame)
    resolved = common.resolve_inputs(job, n_rows=frame.height, columns=list(columns), get_column=frame.get_column,
                                     as_values=_as_values)
    for i, inp in enumerate(job.inputs):
        if isinstance(inp.value, _Evaluated) and inp.value.literal:
            resolved.names[i], resolved.literal[i] = None, True
    return job, resolved


def _run(job: Job, resolved: common.ResolvedInputs, *, labels: Sequence[Any] | None,
         error_column: str) -> pa.StructArray:
    return job.run(job.arrange(resolved.columns, resolved.literal), labels=labels, error_column=error_column,
                   input_names=common.input_names(job, resolved))


def run_job_on_frame(job: Job, df: pl.DataFrame) -> pl.DataFrame:
    """Run ``job`` on ``df``; a new frame with the output columns appended (``df`` is not modified)."""
    if job.returns_rows:
        return _select_rows(job, df)
    job, resolved = _resolve_eager(job.for_frame(df.columns), df, df.columns)
    job = common.bind_frame_table(job, df, resolved)
    names = job.output_names(resolved.names, df.columns)
    result = _run(job, resolved, labels=None, error_column=names["error"])
    outputs = _to_series(result, None, job.method).struct.unnest()
    return df.hstack(outputs.rename({f: names[f] for f in outputs.columns}))


def run_job_on_series(job: Job, series: pl.Series) -> pl.DataFrame:
    """Run ``job`` whose first input is ``series``; a DataFrame of the outputs (``label``, ``score``, ``error``...)."""
    frame = series.to_frame(series.name or "value")
    if job.returns_rows:
        return _select_rows(job, frame)
    job, resolved = _resolve_eager(job, frame, [])
    job = common.bind_frame_table(job, frame, resolved)
    result = _run(job, resolved, labels=None, error_column="error")
    return _to_series(result, None, job.method).struct.unnest()


def _take(df: pl.DataFrame, positions, columns: list[str], names: list[str]) -> pl.DataFrame:
    out = df.select(columns)[pl.Series(positions, dtype=pl.Int64)] if len(df) else df.select(columns).head(0)
    return out.rename(dict(zip(columns, names)))


def _combine(parts: list[pl.DataFrame], new: dict[str, pa.Array], keep_index: bool) -> pl.DataFrame:
    out = pl.concat(parts, how="horizontal") if parts else pl.DataFrame()
    if new:
        added = pl.DataFrame([pl.Series(name, array) for name, array in new.items()])
        out = added if not parts else out.hstack(added)
    return out


def _as_frame(value: Any, what: str) -> pl.DataFrame:
    if isinstance(value, pl.DataFrame):
        return value
    if isinstance(value, pl.LazyFrame):
        return value.collect()
    if isinstance(value, dict):
        return pl.DataFrame(value)
    if type(value).__module__.split(".")[0] == "pandas" and hasattr(value, "columns"):
        return pl.from_pandas(value)
    raise TypeError(f"{what} must be a polars DataFrame or LazyFrame (or a pandas DataFrame, a dict of columns), "
                    f"got {type(value).__name__}")


OPS = common.FrameOps(columns=lambda df: df.columns, labels=lambda df: None,
                      resolve=lambda job, df: _resolve_eager(job, df, df.columns, as_series=True)[1],
                      take=_take, combine=_combine, as_frame=_as_frame)


def _select_rows(job: Job, df: pl.DataFrame) -> pl.DataFrame:
    """A ``returns_rows`` job (search, filter, join...): the rows it picks, in its order, plus its columns."""
    return common.select_rows(_evaluate_exprs(job, df), df, OPS)


def dry_run_on_frame(job: Job, df: pl.DataFrame):
    """``df.hf.<method>(..., dry_run=True)``: what the call would send and cost; nothing is sent."""
    return common.plan_job(_evaluate_exprs(job, df), df, OPS)


def dry_run_on_series(job: Job, series: pl.Series):
    """``s.hf.<method>(..., dry_run=True)``."""
    return dry_run_on_frame(job, series.to_frame(series.name or "value"))


def dry_run_on_lazy(job: Job, lf: pl.LazyFrame):
    """``lf.hf.<method>(..., dry_run=True)``: the plan on the frame's data (the lazy frame is
    collected to count its inputs; hf_frame methods earlier in it run then)."""
    return dry_run_on_frame(job, lf.collect())


# ---------------------------------------------------------------------------------------------
# lazy: LazyFrame.hf and Expr.hf build one map_batches node with a declared return_dtype


@dataclass(frozen=True)
class _Slot:
    """Where an input comes from in the node: polars input ``index``, or one ``field`` of it, or a literal."""

    kind: str  # "expr" | "field" | "literal"
    index: int = 0
    value: Any = None
    literal: bool = False  # "expr": a pl.lit(...), broadcast to every row


def _portable(exc: BaseException) -> BaseException:
    """``exc`` in a form polars can re-raise faithfully.

    The in-memory engine re-creates an exception raised inside a node as ``type(exc)(message +
    context)``: that drops attributes (``RowErrors.errors``, ``RequestError.status``) and fails for
    constructors with required keywords. A same-named subclass whose constructor restores them
    survives, so ``except RowErrors as e: e.errors`` works on lazy plans too.
    """
    cls = type(exc)
    if not isinstance(exc, HFFrameError) or getattr(cls, "_hf_portable", False):
        return exc
    state = dict(vars(exc))

    def __init__(self, *args):
        BaseException.__init__(self, *args)
        self.__dict__.update(state)

    portable = type(cls.__name__, (cls,), {"__init__": __init__, "__module__": cls.__module__,
                                           "__qualname__": cls.__qualname__, "__doc__": cls.__doc__,
                                           "_hf_portable": True})
    return portable(*exc.args).with_traceback(exc.__traceback__)


class _Node:
    """The function polars calls on every batch: series in, one ``pl.Struct`` series out.

    Stateless apart from the job: polars may call it from several threads at once. Shared state
    (single-flight, cache, clients) lives in the engine's one loop.
    """

    def __init__(self, job: Job, slots: Sequence[_Slot], error_column: str, declared: pl.DataType) -> None:
        self.job, self.slots, self.error_column, self.declared = job, list(slots), error_column, declared

    def __call__(self, inputs: Sequence[pl.Series], **_polars_kwargs: Any) -> pl.Series:
        try:
            return self._compute(list(inputs))
        except HFFrameError as exc:
            raise _portable(exc) from exc.__cause__

    def _compute(self, inputs: list[pl.Series]) -> pl.Series:
        n = max((s.len() for s in inputs), default=1)
        columns = [inputs[s.index] for s in self.slots if s.kind == "expr" and not s.literal]
        if n == 0 or (columns and all(c.null_count() == c.len() for c in columns)):
            # An empty batch, or one whose column inputs hold no value at all (polars may hand over
            # such a batch): every output is null and nothing would be sent, so the job is not run.
            nulls = {f.name: pl.Series([None] * n, dtype=f.dtype) for f in self.declared.fields}
            return pl.DataFrame(nulls).to_struct(inputs[0].name if inputs else "")
        fields = self._fields(inputs[0]) if any(s.kind == "field" for s in self.slots) else []
        out = common.ResolvedInputs([], [], [])
        for inp, slot in zip(self.job.inputs, self.slots):
            if slot.kind == "literal":
                out.columns.append(Repeat(slot.value, n)), out.names.append(None), out.literal.append(True)
                continue
            series = fields[slot.index] if slot.kind == "field" else inputs[slot.index]
            literal = slot.literal or (series.len() == 1 and n != 1)
            values = series
            if len(values) != n:
                if len(values) != 1:
                    raise ValueError(f"{self.job.method}: {inp.arg} has {len(values)} values "
                                     f"but the batch has {n} rows")
                values = Repeat(series[0], n)
            out.columns.append(values), out.names.append(None if literal else (series.name or None))
            out.literal.append(literal)
        result = _run(self.job, out, labels=None, error_column=self.error_column)
        return _to_series(result, self.declared, self.job.method, name=inputs[0].name if inputs else "")

    def _fields(self, struct: pl.Series) -> list[pl.Series]:
        """``pl.struct("question", "context").hf.qa()``: the struct's fields feed the inputs."""
        wanted = [inp.arg for inp, slot in zip(self.job.inputs, self.slots) if slot.kind == "field"]
        if not isinstance(struct.dtype, pl.Struct):
            example = ", ".join(map(repr, wanted))
            raise TypeError(f"{self.job.method}: expected a struct of {wanted} (e.g. pl.struct({example})), "
                            f"or pass every input: got a {struct.dtype} column")
        unnested = struct.struct.unnest()
        names = unnested.columns
        if set(wanted) <= set(names):
            return [unnested.get_column(w) for w in wanted]
        if len(names) == len(wanted):
            return unnested.get_columns()
        raise ValueError(f"{self.job.method}: the struct has fields {names}; expected fields named {wanted} "
                         f"(or exactly {len(wanted)} fields, in that order)")


def _node_expression(job: Job, exprs: list[pl.Expr], slots: list[_Slot], error_column: str) -> pl.Expr:
    declared = output_dtype(job)
    return pl.map_batches(exprs, _Node(job, slots, error_column, declared), return_dtype=declared,
                          is_elementwise=job.elementwise)


def _literal_ok(inp: Input, value: Any) -> bool:
    return inp.literal_ok and not isinstance(value, (list, tuple, dict, set))


def plan_job_on_lazy(job: Job, lf: pl.LazyFrame) -> pl.LazyFrame:
    """``lf`` plus the output columns of ``job``, lazily: nothing is sent before ``collect()``."""
    columns = lf.collect_schema().names()  # resolving a schema sends nothing: every hf node declares its dtype
    job = job.for_frame(columns)
    if job.table is FRAME or job.returns_rows:
        return _plan_on_whole_frame(job, lf, columns)
    exprs: list[pl.Expr] = []
    slots: list[_Slot] = []
    names: list[str | None] = []
    for inp in job.inputs:
        value = inp.value
        if isinstance(value, pl.Series):
            exprs.append(pl.lit(value)), slots.append(_Slot("expr", len(exprs) - 1)), names.append(value.name or None)
        elif isinstance(value, pl.Expr):
            literal = _is_literal(value)
            exprs.append(value), slots.append(_Slot("expr", len(exprs) - 1, literal=literal))
            names.append(None if literal else _expr_name(value))
        elif isinstance(value, str) and value in columns:
            exprs.append(pl.col(value)), slots.append(_Slot("expr", len(exprs) - 1)), names.append(value)
        elif _literal_ok(inp, value):
            slots.append(_Slot("literal", value=value)), names.append(None)
        else:
            raise KeyError(f"{job.method}: column {value!r} not found; the frame has columns {list(columns)}")
    if not exprs:  # every input is a literal: a column of the frame only carries the row count
        exprs.append(pl.col(columns[0]) if columns else pl.lit(None))
    out = job.output_names(names, columns)
    node = _node_expression(job, exprs, slots, out["error"])
    renamed = node.struct.rename_fields([out[f.name] for f in job.output_type()])
    return lf.with_columns(renamed.struct.unnest())


def _plan_on_whole_frame(job: Job, lf: pl.LazyFrame, columns: list[str]) -> pl.LazyFrame:
    """Jobs that need the whole frame at once, not batches of a column: table_qa over the frame
    itself, and jobs that return rows (search, filter, join...: the schema comes from
    :func:`common.output_layout`, so it is known before anything runs)."""
    schema = lf.collect_schema()
    schemas = {None: schema, **{name: _schema_of(other) for name, other in job.frames.items()}}
    bound = job.bind_frames({k: list(v.names()) for k, v in schemas.items()})
    names = [inp.value if isinstance(inp.value, str) and inp.value in columns and inp.frame is None
             else (inp.value.name or None) if isinstance(inp.value, pl.Series)
             else _expr_name(inp.value) if isinstance(inp.value, pl.Expr) else None for inp in bound.inputs]
    if job.returns_rows:
        carried, new = common.output_layout(bound, {k: list(v.names()) for k, v in schemas.items()}, names)
        out = pl.Schema([(name, schemas[frame][column]) for frame, column, name in carried]
                        + [(new[f.name], polars_dtype(f.type)) for f in job.selected_fields()])
        return lf.map_batches(lambda df: run_job_on_frame(job, df), schema=out, streamable=False)
    out_names = job.output_names(names, columns)
    for f in job.output_type():
        schema[out_names[f.name]] = polars_dtype(f.type)
    return lf.map_batches(lambda df: run_job_on_frame(job, df), schema=schema, streamable=False)


def _schema_of(frame: Any) -> pl.Schema:
    if isinstance(frame, (pl.DataFrame, pl.LazyFrame)):
        return frame.collect_schema()
    return _as_frame(frame, "the other frame").schema


class _Self:
    """Placeholder for the expression an ``Expr.hf`` method is called on."""

    def __repr__(self) -> str:
        return "<the expression>"


_SELF = _Self()


@dataclass(frozen=True)
class _Field:
    """Placeholder: an input that is a field of the struct expression (``pl.struct(...).hf.qa()``)."""

    index: int


def job_expression(name: str, expr: pl.Expr, *args: Any, **kwargs: Any) -> pl.Expr:
    """``expr.hf.<name>(*args, **kwargs)``: a ``pl.Struct`` expression with a declared dtype."""
    build = METHODS[name]
    series_arg = getattr(build, "series_arg", None)  # rerank(query, col): the expression is ``col``
    if series_arg:
        job = build(*args, **{series_arg: _SELF}, **kwargs)
    else:
        signature = inspect.signature(build)
        params = list(signature.parameters.values())
        positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        bound = signature.bind_partial(_SELF, *args, **kwargs)
        missing = [p.name for p in params[1:] if p.kind in positional and p.default is p.empty
                   and p.name not in bound.arguments]
        if missing:  # one struct expression feeds the first input and every missing one
            bound.arguments[params[0].name] = _Field(0)
            for i, p in enumerate(missing, start=1):
                bound.arguments[p] = _Field(i)
            bound = signature.bind(*bound.args, **bound.kwargs)
        job = build(*bound.args, **bound.kwargs)
    if job.table is FRAME:
        raise ValueError(f"{name}: in an expression pass table= (a DataFrame or a dict of columns); "
                         "df.hf.table_qa(...) and lf.hf.table_qa(...) default to the frame itself")
    if not job.row_form:
        raise TypeError(f"{name} returns other rows than it is given, so it is not an expression; call it on the "
                        f"frame: df.hf.{name}(...) or lf.hf.{name}(...)")
    exprs: list[pl.Expr] = [expr]
    slots: list[_Slot] = []
    for inp in job.inputs:
        value = inp.value
        if value is _SELF:
            slots.append(_Slot("expr", 0))
        elif isinstance(value, _Field):
            slots.append(_Slot("field", value.index))
        elif isinstance(value, (pl.Expr, pl.Series)):
            literal = isinstance(value, pl.Expr) and _is_literal(value)
            exprs.append(value if isinstance(value, pl.Expr) else pl.lit(value))
            slots.append(_Slot("expr", len(exprs) - 1, literal=literal))
        elif isinstance(value, str) and not inp.literal_ok:
            exprs.append(pl.col(value)), slots.append(_Slot("expr", len(exprs) - 1))
        elif _literal_ok(inp, value):
            slots.append(_Slot("literal", value=value))
        else:
            raise TypeError(f"{name}: {inp.arg} must be a column name, a pl.Expr or a pl.Series, "
                            f"got {type(value).__name__}")
    return _node_expression(job, exprs, slots, "error")


# ---------------------------------------------------------------------------------------------
# the namespaces: thin shims over the functions above


class _Namespace:
    """The methods are set on the class from :data:`hf_frame.methods.METHODS` (see the end of this module)."""


@pl.api.register_dataframe_namespace("hf")
class DataFrameNamespace(_Namespace):
    """``df.hf.<method>(column, ...)``: runs now; returns a new DataFrame with the output columns."""

    def __init__(self, df: pl.DataFrame) -> None:
        self._df = df


@pl.api.register_lazyframe_namespace("hf")
class LazyFrameNamespace(_Namespace):
    """``lf.hf.<method>(column, ...)``: adds the output columns to the plan; sends nothing before ``collect()``."""

    def __init__(self, lf: pl.LazyFrame) -> None:
        self._lf = lf


@pl.api.register_series_namespace("hf")
class SeriesNamespace(_Namespace):
    """``s.hf.<method>(...)``: the Series is the first input; returns a DataFrame of the outputs."""

    def __init__(self, series: pl.Series) -> None:
        self._s = series


@pl.api.register_expr_namespace("hf")
class ExprNamespace(_Namespace):
    """``pl.col(c).hf.<method>(...)``: a ``pl.Struct`` expression (``.struct.unnest()`` for columns)."""

    def __init__(self, expr: pl.Expr) -> None:
        self._expr = expr


def _expression_of(job_name: str):
    # Expr.hf methods keep the raw arguments (they decide which inputs the expression fills).
    def method(self, *args, dry_run: bool = False, **kwargs):
        if dry_run:
            raise TypeError(f"{job_name}: dry_run=True needs a frame or a series (an expression is only evaluated "
                            f"by polars); call df.hf.{job_name}(..., dry_run=True)")
        return job_expression(job_name, self._expr, *args, **kwargs)
    return method


def _expr_method(name: str):
    return common.describe_accessor(_expression_of(name), METHODS[name], fills_input=True, returns=pl.Expr)


common.install_methods(DataFrameNamespace, lambda name: common.accessor_method(
    name, run_job_on_frame, target="_df", fills_input=False, returns=pl.DataFrame, plan=dry_run_on_frame))
common.install_methods(LazyFrameNamespace, lambda name: common.accessor_method(
    name, plan_job_on_lazy, target="_lf", fills_input=False, returns=pl.LazyFrame, plan=dry_run_on_lazy))
common.install_methods(SeriesNamespace, lambda name: common.accessor_method(
    name, run_job_on_series, target="_s", fills_input=True, returns=pl.DataFrame, plan=dry_run_on_series))
common.install_methods(ExprNamespace, _expr_method)
