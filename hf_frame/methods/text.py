"""The text methods: classification, zero-shot, NER, QA, table QA, fill-mask, summarization,
translation, generation and sentence similarity. Each turns its arguments into a :class:`Job`."""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

from ..backends import backend_for
from ..config import resolve_settings
from ..formats.cells import is_missing
from . import checks
from .job import FRAME, Input, Job, make_job, reject_unknown, split_kwargs


def classify(col: Any, *, top_k: int | None = 1, model: str | None = None, parameters: dict | None = None,
             prefix: str | None = None, **settings: Any) -> Job:
    """Text classification. Outputs ``label``, ``score``; with ``top_k`` > 1 or None also ``labels``.

    Every method also takes ``model=``, ``parameters=`` (passed to the API as-is), ``prefix=``
    and any setting as a keyword (``max_concurrency=8``, ``cache=False``, ``errors="raise"``).

    >>> df.hf.classify("review")                       # doctest: +SKIP
    >>> df.hf.classify("review", top_k=None)["review_labels"]   # every label, best first  # doctest: +SKIP
    """
    settings, extra = split_kwargs(settings)
    reject_unknown("classify", extra)
    checks.positive_int("classify", "top_k", top_k)
    return make_job("classify", "text-classification", [Input("col", col)], model=model, parameters=parameters,
                    wire={"top_k": top_k}, options={"top_k": top_k}, prefix=prefix, settings=settings)


def zero_shot(col: Any, labels: Sequence[str] | None = None, *, multi_label: bool = False,
              hypothesis_template: str | None = None, model: str | None = None, parameters: dict | None = None,
              prefix: str | None = None, **settings: Any) -> Job:
    """Zero-shot classification. Outputs ``label``, ``score`` and ``score_<label>`` for every label.

    More than 10 labels need ``multi_label=True`` (scores independent per label; hf_frame then
    splits the labels across requests).

    >>> df.hf.zero_shot("review", labels=["shipping", "price", "quality"])   # doctest: +SKIP
    """
    settings, extra = split_kwargs(settings)
    labels = checks.alias("zero_shot", extra, "candidate_labels", labels)
    reject_unknown("zero_shot", extra)
    labels = checks.candidate_labels("zero_shot", labels, "['price', 'quality']")
    limit = backend_for(resolve_settings(**settings)).max_zero_shot_labels
    if limit and len(labels) > limit and not multi_label:
        raise ValueError(
            f"zero_shot: {len(labels)} labels, but the API scores at most {limit} per request. "
            "With multi_label=True the labels are scored independently and hf_frame splits them across requests; "
            "with multi_label=False the scores are normalised over all labels, which cannot be split."
        )
    chunks = [labels[i : i + limit] for i in range(0, len(labels), limit)] if limit else [labels]
    jobs = [
        make_job("zero_shot", "zero-shot-classification", [Input("col", col)], model=model, parameters=parameters,
                 wire={"candidate_labels": chunk, "multi_label": multi_label, "hypothesis_template": hypothesis_template},
                 options={"labels": chunk}, prefix=prefix, settings=settings)
        for chunk in chunks
    ]
    job = jobs[0]
    job.calls = [j.calls[0] for j in jobs]
    job.output_call = dataclasses.replace(job.calls[0], options={"labels": labels})
    job.merge = lambda parts: {k: v for part in parts for k, v in part.items()}
    return job


def ner(col: Any, *, aggregation: str | None = "simple", model: str | None = None, parameters: dict | None = None,
        prefix: str | None = None, **settings: Any) -> Job:
    """Token classification. Output ``entities``: list of {entity_group, word, score, start, end}.

    >>> df.hf.ner("review")["review_entities"].explode()   # one entity per row  # doctest: +SKIP
    """
    settings, extra = split_kwargs(settings)
    aggregation = checks.alias("ner", extra, "aggregation_strategy", aggregation, "simple")
    reject_unknown("ner", extra)
    return make_job("ner", "token-classification", [Input("col", col)], model=model, parameters=parameters,
                    wire={"aggregation_strategy": aggregation}, prefix=prefix, settings=settings)


def qa(question: Any, context: Any, *, top_k: int | None = None, model: str | None = None,
       parameters: dict | None = None, prefix: str | None = None, **settings: Any) -> Job:
    """Extractive question answering. ``question``/``context``: a column or a literal string.

    Outputs ``answer``, ``score``, ``start``, ``end``.

    >>> df.hf.qa("question", "context")                  # doctest: +SKIP
    >>> df.hf.qa("Who is the CEO?", "bio")               # a literal question for every row  # doctest: +SKIP
    """
    settings, extra = split_kwargs(settings)
    reject_unknown("qa", extra)
    return make_job("qa", "question-answering", [Input("question", question, True), Input("context", context, True)],
                    model=model, parameters=parameters, wire={"top_k": top_k}, prefix=prefix, settings=settings)


def table_qa(question: Any, table: Any = None, *, model: str | None = None, parameters: dict | None = None,
             prefix: str | None = None, **settings: Any) -> Job:
    """Table question answering over ``table`` (default: the frame itself, minus the question column).

    Outputs ``answer``, ``cells``, ``coordinates``, ``aggregator``.

    >>> repos.hf.table_qa("How many stars does transformers have?")       # doctest: +SKIP
    >>> questions.hf.table_qa("question", table=repos)   # many questions about one table  # doctest: +SKIP
    """
    settings, extra = split_kwargs(settings)
    reject_unknown("table_qa", extra)
    job = make_job("table_qa", "table-question-answering", [Input("question", question, True)], model=model,
                   parameters=parameters, prefix=prefix, settings=settings, table=FRAME)
    return job if table is None else job.bind_table(table_to_dict(table))


def table_to_dict(table: Any, exclude: Sequence[str] = ()) -> dict[str, list[str]]:
    """A pandas/polars frame or a dict of columns -> ``{column: [cell as str, ...]}`` as the API wants."""
    if isinstance(table, dict):
        columns = {str(k): list(v) for k, v in table.items()}
    elif hasattr(table, "collect"):  # a polars LazyFrame
        return table_to_dict(table.collect(), exclude)
    elif hasattr(table, "columns"):
        columns = {str(c): list(table[c]) for c in table.columns if c not in exclude}
    else:
        raise TypeError(f"table_qa: table must be a DataFrame or a dict of columns, got {type(table).__name__}")
    return {c: ["" if is_missing(v) else str(v) for v in values] for c, values in columns.items()}


def fill_mask(col: Any, *, top_k: int = 5, model: str | None = None, parameters: dict | None = None,
              prefix: str | None = None, **settings: Any) -> Job:
    """Fill-mask. Outputs the best ``sequence``, ``token_str``, ``score`` and all ``candidates``.

    >>> pd.DataFrame({"t": ["The goal of life is <mask>."]}).hf.fill_mask("t", top_k=3)   # doctest: +SKIP
    """
    settings, extra = split_kwargs(settings)
    reject_unknown("fill_mask", extra)
    return make_job("fill_mask", "fill-mask", [Input("col", col)], model=model, parameters=parameters,
                    wire={"top_k": top_k}, prefix=prefix, settings=settings)


def summarize(col: Any, *, model: str | None = None, parameters: dict | None = None, prefix: str | None = None,
              **generation: Any) -> Job:
    """Summarization. Output ``summary``. Extra keywords (``max_length``...) go to the API parameters.

    >>> df.hf.summarize("article", max_length=60)        # doctest: +SKIP
    """
    settings, extra = split_kwargs(generation)
    return make_job("summarize", "summarization", [Input("col", col)], model=model, parameters=parameters,
                    wire=extra, prefix=prefix, settings=settings)


def translate(col: Any, *, src_lang: str | None = None, tgt_lang: str | None = None, model: str | None = None,
              parameters: dict | None = None, prefix: str | None = None, **generation: Any) -> Job:
    """Translation. Output ``translation``.

    >>> df.hf.translate("text", model="facebook/mbart-large-50-many-to-many-mmt",
    ...                 src_lang="en_XX", tgt_lang="fr_XX")   # doctest: +SKIP
    """
    settings, extra = split_kwargs(generation)
    return make_job("translate", "translation", [Input("col", col)], model=model, parameters=parameters,
                    wire={"src_lang": src_lang, "tgt_lang": tgt_lang, **extra}, prefix=prefix, settings=settings)


def generate(col: Any, *, return_full_text: bool = False, model: str | None = None, parameters: dict | None = None,
             prefix: str | None = None, **generation: Any) -> Job:
    """Text generation. Output ``generated`` (the continuation only, unless ``return_full_text=True``).

    >>> df.hf.generate("prompt", max_new_tokens=40, temperature=0.7)   # doctest: +SKIP
    """
    settings, extra = split_kwargs(generation)
    return make_job("generate", "text-generation", [Input("col", col)], model=model, parameters=parameters,
                    wire={"return_full_text": return_full_text, **extra}, prefix=prefix, settings=settings)


def similarity(a: Any, b: Any, *, model: str | None = None, parameters: dict | None = None,
               prefix: str | None = None, **settings: Any) -> Job:
    """Sentence similarity of two columns, or of a column and a literal sentence. Output ``similarity``.

    >>> df.hf.similarity("review", "the package arrived late")   # one request for all rows  # doctest: +SKIP
    >>> df.hf.similarity("title", "abstract")                    # row by row  # doctest: +SKIP
    """
    settings, extra = split_kwargs(settings)
    reject_unknown("similarity", extra)
    job = make_job("similarity", "sentence-similarity", [Input("a", a, True), Input("b", b, True)],
                   model=model, parameters=parameters, prefix=prefix, settings=settings, swap_to_literal=True)
    if job.call.backend.kind == "local" and not parameters:
        # Locally, similarity is the cosine of embed's vectors: share them (and their cache) with embed.
        from .embeddings import local_similarity

        return local_similarity(job, settings)
    return job
