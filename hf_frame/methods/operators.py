"""Table operators: ``filter``, ``top_k``, ``join``, ``dedup``, ``cluster`` and ``agg``.

They work on whole tables, the cheap path first: embeddings (batched, cached, shared with
``embed`` and ``search``) narrow down what a language model is asked, and every chat request
goes through the engine like any other (deduplicated, cached, retried, row errors, budgets).

* ``filter``: one yes/no chat request per unique prompt; the rows whose answer is yes.
* ``top_k``: embeddings pre-select ``candidates`` rows, a reranker or a language model orders them.
* ``join``: embedding nearest neighbours (``k`` per left row) are the only pairs asked about.
* ``dedup``: rows whose embeddings are closer than ``threshold`` share a ``cluster`` id.
* ``cluster``: k-means on the embeddings (scikit-learn when installed, else numpy); optional names.
* ``agg``: the rows of each group packed into prompts that fit the model's context, answered, and
  the answers combined the same way until one is left per group.

The vector work is numpy, in blocks (no Python loop over pairs of rows). ``filter``, ``top_k``,
``join`` and ``agg`` return other rows than they are given (``returns_rows``): the adapters build
their output frame from the :class:`~hf_frame.methods.job.Selection` they return.
"""

from __future__ import annotations

import dataclasses
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np
import pyarrow as pa

from .. import runtime
from ..config import SettingsKwargs, Unpack, resolve_settings
from ..core import engine
from ..errors import MissingColumnError, RowErrors, TemplateError
from ..formats.cells import is_missing
from ..formats.prompting import PromptTemplate, is_template
from ..tasks.base import Call, require_text
from ..tasks.chat import ScoredChat
from . import budget, checks, tokens
from . import plan as planning
from .chat import chat
from .embeddings import (
    EmbedJob,
    _as_list,
    _build_embed,
    column_vectors,
    cosine_scores,
    normalize_rows,
    rerank,
    top_k_from_scores,
)
from .job import ERROR_FIELD, Input, Job, Selection, split_kwargs
from .kwargs import ChatKwargs

__all__ = ["AggJob", "ClusterJob", "DedupJob", "FilterJob", "JoinJob", "TopKJob", "agg", "cluster", "connected",
           "dedup", "filter", "join", "kmeans", "nearest", "top_k"]

#: The JSON schema of every yes/no question.
BOOLEAN_SCHEMA = {"type": "object", "properties": {"answer": {"type": "boolean"}}, "required": ["answer"],
                  "additionalProperties": False}
JUDGE_SYSTEM = ('Answer the question about the data given. Reply with a JSON object: {"answer": true} or '
                '{"answer": false}.')
_REPLY_TOKENS = 6  # {"answer": false}
_SCORED = ScoredChat()
_BLOCK_FLOATS = 4_000_000  # similarity blocks: rows x columns of float32 at once (16 MB)
DEFAULT_CONTEXT = 8192  # tokens, for agg when neither the router nor context_tokens= says
AGG_REPLY_TOKENS = 512


# ---------------------------------------------------------------------------------------------
# vector kernels (numpy, blocked)


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    return normalize_rows(np.asarray(matrix, dtype=np.float32))


def _block_rows(columns: int) -> int:
    return max(1, _BLOCK_FLOATS // max(columns, 1))


def nearest(left: np.ndarray, right: np.ndarray, k: int, left_valid: np.ndarray | None = None,
            right_valid: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each valid left row, its ``k`` most similar valid right rows by cosine.

    Returns ``(left positions, right positions, cosine)``, grouped by left row (in order) and best
    first within a row (ties: the earlier right row). Computed in blocks of left rows.

    >>> l = np.array([[1, 0], [0, 1]], dtype=np.float32); r = np.array([[0, 1], [1, 0.1]], dtype=np.float32)
    >>> [a.tolist() for a in nearest(l, r, 1)[:2]]
    [[0, 1], [1, 0]]
    """
    lidx = np.flatnonzero(left_valid) if left_valid is not None else np.arange(len(left))
    ridx = np.flatnonzero(right_valid) if right_valid is not None else np.arange(len(right))
    k = min(int(k), len(ridx))
    if k <= 0 or not len(lidx):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=np.float64)
    r = _unit_rows(right[ridx])
    step = _block_rows(len(ridx))
    lefts, rights, sims = [], [], []
    for start in range(0, len(lidx), step):
        rows = lidx[start : start + step]
        scores = _unit_rows(left[rows]) @ r.T
        if k < len(ridx):
            part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        else:
            part = np.broadcast_to(np.arange(len(ridx)), scores.shape)
        picked = np.take_along_axis(scores, part, axis=1)
        order = np.lexsort((part, -picked), axis=1)  # best first, earlier right row on ties
        part, picked = np.take_along_axis(part, order, axis=1), np.take_along_axis(picked, order, axis=1)
        lefts.append(np.repeat(rows, k))
        rights.append(ridx[part.ravel()])
        sims.append(picked.ravel().astype(np.float64))
    return np.concatenate(lefts), np.concatenate(rights), np.concatenate(sims)


def connected(n: int, a: np.ndarray, b: np.ndarray, parent: np.ndarray | None = None) -> np.ndarray:
    """Union of the edges ``a[i] -- b[i]`` into ``parent`` (every node's root: the smallest node of
    its component). Vectorised: hooking roots onto smaller ones, then pointer jumping.

    >>> connected(5, np.array([0, 3]), np.array([2, 4])).tolist()
    [0, 1, 0, 3, 3]
    """
    parent = np.arange(n) if parent is None else parent
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    while len(a):
        ra, rb = parent[a], parent[b]
        low, high = np.minimum(ra, rb), np.maximum(ra, rb)
        moving = low != high
        if not moving.any():
            break
        np.minimum.at(parent, high[moving], low[moving])
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
        a, b = a[moving], b[moving]
    return parent


def near_duplicates(matrix: np.ndarray, threshold: float) -> np.ndarray:
    """The root of every row after joining the pairs whose cosine is >= ``threshold`` (blocked:
    each block of rows is compared with the rows after it, and its pairs joined at once)."""
    n = len(matrix)
    x = _unit_rows(matrix)
    parent = np.arange(n)
    step = _block_rows(n)
    for start in range(0, n, step):
        block = x[start : start + step] @ x[start:].T
        i, j = np.nonzero(block >= threshold)
        i, j = i + start, j + start
        later = j > i
        parent = connected(n, i[later], j[later], parent)
    return parent


def kmeans(matrix: np.ndarray, k: int, seed: int = 0, max_iter: int = 100, n_init: int = 4) -> np.ndarray:
    """Cluster labels of the rows (scikit-learn's ``KMeans`` when installed, else k-means++ and
    Lloyd's iterations in numpy), renumbered so that cluster 0 holds the first row, and so on."""
    x = np.asarray(matrix, dtype=np.float64)
    try:
        from sklearn.cluster import KMeans
    except ImportError:
        labels = _kmeans_numpy(x, k, seed, max_iter, n_init)
    else:
        labels = KMeans(n_clusters=k, n_init=n_init, random_state=seed, max_iter=max_iter).fit_predict(x)
    _, first = np.unique(labels, return_index=True)
    order = np.argsort(np.argsort(first))  # cluster -> rank of its first row
    remap = np.empty(labels.max() + 1, dtype=np.int64)
    remap[np.unique(labels)] = order
    return remap[labels]


def _kmeans_numpy(x: np.ndarray, k: int, seed: int, max_iter: int, n_init: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    best, best_inertia = None, math.inf
    sq = np.einsum("ij,ij->i", x, x)
    for _ in range(n_init):
        centers = [x[rng.integers(len(x))]]
        for _ in range(1, k):  # k-means++: far points are likelier seeds
            d = np.min([sq - 2 * x @ c + c @ c for c in centers], axis=0).clip(0)
            p = d / d.sum() if d.sum() > 0 else np.full(len(x), 1 / len(x))
            centers.append(x[rng.choice(len(x), p=p)])
        c = np.array(centers)
        labels = np.zeros(len(x), dtype=np.int64)
        for _ in range(max_iter):
            dist = sq[:, None] - 2 * x @ c.T + np.einsum("ij,ij->i", c, c)[None, :]
            new = dist.argmin(axis=1)
            if _ and np.array_equal(new, labels):
                break
            labels = new
            for j in range(k):  # empty cluster: the point farthest from its center restarts it
                members = labels == j
                c[j] = x[members].mean(axis=0) if members.any() else x[dist.min(axis=1).argmax()]
        inertia = float(dist[np.arange(len(x)), labels].sum())
        if inertia < best_inertia:
            best, best_inertia = labels, inertia
    return best


# ---------------------------------------------------------------------------------------------
# shared pieces


def _judge_call(system: str | None, model: str | None, return_scores: bool, sampling: dict) -> Call:
    """The chat call asking a yes/no question per prompt (``{"answer": bool}``; with
    ``return_scores``, logprobs are requested and P(yes) kept)."""
    extra = {"logprobs": True, "top_logprobs": 5} if return_scores else {}
    job = chat("prompt", JUDGE_SYSTEM if system is None else system, model=model, json_schema=BOOLEAN_SCHEMA,
               **extra, **sampling)
    call = job.calls[0]
    call = dataclasses.replace(call, view={**call.view, "reply_tokens": _REPLY_TOKENS})
    return dataclasses.replace(call, task=_SCORED) if return_scores else call


@dataclass
class _Judged:
    answers: list[bool | None]
    scores: list[float | None]
    outcome: engine.Outcome


def _judge(job: Job, call: Call, prompts: Sequence[str | None], labels: Sequence[Any]) -> _Judged:
    outcome = budget.run(job, call, [(p,) for p in prompts], labels)
    answers: list[bool | None] = []
    scores: list[float | None] = []
    for result in outcome.results:
        value = result["value"].get("answer") if result else None
        answers.append(None if value is None else bool(value))
        scores.append(result.get("p_true") if result else None)
    return _Judged(answers, scores, outcome)


def _record(job: Job, started: float, parts: Sequence[tuple[str, Call, engine.Outcome]], *, rows: int,
            failed: int, **extra: Any) -> None:
    """``last_run()`` of an operator: totals over its passes, and ``stages`` (requests per pass)."""
    stats: dict[str, Any] = dict(method=job.method, rows=rows, unique=sum(o.unique for _, _, o in parts),
                                 cached=sum(o.cached for _, _, o in parts),
                                 requests=sum(o.requests for _, _, o in parts), failed=failed, **extra)
    stats["stages"] = {name: {"unique": o.unique, "cached": o.cached, "requests": o.requests}
                       for name, _, o in parts}
    provider = next((o.provider for _, _, o in reversed(parts) if o.provider), None)
    if provider:
        stats["provider"] = provider
    stats.update(budget.usage_stats([(c, o) for _, c, o in parts]))
    runtime.record_run(stats)
    job.log_summary(started)


def _labels(labels: Sequence[Any] | None, n: int) -> list[Any]:
    return list(labels) if labels is not None else list(range(n))


def _plain_names(job: Job, fields: Sequence[str], existing: Sequence[str]) -> dict[str, str]:
    """Output names without a prefix (``score``), else ``<method>_score``, else ``<prefix>_score``."""
    existing = set(map(str, existing))
    options = [job.prefix] if job.prefix else [None, job.method]
    for p in options:
        names = {f: f"{p}_{f}" if p else f for f in [*fields, ERROR_FIELD]}
        if existing.isdisjoint(names.values()):
            return names
    raise ValueError(f"{job.method}: output column(s) {sorted(existing & set(names.values()))} already exist; "
                     "pass prefix='...' to choose other names")


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value if value.strip() else None
    return None if is_missing(value) else str(value)


def _render(template: PromptTemplate, rows: Sequence[dict[str, Any]]) -> list[str | None]:
    """The template filled per row; None where a used value is missing (no request)."""
    return [template.render_or_none(row) for row in rows]


def _embed_settings(settings: Mapping[str, Any], endpoint: str | None) -> dict:
    """The settings of an operator's embedding step: its own ``embed_endpoint`` (not ``endpoint=``,
    which is the ranking or chat server's)."""
    out = {k: v for k, v in settings.items() if k != "endpoint"}
    if endpoint is not None:
        out["endpoint"] = endpoint
    return out


def _embedder(method: str, col: Any, model: str | None, settings: Mapping[str, Any], *,
              dim: int | None = None) -> EmbedJob:
    return _build_embed(method, col, chunking=None, pooling="mean", api=None, normalize=True, truncate=True,
                        dim=dim, dimensions=None, prompt_name=None, encoding_format=None, model=model, parameters=None,
                        prefix=None, settings=settings)


def _embed_texts(job: Job, embedder: EmbedJob, texts: Sequence[Any], labels: Sequence[Any], input_names=()):
    """(matrix, valid rows, errors, outcome) of one embedding pass, within ``job``'s budget."""
    embedder.meter = budget.meter_of(job)
    emb = embedder._embed(list(texts), list(labels), tuple(input_names))
    matrix, valid = embedder._pool(emb)
    return matrix, valid, emb.errors, emb.outcome


def _stage(name: str, call: Call, rows: Sequence[tuple], labels: Any) -> planning.Stage:
    return planning.stage_of(name, planning.plan_pass(call, rows, labels))


def _bound_stage(name: str, call: Call, prompts: Sequence[str], items: int, note: str) -> planning.Stage:
    """An upper-bound stage: at most ``items`` requests, whose prompts are at most the ``items``
    longest of ``prompts`` (the inputs depend on answers of an earlier stage)."""
    rows = planning.plan_pass(call, [(p,) for p in prompts], None)
    stage = planning.stage_of(name, rows)
    biggest = sorted(rows.input_tokens.values(), reverse=True)[:items]
    stage.rows = stage.unique = items
    stage.cached = 0
    size = call.task.batch_size(call)
    stage.requests = math.ceil(items / size) if items else 0
    if call.task.name in planning.TOKEN_TASKS:
        stage.input_tokens = sum(biggest)
        per_reply = planning.reply_tokens(call)
        stage.output_tokens = None if per_reply is None else per_reply * items
        stage.cost, stage.note = None, ""
        planning.price_stage(stage, call)
    stage.exact = False
    stage.note = note + (f"; {stage.note}" if stage.note else "")
    return stage


# ---------------------------------------------------------------------------------------------
# filter


@dataclass
class FilterJob(Job):
    """``filter``: a yes/no chat question per row (one request per unique prompt); the rows answered yes."""

    returns_rows: ClassVar[bool] = True
    template: PromptTemplate | None = None
    return_scores: bool = False

    def output_type(self) -> pa.StructType:
        fields = [pa.field("keep", pa.bool_())] + ([pa.field("score", pa.float64())] if self.return_scores else [])
        return pa.struct(fields + [pa.field(ERROR_FIELD, pa.string())])

    def selected_fields(self) -> list[pa.Field]:
        return [f for f in self.output_type() if f.name == "score"]

    def _prompts(self, columns: Sequence[Sequence[Any]], labels: Sequence[Any] | None, input_names) -> list:
        if self.template is None:
            call = dataclasses.replace(self.calls[0], input_names=tuple(input_names))
            return [require_text(v, call, labels[i] if labels is not None else i)
                    for i, v in enumerate(_as_list(columns[0]))]
        names = self.template.columns
        values = [_as_list(c) for c in columns]
        return _render(self.template, [dict(zip(names, row)) for row in zip(*values)])

    def passes(self, columns, labels=None, input_names=()):
        prompts = self._prompts(columns, labels, input_names)
        return [(self.method, self.calls[0], [(p,) for p in prompts], labels)]

    def _run(self, columns, labels, input_names, error_column) -> tuple[_Judged, list]:
        started = time.perf_counter()
        prompts = self._prompts(columns, labels, input_names)
        n = len(prompts)
        judged = _judge(self, self.calls[0], prompts, _labels(labels, n))
        errors = judged.outcome.errors
        _record(self, started, [(self.method, self.calls[0], judged.outcome)], rows=judged.outcome.rows,
                failed=sum(e is not None for e in errors), kept=sum(a is True for a in judged.answers))
        self._report(errors, labels, error_column)
        return judged, errors

    def run(self, columns, *, labels=None, error_column=ERROR_FIELD, input_names=()) -> pa.StructArray:
        """Every row's ``keep`` (null where unanswered), ``score`` (with ``return_scores``) and ``error``."""
        judged, errors = self._run(columns, labels, input_names, error_column)
        arrays = [pa.array(judged.answers, type=pa.bool_())]
        if self.return_scores:
            arrays.append(pa.array(judged.scores, type=pa.float64()))
        return pa.StructArray.from_arrays(arrays + [pa.array(errors, type=pa.string())],
                                          fields=list(self.output_type()))

    def select(self, columns, *, labels=None, error_column=ERROR_FIELD, input_names=(), frame_labels=None):
        judged, _ = self._run(columns, labels, input_names, error_column)
        keep = np.flatnonzero(np.array([a is True for a in judged.answers], dtype=bool))
        data = [pa.array([judged.scores[i] for i in keep], type=pa.float64())] if self.return_scores else []
        return Selection({None: keep}, pa.StructArray.from_arrays(data, fields=self.selected_fields())
                         if data else pa.StructArray.from_arrays([], fields=[]))


def filter(prompt: Any, system: str | None = None, *, model: str | None = None, return_scores: bool = False,
           prefix: str | None = None, **sampling: Unpack[ChatKwargs]) -> FilterJob:  # noqa: A001 - the operator's name
    """Keep the rows for which a yes/no question holds. One chat request per unique prompt.

    Each row's question is sent with a boolean JSON schema (``{"answer": true|false}``); the rows
    answered true are returned, in their order, with all their columns. Rows whose answer failed
    are left out (and reported like any row error). Requests: one per unique filled-in prompt not
    in the cache (the same prompt is asked once).

    Parameters
    ----------
    prompt : str
        A template over the row's columns, such as ``"Does this review mention a refund? {review}"``,
        or a column of questions.
    system : str, optional
        The system message, instead of the default instruction (answer the question with true or false).
    model : str, optional
        The chat model that answers the yes/no questions; default
        ``meta-llama/Llama-3.1-8B-Instruct`` (chat's).
    return_scores : bool, default False
        Add ``filter_score``, the probability of yes from the answer's logprobs (logprobs are asked
        for; null where the provider returns none).
    prefix : str, optional
        Name the score column ``<prefix>_score`` instead of ``filter_score``.
    dry_run : bool, default False
        Return what the call would send and cost (a :class:`~hf_frame.methods.plan.Plan`: rows,
        unique inputs, cached answers, requests, tokens, dollars) instead of running it; nothing is
        sent. Not on ``Expr.hf``.
    **sampling
        Settings for this call (:class:`~hf_frame.SettingsKwargs`), and chat sampling parameters
        (:class:`~hf_frame.methods.kwargs.ChatKwargs`): any keyword that is not a setting, as for
        ``chat``.

    Returns
    -------
    DataFrame
        The rows answered yes, in their order, with every column, plus with ``return_scores``:

        * ``filter_score`` (double): P(yes).

        The rows are a new frame (pandas: their index kept; ``Series.hf``: the series' rows, ``LazyFrame.hf``: planned).

    Examples
    --------
    >>> df.hf.filter("Does this review mention a refund? {review}")             # doctest: +SKIP
    >>> df.hf.filter("Is it about shipping? {review}", return_scores=True)      # doctest: +SKIP
    """
    settings, extra = split_kwargs(sampling, api=("max_tokens",))
    if isinstance(prompt, str) and is_template(prompt):
        template = PromptTemplate(prompt)
        inputs = [Input(f"prompt {{{c}}}", c) for c in template.columns]
    else:
        template, inputs = None, [Input("prompt", prompt)]
    call = _judge_call(system, model, return_scores, {**extra, **settings})
    return FilterJob(method="filter", calls=[call], inputs=inputs, prefix=prefix or "filter", template=template,
                     return_scores=bool(return_scores))


# ---------------------------------------------------------------------------------------------
# top_k


TOP_K_PROMPT = "Query: {query}\n\nText: {text}\n\nDoes the text match the query?"


@dataclass
class TopKJob(Job):
    """``top_k``: embeddings pre-select candidates, then a reranker or a language model orders them."""

    returns_rows: ClassVar[bool] = True
    row_form: ClassVar[bool] = False
    elementwise: bool = False
    query: str = ""
    k: int = 10
    candidates: int = 40
    rank: str = "llm"
    embedder: EmbedJob | None = None
    ranker: Call | None = None

    def output_type(self) -> pa.StructType:
        return pa.struct([("score", pa.float64()), ("similarity", pa.float64()), (ERROR_FIELD, pa.string())])

    def output_names(self, resolved_names, existing):
        """``score`` (the ranker's) and ``similarity`` (cosine); ``top_k_...`` if taken; ``<prefix>_...``."""
        return _plain_names(self, ["score", "similarity"], existing)

    def _texts(self, columns) -> list[str | None]:
        values = columns[0] if columns else []
        if column_vectors(values) is not None:
            raise TypeError("top_k: the column holds vectors; pass the text column (the ranker reads the texts; "
                            "their embeddings come from the cache when embed computed them)")
        return [_text(v) for v in _as_list(values)]

    def _rank_rows(self, texts: Sequence[str]) -> list[tuple]:
        if self.rank == "rerank":
            return [(t,) for t in texts]
        return [(TOP_K_PROMPT.format(query=self.query, text=t),) for t in texts]

    def select(self, columns, *, labels=None, error_column=ERROR_FIELD, input_names=(), frame_labels=None):
        started = time.perf_counter()
        texts = self._texts(columns)
        n = len(texts)
        labels_ = _labels(labels, n)
        matrix, valid, errors, embedded = _embed_texts(self, self.embedder, texts + [self.query],
                                                       labels_ + ["query"], input_names)
        if not valid[-1]:
            raise RowErrors({"query": errors[-1] or "no vector"}, column="query", total=1)
        cosine = cosine_scores(matrix[-1], matrix[:-1], valid[:-1])
        chosen, similarity = top_k_from_scores(cosine, self.candidates)
        rows = self._rank_rows([texts[i] for i in chosen])
        outcome = budget.run(self, self.ranker, rows, [labels_[i] for i in chosen])
        if self.rank == "rerank":
            scores = np.array([np.nan if r is None else float(r) for r in outcome.results])
        else:
            scores = np.array([np.nan if r is None else (r.get("p_true") if r.get("p_true") is not None
                                                         else float(bool(r["value"]["answer"])))
                               for r in outcome.results], dtype=np.float64)
        ranked = ~np.isnan(scores)
        order = np.lexsort((chosen, -similarity, -np.where(ranked, scores, -np.inf)))
        order = order[ranked[order]][: self.k]
        row_errors = list(errors[:-1])
        for j, i in enumerate(chosen):
            row_errors[i] = row_errors[i] or outcome.errors[j]
        _record(self, started, [("embed", self.embedder.calls[0], embedded), (self.rank, self.ranker, outcome)],
                rows=int(valid[:-1].sum()), failed=sum(e is not None for e in row_errors), candidates=len(chosen))
        self._report(row_errors, labels, error_column)
        data = pa.StructArray.from_arrays([pa.array(scores[order], type=pa.float64()),
                                           pa.array(similarity[order], type=pa.float64())],
                                          fields=self.selected_fields())
        return Selection({None: chosen[order]}, data)

    def plan(self, columns, *, labels=None, input_names=(), frame_labels=None) -> planning.Plan:
        texts = self._texts(columns)
        n = len(texts)
        self.embedder.meter = budget.meter_of(self)
        embed = self.embedder.passes([texts + [self.query]], _labels(labels, n) + ["query"], input_names)
        stages = [_stage("embed", call, rows, lab) for _, call, rows, lab in embed]
        present = [t for t in texts if t is not None]
        items = min(self.candidates, len(present))
        stages.append(_bound_stage(self.rank, self.ranker, [r[0] for r in self._rank_rows(present)], items,
                                   f"the {items} candidates closest to the query"))
        return planning.Plan(self.method, n, stages, planning.budgets_of(self.settings))


def top_k(query: str, k: int, col: Any, *, candidates: int | None = None, rank: str = "auto",
          model: str | None = None, system: str | None = None, embed_model: str | None = None,
          embed_endpoint: str | None = None, prefix: str | None = None, **settings: Unpack[ChatKwargs]) -> TopKJob:
    """The ``k`` rows of ``col`` that best match ``query``, best first, with ``score`` and ``similarity``.

    The cheap path first: every row and the query are embedded (``embed_model``, batched and
    cached like ``embed``), the ``candidates`` rows most similar to the query are pre-selected, and
    only those are ordered by ``rank``. Requests: ceil((uncached texts + the query) / batch_size)
    for the embeddings, then for the C = min(candidates, rows with text) candidates
    ceil(C / batch_size) to the reranker or C chat requests (cached ones are free).

    Parameters
    ----------
    query : str
        What the rows should match (not empty).
    k : int
        How many rows to return.
    col : str
        The text column (on ``Series.hf`` the series itself is this input).
    candidates : int, optional
        How many rows the embeddings pre-select for the ranker (default: max(4 k, 20); at least ``k``).
    rank : {"auto", "rerank", "llm"}, default "auto"
        Who orders the candidates: ``rerank`` (a reranker at the endpoint, TEI or Cohere-style, as
        ``rerank``; ``score`` is its relevance), ``llm`` (a chat model asked whether each candidate
        matches; ``score`` is P(yes), or 1/0 when the provider returns no logprobs), or ``auto``
        (``rerank`` when an endpoint is set, else ``llm``).
    model : str, optional
        The ranker's model: the chat model with ``llm`` (default chat's,
        ``meta-llama/Llama-3.1-8B-Instruct``), sent to the reranker with ``rerank``.
    system : str, optional
        The system message of the chat model's yes/no questions (``llm`` only).
    embed_model : str, optional
        The embedding model of the pre-selection (default ``sentence-transformers/all-MiniLM-L6-v2``, embed's).
    embed_endpoint : str, optional
        A server of your own for the embeddings (``endpoint`` is the ranker's server's).
    prefix : str, optional
        Name the columns ``<prefix>_score`` and ``<prefix>_similarity``.
    dry_run : bool, default False
        Return what the call would send and cost (a :class:`~hf_frame.methods.plan.Plan`: rows,
        unique inputs, cached answers, requests, tokens, dollars) instead of running it; nothing is
        sent. Not on ``Expr.hf``.
    **settings
        Settings for this call (:class:`~hf_frame.SettingsKwargs`); with ``llm``, also chat sampling
        parameters (:class:`~hf_frame.methods.kwargs.ChatKwargs`).

    Returns
    -------
    DataFrame
        The ``k`` best rows of the frame, best first, with every column, plus (``top_k_score``,
        ``top_k_similarity`` when the names are taken):

        * ``score`` (double): the ranker's score;
        * ``similarity`` (double): the cosine of the row's embedding with the query's.

        The rows are a new frame (pandas: their index kept; ``Series.hf``: the series' rows, ``LazyFrame.hf``: planned).

    Examples
    --------
    >>> df.hf.top_k("broken on arrival", 5, "review")                            # doctest: +SKIP
    >>> df.hf.top_k("refund", 10, "review", rank="rerank", endpoint="http://localhost:8081")  # doctest: +SKIP
    """
    checks.non_empty_text("top_k", "query", query)
    checks.positive_int("top_k", "k", k, allow_none=False)
    checks.positive_int("top_k", "candidates", candidates)
    settings, extra = split_kwargs(settings, api=("max_tokens",))
    if rank not in ("auto", "rerank", "llm"):
        raise ValueError(f"top_k: rank must be 'auto', 'rerank' or 'llm', got {rank!r}")
    resolved = resolve_settings(**settings)
    if rank == "auto":
        rank = "rerank" if resolved.endpoint else "llm"
    candidates = candidates or max(4 * k, 20)
    if candidates < k:
        raise ValueError(f"top_k: candidates={candidates} is smaller than k={k}")
    embedder = _embedder("top_k", col, embed_model, _embed_settings(settings, embed_endpoint))
    if rank == "rerank":
        if extra:
            raise TypeError(f"top_k: unexpected keyword argument(s) {sorted(extra)} (rank='rerank')")
        ranker = rerank(query, col, model=model, **settings).calls[0]
    else:
        ranker = _judge_call(system, model, True, {**extra, **settings})
    return TopKJob(method="top_k", calls=[embedder.calls[0]], inputs=[Input("col", col)], prefix=prefix, query=query,
                   k=k, candidates=candidates, rank=rank, embedder=embedder, ranker=ranker)


top_k.series_arg = "col"  # s.hf.top_k("query", 5): the Series is ``col``


# ---------------------------------------------------------------------------------------------
# join


_QUALIFIED = re.compile(r"^(left|right)\.(.+)$")


def _columns_of(frame: Any) -> list[str]:
    """Column names of a pandas/polars frame, a polars LazyFrame or a dict of columns."""
    schema = getattr(frame, "collect_schema", None)
    if callable(schema):
        return list(schema().names())
    if isinstance(frame, dict):
        return list(frame)
    columns = getattr(frame, "columns", None)
    if columns is None:
        raise TypeError(f"join: right must be a DataFrame, a polars LazyFrame or a dict of columns, "
                        f"got {type(frame).__name__}")
    return [str(c) for c in columns]


@dataclass
class JoinJob(Job):
    """``join``: pairs of left and right rows for which a prompt over both holds; embedding nearest
    neighbours choose the pairs asked about (``exhaustive``: every pair)."""

    returns_rows: ClassVar[bool] = True
    row_form: ClassVar[bool] = False
    elementwise: bool = False
    template: PromptTemplate | None = None
    placeholders: list[tuple[str, str | None, str]] = field(default_factory=list)  # (text, frame or "?", column)
    on_left: Any = None
    on_right: Any = None
    k: int = 3
    exhaustive: bool = False
    return_scores: bool = False
    embedder: EmbedJob | None = None

    def output_type(self) -> pa.StructType:
        fields = [pa.field("score", pa.float64())] if self.return_scores else []
        return pa.struct(fields + [pa.field(ERROR_FIELD, pa.string())])

    def bind_frames(self, columns: dict[str | None, Sequence[str]]) -> JoinJob:
        """Inputs from the frames' columns: ``{name}`` is the left frame's column (the right's when
        only it has one); ``{left.name}`` / ``{right.name}`` say which."""
        left, right = list(map(str, columns[None])), list(map(str, columns["right"]))
        bound = []
        for text, side, column in self.placeholders:
            if side == "?":
                if column in left:
                    side = None
                elif column in right:
                    side = "right"
                else:
                    raise MissingColumnError(
                        f"join: the prompt uses {{{text}}}, a column of neither frame; the left frame has {left}, "
                        f"the right frame has {right}", [column])
            elif column not in (left if side is None else right):
                which, names = ("left", left) if side is None else ("right", right)
                raise MissingColumnError(f"join: the prompt uses {{{text}}}, but the {which} frame has no column "
                                         f"{column!r}; it has {names}", [column])
            bound.append((text, side, column))
        sides = {side for _, side, _ in bound}
        if sides != {None, "right"}:
            raise TemplateError(f"join: the prompt must use columns of both frames (e.g. {{review}} and "
                                f"{{right.product}}); {self.template.template!r} uses only the "
                                f"{'left' if None in sides else 'right'} frame's")
        on_left = self.on_left or next(c for _, s, c in bound if s is None)
        on_right = self.on_right or next(c for _, s, c in bound if s == "right")
        inputs = [Input(f"prompt {{{text}}}", column, frame=side) for text, side, column in bound]
        if not self.exhaustive:
            inputs += [Input("on_left", on_left), Input("on_right", on_right, frame="right")]
        return dataclasses.replace(self, inputs=inputs, placeholders=bound, on_left=on_left, on_right=on_right)

    def _sides(self, columns: Sequence[Sequence[Any]]):
        """(left rows, right rows) as dicts placeholder -> value, and the left / right texts to embed."""
        values = [_as_list(c) for c in columns]
        p = len(self.placeholders)
        left = [(text, values[i]) for i, (text, side, _) in enumerate(self.placeholders) if side is None]
        right = [(text, values[i]) for i, (text, side, _) in enumerate(self.placeholders) if side == "right"]
        n, m = len(left[0][1]), len(right[0][1])
        lrows = [{t: v[i] for t, v in left} for i in range(n)]
        rrows = [{t: v[j] for t, v in right} for j in range(m)]
        texts = ([_text(v) for v in values[p]], [_text(v) for v in values[p + 1]]) if not self.exhaustive else None
        return lrows, rrows, texts

    def _pairs(self, lrows, rrows, texts, labels, frame_labels, input_names):
        """Candidate pairs ``(left positions, right positions)`` and the embedding outcome (None: exhaustive)."""
        n, m = len(lrows), len(rrows)
        if self.exhaustive:
            li, rj = np.divmod(np.arange(n * m, dtype=np.int64), m)
            return li, rj, None, [None] * n
        ltexts, rtexts = texts
        right_labels = _labels((frame_labels or {}).get("right"), m)
        matrix, valid, errors, outcome = _embed_texts(
            self, self.embedder, ltexts + rtexts,
            [("left", x) for x in _labels(labels, n)] + [("right", x) for x in right_labels])
        li, rj, _ = nearest(matrix[:n], matrix[n:], self.k, valid[:n], valid[n:])
        return li, rj, outcome, errors[:n]

    def _prompts(self, lrows, rrows, li, rj) -> list[str | None]:
        return [self.template.render_or_none({**lrows[i], **rrows[j]}) for i, j in zip(li.tolist(), rj.tolist())]

    def select(self, columns, *, labels=None, error_column=ERROR_FIELD, input_names=(), frame_labels=None):
        started = time.perf_counter()
        lrows, rrows, texts = self._sides(columns)
        li, rj, embedded, left_errors = self._pairs(lrows, rrows, texts, labels, frame_labels, input_names)
        left_labels = _labels(labels, len(lrows))
        right_labels = _labels((frame_labels or {}).get("right"), len(rrows))
        pair_labels = [(left_labels[i], right_labels[j]) for i, j in zip(li.tolist(), rj.tolist())]
        judged = _judge(self, self.calls[0], self._prompts(lrows, rrows, li, rj), pair_labels)
        keep = np.array([a is True for a in judged.answers], dtype=bool)
        parts = ([("embed", self.embedder.calls[0], embedded)] if embedded is not None else []) + [
            ("chat", self.calls[0], judged.outcome)]
        errors = {pair_labels[j]: e for j, e in enumerate(judged.outcome.errors) if e is not None}
        errors.update({(left_labels[i], None): e for i, e in enumerate(left_errors) if e is not None})
        _record(self, started, parts, rows=len(lrows), failed=len(errors), pairs=len(li), matched=int(keep.sum()))
        self._report(list(errors.values()) + [None] * max(0, len(li) - len(errors)), list(errors), error_column)
        data = [pa.array(np.asarray(judged.scores, dtype=object)[keep].tolist(), type=pa.float64())] \
            if self.return_scores else []
        struct = pa.StructArray.from_arrays(data, fields=self.selected_fields()) if data else \
            pa.StructArray.from_arrays([], fields=[])
        return Selection({None: li[keep], "right": rj[keep]}, struct, keep_index=False)

    def plan(self, columns, *, labels=None, input_names=(), frame_labels=None) -> planning.Plan:
        lrows, rrows, texts = self._sides(columns)
        n, m = len(lrows), len(rrows)
        stages = []
        if self.exhaustive:
            li, rj = np.divmod(np.arange(n * m, dtype=np.int64), m)
            stage = _stage("chat", self.calls[0], [(p,) for p in self._prompts(lrows, rrows, li, rj)], None)
            stage.note = f"exhaustive: every one of the {n:,} x {m:,} = {n * m:,} pairs"
            stages.append(stage)
        else:
            self.embedder.meter = budget.meter_of(self)
            ltexts, rtexts = texts
            stages.append(_stage("embed", self.embedder.calls[0], [(t,) for t in ltexts + rtexts], None))
            present = sum(t is not None for t in ltexts)
            k = min(self.k, sum(t is not None for t in rtexts))
            # Upper bound of the prompts: each left row with its k longest right rows.
            longest = sorted(range(m), key=lambda j: -sum(len(str(v)) for v in rrows[j].values()))[:k]
            prompts = [p for p in (self.template.render_or_none({**row, **rrows[j]}) for row in lrows
                                   for j in longest) if p is not None]
            stages.append(_bound_stage("chat", self.calls[0], prompts, present * k,
                                       f"at most {k} nearest right rows for each of {present:,} left rows "
                                       f"(exhaustive=True would ask {n * m:,} pairs)"))
        return planning.Plan(self.method, n, stages, planning.budgets_of(self.settings))


def join(right: Any, prompt: str, *, on_left: str | None = None, on_right: str | None = None, k: int = 3,
         exhaustive: bool = False, system: str | None = None, model: str | None = None, embed_model: str | None = None,
         embed_endpoint: str | None = None, return_scores: bool = False, prefix: str | None = None,
         **sampling: Unpack[ChatKwargs]) -> JoinJob:
    """Pairs of rows of this frame and ``right`` for which a yes/no question over both holds.

    The pairs asked about are pruned first: ``on_left`` and ``on_right`` are embedded (batched,
    cached), and each left row is paired with its ``k`` most similar right rows. Only those pairs
    are sent, one chat request per unique prompt: at most ``k`` x (left rows), never the cross
    product unless ``exhaustive=True`` (``dry_run=True`` shows the count first).

    Parameters
    ----------
    right : DataFrame
        The other frame (pandas or polars, as this one).
    prompt : str
        A template over both frames: ``{name}`` is a column of this (the left) frame, or of
        ``right`` when only it has one; ``{left.name}`` and ``{right.name}`` say which, e.g.
        ``"Is the review {review} about {right.name}?"``.
    on_left, on_right : str, optional
        The columns embedded to choose the pairs (default: the first column of each frame the
        prompt uses). On ``Series.hf`` the series itself is ``on_left``.
    k : int, default 3
        How many nearest right rows each left row is paired with.
    exhaustive : bool, default False
        Ask about every pair (left rows x right rows requests), with no embeddings.
    system : str, optional
        The system message of the yes/no questions.
    model : str, optional
        The chat model that answers the yes/no questions; default
        ``meta-llama/Llama-3.1-8B-Instruct`` (chat's).
    embed_model : str, optional
        The embedding model that chooses the pairs (default ``sentence-transformers/all-MiniLM-L6-v2``, embed's).
    embed_endpoint : str, optional
        A server of your own for the embeddings (``endpoint`` is the chat server's).
    return_scores : bool, default False
        Add ``join_score``, the probability of yes from the answer's logprobs (null where the
        provider returns none).
    prefix : str, optional
        Name the score column ``<prefix>_score`` instead of ``join_score``.
    dry_run : bool, default False
        Return what the call would send and cost (a :class:`~hf_frame.methods.plan.Plan`: rows,
        unique inputs, cached answers, requests, tokens, dollars) instead of running it; nothing is
        sent. Not on ``Expr.hf``.
    **sampling
        Settings for this call (:class:`~hf_frame.SettingsKwargs`), and chat sampling parameters
        (:class:`~hf_frame.methods.kwargs.ChatKwargs`): any keyword that is not a setting, as for
        ``chat``.

    Returns
    -------
    DataFrame
        One row per pair answered yes: the left columns, then the right columns (a name both frames
        have gets ``_right``), plus with ``return_scores``:

        * ``join_score`` (double): P(yes).

    Examples
    --------
    >>> reviews.hf.join(products, "Is the review {review} about {right.name}?")          # doctest: +SKIP
    >>> reviews.hf.join(products, "...", exhaustive=True, dry_run=True).requests          # doctest: +SKIP
    """
    checks.positive_int("join", "k", k, allow_none=False)
    if not isinstance(prompt, str) or not is_template(prompt):
        raise TemplateError(f"join: prompt must be a template over both frames, e.g. "
                            f"'Is {{review}} about {{right.product}}?', got {prompt!r}")
    template = PromptTemplate(prompt)
    right_columns = _columns_of(right)
    placeholders = []
    for text in template.columns:
        qualified = _QUALIFIED.match(text)
        if qualified:
            placeholders.append((text, None if qualified[1] == "left" else "right", qualified[2]))
        else:
            placeholders.append((text, "?", text))
    if on_right is not None and on_right not in right_columns:
        raise MissingColumnError(f"join: on_right={on_right!r} is not a column of the right frame; it has "
                                 f"{right_columns}", [on_right])
    settings, extra = split_kwargs(sampling, api=("max_tokens",))
    call = _judge_call(system, model, return_scores, {**extra, **settings})
    embedder = None if exhaustive else _embedder("join", on_left, embed_model, _embed_settings(settings, embed_endpoint))
    return JoinJob(method="join", calls=[call], inputs=[], prefix=prefix or "join", frames={"right": right},
                   template=template, placeholders=placeholders, on_left=on_left, on_right=on_right, k=k,
                   exhaustive=bool(exhaustive), return_scores=bool(return_scores), embedder=embedder)


join.series_arg = "on_left"  # s.hf.join(right, prompt): the Series is the left side


# ---------------------------------------------------------------------------------------------
# dedup and cluster: columns per row from the embeddings


@dataclass
class DedupJob(EmbedJob):
    """``dedup``: rows whose embeddings are within ``threshold`` cosine share a cluster id."""

    threshold: float = 0.9
    elementwise: bool = False  # ids compare rows: the whole column at once

    def output_type(self) -> pa.StructType:
        return pa.struct([("cluster", pa.int64()), (ERROR_FIELD, pa.string())])

    def run(self, columns, *, labels=None, error_column=ERROR_FIELD, input_names=()) -> pa.StructArray:
        started = time.perf_counter()
        values = _as_list(columns[0]) if columns else []
        emb = self._embed(values, labels, input_names)
        matrix, valid = self._pool(emb)
        ids = np.zeros(len(values), dtype=np.int64)
        rows = np.flatnonzero(valid)
        if len(rows):
            # equal texts have equal vectors: compare each distinct text once
            first: dict[str, int] = {}
            reps: list[int] = []
            distinct = np.empty(len(rows), dtype=np.int64)
            for j, i in enumerate(rows.tolist()):
                d = first.setdefault(values[i], len(first))
                if d == len(reps):
                    reps.append(i)
                distinct[j] = d
            roots = near_duplicates(matrix[np.asarray(reps, dtype=np.int64)], self.threshold)[distinct]
            _, ids[rows] = np.unique(roots, return_inverse=True)
        self._record(emb)
        runtime.update_last_run(groups=int(len(np.unique(ids[valid]))) if valid.any() else 0)
        self.log_summary(started)
        self._report(emb.errors, labels, error_column)
        return pa.StructArray.from_arrays([pa.array(ids, mask=~valid), pa.array(emb.errors, type=pa.string())],
                                          fields=list(self.output_type()))


def dedup(col: Any, *, threshold: float = 0.9, model: str | None = None, dim: int | None = None,
          prefix: str | None = None, **settings: Unpack[SettingsKwargs]) -> DedupJob:
    """Group near-duplicate texts: rows with the same ``<col>_cluster`` id are duplicates.

    Texts are embedded (batched, cached, shared with ``embed``); two rows are duplicates when the
    cosine of their embeddings is at least ``threshold``, and duplicates of duplicates share the id
    (connected components). Requests: ceil(uncached unique texts / batch_size), nothing else (the
    comparison is numpy on this machine, in blocks, each distinct text once). Keep one row per
    group with ``df.drop_duplicates("<col>_cluster")`` (pandas) or ``df.unique("<col>_cluster",
    keep="first", maintain_order=True)`` (polars).

    Parameters
    ----------
    col : str
        The text column (or a Series of as many rows). On ``Series.hf`` and ``Expr.hf`` the
        series or expression itself is this input. Missing values and empty strings give null
        outputs and send nothing.
    threshold : float, default 0.9
        The smallest cosine between two duplicates' embeddings, from -1 to 1.
    model : str, optional
        A Hub model id (with ``provider="local"`` also a local directory); default
        ``sentence-transformers/all-MiniLM-L6-v2``.
    dim : int, optional
        The vector size, declared so that the embeddings' type is known before anything is sent.
    prefix : str, optional
        The output columns' prefix, instead of the input column's name.
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
        The frame with these columns added, named ``<col>_<field>``, of the Arrow types below
        (``pd.ArrowDtype`` in pandas, the matching dtypes in polars). ``Series.hf`` returns the
        fields alone, ``LazyFrame.hf`` adds them to the plan, ``Expr.hf`` is one struct of them:

        * ``cluster`` (int64): the group id, numbered from 0 in order of first appearance; null for
          rows without a text;
        * ``error`` (string): null, or why the row failed.

    Examples
    --------
    >>> df.hf.dedup("review", threshold=0.95).drop_duplicates("review_cluster")   # doctest: +SKIP
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not -1 <= threshold <= 1:
        raise ValueError(f"dedup: threshold must be a cosine between -1 and 1, got {threshold!r}")
    base = _embedder("dedup", col, model, settings, dim=dim)
    return DedupJob(method="dedup", calls=base.calls, inputs=base.inputs, prefix=prefix, output_call=base.output_call,
                    threshold=float(threshold))


NAME_PROMPT = ("Here are texts from one group of a collection:\n{texts}\n\n"
               "Name what they have in common, in a few words.")
_NAME_SCHEMA = {"name": str}
_NAME_EXAMPLES = 8  # texts closest to a cluster's center shown to the model
_NAME_CHARS = 300


@dataclass
class ClusterJob(EmbedJob):
    """``cluster``: k-means on the embeddings; optionally a chat model names each cluster."""

    k: int = 8
    seed: int = 0
    namer: Call | None = None
    elementwise: bool = False

    def output_type(self) -> pa.StructType:
        fields = [pa.field("cluster", pa.int64())] + ([pa.field("cluster_name", pa.string())] if self.namer else [])
        return pa.struct(fields + [pa.field(ERROR_FIELD, pa.string())])

    def _name_prompts(self, values: Sequence[Any], matrix: np.ndarray, rows: np.ndarray, ids: np.ndarray) -> list[str]:
        x = _unit_rows(matrix[rows])
        prompts = []
        for c in range(self.k):
            members = np.flatnonzero(ids == c)
            center = x[members].mean(axis=0)
            order = members[np.argsort(-(x[members] @ center), kind="stable")]
            shown = list(dict.fromkeys(str(values[rows[i]])[:_NAME_CHARS] for i in order))[:_NAME_EXAMPLES]
            prompts.append(NAME_PROMPT.format(texts="\n".join(f"- {t}" for t in shown)))
        return prompts

    def run(self, columns, *, labels=None, error_column=ERROR_FIELD, input_names=()) -> pa.StructArray:
        started = time.perf_counter()
        values = _as_list(columns[0]) if columns else []
        emb = self._embed(values, labels, input_names)
        matrix, valid = self._pool(emb)
        rows = np.flatnonzero(valid)
        if len(rows) < self.k:
            raise ValueError(f"cluster: k={self.k} clusters need at least {self.k} rows with a vector; "
                             f"{len(rows)} of {len(values)} rows have one")
        ids = np.zeros(len(values), dtype=np.int64)
        ids[rows] = kmeans(_unit_rows(matrix[rows]), self.k, seed=self.seed)
        arrays = [pa.array(ids, mask=~valid)]
        parts = [("embed", self.calls[0], emb.outcome)]
        if self.namer is not None:
            prompts = self._name_prompts(values, matrix, rows, ids[rows])
            outcome = budget.run(self, self.namer, [(p,) for p in prompts], [f"cluster {c}" for c in range(self.k)])
            names = [r["value"]["name"] if r else None for r in outcome.results]
            arrays.append(pa.array([names[i] if valid[r] else None for r, i in enumerate(ids)], type=pa.string()))
            parts.append(("names", self.namer, outcome))
        errors = list(emb.errors)
        _record(self, started, parts, rows=emb.rows, failed=sum(e is not None for e in errors), chunks=len(emb.chunks))
        self._report(errors, labels, error_column)
        return pa.StructArray.from_arrays(arrays + [pa.array(errors, type=pa.string())], fields=list(self.output_type()))

    def plan(self, columns, *, labels=None, input_names=(), frame_labels=None) -> planning.Plan:
        base = super().plan(columns, labels=labels, input_names=input_names)
        if self.namer is not None:
            texts = [str(v)[:_NAME_CHARS] for v in _as_list(columns[0]) if _text(v) is not None]
            longest = sorted(texts, key=len, reverse=True)[:_NAME_EXAMPLES]
            prompt = NAME_PROMPT.format(texts="\n".join(f"- {t}" for t in longest))
            base.stages.append(_bound_stage("names", self.namer, [prompt] * self.k, self.k,
                                            f"one per cluster ({self.k})"))
        return base


def cluster(col: Any, k: int, *, name_clusters: bool = False, seed: int = 0, model: str | None = None,
            name_model: str | None = None, dim: int | None = None, prefix: str | None = None,
            **settings: Unpack[SettingsKwargs]) -> ClusterJob:
    """Topical clusters of a text column: k-means on its embeddings, ``k`` clusters.

    Texts are embedded (``model``; batched, cached, shared with ``embed``), and the unit vectors
    clustered with k-means (scikit-learn's ``KMeans`` when it is installed, else numpy's k-means++
    and Lloyd iterations). Requests: ceil(uncached unique texts / batch_size) for the embeddings,
    plus k chat requests with ``name_clusters``.

    Parameters
    ----------
    col : str
        The text column (or a Series of as many rows). On ``Series.hf`` and ``Expr.hf`` the
        series or expression itself is this input. Missing values and empty strings give null
        outputs and send nothing.
    k : int
        How many clusters (at least as many rows need a text).
    name_clusters : bool, default False
        Add a name per cluster, from a chat model shown the texts closest to its center.
    seed : int, default 0
        The seed of k-means (the same seed gives the same clusters).
    model : str, optional
        A Hub model id (with ``provider="local"`` also a local directory); default
        ``sentence-transformers/all-MiniLM-L6-v2``.
    name_model : str, optional
        The chat model that names the clusters (default: chat's, ``meta-llama/Llama-3.1-8B-Instruct``).
    dim : int, optional
        The vector size, declared so that the embeddings' type is known before anything is sent.
    prefix : str, optional
        The output columns' prefix, instead of the input column's name.
    dry_run : bool, default False
        Return what the call would send and cost (a :class:`~hf_frame.methods.plan.Plan`: rows,
        unique inputs, cached answers, requests, tokens, dollars) instead of running it; nothing is
        sent. Not on ``Expr.hf``.
    **settings
        Settings for this call (:class:`~hf_frame.SettingsKwargs`); with ``name_clusters``, also chat
        sampling parameters for the naming requests (``seed`` is k-means').

    Returns
    -------
    DataFrame
        The frame with these columns added, named ``<col>_<field>``, of the Arrow types below
        (``pd.ArrowDtype`` in pandas, the matching dtypes in polars). ``Series.hf`` returns the
        fields alone, ``LazyFrame.hf`` adds them to the plan, ``Expr.hf`` is one struct of them:

        * ``cluster`` (int64): 0 to k-1, numbered in order of first appearance; null for rows
          without a text;
        * ``cluster_name`` (string): only with ``name_clusters``;
        * ``error`` (string): null, or why the row failed.

    Examples
    --------
    >>> df.hf.cluster("review", 5, name_clusters=True)                           # doctest: +SKIP
    """
    checks.positive_int("cluster", "k", k, allow_none=False)
    settings, extra = split_kwargs(settings, api=("max_tokens",))
    namer = None
    if name_clusters:  # the names come from the router (endpoint= is the embeddings' server)
        namer = chat("prompt", model=name_model, json_schema=_NAME_SCHEMA, **extra,
                     **_embed_settings(settings, None)).calls[0]
        namer = dataclasses.replace(namer, view={**namer.view, "reply_tokens": 16})
    elif extra:
        raise TypeError(f"cluster() got unexpected keyword argument(s) {sorted(extra)}")
    base = _embedder("cluster", col, model, settings, dim=dim)
    return ClusterJob(method="cluster", calls=base.calls, inputs=base.inputs, prefix=prefix,
                      output_call=base.output_call, k=k, seed=int(seed), namer=namer)


# ---------------------------------------------------------------------------------------------
# agg


AGG_ROWS = "{instruction}\n\nThe rows ({column}), one per line:\n{items}"
AGG_COMBINE = ("{instruction}\n\nAnswer it by combining these partial answers, each written from a part of the "
               "rows:\n{items}")


@dataclass
class _Piece:
    group: int
    text: str


@dataclass
class AggJob(Job):
    """``agg``: one answer per group, by packing rows into prompts and combining the answers."""

    returns_rows: ClassVar[bool] = True
    row_form: ClassVar[bool] = False
    elementwise: bool = False
    instruction: str = ""
    column: str = ""
    by: list[str] = field(default_factory=list)
    context_tokens: int | None = None

    def output_type(self) -> pa.StructType:
        return pa.struct([("answer", pa.string()), ("count", pa.int64()), (ERROR_FIELD, pa.string())])

    def selected_fields(self) -> list[pa.Field]:
        return list(self.output_type())

    def carried(self, frame, columns):
        return list(self.by)

    def _groups(self, columns) -> tuple[list[int], list[list[str]]]:
        """(first row of each group, its texts), groups in order of first appearance."""
        texts = [_text(v) for v in _as_list(columns[0])]
        keys = list(zip(*[[None if is_missing(v) else v for v in _as_list(c)] for c in columns[1:]])) \
            if self.by else [()] * len(texts)
        order: dict[Any, int] = {}
        firsts: list[int] = []
        members: list[list[str]] = []
        for i, (key, text) in enumerate(zip(keys, texts)):
            g = order.get(key)
            if g is None:
                g = order[key] = len(firsts)
                firsts.append(i)
                members.append([])
            if text is not None:
                members[g].append(text)
        if not self.by and not firsts:
            firsts, members = [0], [[]]
        return firsts, members

    def _budget(self) -> tuple[int, int]:
        """(tokens a prompt's items may take, tokens a reply may take)."""
        call = self.calls[0]
        reply = planning.reply_tokens(call) or AGG_REPLY_TOKENS
        context = self.context_tokens
        if context is None:
            known = [p.context_length for p in planning.call_prices(call) if p.context_length]
            context = min(known) if known else DEFAULT_CONTEXT
        fixed = tokens.prompt_tokens([[{"role": "user", "content": AGG_COMBINE.format(
            instruction=self.instruction, items="", column=self.column)}]], call.model)[0][0]
        room = context - reply - fixed - 64
        if room < 64:
            raise ValueError(f"agg: the model's context ({context} tokens) leaves no room for rows after the "
                             f"instruction and a {reply}-token reply; pass context_tokens= or a smaller max_tokens=")
        return room, reply

    def _pack(self, pieces: list[_Piece], room: int, combine: bool) -> list[tuple[int, str]]:
        """Prompts ``(group, text)`` holding the pieces in order, each within ``room`` tokens; when
        combining, at least two pieces per prompt (pieces cut to fit) so that every level halves."""
        counts, _ = tokens.count([p.text for p in pieces], self.calls[0].model)
        prompts: list[tuple[int, str]] = []
        i = 0
        while i < len(pieces):
            group = pieces[i].group
            items: list[str] = []
            used = 0
            while i < len(pieces) and pieces[i].group == group:
                cost = counts[i] + 2
                must = combine and len(items) < 2
                if items and used + cost > room and not must:
                    break
                text = pieces[i].text
                share = room // 2 if combine else room
                if cost > share and (must or not items):  # too long for a prompt of its own: cut to fit
                    text = text[: max(1, int(len(text) * share / cost))] + "…"
                    cost = share
                items.append(text)
                used += cost
                i += 1
            template = AGG_COMBINE if combine else AGG_ROWS
            body = "\n".join(f"{n}. {t}" for n, t in enumerate(items, 1))
            prompts.append((group, template.format(instruction=self.instruction, column=self.column, items=body)))
        return prompts

    def select(self, columns, *, labels=None, error_column=ERROR_FIELD, input_names=(), frame_labels=None):
        started = time.perf_counter()
        firsts, members = self._groups(columns)
        room, _ = self._budget()
        call = self.calls[0]
        pieces = [_Piece(g, t) for g, texts in enumerate(members) for t in texts]
        answers: list[str | None] = [None] * len(firsts)
        errors: list[str | None] = [None] * len(firsts)
        parts = []
        level = 0
        while pieces:
            prompts = self._pack(pieces, room, combine=level > 0)
            outcome = budget.run(self, call, [(p,) for _, p in prompts],
                                 [f"group {g}, level {level}" for g, _ in prompts])
            parts.append((f"level {level}", call, outcome))
            done: dict[int, list[int]] = {}
            for j, (g, _) in enumerate(prompts):
                done.setdefault(g, []).append(j)
            pieces = []
            for g, js in done.items():
                failed = next((outcome.errors[j] for j in js if outcome.errors[j]), None)
                if failed:
                    errors[g] = f"level {level}: {failed}"
                elif len(js) == 1:
                    answers[g] = outcome.results[js[0]]["reply"]
                else:
                    pieces += [_Piece(g, outcome.results[j]["reply"]) for j in js]
            level += 1
        _record(self, started, parts, rows=sum(len(m) for m in members), failed=sum(e is not None for e in errors),
                groups=len(firsts), levels=level)
        self._report(errors, [f"group {g}" for g in range(len(firsts))], error_column)
        data = pa.StructArray.from_arrays(
            [pa.array(answers, type=pa.string()), pa.array([len(m) for m in members], type=pa.int64()),
             pa.array(errors, type=pa.string())], fields=self.selected_fields())
        return Selection({None: np.asarray(firsts, dtype=np.int64)}, data, keep_index=False)

    def plan(self, columns, *, labels=None, input_names=(), frame_labels=None) -> planning.Plan:
        firsts, members = self._groups(columns)
        room, reply = self._budget()
        call = self.calls[0]
        pieces = [_Piece(g, t) for g, texts in enumerate(members) for t in texts]
        prompts = self._pack(pieces, room, combine=False)
        stages = [_stage("level 0", call, [(p,) for _, p in prompts], None)]
        level, filler = 1, "word " * reply
        per_group: dict[int, int] = {}
        for g, _ in prompts:
            per_group[g] = per_group.get(g, 0) + 1
        while any(n > 1 for n in per_group.values()):  # each answer assumed as long as a reply may be
            upper = [_Piece(g, filler) for g, n in per_group.items() if n > 1 for _ in range(n)]
            packed = self._pack(upper, room, combine=True)
            stages.append(_bound_stage(f"level {level}", call, [p for _, p in packed], len(packed),
                                       f"combines the answers of level {level - 1} (each at most {reply} tokens)"))
            per_group = {}
            for g, _ in packed:
                per_group[g] = per_group.get(g, 0) + 1
            level += 1
        return planning.Plan(self.method, len(_as_list(columns[0])) if columns else 0, stages,
                             planning.budgets_of(self.settings))


def agg(prompt: str, col: Any, by: str | Sequence[str] | None = None, *, model: str | None = None,
        context_tokens: int | None = None, prefix: str | None = None, **sampling: Unpack[ChatKwargs]) -> AggJob:
    """One answer over many rows: an instruction answered over the texts of a column, per group.

    Hierarchical: each group's texts are packed, in order, into prompts that fit the model's
    context, leaving room for a reply of ``max_tokens`` (default 512); each is answered; when a
    group took several prompts, their answers are packed and combined the same way, level by level,
    until one answer is left. Requests: per group, ceil(its tokens / room) at the first level, then
    about half as many at each next level (one when everything fits at once); the plan
    (``dry_run=True``) counts them.

    Parameters
    ----------
    prompt : str
        The instruction, e.g. ``"Summarise the complaints"`` (not empty).
    col : str
        The text column (on ``Series.hf`` the series itself is this input).
    by : str or list of str, optional
        The columns whose values make the groups (default: the whole frame is one group).
    model : str, optional
        The chat model; default ``meta-llama/Llama-3.1-8B-Instruct`` (chat's).
    context_tokens : int, optional
        The model's context length in tokens (default: the smallest the router lists for the
        model, else 8192).
    prefix : str, optional
        The output columns' prefix, instead of the input column's name.
    dry_run : bool, default False
        Return what the call would send and cost (a :class:`~hf_frame.methods.plan.Plan`: rows,
        unique inputs, cached answers, requests, tokens, dollars) instead of running it; nothing is
        sent. Not on ``Expr.hf``.
    **sampling
        Settings for this call (:class:`~hf_frame.SettingsKwargs`), and chat sampling parameters
        (:class:`~hf_frame.methods.kwargs.ChatKwargs`): any keyword that is not a setting, as for
        ``chat``.

    Returns
    -------
    DataFrame
        One row per group, in order of first appearance: the ``by`` columns, then:

        * ``<col>_answer`` (string): the answer;
        * ``<col>_count`` (int64): how many texts went in;
        * ``<col>_error`` (string): null, or why the group failed.

    Examples
    --------
    >>> df.hf.agg("Summarise the complaints", "review", by="product")            # doctest: +SKIP
    """
    checks.non_empty_text("agg", "prompt", prompt)
    checks.positive_int("agg", "context_tokens", context_tokens)
    by = [by] if isinstance(by, str) else list(by or [])
    settings, extra = split_kwargs(sampling, api=("max_tokens",))
    extra.setdefault("max_tokens", AGG_REPLY_TOKENS)
    call = chat("prompt", model=model, **extra, **settings).calls[0]
    inputs = [Input("col", col)] + [Input(f"by {b}", b) for b in by]
    return AggJob(method="agg", calls=[call], inputs=inputs, prefix=prefix, instruction=prompt,
                  column=col if isinstance(col, str) else getattr(col, "name", None) or "text", by=by,
                  context_tokens=context_tokens)


agg.series_arg = "col"  # s.hf.agg("Summarise"): the Series is ``col``
