"""The planner notebooks: stored without outputs, and each runs top to bottom without an error.

Every ``notebooks/*.ipynb`` is executed with nbclient in a python3 kernel of this very
interpreter, with ``notebooks/`` as the working folder (the notebooks open
``../scenarios/...``). Network caches go to the session's temporary cache folder
(``conftest._private_cache_home``), so the first notebook prepares the Helsinki streets
and the others read them from the cache.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
CELL_TIMEOUT_S = 600


def test_there_are_notebooks() -> None:
    assert PATHS, f"no notebooks in {NOTEBOOKS}"


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    dirty = [
        i
        for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert not dirty, (
        f"{path.name}: cells {dirty} hold outputs or execution counts; clear them before committing "
        f"(Jupyter: Edit → Clear Outputs of All Cells, or "
        f"jupyter nbconvert --clear-output --inplace {path.name})"
    )


@pytest.fixture(scope="module")
def kernel_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``python3`` kernel spec that starts this interpreter (not whatever ``python`` is on PATH)."""
    home = tmp_path_factory.mktemp("jupyter")
    spec = home / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "Python 3", "language": "python"}))
    return home


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_runs(path: Path, kernel_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("ipykernel")
    from nbclient.exceptions import CellExecutionError

    monkeypatch.setenv("JUPYTER_PATH", str(kernel_home))
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=CELL_TIMEOUT_S, resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    t0 = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as exc:  # the message holds the cell's source and traceback
        plain = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))  # the kernel colours its tracebacks
        pytest.fail(f"{path.name}: a cell failed:\n{plain}", pytrace=False)
    print(f"{path.name}: executed in {time.perf_counter() - t0:.1f} s")
