"""tabular_classify / tabular_regress: rows as the model's table, in batches, deduplicated, in
row order; every column or the chosen ones; pandas, polars eager, lazy and expressions."""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
import pytest
from fake_hub import answers

import hf_frame
from hf_frame import methods
from hf_frame.errors import InputTypeError, RowErrorWarning

WINES = {
    "alcohol": [9.4, 9.8, 9.4, 12.6, np.nan, 11.0],
    "grape": ["merlot", "syrah", "merlot", None, None, "syrah"],
    "aged": [True, False, True, False, None, True],
}


@pytest.fixture
def use_hub(hub):
    hf_frame.configure(base_url=hub.base_url)
    return hub


def tables(hub):
    return [r.json["inputs"]["data"] for r in hub.requests]


def expected(task: str, row: dict) -> object:
    return answers.tabular(task, {k: [v] for k, v in row.items()})[0]


def test_every_column_in_batches_deduplicated_in_order(use_hub):
    df = pd.DataFrame(WINES, index=list("abcdef"))
    out = df.hf.tabular_classify(batch_size=2)
    assert list(out.columns[3:]) == ["tabular_classify_prediction", "tabular_classify_error"]
    assert str(out["tabular_classify_prediction"].dtype) == "string[pyarrow]"
    sent = tables(use_hub)
    # 4 distinct rows ("c" repeats "a"; "e" is all missing: no request), 2 per request
    assert [len(t["alcohol"]) for t in sent] == [2, 2]
    assert sent[0] == {"alcohol": [9.4, 9.8], "grape": ["merlot", "syrah"], "aged": [True, False]}
    assert sent[1]["grape"] == [None, "syrah"]  # a missing cell is sent as null
    rows = [dict(zip(WINES, values)) for values in zip(*WINES.values())]
    for label, row in zip("abcdef", rows):
        if label == "e":
            assert pd.isna(out.loc[label, "tabular_classify_prediction"])
            continue
        clean = {k: (None if (isinstance(v, float) and np.isnan(v)) else v) for k, v in row.items()}
        assert out.loc[label, "tabular_classify_prediction"] == expected("tabular-classification", clean)
    assert out.loc["a", "tabular_classify_prediction"] == out.loc["c", "tabular_classify_prediction"]
    use_hub.reset()
    df.hf.tabular_classify(batch_size=2)
    assert use_hub.count() == 0  # cached


def test_chosen_columns_and_regression(use_hub):
    fish = pd.DataFrame({"Height": [11.52, 12.48], "Width": [4.02, 4.3056], "Species": ["Bream", "Bream"]})
    out = fish.hf.tabular_regress(["Height", "Width"], model="scikit-learn/Fish-Weight")
    assert str(out["tabular_regress_prediction"].dtype) == "double[pyarrow]"
    assert tables(use_hub) == [{"Height": [11.52, 12.48], "Width": [4.02, 4.3056]}]
    assert out["tabular_regress_prediction"].tolist() == pytest.approx([0.5 + 11.52 + 4.02, 0.5 + 12.48 + 4.3056])
    assert use_hub.requests[0].path.endswith("/models/scikit-learn/Fish-Weight")
    one = fish.hf.tabular_regress("Height", prefix="w")
    assert one.columns[-2:].tolist() == ["w_prediction", "w_error"]


def test_cell_types_numpy_dates_and_bad_cells(use_hub):
    df = pd.DataFrame({"n": np.array([1, 2], dtype=np.int32), "when": [datetime.date(2024, 1, 2)] * 2,
                       "inf": [float("inf"), 1.5]})
    df.hf.tabular_classify()
    assert tables(use_hub) == [{"n": [1, 2], "when": ["2024-01-02", "2024-01-02"], "inf": [None, 1.5]}]
    with pytest.raises(InputTypeError, match=r"column 'bad' row 0 holds list"):
        pd.DataFrame({"bad": [[1, 2]]}).hf.tabular_classify()


def test_a_malformed_answer_is_a_row_error(use_hub):
    use_hub.fail(200, body={"label": "5"}, times=3)  # the table of two, then each row alone
    with pytest.warns(RowErrorWarning):
        out = pd.DataFrame({"x": [1, 2]}).hf.tabular_classify(max_retries=0)
    assert use_hub.count() == 3
    assert out["tabular_classify_prediction"].isna().all()
    assert all("expected a list of 1 predictions" in e for e in out["tabular_classify_error"])


def test_polars_eager_lazy_and_expressions(use_hub):
    pl = pytest.importorskip("polars")
    df = pl.DataFrame({"alcohol": [9.4, 9.8, 9.4], "grape": ["merlot", "syrah", "merlot"]})
    eager = df.hf.tabular_classify()
    assert eager.schema["tabular_classify_prediction"] == pl.String and use_hub.count() == 1
    use_hub.reset()
    lazy = df.lazy().hf.tabular_regress()
    assert lazy.collect_schema()["tabular_regress_prediction"] == pl.Float64 and use_hub.count() == 0
    collected = lazy.collect()
    # polars may hand the node the column in parts: every distinct row is still sent once
    sent = sorted(row for t in tables(use_hub) for row in zip(t["alcohol"], t["grape"]))
    assert sent == [(9.4, "merlot"), (9.8, "syrah")]
    assert collected["tabular_regress_prediction"].to_list() == pytest.approx([9.9, 10.3, 9.9])
    struct = df.select(pl.struct(pl.all()).hf.tabular_classify().alias("p")).unnest("p")
    assert struct["prediction"].to_list() == eager["tabular_classify_prediction"].to_list()
    single = df.select(pl.col("alcohol").hf.tabular_regress().alias("p")).unnest("p")  # a one-column table
    assert single["prediction"].to_list() == pytest.approx([9.9, 10.3, 9.9])


def test_a_series_of_rows(use_hub):
    rows = pd.Series([{"a": 1, "b": "x"}, {"a": 1, "b": "x"}, None])
    out = rows.hf.tabular_classify()
    assert list(out.columns) == ["prediction", "error"] and use_hub.count() == 1
    assert out["prediction"].tolist()[:2] == [expected("tabular-classification", {"a": 1, "b": "x"})] * 2


def test_argument_checks():
    with pytest.raises(ValueError, match="duplicates"):
        methods.tabular_classify(["a", "a"])
    with pytest.raises(ValueError, match="non-empty list"):
        methods.tabular_classify([])
    with pytest.raises(TypeError, match="column names must be strings"):
        pd.DataFrame({0: [1]}).hf.tabular_classify()
    with pytest.raises(TypeError, match="pass columns="):
        methods.tabular_classify().run([[1]])
