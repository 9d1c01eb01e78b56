"""Reproducible plans (issue 12 item 6): every solver stops on a deterministic work limit, so
the same input and seed give the same answer with the machine idle or loaded; the wall clock is
only a safety cap, and a run stopped by it says so in the manifest."""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from geoengine.coverage import CoverageProblem, solve_mclp
from geoengine.coverage.problem import solve_lscp
from geoengine.patrol.allocation import allocate_force
from geoengine.patrol.routing import RoutingProblem, Vehicle, solve_routing
from geoengine.stop import Limits, MaxRuntime, MaxWork, as_limits, record_safety_caps

REPO = Path(__file__).resolve().parents[1]


def _spin() -> None:  # pragma: no cover - runs in a child process
    while True:
        pass


@contextlib.contextmanager
def loaded(n: int | None = None) -> Iterator[None]:
    """Busy loops on every core (started and killed here) while the block runs."""
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_spin, daemon=True) for _ in range(n or os.cpu_count() or 2)]
    for p in procs:
        p.start()
    try:
        yield
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.join()


# --------------------------------------------------------------------------- inputs


def _routing_problem(n: int = 40, seed: int = 3) -> RoutingProblem:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 4000, (n, 2))
    travel = np.rint(np.hypot(*(xy[:, None] - xy[None]).transpose(2, 0, 1)) / 5).astype(int)
    start = rng.integers(0, 3 * 3600, n)
    start[0] = 0
    return RoutingProblem.from_arrays(
        travel,
        service_s=[0] + [600] * (n - 1),
        tw_start_s=start,
        tw_end_s=np.minimum(start + 2 * 3600, 5 * 3600),
        vehicles=[Vehicle(f"car {k}", start=0, end=0, shift_start_s=0, shift_end_s=5 * 3600) for k in range(3)],
        penalty=[0] + [4000] * (n - 1),
    )


def _coverage_problem(seed: int = 0) -> CoverageProblem:
    rng = np.random.default_rng(seed)
    demand = rng.uniform(0, 3000, (400, 2))
    sites = rng.uniform(0, 3000, (80, 2))
    dist = np.hypot(*(demand[:, None] - sites[None]).transpose(2, 0, 1))
    return CoverageProblem.from_cost_matrix(dist, rng.uniform(1, 5, 400), service_radius=400)


def _allocation_inputs() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(7)
    units = pd.DataFrame(
        [
            {"unit": f"Beat {b}", "kind": "beat", "window": w, "risk": float(rng.uniform(0, 10)), "key": b == 0}
            for w in ("day", "night")
            for b in range(12)
        ]
    )
    teams = pd.DataFrame(
        [{"team_type": t, "window": w, "available": n} for w in ("day", "night") for t, n in (("car", 5), ("foot", 4))]
    )
    return units, teams


def _route_key(result) -> tuple:
    return (result.objective, result.dropped, tuple(tuple((s.node, s.arrive_s) for s in r.stops) for r in result.routes))


# --------------------------------------------------------------------------- stop criteria


def test_stop_criteria_combine_and_validate():
    assert MaxWork(4) | MaxRuntime(12) == Limits(work=4, max_runtime_s=12)
    assert Limits(4, 12).share(0.25) == Limits(1, 3)
    assert as_limits(MaxRuntime(5)).deterministic is False
    with pytest.raises(ValueError):
        Limits()
    with pytest.raises(ValueError):
        MaxWork(0)
    with pytest.raises(TypeError):
        solve_routing(_routing_problem(8), stop=30)


# --------------------------------------------------------------------------- each solver, idle vs loaded


def test_routing_is_the_same_idle_and_loaded():
    problem = _routing_problem()
    stop = Limits(work=2, max_runtime_s=120)  # 200 solutions of guided local search
    idle = solve_routing(problem, stop=stop, seed=1)
    with loaded():
        busy = solve_routing(problem, stop=stop, seed=1)
    assert idle.stopped_by == busy.stopped_by == "work"
    assert _route_key(idle) == _route_key(busy)


def test_routing_portfolio_splits_the_work_by_count():
    problem = _routing_problem(30)
    stop = Limits(work=1.5, max_runtime_s=120)
    idle = solve_routing(problem, stop=stop, seed=2, first_solution="portfolio", metaheuristic="guided_local_search")
    with loaded():
        busy = solve_routing(problem, stop=stop, seed=2, first_solution="portfolio", metaheuristic="guided_local_search")
    assert _route_key(idle) == _route_key(busy)
    assert idle.stopped_by in ("work", "complete")


def test_allocation_is_the_same_idle_and_loaded():
    units, teams = _allocation_inputs()
    stop = Limits(work=0.5, max_runtime_s=60)
    idle = allocate_force(units, teams, stop=stop, seed=3)
    with loaded():
        busy = allocate_force(units, teams, stop=stop, seed=3)
    assert idle.stopped_by in ("work", "complete") and busy.stopped_by == idle.stopped_by
    pd.testing.assert_frame_equal(idle.table, busy.table)
    assert idle.objective == busy.objective


def test_allocation_with_two_workers_is_deterministic():
    units, teams = _allocation_inputs()
    stop = Limits(work=0.5, max_runtime_s=60)
    a = allocate_force(units, teams, stop=stop, seed=4, workers=2)
    with loaded():
        b = allocate_force(units, teams, stop=stop, seed=4, workers=2)
    pd.testing.assert_frame_equal(a.table, b.table)


@pytest.mark.parametrize("solver", ["scip", "greedy"])
def test_camera_siting_is_the_same_idle_and_loaded(solver):
    problem = _coverage_problem()
    stop = Limits(work=0.5, max_runtime_s=120)  # 100 SCIP nodes
    idle = solve_mclp(problem, budget_count=12, stop=stop, seed=5, solver=solver)
    with loaded():
        busy = solve_mclp(problem, budget_count=12, stop=stop, seed=5, solver=solver)
    assert idle.stopped_by in ("work", "complete") and busy.stopped_by == idle.stopped_by
    assert idle.selected.tolist() == busy.selected.tolist()
    assert idle.objective == busy.objective and idle.bound == busy.bound
    assert idle.bound is not None and idle.bound >= idle.objective - 1e-9  # the bound still holds


def test_scip_node_limit_stops_before_optimality_and_keeps_a_bound():
    problem = _coverage_problem(1)
    tiny = solve_mclp(problem, budget_count=15, stop=Limits(work=0.005, max_runtime_s=120), seed=0, warm_start=False)
    assert tiny.stopped_by in ("work", "complete")
    assert tiny.bound is not None and tiny.bound >= tiny.objective - 1e-9
    cover = solve_lscp(problem, stop=Limits(work=0.5, max_runtime_s=120))
    assert cover.stopped_by == "complete" and cover.status == "optimal"


def test_a_wall_clock_only_stop_is_marked_safety_cap():
    problem = _routing_problem(30)
    with record_safety_caps() as notes:
        result = solve_routing(problem, stop=MaxRuntime(0.3), seed=0)
    assert result.stopped_by == "safety_cap"
    assert notes and "routing" in notes[0] and "no work limit" in notes[0]


# --------------------------------------------------------------------------- the demo end to end


def _demo_scenario(
    tmp_path: Path, name: str, solver: dict, cache_dir: Path | None = None, windows: tuple[str, ...] | None = None
) -> Path:
    data = yaml.safe_load((REPO / "scenarios" / "demo.yaml").read_text(encoding="utf-8"))
    if windows is not None:  # fewer windows: a shorter run
        data["windows"] = [w for w in data["windows"] if w["name"] in windows]
        for team in data["patrol"]["teams"]:
            if team.get("windows"):
                team["windows"] = [w for w in team["windows"] if w in windows]
    for layer in data["layers"].values():
        layer["path"] = str((REPO / "scenarios" / layer["path"]).resolve())
    data["cameras"]["budgets"] = [15, 60]
    data["solver"] = solver
    if cache_dir is not None:
        data["network"]["cache_dir"] = str(cache_dir)
    data["outputs"] = {"folder": str(tmp_path / "runs"), "map": False, "briefing": False, "report": False}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _run(path: Path, out: Path) -> dict:
    from geoengine.pipeline import run

    run(path, out_dir=out)
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def _without_timings(value):
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if not k.endswith("_s") and k != "timings_s"}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


@pytest.mark.slow
def test_demo_twice_idle_and_loaded_gives_byte_identical_plans(tmp_path):
    solver = {"work": 2, "time_limit_s": 600}  # the cap only guards: work decides, even on a loaded machine
    # morning (cars and e-bikes with meal breaks) and weekend_night (every kind, foot breaks too)
    windows = ("morning", "weekend_night")
    first = _run(_demo_scenario(tmp_path, "idle", solver, tmp_path / "cache-idle", windows), tmp_path / "idle")
    # the second run gets the network cache but not the stage cache: it computes every stage again
    shutil.copytree(tmp_path / "cache-idle", tmp_path / "cache-loaded", ignore=shutil.ignore_patterns("stages"))
    with loaded():
        second = _run(_demo_scenario(tmp_path, "loaded", solver, tmp_path / "cache-loaded", windows), tmp_path / "loaded")
    assert first["reproducible"] is True and first["reproducible_notes"] == [], first["reproducible_notes"]
    assert second["reproducible"] is True, second["reproducible_notes"]
    for name in ("cameras_new.csv", "allocation.csv", "routes.csv"):
        assert (tmp_path / "idle" / name).read_bytes() == (tmp_path / "loaded" / name).read_bytes(), name
    assert _without_timings(first["metrics"]) == _without_timings(second["metrics"])


def test_a_tiny_safety_cap_makes_the_manifest_say_not_reproducible(tmp_path):
    scenario = _demo_scenario(tmp_path, "capped", {"work": 50, "time_limit_s": 0.5})
    manifest = _run(scenario, tmp_path / "capped")
    assert manifest["reproducible"] is False
    notes = manifest["reproducible_notes"]
    assert notes and all("safety cap" in n for n in notes)
    assert any(n.startswith(("camera siting", "curve: camera siting")) for n in notes)
    assert any(n.startswith("routing") for n in notes)
