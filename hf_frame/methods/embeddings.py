"""Embeddings at scale: ``embed`` (with chunking and pooling), ``rerank`` and ``search``.

The engine's item is a *chunk text*. ``embed`` chunks every row (:mod:`hf_frame.chunking`, the
Elasticsearch semantics), runs the engine once on all chunks of all rows (so chunks are deduped
across rows, cached one by one, and packed into batches of ``batch_size``; a batch the server
refuses as too large is split and retried by the engine), then scatters the vectors back:

* ``pooling="mean"`` (default): one vector per row, the mean of its chunk vectors (re-normalised
  when ``normalize``); a row without chunking is a single chunk, sent as it is;
* ``pooling=None``: ``list<struct<text, start, end, embedding>>`` per row, offsets into the row.

Vectors stay numpy float32 from the wire (or the cache's raw bytes) to the arrow column: the
output is one ``(rows, dim)`` float32 matrix handed to arrow without a copy; no Python float is
ever made for the whole column (JSON answers are parsed one batch at a time).

``search(query, col, k)`` embeds the query with the same settings, takes the column's vectors
(computed, from the cache, or given: a column that already holds vectors is used as it is) and
returns the ``k`` most similar rows by cosine. The framework-free core is :func:`top_k_rows`.

``rerank(query, col)`` asks a TEI ``/rerank`` endpoint for a relevance score of every row.

The docstrings of :func:`embed`, :func:`search` and :func:`rerank` describe what users call,
``df.hf.<method>(...)``: called directly, each returns the job that the accessor runs.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np
import pyarrow as pa

from .. import runtime
from ..backends import backend_for
from ..config import SettingsKwargs, Unpack, resolve_settings
from ..core import columns as columns_
from ..core import engine
from ..errors import RowRequestError
from ..formats.cells import is_missing
from ..formats.chunking import Chunk, ChunkingSettings, chunk_many, parse_chunking
from ..tasks.base import require_text
from ..tasks.embeddings import (
    APIS,
    RERANK_APIS,
    chunk_type,
    detect_api,
    matrix_to_array,
    normalize_rows,
)
from . import budget, checks
from .job import ERROR_FIELD, Input, Job, Selection, make_job, reject_unknown, split_kwargs

__all__ = ["EmbedJob", "LocalSimilarityJob", "RerankJob", "SearchJob", "cosine_scores", "embed", "local_similarity",
           "rerank", "search", "top_k_rows"]


_BLOCK = 65_536  # rows per block when scoring: bounds the temporaries of a 1M-row matrix


# ---------------------------------------------------------------------------------------------
# the framework-free core of search


def cosine_scores(query_vec: Any, matrix: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Cosine similarity of ``query_vec`` with every row of ``matrix`` (float64, NaN where a row is
    invalid or all zeros). Works in blocks, so a 1M x 384 matrix needs no full-size temporary."""
    q = np.asarray(query_vec, dtype=np.float32).ravel()
    if matrix.ndim != 2 or (len(matrix) and matrix.shape[1] != q.shape[0]):
        raise ValueError(f"search: the query has {q.shape[0]} dimensions, the column's vectors "
                         f"{matrix.shape[1] if matrix.ndim == 2 else matrix.shape}")
    qn = float(np.sqrt(q @ q))
    if qn == 0:
        raise ValueError("search: the query vector is all zeros")
    q = q / qn
    scores = np.empty(len(matrix), dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        for start in range(0, len(matrix), _BLOCK):
            block = matrix[start : start + _BLOCK]
            norms = np.sqrt(np.einsum("ij,ij->i", block, block, dtype=np.float32))
            dots = block @ q
            scores[start : start + _BLOCK] = np.where(norms > 0, dots / norms, np.nan)
    if valid is not None:
        scores[~np.asarray(valid, dtype=bool)] = np.nan
    return scores


def top_k_from_scores(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best positions (score descending, earlier row first on ties; NaN never chosen)."""
    candidates = np.flatnonzero(~np.isnan(scores))
    k = min(int(k), len(candidates))
    if k <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    s = scores[candidates]
    if k < len(candidates):
        kth = np.partition(-s, k - 1)[k - 1]  # -(k-th best score)
        above = candidates[-s < kth]
        ties = candidates[-s == kth][: k - len(above)]  # candidates are in row order
        chosen = np.concatenate([above, ties])
    else:
        chosen = candidates
    order = np.lexsort((chosen, -scores[chosen]))
    chosen = chosen[order].astype(np.int64)
    return chosen, scores[chosen]


def top_k_rows(query_vec: Any, matrix: np.ndarray, k: int, valid: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """``(row positions, cosine scores)`` of the ``k`` rows of ``matrix`` most similar to ``query_vec``.

    Sorted by score descending; ties keep row order; rows with ``valid`` False (or all-zero rows)
    are never returned. Fewer than ``k`` rows come back when fewer are valid.

    >>> m = np.array([[1, 0], [0, 1], [1, 1]], dtype=np.float32)
    >>> idx, score = top_k_rows([1, 0], m, 2)
    >>> idx.tolist(), score.round(3).tolist()
    ([0, 2], [1.0, 0.707])
    """
    return top_k_from_scores(cosine_scores(query_vec, matrix, valid), k)


# ---------------------------------------------------------------------------------------------
# embed


@dataclass
class _Embedded:
    """What one engine pass over the chunks of a column produced."""

    n: int
    chunks: list[Chunk]
    row_ids: list[int]
    outcome: engine.Outcome
    errors: list[str | None]  # per row
    rows: int  # rows that had text
    chunk_count: int | None = None  # chunks over every row the values stand for (default: len(chunks))


def _check_dim(vector: np.ndarray, dim: int, where: str) -> None:
    if len(vector) != dim:
        raise ValueError(f"embed: {where} has {len(vector)} dimensions, expected {dim} "
                         "(pass dim= matching the model, or check that every batch went to the same model)")


@dataclass
class EmbedJob(Job):
    """``embed``: chunk rows, embed unique chunks in batches, pool back per row (see module docs)."""

    chunking: ChunkingSettings | None = None
    pooling: str | None = "mean"
    normalize: bool = True

    # -- the engine pass -------------------------------------------------------------------
    def _chunks(self, values: Sequence[Any], labels: Sequence[Any] | None, input_names: Sequence[str]):
        """(call, row texts, chunks, the row of each chunk, chunk labels): the engine pass's input."""
        call = dataclasses.replace(self.calls[0], input_names=tuple(input_names),
                                   view={**self.calls[0].view, "method": self.method})
        texts = [require_text(v, call, labels[i] if labels is not None else i) for i, v in enumerate(values)]
        if self.chunking is None:  # the row's text is one chunk, sent exactly as it is
            row_ids = [i for i, t in enumerate(texts) if t is not None]
            chunks = [Chunk(texts[i], 0, len(texts[i])) for i in row_ids]
        else:
            chunks, row_ids = chunk_many(texts, self.chunking)
        chunk_labels = [labels[r] for r in row_ids] if labels is not None else row_ids
        return call, texts, chunks, row_ids, chunk_labels

    def passes(self, columns: Sequence[Sequence[Any]], labels: Sequence[Any] | None = None,
               input_names: Sequence[str] = ()) -> list[tuple[str, Any, list[tuple], Any]]:
        """One pass over the chunks of every row (a column of vectors: the query only)."""
        values = self._texts(columns, labels)
        if values is None:
            return []
        texts, text_labels = values
        call, _, chunks, _, chunk_labels = self._chunks(texts, text_labels, input_names)
        return [(self.method, call, [(c.text,) for c in chunks], chunk_labels)]

    def _texts(self, columns: Sequence[Sequence[Any]], labels: Sequence[Any] | None):
        """(texts, labels) this job embeds; None when there is nothing to embed."""
        return (_as_list(columns[0]), labels) if columns else None

    def _embed(self, values: Sequence[Any], labels: Sequence[Any] | None, input_names: Sequence[str],
               weights: np.ndarray | None = None) -> _Embedded:
        """One engine pass over the chunks of ``values``. ``weights``: how many rows each value
        stands for (when ``values`` are the distinct values of a column), for the counts."""
        call, texts, chunks, row_ids, chunk_labels = self._chunks(values, labels, input_names)
        outcome = budget.run(self, call, [(c.text,) for c in chunks], chunk_labels)
        errors: list[str | None] = [None] * len(texts)
        failed = [j for j, e in enumerate(outcome.errors) if e is not None]
        if failed:
            first = {}
            for j, r in enumerate(row_ids):
                first.setdefault(r, j)
            for j in failed:
                r = row_ids[j]
                if errors[r] is None:
                    c = chunks[j]
                    errors[r] = (outcome.errors[j] if self.chunking is None else
                                 f"chunk {j - first[r]} [{c.start}:{c.end}]: {outcome.errors[j]}")
        if weights is None:
            return _Embedded(len(texts), chunks, row_ids, outcome, errors, rows=len(set(row_ids)))
        ids = np.asarray(row_ids, dtype=np.int64)
        per_value = np.bincount(ids, minlength=len(texts))
        return _Embedded(len(texts), chunks, row_ids, outcome, errors, rows=int(weights[per_value > 0].sum()),
                         chunk_count=int((per_value * weights).sum()))

    def _dim(self, results: Sequence[Any]) -> int:
        declared = self.call.options.get("dim")
        if declared:
            return declared
        return next((len(v) for v in results if v is not None), 0)

    def _valid_rows(self, emb: _Embedded) -> tuple[np.ndarray, np.ndarray]:
        counts = np.bincount(np.asarray(emb.row_ids, dtype=np.int64), minlength=emb.n)
        valid = counts > 0
        if emb.outcome.failed:
            valid &= np.array([e is None for e in emb.errors], dtype=bool)
        return counts, valid

    def _pool(self, emb: _Embedded) -> tuple[np.ndarray, np.ndarray]:
        """Mean-pool chunk vectors per row -> ``(n, dim)`` float32 matrix and row validity.

        The engine hands back one float32 array per chunk (views of the answer's batch array, or of
        the cache's bytes); the matrix is filled from them, releasing each as it goes. The peak is
        about two float32 copies of the column (those arrays and the matrix), never Python floats.
        """
        results = emb.outcome.results
        dim = self._dim(results)
        matrix = np.zeros((emb.n, dim), dtype=np.float32)  # calloc: pages are touched as filled
        for j, r in enumerate(emb.row_ids):
            v = results[j]
            if v is not None:
                if len(v) != dim:
                    _check_dim(v, dim, f"the vector of row {r}")
                matrix[r] += v
                results[j] = None
        counts, valid = self._valid_rows(emb)
        multi = valid & (counts > 1)
        if multi.any():
            pooled = matrix[multi] / counts[multi, None].astype(np.float32)
            matrix[multi] = normalize_rows(pooled) if self.normalize else pooled
        broken = ~valid & (counts > 0)  # rows with a failed chunk: no partial sums left behind
        if broken.any():
            matrix[broken] = 0
        return matrix, valid

    def _chunk_lists(self, emb: _Embedded) -> pa.ListArray:
        """``pooling=None``: per row, ``list<struct<text, start, end, embedding>>``."""
        results = emb.outcome.results
        dim = self._dim(results)
        m = len(emb.chunks)
        matrix = np.zeros((m, dim), dtype=np.float32)
        chunk_valid = np.zeros(m, dtype=bool)
        for j in range(m):
            v = results[j]
            if v is not None:
                if len(v) != dim:
                    _check_dim(v, dim, f"chunk {j} of row {emb.row_ids[j]}")
                matrix[j] = v
                chunk_valid[j] = True
                results[j] = None
        chunks = emb.chunks
        struct = pa.StructArray.from_arrays(
            [pa.array([c.text for c in chunks], type=pa.string()),
             pa.array(np.fromiter((c.start for c in chunks), dtype=np.int64, count=m)),
             pa.array(np.fromiter((c.end for c in chunks), dtype=np.int64, count=m)),
             matrix_to_array(matrix, chunk_valid)],
            fields=list(chunk_type(dim)),
        )
        counts, valid = self._valid_rows(emb)
        offsets = np.zeros(emb.n + 1, dtype=np.int32)
        np.cumsum(counts, out=offsets[1:])
        return pa.ListArray.from_arrays(pa.array(offsets), struct, mask=pa.array(~valid))

    def _record(self, emb: _Embedded, extra: _Embedded | None = None) -> None:
        parts = [emb] + ([extra] if extra is not None else [])
        provider = next((p.outcome.provider for p in parts if p.outcome.provider), None)
        runtime.record_run(dict(
            method=self.method, rows=emb.rows,
            chunks=len(emb.chunks) if emb.chunk_count is None else emb.chunk_count, unique=emb.outcome.unique,
            cached=sum(p.outcome.cached for p in parts), requests=sum(p.outcome.requests for p in parts),
            failed=sum(e is not None for e in emb.errors),
            **({"provider": provider} if provider else {})))

    def run(self, columns: Sequence[Sequence[Any]], *, labels: Sequence[Any] | None = None,
            error_column: str = ERROR_FIELD, input_names: Sequence[str] = ()) -> pa.StructArray:
        started = time.perf_counter()
        """Embed the distinct values of the column once each, then expand to its rows (one take)."""
        inputs = columns_.factorize([columns[0]] if columns else [[]])
        firsts = inputs.first.tolist()
        value_labels = [labels[i] for i in firsts] if labels is not None else firsts
        present = inputs.codes[inputs.codes >= 0]
        weights = np.bincount(present, minlength=inputs.count).astype(np.int64)
        emb = self._embed(inputs.uniques[0] if inputs.uniques else [], value_labels, input_names, weights)
        if self.pooling == "mean":
            matrix, valid = self._pool(emb)
            data, name = matrix_to_array(matrix, valid), "embedding"
        else:
            data, name = self._chunk_lists(emb), "chunks"
        data = columns_.expand(data, inputs.codes)
        errors = columns_.expand(pa.array(emb.errors, type=pa.string()), inputs.codes)
        self._record(emb)
        runtime.update_last_run(failed=len(errors) - errors.null_count)
        self.log_summary(started)
        if errors.null_count < len(errors):
            self._report(errors, labels, error_column)
        return pa.StructArray.from_arrays(
            [data, errors], fields=[pa.field(name, data.type), pa.field(ERROR_FIELD, pa.string())])


def _as_list(values: Any) -> list[Any]:
    if isinstance(values, list):
        return values
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values.to_pylist()
    tolist = getattr(values, "tolist", None) or getattr(values, "to_list", None)
    return tolist() if callable(tolist) else list(values)


def _embed_options(api: str | None, settings: SettingsKwargs, normalize: bool, truncate: bool | None,
                   dimensions: int | None, prompt_name: str | None, encoding_format: str | None,
                   method: str) -> tuple[str, dict]:
    """The embeddings API flavour, and the fields sent at the root of the body."""
    resolved = resolve_settings(**settings)
    if api is None:
        api = detect_api(resolved.endpoint)
    if api not in APIS:
        raise ValueError(f"{method}: api must be one of {list(APIS)}, got {api!r}")
    if api != "hf" and not resolved.endpoint and backend_for(resolved).kind != "local":
        raise ValueError(f"{method}: api={api!r} needs endpoint='http://host:port' (the server's base URL)")
    if encoding_format not in (None, "float", "base64"):
        raise ValueError(f"{method}: encoding_format must be 'float' or 'base64', got {encoding_format!r}")
    if encoding_format is not None and api != "openai":
        raise ValueError(f"{method}: encoding_format is only for api='openai' (OpenAI-compatible /v1/embeddings)")
    body: dict[str, Any] = {"normalize": normalize, "truncate": truncate, "prompt_name": prompt_name,
                            "dimensions": dimensions}
    if api == "openai":
        body["encoding_format"] = encoding_format or "float"
    return api, body


def _build_embed(method: str, col: Any, *, chunking: Any, pooling: Any, api: str | None, normalize: bool,
                 truncate: bool | None, dim: int | None, dimensions: int | None, prompt_name: str | None,
                 encoding_format: str | None, model: str | None, parameters: dict | None, prefix: str | None,
                 settings: Mapping[str, Any], job_class: type = None, **fields: Any) -> EmbedJob:
    settings, extra = split_kwargs(settings)
    reject_unknown(method, extra)
    checks.positive_int(method, "dim", dim)
    checks.positive_int(method, "dimensions", dimensions)
    if dim and dimensions and dim != dimensions:
        raise ValueError(f"{method}: dim={dim} and dimensions={dimensions} disagree")
    if isinstance(pooling, str) and pooling.lower() == "none":
        pooling = None
    if pooling not in ("mean", None):
        raise ValueError(f"{method}: pooling must be 'mean' or None, got {pooling!r}")
    chunk_settings = parse_chunking(chunking)
    api, body = _embed_options(api, settings, normalize, truncate, dimensions, prompt_name, encoding_format, method)
    base = make_job(method, "feature-extraction", [Input("col", col)], model=model, parameters=parameters,
                    options={"api": api}, body=body, prefix=prefix, settings=settings)
    call = base.calls[0]
    output_call = dataclasses.replace(call, options={**call.options, "dim": dim or dimensions, "pooling": pooling})
    return (job_class or EmbedJob)(method=method, calls=[call], inputs=base.inputs, prefix=prefix,
                                   output_call=output_call, chunking=chunk_settings, pooling=pooling,
                                   normalize=bool(normalize), **fields)


def embed(col: Any, *, chunking: Any = None, pooling: str | None = "mean", api: str | None = None,
          normalize: bool = True, truncate: bool | None = True, dim: int | None = None,
          dimensions: int | None = None, prompt_name: str | None = None, encoding_format: str | None = None,
          model: str | None = None, parameters: dict | None = None, prefix: str | None = None,
          **settings: Unpack[SettingsKwargs]) -> EmbedJob:
    """Embeddings of a text column, one vector per row; long texts can be chunked first.

    Chunks are deduplicated across rows, cached one by one and sent ``batch_size`` at a time; the
    vectors stay float32 from the answer to the column.

    Parameters
    ----------
    col : str
        The text column (or a Series of as many rows). On ``Series.hf`` and ``Expr.hf`` the
        series or expression itself is this input. Missing values and empty strings give null
        outputs and send nothing.
    chunking : bool, str or dict, optional
        Split long texts before embedding, as Elasticsearch does: ``none`` or None (default: each
        text is sent whole, cut by the server when ``truncate``), ``sentence`` or True (250 words,
        1 sentence overlap), ``word`` (250 words, 100 overlap), or a dict of chunking settings
        such as ``{"strategy": "word", "max_chunk_size": 200, "overlap": 50}``.
    pooling : {"mean", "none"} or None, default "mean"
        ``mean``: one vector per row, the mean of its chunks' vectors; ``none`` or None: each chunk
        with its own vector.
    api : {"hf", "tei", "openai"}, optional
        The server's flavour: ``hf`` (the HF router, or the endpoint as given), ``tei``
        (``{endpoint}/embed``) or ``openai`` (``{endpoint}/v1/embeddings``), these two needing an
        endpoint. Default: ``tei`` or ``openai`` for an endpoint ending in ``/embed`` or
        ``/v1/embeddings``, else ``hf``.
    normalize : bool, default True
        Return unit-length vectors (mean-pooled vectors are normalised again).
    truncate : bool or None, default True
        Let the server cut texts longer than the model's limit (otherwise they fail).
    dim : int, optional
        The vector size, declared so that the output type is known before anything is sent; the
        answers must have it.
    dimensions : int, optional
        Ask the server for shorter (Matryoshka) vectors of this size.
    prompt_name : str, optional
        The name of a prompt the model defines, put before each text (e.g. ``"query"``).
    encoding_format : {"float", "base64"}, optional
        Only with the ``openai`` api: how the vectors travel, ``float`` or ``base64`` (default
        ``float``).
    model : str, optional
        A Hub model id (with ``provider="local"`` also a local directory); default
        ``sentence-transformers/all-MiniLM-L6-v2``.
    parameters : dict, optional
        Extra API parameters, sent as given; they win over the named arguments.
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

        * ``embedding`` (fixed_size_list<float>[dim], polars ``Array(Float32, dim)``): with
          ``pooling="mean"``; a lazy plan that cannot know the size (no ``dim``, and a model whose
          size hf_frame does not know) declares list<float>;
        * ``chunks`` (list<struct<text: string, start: int64, end: int64, embedding:
          fixed_size_list<float>[dim]>>): instead, with ``pooling=None``; ``start`` and ``end`` are
          character offsets into the row's text;
        * ``error`` (string): null, or why the row failed.

    Examples
    --------
    >>> df.hf.embed("review")["review_embedding"]                       # doctest: +SKIP
    >>> df.hf.embed("article", chunking="sentence")                     # doctest: +SKIP
    >>> df.hf.embed("text", endpoint="http://localhost:8080", api="tei", dim=384)   # doctest: +SKIP
    """
    return _build_embed("embed", col, chunking=chunking, pooling=pooling, api=api, normalize=normalize,
                        truncate=truncate, dim=dim, dimensions=dimensions, prompt_name=prompt_name,
                        encoding_format=encoding_format, model=model, parameters=parameters, prefix=prefix,
                        settings=settings)


# ---------------------------------------------------------------------------------------------
# similarity on provider="local": the cosine of embed's own vectors


@dataclass
class LocalSimilarityJob(EmbedJob):
    """``similarity`` with ``provider="local"``: the cosine of the two sides' embeddings.

    The embeddings are computed, keyed and cached exactly as ``embed(col, model=...)`` computes
    them (the packaged model gives unit vectors, so this is what the sentence-similarity pipeline
    computes), so the texts ``embed`` or ``search`` already embedded are not computed again, and
    the other way round. Every distinct text of both sides is embedded once per call.
    """

    def _texts(self, columns: Sequence[Sequence[Any]], labels: Sequence[Any] | None):
        sides = [_as_list(values) for values in columns]
        pairs = [i for i in range(len(sides[0])) if all(isinstance(s[i], str) and s[i].strip() for s in sides)]
        row_labels = [labels[i] if labels is not None else i for i in pairs]
        return [sides[0][i] for i in pairs] + [sides[1][i] for i in pairs], row_labels * 2

    def run(self, columns: Sequence[Sequence[Any]], *, labels: Sequence[Any] | None = None,
            error_column: str = ERROR_FIELD, input_names: Sequence[str] = ()) -> pa.StructArray:
        started = time.perf_counter()
        check = dataclasses.replace(self.call, input_names=tuple(input_names))  # messages name each column
        sides = [[require_text(v, check, labels[i] if labels is not None else i, side)
                  for i, v in enumerate(_as_list(values))] for side, values in enumerate(columns)]
        n = len(sides[0])
        pairs = [i for i in range(n) if sides[0][i] is not None and sides[1][i] is not None]
        m = len(pairs)
        row_labels = [labels[i] if labels is not None else i for i in pairs]
        emb = self._embed([sides[0][i] for i in pairs] + [sides[1][i] for i in pairs], row_labels * 2,
                          tuple(input_names[:1]))
        matrix, valid = self._pool(emb)
        left, right = matrix[:m], matrix[m:]
        with np.errstate(divide="ignore", invalid="ignore"):
            norms = np.linalg.norm(left, axis=1) * np.linalg.norm(right, axis=1)
            cosine = np.einsum("ij,ij->i", left, right, dtype=np.float64) / norms
        ok = valid[:m] & valid[m:] & (norms > 0)
        scores = np.full(n, np.nan)
        scores[np.asarray(pairs, dtype=np.int64)[ok]] = cosine[ok]
        errors: list[str | None] = [None] * n
        for j, i in enumerate(pairs):
            errors[i] = emb.errors[j] or emb.errors[m + j]
        runtime.record_run(dict(method=self.method, rows=m, unique=emb.outcome.unique, cached=emb.outcome.cached,
                                requests=emb.outcome.requests, failed=sum(e is not None for e in errors)))
        self.log_summary(started)
        self._report(errors, labels, error_column)
        return pa.StructArray.from_arrays(
            [pa.array(scores, type=pa.float64(), from_pandas=True), pa.array(errors, type=pa.string())],
            fields=list(self.output_type()))


def local_similarity(job: Job, settings: SettingsKwargs) -> LocalSimilarityJob:
    """The local form of a ``similarity`` job: same inputs, outputs and names, embeddings shared with ``embed``."""
    shared = _build_embed("embed", "", chunking=None, pooling="mean", api=None, normalize=True, truncate=True,
                          dim=None, dimensions=None, prompt_name=None, encoding_format=None, model=job.call.model,
                          parameters=None, prefix=job.prefix, settings=settings)
    return LocalSimilarityJob(method=job.method, calls=shared.calls, inputs=job.inputs, prefix=job.prefix,
                              output_call=job.call, normalize=True)


# ---------------------------------------------------------------------------------------------
# search


def _as_arrow(values: Any) -> pa.Array | None:
    """The values as one arrow array when they come from arrow-backed storage, else None."""
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks()
    if isinstance(values, pa.Array):
        return values
    to_arrow = getattr(values, "to_arrow", None)  # polars Series
    if callable(to_arrow):
        try:
            out = to_arrow()
        except Exception:
            return None
        return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out
    storage = getattr(values, "array", None)  # pandas Series with ArrowDtype storage
    if storage is not None and hasattr(storage, "__arrow_array__"):
        out = pa.array(storage)
        return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out
    return None


def _is_float_list(t: pa.DataType) -> bool:
    return (pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)) and (
        pa.types.is_floating(t.value_type) or pa.types.is_integer(t.value_type))


def column_vectors(values: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """``(matrix, valid)`` if ``values`` already hold vectors (a column made by ``embed``), else None."""
    arrow = _as_arrow(values)
    if arrow is not None:
        if not _is_float_list(arrow.type):
            return None
        valid = np.asarray(arrow.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        present = arrow.filter(pa.array(valid))
        flat = present.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
        if pa.types.is_fixed_size_list(arrow.type):
            dim = arrow.type.list_size
        else:
            lengths = set(pa.compute.list_value_length(present).to_numpy(zero_copy_only=False).tolist())
            if len(lengths) > 1:
                raise ValueError(f"search: the column's vectors have different lengths {sorted(lengths)}")
            dim = lengths.pop() if lengths else 0
        matrix = np.zeros((len(arrow), dim), dtype=np.float32)
        matrix[valid] = flat.reshape(-1, dim) if dim else flat.reshape(len(present), 0)
        return matrix, valid
    values = _as_list(values)
    first = next((v for v in values if not _missing_cell(v)), None)
    if first is None or isinstance(first, str) or not isinstance(first, (list, tuple, np.ndarray)):
        return None
    valid = np.array([not _missing_cell(v) for v in values], dtype=bool)
    dim = len(first)
    matrix = np.zeros((len(values), dim), dtype=np.float32)
    for i, v in enumerate(values):
        if valid[i]:
            if len(v) != dim:
                raise ValueError(f"search: row {i} has a vector of {len(v)} dimensions, expected {dim}")
            matrix[i] = v
    return matrix, valid


def _missing_cell(value: Any) -> bool:
    return value is None if isinstance(value, (list, tuple, np.ndarray)) else is_missing(value)


@dataclass
class SearchJob(EmbedJob):
    """``search``: the top-k rows by cosine to the query. Adapters call :meth:`select`.

    :meth:`run` (the per-row protocol every adapter knows) gives every row's ``score`` instead, so a
    backend can also express search as "score, sort descending, head(k)" (e.g. a polars lazy plan).
    """

    returns_rows: ClassVar[bool] = True
    query: str = ""
    k: int = 10

    def output_type(self) -> pa.StructType:
        return pa.struct([("score", pa.float64()), (ERROR_FIELD, pa.string())])

    def output_names(self, resolved_names: Sequence[str | None], existing: Sequence[str]) -> dict[str, str]:
        """``score`` (and ``score_error`` for :meth:`run`); ``search_score`` if ``score`` exists;
        ``<prefix>_score`` with ``prefix=``."""
        existing = set(map(str, existing))
        options = [self.prefix] if self.prefix else [None, "search"]
        for p in options:
            score = f"{p}_score" if p else "score"
            names = {"score": score, ERROR_FIELD: f"{score}_error"}
            if existing.isdisjoint(names.values()):
                return names
        raise ValueError(f"search: output column(s) {sorted(existing & set(names.values()))} already exist; "
                         "pass prefix='...' to choose other names")

    def _scores(self, columns: Sequence[Sequence[Any]], labels: Sequence[Any] | None,
                input_names: Sequence[str], error_column: str) -> tuple[np.ndarray, list[str | None]]:
        started = time.perf_counter()
        values = columns[0] if columns else []
        given = column_vectors(values)
        if given is not None:  # the column already holds vectors: only the query is embedded
            matrix, valid = given
            query = self._embed([self.query], ["query"], ("query",))
            qmatrix, qvalid = self._pool(query)
            errors: list[str | None] = [None] * len(matrix)
            self._record(query)
            runtime.update_last_run(rows=len(matrix))
        else:
            # One engine pass for the column and the query: they share batches and the cache.
            texts = _as_list(values) + [self.query]
            both = self._embed(texts, (list(labels) if labels is not None else list(range(len(texts) - 1))) + ["query"],
                               tuple(input_names))
            full, full_valid = self._pool(both)
            matrix, valid, qmatrix, qvalid = full[:-1], full_valid[:-1], full[-1:], full_valid[-1:]
            errors = both.errors[:-1]
            query = dataclasses.replace(both, errors=both.errors[-1:])
            self._record(both)
            runtime.update_last_run(rows=both.rows - 1, failed=sum(e is not None for e in errors))
        if not qvalid[0]:
            raise RowRequestError(f"search: the query could not be embedded: {query.errors[0]}",
                                  task="feature-extraction", model=self.call.model or "")
        self.log_summary(started)
        self._report(errors, labels, error_column)
        return cosine_scores(qmatrix[0], matrix, valid), errors

    def select(self, columns: Sequence[Sequence[Any]], *, labels: Sequence[Any] | None = None,
               error_column: str = ERROR_FIELD, input_names: Sequence[str] = (),
               frame_labels: dict | None = None) -> Selection:
        """The top ``k`` rows, best first, with their ``score``."""
        scores, _ = self._scores(columns, labels, input_names, error_column)
        positions, best = top_k_from_scores(scores, self.k)
        return Selection({None: positions}, pa.StructArray.from_arrays([pa.array(best, type=pa.float64())],
                                                                       names=["score"]))

    def _texts(self, columns: Sequence[Sequence[Any]], labels: Sequence[Any] | None):
        values = columns[0] if columns else []
        if column_vectors(values) is not None:
            return [self.query], ["query"]
        texts = _as_list(values)
        return texts + [self.query], (list(labels) if labels is not None else list(range(len(texts)))) + ["query"]

    def run(self, columns: Sequence[Sequence[Any]], *, labels: Sequence[Any] | None = None,
            error_column: str = ERROR_FIELD, input_names: Sequence[str] = ()) -> pa.StructArray:
        """Every row's cosine ``score`` (null where the row has no vector) and ``error``."""
        scores, errors = self._scores(columns, labels, input_names, error_column)
        score = pa.array(scores, type=pa.float64(), from_pandas=True)  # NaN -> null
        return pa.StructArray.from_arrays([score, pa.array(errors, type=pa.string())],
                                          fields=list(self.output_type()))


def search(query: str, col: Any, *, k: int = 10, chunking: Any = None, api: str | None = None,
           normalize: bool = True, truncate: bool | None = True, dim: int | None = None,
           dimensions: int | None = None, prompt_name: str | None = None, encoding_format: str | None = None,
           model: str | None = None, parameters: dict | None = None, prefix: str | None = None,
           **settings: Unpack[SettingsKwargs]) -> SearchJob:
    """Semantic search: the ``k`` rows of ``col`` most similar to ``query``, best first.

    The column is embedded like :func:`embed` with the same arguments (computed once, then read
    from the cache), or is a column of vectors made earlier by ``embed`` (used as it is: pass the
    same ``model`` and ``api`` so the query is embedded the same way). Rows that failed or are empty
    are never returned.

    Parameters
    ----------
    query : str
        The text to search for (not empty).
    col : str
        The text column, or a column of vectors (on ``Series.hf`` and ``Expr.hf`` the series or
        expression itself is this input).
    k : int, default 10
        How many rows to return; fewer when fewer rows have a vector.
    chunking : bool, str or dict, optional
        Split long texts before embedding, as Elasticsearch does: ``none`` or None (default: each
        text is sent whole, cut by the server when ``truncate``), ``sentence`` or True (250 words,
        1 sentence overlap), ``word`` (250 words, 100 overlap), or a dict of chunking settings
        such as ``{"strategy": "word", "max_chunk_size": 200, "overlap": 50}``.
    api : {"hf", "tei", "openai"}, optional
        The server's flavour: ``hf`` (the HF router, or the endpoint as given), ``tei``
        (``{endpoint}/embed``) or ``openai`` (``{endpoint}/v1/embeddings``), these two needing an
        endpoint. Default: ``tei`` or ``openai`` for an endpoint ending in ``/embed`` or
        ``/v1/embeddings``, else ``hf``.
    normalize : bool, default True
        Return unit-length vectors (mean-pooled vectors are normalised again).
    truncate : bool or None, default True
        Let the server cut texts longer than the model's limit (otherwise they fail).
    dim : int, optional
        The vector size, declared so that the output type is known before anything is sent; the
        answers must have it.
    dimensions : int, optional
        Ask the server for shorter (Matryoshka) vectors of this size.
    prompt_name : str, optional
        The name of a prompt the model defines, put before each text (e.g. ``"query"``).
    encoding_format : {"float", "base64"}, optional
        Only with the ``openai`` api: how the vectors travel, ``float`` or ``base64`` (default
        ``float``).
    model : str, optional
        A Hub model id (with ``provider="local"`` also a local directory); default
        ``sentence-transformers/all-MiniLM-L6-v2``.
    parameters : dict, optional
        Extra API parameters, sent as given; they win over the named arguments.
    prefix : str, optional
        Name the score column ``<prefix>_score`` instead of ``score``.
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
        The ``k`` best rows of the frame, best first, with their index and every column, plus:

        * ``score`` (double): the cosine similarity to the query (``search_score`` when the frame
          already has a ``score`` column).

        ``Series.hf`` gives the series' rows the same way; ``LazyFrame.hf`` plans it; ``Expr.hf``
        gives every row's score (null where a row has no vector) and ``error``, in one struct.

    Examples
    --------
    >>> df.hf.search("the package arrived late", "review", k=5)   # doctest: +SKIP
    >>> emb = df.hf.embed("review")                               # doctest: +SKIP
    >>> emb.hf.search("broken on arrival", "review_embedding")    # reuses the vectors  # doctest: +SKIP
    """
    checks.non_empty_text("search", "query", query)
    checks.positive_int("search", "k", k, allow_none=False)
    return _build_embed("search", col, chunking=chunking, pooling="mean", api=api, normalize=normalize,
                        truncate=truncate, dim=dim, dimensions=dimensions, prompt_name=prompt_name,
                        encoding_format=encoding_format, model=model, parameters=parameters, prefix=prefix,
                        settings=settings, job_class=SearchJob, query=query, k=k)


search.series_arg = "col"  # s.hf.search("query", k=5): the Series is ``col``


# ---------------------------------------------------------------------------------------------
# rerank


def rank_scores(scores: np.ndarray, top_n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Ranks 1..m by score descending (earlier row first on ties) and their validity (NaN scores
    and, with ``top_n``, ranks beyond it are invalid)."""
    n = len(scores)
    valid = ~np.isnan(scores)
    order = np.lexsort((np.arange(n), np.where(valid, -scores, np.inf)))[: int(valid.sum())]
    ranks = np.zeros(n, dtype=np.int64)
    ranks[order] = np.arange(1, len(order) + 1)
    keep = valid if top_n is None else valid & (ranks <= top_n)
    return ranks, keep


@dataclass
class RerankJob(Job):
    """``rerank``: the engine scores every unique text in batches; ranks are set over the column."""

    top_n: int | None = None
    elementwise: bool = False  # ranks compare rows: run on the whole column at once

    def run(self, columns: Sequence[Sequence[Any]], *, labels: Sequence[Any] | None = None,
            error_column: str = ERROR_FIELD, input_names: Sequence[str] = ()) -> pa.StructArray:
        data = super().run(columns, labels=labels, error_column=error_column, input_names=input_names)
        children = [data.field(i) for i in range(data.type.num_fields)]
        scores = children[0].to_numpy(zero_copy_only=False).astype(np.float64)
        ranks, keep = rank_scores(scores, self.top_n)
        children[1] = pa.array(ranks, type=pa.int64(), mask=~keep)
        return pa.StructArray.from_arrays(children, fields=list(data.type))


def rerank(query: str, col: Any, *, top_n: int | None = None, raw_scores: bool = False,
           truncate: bool | None = True, api: str | None = None, model: str | None = None,
           parameters: dict | None = None, prefix: str | None = None,
           **settings: Unpack[SettingsKwargs]) -> RerankJob:
    """Reranking: the relevance of every row of ``col`` to ``query``, from a reranker server.

    Needs ``endpoint=``: a Text Embeddings Inference server running a reranker (e.g.
    ``BAAI/bge-reranker-base``), or a Cohere-style one (vLLM, infinity, Jina, Cohere); the base URL
    (``/rerank`` is appended) or the full route. Texts are deduplicated and sent ``batch_size`` at a
    time, each request carrying the query.

    Parameters
    ----------
    query : str
        The query (not empty).
    col : str
        The text column (on ``Series.hf`` and ``Expr.hf`` the series or expression itself is this
        input).
    top_n : int, optional
        Rank only the ``top_n`` most relevant rows; the others get a null rank (default: every row).
    raw_scores : bool, default False
        The model's raw scores (logits) instead of probabilities.
    truncate : bool or None, default True
        Let the server cut texts longer than the model's limit (otherwise they fail).
    api : {"tei", "cohere"}, optional
        The request body: ``tei`` (``{"query", "texts"}``) or ``cohere`` (``{"model", "query",
        "documents", "top_n"}``). Default: TEI's first; a server answering Cohere-style, or refusing
        TEI's for want of ``documents``, gets Cohere's from then on.
    model : str, optional
        Sent when given: servers hosting several rerankers need it.
    parameters : dict, optional
        Extra API parameters, sent as given; they win over the named arguments.
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
        The frame with these columns added, named ``<col>_rerank_score`` and ``<col>_rerank_rank``,
        of the Arrow types below (``pd.ArrowDtype`` in pandas, the matching dtypes in polars).
        ``Series.hf`` returns the fields alone, ``LazyFrame.hf`` adds them to the plan, ``Expr.hf``
        is one struct of them:

        * ``rerank_score`` (double): the relevance of every row;
        * ``rerank_rank`` (int64): 1 for the most relevant row (ties keep row order); with ``top_n``,
          null beyond it;
        * ``error`` (string): null, or why the row failed.

    Examples
    --------
    >>> df.hf.rerank("is it waterproof?", "review", endpoint="http://localhost:8081")   # doctest: +SKIP
    >>> df.hf.rerank("refund", "doc", top_n=3, endpoint=url).sort_values("doc_rerank_rank")  # doctest: +SKIP
    """
    settings, extra = split_kwargs(settings)
    reject_unknown("rerank", extra)
    checks.non_empty_text("rerank", "query", query)
    checks.positive_int("rerank", "top_n", top_n)
    if api not in (None, *RERANK_APIS):
        raise ValueError(f"rerank: api must be one of {list(RERANK_APIS)} or None, got {api!r}")
    resolved = resolve_settings(**settings)
    if not resolved.endpoint:
        raise ValueError("rerank: needs endpoint='http://host:port' (a Text Embeddings Inference server running "
                         "a reranker, e.g. BAAI/bge-reranker-base; its /rerank route is used)")
    base = make_job("rerank", "text-ranking", [Input("col", col)], model=model, parameters=parameters,
                    body={"query": query, "raw_scores": bool(raw_scores), "truncate": truncate},
                    options={"api": api} if api else {},
                    prefix=prefix, settings=settings)
    return RerankJob(method="rerank", calls=base.calls, inputs=base.inputs, prefix=prefix, top_n=top_n)


rerank.series_arg = "col"  # s.hf.rerank("query"): the Series is ``col``
