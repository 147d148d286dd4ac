"""What the pandas and polars adapters share: turning a job's inputs into value lists."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from .methods import FRAME, Job, table_to_dict


@dataclass
class ResolvedInputs:
    """Per input: its values (one per row), its column name (None for a literal), literal or not."""

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
        elif isinstance(value, str) and value in columns:
            out.columns.append(get_column(value)), out.names.append(value), out.literal.append(False)
        elif inp.literal_ok and not isinstance(value, (list, tuple, dict, set)):
            out.columns.append([value] * n_rows), out.names.append(None), out.literal.append(True)
        elif isinstance(value, (list, tuple, set)):
            raise TypeError(f"{job.method}: {inp.arg} takes one column name, got {type(value).__name__} {value!r}; "
                            "call the method once per column")
        else:
            raise KeyError(f"{job.method}: column {value!r} not found; the frame has columns {list(columns)}")
    return out


def bind_frame_table(job: Job, frame: Any, resolved: ResolvedInputs) -> Job:
    """table_qa's default table is the frame itself, without the question column."""
    if job.table is not FRAME:
        return job
    exclude = [n for n in resolved.names if n]
    return job.bind_table(table_to_dict(frame, exclude=exclude))


def accessor_signature(build: Callable, *, fills_input: bool, returns: str) -> inspect.Signature:
    """The signature ``help(df.hf.<method>)`` shows: ``self`` + the method's parameters.

    ``fills_input``: the accessor object (a Series or an Expr) is one of the inputs, so its
    parameter is left out (the first, or the one named by the function's ``series_arg``).
    """
    params = list(inspect.signature(build).parameters.values())
    if fills_input:
        series_arg = getattr(build, "series_arg", None)
        params = [p for p in params if p.name != series_arg] if series_arg else params[1:]
    self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    return inspect.Signature([self_param, *params], return_annotation=returns)


def input_names(job: Job, resolved: ResolvedInputs) -> tuple[str, ...]:
    """Names for messages: the column, or ``literal <arg>``."""
    return tuple(n if n else f"literal {inp.arg}" for n, inp in zip(resolved.names, job.inputs))
