"""Suite ``routing``: the patrol routing core on the Solomon VRPTW benchmark.

``python -m bench routing [--quick] [--limit-s S] [--instances C101 R101 ...] [--files PATH ...]``

Every instance of ``../shared/data/vrptw/solomon`` (56 at 100 customers; Gehring–Homberger
files in the same format via ``--files``) is solved by :func:`geoengine.patrol.routing.solve_routing`
(OR-Tools routing: a portfolio of starts, each improved by iterated local search), by
the plain OR-Tools VRPTW of the OR-Tools guide (``ortools-plain``) and, when installed (``pip install -e '.[bench]'``),
by PyVRP on the same scaled integer matrix, each for ``limit_s`` seconds on one core.
Instances run in a process pool, one per core (each solver is single-threaded).

The objective is total distance (Euclidean, not rounded; no cost per vehicle), compared
with the distance-only best-known solution (``BKS.json`` keys ``NAME_distance``):
``gap_to_best_known = (distance − best) / best``. Routing search proves no bound, so
``bound`` and ``gap`` are empty. ``--quick``: 6 instances (C101 C201 R101 R201 RC101 RC201)
at 10 s.

``--suite gh200``: one Gehring–Homberger 200-customer instance per class (C1 C2 R1 R2 RC1 RC2,
instance 2 of each, from ``../shared/data/vrptw/gehring_homberger_200``; skipped with a note
when absent), ours against PyVRP at the **same deterministic work budget** (``--work``, default
:data:`GH_WORK` units): ours ``MaxWork(work)`` (``ROUTING_SOLUTIONS_PER_UNIT`` solutions a unit),
PyVRP ``MaxIterations(work × PYVRP_ITERATIONS_PER_UNIT)``, each with a wall-clock safety cap of
``CAP_FACTOR × work + 30`` s that a row reports when it was hit (``stopped_by``). The
best-known records of this set are hierarchical (vehicles first), so the table also gives
each row's ratio to PyVRP's distance and vehicles in the same run. ``--work`` on the Solomon
suite likewise replaces the time limits by work budgets.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ._common import SHARED, measure, row

DATA = SHARED / "vrptw" / "solomon"
GH200 = SHARED / "vrptw" / "gehring_homberger_200"
GH_INSTANCES = ("C1_2_2", "C2_2_2", "R1_2_2", "R2_2_2", "RC1_2_2", "RC2_2_2")
GH_WORK = 30.0
"""Work units per solve on ``--suite gh200`` (ours: 1,800 solutions; PyVRP: 30,000 iterations)."""
PYVRP_ITERATIONS_PER_UNIT = 1000
"""PyVRP iterations per work unit: measured 850-1,000 a second on 200-customer instances (R1_2_2,
C2_2_2) on the 2-core calibration VM, so a unit is about a second for both solvers."""
CAP_FACTOR = 3.0
GH_FLEET_COST = 0.5
"""On ``gh200`` ours gives each vehicle a fixed cost of this many average depot round trips (the
mean of d(0, i) + d(i, 0)): a fleet-minimising search (R1_2_2 at 15 units: 23 vehicles without,
21 with two round trips, distance +1.3 %; C2_2_2: 9 → 8 vehicles and −2.3 % distance). The
reported distance is the plan's exact distance, without the fixed cost. Half a round trip (was
one), gh200 at 30 units, 2026-12-02: mean distance vs PyVRP +4.6 → +4.0 % (R2_2_2 +10.8 → +1.6 %,
RC2_2_2 +9.4 → +4.4 %, but C2_2_2 +1.3 → +6.5 %), vehicles −9.4 → +1.2 % of PyVRP's."""
QUICK = ("C101", "C201", "R101", "R201", "RC101", "RC201")
QUICK_LIMIT_S = 10.0
LIMIT_S = 30.0
METAHEURISTIC = "iterated_local_search"
"""Ours on the bench: the portfolio of starts (:data:`geoengine.patrol._routing.PORTFOLIO_FIRST_SOLUTIONS`),
each improved by OR-Tools' iterated local search (SISR ruin and recreate, simulated annealing)."""
SOLVERS = ("ortools", "ortools-plain", "pyvrp")


def _best_known(folder: Path = DATA) -> dict[str, Any]:
    from geoengine.patrol.solomon import read_best_known

    path = folder / "BKS.json"
    return read_best_known(path) if path.exists() else {}


def _pyvrp_solve(inst: Any, problem: Any, limit_s: float, seed: int, work: float | None = None) -> tuple[float, int, bool, int]:
    """PyVRP on the same scaled integer matrix; returns exact distance, routes, feasibility and
    iterations. With ``work``: ``MaxIterations(work × PYVRP_ITERATIONS_PER_UNIT)``, ``limit_s`` the cap."""
    from pyvrp import Model
    from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria

    m = Model()
    n = problem.n_nodes
    locs = [m.add_location(float(x), float(y)) for x, y in inst.xy]
    depot = m.add_depot(locs[0], tw_early=int(problem.tw_start_s[0]), tw_late=int(problem.tw_end_s[0]))
    m.add_vehicle_type(
        num_available=len(problem.vehicles),
        capacity=int(problem.capacity),
        start_depot=depot,
        end_depot=depot,
        tw_early=int(problem.tw_start_s[0]),
        tw_late=int(problem.tw_end_s[0]),
    )
    for i in range(1, n):
        m.add_client(
            locs[i],
            delivery=int(problem.demand[i]),
            service_duration=int(problem.service_s[i]),
            tw_early=int(problem.tw_start_s[i]),
            tw_late=int(problem.tw_end_s[i]),
        )
    travel = problem.travel_s
    for i in range(n):
        for j in range(n):
            if i != j:
                m.add_edge(
                    locs[i],
                    locs[j],
                    distance=int(travel[i, j]),
                    duration=int(travel[i, j]),
                )
    stop = MaxRuntime(limit_s)
    if work is not None:
        stop = MultipleCriteria([MaxIterations(int(round(work * PYVRP_ITERATIONS_PER_UNIT))), stop])
    res = m.solve(stop=stop, seed=seed, display=False)
    dist = inst.distance()
    total = 0.0
    routes = res.best.routes()
    for r in routes:
        nodes = [int(a.idx) + 1 if a.is_client() else 0 for a in r]  # client idx counts clients from 0
        total += float(sum(dist[a, b] for a, b in zip(nodes, nodes[1:])))
    return total, len(routes), bool(res.is_feasible()), int(res.num_iterations)


def _fleet_cost(inst: Any, round_trips: float) -> int:
    """``round_trips`` average depot round trips, in the problem's scaled integer units."""
    from geoengine.patrol.solomon import SCALE

    d = inst.distance()
    return int(round(round_trips * SCALE * float((d[0, 1:] + d[1:, 0]).mean())))


def _one(job: tuple[str, str, float, float, int, float | None]) -> dict[str, Any]:
    from geoengine.patrol.routing import MaxRuntime, MaxWork, solve_routing
    from geoengine.patrol.solomon import read_instance

    path, solver, limit_s, fleet, seed, work = job
    inst = read_instance(path)
    name = Path(path).stem.upper()
    problem = inst.to_problem()
    if solver == "ortools" and fleet:
        problem = inst.to_problem(vehicle_fixed_cost=_fleet_cost(inst, fleet))
    bks = _best_known(Path(path).parent).get(name)
    known = None if bks is None else bks.distance
    extra: dict[str, Any] = {
        "limit_s": limit_s,
        "work": work,
        "customers": problem.n_nodes - 1,
    }
    if solver == "pyvrp":
        (value, vehicles, feasible, iterations), wall, peak = measure(lambda: _pyvrp_solve(inst, problem, limit_s, seed, work))
        status = "feasible" if feasible else "infeasible"
        violations = None
        extra["iterations"] = iterations
        if work is not None:
            extra["stopped_by"] = "work" if iterations >= int(round(work * PYVRP_ITERATIONS_PER_UNIT)) else "safety_cap"
    elif solver == "ortools-plain":  # the OR-Tools guide's VRPTW: path cheapest arc, default metaheuristic
        from ._plain_ortools import plain_vrptw

        plain, wall, peak = measure(lambda: plain_vrptw(problem, time_limit_s=limit_s))
        dist = inst.distance()
        value = None if plain.routes is None else float(sum(dist[a, b] for r in plain.routes for a, b in zip(r, r[1:])))
        vehicles, status, violations = (
            (None if plain.routes is None else len(plain.routes)),
            plain.status,
            None,
        )
    else:
        stop = MaxRuntime(limit_s) if work is None else MaxWork(work) | MaxRuntime(limit_s)
        result, wall, peak = measure(
            lambda: solve_routing(problem, stop=stop, seed=seed, first_solution="portfolio", metaheuristic=METAHEURISTIC)
        )
        value = result.distance_m if result.is_feasible() else None
        vehicles, status = result.n_vehicles_used, result.status
        violations = result.time_window_violations(problem)
        extra["first_solution"] = result.first_solution
        extra["metaheuristic"] = result.metaheuristic
        extra["stopped_by"] = result.stopped_by
        extra["vehicle_fixed_cost"] = problem.vehicle_fixed_cost or None
    gap = None if value is None or not known else round((value - known) / known, 6)
    return row(
        "routing",
        name,
        solver,
        wall_s=wall,
        peak_mb=peak,
        objective=None if value is None else round(value, 2),
        best_known=known,
        gap_to_best_known=gap,
        vehicles=vehicles,
        best_known_vehicles=None if bks is None else bks.vehicles,
        status=status,
        tw_violations=violations,
        **extra,
    )


def run(
    *,
    quick: bool = False,
    limit_s: float | None = None,
    instances: list[str] | None = None,
    files: list[Path] | None = None,
    workers: int | None = None,
    seed: int = 0,
    solvers: list[str] | None = None,
    suite_name: str = "solomon",
    work: float | None = None,
) -> list[dict[str, Any]]:
    """Solve the instances with OR-Tools (and PyVRP when installed); print the mean gaps.

    ``solvers``: a subset of :data:`SOLVERS` (default all; PyVRP only when installed).
    ``suite_name``: ``"solomon"`` or ``"gh200"`` (ours and PyVRP at ``work`` units, default
    :data:`GH_WORK`). ``work`` on Solomon: work budgets instead of time limits."""
    if suite_name not in ("solomon", "gh200"):
        raise ValueError(f"routing: unknown suite {suite_name!r}; choose solomon or gh200")
    gh = suite_name == "gh200"
    folder = GH200 if gh else DATA
    if gh:
        work = GH_WORK if work is None else work
        solvers = solvers or ["ortools", "pyvrp"]
    limit = limit_s if limit_s is not None else (QUICK_LIMIT_S if quick else LIMIT_S)
    if work is not None and limit_s is None:
        limit = CAP_FACTOR * work + 30.0  # the safety cap only
    paths: list[Path] = [Path(f) for f in files or []]
    if instances:
        paths += [folder / f"{name.lower() if gh else name.upper()}.txt" for name in instances]
    elif not files:
        if not folder.exists():
            print(f"routing: {folder} not found; nothing to run")
            return []
        if gh:
            paths += [folder / f"{name.lower()}.txt" for name in (GH_INSTANCES[:2] if quick else GH_INSTANCES)]
        else:
            paths += [folder / f"{name}.txt" for name in QUICK] if quick else sorted(folder.glob("*.txt"))
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise FileNotFoundError(f"routing: instance files not found: {missing}")
    wanted = list(solvers or SOLVERS)
    unknown = sorted(set(wanted) - set(SOLVERS))
    if unknown:
        raise ValueError(f"routing: unknown solvers {unknown}; choose from {list(SOLVERS)}")
    solvers = [s for s in wanted if s != "pyvrp"]
    if "pyvrp" in wanted:
        try:
            import pyvrp  # noqa: F401

            solvers.append("pyvrp")
        except ImportError:
            print("routing: PyVRP not installed (pip install -e '.[bench]'); OR-Tools only")
    fleet = GH_FLEET_COST if gh else 0.0
    jobs = [(str(p), s, limit, fleet, seed, work) for p in paths for s in solvers]
    workers = workers or max(1, min(len(jobs), os.cpu_count() or 1))
    t0 = time.perf_counter()
    if workers == 1:
        rows = [_one(job) for job in jobs]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            rows = list(pool.map(_one, jobs))
    budget = f"{work:g} work units (cap {limit:g} s)" if work is not None else f"{limit:g} s"
    for s in solvers:
        gaps = [r["gap_to_best_known"] for r in rows if r["solver"] == s and r["gap_to_best_known"] is not None]
        failed = sum(1 for r in rows if r["solver"] == s and r["objective"] is None)
        if gaps:
            print(
                f"routing: {s}: mean gap to best-known distance {100 * np.mean(gaps):.2f} % over {len(gaps)} "
                f"instances (max {100 * max(gaps):.2f} %), {failed} without a solution, "
                f"{budget} each, {workers} workers, {time.perf_counter() - t0:.0f} s in all"
            )
    if "pyvrp" in solvers:
        _versus_pyvrp(rows)
    return rows


def _versus_pyvrp(rows: list[dict[str, Any]]) -> None:
    """Per instance, each row's distance and vehicles relative to PyVRP's in the same run; print the means."""
    ref = {r["instance"]: r for r in rows if r["solver"] == "pyvrp" and r["objective"] is not None}
    for r in rows:
        p = ref.get(r["instance"])
        if p is None or r["objective"] is None:
            continue
        r["distance_vs_pyvrp"] = round(r["objective"] / p["objective"] - 1, 4)
        r["vehicles_vs_pyvrp"] = round(r["vehicles"] / p["vehicles"] - 1, 4) if p["vehicles"] else None
    for s in sorted({r["solver"] for r in rows} - {"pyvrp"}):
        mine = [r for r in rows if r["solver"] == s and r.get("distance_vs_pyvrp") is not None]
        if not mine:
            continue
        d = sum(r["objective"] for r in mine) / sum(ref[r["instance"]]["objective"] for r in mine) - 1
        v = sum(r["vehicles"] for r in mine) / sum(ref[r["instance"]]["vehicles"] for r in mine) - 1
        print(
            f"routing: {s} against PyVRP in the same run over {len(mine)} instances: mean distance "
            f"{100 * d:+.2f} % (per instance {', '.join(f'{100 * x:+.1f}' for x in (r['distance_vs_pyvrp'] for r in mine))}), "
            f"vehicles {100 * v:+.1f} %"
        )
