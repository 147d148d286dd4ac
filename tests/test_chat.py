"""``df.hf.chat``: prompts and templates, structured output, routes, usage and the engine guarantees.

Most tests talk over real HTTP to the loopback fake hub (``answers.chat_completion`` gives the
replies it sends); the recorded real exchanges in ../shared/hf-recorded are replayed through an
``httpx.MockTransport`` (skipped when the folder is absent).
"""

from __future__ import annotations

import json
import math
import warnings
from typing import Literal, Optional

import httpx
import pandas as pd
import pyarrow as pa
import pytest
from fake_hub import answers
from recorded import body, interactions

import hf_frame
from hf_frame import methods
from hf_frame.errors import FatalRequestError, InputTypeError, RowErrors, RowErrorWarning
from hf_frame.formats.prompting import TemplateError
from hf_frame.methods.chat import chat
from hf_frame.tasks.chat import chat_completions_url

MODEL = "meta-llama/Llama-3.1-8B-Instruct"


@pytest.fixture
def hf(hub):
    """The library pointed at the fake hub, with fast retries; rows that fail raise."""
    hf_frame.configure(base_url=hub.base_url, retry_backoff=0.001)
    return hub


def reviews():
    return pd.DataFrame(
        {"product": ["kettle", "toaster", "kettle", "lamp"],
         "review": ["Boils fast", "Burnt my bread", "Boils fast", None]},
        index=["a", "b", "c", "d"],
    )


def chat_bodies(hub):
    return [r.json for r in hub.requests if r.path.endswith("/chat/completions")]


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RowErrorWarning)
        return fn(*args, **kwargs)


# ---------------------------------------------------------------------------------------------
# prompts: a column or a template


def test_column_prompt_gives_a_reply_column(hf):
    df = reviews()
    out = df.hf.chat("review", system="Be brief.")
    assert list(out.columns) == ["product", "review", "review_reply", "review_error"]
    assert str(out["review_reply"].dtype) == "string[pyarrow]"
    assert out.loc["a", "review_reply"] == "Echo: Boils fast"
    assert pd.isna(out.loc["d", "review_reply"]) and pd.isna(out.loc["d", "review_error"])  # None: no request
    assert hf.count() == 2  # "Boils fast" twice is sent once
    body_ = chat_bodies(hf)[0]
    assert body_["model"] == MODEL
    assert body_["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Boils fast"}]
    assert "response_format" not in body_ and "stream" not in body_


def test_template_fills_columns_per_row(hf):
    df = reviews()
    out = df.hf.chat("Rate this review of {product}: {review}", temperature=0, max_tokens=20)
    assert list(out.columns) == ["product", "review", "chat_reply", "chat_error"]
    assert out.loc["b", "chat_reply"] == "Echo: Rate this review of toaster: Burnt my bread"
    assert pd.isna(out.loc["d", "chat_reply"])  # a missing value in a used column: null, nothing sent
    assert hf.count() == 2
    body_ = chat_bodies(hf)[0]
    assert body_["temperature"] == 0 and body_["max_tokens"] == 20
    assert body_["messages"] == [{"role": "user", "content": "Rate this review of kettle: Boils fast"}]


def test_template_braces_can_be_escaped(hf):
    out = reviews().iloc[:1].hf.chat('Answer {{"ok": true}} for {product}')
    assert out["chat_reply"].iloc[0] == 'Echo: Answer {"ok": true} for kettle'


def test_template_with_a_missing_column_names_it(hf):
    with pytest.raises(KeyError, match="'produt'") as info:
        reviews().hf.chat("Rate {produt}: {review}")
    assert "product" in str(info.value)  # the columns that exist are listed
    assert hf.count() == 0


def test_malformed_template_is_reported_before_anything_is_sent(hf):
    with pytest.raises(TemplateError, match="unclosed"):
        reviews().hf.chat("Rate {product: {review")
    assert hf.count() == 0


def test_non_text_prompt_column_is_an_input_error(hf):
    df = pd.DataFrame({"n": [1, 2]})
    with pytest.raises(InputTypeError, match="column 'n'"):
        df.hf.chat("n")


def test_template_renders_non_text_values(hf):
    df = pd.DataFrame({"n": [1, 2], "unit": ["kg", "g"]})
    out = df.hf.chat("Convert {n} {unit}")
    assert out["chat_reply"].tolist() == ["Echo: Convert 1 kg", "Echo: Convert 2 g"]


def test_series_accessor(hf):
    out = reviews()["review"].hf.chat()
    assert list(out.columns) == ["reply", "error"]
    assert out.loc["b", "reply"] == "Echo: Burnt my bread"


def test_details_add_finish_reason_and_token_columns(hf):
    out = reviews().hf.chat("review", details=True)
    expected = answers.chat_completion(MODEL, [{"role": "user", "content": "Boils fast"}])
    assert out.loc["a", "review_finish_reason"] == "stop"
    assert out.loc["a", "review_prompt_tokens"] == expected["usage"]["prompt_tokens"]
    assert out.loc["a", "review_completion_tokens"] == expected["usage"]["completion_tokens"]
    assert str(out["review_prompt_tokens"].dtype) == "int64[pyarrow]"


# ---------------------------------------------------------------------------------------------
# structured output


def test_mapping_schema_is_exploded_into_typed_columns(hf):
    schema = {"stars": int, "score": float, "ok": bool, "tags": list[str], "label": Literal["pos", "neg"],
              "note": Optional[str], "where": {"city": str, "zip": int}}
    out = reviews().hf.chat("Rate {product}: {review}", json_schema=schema)
    cols = [c for c in out.columns if c.startswith("chat_")]
    assert cols == ["chat_stars", "chat_score", "chat_ok", "chat_tags", "chat_label", "chat_note", "chat_where",
                    "chat_error"]
    types = {c: str(out[c].dtype) for c in cols}
    assert types == {"chat_stars": "int64[pyarrow]", "chat_score": "double[pyarrow]", "chat_ok": "bool[pyarrow]",
                     "chat_tags": "list<item: string>[pyarrow]", "chat_label": "string[pyarrow]",
                     "chat_note": "string[pyarrow]", "chat_where": "struct<city: string, zip: int64>[pyarrow]",
                     "chat_error": "string[pyarrow]"}
    row = out.loc["a"]
    assert (row["chat_stars"], row["chat_score"], row["chat_ok"], list(row["chat_tags"]), row["chat_label"]) == (
        1, 1.5, True, ["x"], "pos")
    assert row["chat_where"] == {"city": "x", "zip": 1}
    rf = chat_bodies(hf)[0]["response_format"]
    assert rf["type"] == "json_schema" and rf["json_schema"]["strict"] is True
    assert rf["json_schema"]["schema"]["required"] == list(schema)


def test_pydantic_model_schema(hf):
    pydantic = pytest.importorskip("pydantic")

    class Address(pydantic.BaseModel):
        city: str
        country: Optional[str] = None

    class Person(pydantic.BaseModel):
        name: str
        age: int
        address: Address
        languages: list[str]

    out = pd.DataFrame({"bio": ["Ada, 36, London"]}).hf.chat("bio", json_schema=Person)
    assert out.iloc[0]["bio_name"] == "x" and out.iloc[0]["bio_age"] == 1
    assert out.iloc[0]["bio_address"] == {"city": "x", "country": "x"}
    assert str(out["bio_address"].dtype) == "struct<city: string, country: string>[pyarrow]"
    rf = chat_bodies(hf)[0]["response_format"]
    assert rf["json_schema"]["name"] == "Person"
    assert "$defs" not in json.dumps(rf)  # references inlined for the server


def test_json_schema_dict(hf):
    schema = {"type": "object", "properties": {"animals": {"type": "array", "items": {"type": "string"}},
                                               "count": {"type": "integer"}}, "required": ["animals", "count"]}
    out = pd.DataFrame({"t": ["I saw a cat"]}).hf.chat("t", json_schema=schema)
    assert out.iloc[0]["t_count"] == 1 and list(out.iloc[0]["t_animals"]) == ["x"]


def test_output_type_is_known_before_running(hf):
    job = chat("Rate {product}: {review}", json_schema={"stars": int, "tags": list[str]}, details=True)
    assert job.output_type() == pa.struct([
        ("stars", pa.int64()), ("tags", pa.list_(pa.string())), ("finish_reason", pa.string()),
        ("prompt_tokens", pa.int64()), ("completion_tokens", pa.int64()), ("error", pa.string())])
    assert [i.value for i in job.inputs] == ["product", "review"]
    assert hf.count() == 0


def test_invalid_json_is_a_row_error_retried_once_and_never_cached(hf):
    df = pd.DataFrame({"t": ["fine", "[[badjson]] broken"]})
    with pytest.warns(RowErrorWarning, match="1 of 2 rows failed"):
        out = df.hf.chat("t", json_schema={"label": str})
    assert out["t_label"].tolist()[0] == "x" and pd.isna(out["t_label"].tolist()[1])
    error = out["t_error"].iloc[1]
    assert error.startswith("chat: invalid reply from model") and "(2 attempts)" in error
    assert "reply is not valid JSON: 'not json {'" in error
    assert hf.count() == 3  # the bad row was sent twice: dedup did not swallow the retry
    assert hf_frame.last_run()["failed"] == 1
    hf.reset()
    quiet(df.hf.chat, "t", json_schema={"label": str})
    assert hf.count() == 2  # the good row is cached; the invalid reply was not


def test_schema_retries_zero_sends_once(hf):
    df = pd.DataFrame({"t": ["[[badjson]]"]})
    out = quiet(df.hf.chat, "t", json_schema={"label": str}, schema_retries=0)
    assert hf.count() == 1 and "attempts" not in out["t_error"].iloc[0]


def test_without_schema_invalid_json_is_just_text(hf):
    out = pd.DataFrame({"t": ["[[badjson]]"]}).hf.chat("t")
    assert out["t_reply"].iloc[0] == "not json {" and hf.count() == 1


def test_reply_not_matching_the_schema_is_a_row_error(hf):
    # A verbatim response_format without the schema: the fake hub answers {"echo": ...}.
    df = pd.DataFrame({"t": ["hello"]})
    with pytest.raises(RowErrors, match=r"\$.label: missing required field"):
        df.hf.chat("t", json_schema={"label": str}, response_format={"type": "json_object"}, errors="raise")
    assert hf.count() == 2
    assert chat_bodies(hf)[0]["response_format"] == {"type": "json_object"}


def completion(content, finish_reason="stop", prompt_tokens=3, completion_tokens=4):
    return {"object": "chat.completion", "id": "", "created": 0, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": finish_reason}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}}


def test_a_retry_can_succeed_and_usage_counts_both_answers(hf):
    hf.fail(200, body=completion('{"label": 3}'), times=1)  # the first answer has the wrong type
    out = pd.DataFrame({"t": ["hello"]}).hf.chat("t", json_schema={"label": str})
    assert out["t_label"].iloc[0] == "x" and pd.isna(out["t_error"].iloc[0])
    assert hf.count() == 2
    good = answers.chat_completion(MODEL, [{"role": "user", "content": "hello"}],
                                   chat_bodies(hf)[1]["response_format"])["usage"]
    assert hf_frame.last_run()["usage"] == {"prompt_tokens": 3 + good["prompt_tokens"],
                                            "completion_tokens": 4 + good["completion_tokens"],
                                            "total_tokens": 7 + good["total_tokens"]}


def test_fenced_json_reply_is_accepted(hf):
    hf.fail(200, body=completion('```json\n{"label": "ok"}\n```'), times=1)
    out = pd.DataFrame({"t": ["hello"]}).hf.chat("t", json_schema={"label": str})
    assert out["t_label"].iloc[0] == "ok" and hf.count() == 1


def test_truncated_reply_says_to_raise_max_tokens(hf):
    hf.fail(200, body=completion('{"label": "o', finish_reason="length"), times=2)
    out = quiet(pd.DataFrame({"t": ["hello"]}).hf.chat, "t", json_schema={"label": str}, max_tokens=3)
    assert "raise max_tokens" in out["t_error"].iloc[0]


def test_schema_fields_may_not_clash_with_added_columns():
    with pytest.raises(ValueError, match="'error'"):
        chat("t", json_schema={"error": str})
    with pytest.raises(ValueError, match="'finish_reason'"):
        chat("t", json_schema={"finish_reason": str}, details=True)
    chat("t", json_schema={"finish_reason": str})  # fine without details


# ---------------------------------------------------------------------------------------------
# routes


@pytest.mark.parametrize("endpoint,url", [
    ("http://h:8080", "http://h:8080/v1/chat/completions"),
    ("http://h:8080/", "http://h:8080/v1/chat/completions"),
    ("http://h:8000/v1", "http://h:8000/v1/chat/completions"),
    ("https://x.endpoints.huggingface.cloud/", "https://x.endpoints.huggingface.cloud/v1/chat/completions"),
    ("https://router.huggingface.co/hf-inference/models/org/m", "https://router.huggingface.co/hf-inference/models/org/m/v1/chat/completions"),
    ("http://h/v1/chat/completions", "http://h/v1/chat/completions"),
    ("http://h/openai/chat/completions/", "http://h/openai/chat/completions"),
])
def test_endpoint_url_is_built_like_huggingface_hub(endpoint, url):
    assert chat_completions_url(endpoint) == url


def test_router_route_with_a_provider_suffix(hf):
    pd.DataFrame({"t": ["hi"]}).hf.chat("t", model="org/model:together")
    [record] = hf.requests
    assert record.path == "/v1/chat/completions" and record.json["model"] == "org/model:together"


def test_provider_setting_becomes_the_model_suffix(hf):
    # (was provider="nebius", which the router stopped serving on 2026-07-01: now a ConfigError)
    pd.DataFrame({"t": ["hi"]}).hf.chat("t", model="org/model", provider="together")
    assert hf.requests[0].json["model"] == "org/model:together"
    hf.reset()
    pd.DataFrame({"t": ["hi"]}).hf.chat("t", model="org/model:groq", provider="together")  # an explicit suffix wins
    assert hf.requests[0].json["model"] == "org/model:groq"


def test_self_hosted_endpoint_uses_the_tgi_grammar_by_default(hf):
    df = pd.DataFrame({"t": ["hi"]})
    out = df.hf.chat("t", json_schema={"label": str}, endpoint=hf.base_url + "/")
    [record] = hf.requests
    assert record.path == "/v1/chat/completions"
    assert record.json["model"] == "tgi"  # TGI and llama.cpp ignore it
    assert record.json["response_format"]["type"] == "json_object"
    assert record.json["response_format"]["value"]["properties"] == {"label": {"type": "string"}}
    assert out["t_label"].iloc[0] == "x"


def test_endpoint_with_openai_response_format_and_served_model_name(hf):
    df = pd.DataFrame({"t": ["hi"]})
    df.hf.chat("t", json_schema={"label": str}, endpoint=f"{hf.base_url}/v1", model="qwen2.5",
               response_format="openai")
    [record] = hf.requests
    assert record.path == "/v1/chat/completions" and record.json["model"] == "qwen2.5"
    assert record.json["response_format"]["type"] == "json_schema"


def test_endpoint_under_a_model_path(hf):
    pd.DataFrame({"t": ["hi"]}).hf.chat("t", endpoint=f"{hf.base_url}/models/org/model")
    assert hf.requests[0].path == "/models/org/model/v1/chat/completions"


def test_tgi_response_format_on_the_router_when_asked(hf):
    pd.DataFrame({"t": ["hi"]}).hf.chat("t", json_schema={"label": str}, response_format="tgi")
    assert hf.requests[0].json["response_format"]["type"] == "json_object"


# ---------------------------------------------------------------------------------------------
# engine guarantees: cache keys, dedup, concurrency, retries, fatal errors


def test_cache_key_covers_messages_schema_and_sampling_not_the_view(hf):
    df = pd.DataFrame({"t": ["one", "two"]})
    df.hf.chat("t", temperature=0.2)
    assert hf.count() == 2
    df.hf.chat("t", temperature=0.2, details=True)  # only the view differs: all cached
    assert hf.count() == 2 and hf_frame.last_run()["cached"] == 2
    df.hf.chat("t", temperature=0.7)
    assert hf.count() == 4
    df.hf.chat("t", temperature=0.7, system="Be kind.")
    assert hf.count() == 6
    df.hf.chat("t", temperature=0.7, system="Be kind.", json_schema={"a": str})
    assert hf.count() == 8
    df.hf.chat("t", temperature=0.7, system="Be kind.", json_schema={"a": int})
    assert hf.count() == 10
    df.hf.chat("t", temperature=0.7, system="Be kind.", json_schema={"a": int}, model="other/model")
    assert hf.count() == 12
    df.hf.chat("Say: {t}", temperature=0.7)  # another prompt text
    assert hf.count() == 14


def test_usage_counts_fresh_answers_only(hf):
    df = pd.DataFrame({"t": ["a b c", "d e", "a b c"]})
    hf_frame.usage(reset=True)
    df.hf.chat("t")
    expected = [answers.chat_completion(MODEL, [{"role": "user", "content": t}])["usage"] for t in ("a b c", "d e")]
    spent = {k: sum(u[k] for u in expected) for k in ("prompt_tokens", "completion_tokens", "total_tokens")}
    assert hf_frame.last_run()["usage"] == spent  # the duplicate row costs nothing
    df.hf.chat("t")
    assert hf_frame.last_run()["usage"] == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    assert hf_frame.usage() == spent
    assert hf_frame.usage(reset=True) == spent and hf_frame.usage() == {}


def test_usage_is_absent_for_methods_without_token_counts(hf):
    pd.DataFrame({"t": ["I love it"]}).hf.classify("t")
    assert "usage" not in hf_frame.last_run()


def test_many_rows_are_deduplicated_and_sent_concurrently(hf):
    hf.latency = 0.02
    texts = [f"prompt {i % 40}" for i in range(200)]
    out = pd.DataFrame({"t": texts}).hf.chat("t", max_concurrency=16)
    assert hf.count() == 40 and hf.max_in_flight > 1
    assert out["t_reply"].tolist() == [f"Echo: {t}" for t in texts]


def test_transient_failures_are_retried(hf):
    hf.fail(503, times=1)
    hf.fail(429, times=1)
    out = pd.DataFrame({"t": ["hi"]}).hf.chat("t")
    assert out["t_reply"].iloc[0] == "Echo: hi" and hf.count() == 3


def test_one_row_client_error_is_a_row_error(hf):
    df = pd.DataFrame({"t": ["fine", "bad [[400]]"]})
    out = quiet(df.hf.chat, "t")
    assert out["t_reply"].iloc[0] == "Echo: fine"
    assert "HTTP 400: bad input" in out["t_error"].iloc[1]


def test_unknown_model_stops_the_call(hf):
    with pytest.raises(FatalRequestError, match="404"):
        pd.DataFrame({"t": ["hi"]}).hf.chat("t", model="missing/model")


# ---------------------------------------------------------------------------------------------
# argument checks


@pytest.mark.parametrize("kwargs,error,match", [
    ({"stream": True}, ValueError, "stream"),
    ({"n": 2}, ValueError, "n=2"),
    ({"schema": {"a": str}}, TypeError, "json_schema="),
    ({"messages": []}, TypeError, "messages"),
    ({"response_format": "json"}, ValueError, "response_format"),
    ({"schema_retries": -1}, ValueError, "schema_retries"),
    ({"provider": "local"}, ValueError, "endpoint="),
    ({"json_schema": {"a": bytes}}, TypeError, "field 'a'"),
    ({"system": 3}, TypeError, "system"),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        chat("t", **kwargs)


def test_sampling_parameters_go_to_the_body(hf):
    pd.DataFrame({"t": ["hi"]}).hf.chat("t", max_tokens=5, seed=3, top_p=0.9, stop=["\n"],
                                          parameters={"frequency_penalty": 0.5})
    body_ = hf.requests[0].json
    assert {k: body_[k] for k in ("max_tokens", "seed", "top_p", "stop", "frequency_penalty")} == {
        "max_tokens": 5, "seed": 3, "top_p": 0.9, "stop": ["\n"], "frequency_penalty": 0.5}


# ---------------------------------------------------------------------------------------------
# polars (when the polars adapter is installed)


def _polars():
    pl = pytest.importorskip("polars")
    if not hasattr(pl.DataFrame, "hf"):
        pytest.skip("the polars adapter is not available")
    return pl


def test_polars_template_and_lazy_dtype(hf):
    pl = _polars()
    df = pl.DataFrame({"product": ["kettle", "lamp"], "review": ["Boils fast", "Too dim"]})
    lazy = df.lazy().hf.chat("Rate {product}: {review}", json_schema={"stars": int, "tags": list[str]})
    schema = lazy.collect_schema()
    assert hf.count() == 0  # the dtype is known before anything is sent
    assert schema["chat_stars"] == pl.Int64 and schema["chat_tags"] == pl.List(pl.String)
    out = lazy.collect()
    assert out["chat_stars"].to_list() == [1, 1] and hf.count() == 2


def test_polars_format_expression_as_prompt(hf):
    pl = _polars()
    df = pl.DataFrame({"product": ["kettle"], "review": ["Boils fast"]})
    out = df.hf.chat(pl.format("Rate {}: {}", "product", "review"), prefix="rating")
    assert out["rating_reply"].to_list() == ["Echo: Rate kettle: Boils fast"]


def test_polars_expression_with_schema_dtype(hf):
    pl = _polars()
    lf = pl.DataFrame({"product": ["kettle", "lamp"], "review": ["Boils fast", "Too dim"]}).lazy()
    expr = pl.format("Rate {}: {}", "product", "review").hf.chat(json_schema={"stars": int}).alias("rating")
    planned = lf.with_columns(expr).unnest("rating")
    assert planned.collect_schema()["stars"] == pl.Int64 and hf.count() == 0
    assert planned.collect()["stars"].to_list() == [1, 1] and hf.count() == 2


def test_polars_streaming_usage_adds_up_over_batches(hf):
    pl = _polars()
    texts = [f"prompt number {i}" for i in range(300)]
    hf_frame.usage(reset=True)
    out = pl.LazyFrame({"t": texts}).hf.chat("t").collect(engine="streaming")
    assert out["t_reply"].to_list() == [f"Echo: {t}" for t in texts] and hf.count() == 300
    per_row = answers.chat_completion(MODEL, [{"role": "user", "content": texts[0]}])["usage"]["total_tokens"]
    assert hf_frame.usage()["total_tokens"] == 300 * per_row


def test_module_doctests():
    import doctest
    import importlib

    chat_module = importlib.import_module("hf_frame.methods.chat")
    from hf_frame.tasks import chat as task_module

    for module in (chat_module, task_module):
        assert doctest.testmod(module).failed == 0


# ---------------------------------------------------------------------------------------------
# recorded exchanges (../shared/hf-recorded), replayed through httpx.MockTransport


def replay(name, index=0):
    """(request body, recorded URI, MockTransport answering with the recorded response, seen requests)."""
    pair = interactions(name)[index]
    request, response = pair["request"], pair["response"]
    seen = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        raw = response["body"]["text"].encode()
        headers = {k: v[0] for k, v in response["headers"].items()}
        return httpx.Response(response["status"], content=raw, headers=headers)

    return body(request), request["uri"], httpx.MockTransport(handler), seen


def sent(req: httpx.Request) -> dict:
    return json.loads(req.content)


def recorded_body(request: dict) -> dict:
    """The recorded body as hf_frame sends it: no nulls, no ``stream: false`` (never streams)."""
    return {k: v for k, v in request.items() if v is not None and k != "stream"}


def test_recorded_no_stream(hub):
    request, uri, transport, seen = replay("chat_completion_no_stream")
    endpoint = uri.removesuffix("/v1/chat/completions")
    df = pd.DataFrame({"q": [request["messages"][1]["content"]]})
    out = df.hf.chat("q", system=request["messages"][0]["content"], max_tokens=20, temperature=1.0,
                     endpoint=endpoint, transport=transport, details=True)
    [req] = seen
    assert str(req.url) == uri and sent(req) == recorded_body(request)
    row = out.iloc[0]
    assert row["q_reply"].startswith("Deep learning is a subfield of machine learning")
    assert (row["q_finish_reason"], row["q_prompt_tokens"], row["q_completion_tokens"]) == ("length", 47, 20)
    assert hf_frame.last_run()["usage"] == {"prompt_tokens": 47, "completion_tokens": 20, "total_tokens": 67}


def test_recorded_non_tgi_model(hub):
    request, uri, transport, seen = replay("chat_completion_with_non_tgi")
    df = pd.DataFrame({"q": [request["messages"][1]["content"]]})
    out = df.hf.chat("q", system=request["messages"][0]["content"], model=request["model"], max_tokens=20,
                     endpoint=uri.removesuffix("/v1/chat/completions"), transport=transport, details=True)
    assert sent(seen[0]) == recorded_body(request)
    assert out.iloc[0]["q_reply"] == "What does deep learning have to do with anything?"
    assert out.iloc[0]["q_finish_reason"] == "eos_token"


def test_recorded_response_format(hub):
    request, uri, transport, seen = replay("chat_completion_with_response_format")
    schema = request["response_format"]["value"]
    df = pd.DataFrame({"q": [request["messages"][0]["content"]]})
    out = df.hf.chat("q", model=request["model"], json_schema=schema, max_tokens=500,
                     endpoint=uri.removesuffix("/v1/chat/completions"), transport=transport)
    body_ = sent(seen[0])
    # TGI accepts "json" and its alias "json_object" (the form huggingface_hub sends today).
    assert body_["response_format"] == {"type": "json_object", "value": schema}
    assert {**body_, "response_format": request["response_format"]} == recorded_body(request)
    row = out.iloc[0]
    assert (row["q_location"], row["q_activity"], row["q_animals_seen"]) == ("park", "bike ride", 3)
    assert list(row["q_animals"]) == ["puppy", "cat", "raccoon"]
    assert str(out["q_animals_seen"].dtype) == "int64[pyarrow]"


def test_recorded_unprocessable_entity_one_row_is_a_row_error(hub):
    [pair] = interactions("chat_completion_unprocessable_entity")
    text = pair["response"]["body"]["text"]
    hub.fail(422, body=text, match="[[422]]", times=math.inf)
    df = pd.DataFrame({"q": ["fine", "broken [[422]]"]})
    out = quiet(df.hf.chat, "q", base_url=hub.base_url)
    assert out["q_reply"].iloc[0] == "Echo: fine"
    assert out["q_error"].iloc[1].endswith(f"HTTP 422: {text}")
    assert hub.count() == 2  # a 422 is final: not retried


def test_recorded_unprocessable_entity_on_every_row_stops_the_call(hub):
    [pair] = interactions("chat_completion_unprocessable_entity")
    text = pair["response"]["body"]["text"]
    hub.fail(422, body=text, times=math.inf)
    df = pd.DataFrame({"q": [f"question {i}" for i in range(50)]})
    with pytest.raises(FatalRequestError, match="Failed to deserialize the JSON body") as info:
        df.hf.chat("q", base_url=hub.base_url, max_concurrency=1)
    assert info.value.status == 422 and hub.count() <= 4  # stopped at the third (one more may be on the wire)


def test_recorded_unprocessable_entity_replayed(hub):
    request, uri, transport, seen = replay("chat_completion_unprocessable_entity")
    out = quiet(pd.DataFrame({"q": ["please output 'Observation'"]}).hf.chat, "q",
                endpoint=uri.removesuffix("/v1/chat/completions"), transport=transport, stop=request["stop"])
    assert "HTTP 422: Failed to deserialize the JSON body into the target type" in out["q_error"].iloc[0]
    assert sent(seen[0])["messages"] == [{"role": "user", "content": "please output 'Observation'"}]  # a list


@pytest.mark.parametrize("index,function", [(0, "get_n_day_weather_forecast"), (1, "get_current_weather")])
def test_recorded_tool_call_answer_is_a_row_error(hub, index, function):
    request, uri, transport, seen = replay("chat_completion_with_tool", index)
    out = quiet(pd.DataFrame({"q": [request["messages"][1]["content"]]}).hf.chat, "q",
                endpoint=uri.removesuffix("/v1/chat/completions"), transport=transport,
                tools=request["tools"], tool_choice=request["tool_choice"])
    assert sent(seen[0])["tools"] == request["tools"]
    assert "answered with tool calls instead of text" in out["q_error"].iloc[0]
    assert function in out["q_error"].iloc[0]


def test_recorded_stream_is_refused():
    interactions("chat_completion_with_stream")  # the recorded answer is SSE: hf_frame never asks for it
    with pytest.raises(ValueError, match="stream"):
        chat("q", stream=True)


def test_recorded_answers_parse_with_the_task_directly():
    """Every recorded 200 answer parses through ChatCompletion.parse into the documented fields."""
    for name, reply in [("chat_completion_no_stream", "Deep learning is a subfield"),
                        ("chat_completion_with_non_tgi", "What does deep learning")]:
        [pair] = interactions(name)
        job = methods.METHODS["chat"]("q", details=True)
        call = job.calls[0]
        [result] = call.task.parse(call, body(pair["response"]), [[]])
        row = call.task.build_array(call, [result]).to_pylist()[0]
        assert row["reply"].startswith(reply) and row["prompt_tokens"] > 0
