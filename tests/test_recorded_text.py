"""Every text task parses the real recorded Hugging Face answers into the documented columns."""

from __future__ import annotations

import pytest
from recorded import body, interactions

from hf_frame import methods


def parse_one(job: methods.Job, answer, item):
    call = job.calls[0]
    [result] = call.task.parse(call, answer, [item])
    return call.task.build_array(call, [result]).to_pylist()[0]


def recorded(name: str, index: int = 0):
    pair = interactions(name)[index]
    return body(pair["request"]), body(pair["response"])


def test_text_classification():
    request, answer = recorded("text_classification")
    row = parse_one(methods.classify("t", top_k=None), answer, request["inputs"][0])
    assert row["label"] == "POSITIVE" and row["score"] == pytest.approx(0.99986958)
    assert [x["label"] for x in row["labels"]] == ["POSITIVE", "NEGATIVE"]
    assert parse_one(methods.classify("t"), answer, "I like you") == {"label": "POSITIVE", "score": pytest.approx(0.99986958)}


@pytest.mark.parametrize("name", ["zero_shot_classification_multi_label", "zero_shot_classification_single_label"])
def test_zero_shot(name):
    request, answer = recorded(name)
    labels = request["parameters"]["candidate_labels"]
    labels = labels.split(",") if isinstance(labels, str) else labels  # the legacy API took a joined string
    row = parse_one(methods.zero_shot("t", labels, multi_label="multi" in name), answer, request["inputs"])
    assert row["label"] == answer["labels"][0] and row["score"] == pytest.approx(answer["scores"][0])
    for label, score in zip(answer["labels"], answer["scores"]):
        assert row[f"score_{label}"] == pytest.approx(score)


def test_token_classification():
    request, answer = recorded("token_classification")
    row = parse_one(methods.ner("t"), answer, request["inputs"])
    assert [(e["entity_group"], e["word"], e["start"], e["end"]) for e in row["entities"]] == [
        ("PER", "Sarah Jessica Parker", 11, 31), ("PER", "Jessica", 52, 59)]


def test_question_answering():
    request, answer = recorded("question_answering")
    row = parse_one(methods.qa("q", "c"), answer, {"question": request["question"], "context": request["context"]})
    assert row == {"answer": "42", "score": pytest.approx(1.4291124728060822e-08), "start": 0, "end": 2}


def test_table_question_answering():
    request, answer = recorded("table_question_answering")
    job = methods.table_qa("q", table=request["table"])
    row = parse_one(job, answer, request["query"])
    assert row == {"answer": "AVERAGE > 36542", "cells": ["36542"], "coordinates": [[0, 1]], "aggregator": "AVERAGE"}
    # our request body for the same question matches the recorded one
    call = job.calls[0]
    assert call.task.payload(call, [request["query"]])["inputs"] == {"query": request["query"], "table": request["table"]}


def test_fill_mask():
    request, answer = recorded("fill_mask")
    row = parse_one(methods.fill_mask("t"), answer, request["inputs"])
    assert row["sequence"] == "The goal of life is happiness." and row["token_str"] == " happiness"
    assert len(row["candidates"]) == len(answer) and row["candidates"][0]["token"] == 11098


@pytest.mark.parametrize("name,method,column", [
    ("summarization", methods.summarize, "summary"),
    ("translation", methods.translate, "translation"),
    ("translation_with_source_and_target_language", methods.translate, "translation"),
])
def test_text_to_text(name, method, column):
    request, answer = recorded(name)
    row = parse_one(method("t"), answer, request["inputs"])
    assert row == {column: answer[0][f"{'summary' if column == 'summary' else 'translation'}_text"]}


def test_translation_parameters_match_recording():
    request, _ = recorded("translation_with_source_and_target_language")
    job = methods.translate("t", src_lang="en_XX", tgt_lang="fr_XX")
    call = job.calls[0]
    assert call.task.payload(call, [request["inputs"]]) == request


def test_sentence_similarity():
    request, answer = recorded("sentence_similarity")
    job = methods.similarity("a", "b")
    call = job.calls[0]
    items = [{"source": request["inputs"]["source_sentence"], "sentence": s} for s in request["inputs"]["sentences"]]
    assert call.task.payload(call, items) == request
    assert call.task.parse(call, answer, items) == pytest.approx(answer)


@pytest.mark.parametrize("name,dim", [("feature_extraction_with_sentence_transformers", 384),
                                      ("feature_extraction_with_transformers", 768)])
def test_feature_extraction(name, dim):
    request, answer = recorded(name)
    job = methods.embed("t")
    call = job.calls[0]
    [vector] = call.task.parse(call, answer, [request["inputs"]])
    assert vector.shape == (dim,) and vector.dtype.name == "float32"
    array = call.task.build_array(call, [vector, None])
    assert str(array.type.field("embedding").type) == f"fixed_size_list<item: float>[{dim}]"
    assert array.is_null().to_pylist() == [False, True]
