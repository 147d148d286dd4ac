"""Structured chat replies with keys the schema does not name (a server ignoring response_format):
allowed and dropped unless the schema itself forbids them; the wire schema stays strict."""

from __future__ import annotations

import pandas as pd
import pydantic
import pytest

import hf_frame
from hf_frame.formats.structured import acceptance_schema, normalize_schema

REPLY = '{"product": "kettle", "price": 12.5, "extra": {"nested": true}}'


def completion(content):
    return {"object": "chat.completion", "id": "", "created": 0, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


@pytest.fixture
def hf(hub):
    hf_frame.configure(base_url=hub.base_url, retry_backoff=0.001)
    hub.fail(200, body=completion(REPLY), times=float("inf"))
    return hub


class Loose(pydantic.BaseModel):
    product: str


class Strict(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    product: str


@pytest.mark.parametrize("schema", [
    {"product": str},                                                               # a mapping
    Loose,                                                                          # pydantic, extra="ignore"
    {"type": "object", "properties": {"product": {"type": "string"}}, "required": ["product"]},  # JSON Schema
])
def test_extra_keys_are_dropped_when_the_schema_allows_them(hf, schema):
    out = pd.DataFrame({"t": ["hi"]}).hf.chat("t", json_schema=schema)
    assert out["t_product"].tolist() == ["kettle"] and out["t_error"].isna().all()
    assert [c for c in out.columns if c.startswith("t_")] == ["t_product", "t_error"]
    # the wire form is unchanged: strict for mappings and models, a JSON Schema as given
    sent = hf.requests[0].json["response_format"]["json_schema"]["schema"]
    assert sent == (schema if isinstance(schema, dict) and "type" in schema else normalize_schema(schema))
    if not (isinstance(schema, dict) and "type" in schema):
        assert sent["additionalProperties"] is False


@pytest.mark.parametrize("schema", [
    Strict,
    {"type": "object", "properties": {"product": {"type": "string"}}, "additionalProperties": False},
])
def test_extra_keys_fail_when_the_schema_forbids_them(hf, schema):
    out = pd.DataFrame({"t": ["hi"]}).hf.chat("t", json_schema=schema, errors="ignore", schema_retries=0)
    assert out["t_product"].isna().all()
    assert "unexpected field 'price', 'extra'" in out["t_error"].iloc[0]


def test_acceptance_schema_follows_the_schemas_own_rule():
    assert "additionalProperties" not in acceptance_schema({"a": str, "b": {"c": int}})["properties"]["b"]
    assert normalize_schema({"a": str})["additionalProperties"] is False  # the wire form is unchanged
    assert "additionalProperties" not in acceptance_schema(Loose)
    assert acceptance_schema(Strict)["additionalProperties"] is False
    assert acceptance_schema({"nested": Strict})["properties"]["nested"]["additionalProperties"] is False
