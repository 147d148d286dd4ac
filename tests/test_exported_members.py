"""``hf_frame.__all__`` is a literal list, sorted, complete, and every name in it exists."""

from __future__ import annotations

import ast
from pathlib import Path

import hf_frame

INIT = Path(hf_frame.__file__)


def _literal_all() -> list[str]:
    for node in ast.parse(INIT.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            assert isinstance(node.value, ast.List), "__all__ must be a literal list (tools read it statically)"
            assert all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.value.elts)
            return [e.value for e in node.value.elts]
    raise AssertionError("hf_frame/__init__.py defines no __all__")


def test_all_is_a_sorted_literal():
    names = _literal_all()
    assert names == sorted(names)
    assert names == hf_frame.__all__


def test_all_is_complete():
    exported = set(_literal_all())
    public = {n for n in vars(hf_frame) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(hf_frame, n)) is type(hf_frame)}
    # subpackages are reachable as attributes; only `data` (documented: hf_frame.data.reviews()) is API
    assert public - modules - {"annotations", "importlib"} <= exported
    assert all(hasattr(hf_frame, n) for n in exported)
