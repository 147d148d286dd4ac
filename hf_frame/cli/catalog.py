"""The method commands as data: names, docstrings and signatures, read without importing the methods.

Building the argument parser needs every method's docstring and keyword parameters, but importing
the methods brings pyarrow, httpx and aiohttp (and the adapters pandas and polars), most of the
start-up time of ``hf-frame --help``. So the parser is built from ``commands.json``, a copy of what
:func:`build` introspects from :data:`hf_frame.methods.METHODS`. Running a method still calls the
real function with its real signature; ``tests/test_cli_help.py`` fails when the file is stale and
rewrites it (with the help snapshots) under ``HF_FRAME_UPDATE_SNAPSHOTS=1``.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

CATALOG_FILE = Path(__file__).with_name("commands.json")


@dataclass(frozen=True)
class Command:
    """One method command: the method's name (``zero_shot``), its docstring and its parameters."""

    method: str
    doc: str
    parameters: tuple[inspect.Parameter, ...]

    @property
    def name(self) -> str:
        """The command as typed: ``zero-shot`` (``zero_shot`` is accepted too)."""
        return self.method.replace("_", "-")


class _Shown:
    """A default that JSON cannot hold, kept as its repr (only ever displayed)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _param_record(p: inspect.Parameter) -> dict[str, Any]:
    annotation = p.annotation
    record: dict[str, Any] = {
        "name": p.name,
        "kind": p.kind.name,
        "annotation": "" if annotation is p.empty else annotation if isinstance(annotation, str)
        else getattr(annotation, "__name__", str(annotation)),
    }
    if p.default is not p.empty:
        default = p.default
        json_safe = default is None or isinstance(default, (bool, int, float, str))
        record["default"] = default if json_safe else {"repr": repr(default)}
    return record


def _parameter(record: dict[str, Any]) -> inspect.Parameter:
    default = record.get("default", inspect.Parameter.empty)
    if isinstance(default, dict):
        default = _Shown(default["repr"])
    annotation = record["annotation"] or inspect.Parameter.empty
    return inspect.Parameter(record["name"], getattr(inspect.Parameter, record["kind"]), default=default,
                             annotation=annotation)


def build() -> dict[str, Any]:
    """The catalog introspected from the methods themselves (imports them)."""
    from ..methods import METHODS

    commands = {}
    for method in sorted(METHODS):
        function = METHODS[method]
        params = [p for p in inspect.signature(function).parameters.values()
                  if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
        commands[method] = {"doc": inspect.getdoc(function) or "", "parameters": [_param_record(p) for p in params]}
    return {"commands": commands}


def write(path: Path = CATALOG_FILE) -> None:
    """Rewrite the catalog file from the methods."""
    path.write_text(json.dumps(build(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


@lru_cache(maxsize=1)
def commands() -> dict[str, Command]:
    """Method name -> :class:`Command`, from the catalog file."""
    data = json.loads(CATALOG_FILE.read_text(encoding="utf-8"))
    return {method: Command(method, entry["doc"], tuple(_parameter(r) for r in entry["parameters"]))
            for method, entry in data["commands"].items()}
