"""Nothing wrong is ever cached: answers of the wrong shape or type are row errors, over real HTTP.

Every test here sends through the loopback hub and then reruns: a rerun that sends nothing must
give exactly what the first call gave, and a row that failed must be sent again.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import quiet
from recorded import body, interactions

BART = "facebook/bart-base"


# ---------------------------------------------------------------------------------------------
# 1. feature extraction: every recorded layout is pooled over the tokens


def recorded_tokens() -> np.ndarray:
    """The token embeddings hf-inference answered for one input to facebook/bart-base (T x D)."""
    [pair] = interactions("feature_extraction_with_transformers")
    answer = np.asarray(body(pair["response"]), dtype=np.float32)
    assert answer.shape == (1, 8, 768)  # 1 x T x D: one input's token embeddings
    return answer[0]


def token_answers(n: int, ragged: bool) -> list[np.ndarray]:
    """Per input, a T x D token matrix built from the recorded one (distinct values per input)."""
    tokens = recorded_tokens()
    return [(tokens[: (8 - i % 3) if ragged else 8] + i).astype(np.float32) for i in range(n)]


LAYOUTS = {
    # name: (number of inputs, ragged token counts, answer built from the per-input T x D matrices)
    "D": (1, False, lambda ms: ms[0].mean(axis=0).tolist()),
    "TxD": (1, False, lambda ms: ms[0].tolist()),
    "1xTxD": (1, False, lambda ms: [ms[0].tolist()]),
    "NxD": (5, False, lambda ms: [m.mean(axis=0).tolist() for m in ms]),
    "NxTxD": (5, False, lambda ms: [m.tolist() for m in ms]),
    "NxTxD ragged": (5, True, lambda ms: [m.tolist() for m in ms]),
    "Nx1xTxD": (7, False, lambda ms: [[m.tolist()] for m in ms]),  # what hf-inference answers a batch
    "Nx1xTxD ragged": (7, True, lambda ms: [[m.tolist()] for m in ms]),
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_token_embeddings_are_pooled_over_tokens_in_every_layout(hf, layout):
    n, ragged, build = LAYOUTS[layout]
    matrices = token_answers(n, ragged)
    texts = [f"sentence number {i}" for i in range(n)]
    hf.fail(200, body=build(matrices), times=1)  # the one batch gets the recorded layout
    df = pd.DataFrame({"t": texts})
    out = df.hf.embed("t", model=BART)
    assert hf.count() == 1  # one request: the answer parsed, no batch split
    assert out["t_error"].isna().all()
    got = np.stack(out["t_embedding"].to_numpy())
    assert got.shape == (n, 768)
    want = np.stack([m.mean(axis=0) for m in matrices])
    assert np.allclose(got, want, atol=1e-5)
    hf.reset()
    again = df.hf.embed("t", model=BART)  # from the cache: the same 768-dim vectors
    assert hf.count() == 0
    assert np.allclose(np.stack(again["t_embedding"].to_numpy()), want, atol=1e-5)


@pytest.mark.parametrize("answer", [
    [[[[1.0, 2.0]] * 2] * 2] * 2,  # 2 x 2 x 2 x 2: not N x 1 x T x D
    [[1.0, 2.0], [1.0]],         # vectors of different sizes in one batch
    [[], []],                    # empty vectors
    [1.0, [2.0]],                # neither a vector nor a token matrix
    {"vectors": [[1.0], [2.0]]},  # not an embeddings answer
    [["a", "b"], ["c", "d"]],    # not numbers
])
def test_an_embeddings_answer_of_the_wrong_shape_is_a_row_error_never_cached(hf, answer):
    df = pd.DataFrame({"t": ["first text", "second text"]})
    hf.fail(200, body=answer, times=3)  # the batch, then each half after the split
    out = quiet(df.hf.embed, "t", model=BART)
    assert out["t_embedding"].isna().all()
    assert out["t_error"].str.contains("unexpected answer").all()
    hf.reset()
    again = df.hf.embed("t", model=BART)  # nothing was cached: sent again, now answered right
    assert hf.count() == 1 and again["t_error"].isna().all()


# ---------------------------------------------------------------------------------------------
# 2. every answer is checked against the task's output type before it is cached


def entity(**changes):
    return {"entity_group": "PER", "word": "Ada", "score": 0.9, "start": 0, "end": 3, **changes}


@pytest.mark.parametrize("bad,field", [
    (entity(word=123), "entities[1].word"),
    (entity(entity_group=["PER", "LOC"]), "entities[1].entity_group"),
    (entity(start=2**70), "entities[1].start"),
])
def test_a_malformed_answer_is_a_row_error_naming_the_field_and_never_cached(hf, bad, field):
    df = pd.DataFrame({"t": ["Ada wrote it", "Bob read it"]})
    hf.fail(200, body=[entity(word="Bob"), bad], match="Bob read it", times=1)
    out = quiet(df.hf.ner, "t")
    assert hf.count() == 2
    assert pd.isna(out["t_error"].iloc[0])
    error = out["t_error"].iloc[1]
    assert f"field {field!r}" in error and "token-classification" in error and "dslim/bert-base-NER" in error
    assert pd.isna(out["t_entities"].iloc[1])
    hf.reset()
    again = df.hf.ner("t")  # the good row from the cache, the malformed one sent again
    assert hf.count() == 1 and hf.requests[0].json["inputs"] == "Bob read it"
    assert again["t_error"].isna().all() and list(again["t_entities"].iloc[0]) == list(out["t_entities"].iloc[0])


def test_a_malformed_answer_does_not_crash_the_rerun(hf):
    df = pd.DataFrame({"t": ["Ada wrote it"]})
    hf.fail(200, body=[entity(word={"nested": True})], times=1)
    first = quiet(df.hf.ner, "t")
    assert "entities[0].word" in first["t_error"].iloc[0]
    hf.reset()
    assert df.hf.ner("t")["t_error"].isna().all() and hf.count() == 1


# ---------------------------------------------------------------------------------------------
# 3. classification answers with no label


@pytest.mark.parametrize("answer", [[], [[]], [{"label": None, "score": 0.5}], [[{"label": None, "score": 0.5}]],
                                    {"labels": [], "scores": []}])
def test_classification_answer_without_a_label_is_a_row_error_never_cached(hf, answer):
    df = pd.DataFrame({"t": ["I love it"]})
    hf.fail(200, body=answer, times=1)
    out = quiet(df.hf.classify, "t")
    assert pd.isna(out["t_label"].iloc[0]) and "unexpected answer" in out["t_error"].iloc[0]  # not "None"
    hf.reset()
    again = df.hf.classify("t")
    assert hf.count() == 1 and again["t_error"].isna().all() and again["t_label"].iloc[0] in ("POSITIVE", "NEGATIVE")


def test_image_classification_answer_without_a_label_is_a_row_error(hf):
    from test_media_tasks import png_bytes

    df = pd.DataFrame({"img": [png_bytes(1)]})
    hf.fail(200, body=[], times=1)
    out = quiet(df.hf.classify_image, "img")
    assert "no label" in out["img_error"].iloc[0]
    hf.reset()
    assert df.hf.classify_image("img")["img_error"].isna().all() and hf.count() == 1


def test_zero_shot_answer_missing_a_candidate_label_is_a_row_error(hf):
    df = pd.DataFrame({"t": ["the parcel came late"]})
    hf.fail(200, body={"sequence": "x", "labels": ["shipping"], "scores": [0.9]}, times=1)
    out = quiet(df.hf.zero_shot, "t", labels=["shipping", "price"])
    assert "'price'" in out["t_error"].iloc[0]
    hf.reset()
    assert df.hf.zero_shot("t", labels=["shipping", "price"])["t_error"].isna().all() and hf.count() == 1
