"""The engine at scale: four benchmarks in one run, printed with the machine they ran on.

1. **cached**: 1,000,000 rows / 100,000 unique texts, every answer in the SQLite cache,
   ``df.hf.classify``. In-process: the call against the floor measured in the same process
   (``pd.factorize`` of the column + one ``take`` of a value per unique). Fresh process:
   ``python -c "import hf_frame; read the parquet file; classify"``, wall time of the process.
2. **memory**: cold, 100,000 unique texts against the loopback server at 0 ms: the growth of the
   process's peak RSS per unique input, above the output columns themselves.
3. **throughput**: cold, 975 unique / 4,000 rows, 20 ms latency, 32 in flight, against a server
   that is not itself the bottleneck (``lean_hub.py``, several worker processes): against the
   latency-bound limit (unique x latency / concurrency), a bare aiohttp loop sending each unique
   input once (the floor of this machine), and ``AsyncInferenceClient`` + ``asyncio.gather``.
4. **overload**: a server that takes 8 requests at once and answers 429 above that, 1,000
   unique: hf_frame at its default concurrency (32) against the same work at concurrency 8 on a
   server with no limit.

Each part runs in its own child process (so memory readings are not inherited); timings are the
best of ``--repeat`` runs (the machine is shared).

    python benchmarks/bench_scale.py [--repeat 3] [--parts cached,memory,throughput,overload]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import child_server, reset_peak_rss, status_kib

MODEL = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
LEAN = ROOT / "benchmarks" / "lean_hub.py"
MiB = 1024 * 1024


def texts(unique: int, rows: int | None = None) -> list[str]:
    rows = unique if rows is None else rows
    return [f"review number {i % unique}: it was good" for i in range(rows)]


def lean(latency: float, *, workers: int = 1, max_in_flight: int | None = None):
    cmd = [sys.executable, str(LEAN), "--latency", str(latency), "--workers", str(workers)]
    if max_in_flight:
        cmd += ["--max-in-flight", str(max_in_flight)]
    return child_server(cmd)


def server_count(url: str, reset: bool = False) -> int:
    import httpx

    if reset:
        httpx.delete(f"{url}/_fakehub/count")
        return 0
    return httpx.get(f"{url}/_fakehub/count").json()["requests"]


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def settings(url: str, cache: str | bool, **extra) -> dict:
    # provider="hf-inference": the lean server does not serve the Hub mapping API, and without
    # internet provider="auto" would spend every call's first ~0.3 s failing to reach huggingface.co.
    return dict(model=MODEL, base_url=url, token="hf_bench", progress=False, cache=cache, provider="hf-inference",
                **extra)


# ---------------------------------------------------------------------------------------------
# the parts, each run in a child process


def part_memory(args) -> dict:
    """Cold 100k unique at 0 ms; also fills the cache the cached part reads."""
    import pandas as pd
    import pyarrow as pa

    import hf_frame

    with lean(0.0, workers=2) as url:
        pd.DataFrame({"text": ["warm-up"]}).hf.classify("text", **settings(url, args.cache))
        df = pd.DataFrame({"text": texts(args.unique)})
        import gc

        gc.collect()
        before = status_kib("VmRSS")
        reset_peak_rss()
        started = time.perf_counter()
        out = df.hf.classify("text", **settings(url, args.cache))
        elapsed = time.perf_counter() - started
        peak = status_kib("VmHWM")
        run = hf_frame.last_run()
    columns = sum(pa.array(out[c].array).nbytes for c in ("text_label", "text_score", "text_error"))
    growth = (peak - before) * 1024
    return {"unique": args.unique, "seconds": elapsed, "peak_growth": growth, "columns": columns,
            "per_unique": (growth - columns) / args.unique, "requests": run["requests"], "url": url}


def part_cached(args) -> dict:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    import hf_frame

    df = pd.read_parquet(args.frame)
    url = args.url  # the memory part's server, stopped since: every answer must come from the cache

    def floor():
        codes, uniques = pd.factorize(df["text"])
        pa.array(np.arange(len(uniques), dtype=np.float64)).take(pa.array(codes))

    def call():
        df.hf.classify("text", **settings(url, args.cache))

    started = time.perf_counter()
    call()
    first = time.perf_counter() - started
    run = hf_frame.last_run()
    assert run["requests"] == 0 and run["cached"] == run["unique"], run
    rerun = best(call, args.repeat)
    return {"rows": len(df), "unique": run["unique"], "first": first, "rerun": rerun, "floor": best(floor, args.repeat),
            "split": hf_frame.last_run()["seconds"]}


_FRESH = """
import time, sys
started = time.perf_counter()
import pandas as pd, hf_frame
imported = time.perf_counter()
df = pd.read_parquet(sys.argv[1])
read = time.perf_counter()
df.hf.classify("text", model=sys.argv[3], base_url=sys.argv[4], token="hf_bench", progress=False,
               cache=sys.argv[2], provider="hf-inference")
done = time.perf_counter()
assert hf_frame.last_run()["requests"] == 0
print(imported - started, read - imported, done - read)
"""


def fresh_process(args) -> dict:
    runs = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", _FRESH, args.frame, args.cache, MODEL, args.url], check=True,
                             capture_output=True, text=True).stdout.split()
        runs.append((time.perf_counter() - started, *map(float, out)))
    wall, imported, read, call = min(runs)
    return {"wall": wall, "import": imported, "read": read, "call": call}


def part_throughput(args) -> dict:
    import pandas as pd
    from huggingface_hub import AsyncInferenceClient

    import hf_frame  # noqa: F401  (registers DataFrame.hf)

    rows, unique, latency, concurrency = 4000, 975, 0.02, 32
    column = texts(unique, rows)
    df = pd.DataFrame({"text": column})
    out: dict = {"rows": rows, "unique": unique, "latency": latency, "concurrency": concurrency,
                 "limit": unique * latency / concurrency}
    with lean(latency, workers=args.workers) as url, tempfile.TemporaryDirectory() as tmp:
        model_url = f"{url}/hf-inference/models/{MODEL}"

        async def bare():
            import aiohttp

            gate = asyncio.Semaphore(concurrency)
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
                async def one(text):
                    async with gate, session.post(model_url, json={"inputs": text}) as response:
                        await response.read()

                await asyncio.gather(*[one(t) for t in dict.fromkeys(column)])

        out["floor"] = best(lambda: asyncio.run(bare()), args.repeat)
        caches = iter(range(1000))

        def ours():
            df.hf.classify("text", **settings(url, os.path.join(tmp, str(next(caches))), max_concurrency=concurrency))

        server_count(url, reset=True)
        out["hf_frame"] = best(ours, args.repeat)
        out["hf_frame_requests"] = server_count(url) // args.repeat

        async def gather_all():
            client = AsyncInferenceClient(model=model_url, token="hf_bench")
            await asyncio.gather(*[client.text_classification(t) for t in column])

        server_count(url, reset=True)
        out["async_client"] = best(lambda: asyncio.run(gather_all()), max(1, args.repeat - 1))
        out["async_client_requests"] = server_count(url) // max(1, args.repeat - 1)
    return out


def part_overload(args) -> dict:
    import pandas as pd

    import hf_frame

    latency, unique = 0.02, 1000
    df = pd.DataFrame({"text": texts(unique)})
    out: dict = {"unique": unique, "latency": latency, "capacity": 8}
    with lean(latency) as free, lean(latency, max_in_flight=8) as busy, tempfile.TemporaryDirectory() as tmp:
        caches = iter(range(1000))

        def run(url, concurrency):
            df.hf.classify("text", **settings(url, os.path.join(tmp, str(next(caches))), max_concurrency=concurrency))
            assert hf_frame.last_run()["failed"] == 0, hf_frame.last_run()

        out["baseline"] = best(lambda: run(free, 8), args.repeat)
        server_count(busy, reset=True)
        out["overloaded"] = best(lambda: run(busy, 32), args.repeat)
        out["refused"] = server_count(busy) // args.repeat - unique
    return out


PARTS = {"memory": part_memory, "cached": part_cached, "throughput": part_throughput, "overload": part_overload}


# ---------------------------------------------------------------------------------------------
# the parent: runs the parts, prints the report


def machine() -> str:
    cpu = platform.processor() or "cpu"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import numpy
    import pandas
    import pyarrow

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return (f"{cpu}, {os.cpu_count()} cores (load average {load}), {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}, pandas {pandas.__version__}, pyarrow {pyarrow.__version__}, "
            f"numpy {numpy.__version__}")


def child(part: str, args, extra: list[str]) -> dict:
    cmd = [sys.executable, __file__, "--part", part, "--repeat", str(args.repeat), "--workers", str(args.workers),
           "--unique", str(args.unique), *extra]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode:
        raise RuntimeError(f"the {part} part failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def report(results: dict, machine_line: str) -> None:
    print(f"machine: {machine_line}")
    if "cached" in results:
        c, f = results["cached"], results.get("fresh")
        print(f"\n1. cached: {c['rows']:,} rows / {c['unique']:,} unique, every answer in the SQLite cache")
        print(f"   floor (factorize + take):      {c['floor']:.3f} s")
        print(f"   first call in the process:     {c['first']:.3f} s  ({c['first'] / c['floor']:.1f}x the floor)")
        print(f"   rerun in the process:          {c['rerun']:.3f} s  ({c['rerun'] / c['floor']:.1f}x the floor)"
              f"   split: {c['split']}")
        if f:
            print(f"   fresh process (wall):          {f['wall']:.3f} s  (import {f['import']:.2f} + read "
                  f"{f['read']:.2f} + call {f['call']:.2f})")
    if "memory" in results:
        m = results["memory"]
        print(f"\n2. memory: cold, {m['unique']:,} unique at 0 ms ({m['seconds']:.1f} s, {m['requests']:,} requests)")
        print(f"   peak RSS growth {m['peak_growth'] / MiB:.1f} MiB, output columns {m['columns'] / MiB:.1f} MiB: "
              f"{m['per_unique']:.0f} bytes per unique input above the output")
    if "throughput" in results:
        t = results["throughput"]
        print(f"\n3. throughput: cold, {t['unique']} unique / {t['rows']:,} rows, {t['latency'] * 1000:g} ms latency, "
              f"{t['concurrency']} in flight")
        print(f"   latency-bound limit:           {t['limit']:.3f} s")
        print(f"   floor (bare aiohttp, unique):  {t['floor']:.3f} s  ({t['floor'] / t['limit']:.2f}x the limit)")
        print(f"   hf_frame:                      {t['hf_frame']:.3f} s  ({t['hf_frame'] / t['limit']:.2f}x the limit, "
              f"{t['hf_frame'] / t['floor']:.2f}x the floor; {t['hf_frame_requests']} requests)")
        print(f"   AsyncInferenceClient + gather: {t['async_client']:.3f} s  "
              f"({t['async_client'] / t['hf_frame']:.1f}x hf_frame; {t['async_client_requests']} requests)")
    if "overload" in results:
        o = results["overload"]
        print(f"\n4. overload: {o['unique']:,} unique, {o['latency'] * 1000:g} ms latency, a server taking "
              f"{o['capacity']} at once")
        print(f"   concurrency 8, no limit:       {o['baseline']:.3f} s")
        print(f"   concurrency 32, 429 above 8:   {o['overloaded']:.3f} s  ({o['overloaded'] / o['baseline']:.2f}x; "
              f"{o['refused']} requests refused)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--parts", default="memory,cached,throughput,overload")
    parser.add_argument("--unique", type=int, default=100_000, help="unique texts of the cached and memory parts")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the cached part")
    parser.add_argument("--workers", type=int, default=2, help="server processes of the throughput part")
    parser.add_argument("--part", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    parser.add_argument("--frame", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part:  # a child: one part, its result as JSON on the last line
        print(json.dumps(PARTS[args.part](args)))
        return
    wanted = args.parts.split(",")
    results: dict = {}
    machine_line = machine()
    with tempfile.TemporaryDirectory() as tmp:
        cache = os.path.join(tmp, "cache")
        frame = os.path.join(tmp, "frame.parquet")
        if "memory" in wanted or "cached" in wanted:  # the memory part fills the cache the cached part reads
            results["memory"] = child("memory", args, ["--cache", cache])
        if "cached" in wanted:
            import pandas as pd

            pd.DataFrame({"text": texts(args.unique, args.rows)}).to_parquet(frame)
            url = results["memory"]["url"]
            results["cached"] = child("cached", args, ["--cache", cache, "--frame", frame, "--url", url])
            args.frame, args.cache, args.url = frame, cache, url
            results["fresh"] = fresh_process(args)
        for part in ("throughput", "overload"):
            if part in wanted:
                results[part] = child(part, args, [])
    if "memory" not in wanted:
        results.pop("memory", None)
    report(results, machine_line)


if __name__ == "__main__":
    main()
