"""``notebooks/hf_frame_tour.ipynb`` executes top to bottom, so it can never rot.

It runs twice in a real Jupyter kernel (nbclient + ipykernel) started with *this* interpreter (a
kernelspec written to a temporary ``JUPYTER_PATH`` names ``sys.executable``, so neither the user's
kernels nor a system Python can be picked up):

* as on a fresh machine: no token, no ``HF_FRAME_BASE_URL``. Part 1 runs on the packaged MiniLM
  (``provider="local"``), part 2 prints its one-line note, and not one request is sent;
* with ``HF_FRAME_BASE_URL`` pointing at the loopback fake hub: part 2 runs too.

Both times every figure is drawn from the real model's outputs, no cell fails, nothing in the
outputs is a warning, and progress bars are Jupyter widgets (the ``notebook`` extra), not the text
fallback tqdm prints without ipywidgets.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")
pytest.importorskip("sentence_transformers")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "hf_frame_tour.ipynb"
KERNEL = "hf-frame-test"
WIDGET = "application/vnd.jupyter.widget-view+json"
REMOTE_MODELS = ("distilbert/distilbert-base-uncased-finetuned-sst-2-english", "facebook/bart-large-mnli",
                 "dslim/bert-base-NER")


@pytest.fixture
def kernel_env(tmp_path, monkeypatch):
    """A kernelspec for the current interpreter, Jupyter/IPython state in ``tmp_path``, no token."""
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "hf_frame tests", "language": "python",
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "matplotlib"))
    # A fresh machine: no token (HF_HOME is already a private directory), progress bars on.
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HF_FRAME_PROGRESS", raising=False)
    for name in ("HF_HUB_DISABLE_PROGRESS_BARS", "TQDM_DISABLE", "HF_FRAME_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    # The packaged model needs no network; this makes sure nothing even tries.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    return tmp_path


def execute(kernel_env) -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name=KERNEL,
                                     resources={"metadata": {"path": str(kernel_env)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, if a cell fails
    return nb


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def stream(nb, name: str | None = None) -> str:
    return "\n".join(o.get("text", "") for c in code_cells(nb) for o in c.outputs
                     if o.output_type == "stream" and (name is None or o.name == name))


def check_common(nb) -> None:
    outputs = [o for c in code_cells(nb) for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    for cell in code_cells(nb):
        if "figure" in cell.metadata.get("tags", []):
            assert any("image/png" in o.get("data", {}) for o in cell.outputs), cell.source[:80]
    text = stream(nb)
    assert "40 reviews of 10 products" in text
    assert "fixed_size_list<item: float>[384]" in text
    # embed: 40 texts through the model; search: the query only; similarity: each topic sentence only
    assert "'method': 'embed', 'rows': 40, 'chunks': 40, 'unique': 40, 'cached': 0," in text
    assert "'method': 'similarity', 'rows': 40, 'unique': 41, 'cached': 40, 'requests': 1, 'failed': 0}" in text
    assert "'method': 'embed', 'rows': 40, 'chunks': 40, 'unique': 40, 'cached': 40, 'requests': 0" in text
    # No warning of any kind, and tqdm found its Jupyter widgets (no "IProgress not found" fallback).
    assert "Warning" not in text and "IProgress" not in text, stream(nb, "stderr")
    assert any(WIDGET in o.get("data", {}) for o in outputs), "no Jupyter progress bar"


def test_notebook_is_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = code_cells(nb)
    assert code and all(not c.outputs and c.execution_count is None for c in code)


def test_notebook_runs_offline_with_no_token(hub, kernel_env):
    nb = execute(kernel_env)
    check_common(nb)
    text = stream(nb)
    assert "Part 2 skipped: no Hugging Face token found" in text
    assert "'method': 'classify'" not in text
    assert hub.count() == 0


def test_notebook_runs_against_the_fake_hub(hub, kernel_env, monkeypatch):
    monkeypatch.setenv("HF_FRAME_BASE_URL", hub.base_url)
    nb = execute(kernel_env)
    check_common(nb)
    text = stream(nb)
    assert "skipped" not in text
    assert "'method': 'classify', 'rows': 40, 'unique': 40, 'cached': 0, 'requests': 40" in text
    assert "'method': 'classify', 'rows': 40, 'unique': 40, 'cached': 40, 'requests': 0" in text
    remote_cell = code_cells(nb)[-1]
    assert any("image/png" in o.get("data", {}) for o in remote_cell.outputs)
    paths = {r.path for r in hub.requests}
    for model in REMOTE_MODELS:
        assert any(model in p for p in paths), model
    assert not any("MiniLM" in p for p in paths)  # part 1 stayed local


def test_notebook_extra_brings_the_jupyter_progress_bar():
    tomllib = pytest.importorskip("tomllib")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    names = {req.split(">")[0].split("=")[0].strip() for req in extras["notebook"]}
    assert {"ipywidgets", "matplotlib", "ipykernel"} <= names
    assert "notebook" in extras["all"][0]
