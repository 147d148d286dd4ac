"""The loopback hub's answers for the generation, image-question and tabular tasks, over raw
HTTP: the wire contract the library tests rely on (files for file tasks, seeds, shapes)."""

from __future__ import annotations

import base64
import io
import wave

import httpx
import pytest
from fake_hub import answers
from PIL import Image


@pytest.fixture
def post(hub):
    def send(model: str, **kwargs) -> httpx.Response:
        return httpx.post(hub.model_url(model), timeout=10, **kwargs)

    return send


def test_text_to_image_is_a_png_seeded_or_random(post):
    r = post("black-forest-labs/FLUX.1-schnell", json={"inputs": "a cat", "parameters": {"width": 20, "seed": 1}})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(r.content)).size == (20, 8)
    again = post("black-forest-labs/FLUX.1-schnell", json={"inputs": "a cat", "parameters": {"width": 20, "seed": 1}})
    assert again.content == r.content == answers.text_to_image("a cat", {"width": 20, "seed": 1})
    unseeded = [post("black-forest-labs/FLUX.1-schnell", json={"inputs": "a cat"}).content for _ in range(2)]
    assert unseeded[0] != unseeded[1]
    assert post("black-forest-labs/FLUX.1-schnell", json={"inputs": ["a", "b"]}).status_code == 400


def test_image_to_image_takes_raw_bytes_or_base64_with_parameters(post):
    image = answers.text_to_image("x", {"seed": 1})
    raw = post("black-forest-labs/FLUX.1-Kontext-dev", content=image, headers={"Content-Type": "image/png"})
    assert raw.headers["content-type"] == "image/png" and raw.content[:4] == b"\x89PNG"
    body = {"inputs": base64.b64encode(image).decode(), "parameters": {"prompt": "snow", "seed": 2}}
    assert post("black-forest-labs/FLUX.1-Kontext-dev", json=body).content == answers.image_to_image(
        image, {"prompt": "snow", "seed": 2})


def test_text_to_speech_and_audio_to_audio(post):
    r = post("hexgrad/Kokoro-82M", json={"inputs": "one two", "parameters": {"seed": 4}})
    assert r.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(r.content)) as w:
        assert (w.getframerate(), w.getnframes()) == (8000, 1600)
    separated = post("speechbrain/sepformer-wham", content=r.content, headers={"Content-Type": "audio/wav"}).json()
    assert [s["label"] for s in separated] == ["label_0", "label_1"]
    assert base64.b64decode(separated[0]["blob"])[:4] == b"RIFF"


@pytest.mark.parametrize("model,top_k,n", [("dandelin/vilt-b32-finetuned-vqa", None, 5),
                                           ("dandelin/vilt-b32-finetuned-vqa", 2, 2),
                                           ("naver-clova-ix/donut-base-finetuned-docvqa", None, 1)])
def test_image_questions(post, model, top_k, n):
    image = base64.b64encode(answers.text_to_image("doc", {"seed": 1})).decode()
    body = {"inputs": {"image": image, "question": "What total?"}}
    if top_k:
        body["parameters"] = {"top_k": top_k}
    got = post(model, json=body).json()
    assert len(got) == n and all(set(a) >= {"answer", "score"} for a in got)
    legacy = post(model, json={"image": image, "question": "What total?", "parameters": body.get("parameters")})
    assert legacy.json() == got
    assert post(model, json={"inputs": {"image": "%%%", "question": "q"}}).status_code == 400


def test_tabular(post):
    table = {"a": [1, 2, 1], "b": ["x", "y", "x"]}
    classes = post("julien-c/wine-quality", json={"inputs": {"data": table}}).json()
    assert len(classes) == 3 and classes[0] == classes[2] and set(classes) <= {"5", "6", "7"}
    assert post("julien-c/wine-quality", json={"table": table}).json() == classes  # huggingface_hub's form
    assert post("scikit-learn/Fish-Weight", json={"inputs": {"data": {"a": [1, 2]}}}).json() == [1.5, 2.5]
    assert post("scikit-learn/Fish-Weight", json={"inputs": {"data": {"a": [1], "b": [1, 2]}}}).status_code == 400
