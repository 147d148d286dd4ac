"""The public methods, framework-free: each turns its arguments into a :class:`Job`.

A job knows which inputs it needs (columns or literals), the output type it will produce (known
before anything is sent, so polars lazy plans can declare it) and how to run on plain Python
values. The pandas and polars adapters only fetch columns, call :meth:`Job.run`, and attach the
typed results; so every method behaves the same on every backend.
"""

from __future__ import annotations

import dataclasses
import threading
import warnings
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Sequence

import pyarrow as pa

from .backends.remote import providers
from .config import Settings, is_setting, resolve_settings
from .core import engine
from .errors import RowErrors, RowErrorWarning
from .tasks import TASKS, Call
from .tasks.base import is_missing
from .tasks.defaults import default_model

ERROR_FIELD = "error"
MAX_ZERO_SHOT_LABELS = 10
FRAME = object()  # marker: "the frame the method is called on" (table_qa's default table)

_last_run: dict[str, Any] = {}
_usage_total: dict[str, int] = {}
_usage_lock = threading.Lock()


def last_run() -> dict[str, Any]:
    """Counts of the most recent method call in this process: rows, unique inputs, cached, requests, failed.

    >>> df.hf.classify("review"); hf_frame.last_run()  # doctest: +SKIP
    {'method': 'classify', 'rows': 1000, 'unique': 640, 'cached': 600, 'requests': 40, 'failed': 0,
     'provider': 'hf-inference'}

    ``provider`` is the Inference Provider that answered (the router's ``x-inference-provider``
    header when it says, e.g. for chat with ``provider="auto"``); absent when nothing was sent.

    Methods whose answers report token counts (``chat``) add ``usage``: the tokens of the answers
    received by that call (cached rows cost 0), e.g. ``{'prompt_tokens': 812, 'completion_tokens': 95,
    'total_tokens': 907}``.
    """
    return dict(_last_run)


def usage(reset: bool = False) -> dict[str, int]:
    """Tokens of every answer received in this process (summed over calls and polars batches).

    ``usage(reset=True)`` returns the totals and starts counting from zero again.
    """
    with _usage_lock:
        totals = dict(_usage_total)
        if reset:
            _usage_total.clear()
    return totals


@dataclass(frozen=True)
class Input:
    """One input of a method: a column name, or a literal value broadcast to every row."""

    arg: str
    value: Any
    literal_ok: bool = False  # may a string that is not a column be used as a literal?


@dataclass
class Job:
    """A method call, resolved but not run. ``run`` takes plain per-input value lists."""

    method: str
    calls: list[Call]
    inputs: list[Input]
    prefix: str | None = None
    output_call: Call | None = None  # the call whose output_type describes the merged result
    merge: Callable[[list[Any]], Any] | None = None  # merges one result per call into one
    table: Any = None  # table_qa: a dict of columns, or FRAME until an adapter binds the frame
    swap_to_literal: bool = False  # similarity: put the literal side first so its rows share requests
    # Each row's outputs depend on that row alone, so polars may run the job on parts of a column
    # (in parallel, and batch by batch under the streaming engine). False: whole column at once.
    elementwise: bool = True
    # True for jobs that pick rows (search): adapters call select() instead of run() and return the
    # chosen rows of the frame, in the order given, with the columns select() returns.
    returns_rows: ClassVar[bool] = False

    def bind_table(self, table: dict[str, list[str]]) -> "Job":
        """A copy whose calls carry ``table`` (table_qa answers questions about it)."""
        calls = [dataclasses.replace(c, options={**c.options, "table": table}) for c in self.calls]
        return dataclasses.replace(self, calls=calls, table=table)

    def arrange(self, columns: list[Sequence[Any]], literal: Sequence[bool]) -> list[Sequence[Any]]:
        """Reorder inputs before running (only similarity uses this: cosine is symmetric)."""
        if self.swap_to_literal and len(columns) == 2 and literal[1] and not literal[0]:
            return [columns[1], columns[0]]
        return columns

    @property
    def call(self) -> Call:
        return self.output_call or self.calls[0]

    @property
    def settings(self) -> Settings:
        return self.call.settings

    def output_type(self) -> pa.StructType:
        """The struct type of the outputs, ``error`` last. Known before anything is sent."""
        fields = list(self.call.task.output_type(self.call))
        return pa.struct(fields + [pa.field(ERROR_FIELD, pa.string())])

    def default_prefix(self, resolved_names: Sequence[str | None]) -> str:
        """The first input that is a column names the outputs; otherwise the method name."""
        if self.prefix:
            return self.prefix
        return next((n for n in resolved_names if n), self.method)

    def output_names(self, resolved_names: Sequence[str | None], existing: Sequence[str]) -> dict[str, str]:
        """Output field -> column name, never clobbering an existing column.

        Default names are ``<input column>_<field>``. If one of the output fields already exists
        (say a previous ``classify`` made ``review_label`` and ``zero_shot`` runs on ``review``
        next), the method name is inserted in all of them: ``review_zero_shot_label``. The error
        column follows the same rule on its own, so ``ner`` after ``classify`` gives
        ``review_entities`` and ``review_ner_error``. With an explicit ``prefix=`` whose output
        fields exist, or when the inserted names exist too, a ``ValueError`` names the clashing
        columns.
        """
        fields = [f.name for f in self.output_type() if f.name != ERROR_FIELD]
        prefix = self.default_prefix(resolved_names)
        existing = set(map(str, existing))
        names = {f: f"{prefix}_{f}" for f in fields}
        if not self.prefix and not existing.isdisjoint(names.values()):
            names = {f: f"{prefix}_{self.method}_{f}" for f in fields}
        error = f"{prefix}_{ERROR_FIELD}"
        names[ERROR_FIELD] = f"{prefix}_{self.method}_{ERROR_FIELD}" if error in existing else error
        clash = existing.intersection(names.values())
        if clash:
            raise ValueError(
                f"{self.method}: output column(s) {sorted(clash)} already exist; pass prefix='...' to choose other names"
            )
        return names

    def run(self, columns: Sequence[Sequence[Any]], *, labels: Sequence[Any] | None = None,
            error_column: str = ERROR_FIELD, input_names: Sequence[str] = ()) -> pa.StructArray:
        """Compute every row. ``columns`` has one equal-length value list per input.

        ``labels`` (row labels) and ``input_names`` (column names) only make messages precise.
        """
        rows = list(zip(*columns)) if columns else []
        calls = [dataclasses.replace(c, input_names=tuple(input_names)) for c in self.calls]
        outcomes = [engine.run(call, rows, labels) for call in calls]
        if len(outcomes) == 1:
            results, errors = outcomes[0].results, outcomes[0].errors
        else:
            errors = [next((o.errors[i] for o in outcomes if o.errors[i]), None) for i in range(len(rows))]
            results = [None if errors[i] or outcomes[0].results[i] is None
                       else self.merge([o.results[i] for o in outcomes]) for i in range(len(rows))]
        _last_run.clear()
        _last_run.update(method=self.method, rows=outcomes[0].rows, unique=outcomes[0].unique,
                         cached=sum(o.cached for o in outcomes), requests=sum(o.requests for o in outcomes),
                         failed=sum(e is not None for e in errors))
        provider = next((o.provider for o in outcomes if o.provider), None)
        if provider:
            _last_run["provider"] = provider
        fields = self.call.task.usage_fields
        if fields:  # token counts of the answers received now: cached and shared rows cost 0
            spent = {name: sum(o.usage.get(name, 0) for o in outcomes) for name in fields}
            _last_run["usage"] = spent
            with _usage_lock:
                for name, count in spent.items():
                    _usage_total[name] = _usage_total.get(name, 0) + count
        data = self.call.task.build_array(self.call, results)
        self._report(errors, labels, error_column)
        # flatten() (unlike field()) turns null rows into null children, whatever the children held.
        arrays = data.flatten() + [pa.array(errors, type=pa.string())]
        fields = list(data.type) + [pa.field(ERROR_FIELD, pa.string())]
        return pa.StructArray.from_arrays(arrays, fields=fields)

    def select(self, columns: Sequence[Sequence[Any]], *, labels: Sequence[Any] | None = None,
               error_column: str = ERROR_FIELD, input_names: Sequence[str] = ()) -> tuple[Any, pa.StructArray]:
        """For ``returns_rows`` jobs: ``(row positions, struct array of new columns, one per position)``."""
        raise NotImplementedError(f"{self.method} computes a column per row; call run()")

    def _report(self, errors: list[str | None], labels, error_column: str) -> None:
        failed = {(labels[i] if labels is not None else i): e for i, e in enumerate(errors) if e is not None}
        if not failed or self.settings.errors == "ignore":
            return
        if self.settings.errors == "raise":
            raise RowErrors(failed, column=error_column, total=len(errors))
        first = next(iter(failed.values()))
        warnings.warn(
            f"{self.method}: {len(failed)} of {len(errors)} rows failed; their outputs are null and "
            f"{error_column!r} says why (first: {first}). Rerunning retries only those rows.",
            RowErrorWarning, stacklevel=4,
        )


# ---------------------------------------------------------------------------------------------
# building jobs


def _split_kwargs(kwargs: dict[str, Any]) -> tuple[dict, dict]:
    """Per-call settings overrides vs. extra API parameters (e.g. generation options)."""
    settings = {k: v for k, v in kwargs.items() if is_setting(k)}
    extra = {k: v for k, v in kwargs.items() if not is_setting(k)}
    return settings, extra


def make_job(method: str, task_name: str, inputs: list[Input], *, model: str | None, parameters: dict | None,
             wire: dict | None = None, options: dict | None = None, prefix: str | None = None,
             settings: dict | None = None, **extra: Any) -> Job:
    """Resolve settings, model and parameters into a one-call :class:`Job`."""
    task = TASKS[task_name]
    resolved = resolve_settings(**(settings or {}))
    providers.check(resolved.provider, task_name, endpoint=resolved.endpoint, describe=_describe_task)
    merged = {**(wire or {}), **(parameters or {})}
    model = model or (default_model(task_name, resolved.provider) if task.default_model else None)
    call = Call(task=task, model=model, parameters={k: v for k, v in merged.items() if v is not None},
                options=options or {}, settings=resolved)
    return Job(method=method, calls=[call], inputs=inputs, prefix=prefix, **extra)


def _describe_task(task_name: str) -> str:
    """``"embed (feature-extraction)"``: a task named by its method(s), for messages."""
    names = sorted({t.method for t in TASKS.values() if t.name == task_name and t.method})
    if task_name == "feature-extraction":
        names = ["embed", "search"]
    return f"{'/'.join(names)} ({task_name})" if names else task_name


def _alias(method: str, extra: dict, alias: str, value: Any, default: Any = None) -> Any:
    """Take ``alias=`` (huggingface_hub's name of an argument) out of ``extra`` as ``value``."""
    if alias not in extra:
        return value
    given = extra.pop(alias)
    if value is not default and value != given:
        raise TypeError(f"{method}: {alias}= is another name for the same argument; pass only one")
    return given


def _reject_unknown(method: str, extra: dict) -> None:
    if extra:
        raise TypeError(f"{method}() got unexpected keyword argument(s) {sorted(extra)}")


def classify(col: Any, *, top_k: int | None = 1, model: str | None = None, parameters: dict | None = None,
             prefix: str | None = None, **settings: Any) -> Job:
    """Text classification. Outputs ``label``, ``score``; with ``top_k`` > 1 or None also ``labels``.

    Every method also takes ``model=``, ``parameters=`` (passed to the API as-is), ``prefix=``
    and any setting as a keyword (``max_concurrency=8``, ``cache=False``, ``errors="raise"``).

    >>> df.hf.classify("review")                       # doctest: +SKIP
    >>> df.hf.classify("review", top_k=None)["review_labels"]   # every label, best first  # doctest: +SKIP
    """
    settings, extra = _split_kwargs(settings)
    _reject_unknown("classify", extra)
    if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"classify: top_k must be a positive integer or None, got {top_k!r}")
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
    settings, extra = _split_kwargs(settings)
    labels = _alias("zero_shot", extra, "candidate_labels", labels)
    _reject_unknown("zero_shot", extra)
    if isinstance(labels, str):
        labels = [labels]
    labels = list(labels or [])
    if not labels:
        raise ValueError("zero_shot: labels is empty; pass the candidate labels, e.g. labels=['price', 'quality']")
    bad = [label for label in labels if not isinstance(label, str) or not label.strip()]
    if bad:
        raise ValueError(f"zero_shot: every label must be a non-empty string, got {bad!r}")
    if len(set(labels)) != len(labels):
        raise ValueError(f"zero_shot: labels contain duplicates: {labels!r}")
    remote = resolve_settings(**settings).provider != "local"
    if remote and len(labels) > MAX_ZERO_SHOT_LABELS and not multi_label:
        raise ValueError(
            f"zero_shot: {len(labels)} labels, but the API scores at most {MAX_ZERO_SHOT_LABELS} per request. "
            "With multi_label=True the labels are scored independently and hf_frame splits them across requests; "
            "with multi_label=False the scores are normalised over all labels, which cannot be split."
        )
    chunks = [labels[i : i + MAX_ZERO_SHOT_LABELS] for i in range(0, len(labels), MAX_ZERO_SHOT_LABELS)] if remote else [labels]
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
    settings, extra = _split_kwargs(settings)
    aggregation = _alias("ner", extra, "aggregation_strategy", aggregation, "simple")
    _reject_unknown("ner", extra)
    return make_job("ner", "token-classification", [Input("col", col)], model=model, parameters=parameters,
                    wire={"aggregation_strategy": aggregation}, prefix=prefix, settings=settings)


def qa(question: Any, context: Any, *, top_k: int | None = None, model: str | None = None,
       parameters: dict | None = None, prefix: str | None = None, **settings: Any) -> Job:
    """Extractive question answering. ``question``/``context``: a column or a literal string.

    Outputs ``answer``, ``score``, ``start``, ``end``.

    >>> df.hf.qa("question", "context")                  # doctest: +SKIP
    >>> df.hf.qa("Who is the CEO?", "bio")               # a literal question for every row  # doctest: +SKIP
    """
    settings, extra = _split_kwargs(settings)
    _reject_unknown("qa", extra)
    return make_job("qa", "question-answering", [Input("question", question, True), Input("context", context, True)],
                    model=model, parameters=parameters, wire={"top_k": top_k}, prefix=prefix, settings=settings)


def table_qa(question: Any, table: Any = None, *, model: str | None = None, parameters: dict | None = None,
             prefix: str | None = None, **settings: Any) -> Job:
    """Table question answering over ``table`` (default: the frame itself, minus the question column).

    Outputs ``answer``, ``cells``, ``coordinates``, ``aggregator``.

    >>> repos.hf.table_qa("How many stars does transformers have?")       # doctest: +SKIP
    >>> questions.hf.table_qa("question", table=repos)   # many questions about one table  # doctest: +SKIP
    """
    settings, extra = _split_kwargs(settings)
    _reject_unknown("table_qa", extra)
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
    settings, extra = _split_kwargs(settings)
    _reject_unknown("fill_mask", extra)
    return make_job("fill_mask", "fill-mask", [Input("col", col)], model=model, parameters=parameters,
                    wire={"top_k": top_k}, prefix=prefix, settings=settings)


def summarize(col: Any, *, model: str | None = None, parameters: dict | None = None, prefix: str | None = None,
              **generation: Any) -> Job:
    """Summarization. Output ``summary``. Extra keywords (``max_length``...) go to the API parameters.

    >>> df.hf.summarize("article", max_length=60)        # doctest: +SKIP
    """
    settings, extra = _split_kwargs(generation)
    return make_job("summarize", "summarization", [Input("col", col)], model=model, parameters=parameters,
                    wire=extra, prefix=prefix, settings=settings)


def translate(col: Any, *, src_lang: str | None = None, tgt_lang: str | None = None, model: str | None = None,
              parameters: dict | None = None, prefix: str | None = None, **generation: Any) -> Job:
    """Translation. Output ``translation``.

    >>> df.hf.translate("text", model="facebook/mbart-large-50-many-to-many-mmt",
    ...                 src_lang="en_XX", tgt_lang="fr_XX")   # doctest: +SKIP
    """
    settings, extra = _split_kwargs(generation)
    return make_job("translate", "translation", [Input("col", col)], model=model, parameters=parameters,
                    wire={"src_lang": src_lang, "tgt_lang": tgt_lang, **extra}, prefix=prefix, settings=settings)


def generate(col: Any, *, return_full_text: bool = False, model: str | None = None, parameters: dict | None = None,
             prefix: str | None = None, **generation: Any) -> Job:
    """Text generation. Output ``generated`` (the continuation only, unless ``return_full_text=True``).

    >>> df.hf.generate("prompt", max_new_tokens=40, temperature=0.7)   # doctest: +SKIP
    """
    settings, extra = _split_kwargs(generation)
    return make_job("generate", "text-generation", [Input("col", col)], model=model, parameters=parameters,
                    wire={"return_full_text": return_full_text, **extra}, prefix=prefix, settings=settings)


def similarity(a: Any, b: Any, *, model: str | None = None, parameters: dict | None = None,
               prefix: str | None = None, **settings: Any) -> Job:
    """Sentence similarity of two columns, or of a column and a literal sentence. Output ``similarity``.

    >>> df.hf.similarity("review", "the package arrived late")   # one request for all rows  # doctest: +SKIP
    >>> df.hf.similarity("title", "abstract")                    # row by row  # doctest: +SKIP
    """
    settings, extra = _split_kwargs(settings)
    _reject_unknown("similarity", extra)
    return make_job("similarity", "sentence-similarity", [Input("a", a, True), Input("b", b, True)],
                    model=model, parameters=parameters, prefix=prefix, settings=settings, swap_to_literal=True)


METHODS: dict[str, Callable[..., Job]] = {
    f.__name__: f for f in (classify, zero_shot, ner, qa, table_qa, fill_mask, summarize, translate, generate,
                            similarity)
}
# embed, search and rerank live in hf_frame.embeddings (registered when hf_frame is imported).


def register_method(function: Callable[..., Job]) -> Callable[..., Job]:
    """Make a job-building function available as ``df.hf.<name>`` on every backend.

    A function whose Series/Expr input is not its first parameter (``rerank(query, col)``) names it in
    a ``series_arg`` attribute; the Series accessors then pass the Series as that keyword.
    """
    METHODS[function.__name__] = function
    return function


def __getattr__(name: str) -> Any:  # methods.embed & co. moved to hf_frame.embeddings
    if name in ("embed", "search", "rerank"):
        from . import embeddings

        return getattr(embeddings, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

