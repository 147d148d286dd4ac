"""The method commands: read the file, run one ``df.hf`` method over it, write or preview the result."""

from __future__ import annotations

import argparse
import os
import sys
import time

from .base import EXIT_OK, PROG, RunFailed, UsageError
from .files import file_format, read_frame, write_frame
from .flags import method_call, settings_from_args
from .render import _summary, format_table


def run_method(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if settings.get("progress") is False:
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if args.output:
        file_format(args.output)  # a bad output name fails before any work
    df = read_frame(args.input)
    if args.limit is not None:
        if args.limit < 0:
            raise UsageError("--limit must be >= 0")
        df = df.head(args.limit)
    positional, kwargs, used = method_call(args, [str(c) for c in df.columns])
    kwargs.update(settings)

    from ..adapters.pandas import run_job_on_frame
    from ..methods import METHODS

    job = METHODS[args.method](*positional, **kwargs)  # argument errors surface here, before any work
    if getattr(args, "dry_run", False):
        from ..adapters.pandas import dry_run_on_frame

        print(dry_run_on_frame(job, df))
        return EXIT_OK
    local = job.call.backend.kind == "local"
    if local and args.model is None:
        _note_default_local_model(job.call)
    start = time.perf_counter()
    out = run_job_on_frame(job, df)
    seconds = time.perf_counter() - start
    summary = _summary(args.method, len(df), seconds, local)
    new = [c for c in out.columns if c not in df.columns]
    _fail_when_every_row_failed(out, new, summary, args.output)
    if args.output:
        write_frame(out, args.output)
        print(f"{summary} -> {args.output} ({len(out)} rows, {len(out.columns)} columns)", file=sys.stderr)
        return EXIT_OK
    shown = [c for c in dict.fromkeys(used) if c in out.columns] + new
    if job.returns_rows:  # search, filter, top_k, join, agg: other rows, every column shown
        shown = list(out.columns)
        shown = [c for c in shown if c in new] + [c for c in shown if c not in new]
    n = len(out) if args.preview <= 0 else min(args.preview, len(out))
    rows = [[out[c].iloc[i] for c in shown] for i in range(n)]
    print(format_table(rows, [str(c) for c in shown], indent=""))
    if n < len(out):
        print(f"... {len(out) - n} more rows (write them all with -o FILE)")
    print(summary, file=sys.stderr)
    return EXIT_OK


def _fail_when_every_row_failed(out, new_columns: list, summary: str, output: str | None) -> None:
    """Raise RunFailed when no row with an input got an answer: exit status 1, and an earlier output
    file is not overwritten with nulls."""
    from ..runtime import last_run

    run = last_run()
    rows, failed = run.get("rows", 0), run.get("failed", 0)
    if not rows or failed < rows:
        return
    print(summary, file=sys.stderr)
    first = next((value for c in new_columns if str(c).endswith("_error") for value in out[c] if isinstance(value, str)),
                 None)
    written = f"; {output!r} was not written" if output else ""
    raise RunFailed(f"{run.get('method', 'the method')}: every row failed ({failed} of {rows} rows with an input)"
                    f"{written}" + (f". First error: {first}" if first else ""))


def _note_default_local_model(call) -> None:
    """Say which Hub model a local run without --model uses (only embeddings have an offline default)."""
    from ..backends.local import EMBEDDING_TASKS, minilm_path

    if call.task.name in EMBEDDING_TASKS and minilm_path() is not None:
        return
    if call.model and not os.path.isdir(os.path.expanduser(call.model)):
        print(f"{PROG}: note: no --model given: running the Hub model {call.model!r} locally; it loads from the "
              "Hugging Face cache (or is downloaded). Pass --model DIR for a model directory.", file=sys.stderr)
