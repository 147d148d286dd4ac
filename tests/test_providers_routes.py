"""Every provider hf_frame speaks, against the fake hub's provider routes: the route and body each
provider's reference client sends, the answer parsed into the same typed columns hf-inference
gives, dedup and cache, and which provider answered (``last_run()["provider"]``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fake_hub import answers
from fake_providers import parse_multipart

import hf_frame
from hf_frame.errors import ConfigError

EMBEDDER = "BAAI/bge-base-en-v1.5"
LLM = "meta-llama/Llama-3.1-8B-Instruct"
WHISPER = "openai/whisper-large-v3"
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(64))


def live(provider_id: str, task: str, status: str = "live") -> dict:
    return {"providerId": provider_id, "task": task, "status": status}


@pytest.fixture
def hf(hub):
    """The library pointed at the fake hub (router and Hub API), fast retries."""
    hf_frame.configure(base_url=hub.base_url, retry_backoff=0.001)
    hub.mappings = {
        EMBEDDER: {"together": live("BAAI/bge-base-en-v1.5-tg", "feature-extraction"),
                   "deepinfra": live("BAAI/bge-base-en-v1.5", "feature-extraction"),
                   "scaleway": live("bge-base-en-v1.5", "feature-extraction"),
                   "hf-inference": live(EMBEDDER, "feature-extraction")},
        LLM: {"groq": live("llama-3.1-8b-instant", "conversational"),
              "together": live("meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo", "conversational"),
              "scaleway": live("llama-3.1-8b-instruct", "conversational")},
        "zai-org/GLM-5.2": {"featherless-ai": live("zai-org/GLM-5.2", "text-generation"),
                            "together": live("zai-org/GLM-5.2-FP8", "conversational"),
                            "deepinfra": live("zai-org/GLM-5.2", "conversational")},
        WHISPER: {"together": live("openai/whisper-large-v3", "automatic-speech-recognition"),
                  "deepinfra": live("openai/whisper-large-v3", "automatic-speech-recognition"),
                  "hf-inference": live(WHISPER, "automatic-speech-recognition")},
    }
    return hub


def texts():
    return pd.DataFrame({"t": ["alpha", "beta", "alpha", None, "gamma"]})


def hf_inference_embeddings(hub):
    """The typed column hf-inference gives for :func:`texts` (the reference every provider must match)."""
    out = texts().hf.embed("t", model=EMBEDDER, provider="hf-inference")
    hub.reset()
    return out


# ---------------------------------------------------------------------------------------------
# embeddings: together, deepinfra, scaleway


@pytest.mark.parametrize("provider,route,provider_id", [
    ("together", "/together/v1/embeddings", "BAAI/bge-base-en-v1.5-tg"),
    ("deepinfra", "/deepinfra/v1/openai/embeddings", "BAAI/bge-base-en-v1.5"),
    ("scaleway", "/scaleway/v1/embeddings", "bge-base-en-v1.5"),
])
def test_embed_on_openai_style_providers(hf, provider, route, provider_id):
    reference = hf_inference_embeddings(hf)
    out = texts().hf.embed("t", model=EMBEDDER, provider=provider)
    [request] = hf.requests  # three unique texts, one batch
    assert request.path == route
    assert request.json == {"input": ["alpha", "beta", "gamma"], "model": provider_id}
    assert request.authorization == "Bearer hf_test_token_123"
    assert str(out["t_embedding"].dtype) == str(reference["t_embedding"].dtype)
    got, want = out["t_embedding"], reference["t_embedding"]
    assert got.isna().tolist() == want.isna().tolist() == [False, False, False, True, False]
    for g, w in zip(got.dropna(), want.dropna()):
        assert np.allclose(np.asarray(g), np.asarray(w), atol=1e-6)
    assert hf_frame.last_run()["provider"] == provider
    texts().hf.embed("t", model=EMBEDDER, provider=provider)  # all cached now
    assert hf.count() == 1 and hf_frame.last_run()["cached"] == 3
    assert hf.providers.hub_count(EMBEDDER) == 1  # the mapping was looked up once


def test_embed_auto_takes_the_first_provider_of_the_mapping(hf):
    out = texts().hf.embed("t", model=EMBEDDER)  # provider="auto" is the default
    assert [r.path for r in hf.requests] == ["/together/v1/embeddings"]
    assert out["t_embedding"].notna().sum() == 4
    assert hf_frame.last_run()["provider"] == "together"
    # the user's order changed on the Hub (another model, same texts): auto follows it
    hf.mappings["other/embedder"] = {"scaleway": live("other-emb", "feature-extraction"),
                                     "together": live("other/embedder", "feature-extraction")}
    hf.reset()
    texts().hf.embed("t", model="other/embedder")
    assert [r.path for r in hf.requests] == ["/scaleway/v1/embeddings"]
    assert hf.requests[0].json["model"] == "other-emb"


def test_auto_skips_providers_that_do_not_serve_the_task(hf):
    hf.mappings[EMBEDDER] = {"fal-ai": live("fal-ai/thing", "text-to-image"),
                             "groq": live("x", "conversational"),
                             "deepinfra": live("BAAI/bge-base-en-v1.5", "feature-extraction")}
    texts().hf.embed("t", model=EMBEDDER)
    assert [r.path for r in hf.requests] == ["/deepinfra/v1/openai/embeddings"]


def test_auto_on_a_model_the_hub_does_not_know_uses_hf_inference(hf):
    texts().hf.embed("t", model="sentence-transformers/all-MiniLM-L6-v2")
    assert hf.requests[0].path == "/hf-inference/models/sentence-transformers/all-MiniLM-L6-v2/pipeline/feature-extraction"
    assert hf_frame.last_run()["provider"] == "hf-inference"


def test_normalize_is_applied_locally_on_providers(hf):
    out = pd.DataFrame({"t": ["alpha"]}).hf.embed("t", model=EMBEDDER, provider="together", dimensions=8)
    assert hf.requests[0].json == {"input": ["alpha"], "model": "BAAI/bge-base-en-v1.5-tg", "dimensions": 8}
    vector = np.asarray(out["t_embedding"].iloc[0], dtype=np.float64)
    assert len(vector) == 8 and abs(np.linalg.norm(vector) - 1) < 1e-5


# ---------------------------------------------------------------------------------------------
# text generation: OpenAI completions


@pytest.mark.parametrize("provider,route,provider_id", [
    ("together", "/together/v1/completions", "zai-org/GLM-5.2-FP8"),
    ("featherless-ai", "/featherless-ai/v1/completions", "zai-org/GLM-5.2"),
    ("deepinfra", "/deepinfra/v1/openai/completions", "zai-org/GLM-5.2"),
])
def test_generate_on_completions_routes(hf, provider, route, provider_id):
    df = pd.DataFrame({"p": ["Paris is", "Once upon a time", "Paris is"]})
    out = df.hf.generate("p", provider=provider, max_new_tokens=10, temperature=0)  # the default model
    assert [r.path for r in hf.requests] == [route, route]
    assert hf.requests[0].json == {"model": provider_id, "prompt": "Paris is", "max_tokens": 10, "temperature": 0}
    assert out["p_generated"].tolist() == [answers.generate(p, False)["generated_text"] for p in df["p"]]
    assert str(out["p_generated"].dtype) == "string[pyarrow]"


def test_generate_auto_uses_the_mapping_and_return_full_text_keeps_the_prompt(hf):
    df = pd.DataFrame({"p": ["Paris is"]})
    out = df.hf.generate("p", return_full_text=True)
    [request] = hf.requests
    assert request.path == "/featherless-ai/v1/completions" and "return_full_text" not in request.json
    assert out["p_generated"].iloc[0] == answers.generate("Paris is", True)["generated_text"]


def test_generate_on_hf_inference_vllm_models_uses_v1_completions(hf):
    hf.mappings["HuggingFaceTB/SmolLM3-3B"] = {"hf-inference": live("HuggingFaceTB/SmolLM3-3B", "conversational")}
    out = pd.DataFrame({"p": ["Hi"]}).hf.generate("p", model="HuggingFaceTB/SmolLM3-3B", max_new_tokens=4)
    [request] = hf.requests
    assert request.path == "/hf-inference/models/HuggingFaceTB/SmolLM3-3B/v1/completions"
    assert request.json == {"model": "HuggingFaceTB/SmolLM3-3B", "prompt": "Hi", "max_tokens": 4}
    assert out["p_generated"].iloc[0] == answers.generate("Hi", False)["generated_text"]
    # a pipeline model (mapped as text-generation) keeps the hf-inference body
    hf.reset()
    hf.mappings["openai-community/gpt2"] = {"hf-inference": live("openai-community/gpt2", "text-generation")}
    pd.DataFrame({"p": ["Hi"]}).hf.generate("p", model="openai-community/gpt2", provider="hf-inference")
    assert hf.requests[0].path == "/hf-inference/models/openai-community/gpt2"
    assert hf.requests[0].json == {"inputs": "Hi", "parameters": {"return_full_text": False}}


# ---------------------------------------------------------------------------------------------
# chat


def test_chat_with_a_policy_suffix_goes_to_the_router_as_given(hf):
    out = pd.DataFrame({"t": ["hi", "hi"]}).hf.chat("t", model=f"{LLM}:cheapest")
    [request] = hf.requests
    assert request.path == "/v1/chat/completions" and request.json["model"] == f"{LLM}:cheapest"
    assert out["t_reply"].tolist() == ["Echo: hi"] * 2
    assert hf_frame.last_run()["provider"] == "groq"  # from the router's x-inference-provider header
    assert hf.providers.hub_count() == 0  # the router routes chat itself: no mapping lookup


def test_chat_with_a_named_provider_is_routed_by_suffix(hf):
    pd.DataFrame({"t": ["hi"]}).hf.chat("t", model=LLM, provider="groq")
    assert hf.requests[0].path == "/v1/chat/completions" and hf.requests[0].json["model"] == f"{LLM}:groq"
    assert hf_frame.last_run()["provider"] == "groq"


def test_chat_with_a_providers_own_key_goes_to_its_route(hf, monkeypatch):
    from hf_frame.backends.remote import providers

    # the provider's own base URL (here: the fake hub's groq routes) and its own key
    monkeypatch.setitem(providers.BASE_URLS, "groq", f"{hf.base_url}/groq")
    hf_frame.configure(base_url="https://router.huggingface.co", retry_backoff=0.001)
    out = pd.DataFrame({"t": ["hi"]}).hf.chat("t", model=LLM, provider="groq", token="gsk_own_key")
    [request] = hf.requests
    assert request.path == "/groq/openai/v1/chat/completions"
    assert request.json["model"] == "llama-3.1-8b-instant" and request.authorization == "Bearer gsk_own_key"
    assert out["t_reply"].iloc[0] == "Echo: hi"
    with pytest.raises(ConfigError, match="HF token"):
        pd.DataFrame({"t": ["hi"]}).hf.chat("t", model=LLM, token="gsk_own_key")  # auto needs the router


# ---------------------------------------------------------------------------------------------
# speech recognition: multipart (together, deepinfra)


@pytest.mark.parametrize("provider,route", [
    ("together", "/together/v1/audio/transcriptions"),
    ("deepinfra", "/deepinfra/v1/openai/audio/transcriptions"),
])
def test_transcribe_multipart_providers(hf, tmp_path, provider, route):
    path = tmp_path / "a.wav"
    path.write_bytes(WAV)
    out = pd.DataFrame({"a": [str(path), WAV]}).hf.transcribe("a", provider=provider, return_timestamps=True)
    [request] = hf.requests  # one file, twice: one request
    assert request.path == route and request.headers["content-type"].startswith("multipart/form-data")
    parts = parse_multipart(request.body, request.headers["content-type"])
    assert parts["file"] == WAV and parts["model"] == WHISPER and parts["response_format"] == "verbose_json"
    reference = answers.transcribe(WAV, True)
    assert out["a_text"].tolist() == [reference["text"]] * 2
    assert out["a_chunks"].iloc[0][0] == {"text": "audio", "start": 0.0, "end": 0.5}


# ---------------------------------------------------------------------------------------------
# registry errors


def test_unsupported_provider_task_is_a_config_error_naming_what_it_serves():
    with pytest.raises(ConfigError, match=r"'groq' does not serve classify \(text-classification\); it serves chat"):
        pd.DataFrame({"t": ["x"]}).hf.classify("t", provider="groq")
    with pytest.raises(ConfigError, match="fal-ai.*automatic-speech-recognition.*image-segmentation"):
        pd.DataFrame({"t": ["x"]}).hf.embed("t", provider="fal-ai")


@pytest.mark.parametrize("removed", ["nebius", "sambanova", "hyperbolic", "black-forest-labs"])
def test_removed_providers_are_named_as_not_supported(removed):
    with pytest.raises(ConfigError, match=f"{removed}.*not supported.*2026-07-01"):
        pd.DataFrame({"t": ["x"]}).hf.chat("t", provider=removed)


def test_task_mismatch_names_the_task_the_provider_serves(hf):
    with pytest.raises(ConfigError, match="serves model .*Llama.* for conversational, not for feature-extraction"):
        texts().hf.embed("t", model=LLM, provider="together")
    with pytest.raises(ConfigError, match="not served by provider 'deepinfra'"):
        pd.DataFrame({"t": ["x"]}).hf.chat("t", model=LLM, provider="deepinfra", token="di_key",
                                           base_url="https://router.huggingface.co")
    assert hf.count() == 0


def test_staging_entries_warn(hf):
    hf.mappings["org/staged"] = {"together": live("org/staged-tg", "feature-extraction", status="staging")}
    with pytest.warns(UserWarning, match="staging"):
        texts().hf.embed("t", model="org/staged", provider="together")
    assert hf.requests[0].json["model"] == "org/staged-tg"
