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

from ..config import Settings
from ..errors import InputTypeError
from ..backends import Backend, backend_for
from ..backends.remote.http import Request
from ..formats.cells import is_missing


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

    task: "Task"
    model: str | None
    parameters: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    settings: Settings = field(default_factory=Settings)
    body: dict = field(default_factory=dict)
    view: dict = field(default_factory=dict)
    input_names: tuple[str, ...] = ()  # the columns (or "literal") feeding each input, for messages

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


def require_text(value: Any, call: Call, row: Any, input_index: int = 0) -> str | None:
    """The text of a cell; None for a missing or empty value (null output, no request)."""
    if isinstance(value, str):
        return value if value.strip() else None
    if is_missing(value):
        return None
    shown = repr(value)[:60]
    raise InputTypeError(
        f"{call.task.method}: column {input_name(call, input_index)!r} row {row!r} holds "
        f"{type(value).__name__} {shown}, expected text"
    )


class Task:
    """Base class of task specs. Override what differs; defaults fit ``{"inputs": text}`` tasks."""

    name: str = ""                  # HF task id, e.g. "text-classification"
    method: str = ""                # public method name, e.g. "classify"
    default_model: str | None = None
    pipeline_route: bool = False    # URL is .../models/{model}/pipeline/{task}
    batchable: bool = False         # the API accepts a list of inputs in one request
    remote_batch: bool = False      # ...and we batch on remote providers too (not only locally)

    # -- routing -----------------------------------------------------------------------------
    def url(self, call: Call) -> str:
        s = call.settings
        if s.endpoint:
            return s.endpoint
        url = f"{s.base_url.rstrip('/')}/{s.provider}/models/{call.model}"
        return f"{url}/pipeline/{self.name}" if self.pipeline_route else url

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
        return Request(url=self.url(call), json=self.payload(call, items))

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
