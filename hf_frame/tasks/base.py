"""What every task spec provides, and the resolved :class:`Call` a spec works with.

A task spec is declarative glue between a frame method and the wire: how a row becomes an item,
how items become a request body, how an answer becomes results, and which pyarrow type the
results have. The engine does everything else (dedup, cache, concurrency, retries, progress).
Adding a task means writing one subclass and registering it in :mod:`hf_frame.tasks`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Hashable, Sequence

import pyarrow as pa

from ..backends import Backend, backend_for
from ..backends.remote.http import Request
from ..config import Settings
from ..errors import InputTypeError
from ..formats.arrow_json import read_json_values
from ..formats.cells import is_missing
from ..formats.ids import hub_model_id as model_path

#: What :meth:`Task.decode_many` gives for a cached value it cannot decode (the input is sent again).
UNREADABLE = object()


@dataclass(frozen=True)
class RowFailure:
    """Returned by ``Task.prepare`` or ``Task.resolve_items`` in place of an item: this row cannot
    be sent (a missing file, an unreachable URL...). It becomes the row's error, with no request;
    the other rows go on. ``message`` should name the row and the offending path or URL."""

    message: str


@dataclass(frozen=True)
class Call:
    """One method invocation, resolved: task, model, what is sent, what shapes the output, settings.

    - ``parameters``: sent as the body's ``"parameters"`` (generation options, top_k...).
    - ``body``: other fields sent at the root of the body, fixed for the call (table QA's table,
      the rerank query, feature-extraction options such as ``normalize``).
    - ``options``: not sent, but they change what is parsed or built from an answer (the
      zero-shot labels, a chat JSON schema, the embeddings API flavour), so they are part of
      the cache key like the two above.
    - ``view``: not sent and not in the cache key: they only change how a cached answer is
      shown (chat's ``details`` columns, how often an invalid reply is asked again).
    """

    task: Task
    model: str | None
    parameters: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    settings: Settings = field(default_factory=Settings)
    body: dict = field(default_factory=dict)
    view: dict = field(default_factory=dict)
    input_names: tuple[str, ...] = ()  # the columns (or "literal") feeding each input, for messages
    # Where remote requests go (an Inference Provider and its id of the model), resolved by the
    # engine before the cache keys are made; None for local and endpoint= calls.
    target: Any = field(default=None, compare=False, repr=False)

    @property
    def backend(self) -> Backend:
        """Where this call runs (decided by its settings)."""
        return backend_for(self.settings)

    @property
    def route(self) -> str:
        """Where answers come from, as part of the cache key (never includes the token)."""
        return self.backend.route(self.task, self)


def drop_none(mapping: dict) -> dict:
    """The mapping without its None values (the HF API rejects explicit nulls for some fields)."""
    return {k: v for k, v in mapping.items() if v is not None}


def input_name(call: Call, input_index: int) -> str:
    """The column (or "literal") feeding an input, for messages."""
    return call.input_names[input_index] if input_index < len(call.input_names) else "input"


def check_unicode(text: str, call: Call, row: Any, input_index: int = 0) -> None:
    """Refuse text that cannot be sent as UTF-8 (a lone surrogate such as ``'\\ud800'``)."""
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputTypeError(
            f"{call.task.method}: column {input_name(call, input_index)!r} row {row!r} holds text that is not "
            f"valid Unicode ({text[exc.start]!r} at position {exc.start}, a lone surrogate); "
            "fix or drop it (text.encode('utf-8', 'replace').decode('utf-8') replaces it with '?')"
        ) from None


def require_text(value: Any, call: Call, row: Any, input_index: int = 0) -> str | None:
    """The text of a cell; None for a missing or empty value (null output, no request)."""
    if isinstance(value, str):
        check_unicode(value, call, row, input_index)
        return value if value.strip() else None
    if is_missing(value):
        return None
    shown = repr(value)[:60]
    raise InputTypeError(
        f"{call.task.method}: column {input_name(call, input_index)!r} row {row!r} holds "
        f"{type(value).__name__} {shown}, expected text"
    )


#: What building an Arrow value from a malformed result raises.
BUILD_ERRORS = (pa.ArrowException, OverflowError, TypeError, ValueError, KeyError, IndexError, AttributeError)


def _shown(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def misfit(value: Any, kind: pa.DataType, path: str = "") -> tuple[str, Any, pa.DataType] | None:
    """The first part of ``value`` that does not fit the Arrow type ``kind``: ``(path, value, type)``
    with a path such as ``entities[0].word``; None when the whole value fits."""
    try:
        pa.array([value], type=kind)
        return None
    except BUILD_ERRORS:
        pass
    if pa.types.is_struct(kind) and isinstance(value, dict):
        for field in kind:
            found = misfit(value.get(field.name), field.type, f"{path}.{field.name}" if path else field.name)
            if found is not None:
                return found
    elif (pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)) \
            and isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found = misfit(item, kind.value_type, f"{path}[{i}]")
            if found is not None:
                return found
    return path, value, kind


def prompt_width(call: Call) -> int:
    """How many of a row's values make its prompt: the template's columns, else one text."""
    template = call.view.get("template")
    return 1 if template is None else len(template.columns)


def row_prompt(call: Call, values: Sequence[Any], row: Any) -> str | None:
    """The row's prompt: ``values[0]`` as text, or the call's template (``call.view["template"]``)
    filled from the first :func:`prompt_width` values; None for a missing value (no request)."""
    template = call.view.get("template")
    if template is None:
        return require_text(values[0], call, row)
    used = values[: len(template.columns)]
    if any(is_missing(v) for v in used):
        return None
    for i, value in enumerate(used):
        if isinstance(value, str):
            check_unicode(value, call, row, i)
    return template.render(dict(zip(template.columns, used)))


class Task:
    """Base class of task specs. Override what differs; defaults fit ``{"inputs": text}`` tasks."""

    name: str = ""                  # HF task id, e.g. "text-classification"
    method: str = ""                # public method name, e.g. "classify"
    default_model: str | None = None
    pipeline_route: bool = False    # URL is .../models/{model}/pipeline/{task}
    batchable: bool = False         # the API accepts a list of inputs in one request
    # A missing cell is part of the input (a table row sends it as null) rather than making the
    # whole row a null output with no request.
    keeps_missing_cells: bool = False
    remote_batch: bool = False      # ...and we batch on remote providers too (not only locally)
    expect: str = "json"            # "binary": the answer may be a file (see http.Request)

    # -- routing -----------------------------------------------------------------------------
    def url(self, call: Call) -> str:
        """The hf-inference URL (also what ``provider="auto"`` sends to when hf-inference serves the
        model); other providers' routes are built from the request by their helper."""
        s = call.settings
        if s.endpoint:
            return s.endpoint
        provider = "hf-inference" if s.provider == "auto" else s.provider
        url = f"{s.base_url.rstrip('/')}/{provider}/models/{model_path(call.model)}"
        return f"{url}/pipeline/{self.name}" if self.pipeline_route else url

    def endpoint_urls(self, call: Call) -> tuple[list[str], str]:
        """For ``endpoint=`` servers with an OpenAI-style route: (the URLs to try in turn when one
        answers 404, the route's name); ``([], "")``: the URL is used as given."""
        return [], ""

    def endpoint_fallback(self, call: Call, request: Request, error: Exception) -> Request | None:
        """Another form of ``request`` to send when an ``endpoint=`` server refused it with 400/422
        (None: the error stands)."""
        return None

    def batch_size(self, call: Call) -> int:
        return call.backend.batch_size(self, call)

    # -- rows -> items -> requests -----------------------------------------------------------
    def prepare(self, call: Call, values: tuple, row: Any) -> Any:
        """The JSON-able item for one row (None: null output, no request). Raise InputTypeError.

        ``values`` holds the row's value for each input; ``row`` is its label, for messages.
        """
        return require_text(values[0], call, row)

    def group_key(self, call: Call, item: Any) -> Hashable:
        """Items with equal group keys may share one request."""
        return None

    def payload(self, call: Call, items: Sequence[Any]) -> dict:
        """The HF JSON body for these items (one item unless batchable)."""
        inputs = list(items) if self.batchable and self.batch_size(call) > 1 else items[0]
        return drop_none({"inputs": inputs, "parameters": drop_none(call.parameters) or None})

    def request(self, call: Call, items: Sequence[Any]) -> Request:
        return Request(url=self.url(call), json=self.payload(call, items), expect=self.expect)

    def parse(self, call: Call, answer: Any, items: Sequence[Any]) -> list[Any]:
        """One JSON-able result per item. Raise ValueError on an answer of unexpected shape."""
        raise NotImplementedError

    def answer_retries(self, call: Call) -> int:
        """How many times to ask again when :meth:`parse` rejects an answer (chat: invalid JSON)."""
        return 0

    def answer_error(self, call: Call, exc: Exception, attempts: int) -> str:
        """The row error for an answer :meth:`parse` rejected ``attempts`` times."""
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        return f"{self.name}: unexpected answer from model {call.model!r}{tries}: {exc}"

    # Token counts this task reads from every answer (summed into ``hf_frame.last_run()["usage"]``).
    usage_fields: tuple[str, ...] = ()

    def answer_usage(self, call: Call, answer: Any) -> dict[str, int]:
        """What one answer cost, e.g. ``{"prompt_tokens": 12, "completion_tokens": 30}``."""
        return {}

    # -- results -> arrow --------------------------------------------------------------------
    def output_type(self, call: Call) -> pa.StructType:
        raise NotImplementedError

    def to_row(self, call: Call, result: Any) -> dict:
        """The output fields of one result (default: the result is already that dict)."""
        return result

    def build_array(self, call: Call, results: Sequence[Any]) -> pa.StructArray:
        """Results (None = null row) -> a struct array of :meth:`output_type`."""
        rows = [None if r is None else self.to_row(call, r) for r in results]
        return pa.array(rows, type=self.output_type(call))

    def encode(self, result: Any) -> bytes:
        return json.dumps(result, separators=(",", ":"), ensure_ascii=False).encode()

    def decode(self, data: bytes) -> Any:
        return json.loads(data)

    # -- checking answers before they are cached -----------------------------------------------
    def check(self, call: Call, results: Sequence[Any]) -> list[str | None]:
        """Per result: None when it fits :meth:`output_type`, else a row error naming the field.

        Default: build the Arrow value of the results (``to_row`` -> ``output_type``), all at once,
        and only when that fails one by one to find which results and which field do not fit.
        """
        kind = self.output_type(call)
        try:
            pa.array([None if r is None else self.to_row(call, r) for r in results], type=kind)
            return [None] * len(results)
        except BUILD_ERRORS:
            pass
        return [None if r is None else self._misfit(call, r, kind) for r in results]

    def _misfit(self, call: Call, result: Any, kind: pa.DataType) -> str | None:
        where = f"{self.name}: unexpected answer from model {call.model!r}"
        try:
            row = self.to_row(call, result)
        except BUILD_ERRORS as exc:
            return f"{where}: {type(exc).__name__}: {exc}"[:300]
        problem = misfit(row, kind)
        if problem is None:
            return None
        path, value, field_type = problem
        return f"{where}: field {path or '(the whole row)'!r} should be {field_type}, got {_shown(value)}"

    def verified(self, call: Call, results: Sequence[Any]) -> list[tuple[Any, bytes | None, str | None]]:
        """What the engine publishes and caches for fresh results: per result ``(value, data, error)``.

        ``data`` is the result encoded for the cache and ``value`` the result as the cache gives it
        back (so a first call and a rerun return the same); both are None, and ``error`` says why,
        when the result cannot be stored or does not fit the output type. Such a result is never cached.
        """
        out: list[tuple[Any, bytes | None, str | None]] = []
        for result in results:
            if result is None:  # a null output without an error would hide that the answer held nothing
                out.append((None, None, f"{self.name}: unexpected answer from model {call.model!r}: no value"))
                continue
            try:
                data = self.encode(result)
                out.append((self.decode(data), data, None))
            except (TypeError, ValueError, OverflowError) as exc:
                out.append((None, None, f"{self.name}: unexpected answer from model {call.model!r}: {exc}"[:300]))
        stored = [i for i, (_, data, _) in enumerate(out) if data is not None]
        for i, problem in zip(stored, self.check(call, [out[i][0] for i in stored])):
            if problem is not None:
                out[i] = (None, None, problem)
        return out

    def decode_many(self, datas: Sequence[bytes]) -> list[Any]:
        """Many cached values -> results, in one pass where the encoding allows it.

        A value that cannot be decoded gives :data:`UNREADABLE` (the engine sends it again).
        JSON values (the default encoding) are parsed by one ``json.loads`` over all of them:
        measured 2.5-3x faster than one call per value for 100,000 classification answers.
        """
        if type(self).decode is Task.decode and datas:
            try:
                results = json.loads(b"[" + b",".join(datas) + b"]")
            except ValueError:
                results = None
            if isinstance(results, list) and len(results) == len(datas):
                return results
        out = []
        for data in datas:
            try:
                out.append(self.decode(data))
            except (ValueError, TypeError):  # a value written by another version, or damaged
                out.append(UNREADABLE)
        return out

    #: When :meth:`to_row` is ``{row_field: result}`` (one output field holding the result as it
    #: is), that field's name: cached values are then read straight into it (:meth:`decode_array`).
    row_field: str | None = None

    def decode_array(self, call: Call, datas: Sequence[bytes]) -> pa.Array | None:
        """Many cached values straight into their built output (what :meth:`build_array` gives for
        their decoded results), or None: this task has no columnar decoder, or a value does not
        read as one (the engine then uses :meth:`decode_many` and ``build_array``).

        Cached values were checked against the output type before they were stored, so they are
        read with that Arrow type by Arrow's JSON reader (:mod:`hf_frame.formats.arrow_json`), for
        JSON-encoded tasks whose row is the result itself (the default :meth:`to_row`) or one field
        holding it (:attr:`row_field`). Others override this, or keep the Python path.
        """
        if type(self).decode is not Task.decode or type(self).build_array is not Task.build_array:
            return None  # not the JSON encoding, or not the default build
        kind = self.output_type(call)
        if type(self).to_row is Task.to_row:
            built = read_json_values(datas, kind, extra_keys="ignore")
        elif self.row_field is not None and kind.names == [self.row_field]:
            values = read_json_values(datas, kind.field(0).type, extra_keys="ignore")
            built = None if values is None or values.null_count else pa.StructArray.from_arrays(
                [values], fields=[kind.field(0)])
        else:
            return None
        return None if built is None or built.null_count else built  # a cached null: the Python path decides

    # -- async hooks (media tasks read files / fetch URLs here) --------------------------------
    async def resolve_items(self, call: Call, items: list[Any]) -> list[Any]:
        """Turn prepared items into their final, hashable form (e.g. a content hash). Default: as is."""
        return items

    async def build_request(self, call: Call, items: Sequence[Any]) -> Request:
        """The HTTP request for these items, built just before it is sent."""
        return self.request(call, items)

    async def build_local_payload(self, call: Call, items: Sequence[Any]) -> dict:
        """The body handed to the in-process backend (``provider="local"``)."""
        return self.payload(call, items)
