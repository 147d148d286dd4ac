"""The pandas accessors: ``DataFrame.hf`` and ``Series.hf``.

Thin on purpose: fetch the input columns, run the job (:mod:`hf_frame.methods`), attach the typed
outputs as ``pd.ArrowDtype`` columns with the original index. Accessors are stateless (pandas 3
builds a new accessor object on every attribute access).

>>> import pandas as pd, hf_frame
>>> df = pd.DataFrame({"review": ["Great product!", "Broke after a day."]})
>>> out = df.hf.classify("review")          # doctest: +SKIP
>>> out.columns.tolist()                    # doctest: +SKIP
['review', 'review_label', 'review_score', 'review_error']
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa

from ..methods import Job
from . import common


def _as_values(value: Any):
    # The Series itself: the engine factorizes it (Arrow-backed columns without a Python object per row).
    if isinstance(value, pd.Series):
        return (None if value.name is None else str(value.name)), value
    return None


def _column(job: Job, df: pd.DataFrame, name: Any) -> pd.Series:
    """One column of ``df``; a name held by several columns is refused (which one was meant?)."""
    column = df[name]
    if isinstance(column, pd.DataFrame):
        raise ValueError(f"{job.method}: the frame has {column.shape[1]} columns named {name!r}; "
                         "rename them so that each name is one column (df.columns = [...])")
    return column


def _to_pandas(array: pa.Array, index: pd.Index) -> pd.Series:
    # .set_axis, not Series(..., index=): the latter would reindex (and null) every row.
    return array.to_pandas(types_mapper=pd.ArrowDtype).set_axis(index)


def run_job_on_frame(job: Job, df: pd.DataFrame) -> pd.DataFrame:
    """Run ``job`` on ``df``; a new frame with the output columns appended (``df`` is not modified)."""
    if job.returns_rows:
        return _select_rows(job, df)
    job = job.for_frame(list(df.columns))
    resolved = common.resolve_inputs(job, n_rows=len(df), columns=list(df.columns),
                                     get_column=lambda c: _column(job, df, c), as_values=_as_values)
    job = common.bind_frame_table(job, df, resolved)
    names = job.output_names(resolved.names, [str(c) for c in df.columns])
    result = job.run(job.arrange(resolved.columns, resolved.literal), labels=df.index,
                     error_column=names["error"], input_names=common.input_names(job, resolved))
    out = df.copy(deep=False)
    for i, field in enumerate(result.type):
        out[names[field.name]] = _to_pandas(result.field(i), df.index)
    return out


def run_job_on_series(job: Job, series: pd.Series) -> pd.DataFrame:
    """Run ``job`` whose first input is ``series``; a frame of outputs with the series' index."""
    frame = series.to_frame(name=series.name if series.name is not None else "value")
    if job.returns_rows:
        return _select_rows(job, frame)
    resolved = common.resolve_inputs(job, n_rows=len(series), columns=[], get_column=lambda c: [], as_values=_as_values)
    job = common.bind_frame_table(job, frame, resolved)
    names = common.input_names(job, resolved)
    result = job.run(job.arrange(resolved.columns, resolved.literal), labels=series.index,
                     error_column="error", input_names=names)
    return pd.DataFrame({f.name: _to_pandas(result.field(i), series.index) for i, f in enumerate(result.type)},
                        index=series.index)


def _as_series(value: Any):
    return ((None if value.name is None else str(value.name)), value) if isinstance(value, pd.Series) else None


def _resolve(job: Job, df: pd.DataFrame) -> common.ResolvedInputs:
    # Columns are handed over as Series (not lists), so a column of vectors reaches the job as arrow.
    return common.resolve_inputs(job, n_rows=len(df), columns=list(df.columns), get_column=lambda c: _column(job, df, c),
                                 as_values=_as_series)


def _take(df: pd.DataFrame, positions, columns: list, names: list[str]) -> pd.DataFrame:
    out = df.iloc[positions][columns]
    out.columns = names
    return out


def _combine(parts: list[pd.DataFrame], new: dict[str, pa.Array], keep_index: bool) -> pd.DataFrame:
    if parts and keep_index:
        index = parts[0].index
    else:
        index = pd.RangeIndex(len(parts[0]) if parts else len(next(iter(new.values()), [])))
        parts = [p.set_axis(index) for p in parts]
    out = pd.concat(parts, axis=1) if len(parts) > 1 else (parts[0].copy(deep=False) if parts
                                                            else pd.DataFrame(index=index))
    for name, array in new.items():
        out[name] = _to_pandas(array, index)
    return out


def _as_frame(value: Any, what: str) -> pd.DataFrame:
    if isinstance(value, pd.DataFrame):
        return value
    if isinstance(value, dict):
        return pd.DataFrame(value)
    to_pandas = getattr(value, "to_pandas", None)  # a polars or arrow frame
    if callable(to_pandas) and not isinstance(value, pd.Series):
        collect = getattr(value, "collect", None)  # a polars LazyFrame
        return (value.collect() if callable(collect) else value).to_pandas()
    raise TypeError(f"{what} must be a DataFrame (or a dict of columns), got {type(value).__name__}")


OPS = common.FrameOps(columns=lambda df: list(df.columns), labels=lambda df: df.index.tolist(), resolve=_resolve,
                      take=_take, combine=_combine, as_frame=_as_frame)


def _select_rows(job: Job, df: pd.DataFrame) -> pd.DataFrame:
    """A ``returns_rows`` job (search, filter, join...): the rows it picks, in its order, plus its columns."""
    return common.select_rows(job, df, OPS)


def dry_run_on_frame(job: Job, df: pd.DataFrame):
    """``df.hf.<method>(..., dry_run=True)``: what the call would send and cost; nothing is sent."""
    return common.plan_job(job, df, OPS)


def dry_run_on_series(job: Job, series: pd.Series):
    """``s.hf.<method>(..., dry_run=True)``."""
    return common.plan_job(job, series.to_frame(name=series.name if series.name is not None else "value"), OPS)


class _Accessor:
    """The methods are set on the class from :data:`hf_frame.methods.METHODS` (see the end of this module)."""


@pd.api.extensions.register_dataframe_accessor("hf")
class DataFrameAccessor(_Accessor):
    """``df.hf.<method>(column, ...)``: Hugging Face inference on columns; returns a new DataFrame."""

    def __init__(self, df: pd.DataFrame) -> None:
        self._df = df


@pd.api.extensions.register_series_accessor("hf")
class SeriesAccessor(_Accessor):
    """``s.hf.<method>(...)``: the Series is the first input; returns a DataFrame of outputs, same index."""

    def __init__(self, series: pd.Series) -> None:
        self._s = series


common.install_methods(DataFrameAccessor, lambda name: common.accessor_method(
    name, run_job_on_frame, target="_df", fills_input=False, returns=pd.DataFrame, plan=dry_run_on_frame))
common.install_methods(SeriesAccessor, lambda name: common.accessor_method(
    name, run_job_on_series, target="_s", fills_input=True, returns=pd.DataFrame, plan=dry_run_on_series))
