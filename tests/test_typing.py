"""Type hints of the public API: what ``typing.get_type_hints`` says is what the signatures say.

Every accessor method returns its namespace's frame type (``pd.DataFrame``; ``pl.DataFrame``,
``pl.LazyFrame``, ``pl.Expr``), and every setting is a typed keyword (``Unpack[SettingsKwargs]``),
so editors complete ``df.hf.classify("review", max_con<Tab>`` and type checkers check the values.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import subprocess
import sys
import textwrap
import typing
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

import hf_frame
from hf_frame import config
from hf_frame.adapters import pandas as hf_pandas
from hf_frame.adapters import polars as hf_polars
from hf_frame.methods import METHODS
from hf_frame.methods import kwargs as method_kwargs
from hf_frame.methods.plan import Plan

ROOT = Path(__file__).resolve().parents[1]
# What each namespace's methods return: the frame type, or with dry_run=True the call's Plan
# (an expression is evaluated by polars only: no plan).
NAMESPACES = [
    (hf_pandas.DataFrameAccessor, pd.DataFrame | Plan, False),
    (hf_pandas.SeriesAccessor, pd.DataFrame | Plan, True),
    (hf_polars.DataFrameNamespace, pl.DataFrame | Plan, False),
    (hf_polars.LazyFrameNamespace, pl.LazyFrame | Plan, False),
    (hf_polars.SeriesNamespace, pl.DataFrame | Plan, True),
    (hf_polars.ExprNamespace, pl.Expr, True),
]
try:  # Dask is optional
    import dask.dataframe as dd

    from hf_frame.adapters import dask as hf_dask
except ImportError:
    dd = None
else:
    NAMESPACES += [(hf_dask.DataFrameAccessor, dd.DataFrame, False), (hf_dask.SeriesAccessor, dd.DataFrame, True)]
NAMESPACE_IDS = [cls.__module__.rsplit(".", 1)[-1] + "." + cls.__name__ for cls, _, _ in NAMESPACES]


def _signature_hints(function) -> dict[str, typing.Any]:
    """The annotations ``inspect.signature`` shows, keyed like ``get_type_hints`` keys them."""
    signature = inspect.signature(function)
    hints = {p.name: p.annotation for p in signature.parameters.values() if p.annotation is not p.empty}
    return {**hints, "return": signature.return_annotation}


@pytest.mark.parametrize(("owner", "returns"), [
    (pd.DataFrame({"t": ["a"]}).hf, pd.DataFrame | Plan),
    (pd.Series(["a"], name="t").hf, pd.DataFrame | Plan),
    (pl.DataFrame({"t": ["a"]}).hf, pl.DataFrame | Plan),
    (pl.LazyFrame({"t": ["a"]}).hf, pl.LazyFrame | Plan),
    (pl.Series("t", ["a"]).hf, pl.DataFrame | Plan),
    (pl.col("t").hf, pl.Expr),
    *([(dd.from_pandas(pd.DataFrame({"t": ["a"]}), npartitions=1).hf, dd.DataFrame),
       (dd.from_pandas(pd.Series(["a"], name="t"), npartitions=1).hf, dd.DataFrame)] if dd is not None else []),
], ids=NAMESPACE_IDS)
def test_one_method_per_namespace_returns_its_frame_type(owner, returns):
    method = owner.classify  # a bound method, as a user (or an editor) reaches it
    assert typing.get_type_hints(method)["return"] == returns
    assert inspect.signature(method).return_annotation == returns
    assert typing.get_type_hints(type(owner).embed)["return"] == returns


@pytest.mark.parametrize(("cls", "returns", "fills_input"), NAMESPACES, ids=NAMESPACE_IDS)
def test_every_accessor_method_has_hints_that_resolve_and_agree_with_its_signature(cls, returns, fills_input):
    assert set(METHODS) <= set(vars(cls))
    for name, build in METHODS.items():
        method = getattr(cls, name)
        hints = typing.get_type_hints(method, include_extras=True)  # raises if any annotation does not resolve
        assert hints == _signature_hints(method), name
        assert hints["return"] == returns, name
        # the method's own parameters, with the same types, its **keywords written out (PEP 692);
        # the Series / Expr is not a parameter
        expected = typing.get_type_hints(build, include_extras=True)
        del expected["return"]
        variadic = next(p.name for p in inspect.signature(build).parameters.values() if p.kind is p.VAR_KEYWORD)
        (keywords,) = typing.get_args(expected.pop(variadic))
        expected.update(typing.get_type_hints(keywords, include_extras=True))
        if fills_input:
            del expected[getattr(build, "series_arg", None) or next(iter(inspect.signature(build).parameters))]
        expected["dry_run"] = bool
        assert {k: v for k, v in hints.items() if k != "return"} == expected, name
        assert list(inspect.signature(method).parameters)[0] == "self"
        assert method.__doc__ == build.__doc__ and method.__name__ == name
        assert not hasattr(method, "__wrapped__"), name  # unwrapping must not reach the job builder


def test_settings_are_typed_keywords_of_every_method():
    for name, build in METHODS.items():
        variadic = next(p for p in inspect.signature(build).parameters.values() if p.kind is p.VAR_KEYWORD)
        unpacked = typing.get_type_hints(build, include_extras=True)[variadic.name]
        assert typing.get_origin(unpacked) is config.Unpack, name
        (typed_dict,) = typing.get_args(unpacked)
        assert typing.is_typeddict(typed_dict) and not typed_dict.__total__, name
        assert set(config.SettingsKwargs.__annotations__) <= set(typing.get_type_hints(typed_dict)), name
    for function in (hf_frame.configure, hf_frame.resolve_settings, hf_frame.cache_info, hf_frame.clear_cache):
        (variadic,) = [p for p in inspect.signature(function).parameters.values() if p.kind is p.VAR_KEYWORD]
        assert typing.get_type_hints(function)[variadic.name] == config.Unpack[config.SettingsKwargs]


def test_accessors_offer_every_setting_as_a_keyword_only_parameter():
    """Live signatures (what IPython, Jupyter and help() read) name every setting."""
    for owner in (pd.DataFrame({"t": ["a"]}).hf, pl.LazyFrame({"t": ["a"]}).hf, pl.col("t").hf):
        params = inspect.signature(owner.classify).parameters
        for name in config.SettingsKwargs.__annotations__:
            assert params[name].kind is inspect.Parameter.KEYWORD_ONLY, name
            assert repr(params[name].default) == "...", name
        assert not any(p.kind is p.VAR_KEYWORD for p in params.values())
        assert "max_new_tokens" in inspect.signature(owner.generate).parameters
        assert "max_tokens" in inspect.signature(owner.chat).parameters


def test_ipython_completes_settings_in_a_method_call(tmp_path):
    """IPython 9 also evaluates ``df.hf.classify(`` itself; older ones complete a method held in a name."""
    pytest.importorskip("IPython")
    code = textwrap.dedent("""
        from IPython.core.completer import provisionalcompleter
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance()
        shell.run_cell("import pandas as pd, hf_frame; df = pd.DataFrame({'review': ['a']}); "
                       "classify, generate = df.hf.classify, df.hf.generate")
        with provisionalcompleter():
            for text in ['classify("review", max_con', 'generate("review", max_new']:
                print(sorted(c.text for c in shell.Completer.completions(text, len(text))))
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "IPYTHONDIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    first, second = out.stdout.strip().splitlines()[-2:]
    assert "'max_concurrency='" in first and "'max_new_tokens='" in second, out.stdout


def test_settings_kwargs_lists_exactly_the_settings_with_their_types():
    """Every field of Settings (client and transport too: they are per-call settings as well) plus
    the ``api_key`` alias of ``token``; each with the field's own type."""
    fields = typing.get_type_hints(config.Settings)
    keys = typing.get_type_hints(config.SettingsKwargs)
    assert set(keys) == {f.name for f in dataclasses.fields(config.Settings)} | set(config._ALIASES)
    for name, annotation in keys.items():
        assert annotation == fields[config._ALIASES.get(name, name)], name
    assert config.SettingsKwargs.__required_keys__ == frozenset()
    assert hf_frame.SettingsKwargs is config.SettingsKwargs
    assert all(config.is_setting(name) for name in keys)


def test_the_generation_dicts_name_every_parameter_the_local_backend_takes():
    """The typed keywords of the generating methods cover what provider="local" accepts for the
    task (named arguments of the method aside)."""
    text = pytest.importorskip("hf_frame.backends.local.text")
    from hf_frame.backends.local.seq2seq import GENERATE_DICTS, GENERATE_KEYS

    def keys(typed_dict) -> set[str]:
        return set(typing.get_type_hints(typed_dict)) - set(config.SettingsKwargs.__annotations__)

    assert keys(method_kwargs.GenerationKwargs) == GENERATE_KEYS | set(GENERATE_DICTS)  # caption
    assert keys(method_kwargs.Seq2SeqKwargs) == set(text._SEQ2SEQ_PARAMS)  # summarize, translate
    assert keys(method_kwargs.TextGenerationKwargs) == set(text._TEXT_GENERATION_PARAMS) - {"return_full_text"}
    assert keys(method_kwargs.TranscriptionKwargs) == {"chunk_length_s", "stride_length_s", *GENERATE_DICTS}
    questions = pytest.importorskip("hf_frame.backends.local.questions")
    assert keys(method_kwargs.DocumentQAKwargs) == set(questions.DOCUMENT_QA_PARAMETERS) - {"top_k"}
    assert {"forward_params", "generate_kwargs"} <= keys(method_kwargs.TextToSpeechKwargs)
    for build, typed_dict in ((METHODS["caption"], method_kwargs.GenerationKwargs),
                              (METHODS["summarize"], method_kwargs.Seq2SeqKwargs),
                              (METHODS["translate"], method_kwargs.Seq2SeqKwargs),
                              (METHODS["generate"], method_kwargs.TextGenerationKwargs),
                              (METHODS["transcribe"], method_kwargs.TranscriptionKwargs),
                              (METHODS["chat"], method_kwargs.ChatKwargs),
                              (METHODS["document_qa"], method_kwargs.DocumentQAKwargs),
                              (METHODS["text_to_image"], method_kwargs.TextToImageKwargs),
                              (METHODS["image_to_image"], method_kwargs.ImageToImageKwargs),
                              (METHODS["text_to_speech"], method_kwargs.TextToSpeechKwargs)):
        hints = typing.get_type_hints(build, include_extras=True)
        variadic = next(p.name for p in inspect.signature(build).parameters.values() if p.kind is p.VAR_KEYWORD)
        assert hints[variadic] == config.Unpack[typed_dict], build.__name__
        assert not set(typing.get_type_hints(typed_dict)) & set(inspect.signature(build).parameters)
    for name, build in METHODS.items():  # no keyword of the dicts shadows a named parameter
        variadic = next(p.name for p in inspect.signature(build).parameters.values() if p.kind is p.VAR_KEYWORD)
        (typed_dict,) = typing.get_args(typing.get_type_hints(build, include_extras=True)[variadic])
        assert not set(typing.get_type_hints(typed_dict)) & set(inspect.signature(build).parameters), name


def test_chat_keywords_never_include_what_chat_refuses():
    refused = {"stream", "n", "messages", "model", "schema"}
    assert not refused & set(typing.get_type_hints(method_kwargs.ChatKwargs))


def test_signatures_still_work_everywhere():
    """inspect.signature of the methods (what the CLI builds its flags from) and of the accessors."""
    for name, build in METHODS.items():
        params = inspect.signature(build).parameters
        assert [p.kind for p in params.values()][-1] is inspect.Parameter.VAR_KEYWORD, name
        assert str(inspect.signature(getattr(pd.DataFrame({"t": ["a"]}).hf, name))).startswith("(")
    signature = inspect.signature(pl.col("t").hf.classify)
    assert "col" not in signature.parameters and "top_k" in signature.parameters


@pytest.mark.skipif(sys.version_info < (3, 11), reason="typing.Unpack is in the standard library from 3.11")
def test_unpack_is_the_standard_one():
    assert config.Unpack is typing.Unpack
