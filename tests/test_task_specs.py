"""Task specs without a server: URLs, request bodies, and every answer shape DESIGN.md lists."""

from __future__ import annotations

import numpy as np
import pytest

from hf_frame import methods


def spec(job):
    call = job.calls[0]
    return call, call.task


def test_urls_router_pipeline_and_endpoint():
    call, task = spec(methods.classify("t", model="org/m"))
    assert task.url(call) == "https://router.huggingface.co/hf-inference/models/org/m"
    call, task = spec(methods.embed("t", model="org/e", base_url="http://127.0.0.1:9/"))
    assert task.url(call) == "http://127.0.0.1:9/hf-inference/models/org/e/pipeline/feature-extraction"
    call, task = spec(methods.similarity("a", "b"))
    assert task.url(call).endswith("/models/sentence-transformers/all-MiniLM-L6-v2/pipeline/sentence-similarity")
    call, task = spec(methods.classify("t", endpoint="https://xyz.endpoints.huggingface.cloud"))
    assert task.url(call) == "https://xyz.endpoints.huggingface.cloud"


def test_bodies_drop_none_and_pass_parameters_through():
    call, task = spec(methods.classify("t", top_k=None, parameters={"function_to_apply": "sigmoid"}))
    assert task.payload(call, ["hi"]) == {"inputs": "hi", "parameters": {"function_to_apply": "sigmoid"}}
    call, task = spec(methods.zero_shot("t", ["a", "b"]))
    assert task.payload(call, ["hi"]) == {"inputs": "hi", "parameters": {"candidate_labels": ["a", "b"], "multi_label": False}}
    call, task = spec(methods.qa("q", "c"))
    assert task.payload(call, [{"question": "q?", "context": "c."}]) == {"inputs": {"question": "q?", "context": "c."}}
    call, task = spec(methods.summarize("t", max_length=30))
    assert task.payload(call, ["long"]) == {"inputs": "long", "parameters": {"max_length": 30}}


def test_feature_extraction_options_at_the_root():
    call, task = spec(methods.embed("t", normalize=False))
    body = task.payload(call, ["a", "b"])
    assert body["inputs"] == ["a", "b"] and body["normalize"] is False and "parameters" not in body


@pytest.mark.parametrize("answer", [
    [[{"label": "NEG", "score": 0.2}, {"label": "POS", "score": 0.8}]],
    [{"label": "NEG", "score": 0.2}, {"label": "POS", "score": 0.8}],
    {"labels": ["POS", "NEG"], "scores": [0.8, 0.2]},
])
def test_classification_shapes(answer):
    call, task = spec(methods.classify("t", top_k=2))
    [result] = task.parse(call, answer, ["x"])
    assert task.to_row(call, result)["label"] == "POS" and [x["label"] for x in result] == ["POS", "NEG"]


def test_batched_classification_shapes():
    call, task = spec(methods.classify("t"))
    nested = [[{"label": "A", "score": 0.9}], [{"label": "B", "score": 0.7}]]
    flat = [{"label": "A", "score": 0.9}, {"label": "B", "score": 0.7}]  # top-1 batches come back flat
    assert task.parse(call, nested, ["x", "y"]) == task.parse(call, flat, ["x", "y"])
    with pytest.raises(ValueError):
        task.parse(call, nested[:1], ["x", "y"])


@pytest.mark.parametrize("answer", [
    {"sequence": "s", "labels": ["b", "a"], "scores": [0.7, 0.3]},
    [{"label": "b", "score": 0.7}, {"label": "a", "score": 0.3}],
    [{"sequence": "s", "labels": ["b", "a"], "scores": [0.7, 0.3]}],
])
def test_zero_shot_shapes(answer):
    call, task = spec(methods.zero_shot("t", ["a", "b"]))
    [result] = task.parse(call, answer, ["x"])
    assert task.to_row(call, result) == {"label": "b", "score": 0.7, "score_a": 0.3, "score_b": 0.7}


def test_qa_list_and_unknown_keys():
    call, task = spec(methods.qa("q", "c", top_k=2))
    answer = [{"answer": "x", "score": 0.9, "start": 1, "end": 2, "extra": True}, {"answer": "y", "score": 0.1}]
    assert task.parse(call, answer, [{}]) == [{"answer": "x", "score": 0.9, "start": 1, "end": 2}]
    assert task.parse(call, {"answer": "z"}, [{}]) == [{"answer": "z", "score": None, "start": None, "end": None}]


def test_ner_without_aggregation_uses_entity_key():
    call, task = spec(methods.ner("t", aggregation="none"))
    [result] = task.parse(call, [{"entity": "B-PER", "word": "Al", "score": 0.9, "start": 0, "end": 2, "index": 1}], ["x"])
    assert result == [{"entity_group": "B-PER", "word": "Al", "score": 0.9, "start": 0, "end": 2}]


def test_text_generation_shapes():
    call, task = spec(methods.generate("t"))
    for answer in ([{"generated_text": "g"}], {"generated_text": "g"}, [[{"generated_text": "g"}]]):
        assert task.parse(call, answer, ["x"]) == ["g"]
    with pytest.raises(ValueError):
        task.parse(call, [{"summary_text": "nope"}], ["x"])


@pytest.mark.parametrize("answer,n", [
    ([0.1, 0.2, 0.3], 1),                                   # one input, sentence-transformers
    ([[0.1, 0.2, 0.3]], 1),                                 # TEI /embed: always 2-D
    ([[0.1, 0.2, 0.3], [0.3, 0.2, 0.1]], 2),                # a batch
    ([[[0.0, 0.2, 0.4], [0.2, 0.2, 0.2]]], 1),              # token embeddings: mean-pooled
    ({"data": [{"index": 1, "embedding": [0.3, 0.2, 0.1]}, {"index": 0, "embedding": [0.1, 0.2, 0.3]}]}, 2),
])
def test_embedding_shapes(answer, n):
    call, task = spec(methods.embed("t"))
    vectors = task.parse(call, answer, ["x"] * n)
    assert len(vectors) == n and np.allclose(vectors[0], [0.1, 0.2, 0.3])


def test_embedding_cache_codec_is_float32_bytes():
    call, task = spec(methods.embed("t"))
    vector = np.asarray([0.25, -1.5], dtype=np.float32)
    data = task.encode(vector)
    assert len(data) == 8 and np.array_equal(task.decode(data), vector)
