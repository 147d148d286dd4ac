"""hf_frame with only one of pandas and polars, or neither.

Each case runs in a fresh interpreter (``python -S``) whose site-packages is a copy of this one made
of symlinks, minus the "uninstalled" library: ``import`` raises ModuleNotFoundError and
``importlib.util.find_spec`` returns None, exactly as when it is not installed. That checks the
import-time contract in seconds; the real thing (fresh virtualenvs with ``pip install '.[polars]'``
/ ``'.[pandas]'``) is ``scripts/check_single_backend.sh``.
"""

from __future__ import annotations

import importlib.util
import os
import site
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def site_without(blocked: list[str], where: Path) -> Path:
    """A directory of symlinks to every site-packages entry but the blocked distributions."""
    where.mkdir()
    for directory in {p for p in site.getsitepackages() if Path(p).is_dir()}:
        for entry in Path(directory).iterdir():
            name = entry.name.lstrip("_").lower()
            if any(name == b or name.startswith((f"{b}-", f"{b}_", f"{b}.")) for b in blocked):
                continue
            if not (where / entry.name).exists():
                (where / entry.name).symlink_to(entry)
    return where


def run_without(blocked: list[str], code: str, tmp_path: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    packages = site_without(blocked, tmp_path / "site-packages")
    prelude = (f"import importlib.util, site, sys\nsite.addsitedir({str(packages)!r})\n"
               f"sys.path[:0] = [{str(ROOT)!r}, {str(TESTS)!r}]\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(HF_FRAME_CACHE=str(tmp_path / "cache"), HF_FRAME_PROGRESS="0", HF_TOKEN="hf_test")
    done = subprocess.run([sys.executable, "-S", "-c", prelude + textwrap.dedent(code)], capture_output=True,
                          text=True, env=env, timeout=timeout, cwd=str(ROOT))
    assert done.returncode == 0, done.stdout + done.stderr
    return done


needs_polars = pytest.mark.skipif(importlib.util.find_spec("polars") is None, reason="polars is not installed")
needs_pandas = pytest.mark.skipif(importlib.util.find_spec("pandas") is None, reason="pandas is not installed")


@needs_polars
def test_polars_without_pandas(tmp_path):
    run_without(["pandas"], """
        import hf_frame
        assert importlib.util.find_spec("pandas") is None, "pandas is importable"
        assert "pandas" not in sys.modules, "hf_frame imported pandas"
        import polars as pl
        from fake_hub import FakeHub, answers
        with FakeHub() as hub:
            hf_frame.configure(base_url=hub.base_url, retry_backoff=0.01)
            texts = ["good", "bad", "good", None]
            lazy = pl.LazyFrame({"t": texts}).hf.classify("t").collect()
            eager = pl.DataFrame({"t": texts}).hf.classify("t")
            assert lazy.equals(eager)
            assert lazy["t_label"].to_list() == [answers.classify(t)[0]["label"] if t else None for t in texts]
            assert hub.count() == 2
            out = pl.DataFrame({"t": ["alpha"]}).hf.embed("t")
            assert out.schema["t_embedding"] == pl.Array(pl.Float32, 384)
        assert "pandas" not in sys.modules, "running a method imported pandas"
    """, tmp_path)


@needs_pandas
def test_pandas_without_polars(tmp_path):
    run_without(["polars"], """
        import hf_frame
        assert importlib.util.find_spec("polars") is None and "hf_frame.adapters.polars" not in sys.modules
        import pandas as pd
        from fake_hub import FakeHub, answers
        with FakeHub() as hub:
            hf_frame.configure(base_url=hub.base_url, retry_backoff=0.01)
            out = pd.DataFrame({"t": ["good", "bad", "good"]}).hf.classify("t")
            assert out["t_label"].tolist() == [answers.classify(t)[0]["label"] for t in ["good", "bad", "good"]]
            assert hub.count() == 2
    """, tmp_path)


def test_neither_pandas_nor_polars(tmp_path):
    run_without(["pandas", "polars"], """
        import hf_frame
        assert "hf_frame.adapters.pandas" not in sys.modules and "hf_frame.adapters.polars" not in sys.modules
        job = hf_frame.METHODS["classify"]("text")
        assert [f.name for f in job.output_type()] == ["label", "score", "error"]
    """, tmp_path)


@needs_polars
def test_backend_suite_passes_without_pandas(tmp_path):
    """The shared suite, in an interpreter where pandas cannot be imported: the pandas cases skip."""
    done = run_without(["pandas"], f"""
        import pytest
        code = pytest.main(["-q", "-p", "no:cacheprovider", "--rootdir", {str(ROOT)!r},
                            {str(TESTS / "test_backends.py")!r}, {str(TESTS / "test_polars.py")!r}])
        assert "pandas" not in sys.modules
        sys.exit(code)
    """, tmp_path, timeout=300)
    assert " passed" in done.stdout and "failed" not in done.stdout, done.stdout
