"""The walkthrough notebooks run top to bottom, and are stored without outputs.

Each notebook is executed with nbclient in a fresh "python3" kernel (the test's own
Python: jupyter_client starts a kernel spec whose command is ``python`` with
``sys.executable``), in a temporary working directory, with the test process's
environment plus this checkout on PYTHONPATH, so the kernel imports the library
under test even where an older copy is installed.
"""

import os
import pathlib
import re

import nbformat
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
#: seconds one cell may take (the slowest, an eigh rewrite converted to TFLite, takes about 5 s here)
CELL_TIMEOUT = 300
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def test_there_is_a_notebook_per_failure_class():
    names = [path.stem for path in NOTEBOOKS]
    for topic in ("unsupported_ops", "dynamic_shapes", "quantization"):
        assert any(topic in name for name in names), f"no notebook about {topic} in {names}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_stripped(path):
    """No outputs, no execution counts, no widget state or run timings: strip before committing."""
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert "widgets" not in notebook.metadata, f"{path.name}: widget state in the notebook metadata"
    for index, cell in enumerate(notebook.cells):
        where = f"{path.name} cell {index}"
        assert "widgets" not in cell.metadata and "execution" not in cell.metadata, f"{where}: run metadata left"
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{where}: outputs left (clear them before committing)"
            assert cell.execution_count is None, f"{where}: execution_count {cell.execution_count} left"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path, tmp_path):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    notebook = nbformat.read(path, as_version=4)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.pop("MPLBACKEND", None)  # let the kernel use its inline backend, as in Jupyter
    client = NotebookClient(
        notebook, kernel_name="python3", timeout=CELL_TIMEOUT, resources={"metadata": {"path": str(tmp_path)}},
    )
    try:
        client.execute(env=env)
    except CellExecutionError:
        failed = [
            (index, cell) for index, cell in enumerate(notebook.cells)
            if cell.cell_type == "code" and any(o.output_type == "error" for o in cell.get("outputs", []))
        ]
        if not failed:
            raise
        index, cell = failed[0]
        error = next(o for o in cell.outputs if o.output_type == "error")
        traceback = ANSI.sub("", "\n".join(error.traceback))
        pytest.fail(f"{path.name}: cell {index} failed\n--- source ---\n{cell.source}\n--- traceback ---\n{traceback}",
                    pytrace=False)
    written = sorted(p.name for p in tmp_path.iterdir())
    assert not written, f"{path.name} wrote {written} into its working directory; write to a tempfile.mkdtemp() folder"
