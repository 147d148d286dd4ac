"""What a new user types first works: ``hf_frame.data.reviews()`` after ``import hf_frame``, and
the package says it is typed (``py.typed``, shipped as package data)."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_data_is_reachable_from_a_bare_import():
    # A fresh interpreter: in this one some other test may have imported hf_frame.data already.
    code = ("import sys, hf_frame; assert 'hf_frame.data' not in sys.modules; "
            "df = hf_frame.data.reviews(); print(df.shape, 'data' in dir(hf_frame))")
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "(40, 5) True"


def test_unknown_attribute_is_still_an_attribute_error():
    import hf_frame

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        hf_frame.nope  # noqa: B018


def test_py_typed_is_shipped():
    assert (resources.files("hf_frame") / "py.typed").is_file()
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "py.typed" in config["tool"]["setuptools"]["package-data"]["hf_frame"]
