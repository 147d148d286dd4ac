"""Peak memory of ``embed`` building a ``rows x dim`` float32 column.

The column itself is ``rows * dim * 4`` bytes (100k x 384: 146 MiB; 1M x 384: 1.4 GiB). hf_frame
builds it without a Python float for the whole column: vectors stay numpy float32 from the wire
(or the cache's raw bytes) to one ``(rows, dim)`` matrix that arrow wraps without a copy. For
comparison the benchmark also builds the same column the naive way, from a Python list of float
lists (``pa.array(list_of_lists)``), which needs ~32 bytes a float before arrow copies it.

Each measurement runs in a fresh child process (so RSS numbers are not inherited from an earlier
phase), after a warm-up call:

* ``fresh``: every row sent (``cache=False``);
* ``cached``: every vector read back from the SQLite cache (filled beforehand; no request);
* ``naive``: ``pa.array`` over a list of Python float lists of the same size, for comparison;

reporting wall time, the peak of Python allocations (``tracemalloc``, all threads, numpy
included; a second run of the child, as tracemalloc slows it down) and the growth of the process's
peak RSS (``VmHWM`` - ``VmRSS`` before; Linux). Two servers, each in its own process:

* ``--server bank`` (default): a small aiohttp server answering like TEI ``/embed`` (JSON floats)
  and OpenAI ``/v1/embeddings`` (base64) from a bank of 4,096 precomputed vectors: fast;
* ``--server fakehub``: ``tests/fake_hub.py`` (slower: it computes every vector, ~0.3 ms each).

    python benchmarks/embed_memory.py [--rows 100000 --dim 384 --api tei|openai --server bank|fakehub]
"""

from __future__ import annotations

import argparse
import base64
import gc
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import child_server, fake_hub_process, reset_peak_rss, status_kib  # noqa: E402

MiB = 1024 * 1024
BANK = 4096


# ---------------------------------------------------------------------------------------------
# the bank server (its own process)


def serve_bank(dim: int) -> None:
    """TEI ``/embed`` (2-D JSON) and OpenAI ``/v1/embeddings`` (base64) from a bank of vectors."""
    import asyncio

    import numpy as np
    from aiohttp import web

    rng = np.random.default_rng(0)
    bank = rng.standard_normal((BANK, dim)).astype(np.float32)
    bank /= np.linalg.norm(bank, axis=1, keepdims=True)
    as_json = [json.dumps(np.round(v, 6).tolist()) for v in bank]
    as_b64 = [base64.b64encode(v.astype("<f4").tobytes()).decode() for v in bank]

    def pick(text: str) -> int:
        return zlib.crc32(text.encode()) % BANK

    async def embed(request: web.Request) -> web.Response:
        texts = (await request.json())["inputs"]
        return web.Response(text="[" + ",".join(as_json[pick(t)] for t in texts) + "]", content_type="application/json")

    async def openai(request: web.Request) -> web.Response:
        texts = (await request.json())["input"]
        data = ",".join(f'{{"object":"embedding","index":{i},"embedding":"{as_b64[pick(t)]}"}}'
                        for i, t in enumerate(texts))
        return web.Response(text=f'{{"object":"list","data":[{data}],"model":"bench"}}',
                            content_type="application/json")

    async def main() -> None:
        app = web.Application(client_max_size=64 * MiB)
        app.router.add_post("/embed", embed)
        app.router.add_post("/v1/embeddings", openai)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        print(f"http://127.0.0.1:{port}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def server(kind: str, dim: int):
    """Start the chosen server in a child process; yields its base URL."""
    if kind == "bank":
        return child_server([sys.executable, __file__, "--serve-bank", "--dim", str(dim)])
    return fake_hub_process()


# ---------------------------------------------------------------------------------------------
# one phase (its own process)


def measure(fn, trace: bool) -> dict:
    """Seconds, tracemalloc peak and RSS growth of ``fn()``."""
    gc.collect()
    rss_before = status_kib("VmRSS")
    reset_peak_rss()
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    traced = tracemalloc.get_traced_memory()[1] if trace else None
    if trace:
        tracemalloc.stop()
    peak = status_kib("VmHWM")
    rss = None if rss_before is None or peak is None else max(0, peak - rss_before) * 1024
    return {"seconds": seconds, "traced_peak": traced, "rss_growth": rss}


def phase(name: str, rows: int, dim: int, api: str, url: str, cache_dir: str, trace: bool) -> dict:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    import hf_frame

    if name == "naive":  # the column built the naive way, for comparison
        matrix = np.random.default_rng(1).standard_normal((rows, dim)).astype(np.float32)
        return measure(lambda: pa.array(matrix.tolist(), type=pa.list_(pa.float32(), dim)), trace)

    texts = [f"document number {i} about topic {i % 97}" for i in range(rows)]
    df = pd.DataFrame({"t": texts})
    flavour = {"api": "openai", "encoding_format": "base64"} if api == "openai" else {"api": "tei"}
    cache = False if name == "fresh" else cache_dir
    kwargs = dict(endpoint=url, progress=False, token="hf_benchmark", max_concurrency=32, cache=cache, **flavour)
    pd.DataFrame({"t": ["warm up", "the client"]}).hf.embed("t", **{**kwargs, "cache": False})
    out: dict = {}

    def call() -> None:
        result = df.hf.embed("t", **kwargs)
        column = result["t_embedding"]
        assert str(column.dtype) == f"fixed_size_list<item: float>[{dim}][pyarrow]", column.dtype
        assert column.notna().all()
        out["requests"] = hf_frame.last_run()["requests"]

    numbers = measure(call, trace)
    return {**numbers, **out}


def child(name: str, args: argparse.Namespace, url: str, cache_dir: str, trace: bool) -> dict:
    cmd = [sys.executable, __file__, "--phase", name, "--rows", str(args.rows), "--dim", str(args.dim),
           "--api", args.api, "--url", url, "--cache-dir", cache_dir] + ([] if trace else ["--no-tracemalloc"])
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(args: argparse.Namespace) -> dict:
    result: dict = {"rows": args.rows, "dim": args.dim, "api": args.api, "server": args.server,
                    "column_bytes": args.rows * args.dim * 4}
    cache_dir = tempfile.mkdtemp(prefix="hf_frame_embed_bench_")
    with server(args.server, args.dim) as url:
        child("fill", args, url, cache_dir, trace=False)  # fills the SQLite cache for "cached"
        for name in ("fresh", "cached", "naive"):
            numbers = child(name, args, url, cache_dir, trace=False)  # time and RSS without tracemalloc
            if not args.no_tracemalloc:
                numbers["traced_peak"] = child(name, args, url, cache_dir, trace=True)["traced_peak"]
            result[name] = numbers
    return result


def _mib(x: int | None) -> str:
    return "n/a" if x is None else f"{x / MiB:,.0f} MiB"


def main(argv: list[str] | None = None) -> dict | None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--api", choices=("tei", "openai"), default="tei", help="tei: JSON floats; openai: base64")
    parser.add_argument("--server", choices=("bank", "fakehub"), default="bank")
    parser.add_argument("--no-tracemalloc", action="store_true", help="time and RSS only")
    parser.add_argument("--serve-bank", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--phase", choices=("fill", "fresh", "cached", "naive"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--cache-dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_bank:
        serve_bank(args.dim)
        return None
    if args.phase:
        name = "cached" if args.phase == "fill" else args.phase
        numbers = phase(name, args.rows, args.dim, args.api, args.url, args.cache_dir, not args.no_tracemalloc)
        print(json.dumps(numbers))
        return numbers
    r = run(args)
    print(f"embed {r['rows']:,} rows x {r['dim']} dims via api={r['api']!r} ({r['server']} server); "
          f"the float32 column is {_mib(r['column_bytes'])}")
    labels = {"fresh": "fresh (every row sent)", "cached": "from the SQLite cache", "naive": "naive list-of-floats column"}
    for name, label in labels.items():
        p = r[name]
        requests = f"{p['requests']:>6,} requests" if "requests" in p else " " * 15
        print(f"  {label:<28}{requests} {p['seconds']:6.1f} s   peak RSS growth {_mib(p['rss_growth']):>9}"
              f"   tracemalloc peak {_mib(p.get('traced_peak')):>9}")
    return r


if __name__ == "__main__":
    main()
