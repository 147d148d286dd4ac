"""Peak memory of ``classify_image`` over a column of image paths.

Writes ROWS distinct files of SIZE bytes (a PNG signature, then random bytes: the fake hub does not
decode images) to a temporary folder, then runs ``df.hf.classify_image("path")`` against the
loopback fake hub (tests/fake_hub.py, in its own process so its memory is not counted) and reports:

* the peak of Python allocations during the call (``tracemalloc``, every thread),
* the growth of the process's peak resident set size (``VmHWM``) during the call,

next to the total size of the files: holding every image at once would need at least that much.
A file is read only when its request is about to go out (at most ``max_concurrency`` at once),
so the peak stays far below it.

    python benchmarks/media_memory.py [--rows 10000 --size 100000 --concurrency 32]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402
from _common import fake_hub_process, reset_peak_rss, status_kib  # noqa: E402

import hf_frame  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MiB = 1024 * 1024


def write_images(folder: Path, rows: int, size: int) -> list[str]:
    """``rows`` distinct files of ``size`` bytes each; returns their paths."""
    paths = []
    for i in range(rows):
        path = folder / f"img_{i:06d}.png"
        path.write_bytes(PNG_SIGNATURE + os.urandom(size - len(PNG_SIGNATURE)))
        paths.append(str(path))
    return paths


def run(rows: int = 10_000, size: int = 100_000, concurrency: int = 32, trace: bool = True) -> dict:
    """Run the measurement; returns the numbers it prints."""
    folder = Path(tempfile.mkdtemp(prefix="hf_frame_media_bench_"))
    try:
        paths = write_images(folder, rows, size)
        df = pd.DataFrame({"path": paths})
        with fake_hub_process() as base_url:
            hf_frame.configure(base_url=base_url, cache=False, progress=False, max_concurrency=concurrency,
                               token="hf_benchmark")
            # Warm up (client, loop, threads) on a few rows so the measurement is the column itself.
            df.head(8).hf.classify_image("path")
            rss_before = status_kib("VmRSS")
            reset_peak_rss()
            if trace:
                tracemalloc.start()
            start = time.perf_counter()
            out = df.hf.classify_image("path")
            seconds = time.perf_counter() - start
            traced_peak = tracemalloc.get_traced_memory()[1] if trace else None
            if trace:
                tracemalloc.stop()
            rss_peak = status_kib("VmHWM")
            run_info = hf_frame.last_run()
        failed = int(out["path_error"].notna().sum())
    finally:
        hf_frame.configure()
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "rows": rows, "file_bytes": size, "total_bytes": rows * size, "seconds": seconds,
        "requests": run_info.get("requests"), "failed": failed,
        "traced_peak_bytes": traced_peak,
        "rss_growth_bytes": None if rss_before is None or rss_peak is None else max(0, rss_peak - rss_before) * 1024,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=100_000, help="bytes per image file")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--no-tracemalloc", action="store_true", help="measure RSS only (tracemalloc slows the run)")
    args = parser.parse_args(argv)
    r = run(args.rows, args.size, args.concurrency, trace=not args.no_tracemalloc)
    print(f"classify_image over {r['rows']:,} image paths of {r['file_bytes'] / 1000:.0f} KB "
          f"({r['total_bytes'] / MiB:,.0f} MiB on disk), max_concurrency={args.concurrency}")
    print(f"  {r['requests']:,} requests, {r['failed']} failed rows, {r['seconds']:.1f} s")
    if r["traced_peak_bytes"] is not None:
        print(f"  peak Python allocations during the call (tracemalloc): {r['traced_peak_bytes'] / MiB:.1f} MiB")
    if r["rss_growth_bytes"] is not None:
        print(f"  peak RSS growth during the call (VmHWM - VmRSS before): {r['rss_growth_bytes'] / MiB:.1f} MiB")
    return r


if __name__ == "__main__":
    main()
