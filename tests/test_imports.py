"""The package imports light: ``import geoengine`` pulls in no exporter, solver or cluster library."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("folium", "matplotlib", "dask", "distributed", "ortools", "pyscipopt", "jinja2", "geopandas", "scipy")


def _imported(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True)
    names = set()
    for line in out.stderr.splitlines():  # "import time: self [us] | cumulative | imported package"
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def test_import_geoengine_loads_no_heavy_library():
    names = _imported("import geoengine")
    assert "geoengine" in names
    assert not names & set(HEAVY), sorted(names & set(HEAVY))


def test_the_stages_are_reachable_from_the_package_and_import_on_use():
    names = _imported("import geoengine; geoengine.load_scenario")
    assert not names & {"folium", "matplotlib", "dask", "ortools"}
