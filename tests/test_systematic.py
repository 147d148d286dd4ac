"""One systematic-error rule for single and batched tasks, over real HTTP to the loopback hub.

A call whose requests all fail the same way stops within a handful of requests; a call where
valid rows succeed never stops, however its bad rows are placed.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import quiet
from fake_hub import answers

from hf_frame.core.engine import SYSTEMATIC_AFTER
from hf_frame.errors import FatalRequestError


@pytest.mark.parametrize("concurrency", [1, 32])
def test_bad_first_rows_among_valid_ones_do_not_stop_the_call(hf, concurrency):
    texts = [f"x{i} [[400]]" for i in range(3)] + [f"fine {i}" for i in range(297)]
    out = quiet(pd.DataFrame({"t": texts}).hf.classify, "t", max_concurrency=concurrency)
    assert hf.count() == 300
    assert out["t_error"].notna().sum() == 3 and out["t_error"].iloc[:3].str.contains("HTTP 400").all()
    assert out["t_label"].iloc[3:].notna().all()


@pytest.mark.parametrize("concurrency", [1, 32])
def test_a_refusal_of_every_embed_request_stops_within_a_handful(hf, concurrency):
    hf.fail(422, body={"error": "unknown parameter prompt_name"}, times=math.inf)
    texts = [f"text {i}" for i in range(40)]
    with pytest.raises(FatalRequestError, match="likely wrong") as info:
        pd.DataFrame({"t": texts}).hf.embed("t", max_concurrency=concurrency)
    assert info.value.status == 422
    hf.wait_quiet()
    # two batches (32 + 8) refused, then a few texts alone: not 2n - 1 = 78 requests
    assert hf.count() <= 2 + SYSTEMATIC_AFTER


def test_a_refusal_of_every_rerank_request_stops_within_a_handful(hf):
    hf.fail(422, body={"error": "model is not a reranker"}, times=math.inf)
    texts = [f"doc {i}" for i in range(40)]
    with pytest.raises(FatalRequestError, match="not a reranker"):
        pd.DataFrame({"t": texts}).hf.rerank("query", "t", endpoint=hf.base_url)
    hf.wait_quiet()
    assert hf.count() <= 2 + SYSTEMATIC_AFTER


def test_a_refusal_of_every_single_request_stops_once_the_wire_is_clear(hf):
    hf.fail(422, times=math.inf)
    with pytest.raises(FatalRequestError, match="none succeeded"):
        pd.DataFrame({"t": [f"t{i}" for i in range(300)]}).hf.classify("t", max_concurrency=8)
    hf.wait_quiet()
    # the requests already on the wire when the rule fired, and no new ones after
    assert hf.count() <= 8 + SYSTEMATIC_AFTER


@pytest.mark.parametrize("concurrency", [1, 32])
def test_every_batch_holding_a_bad_text_does_not_stop_the_call(hf, concurrency):
    texts = [f"text {i} [[400]]" if i % 8 == 0 else f"text {i}" for i in range(128)]
    out = quiet(pd.DataFrame({"t": texts}).hf.embed, "t", max_concurrency=concurrency)
    bad = out["t_error"].notna()
    assert bad.tolist() == [i % 8 == 0 for i in range(128)]
    got = np.stack(out["t_embedding"][~bad].to_numpy())
    want = np.stack([answers.vector(t) for i, t in enumerate(texts) if i % 8])
    assert np.allclose(got, want, atol=1e-6)
