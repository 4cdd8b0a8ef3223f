"""docs/example.ipynb runs from top to bottom in a real kernel, so it cannot rot."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "docs" / "example.ipynb"


def test_example_notebook_runs_and_shows_its_results() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    env_path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(ROOT) + (os.pathsep + env_path if env_path else "")
    try:
        client = NotebookClient(
            notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": ROOT}}
        )
        client.execute()
    finally:
        if env_path is None:
            os.environ.pop("PYTHONPATH")
        else:
            os.environ["PYTHONPATH"] = env_path
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    texts = [o.get("data", {}).get("text/plain", "") for o in outputs]
    assert any("Event(run='a'" in t for t in texts)
    assert any(t.strip() == "True" for t in texts), "Adam reaches the least-squares solution"
    kinds = {kind for o in outputs for kind in o.get("data", {})}
    assert "application/vnd.plotly.v1+json" in kinds, "the figure renders in Jupyter"
    assert any("<iframe" in o.get("data", {}).get("text/html", "") for o in outputs)
