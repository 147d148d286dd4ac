"""Tests for hf_frame.prompting: templates, missing values, chat messages."""

from __future__ import annotations

import decimal
import math

import pytest

from hf_frame.formats.prompting import (
    MissingColumnError,
    MissingValueError,
    PromptTemplate,
    TemplateError,
    build_messages,
    is_missing,
    is_template,
)

# --------------------------------------------------------------------------- parsing


def test_columns_are_ordered_and_unique():
    template = PromptTemplate("{b} and {a}, then {b} again")
    assert template.columns == ("b", "a")


def test_template_without_placeholders_has_no_columns():
    template = PromptTemplate("Say hello")
    assert template.columns == ()
    assert template.render({}) == "Say hello"


@pytest.mark.parametrize(
    "name",
    ["unit price", "user.name", "first-name", "a:b", "x!r", " padded ", "0", "été"],
)
def test_anything_between_braces_is_the_column_name_verbatim(name):
    template = PromptTemplate("<{" + name + "}>")
    assert template.columns == (name,)
    assert template.render({name: "V"}) == "<V>"


def test_double_braces_are_literal():
    template = PromptTemplate('Answer as {{"label": ...}} about {{{topic}}}')
    assert template.columns == ("topic",)
    assert template.render({"topic": "cats"}) == 'Answer as {"label": ...} about {cats}'


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("Hello {name", "unclosed '{' at position 6"),
        ("{a} }", "single '}' at position 4"),
        ("x } y", "single '}' at position 2"),
        ("{a {b}", "'{' inside a placeholder at position 3"),
        ("empty {} here", "empty placeholder '{}' at position 6"),
        ("{a}}", "single '}' at position 3"),
    ],
)
def test_malformed_templates_name_the_position(template, message):
    with pytest.raises(TemplateError) as info:
        PromptTemplate(template)
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


def test_template_must_be_a_string():
    with pytest.raises(TypeError):
        PromptTemplate(42)  # type: ignore[arg-type]


def test_equality_and_repr():
    assert PromptTemplate("{a}") == PromptTemplate("{a}")
    assert PromptTemplate("{a}") != PromptTemplate("{b}")
    assert len({PromptTemplate("{a}"), PromptTemplate("{a}")}) == 1
    assert repr(PromptTemplate("{a}")) == "PromptTemplate('{a}')"


# --------------------------------------------------------------------------- rendering


def test_render_uses_str_of_values():
    template = PromptTemplate("{n} x {price} ({ok})")
    assert template.render({"n": 3, "price": 2.5, "ok": True}) == "3 x 2.5 (True)"


def test_render_does_not_interpret_braces_in_values():
    template = PromptTemplate("Text: {text}")
    assert template.render({"text": "{other} and {{x}}"}) == "Text: {other} and {{x}}"


def test_render_accepts_any_mapping_like_row():
    class Row:
        def __init__(self, data):
            self.data = data

        def __getitem__(self, key):
            return self.data[key]

        def keys(self):
            return self.data.keys()

    assert PromptTemplate("{a}-{b}").render(Row({"a": 1, "b": 2})) == "1-2"


def test_render_with_pandas_series_row():
    pd = pytest.importorskip("pandas")
    row = pd.Series({"product": "kettle", "review": "Boils fast."})
    template = PromptTemplate("Rate {product}: {review}")
    assert template.render(row) == "Rate kettle: Boils fast."


def test_render_missing_column_is_a_key_error_listing_available_columns():
    template = PromptTemplate("{title}: {body}")
    with pytest.raises(KeyError) as info:
        template.render({"title": "x", "text": "y"})
    assert isinstance(info.value, MissingColumnError)
    assert info.value.missing == ["body"]
    message = str(info.value)
    assert "'body'" in message
    assert "available columns: 'title', 'text'" in message


@pytest.mark.parametrize("missing", [None, float("nan"), math.nan])
def test_render_raises_on_missing_value_and_render_or_none_returns_none(missing):
    template = PromptTemplate("{a} / {b}")
    row = {"a": "fine", "b": missing}
    with pytest.raises(MissingValueError) as info:
        template.render(row)
    assert info.value.column == "b"
    assert "'b'" in str(info.value)
    assert template.render_or_none(row) is None


def test_render_or_none_renders_complete_rows():
    template = PromptTemplate("{a} / {b}")
    assert template.render_or_none({"a": 1, "b": "two"}) == "1 / two"


def test_render_or_none_ignores_missing_values_in_unused_columns():
    template = PromptTemplate("{a}")
    assert template.render_or_none({"a": "x", "b": None}) == "x"


def test_render_or_none_still_raises_for_absent_column():
    with pytest.raises(MissingColumnError):
        PromptTemplate("{a}").render_or_none({"b": 1})


def test_render_or_none_with_pandas_missing_values():
    pd = pytest.importorskip("pandas")
    template = PromptTemplate("{x}")
    for missing in (pd.NA, pd.NaT, float("nan")):
        assert template.render_or_none(pd.Series({"x": missing}, dtype=object)) is None
    frame = pd.DataFrame({"x": pd.array(["a", None], dtype="string")})
    rendered = [template.render_or_none(row) for _, row in frame.iterrows()]
    assert rendered == ["a", None]


def test_render_or_none_with_polars_rows():
    pl = pytest.importorskip("polars")
    frame = pl.DataFrame({"x": ["a", None, "c"], "y": [1.0, 2.0, float("nan")]})
    template = PromptTemplate("{x}:{y}")
    rendered = [template.render_or_none(row) for row in frame.iter_rows(named=True)]
    assert rendered == ["a:1.0", None, None]


# --------------------------------------------------------------------------- check_columns


def test_check_columns_passes_when_all_present():
    assert PromptTemplate("{a} {b}").check_columns(["b", "a", "c"]) is None


def test_check_columns_names_all_missing_columns_and_available_ones():
    template = PromptTemplate("{titel} {body} {extra}")
    with pytest.raises(KeyError) as info:
        template.check_columns(["title", "body"])
    error = info.value
    assert isinstance(error, MissingColumnError)
    assert error.missing == ["titel", "extra"]
    message = str(error)
    assert message.startswith("prompt template uses columns 'titel' (did you mean 'title'?), 'extra',")
    assert message.endswith("available columns: 'title', 'body'")


def test_check_columns_with_no_columns_available():
    with pytest.raises(MissingColumnError, match=r"available columns: \(none\)"):
        PromptTemplate("{a}").check_columns([])


# --------------------------------------------------------------------------- is_template


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("review", False),
        ("my review column", False),
        ("{review}", True),
        ("Summarize: {review}", True),
        ("literal {{braces}} only", False),
        ("", False),
        ("Summarize {review", True),  # malformed: a template, so the syntax error surfaces
        ("oops }", True),
    ],
)
def test_is_template(text, expected):
    assert is_template(text) is expected


# --------------------------------------------------------------------------- is_missing


def test_is_missing():
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")
    for value in (None, float("nan"), np.nan, np.float32("nan"), decimal.Decimal("NaN"), pd.NA, pd.NaT):
        assert is_missing(value), value
    for value in ("", "nan", 0, 0.0, False, [], [None], np.array([np.nan]), np.array([1.0, np.nan]), {}):
        assert not is_missing(value), value


# --------------------------------------------------------------------------- build_messages


def test_build_messages_with_system():
    assert build_messages("Classify this.", "You are terse.") == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Classify this."},
    ]


@pytest.mark.parametrize("system", [None, ""])
def test_build_messages_without_system(system):
    assert build_messages("Classify this.", system) == [{"role": "user", "content": "Classify this."}]


def test_build_messages_rejects_non_strings():
    with pytest.raises(TypeError):
        build_messages(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        build_messages("hi", system=3)  # type: ignore[arg-type]
