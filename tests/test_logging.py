"""Logging and progress switches: retries and waits are visible at DEBUG, each call's summary at
INFO, the token never; ``HF_HUB_DISABLE_PROGRESS_BARS`` / ``TQDM_DISABLE`` turn the bar off.

Real HTTP to the loopback fake hub; records captured with ``caplog`` from every logger.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

import hf_frame

pd = pytest.importorskip("pandas")

SECRET = "hf_logtest_SECRET_4711"


@pytest.fixture
def hf(hub):
    hf_frame.configure(base_url=hub.base_url, retry_backoff=0.001, token=SECRET)
    return hub


def _messages(caplog, name: str, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == name and r.levelno == level]


def test_retries_are_logged_at_debug_and_the_token_never(hf, caplog):
    hf.fail(429, times=1)
    # a server that echoes the token in its error must not get it into a log line either
    hf.fail(503, times=1, body={"error": f"Model is currently loading (seen token {SECRET})", "estimated_time": 0.01})
    with caplog.at_level(logging.DEBUG):
        out = pd.DataFrame({"t": ["good", "fine"]}).hf.classify("t")
    assert out["t_error"].isna().all()
    assert all(r.authorization == f"Bearer {SECRET}" for r in hf.requests)  # the token was really sent

    everything = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert SECRET not in everything and "Bearer" not in everything
    retries = _messages(caplog, "hf_frame.backends.remote.http", logging.DEBUG)
    assert any("HTTP 429" in m and "attempt 1 of 6" in m and "retrying in 0.00 s (the server said so)" in m
               for m in retries), retries
    assert any("HTTP 503" in m and "retrying in 0.01 s" in m and "***" in m for m in retries), retries
    summary = _messages(caplog, "hf_frame.methods.job", logging.INFO)
    assert len(summary) == 1
    assert summary[0].startswith("classify: 2 rows, 2 unique, 0 cached, 4 requests, 0 failed in ")  # every HTTP attempt: 2 retries
    assert "'distilbert/distilbert-base-uncased-finetuned-sst-2-english'" in summary[0]


def test_giving_up_is_logged_and_the_summary_counts_the_failure(hf, caplog):
    hf.fail(500, times=10, match="broken")
    with caplog.at_level(logging.DEBUG), pytest.warns(hf_frame.RowErrorWarning):
        pd.DataFrame({"t": ["good", "broken"]}).hf.classify("t", max_retries=2)
    assert any("giving up after 3 attempts: HTTP 500" in m for m in _messages(caplog, "hf_frame.backends.remote.http", logging.DEBUG))
    # requests counts every HTTP attempt: 1 for "good", 3 for "broken"
    assert "2 rows, 2 unique, 0 cached, 4 requests, 1 failed" in _messages(caplog, "hf_frame.methods.job", logging.INFO)[0]


def test_a_retry_after_that_is_no_number_nor_date_falls_back_to_backoff(hf, caplog):
    hf.fail(429, times=1, headers={"Retry-After": "soon"})
    with caplog.at_level(logging.DEBUG):
        out = pd.DataFrame({"t": ["good"]}).hf.classify("t")
    assert out["t_error"].isna().all() and hf.count() == 2
    assert any("neither seconds nor a date: 'soon'" in m for m in _messages(caplog, "hf_frame.backends.remote.retry", logging.DEBUG))


def test_rate_limit_waits_are_logged(hf, caplog):
    with caplog.at_level(logging.DEBUG):
        pd.DataFrame({"t": ["a", "b", "c"]}).hf.classify("t", requests_per_minute=6000, max_concurrency=1)
    limits = _messages(caplog, "hf_frame.backends.remote.limits", logging.DEBUG)
    assert any("requests_per_minute=6000: request starts are spaced 0.010 s apart" in m for m in limits), limits
    assert any("the next request waits" in m for m in limits), limits


def test_cached_rerun_summary_and_cache_log(hf, caplog):
    df = pd.DataFrame({"t": ["good", "good", "bad"]})
    df.hf.classify("t")
    with caplog.at_level(logging.INFO, logger="hf_frame"):
        df.hf.classify("t")
    assert _messages(caplog, "hf_frame.methods.job", logging.INFO)[0].startswith(
        "classify: 3 rows, 2 unique, 2 cached, 0 requests, 0 failed in ")
    with caplog.at_level(logging.DEBUG, logger="hf_frame"):
        hf_frame.clear_cache()
    assert any("cleared 2 entries" in m for m in _messages(caplog, "hf_frame.cache.sqlite", logging.DEBUG))


def test_nothing_is_printed_when_the_application_configured_no_logging():
    # Without hf_frame's NullHandler, Python would print WARNING records to stderr ("last resort").
    code = "import logging, hf_frame; logging.getLogger('hf_frame.cache.sqlite').warning('should stay silent')"
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert done.returncode == 0 and done.stderr == "", done.stderr


@pytest.mark.parametrize("variable", [None, "HF_HUB_DISABLE_PROGRESS_BARS", "TQDM_DISABLE"])
def test_progress_bar_switches(hf, capsys, monkeypatch, variable):
    for name in ("HF_HUB_DISABLE_PROGRESS_BARS", "TQDM_DISABLE"):
        monkeypatch.delenv(name, raising=False)
    if variable:
        monkeypatch.setenv(variable, "1")
    pd.DataFrame({"t": ["good", "bad"]}).hf.classify("t", progress=True)
    err = capsys.readouterr().err
    if variable is None:
        assert "hf classify" in err and "2/2" in err
    else:
        assert "hf classify" not in err, err
