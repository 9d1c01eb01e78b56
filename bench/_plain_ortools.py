"""Plain OR-Tools references: the models and settings OR-Tools' own documentation shows.

These are what an engineer writes from the OR-Tools guides, without our tuning, so that
the bench can show what the tuning buys on the same instances, in the same process:

* :func:`plain_vrptw` — the VRPTW of the OR-Tools routing guide: Python transit callbacks,
  a time dimension with waiting allowed, time windows on the cumuls, a capacity dimension,
  ``PATH_CHEAPEST_ARC`` first solution and the **default** local-search metaheuristic
  (``AUTOMATIC``, i.e. greedy descent: it stops at the first local optimum), or guided
  local search when asked; a time limit.
* :func:`plain_mclp` — the maximal covering model written directly with ``pywraplp``
  (``SetCoefficient`` per non-zero) for SCIP (one thread), and with CP-SAT (8 workers);
  default parameters: no problem reduction, no warm start, no cuts, no extra bound.

Benchmark code only: the package itself reaches OR-Tools through its adapters
(:mod:`geoengine.patrol._routing`, :mod:`geoengine.coverage._ortools`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

try:  # OR-Tools ≤ 9.x layout
    from ortools.constraint_solver import pywrapcp as _wrap
    from ortools.constraint_solver import routing_enums_pb2 as _enums
except ImportError:  # pragma: no cover - newer layout (ortools.routing)
    from ortools.routing import enums_pb2 as _enums  # type: ignore[no-redef]
    from ortools.routing import pywraprouting as _wrap  # type: ignore[no-redef]

__all__ = ["PlainRoutes", "PlainCover", "plain_mclp", "plain_vrptw"]


@dataclass(frozen=True)
class PlainRoutes:
    """Routes as node lists (start and end base included), or ``None`` when nothing was found."""

    routes: list[list[int]] | None
    objective: int | None
    status: str
    wall_s: float


def plain_vrptw(problem: Any, *, time_limit_s: float, metaheuristic: str = "automatic") -> PlainRoutes:
    """Solve a :class:`~geoengine.patrol.routing.RoutingProblem` with one depot (node 0), every
    node mandatory, as the OR-Tools VRPTW guide does. ``metaheuristic``: ``"automatic"``
    (OR-Tools' default) or ``"guided_local_search"``."""
    t0 = time.perf_counter()
    n = problem.n_nodes
    vehicles = len(problem.vehicles)
    travel = np.asarray(problem.travel_of(0)).tolist()  # plain lists: the callbacks index them
    service = np.asarray(problem.service_s).tolist()
    ready = np.asarray(problem.tw_start_s).tolist()
    due = np.asarray(problem.tw_end_s).tolist()

    manager = _wrap.RoutingIndexManager(n, vehicles, 0)
    routing = _wrap.RoutingModel(manager)

    def distance_callback(i: int, j: int) -> int:
        return travel[manager.IndexToNode(i)][manager.IndexToNode(j)]

    def time_callback(i: int, j: int) -> int:
        a = manager.IndexToNode(i)
        return service[a] + travel[a][manager.IndexToNode(j)]

    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitCallback(distance_callback))
    horizon = int(due[0])
    routing.AddDimension(routing.RegisterTransitCallback(time_callback), horizon, horizon, False, "Time")
    time_dim = routing.GetDimensionOrDie("Time")
    for node in range(1, n):
        time_dim.CumulVar(manager.NodeToIndex(node)).SetRange(int(ready[node]), int(due[node]))
    for v in range(vehicles):
        time_dim.CumulVar(routing.Start(v)).SetRange(int(ready[0]), horizon)
        time_dim.CumulVar(routing.End(v)).SetRange(int(ready[0]), horizon)
    if problem.demand is not None and problem.capacity is not None:
        demand = np.asarray(problem.demand).tolist()

        def demand_callback(i: int) -> int:
            return demand[manager.IndexToNode(i)]

        routing.AddDimensionWithVehicleCapacity(
            routing.RegisterUnaryTransitCallback(demand_callback), 0, [int(problem.capacity)] * vehicles, True, "Capacity"
        )

    params = _wrap.DefaultRoutingSearchParameters()
    params.first_solution_strategy = _enums.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    if metaheuristic != "automatic":
        params.local_search_metaheuristic = getattr(_enums.LocalSearchMetaheuristic, metaheuristic.upper())
    params.time_limit.FromMilliseconds(int(time_limit_s * 1000))
    solution = routing.SolveWithParameters(params)
    wall = time.perf_counter() - t0
    if solution is None:
        return PlainRoutes(None, None, "no_solution", wall)
    routes = []
    for v in range(vehicles):
        index = routing.Start(v)
        nodes = [manager.IndexToNode(index)]
        while not routing.IsEnd(index):
            index = solution.Value(routing.NextVar(index))
            nodes.append(manager.IndexToNode(index))
        if len(nodes) > 2:
            routes.append(nodes)
    return PlainRoutes(routes, int(solution.ObjectiveValue()), "feasible", wall)


@dataclass(frozen=True)
class PlainCover:
    """What the plain covering model found: objective (weight covered), best bound, status."""

    objective: float | None
    bound: float | None
    status: str
    build_s: float
    wall_s: float


def plain_mclp(
    problem: Any, *, p: int, time_limit_s: float, backend: str = "scip", seed: int = 0, workers: int = 8
) -> PlainCover:
    """Maximal covering on a :class:`~geoengine.coverage.CoverageProblem` with binary coverage:
    ``max Σ w_i y_i  s.t.  y_i ≤ Σ_j a_ij x_j,  Σ_j x_j ≤ p,  Σ_{j ∈ site} x_j ≤ max_per_group``,
    ``x`` binary, ``y`` in [0, 1] (SCIP) or binary (CP-SAT, weights scaled to integers).
    Demand rows no candidate covers are left out (they add nothing). Default parameters and
    the time limit; SCIP runs on one thread, CP-SAT with ``workers`` (8: the portfolio its
    documentation recommends; with fewer, its default on a small machine, it finds far
    worse plans here)."""
    t0 = time.perf_counter()
    import scipy.sparse as sp

    c = problem.coverage.tocsr()
    a = sp.csr_matrix((np.ones(c.nnz), c.indices.copy(), c.indptr.copy()), shape=c.shape)
    weights = np.asarray(problem.weights, dtype=float)
    coverable = np.flatnonzero(np.diff(a.indptr) > 0)
    groups = getattr(problem, "groups", None)
    cap = int(getattr(problem, "max_per_group", 1) or 1)
    if backend == "cpsat":
        return _plain_mclp_cpsat(a, weights, coverable, groups, cap, p, time_limit_s, seed, workers, t0)
    from ortools.linear_solver import pywraplp

    solver = pywraplp.Solver.CreateSolver(backend.upper())
    if solver is None:
        return PlainCover(None, None, f"{backend} not available", 0.0, 0.0)
    x = [solver.BoolVar(f"x{j}") for j in range(a.shape[1])]
    objective = solver.Objective()
    for i in coverable:
        y = solver.NumVar(0.0, 1.0, f"y{i}")
        objective.SetCoefficient(y, float(weights[i]))
        row = solver.Constraint(-solver.infinity(), 0.0)
        row.SetCoefficient(y, 1.0)
        for j in a.indices[a.indptr[i] : a.indptr[i + 1]]:
            row.SetCoefficient(x[j], -1.0)
    objective.SetMaximization()
    budget = solver.Constraint(0.0, float(p))
    for v in x:
        budget.SetCoefficient(v, 1.0)
    if groups is not None:
        for members in _group_members(np.asarray(groups)):
            if len(members) > cap:
                c = solver.Constraint(0.0, float(cap))
                for j in members:
                    c.SetCoefficient(x[j], 1.0)
    build_s = time.perf_counter() - t0
    solver.SetTimeLimit(int(time_limit_s * 1000))
    status = solver.Solve()
    wall = time.perf_counter() - t0
    names = {pywraplp.Solver.OPTIMAL: "optimal", pywraplp.Solver.FEASIBLE: "feasible"}
    if status not in names:
        return PlainCover(None, None, "no_solution", build_s, wall)
    return PlainCover(objective.Value(), objective.BestBound(), names[status], build_s, wall)


def _group_members(groups: np.ndarray) -> list[np.ndarray]:
    order = np.argsort(groups, kind="stable")
    cuts = np.flatnonzero(np.diff(groups[order])) + 1
    return np.split(order, cuts)


def _plain_mclp_cpsat(
    a: Any,
    weights: np.ndarray,
    coverable: np.ndarray,
    groups: Any,
    cap: int,
    p: int,
    time_limit_s: float,
    seed: int,
    workers: int,
    t0: float,
) -> PlainCover:
    from ortools.sat.python import cp_model

    scale = 1000.0 / max(float(weights[coverable].max()), 1e-12) if len(coverable) else 1.0
    model = cp_model.CpModel()
    x = [model.NewBoolVar(f"x{j}") for j in range(a.shape[1])]
    terms = []
    for i in coverable:
        y = model.NewBoolVar(f"y{i}")
        model.AddBoolOr([x[j] for j in a.indices[a.indptr[i] : a.indptr[i + 1]]]).OnlyEnforceIf(y)
        terms.append((int(round(weights[i] * scale)), y))
    model.Add(sum(x) <= p)
    if groups is not None:
        for members in _group_members(np.asarray(groups)):
            if len(members) > cap:
                model.Add(sum(x[j] for j in members) <= cap)
    model.Maximize(sum(c * y for c, y in terms))
    build_s = time.perf_counter() - t0
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit_s)
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = int(seed)
    status = solver.Solve(model)
    wall = time.perf_counter() - t0
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return PlainCover(None, None, "no_solution", build_s, wall)
    # report in the problem's weights: the covered weight of the chosen x, and the scaled bound
    chosen = np.array([solver.BooleanValue(v) for v in x], dtype=bool)
    covered = np.asarray(a[:, chosen].sum(axis=1)).ravel() > 0
    value = float(weights[covered].sum())
    return PlainCover(
        value, float(solver.BestObjectiveBound()) / scale, "optimal" if status == cp_model.OPTIMAL else "feasible", build_s, wall
    )
