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
QUICK = ("C101", "C201", "R101", "R201", "RC101", "RC201")
QUICK_LIMIT_S = 10.0
LIMIT_S = 30.0
METAHEURISTIC = "iterated_local_search"
"""Ours on the bench: the portfolio of starts (:data:`geoengine.patrol._routing.PORTFOLIO_FIRST_SOLUTIONS`),
each improved by OR-Tools' iterated local search (SISR ruin and recreate, simulated annealing)."""
SOLVERS = ("ortools", "ortools-plain", "pyvrp")


def _best_known() -> dict[str, Any]:
    from geoengine.patrol.solomon import read_best_known

    path = DATA / "BKS.json"
    return read_best_known(path) if path.exists() else {}


def _pyvrp_solve(inst: Any, problem: Any, limit_s: float, seed: int) -> tuple[float, int, bool]:
    """PyVRP on the same scaled integer matrix; returns exact distance, routes and feasibility."""
    from pyvrp import Model
    from pyvrp.stop import MaxRuntime

    m = Model()
    n = problem.n_nodes
    locs = [m.add_location(float(x), float(y)) for x, y in inst.xy]
    depot = m.add_depot(locs[0], tw_early=int(problem.tw_start_s[0]), tw_late=int(problem.tw_end_s[0]))
    m.add_vehicle_type(num_available=len(problem.vehicles), capacity=int(problem.capacity), start_depot=depot,
                       end_depot=depot, tw_early=int(problem.tw_start_s[0]), tw_late=int(problem.tw_end_s[0]))  # fmt: skip
    for i in range(1, n):
        m.add_client(locs[i], delivery=int(problem.demand[i]), service_duration=int(problem.service_s[i]),
                     tw_early=int(problem.tw_start_s[i]), tw_late=int(problem.tw_end_s[i]))  # fmt: skip
    travel = problem.travel_s
    for i in range(n):
        for j in range(n):
            if i != j:
                m.add_edge(locs[i], locs[j], distance=int(travel[i, j]), duration=int(travel[i, j]))
    res = m.solve(stop=MaxRuntime(limit_s), seed=seed, display=False)
    dist = inst.distance()
    total = 0.0
    routes = res.best.routes()
    for r in routes:
        nodes = [int(a.idx) + 1 if a.is_client() else 0 for a in r]  # client idx counts clients from 0
        total += float(sum(dist[a, b] for a, b in zip(nodes, nodes[1:])))
    return total, len(routes), bool(res.is_feasible())


def _one(job: tuple[str, str, float, str, int]) -> dict[str, Any]:
    from geoengine.patrol.routing import MaxRuntime, solve_routing
    from geoengine.patrol.solomon import read_instance

    path, solver, limit_s, best_json, seed = job
    inst = read_instance(path)
    name = inst.name.upper()
    problem = inst.to_problem()
    bks = _best_known().get(name)
    known = None if bks is None else bks.distance
    extra: dict[str, Any] = {"limit_s": limit_s, "customers": problem.n_nodes - 1}
    if solver == "pyvrp":
        (value, vehicles, feasible), wall, peak = measure(lambda: _pyvrp_solve(inst, problem, limit_s, seed))
        status = "feasible" if feasible else "infeasible"
        violations = None
    elif solver == "ortools-plain":  # the OR-Tools guide's VRPTW: path cheapest arc, default metaheuristic
        from ._plain_ortools import plain_vrptw

        plain, wall, peak = measure(lambda: plain_vrptw(problem, time_limit_s=limit_s))
        dist = inst.distance()
        value = None if plain.routes is None else float(sum(dist[a, b] for r in plain.routes for a, b in zip(r, r[1:])))
        vehicles, status, violations = (None if plain.routes is None else len(plain.routes)), plain.status, None
    else:
        result, wall, peak = measure(lambda: solve_routing(problem, stop=MaxRuntime(limit_s), seed=seed,
                                                           first_solution="portfolio", metaheuristic=METAHEURISTIC))  # fmt: skip
        value = result.distance_m if result.is_feasible() else None
        vehicles, status = result.n_vehicles_used, result.status
        violations = result.time_window_violations(problem)
        extra["first_solution"] = result.first_solution
        extra["metaheuristic"] = result.metaheuristic
    gap = None if value is None or not known else round((value - known) / known, 6)
    return row("routing", name, solver, wall_s=wall, peak_mb=peak, objective=None if value is None else round(value, 2),
               best_known=known, gap_to_best_known=gap, vehicles=vehicles,
               best_known_vehicles=None if bks is None else bks.vehicles, status=status,
               tw_violations=violations, **extra)  # fmt: skip


def run(
    *,
    quick: bool = False,
    limit_s: float | None = None,
    instances: list[str] | None = None,
    files: list[Path] | None = None,
    workers: int | None = None,
    seed: int = 0,
    solvers: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Solve the instances with OR-Tools (and PyVRP when installed); print the mean gaps.

    ``solvers``: a subset of :data:`SOLVERS` (default all; PyVRP only when installed)."""
    limit = limit_s if limit_s is not None else (QUICK_LIMIT_S if quick else LIMIT_S)
    paths: list[Path] = [Path(f) for f in files or []]
    if instances:
        paths += [DATA / f"{name.upper()}.txt" for name in instances]
    elif not files:
        if not DATA.exists():
            print(f"routing: {DATA} not found; nothing to run")
            return []
        paths += [DATA / f"{name}.txt" for name in QUICK] if quick else sorted(DATA.glob("*.txt"))
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
    jobs = [(str(p), s, limit, "", seed) for p in paths for s in solvers]
    workers = workers or max(1, min(len(jobs), os.cpu_count() or 1))
    t0 = time.perf_counter()
    if workers == 1:
        rows = [_one(job) for job in jobs]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            rows = list(pool.map(_one, jobs))
    for s in solvers:
        gaps = [r["gap_to_best_known"] for r in rows if r["solver"] == s and r["gap_to_best_known"] is not None]
        failed = sum(1 for r in rows if r["solver"] == s and r["objective"] is None)
        if gaps:
            print(f"routing: {s}: mean gap to best-known distance {100 * np.mean(gaps):.2f} % over {len(gaps)} "
                  f"instances (max {100 * max(gaps):.2f} %), {failed} without a solution, "
                  f"{limit:g} s each, {workers} workers, {time.perf_counter() - t0:.0f} s in all")  # fmt: skip
    return rows
