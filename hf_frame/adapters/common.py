"""What the pandas and polars adapters share: turning a job's inputs into value lists, and the
one factory that turns every entry of ``METHODS`` into an accessor method."""

from __future__ import annotations

import functools
import inspect
import typing
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ..config import Unpack
from ..methods import FRAME, METHODS, Job, table_to_dict


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
        elif _is_column(value, columns):
            out.columns.append(get_column(value)), out.names.append(str(value)), out.literal.append(False)
        elif inp.literal_ok and not isinstance(value, (list, tuple, dict, set)):
            out.columns.append([value] * n_rows), out.names.append(None), out.literal.append(True)
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


class _Optional:
    """The default shown for a keyword that may be left out (a setting: the session's value is used)."""

    def __repr__(self) -> str:
        return "..."


OPTIONAL = _Optional()


def accessor_signature(build: Callable, *, fills_input: bool, returns: type) -> inspect.Signature:
    """The signature ``help(df.hf.<method>)`` shows: ``self`` + the method's parameters.

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
    params: list[inspect.Parameter] = []
    for p in inspect.signature(build).parameters.values():
        hint = hints.get(p.name, p.annotation)
        if p.kind is p.VAR_KEYWORD and typing.get_origin(hint) is Unpack:
            (keywords,) = typing.get_args(hint)
            params += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=OPTIONAL, annotation=type_)
                       for name, type_ in typing.get_type_hints(keywords, include_extras=True).items()]
        else:
            params.append(p.replace(annotation=hint))
    if fills_input:
        series_arg = getattr(build, "series_arg", None)
        params = [p for p in params if p.name != series_arg] if series_arg else params[1:]
    self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    return inspect.Signature([self_param, *params], return_annotation=returns)


def _resolved_hints(build: Callable) -> dict[str, Any]:
    try:
        return typing.get_type_hints(build, include_extras=True)
    except Exception:  # a plug-in method whose annotations do not resolve: they are shown as written
        return {}


def describe_accessor(method: Any, build: Callable, *, fills_input: bool, returns: type) -> Callable:
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


def accessor_method(name: str, run: Callable[..., Any], *, target: str, fills_input: bool, returns: type) -> Callable:
    """The ``.hf.<name>`` method of an accessor class: build the job, hand it to ``run``.

    ``target`` is the accessor attribute holding the wrapped object (a frame, a series, an
    expression); ``run(job, obj)`` computes or plans the job on it. With ``fills_input`` the
    object is itself an input: the first one, or the one named by the function's ``series_arg``
    (``rerank(query, col)``: a Series is ``col``).
    """
    build = METHODS[name]
    series_arg = getattr(build, "series_arg", None) if fills_input else None

    def method(self, *args, **kwargs):
        obj = getattr(self, target)
        if not fills_input:
            return run(build(*args, **kwargs), obj)
        if series_arg:
            return run(build(*args, **{series_arg: obj}, **kwargs), obj)
        return run(build(obj, *args, **kwargs), obj)

    return describe_accessor(method, build, fills_input=fills_input, returns=returns)


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
