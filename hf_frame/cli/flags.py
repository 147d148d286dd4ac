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


def _seed_value(text: str) -> int | str | None:
    """A generation seed: ``auto``, ``none`` or an integer."""
    low = text.strip().lower()
    if low in ("auto", "none", "null"):
        return "auto" if low == "auto" else None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected auto, none or an integer, got {text!r}") from None


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
        text = _SETTING_HELP.get(f.name, "")
        if isinstance(f.default, bool) and f.name != "cache":
            group.add_argument(flag, dest=f"setting_{f.name}", action=argparse.BooleanOptionalAction,
                               default=None, help=f"{text} (env {env}; default: {_default_text(f.default)})")
        else:
            group.add_argument(flag, dest=f"setting_{f.name}", metavar=_SETTING_METAVARS.get(f.name, "N"),
                               default=None, help=f"{text} (env {env}; default: {_default_text(f.default)})")


_SETTING_HELP = {
    "provider": "'auto' (the model's first Inference Provider), a provider name, or 'local' (this process)",
    "base_url": "the router URL (a mirror or a test server)",
    "endpoint": "a dedicated Inference Endpoint / TGI / TEI URL, posted to as it is",
    "max_concurrency": "requests in flight at once",
    "requests_per_minute": "a rate limit",
    "timeout": "seconds per request",
    "max_retries": "retries of transient failures",
    "retry_backoff": "base seconds of the exponential backoff between retries",
    "cache": "true/on (on-disk default), false/off, memory, a directory or .sqlite/.db file (a path "
             "containing '/', or an existing directory), or redis://host:port/db",
    "progress": "a progress bar on stderr",
    "errors": "failed rows: warn, raise (exit status 1) or ignore",
    "batch_size": "inputs per request where the API takes lists (every batchable task locally)",
    "wait_for_model": "on a 503 while a model loads, ask the server to hold the request",
    "device": "the torch device for --provider local (cuda, cuda:1, cpu, mps)",
    "max_media_bytes": "the largest image or audio file",
    "max_response_bytes": "the largest answer read from a server (a larger one is a row error)",
    "bill_to": "an organization billed for the requests (X-HF-Bill-To; also HF_BILL_TO)",
    "scale_up_timeout": "seconds an --endpoint scaled to zero may take to wake up ('none': no wait)",
    "max_requests": "a budget: the most requests the call may send ('none': no limit)",
    "max_tokens": "a budget: the most chat tokens (prompts and replies) the call may spend ('none': no limit)",
    "max_cost": "a budget in US dollars, where the router prices the model ('none': no limit)",
}
_SETTING_METAVARS = {
    "provider": "NAME", "base_url": "URL", "endpoint": "URL", "requests_per_minute": "N", "timeout": "SECONDS",
    "retry_backoff": "SECONDS", "cache": "WHERE", "errors": "MODE", "device": "DEVICE", "max_media_bytes": "BYTES",
    "max_response_bytes": "BYTES", "max_cost": "USD",
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
    """argparse keywords for a keyword parameter of a method, and what its value is when the docs
    say nothing about it."""
    ann, default = _annotation(param), param.default
    if param.name == "seed" and default == "auto":  # the generation methods' seed
        return {"type": _seed_value, "metavar": "auto|N|none"}, "auto, none or an integer"
    if isinstance(default, bool) and "str" not in ann:
        return {"action": argparse.BooleanOptionalAction}, "on or off"
    if ann.startswith("int") or (isinstance(default, int) and not isinstance(default, bool) and ann in ("", "int")):
        return {"type": _optional_int, "metavar": "N"}, "an integer"
    if ann.startswith("float"):
        return {"type": _optional_float, "metavar": "X"}, "a number"
    if ann.startswith("str") and "dict" not in ann:
        return {"type": str, "metavar": "TEXT"}, "a text"
    return {"type": parse_value, "metavar": "VALUE"}, "a text, or JSON"


def _default_text(value: Any) -> str:
    """A default as typed on the command line."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return "none" if value is None else str(value)


#: What a method's keyword parameter does, for methods whose docstring has no numpydoc
#: "Parameters" section (one there wins). Values are written as typed on the command line.
#: Every method in METHODS documents its parameters, so no entry is needed today.
PARAMETER_HELP: dict[str, str] = {}

#: --json-schema takes a file or inline JSON, not the Python objects the docstring lists.
_JSON_SCHEMA_HELP = ("a JSON Schema the reply must match, exploded into one typed column per field: a .json file, "
                     "@file or inline JSON")


def _keyword_help(param: inspect.Parameter, documented: dict[str, str], fallback: str) -> str:
    text = documented.get(param.name) or PARAMETER_HELP.get(param.name) or fallback
    default = param.default
    if default is inspect.Parameter.empty or default is None:
        return text
    return f"{text} (default: {_default_text(default)})"


_INPUT_HELP = {
    "column": "the input column",
    "other_column": "a second column, compared row by row with --column",
    "sentence": "a sentence compared with every row of --column",
    "question_column": "the column holding the questions (default: --column)",
    "question": "one question asked of every row",
    "context_column": "the column holding the contexts (default: --column)",
    "context": "one context for every row",
    "labels": "the candidate labels: a,b,c or a JSON array",
    "query": "the query",
    "prompt": "a column, or a template filled from each row such as 'Rate {product}: {review}' "
              "(default: --column)",
    "system": "a system message sent with every row",
    "k": "how many: the rows to return (top-k), the clusters (cluster)",
    "right": "join: the other file (.csv, .tsv, .parquet, .jsonl or .json), whose rows are paired with the input's",
    "by": "agg: the column(s) to group by, a,b (default: the whole file is one group)",
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
    "k": ("k",),
    "right": ("right",),
    "by": ("by",),
}
_INPUT_METAVARS = {"labels": "A,B,C", "prompt": "COLUMN|TEMPLATE", "k": "N", "right": "FILE", "by": "A,B"}


def _input_metavar(dest: str) -> str:
    return _INPUT_METAVARS.get(dest, "COLUMN" if dest.endswith("column") else "TEXT")


def split_parameters(params) -> tuple[list[inspect.Parameter], list[inspect.Parameter]]:
    """(leading input parameters, keyword parameters), without ``*args`` / ``**kwargs``."""
    leading, keywords = [], []
    for p in params:
        if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        (keywords if p.kind == p.KEYWORD_ONLY else leading).append(p)
    return leading, keywords


def method_parameters(function: Callable) -> tuple[list[inspect.Parameter], list[inspect.Parameter]]:
    """(leading input parameters, keyword parameters) of a job-building function."""
    return split_parameters(inspect.signature(function).parameters.values())


def _input_dests(command) -> list[str]:
    leading, _ = split_parameters(command.parameters)
    return [dest for param in leading for dest in _INPUT_FLAGS.get(param.name, ())]


def method_parser_options(command) -> dict[str, Any]:
    """``add_parser`` keywords of a method command (a :class:`catalog.Command`): its help line,
    usage and description. The flags come later, from :func:`add_method_flags`."""
    from .render import parse_docstring

    docs = parse_docstring(command.doc)
    input_flags = ["-c COLUMN"] + [f"--{d.replace('_', '-')} {_input_metavar(d)}" for d in _input_dests(command)]
    outputs = ["Output columns:", *docs.outputs] if docs.outputs else []
    return {"help": docs.summary or command.name, "description": "\n\n".join(docs.paragraphs + outputs) or None,
            "usage": f"%(prog)s INPUT {' '.join(f'[{f}]' for f in input_flags)} [-o OUTPUT] [options]",
            "epilog": "The token comes from HF_TOKEN or the 'huggingface-cli login' file, never from a flag."}


def add_method_flags(p: argparse.ArgumentParser, command) -> None:
    """The flags of a method command: input file and columns, the method's options, the settings."""
    from .render import parse_docstring

    docs = parse_docstring(command.doc)
    _, keywords = split_parameters(command.parameters)
    p.set_defaults(command="method", method=command.method, command_name=command.name)
    p.add_argument("input", metavar="INPUT", help="the input file: .csv, .tsv, .parquet, .jsonl or .json "
                   "(.gz, .bz2, .xz compression for the text formats)")
    p.add_argument("-o", "--output", metavar="OUTPUT", help="the output file, its format from its extension "
                   "(default: print a preview)")
    p.add_argument("-m", "--model", metavar="MODEL", help="a Hub model id, or a local directory with --provider local")
    p.add_argument("--prefix", metavar="TEXT", help="the output columns' prefix (default: the input column's name)")
    p.add_argument("--param", action="append", type=_key_value, default=[], metavar="KEY=VALUE",
                   help="an API parameter, repeatable; values are JSON when they parse (e.g. max_new_tokens=60)")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N rows of the input")
    p.add_argument("--preview", type=int, default=10, metavar="N", help="rows printed without -o (default: 10)")
    p.add_argument("--dry-run", action="store_true", help="print what the call would send and cost (rows, unique "
                   "inputs, cached, requests, tokens, price), and send nothing")

    group = p.add_argument_group("inputs")
    group.add_argument("-c", "--column", metavar="COLUMN", help=_INPUT_HELP["column"])
    for dest in _input_dests(command):
        kwargs: dict[str, Any] = {"dest": dest, "help": _INPUT_HELP.get(dest), "metavar": _input_metavar(dest)}
        if dest in ("labels", "by"):
            kwargs.update(type=_comma_list)
        if dest == "k":
            kwargs.update(type=int)
        group.add_argument(*(["-k"] if dest == "k" else []), "--" + dest.replace("_", "-"), **kwargs)
    options = p.add_argument_group(f"{command.name} options")
    for param in keywords:
        if param.name in _COMMON:
            continue
        flag = "--" + param.name.replace("_", "-")
        if param.name == "json_schema":
            options.add_argument(flag, dest="m_json_schema", type=_json_argument, metavar="FILE|JSON",
                                 default=argparse.SUPPRESS, help=_JSON_SCHEMA_HELP)
            continue
        kwargs, fallback = _flag_for(param)
        names = ["-k", flag] if param.name == "k" else [flag]
        # SUPPRESS: a flag not given leaves no attribute, so every value given (None too) is passed on.
        options.add_argument(*names, dest=f"m_{param.name}", default=argparse.SUPPRESS,
                             help=_keyword_help(param, docs.parameters, fallback), **kwargs)
    add_settings_flags(p)


def _operator_input(args: argparse.Namespace, name: str, required: Callable[[Any, str], Any]) -> Any:
    """Leading inputs given as they are: ``--system``, ``-k`` (top_k, cluster), ``--right FILE`` (join, read
    like the input), ``--by`` (agg)."""
    if name == "k":
        return required(args.k, "-k")
    if name == "right":
        from .files import read_frame

        return read_frame(required(args.right, "--right"))
    return getattr(args, name)


class _LeadingInputs:
    """Turns the command line's column and literal flags into a method's leading arguments."""

    def __init__(self, args: argparse.Namespace, columns: Sequence[str]) -> None:
        self.args, self.columns = args, columns
        self.used: list[str] = []
        # leading parameter name -> how the command line gives it
        self.handlers: dict[str, Callable[[], Any]] = {
            "col": self.main_column, "a": self.main_column,
            "image": self.main_column, "audio": self.main_column, "text": self.main_column,
            "b": lambda: self.column_or_literal("other_column", "sentence", fallback_to_column=False),
            "question": lambda: self.column_or_literal("question_column", "question", fallback_to_column=True),
            "context": lambda: self.column_or_literal("context_column", "context", fallback_to_column=True),
            "labels": lambda: self.required(args.labels, "--labels"),
            "query": lambda: self.required(args.query, "--query"),
            "prompt": self.prompt,
            # leading inputs given as they are: -k (top_k, cluster), --right FILE (join), --by (agg)
            "system": lambda: _operator_input(args, "system", self.required),
            "k": lambda: _operator_input(args, "k", self.required),
            "right": lambda: _operator_input(args, "right", self.required),
            "by": lambda: _operator_input(args, "by", self.required),
        }

    def required(self, value: Any, flag: str) -> Any:
        if value is None:
            raise UsageError(f"{self.args.method}: {flag} is required")
        return value

    def column(self, name: Any, flag: str) -> Any:
        """A name given as a column must be one (the library would take an unknown name as a literal)."""
        if name is not None and name not in self.columns:
            raise UsageError(f"{self.args.method}: {flag} {name!r} is not a column of the input; "
                             f"it has {list(self.columns)}")
        if name is not None:
            self.used.append(name)
        return name

    def main_column(self) -> Any:
        return self.column(self.required(self.args.column, "--column"), "--column")

    def column_or_literal(self, column_flag: str, literal_flag: str, fallback_to_column: bool) -> Any:
        args = self.args
        named, literal = getattr(args, column_flag, None), getattr(args, literal_flag, None)
        flags = f"--{column_flag.replace('_', '-')}", f"--{literal_flag.replace('_', '-')}"
        if named is not None and literal is not None:
            raise UsageError(f"{args.method}: give {flags[0]} or {flags[1]}, not both")
        if named is not None:
            return self.column(named, flags[0])
        if literal is not None:
            return literal
        if fallback_to_column and args.column is not None:
            return self.column(args.column, "--column")
        raise UsageError(f"{args.method}: {' or '.join(flags)}{' or --column' if fallback_to_column else ''} is required")

    def prompt(self) -> Any:
        """A column or a template: the library tells them apart."""
        args = self.args
        if args.prompt is None:
            return self.column(self.required(args.column, "--prompt or --column"), "--column")
        if args.prompt in self.columns:
            self.used.append(args.prompt)
        return args.prompt

    def values(self, leading: Sequence[inspect.Parameter]) -> list[Any]:
        positional: list[Any] = []
        for param in leading:
            handler = self.handlers.get(param.name)
            if handler is None:
                if param.name != "table" and param.default is inspect.Parameter.empty:
                    raise UsageError(f"{self.args.method}: the command line cannot give its {param.name!r} argument")
                break  # table_qa: the table is the file itself (minus the question column)
            positional.append(handler())
        # A trailing run of None values (optional inputs not given) is left to the defaults.
        while positional and positional[-1] is None and leading[len(positional) - 1].default is not inspect.Parameter.empty:
            positional.pop()
        return positional


def method_call(args: argparse.Namespace, columns: Sequence[str]) -> tuple[list[Any], dict[str, Any], list[str]]:
    """(positional arguments, keyword arguments, input columns used) for ``args.method``."""
    from ..methods import METHODS

    function = METHODS[args.method]
    leading, keywords = method_parameters(function)
    inputs = _LeadingInputs(args, columns)
    positional = inputs.values(leading)
    used = inputs.used

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
