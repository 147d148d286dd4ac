"""The pandas accessor end to end, over real HTTP to the loopback fake hub.

Request counts prove deduplication, caching and single-flight; injected faults prove that every
row still comes back right; bad input and bad tokens give clear errors.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import warnings

import numpy as np
import pandas as pd
import pytest
from fake_hub import answers

import hf_frame
from hf_frame.errors import FatalRequestError, InputTypeError, RowErrors, RowErrorWarning

TEXTS = ["I love it", "terrible", "I love it", "great value", "terrible", "meh", "I love it"]


@pytest.fixture
def hf(hub):
    """The library pointed at the fake hub, with fast retries."""
    hf_frame.configure(base_url=hub.base_url, retry_backoff=0.001)
    return hub


def frame(texts=TEXTS):
    return pd.DataFrame({"review": texts, "n": range(len(texts))}, index=[f"r{i}" for i in range(len(texts))])


def expected_label(text):
    return answers.classify(text)[0]


def test_classify_columns_types_and_values(hf):
    df = frame()
    out = df.hf.classify("review")
    assert list(out.columns) == ["review", "n", "review_label", "review_score", "review_error"]
    assert list(out.index) == list(df.index)
    assert str(out["review_label"].dtype) == "string[pyarrow]" and str(out["review_score"].dtype) == "double[pyarrow]"
    for text, label, score in zip(TEXTS, out["review_label"], out["review_score"]):
        assert (label, score) == (expected_label(text)["label"], pytest.approx(expected_label(text)["score"]))
    assert out["review_error"].isna().all()


def test_duplicates_are_sent_once_and_rerun_sends_nothing(hf):
    df = frame()
    df.hf.classify("review")
    assert hf.count() == len(set(TEXTS)) == 4
    assert hf_frame.last_run()["unique"] == 4 and hf_frame.last_run()["requests"] == 4
    hf.reset()
    again = df.hf.classify("review")
    assert hf.count() == 0 and hf_frame.last_run()["cached"] == 4
    pd.testing.assert_frame_equal(again, df.hf.classify("review"))


def test_cache_persists_in_sqlite_without_the_token(hf, tmp_path):
    frame().hf.classify("review")
    info = hf_frame.cache_info()
    assert info["entries"] == 4 and info["path"].endswith("cache.sqlite")
    raw = open(info["path"], "rb").read()
    for suffix in ("-wal", "-shm"):
        try:
            raw += open(info["path"] + suffix, "rb").read()
        except FileNotFoundError:
            pass
    assert b"hf_test_token_123" not in raw
    rows = sqlite3.connect(info["path"]).execute("select count(*) from answers").fetchone()[0]
    assert rows == 4
    assert hf_frame.clear_cache() == 4 and hf_frame.cache_info()["entries"] == 0


def test_changing_model_or_parameters_is_a_cache_miss(hf):
    df = frame()
    df.hf.classify("review")
    df.hf.classify("review", top_k=2)
    df.hf.classify("review", model="test/text-classification")
    assert hf.count() == 12


def test_input_frame_is_never_mutated(hf):
    df = frame()
    before = df.copy()
    df.hf.classify("review")
    pd.testing.assert_frame_equal(df, before)


def test_missing_values_give_null_outputs_and_no_request(hf):
    df = pd.DataFrame({"review": ["good", None, float("nan"), pd.NA, "", "   "]})
    out = df.hf.classify("review")
    assert hf.count() == 1
    assert out["review_label"].isna().tolist() == [False, True, True, True, True, True]
    assert out["review_error"].isna().all()


def test_series_accessor_keeps_the_index(hf):
    s = pd.Series(["good", "bad"], index=[10, 20], name="txt")
    out = s.hf.classify()
    assert list(out.columns) == ["label", "score", "error"] and list(out.index) == [10, 20]


def test_chaining_never_clobbers(hf):
    out = (frame().hf.classify("review")
           .hf.zero_shot("review", labels=["price", "quality"])
           .hf.ner("review"))
    assert "review_label" in out and "review_zero_shot_label" in out and "review_entities" in out and "review_ner_error" in out
    with pytest.raises(ValueError, match="already exist"):
        out.hf.classify("review", prefix="review")


def test_top_k_gives_list_of_structs(hf):
    out = frame().hf.classify("review", top_k=None)
    labels = out["review_labels"].iloc[0]
    assert [x["label"] for x in labels] == [x["label"] for x in answers.classify(TEXTS[0])]
    assert "list<item: struct<label: string, score: double>>" in str(out["review_labels"].dtype)


def test_zero_shot_scores_every_label(hf):
    labels = ["shipping", "price", "quality"]
    out = frame().hf.zero_shot("review", labels=labels)
    truth = answers.zero_shot(TEXTS[0], labels)
    assert out["review_label"].iloc[0] == truth["labels"][0]
    for label, score in zip(truth["labels"], truth["scores"]):
        assert out[f"review_score_{label}"].iloc[0] == pytest.approx(score)


def test_zero_shot_label_limits(hf):
    labels = [f"l{i}" for i in range(23)]
    with pytest.raises(ValueError, match="at most 10"):
        frame().hf.zero_shot("review", labels=labels)
    with pytest.raises(ValueError, match="labels is empty"):
        frame().hf.zero_shot("review", labels=[])
    out = frame(["one text"]).hf.zero_shot("review", labels=labels, multi_label=True)
    assert hf.count() == 3  # 10 + 10 + 3 labels
    assert sorted(r.json["parameters"]["candidate_labels"].__len__() for r in hf.requests) == [3, 10, 10]
    for label in labels:
        truth = answers.zero_shot("one text", [label], multi_label=True)["scores"][0]
        assert out[f"review_score_{label}"].iloc[0] == pytest.approx(truth)


def test_zero_shot_list_answer_form(hf):
    hf.zero_shot_list_form = True
    out = frame(["x y"]).hf.zero_shot("review", labels=["a", "b"])
    assert out["review_label"].iloc[0] == answers.zero_shot("x y", ["a", "b"])["labels"][0]


def test_ner_entities(hf):
    out = frame(["Then Alice met Bob in Paris"]).hf.ner("review")
    entities = out["review_entities"].iloc[0]
    assert [(e["entity_group"], e["word"]) for e in entities] == [("PER", "Alice"), ("PER", "Bob"), ("LOC", "Paris")]
    assert hf.requests[0].json["parameters"] == {"aggregation_strategy": "simple"}


def test_qa_with_columns_and_literals(hf):
    df = pd.DataFrame({"q": ["who?", "what?"], "ctx": ["Alice builds bridges", "a tiny extraordinary cat"]})
    out = df.hf.qa("q", "ctx")
    assert out["q_answer"].tolist() == ["bridges", "extraordinary"]
    lit = df.hf.qa("Which word is longest?", "ctx")
    assert lit["ctx_answer"].tolist() == ["bridges", "extraordinary"]
    assert hf.requests[-1].json["inputs"]["question"] == "Which word is longest?"


def test_similarity_batches_rows_sharing_a_sentence(hf):
    df = frame()
    out = df.hf.similarity("review", "I love it")
    assert hf.count() == 1  # one request: the literal is the source sentence, unique rows the targets
    assert hf.requests[0].path.endswith("/pipeline/sentence-similarity")
    assert out["review_similarity"].iloc[1] == pytest.approx(answers.similarity("I love it", ["terrible"])[0], abs=1e-6)
    pair = pd.DataFrame({"a": ["x", "x", "y"], "b": ["p", "q", "p"]}).hf.similarity("a", "b")
    assert pair["a_similarity"].tolist() == pytest.approx(
        [answers.similarity("x", ["p"])[0], answers.similarity("x", ["q"])[0], answers.similarity("y", ["p"])[0]], abs=1e-6)


def test_embed_fixed_size_float32_and_batches(hf):
    texts = [f"text {i % 70}" for i in range(100)]
    out = pd.DataFrame({"t": texts}).hf.embed("t")
    assert str(out["t_embedding"].dtype) == "fixed_size_list<item: float>[384][pyarrow]"
    assert hf.count() == 3  # 70 unique texts in batches of 32
    first = np.asarray(out["t_embedding"].iloc[5], dtype=np.float32)
    assert np.allclose(first, answers.vector("text 5"), atol=1e-6)
    assert hf.requests[0].path.endswith("/pipeline/feature-extraction")


def test_other_text_tasks(hf):
    df = pd.DataFrame({"t": ["First sentence. Second one.", "Hello world"]})
    assert df.hf.summarize("t")["t_summary"].tolist() == [answers.summarize(x)["summary_text"] for x in df["t"]]
    assert df.hf.translate("t", tgt_lang="fr")["t_translation"].tolist() == [
        answers.translate(x, "fr")["translation_text"] for x in df["t"]]
    gen = df.hf.generate("t", max_new_tokens=3)
    assert gen["t_generated"].tolist() == [answers.generate(x, False)["generated_text"] for x in df["t"]]
    assert hf.requests[-1].json["parameters"] == {"return_full_text": False, "max_new_tokens": 3}
    masked = pd.DataFrame({"t": ["The goal of life is <mask>."]}).hf.fill_mask("t", top_k=3)
    truth = answers.fill_mask("The goal of life is <mask>.", 3)
    assert masked["t_sequence"].iloc[0] == truth[0]["sequence"] and len(masked["t_candidates"].iloc[0]) == 3


def test_table_qa_defaults_to_the_frame(hf):
    df = pd.DataFrame({"repo": ["transformers", "datasets"], "stars": [36542, 4512]})
    out = df.hf.table_qa("How many stars?")
    assert out["table_qa_answer"].tolist() == ["36542", "36542"] and hf.count() == 1
    assert hf.requests[0].json["inputs"]["table"] == {"repo": ["transformers", "datasets"], "stars": ["36542", "4512"]}


# ---- faults --------------------------------------------------------------------------------

@pytest.mark.parametrize("inject", [
    lambda hub: hub.fail(429, times=3),
    lambda hub: hub.fail(503, times=3),
    lambda hub: hub.fail(500, times=3),
    lambda hub: hub.drop(times=3),
    lambda hub: hub.malformed(times=3),
])
def test_transient_faults_are_retried_and_every_row_is_right(hf, inject):
    inject(hf)
    out = frame().hf.classify("review")
    assert out["review_error"].isna().all()
    assert out["review_label"].tolist() == [expected_label(t)["label"] for t in TEXTS]
    assert hf.count() == 4 + 3


def test_503_is_retried_without_the_removed_wait_for_model_header(hf):
    # X-Wait-For-Model was removed from the API in 2025 (no cold starts on serverless): never sent.
    hf.fail(503, times=1)
    frame(["only"]).hf.classify("review")
    assert [r.wait_for_model for r in hf.requests] == [None, None]


def test_row_errors_become_an_error_column_and_one_warning(hf):
    df = frame(["good", "bad [[400]]", "fine", "bad [[400]]"])
    with pytest.warns(RowErrorWarning, match="2 of 4 rows failed") as caught:
        out = df.hf.classify("review")
    assert len(caught) == 1
    assert out["review_label"].isna().tolist() == [False, True, False, True]
    assert "HTTP 400" in out["review_error"].iloc[1] and out["review_error"].isna().tolist() == [True, False, True, False]
    hf.reset()
    with pytest.warns(RowErrorWarning):
        df.hf.classify("review")  # successes are cached: only the failed input is retried
    assert hf.count() == 1


def test_errors_raise_after_finishing_everything(hf):
    df = frame(["good", "x [[400]]", "fine"])
    with pytest.raises(RowErrors, match="1 of 3 rows failed") as info:
        df.hf.classify("review", errors="raise")
    assert list(info.value.errors) == ["r1"]
    hf.reset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df.hf.classify("review", errors="ignore")
    assert hf.count() == 1  # the good rows were cached before raising


def test_unauthorized_stops_at_once_and_never_shows_the_token(hf):
    hf.require_token = "the-right-one"
    with pytest.raises(FatalRequestError) as info:
        frame().hf.classify("review", max_retries=5)
    assert "401" in str(info.value) and "check the token" in str(info.value)
    assert "hf_test_token_123" not in str(info.value) and "hf_test_token_123" not in repr(info.value)
    assert hf.count() <= 4


def test_unknown_model_is_fatal(hf):
    with pytest.raises(FatalRequestError, match="404"):
        frame().hf.classify("review", model="missing/nope")


def test_identical_client_errors_everywhere_are_systematic(hf):
    texts = [f"x{i} [[400]]" for i in range(10)]
    with pytest.raises(FatalRequestError, match="likely wrong"):
        frame(texts).hf.classify("review", max_concurrency=1)
    # Stopped after the third failure (one more may already be on the wire). Count only this test's
    # requests: a previous test's cancelled requests can still reach the server after the reset.
    assert sum(b"[[400]]" in r.body for r in hf.requests) <= 4


def test_concurrency_is_bounded(hf):
    hf.latency = 0.05
    frame([f"t{i}" for i in range(24)]).hf.classify("review", max_concurrency=4)
    assert hf.max_in_flight == 4


def test_rate_limit_holds(hf):
    import time

    start = time.monotonic()
    frame([f"t{i}" for i in range(5)]).hf.classify("review", requests_per_minute=1200)  # 50 ms apart
    assert time.monotonic() - start >= 0.19


# ---- bad input -----------------------------------------------------------------------------

def test_unknown_column_names_it_and_the_existing_ones(hf):
    with pytest.raises(KeyError, match=r"'reviw' not found.*'review', 'n'"):
        frame().hf.classify("reviw")


def test_non_text_value_names_the_row(hf):
    df = pd.DataFrame({"review": ["ok", 42]}, index=["a", "b"])
    with pytest.raises(InputTypeError, match=r"column 'review' row 'b' holds int 42"):
        df.hf.classify("review")
    assert isinstance(InputTypeError("x"), TypeError)
    assert hf.count() == 0


def test_unknown_keyword_is_a_type_error(hf):
    with pytest.raises(TypeError, match="unexpected keyword"):
        frame().hf.classify("review", temprature=1)


# ---- concurrency of callers ----------------------------------------------------------------

def test_threads_share_single_flight(hf):
    hf.latency = 0.1
    df = frame([f"same {i % 5}" for i in range(50)])
    results = []
    threads = [threading.Thread(target=lambda: results.append(df.hf.classify("review"))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert hf.count() == 5 and len(results) == 4
    for r in results:
        pd.testing.assert_frame_equal(r, results[0])


def test_works_inside_a_running_event_loop(hf):
    async def notebook_cell():  # Jupyter runs cells inside a running loop
        return frame().hf.classify("review")

    out = asyncio.run(notebook_cell())
    assert out["review_error"].isna().all()


def test_progress_bar_counts_rows(hf, capsys):
    frame().hf.classify("review", progress=True)
    err = capsys.readouterr().err
    assert "hf classify" in err and "7/7" in err and "sent=7" in err


def test_embed_of_only_missing_values_sends_nothing(hf):
    out = pd.DataFrame({"t": [None, "", "  "]}).hf.embed("t")
    assert hf.count() == 0 and out["t_embedding"].isna().all()


def test_unreachable_service_stops_after_three_inputs(hf):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(FatalRequestError, match="unreachable"):
        frame([f"t{i}" for i in range(40)]).hf.classify("review", base_url=f"http://127.0.0.1:{port}",
                                                        max_retries=1, max_concurrency=2)


def test_missing_token_is_named_in_the_401_message(hf, monkeypatch):
    hf.require_token = "the-right-one"
    monkeypatch.delenv("HF_TOKEN")
    with pytest.raises(FatalRequestError, match="no token was found"):
        frame().hf.classify("review")


def test_an_interrupted_run_resumes_where_it_stopped(hf):
    """Answers are cached as they arrive: stopping a call midway (Ctrl-C cancels the same way)
    keeps what came back, and the rerun sends only the rest."""
    from hf_frame import methods
    from hf_frame import runtime as runner
    from hf_frame.core import engine

    hf.latency = 0.05
    texts = [f"row {i}" for i in range(40)]
    job = methods.classify("review", max_concurrency=4)

    async def stopped_midway():
        try:
            await asyncio.wait_for(engine.execute(job.calls[0], [(t,) for t in texts]), timeout=0.3)
        except asyncio.TimeoutError:
            pass

    runner.run(stopped_midway())
    hf.wait_quiet()
    answered_before = hf.count()
    assert 0 < answered_before < 40
    hf.reset()
    hf.latency = 0.0
    out = frame(texts).hf.classify("review", max_concurrency=4)
    assert out["review_error"].isna().all()
    assert hf_frame.last_run()["cached"] >= answered_before - 4  # the last few may have been cut mid-flight
    assert hf.count() == 40 - hf_frame.last_run()["cached"]


def test_a_list_of_columns_is_a_clear_type_error(hf):
    with pytest.raises(TypeError, match="takes one column name, got list"):
        frame().hf.classify(["review", "n"])
