"""A run killed with SIGKILL midway loses nothing that was answered and cached: the rerun sends
exactly the inputs that had no cached answer (a real subprocess, the loopback hub, SQLite)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from fake_hub import answers

import hf_frame
from hf_frame import methods, runtime
from hf_frame.core import keys

ROOT = Path(__file__).resolve().parents[1]
TEXTS = [f"review number {i}" for i in range(400)]
SCRIPT = """
import sys
import pandas as pd
import hf_frame
texts = [f"review number {i}" for i in range(400)]
pd.DataFrame({"t": texts}).hf.classify("t", base_url=sys.argv[1], max_concurrency=4)
print("finished")
"""


def cached_inputs(base_url: str) -> set[str]:
    """The texts whose answer is in the cache, looked up under the keys a call would use."""
    call = methods.classify("t", base_url=base_url).calls[0]
    maker = keys.KeyMaker(task=call.task.name, model=call.model, route=call.route,
                          parameters=[call.parameters, call.body, call.options])
    by_key = {maker.key(t): t for t in TEXTS}
    return {by_key[k] for k in runtime.get_cache(call.settings).get_many(list(by_key))}


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_run_killed_midway_resumes_with_exactly_the_uncached_inputs(hub):
    hub.latency = 0.05  # 4 in flight: ~80 answers a second, so the kill lands midway
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, hub.base_url], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while hub.count() < 60 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL, err.decode()
    assert b"finished" not in out
    hub.wait_quiet()
    answered = {r.json["inputs"] for r in hub.requests}

    cached = cached_inputs(hub.base_url)  # the cache file is readable after the kill
    assert 0 < len(cached) < len(TEXTS) and cached <= answered

    hub.reset()
    hub.latency = 0.0
    result = pd.DataFrame({"t": TEXTS}).hf.classify("t", base_url=hub.base_url)
    resent = [r.json["inputs"] for r in hub.requests]
    assert sorted(resent) == sorted(set(TEXTS) - cached)  # each uncached input once, nothing else
    assert hf_frame.last_run()["cached"] == len(cached)
    assert result["t_error"].isna().all()
    assert result["t_label"].tolist() == [answers.classify(t)[0]["label"] for t in TEXTS]
