"""Batch runs on a real Dask LocalCluster (2 workers), sweeps, resume, fault isolation,
backtests and run comparison — on a small synthetic street grid so the whole file is quick."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import yaml
from typer.testing import CliRunner

import geoengine as ge
from geoengine.batch import expand_scenario, is_complete, plan_batch, run_batch
from geoengine.cli import app
from geoengine.errors import ScenarioError

from ._grid_city import write_grid_and_incidents
from .conftest import SHARED

REPO = Path(__file__).resolve().parents[1]

SCENARIO = {
    "name": "grid <b>x</b>",
    "network": {"source": "data/grid.graphml"},
    "layers": {"incidents": {"path": "data/incidents.csv"}, "stations": {"path": "data/stations.geojson"}},
    "windows": [{"name": "day", "start": "08:00", "end": "16:00"}, {"name": "evening", "start": "16:00", "end": "24:00"}],
    "cameras": {"budget_count": 3, "pole_spacing_m": 60, "spacing_m": 20},
    "patrol": {"teams": [{"name": "car", "mode": "car", "count": 1}], "beats": 2, "max_hotspots_per_window": 3},
    "evaluation": {"split": "2026-04-01"},
    "solver": {"time_limit_s": 2},
    "outputs": {"map": False},
}


def _write_inputs(folder: Path) -> None:
    """A 6 × 6 street grid, 300 incidents (60 % on four hot streets) over four months, one base."""
    net = write_grid_and_incidents(folder, block_m=120.0)
    centre = shapely.Point(net.nodes.x.mean(), net.nodes.y.mean())
    gpd.GeoDataFrame({"name": ["HQ"]}, geometry=[centre], crs=net.crs).to_crs("EPSG:4326").to_file(
        folder / "stations.geojson", driver="GeoJSON"
    )


def _scenario(folder: Path, file: str, **changes: object) -> Path:
    data = json.loads(json.dumps(SCENARIO))
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split("__")
        for p in parents:
            node = node[p]
        node[last] = value
    path = folder / f"{file}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("batch")
    _write_inputs(folder / "data")
    return folder


@pytest.fixture(scope="module")
def scenarios(inputs: Path) -> dict[str, Path]:
    sweep = {"parameters": {"cameras.budget_count": [2, 4], "seed": [0]}}
    return {
        "sweep": _scenario(inputs, "sweep", sweep=sweep),
        "missing": _scenario(inputs, "missing", name="missing", layers__incidents__path="data/nope.csv"),
        "infeasible": _scenario(inputs, "infeasible", name="infeasible", evaluation__split="2025-01-01"),
    }


# --------------------------------------------------------------------------- sweeps, no cluster
def test_sweep_expands_into_named_runs_with_their_own_folders(scenarios, inputs):
    runs = expand_scenario(scenarios["sweep"])
    assert [name for name, _, _ in runs] == ["grid <b>x</b>-budget_count=2_seed=0", "grid <b>x</b>-budget_count=4_seed=0"]
    assert [sc.cameras.budget_count for _, sc, _ in runs] == [2, 4]
    assert runs[0][2] == {"cameras.budget_count": 2, "seed": 0}
    out, specs = plan_batch([inputs / "*.yaml"], out=inputs / "plan-only")
    by_name = {s.name: s for s in specs}
    assert set(by_name) == {runs[0][0], runs[1][0], "missing", "infeasible"}
    assert "file not found" in by_name["missing"].error
    folders = [s.folder for s in specs if s.error is None]
    assert len(set(folders)) == 3 and all(f.parent == out for f in folders)
    # the folder name is a content hash: the same scenario gives the same folder
    assert plan_batch([scenarios["sweep"]], out=out)[1][0].folder == by_name[runs[0][0]].folder


def test_the_committed_demo_sweep_expands_into_four_runs():
    runs = expand_scenario(REPO / "scenarios" / "demo_sweep.yaml")
    assert [(sc.cameras.budget_cost, sc.patrol.teams[0].count) for _, sc, _ in runs] == [(30, 2), (30, 3), (60, 2), (60, 3)]
    assert len({sc.name for _, sc, _ in runs}) == 4 and all(sc.sweep is None for _, sc, _ in runs)


def test_sweep_with_a_path_that_is_not_in_the_scenario_is_an_error(inputs):
    bad = _scenario(inputs, "bad-sweep", name="bad", sweep={"parameters": {"patrol.teams.3.count": [1, 2]}})
    with pytest.raises(ScenarioError, match="patrol.teams.3"):
        expand_scenario(bad)
    bad.unlink()


# --------------------------------------------------------------------------- batch on a LocalCluster
def test_batch_isolates_failures_then_resumes(scenarios, inputs):
    out = inputs / "runs"
    paths = [str(scenarios[k]) for k in ("sweep", "missing", "infeasible")]
    res = CliRunner().invoke(app, ["batch", *paths, "--out", str(out), "--workers", "2", "-q"])
    assert res.exit_code != 0, res.output
    assert "failed   missing" in res.output and "file not found" in res.output
    assert "failed   infeasible" in res.output and "no incident lies before the split date" in res.output

    table = pd.read_csv(out / "summary.csv")
    status = dict(zip(table["run"], table["status"]))
    assert status == {
        "grid <b>x</b>-budget_count=2_seed=0": "complete",
        "grid <b>x</b>-budget_count=4_seed=0": "complete",
        "missing": "failed",
        "infeasible": "failed",
    }
    reasons = dict(zip(table["run"], table["reason"].fillna("")))
    assert "nope.csv" in reasons["missing"] and "evaluation.split" in reasons["infeasible"]
    done = table[table["status"] == "complete"]
    assert (done["covered_weight_share"] > 0).all() and done["in_camera_view_share"].notna().all()
    assert done["within_response_share"].notna().all() and done["pai_5pct"].notna().all()
    assert list(done.sort_values("param:cameras.budget_count")["cameras_new"]) == [2, 4]

    # every visible folder is a complete run; no temporary folder is left behind
    visible = [p for p in out.iterdir() if p.is_dir()]
    assert len(visible) == 2 and all(is_complete(p) for p in visible)
    assert not [p for p in out.iterdir() if p.name.endswith((".tmp", ".partial"))]
    m = json.loads((visible[0] / "manifest.json").read_text(encoding="utf-8"))
    assert m["metrics"]["evaluation"]["heldout_incidents"] > 0

    log = (out / "batch.log").read_text(encoding="utf-8")
    assert log.count("complete ") == 2 and "failed   missing" in log
    page = (out / "summary.html").read_text(encoding="utf-8")
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page  # names from input are escaped
    assert "<script" not in page and 'src="http' not in page and "<svg" in page

    # the two budgets compared: two more cameras, the first two kept
    a, b = sorted(visible, key=lambda p: json.loads((p / "manifest.json").read_text())["metrics"]["coverage"]["cameras_new"])
    cmp = CliRunner().invoke(app, ["compare", str(a), str(b), "--out", str(inputs / "cmp")])
    assert cmp.exit_code == 0, cmp.output
    counts = json.loads((inputs / "cmp" / "compare.json").read_text(encoding="utf-8"))
    assert counts["cameras_added"] - counts["cameras_removed"] == 2 and counts["beats"] == 2
    assert counts["streets_coverage_gained"] >= counts["streets_coverage_lost"]
    diff = (inputs / "cmp" / "compare.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in diff and "<script" not in diff and "src='http" not in diff
    assert CliRunner().invoke(app, ["compare", str(a), str(out / "nope")]).exit_code == 2

    # rerun: the complete runs are skipped, the failures are reported again
    again = run_batch(paths, out=out, workers=2)
    by = {r.name: r for r in again.records}
    assert {r.status for n, r in by.items() if n.startswith("grid")} == {"skipped"}
    assert {r.name for r in again.failed} == {"missing", "infeasible"}
    assert all(r.reason for r in again.failed)


def test_an_interrupted_run_is_redone_and_its_leftovers_removed(scenarios, inputs):
    import socket

    from geoengine.batch import run_one

    out = inputs / "interrupted"
    spec = plan_batch([scenarios["sweep"]], out=out)[1][0]
    # what a batch killed with kill -9 leaves: a run folder without its manifest, a temporary folder
    spec.folder.mkdir(parents=True)
    (spec.folder / "routes.csv").write_text("half written", encoding="utf-8")
    stale = out / f".{spec.folder.name}.{socket.gethostname()}.999999999.tmp"
    (stale / "run").mkdir(parents=True)
    assert not is_complete(spec.folder)
    record = run_one(spec)  # in this process: the same function a Dask worker runs
    assert record.status == "complete" and is_complete(spec.folder) and not stale.exists()
    assert (spec.folder / "routes.csv").read_text(encoding="utf-8") != "half written"
    assert sorted(p.name for p in out.iterdir()) == [spec.folder.name]
    assert run_one(spec).status == "skipped"


def test_a_killed_worker_leaves_every_run_complete_or_failed_with_a_reason(inputs):
    from distributed import Client, LocalCluster

    sweep = {"parameters": {"seed": [1, 2, 3, 4]}}
    path = _scenario(inputs, "kill", name="kill", sweep=sweep)
    out = inputs / "kill-runs"
    killed: list[int] = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with Client(cluster) as client:
            pids = client.run(os.getpid)
        lock = threading.Lock()

        def kill_one(p):
            with lock:
                if killed or not p.running:
                    return
                worker = next(iter(p.running.values()))
                if worker in pids:
                    os.kill(pids[worker], signal.SIGKILL)
                    killed.append(pids[worker])

        result = run_batch([path], out=out, scheduler=cluster.scheduler_address, on_progress=kill_one)
    assert killed, "a worker was killed while it ran a run"
    assert len(result.records) == 4
    for r in result.records:
        assert r.status == "complete" or (r.status == "failed" and r.reason), r
        if r.status == "complete":
            assert is_complete(r.folder)
    # no folder looks complete without being so
    assert all(is_complete(p) for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))


# --------------------------------------------------------------------------- backtest
def test_response_share_counts_a_stop_at_the_incident_hour_within_reach():
    from geoengine.evaluation import within_response
    from geoengine.scenario import TimeWindow
    from geoengine.synthetic import grid_network

    net = grid_network(5, block_m=100.0)
    x0, y0 = net.nodes.x.min(), net.nodes.y.min()
    windows = (TimeWindow(name="day", start="08:00", end="16:00"),)
    # a foot patrol stands at the corner 09:00–09:12
    stops = gpd.GeoDataFrame(
        {
            "team": ["foot-1"],
            "mode": ["foot"],
            "window": ["day"],
            "place_kind": ["hotspot"],
            "arrive_s": [3600],
            "depart_s": [3600 + 720],
        },
        geometry=[shapely.Point(x0, y0)],
        crs=net.crs,
    )
    when = pd.to_datetime(["2026-05-04 09:30", "2026-05-04 09:30", "2026-05-04 14:00", "2026-05-04 00:00"])
    incidents = gpd.GeoDataFrame(
        {"time": when, "time_precision": ["datetime", "datetime", "datetime", "date"]},
        geometry=[
            shapely.Point(x0 + 100, y0),
            shapely.Point(x0 + 400, y0 + 400),
            shapely.Point(x0 + 100, y0),
            shapely.Point(x0, y0),
        ],
        crs=net.crs,
    )
    # 100 m on foot at 4.5 km/h is 80 s; 800 m is 640 s
    got = within_response(net, incidents, stops, windows, response_minutes=5)
    assert got[:3].tolist() == [1.0, 0.0, 0.0] and np.isnan(got[3])
    got = within_response(net, incidents, stops, windows, response_minutes=11)
    assert got[:3].tolist() == [1.0, 1.0, 0.0]


def test_rolling_windows_score_each_fold_on_the_week_after_its_training(scenarios, inputs):
    data = yaml.safe_load(scenarios["sweep"].read_text(encoding="utf-8"))
    data.pop("sweep")
    data["patrol"] = None
    data["evaluation"] = {"split": "2026-03-01", "rolling": {"train_days": 28, "test_days": 7, "folds": 3}}
    path = inputs / "rolling.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    try:
        ev = ge.run(path, write=False).manifest["metrics"]["evaluation"]
    finally:
        path.unlink()
    folds = ev["rolling"]["folds"]
    assert len(folds) == 3
    starts = [pd.Timestamp(f["test_start"]) for f in folds]
    assert [(b - a).days for a, b in zip(starts, starts[1:])] == [7, 7]
    for f in folds:
        assert (pd.Timestamp(f["test_start"]) - pd.Timestamp(f["train_start"])).days == 28
        assert f["train_incidents"] > 0 and f["test_incidents"] > 0 and f["pai_5pct"] is not None
        # the plan was made before the split, so every fold after it scores the cameras
        assert f["in_camera_view_share"] is not None and f["within_response_share"] is None  # no patrol plan
    assert ev["rolling"]["mean_pai_5pct"] is not None and ev["within_response_share"] is None


def test_stage_cache_builds_once_when_two_builders_race(tmp_path, monkeypatch):
    from geoengine import _stage_cache
    from geoengine.scenario import parse_scenario
    from geoengine.synthetic import grid_network

    net = grid_network(3)
    sc = parse_scenario(
        {"name": "c", "network": {"source": str(REPO / "pyproject.toml"), "cache_dir": str(tmp_path)}}, base_dir=tmp_path
    )
    monkeypatch.setattr(_stage_cache, "stage_key", lambda *a: "k" * 64)
    calls: list[int] = []
    building, gate = threading.Event(), threading.Event()

    def build() -> tuple[object, int]:
        calls.append(1)
        building.set()
        gate.wait(10)  # hold the lock while the other builder arrives and finds nothing cached yet
        return (net, 42)

    results: list[object] = []
    threads = [
        threading.Thread(target=lambda: results.append(_stage_cache.cached_stage("risk", sc, net, None, build))) for _ in range(2)
    ]
    threads[0].start()
    building.wait(10)
    threads[1].start()
    threads[1].join(0.5)  # the second builder is waiting for the lock, not building
    gate.set()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(results) == 2
    assert all(r[1] == 42 and r[0] is net for r in results)  # the network comes back as the caller's own


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared real data not available at {SHARED}")
def test_sf_backtest_reports_heldout_capture(tmp_path):
    data = yaml.safe_load((REPO / "scenarios" / "sf_downtown.yaml").read_text(encoding="utf-8"))
    base = REPO / "scenarios"
    data["network"]["source"] = str((base / data["network"]["source"]).resolve())
    for layer in data["layers"].values():
        layer["path"] = str((base / layer["path"]).resolve())
    if (data.get("response") or {}).get("key_sites"):
        data["response"]["key_sites"]["path"] = str((base / data["response"]["key_sites"]["path"]).resolve())
    data["solver"] = {"time_limit_s": 5}
    data["cameras"]["budgets"] = []
    data["outputs"] = {"map": False}
    path = tmp_path / "sf.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    res = ge.run(path, write=False)
    assert res.scenario.evaluation.split.isoformat() == "2016-09-01"
    ev = res.manifest["metrics"]["evaluation"]
    assert ev["heldout_incidents"] > 400
    assert 0 < ev["in_camera_view_share"] < 1
    assert 0 < ev["within_response_share"] <= 1 and ev["response_minutes"] == 10
    assert ev["pai_5pct"] is not None and ev["pai_5pct"] > 1
    assert res.manifest["timings_s"]["evaluation"] is not None
