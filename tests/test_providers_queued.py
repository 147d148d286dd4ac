"""fal-ai and replicate: JSON bodies with the file as a data URI, and results that are polled
(fal-ai's queue, replicate's predictions) through the same HTTP layer, bounded by ``timeout``."""

from __future__ import annotations

import base64
import re

import pandas as pd
import pytest
from fake_hub import answers
from fake_providers import decode_data_uri

import hf_frame

WHISPER = "openai/whisper-large-v3"
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(64))
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(40))
REPLICATE_ID = "openai/whisper:8099696689d249cf8b122d833c36ac3f75505c666a395ca40ef26f68e7d3d16e"


def live(provider_id: str, task: str) -> dict:
    return {"providerId": provider_id, "task": task, "status": "live"}


@pytest.fixture
def hf(hub):
    hf_frame.configure(base_url=hub.base_url, retry_backoff=0.001)
    hub.mappings = {
        WHISPER: {"fal-ai": live("fal-ai/whisper", "automatic-speech-recognition"),
                  "replicate": live(REPLICATE_ID, "automatic-speech-recognition"),
                  "hf-inference": live(WHISPER, "automatic-speech-recognition")},
        "briaai/RMBG-2.0": {"fal-ai": live("fal-ai/bria/background/remove", "image-segmentation")},
        "org/replicate-only": {"replicate": live("org/asr-model", "automatic-speech-recognition")},
    }
    return hub


@pytest.fixture
def audio(tmp_path):
    path = tmp_path / "a.wav"
    path.write_bytes(WAV)
    return pd.DataFrame({"a": [str(path), None, WAV, str(path)]})


def hf_inference_transcripts(hub, frame):
    out = frame.hf.transcribe("a", provider="hf-inference")
    hub.reset()
    return out


# ---------------------------------------------------------------------------------------------
# fal-ai


def test_fal_transcribe_posts_a_data_uri_to_the_provider_id(hf, audio):
    reference = hf_inference_transcripts(hf, audio)
    out = audio.hf.transcribe("a", provider="fal-ai")  # the default model
    [request] = hf.requests
    assert request.path == "/fal-ai/fal-ai/whisper" and request.headers["content-type"] == "application/json"
    ctype, data = decode_data_uri(request.json["audio_url"], "audio_url")
    assert (ctype, data) == ("audio/x-wav", WAV)  # the label fal accepts for wav
    assert set(request.json) == {"audio_url"}
    assert out["a_text"].tolist() == reference["a_text"].tolist()
    assert out["a_text"].iloc[0] == answers.transcribe(WAV)["text"]
    assert str(out["a_text"].dtype) == str(reference["a_text"].dtype)
    assert hf_frame.last_run()["provider"] == "fal-ai"
    audio.hf.transcribe("a", provider="fal-ai")
    assert hf.count() == 1  # cached


def test_fal_transcribe_with_auto(hf, audio):
    audio.hf.transcribe("a")
    assert [r.path for r in hf.requests] == ["/fal-ai/fal-ai/whisper"]


def test_fal_segmentation_is_queued_and_polled(hf):
    hf.providers.queue_polls = 2
    out = pd.DataFrame({"img": [PNG, PNG]}).hf.segment("img", model="briaai/RMBG-2.0", provider="fal-ai")
    methods = [(r.method, r.path, r.query) for r in hf.requests]
    assert methods[0] == ("POST", "/fal-ai/fal-ai/bria/background/remove", "_subdomain=queue")
    rid = re.search(r"req-\d+", hf.requests[1].path).group()
    status = f"/fal-ai/fal-ai/bria/background/remove/requests/{rid}/status"
    assert methods[1:] == [("GET", status, "_subdomain=queue")] * 2 + [
        ("GET", status.removesuffix("/status"), "_subdomain=queue")]
    body = hf.requests[0].json
    assert body["sync_mode"] is True and decode_data_uri(body["image_url"], "image_url") == ("image/png", PNG)
    [segment] = out["img_segments"].iloc[0]
    assert segment["label"] == "mask" and segment["score"] is None
    assert segment["mask"] == base64.b64decode(answers.segment(PNG)[0]["mask"])
    assert out["img_segments"].iloc[1] == out["img_segments"].iloc[0]  # deduplicated
    assert hf_frame.last_run()["requests"] == len(hf.requests)  # every HTTP attempt: the submit and its polls


def test_fal_queue_gives_up_after_the_timeout(hf):
    hf.providers.queue_polls = 10_000
    out = pd.DataFrame({"img": [PNG]}).hf.segment("img", model="briaai/RMBG-2.0", provider="fal-ai", timeout=0.6,
                                                  errors="ignore")
    assert "not ready after 0.6s" in out["img_error"].iloc[0]
    assert out["img_segments"].isna().all()


def test_fal_with_its_own_key_uses_the_key_scheme(hf, audio, monkeypatch):
    from hf_frame.backends.remote.providers import fal_ai

    monkeypatch.setattr(fal_ai, "BASE_URL", f"{hf.base_url}/fal-ai")
    hf_frame.configure(base_url="https://router.huggingface.co", retry_backoff=0.001)
    audio.hf.transcribe("a", provider="fal-ai", api_key="fal_own_key")
    [request] = hf.requests
    assert request.path == "/fal-ai/fal-ai/whisper" and request.authorization == "Key fal_own_key"


# ---------------------------------------------------------------------------------------------
# replicate


def test_replicate_prediction_with_a_version_is_polled(hf, audio):
    reference = hf_inference_transcripts(hf, audio)
    out = audio.hf.transcribe("a", provider="replicate")
    post, poll = hf.requests
    assert (post.method, post.path) == ("POST", "/replicate/v1/predictions")
    assert post.headers["prefer"] == "wait"
    assert post.json["version"] == REPLICATE_ID.split(":")[1]
    assert decode_data_uri(post.json["input"]["audio"], "audio") == ("audio/wav", WAV)
    assert poll.method == "GET" and re.fullmatch(r"/replicate/v1/predictions/p\d+", poll.path)
    assert "prefer" not in poll.headers
    assert out["a_text"].tolist() == reference["a_text"].tolist()
    assert hf_frame.last_run()["provider"] == "replicate"


def test_replicate_model_route_answering_at_once(hf, audio):
    hf.providers.prediction_polls = 0
    out = audio.hf.transcribe("a", model="org/replicate-only")  # auto: the only provider
    [post] = hf.requests
    assert post.path == "/replicate/v1/models/org/asr-model/predictions" and "version" not in post.json
    assert out["a_text"].iloc[0] == answers.transcribe(WAV)["text"]


def test_replicate_failed_prediction_is_a_row_error(hf, audio, monkeypatch):
    from fake_providers import FakeProviders

    original = FakeProviders._prediction

    def failing(self, pid, done):
        answer = original(self, pid, done)
        return {**answer, "status": "failed", "error": "CUDA out of memory", "output": None} if done else answer

    monkeypatch.setattr(FakeProviders, "_prediction", failing)
    out = audio.hf.transcribe("a", provider="replicate", errors="ignore")
    assert "prediction failed: CUDA out of memory" in out["a_error"].iloc[0]
