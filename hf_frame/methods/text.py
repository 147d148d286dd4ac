"""The text methods: classification, zero-shot, NER, QA, table QA, fill-mask, summarization,
translation, generation and sentence similarity. Each turns its arguments into a :class:`Job`.

The docstrings describe what users call, ``df.hf.<method>(...)`` (they are the accessors' own):
called directly, each function returns the :class:`Job` that the accessor runs on the frame."""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

from ..backends import backend_for
from ..config import SettingsKwargs, Unpack, resolve_settings
from ..formats.cells import is_missing
from . import checks
from .job import FRAME, Input, Job, make_job, reject_unknown, split_kwargs
from .kwargs import Seq2SeqKwargs, TextGenerationKwargs


def classify(col: Any, *, top_k: int | None = 1, model: str | None = None, parameters: dict | None = None,
             prefix: str | None = None, **settings: Unpack[SettingsKwargs]) -> Job:
    """Text classification: each row's label and its score.

    Parameters
    ----------
    col : str
        The text column (or a Series of as many rows). On ``Series.hf`` and ``Expr.hf`` the
        series or expression itself is this input. Missing values and empty strings give null
        outputs and send nothing.
    top_k : int or None, default 1
        How many of the best labels to keep per row; above 1, or None for every label the model
        returns, the outputs add ``labels``.
    model : str, optional
        A Hub model id (with ``provider="local"`` also a local directory); default
        ``distilbert/distilbert-base-uncased-finetuned-sst-2-english``.
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

        * ``label`` (string): the best label;
        * ``score`` (double): its score;
        * ``labels`` (list<struct<label: string, score: double>>, best first): only when ``top_k`` is not 1;
        * ``error`` (string): null, or why the row failed.

    Examples
    --------
    >>> df.hf.classify("review")                                # doctest: +SKIP
    >>> df.hf.classify("review", top_k=None)["review_labels"]   # every label, best first  # doctest: +SKIP
    >>> df["review"].hf.classify()                              # label, score, error  # doctest: +SKIP
    """
    settings, extra = split_kwargs(settings)
    reject_unknown("classify", extra)
    checks.positive_int("classify", "top_k", top_k)
    return make_job("classify", "text-classification", [Input("col", col)], model=model, parameters=parameters,
                    wire={"top_k": top_k}, options={"top_k": top_k}, prefix=prefix, settings=settings)


def zero_shot(col: Any, labels: Sequence[str] | None = None, *, multi_label: bool = False,
              hypothesis_template: str | None = None, model: str | None = None, parameters: dict | None = None,
              prefix: str | None = None, **settings: Unpack[SettingsKwargs]) -> Job:
    """Zero-shot classification: each row scored against labels you choose, no training needed.

    The API scores at most 10 labels per request. With ``multi_label=True`` hf_frame splits a longer
    list across requests; with ``multi_label=False`` the scores are normalised over all labels, so
    more than 10 labels is a ``ValueError``.

    Parameters
    ----------
    col : str
        The text column (or a Series of as many rows). On ``Series.hf`` and ``Expr.hf`` the
        series or expression itself is this input. Missing values and empty strings give null
        outputs and send nothing.
    labels : list of str
        The candidate labels: non-empty, distinct strings (one string is one label).
        ``candidate_labels=`` is accepted too.
    multi_label : bool, default False
        Score every label on its own (independent probabilities) instead of sharing 1 between them;
        needed above 10 labels.
    hypothesis_template : str, optional
        The sentence each label is tested with, ``{}`` standing for the label, e.g.
        ``"This review is about {}."`` (default: the server's, usually "This example is {}.").
    model : str, optional
        A Hub model id (with ``provider="local"`` also a local directory); default
        ``facebook/bart-large-mnli``.
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

        * ``label`` (string): the best label;
        * ``score`` (double): its score;
        * ``score_<label>`` (double): the score of every label, in the order given;
        * ``error`` (string): null, or why the row failed.

    Examples
    --------
    >>> df.hf.zero_shot("review", labels=["shipping", "price", "quality"])   # doctest: +SKIP
    >>> df.hf.zero_shot("review", labels=topics, multi_label=True)          # doctest: +SKIP
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
        prefix: str | None = None, **settings: Unpack[SettingsKwargs]) -> Job:
    """Named-entity recognition: the entities of each row, with their spans.

    Parameters
    ----------
    col : str
        The text column (or a Series of as many rows). On ``Series.hf`` and ``Expr.hf`` the
        series or expression itself is this input. Missing values and empty strings give null
        outputs and send nothing.
    aggregation : {"simple", "first", "average", "max", "none"} or None, default "simple"
        How word pieces are merged into entities: ``simple``, ``first``, ``average``, ``max``, or
        ``none`` (one entity per token); None sends nothing (the server decides). The API's name,
        ``aggregation_strategy``, is accepted too.
    model : str, optional
        A Hub model id (with ``provider="local"`` also a local directory); default
        ``dslim/bert-base-NER``.
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

        * ``entities`` (list<struct<entity_group: string, word: string, score: double, start: int64,
          end: int64>>): ``start`` and ``end`` are character offsets into the row's text;
        * ``error`` (string): null, or why the row failed.

    Examples
    --------
    >>> df.hf.ner("review")["review_entities"].explode()   # one entity per row  # doctest: +SKIP
    """
    settings, extra = split_kwargs(settings)
    aggregation = checks.alias("ner", extra, "aggregation_strategy", aggregation, "simple")
    reject_unknown("ner", extra)
    return make_job("ner", "token-classification", [Input("col", col)], model=model, parameters=parameters,
                    wire={"aggregation_strategy": aggregation}, prefix=prefix, settings=settings)


def qa(question: Any, context: Any, *, top_k: int | None = None, model: str | None = None,
       parameters: dict | None = None, prefix: str | None = None, **settings: Unpack[SettingsKwargs]) -> Job:
    """Extractive question answering: the span of the context that answers the question.

    A string that names a column of the frame is that column; any other string is a literal,
    the same for every row.

    Parameters
    ----------
    question : str
        The question column, or one question asked of every row.
    context : str
        The context column, or one context for every row.
    top_k : int or None, default None
        How many answers the API ranks; only the best is kept (default: the API's).
    model : str, optional
        A Hub model id (with ``provider="local"`` also a local directory); default
        ``deepset/roberta-base-squad2``.
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
        The frame with these columns added, named ``<column>_<field>`` after the first input that is
        a column, of the Arrow types below (``pd.ArrowDtype`` in pandas, the matching dtypes in
        polars). ``Series.hf`` returns the fields alone, ``LazyFrame.hf`` adds them to the plan,
        ``Expr.hf`` is one struct of them:

        * ``answer`` (string): the answer, a span of the context;
        * ``score`` (double): its score;
        * ``start``, ``end`` (int64): its character offsets in the context;
        * ``error`` (string): null, or why the row failed.

    Examples
    --------
    >>> df.hf.qa("question", "context")      # two columns  # doctest: +SKIP
    >>> df.hf.qa("Who is the CEO?", "bio")   # a literal question for every row  # doctest: +SKIP
    """
    settings, extra = split_kwargs(settings)
    reject_unknown("qa", extra)
    checks.positive_int("qa", "top_k", top_k)
    return make_job("qa", "question-answering", [Input("question", question, True), Input("context", context, True)],
                    model=model, parameters=parameters, wire={"top_k": top_k}, prefix=prefix, settings=settings)


def table_qa(question: Any, table: Any = None, *, model: str | None = None, parameters: dict | None = None,
             prefix: str | None = None, **settings: Unpack[SettingsKwargs]) -> Job:
    """Table question answering: questions answered from the cells of a table.

    Parameters
    ----------
    question : str
        The question column, or one literal question.
    table : DataFrame or dict, optional
        The table: a pandas or polars DataFrame, or a dict of columns; cells are sent as text. By
        default the frame the method is called on, without the question column.
    model : str, optional
        A Hub model id (with ``provider="local"`` also a local directory); default
        ``google/tapas-base-finetuned-wtq``.
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
        The frame with these columns added, named ``<question>_<field>`` (``table_qa_<field>`` for a
        literal question), of the Arrow types below (``pd.ArrowDtype`` in pandas, the matching
        dtypes in polars). ``Series.hf`` returns the fields alone, ``LazyFrame.hf`` adds them to the
        plan, ``Expr.hf`` is one struct of them:

        * ``answer`` (string): the answer as text;
        * ``cells`` (list<string>): the cells it comes from;
        * ``coordinates`` (list<list<int64>>): their ``[row, column]`` positions in the table;
        * ``aggregator`` (string): how the cells were combined (``NONE``, ``SUM``, ``COUNT``, ``AVERAGE``);
        * ``error`` (string): null, or why the row failed.

    Examples
    --------
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
        repeated = sorted({str(c) for c in table.columns if list(table.columns).count(c) > 1})
        if repeated:
            raise ValueError(f"table_qa: the table has several columns named {repeated}; rename them")
        columns = {str(c): list(table[c]) for c in table.columns if c not in exclude}
    else:
        raise TypeError(f"table_qa: table must be a DataFrame or a dict of columns, got {type(table).__name__}")
    return {c: ["" if is_missing(v) else str(v) for v in values] for c, values in columns.items()}


def fill_mask(col: Any, *, top_k: int = 5, model: str | None = None, parameters: dict | None = None,
              prefix: str | None = None, **settings: Unpack[SettingsKwargs]) -> Job:
    """Fill-mask: the most likely words for the mask token of each row.

    Each text holds the model's mask token: ``[MASK]`` for BERT models (the default), ``<mask>``
    for RoBERTa models.

    Parameters
    ----------
    col : str
        The text column (or a Series of as many rows). On ``Series.hf`` and ``Expr.hf`` the
        series or expression itself is this input. Missing values and empty strings give null
        outputs and send nothing.
    top_k : int, default 5
        How many candidates to return per row, best first.
    model : str, optional
        A Hub model id (with ``provider="local"`` also a local directory); default
        ``google-bert/bert-base-uncased``.
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

        * ``sequence`` (string): the text with the best candidate filled in;
        * ``token_str`` (string): the best candidate;
        * ``score`` (double): its score;
        * ``candidates`` (list<struct<sequence: string, token_str: string, token: int64, score: double>>):
          every candidate, best first;
        * ``error`` (string): null, or why the row failed.

    Examples
    --------
    >>> pd.DataFrame({"t": ["The goal of life is [MASK]."]}).hf.fill_mask("t", top_k=3)   # doctest: +SKIP
    """
    settings, extra = split_kwargs(settings)
    reject_unknown("fill_mask", extra)
    checks.positive_int("fill_mask", "top_k", top_k)
    return make_job("fill_mask", "fill-mask", [Input("col", col)], model=model, parameters=parameters,
                    wire={"top_k": top_k}, prefix=prefix, settings=settings)


def summarize(col: Any, *, model: str | None = None, parameters: dict | None = None, prefix: str | None = None,
              **generation: Unpack[Seq2SeqKwargs]) -> Job:
    """Summarization: a summary of each row's text.

    Parameters
    ----------
    col : str
        The text column (or a Series of as many rows). On ``Series.hf`` and ``Expr.hf`` the
        series or expression itself is this input. Missing values and empty strings give null
        outputs and send nothing.
    model : str, optional
        A Hub model id (with ``provider="local"`` also a local directory); default
        ``facebook/bart-large-cnn``.
    parameters : dict, optional
        Extra API parameters, sent as given; they win over the named arguments.
    prefix : str, optional
        The output columns' prefix, instead of the input column's name.
    dry_run : bool, default False
        Return what the call would send and cost (a :class:`~hf_frame.methods.plan.Plan`: rows,
        unique inputs, cached answers, requests, tokens, dollars) instead of running it; nothing is
        sent. Not on ``Expr.hf``.
    **generation
        Settings for this call (:class:`~hf_frame.SettingsKwargs`), and generation parameters
        sent to the API (``max_length``, ``min_length``, ``num_beams``, ``truncation``...; see :class:`~hf_frame.methods.kwargs.Seq2SeqKwargs`): any keyword that is not a setting.

    Returns
    -------
    DataFrame
        The frame with these columns added, named ``<col>_<field>``, of the Arrow types below
        (``pd.ArrowDtype`` in pandas, the matching dtypes in polars). ``Series.hf`` returns the
        fields alone, ``LazyFrame.hf`` adds them to the plan, ``Expr.hf`` is one struct of them:

        * ``summary`` (string): the summary;
        * ``error`` (string): null, or why the row failed.

    Examples
    --------
    >>> df.hf.summarize("article", max_length=60)        # doctest: +SKIP
    """
    settings, extra = split_kwargs(generation)
    return make_job("summarize", "summarization", [Input("col", col)], model=model, parameters=parameters,
                    wire=extra, prefix=prefix, settings=settings)


def translate(col: Any, *, src_lang: str | None = None, tgt_lang: str | None = None, model: str | None = None,
              parameters: dict | None = None, prefix: str | None = None,
              **generation: Unpack[Seq2SeqKwargs]) -> Job:
    """Translation of each row's text.

    Parameters
    ----------
    col : str
        The text column (or a Series of as many rows). On ``Series.hf`` and ``Expr.hf`` the
        series or expression itself is this input. Missing values and empty strings give null
        outputs and send nothing.
    src_lang : str, optional
        The source language code, for multilingual models (``en_XX`` for mBART, ``eng_Latn`` for NLLB).
    tgt_lang : str, optional
        The target language code, for multilingual models (``fr_XX``, ``fra_Latn``).
    model : str, optional
        A Hub model id (with ``provider="local"`` also a local directory); default
        ``google-t5/t5-small``.
    parameters : dict, optional
        Extra API parameters, sent as given; they win over the named arguments.
    prefix : str, optional
        The output columns' prefix, instead of the input column's name.
    dry_run : bool, default False
        Return what the call would send and cost (a :class:`~hf_frame.methods.plan.Plan`: rows,
        unique inputs, cached answers, requests, tokens, dollars) instead of running it; nothing is
        sent. Not on ``Expr.hf``.
    **generation
        Settings for this call (:class:`~hf_frame.SettingsKwargs`), and generation parameters
        sent to the API (``max_length``, ``num_beams``...; see :class:`~hf_frame.methods.kwargs.Seq2SeqKwargs`): any keyword that is not a setting.

    Returns
    -------
    DataFrame
        The frame with these columns added, named ``<col>_<field>``, of the Arrow types below
        (``pd.ArrowDtype`` in pandas, the matching dtypes in polars). ``Series.hf`` returns the
        fields alone, ``LazyFrame.hf`` adds them to the plan, ``Expr.hf`` is one struct of them:

        * ``translation`` (string): the translation;
        * ``error`` (string): null, or why the row failed.

    Examples
    --------
    >>> df.hf.translate("text", model="facebook/mbart-large-50-many-to-many-mmt",
    ...                 src_lang="en_XX", tgt_lang="fr_XX")   # doctest: +SKIP
    """
    settings, extra = split_kwargs(generation)
    return make_job("translate", "translation", [Input("col", col)], model=model, parameters=parameters,
                    wire={"src_lang": src_lang, "tgt_lang": tgt_lang, **extra}, prefix=prefix, settings=settings)


def generate(col: Any, *, return_full_text: bool = False, model: str | None = None, parameters: dict | None = None,
             prefix: str | None = None, **generation: Unpack[TextGenerationKwargs]) -> Job:
    """Text generation: a continuation of each row's prompt.

    Parameters
    ----------
    col : str
        The prompt column (or a Series of as many rows). On ``Series.hf`` and ``Expr.hf`` the
        series or expression itself is this input. Missing values and empty strings give null
        outputs and send nothing.
    return_full_text : bool, default False
        Return the prompt followed by the continuation, instead of the continuation only.
    model : str, optional
        A Hub model id (with ``provider="local"`` also a local directory); default
        ``zai-org/GLM-5.2`` (``openai-community/gpt2`` with ``provider="local"``).
    parameters : dict, optional
        Extra API parameters, sent as given; they win over the named arguments.
    prefix : str, optional
        The output columns' prefix, instead of the input column's name.
    dry_run : bool, default False
        Return what the call would send and cost (a :class:`~hf_frame.methods.plan.Plan`: rows,
        unique inputs, cached answers, requests, tokens, dollars) instead of running it; nothing is
        sent. Not on ``Expr.hf``.
    **generation
        Settings for this call (:class:`~hf_frame.SettingsKwargs`), and generation parameters
        sent to the API (``max_new_tokens``, ``temperature``, ``top_p``, ``seed``, ``stop``...; see :class:`~hf_frame.methods.kwargs.TextGenerationKwargs`): any keyword that is not a setting.

    Returns
    -------
    DataFrame
        The frame with these columns added, named ``<col>_<field>``, of the Arrow types below
        (``pd.ArrowDtype`` in pandas, the matching dtypes in polars). ``Series.hf`` returns the
        fields alone, ``LazyFrame.hf`` adds them to the plan, ``Expr.hf`` is one struct of them:

        * ``generated`` (string): the generated text;
        * ``error`` (string): null, or why the row failed.

    Examples
    --------
    >>> df.hf.generate("prompt", max_new_tokens=40, temperature=0.7)   # doctest: +SKIP
    """
    settings, extra = split_kwargs(generation)
    return make_job("generate", "text-generation", [Input("col", col)], model=model, parameters=parameters,
                    wire={"return_full_text": return_full_text, **extra}, prefix=prefix, settings=settings)


def similarity(a: Any, b: Any, *, model: str | None = None, parameters: dict | None = None,
               prefix: str | None = None, **settings: Unpack[SettingsKwargs]) -> Job:
    """Sentence similarity of two columns row by row, or of a column and one sentence.

    Rows that share a sentence share requests: against a literal sentence, every row goes in one
    request per batch. With ``provider="local"`` the similarity is the cosine of the embeddings that
    ``embed`` computes (and caches) for the same model.

    Parameters
    ----------
    a : str
        A text column, or one literal sentence.
    b : str
        A second text column, or one literal sentence compared with every row of ``a``.
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
        The frame with these columns added, named ``<column>_<field>`` after the first input that is
        a column, of the Arrow types below (``pd.ArrowDtype`` in pandas, the matching dtypes in
        polars). ``Series.hf`` returns the fields alone, ``LazyFrame.hf`` adds them to the plan,
        ``Expr.hf`` is one struct of them:

        * ``similarity`` (double): the cosine similarity, from -1 to 1;
        * ``error`` (string): null, or why the row failed.

    Examples
    --------
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
