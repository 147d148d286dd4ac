"""``ddf.hf.*`` on a real Dask cluster: a LocalCluster of 2 worker processes against the loopback hub.

The workers are separate processes: settings (base URL, cache path, limits) are resolved on the
client when a method is added to the graph and travel with the tasks. Request counts are read
on the hub, so they prove what the whole cluster sent.
"""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

from fake_hub import answers  # noqa: E402

import hf_frame  # noqa: E402
import hf_frame.cache  # noqa: E402
from hf_frame.errors import RowErrors  # noqa: E402

try:  # the real redis-server fixtures (tests/redis_server.py, also imported by conftest.py)
    import redis_server as _redis_fixtures
except ImportError:
    _redis_fixtures = None

N_UNIQUE = 60


@pytest.fixture(scope="module")
def client():
    """One cluster for the module: 2 worker processes with one thread each."""
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                       silence_logs=50)
    with distributed.Client(cluster) as c:
        c.wait_for_workers(2, timeout=120)
        c.run(importlib.import_module, "hf_frame.adapters.dask")  # each worker's imports, once, before timing
        yield c
    cluster.close()


@pytest.fixture
def hf(hub, client):
    """The library pointed at the hub, with fast retries; both workers up before the test."""
    client.wait_for_workers(2, timeout=120)
    hf_frame.configure(base_url=hub.base_url, retry_backoff=0.001)
    return hub


@pytest.fixture(params=["sqlite", "redis"])
def shared_cache(request, hf) -> str:
    """The cache every process of the cluster shares: the default SQLite file, or a real Redis server."""
    if request.param == "sqlite":
        return str(hf_frame.resolve_settings().cache)
    if _redis_fixtures is None or not hasattr(hf_frame.cache, "open_cache"):
        pytest.skip("this checkout has no Redis cache (cache='redis://...')")
    url = request.getfixturevalue("redis_url")
    hf_frame.configure(cache=url)
    return url


def reviews(rows: int = 480, unique: int = N_UNIQUE, npartitions: int = 6) -> dd.DataFrame:
    """Every unique text in every partition (i % unique): duplicates spread over partitions."""
    texts = [f"review {i % unique}: fine" for i in range(rows)]
    pdf = pd.DataFrame({"review": texts, "n": range(rows)}, index=[f"r{i}" for i in range(rows)])
    return dd.from_pandas(pdf, npartitions=npartitions, sort=False)


def test_lazy_with_declared_dtypes_equal_to_pandas(hf):
    ddf = reviews()
    out = ddf.hf.classify("review").hf.embed("review")
    assert hf.count() == 0  # nothing sent by planning or by reading the dtypes
    pandas_out = ddf.head(3, npartitions=1).hf.classify("review").hf.embed("review")
    assert out.dtypes.to_dict() == pandas_out.dtypes.to_dict()
    assert str(out.dtypes["review_label"]) == "string[pyarrow]"
    assert str(out.dtypes["review_embedding"]).startswith("fixed_size_list<item: float>[384]")
    assert hf.count() > 0  # the pandas frame above did send: the Dask plan alone did not


def test_each_unique_input_is_sent_once_per_cluster(hf, client, shared_cache):
    ddf = reviews()
    out = ddf.hf.classify("review").compute()
    assert hf.count() == N_UNIQUE  # not once per partition (each holds every unique) nor per worker
    assert hf_frame.last_run() == {"method": "classify", "rows": 480, "unique": N_UNIQUE, "cached": 0,
                                   "requests": N_UNIQUE, "failed": 0}
    assert hf_frame.cache_info()["entries"] == N_UNIQUE  # the one store the client and both workers use
    expected = ddf.compute().hf.classify("review")  # the pandas accessor on the same data (from that store)
    assert hf.count() == N_UNIQUE
    pd.testing.assert_frame_equal(out, expected)
    assert out["review_label"].tolist() == [answers.classify(t)[0]["label"] for t in ddf["review"].compute()]
    hf.reset()
    again = ddf.hf.classify("review").compute()
    assert hf.count() == 0 and hf_frame.last_run()["cached"] == N_UNIQUE and hf_frame.last_run()["requests"] == 0
    pd.testing.assert_frame_equal(again, expected)
    # a process outside the cluster (another host, for Redis) finds every answer too
    code = ("import pandas as pd, hf_frame, sys; n = int(sys.argv[3]); "
            "df = pd.DataFrame({'r': [f'review {i}: fine' for i in range(n)]}); "
            "df.hf.classify('r', cache=sys.argv[1], base_url=sys.argv[2]); print(hf_frame.last_run()['requests'])")
    done = subprocess.run([sys.executable, "-c", code, shared_cache, hf.base_url, str(N_UNIQUE)],
                          capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0" and hf.count() == 0


def test_the_readme_example(hf, client, shared_cache, tmp_path):
    ddf = reviews(rows=240, unique=40, npartitions=4)
    hf_frame.configure(cache=shared_cache, max_concurrency=64)
    out = ddf.hf.classify("review").hf.embed("review")  # lazy: nothing sent
    assert hf.count() == 0
    out.to_parquet(str(tmp_path / "enriched"))  # runs on the cluster
    embedded = [t for r in hf.requests if r.task == "feature-extraction" for t in r.json["inputs"]]
    assert sorted(embedded) == sorted(set(ddf["review"].compute()))  # each unique text once (in batches)
    assert sum(r.task == "text-classification" for r in hf.requests) == 40
    run = hf_frame.last_run()
    assert run["method"] == "embed" and run["unique"] == 40 and run["rows"] == 240
    back = dd.read_parquet(str(tmp_path / "enriched"), dtype_backend="pyarrow").compute()
    want = ddf.compute().hf.classify("review").hf.embed("review")
    assert back["review_label"].tolist() == want["review_label"].tolist()
    np.testing.assert_allclose(np.stack(back["review_embedding"].to_numpy()),
                               np.stack(want["review_embedding"].to_numpy()), rtol=1e-6)


def test_series_accessor_and_more_methods_equal_pandas(hf):
    ddf = reviews(rows=120, unique=30, npartitions=3)
    ddf = ddf.assign(context=ddf["review"] + " and more")
    got = ddf["review"].hf.classify().compute()
    pd.testing.assert_frame_equal(got, ddf.compute()["review"].hf.classify())
    assert list(got.columns) == ["label", "score", "error"]
    hf.reset()
    qa = ddf.hf.qa("What was it?", "context").compute()  # a literal and a column
    assert hf.count() == 30
    pd.testing.assert_frame_equal(qa, ddf.compute().hf.qa("What was it?", "context"))
    hf.reset()
    chat = ddf.hf.chat("Rate this: {review} ({context})", max_tokens=20).compute()  # a template over two columns
    assert hf.count() == 30
    usage = hf_frame.last_run()["usage"]  # the tokens of the answers the workers received
    pd.testing.assert_frame_equal(chat, ddf.compute().hf.chat("Rate this: {review} ({context})", max_tokens=20))
    ddf.compute().hf.chat("Rate this: {review} ({context})", max_tokens=20, cache=False)
    assert usage == hf_frame.last_run()["usage"] and usage["total_tokens"] > 0
    emb = ddf.hf.embed("review", dim=384).compute()
    np.testing.assert_allclose(np.stack(emb["review_embedding"].to_numpy()),
                               np.stack(ddf.compute().hf.embed("review", dim=384)["review_embedding"].to_numpy()))


def test_generated_images_and_tables_on_the_cluster(hf):
    ddf = reviews(rows=60, unique=10, npartitions=3)
    images = ddf.hf.text_to_image("review", seed=1)
    assert str(images.dtypes["review_image"]) == "binary[pyarrow]" and hf.count() == 0
    got = images.compute()
    assert hf.count() == 10  # each distinct prompt once per cluster
    pd.testing.assert_frame_equal(got, ddf.compute().hf.text_to_image("review", seed=1))
    hf.reset()
    numbers = dd.from_pandas(pd.DataFrame({"a": [1.0, 2.0, 1.0, 3.0], "b": ["x", "y", "x", "z"]}), npartitions=2)
    tables = numbers.hf.tabular_regress().compute()  # every column of the frame is a feature
    assert hf.count() >= 1 and tables["tabular_regress_prediction"].tolist() == pytest.approx([1.5, 2.5, 1.5, 3.5])


def test_without_a_shared_cache_answers_are_joined_back(hf):
    ddf = reviews()
    out = ddf.hf.classify("review", cache=False).compute()
    assert hf.count() == N_UNIQUE
    pd.testing.assert_frame_equal(out, ddf.compute().hf.classify("review", cache=False))
    assert hf_frame.cache_info()["entries"] == 0


@pytest.mark.parametrize("cache", [None, False])
def test_failed_inputs_are_sent_once_and_every_row_says_why(hf, cache):
    texts = ["fine", "broken [[400]]", "ok", None] * 30
    ddf = dd.from_pandas(pd.DataFrame({"t": texts}), npartitions=4, sort=False)
    out = ddf.hf.classify("t", cache=cache, errors="ignore").compute()
    assert hf.count() == 3  # the failing input too: once, not once per partition
    bad = out["t"] == "broken [[400]]"
    assert out.loc[bad, "t_error"].str.contains("HTTP 400").all() and out.loc[bad, "t_label"].isna().all()
    assert out.loc[~bad, "t_error"].isna().all()
    assert out.loc[out["t"] == "ok", "t_label"].notna().all() and out.loc[out["t"].isna(), "t_label"].isna().all()
    assert out["t"].tolist() == ddf["t"].compute().tolist()  # the input column is left as it was
    run = hf_frame.last_run()
    assert (run["rows"], run["failed"], run["unique"]) == (90, 30, 3)
    with pytest.raises(RowErrors) as info:
        ddf.hf.classify("t", cache=cache, errors="raise").compute()
    assert info.value.column == "t_error" and all("HTTP 400" in m for m in info.value.errors.values())


def test_max_concurrency_holds_for_the_cluster(hf):
    hf.latency = 0.02
    ddf = reviews(rows=400, unique=200, npartitions=4)
    ddf.hf.classify("review", max_concurrency=4).compute()
    assert hf.count() == 200
    assert hf.max_in_flight <= 4  # 2 per worker; each alone would allow 4


def test_requests_per_minute_holds_for_the_cluster(hf):
    ddf = reviews(rows=80, unique=20, npartitions=4)
    seen: list[tuple[float, int]] = []
    done = threading.Event()

    def watch():
        while not done.is_set():
            seen.append((time.monotonic(), hf.count()))
            time.sleep(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        ddf.hf.classify("review", requests_per_minute=1200.5).compute()  # 20/s for the whole cluster
    finally:
        done.set()
        watcher.join()
    assert hf.count() == 20
    first = next(t for t, n in seen if n >= 1)
    last = next(t for t, n in seen if n >= 20)
    # each worker sends at 600/min: one of them sends >= 10 requests, >= 0.9 s from its first to
    # its last (at 1200/min each, as without the share, the whole run would take ~0.5 s)
    assert last - first >= 0.8


def test_a_killed_worker_is_replaced_and_cached_answers_are_not_resent(hf, client, shared_cache):
    hf.latency = 0.02
    unique = 400
    ddf = reviews(rows=2400, unique=unique, npartitions=4)
    pids = client.run(os.getpid)
    victim = next(iter(pids.values()))
    killed_at: list[int] = []

    def kill_mid_run():
        deadline = time.monotonic() + 60
        while hf.count() < 100 and time.monotonic() < deadline:
            time.sleep(0.005)
        killed_at.append(hf.count())
        os.kill(victim, signal.SIGKILL)

    killer = threading.Thread(target=kill_mid_run, daemon=True)
    killer.start()
    out = ddf.hf.classify("review", max_concurrency=8).compute()
    killer.join()
    assert 100 <= killed_at[0] < unique  # killed mid-run, after both workers had answers cached
    assert victim not in client.run(os.getpid).values() or len(client.run(os.getpid)) < 2
    pd.testing.assert_frame_equal(out, ddf.compute().hf.classify("review"))
    # Re-sent: at most what the killed worker had in flight (its share of max_concurrency, 4),
    # with a little room; its ~50 answers cached before the kill were not sent again.
    print(f"killed after {killed_at[0]} requests; {hf.count()} sent for {unique} unique inputs")
    assert unique <= hf.count() <= unique + 8
    client.wait_for_workers(2, timeout=120)


def test_whole_column_methods(hf):
    texts = [f"passage {i % 12}" for i in range(36)]
    pdf = pd.DataFrame({"p": texts, "n": range(36)})
    ddf = dd.from_pandas(pdf, npartitions=3, sort=False)
    ranked = ddf.hf.rerank("what is a passage", "p", endpoint=hf.base_url, top_n=5)
    assert ranked.npartitions == 1  # ranks compare rows: the column is gathered in one partition
    pd.testing.assert_frame_equal(ranked.compute(), ddf.compute().hf.rerank("what is a passage", "p",
                                                                            endpoint=hf.base_url, top_n=5))
    found = ddf.hf.search("passage 3", "p", k=4).compute()
    want = ddf.compute().hf.search("passage 3", "p", k=4)
    assert found["n"].tolist() == want["n"].tolist()
    np.testing.assert_allclose(found["score"].to_numpy(float), want["score"].to_numpy(float), rtol=1e-6)
    with pytest.raises(ValueError, match="pass table="):
        ddf.hf.table_qa("How many?")
    table = {"name": ["a", "b"], "stars": ["1", "2"]}
    questions = dd.from_pandas(pd.DataFrame({"q": ["How many stars?", "Which name?"] * 3}), npartitions=2)
    got = questions.hf.table_qa("q", table=table).compute()
    pd.testing.assert_frame_equal(got, questions.compute().hf.table_qa("q", table=table))


def test_input_errors_are_raised_when_planning(hf):
    ddf = reviews(rows=10, unique=5, npartitions=2)
    with pytest.raises(KeyError, match="nope"):
        ddf.hf.classify("nope")
    with pytest.raises(TypeError, match="column names"):
        ddf.hf.similarity("review", ddf["review"])
    with pytest.raises(ValueError, match="already exist"):
        ddf.hf.classify("review").hf.classify("review", prefix="review")


def test_local_scheduler_needs_no_cluster(hub):
    hf_frame.configure(base_url=hub.base_url)
    import dask

    ddf = reviews(rows=60, unique=10, npartitions=3)
    with dask.config.set(scheduler="threads"):
        out = ddf.hf.classify("review").compute()
    assert hub.count() == 10 and hf_frame.last_run()["rows"] == 60
    pd.testing.assert_frame_equal(out, ddf.compute(scheduler="threads").hf.classify("review"))


@pytest.mark.parametrize("order", ["hf_frame first", "dask first"])
def test_import_hf_frame_does_not_import_dask(order):
    first = ("import sys, hf_frame; assert 'dask.dataframe' not in sys.modules, 'imported eagerly'; "
             "import dask.dataframe as dd; " if order == "hf_frame first" else "import dask.dataframe as dd, hf_frame; ")
    code = (first + "assert hasattr(dd.DataFrame, 'hf') and hasattr(dd.Series, 'hf'); "
            "print(sorted({'caption', 'chat', 'classify'} & set(dir(dd.from_dict({'a': ['x']}, npartitions=1).hf))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['caption', 'chat', 'classify']"
