"""The examples in the docstrings of the pure format modules run as written."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["hf_frame.formats.cells", "hf_frame.formats.ids", "hf_frame.formats.wire",
                                  "hf_frame.formats.generated", "hf_frame.formats.arrow_json",
                                  "hf_frame.methods.checks"])
def test_module_doctests(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
