"""``hf-frame --help``: made from the docstrings, the same on every run, and cheap to build.

The help of every command is compared exactly with ``tests/snapshots/cli_help.txt``, rendered 100
columns wide. After changing a method's signature or docstring, or the CLI's own help texts,
regenerate the snapshot and the command catalog (``hf_frame/cli/commands.json``) with::

    HF_FRAME_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_cli_help.py

and review the diff.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import inspect
import json
import os
import re
from pathlib import Path

import pytest

import hf_frame
from hf_frame import cli
from hf_frame.cli import catalog
from hf_frame.cli.flags import add_method_flags, method_parser_options
from hf_frame.cli.render import HelpFormatter, parse_docstring, sentences

SNAPSHOT = Path(__file__).parent / "snapshots" / "cli_help.txt"
UPDATE = os.environ.get("HF_FRAME_UPDATE_SNAPSHOTS") == "1"
WIDTH = "100"


def help_of(argv: list[str], capsys) -> str:
    assert cli.main(argv) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


def command_names() -> list[str]:
    parser = cli.build_parser()
    return [action.metavar or action.dest for action in parser._subparsers._group_actions[0]._choices_actions]


def all_help(capsys) -> str:
    pages = [("--help",), *((name, "--help") for name in command_names())]
    return "".join(f"$ hf-frame {' '.join(argv)}\n{help_of(list(argv), capsys)}\n" for argv in pages)


@pytest.fixture(autouse=True)
def _width(monkeypatch):
    monkeypatch.setenv("COLUMNS", WIDTH)
    monkeypatch.setenv("LINES", "50")


def test_the_command_catalog_matches_the_methods():
    """The parser is built from commands.json; it must say what the methods say."""
    live = catalog.build()
    if UPDATE:
        catalog.write()
        catalog.commands.cache_clear()
    stored = json.loads(catalog.CATALOG_FILE.read_text(encoding="utf-8"))
    assert stored == live, ("hf_frame/cli/commands.json is stale; regenerate it with "
                            "HF_FRAME_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_cli_help.py")
    assert set(stored["commands"]) == set(hf_frame.METHODS)


def test_help_matches_the_snapshot(capsys):
    text = all_help(capsys)
    if UPDATE:
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(text, encoding="utf-8")
    expected = SNAPSHOT.read_text(encoding="utf-8")
    if text != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True), "snapshot", "now", n=1))
        pytest.fail("the help differs from tests/snapshots/cli_help.txt; if the change is intended, run "
                    f"HF_FRAME_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_cli_help.py\n{diff[:4000]}")


def test_every_command_is_listed_once_by_its_dashed_name(capsys):
    top = help_of(["--help"], capsys)
    listed = [line.split()[0] for line in top.split("commands:")[1].split("\n\n")[0].splitlines()[2:]
              if line.startswith("    ") and not line.startswith("     ")]
    expected = ["demo", "cache"] + sorted(name.replace("_", "-") for name in hf_frame.METHODS)
    assert listed == expected
    assert "_" not in " ".join(listed) and not re.search(r"^ +[\w-]+ \([\w-]+\)", top, re.MULTILINE)
    # the underscore spelling still works, as a hidden alias
    assert help_of(["zero_shot", "--help"], capsys) == help_of(["zero-shot", "--help"], capsys)
    assert help_of(["zero_shot", "--help"], capsys).startswith("usage: hf-frame zero-shot INPUT")


def test_help_has_no_markup_doctests_or_cut_summaries(capsys):
    text = all_help(capsys)
    for mark in ("``", ">>>", ":func:", ":class:", "doctest", "+SKIP"):
        assert mark not in text, mark
    parser = cli.build_parser()
    for action in parser._subparsers._group_actions[0]._choices_actions:
        assert action.help.endswith((".", "!", "?")), (action.dest, action.help)


def test_summaries_are_whole_sentences():
    doc = ("Image classification. Outputs ``label``, ``score``; with ``top_k`` > 1 (or None: every label the\n"
           "model returns) also ``labels``, a list of ``{label, score}`` best first.\n\n"
           ">>> df.hf.classify_image(\"photo\")   # doctest: +SKIP\n")
    docs = parse_docstring(doc)
    assert docs.summary == "Image classification."  # the next sentence would not fit: not cut mid-way
    assert docs.paragraphs == [("Image classification. Outputs label, score; with top_k > 1 (or None: every label "
                                "the model returns) also labels, a list of {label, score} best first.")]
    assert parse_docstring("Text classification. Outputs ``label``.").summary == "Text classification. Outputs label."
    assert sentences("Split it, e.g. at a dot. Then (not here. Nor here.) go on.") == [
        "Split it, e.g. at a dot.", "Then (not here. Nor here.) go on."]
    assert parse_docstring("See :func:`~hf_frame.decode_mask` and :func:`embed`.").summary == "See decode_mask and embed."


NUMPYDOC = '''Count the words of a column.

Longer explanation, with ``code``.

Parameters
----------
col : str
    The text column.
top_k : int or None, default 3
    How many words to keep,
    best first.
fast, careful : bool
    Two switches described together.

Returns
-------
DataFrame
    With a ``words`` column.

Examples
--------
>>> df.hf.count("text")   # doctest: +SKIP
'''


def test_numpydoc_parameters_describe_their_flags():
    docs = parse_docstring(NUMPYDOC)
    assert docs.summary == "Count the words of a column."
    assert docs.paragraphs == ["Count the words of a column.", "Longer explanation, with code."]
    assert docs.parameters == {"col": "The text column.", "top_k": "How many words to keep, best first.",
                               "fast": "Two switches described together.",
                               "careful": "Two switches described together."}

    def count(col, *, top_k: int | None = 3, fast: bool = False, careful: bool = True, unknown: float = 0.5):
        pass

    command = catalog.Command("count_words", NUMPYDOC, tuple(inspect.signature(count).parameters.values()))
    options = method_parser_options(command)
    assert options.pop("help") == "Count the words of a column."
    parser = argparse.ArgumentParser(prog="hf-frame count-words", formatter_class=HelpFormatter, **options)
    add_method_flags(parser, command)
    text = " ".join(parser.format_help().split())
    assert "--top-k N How many words to keep, best first. (default: 3)" in text
    assert "--fast, --no-fast Two switches described together. (default: off)" in text
    assert "--unknown X a number (default: 0.5)" in text  # no docs, no table entry: still says what it takes
    assert "Returns" not in text and "DataFrame" not in text and "doctest" not in text


def test_every_keyword_flag_says_more_than_its_type(capsys):
    for name in command_names()[2:]:
        page = help_of([name, "--help"], capsys)
        options = page.split(f"{name} options:")[1].split("settings:")[0] if f"{name} options:" in page else ""
        for generic in (" an integer", " a number", " a text\n", " a text, or JSON", " on or off"):
            assert generic not in options, (name, generic)


def test_an_unknown_flag_prints_the_usage_of_its_command(tmp_path, capsys):
    status = cli.main(["classify", str(tmp_path / "x.csv"), "--top_k", "3"])
    _, err = capsys.readouterr()
    assert status == 2
    assert err.startswith("usage: hf-frame classify INPUT [-c COLUMN] [-o OUTPUT] [options]\n")
    assert "hf-frame classify: error: unrecognized arguments: --top_k 3 (did you mean --top-k?)" in err
    status = cli.main(["zero_shot", str(tmp_path / "x.csv"), "--nope"])
    _, err = capsys.readouterr()
    assert status == 2 and err.startswith("usage: hf-frame zero-shot INPUT") and "--nope" in err


def test_the_parser_comes_from_the_catalog_not_the_method_modules(monkeypatch):
    """Building the parser never needs hf_frame.methods: with METHODS emptied every command is there."""
    from hf_frame import methods

    monkeypatch.setattr(methods, "METHODS", {})
    commands = cli.build_parser()._subparsers._group_actions[0].choices
    assert all(name in commands for name in hf_frame.METHODS)
    assert {a.dest for a in commands["zero-shot"]._actions} >= {"labels", "m_multi_label", "setting_cache"}


HEAVY = ("pandas", "polars", "pyarrow", "numpy", "httpx", "aiohttp")


def test_the_cli_modules_import_heavy_packages_only_inside_functions():
    """What --help loads is decided at module level: only the standard library and the CLI itself."""
    package = Path(cli.__file__).parent
    for path in sorted(package.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [("." * node.level) + (node.module or "")]
            else:
                continue
            for name in names:
                assert not name.startswith(HEAVY), (path.name, name)
                assert not name.startswith(("..methods", "..pandas", "..polars", "..core", "..tasks",
                                            "..transport", "..local")), (path.name, name)
