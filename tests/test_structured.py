"""Tests for hf_frame.structured: schema normalization, Arrow types, reply validation."""

from __future__ import annotations

import json
import re
from typing import Literal, Optional, Union

import pyarrow as pa
import pytest
from recorded import RECORDED_DIR  # noqa: E402

from hf_frame.formats.structured import (
    SchemaMismatch,
    arrow_type,
    normalize_schema,
    parse_reply,
    response_format,
    validate,
)

RECORDED = RECORDED_DIR / "chat_completion_with_response_format.json"


def obj(properties: dict, **extra) -> dict:
    """A strict object schema, as normalize_schema builds it."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
        **extra,
    }


# --------------------------------------------------------------------------- normalize_schema: mappings


def test_mapping_of_simple_types():
    schema = normalize_schema({"name": str, "age": int, "score": float, "ok": bool})
    assert schema == obj(
        {
            "name": {"type": "string"},
            "age": {"type": "integer"},
            "score": {"type": "number"},
            "ok": {"type": "boolean"},
        }
    )
    assert list(schema["properties"]) == ["name", "age", "score", "ok"]


def test_mapping_lists_nested_literal_optional():
    schema = normalize_schema(
        {
            "tags": list[str],
            "counts": list[int],
            "address": {"city": str, "zip": Optional[str]},
            "label": Literal["pos", "neg"],
            "stars": Literal[1, 2, 3],
            "note": str | None,
        }
    )
    props = schema["properties"]
    assert props["tags"] == {"type": "array", "items": {"type": "string"}}
    assert props["counts"] == {"type": "array", "items": {"type": "integer"}}
    assert props["address"] == obj(
        {"city": {"type": "string"}, "zip": {"anyOf": [{"type": "string"}, {"type": "null"}]}}
    )
    assert props["label"] == {"type": "string", "enum": ["pos", "neg"]}
    assert props["stars"] == {"type": "integer", "enum": [1, 2, 3]}
    assert props["note"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    # Optional fields are nullable but still required (OpenAI strict mode).
    assert schema["required"] == ["tags", "counts", "address", "label", "stars", "note"]


@pytest.mark.parametrize(
    ("mapping", "field"),
    [
        ({"data": bytes}, "'data'"),
        ({"meta": dict}, "'meta'"),
        ({"items": list}, "'items'"),
        ({"address": {"city": str, "geo": tuple[float, float]}}, "'address.geo'"),
        ({"x": Union[int, str]}, "'x'"),
        ({"x": Literal["a", 1]}, "'x'"),
        ({"tags": list[set]}, "'tags[]'"),
        ({"age": "integer"}, "'age'"),
        ({"empty": {}}, "'empty'"),
    ],
)
def test_unsupported_types_name_the_field(mapping, field):
    with pytest.raises(TypeError, match=re.escape(f"field {field}")):
        normalize_schema(mapping)


def test_annotated_types_are_unwrapped():
    from typing import Annotated

    schema = normalize_schema({"n": Annotated[int, "a count"]})
    assert schema["properties"]["n"] == {"type": "integer"}


def test_field_names_must_be_strings():
    with pytest.raises(TypeError, match="field names must be strings"):
        normalize_schema({1: str})


def test_a_field_may_be_called_type_or_properties():
    schema = normalize_schema({"type": str, "properties": {"a": int}})
    assert schema["properties"]["type"] == {"type": "string"}
    assert schema["properties"]["properties"] == obj({"a": {"type": "integer"}})


def test_schema_of_wrong_kind():
    with pytest.raises(TypeError, match="not list"):
        normalize_schema(["a"])


# --------------------------------------------------------------------------- normalize_schema: JSON Schema dicts


def test_json_schema_is_returned_as_is():
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    assert normalize_schema(schema) is schema
    assert schema == {"type": "object", "properties": {"a": {"type": "string"}}}


def test_json_schema_without_type_is_accepted():
    schema = {"properties": {"a": {"type": "string"}}, "required": ["a"]}
    assert normalize_schema(schema) is schema


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "array", "items": {"type": "string"}},
        {"type": "object"},
        {"type": "string"},
        {"type": "object", "properties": "nope"},
        {"type": "object", "properties": {}},
    ],
)
def test_json_schema_must_be_an_object_with_properties(schema):
    with pytest.raises(ValueError, match="must describe an object"):
        normalize_schema(schema)


def test_json_schema_refs_are_inlined_without_touching_the_input():
    schema = {
        "type": "object",
        "$defs": {"City": {"type": "string", "description": "a city"}},
        "properties": {
            "home": {"$ref": "#/$defs/City", "description": "where they live"},
            "visited": {"type": "array", "items": {"$ref": "#/$defs/City"}},
            # A property whose *name* is "$defs" is a property, not a keyword.
            "$defs": {"type": "integer"},
        },
    }
    original = json.loads(json.dumps(schema))
    result = normalize_schema(schema)
    assert schema == original
    assert "$defs" not in result
    assert result["properties"]["home"] == {"type": "string", "description": "where they live"}
    assert result["properties"]["visited"]["items"] == {"type": "string", "description": "a city"}
    assert result["properties"]["$defs"] == {"type": "integer"}


def test_recursive_refs_are_rejected():
    schema = {
        "type": "object",
        "properties": {"node": {"$ref": "#/$defs/Node"}},
        "$defs": {"Node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}}},
    }
    with pytest.raises(TypeError, match="recursive"):
        normalize_schema(schema)


def test_dangling_ref_is_an_error():
    with pytest.raises(ValueError, match="points to nothing"):
        normalize_schema({"type": "object", "properties": {"a": {"$ref": "#/$defs/Missing"}}})


# --------------------------------------------------------------------------- normalize_schema: pydantic


def test_pydantic_model_is_inlined_and_made_strict():
    pydantic = pytest.importorskip("pydantic")

    class Address(pydantic.BaseModel):
        city: str
        zip: Optional[str] = None

    class Person(pydantic.BaseModel):
        name: str
        age: int = 0
        home: Address
        previous: list[Address]
        mood: Literal["happy", "sad"]

    schema = normalize_schema(Person)
    assert "$defs" not in json.dumps(schema) and "$ref" not in json.dumps(schema)
    assert schema["type"] == "object"
    assert schema["required"] == ["name", "age", "home", "previous", "mood"]
    assert schema["additionalProperties"] is False
    home = schema["properties"]["home"]
    assert home["required"] == ["city", "zip"]
    assert home["additionalProperties"] is False
    assert home["properties"]["zip"]["anyOf"] == [{"type": "string"}, {"type": "null"}]
    assert "default" not in home["properties"]["zip"]  # default: null is dropped
    assert schema["properties"]["age"]["default"] == 0  # other defaults are kept
    assert schema["properties"]["previous"]["items"]["required"] == ["city", "zip"]
    assert schema["properties"]["mood"]["enum"] == ["happy", "sad"]

    assert arrow_type(Person) == pa.struct(
        [
            ("name", pa.string()),
            ("age", pa.int64()),
            ("home", pa.struct([("city", pa.string()), ("zip", pa.string())])),
            ("previous", pa.list_(pa.struct([("city", pa.string()), ("zip", pa.string())]))),
            ("mood", pa.string()),
        ]
    )
    reply = '{"name": "Ada", "age": 36, "home": {"city": "London", "zip": null}, "previous": [], "mood": "happy"}'
    parsed = parse_reply(reply, Person)
    assert Person.model_validate(parsed).home.city == "London"


def test_pydantic_model_inside_a_mapping():
    pydantic = pytest.importorskip("pydantic")

    class Point(pydantic.BaseModel):
        x: float
        y: float

    schema = normalize_schema({"label": str, "at": Point})
    assert schema["properties"]["at"]["required"] == ["x", "y"]
    assert arrow_type(schema) == pa.struct(
        [("label", pa.string()), ("at", pa.struct([("x", pa.float64()), ("y", pa.float64())]))]
    )


# --------------------------------------------------------------------------- arrow_type


def test_arrow_type_of_mapping():
    schema = {
        "name": str,
        "age": Optional[int],
        "score": float,
        "ok": bool,
        "tags": list[str],
        "matrix": list[list[int]],
        "address": {"city": str, "geo": {"lat": float}},
        "label": Literal["a", "b"],
    }
    assert arrow_type(schema) == pa.struct(
        [
            ("name", pa.string()),
            ("age", pa.int64()),
            ("score", pa.float64()),
            ("ok", pa.bool_()),
            ("tags", pa.list_(pa.string())),
            ("matrix", pa.list_(pa.list_(pa.int64()))),
            ("address", pa.struct([("city", pa.string()), ("geo", pa.struct([("lat", pa.float64())]))])),
            ("label", pa.string()),
        ]
    )


def test_arrow_type_of_json_schema_variants():
    schema = {
        "type": "object",
        "properties": {
            "nullable_list": {"type": ["integer", "null"]},
            "one_of": {"oneOf": [{"type": "null"}, {"type": "boolean"}]},
            "enum_only": {"enum": ["x", "y", None]},
            "int_enum": {"enum": [1, 2]},
            "const": {"const": "fixed"},
            "untyped": {},
            "free_object": {"type": "object"},
            "empty_object": {"type": "object", "properties": {}},
            "union": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            "array_no_items": {"type": "array"},
        },
    }
    assert arrow_type(schema) == pa.struct(
        [
            ("nullable_list", pa.int64()),
            ("one_of", pa.bool_()),
            ("enum_only", pa.string()),
            ("int_enum", pa.int64()),
            ("const", pa.string()),
            ("untyped", pa.string()),
            ("free_object", pa.string()),
            ("empty_object", pa.string()),
            ("union", pa.string()),
            ("array_no_items", pa.list_(pa.string())),
        ]
    )


def test_validated_rows_fit_the_arrow_type():
    schema = normalize_schema(
        {
            "name": str,
            "age": Optional[int],
            "tags": list[str],
            "address": {"city": str, "zip": Optional[str]},
        }
    )
    rows = [
        validate({"name": "a", "age": 3.0, "tags": ["x"], "address": {"city": "P", "zip": None}}, schema),
        validate({"name": "b", "age": None, "tags": [], "address": {"city": "Q", "zip": "75"}}, schema),
    ]
    array = pa.array(rows + [None], type=arrow_type(schema))
    assert array.type == arrow_type(schema)
    assert array.to_pylist() == [
        {"name": "a", "age": 3, "tags": ["x"], "address": {"city": "P", "zip": None}},
        {"name": "b", "age": None, "tags": [], "address": {"city": "Q", "zip": "75"}},
        None,
    ]


def test_json_text_columns_round_trip():
    schema = {
        "type": "object",
        "properties": {"meta": {"type": "object"}, "anything": {}, "either": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
    }
    row = validate({"meta": {"k": [1, 2]}, "anything": [True, None], "either": 7}, schema)
    assert row == {"meta": '{"k": [1, 2]}', "anything": "[true, null]", "either": "7"}
    array = pa.array([row], type=arrow_type(schema))
    assert json.loads(array[0]["meta"].as_py()) == {"k": [1, 2]}
    assert validate({"meta": {}, "anything": None, "either": "s"}, schema)["either"] == '"s"'


# --------------------------------------------------------------------------- validate


SCHEMA = normalize_schema(
    {
        "name": str,
        "age": int,
        "score": float,
        "ok": bool,
        "tags": list[str],
        "address": {"city": str},
        "label": Literal["pos", "neg"],
        "note": Optional[str],
    }
)
GOOD = {
    "name": "Ada",
    "age": 36,
    "score": 0.5,
    "ok": True,
    "tags": ["x"],
    "address": {"city": "London"},
    "label": "pos",
    "note": None,
}


def with_(**changes):
    return {**GOOD, **changes}


def test_validate_returns_fields_in_schema_order():
    shuffled = dict(reversed(list(GOOD.items())))
    result = validate(shuffled, SCHEMA)
    assert result == GOOD
    assert list(result) == list(SCHEMA["properties"])


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (with_(address={"city": 12}), "$.address.city: expected string, got 12"),
        (with_(age=True), "$.age: expected integer, got true"),
        (with_(age=3.5), "$.age: expected integer, got 3.5"),
        (with_(age="3"), '$.age: expected integer, got "3"'),
        (with_(age=2**63), "$.age: integer 9223372036854775808 does not fit in int64"),
        (with_(score=False), "$.score: expected number, got false"),
        (with_(score="0.5"), '$.score: expected number, got "0.5"'),
        (with_(score=float("inf")), "$.score: expected a finite number"),
        (with_(ok=1), "$.ok: expected boolean, got 1"),
        (with_(name=None), "$.name: expected string, got null"),
        (with_(tags="x"), '$.tags: expected array, got "x"'),
        (with_(tags=["x", 2]), "$.tags[1]: expected string, got 2"),
        (with_(address="London"), '$.address: expected object, got "London"'),
        (with_(address={}), "$.address.city: missing required field"),
        (with_(label="meh"), '$.label: expected one of ["pos", "neg"], got "meh"'),
        (with_(extra=1), "$: unexpected field 'extra'"),
        (with_(address={"city": "L", "country": "UK"}), "$.address: unexpected field 'country'"),
        ({k: v for k, v in GOOD.items() if k != "note"}, "$.note: missing required field"),
        ([GOOD], "$: expected object, got [{"),
        (None, "$: expected object, got null"),
    ],
)
def test_validate_reports_the_json_path(value, message):
    with pytest.raises(SchemaMismatch) as info:
        validate(value, SCHEMA)
    assert str(info.value).startswith(message)
    assert isinstance(info.value, ValueError)


def test_integral_float_is_accepted_as_integer_and_converted():
    result = validate(with_(age=36.0), SCHEMA)
    assert result["age"] == 36 and type(result["age"]) is int


def test_int_is_accepted_as_number_and_converted_to_float():
    result = validate(with_(score=1), SCHEMA)
    assert result["score"] == 1.0 and type(result["score"]) is float


def test_optional_fields_and_extras_without_additional_properties_false():
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
        "required": ["a"],
    }
    assert validate({"a": "x", "zzz": 1}, schema) == {"a": "x", "b": None}
    with pytest.raises(SchemaMismatch, match=r"^\$\.b: expected integer, got null"):
        validate({"a": "x", "b": None}, schema)


def test_enum_comparison_is_type_strict():
    schema = {"type": "object", "properties": {"level": {"enum": [1, 2]}, "flag": {"enum": [True]}}}
    assert validate({"level": 1, "flag": True}, schema) == {"level": 1, "flag": True}
    with pytest.raises(SchemaMismatch, match=r"\$\.level: expected integer, got true"):
        validate({"level": True}, schema)
    with pytest.raises(SchemaMismatch, match=r"\$\.flag: expected boolean, got 1"):
        validate({"flag": 1}, schema)


def test_numeric_bounds_are_enforced():
    schema = {
        "type": "object",
        "properties": {
            "n": {"type": "integer", "minimum": 1, "maximum": 5},
            "p": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        },
    }
    assert validate({"n": 5, "p": 0.5}, schema) == {"n": 5, "p": 0.5}
    with pytest.raises(SchemaMismatch, match=r"^\$\.n: expected a value <= 5, got 6$"):
        validate({"n": 6}, schema)
    with pytest.raises(SchemaMismatch, match=r"^\$\.p: expected a value > 0, got 0$"):
        validate({"p": 0}, schema)


def test_union_nodes_accept_any_branch_and_reject_others():
    schema = {"type": "object", "properties": {"v": {"anyOf": [{"type": "string"}, {"type": "integer"}]}}}
    with pytest.raises(SchemaMismatch, match=r"^\$\.v: 1\.5 matches none"):
        validate({"v": 1.5}, schema)
    with pytest.raises(SchemaMismatch, match=r"^\$\.v: expected string or integer, got null"):
        validate({"v": None}, schema)


def test_free_form_object_must_still_be_an_object():
    schema = {"type": "object", "properties": {"meta": {"type": "object"}}}
    with pytest.raises(SchemaMismatch, match=r"^\$\.meta: expected object, got \[\]"):
        validate({"meta": []}, schema)


def test_paths_quote_unusual_field_names():
    schema = normalize_schema({"first name": {"x-y": int}})
    with pytest.raises(SchemaMismatch, match=r'^\$\["first name"\]\["x-y"\]: expected integer, got "1"'):
        validate({"first name": {"x-y": "1"}}, schema)


def test_long_values_are_shortened_in_messages():
    with pytest.raises(SchemaMismatch) as info:
        validate(with_(name="x" * 500), normalize_schema({"name": int}))
    assert len(str(info.value)) < 80


def test_validate_accepts_the_un_normalized_forms_too():
    assert validate({"a": "1"}, {"a": str}) == {"a": "1"}


# --------------------------------------------------------------------------- parse_reply


@pytest.mark.parametrize(
    "reply",
    [
        '{"city": "Paris"}',
        '  \n{"city": "Paris"}\n\n',
        '```json\n{"city": "Paris"}\n```',
        '```JSON\n{"city": "Paris"}\n```',
        '\n```\n{"city": "Paris"}\n```  ',
        '```json {"city": "Paris"} ```',
    ],
)
def test_parse_reply_accepted_forms(reply):
    assert parse_reply(reply, {"city": str}) == {"city": "Paris"}


@pytest.mark.parametrize(
    "reply",
    [
        'Sure! {"city": "Paris"}',
        'Here you go:\n```json\n{"city": "Paris"}\n```',
        '```json\n{"city": "Paris"}',
        '{"city": "Paris"',
        "",
        '{"city": NaN}',
        "```python\n{'city': 'Paris'}\n```",
    ],
)
def test_parse_reply_rejects_other_text(reply):
    with pytest.raises(SchemaMismatch, match="^reply is not valid JSON: "):
        parse_reply(reply, {"city": str})


def test_parse_reply_error_has_a_short_excerpt():
    reply = "I am sorry, but " + "I cannot help with that. " * 20
    with pytest.raises(SchemaMismatch) as info:
        parse_reply(reply, {"city": str})
    message = str(info.value)
    excerpt = message[len("reply is not valid JSON: ") :].split(" (")[0]
    assert excerpt.startswith("'I am sorry, but I cannot help")
    assert len(excerpt.strip("'")) <= 80
    assert excerpt.endswith("...'")
    assert "line 1 column 1" in message


def test_parse_reply_validates():
    with pytest.raises(SchemaMismatch, match=r"^\$\.city: expected string, got 1$"):
        parse_reply('{"city": 1}', {"city": str})


def test_parse_reply_rejects_non_text():
    with pytest.raises(SchemaMismatch, match="expected text, got NoneType"):
        parse_reply(None, {"city": str})  # type: ignore[arg-type]


def test_recorded_response_format_exchange():
    """A real reply recorded by huggingface_hub against the HF Inference API."""
    if not RECORDED.exists():
        pytest.skip(f"{RECORDED} is not available")
    interaction = json.loads(RECORDED.read_text())["interactions"][0]
    request = json.loads(interaction["request"]["body"]["text"])
    reply = json.loads(interaction["response"]["body"]["text"])["choices"][0]["message"]["content"]

    # The schema the request sent, as a JSON Schema dict (it has no "type": "object").
    sent_schema = request["response_format"]["value"]
    parsed = parse_reply(reply, sent_schema)
    assert parsed == {"location": "park", "activity": "bike ride", "animals_seen": 3, "animals": ["puppy", "cat", "raccoon"]}
    assert list(parsed) == ["location", "activity", "animals_seen", "animals"]  # schema order, not reply order

    # The same schema written as a Python mapping.
    mapping = {"location": str, "activity": str, "animals_seen": int, "animals": list[str]}
    assert parse_reply(reply, mapping) == parsed
    column = pa.array([parsed], type=arrow_type(mapping))
    assert column.type.field("animals").type == pa.list_(pa.string())
    assert column.to_pylist() == [parsed]

    # The recorded bounds (1..5) are enforced; a stricter schema rejects the reply.
    tighter = {**sent_schema, "properties": {**sent_schema["properties"], "animals_seen": {"type": "integer", "maximum": 2}}}
    with pytest.raises(SchemaMismatch, match=r"^\$\.animals_seen: expected a value <= 2, got 3$"):
        parse_reply(reply, tighter)
    with pytest.raises(SchemaMismatch, match=r"^\$\.location: expected one of"):
        parse_reply(reply, {**mapping, "location": Literal["beach", "forest"]})


# --------------------------------------------------------------------------- response_format


def test_response_format_openai():
    schema = normalize_schema({"label": str})
    assert response_format(schema) == {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": schema, "strict": True},
    }
    assert response_format(schema, name="review_rating")["json_schema"]["name"] == "review_rating"


def test_response_format_tgi():
    schema = normalize_schema({"label": str})
    assert response_format(schema, flavor="tgi") == {"type": "json_object", "value": schema}


def test_response_format_normalizes_mappings():
    assert response_format({"n": int}, flavor="tgi")["value"] == obj({"n": {"type": "integer"}})


@pytest.mark.parametrize("name", ["", "has space", "x" * 65, "é"])
def test_response_format_rejects_bad_names(name):
    with pytest.raises(ValueError, match="schema name"):
        response_format({"a": str}, name=name)


def test_response_format_rejects_unknown_flavor():
    with pytest.raises(ValueError, match="flavor must be 'openai' or 'tgi'"):
        response_format({"a": str}, flavor="anthropic")
