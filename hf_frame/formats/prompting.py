"""Per-row prompts for ``df.hf.chat(...)``: templates, missing values, chat messages.

A template is a string with ``{column}`` placeholders, filled from each row:

>>> template = PromptTemplate("Rate this review of {product}: {review}")
>>> template.columns
('product', 'review')
>>> template.render({"product": "kettle", "review": "Boils fast."})
'Rate this review of kettle: Boils fast.'

Syntax (close to :meth:`str.format`, but only plain column names):

* ``{name}`` is replaced by ``str(row[name])``.  Everything between the braces
  is the column name, **verbatim**: spaces, dots, dashes, colons and ``!`` are
  part of the name (``{unit price}``, ``{a:b}``), nothing is stripped, and
  there are no format specs, conversions, attributes or indexes.
* ``{{`` and ``}}`` produce literal ``{`` and ``}``.
* An unclosed ``{``, a single ``}``, a ``{`` inside a placeholder and an empty
  ``{}`` raise :class:`TemplateError` (a ``ValueError``) naming the position.

A row whose used values include a missing value (None, NaN, ``pd.NA``,
``pd.NaT``) gets no prompt: :meth:`PromptTemplate.render_or_none` returns
None, so the caller can write a null output without sending a request.

Only the standard library is used (pandas is never imported).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import MissingColumnError, MissingValueError, TemplateError
from .cells import is_missing

__all__ = [
    "TemplateError",
    "MissingColumnError",
    "MissingValueError",
    "PromptTemplate",
    "is_template",
    "is_missing",
    "build_messages",
]


_LITERAL, _FIELD = 0, 1


class PromptTemplate:
    """A prompt with ``{column}`` placeholders, parsed once and rendered per row.

    >>> t = PromptTemplate("{{json}} for {user name}; again {user name}")
    >>> t.columns
    ('user name',)
    >>> t.render({"user name": "Ada", "unused": 1})
    '{json} for Ada; again Ada'
    >>> PromptTemplate("Hello {name")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    hf_frame.prompting.TemplateError: unclosed '{' at position 6 in template 'Hello {name'
    """

    __slots__ = ("template", "_parts", "_columns")

    def __init__(self, template: str):
        if not isinstance(template, str):
            raise TypeError(f"a prompt template must be a str, not {type(template).__name__}")
        self.template = template
        self._parts = _parse(template)
        self._columns = tuple(dict.fromkeys(text for kind, text in self._parts if kind == _FIELD))

    @property
    def columns(self) -> tuple[str, ...]:
        """The column names used by the template, in order of first use, without repeats."""
        return self._columns

    def check_columns(self, available: Sequence[str]) -> None:
        """Raise :class:`MissingColumnError` (a ``KeyError``) if a used column is not in *available*.

        >>> PromptTemplate("{title}: {body}").check_columns(["title", "body", "id"])
        >>> t = PromptTemplate("{titel}: {body}")
        >>> t.check_columns(["title", "body"])  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ...
        hf_frame.prompting.MissingColumnError: prompt template uses column 'titel' (did you mean 'title'?), ...
        """
        available = list(available)
        missing = [column for column in self._columns if column not in available]
        if missing:
            names = [str(name) for name in available]
            raise MissingColumnError(_missing_columns_message(missing, names), missing)

    def render(self, row: Mapping[str, Any]) -> str:
        """Fill the placeholders from *row* (a dict, a pandas Series, anything with ``row[name]``).

        Values are inserted with ``str(value)``.  Raises :class:`MissingColumnError`
        if *row* lacks a column, and :class:`MissingValueError` (a ``ValueError``)
        if a used value is missing (see :func:`is_missing`); use
        :meth:`render_or_none` to get None instead.

        >>> PromptTemplate("{n} items").render({"n": 3})
        '3 items'
        """
        values = self._values(row)
        for column, value in values.items():
            if is_missing(value):
                raise MissingValueError(f"column {column!r} has a missing value ({value!r})", column)
        return self._fill(values)

    def render_or_none(self, row: Mapping[str, Any]) -> str | None:
        """Like :meth:`render`, but return None when any used value is missing.

        The caller then writes a null output for that row and sends no request.
        A column absent from *row* still raises :class:`MissingColumnError`.

        >>> t = PromptTemplate("Summarize: {text}")
        >>> t.render_or_none({"text": None}) is None
        True
        >>> t.render_or_none({"text": float("nan")}) is None
        True
        >>> t.render_or_none({"text": "hi"})
        'Summarize: hi'
        """
        values = self._values(row)
        if any(is_missing(value) for value in values.values()):
            return None
        return self._fill(values)

    def _values(self, row: Mapping[str, Any]) -> dict[str, Any]:
        values = {}
        for column in self._columns:
            try:
                values[column] = row[column]
            except (KeyError, IndexError):
                available = [str(k) for k in row.keys()] if hasattr(row, "keys") else []
                raise MissingColumnError(_missing_columns_message([column], available), [column]) from None
        return values

    def _fill(self, values: Mapping[str, Any]) -> str:
        return "".join(text if kind == _LITERAL else str(values[text]) for kind, text in self._parts)

    def __repr__(self) -> str:
        return f"PromptTemplate({self.template!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PromptTemplate) and other.template == self.template

    def __hash__(self) -> int:
        return hash(self.template)


def _parse(template: str) -> list[tuple[int, str]]:
    """Split *template* into ``(_LITERAL, text)`` and ``(_FIELD, column)`` parts."""
    parts: list[tuple[int, str]] = []
    literal: list[str] = []
    i, n = 0, len(template)
    while i < n:
        char = template[i]
        if char == "{" and template.startswith("{{", i):
            literal.append("{")
            i += 2
        elif char == "}" and template.startswith("}}", i):
            literal.append("}")
            i += 2
        elif char == "}":
            raise TemplateError(
                f"single '}}' at position {i} in template {template!r}; write '}}}}' for a literal brace"
            )
        elif char == "{":
            end = template.find("}", i + 1)
            nested = template.find("{", i + 1)
            if end == -1:
                raise TemplateError(
                    f"unclosed '{{' at position {i} in template {template!r}; "
                    "write '{{' for a literal brace"
                )
            if nested != -1 and nested < end:
                raise TemplateError(
                    f"'{{' inside a placeholder at position {nested} in template {template!r}"
                )
            if end == i + 1:
                raise TemplateError(f"empty placeholder '{{}}' at position {i} in template {template!r}")
            if literal:
                parts.append((_LITERAL, "".join(literal)))
                literal = []
            parts.append((_FIELD, template[i + 1 : end]))
            i = end + 1
        else:
            literal.append(char)
            i += 1
    if literal:
        parts.append((_LITERAL, "".join(literal)))
    return parts


def _missing_columns_message(missing: Sequence[str], available: Sequence[str]) -> str:
    described = []
    for column in missing:
        close = difflib.get_close_matches(column, available, n=1)
        described.append(f"{column!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    noun = "column" if len(missing) == 1 else "columns"
    verb = "which is" if len(missing) == 1 else "which are"
    shown = ", ".join(repr(name) for name in available) or "(none)"
    return (
        f"prompt template uses {noun} {', '.join(described)}, {verb} not in the dataframe; "
        f"available columns: {shown}"
    )


def is_template(text: str) -> bool:
    """Whether *text* is a prompt template rather than a column name.

    True when *text* has a ``{placeholder}``, and also when it has an unescaped
    brace that makes it a malformed template (so that building a
    :class:`PromptTemplate` from it reports the syntax error, instead of a
    "column not found" error).  Text with only ``{{``/``}}`` escapes is not a
    template.  A column can be named like a template (``"score {0-5}"``), so
    callers should first check whether *text* is exactly a column name.

    >>> is_template("review")
    False
    >>> is_template("Summarize {review}")
    True
    >>> is_template("a {{literal}} brace")
    False
    >>> is_template("Summarize {review")
    True
    """
    if not isinstance(text, str):
        return False
    try:
        return any(kind == _FIELD for kind, _ in _parse(text))
    except TemplateError:
        return True


def build_messages(prompt: str, system: str | None = None) -> list[dict[str, str]]:
    """OpenAI-style chat messages: an optional system message, then the user prompt.

    A ``None`` or empty *system* adds no system message.

    >>> build_messages("Hi", system="Be brief.")
    [{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': 'Hi'}]
    >>> build_messages("Hi")
    [{'role': 'user', 'content': 'Hi'}]
    """
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a str, not {type(prompt).__name__}")
    if system is not None and not isinstance(system, str):
        raise TypeError(f"system must be a str or None, not {type(system).__name__}")
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": prompt})
    return messages
