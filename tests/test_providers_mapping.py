"""The Hub mapping (fetched once per model, across calls and processes), provider ids given as
they are, billing, credits, offline mode and the huggingface_hub conventions (api_key, tokens,
argument aliases)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import hf_frame
from hf_frame.config import resolve_settings
from hf_frame.errors import FatalRequestError

EMBEDDER = "BAAI/bge-base-en-v1.5"
TESTS = Path(__file__).resolve().parent


def live(provider_id: str, task: str) -> dict:
    return {"providerId": provider_id, "task": task, "status": "live"}


@pytest.fixture
def hf(hub):
    hf_frame.configure(base_url=hub.base_url, retry_backoff=0.001)
    hub.mappings = {EMBEDDER: {"together": live("bge-tg", "feature-extraction")}}
    return hub


def frame(*texts):
    return pd.DataFrame({"t": list(texts)})


def test_mapping_is_fetched_once_per_model_across_calls(hf):
    frame("a").hf.embed("t", model=EMBEDDER, provider="together")
    frame("b").hf.embed("t", model=EMBEDDER)
    frame("c").hf.search("a", "t", model=EMBEDDER)
    assert hf.providers.hub_count(EMBEDDER) == 1
    [lookup] = hf.hub_requests
    assert lookup.path == f"/api/models/{EMBEDDER}" and lookup.query == "expand[]=inferenceProviderMapping"
    assert lookup.authorization == "Bearer hf_test_token_123"
    assert all(r.path == "/together/v1/embeddings" for r in hf.requests)


def test_a_model_the_hub_does_not_know_is_looked_up_once_too(hf):
    hf.mappings = {}  # together accepts any id
    frame("a").hf.embed("t", model="org/unknown", provider="together")
    frame("b").hf.embed("t", model="org/unknown", provider="together")
    assert hf.providers.hub_count("org/unknown") == 1
    assert [r.json["model"] for r in hf.requests] == ["org/unknown"] * 2  # used as the provider's id


def test_provider_ids_that_are_not_hub_ids_skip_the_lookup(hf):
    frame("a").hf.embed("t", model="bge-multilingual-gemma2", provider="scaleway")
    assert hf.providers.hub_count() == 0
    assert hf.requests[0].path == "/scaleway/v1/embeddings"
    assert hf.requests[0].json["model"] == "bge-multilingual-gemma2"


SCRIPT = """
import pandas as pd, hf_frame
hf_frame.configure(base_url={base!r}, progress=False)
out = pd.DataFrame({{"t": [{text!r}]}}).hf.embed("t", model={model!r})
print(hf_frame.last_run()["provider"], out["t_embedding"].notna().sum())
"""


def test_mapping_is_kept_in_the_persistent_cache_across_processes(hf, tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS.parent), str(TESTS)]),
           "HF_FRAME_CACHE": str(tmp_path / "shared")}
    for text in ("first", "second"):  # different texts: the second process must send a request
        script = SCRIPT.format(base=hf.base_url, text=text, model=EMBEDDER)
        done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120,
                              check=False)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["together", "1"]
    assert hf.providers.hub_count(EMBEDDER) == 1 and hf.count() == 2


def test_mapping_expires(hf, monkeypatch):
    from hf_frame.backends.remote.providers import mapping

    frame("a").hf.embed("t", model=EMBEDDER)
    monkeypatch.setattr(mapping, "TTL", -1.0)
    mapping.forget()
    frame("b").hf.embed("t", model=EMBEDDER)
    assert hf.providers.hub_count(EMBEDDER) == 2


def test_an_unreachable_hub_falls_back_to_hf_inference_for_auto(hf, monkeypatch):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    frame("a").hf.embed("t", model="sentence-transformers/all-MiniLM-L6-v2")
    assert hf.requests[0].path.startswith("/hf-inference/models/sentence-transformers/all-MiniLM-L6-v2")


# ---------------------------------------------------------------------------------------------
# offline


def test_offline_fails_at_once_but_cached_answers_still_work(hub, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hf_frame.configure(retry_backoff=0.001)  # the real router: nothing may be sent to it
    with pytest.raises(FatalRequestError, match="HF_HUB_OFFLINE is set.*router.huggingface.co"):
        frame("a").hf.embed("t", model="org/other", provider="together")
    with pytest.raises(FatalRequestError, match="HF_HUB_OFFLINE"):
        frame("a").hf.classify("t")
    # the same call, answered earlier (online) against a loopback router, then replayed offline from the cache
    monkeypatch.delenv("HF_HUB_OFFLINE")
    hub.mappings = {EMBEDDER: {"together": live("bge-tg", "feature-extraction")}}
    frame("a").hf.embed("t", model=EMBEDDER, provider="together", base_url=hub.base_url)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from hf_frame import runtime as runner
    from hf_frame.backends.remote.providers import mapping

    mapping.forget()
    hub.reset()
    out = frame("a").hf.embed("t", model=EMBEDDER, provider="together", base_url=hub.base_url)
    assert out["t_embedding"].notna().all() and hub.count() == 0
    assert hub.providers.hub_count() == 0  # the stored mapping, not a new lookup
    assert hf_frame.last_run()["cached"] == 1
    # a remote Hub is never asked offline: a stored mapping (however old) is used, else none
    monkeypatch.setenv("HF_ENDPOINT", "https://huggingface.co")

    async def no_network(*args, **kwargs):
        raise AssertionError("the Hub was asked while HF_HUB_OFFLINE is set")

    monkeypatch.setattr(mapping, "_fetch", no_network)
    assert runner.run(mapping.lookup("org/never-seen", resolve_settings())) is None


# ---------------------------------------------------------------------------------------------
# billing and errors


def test_bill_to_sends_the_header(hf, monkeypatch):
    frame("a").hf.embed("t", model=EMBEDDER, bill_to="my-org")
    assert hf.requests[0].headers["x-hf-bill-to"] == "my-org"
    monkeypatch.setenv("HF_BILL_TO", "env-org")
    frame("b").hf.classify("t")
    assert hf.requests[1].headers["x-hf-bill-to"] == "env-org"
    monkeypatch.setenv("HF_FRAME_BILL_TO", "frame-org")
    assert resolve_settings().bill_to == "frame-org"


def test_402_stops_at_once_saying_credits_are_exhausted(hf):
    hf.fail(402, times=float("inf"), body={"error": "You have exceeded your monthly included credits"})
    with pytest.raises(FatalRequestError, match="credits are exhausted") as info:
        frame(*[f"t{i}" for i in range(20)]).hf.classify("t", max_concurrency=1)
    assert info.value.status == 402 and hf.count() <= 2  # at once (one more may already be on the wire)


def test_no_provider_enabled_400_is_fatal_with_its_text(hf):
    message = "The requested model 'org/m' is not supported by any provider you have enabled."
    hf.fail(400, times=float("inf"), body={"error": message})
    with pytest.raises(FatalRequestError, match="not supported by any provider you have enabled.*settings/inference"):
        frame("a", "b", "c").hf.chat("t", model="org/m", max_concurrency=1)
    assert hf.count() <= 2  # at once (one more may already be on the wire)


# ---------------------------------------------------------------------------------------------
# huggingface_hub conventions


def test_api_key_is_an_alias_of_token(hf):
    frame("a").hf.classify("t", api_key="hf_other_key")
    assert hf.requests[0].authorization == "Bearer hf_other_key"
    hf_frame.configure(api_key="hf_session_key")
    assert resolve_settings().token == "hf_session_key"
    with pytest.raises(ValueError, match="same setting"):
        resolve_settings(api_key="hf_a", token="hf_b")


def test_token_lookup_matches_huggingface_hub(monkeypatch, tmp_path):
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setenv("HUGGING_FACE_HUB_TOKEN", "hf_legacy_env")
    assert resolve_settings().token == "hf_legacy_env"
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN")
    monkeypatch.delenv("HF_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    (tmp_path / "xdg" / "huggingface").mkdir(parents=True)
    (tmp_path / "xdg" / "huggingface" / "token").write_text("hf_from_xdg\n")
    assert resolve_settings().token == "hf_from_xdg"
    monkeypatch.setenv("HF_TOKEN_PATH", str(tmp_path / "elsewhere"))
    (tmp_path / "elsewhere").write_text("  hf_from_token_path  ")
    assert resolve_settings().token == "hf_from_token_path"
    monkeypatch.setenv("HF_TOKEN", "")  # empty: ignored, as huggingface_hub does
    assert resolve_settings().token == "hf_from_token_path"


def test_candidate_labels_and_aggregation_strategy_aliases(hf):
    out = frame("I love it").hf.zero_shot("t", candidate_labels=["price", "quality"])
    assert hf.requests[0].json["parameters"]["candidate_labels"] == ["price", "quality"]
    assert {"t_score_price", "t_score_quality"} <= set(out.columns)
    frame("I met Alice in Paris").hf.ner("t", aggregation_strategy="first")
    assert hf.requests[1].json["parameters"]["aggregation_strategy"] == "first"
    with pytest.raises(TypeError, match="same argument"):
        frame("x").hf.zero_shot("t", labels=["a"], candidate_labels=["b"])


def test_zero_shot_image_candidate_labels(hf):
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(40))
    out = pd.DataFrame({"img": [png]}).hf.zero_shot_image("img", candidate_labels=["cat", "dog"])
    assert set(out["img_label"]) <= {"cat", "dog"}
    assert json.loads(hf.requests[0].body)["parameters"]["candidate_labels"] == ["cat", "dog"]


def test_scale_up_timeout_header_and_503_budget_for_endpoints(hf):
    hf.endpoint_task = "text-classification"
    hf.fail(503, times=3, body={"error": "Service Unavailable: scaling up"})
    out = frame("a").hf.classify("t", endpoint=hf.base_url + "/", max_retries=0, scale_up_timeout=30)
    assert out["t_error"].isna().all()  # three 503s waited for, although max_retries=0
    assert [r.headers.get("x-scale-up-timeout") for r in hf.requests] == ["30"] * 4
    assert all(r.wait_for_model is None for r in hf.requests)
    hf.reset()
    hf.fail(503, times=float("inf"))
    out = frame("b").hf.classify("t", endpoint=hf.base_url + "/", max_retries=0, scale_up_timeout=0.2,
                                 errors="ignore")
    assert "still scaling up after 0.2s" in out["t_error"].iloc[0]
    hf.reset()
    frame("c").hf.classify("t")  # the router: no scale-up header
    assert "x-scale-up-timeout" not in hf.requests[0].headers


def test_local_keeps_a_small_generate_default_and_hf_inference_chat_is_a_suffix(hf):
    from hf_frame import methods

    assert methods.generate("t", provider="local").calls[0].model == "openai-community/gpt2"
    assert methods.generate("t").calls[0].model == "zai-org/GLM-5.2"
    frame("hi").hf.chat("t", model="org/m", provider="hf-inference")
    assert hf.requests[0].path == "/v1/chat/completions" and hf.requests[0].json["model"] == "org/m:hf-inference"
