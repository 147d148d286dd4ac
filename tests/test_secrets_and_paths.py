"""The token never leaves the request it authorises, and requests go only where they should.

Against the loopback hub: model ids are path segments and cannot climb out of ``/models/``; the
token is in no row error, warning, pickled or serialized lazy plan, or traceback local.
"""

from __future__ import annotations

import io
import os
import pickle
import subprocess
import sys
from pathlib import Path

import httpx
import pandas as pd
import pytest
from conftest import TEST_TOKEN, quiet

import hf_frame
from hf_frame.errors import ConfigError, FatalRequestError

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------------------------
# model ids are path segments


@pytest.mark.parametrize("model", ["org/../../x", "../x", "org/..", "a?b=1", "org/name#frag", "org/name/extra",
                                   "org//name", "org/./name", "/org/name", "org name", "modèle/x", "%2e%2e/x"])
@pytest.mark.parametrize("method", ["classify", "embed"])
def test_a_model_id_that_is_not_a_hub_id_is_refused_before_any_request(hf, model, method):
    with pytest.raises(ConfigError, match="is not a Hugging Face model id") as info:
        getattr(pd.DataFrame({"t": ["x"]}).hf, method)("t", model=model)
    assert repr(model) in str(info.value)
    assert hf.count() == 0


@pytest.mark.parametrize("model", ["gpt2", "test/text-classification", "org_1/model.v2-final"])
def test_hub_model_ids_are_sent_to_their_path(hf, model):
    hf.model_tasks[model] = "text-classification"
    pd.DataFrame({"t": ["x"]}).hf.classify("t", model=model)
    assert [r.path for r in hf.requests] == [f"/hf-inference/models/{model}"]


def test_an_endpoint_takes_any_served_model_name(hf):
    out = pd.DataFrame({"t": ["x"]}).hf.chat("t", endpoint=hf.base_url, model="/models/llama.gguf")
    assert out["t_error"].isna().all() and hf.requests[0].json["model"] == "/models/llama.gguf"


def test_the_token_never_reaches_another_path(hf):
    hf.require_token = TEST_TOKEN
    with pytest.raises(ConfigError):
        pd.DataFrame({"t": ["x"]}).hf.classify("t", model="org/../../../steal")
    assert not any(r.authorization for r in hf.requests)


# ---------------------------------------------------------------------------------------------
# the token in answers, plans and tracebacks


def test_a_200_answer_echoing_the_token_is_scrubbed_from_row_errors_and_warnings(hf):
    hf.fail(200, body={"echo": {"authorization": f"Bearer {TEST_TOKEN}"}}, times=1)
    with pytest.warns(hf_frame.RowErrorWarning) as caught:
        out = pd.DataFrame({"t": ["x"]}).hf.classify("t")
    error = out["t_error"].iloc[0]
    assert "unexpected answer" in error and "***" in error and TEST_TOKEN not in error
    assert all(TEST_TOKEN not in str(w.message) for w in caught)


def test_an_error_body_echoing_the_token_is_scrubbed(hf):
    hf.fail(422, body={"error": f"bad header Bearer {TEST_TOKEN}"}, times=1)
    out = quiet(pd.DataFrame({"t": ["x"]}).hf.classify, "t")
    assert "HTTP 422" in out["t_error"].iloc[0] and TEST_TOKEN not in out["t_error"].iloc[0]


def test_an_answer_echoing_the_token_never_reaches_the_cache(hf):
    hf.fail(200, body=[{"generated_text": f"you sent {TEST_TOKEN}"}], times=1)
    out = pd.DataFrame({"t": ["x"]}).hf.generate("t")
    assert out["t_generated"].iloc[0] == "you sent ***"
    path = hf_frame.cache_info()["path"]
    raw = b"".join(Path(p).read_bytes() for p in (path, path + "-wal") if os.path.exists(p))
    assert TEST_TOKEN.encode() not in raw


def our_frames_locals(tb) -> list[str]:
    """The repr of every local of every hf_frame frame in a traceback (what rich or pytest show)."""
    shown = []
    while tb is not None:
        frame = tb.tb_frame
        if f"{os.sep}hf_frame{os.sep}" in frame.f_code.co_filename:
            shown += [f"{frame.f_code.co_name}.{name}={value!r}" for name, value in frame.f_locals.items()]
        tb = tb.tb_next
    return shown


@pytest.mark.parametrize("wire", ["aiohttp", "httpx"])
def test_no_traceback_local_shows_the_token(hf, wire):
    hf.require_token = "hf_another_token"  # ours is refused: 401, a FatalRequestError out of http.send
    settings = {"transport": httpx.AsyncHTTPTransport()} if wire == "httpx" else {}
    with pytest.raises(FatalRequestError) as info:
        pd.DataFrame({"t": ["x"]}).hf.classify("t", **settings)
    shown = our_frames_locals(info.value.__traceback__)
    assert any(s.startswith(("send.headers=", "exchange.headers=")) for s in shown)  # the frame that holds the header is there
    leaked = [s for s in shown if TEST_TOKEN in s]
    assert not leaked


def test_a_lazy_plan_pickles_and_serializes_without_the_token(hf):
    pl = pytest.importorskip("polars")
    hf_frame.configure(token="hf_configured_secret")
    lf = pl.LazyFrame({"t": ["a", "b"]}).hf.classify("t")
    per_call = pl.LazyFrame({"t": ["c"]}).hf.classify("t", token="hf_per_call_secret")
    for plan in (lf, per_call):
        for data in (pickle.dumps(plan), plan.serialize()):
            assert b"hf_configured_secret" not in data and b"hf_per_call_secret" not in data
            assert TEST_TOKEN.encode() not in data
    # in this process: the explicit per-call token still authorises its plan
    hf.require_token = "hf_per_call_secret"
    assert per_call.collect()["t_error"].is_null().all()
    # a loaded plan resolves the token where it runs: here, the one configure() set
    hf.require_token = "hf_configured_secret"
    loaded = pl.LazyFrame.deserialize(io.BytesIO(lf.serialize()))
    assert loaded.collect()["t_error"].is_null().all()
    assert pickle.loads(pickle.dumps(lf)).collect()["t_error"].is_null().all()


def test_a_pickled_plan_runs_with_the_token_of_the_process_that_loads_it(hf, tmp_path):
    pl = pytest.importorskip("polars")
    plan = pl.LazyFrame({"t": ["from another process"]}).hf.classify("t", base_url=hf.base_url)
    (tmp_path / "plan.pkl").write_bytes(pickle.dumps(plan))
    hf.require_token = "hf_the_other_process"
    script = ("import pickle, sys, hf_frame; lf = pickle.load(open(sys.argv[1], 'rb')); "
              "print(lf.collect()['t_error'].to_list())")
    env = {**os.environ, "HF_TOKEN": "hf_the_other_process", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "plan.pkl")], env=env, check=False,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[None]"
    assert [r.authorization for r in hf.requests] == ["Bearer hf_the_other_process"]


@pytest.mark.parametrize("model", ["fal-ai/../../admin", "fal-ai/x?y=1", "fal-ai/x#frag", "a b"])
def test_provider_model_ids_cannot_leave_their_path(model):
    from hf_frame.backends.remote.providers.base import Helper, Target

    helper = Helper.__new__(Helper)
    helper.route = ""
    target = Target("fal-ai", model, helper, "http://127.0.0.1:9", route="x")
    with pytest.raises(hf_frame.ConfigError, match="not a valid provider model id"):
        helper.url(target)
