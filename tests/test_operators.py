"""The table operators against the loopback hub: ``filter``, ``top_k``, ``join``, ``dedup``, ``cluster``, ``agg``.

Each test counts the requests the hub received (the embeddings prune what the chat model is
asked) and checks the result on a small labelled set. The fake hub makes both predictable:

* embeddings of a model whose id contains ``bow`` are bags of words (``answers.bow_vector``):
  texts sharing words are close, so nearest neighbours, duplicates and clusters are known;
* a yes/no question (a schema whose only property is a boolean) is answered true when the
  prompt contains a positive word (``answers.holds``), with logprobs when they are asked for.

Every operator runs on pandas, polars eager and polars lazy (``frame``/``pandas_of`` below).
"""

from __future__ import annotations

import json
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from fake_hub import answers

import hf_frame
from hf_frame.errors import MissingColumnError, RowErrors, RowErrorWarning, TemplateError
from hf_frame.methods import operators

pl = pytest.importorskip("polars")

BOW = "test/bow-embedder"
KINDS = ["pandas", "polars", "lazy"]


@pytest.fixture
def hf(hub):
    hf_frame.configure(base_url=hub.base_url, retry_backoff=0.001)
    return hub


def frame(kind: str, data: dict):
    if kind == "pandas":
        return pd.DataFrame(data)
    df = pl.DataFrame(data)
    return df.lazy() if kind == "lazy" else df


def pandas_of(out) -> pd.DataFrame:
    if isinstance(out, pl.LazyFrame):
        out = out.collect()
    if isinstance(out, pl.DataFrame):
        return out.to_pandas()
    return out.reset_index(drop=True)


def chat_requests(hub):
    return [r for r in hub.requests if r.path.endswith("/chat/completions")]


def embed_requests(hub):
    return [r for r in hub.requests if "feature-extraction" in r.path]


def user_text(record) -> str:
    return [m["content"] for m in record.json["messages"] if m["role"] == "user"][-1]


REVIEWS = ["I love this kettle", "kettle broke after a week", "great toaster", "toaster burnt my bread",
           "excellent lamp, very happy", "lamp flickers constantly", "I love this kettle", None]
SATISFIED = {0, 2, 4, 6}  # the rows with a positive word (answers.holds)


# ---------------------------------------------------------------------------------------------
# filter


@pytest.mark.parametrize("kind", KINDS)
def test_filter_keeps_the_rows_answered_yes_one_request_per_unique_prompt(hf, kind):
    df = frame(kind, {"review": REVIEWS, "n": list(range(len(REVIEWS)))})
    out = df.hf.filter("Is the customer satisfied? {review}")
    if kind == "lazy":
        assert hf.count() == 0  # nothing before collect()
    out = pandas_of(out)
    assert list(out.columns) == ["review", "n"]  # no new column without return_scores
    assert set(out["n"]) == SATISFIED and list(out["n"]) == sorted(SATISFIED)  # row order kept
    sent = chat_requests(hf)
    assert len(sent) == 6 == hf.count()  # 8 rows: a duplicate asked once, the null not at all
    body = sent[0].json
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"]["properties"] == {"answer": {"type": "boolean"}}
    assert "logprobs" not in body
    assert sorted(user_text(r) for r in sent) == sorted(f"Is the customer satisfied? {r}" for r in set(REVIEWS) if r)
    run = hf_frame.last_run()
    assert (run["method"], run["rows"], run["unique"], run["requests"], run["kept"]) == ("filter", 7, 6, 6, 4)
    again = pandas_of(df.hf.filter("Is the customer satisfied? {review}"))  # from the cache
    assert hf.count() == 6 and again.equals(out)


def test_filter_keeps_the_index_and_scores_from_logprobs(hf):
    df = pd.DataFrame({"review": REVIEWS}, index=list("abcdefgh"))
    out = df.hf.filter("Is the customer satisfied? {review}", return_scores=True)
    assert list(out.index) == ["a", "c", "e", "g"] and list(out.columns) == ["review", "filter_score"]
    assert str(out["filter_score"].dtype) == "double[pyarrow]"
    for label, review in out["review"].items():
        expected = answers.holds_probability(f"Is the customer satisfied? {review}")
        assert out.loc[label, "filter_score"] == pytest.approx(expected, rel=1e-9)
    body = chat_requests(hf)[0].json
    assert body["logprobs"] is True and body["top_logprobs"] == 5


def test_filter_score_is_null_where_the_provider_returns_no_logprobs(hf):
    hf.logprobs = False
    out = pd.DataFrame({"review": REVIEWS[:3]}).hf.filter("Satisfied? {review}", return_scores=True)
    assert out["review"].tolist() == ["I love this kettle", "great toaster"]
    assert out["filter_score"].isna().all()


def test_filter_on_a_column_of_questions_series_and_expressions(hf):
    questions = pd.Series(["is it good?", "is it bad?", None], name="q")
    assert questions.hf.filter()["q"].tolist() == ["is it good?"]
    assert pd.DataFrame({"q": questions}).hf.filter("q")["q"].tolist() == ["is it good?"]
    # an expression has the per-row form: keep (and error) for every row
    df = pl.DataFrame({"q": ["is it good?", "is it bad?", None]})
    keep = df.select(pl.col("q").hf.filter().struct.field("keep")).to_series().to_list()
    assert keep == [True, False, None]
    assert hf.count() == 2


def test_filter_row_errors_leave_the_row_out(hf):
    df = pd.DataFrame({"review": ["great", "broken [[400]] input", "love it"]})
    with pytest.warns(RowErrorWarning, match="1 of 3 rows failed"):
        out = df.hf.filter("Satisfied? {review}")
    assert out["review"].tolist() == ["great", "love it"]
    with pytest.raises(RowErrors) as info:
        df.hf.filter("Satisfied? {review}", errors="raise")
    assert list(info.value.errors) == [1]


# ---------------------------------------------------------------------------------------------
# top_k


DOCS = ["great kettle, boils water fast", "kettle boils water slowly", "love this kettle, water boils in a minute",
        "toaster burnt the bread", "great lamp, bright light", "lamp broke", "excellent toaster", None]
QUERY = "kettle that boils water"  # no positive word: the fake judge's answer depends on the document only


@pytest.mark.parametrize("kind", KINDS)
def test_top_k_asks_the_llm_about_the_candidates_only(hf, kind):
    df = frame(kind, {"doc": DOCS, "n": list(range(len(DOCS)))})
    out = pandas_of(df.hf.top_k(QUERY, 2, "doc", candidates=3, embed_model=BOW))
    # the embeddings pre-select the three kettle documents; the judge prefers the two positive ones
    prompts = {user_text(r) for r in chat_requests(hf)}
    assert prompts == {operators.TOP_K_PROMPT.format(query=QUERY, text=DOCS[i]) for i in (0, 1, 2)}
    assert len(embed_requests(hf)) == 1 and hf.count() == 4  # 1 batch of embeddings + 3 chat requests
    assert list(out.columns) == ["doc", "n", "score", "similarity"]
    p = {i: answers.holds_probability(operators.TOP_K_PROMPT.format(query=QUERY, text=DOCS[i])) for i in (0, 2)}
    assert list(out["n"]) == sorted(p, key=lambda i: -p[i])  # best first: P(yes) from logprobs
    assert out["score"].tolist() == pytest.approx(sorted(p.values(), reverse=True))
    assert (out["similarity"] > 0.3).all()
    run = hf_frame.last_run()
    assert run["stages"]["embed"]["requests"] == 1 and run["stages"]["llm"]["requests"] == 3


def test_top_k_with_a_reranker_at_the_endpoint(hf):
    df = pd.DataFrame({"doc": DOCS})
    out = df.hf.top_k(QUERY, 2, "doc", candidates=3, embed_model=BOW, endpoint=hf.base_url)
    reranked = [r for r in hf.requests if r.path.endswith("/rerank")]
    assert len(reranked) == 1 and sorted(reranked[0].json["texts"]) == sorted(DOCS[:3])
    assert len(embed_requests(hf)) == 1 and hf.count() == 2
    scores = {d["index"]: d["score"] for d in answers.rerank(QUERY, reranked[0].json["texts"])}
    best = sorted(scores, key=lambda i: -scores[i])[:2]
    assert out["doc"].tolist() == [reranked[0].json["texts"][i] for i in best]
    assert out["score"].tolist() == pytest.approx([scores[i] for i in best])


def test_top_k_arguments(hf):
    df = pd.DataFrame({"doc": ["a", "b"]})
    with pytest.raises(ValueError, match="candidates=1 is smaller than k=2"):
        df.hf.top_k("q", 2, "doc", candidates=1)
    with pytest.raises(ValueError, match="rank must be"):
        df.hf.top_k("q", 1, "doc", rank="vote")
    with pytest.raises(TypeError, match="not an expression"):
        pl.col("doc").hf.top_k("q", 1)
    assert hf.count() == 0


# ---------------------------------------------------------------------------------------------
# join


LEFT = {"id": [1, 2, 3, 4, 5],
        "review": ["great kettle, boils fast", "the toaster burnt my bread", "love my new lamp", "kettle leaks water",
                   "excellent toaster"]}
RIGHT = {"id": ["k", "t", "l", "b"], "name": ["kettle", "toaster", "lamp", "blender"], "price": [20, 30, 15, 50]}
PROMPT = "Is this review positive about the product {right.name}? Review: {review}"


@pytest.mark.parametrize("kind", KINDS)
def test_join_sends_only_the_nearest_pairs(hf, kind):
    left, right = frame(kind, LEFT), frame(kind, RIGHT)
    out = pandas_of(left.hf.join(right, PROMPT, k=1, embed_model=BOW))
    assert list(out.columns) == ["id", "review", "id_right", "name", "price"]
    # each review paired with its own product (shared word), kept when the review is positive
    assert list(zip(out["id"], out["name"])) == [(1, "kettle"), (3, "lamp"), (5, "toaster")]
    assert out["price"].tolist() == [20, 15, 30] and out["id_right"].tolist() == ["k", "l", "t"]
    assert len(chat_requests(hf)) == 5  # k=1 pair per left row, not 5 x 4 = 20
    assert len(embed_requests(hf)) == 1  # both sides' texts in one batch
    run = hf_frame.last_run()
    assert (run["pairs"], run["matched"], run["stages"]["chat"]["requests"]) == (5, 3, 5)


def test_join_exhaustive_asks_every_pair_and_plans_the_count(hf):
    left, right = pd.DataFrame(LEFT), pd.DataFrame(RIGHT)
    plan = left.hf.join(right, PROMPT, exhaustive=True, dry_run=True)
    assert hf.count() == 0 and plan.requests == 20 and plan.exact
    assert "5 x 4 = 20 pairs" in repr(plan)
    pruned = left.hf.join(right, PROMPT, k=2, embed_model=BOW, dry_run=True)
    assert pruned.stages[-1].requests == 10 and not pruned.exact and "exhaustive=True would ask 20" in repr(pruned)
    out = left.hf.join(right, PROMPT, exhaustive=True, return_scores=True)
    assert len(chat_requests(hf)) == 20 and not embed_requests(hf)
    assert len(out) == 3 * 4  # the fake judge only reads the review: every product of a positive review
    assert out["join_score"].between(0.75, 1).all()


def test_join_column_names_of_the_prompt(hf):
    left, right = pd.DataFrame(LEFT), pd.DataFrame(RIGHT)
    with pytest.raises(MissingColumnError, match="neither frame"):
        left.hf.join(right, "{nope} {name}")
    with pytest.raises(MissingColumnError, match="the right frame has no column 'review'"):
        left.hf.join(right, "{right.review} {review}")
    with pytest.raises(TemplateError, match="columns of both frames"):
        left.hf.join(right, "only {review}")
    # {name} is the right frame's (only it has one); {left.id} and {right.id} are explicit
    out = left.hf.join(right, "{left.id} {right.id}: {review} / {name}, great?", k=1, embed_model=BOW)
    assert len(out) == 5 and len(chat_requests(hf)) == 5
    assert all(user_text(r).split(":")[0] in {f"{i} {j}" for i in LEFT["id"] for j in RIGHT["id"]}
               for r in chat_requests(hf))
    with pytest.raises(TypeError, match="not an expression"):
        pl.col("review").hf.join(right, PROMPT)


# ---------------------------------------------------------------------------------------------
# dedup


DUPES = ["The kettle boils fast", "the kettle boils FAST!", "Kettle boils fast.", "kettle boils slowly",
         "lamp flickers", None, "the kettle boils fast!"]


@pytest.mark.parametrize("kind", KINDS)
def test_dedup_groups_near_duplicates(hf, kind):
    raw = frame(kind, {"t": DUPES}).hf.dedup("t", model=BOW)
    dtype = raw["t_cluster"].dtype if kind == "pandas" else raw.collect_schema()["t_cluster"]
    assert str(dtype) == "int64[pyarrow]" if kind == "pandas" else dtype == pl.Int64
    out = pandas_of(raw)
    assert out["t_cluster"].tolist()[:5] == [0, 0, 0, 1, 2] and pd.isna(out["t_cluster"][5])
    assert out["t_cluster"][6] == 0
    assert hf.count() == 1  # one batch of the 6 distinct texts; the comparison is local
    assert hf_frame.last_run()["groups"] == 3


def test_dedup_threshold_and_the_vectorised_kernels():
    rng = np.random.default_rng(0)
    base = rng.standard_normal((40, 16)).astype(np.float32)
    matrix = np.concatenate([base, base[:10] + 0.01 * rng.standard_normal((10, 16)).astype(np.float32)])
    roots = operators.near_duplicates(matrix, 0.99)
    # brute force: the same components
    x = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    close = x @ x.T >= 0.99
    brute = np.arange(len(x))
    for i in range(len(x)):
        for j in np.flatnonzero(close[i]):
            a, b = brute[i], brute[j]
            brute[brute == max(a, b)] = min(a, b)
    assert roots.tolist() == brute.tolist()
    assert roots[40:].tolist() == list(range(10))
    assert operators.connected(6, np.array([4, 1, 5]), np.array([5, 0, 3])).tolist() == [0, 0, 2, 3, 3, 3]


def test_dedup_lower_threshold_merges_more(hf):
    out = pd.DataFrame({"t": DUPES}).hf.dedup("t", model=BOW, threshold=0.6)
    assert out["t_cluster"].tolist()[:5] == [0, 0, 0, 0, 1]
    assert hf.count() == 1
    with pytest.raises(ValueError, match="threshold"):
        pd.DataFrame({"t": DUPES}).hf.dedup("t", threshold=2)


# ---------------------------------------------------------------------------------------------
# cluster


TOPICS = ["kettle boils water", "the kettle water is hot", "water boils in the kettle quickly",
          "lamp light is bright", "bright lamp light at night", "the lamp gives a warm light",
          "toaster bread toast", "toast the bread in the toaster", "toaster burnt bread toast"]


@pytest.mark.parametrize("kind", KINDS)
def test_cluster_finds_the_topics(hf, kind):
    out = pandas_of(frame(kind, {"t": TOPICS + [None]}).hf.cluster("t", 3, model=BOW))
    assert out["t_cluster"].tolist()[:9] == [0, 0, 0, 1, 1, 1, 2, 2, 2] and pd.isna(out["t_cluster"][9])
    assert hf.count() == 1


def test_cluster_without_scikit_learn_gives_the_same_clusters(hf, monkeypatch):
    x = np.array([answers.bow_vector(t) for t in TOPICS], dtype=np.float32)
    monkeypatch.setitem(sys.modules, "sklearn.cluster", None)  # import fails: the numpy k-means
    assert operators.kmeans(x, 3).tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    out = pd.DataFrame({"t": TOPICS}).hf.cluster("t", 3, model=BOW)
    assert out["t_cluster"].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]


def test_cluster_names_ask_one_chat_request_per_cluster(hf):
    out = pd.DataFrame({"t": TOPICS}).hf.cluster("t", 3, model=BOW, name_clusters=True)
    assert list(out.columns) == ["t", "t_cluster", "t_cluster_name", "t_error"]
    sent = chat_requests(hf)
    assert len(sent) == 3 and len(embed_requests(hf)) == 1
    for record in sent:  # each prompt shows the texts of one cluster, and only those
        shown = {line[2:] for line in user_text(record).splitlines() if line.startswith("- ")}
        assert shown in ({*TOPICS[:3]}, {*TOPICS[3:6]}, {*TOPICS[6:]})
    assert out["t_cluster_name"].tolist() == ["x"] * 9  # the fake's answer to {"name": string}
    with pytest.raises(ValueError, match="k=20 clusters need at least 20 rows"):
        pd.DataFrame({"t": TOPICS}).hf.cluster("t", 20, model=BOW)


# ---------------------------------------------------------------------------------------------
# agg


def test_agg_one_request_per_group_when_everything_fits(hf):
    df = pd.DataFrame({"product": ["kettle", "lamp", "kettle", None, "lamp"],
                       "review": ["boils fast", "too dim", "leaks", "no product", None]})
    out = df.hf.agg("Summarise the complaints", "review", by="product")
    assert list(out.columns) == ["product", "review_answer", "review_count", "review_error"]
    assert out["product"].tolist()[:2] == ["kettle", "lamp"] and pd.isna(out["product"][2])
    assert out["review_count"].tolist() == [2, 1, 1]
    assert len(chat_requests(hf)) == 3
    kettle = out["review_answer"][0]
    assert kettle.startswith("Echo: Summarise the complaints") and "1. boils fast" in kettle and "2. leaks" in kettle


@pytest.mark.parametrize("kind", KINDS)
def test_agg_packs_rows_then_combines_the_answers(hf, kind):
    reviews = [f"review {i} " + "word " * 30 for i in range(8)]
    df = frame(kind, {"product": ["kettle"] * 5 + ["lamp"] * 3, "review": reviews})
    kwargs = dict(context_tokens=260, max_tokens=30)
    plan = df.hf.agg("Summarise", "review", by="product", dry_run=True, **kwargs)
    out = pandas_of(df.hf.agg("Summarise", "review", by="product", **kwargs))
    assert out["product"].tolist() == ["kettle", "lamp"] and out["review_count"].tolist() == [5, 3]
    run = hf_frame.last_run()
    levels = [run["stages"][f"level {i}"]["requests"] for i in range(run["levels"])]
    assert levels[0] == plan.stages[0].requests and plan.stages[0].exact  # the first level is planned exactly
    assert sum(levels) <= plan.requests and levels[-1] <= 2 and run["levels"] >= 2
    assert all(b < a for a, b in zip(levels, levels[1:]))  # every level asks fewer
    assert len(chat_requests(hf)) == sum(levels)
    first = [user_text(r) for r in chat_requests(hf) if "combining" not in user_text(r)]
    packed = sorted(line.split(". ", 1)[1] for p in first for line in p.splitlines() if line[:1].isdigit())
    assert packed == sorted(r.strip() for r in reviews) or packed == sorted(reviews)  # every row, exactly once
    assert all(a.startswith("Echo: Summarise") for a in out["review_answer"])


def test_agg_over_the_whole_frame_and_errors(hf):
    out = pd.DataFrame({"t": ["a", "b"]}).hf.agg("Summarise", "t")
    assert list(out.columns) == ["t_answer", "t_count", "t_error"] and len(out) == 1 and out["t_count"][0] == 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RowErrorWarning)
        failed = pd.DataFrame({"g": ["x", "y"], "t": ["fine", "bad [[400]]"]}).hf.agg("Summarise", "t", by="g")
    assert pd.isna(failed["t_answer"][1]) and "level 0" in failed["t_error"][1] and failed["t_answer"][0]
    with pytest.raises(ValueError, match="no room"):
        pd.DataFrame({"t": ["a"]}).hf.agg("Summarise", "t", context_tokens=100)


def test_every_operator_reruns_from_the_cache(hf):
    df = pd.DataFrame({"review": REVIEWS, "product": ["kettle", "kettle", "toaster", "toaster", "lamp", "lamp",
                                                      "kettle", "lamp"]})
    products = pd.DataFrame({"name": ["kettle", "toaster", "lamp"]})
    calls = [lambda: df.hf.filter("Satisfied? {review}"),
             lambda: df.hf.top_k("kettle", 2, "review", embed_model=BOW),
             lambda: df.hf.join(products, "Positive about {right.name}? {review}", embed_model=BOW),
             lambda: df.hf.dedup("review", model=BOW),
             lambda: df.hf.cluster("review", 2, model=BOW),
             lambda: df.hf.agg("Summarise", "review", by="product")]
    first = [call() for call in calls]
    sent = hf.count()
    again = [call() for call in calls]
    assert hf.count() == sent  # nothing sent the second time
    for a, b in zip(first, again):
        pd.testing.assert_frame_equal(a, b)
    assert json.dumps(hf_frame.last_run()["stages"]) .count('"requests": 0') == 1


# ---------------------------------------------------------------------------------------------
# the command line


def test_the_operators_on_the_command_line(hub, tmp_path, capsys):
    from hf_frame import cli

    left, right = tmp_path / "reviews.csv", tmp_path / "products.csv"
    pd.DataFrame(LEFT).to_csv(left, index=False)
    pd.DataFrame(RIGHT).to_csv(right, index=False)
    common = ["--base-url", hub.base_url, "--retry-backoff", "0.001"]
    status = cli.main(["join", str(left), "--right", str(right), "--prompt", PROMPT, "-k", "1", "--embed-model", BOW,
                       "--dry-run", *common])
    out, _ = capsys.readouterr()
    assert status == 0 and out.startswith("plan of join: nothing sent") and hub.count() == 0
    status = cli.main(["join", str(left), "--right", str(right), "--prompt", PROMPT, "-k", "1", "--embed-model", BOW,
                       "-o", str(tmp_path / "pairs.csv"), *common])
    assert status == 0 and len(chat_requests(hub)) == 5
    pairs = pd.read_csv(tmp_path / "pairs.csv")
    assert list(zip(pairs["id"], pairs["name"])) == [(1, "kettle"), (3, "lamp"), (5, "toaster")]
    status = cli.main(["top-k", str(left), "--query", "kettle", "-k", "1", "--candidates", "2", "-c", "review", "--embed-model", BOW,
                       *common])
    out, _ = capsys.readouterr()
    assert status == 0 and "great kettle" in out.splitlines()[2]
    status = cli.main(["agg", str(left), "--prompt", "Summarise", "-c", "review", "--by", "id", *common])
    out, _ = capsys.readouterr()
    assert status == 0 and len(out.strip().splitlines()) == 2 + 5  # header, rule, one row per id
