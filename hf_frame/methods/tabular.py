"""The tabular methods: a scikit-learn style model (``julien-c/wine-quality``,
``scikit-learn/Fish-Weight``...) predicts one value per row of the frame.

Outputs are ``tabular_classify_prediction`` (string) / ``tabular_regress_prediction`` (float64)
and the ``_error`` column, unless ``prefix=`` says otherwise. Identical rows are predicted once,
rows are sent ``batch_size`` at a time as ``{"inputs": {"data": {column: [...]}}}``, and the
predictions come back in row order.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import pyarrow as pa

from ..config import SettingsKwargs, Unpack
from .job import Input, Job, make_job, reject_unknown, split_kwargs


@dataclass
class TabularJob(Job):
    """A job over table rows; with ``every_column`` its inputs are the frame's columns, known only
    when an adapter hands the frame over (:meth:`for_frame`)."""

    every_column: bool = False

    def for_frame(self, columns: Sequence[Any]) -> Job:
        if not self.every_column:
            return self
        names = list(columns)
        odd = [c for c in names if not isinstance(c, str)]
        if odd:
            raise TypeError(f"{self.method}: column names must be strings, got {odd[:3]!r}; rename them, "
                            "or pass columns=[...]")
        if not names:
            raise ValueError(f"{self.method}: the frame has no columns")
        return _with_columns(self, names)

    def run(self, columns, **kwargs) -> pa.StructArray:
        if self.every_column:
            raise TypeError(f"{self.method}: the frame's columns are unknown here; pass columns=[...]")
        return super().run(columns, **kwargs)


def _with_columns(job: TabularJob, names: list[str]) -> TabularJob:
    calls = [dataclasses.replace(c, view={**c.view, "columns": tuple(names)}) for c in job.calls]
    return dataclasses.replace(job, inputs=[Input(c, c) for c in names], calls=calls, every_column=False)


def _tabular(method: str, task: str, columns: Any, model, parameters, prefix, settings: Mapping[str, Any]) -> Job:
    settings, extra = split_kwargs(settings)
    reject_unknown(method, extra)
    job = make_job(method, task, [], model=model, parameters=parameters, prefix=prefix or method, settings=settings)
    job = TabularJob(**{f.name: getattr(job, f.name) for f in dataclasses.fields(Job)})
    if columns is None:
        return dataclasses.replace(job, every_column=True)
    if isinstance(columns, str):
        columns = [columns]
    if isinstance(columns, (list, tuple)):
        if not columns or not all(isinstance(c, str) for c in columns):
            raise ValueError(f"{method}: columns must be a non-empty list of column names, got {columns!r}")
        if len(set(columns)) != len(columns):
            raise ValueError(f"{method}: columns contain duplicates: {list(columns)!r}")
        return _with_columns(job, list(columns))
    # A Series or an expression: each value is one row (a mapping, e.g. a struct column), or one
    # cell of a one-column table named after it.
    return dataclasses.replace(job, inputs=[Input("columns", columns)])


def tabular_classify(columns: Any = None, *, model: str | None = None, parameters: dict | None = None,
                     prefix: str | None = None, **settings: Unpack[SettingsKwargs]) -> Job:
    """Tabular classification of every row with a scikit-learn style model of the Hub.

    Identical rows are predicted once, and rows are sent ``batch_size`` at a time.

    Parameters
    ----------
    columns : str or list of str, optional
        The feature columns (default: every column of the frame). On a Series or an expression
        whose values are rows (``pl.struct(pl.all()).hf.tabular_classify()``), each value is one row.
    model : str, optional
        A Hub model id; default ``julien-c/wine-quality``.
    parameters : dict, optional
        Extra API parameters, sent as given; they win over the named arguments.
    prefix : str, optional
        The output columns' prefix, instead of ``tabular_classify``.
    dry_run : bool, default False
        Return what the call would send and cost (a :class:`~hf_frame.methods.plan.Plan`: rows,
        unique inputs, cached answers, requests, tokens, dollars) instead of running it; nothing is
        sent. Not on ``Expr.hf``.
    **settings
        Settings for this call only, any of :class:`~hf_frame.SettingsKwargs`
        (``max_concurrency=8``, ``cache=False``, ``errors="raise"``, ``provider="local"``...).

    Returns
    -------
    DataFrame
        The frame with these columns added, named ``tabular_classify_<field>``, of the Arrow types
        below (``pd.ArrowDtype`` in pandas, the matching dtypes in polars). ``Series.hf`` returns
        the fields alone, ``LazyFrame.hf`` adds them to the plan, ``Expr.hf`` is one struct of them:

        * ``prediction`` (string): the predicted class;
        * ``error`` (string): null, or why the row failed.

    Examples
    --------
    >>> wines.hf.tabular_classify(model="julien-c/wine-quality")             # doctest: +SKIP
    """
    return _tabular("tabular_classify", "tabular-classification", columns, model, parameters, prefix, settings)


def tabular_regress(columns: Any = None, *, model: str | None = None, parameters: dict | None = None,
                    prefix: str | None = None, **settings: Unpack[SettingsKwargs]) -> Job:
    """Tabular regression of every row with a scikit-learn style model of the Hub.

    Identical rows are predicted once, and rows are sent ``batch_size`` at a time.

    Parameters
    ----------
    columns : str or list of str, optional
        The feature columns (default: every column of the frame). On a Series or an expression
        whose values are rows (``pl.struct(pl.all()).hf.tabular_regress()``), each value is one row.
    model : str, optional
        A Hub model id; default ``scikit-learn/Fish-Weight``.
    parameters : dict, optional
        Extra API parameters, sent as given; they win over the named arguments.
    prefix : str, optional
        The output columns' prefix, instead of ``tabular_regress``.
    dry_run : bool, default False
        Return what the call would send and cost (a :class:`~hf_frame.methods.plan.Plan`: rows,
        unique inputs, cached answers, requests, tokens, dollars) instead of running it; nothing is
        sent. Not on ``Expr.hf``.
    **settings
        Settings for this call only, any of :class:`~hf_frame.SettingsKwargs`
        (``max_concurrency=8``, ``cache=False``, ``errors="raise"``, ``provider="local"``...).

    Returns
    -------
    DataFrame
        The frame with these columns added, named ``tabular_regress_<field>``, of the Arrow types
        below (``pd.ArrowDtype`` in pandas, the matching dtypes in polars). ``Series.hf`` returns
        the fields alone, ``LazyFrame.hf`` adds them to the plan, ``Expr.hf`` is one struct of them:

        * ``prediction`` (double): the predicted value;
        * ``error`` (string): null, or why the row failed.

    Examples
    --------
    >>> fish.hf.tabular_regress(["Height", "Width", "Length1"], model="scikit-learn/Fish-Weight")  # doctest: +SKIP
    """
    return _tabular("tabular_regress", "tabular-regression", columns, model, parameters, prefix, settings)


__all__ = ["TabularJob", "tabular_classify", "tabular_regress"]
