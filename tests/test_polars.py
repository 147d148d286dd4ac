"""Polars-specific behaviour: namespaces, lazy plans, expressions, streaming and declared dtypes.

What every backend shares (names, types, values) is in ``test_backends.py``; this file proves what
only polars has: nothing is sent before ``collect()``, ``collect_schema()`` sends nothing, each
request is sent once (``return_dtype`` is declared), and streaming batches from several threads
share deduplication, single-flight and the cache.
"""

from __future__ import annotations

import inspect
import threading

import numpy as np
import pytest

pl = pytest.importorskip("polars")

from fake_hub import _png, answers  # noqa: E402

import hf_frame  # noqa: E402
from hf_frame.adapters import polars as hf_polars  # noqa: E402
from hf_frame.errors import FatalRequestError, RowErrors  # noqa: E402
from hf_frame.methods import METHODS, Input, make_job  # noqa: E402


@pytest.fixture
def hf(hub):
    hf_frame.configure(base_url=hub.base_url, retry_backoff=0.01)
    return hub


def texts_with_duplicates(rows: int, unique: int) -> list[str | None]:
    """``rows`` texts cycling through ``unique`` distinct ones, every 50th row null."""
    return [None if i % 50 == 49 else f"review number {i % unique} is good" for i in range(rows)]


def unique(texts) -> int:
    return len({t for t in texts if t})


def label_of(text):
    return answers.classify(text)[0]["label"] if text else None


# ---------------------------------------------------------------------------------------------
# namespaces


def test_hf_is_registered_on_every_polars_object():
    for obj in (pl.DataFrame(), pl.LazyFrame(), pl.Series([], dtype=pl.String), pl.col("a")):
        assert "classify" in dir(obj.hf) and callable(obj.hf.classify)
    # real attributes (tab completion, help()) with the job builder's docs; the object is the first input
    assert hf_polars.ExprNamespace.classify.__doc__ == METHODS["classify"].__doc__
    assert "col" not in inspect.signature(hf_polars.ExprNamespace.classify).parameters
    assert "col" in inspect.signature(hf_polars.LazyFrameNamespace.classify).parameters
    # rerank(query, col): the Series/Expr is ``col``, so ``query`` stays
    assert list(inspect.signature(hf_polars.ExprNamespace.rerank).parameters)[:2] == ["self", "query"]
    with pytest.raises(AttributeError, match="no method 'nope'"):
        pl.col("a").hf.nope  # noqa: B018  (the attribute access itself must raise)


def test_methods_registered_later_resolve_on_every_namespace(hf, monkeypatch):
    def shout(col, *, prefix=None, **settings):
        """A method another module registers after hf_frame.polars was imported."""
        return make_job("shout", "summarization", [Input("col", col)], model=None, parameters=None,
                        prefix=prefix, settings=settings)

    monkeypatch.setitem(METHODS, "shout", shout)
    df = pl.DataFrame({"t": ["One. Two."]})
    assert df.hf.shout("t")["t_summary"].to_list() == ["One."]
    assert df.lazy().hf.shout("t").collect()["t_summary"].to_list() == ["One."]
    assert df["t"].hf.shout()["summary"].to_list() == ["One."]
    assert df.select(pl.col("t").hf.shout().struct.field("summary"))["summary"].to_list() == ["One."]
    assert "shout" in dir(pl.col("t").hf)


# ---------------------------------------------------------------------------------------------
# laziness and request counts


def test_lazy_plan_sends_nothing_until_collect_then_each_request_once(hf):
    texts = texts_with_duplicates(2000, 200)
    lf = pl.LazyFrame({"review": texts}).hf.classify("review").hf.zero_shot("review", labels=["price", "quality"])
    schema = lf.collect_schema()
    lf.explain()
    assert hf.count() == 0
    assert schema["review_label"] == pl.String and schema["review_zero_shot_score_price"] == pl.Float64
    out = lf.collect()
    assert out.schema == schema
    assert hf.count() == 2 * unique(texts)  # one request per unique text per method: never twice
    assert out["review_label"].to_list() == [label_of(t) for t in texts]
    lf.collect()
    assert hf.count() == 2 * unique(texts)  # a second collect is answered by the cache


def test_expression_declares_its_dtype_and_sends_each_request_once(hf):
    texts = texts_with_duplicates(300, 30)
    lf = pl.LazyFrame({"review": texts, "n": range(300)})
    expr = pl.col("review").hf.classify(top_k=2)
    dtype = lf.select(expr).collect_schema()["review"]
    assert dtype == pl.Struct({"label": pl.String, "score": pl.Float64,
                               "labels": pl.List(pl.Struct({"label": pl.String, "score": pl.Float64})),
                               "error": pl.String})
    assert hf.count() == 0
    out = lf.with_columns(expr.struct.unnest()).collect()
    assert out.columns == ["review", "n", "label", "score", "labels", "error"]
    assert out["label"].to_list() == [label_of(t) for t in texts]
    assert hf.count() == unique(texts)


def test_expression_in_filter_and_eager_with_columns(hf):
    df = pl.DataFrame({"review": ["I love it", "terrible", "great value", "terrible"]})
    positive = df.filter(pl.col("review").hf.classify().struct.field("label") == "POSITIVE")
    assert positive["review"].to_list() == ["I love it", "great value"]
    assert hf.count() == 3
    out = df.with_columns(sentiment=pl.col("review").hf.classify())
    assert out.schema["sentiment"] == pl.Struct({"label": pl.String, "score": pl.Float64, "error": pl.String})
    assert hf.count() == 3  # cached


def test_streaming_batches_from_several_threads_share_dedup_and_cache(hf, monkeypatch):
    """A few thousand rows with duplicates, streamed in small batches: requests == unique inputs."""
    texts = texts_with_duplicates(3000, 300)
    calls: list[tuple[str, int]] = []
    real = hf_polars._Node._compute

    def spy(self, inputs):
        calls.append((threading.current_thread().name, inputs[0].len()))
        return real(self, inputs)

    monkeypatch.setattr(hf_polars._Node, "_compute", spy)
    hf.latency = 0.002  # batches overlap in time, so single-flight (not only the cache) is exercised
    lf = pl.LazyFrame({"review": texts, "n": range(3000)})
    with pl.Config(streaming_chunk_size=250):
        out = lf.hf.classify("review").collect(engine="streaming")
    assert len(calls) >= 4 and len({name for name, _ in calls}) >= 2, calls  # batches, from several threads
    assert sum(size for _, size in calls) == 3000
    assert hf.count() == unique(texts) == 294  # 6 of the 300 texts only ever appear on null rows
    assert out.sort("n")["review_label"].to_list() == [label_of(t) for t in texts]

    # the expression form, streamed again: everything comes from the cache
    with pl.Config(streaming_chunk_size=250):
        again = lf.select(pl.col("review").hf.classify().struct.field("label")).collect(engine="streaming")
    assert hf.count() == 294 and again.height == 3000


def test_streaming_without_cache_still_sends_unique_inputs_once_per_overlap(hf):
    """With cache=False only single-flight dedups across batches: never more than one request per row."""
    texts = texts_with_duplicates(1000, 100)
    with pl.Config(streaming_chunk_size=250):
        pl.LazyFrame({"t": texts}).hf.classify("t", cache=False).collect(engine="streaming")
    assert unique(texts) <= hf.count() <= 980


def test_plans_prune_unused_outputs_and_push_filters_down(hf):
    lf = pl.LazyFrame({"review": [f"text {i}" for i in range(100)], "n": range(100)}).hf.classify("review")
    assert lf.select("n").collect().height == 100 and hf.count() == 0  # output never used: nothing sent
    assert lf.filter(pl.col("n") < 10).collect().height == 10
    assert hf.count() == 10  # the filter ran before the model: only 10 rows were sent
    assert lf.head(3).collect().height == 3 and hf.count() == 10  # cached


# ---------------------------------------------------------------------------------------------
# inputs: several columns, literals, structs, Series


def test_multi_column_expressions(hf):
    df = pl.DataFrame({"question": ["Who?", "Where?"], "context": ["My name is Clara", "I live in Berlin"]})
    expected = [answers.answer_question(q, c)["answer"] for q, c in zip(df["question"], df["context"])]
    by_name = df.select(pl.struct("context", "question").hf.qa().struct.field("answer"))  # fields matched by name
    assert by_name["answer"].to_list() == expected
    by_position = df.select(pl.struct(q="question", c="context").hf.qa().struct.field("answer"))
    assert by_position["answer"].to_list() == expected
    second_expr = df.select(pl.col("question").hf.qa(pl.col("context")).struct.field("answer"))
    assert second_expr["answer"].to_list() == expected
    literal = df.select(pl.col("question").hf.qa("My name is Sarah").struct.field("answer"))  # a str is a literal
    assert literal["answer"].to_list() == ["Sarah", "Sarah"]
    lit = df.select(pl.lit("Who?").hf.qa(pl.col("context")).struct.field("answer"))
    assert lit["answer"].to_list() == expected
    with pytest.raises(ValueError, match="expected fields named"):
        df.select(pl.struct(pl.col("question").alias("a"), "context", pl.lit(1).alias("x")).hf.qa())
    with pytest.raises(TypeError, match="expected a struct"):
        df.select(pl.col("question").hf.qa())


def test_literal_expressions_in_frame_namespaces(hf):
    df = pl.DataFrame({"context": ["My name is Clara", "I live in Berlin"]})
    for out in (df.hf.qa(pl.lit("context"), "context"), df.lazy().hf.qa(pl.lit("context"), "context").collect()):
        # pl.lit("context") is the literal question "context", not the column of that name
        assert out.columns == ["context", "context_answer", "context_score", "context_start", "context_end",
                               "context_error"]
        expected = [answers.answer_question("context", c)["answer"] for c in df["context"]]
        assert out["context_answer"].to_list() == expected
    upper = df.hf.similarity(pl.col("context").str.to_uppercase(), pl.lit("a name"))
    assert upper.columns[1] == "context_similarity"
    assert upper["context_similarity"].to_list() == pytest.approx(
        [answers.similarity("a name", [c.upper()])[0] for c in df["context"]])


def test_series_namespace_returns_a_frame_of_outputs(hf):
    s = pl.Series("q", ["Who?", None])
    out = s.hf.qa(pl.Series(["My name is Clara", "x"]))
    assert out.columns == ["answer", "score", "start", "end", "error"]
    assert out["answer"].to_list() == ["Clara", None]
    assert s.hf.classify().columns == ["label", "score", "error"]


def test_table_qa_in_expressions_takes_a_table(hf):
    table = pl.DataFrame({"city": ["Paris"], "people": ["2M"]})
    df = pl.DataFrame({"q": ["How many?"]})
    for t in (table, table.lazy(), {"city": ["Paris"], "people": ["2M"]}):
        assert df.select(pl.col("q").hf.table_qa(table=t).struct.field("answer"))["answer"].to_list() == ["2M"]
    with pytest.raises(ValueError, match="pass table="):
        pl.col("q").hf.table_qa()


def test_inputs_are_never_mutated_and_plans_are_reusable(hf):
    df = pl.DataFrame({"t": ["good", "bad"]})
    lf = df.lazy()
    planned = lf.hf.classify("t")
    df.hf.classify("t")
    assert df.columns == ["t"] and lf.collect_schema().names() == ["t"]
    assert planned.collect().equals(planned.collect())


def test_media_and_chat_methods_work_lazily(hf):
    image = _png(2, 2, bytes(range(12)))
    out = pl.LazyFrame({"img": [image, None, image]}).hf.classify_image("img").collect()
    assert out["img_label"].to_list()[1] is None and out["img_label"][0] == out["img_label"][2]
    assert hf.count() == 1
    chat = (pl.LazyFrame({"product": ["kettle"], "review": ["Boils fast"]})
            .hf.chat("Rate {product}: {review}", json_schema={"stars": int}))
    assert chat.collect_schema()["chat_stars"] == pl.Int64 and hf.count() == 1
    assert chat.collect()["chat_stars"].dtype == pl.Int64
    rating = pl.format("Rate {}: {}", "product", "review").hf.chat(json_schema={"stars": int}).alias("rating")
    out = pl.DataFrame({"product": ["kettle"], "review": ["Boils fast"]}).with_columns(rating).unnest("rating")
    assert out.schema["stars"] == pl.Int64 and hf.count() == 2  # the same prompt as the template: cached


# ---------------------------------------------------------------------------------------------
# embeddings: declared dtype


def test_embedding_dtype_is_declared_when_known(hf):
    lf = pl.LazyFrame({"t": ["alpha", "beta", None]})
    assert lf.hf.embed("t").collect_schema()["t_embedding"] == pl.Array(pl.Float32, 384)  # known model
    out = lf.hf.embed("t").collect()
    assert out["t_embedding"].dtype == pl.Array(pl.Float32, 384)
    np.testing.assert_allclose(out["t_embedding"][0].to_list(), answers.vector("alpha"), atol=1e-6)

    hf.dim = 8
    unknown = lf.hf.embed("t", model="test/feature-extraction")
    assert unknown.collect_schema()["t_embedding"] == pl.List(pl.Float32)  # documented fallback
    assert unknown.collect()["t_embedding"].dtype == pl.List(pl.Float32)
    declared = lf.hf.embed("t", model="test/feature-extraction", dim=8)
    assert declared.collect_schema()["t_embedding"] == pl.Array(pl.Float32, 8)
    assert declared.collect()["t_embedding"].dtype == pl.Array(pl.Float32, 8)
    # eager frames show what came back, like pandas
    assert pl.DataFrame({"t": ["alpha"]}).hf.embed("t", model="test/feature-extraction")["t_embedding"].dtype \
        == pl.Array(pl.Float32, 8)
    assert pl.col("t").hf.embed(model="test/feature-extraction").meta.is_column() is False


def test_wrong_declared_dimension_is_an_error_not_a_wrong_dtype(hf):
    hf.dim = 8
    lf = pl.LazyFrame({"t": ["alpha"]}).select(pl.col("t").hf.embed())  # the default model declares 384
    assert lf.collect_schema()["t"].fields[0].dtype == pl.Array(pl.Float32, 384)
    with pytest.raises(ValueError, match="dim"):
        lf.collect()


# ---------------------------------------------------------------------------------------------
# errors and whole-column jobs


@pytest.mark.parametrize("engine", ["in-memory", "streaming"])
def test_exceptions_keep_their_type_and_attributes_in_lazy_plans(hf, engine):
    lf = pl.LazyFrame({"t": ["good", "bad [[400]] input"]})
    with pytest.raises(RowErrors) as info:
        lf.hf.classify("t", errors="raise").collect(engine=engine)
    assert info.value.column == "t_error" and len(info.value.errors) == 1
    with pytest.raises(FatalRequestError) as fatal:
        lf.hf.classify("t", model="missing/model").collect(engine=engine)
    assert fatal.value.status == 404 and "missing/model" in str(fatal.value)


def test_jobs_that_compare_rows_see_the_whole_column(hf):
    docs = [f"document {i}" for i in range(600)]
    with pl.Config(streaming_chunk_size=100):
        out = (pl.LazyFrame({"doc": docs}).hf.rerank("document 7", "doc", endpoint=hf.base_url, top_n=5)
               .collect(engine="streaming"))
    ranks = out["doc_rerank_rank"].drop_nulls().sort().to_list()
    assert ranks == [1, 2, 3, 4, 5]  # ranked over the whole column, not per batch
    searched = pl.LazyFrame({"doc": docs[:50]}).hf.search("document 7", "doc", k=3).collect()
    assert searched.height == 3 and searched["doc"][0] == "document 7"
