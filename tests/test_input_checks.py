"""Inputs and arguments that cannot be sent are refused before anything is sent, with an error
naming the column and row, the parameter or the setting (loopback hub, pandas accessor)."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest

import hf_frame
from hf_frame.errors import ConfigError, InputTypeError
from hf_frame.methods import METHODS


def object_column(values, index=None) -> pd.Series:
    """A column of Python strings as they are (pandas' own string dtype cannot hold a lone surrogate)."""
    return pd.Series(np.array(values, dtype=object), dtype=object, index=index)


# ---------------------------------------------------------------------------------------------
# text that is not valid Unicode


@pytest.mark.parametrize("call", [
    lambda df: df.hf.classify("review"),
    lambda df: df.hf.embed("review"),
    lambda df: df.hf.qa("Who?", "review"),
    lambda df: df.hf.chat("Summarise: {review}"),
    lambda df: df["review"].hf.summarize(),
])
def test_a_lone_surrogate_is_an_input_type_error_naming_column_and_row(hf, call):
    df = pd.DataFrame({"review": object_column(["fine", "bad \ud800 text"], index=["r0", "r1"])})
    with pytest.raises(InputTypeError, match=r"column 'review' row 'r1' .*not valid Unicode"):
        call(df)
    assert hf.count() == 0


# ---------------------------------------------------------------------------------------------
# column names


def test_duplicate_column_names_are_refused_naming_them(hf):
    df = pd.DataFrame([["good", "a"], ["bad", "b"]], columns=["t", "t"])
    with pytest.raises(ValueError, match="2 columns named 't'"):
        df.hf.classify("t")
    table = pd.DataFrame([["q?", 1, 2]], columns=["q", "a", "a"])
    with pytest.raises(ValueError, match=r"several columns named \['a'\]"):
        table.hf.table_qa("q")
    assert hf.count() == 0


def test_an_integer_column_name_is_a_column(hf):
    df = pd.DataFrame({0: ["I love it", "terrible"], 1: ["x", "y"]})
    out = df.hf.classify(0)
    assert list(out.columns) == [0, 1, "0_label", "0_score", "0_error"]
    assert out["0_label"].notna().all() and hf.count() == 2
    with pytest.raises(KeyError, match="column 2 not found"):
        df.hf.classify(2)
    with pytest.raises(KeyError, match="column True not found"):
        pd.DataFrame({1: ["a"]}).hf.classify(True)  # True == 1, but it is not that column's name


# ---------------------------------------------------------------------------------------------
# parameters


@pytest.mark.parametrize("kwargs,name", [
    ({"parameters": {"function_to_apply": object()}}, "function_to_apply"),
    ({"parameters": {"threshold": float("nan")}}, "threshold"),
    ({"parameters": {"stop": {"a", "b"}}}, "stop"),
    ({"parameters": {"prefix_text": "\ud800"}}, "prefix_text"),
])
def test_a_parameter_that_is_not_json_is_refused_naming_it(hf, kwargs, name):
    with pytest.raises(TypeError, match=f"parameter '{name}' cannot be sent as JSON"):
        pd.DataFrame({"t": ["x"]}).hf.classify("t", **kwargs)
    assert hf.count() == 0


def test_generation_keywords_and_chat_sampling_are_checked_too(hf):
    with pytest.raises(TypeError, match="parameter 'temperature'"):
        pd.DataFrame({"t": ["x"]}).hf.generate("t", temperature=float("inf"))
    with pytest.raises(TypeError, match="parameter 'stop'"):
        pd.DataFrame({"t": ["x"]}).hf.chat("t", stop={"END"})
    with pytest.raises(TypeError, match="parameters must be a dict"):
        pd.DataFrame({"t": ["x"]}).hf.classify("t", parameters=[("top_k", 2)])


def test_numpy_numbers_in_parameters_are_sent_as_numbers(hf):
    pd.DataFrame({"t": ["x"]}).hf.summarize("t", max_length=np.int64(20), parameters={"temperature": np.float32(0.5)})
    assert hf.requests[0].json["parameters"] == {"max_length": 20, "temperature": 0.5}


COUNT_ARGUMENTS = sorted(
    (name, arg) for name, build in METHODS.items() for arg in inspect.signature(build).parameters
    if arg in ("top_k", "top_n", "k")
)


def _method_call(name: str, arg: str, value):
    df = pd.DataFrame({"t": ["x <mask>"], "c": ["context"]})
    positional = {"qa": ("Who?", "c"), "search": ("query", "t"), "rerank": ("query", "t"),
                  "visual_qa": ("t", "What is it?"), "document_qa": ("t", "What is it?"),
                  "top_k": ("query",), "join": (df, "Do {left.t} and {right.t} match?")}.get(name, ("t",))
    keywords = {"top_k": {"col": "t"}}.get(name, {})
    return getattr(df.hf, name)(*positional, **keywords, **{arg: value})


def test_every_count_argument_goes_through_the_one_validator():
    assert ("classify", "top_k") in COUNT_ARGUMENTS and ("qa", "top_k") in COUNT_ARGUMENTS
    assert ("fill_mask", "top_k") in COUNT_ARGUMENTS and ("search", "k") in COUNT_ARGUMENTS


@pytest.mark.parametrize("name,arg", COUNT_ARGUMENTS)
@pytest.mark.parametrize("value", [True, 0, 2.5, "3"])
def test_top_k_true_is_refused_by_every_method(hf, name, arg, value):
    with pytest.raises(ValueError, match=f"{name}: {arg} must be a positive integer"):
        _method_call(name, arg, value)
    assert hf.count() == 0


@pytest.mark.parametrize("method", ["ner", "generate", "chat"])
def test_top_k_true_in_parameters_or_sampling_is_refused(hf, method):
    df = pd.DataFrame({"t": ["x"]})
    with pytest.raises(ValueError, match=f"{method}: top_k must be a positive integer"):
        getattr(df.hf, method)("t", parameters={"top_k": True})
    assert hf.count() == 0


# ---------------------------------------------------------------------------------------------
# settings


@pytest.mark.parametrize("name,value", [
    ("timeout", "5"), ("timeout", True), ("timeout", float("nan")), ("max_retries", 1.5), ("max_retries", True),
    ("max_concurrency", True), ("batch_size", "32"), ("retry_backoff", "1"), ("requests_per_minute", "600"),
    ("progress", "yes"), ("wait_for_model", 1), ("cache", 1), ("errors", 1), ("device", 0),
    ("provider", "../../x"), ("provider", ""), ("base_url", None), ("endpoint", 8080),
])
def test_a_setting_of_the_wrong_type_is_a_config_error_naming_it(hf, name, value):
    with pytest.raises(ConfigError, match=f"setting {name}="):
        hf_frame.configure(**{name: value})
    assert hf_frame.configure(max_retries=2).max_retries == 2  # the invalid value left nothing behind
    if value is not None:  # a None keyword means "not given" for a call
        with pytest.raises(ConfigError, match=f"setting {name}="):
            pd.DataFrame({"t": ["x"]}).hf.classify("t", **{name: value})
    assert pd.DataFrame({"t": ["x"]}).hf.classify("t")["t_error"].isna().all()


def test_a_token_of_the_wrong_type_is_a_config_error_without_its_value():
    with pytest.raises(ConfigError, match="setting token is invalid") as info:
        hf_frame.configure(token=12345)
    assert "12345" not in str(info.value)
