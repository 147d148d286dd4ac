"""The token never leaves the request it authorises, and requests go only where they should.

Against the loopback hub: model ids are path segments and cannot climb out of ``/models/``; the
token is in no row error, warning, pickled or serialized lazy plan, or traceback local.
"""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import TEST_TOKEN

import hf_frame
from hf_frame.errors import ConfigError


@pytest.fixture
def hf(hub):
    hf_frame.configure(base_url=hub.base_url, retry_backoff=0.001)
    return hub


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
