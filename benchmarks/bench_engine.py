"""hf_frame against huggingface_hub on one workload, in one process, over loopback HTTP.

The workload: ROWS texts of which UNIQUE are distinct (duplicates, as real columns have),
text-classification, a server answering every request after LATENCY seconds (tests/fake_hub.py).
Contenders:

* ``InferenceClient``: one row at a time, as a loop over a column does.
* ``AsyncInferenceClient`` + ``asyncio.gather``: every row at once, no dedup, no limit.
* hf_frame (cold cache): over its default wire (raw aiohttp), and through httpx (stock pool; httpx-aiohttp).
* hf_frame again (warm cache: a rerun of the same cell).
* the floor: a bare aiohttp loop sending each unique input once (no cache, retries, parsing):
  what this server and machine allow at that concurrency. On 2 cores the Python test server is
  the bottleneck at high concurrency, which is why the floor, not only the limit, is printed.

It prints wall times, requests sent, the ratio of each to hf_frame, and the latency-bound
limit: unique x latency / concurrency (the best any client sending each unique input once, with
that many requests in flight, can do).

    python benchmarks/bench_engine.py [--rows 2000 --unique 1000 --latency 0.02 --concurrency 32]
                                      [--server fakehub|lean]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from contextlib import contextmanager

import httpx
import pandas as pd
from _common import fake_hub_process

import hf_frame  # noqa: F401  (registers DataFrame.hf)

MODEL = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"


def workload(rows: int, unique: int) -> list[str]:
    return [f"review number {i % unique}: it was good" for i in range(rows)]


class RemoteHub:
    """The fake hub in its own process, so the server does not compete with the client for the GIL."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def count(self) -> int:
        return httpx.get(f"{self.base_url}/_fakehub/count").json()["requests"]

    def reset(self) -> None:
        httpx.delete(f"{self.base_url}/_fakehub/count")


@contextmanager
def remote_hub(latency: float, lean: bool = False):
    """The fake hub (or the lean benchmark server) in a child process, with a readable counter."""
    with fake_hub_process(latency, lean=lean) as url:
        yield RemoteHub(url)


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--unique", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--sequential-rows", type=int, default=500,
                        help="rows for the one-at-a-time InferenceClient (it is slow); its time is scaled to --rows")
    parser.add_argument("--server", choices=["fakehub", "lean"], default="fakehub",
                        help="fakehub: tests/fake_hub.py (the integration-test server); lean: benchmarks/lean_hub.py, "
                             "a minimal server that is not itself the bottleneck on 2 cores")
    args = parser.parse_args()

    from huggingface_hub import AsyncInferenceClient, InferenceClient

    texts = workload(args.rows, args.unique)
    df = pd.DataFrame({"review": texts})
    results: dict[str, tuple[float, int]] = {}

    with remote_hub(args.latency, lean=args.server == "lean") as hub, tempfile.TemporaryDirectory() as tmp:
        url = f"{hub.base_url}/hf-inference/models/{MODEL}"

        # -- huggingface_hub, one row at a time (a sample, scaled: the loop is linear) ---------
        client = InferenceClient(model=url, token="hf_bench")
        sample = texts[: args.sequential_rows]
        hub.reset()
        elapsed = timed(lambda: [client.text_classification(t) for t in sample])
        results["InferenceClient, row by row"] = (elapsed * args.rows / len(sample), round(hub.count() * args.rows / len(sample)))

        # -- huggingface_hub async, everything at once ----------------------------------------
        async def gather_all():
            aclient = AsyncInferenceClient(model=url, token="hf_bench")
            await asyncio.gather(*[aclient.text_classification(t) for t in texts])

        hub.reset()
        results["AsyncInferenceClient + gather"] = (timed(lambda: asyncio.run(gather_all())), hub.count())

        # -- the floor: a bare aiohttp loop sending each unique input once, nothing else ----------
        async def floor():
            import aiohttp

            gate = asyncio.Semaphore(args.concurrency)
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=args.concurrency)) as session:
                async def one(text):
                    async with gate, session.post(url, json={"inputs": text}) as response:
                        await response.read()

                await asyncio.gather(*[one(t) for t in dict.fromkeys(texts)])

        hub.reset()
        results["floor: bare aiohttp, unique only"] = (timed(lambda: asyncio.run(floor())), hub.count())

        # -- hf_frame ---------------------------------------------------------------------------
        common = dict(base_url=hub.base_url, token="hf_bench", progress=False, max_concurrency=args.concurrency)
        from httpx_aiohttp import AiohttpTransport

        pool = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
        for label, extra in [("hf_frame over httpx stock pool", {"transport": httpx.AsyncHTTPTransport(limits=pool)}),
                             ("hf_frame over httpx-aiohttp", {"transport": AiohttpTransport(limits=pool)}),
                             ("hf_frame (default: raw aiohttp)", {})]:
            cache = os.path.join(tmp, label.replace(" ", "_"))
            hub.reset()
            results[label] = (timed(lambda cache=cache, extra=extra: df.hf.classify(
                "review", model=MODEL, cache=cache, **common, **extra)), hub.count())
        hub.reset()
        cache = os.path.join(tmp, "hf_frame_(default:_raw_aiohttp)")
        results["hf_frame, rerun (warm cache)"] = (timed(lambda: df.hf.classify("review", model=MODEL, cache=cache, **common)), hub.count())

    limit = args.unique * args.latency / args.concurrency
    ours = results["hf_frame (default: raw aiohttp)"][0]
    print(f"server: {args.server}; workload: {args.rows} rows, {args.unique} unique, {args.latency * 1000:g} ms latency, "
          f"concurrency {args.concurrency} (InferenceClient timed on {args.sequential_rows} rows, scaled)")
    print(f"latency-bound limit: unique x latency / concurrency = {limit:.3f} s")
    print(f"{'contender':34} {'seconds':>9} {'requests':>9} {'x hf_frame':>11}")
    for name, (seconds, requests) in results.items():
        print(f"{name:34} {seconds:9.3f} {requests:9d} {seconds / ours:10.1f}x")
    floor_s = results["floor: bare aiohttp, unique only"][0]
    print(f"hf_frame / limit = {ours / limit:.2f}x; hf_frame / floor = {ours / floor_s:.2f}x "
          "(the floor is what this server allows a client with no cache, dedup or retries)")


if __name__ == "__main__":
    main()
