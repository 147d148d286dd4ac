"""``import hf_frame`` alone is cheap; ``.hf`` appears as soon as pandas / polars is imported.

Each import-order case runs in a fresh interpreter, where ``sys.modules`` shows what was loaded.
"""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from hf_frame._deferred import when_imported

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("pandas", "polars", "pyarrow", "numpy", "httpx", "aiohttp", "hf_frame.methods", "hf_frame.core.engine")


def fresh(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=False,
                          cwd=str(ROOT), timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                                                           "HF_FRAME_CACHE": "false"})
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_importing_hf_frame_loads_no_frame_library_and_no_wire():
    out = fresh(f"""
        import sys, hf_frame
        print(sorted(m for m in {HEAVY!r} if m in sys.modules))
        print(hf_frame.resolve_settings().provider, hf_frame.__version__)
    """)
    assert out.splitlines() == ["[]", "auto 0.1.0"]  # provider="auto" is the default


def test_help_loads_no_frame_library_and_no_method_module():
    out = fresh(f"""
        import contextlib, io, sys
        from hf_frame.cli import main
        with contextlib.redirect_stdout(io.StringIO()) as page:
            assert main(["--help"]) == 0 and main(["zero-shot", "--help"]) == 0
        print(sorted(m for m in {HEAVY!r} if m in sys.modules))
        print("zero-shot" in page.getvalue(), "--multi-label" in page.getvalue())
    """)
    assert out.splitlines() == ["[]", "True True"]


@pytest.mark.parametrize("order", ["hf_frame first", "pandas first"])
def test_pandas_gets_the_accessor_in_either_import_order(order):
    imports = "import hf_frame\nimport pandas as pd" if order == "hf_frame first" else \
        "import pandas as pd\nimport hf_frame"
    out = fresh(f"""
        {imports.splitlines()[0]}
        {imports.splitlines()[1]}
        import importlib.machinery
        accessor = pd.DataFrame({{"t": ["x"]}}).hf
        print(type(accessor).__name__, callable(accessor.embed), callable(accessor.chat))
        print(type(pd.__loader__).__name__, type(pd.__spec__.loader).__name__)
        print({{"embed", "chat", "classify_image", "classify"}} <= set(hf_frame.METHODS))
    """)
    assert out.splitlines() == ["DataFrameAccessor True True", "SourceFileLoader SourceFileLoader", "True"]


def test_polars_gets_the_namespace_after_hf_frame():
    pytest.importorskip("polars")
    out = fresh("""
        import sys, hf_frame
        import polars as pl
        print(type(pl.DataFrame({"t": ["x"]}).hf).__name__, "pandas" in sys.modules)
    """)
    assert out.split()[0] == "DataFrameNamespace"


def test_lazy_names_resolve_and_are_listed():
    out = fresh("""
        import hf_frame
        print(callable(hf_frame.last_run), callable(hf_frame.decode_mask), "METHODS" in dir(hf_frame))
        from hf_frame import cache_info, clear_cache, usage
        print(cache_info is hf_frame.cache_info)
        try:
            hf_frame.nope
        except AttributeError as exc:
            print(exc)
    """)
    assert out.splitlines() == ["True True True", "True", "module 'hf_frame' has no attribute 'nope'"]


@pytest.fixture
def module_dir(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [n for n in sys.modules if n.startswith("hf_deferred_probe")]:
        del sys.modules[name]


def test_the_callback_runs_once_after_the_module_executed(module_dir):
    (module_dir / "hf_deferred_probe_a.py").write_text("VALUE = 42\n")
    seen = []
    when_imported("hf_deferred_probe_a", lambda module: seen.append(module.VALUE))
    assert seen == []
    module = importlib.import_module("hf_deferred_probe_a")
    importlib.reload(module)
    assert seen == [42]
    when_imported("hf_deferred_probe_a", lambda module: seen.append("again"))  # already imported: at once
    assert seen == [42, "again"]
    assert not any(type(f).__name__ == "_Finder" and f.name == "hf_deferred_probe_a" for f in sys.meta_path)


def test_an_is_it_installed_check_does_not_use_the_hook_up(module_dir):
    """``importlib.util.find_spec(name)`` finds the module without importing it: the callback waits."""
    (module_dir / "hf_deferred_probe_c.py").write_text("VALUE = 3\n")
    seen = []
    when_imported("hf_deferred_probe_c", lambda module: seen.append(module.VALUE))
    assert importlib.util.find_spec("hf_deferred_probe_c") is not None
    assert importlib.util.find_spec("hf_deferred_probe_c") is not None
    assert seen == []
    importlib.import_module("hf_deferred_probe_c")
    assert seen == [3]


def test_a_failing_callback_warns_and_the_module_stays_usable(module_dir):
    (module_dir / "hf_deferred_probe_b.py").write_text("VALUE = 7\n")

    def broken(module):
        raise RuntimeError("no luck")

    when_imported("hf_deferred_probe_b", broken)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module("hf_deferred_probe_b")
    assert module.VALUE == 7 and "hf_deferred_probe_b" in sys.modules
    assert any("could not register its accessors on hf_deferred_probe_b: RuntimeError: no luck" in str(w.message)
               for w in caught)
