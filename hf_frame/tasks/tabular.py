"""Tabular classification and regression: each row of the frame (or of the chosen columns) is
one record the model predicts a value for.

An item is the row as ``{column: cell}`` (cells as JSON values: numbers, strings, booleans,
dates as ISO text, missing as null), so identical rows are one prediction. Rows with the same
columns are sent together, ``batch_size`` at a time, as the table the API takes::

    {"inputs": {"data": {"sepal_length": [5.1, 6.2], "species_hint": ["a", null]}}}

and the answer is one prediction per row, in order: ``["setosa", "virginica"]`` (classification)
or ``[110.5, 120.0]`` (regression).

``call.view["columns"]`` names the column behind each input; None when the single input holds
each row as a mapping (a polars struct, a Series of dicts), or is a one-column table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Hashable, Sequence

import pyarrow as pa

from ..errors import InputTypeError
from ..formats.cells import is_missing
from .base import Call, Task, input_name
from .defaults import default_model

_SCALARS = (bool, int, float, str)


def _cell(call: Call, column: str, value: Any, row: Any) -> Any:
    """A cell as a JSON value: missing and non-finite numbers as None, numpy scalars unwrapped,
    dates and times as ISO text."""
    if is_missing(value):
        return None
    if hasattr(value, "item") and not isinstance(value, _SCALARS):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, _SCALARS):
        return value
    if callable(getattr(value, "isoformat", None)):
        return value.isoformat()
    raise InputTypeError(f"{call.task.method}: column {column!r} row {row!r} holds {type(value).__name__} "
                         f"{repr(value)[:60]}; a table cell must be a number, a string, a boolean or a date")


class _Tabular(Task):
    batchable = remote_batch = True
    keeps_missing_cells = True  # an empty cell is sent as null: the row still gets a prediction

    def prepare(self, call: Call, values: tuple, row: Any) -> Any:
        columns = call.view.get("columns")
        if columns is None:
            record = values[0]
            if is_missing(record):
                return None
            if isinstance(record, Mapping):
                record = {str(k): v for k, v in record.items()}
            else:  # a plain column: a one-column table named after it
                record = {input_name(call, 0): record}
        else:
            record = dict(zip(columns, values))
        cells = {column: _cell(call, column, value, row) for column, value in record.items()}
        return None if all(v is None for v in cells.values()) else cells

    def group_key(self, call: Call, item: Any) -> Hashable:
        return tuple(item)

    def payload(self, call: Call, items: Sequence[Any]) -> dict:
        table = {column: [item[column] for item in items] for column in items[0]}
        body: dict[str, Any] = {"inputs": {"data": table}}
        if call.parameters:
            body["parameters"] = call.parameters
        return body

    def parse(self, call: Call, answer: Any, items: Sequence[Any]) -> list[Any]:
        if isinstance(answer, Mapping) and isinstance(answer.get("predictions"), list):
            answer = answer["predictions"]
        if not isinstance(answer, list) or len(answer) != len(items):
            raise ValueError(f"expected a list of {len(items)} predictions, got {str(answer)[:120]}")
        return [None if a is None else self.prediction(a) for a in answer]

    def prediction(self, value: Any) -> Any:
        raise NotImplementedError

    def to_row(self, call: Call, result: Any) -> dict:
        return {"prediction": result}


class TabularClassification(_Tabular):
    """``prediction``: the predicted class, as text (``5`` -> ``"5"``)."""

    name, method = "tabular-classification", "tabular_classify"
    default_model = default_model("tabular-classification")

    def prediction(self, value):
        if isinstance(value, (dict, list)):
            raise ValueError(f"expected a class label, got {str(value)[:60]}")
        return str(value)

    def output_type(self, call):
        return pa.struct([("prediction", pa.string())])


class TabularRegression(_Tabular):
    """``prediction``: the predicted number."""

    name, method = "tabular-regression", "tabular_regress"
    default_model = default_model("tabular-regression")

    def prediction(self, value):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError(f"expected a number, got {str(value)[:60]}")
        return float(value)

    def output_type(self, call):
        return pa.struct([("prediction", pa.float64())])


SPECS = (TabularClassification(), TabularRegression())
