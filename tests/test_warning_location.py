"""A ``RowErrorWarning`` points at the user's line (this file), not at hf_frame's internals."""

from __future__ import annotations

import warnings

import pytest

import hf_frame
from hf_frame.errors import RowErrorWarning, user_stacklevel

TEXTS = ["good", "bad [[400]] input", "fine"]


@pytest.fixture
def hf(hub):
    hf_frame.configure(base_url=hub.base_url, retry_backoff=0.001)
    return hub


def _assert_points_here(call):
    """``call`` is a one-line lambda calling hf_frame: the warning must name its file and line."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    found = [w for w in caught if issubclass(w.category, RowErrorWarning)]
    assert len(found) == 1, [str(w.message) for w in caught]
    assert (found[0].filename, found[0].lineno) == (__file__, call.__code__.co_firstlineno)


def test_pandas_frame_and_series(hf):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"t": TEXTS})
    _assert_points_here(lambda: df.hf.classify("t"))
    _assert_points_here(lambda: df["t"].hf.classify())


def test_polars_eager_frame_and_series(hf):
    pl = pytest.importorskip("polars")
    df = pl.DataFrame({"t": TEXTS})
    _assert_points_here(lambda: df.hf.classify("t"))
    _assert_points_here(lambda: df["t"].hf.classify())


def test_user_stacklevel_skips_library_frames():
    # Two functions that look like hf_frame's own (by module name), called from this test.
    namespace = {"__name__": "hf_frame._stack_probe", "user_stacklevel": user_stacklevel}
    exec("def inner():\n    return user_stacklevel()\ndef outer():\n    return inner()\n", namespace)  # noqa: S102
    assert namespace["outer"]() == 3  # inner is level 1, outer 2, this test 3

    def outside():
        return user_stacklevel()

    assert outside() == 1  # a caller outside hf_frame is the user's line itself
