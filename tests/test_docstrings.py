"""The public API's docstrings: numpydoc Parameters / Returns / Examples, every parameter described,
a first sentence that is a whole summary (``hf-frame --help`` lists it), examples that run."""

from __future__ import annotations

import doctest
import importlib
import inspect

import pytest

import hf_frame
from hf_frame.cli.render import _sections, paragraphs, parse_docstring, sentences
from hf_frame.methods import METHODS
from hf_frame.tasks import TASKS
from hf_frame.tasks.defaults import DEFAULTS

#: Methods that are no task's own: the task their ``model`` runs (search: embed's; the operators).
OPERATOR_TASKS = {"search": "feature-extraction", "dedup": "feature-extraction", "cluster": "feature-extraction",
                  "filter": "chat-completion", "top_k": "chat-completion", "join": "chat-completion",
                  "agg": "chat-completion"}
FUNCTIONS = ["configure", "resolve_settings", "cache_info", "clear_cache", "last_run", "usage", "decode_mask",
             "save_media", "media_html"]


def _public(name: str):
    return METHODS[name] if name in METHODS else getattr(hf_frame, name)


def _documented_names(doc: str) -> list[str]:
    """The names of the numpydoc Parameters entries, in order (``**settings`` -> ``settings``)."""
    _, sections = _sections(doc.splitlines())
    lines = sections.get("parameters", [])
    base = min((len(line) - len(line.lstrip()) for line in lines if line.strip()), default=0)
    names = []
    for line in lines:
        if line.strip() and len(line) - len(line.lstrip()) == base:
            head = line.strip().split(" : ", 1)[0]
            names += [n.strip().lstrip("*") for n in head.split(",")]
    return names


@pytest.mark.parametrize("name", sorted(METHODS) + FUNCTIONS)
def test_numpydoc_sections_and_every_parameter_described(name):
    function = _public(name)
    doc = inspect.getdoc(function)
    _, sections = _sections(doc.splitlines())
    signature = inspect.signature(function).parameters
    params = list(signature)
    for section in ("returns", "examples") + (("parameters",) if params else ()):
        assert section in sections, (name, section)
    if name in METHODS:  # the accessors add dry_run before the keywords (adapters.common.accessor_signature)
        variadic = [p for p in params if signature[p].kind is inspect.Parameter.VAR_KEYWORD]
        params = [p for p in params if p not in variadic] + ["dry_run"] + variadic
    assert _documented_names(doc) == params, name  # all of them, in the signature's order
    docs = parse_docstring(doc)
    assert set(docs.parameters) == set(params), name  # each with a description
    assert all(text.endswith((".", ")")) for text in docs.parameters.values()), name
    examples = [line for line in sections["examples"] if line.strip()]
    assert examples and examples[0].lstrip().startswith(">>>"), name


@pytest.mark.parametrize("name", sorted(METHODS) + FUNCTIONS)
def test_the_first_sentence_is_a_whole_summary(name):
    doc = inspect.getdoc(_public(name))
    first = paragraphs(_sections(doc.splitlines())[0])[0]
    summary = sentences(first)[0]
    assert summary.endswith(".") and summary[0].isupper(), (name, summary)
    assert len(summary) <= 100, (name, summary)
    assert parse_docstring(doc).summary.startswith(summary)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_returns_lists_the_output_columns_with_their_types(name):
    docs = parse_docstring(inspect.getdoc(METHODS[name]))
    assert docs.outputs, name
    fields = [item[2:].split(" ", 1)[0] for item in docs.outputs]
    assert all("(" in item for item in docs.outputs), name  # every column says its type
    if name not in ("search", "filter", "top_k", "join"):  # rows of the frame, never an error column
        assert fields[-1].endswith("error"), name


def test_the_documented_default_models_are_the_defaults():
    """A docstring naming a default model names the one the method really uses."""
    method_task: dict[str, str] = dict(OPERATOR_TASKS)
    for task in TASKS.values():  # a method's first task is the one it runs without options
        if task.method:
            method_task.setdefault(task.method, task.name)
    for name, function in METHODS.items():
        default = DEFAULTS[method_task[name]]
        model_doc = parse_docstring(inspect.getdoc(function)).parameters["model"]
        if default.model:
            assert default.model in model_doc, name
        if default.local:
            assert default.local in model_doc, name


def test_a_local_directory_is_offered_where_provider_local_runs_the_task():
    handlers = pytest.importorskip("hf_frame.backends.local.backend").HANDLERS
    method_tasks: dict[str, set[str]] = {name: {task} for name, task in OPERATOR_TASKS.items()}
    for task in TASKS.values():
        if task.method:
            method_tasks.setdefault(task.method, set()).add(task.name)
    for name, function in METHODS.items():
        model_doc = parse_docstring(inspect.getdoc(function)).parameters["model"]
        assert ('provider="local"' in model_doc) == bool(method_tasks[name] & set(handlers)), name


@pytest.mark.parametrize("module", ["hf_frame.config", "hf_frame.runtime", "hf_frame.methods.text",
                                    "hf_frame.methods.media", "hf_frame.methods.embeddings",
                                    "hf_frame.methods.chat", "hf_frame.methods.generation",
                                    "hf_frame.methods.tabular", "hf_frame.methods.operators",
                                    "hf_frame.formats.generated"])
def test_the_examples_run_or_are_marked_skip(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
