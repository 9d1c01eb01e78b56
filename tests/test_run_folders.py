"""A run folder is one whole run or nothing: reruns into the same ``--out``, ``--out``
mistakes refused before any computing, kill -9 at every stage boundary, ``geoengine
clean``, a full disk — on a small synthetic street grid so the file stays quick."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
import yaml
from typer.testing import CliRunner

import geoengine._io as gio
import geoengine.pipeline as pipeline
from geoengine._io import is_run_folder
from geoengine.cli import app

from ._grid_city import write_grid_and_incidents

BLOCK_M = 120.0
SCENARIO = {
    "name": "grid run folders",
    "network": {"source": "data/grid.graphml"},
    "layers": {
        "incidents": {"path": "data/incidents.csv", "synthetic": True},
        "stations": {"path": "data/stations.geojson"},
        "districts": {"path": "data/districts.geojson"},
    },
    "windows": [{"name": "day", "start": "08:00", "end": "16:00"}, {"name": "evening", "start": "16:00", "end": "24:00"}],
    "cameras": {"budget_count": 2, "pole_spacing_m": 60, "spacing_m": 20},
    "patrol": {"teams": [{"name": "car", "mode": "car", "count": 1}], "beats": 2, "max_hotspots_per_window": 3},
    "evaluation": {"split": "2026-04-01"},
    "solver": {"time_limit_s": 2},
    "outputs": {"map": False, "paper": "A4"},
}


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("runfolders")
    net = write_grid_and_incidents(folder / "data", block_m=BLOCK_M)
    x0, y0 = net.nodes.x.min(), net.nodes.y.min()

    def save(gdf: gpd.GeoDataFrame, name: str) -> None:
        gdf.set_crs(net.crs).to_crs("EPSG:4326").to_file(folder / "data" / name, driver="GeoJSON")

    save(gpd.GeoDataFrame({"name": ["HQ"]}, geometry=[shapely.Point(x0 + 2.5 * BLOCK_M, y0 + 2.5 * BLOCK_M)]), "stations.geojson")
    save(
        gpd.GeoDataFrame(
            {"name": ["north", "south"]},
            geometry=[
                shapely.box(x0 - 10, y0 - 10, x0 + 5 * BLOCK_M + 10, y0 + 2.5 * BLOCK_M),
                shapely.box(x0 - 10, y0 + 2.5 * BLOCK_M, x0 + 5 * BLOCK_M + 10, y0 + 5 * BLOCK_M + 10),
            ],
        ),
        "districts.geojson",
    )
    return folder


def scenario(inputs: Path, file: str, *, districts: bool = True, geojson: bool = False) -> Path:
    data = json.loads(json.dumps(SCENARIO))
    if not districts:
        del data["layers"]["districts"]
    data["outputs"]["geojson"] = geojson
    path = inputs / f"{file}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def tree(folder: Path) -> dict[str, int]:
    """Every file under ``folder`` (relative path → size)."""
    return {str(p.relative_to(folder)): p.stat().st_size for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_whole_run(folder: Path) -> dict:
    """``folder`` holds exactly the files its manifest lists, nothing of another run."""
    assert is_run_folder(folder), f"{folder} is not a complete run"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    listed = {name.rstrip("/") for name in manifest["outputs"].values()}
    assert {p.name for p in folder.iterdir()} == listed
    if "geojson" in listed:
        assert any((folder / "geojson").iterdir())
    return manifest


def hidden_siblings(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def test_rerun_replaces_the_whole_folder(inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = invoke("run", str(scenario(inputs, "a", districts=True, geojson=True)), "--out", str(out))
    assert first.exit_code == 0, first.output
    m1 = assert_whole_run(out)
    assert {"risk_by_district", "geojson"} <= set(m1["outputs"])

    # geojson again into a folder that has it: used to fail with "Directory not empty" and destroy the run
    again = invoke("run", str(scenario(inputs, "a", districts=True, geojson=True)), "--out", str(out))
    assert again.exit_code == 0, again.output
    assert assert_whole_run(out)["timings_s"] != m1["timings_s"]

    # without districts and geojson: neither risk_by_district.csv nor geojson/ of the first runs survives
    second = invoke("run", str(scenario(inputs, "b", districts=False, geojson=False)), "--out", str(out))
    assert second.exit_code == 0, second.output
    m2 = assert_whole_run(out)
    assert not {"risk_by_district", "geojson"} & set(m2["outputs"])
    assert not (out / "risk_by_district.csv").exists() and not (out / "geojson").exists()
    assert hidden_siblings(out) == []


@pytest.fixture()
def no_computing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused --out must be found before the first stage runs."""

    def fail(*args, **kwargs):
        raise AssertionError("a stage ran before --out was checked")

    monkeypatch.setattr(pipeline, "load_network", fail)


def test_out_mistakes_are_refused_before_any_computing(inputs: Path, tmp_path: Path, no_computing: None) -> None:
    sc = str(scenario(inputs, "b", districts=False))
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep me", encoding="utf-8")
    res = invoke("run", sc, "--out", str(a_file))
    assert res.exit_code == 2, res.output
    assert f"--out {a_file} is a file" in res.output and "--force" in res.output
    assert a_file.read_text(encoding="utf-8") == "keep me"

    not_a_run = tmp_path / "mine"
    not_a_run.mkdir()
    (not_a_run / "thesis.docx").write_text("x", encoding="utf-8")
    res = invoke("run", sc, "--out", str(not_a_run))
    assert res.exit_code == 2, res.output
    assert f"--out {not_a_run} is a folder that is not a geoengine run" in res.output
    assert (not_a_run / "thesis.docx").exists()

    # a manifest.json that geoengine did not write does not make a folder a run
    (not_a_run / "manifest.json").write_text('{"hello": 1}', encoding="utf-8")
    assert invoke("run", sc, "--out", str(not_a_run)).exit_code == 2

    res = invoke("run", sc, "--out", str(a_file / "run"))
    assert res.exit_code == 2, res.output
    assert f"cannot write {a_file / 'run'}" in res.output

    res = invoke("demo", "--out", str(a_file))
    assert res.exit_code == 2 and "is a file" in res.output, res.output
    assert hidden_siblings(a_file) == [] and hidden_siblings(not_a_run) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_unwritable_parent_is_refused_before_any_computing(inputs: Path, tmp_path: Path, no_computing: None) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        res = invoke("run", str(scenario(inputs, "b", districts=False)), "--out", str(locked / "out"))
    finally:
        locked.chmod(0o700)
    assert res.exit_code == 2, res.output
    assert "cannot write" in res.output and "not writable" in res.output


def test_force_replaces_a_file_and_a_folder_that_is_not_a_run(inputs: Path, tmp_path: Path) -> None:
    sc = str(scenario(inputs, "b", districts=False))
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x", encoding="utf-8")
    res = invoke("run", sc, "--out", str(a_file), "--force")
    assert res.exit_code == 0, res.output
    assert_whole_run(a_file)

    not_a_run = tmp_path / "mine"
    not_a_run.mkdir()
    (not_a_run / "thesis.docx").write_text("x", encoding="utf-8")
    res = invoke("run", sc, "--out", str(not_a_run), "--force")
    assert res.exit_code == 0, res.output
    assert_whole_run(not_a_run)
    assert hidden_siblings(a_file) == [] and hidden_siblings(not_a_run) == []

    empty = tmp_path / "empty"  # an empty folder needs no --force
    empty.mkdir()
    from geoengine._io import prepare_out_dir

    prepare_out_dir(empty)


def test_force_never_replaces_the_folder_you_are_in(
    inputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_computing: None
) -> None:
    here = tmp_path / "work"
    (here / "sub").mkdir(parents=True)
    (here / "scenario-notes.txt").write_text("x", encoding="utf-8")
    monkeypatch.chdir(here / "sub")
    for out in (str(here), "..", str(Path.home())):
        res = invoke("run", str(scenario(inputs, "b", districts=False)), "--out", out, "--force")
        assert res.exit_code == 2, res.output
        assert "refusing to replace it even with --force" in res.output
    assert (here / "scenario-notes.txt").exists()


def test_full_disk_while_writing_is_exit_2_and_keeps_the_previous_run(
    inputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    sc = str(scenario(inputs, "b", districts=False))
    assert invoke("run", sc, "--out", str(out)).exit_code == 0
    before = tree(out)
    manifest = (out / "manifest.json").read_bytes()

    real = gio.write_bytes_atomic

    def full(path, data):
        if ".partial" in str(path):  # every file of the run being written
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, data)

    monkeypatch.setattr(gio, "write_bytes_atomic", full)
    res = invoke("run", sc, "--out", str(out))
    assert res.exit_code == 2, res.output
    assert f"disk full at {out}" in res.output and "bug" not in res.output
    assert tree(out) == before and (out / "manifest.json").read_bytes() == manifest
    assert hidden_siblings(out) == []


def test_os_errors_outside_the_run_folder_are_environment_errors(
    inputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk or a permission error anywhere (e.g. writing a cache) is exit 2, not a bug."""
    sc = str(scenario(inputs, "b", districts=False))
    cache = tmp_path / "cache" / "net.graphml"
    for code, text in ((errno.ENOSPC, f"disk full at {cache}"), (errno.EACCES, f"cannot write {cache}: permission denied")):

        def boom(*args, _code=code, **kwargs):
            raise OSError(_code, os.strerror(_code), str(cache))

        monkeypatch.setattr(pipeline, "load_network", boom)
        res = invoke("run", sc, "--out", str(tmp_path / "out"))
        assert res.exit_code == 2, res.output
        assert text in res.output and "bug" not in res.output
        assert not (tmp_path / "out").exists() and hidden_siblings(tmp_path / "out") == []


# --------------------------------------------------------------------------- kill -9
KILLER = textwrap.dedent(
    """
    import functools, importlib, os, signal, sys
    from pathlib import Path

    def hook(module, name, when=None):
        mod = importlib.import_module(module)
        real = getattr(mod, name)

        @functools.wraps(real)
        def wrapper(*args, **kwargs):
            result = real(*args, **kwargs)
            if when is None or when(*args, **kwargs):
                os.kill(os.getpid(), signal.SIGKILL)
            return result

        setattr(mod, name, wrapper)

    POINTS = {
        "layers": ("geoengine.pipeline", "load_layers", None),
        "patrol": ("geoengine.pipeline", "_patrol_stage", None),
        "evaluation": ("geoengine.pipeline", "evaluate_run", None),
        "briefing": ("geoengine.export.briefing", "write_briefing", None),
        "report": ("geoengine.export.report", "write_report", None),
        "manifest": ("geoengine._io", "write_bytes_atomic", lambda path, data: Path(path).name == "manifest.json"),
        "moved_aside": ("geoengine._io", "_move_aside", None),
        "in_place": ("geoengine._io", "_put_in_place", None),
    }
    point = os.environ.get("KILL_AT")
    if point:
        hook(*POINTS[point])
    from geoengine.cli import app
    app(sys.argv[1:], prog_name="geoengine")
    """
)


def _start(killer: Path, sc: Path, out: Path, point: str | None) -> subprocess.Popen:
    env = {**os.environ, "KILL_AT": point or ""}
    return subprocess.Popen(
        [sys.executable, str(killer), "run", str(sc), "--out", str(out), "-q"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _killed_when_staged(proc: subprocess.Popen, out: Path, name: str, timeout_s: float = 300) -> None:
    """SIGKILL from outside as soon as the staging folder holds ``name``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        if any((p / name).exists() for p in out.parent.glob(f".{out.name}.*.partial")):
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    proc.communicate(timeout=timeout_s)


@pytest.mark.slow
def test_kill_9_at_every_stage_boundary_then_rerun(inputs: Path, tmp_path: Path) -> None:
    """At every kill point ``--out`` is absent, the previous complete run or the new
    complete run; the next run into it (or ``geoengine clean``) removes the leftovers."""
    killer = tmp_path / "killer.py"
    killer.write_text(KILLER, encoding="utf-8")
    sc = scenario(inputs, "kill", districts=True)
    out = tmp_path / "out"
    proc = _start(killer, sc, out, None)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert_whole_run(out)
    previous = tree(out), (out / "manifest.json").read_bytes()

    def state() -> str:
        if not out.exists():
            return "absent"
        assert_whole_run(out)
        if (tree(out), (out / "manifest.json").read_bytes()) == previous:
            return "previous"
        return "new"

    # (kill point, how, the state of --out it must leave); each killed run is a rerun after the last kill
    plan = [
        ("layers", "self", "previous"),
        ("patrol", "self", "previous"),
        ("evaluation", "self", "previous"),
        ("plan.gpkg", "outside", "previous"),
        ("briefing", "self", "previous"),
        ("report", "self", "previous"),
        ("manifest", "self", "previous"),
        ("moved_aside", "self", "absent"),
        ("in_place", "self", "new"),
    ]
    for point, how, expected in plan:
        if how == "self":
            proc = _start(killer, sc, out, point)
            proc.communicate(timeout=600)
        else:
            proc = _start(killer, sc, out, None)
            _killed_when_staged(proc, out, point)
        assert proc.returncode == -signal.SIGKILL, f"{point}: the run was not killed ({proc.returncode})"
        assert state() == expected, point
        # what an earlier killed run left was cleaned by this one: only this process's leftovers remain
        assert all(f".{proc.pid}." in name for name in hidden_siblings(out)), (point, hidden_siblings(out))
        if point == "moved_aside":
            assert hidden_siblings(out), "the previous run waits aside"
            res = invoke("clean", str(out.parent))
            assert res.exit_code == 0, res.output
            assert f"restored {out}" in res.output and "removed" in res.output
            assert state() == "previous" and hidden_siblings(out) == []

    assert hidden_siblings(out), "the previous run, moved aside, is still there after the kill"
    proc = _start(killer, sc, out, None)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert state() == "new" and hidden_siblings(out) == []


def test_clean_removes_leftovers_of_dead_runs_only(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    host = gio._host()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        made = {
            "dead_partial": runs / f".a.{host}.{dead.pid}.0a1b.partial",
            "dead_trash": runs / f".a.{host}.{dead.pid}.0a1c.trash",
            "legacy": runs / ".b.x1_Yz9ab.partial",
            "live": runs / f".c.{host}.{alive.pid}.0a1d.partial",
            "old_restorable": runs / f".d.{host}.{dead.pid}.0a1e.old",
            "old_stale": runs / f".a.{host}.{dead.pid}.0a1f.old",
        }
        for path in made.values():
            path.mkdir()
            (path / "manifest.json").write_text("{}", encoding="utf-8")
        (runs / "a").mkdir()  # a's own folder exists, so its .old is stale; d's is missing, so d is put back
        beside = tmp_path / f".runs.{host}.{dead.pid}.0a20.partial"  # a killed run into runs itself
        beside.mkdir()
        keep = runs / ".hidden-notes"
        keep.mkdir()

        res = invoke("clean", str(runs))
        assert res.exit_code == 0, res.output
        for key in ("dead_partial", "dead_trash", "legacy", "old_stale"):
            assert not made[key].exists() and f"removed {made[key]}" in res.output, key
        assert not beside.exists()
        assert made["live"].exists() and f"process {alive.pid} is running" in res.output
        assert (runs / "d" / "manifest.json").exists() and f"restored {runs / 'd'}" in res.output
        assert keep.exists() and (runs / "a").exists()

        res = invoke("clean", str(runs / "a"))
        assert res.exit_code == 0 and "nothing to clean" in res.output, res.output
    finally:
        alive.kill()
        alive.wait()
