"""The engine at scale, over real HTTP to the loopback fake hub and a real SQLite cache.

* inputs are factorized once (:mod:`hf_frame.core.columns`): codes, distinct values, first rows;
* a cached 1,000,000-row call sends nothing;
* a 50,000-input call keeps a bounded number of asyncio tasks alive (a fixed pool of workers);
* a retry wait gives its slot back, so other inputs go out meanwhile;
* ``last_run()`` counts every HTTP attempt and splits the time;
* another process holding the SQLite write lock stalls no request and loses no answer.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from fake_hub import answers

import hf_frame
from hf_frame import runtime
from hf_frame.core import recall
from hf_frame.core.columns import ArrowValues, LazyRows, Repeat, expand, factorize, from_rows
from hf_frame.tasks import TASKS, Call


@pytest.fixture
def hf(hub):
    """The library pointed at the fake hub, with fast retries."""
    hf_frame.configure(base_url=hub.base_url, retry_backoff=0.001)
    return hub


# ---------------------------------------------------------------------------------------------
# factorizing the inputs


@pytest.mark.parametrize("column", [
    ["a", None, "b", "a", float("nan"), "b"],
    pd.Series(["a", None, "b", "a", None, "b"]),
    pd.Series(["a", None, "b", "a", None, "b"], dtype=pd.ArrowDtype(pa.string())),
    pd.Series(["a", None, "b", "a", None, "b"], dtype=object),
    pl.Series(["a", None, "b", "a", None, "b"]),
    pa.chunked_array([["a", None, "b"], ["a", None, "b"]]),
    np.array(["a", None, "b", "a", None, "b"], dtype=object),
], ids=["list", "pandas-str", "pandas-arrow", "pandas-object", "polars", "arrow-chunked", "numpy"])
def test_factorize_gives_codes_distinct_values_and_first_rows(column):
    fz = factorize([column])
    assert fz.codes.tolist() == [0, -1, 1, 0, -1, 1]
    assert fz.values == [("a",), ("b",)] and fz.first.tolist() == [0, 2]
    assert fz.present == 4


def test_factorize_several_inputs_combines_their_codes():
    q = ["q1", "q1", "q2", None, "q1", "q2"]
    c = Repeat("ctx", 6)
    fz = factorize([q, c])
    assert fz.codes.tolist() == [0, 0, 1, -1, 0, 1]
    assert fz.values == [("q1", "ctx"), ("q2", "ctx")]
    pairs = factorize([["a", "a", "b", "b", "a"], ["x", "y", "x", "x", "x"]])
    assert pairs.codes.tolist() == [0, 1, 2, 2, 0] and pairs.values == [("a", "x"), ("a", "y"), ("b", "x")]
    assert pairs.first.tolist() == [0, 1, 2]


def test_factorize_keeps_cells_as_they_are():
    # bytes stay bytes (no text coercion), unhashable cells are each their own value
    fz = factorize([[b"x", "x", b"x"]])
    assert fz.values == [(b"x",), ("x",)] and fz.codes.tolist() == [0, 1, 0]
    fz = factorize([[{"path": "a.png"}, None, {"path": "a.png"}]])
    assert fz.codes.tolist() == [0, -1, 1] and fz.values == [({"path": "a.png"},), ({"path": "a.png"},)]
    assert from_rows([("a", "b"), ("a", "b"), ("a", None)]).codes.tolist() == [0, 0, -1]
    assert factorize([Repeat(None, 3)]).codes.tolist() == [-1, -1, -1]


def test_arrow_values_make_python_values_only_when_asked():
    values = ArrowValues(pa.array(["a", "b", None, "d"] * 5000))
    assert len(values) == 20_000 and values[1] == "b" and values[-1] == "d" and values[2] is None
    assert values[:3] == ["a", "b", None]
    assert [values[i] for i in (19_999, 3, 256, 257, 0)] == ["d", "d", "a", "b", "a"]  # near values are reused
    with pytest.raises(IndexError):
        values[20_000]
    assert list(values) == ["a", "b", None, "d"] * 5000  # made a chunk at a time
    assert factorize([pa.array(["x", "y", "x"])]).uniques[0].array.to_pylist() == ["x", "y"]


def test_lazy_rows_are_made_once_and_only_when_asked():
    class Counting(list):
        reads = 0

        def __iter__(self):
            Counting.reads += 1
            return super().__iter__()

    rows = LazyRows([Counting(["a", "b"]), Counting([1, 2])])
    assert len(rows) == 2 and Counting.reads == 0  # the columnar path never asks for more
    assert rows[1] == ("b", 2) and list(rows) == [("a", 1), ("b", 2)]
    assert Counting.reads == 2  # each column read once


def test_expand_takes_one_value_per_row():
    out = expand(pa.array(["x", "y"]), np.array([1, -1, 0, 1]))
    assert out.to_pylist() == ["y", None, "x", "y"]


# ---------------------------------------------------------------------------------------------
# a cached million rows


def test_a_cached_million_rows_send_no_request(hf):
    texts = [f"review {i}" for i in range(1000)]
    pd.DataFrame({"t": texts}).hf.classify("t")
    assert hf.count() == 1000
    hf.reset()
    big = pd.DataFrame({"t": pd.Series(texts * 1000, dtype="str")})
    outs = []
    for source in ("sqlite", "memory"):
        if source == "sqlite":
            recall._clear()  # from the SQLite file, as a fresh process would
        outs.append(big.hf.classify("t"))
        assert hf.count() == 0
        run = hf_frame.last_run()
        assert (run["rows"], run["unique"], run["cached"], run["requests"], run["failed"]) == (1_000_000, 1000, 1000, 0, 0)
        assert set(run["seconds"]) == {"prepare", "cache", "network", "build"}
    pd.testing.assert_frame_equal(outs[0], outs[1])
    for i in (0, 999, 123_456, 999_999):
        want = answers.classify(texts[i % 1000])[0]
        assert outs[0]["t_label"].iloc[i] == want["label"] and outs[0]["t_score"].iloc[i] == pytest.approx(want["score"])


@pytest.mark.parametrize("top_k", [1, 2, None])
def test_cached_answers_read_by_arrow_equal_the_python_decoding(hf, top_k):
    texts = [f"review {i}" for i in range(300)]
    df = pd.DataFrame({"t": texts * 3})
    fresh = df.hf.classify("t", top_k=top_k)
    recall._clear()
    cached = df.hf.classify("t", top_k=top_k)
    assert hf_frame.last_run()["cached"] == 300 and hf.count() == 300
    pd.testing.assert_frame_equal(fresh, cached)
    task = TASKS["text-classification"]
    call = Call(task, "m", options={"top_k": top_k})
    datas = [task.encode(r) for r in ([{"label": "a", "score": 0.5}, {"label": "b", "score": 0.25}],
                                      [{"label": "c", "score": 1e-300}])]
    built = task.decode_array(call, datas)
    assert built.type == task.output_type(call)
    assert built.to_pylist() == task.build_array(call, [task.decode(d) for d in datas]).to_pylist()


@pytest.mark.parametrize("damaged", [b'{"not": "a label list"', b'{"not": "a label list"}', b'[]'])
def test_a_damaged_cached_answer_is_sent_again_and_the_others_still_come_from_the_cache(hf, damaged):
    texts = [f"review {i}" for i in range(50)]
    df = pd.DataFrame({"t": texts})
    first = df.hf.classify("t")
    cache = runtime.get_cache(hf_frame.resolve_settings())
    cache.flush()
    import sqlite3

    with sqlite3.connect(cache.path) as db:  # another version's value, or a damaged one
        (key,) = db.execute("SELECT key FROM answers ORDER BY key LIMIT 1").fetchone()
        db.execute("UPDATE answers SET value = ? WHERE key = ?", (damaged, key))
    recall._clear()
    hf.reset()
    again = df.hf.classify("t")
    assert hf.count() == 1 and hf_frame.last_run()["cached"] == 49
    pd.testing.assert_frame_equal(first, again)


def test_a_rerun_is_answered_from_the_outputs_this_process_kept(hf):
    texts = ["good", "bad", None, "", "good", "meh"]
    df = pd.DataFrame({"t": texts})
    first = df.hf.classify("t")
    assert hf.count() == 3
    again = df.hf.classify("t")
    pd.testing.assert_frame_equal(first, again)
    run = hf_frame.last_run()
    assert (run["rows"], run["unique"], run["cached"], run["requests"]) == (4, 3, 3, 0)
    assert hf.count() == 3
    # a new value: the full path, which sends only that value
    more = pd.DataFrame({"t": texts + ["new"]}).hf.classify("t")
    assert hf.count() == 4 and hf_frame.last_run()["cached"] == 3
    assert more["t_label"].iloc[-1] == answers.classify("new")[0]["label"]
    # other options are another configuration; cache=False never takes kept outputs
    df.hf.classify("t", top_k=2)
    assert hf.count() == 7
    df.hf.classify("t", cache=False)
    df.hf.classify("t", cache=False)
    assert hf.count() == 13
    # clearing the cache forgets them too
    hf_frame.clear_cache()
    df.hf.classify("t")
    assert hf.count() == 16


def test_rows_that_failed_are_not_kept(hf):
    hf.fail(500, times=10, match="bad")
    df = pd.DataFrame({"t": ["good", "bad"]})
    first = df.hf.classify("t", max_retries=0, errors="ignore")
    assert first["t_error"].notna().tolist() == [False, True]
    hf.reset()
    second = df.hf.classify("t")
    assert hf.count() == 1 and second["t_error"].isna().all()  # "bad" asked again, "good" from the cache


# ---------------------------------------------------------------------------------------------
# bounded work in flight


def _sample_tasks(stop: threading.Event, samples: list[int]) -> None:
    async def sample() -> None:
        while not stop.is_set():
            samples.append(len(asyncio.all_tasks()))
            await asyncio.sleep(0.002)

    asyncio.run_coroutine_threadsafe(sample(), runtime.get_loop())


def test_live_tasks_stay_bounded_for_fifty_thousand_inputs(hf):
    hf.dim = 4
    texts = [f"text number {i}" for i in range(50_000)]
    stop, samples = threading.Event(), []
    _sample_tasks(stop, samples)
    try:
        out = pd.DataFrame({"t": texts}).hf.embed("t", max_concurrency=4, batch_size=32)
    finally:
        stop.set()
    assert hf.count() == 50_000 // 32 + 1
    assert out["t_error"].isna().all()
    assert len(samples) > 50  # the sampler ran while the requests were sent
    assert max(samples) < 4 * 4, max(samples)


def test_a_retry_wait_gives_its_slot_back(hf):
    """Two requests told to wait 1 s hold no slot meanwhile: the other 18 go out first."""
    hf.latency = 0.01
    texts = [f"text {i}" for i in range(20)]
    hf.fail(429, match="text 0\"", headers={"Retry-After": "1"})
    hf.fail(429, match="text 1\"", headers={"Retry-After": "1"})
    started = time.perf_counter()
    out = pd.DataFrame({"t": texts}).hf.classify("t", max_concurrency=2)
    elapsed = time.perf_counter() - started
    assert out["t_error"].isna().all()
    sent = [r.json["inputs"] for r in hf.requests]
    assert len(sent) == 22 and sorted(sent[-2:]) == ["text 0", "text 1"]  # the waiting ones came back last
    assert elapsed < 1.5
    run = hf_frame.last_run()
    assert (run["requests"], run["answers"], run["unique"]) == (22, 20, 20)  # every attempt counts


# ---------------------------------------------------------------------------------------------
# the cache off the loop


_LOCK_HOLDER = textwrap.dedent("""
    import sqlite3, sys, time
    db = sqlite3.connect(sys.argv[1], isolation_level=None)
    db.execute("BEGIN IMMEDIATE")  # the write lock, as a long transaction of another process holds it
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    db.execute("COMMIT")
""")


def test_a_write_lock_held_by_another_process_stalls_nothing_and_loses_nothing(hf, tmp_path):
    """The issue's figure is 35 s; 5 s exercises the same path (the engine never waits on a write)."""
    hold = 5.0
    cache = tmp_path / "cache"
    texts = [f"row {i}" for i in range(40)]
    pd.DataFrame({"t": ["warm-up"]}).hf.classify("t", cache=str(cache))  # creates the file
    holder = subprocess.Popen([sys.executable, "-c", _LOCK_HOLDER, str(cache / "cache.sqlite"), str(hold)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        locked_at = time.perf_counter()
        hf.latency = 0.02
        out = pd.DataFrame({"t": texts}).hf.classify("t", cache=str(cache), max_concurrency=4)
        returned = time.perf_counter() - locked_at
        assert out["t_error"].isna().all() and hf.count() == 41
        assert returned < hold - 1, returned  # the call did not wait for the lock
        assert holder.poll() is None  # the lock was held the whole time
    finally:
        holder.wait(timeout=30)
    # The answers were kept and written once the lock was free: a rerun sends nothing.
    deadline = time.monotonic() + 10
    while hf_frame.cache_info(cache=str(cache))["entries"] < 41 and time.monotonic() < deadline:
        time.sleep(0.1)
    hf.reset()
    pd.DataFrame({"t": texts}).hf.classify("t", cache=str(cache))
    assert hf.count() == 0 and hf_frame.last_run()["cached"] == 40


def test_an_overloaded_server_gets_about_what_it_takes(hf):
    """A server that takes 8 requests at once and refuses the others (429, no wait hint, as
    TEI does): hf_frame, allowed 32 at once, lowers its limit to the server's and sends little
    more than the work (before: most requests refused, some until they ran out of retries)."""
    hf.capacity = 8
    hf.latency = 0.02
    texts = [f"text {i}" for i in range(400)]
    out = pd.DataFrame({"t": texts}).hf.classify("t", max_concurrency=32)
    assert out["t_error"].isna().all()
    refused = hf.count() - 400
    assert refused < 0.25 * 400, refused
    assert hf.max_in_flight <= 8


def test_the_adaptive_limit_halves_once_per_round_trip_and_grows_back():
    from hf_frame.backends.remote.limits import AdaptiveLimit

    async def scenario():
        limit = AdaptiveLimit(10)
        epochs = [await limit.acquire() for _ in range(10)]
        assert limit.in_flight == 10
        waiting = asyncio.ensure_future(limit.acquire())
        await asyncio.sleep(0)
        assert not waiting.done()  # the eleventh waits
        for epoch in epochs[:5]:  # five refusals of requests sent in the same round trip
            limit.overloaded(epoch)
            limit.release()
        assert limit.limit == pytest.approx(7.0)  # one decrease, not five
        await asyncio.sleep(0)
        assert waiting.done() and limit.in_flight == 6  # 5 left in flight, below 7: the eleventh goes
        for _ in range(30):
            limit.succeeded()
        assert limit.limit == 10.0  # grown back, never above the maximum
        waiting.cancel()

    asyncio.run(scenario())


def test_blank_texts_are_those_str_strip_empties():
    import sys

    from hf_frame.core.columns import WHITESPACE, blank_texts

    assert set(WHITESPACE) == {c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()}
    values = ["", " ", "\x1c\u3000", "a", " a ", "\x85x", "\u200b"]  # U+200B is not whitespace
    assert blank_texts(pa.array(values)).tolist() == [not v.strip() for v in values]
