"""Command-line flags: values, settings flags, and the flags generated from method signatures."""

from __future__ import annotations

import argparse
import inspect
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from .base import UsageError

#: Settings that are not flags: the token stays out of the shell history and ``ps``.
_HIDDEN_SETTINGS = ("token", "client", "transport")

#: Method parameters the CLI fills itself (not generated flags).
_COMMON = ("model", "parameters", "prefix")


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
    from ..config import Settings

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
    "cache": "true/on (on-disk default), false/off, memory, a directory or .sqlite/.db file (a path "
             "containing '/', or an existing directory), or redis://host:port/db",
    "errors": "failed rows: warn, raise (exit 1) or ignore",
    "batch_size": "inputs per request where the API takes lists (every batchable task locally)",
    "device": "torch device for --provider local (cuda, cuda:1, cpu, mps)",
    "max_media_bytes": "largest image/audio file",
}


def settings_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given as flags, parsed exactly like their environment variables."""
    from ..config import _from_env
    from ..errors import ConfigError

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
    if isinstance(out.get("cache"), str):
        out["cache"] = cache_location(out["cache"])
    return out


#: What ``--cache`` takes besides true/on, false/off and memory.
CACHE_URL_SCHEMES = ("redis://", "rediss://", "unix://")
CACHE_FILE_SUFFIXES = (".sqlite", ".db")
CACHE_VALUES = ("true/on (the on-disk default), false/off (no cache), memory, a path containing '/' "
                "(./answers, ~/cache, /data/answers.sqlite), a file name ending .sqlite or .db, an existing "
                "directory, or a redis://, rediss:// or unix:// URL")


def cache_location(text: str) -> str:
    """A ``--cache`` value that is not a boolean, checked: a bare word that is not an existing
    directory is refused rather than made into one (``--cache maybe`` would create ``./maybe``)."""
    if text.lower() == "memory":
        return "memory"
    separators = tuple(s for s in (os.sep, os.altsep, "/") if s)
    if (text.startswith(CACHE_URL_SCHEMES) or any(s in text for s in separators)
            or text.lower().endswith(CACHE_FILE_SUFFIXES) or os.path.isdir(os.path.expanduser(text))):
        return text
    raise UsageError(f"--cache {text!r} is not a cache setting or a path; use {CACHE_VALUES}")


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
        return {"action": argparse.BooleanOptionalAction}, shown.strip()
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
                                 default=argparse.SUPPRESS, help="a JSON Schema: a .json file, @file or inline JSON")
            continue
        kwargs, text = _flag_for(param)
        names = [flag, "-k"] if param.name == "k" else [flag]
        # SUPPRESS: a flag not given leaves no attribute, so every value given (None too) is passed on.
        options.add_argument(*names, dest=f"m_{param.name}", help=text, default=argparse.SUPPRESS, **kwargs)
    add_settings_flags(p)


def method_call(args: argparse.Namespace, columns: Sequence[str]) -> tuple[list[Any], dict[str, Any], list[str]]:
    """(positional arguments, keyword arguments, input columns used) for ``args.method``."""
    from ..methods import METHODS

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
        if name in ("col", "a"):
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
        if hasattr(args, f"m_{param.name}"):  # given on the command line ('none' included)
            kwargs[param.name] = getattr(args, f"m_{param.name}")
    if args.model:
        kwargs["model"] = args.model
    if args.prefix:
        kwargs["prefix"] = args.prefix
    if args.param:
        kwargs["parameters"] = dict(args.param)
    return positional, kwargs, used
