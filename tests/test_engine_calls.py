"""Calls that share inputs in flight, and calls stopped with Ctrl-C (real HTTP, real SQLite).

* A call waiting for an input another call is sending takes that call's answer, but not its
  failure when the failure is that call's own (its token, its retry settings, it stopped): it
  then sends the request itself.
* Ctrl-C stops a call within a second: sending stops, requests in flight are cancelled, the
  answers received so far are cached and ``KeyboardInterrupt`` is raised.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time

import pandas as pd
import pytest
from fake_hub import answers

import hf_frame
from hf_frame.errors import FatalRequestError


@pytest.fixture
def hf(hub):
    hf_frame.configure(base_url=hub.base_url, retry_backoff=0.001)
    return hub


def _in_thread(fn):
    """Run ``fn`` in a thread; returns a function giving its result (or raising its error)."""
    box: dict = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 (handed to the caller below)
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()

    def result():
        thread.join(60)
        if "error" in box:
            raise box["error"]
        return box["value"]
    return result


def _wait_for_requests(hub, n: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while hub.count() < n and time.monotonic() < deadline:
        time.sleep(0.005)


def test_a_waiting_call_sends_itself_when_the_sender_had_the_wrong_token(hf):
    hf.require_token = "hf_right"
    hf.latency = 0.2
    texts = [f"review {i}" for i in range(300)]
    df = pd.DataFrame({"t": texts})
    wrong = _in_thread(lambda: df.hf.classify("t", token="hf_wrong", max_concurrency=8))
    _wait_for_requests(hf, 1)
    right = df.hf.classify("t", token="hf_right", max_concurrency=64)
    with pytest.raises(FatalRequestError, match="401"):
        wrong()
    assert right["t_error"].isna().all()
    assert right["t_label"].tolist() == [answers.classify(t)[0]["label"] for t in texts]


def test_a_waiting_call_retries_what_the_sender_gave_up_on(hf):
    """The sender allows no retry and every first attempt fails (503): the waiting call, which
    allows retries, must not inherit those failures."""
    hf.latency = 0.05
    texts = [f"review {i}" for i in range(40)]
    df = pd.DataFrame({"t": texts})
    for t in texts:
        hf.fail(503, match=f'"{t}"', body={"error": "overloaded"})
    impatient = _in_thread(lambda: df.hf.classify("t", max_retries=0, max_concurrency=40, errors="ignore"))
    _wait_for_requests(hf, 1)
    patient = df.hf.classify("t", max_retries=5, max_concurrency=40)
    failed = impatient()
    assert failed["t_error"].notna().all()
    assert patient["t_error"].isna().all()
    assert patient["t_label"].tolist() == [answers.classify(t)[0]["label"] for t in texts]


def test_a_waiting_call_takes_the_answers_of_the_sender(hf):
    hf.latency = 0.1
    texts = [f"review {i}" for i in range(30)]
    df = pd.DataFrame({"t": texts})
    first = _in_thread(lambda: df.hf.classify("t", max_concurrency=30))
    _wait_for_requests(hf, 30)
    second = df.hf.classify("t")
    assert first()["t_error"].isna().all() and second["t_error"].isna().all()
    assert hf.count() == 30  # the second call sent nothing


_INTERRUPTED_CALL = textwrap.dedent("""
    import sys, time
    import pandas as pd
    import hf_frame
    texts = [f"row {i}" for i in range(2000)]
    print("start", flush=True)
    try:
        pd.DataFrame({"t": texts}).hf.classify("t", base_url=sys.argv[1], token="hf_x", cache=sys.argv[2],
                                               max_concurrency=4, progress=False)
    except KeyboardInterrupt:
        print(f"interrupted {time.monotonic()}", flush=True)
        raise
    print("finished", flush=True)
""")


def test_ctrl_c_stops_the_call_within_a_second_and_keeps_its_answers(hf, tmp_path):
    hf.latency = 0.05
    cache = str(tmp_path / "cache")
    child = subprocess.Popen([sys.executable, "-c", _INTERRUPTED_CALL, hf.base_url, cache],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "start"
    _wait_for_requests(hf, 40, timeout=30)
    signalled = time.monotonic()
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=30)
    exited = time.monotonic() - signalled
    assert "KeyboardInterrupt" in err and child.returncode != 0
    [line] = [x for x in out.splitlines() if x.startswith("interrupted")]
    assert float(line.split()[1]) - signalled < 1.0  # raised within a second (the exit also closes the process)
    assert exited < 5
    hf.wait_quiet()
    sent_before = hf.count()
    assert sent_before < 60  # sending stopped at once (40 when signalled, up to 4 in flight, cancelled)
    hf.reset()
    hf.latency = 0.0
    pd.DataFrame({"t": [f"row {i}" for i in range(2000)]}).hf.classify("t", cache=cache)
    run = hf_frame.last_run()
    assert run["cached"] >= 40 - 4  # what was answered before Ctrl-C was cached
    assert hf.count() == 2000 - run["cached"]  # the rerun sends exactly the rest
