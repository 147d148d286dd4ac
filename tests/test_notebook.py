"""``notebooks/hf_frame_tour.ipynb`` executes top to bottom, so it can never rot.

The notebook talks to the Hugging Face router through the ``base_url`` setting; here
``HF_FRAME_BASE_URL`` points it at the loopback fake hub. It runs in a real Jupyter kernel
(nbclient + ipykernel) started with *this* interpreter: a kernelspec written to a temporary
``JUPYTER_PATH`` names ``sys.executable``, so neither the user's kernels nor a system Python
can be picked up by mistake.
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

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "hf_frame_tour.ipynb"
KERNEL = "hf-frame-test"


@pytest.fixture
def kernel_env(tmp_path, monkeypatch):
    """A kernelspec for the current interpreter, and Jupyter/IPython state kept in ``tmp_path``."""
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
    return tmp_path


def test_notebook_is_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


def test_notebook_executes_against_the_fake_hub(hub, kernel_env, monkeypatch):
    monkeypatch.setenv("HF_FRAME_BASE_URL", hub.base_url)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name=KERNEL,
                                     resources={"metadata": {"path": str(kernel_env)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, if a cell fails

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "the plot was not rendered"
    text = "\n".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "40 reviews of 10 products" in text
    assert "'method': 'classify', 'rows': 40, 'unique': 40, 'cached': 0, 'requests': 40" in text
    # The last section reruns classify: everything comes from the cache.
    assert "'method': 'classify', 'rows': 40, 'unique': 40, 'cached': 40, 'requests': 0" in text
    paths = {r.path for r in hub.requests}
    for model in ("distilbert/distilbert-base-uncased-finetuned-sst-2-english", "facebook/bart-large-mnli",
                  "dslim/bert-base-NER", "sentence-transformers/all-MiniLM-L6-v2"):
        assert any(model in p for p in paths), model
