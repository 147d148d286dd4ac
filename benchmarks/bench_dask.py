"""hf_frame on a Dask LocalCluster: rows/s on 1 vs 2 worker processes, global dedup vs per partition.

The workload: ROWS texts of which UNIQUE are distinct, every unique text in every partition
(``i % unique``, the hard case for dedup), text-classification, a loopback server answering each
request after LATENCY seconds (in a child process). Each measurement starts from an empty cache.

* ``ddf.hf.classify`` (global dedup): each unique input sent once per cluster.
* per partition: ``ddf.map_partitions(lambda p: p.hf.classify(...))``, the pandas accessor on each
  partition, deduplicated only by the shared SQLite cache and each process's single-flight.

``max_concurrency`` is cluster-wide, so a second worker adds throughput only when the total is
raised with it: rows are run with CONCURRENCY per worker (the total grows) and with the same
total on 2 workers (the limit holds). ``--semaphore`` also times a ``distributed.Semaphore``
acquire/release from a task: the cost a lease per request would add.

    python benchmarks/bench_dask.py [--rows 200000 --unique 20000 --latency 0.02 --concurrency 32]
                                    [--partitions 8] [--server lean|fakehub] [--semaphore]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx
import pandas as pd
from _common import fake_hub_process

import hf_frame

MODEL = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"


def workload(rows: int, unique: int) -> pd.DataFrame:
    return pd.DataFrame({"review": [f"review number {i % unique}: it was good" for i in range(rows)]})


def per_partition(ddf, **settings):
    """The pandas accessor on every partition; settings passed explicitly (a worker has no configure())."""
    meta = ddf.hf.classify("review", model=MODEL, **settings)._meta  # the declared output, nothing sent
    return ddf.map_partitions(lambda p: p.hf.classify("review", model=MODEL, **settings), meta=meta)


def semaphore_rate(client, n: int = 400) -> float:
    """Acquire/release pairs per second of one distributed.Semaphore, from inside a task."""
    from distributed import Semaphore

    def loop(n: int) -> float:
        sem = Semaphore(max_leases=64, name="hf_frame-bench")
        start = time.perf_counter()
        for _ in range(n):
            sem.acquire()
            sem.release()
        return n / (time.perf_counter() - start)

    return client.submit(loop, n, pure=False).result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--unique", type=int, default=20_000)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--concurrency", type=int, default=32, help="max_concurrency per worker")
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--server", choices=["lean", "fakehub"], default="lean",
                        help="lean: benchmarks/lean_hub.py (not itself the bottleneck on 2 cores); fakehub: tests/fake_hub.py")
    parser.add_argument("--modes", default="global,partition")
    parser.add_argument("--cache", default="sqlite",
                        help="sqlite (a fresh file per run), memory, or a URL such as redis://127.0.0.1:6379/0")
    parser.add_argument("--runs", default="1x1,2x2,2x1",
                        help="workers x (max_concurrency / --concurrency), comma-separated")
    parser.add_argument("--semaphore", action="store_true")
    args = parser.parse_args()

    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    ddf = dd.from_pandas(workload(args.rows, args.unique), npartitions=args.partitions, sort=False).persist()
    rows = []
    with fake_hub_process(args.latency, lean=args.server == "lean") as url, tempfile.TemporaryDirectory() as tmp:
        def sent() -> int:
            return httpx.get(f"{url}/_fakehub/count").json()["requests"]

        runs = [tuple(int(x) for x in r.split("x")) for r in args.runs.split(",")]
        for workers, total in [(w, m * args.concurrency) for w, m in runs]:
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                              silence_logs=40) as cluster, Client(cluster) as client:
                data = ddf.persist()
                client.run(__import__, "hf_frame.adapters.dask")
                if args.semaphore and workers == 1:
                    print(f"distributed.Semaphore acquire+release from a task: {semaphore_rate(client):,.0f}/s")
                for mode in args.modes.split(","):
                    cache = str(Path(tmp) / f"{mode}-{workers}-{total}.sqlite") if args.cache == "sqlite" else args.cache
                    if "://" in cache:
                        hf_frame.clear_cache(cache=cache)
                    settings = dict(base_url=url, token="hf_bench", cache=cache)
                    hf_frame.configure(**settings, max_concurrency=total)
                    httpx.delete(f"{url}/_fakehub/count")
                    start = time.perf_counter()
                    if mode == "global":
                        plan = data.hf.classify("review", model=MODEL)
                    else:  # each worker its own limit: the same total
                        plan = per_partition(data, **settings, progress=False, max_concurrency=total // workers)
                    plan.compute()
                    elapsed = time.perf_counter() - start
                    rows.append((mode, workers, total, elapsed, sent()))
                    print(f"{mode:9} workers={workers} max_concurrency={total:3d}: {elapsed:6.2f} s, "
                          f"{args.rows / elapsed:9,.0f} rows/s, {sent():6d} requests", flush=True)

    bound = args.unique * args.latency
    print(f"\n{args.rows:,} rows, {args.unique:,} unique, {args.latency * 1000:g} ms latency, {args.partitions} "
          f"partitions, server {args.server}, cache {args.cache}; latency bound = unique x latency / max_concurrency")
    print(f"{'mode':9} {'workers':>7} {'max_conc':>8} {'seconds':>8} {'rows/s':>9} {'requests':>9} {'bound s':>8}")
    for mode, workers, total, elapsed, requests in rows:
        print(f"{mode:9} {workers:7d} {total:8d} {elapsed:8.2f} {args.rows / elapsed:9,.0f} {requests:9d} "
              f"{bound / total:8.2f}")


if __name__ == "__main__":
    main()
