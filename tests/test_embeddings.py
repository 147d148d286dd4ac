"""embed / search / rerank end to end against the loopback fake hub, in every endpoint flavour.

Request counts prove batching across rows, dedup of chunks, splitting of batches the server
refuses as too large, and the rate limit; values are checked against ``answers.vector``.
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from fake_hub import answers

import hf_frame
from hf_frame import methods
from hf_frame.errors import RowErrorWarning, RowRequestError
from hf_frame.formats.chunking import chunk_text, parse_chunking
from hf_frame.methods import embeddings
from hf_frame.methods.embeddings import column_vectors, cosine_scores, rank_scores, top_k_rows


@pytest.fixture
def hf(hub):
    """hf_frame pointed at the fake hub (HF router flavour), with fast retries."""
    hf_frame.configure(base_url=hub.base_url, retry_backoff=0.001)
    return hub


def vec(text: str) -> np.ndarray:
    return np.asarray(answers.vector(text), dtype=np.float32)


def pooled(text: str, chunking) -> np.ndarray:
    """What mean pooling should give: the re-normalised mean of the chunk vectors."""
    chunks = chunk_text(text, parse_chunking(chunking))
    m = np.mean([vec(c.text) for c in chunks], axis=0)
    return m / np.linalg.norm(m) if len(chunks) > 1 else m


def sent(hub) -> list[list[str]]:
    """The inputs of every embedding request, in the order received."""
    out = []
    for r in hub.requests:
        body = r.json or {}
        inputs = body.get("inputs", body.get("input", body.get("texts")))
        out.append(inputs if isinstance(inputs, list) else [inputs])
    return out


def sentences(n: int, tag: str) -> str:
    return " ".join(f"Sentence {tag} number {i} has several words in it." for i in range(n))


# ---------------------------------------------------------------------------------------------
# HF router flavour


def test_embed_hf_dedup_batches_nulls(hf):
    texts = [f"text {i % 70}" for i in range(100)] + [None, "   ", ""]
    out = pd.DataFrame({"t": texts}).hf.embed("t")
    assert str(out["t_embedding"].dtype) == "fixed_size_list<item: float>[384][pyarrow]"
    assert hf.count() == 3  # 70 unique texts, batches of 32
    assert [len(x) for x in sent(hf)] == [32, 32, 6]
    assert all(r.path.endswith("/models/sentence-transformers/all-MiniLM-L6-v2/pipeline/feature-extraction")
               for r in hf.requests)
    assert hf.requests[0].json["normalize"] is True and hf.requests[0].json["truncate"] is True
    got = np.stack(out["t_embedding"].iloc[:100].to_numpy())
    want = np.stack([vec(t) for t in texts[:100]])
    assert np.allclose(got, want, atol=1e-6)
    assert out["t_embedding"].iloc[100:].isna().all() and out["t_error"].isna().all()
    run = hf_frame.last_run()
    assert (run["rows"], run["unique"], run["requests"], run["failed"]) == (100, 70, 3, 0)
    # again: every vector from the cache (raw float32 bytes), nothing sent
    again = pd.DataFrame({"t": texts}).hf.embed("t")
    assert hf.count() == 3 and np.allclose(np.stack(again["t_embedding"].iloc[:100].to_numpy()), want, atol=1e-6)


def test_sentence_chunking_mean_pooling_and_chunk_dedup(hf):
    shared = sentences(30, "S")  # ~300 words: more than one chunk of 250 words
    texts = [shared, shared + " Tail one is here.", "Short text.", shared]
    out = pd.DataFrame({"t": texts}).hf.embed("t", chunking=True)
    chunking = parse_chunking(True)
    per_row = [[c.text for c in chunk_text(t, chunking)] for t in texts]
    assert len(per_row[0]) > 1
    unique = {c for row in per_row for c in row}
    sent_texts = [t for batch in sent(hf) for t in batch]
    assert sorted(sent_texts) == sorted(unique)  # every unique chunk exactly once, across rows
    assert hf.count() == -(-len(unique) // 32)
    for i, t in enumerate(texts):
        assert np.allclose(np.asarray(out["t_embedding"].iloc[i]), pooled(t, chunking), atol=1e-5)
    assert np.linalg.norm(np.asarray(out["t_embedding"].iloc[0])) == pytest.approx(1.0, abs=1e-5)
    assert hf_frame.last_run()["chunks"] == sum(map(len, per_row))


def test_word_chunking_many_rows_packs_batches(hf):
    settings = {"strategy": "word", "max_chunk_size": 10, "overlap": 5}
    texts = [" ".join(f"w{r}_{i}" for i in range(25)) for r in range(20)]  # 4 chunks of 10 words each
    out = pd.DataFrame({"t": texts}).hf.embed("t", chunking=settings, batch_size=16)
    assert hf.count() == 5  # 80 unique chunks of all rows packed 16 per request
    assert all(len(b) == 16 for b in sent(hf))
    assert np.allclose(np.asarray(out["t_embedding"].iloc[7]), pooled(texts[7], settings), atol=1e-5)


def test_pooling_none_gives_chunks_with_offsets(hf):
    text = "First sentence here. " + sentences(30, "X")
    df = pd.DataFrame({"t": [text, None, "One sentence."]}, index=["a", "b", "c"])
    out = df.hf.embed("t", chunking={"strategy": "sentence", "max_chunk_size": 100, "sentence_overlap": 0},
                      pooling=None)
    col = out["t_chunks"]
    assert str(col.dtype).startswith("list<item: struct<text: string, start: int64, end: int64, "
                                     "embedding: fixed_size_list<item: float>[384]>>")
    chunks = col.loc["a"]
    assert len(chunks) > 1
    for c in chunks:
        assert text[c["start"]:c["end"]] == c["text"]
        assert np.allclose(np.asarray(c["embedding"]), vec(c["text"]), atol=1e-6)
    assert pd.isna(col.loc["b"])
    assert [c["text"] for c in col.loc["c"]] == ["One sentence."]


def test_chunking_validation_names_the_setting(hf):
    df = pd.DataFrame({"t": ["x"]})
    with pytest.raises(ValueError, match="chunking.max_chunk_size"):
        df.hf.embed("t", chunking={"strategy": "word", "max_chunk_size": 5})
    with pytest.raises(ValueError, match="chunking.overlap"):
        df.hf.embed("t", chunking={"strategy": "word", "max_chunk_size": 100, "overlap": 60})
    with pytest.raises(ValueError, match="chunking.sentence_overlap"):
        df.hf.embed("t", chunking={"strategy": "sentence", "sentence_overlap": 2})
    with pytest.raises(ValueError, match="chunking.max_chunk_size"):
        df.hf.embed("t", chunking={"strategy": "sentence", "max_chunk_size": 301})
    with pytest.raises(ValueError, match="pooling"):
        df.hf.embed("t", pooling="max")
    with pytest.raises(ValueError, match="api"):
        df.hf.embed("t", api="grpc")
    with pytest.raises(ValueError, match="endpoint"):
        df.hf.embed("t", api="tei")
    with pytest.raises(ValueError, match="encoding_format"):
        df.hf.embed("t", encoding_format="base64")  # only for api="openai"
    assert hf.count() == 0
    assert df.hf.embed("t", chunking="none")["t_embedding"].notna().all()


def test_failed_chunk_fails_its_row_only(hf):
    chunking = {"strategy": "sentence", "max_chunk_size": 20, "sentence_overlap": 0}
    bad = sentences(3, "A") + " This one is [[400]] broken for sure."
    df = pd.DataFrame({"t": [bad, "A fine row."]})
    with pytest.warns(RowErrorWarning):
        out = df.hf.embed("t", chunking=chunking)
    assert pd.isna(out["t_embedding"].iloc[0]) and out["t_embedding"].notna().iloc[1]
    chunks = chunk_text(bad, parse_chunking(chunking))
    k, c = next((k, c) for k, c in enumerate(chunks) if "[[400]]" in c.text)
    assert k > 0 and out["t_error"].iloc[0].startswith(f"chunk {k} [{c.start}:{c.end}]: ")
    assert "HTTP 400" in out["t_error"].iloc[0]
    assert hf_frame.last_run()["failed"] == 1


def test_dim_mismatch_and_declared_dim(hf):
    out = pd.DataFrame({"t": ["a", "b"]}).hf.embed("t", dim=384)
    assert str(out["t_embedding"].dtype) == "fixed_size_list<item: float>[384][pyarrow]"
    with pytest.raises(ValueError, match="dimensions"):
        pd.DataFrame({"t": ["c"]}).hf.embed("t", dim=100)


def test_dimensions_is_sent_and_truncates(hf):
    out = pd.DataFrame({"t": ["a", "b"]}).hf.embed("t", dimensions=64)
    assert hf.requests[0].json["dimensions"] == 64
    assert str(out["t_embedding"].dtype) == "fixed_size_list<item: float>[64][pyarrow]"
    assert np.allclose(np.asarray(out["t_embedding"].iloc[0]), answers.vector("a", 64), atol=1e-6)


# ---------------------------------------------------------------------------------------------
# TEI /embed and OpenAI-compatible /v1/embeddings


def test_tei_embed_flavour(hub):
    texts = [f"doc {i}" for i in range(40)]
    out = pd.DataFrame({"t": texts}).hf.embed("t", api="tei", endpoint=hub.base_url, truncate=False)
    assert [r.path for r in hub.requests] == ["/embed", "/embed"]
    assert hub.requests[0].json == {"inputs": texts[:32], "normalize": True, "truncate": False}
    assert np.allclose(np.stack(out["t_embedding"].to_numpy()), np.stack([vec(t) for t in texts]), atol=1e-6)


def test_batch_too_large_is_split_and_retried(hub):
    hub.max_batch = 8  # this server takes at most 8 inputs (TEI --max-client-batch-size): 413 above
    texts = [f"doc {i}" for i in range(40)]
    out = pd.DataFrame({"t": texts}).hf.embed("t", endpoint=f"{hub.base_url}/embed")  # /embed: TEI flavour
    statuses = [len(b) for b in sent(hub)]
    # 32 -> 413, 16 + 16 -> 413, 4 x 8 ok; then the last 8 ok
    assert hub.count() == 8 and sorted(statuses) == [8] * 5 + [16, 16, 32]
    assert out["t_error"].isna().all()
    assert np.allclose(np.stack(out["t_embedding"].to_numpy()), np.stack([vec(t) for t in texts]), atol=1e-6)


@pytest.mark.parametrize("encoding_format", [None, "float", "base64"])
def test_openai_flavour(hub, encoding_format):
    texts = ["alpha", "beta", "alpha", "gamma"]
    out = pd.DataFrame({"t": texts}).hf.embed("t", api="openai", endpoint=f"{hub.base_url}/", model="my-model",
                                              encoding_format=encoding_format)
    [request] = hub.requests
    assert request.path == "/v1/embeddings"
    assert request.json == {"input": ["alpha", "beta", "gamma"], "model": "my-model",
                            "encoding_format": encoding_format or "float"}
    assert np.allclose(np.stack(out["t_embedding"].to_numpy()), np.stack([vec(t) for t in texts]), atol=1e-6)


def test_openai_endpoint_detected_and_chunks_batched(hub):
    chunking = {"strategy": "word", "max_chunk_size": 10, "overlap": 0}
    texts = [" ".join(f"x{r}_{i}" for i in range(30)) for r in range(12)]  # 3 chunks a row, 36 chunks
    out = pd.DataFrame({"t": texts}).hf.embed("t", endpoint=f"{hub.base_url}/v1/embeddings", chunking=chunking,
                                              encoding_format="base64")
    assert [len(b) for b in sent(hub)] == [32, 4] and hub.requests[0].path == "/v1/embeddings"
    assert np.allclose(np.asarray(out["t_embedding"].iloc[11]), pooled(texts[11], chunking), atol=1e-5)


def test_flavours_do_not_share_cache_entries(hub):
    df = pd.DataFrame({"t": ["same text"]})
    df.hf.embed("t", api="tei", endpoint=hub.base_url)
    df.hf.embed("t", api="openai", endpoint=hub.base_url)
    df.hf.embed("t", api="tei", endpoint=hub.base_url)
    assert hub.count() == 2  # the route is part of the key; the third call is a cache hit


# ---------------------------------------------------------------------------------------------
# rate limit


def test_requests_per_minute_holds_across_batches(hf):
    rpm = 600.5  # 0.1 s between request starts (a value no other test uses: limiters are per rate)
    texts = [f"rate {i}" for i in range(10)]
    start = time.monotonic()
    pd.DataFrame({"t": texts}).hf.embed("t", batch_size=2, requests_per_minute=rpm)
    elapsed = time.monotonic() - start
    assert hf.count() == 5
    expected = (5 - 1) * 60 / rpm  # ~0.4 s: the first request goes at once
    assert expected - 0.02 <= elapsed < expected + 0.6


# ---------------------------------------------------------------------------------------------
# search


def test_search_top_k_rows(hf):
    docs = ["cats purr", "dogs bark", "stock markets fell", "cats purr", None, "birds sing"]
    df = pd.DataFrame({"doc": docs, "n": range(len(docs))}, index=list("abcdef"))
    out = df.hf.search("cats purr", "doc", k=3)
    assert list(out.columns) == ["doc", "n", "score"]
    assert list(out.index[:2]) == ["a", "d"]  # exact match twice; ties keep row order
    assert out["score"].iloc[0] == pytest.approx(1.0, abs=1e-5)
    assert out["score"].is_monotonic_decreasing and len(out) == 3
    q = vec("cats purr")
    want = {i: float(vec(d) @ q / np.linalg.norm(vec(d)) / np.linalg.norm(q)) for i, d in zip(df.index, docs) if d}
    assert out["score"].iloc[2] == pytest.approx(sorted(want.values(), reverse=True)[2], abs=1e-5)
    assert hf.count() == 1  # the query and the column's unique texts share one batch
    # the column is cached now: only a new query is sent
    everything = df.hf.search("birds", "doc", k=100)
    assert hf.count() == 2 and len(everything) == 5  # the null row is never returned


def test_search_on_an_embedding_column(hf):
    df = pd.DataFrame({"doc": ["red apple", "green pear", "blue sky"]})
    emb = df.hf.embed("doc")
    before = hf.count()
    out = emb.hf.search("green pear", "doc_embedding", k=1)  # the query's vector is cached too
    assert hf.count() == before
    assert out["doc"].tolist() == ["green pear"] and out["score"].iloc[0] == pytest.approx(1.0, abs=1e-5)
    emb.hf.search("yellow banana", "doc_embedding", k=1)
    assert hf.count() == before + 1 and hf.requests[-1].json["inputs"] == ["yellow banana"]
    # the same through a plain list-of-vectors column, and through the Series accessor
    as_lists = pd.DataFrame({"v": [list(map(float, answers.vector(d))) for d in df["doc"]]})
    assert as_lists.hf.search("blue sky", "v", k=1).index.tolist() == [2]
    assert df["doc"].hf.search("red apple", k=2).index.tolist()[0] == 0


def test_search_names_and_errors(hf):
    df = pd.DataFrame({"doc": ["x", "y"], "score": [1, 2]})
    assert "search_score" in df.hf.search("x", "doc", k=1).columns
    assert "hit_score" in df.hf.search("x", "doc", k=1, prefix="hit").columns
    with pytest.raises(ValueError, match="query"):
        df.hf.search("  ", "doc")
    with pytest.raises(ValueError, match="k must be"):
        df.hf.search("x", "doc", k=0)
    with pytest.raises(RowRequestError, match="query could not be embedded"):
        df.hf.search("bad [[400]] query", "doc")


def test_search_run_gives_every_row_a_score(hf):
    job = embeddings.search("cats", "doc")
    data = job.run([["cats", None, "dogs"]], input_names=("doc",))
    scores = data.field("score").to_pylist()
    assert scores[0] == pytest.approx(1.0, abs=1e-5) and scores[1] is None and scores[2] < 1
    assert job.output_type() == data.type


# ---------------------------------------------------------------------------------------------
# rerank


def test_rerank_scores_ranks_batches(hub):
    texts = [f"passage {i % 40}" for i in range(50)] + [None]
    df = pd.DataFrame({"p": texts})
    out = df.hf.rerank("what is a passage", "p", endpoint=hub.base_url, top_n=3)
    assert hub.count() == 2 and [len(b) for b in sent(hub)] == [32, 8]  # 40 unique texts
    assert all(r.path == "/rerank" and r.json["query"] == "what is a passage" for r in hub.requests)
    want = [answers.rerank("what is a passage", [t])[0]["score"] for t in texts[:50]]
    assert out["p_rerank_score"].iloc[:50].tolist() == pytest.approx(want, abs=1e-6)
    order = sorted(range(50), key=lambda i: (-want[i], i))
    ranks = out["p_rerank_rank"]
    assert [ranks.iloc[i] for i in order[:3]] == [1, 2, 3]
    assert ranks.notna().sum() == 3 and pd.isna(out["p_rerank_score"].iloc[50])
    full = df.hf.rerank("what is a passage", "p", endpoint=hub.base_url)
    assert hub.count() == 2  # cached
    assert sorted(full["p_rerank_rank"].dropna().astype(int).tolist()) == list(range(1, 51))


def test_rerank_series_and_validation(hub):
    s = pd.Series(["a b", "c d"], name="p")
    out = s.hf.rerank("a", endpoint=hub.base_url)
    assert list(out.columns) == ["rerank_score", "rerank_rank", "error"]
    with pytest.raises(ValueError, match="endpoint"):
        s.hf.rerank("a")
    with pytest.raises(ValueError, match="top_n"):
        s.hf.rerank("a", endpoint=hub.base_url, top_n=0)


# ---------------------------------------------------------------------------------------------
# framework-free pieces


def test_top_k_rows_ties_validity_and_k():
    m = np.array([[1, 0], [0, 1], [1, 0], [0, 0], [1, 1]], dtype=np.float32)
    idx, score = top_k_rows([2, 0], m, 3)
    assert idx.tolist() == [0, 2, 4] and score.round(4).tolist() == [1.0, 1.0, 0.7071]
    idx, _ = top_k_rows([1, 0], m, 2, valid=np.array([False, True, True, True, True]))
    assert idx.tolist() == [2, 4]
    idx, _ = top_k_rows([1, 0], m, 99)
    assert idx.tolist() == [0, 2, 4, 1]  # the zero row has no direction: never returned
    assert np.isnan(cosine_scores([1, 0], m)[3])
    with pytest.raises(ValueError, match="dimensions"):
        top_k_rows([1, 0, 0], m, 1)


def test_rank_scores():
    ranks, keep = rank_scores(np.array([0.1, np.nan, 0.9, 0.1]), top_n=2)
    assert ranks.tolist()[:1] + ranks.tolist()[2:] == [2, 1, 3]  # ties: earlier row first
    assert keep.tolist() == [True, False, True, False]


def test_column_vectors_from_arrow_and_lists():
    arr = pa.array([[1.0, 2.0], None, [3.0, 4.0]], type=pa.list_(pa.float32(), 2))
    matrix, valid = column_vectors(pd.Series(arr.to_pandas(types_mapper=pd.ArrowDtype)))
    assert matrix.tolist() == [[1, 2], [0, 0], [3, 4]] and valid.tolist() == [True, False, True]
    matrix, valid = column_vectors([np.array([1.0, 0.0]), None])
    assert valid.tolist() == [True, False]
    assert column_vectors(["text", None]) is None


def test_methods_embed_still_importable():
    job = methods.embed("t")
    assert isinstance(job, embeddings.EmbedJob) and job.calls[0].task.name == "feature-extraction"
    assert {"embed", "search", "rerank"} <= set(hf_frame.METHODS)


def test_column_built_without_python_floats(hf):
    """Building 2,000 x 384 from cached vectors stays near two float32 copies of the column."""
    rows = 2000
    texts = [f"memory {i}" for i in range(rows)]
    pd.DataFrame({"t": texts}).hf.embed("t")  # fill the cache
    job = embeddings.embed("t")
    tracemalloc.start()
    try:
        result = job.run([texts], input_names=("t",))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert hf_frame.last_run()["requests"] == 0
    column_bytes = rows * 384 * 4  # 3 MiB
    python_floats = rows * 384 * 32  # a list of Python floats: 24 B a float + 8 B a pointer
    assert result.field("embedding").type == pa.list_(pa.float32(), 384)
    assert peak < 3 * column_bytes + rows * 1024 < python_floats / 2, (peak, column_bytes)


def test_polars_embed_search_rerank(hf):
    pl = pytest.importorskip("polars")
    df = pl.DataFrame({"doc": ["cats purr", "dogs bark", None, "birds sing"]})
    hits = df.hf.search("cats purr", "doc", k=2)
    assert hits["doc"].to_list()[0] == "cats purr" and hits.columns == ["doc", "score"]
    assert hits["score"][0] == pytest.approx(1.0, abs=1e-5)
    assert df.lazy().hf.search("cats purr", "doc", k=2).collect().equals(hits)
    lazy = df.lazy().hf.embed("doc", dim=384, chunking=True, pooling=None)
    schema = lazy.collect_schema()  # known before anything is sent
    assert str(schema["doc_chunks"]).startswith("List(Struct(")
    chunks = lazy.collect()["doc_chunks"].to_list()
    assert chunks[2] is None and chunks[0][0]["text"] == "cats purr"
    ranked = df.hf.rerank("cats", "doc", endpoint=hf.base_url)
    assert sorted(ranked["doc_rerank_rank"].drop_nulls().to_list()) == [1, 2, 3]
