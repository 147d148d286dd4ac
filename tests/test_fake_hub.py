"""Quick tests of the fake Hugging Face server itself (tests/fake_hub.py), over real sockets."""

from __future__ import annotations

import base64
import io
import json
import math
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from fake_hub import FakeHub, Route, answers, parse_route
from recorded import RECORDED_DIR as RECORDED  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def client(hub: FakeHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hub.base_url, timeout=10) as c:
        yield c


# ---- routing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "route"),
    [
        ("/hf-inference/models/org/name", Route("task", "org/name")),
        ("/hf-inference/models/gpt2", Route("task", "gpt2")),
        (
            "/hf-inference/models/org/name/pipeline/feature-extraction",
            Route("task", "org/name", "feature-extraction"),
        ),
        (
            "/models/org/name/pipeline/sentence-similarity/",
            Route("task", "org/name", "sentence-similarity"),
        ),
        ("/pipeline/feature-extraction/org/name", Route("task", "org/name", "feature-extraction")),
        ("/hf-inference/models/org/name/v1/chat/completions", Route("chat", "org/name")),
        ("/v1/chat/completions", Route("chat")),
        ("/models/org/name/embed", Route("embed", "org/name")),
        ("/embed", Route("embed")),
        ("/rerank", Route("rerank")),
        ("/v1/embeddings", Route("openai-embeddings")),
        ("/", Route("endpoint")),
        ("/nothing/here", None),
    ],
)
def test_parse_route(path: str, route: Route | None) -> None:
    assert parse_route(path) == route


# ---- answers over HTTP ----------------------------------------------------------------------


def test_text_tasks_answer_like_the_answers_namespace(hub: FakeHub, client: httpx.Client) -> None:
    def post(model: str, body: dict) -> Any:
        r = client.post(f"/hf-inference/models/{model}", json=body)
        assert r.status_code == 200, r.text
        return r.json()

    assert post("test/text-classification", {"inputs": "I love it"}) == [
        answers.classify("I love it")
    ]
    top = post("test/text-classification", {"inputs": ["great", "bad"], "parameters": {"top_k": 1}})
    assert top == [answers.classify("great")[:1], answers.classify("bad")[:1]]
    assert [t[0]["label"] for t in top] == ["POSITIVE", "NEGATIVE"]

    labels = {"candidate_labels": ["x", "y", "z"]}
    zs = post("facebook/bart-large-mnli", {"inputs": "a text", "parameters": labels})
    assert zs == answers.zero_shot("a text", ["x", "y", "z"])
    assert math.isclose(sum(zs["scores"]), 1.0, rel_tol=1e-6)
    assert zs["scores"] == sorted(zs["scores"], reverse=True)

    ner = post("dslim/bert-base-NER", {"inputs": "Then Alice met Acme in Paris"})
    assert [(e["word"], e["entity_group"]) for e in ner] == [
        ("Alice", "PER"), ("Acme", "ORG"), ("Paris", "LOC"),
    ]
    assert all("Then Alice met Acme in Paris"[e["start"] : e["end"]] == e["word"] for e in ner)

    question = {"question": "What?", "context": "The tower is enormous"}
    qa = post("deepset/roberta-base-squad2", {"inputs": question})
    assert (qa["answer"], qa["start"], qa["end"]) == ("enormous", 13, 21)

    table = {"Repository": ["Transformers", "Datasets"], "Stars": ["36542", "4512"]}
    tqa = post("google/tapas-base-finetuned-wtq", {"inputs": {"query": "How?", "table": table}})
    assert tqa == {
        "answer": "36542",
        "coordinates": [[0, 1]],
        "cells": ["36542"],
        "aggregator": "NONE",
    }

    fill = post("distilbert/distilroberta-base", {"inputs": "Life is <mask>."})
    assert len(fill) == 5 and fill == answers.fill_mask("Life is <mask>.")
    assert post("facebook/bart-large-cnn", {"inputs": "One. Two."}) == [{"summary_text": "One."}]
    assert post("google-t5/t5-small", {"inputs": "a b"}) == [{"translation_text": "b a"}]
    gen = post("openai-community/gpt2", {"inputs": "Hi", "parameters": {"return_full_text": False}})
    assert gen == [{"generated_text": " and so on."}]

    assert [r.task for r in hub.requests][:2] == ["text-classification"] * 2


def test_feature_extraction_shapes(client: httpx.Client) -> None:
    url = "/hf-inference/models/sentence-transformers/all-MiniLM-L6-v2/pipeline/feature-extraction"
    one = client.post(url, json={"inputs": "Hi"}).json()
    many = client.post(url, json={"inputs": ["Hi", "there"]}).json()
    raw = client.post(url, json={"inputs": "Hi", "normalize": False}).json()
    assert np.allclose(one, answers.vector("Hi"), atol=1e-6) and len(one) == 384
    assert np.asarray(many).shape == (2, 384)
    assert math.isclose(np.linalg.norm(one), 1.0, abs_tol=1e-4)
    assert np.linalg.norm(raw) > 2  # unnormalised standard normals: norm ~ sqrt(384)
    bart = "/hf-inference/models/facebook/bart-base/pipeline/feature-extraction"
    tokens = client.post(bart, json={"inputs": "Hi, who are you?"}).json()
    assert np.asarray(tokens).shape == (1, 4, 384)  # [batch][token][dim], as recorded

    sim = client.post(
        "/hf-inference/models/sentence-transformers/all-MiniLM-L6-v2/pipeline/sentence-similarity",
        json={"inputs": {"source_sentence": "a", "sentences": ["a", "b"]}},
    ).json()
    assert sim == answers.similarity("a", ["a", "b"]) and math.isclose(sim[0], 1, abs_tol=1e-5)


def test_tei_routes(hub: FakeHub, client: httpx.Client) -> None:
    assert np.asarray(client.post("/embed", json={"inputs": "a"}).json()).shape == (1, 384)
    too_many = client.post("/embed", json={"inputs": ["t"] * 33})
    assert too_many.status_code == 413
    assert too_many.json() == {
        "error": "batch size 33 > maximum allowed batch size 32",
        "error_type": "Validation",
    }

    ranked = client.post("/rerank", json={"query": "a", "texts": ["b", "a"]}).json()
    assert ranked[0]["index"] == 1 and ranked == answers.rerank("a", ["b", "a"])

    request = {"input": ["x", "y"], "model": "m", "encoding_format": "base64"}
    body = client.post("/v1/embeddings", json=request).json()
    decoded = np.frombuffer(base64.b64decode(body["data"][1]["embedding"]), dtype="<f4")
    assert np.allclose(decoded, answers.vector("y"), atol=1e-6)
    assert body["object"] == "list" and body["usage"] == {"prompt_tokens": 2, "total_tokens": 2}


def test_chat_completions(client: httpx.Client) -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi there"}]
    r = client.post("/v1/chat/completions", json={"model": "org/chat", "messages": messages})
    body = r.json()
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "Echo: hi there"}
    assert body["model"] == "org/chat"
    assert body["usage"] == {"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7}

    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "n": {"type": "integer"},
            "tags": {"type": "array", "items": {"$ref": "#/$defs/Tag"}},
        },
        "$defs": {"Tag": {"enum": ["a", "b"]}},
    }
    openai_form = {"type": "json_schema", "json_schema": {"name": "T", "schema": schema}}
    tgi_form = {"type": "json", "value": schema}
    for response_format in (openai_form, tgi_form):
        request = {"messages": messages, "response_format": response_format}
        r = client.post("/models/org/chat/v1/chat/completions", json=request)
        content = r.json()["choices"][0]["message"]["content"]
        assert json.loads(content) == {"name": "x", "n": 1, "tags": ["a"]}

    bad = [{"role": "user", "content": "[[badjson]] please"}]
    request = {"model": "m", "messages": bad, "response_format": openai_form}
    r = client.post("/v1/chat/completions", json=request)
    assert r.json()["choices"][0]["message"]["content"] == "not json {"

    r = client.post("/v1/chat/completions", json={"model": "m", "messages": "oops"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/plain")
    assert r.text.startswith("Failed to deserialize the JSON body into the target type")


def test_yes_no_questions_logprobs_and_reply_length(hub: FakeHub, client: httpx.Client) -> None:
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    fmt = {"type": "json_schema", "json_schema": {"name": "o", "schema": schema}}
    ask = lambda text, **extra: client.post("/v1/chat/completions", json={  # noqa: E731
        "model": "m", "messages": [{"role": "user", "content": text}], "response_format": fmt, **extra}).json()
    assert json.loads(ask("is it good?")["choices"][0]["message"]["content"]) == {"ok": True}
    answer = ask("is it broken?", logprobs=True, top_logprobs=2)
    assert json.loads(answer["choices"][0]["message"]["content"]) == {"ok": False}
    [value] = [e for e in answer["choices"][0]["logprobs"]["content"] if e["token"].strip() == "false"]
    p_true = answers.holds_probability("is it broken?")
    assert 0 < p_true < 0.25 and value["logprob"] == pytest.approx(math.log(1 - p_true))
    assert [t["token"].strip() for t in value["top_logprobs"]] == ["false", "true"]
    assert ask("is it good?")["choices"][0]["logprobs"] is None  # only when asked
    hub.logprobs = False
    assert ask("is it good?", logprobs=True)["choices"][0]["logprobs"] is None
    cut = client.post("/v1/chat/completions", json={"model": "m", "max_tokens": 2,
                                                    "messages": [{"role": "user", "content": "one two three"}]}).json()
    assert cut["choices"][0]["message"]["content"] == "Echo: one" and cut["choices"][0]["finish_reason"] == "length"


def test_model_list_and_bag_of_words_vectors(hub: FakeHub, client: httpx.Client) -> None:
    listed = client.get("/v1/models").json()
    [model] = [m for m in listed["data"] if m["id"] == "meta-llama/Llama-3.1-8B-Instruct"]
    assert {p["provider"]: p["pricing"] for p in model["providers"]}["groq"] == {"input": 0.05, "output": 0.08}
    assert len(hub.catalog_requests) == 1 and hub.count() == 0  # kept apart from the inference requests
    vectors = client.post("/hf-inference/models/test/bow-x/pipeline/feature-extraction",
                          json={"inputs": ["the kettle boils", "Kettle boils!", "lamp light"]}).json()
    a, b, c = (np.asarray(v) for v in vectors)
    assert a @ b == pytest.approx(1.0, abs=1e-5) and abs(a @ c) < 0.3
    assert vectors[0] == answers.bow_vector("the kettle boils")


def test_binary_tasks_raw_and_base64_agree(client: httpx.Client) -> None:
    image = b"not really an image, but bytes are bytes"
    vit = "/hf-inference/models/google/vit-base-patch16-224"
    raw = client.post(vit, content=image, headers={"Content-Type": "image/png"}).json()
    as_json = {"inputs": base64.b64encode(image).decode(), "parameters": {"top_k": 2}}
    encoded = client.post(vit, json=as_json).json()
    assert raw == answers.image_classify(image) and len(raw) == 5 and encoded == raw[:2]

    segformer = "/hf-inference/models/nvidia/segformer-b0-finetuned-ade-512-512"
    mask = base64.b64decode(client.post(segformer, content=image).json()[0]["mask"])
    assert mask.startswith(PNG_MAGIC)

    whisper = "/hf-inference/models/openai/whisper-large-v3"
    audio = b"fLaC fake audio"
    timestamps = {"return_timestamps": True}
    as_json = {"inputs": base64.b64encode(audio).decode(), "parameters": timestamps}
    asr = client.post(whisper, json=as_json).json()
    assert asr == answers.transcribe(audio, return_timestamps=True)
    empty = client.post(whisper, content=b"", headers={"Content-Type": "audio/flac"})
    assert empty.status_code == 400

    pil = pytest.importorskip("PIL.Image")
    assert pil.open(io.BytesIO(mask)).size == (4, 4)


# ---- errors and fault injection -------------------------------------------------------------


def test_faults_are_consumed_in_order_and_recorded(hub: FakeHub, client: httpx.Client) -> None:
    url = "/hf-inference/models/test/text-classification"
    hub.fail(503)
    hub.malformed()
    hub.fail(429)
    hub.drop()

    loading = client.post(url, json={"inputs": "a"})
    assert loading.status_code == 503
    assert loading.json() == {
        "error": "Model test/text-classification is currently loading",
        "estimated_time": 0.01,
    }
    malformed = client.post(url, json={"inputs": "a"})
    assert malformed.status_code == 200
    with pytest.raises(ValueError):
        malformed.json()
    limited = client.post(url, json={"inputs": "a"})
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "0"
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(url, json={"inputs": "a"})
    assert client.post(url, json={"inputs": "a"}).status_code == 200
    assert hub.count() == 5 and hub.count("text-classification") == 5


def test_faults_match_the_body_and_can_repeat(hub: FakeHub, client: httpx.Client) -> None:
    url = "/hf-inference/models/test/text-classification"
    hub.fail(500, times=2, match="boom", body={"error": "custom"})
    assert client.post(url, json={"inputs": "fine"}).status_code == 200
    for _ in range(2):
        r = client.post(url, json={"inputs": "boom"})
        assert (r.status_code, r.json()) == (500, {"error": "custom"})
    assert client.post(url, json={"inputs": "boom"}).status_code == 200

    hub.reset()
    hub.fail(503, times=math.inf)
    assert all(client.post(url, json={"inputs": "x"}).status_code == 503 for _ in range(3))
    hub.reset()
    assert client.post(url, json={"inputs": "x"}).status_code == 200 and hub.count() == 1


def test_input_magic_auth_and_missing_models(hub: FakeHub, client: httpx.Client) -> None:
    url = "/hf-inference/models/test/text-classification"
    r = client.post(url, json={"inputs": ["ok", "bad [[400]]"]})
    assert (r.status_code, r.json()) == (400, {"error": "bad input"})
    assert client.post(url, json={"inputs": "huge [[413]]"}).status_code == 413

    missing = client.post("/hf-inference/models/missing/model", json={"inputs": "a"})
    assert missing.status_code == 404
    assert missing.json() == {"error": "Model missing/model does not exist"}
    eleven = {"candidate_labels": [str(i) for i in range(11)]}
    mnli = "/hf-inference/models/facebook/bart-large-mnli"
    too_many = client.post(mnli, json={"inputs": "a", "parameters": eleven})
    assert too_many.status_code == 400 and "error" in too_many.json()

    hub.require_token = "secret"
    assert client.post(url, json={"inputs": "a"}).status_code == 401
    headers = {"Authorization": "Bearer secret", "X-Wait-For-Model": "true", "X-Use-Cache": "0"}
    ok = client.post(url, json={"inputs": "a"}, headers=headers)
    assert ok.status_code == 200
    last = hub.requests[-1]
    assert last.authorization == "Bearer secret" and last.headers["X-Wait-For-Model"] == "true"
    assert last.use_cache == "0" and last.json == {"inputs": "a"}


# ---- performance traps ----------------------------------------------------------------------


def test_keep_alive_requests_do_not_stall_on_nagle(hub: FakeHub, client: httpx.Client) -> None:
    # With Nagle on, each keep-alive request waits ~40 ms for a delayed ACK: 50 take > 2 s.
    assert client.get("/_fakehub/nodelay").json() == {"nodelay": True}
    url = "/hf-inference/models/test/text-classification"
    client.post(url, json={"inputs": "warm-up"})
    start = time.perf_counter()
    for i in range(50):
        assert client.post(url, json={"inputs": f"text {i}"}).status_code == 200
    assert time.perf_counter() - start < 1.0
    assert len({r.peer for r in hub.requests}) == 1  # one kept-alive connection


def test_latency_and_in_flight_counters(hub: FakeHub, client: httpx.Client) -> None:
    hub.latency = 0.05
    start = time.perf_counter()
    client.post("/embed", json={"inputs": "a"})
    assert time.perf_counter() - start >= 0.05
    assert hub.max_in_flight == 1 and hub.in_flight == 0


# ---- conformance with real recorded traffic -------------------------------------------------

# recording file -> the task its model performs (the fake hub must learn the recorded models)
RECORDED_TASKS = {
    "audio_classification": "audio-classification",
    "automatic_speech_recognition": "automatic-speech-recognition",
    "chat_completion_no_stream": None,
    "chat_completion_with_non_tgi": None,
    "chat_completion_with_response_format": None,
    "chat_completion_unprocessable_entity": None,
    "feature_extraction_with_sentence_transformers": None,  # task in the path
    "feature_extraction_with_transformers": None,
    "fill_mask": "fill-mask",
    "image_classification": "image-classification",
    "image_segmentation": "image-segmentation",
    "image_to_text": "image-to-text",
    "object_detection": "object-detection",
    "question_answering": "question-answering",
    "sentence_similarity": None,
    "summarization": "summarization",
    "table_question_answering": "table-question-answering",
    "text_classification": "text-classification",
    "token_classification": "token-classification",
    "translation": "translation",
    "translation_with_source_and_target_language": "translation",
    "zero_shot_classification_multi_label": "zero-shot-classification",
    "zero_shot_classification_single_label": "zero-shot-classification",
    "zero_shot_image_classification": "zero-shot-image-classification",
}


def _skeleton(value: Any) -> Any:
    """The shape of a JSON value: dict keys, list element shapes, scalar kinds."""
    if isinstance(value, dict):
        return {k: _skeleton(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        shapes = {json.dumps(_skeleton(v), sort_keys=True) for v in value}
        assert len(shapes) <= 1, f"mixed list {value!r:.200}"
        return [_skeleton(value[0])] if value else []
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return type(value).__name__
    return "number"


@pytest.mark.skipif(not RECORDED.is_dir(), reason="no recorded HF traffic on this machine")
@pytest.mark.parametrize("name", sorted(RECORDED_TASKS))
def test_answers_have_the_recorded_shapes(name: str, hub: FakeHub, client: httpx.Client) -> None:
    interaction = json.loads((RECORDED / f"{name}.json").read_text())["interactions"][0]
    request, response = interaction["request"], interaction["response"]
    path = httpx.URL(request["uri"]).path  # legacy /models/{model} and /pipeline/{task}/{model}
    if RECORDED_TASKS[name]:
        hub.model_tasks[path.removeprefix("/models/")] = RECORDED_TASKS[name]
    body = request["body"]
    content = body["text"].encode() if "text" in body else base64.b64decode(body["base64"])
    headers = {k: v[0] for k, v in request["headers"].items() if k.lower() == "content-type"}

    ours = client.post(path, content=content, headers=headers)

    assert ours.status_code == response["status"], ours.text
    recorded_text = response["body"]["text"]
    if response["status"] != 200:
        assert ours.text.split(":")[0] == recorded_text.split(":")[0]
        return
    assert _skeleton(ours.json()) == _skeleton(json.loads(recorded_text))
