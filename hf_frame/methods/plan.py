"""Plans: what a call would send and what it would cost, computed without sending a request.

``hf_frame.plan(df.hf.classify, "review")`` and ``df.hf.classify("review", dry_run=True)`` return a
:class:`Plan`: one :class:`Stage` per engine pass of the call (``join``: the embeddings, then the
chat requests of the candidate pairs), each with the rows, the unique inputs, those already
cached, the requests still to send (after batching), and for chat and text generation the
estimated input tokens (:mod:`.tokens`), output tokens (when ``max_tokens`` bounds them) and cost
in US dollars (where the router lists the model's price per token). A stage whose inputs depend
on answers of an earlier stage (the pairs a join keeps) is an upper bound (``exact`` False).

Making a plan sends no inference request. It prepares every row as the call would (a media URL is
read to hash it), resolves the call's provider (the model's Hub mapping, fetched once and cached)
and, for chat, reads the router's price list (``GET /v1/models``, fetched once and cached).
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from .. import runtime
from ..backends.remote.providers import pricing
from ..core import keys
from ..runtime import get_cache
from ..tasks.base import Call, RowFailure
from . import tokens

#: Tasks whose requests are priced and budgeted per token.
TOKEN_TASKS = ("chat-completion", "text-generation")
BUDGETS = ("max_requests", "max_tokens", "max_cost")


@dataclass
class Stage:
    """One engine pass of a call: what it would send and cost."""

    name: str
    task: str
    model: str | None
    provider: str | None
    rows: int
    unique: int
    cached: int
    requests: int
    input_tokens: int | None = None  # chat / generation: the prompts still to send
    output_tokens: int | None = None  # bounded by max_tokens (or the reply's known size); None: unknown
    cost: float | None = None  # USD; without the output when output_tokens is None (see cost_complete)
    cost_complete: bool = True
    exact: bool = True  # False: an upper bound (the inputs depend on answers of an earlier stage)
    token_count: str = ""  # "tokenizer" or "estimate" (characters / 4)
    note: str = ""

    @property
    def to_send(self) -> int:
        """Unique inputs not in the cache."""
        return self.unique - self.cached


@dataclass
class Plan:
    """What a call would do (see the module docs). Renders as a table in notebooks."""

    method: str
    rows: int
    stages: list[Stage]
    budgets: dict[str, Any] = field(default_factory=dict)

    def _sum(self, name: str) -> Any:
        values = [getattr(s, name) for s in self.stages]
        known = [v for v in values if v is not None]
        return sum(known) if known else None

    @property
    def unique(self) -> int:
        return self._sum("unique") or 0

    @property
    def cached(self) -> int:
        return self._sum("cached") or 0

    @property
    def requests(self) -> int:
        """Requests the call would send (an upper bound when a stage is not exact)."""
        return self._sum("requests") or 0

    @property
    def input_tokens(self) -> int | None:
        return self._sum("input_tokens")

    @property
    def output_tokens(self) -> int | None:
        return self._sum("output_tokens")

    @property
    def cost(self) -> float | None:
        """Estimated USD (None: no stage is priced); see :attr:`cost_complete`."""
        return self._sum("cost")

    @property
    def cost_complete(self) -> bool:
        """False when a priced stage's output tokens are unknown (the cost is then a lower bound)."""
        return all(s.cost_complete for s in self.stages if s.cost is not None)

    @property
    def exact(self) -> bool:
        return all(s.exact for s in self.stages)

    def to_dict(self) -> dict[str, Any]:
        """Totals and stages as plain values."""
        return {"method": self.method, "rows": self.rows, "unique": self.unique, "cached": self.cached,
                "requests": self.requests, "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                "cost": self.cost, "cost_complete": self.cost_complete, "exact": self.exact,
                "budgets": dict(self.budgets), "stages": [dict(vars(s)) for s in self.stages]}

    # -- display -----------------------------------------------------------------------------
    _COLUMNS = ("stage", "task", "model", "provider", "rows", "unique", "cached", "requests", "input tokens",
                "output tokens", "cost (USD)")

    def _cells(self, s: Stage) -> list[str]:
        bound = "" if s.exact else "≤ "
        out_tokens = "?" if s.output_tokens is None and s.input_tokens is not None else _num(s.output_tokens)
        cost = "" if s.cost is None else ("≥ " if not s.cost_complete else bound) + _usd(s.cost)
        tokens_ = "" if s.input_tokens is None else bound + _num(s.input_tokens) + ("~" if s.token_count == "estimate"
                                                                                   else "")
        return [s.name, s.task, s.model or "", s.provider or "", _num(s.rows), _num(s.unique), _num(s.cached),
                bound + _num(s.requests), tokens_, out_tokens, cost]

    def _total(self) -> list[str]:
        bound = "" if self.exact else "≤ "
        cost = self.cost
        shown = "" if cost is None else ("≥ " if not self.cost_complete else bound) + _usd(cost)
        return ["total", "", "", "", _num(self.rows), _num(self.unique), _num(self.cached), bound + _num(self.requests),
                _num(self.input_tokens), _num(self.output_tokens), shown]

    def _notes(self) -> list[str]:
        notes = [f"{s.name}: {s.note}" for s in self.stages if s.note]
        if any(s.token_count == "estimate" for s in self.stages):
            notes.append(f"~: estimated at {tokens.CHARS_PER_TOKEN} characters per token (the model's tokenizer "
                         "is not on this machine)")
        if any(s.cost is not None and not s.cost_complete for s in self.stages):
            notes.append("≥: the replies' length is unknown (pass max_tokens= to bound it); the cost shown is the "
                         "prompts'")
        set_budgets = {k: v for k, v in self.budgets.items() if v is not None}
        if set_budgets:
            notes.append("budgets: " + ", ".join(f"{k}={v}" for k, v in set_budgets.items()))
        return notes

    def __repr__(self) -> str:
        rows = [list(self._COLUMNS)] + [self._cells(s) for s in self.stages] + [self._total()]
        widths = [max(len(r[i]) for r in rows) for i in range(len(self._COLUMNS))]
        lines = [f"plan of {self.method}: nothing sent"]
        lines += ["  ".join(c.ljust(w) if i < 4 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
                  for r in rows]
        return "\n".join(lines + self._notes())

    def _repr_html_(self) -> str:
        def row(cells: Sequence[str], tag: str = "td") -> str:
            return "<tr>" + "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in cells) + "</tr>"

        body = "".join(row(self._cells(s)) for s in self.stages) + row(self._total())
        notes = "".join(f"<br><small>{html.escape(n)}</small>" for n in self._notes())
        return (f"<div><b>plan of {html.escape(self.method)}</b> (nothing sent)<table>"
                f"<thead>{row(self._COLUMNS, 'th')}</thead><tbody>{body}</tbody></table>{notes}</div>")


def _num(value: Any) -> str:
    return "" if value is None else f"{value:,}"


def _usd(value: float) -> str:
    if value == 0:
        return "$0"
    return f"${value:.2f}" if value >= 1 else f"${value:.6f}".rstrip("0")


# ---------------------------------------------------------------------------------------------
# one engine pass, planned


@dataclass
class PassPlan:
    """One engine pass resolved as far as it can be without sending (keys, cache, batches)."""

    call: Call  # with its provider target resolved
    row_keys: list[str | None]  # per row (None: null output or a row error, nothing sent)
    unique: dict[str, Any]  # key -> item
    cached: set[str]
    to_send: list[str]
    requests: int
    input_tokens: dict[str, int]  # per key to send (chat / generation)
    token_count: str = ""


async def _resolve(call: Call, rows: Sequence[tuple], labels: Sequence[Any] | None) -> PassPlan:
    task = call.task
    items = [task.prepare(call, values, labels[i] if labels is not None else i) for i, values in enumerate(rows)]
    present = [i for i, item in enumerate(items) if item is not None and not isinstance(item, RowFailure)]
    for i, item in zip(present, await task.resolve_items(call, [items[i] for i in present])):
        items[i] = item
    items = [None if isinstance(item, RowFailure) else item for item in items]
    if any(item is not None for item in items):
        call = await call.backend.resolve(call)
    maker = keys.KeyMaker(task=task.name, model=call.model, route=call.route,
                          parameters=[call.parameters, call.body, call.options])
    row_keys = [None if item is None else maker.key(item) for item in items]
    unique: dict[str, Any] = {}
    for key, item in zip(row_keys, items):
        if key is not None:
            unique.setdefault(key, item)
    cache = get_cache(call.settings)
    cached = set(cache.get_many(unique)) if cache is not None and unique else set()
    to_send = [k for k in unique if k not in cached]
    groups: dict[Any, int] = {}
    for key in to_send:
        group = task.group_key(call, unique[key])
        groups[group] = groups.get(group, 0) + 1
    size = task.batch_size(call) if to_send else 1
    requests = sum(math.ceil(n / size) for n in groups.values())
    counted: dict[str, int] = {}
    how = ""
    if task.name in TOKEN_TASKS and to_send:
        counts, how = tokens.prompt_tokens([unique[k] for k in to_send], call.model)
        counted = dict(zip(to_send, counts))
    return PassPlan(call, row_keys, unique, cached, to_send, requests, counted, how)


def plan_pass(call: Call, rows: Sequence[tuple], labels: Sequence[Any] | None = None) -> PassPlan:
    """The keys, cached inputs and requests of one engine pass over ``rows``; sends nothing."""
    return runtime.run(_resolve(call, rows, labels))


def reply_tokens(call: Call) -> int | None:
    """Tokens one reply may take: ``max_tokens`` (chat) / ``max_new_tokens`` (generation), or the
    reply size a method knows (``call.view["reply_tokens"]``); None when unknown."""
    for name in ("max_tokens", "max_completion_tokens", "max_new_tokens"):
        value = call.parameters.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    hint = call.view.get("reply_tokens")
    return hint if isinstance(hint, int) else None


def call_prices(call: Call, provider: str | None = None) -> list[pricing.Price]:
    """The router's prices of the call's model (of ``provider`` when given); [] when unknown."""
    if call.task.name not in TOKEN_TASKS:
        return []
    model = call.model if provider is None else f"{pricing.split_model(call.model)[0]}:{provider}"
    return runtime.run(pricing.prices(model, call.settings))


def usd(prompt_tokens: float, completion_tokens: float | None, price: pricing.Price | None) -> float | None:
    """The cost of tokens at ``price`` (USD per million); None when the price is unknown."""
    if price is None or price.input is None:
        return None
    out = 0.0 if completion_tokens is None else completion_tokens * (price.output or 0.0)
    return (prompt_tokens * price.input + out) / 1e6


def dearest(prices: Sequence[pricing.Price]) -> pricing.Price | None:
    """The most expensive of the providers (the estimate when the router picks one per request)."""
    priced = [p for p in prices if p.input is not None]
    return max(priced, key=lambda p: (p.input or 0) + (p.output or 0)) if priced else None


def stage_of(name: str, p: PassPlan, rows: int | None = None) -> Stage:
    """The :class:`Stage` summary of a planned pass."""
    call = p.call
    target = call.target
    provider = target.provider if target is not None else ("local" if call.backend.kind == "local" else "endpoint")
    stage = Stage(name, call.task.name, call.model, provider,
                  rows=sum(k is not None for k in p.row_keys) if rows is None else rows,
                  unique=len(p.unique), cached=len(p.cached), requests=p.requests)
    if call.task.name in TOKEN_TASKS:
        stage.input_tokens = sum(p.input_tokens.values())
        stage.token_count = p.token_count
        per_reply = reply_tokens(call)
        stage.output_tokens = None if per_reply is None else per_reply * len(p.to_send)
        price_stage(stage, call)
    return stage


def price_stage(stage: Stage, call: Call) -> None:
    """Fill ``stage.cost`` from the router's price of the call's model (the dearest provider when
    the router picks one per request)."""
    prices = call_prices(call)
    price = dearest(prices)
    if price is None:
        if call.task.name == "chat-completion" and not call.settings.endpoint:
            stage.note = stage.note or "no price known for this model (the router does not list it)"
        return
    stage.cost = usd(stage.input_tokens or 0, stage.output_tokens, price)
    stage.cost_complete = stage.output_tokens is not None or not price.output
    if len(prices) > 1 and pricing.split_model(call.model)[1] is None:
        stage.note = stage.note or f"priced at the dearest of {len(prices)} providers ({price.provider}); the router picks"


def plan_passes(method: str, passes: Sequence[tuple[str, Call, Sequence[tuple], Any]], rows: int,
                settings: Any) -> Plan:
    """A :class:`Plan` of exact passes ``(stage name, call, rows, labels)``."""
    stages = [stage_of(name, plan_pass(call, values, labels)) for name, call, values, labels in passes]
    return Plan(method, rows, stages, budgets_of(settings))


def budgets_of(settings: Any) -> dict[str, Any]:
    return {name: getattr(settings, name, None) for name in BUDGETS}


def plan(method: Callable[..., Any], *args: Any, **kwargs: Any) -> Plan:
    """What ``method(*args, **kwargs)`` would send and cost, without sending it: a :class:`Plan`.

    ``method`` is an accessor method (``df.hf.classify``, ``lf.hf.filter``...); the same as passing
    ``dry_run=True`` to it.

    >>> hf_frame.plan(df.hf.classify, "review")           # doctest: +SKIP
    plan of classify: nothing sent
    stage     task                 model   provider      rows  unique  cached  requests ...
    """
    if not callable(method):
        raise TypeError(f"plan: expected a method such as df.hf.classify, got {type(method).__name__}")
    return method(*args, dry_run=True, **kwargs)
