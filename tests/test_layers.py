"""The layer rule: a module imports only modules of its own layer or the layers below it.

Every import is checked, top-level and function-local (an import hidden inside a function is
still a dependency), relative or absolute. ``if TYPE_CHECKING:`` blocks are checked too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "hf_frame"

# Bottom to top. A module may import its own layer and any layer listed before it.
LAYERS: list[tuple[str, ...]] = [
    ("errors", "_version", "_deferred", "config"),
    ("formats", "data"),
    ("cache",),
    ("runtime",),
    ("backends",),
    ("tasks",),
    ("core",),
    ("methods",),
    ("adapters",),
    ("cli", "__main__"),
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
TOP = len(LAYERS)  # the package root (``hf_frame/__init__.py``) may import anything


def _layer_of(module: str) -> int:
    """The rank of ``hf_frame.<first part>...``; the package root itself is the top."""
    parts = module.split(".")
    assert parts[0] == "hf_frame", module
    if len(parts) == 1:
        return TOP
    return RANK[parts[1]]


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every hf_frame import in the file."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "hf_frame"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "hf_frame":
                continue
            if node.module is None or target == "hf_frame":  # `from . import x`: each x is a module
                found += [(node.lineno, f"{target}.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, target))
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_is_in_a_layer():
    unknown = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in MODULES} - set(RANK) - {"__init__"}
    assert not unknown, f"add these to LAYERS in {__file__}: {sorted(unknown)}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path: Path):
    own = _layer_of(_module_name(path))
    upward = []
    for line, target in _imports(path):
        try:
            rank = _layer_of(target)
        except KeyError:
            continue  # `from . import x` of a name that is not a module (checked by import itself)
        if rank > own:
            upward.append(f"line {line}: imports {target} (layer {rank} > {own})")
    assert not upward, f"{path.relative_to(PACKAGE)} imports a layer above its own:\n" + "\n".join(upward)


def test_the_checker_sees_function_local_and_relative_imports(tmp_path):
    probe = PACKAGE / "formats" / "_layer_probe.py"
    try:
        probe.write_text("def f():\n    from ..methods import METHODS\n")
        assert _imports(probe) == [(2, "hf_frame.methods")]
    finally:
        probe.unlink()
