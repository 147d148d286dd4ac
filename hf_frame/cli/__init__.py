"""The ``hf-frame`` command: run any hf_frame method over a CSV, Parquet or JSONL file.

::

    hf-frame classify reviews.csv --column review -o reviews_labelled.parquet
    hf-frame zero_shot reviews.csv --column review --labels price,quality,delivery -o out.csv
    hf-frame qa faq.jsonl --question-column question --context-column answer_text
    hf-frame embed reviews.csv --column review --provider local -o vectors.parquet
    hf-frame search reviews.csv --column review --query "arrived broken" -k 5 --provider local
    hf-frame demo                     # offline: semantic search and similarity on bundled reviews
    hf-frame cache [--clear]          # where answers are cached, and how many

Every method of ``df.hf`` is a subcommand (``zero_shot`` or ``zero-shot``). Its keyword
arguments are flags (``top_k`` -> ``--top-k``), ``--param key=value`` adds API parameters, and
every setting is a flag (``--provider``, ``--base-url``, ``--max-concurrency``, ``--cache``...)
that falls back to its ``HF_FRAME_*`` environment variable, as in the library. The token comes
from ``HF_TOKEN`` or the ``huggingface-cli login`` file, never from the command line.

Formats follow the file extension: ``.csv``, ``.tsv``, ``.parquet``, ``.jsonl``/``.ndjson``,
``.json`` (an array of records); ``.gz``/``.bz2``/``.xz`` compression works for the text
formats. Parquet keeps every output type; CSV and TSV hold nested outputs (lists, structs,
embeddings) as JSON text. Without ``-o`` a preview of the outputs is printed.

Runs are resumable: answers are cached on disk as they arrive (unless ``--cache false``), so an
interrupted or failed run, started again, only computes what is missing.

Exit status: 0 success (rows that failed are reported and have an ``_error``), 1 the run failed
(``--errors raise`` with failed rows, a bad token, an unknown model...), 2 usage error (bad
flags, unknown column, unreadable file), 130 interrupted.
"""

from __future__ import annotations

from .base import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, PROG, UsageError
from .demo import DEMO_QUERIES, DEMO_REFERENCE
from .files import COMPRESSIONS, FORMATS, file_format, read_frame, write_frame
from .flags import add_settings_flags, method_call, method_parameters, parse_value, settings_from_args
from .main import build_parser, main
from .render import format_table

__all__ = [
    "COMPRESSIONS",
    "DEMO_QUERIES",
    "DEMO_REFERENCE",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "FORMATS",
    "PROG",
    "UsageError",
    "add_settings_flags",
    "build_parser",
    "file_format",
    "format_table",
    "main",
    "method_call",
    "method_parameters",
    "parse_value",
    "read_frame",
    "settings_from_args",
    "write_frame",
]
