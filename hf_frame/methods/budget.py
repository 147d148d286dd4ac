"""Budgets of one method call: ``max_requests``, ``max_tokens`` and ``max_cost`` (settings).

Every engine pass of a job goes through :func:`run`. With no budget set it is ``engine.run``. With
one, the pass is planned first (:mod:`.plan`: keys, cache, batches, tokens, price) and

* if the plan alone exceeds what is left of a budget, :class:`~hf_frame.errors.BudgetExceeded` is
  raised before anything is sent;
* if the pass is priced or counted per token and what it will spend is not known to fit (the
  replies' length is unknown), it is sent in waves: the first takes half of what the estimate
  says fits, each next one what fits at the cost per request measured so far; the tokens and
  cost of the answers are added up as they arrive, and the call stops before the request that
  would go over. The answers received are cached, so a rerun with a higher budget sends only
  what is left.

A job's budget is shared by all its passes (``join``: the embeddings, then the chat requests) and,
for polars lazy plans, by all the batches polars runs it on. Tokens are the prompt and completion
tokens the answers report (chat); the cost is those tokens at the router's price for the provider
that answered. ``max_cost`` only applies to calls whose model the router prices per token (chat
models): other tasks have no price to count.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from typing import Any, Sequence

import numpy as np

from ..core import engine
from ..errors import BudgetExceeded
from ..tasks.base import Call
from . import plan as planning

# A wave is at most this many requests in flight times this factor (keeps the pipe full).
_WAVE_FACTOR = 2


class Meter:
    """What one call (a job) may spend and has spent. Thread-safe (polars batches)."""

    def __init__(self, settings: Any) -> None:
        self.limits = {name: getattr(settings, name, None) for name in planning.BUDGETS}
        self.spent = {"max_requests": 0, "max_tokens": 0, "max_cost": 0.0}
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return any(v is not None for v in self.limits.values())

    def left(self, name: str) -> float:
        limit = self.limits[name]
        return math.inf if limit is None else limit - self.spent[name]

    def add(self, requests: int, tokens: int, cost: float | None) -> None:
        with self._lock:
            self.spent["max_requests"] += requests
            self.spent["max_tokens"] += tokens
            self.spent["max_cost"] += cost or 0.0


def meter_of(job: Any) -> Meter:
    """The job's meter, made on first use from its settings (shared by copies of the job)."""
    if job.meter is None:
        job.meter = Meter(job.settings)
    return job.meter


def _units(name: str, value: float) -> str:
    return f"${value:.6g}" if name == "max_cost" else f"{value:,.0f} " + ("requests" if name == "max_requests"
                                                                         else "tokens")


def _before(method: str, meter: Meter, stage: planning.Stage) -> None:
    """Raise before sending when the stage alone needs more than a budget has left."""
    needs = {"max_requests": stage.requests,
             "max_tokens": (stage.input_tokens or 0) + (stage.output_tokens or 0),
             "max_cost": stage.cost or 0.0}
    for name, need in needs.items():
        if meter.limits[name] is not None and need > meter.left(name) + 1e-12:
            spent = meter.spent[name]
            already = f" ({_units(name, spent)} already spent by this call)" if spent else ""
            raise BudgetExceeded(
                f"{method}: {name}={meter.limits[name]} would be exceeded: this step ({stage.name}) needs "
                f"{_units(name, need)}{' or more' if name != 'max_requests' and not stage.cost_complete else ''}"
                f"{already}; nothing was sent. hf_frame.plan(...) (or dry_run=True) shows the plan; raise the "
                "budget to go on", setting=name, limit=meter.limits[name], spent=spent, needed=need,
                requests=meter.spent["max_requests"], remaining=stage.requests)


def _metered(meter: Meter, stage: planning.Stage) -> bool:
    """Does the pass need waves: a token or cost budget, and a spending not known to fit?"""
    if stage.task not in planning.TOKEN_TASKS or not stage.requests:
        return False
    for name, need in (("max_tokens", None if stage.output_tokens is None
                        else (stage.input_tokens or 0) + stage.output_tokens),
                       ("max_cost", stage.cost if stage.cost_complete else None)):
        if meter.limits[name] is not None and (need is None or need > 0.8 * meter.left(name)):
            return True
    return False


def spent_by(call: Call, outcome: engine.Outcome) -> tuple[int, float | None, str | None]:
    """(tokens, USD, provider) of the answers an outcome received (cost None when unpriced)."""
    tokens = outcome.usage.get("total_tokens", 0) if outcome.usage else 0
    if not outcome.usage or call.task.name not in planning.TOKEN_TASKS:
        return tokens, None, outcome.provider
    prices = planning.call_prices(call, outcome.provider) if outcome.provider else []
    price = prices[0] if prices else planning.dearest(planning.call_prices(call))
    cost = planning.usd(outcome.usage.get("prompt_tokens", 0), outcome.usage.get("completion_tokens", 0), price)
    return tokens, cost, outcome.provider


def run(job: Any, call: Call, rows: Sequence[tuple], labels: Sequence[Any] | None = None) -> engine.Outcome:
    """``engine.run(call, rows, labels)`` within the job's budget (see the module docs)."""
    meter = meter_of(job)
    if not meter.active:
        return engine.run(call, rows, labels)
    planned = planning.plan_pass(call, rows, labels)
    stage = planning.stage_of(job.method, planned)
    _before(job.method, meter, stage)
    if not _metered(meter, stage):
        outcome = engine.run(call, rows, labels)
        tokens, cost, _ = spent_by(call, outcome)
        meter.add(outcome.requests, tokens, cost)
        return outcome
    return _in_waves(job.method, meter, call, rows, labels, planned, stage)


def _in_waves(method: str, meter: Meter, call: Call, rows: Sequence[tuple], labels: Sequence[Any] | None,
              planned: planning.PassPlan, stage: planning.Stage) -> engine.Outcome:
    by_key: dict[str, list[int]] = {}
    free: list[int] = []  # rows sending nothing: null outputs, row errors, cached answers
    for i, key in enumerate(planned.row_keys):
        if key is None or key in planned.cached:
            free.append(i)
        else:
            by_key.setdefault(key, []).append(i)
    pending = [k for k in planned.to_send if k in by_key]
    per_request = _first_estimate(planned, stage)
    parts: list[tuple[list[int], engine.Outcome]] = []
    sent = 0
    measured = False
    while True:
        size = _wave_size(meter, per_request, call, measured) if pending else 0
        if pending and size == 0:
            name = _binding(meter, per_request)
            raise BudgetExceeded(
                f"{method}: {name}={meter.limits[name]} reached: this call spent {_units(name, meter.spent[name])} "
                f"on {meter.spent['max_requests']:,} requests; {sent:,} of {len(planned.to_send):,} inputs of this step "
                f"were answered and cached, {len(pending):,} were not sent. Rerun with a higher budget to go on "
                "(the answered rows come from the cache)", setting=name, limit=meter.limits[name],
                spent=meter.spent[name], requests=meter.spent["max_requests"], remaining=len(pending))
        wave, pending = pending[:size], pending[size:]
        positions = free + [i for k in wave for i in by_key[k]]
        free = []
        if not positions:
            break
        outcome = engine.run(call, [rows[i] for i in positions], [labels[i] for i in positions] if labels is not None
                             else positions)
        parts.append((positions, outcome))
        tokens, cost, _ = spent_by(call, outcome)
        meter.add(outcome.requests, tokens, cost)
        sent += len(wave)
        if outcome.requests:
            per_request = {"max_tokens": tokens / outcome.requests, "max_cost": (cost or 0.0) / outcome.requests}
            measured = True
        if not pending:
            break
    return _merge(len(rows), parts)


def _first_estimate(planned: planning.PassPlan, stage: planning.Stage) -> dict[str, float]:
    """Tokens and USD one request is expected to spend, before any answer: the prompt's, doubled
    when the reply's length is unknown."""
    n = max(len(planned.to_send), 1)
    tokens = (stage.input_tokens or 0) / n
    out = (stage.output_tokens / n) if stage.output_tokens is not None else tokens
    cost = (stage.cost or 0.0) / n
    return {"max_tokens": tokens + out, "max_cost": cost * (1 if stage.cost_complete else 2)}


def _wave_size(meter: Meter, per_request: dict[str, float], call: Call, measured: bool) -> int:
    """How many inputs the next wave may send: what is left of each budget over what one request
    spends (half of it while that is only estimated); 0 when not even one request fits."""
    size = call.settings.max_concurrency * _WAVE_FACTOR
    for name in ("max_tokens", "max_cost"):
        if meter.limits[name] is None:
            continue
        left = meter.left(name)
        if left <= 0:
            return 0
        each = per_request.get(name) or 0.0
        if each > 0:
            fits = left / each
            size = min(size, 0 if fits < 1 else max(1, int(fits if measured else fits / 2)))
    left_requests = meter.left("max_requests")
    return int(min(size, left_requests)) if left_requests != math.inf else size


def _binding(meter: Meter, per_request: dict[str, float]) -> str:
    """The budget that stopped the call: the first with less left than one request spends."""
    set_ = [n for n in ("max_tokens", "max_cost", "max_requests") if meter.limits[n] is not None]
    return next((n for n in set_ if meter.left(n) < max(per_request.get(n, 1.0), 1e-12)), set_[0])


def _merge(n: int, parts: list[tuple[list[int], engine.Outcome]]) -> engine.Outcome:
    """The outcomes of the waves as one outcome over all ``n`` rows."""
    rows = np.arange(n, dtype=np.int64)  # one slot per row
    out = engine.Outcome(codes=rows, slot_results=[None] * n, slot_errors=[None] * n, value_slots=rows,
                         slot_keys=[None] * n)
    for positions, o in parts:
        results, errors, keys_ = o.results, o.errors, o.row_keys
        for j, i in enumerate(positions):
            out.slot_results[i], out.slot_errors[i], out.slot_keys[i] = results[j], errors[j], keys_[j]
        out.rows += o.rows
        out.unique += o.unique
        out.cached += o.cached
        out.requests += o.requests
        out.answers += o.answers
        for name, count in o.usage.items():
            out.usage[name] = out.usage.get(name, 0) + count
        out.provider = o.provider or out.provider
    return dataclasses.replace(out)


def usage_stats(pairs: Sequence[tuple[Call, engine.Outcome]]) -> dict[str, Any]:
    """``last_run()``'s ``usage`` (tokens of the answers received), ``cost`` (USD, None when no
    price is known) and ``by_model`` (the same per provider and model) for the passes of a call
    whose task reports token usage; {} for other tasks."""
    fields = next((c.task.usage_fields for c, _ in pairs if c.task.usage_fields), ())
    if not fields:
        return {}
    usage = {name: sum(o.usage.get(name, 0) for _, o in pairs) for name in fields}
    rows: dict[tuple[str | None, str | None], dict[str, Any]] = {}
    for call, outcome in pairs:
        if not outcome.usage:
            continue
        _, cost, provider = spent_by(call, outcome)
        model = planning.pricing.split_model(call.model)[0]
        row = rows.setdefault((provider, model), {"provider": provider, "model": model, "requests": 0,
                                                  **{name: 0 for name in fields}, "cost": None})
        row["requests"] += outcome.requests
        for name in fields:
            row[name] += outcome.usage.get(name, 0)
        if cost is not None:
            row["cost"] = (row["cost"] or 0.0) + cost
    costs = [r["cost"] for r in rows.values() if r["cost"] is not None]
    return {"usage": usage, "cost": sum(costs) if costs else None, "by_model": list(rows.values())}
