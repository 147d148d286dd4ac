"""The ``cache`` command: where answers are cached, how many, and ``--clear``."""

from __future__ import annotations

import argparse

from .base import EXIT_OK
from .flags import settings_from_args


def run_cache(args: argparse.Namespace) -> int:
    from ..runtime import cache_info, clear_cache

    settings = settings_from_args(args)
    removed = clear_cache(**settings) if args.clear else None  # first: --clear also mends a corrupt file
    info = cache_info(**settings)
    if info.get("path") is None:
        print("cache: off or in memory (nothing on disk)")
        return EXIT_OK
    if removed is not None:
        print(f"cache: removed {removed} answers from {info['path']}")
        return EXIT_OK
    print(f"cache: {info['entries']} answers, {info['bytes'] / 1e6:.1f} MB in {info['path']}")
    return EXIT_OK
