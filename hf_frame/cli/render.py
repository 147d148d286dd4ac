"""Printing: aligned text tables, the one-line run summary, and help text made from docstrings."""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import textwrap
from dataclasses import dataclass, field
from typing import Any

from .files import _plain


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
    from ..runtime import last_run

    run = last_run()
    unit = "batches" if local else "requests"
    inner = [f"{run.get('rows', 0)} with input"]
    if "unique" in run:
        inner.append(f"{run['unique']} unique")
    return (f"{method}: {n_rows} rows ({', '.join(inner)}): {run.get('cached', 0)} cached, "
            f"{run.get('requests', 0)} {unit}, {run.get('failed', 0)} failed in {seconds:.1f} s")


# ---------------------------------------------------------------------------------------------
# help text from docstrings

_ROLE = re.compile(r":[\w:.-]+:`(~?)([^`]+)`")  # :func:`embed`, :py:func:`~hf_frame.decode_mask`
_LITERAL = re.compile(r"``(.+?)``")
_INTERPRETED = re.compile(r"(?<![\w`])`([^`]+)`_{0,2}(?![\w`])")
_BULLET = re.compile(r"^[*-] ")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "cf.", "approx.", "resp.", "no.")
_SUMMARY_BUDGET = 100  # characters: sentences are added to the first one while they fit


def _role_text(match: re.Match) -> str:
    tilde, target = match.groups()
    title = re.match(r"(.*?)\s*<[^>]*>$", target)  # :ref:`text <target>` shows the text
    if title:
        return title.group(1)
    return target.rsplit(".", 1)[-1] if tilde else target


def plain_text(text: str) -> str:
    """reStructuredText inline markup as plain text: ``code``, :func:`name`, `ref`_ lose their marks."""
    text = _ROLE.sub(_role_text, text)
    text = _LITERAL.sub(r"\1", text)
    return _INTERPRETED.sub(r"\1", text)


def paragraphs(lines: list[str]) -> list[str]:
    """Docstring lines -> paragraphs of one line each, without doctest examples; a bullet item is a
    paragraph starting ``* ``. A paragraph ending ``::`` (a literal block follows) ends ``:``."""
    out: list[str] = []
    current: list[str] = []
    in_doctest = False

    def flush() -> None:
        if current:
            text = plain_text(" ".join(current))
            out.append(text[:-1] if text.endswith("::") else text)
            current.clear()

    for raw in lines:
        line = raw.strip()
        if line.startswith(">>>") or (in_doctest and line.startswith("...")):
            in_doctest = True
            flush()
            continue
        in_doctest = False
        if not line:
            flush()
        elif _BULLET.match(line):
            flush()
            current.append("* " + line[2:].strip())
        else:
            current.append(line)
    flush()
    return [p for p in out if p and p != "*"]


def sentences(text: str) -> list[str]:
    """Split a paragraph after '.', '!' or '?' followed by a space and a capital, a digit or a quote,
    outside brackets and quotes and not after a common abbreviation (e.g., i.e.)."""
    out, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'" and (i == 0 or not text[i - 1].isalnum()):
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        elif ch in ".!?" and depth == 0 and text[i + 1 : i + 2] == " ":
            rest = text[i + 1 :].lstrip()
            word = text[start : i + 1].rsplit(" ", 1)[-1].lower()
            starts = rest[:1].isupper() or rest[:1].isdigit() or rest[:1] in "\"'(`"
            if starts and word not in _ABBREVIATIONS:
                out.append(text[start : i + 1].strip())
                start = i + 1
    tail = text[start:].strip()
    return out + ([tail] if tail else [])


def summary_of(paragraph: str, budget: int = _SUMMARY_BUDGET) -> str:
    """The first sentence, and the next ones while the whole stays within ``budget`` characters."""
    parts = sentences(paragraph)
    if not parts:
        return ""
    text = parts[0]
    for sentence in parts[1:]:
        if len(text) + 1 + len(sentence) > budget:
            break
        text += " " + sentence
    return text


@dataclass
class Docs:
    """A docstring taken apart for the command line."""

    summary: str = ""
    paragraphs: list[str] = field(default_factory=list)
    parameters: dict[str, str] = field(default_factory=dict)  # numpydoc "Parameters": name -> description
    outputs: list[str] = field(default_factory=list)  # the "* ..." items of numpydoc "Returns"


def _sections(lines: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """(lines before the first numpydoc section, section title -> its lines)."""
    intro: list[str] = []
    sections: dict[str, list[str]] = {}
    target = intro
    i = 0
    while i < len(lines):
        title, rule = lines[i].strip(), lines[i + 1].strip() if i + 1 < len(lines) else ""
        if title and rule and set(rule) == {"-"} and len(rule) >= len(title) - 1:
            target = sections.setdefault(title.lower(), [])
            i += 2
            continue
        target.append(lines[i])
        i += 1
    return intro, sections


def _numpydoc_parameters(lines: list[str]) -> dict[str, str]:
    """``name : type`` entries with their indented descriptions -> name -> one-line description."""
    entries: dict[str, list[str]] = {}
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    base = min(indents, default=0)
    names: list[str] = []
    for line in lines:
        if not line.strip():
            for name in names:
                entries[name].append("")
            continue
        if len(line) - len(line.lstrip()) == base:
            head = line.strip().split(" : ", 1)[0].rstrip(":").strip()
            names = [n.strip().lstrip("*") for n in head.split(",") if n.strip()]
            for name in names:
                entries[name] = []
        else:
            for name in names:
                entries[name].append(line)
    return {name: " ".join(paragraphs(text)) for name, text in entries.items() if paragraphs(text)}


def parse_docstring(doc: str) -> Docs:
    """Summary (whole sentences), paragraphs before the numpydoc sections, per-parameter text, and
    the bullet items of the Returns section (a method's output columns)."""
    intro, sections = _sections(doc.splitlines())
    parts = paragraphs(intro)
    summary = summary_of(parts[0]) if parts else ""
    outputs = [p for p in paragraphs(sections.get("returns", [])) if p.startswith("* ")]
    return Docs(summary=summary, paragraphs=parts, parameters=_numpydoc_parameters(sections.get("parameters", [])),
                outputs=outputs)


class HelpFormatter(argparse.HelpFormatter):
    """argparse's layout with the text wrapped by paragraph (bullets kept), and option lists written
    ``-c, --column COLUMN`` on every Python version, so help output is the same everywhere."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 28,
                 width: int | None = None, **kwargs: Any) -> None:
        super().__init__(prog, indent_increment, max_help_position, width, **kwargs)

    def _format_usage(self, usage, actions, groups, prefix) -> str:
        if usage is None:
            return super()._format_usage(usage, actions, groups, prefix)
        # A usage written out: wrapped here, never inside a [bracketed group].
        prefix = "usage: " if prefix is None else prefix
        text = usage % {"prog": self._prog}
        protected = re.sub(r"\[[^\]]*\]", lambda m: m.group(0).replace(" ", "\0"), text)
        indent = " " * (len(prefix) + len(self._prog) + 1)
        lines = textwrap.wrap(protected, max(self._width - len(prefix), 40), subsequent_indent=indent,
                              break_on_hyphens=False)
        return prefix + "\n".join(lines).replace("\0", " ") + "\n\n"

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        get_subactions = getattr(action, "_get_subactions", None)
        subactions = list(get_subactions()) if get_subactions and action.help is not argparse.SUPPRESS else []
        if subactions:  # argparse measures command names without their extra indent
            longest = max(len(self._format_action_invocation(s)) for s in subactions)
            self._action_max_length = max(self._action_max_length,
                                          longest + self._current_indent + self._indent_increment)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        out = ""
        previous = None
        for paragraph in text.split("\n\n"):
            bullet = paragraph.startswith("* ")
            if bullet:
                block = textwrap.fill(paragraph[2:], width, initial_indent=indent + "  * ",
                                      subsequent_indent=indent + "    ")
            else:
                block = textwrap.fill(paragraph, width, initial_indent=indent, subsequent_indent=indent)
            # the items of one list follow each other; every other paragraph stands apart
            out += ("" if previous is None else "\n" if bullet and previous else "\n\n") + block
            previous = bullet
        return out

    def _format_action_invocation(self, action: argparse.Action) -> str:
        if not action.option_strings:
            return super()._format_action_invocation(action)
        if action.nargs == 0:
            return ", ".join(action.option_strings)
        return ", ".join(action.option_strings) + " " + self._format_args(action, action.dest.upper())
