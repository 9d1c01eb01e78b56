"""Routing at scale: the same input, seed and work give the same routes, idle or loaded; the
fleet-minimising fixed cost. No timed assertions: the wall clock is only the safety cap."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest

from geoengine.patrol.routing import MaxRuntime, MaxWork, RoutingProblem, RoutingResult, Vehicle, solve_routing

# a cap far above the time the work takes, so that only the work decides where the search stops
STOP = MaxWork(2) | MaxRuntime(600)


@contextmanager
def cpu_burner() -> Iterator[None]:
    """Another process burning a core while the block runs (the machine 'loaded')."""
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        proc.kill()
        proc.wait()


def plan(result: RoutingResult) -> tuple:
    return tuple((r.vehicle, tuple((s.node, s.arrive_s) for s in r.stops), r.break_start_s) for r in result.routes)


def patrol_like(seed: int, n: int = 40, v: int = 4) -> RoutingProblem:
    """Optional visits with windows, shifts, breaks, beats (allowed vehicles) and place labels."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 2000, size=(n, 2))
    travel = np.rint(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))).astype(int)
    start = rng.integers(0, 4000, n)
    start[0] = 0
    end = start + rng.integers(600, 3000, n)
    end[0] = 8000
    service = rng.integers(300, 900, n)
    service[0] = 0
    vehicles = [
        Vehicle(f"team {k}", 0, 0, 0, 8000, break_earliest_s=3000, break_latest_s=4000, break_duration_s=600) for k in range(v)
    ]
    allowed = [None] + [None if k % 3 else {k % v, (k + 1) % v} for k in range(1, n)]
    place = np.r_[-1, np.arange(1, n) // 2]  # pairs of nodes at one place (a hotspot's two visits)
    return RoutingProblem.from_arrays(
        travel,
        service_s=service,
        tw_start_s=start,
        tw_end_s=end,
        vehicles=vehicles,
        penalty=rng.integers(2000, 20000, n),
        allowed=allowed,
        place=place,
    )


@pytest.mark.parametrize("metaheuristic", ["guided_local_search", "iterated_local_search"])
def test_same_routes_idle_and_loaded(metaheuristic):
    problem = patrol_like(4)
    kw = dict(stop=STOP, seed=3, first_solution="portfolio", metaheuristic=metaheuristic)
    idle = solve_routing(problem, **kw)
    with cpu_burner():
        loaded = solve_routing(problem, **kw)
    assert idle.stopped_by != "safety_cap" and loaded.stopped_by != "safety_cap"
    assert plan(idle) == plan(loaded)
    assert idle.dropped == loaded.dropped and idle.objective == loaded.objective
    assert idle.time_window_violations(problem) == 0


@pytest.mark.shared
def test_same_routes_on_a_gehring_homberger_instance():
    from geoengine.patrol.solomon import read_instance
    from tests.conftest import SHARED

    path = SHARED / "vrptw" / "gehring_homberger_200" / "rc1_2_2.txt"
    if not path.is_file():
        pytest.skip(f"Gehring–Homberger data not available: {path}")
    problem = read_instance(path).to_problem()
    kw = dict(stop=MaxWork(1) | MaxRuntime(600), seed=0, first_solution="portfolio", metaheuristic="iterated_local_search")
    idle = solve_routing(problem, **kw)
    with cpu_burner():
        loaded = solve_routing(problem, **kw)
    assert idle.is_feasible() and idle.dropped == ()
    assert idle.stopped_by == "work" and loaded.stopped_by == "work"
    assert plan(idle) == plan(loaded)
    assert idle.time_window_violations(problem) == 0


def test_vehicle_fixed_cost_minimises_the_fleet_first():
    # base 0 and two visits 10 s from it but 25 s from each other: two cars travel 40 s, one car 45 s
    travel = np.array([[0, 10, 10], [10, 0, 25], [10, 25, 0]])
    vehicles = [Vehicle(f"car {i}", 0, 0, 0, 1000) for i in range(3)]
    kw = dict(service_s=[0] * 3, tw_start_s=[0] * 3, tw_end_s=[1000] * 3, vehicles=vehicles)
    free = solve_routing(RoutingProblem.from_arrays(travel, **kw), stop=STOP)
    costly = solve_routing(RoutingProblem.from_arrays(travel, vehicle_fixed_cost=100, **kw), stop=STOP)
    assert free.objective == 40 and free.n_vehicles_used == 2
    assert costly.objective == 45 + 100 and costly.n_vehicles_used == 1
    with pytest.raises(ValueError, match="vehicle_fixed_cost"):
        RoutingProblem.from_arrays(travel, vehicle_fixed_cost=-1, **kw)
