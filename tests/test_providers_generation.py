"""text_to_image, text_to_speech and image_to_image on every provider that serves them, against the
fake hub's provider routes: each provider's route and body, its answer (base64 in JSON, a file
URL to download, a queued or polled job, the file itself) turned into the same typed binary
columns hf-inference gives, seeds, dedup and cache, and who answered."""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd
import pytest
from fake_hub import answers
from fake_providers import decode_data_uri, live
from PIL import Image

import hf_frame
from hf_frame.errors import ConfigError
from hf_frame.tasks.generation import derived_seed

FLUX = "black-forest-labs/FLUX.1-schnell"
KONTEXT = "black-forest-labs/FLUX.1-Kontext-dev"
KOKORO = "hexgrad/Kokoro-82M"


@pytest.fixture
def hf(hub):
    hf_frame.configure(base_url=hub.base_url, retry_backoff=0.001)
    hub.mappings = {
        FLUX: {"together": live("black-forest-labs/FLUX.1-schnell-Free", "text-to-image"),
               "fal-ai": live("fal-ai/flux/schnell", "text-to-image"),
               "replicate": live("black-forest-labs/flux-schnell", "text-to-image"),
               "nscale": live("BlackForestLabs/FLUX.1-schnell", "text-to-image"),
               "wavespeed": live("wavespeed-ai/flux-schnell", "text-to-image"),
               "hf-inference": live(FLUX, "text-to-image")},
        KONTEXT: {"fal-ai": live("fal-ai/flux-kontext/dev", "image-to-image"),
                  "replicate": live("black-forest-labs/flux-kontext-dev", "image-to-image"),
                  "together": live("black-forest-labs/FLUX.1-kontext-dev", "image-to-image")},
        KOKORO: {"fal-ai": live("fal-ai/kokoro/american-english", "text-to-speech"),
                 "replicate": live("jaaari/kokoro-82m:f559560e", "text-to-speech"),
                 "deepinfra": live("hexgrad/Kokoro-82M", "text-to-speech")},
    }
    return hub


def provider_requests(hub, provider):
    return [r for r in hub.requests if r.path.startswith(f"/{provider}/")]


def downloads(hub):
    return [r for r in hub.requests if r.path.startswith("/_fakehub/files/")]


def png(seed: int = 0) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


PROMPTS = pd.DataFrame({"p": ["a red fox", "a blue whale", "a red fox", None]})


@pytest.mark.parametrize("provider,route", [
    ("together", "/together/v1/images/generations"),
    ("nscale", "/nscale/v1/images/generations"),
    ("fal-ai", "/fal-ai/fal-ai/flux/schnell"),
    ("replicate", "/replicate/v1/models/black-forest-labs/flux-schnell/predictions"),
    ("wavespeed", "/wavespeed/api/v3/wavespeed-ai/flux-schnell"),
])
def test_text_to_image_on_each_provider(hf, provider, route):
    out = PROMPTS.hf.text_to_image("p", model=FLUX, provider=provider, width=16, height=12, seed=9)
    posts = [r for r in provider_requests(hf, provider) if r.method == "POST"]
    assert len(posts) == 2 and {r.path for r in posts} == {route}  # the duplicate prompt is one request
    body = next(r.json for r in posts if "fox" in str(r.json))
    assert "inputs" not in body and "parameters" not in body  # the provider's own body, not hf-inference's
    if provider in ("together", "nscale"):
        assert body["model"] == hf.mappings[FLUX][provider]["providerId"] and body["prompt"] == "a red fox"
    if provider == "nscale":
        assert body["size"] == "16x12" and body["response_format"] == "b64_json"
    if provider == "fal-ai":
        assert body == {"prompt": "a red fox", "image_size": {"width": 16, "height": 12}, "seed": 9}
    if provider == "replicate":
        assert body == {"input": {"prompt": "a red fox", "width": 16, "height": 12, "seed": 9}}
    expected = answers.text_to_image("a red fox", {"width": 16, "height": 12, "seed": 9})
    assert out["p_image"][0] == out["p_image"][2] == expected
    assert Image.open(io.BytesIO(out["p_image"][1])).size == (16, 12)
    assert out["p_image_format"].tolist()[:3] == ["png"] * 3 and pd.isna(out["p_image"][3])
    assert hf_frame.last_run()["provider"] == provider
    for download in downloads(hf):  # files come from the provider's store without any token
        assert download.authorization is None
    hf.reset()
    PROMPTS.hf.text_to_image("p", model=FLUX, provider=provider, width=16, height=12, seed=9)
    assert hf.count() == 0  # cached


def test_the_default_seed_reaches_the_provider(hf):
    PROMPTS.hf.text_to_image("p", model=FLUX, provider="fal-ai")
    assert sorted(r.json["seed"] for r in provider_requests(hf, "fal-ai")) == sorted(
        [derived_seed("a red fox"), derived_seed("a blue whale")])


@pytest.mark.parametrize("provider,route", [
    ("fal-ai", "/fal-ai/fal-ai/kokoro/american-english"),
    ("replicate", "/replicate/v1/predictions"),
    ("deepinfra", "/deepinfra/v1/openai/audio/speech"),
])
def test_text_to_speech_on_each_provider(hf, provider, route):
    df = pd.DataFrame({"line": ["hello there", "good night", "hello there"]})
    out = df.hf.text_to_speech("line", model=KOKORO, provider=provider, seed=4, voice="af_nicole")
    posts = [r for r in provider_requests(hf, provider) if r.method == "POST"]
    assert len(posts) == 2 and {r.path for r in posts} == {route}
    body = next(r.json for r in posts if "hello" in str(r.json))
    if provider == "fal-ai":
        assert body == {"text": "hello there", "voice": "af_nicole", "seed": 4}
    if provider == "replicate":  # a versioned provider id: /v1/predictions with "version"
        assert body == {"input": {"text": "hello there", "voice": "af_nicole", "seed": 4}, "version": "f559560e"}
    if provider == "deepinfra":
        assert body == {"input": "hello there", "voice": "af_nicole", "seed": 4, "model": KOKORO}
    assert out["line_audio"][0] == out["line_audio"][2] == answers.speech("hello there", {"seed": 4})
    assert out["line_audio_format"].tolist() == ["wav"] * 3
    assert hf_frame.last_run()["provider"] == provider


@pytest.mark.parametrize("provider", ["fal-ai", "replicate", "together"])
def test_image_to_image_on_each_provider(hf, provider):
    df = pd.DataFrame({"photo": [png(1), png(1), png(2)]})
    out = df.hf.image_to_image("photo", prompt="add snow", model=KONTEXT, provider=provider, seed=2)
    posts = [r for r in provider_requests(hf, provider) if r.method == "POST"]
    assert len(posts) == 2
    body = posts[0].json
    if provider == "fal-ai":
        assert posts[0].path == "/fal-ai/fal-ai/flux-kontext/dev" and posts[0].query == "_subdomain=queue"
        image = body["image_url"]
        assert body["image_urls"] == [image] and body["prompt"] == "add snow"
    elif provider == "replicate":
        image = body["input"]["image"]
        assert body["input"]["input_image"] == image and body["input"]["prompt"] == "add snow"
    else:
        image = body["image_url"]  # FLUX.1 Kontext takes image_url, not reference_images
        assert body["model"] == "black-forest-labs/FLUX.1-kontext-dev" and "reference_images" not in body
    sent = decode_data_uri(image, "image")[1]
    assert sent in (png(1), png(2))
    for i, seed in ((0, 1), (2, 2)):
        assert out["photo_image"][i] == answers.image_to_image(png(seed), {"prompt": "add snow", "seed": 2})
    assert out["photo_image"][0] == out["photo_image"][1]


def test_a_failed_job_or_a_malformed_answer_is_a_row_error(hf):
    hf.fail(200, match="boom", body={"images": []})
    with pytest.warns(hf_frame.RowErrorWarning):
        out = pd.DataFrame({"p": ["boom", "fine"]}).hf.text_to_image("p", model=FLUX, provider="fal-ai",
                                                                     max_retries=0)
    assert "fal-ai: expected an image {'images': [{'url'}]}" in out["p_error"][0]
    assert pd.isna(out["p_error"][1])


def test_providers_that_do_not_serve_a_task_say_so():
    with pytest.raises(ConfigError, match="provider 'wavespeed' does not serve text_to_speech"):
        hf_frame.METHODS["text_to_speech"]("t", provider="wavespeed")
    with pytest.raises(ConfigError, match="does not serve audio_to_audio"):
        hf_frame.METHODS["audio_to_audio"]("a", provider="fal-ai")


def test_a_together_model_without_kontext_sends_reference_images(hf):
    hf.mappings = {"org/editor": {"together": live("google/gemini-flash-image", "image-to-image")}}
    pd.DataFrame({"photo": [png(3)]}).hf.image_to_image("photo", prompt="crop", model="org/editor",
                                                        provider="together")
    body = provider_requests(hf, "together")[0].json
    assert "image_url" not in body and base64.b64decode(body["reference_images"][0].split(",", 1)[1]) == png(3)
