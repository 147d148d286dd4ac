"""Structured output for ``df.hf.chat(..., schema=...)``: schemas, Arrow types, reply checking.

A *schema* describes the JSON object the model must answer with.  It can be given as

* a JSON Schema dict for an object (``{"type": "object", "properties": {...}}``),
* a pydantic v2 model class, or
* a plain mapping of field names to Python types: ``{"label": str, "score": float}``.

:func:`normalize_schema` turns any of these into one JSON Schema dict.  From it,
:func:`arrow_type` gives the ``pyarrow`` struct type of the output column,
:func:`response_format` the request parameter that asks the server to constrain
generation, and :func:`parse_reply` / :func:`validate` turn each reply into a
dict that fits the struct type (or raise :class:`SchemaMismatch`, which the
caller turns into a null output plus an error message for that row).

Only the standard library and ``pyarrow`` are imported; pydantic is used only
through the model class the caller passes.

Example
-------
>>> from typing import Literal, Optional
>>> schema = normalize_schema({"label": Literal["pos", "neg"], "score": float,
...                            "note": Optional[str]})
>>> schema["required"], schema["additionalProperties"]
(['label', 'score', 'note'], False)
>>> arrow_type(schema)
StructType(struct<label: string, score: double, note: string>)
>>> parse_reply('```json\\n{"score": 1, "note": null, "label": "pos"}\\n```', schema)
{'label': 'pos', 'score': 1.0, 'note': None}
>>> parse_reply('{"label": "meh", "score": 0.5, "note": null}', schema)  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
...
hf_frame.errors.SchemaMismatch: $.label: expected one of ["pos", "neg"], got "meh"
"""

from __future__ import annotations

import copy
import json
import math
import re
import types
import typing
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from ..errors import SchemaMismatch

__all__ = [
    "SchemaMismatch",
    "normalize_schema",
    "acceptance_schema",
    "arrow_type",
    "validate",
    "parse_reply",
    "response_format",
]

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_EXCERPT_CHARS = 80
_SIMPLE_TYPES = {str: "string", bool: "boolean", int: "integer", float: "number"}
_UNSUPPORTED_HINT = (
    "use str, int, float, bool, list[...], Literal[...], Optional[...], "
    "a nested mapping or a pydantic model"
)
_SCHEMA_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# A reply that is exactly one fenced block: ```json ... ``` (language tag optional).
_FENCED = re.compile(r"^```(?:json\b)?\s*(?P<body>.*?)\s*```$", re.DOTALL | re.IGNORECASE)





# --------------------------------------------------------------------------- normalize_schema


def normalize_schema(schema: Any) -> dict:
    """Return a self-contained JSON Schema dict for an object.

    *schema* may be:

    * a JSON Schema dict with ``properties`` (``"type"`` must be ``"object"`` or
      absent).  It is returned **as-is** (the same object, not a copy) unless it
      contains ``$ref``, in which case a copy with every reference inlined is
      returned.  Nothing else is added: pass ``required`` and
      ``additionalProperties: false`` yourself if the server's strict mode needs them.
    * a pydantic v2 model class: ``model_json_schema()`` with ``$defs``/``$ref``
      inlined, and made "strict" the way OpenAI requires: on every object all
      properties are ``required`` and ``additionalProperties`` is ``false``
      (fields that are ``Optional`` stay nullable; ``default: null`` is dropped).
    * a mapping of field name to Python type: ``str``, ``int``, ``float``,
      ``bool``, ``list[X]``, ``typing.Literal[...]`` (an enum of str, int or bool
      values), ``Optional[X]`` / ``X | None`` (nullable, but still required),
      a nested mapping of the same kind, or a pydantic model class.

    Every object produced from a mapping has ``"type": "object"``, its
    ``properties`` in mapping order, all of them ``required``, and
    ``additionalProperties: false``.

    Raises ``TypeError`` naming the field for an unsupported Python type, and
    ``ValueError`` for a dict that is not an object JSON Schema.

    >>> normalize_schema({"name": str, "tags": list[str]})["properties"]
    {'name': {'type': 'string'}, 'tags': {'type': 'array', 'items': {'type': 'string'}}}
    >>> normalize_schema({"address": {"zip": bytes}})  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    TypeError: field 'address.zip': unsupported type <class 'bytes'>; use str, int, float, bool, ...
    >>> js = {"type": "object", "properties": {"a": {"type": "string"}}}
    >>> normalize_schema(js) is js
    True
    """
    if _is_pydantic_model(schema):
        return _from_pydantic(schema)
    if not isinstance(schema, Mapping):
        raise TypeError(
            "schema must be a JSON Schema dict, a pydantic model class or a mapping of "
            f"field names to Python types, not {type(schema).__name__}"
        )
    if _is_type_mapping(schema):
        return _object_from_mapping(schema, prefix="")
    return _check_json_schema(schema)


def _is_pydantic_model(obj: Any) -> bool:
    return isinstance(obj, type) and callable(getattr(obj, "model_json_schema", None))


def _is_type_like(value: Any) -> bool:
    """Whether *value* looks like a Python type annotation rather than JSON Schema data."""
    if isinstance(value, Mapping):
        return _is_type_mapping(value)
    return isinstance(value, type) or typing.get_origin(value) is not None


def _is_type_mapping(mapping: Mapping) -> bool:
    """``{"a": str, "b": {"c": int}}`` is a type mapping; ``{"type": "object", ...}`` is not.

    JSON Schema dicts always hold JSON data (strings, lists, bools) somewhere, type
    mappings only hold types.
    """
    return bool(mapping) and all(_is_type_like(v) for v in mapping.values())


def _check_json_schema(schema: Mapping) -> dict:
    if "type" not in schema and "properties" not in schema:
        # Not JSON Schema at all: most likely a type mapping with a bad entry.
        for name, value in schema.items():
            if not _is_type_like(value):
                raise TypeError(f"field {name!r}: unsupported type {value!r}; {_UNSUPPORTED_HINT}")
    properties = schema.get("properties")
    if schema.get("type", "object") != "object" or not isinstance(properties, Mapping) or not properties:
        raise ValueError(
            "a JSON Schema must describe an object with at least one property: expected "
            '{"type": "object", "properties": {...}}; got keys '
            f"{sorted(map(str, schema))}. (A mapping of field names to Python types is "
            "also accepted, e.g. {'label': str}.)"
        )
    if _contains_ref(schema):
        return _inline_refs(copy.deepcopy(dict(schema)))
    return schema  # type: ignore[return-value]


def acceptance_schema(schema: Any) -> dict:
    """The schema replies are *checked* against: :func:`normalize_schema`'s, with extra keys
    allowed wherever the given schema allows them.

    :func:`normalize_schema` builds the strict schema sent to the server (OpenAI's strict mode
    wants ``additionalProperties: false`` on every object). A server that ignores
    ``response_format`` may still add keys; they are dropped from the typed columns rather than
    failing the row, unless the schema itself forbids them: a JSON Schema saying
    ``additionalProperties: false``, or a pydantic model with ``extra="forbid"``. A plain mapping
    of field names to types does not forbid extra keys.

    >>> acceptance_schema({"label": str}).get("additionalProperties", "allowed")
    'allowed'
    """
    if _is_pydantic_model(schema):
        return _from_pydantic(schema, forbid_extra=False)
    if isinstance(schema, Mapping) and _is_type_mapping(schema):
        return _object_from_mapping(schema, prefix="", forbid_extra=False)
    return normalize_schema(schema)


def _object_from_mapping(mapping: Mapping, prefix: str, forbid_extra: bool = True) -> dict:
    properties = {}
    for name, annotation in mapping.items():
        if not isinstance(name, str):
            raise TypeError(f"field names must be strings, got {name!r}")
        properties[name] = _annotation_schema(annotation, f"{prefix}{name}", forbid_extra)
    node = {"type": "object", "properties": properties, "required": list(properties)}
    return {**node, "additionalProperties": False} if forbid_extra else node


def _annotation_schema(annotation: Any, field: str, forbid_extra: bool = True) -> dict:
    """JSON Schema for one Python type annotation; *field* is the dotted name for errors."""
    if isinstance(annotation, type) and annotation in _SIMPLE_TYPES:
        return {"type": _SIMPLE_TYPES[annotation]}
    if isinstance(annotation, Mapping):
        if not annotation:
            raise TypeError(f"field {field!r}: a nested mapping needs at least one field")
        return _object_from_mapping(annotation, prefix=f"{field}.", forbid_extra=forbid_extra)
    if _is_pydantic_model(annotation):
        return _from_pydantic(annotation, forbid_extra)

    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:  # Annotated[int, "meta"] is an int
        return _annotation_schema(args[0], field, forbid_extra)
    if origin is list and len(args) == 1:
        return {"type": "array", "items": _annotation_schema(args[0], f"{field}[]", forbid_extra)}
    if origin is typing.Literal:
        return _literal_schema(args, field)
    if origin in (typing.Union, types.UnionType):
        others = [a for a in args if a is not type(None)]
        if len(others) == 1 and len(others) < len(args):
            return {"anyOf": [_annotation_schema(others[0], field, forbid_extra), {"type": "null"}]}
        raise TypeError(f"field {field!r}: unions other than Optional[X] are not supported ({annotation})")
    if annotation is list:
        raise TypeError(f"field {field!r}: give the item type, e.g. list[str]")
    raise TypeError(f"field {field!r}: unsupported type {annotation!r}; {_UNSUPPORTED_HINT}")


def _literal_schema(values: tuple, field: str) -> dict:
    for json_type, python_type in (("boolean", bool), ("integer", int), ("string", str)):
        # bool is checked first: True is also an int.
        if all(type(v) is python_type for v in values):
            return {"type": json_type, "enum": list(values)}
    raise TypeError(
        f"field {field!r}: Literal values must all be str, all int or all bool, got {values!r}"
    )


def _from_pydantic(model: type, forbid_extra: bool = True) -> dict:
    """The model's schema, every property required; ``additionalProperties: false`` on every
    object when ``forbid_extra`` (OpenAI's strict mode), else only where the model says so
    (``extra="forbid"``)."""
    return _make_strict(_inline_refs(model.model_json_schema()), forbid_extra)


# Keywords whose values are subschemas: a mapping of them, a list of them, or one.
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions")
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMA_SINGLES = ("items", "additionalProperties", "not", "contains")


def _map_subschemas(node: Mapping, transform: Any) -> dict:
    """A copy of the schema *node* with *transform* applied to each direct subschema.

    Only schema keywords are followed, so a property named e.g. ``"properties"``
    or ``"$ref"`` is never mistaken for a keyword.
    """
    out = dict(node)
    for key in _SUBSCHEMA_MAPS:
        if isinstance(node.get(key), Mapping):
            out[key] = {name: transform(sub) for name, sub in node[key].items()}
    for key in _SUBSCHEMA_LISTS:
        if isinstance(node.get(key), list):
            out[key] = [transform(sub) for sub in node[key]]
    for key in _SUBSCHEMA_SINGLES:
        if isinstance(node.get(key), Mapping):
            out[key] = transform(node[key])
        elif key == "items" and isinstance(node.get(key), list):  # draft-7 tuple form
            out[key] = [transform(sub) for sub in node[key]]
    return out


def _contains_ref(node: Any) -> bool:
    found = False

    def visit(sub: Any) -> Any:
        nonlocal found
        if isinstance(sub, Mapping):
            found = found or "$ref" in sub
            _map_subschemas(sub, visit)
        return sub

    visit(node)
    return found


def _inline_refs(schema: Mapping) -> dict:
    """Replace every local ``{"$ref": "#/..."}`` by the schema it points to; drop ``$defs``."""

    def resolve(pointer: str) -> Any:
        if not isinstance(pointer, str) or not pointer.startswith("#"):
            raise ValueError(f"only local $ref are supported, got {pointer!r}")
        target: Any = schema
        for part in pointer[1:].strip("/").split("/"):
            if part:
                part = part.replace("~1", "/").replace("~0", "~")
                try:
                    target = target[part]
                except (KeyError, TypeError):
                    raise ValueError(f"$ref {pointer!r} points to nothing") from None
        return target

    def walk(node: Any, seen: tuple[str, ...]) -> Any:
        if not isinstance(node, Mapping):
            return node
        node = {k: v for k, v in node.items() if k not in ("$defs", "definitions")}
        if "$ref" in node:
            pointer = node.pop("$ref")
            if pointer in seen:
                raise TypeError(f"recursive schemas are not supported ($ref {pointer!r})")
            target = walk(resolve(pointer), seen + (pointer,))
            # Keywords next to a $ref (description, default...) refine the target.
            return {**target, **_map_subschemas(node, lambda sub: walk(sub, seen))}
        return _map_subschemas(node, lambda sub: walk(sub, seen))

    return walk(schema, ())


def _make_strict(node: Any, forbid_extra: bool = True) -> Any:
    """OpenAI strict mode: every object lists all properties as required, no extra keys."""
    if not isinstance(node, Mapping):
        return node
    node = _map_subschemas(node, lambda sub: _make_strict(sub, forbid_extra))
    if "default" in node and node["default"] is None:
        del node["default"]
    if isinstance(node.get("properties"), Mapping):
        node["required"] = list(node["properties"])
        if forbid_extra:
            node["additionalProperties"] = False
    return node


# --------------------------------------------------------------------------- shapes

# Every schema node is classified once into a "shape" that both arrow_type and
# validate follow, so the validated values always fit the Arrow type.
_SCALARS = {"string": pa.string(), "integer": pa.int64(), "number": pa.float64(), "boolean": pa.bool_()}
_JSON = "json"  # shape of values stored as JSON text in a pa.string() column


def _shape(node: Any) -> tuple[str, bool, Mapping]:
    """Return ``(kind, nullable, node)`` for a schema node.

    *kind* is one of ``string``, ``integer``, ``number``, ``boolean``, ``array``,
    ``object`` (with properties), ``null`` or ``json`` (anything else: free-form
    objects, unions of several types, untyped nodes).  For ``anyOf``/``oneOf``
    with one non-null branch, the branch node is returned.
    """
    if not isinstance(node, Mapping):
        return _JSON, True, {}
    for key in ("anyOf", "oneOf"):
        if isinstance(node.get(key), list):
            branches = [b for b in node[key] if not (isinstance(b, Mapping) and b.get("type") == "null")]
            nullable = len(branches) < len(node[key])
            if len(branches) == 1:
                kind, branch_nullable, branch = _shape(branches[0])
                return kind, nullable or branch_nullable, branch
            return _JSON, nullable, node
    if "enum" in node or "const" in node:
        return _enum_shape(node)

    declared = node.get("type")
    nullable = False
    if isinstance(declared, list):
        nullable = "null" in declared
        non_null = [t for t in declared if t != "null"]
        declared = non_null[0] if len(non_null) == 1 else (None if non_null else "null")
    if not isinstance(declared, (str, type(None))):
        return _JSON, nullable, node
    if declared in _SCALARS:
        return declared, nullable, node
    if declared == "array" or (declared is None and "items" in node):
        return "array", nullable, node
    properties = node.get("properties")
    if declared in ("object", None) and isinstance(properties, Mapping) and properties:
        return "object", nullable, node
    if declared == "null":
        return "null", True, node
    # Stored as JSON text.  A node without any "type" accepts every value, null included.
    return _JSON, nullable or "type" not in node, node


def _enum_shape(node: Mapping) -> tuple[str, bool, Mapping]:
    values = list(node["enum"]) if "enum" in node else [node["const"]]
    nullable = any(v is None for v in values) or "null" in _as_list(node.get("type"))
    present = [v for v in values if v is not None]
    for kind, python_type in (("boolean", bool), ("integer", int), ("string", str), ("number", float)):
        if present and all(type(v) is python_type for v in present):
            return kind, nullable, node
    return _JSON, nullable, node


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


# --------------------------------------------------------------------------- arrow_type


def arrow_type(schema: Any) -> pa.StructType:
    """The ``pyarrow`` struct type of the output column for *schema*.

    Mapping of JSON Schema to Arrow (fields in ``properties`` order, all nullable):

    ============================================  =====================================
    ``string``, an enum of strings                ``pa.string()``
    ``integer``, an enum of ints                  ``pa.int64()``
    ``number``                                    ``pa.float64()``
    ``boolean``                                   ``pa.bool_()``
    ``array`` with ``items``                      ``pa.list_(<items type>)``
    ``object`` with ``properties``                ``pa.struct([...])``
    ``anyOf: [X, {type: null}]``, ``[X, "null"]`` the type of ``X``
    anything else                                 ``pa.string()`` holding **JSON text**
    ============================================  =====================================

    "Anything else" covers untyped nodes (``{}``), objects without
    ``properties`` (free-form dicts), arrays without ``items`` (per item) and
    unions of several non-null types.  :func:`validate` stores such values as
    ``json.dumps(value)``, so ``json.loads`` gets them back.

    *schema* may be anything :func:`normalize_schema` accepts.

    >>> arrow_type({"tags": list[str], "address": {"city": str, "zip": int}})
    StructType(struct<tags: list<item: string>, address: struct<city: string, zip: int64>>)
    >>> arrow_type({"type": "object", "properties": {"extra": {"type": "object"}}})
    StructType(struct<extra: string>)
    """
    schema = normalize_schema(schema)
    return pa.struct([pa.field(name, _arrow(sub)) for name, sub in schema["properties"].items()])


def _arrow(node: Any) -> pa.DataType:
    kind, _, node = _shape(node)
    if kind in _SCALARS:
        return _SCALARS[kind]
    if kind == "array":
        return pa.list_(_arrow(node.get("items", {})))
    if kind == "object":
        return pa.struct([pa.field(name, _arrow(sub)) for name, sub in node["properties"].items()])
    if kind == "null":
        return pa.null()
    return pa.string()


# --------------------------------------------------------------------------- validate


def validate(value: Any, schema: Any) -> dict:
    """Check a parsed JSON object against *schema* and return it ready for Arrow.

    The check is strict:

    * the value must be an object; every ``required`` field must be present;
    * with ``additionalProperties: false`` no other field is allowed; otherwise
      extra fields are accepted but dropped (the Arrow struct has no room for them);
    * ``null`` is accepted only where the schema allows it (``anyOf`` with
      ``{"type": "null"}``, ``"type": [X, "null"]``, or ``null`` in an ``enum``);
      an optional field that is absent becomes ``None``;
    * ``string`` needs a str, ``boolean`` a bool;
    * ``integer`` needs an int; ``true``/``false`` are **not** integers.  A float
      with an integral value such as ``3.0`` **is** accepted and returned as
      ``3``: JSON Schema defines integers by value, not by notation, and JSON
      libraries on the server side may print ``3.0``.  ``3.5`` is rejected, as is
      any integer outside the int64 range;
    * ``number`` accepts ints and finite floats and returns a float (never bools);
    * ``enum``/``const``, ``minimum``/``maximum`` and
      ``exclusiveMinimum``/``exclusiveMaximum`` are enforced; other keywords
      (``pattern``, ``minLength``, ``format``, ``minItems``...) are not checked;
    * arrays and nested objects are checked item by item;
    * nodes stored as JSON text (see :func:`arrow_type`) accept any value that
      matches one branch of their ``anyOf``/``oneOf`` (or anything, when
      untyped) and are returned as ``json.dumps(value)``.

    The returned dict has the schema's fields, in schema order.  Raises
    :class:`SchemaMismatch` naming the JSON path of the first problem.

    *schema* may be anything :func:`normalize_schema` accepts; when checking many
    replies, normalize once and pass the resulting dict (used as-is, no rebuild).

    >>> schema = {"name": str, "address": {"city": str}}
    >>> validate({"address": {"city": "Paris"}, "name": "Ada"}, schema)
    {'name': 'Ada', 'address': {'city': 'Paris'}}
    >>> validate({"name": "Ada", "address": {"city": 12}}, schema)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    hf_frame.errors.SchemaMismatch: $.address.city: expected string, got 12
    """
    schema = normalize_schema(schema)
    if value is None:
        raise SchemaMismatch("$: expected object, got null")
    return _check_object(value, schema, "$")


def _check(value: Any, node: Any, path: str) -> Any:
    kind, nullable, node = _shape(node)
    if value is None:
        if nullable:
            return None
        raise SchemaMismatch(f"{path}: expected {_expected(kind, node)}, got null")
    if kind == _JSON:
        _check_json_node(value, node, path)
        return json.dumps(value, ensure_ascii=False)
    if kind == "null":
        raise SchemaMismatch(f"{path}: expected null, got {_show(value)}")
    if kind == "object":
        return _check_object(value, node, path)
    if kind == "array":
        if not isinstance(value, list):
            raise SchemaMismatch(f"{path}: expected array, got {_show(value)}")
        items = node.get("items", {})
        return [_check(item, items, f"{path}[{i}]") for i, item in enumerate(value)]
    checked = _check_scalar(value, kind, path)
    _check_enum(checked, node, path)
    _check_bounds(value, node, path)  # the value as sent: "got 0", not "got 0.0"
    return checked


def _check_object(value: Any, node: Mapping, path: str) -> dict:
    if not isinstance(value, dict):
        raise SchemaMismatch(f"{path}: expected object, got {_show(value)}")
    properties: Mapping = node["properties"]
    for name in node.get("required", ()):
        if name not in value:
            raise SchemaMismatch(f"{_join(path, name)}: missing required field")
    if node.get("additionalProperties") is False:
        extra = [name for name in value if name not in properties]
        if extra:
            raise SchemaMismatch(f"{path}: unexpected field {', '.join(map(repr, extra))}")
    return {
        name: _check(value[name], sub, _join(path, name)) if name in value else None
        for name, sub in properties.items()
    }


def _check_scalar(value: Any, kind: str, path: str) -> Any:
    if kind == "string" and isinstance(value, str):
        return value
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind == "integer" and not isinstance(value, bool):
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        if isinstance(value, int):
            if not _INT64_MIN <= value <= _INT64_MAX:
                raise SchemaMismatch(f"{path}: integer {value} does not fit in int64")
            return value
    if kind == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise SchemaMismatch(f"{path}: expected a finite number, got {value}")
        return float(value)
    raise SchemaMismatch(f"{path}: expected {kind}, got {_show(value)}")


def _check_enum(value: Any, node: Mapping, path: str) -> None:
    allowed = list(node["enum"]) if "enum" in node else [node["const"]] if "const" in node else None
    if allowed is None:
        return
    # Compare type-strictly: in Python True == 1 and 1 == 1.0.
    if not any(value == a and isinstance(value, bool) == isinstance(a, bool) for a in allowed):
        raise SchemaMismatch(f"{path}: expected {_expected('enum', node)}, got {_show(value)}")


def _check_bounds(value: Any, node: Mapping, path: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    checks = (
        ("minimum", lambda v, b: v >= b, ">="),
        ("maximum", lambda v, b: v <= b, "<="),
        ("exclusiveMinimum", lambda v, b: v > b, ">"),
        ("exclusiveMaximum", lambda v, b: v < b, "<"),
    )
    for keyword, ok, symbol in checks:
        bound = node.get(keyword)
        if isinstance(bound, (int, float)) and not isinstance(bound, bool) and not ok(value, bound):
            raise SchemaMismatch(f"{path}: expected a value {symbol} {bound}, got {_show(value)}")


def _check_json_node(value: Any, node: Mapping, path: str) -> None:
    """Best-effort check of a value that is stored as JSON text."""
    branches = node.get("anyOf") if isinstance(node.get("anyOf"), list) else node.get("oneOf")
    if isinstance(branches, list):
        for branch in branches:
            try:
                _check(value, branch, path)
                return
            except SchemaMismatch:
                continue
        raise SchemaMismatch(f"{path}: {_show(value)} matches none of the allowed schemas")
    if "enum" in node or "const" in node:
        _check_enum(value, node, path)
        return
    declared = [t for t in _as_list(node.get("type")) if t not in (None, "null")]
    if declared and not any(_is_json_type(value, t) for t in declared):
        raise SchemaMismatch(f"{path}: expected {' or '.join(declared)}, got {_show(value)}")


def _is_json_type(value: Any, json_type: str) -> bool:
    python_types = {"object": dict, "array": list, "string": str, "boolean": bool}
    if json_type in python_types:
        return isinstance(value, python_types[json_type])
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return json_type == "number" or (json_type == "integer" and float(value).is_integer())


def _expected(kind: str, node: Mapping) -> str:
    if "enum" in node or "const" in node:
        allowed = node["enum"] if "enum" in node else [node["const"]]
        return f"one of {json.dumps(allowed, ensure_ascii=False)}"
    if kind == _JSON:
        branches = node.get("anyOf") if isinstance(node.get("anyOf"), list) else node.get("oneOf")
        if isinstance(branches, list):
            shapes = [_shape(branch) for branch in branches]
            return " or ".join(_expected(sub_kind, sub_node) for sub_kind, _, sub_node in shapes)
        declared = [t for t in _as_list(node.get("type")) if t]
        return " or ".join(declared) if declared else "a value"
    return kind


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if name.isidentifier() else f"{path}[{json.dumps(name, ensure_ascii=False)}]"


def _show(value: Any, limit: int = 40) -> str:
    """A short JSON rendering of *value* for error messages."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------- parse_reply


def parse_reply(text: str, schema: Any) -> dict:
    """Parse a model's reply as JSON and :func:`validate` it against *schema*.

    Accepted replies: a JSON document, optionally surrounded by whitespace, or
    a reply that consists of exactly one fenced block (```` ```json ````, or
    ```` ``` ```` without a language tag) holding a JSON document.  Anything else,
    including prose around the JSON or ``NaN``/``Infinity`` literals, raises
    :class:`SchemaMismatch` (``"reply is not valid JSON: ..."``) with an excerpt
    of at most 80 characters of the reply.

    >>> parse_reply(' {"city": "Paris"}\\n', {"city": str})
    {'city': 'Paris'}
    >>> parse_reply("The city is Paris.", {"city": str})  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    hf_frame.errors.SchemaMismatch: reply is not valid JSON: 'The city is Paris.' (Expecting value ...)
    """
    if not isinstance(text, str):
        raise SchemaMismatch(f"reply is not valid JSON: expected text, got {type(text).__name__}")
    body = text.strip()
    fenced = _FENCED.match(body)
    if fenced:
        body = fenced.group("body")
    try:
        value = json.loads(body, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise SchemaMismatch(
            f"reply is not valid JSON: {_excerpt(text)!r} ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    except ValueError as exc:  # from _reject_constant
        raise SchemaMismatch(f"reply is not valid JSON: {_excerpt(text)!r} ({exc})") from None
    return validate(value, schema)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _EXCERPT_CHARS else flat[: _EXCERPT_CHARS - 3] + "..."


# --------------------------------------------------------------------------- response_format


def response_format(schema: Any, name: str = "output", flavor: str = "openai") -> dict:
    """The ``response_format`` request parameter asking the server to follow *schema*.

    * ``flavor="openai"`` (OpenAI-compatible routers and providers):
      ``{"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}``;
      *name* must match ``^[A-Za-z0-9_-]{1,64}$``.
    * ``flavor="tgi"`` (text-generation-inference grammars):
      ``{"type": "json_object", "value": schema}``.

    *schema* may be anything :func:`normalize_schema` accepts; it is normalized first.

    >>> response_format({"label": str}, flavor="tgi")["type"]
    'json_object'
    >>> response_format({"label": str})["json_schema"]["strict"]
    True
    """
    schema = normalize_schema(schema)
    if flavor == "openai":
        if not isinstance(name, str) or not _SCHEMA_NAME.match(name):
            raise ValueError(f"schema name must be 1-64 letters, digits, '_' or '-', got {name!r}")
        return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}
    if flavor == "tgi":
        return {"type": "json_object", "value": schema}
    raise ValueError(f"flavor must be 'openai' or 'tgi', got {flavor!r}")
