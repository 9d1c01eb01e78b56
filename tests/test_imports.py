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


def _private_imports_across_modules() -> list[str]:
    """``from x import _y`` where ``_y`` belongs to another module, or ``from x._m import y`` where
    the private module ``_m`` belongs to another package (a private name is used only in its module;
    a private module only in its package)."""
    import ast
    from pathlib import Path

    import geoengine

    root = Path(geoengine.__file__).parent
    found = []
    for f in sorted(root.rglob("*.py")):
        parts = list(f.relative_to(root.parent).with_suffix("").parts)
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = module if f.name == "__init__.py" else module.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "geoengine":
                continue
            for alias in node.names:
                names = f"{target}.{alias.name}".split(".")
                private = [i for i, n in enumerate(names) if n.startswith("_") and not n.startswith("__")]
                if not private:
                    continue
                owner = ".".join(names[: private[0]])  # the module or package that holds the private name
                if not (package == owner or package.startswith(owner + ".") or module == owner):
                    found.append(f"{f.relative_to(root.parent)}:{node.lineno} imports {'.'.join(names)}")
    return found


def test_no_module_imports_a_private_name_of_another_module():
    assert _private_imports_across_modules() == []


def test_the_private_import_check_sees_a_cross_package_import(tmp_path, monkeypatch):
    """The checker itself: a planted ``from ..risk import _x`` in a subpackage is found."""
    import shutil

    import geoengine

    src = __import__("pathlib").Path(geoengine.__file__).parent
    copy = tmp_path / "geoengine"
    shutil.copytree(src, copy, ignore=shutil.ignore_patterns("__pycache__", "data"))
    (copy / "export" / "_planted.py").write_text("from ..risk import _secret\nfrom ._csv import csv_text\n")
    monkeypatch.setattr(geoengine, "__file__", str(copy / "__init__.py"))
    found = _private_imports_across_modules()
    assert found == ["geoengine/export/_planted.py:1 imports geoengine.risk._secret"]


def test_one_version_from_the_installed_distribution():
    """pyproject.toml holds the version; modules read it from ``geoengine._version``, never by
    importing the package they are part of (a cycle)."""
    from importlib.metadata import version
    from pathlib import Path

    import geoengine

    assert geoengine.__version__ == version("geoengine")
    cyclic = [
        str(p)
        for p in Path(geoengine.__file__).parent.rglob("*.py")
        if "from . import __version__" in p.read_text(encoding="utf-8")
        or "from .. import __version__" in p.read_text(encoding="utf-8")
    ]
    assert cyclic == []


def test_the_package_reexports_every_stage():
    """Each stage's function (and its result type) is reachable as ``geoengine.<name>``."""
    import geoengine as ge

    stages = {
        "load_network",
        "load_layers",
        "estimate_risk",
        "evaluate_risk",
        "plan_coverage",
        "plan_patrol",
        "evaluate_response",
        "backtest_plan",
        "make_map",
        "write_run",
        "audit_run",
        "run",
        "run_batch",
    }
    assert stages <= set(ge.__all__)
    for name in ge.__all__:
        assert getattr(ge, name) is not None, name
    assert callable(ge.plan_patrol) and ge.plan_patrol.__module__ == "geoengine.patrol.plan"
