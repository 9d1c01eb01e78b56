"""The one adapter to OR-Tools' vehicle routing library; nothing else in geoengine imports it.

OR-Tools is moving its routing wrapper out of ``ortools.constraint_solver`` (``pywrapcp``,
``routing_enums_pb2``) into ``ortools.routing`` (``pywraprouting``, ``enums_pb2``). Both
layouts are accepted here; the rest of the package sees plain numpy data in
(:class:`~geoengine.patrol.routing.RoutingProblem`) and a :class:`RawSolution` out.

The model built by :func:`solve`:

* one node per problem node; each vehicle starts and ends at its base nodes (bases may be
  shared). Arc cost = travel seconds (per vehicle when ``travel_s`` is ``v × n × n``), plus
  ``change_penalty`` on arcs into a node that the hint served with another vehicle;
* a time dimension ``Time``: transit ``i → j`` = ``service_s[i] + travel_s[i, j]``, slack
  (waiting) up to the horizon, node windows on the cumul (= start of service), shifts on
  the start and end cumuls, ``max_route_s`` as a span upper bound, a global span cost,
  one meal break per vehicle as a ``FixedDurationIntervalVar`` whose start is in
  ``[break_earliest_s, break_latest_s]`` (a break may not overlap a visit's service);
* a capacity dimension when the problem has ``demand`` and ``capacity``;
* a disjunction per optional node (penalty ≥ 0), none for mandatory ones (penalty −1);
* allowed vehicles per node.

Seeds: OR-Tools' ``RoutingSearchParameters`` has no random-seed field (9.x). The seed is
applied deterministically instead: seed 0 builds the model in the problem's node order,
any other seed builds it with the non-base nodes in a seeded random order (the node
order breaks ties in the first-solution heuristics and neighbourhood scans), and the CP
solver is re-seeded (``Solver.ReSeed``) for the randomised LNS operators (iterated local
search draws its ruins from its own generator, seeded 0 by OR-Tools). In a portfolio, the
k-th repeat of a start uses seed + k.

Limits: the deterministic limit is OR-Tools' ``solution_limit`` (a count of solutions: guided
local search counts every accepted move, the first solution included; iterated local search
counts its local optima and improvements). ``time_limit`` is only the safety cap. The same
seed and solution limit give the same plan on any machine at any load, unless the cap cuts
the search (``RawSolution.stopped_by == "safety_cap"``). A portfolio splits the solution
count between its starts (not the remaining time). Iterated local search's simulated
annealing cools by the larger of its solution and time progress, so it is deterministic only
while the cap is well above the time the solutions take (the default cap is 3x).

Every solve reports status, objective, how it stopped and no bound (routing search proves
none).

Where the time goes at 200 customers (Gehring–Homberger R1_2_2 and C2_2_2, 2-core VM, issue 18):
building the model takes 0.01 s (travel and time are numpy matrices registered once with
``RegisterTransitMatrix`` / ``RegisterUnaryTransitVector``: no Python call per arc in the
search); a first solution 0.04-0.07 s by savings or parallel cheapest insertion, while path
cheapest arc found none on R1_2_2 in 60 s (``"auto"`` tries insertion first); the rest is local
search: guided local search makes 16-22 solutions a second (each accepted move), iterated
local search 80-87 (each local optimum). So the search's neighbourhood scans decide the time,
and a work unit buys guided local search about five times the CPU of iterated local search.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

try:  # OR-Tools ≤ 9.x layout
    from ortools.constraint_solver import pywrapcp as _wrap
    from ortools.constraint_solver import routing_enums_pb2 as _enums
except ImportError:  # pragma: no cover - newer layout (ortools.routing)
    from ortools.routing import enums_pb2 as _enums  # type: ignore[no-redef]
    from ortools.routing import pywraprouting as _wrap  # type: ignore[no-redef]

if TYPE_CHECKING:
    from .routing import RoutingProblem

__all__ = ["FIRST_SOLUTIONS", "ITERATED_LOCAL_SEARCH", "METAHEURISTICS", "RawSolution", "solve"]

log = logging.getLogger(__name__)

FIRST_SOLUTIONS: dict[str, int] = {
    name.lower(): value for name, value in _enums.FirstSolutionStrategy.Value.items() if name not in ("UNSET",)
}
METAHEURISTICS: dict[str, int] = {
    name.lower(): value for name, value in _enums.LocalSearchMetaheuristic.Value.items() if name not in ("UNSET",)
}
ITERATED_LOCAL_SEARCH = "iterated_local_search"
"""OR-Tools' iterated local search (``RoutingModel.SolveWithIteratedLocalSearch``, 9.12+), by this name.

It is not a ``LocalSearchMetaheuristic`` value but a search of its own: from the first
solution, local search to a local optimum (greedy descent), then, until the time limit,
ruin (SISR: remove strings of nearby visits) and recreate (local cheapest insertion), local
search again, and accept the result as the new reference by simulated annealing; the best
solution seen is kept. See :data:`ILS_SETTINGS`.

Its annealing temperature follows the search's progress, which OR-Tools takes as the larger of
solutions / solution limit and elapsed / time limit: with a work limit the first normally
leads, but when a loaded machine makes the elapsed share overtake it the temperature (and so
the plan) depends on the clock. Guided local search (the patrol planner's search) has no such
term."""
if hasattr(_wrap.RoutingModel, "SolveWithIteratedLocalSearch"):
    METAHEURISTICS[ITERATED_LOCAL_SEARCH] = -1
AUTO_FIRST_SOLUTIONS = ("parallel_cheapest_insertion", "local_cheapest_insertion", "path_cheapest_arc", "savings")
"""Tried in this order by ``first_solution="auto"`` until one finds a solution."""

PORTFOLIO_FIRST_SOLUTIONS = ("savings:guided_local_search", "savings", "savings", "savings")
"""``first_solution="portfolio"`` splits the time limit between these starts and keeps the best plan.

A repeated start gets another node order (seed, seed + 1, …: a different savings plan and
neighbourhood scan order); an entry ``"start:metaheuristic"`` would run that start with its
own metaheuristic. Measured on the Solomon bench at 30 s, with iterated local search, mean
gap to the best-known distance on the 8 hardest instances (R104 R109 R207 RC103 RC104 RC105
RC107 RC108): one 30 s run 4.2 %; savings + insertion 3.4 %; savings, insertion × 2 each
3.2 %; savings × 4: 1.8 %; savings × 6: 2.3 %. On 8 long-route instances (R204 R205 R208
R211 RC201 RC202 RC206 RC207) savings × 4: 1.3 %; with guided local search on the first of
the four: 1.5 %. (With guided local search alone, savings + insertion: 5.0 % on the first 8.)

With work limits (a solution count per start rather than a share of the wall clock) the first
start runs guided local search: at 200 customers it is the better search on clustered instances
(C2_2_2, 600 solutions: 1,913 and 7 vehicles against iterated local search's 1,963 and 9), and a
solution costs it about five times the CPU (each accepted move counts)."""

PORTFOLIO_SOLUTIONS_PER_START_PER_NODE = 4
"""With a solution limit, a portfolio runs at most ``limit // (4 × nodes)`` of its starts (at least
one), so that every start gets the search its size needs (Solomon, 100 customers, 30 units = 1,800
solutions: all four starts; 200 customers: two). At 200 customers 900 solutions split four ways
(225 a start) gave 4,269 on R1_2_2 (24 vehicles) and 2,115 on C2_2_2 (10), one start with 600
solutions 4,097 (22) and 1,963 (9): on large problems the restarts share the budget only when it
is large enough for each."""

TUNED: dict[str, object] = {"guided_local_search_lambda_coefficient": 0.3}
"""Search parameters changed from OR-Tools' defaults (dotted field paths), from the Solomon bench.

Guided local search's lambda 0.3 (default 0.1) halved the mean gap to the best-known distance
on six hard Solomon instances at 20 s (C103 R107 R111 R203 RC102 RC106: 4.8 % → 2.4 %;
0.2: 3.7 %, 0.5: 2.6 %). Restricting operator neighbourhoods (ratio 0.25) doubled the gap;
extra close-node LNS and cross-exchange operators made no difference."""

ILS_SETTINGS: dict[str, object] = {
    "sisr_max_removed_sequence_size": 10,
    "sisr_avg_num_removed_visits": 10,
    "sisr_bypass_factor": 0.01,
    "disable_operators": (
        "use_global_cheapest_insertion_path_lns",
        "use_local_cheapest_insertion_path_lns",
        "use_relocate_path_global_cheapest_insertion_insert_unperformed",
        "use_global_cheapest_insertion_visit_types_lns",
        "use_local_cheapest_insertion_visit_types_lns",
    ),
}
"""Iterated local search as measured on the Solomon bench (8 hardest instances, 30 s each).

SISR ruin with the paper's values (strings of at most 10 visits, 10 removed on average,
bypass 0.01) and simulated annealing with OR-Tools' automatic temperatures. The
insertion-LNS operators are switched off in the local search (ruin and recreate does their
job, and they made each descent 3x slower): mean gap 4.2 % vs 5.2 % with them, 5.0 % for the
savings + insertion GLS portfolio. Removing 20 visits on average: 5.9 %; no local search
after the recreate: 5.1 %; restricting operator neighbourhoods to the 20 nearest: 14 %."""

_STATUS = {
    "ROUTING_NOT_SOLVED": "no_solution",
    "ROUTING_SUCCESS": "feasible",
    "ROUTING_PARTIAL_SUCCESS_LOCAL_OPTIMUM_NOT_REACHED": "feasible",
    "ROUTING_FAIL": "no_solution",
    "ROUTING_FAIL_TIMEOUT": "timeout",
    "ROUTING_INVALID": "invalid",
    "ROUTING_INFEASIBLE": "infeasible",
    "ROUTING_OPTIMAL": "optimal",
}


@dataclass(frozen=True, eq=False)
class RawSolution:
    """What one solve returned, in problem node indices.

    ``routes[v]`` lists ``(node, start_of_service_s)`` from the start base to the end base;
    empty lists for a failed solve.
    """

    routes: list[list[tuple[int, int]]]
    breaks: list[int | None]
    dropped: list[int]
    objective: int
    status: str
    first_solution: str
    metaheuristic: str
    solve_s: float
    stopped_by: str = "work"  # "work" (solution limit) | "complete" (local optimum) | "safety_cap"
    solutions: int = 0


def _status_name(code: int) -> str:
    try:
        name = _enums.RoutingSearchStatus.Value.Name(code)
    except (AttributeError, ValueError):  # older wrappers expose only ints
        return {
            0: "no_solution",
            1: "feasible",
            2: "feasible",
            3: "no_solution",
            4: "timeout",
            5: "invalid",
            6: "infeasible",
            7: "optimal",
        }.get(code, f"status_{code}")
    return _STATUS.get(name, name.lower())


def _set(params, path: str, value) -> None:
    """Set a (dotted) ``RoutingSearchParameters`` field; ``True``/``False`` map to OptionalBoolean."""
    *parents, last = path.split(".")
    target = params
    for part in parents:
        target = getattr(target, part)
    field = target.DESCRIPTOR.fields_by_name.get(last)
    if field is None:
        raise ValueError(f"unknown OR-Tools routing search parameter {path!r}")
    if isinstance(value, bool) and field.enum_type is not None and field.enum_type.name == "OptionalBoolean":
        value = 3 if value else 2  # BOOL_TRUE / BOOL_FALSE
    setattr(target, last, value)


def _params(
    time_limit_s: float,
    first_solution: str,
    metaheuristic: str,
    gls_lambda: float | None,
    overrides: dict | None = None,
    solution_limit: int | None = None,
):
    """Search parameters: ``solution_limit`` is the deterministic limit, ``time_limit_s`` the safety cap."""
    params = _wrap.DefaultRoutingSearchParameters()
    params.first_solution_strategy = FIRST_SOLUTIONS[first_solution]
    if metaheuristic == ITERATED_LOCAL_SEARCH:
        _iterated_local_search(params)
    else:
        params.local_search_metaheuristic = METAHEURISTICS[metaheuristic]
    for path, value in {**TUNED, **(overrides or {})}.items():
        _set(params, path, value)
    if gls_lambda is not None:
        params.guided_local_search_lambda_coefficient = gls_lambda
    params.log_search = False
    seconds = max(time_limit_s, 0.01)
    params.time_limit.seconds = int(seconds)
    params.time_limit.nanos = int(round((seconds - int(seconds)) * 1e9))
    # OR-Tools' lns_time_limit (default 100 ms of wall clock) also bounds the LP / CP-SAT that
    # sets arrival times on routes with breaks and the LNS sub-searches: under load it cut them
    # short and the same seed and work gave other arrival times. The safety cap bounds them now.
    params.lns_time_limit.seconds = int(seconds)
    params.lns_time_limit.nanos = int(round((seconds - int(seconds)) * 1e9))
    if solution_limit is not None:
        params.solution_limit = max(1, int(solution_limit))
    return params


def _iterated_local_search(params) -> None:
    """Switch ``params`` to iterated local search with :data:`ILS_SETTINGS`."""
    params.local_search_metaheuristic = _enums.LocalSearchMetaheuristic.GREEDY_DESCENT
    params.use_iterated_local_search = True
    for name in ILS_SETTINGS["disable_operators"]:  # type: ignore[union-attr]
        _set(params, f"local_search_operators.{name}", False)
    ils = params.iterated_local_search_parameters
    ils.perturbation_strategy = 1  # RUIN_AND_RECREATE
    rr = ils.ruin_recreate_parameters
    del rr.ruin_strategies[:]
    sisr = rr.ruin_strategies.add().sisr
    sisr.max_removed_sequence_size = int(ILS_SETTINGS["sisr_max_removed_sequence_size"])  # type: ignore[arg-type]
    sisr.avg_num_removed_visits = int(ILS_SETTINGS["sisr_avg_num_removed_visits"])  # type: ignore[arg-type]
    sisr.bypass_factor = float(ILS_SETTINGS["sisr_bypass_factor"])  # type: ignore[arg-type]
    rr.recreate_strategy.heuristic = _enums.FirstSolutionStrategy.LOCAL_CHEAPEST_INSERTION
    ils.improve_perturbed_solution = True
    annealing = ils.reference_solution_acceptance_strategy.simulated_annealing
    annealing.cooling_schedule_strategy = 1  # EXPONENTIAL
    annealing.automatic_temperatures = True
    ils.best_solution_acceptance_strategy.greedy_descent.SetInParent()


class _Model:
    """A routing model built from a problem, in permuted node order (``order[k]`` = problem node)."""

    def __init__(self, problem: RoutingProblem, order: np.ndarray, vehicle_of_hint: dict[int, int], change_penalty: int):
        p = problem
        n, nv = p.n_nodes, len(p.vehicles)
        self.order = order
        self.pos = np.empty(n, dtype=np.int64)
        self.pos[order] = np.arange(n)
        starts = [int(self.pos[v.start]) for v in p.vehicles]
        ends = [int(self.pos[v.end]) for v in p.vehicles]
        self.manager = _wrap.RoutingIndexManager(n, nv, starts, ends)
        self.model = model = _wrap.RoutingModel(self.manager)
        m = self.manager
        bases = p.bases
        # Node-indexed matrices in model order.
        travel = p.travel_s if p.travel_s.ndim == 3 else p.travel_s[None]
        travel = travel[:, order][:, :, order]
        service = p.service_s[order]
        visit_cost = None if p.visit_cost is None or not p.visit_cost.any() else p.visit_cost[:, order]
        per_vehicle_cost = travel.shape[0] > 1 or (change_penalty > 0 and vehicle_of_hint) or visit_cost is not None
        from .routing import SAME_PLACE_AWAY_S

        transit = service[None, :, None] + travel  # vehicle kind × from × to, seconds
        if p.place is not None:
            # two visits of one place in a row: the team leaves and comes back, at least
            # SAME_PLACE_AWAY_S between them (never one long stay); with no other place to go
            # (a beat with one hotspot) the revisits are still made
            label = p.place[order]
            inner = np.array([int(order[k]) not in bases for k in range(n)])
            same = (label[:, None] == label[None, :]) & (label[:, None] >= 0) & inner[:, None] & inner[None, :]
            np.fill_diagonal(same, False)
            transit = np.where(same[None], service[None, :, None] + np.maximum(travel, SAME_PLACE_AWAY_S), transit)
            # and it costs what that time away would in travel: a team goes elsewhere when it can,
            # rather than waiting near the place for its next visit
            travel = np.where(same[None], np.maximum(travel, SAME_PLACE_AWAY_S), travel)
        transit_ids = []
        for k in range(travel.shape[0]):
            transit_ids.append(model.RegisterTransitMatrix(transit[k].astype(np.int64).tolist()))
        time_evaluators = [transit_ids[k if travel.shape[0] > 1 else 0] for k in range(nv)]
        if per_vehicle_cost:
            for vi in range(nv):
                cost = travel[vi if travel.shape[0] > 1 else 0].astype(np.int64).copy()
                if visit_cost is not None:
                    cost += visit_cost[vi][None, :]
                if change_penalty > 0:
                    for node, hv in vehicle_of_hint.items():
                        if hv != vi:
                            cost[:, self.pos[node]] += change_penalty
                model.SetArcCostEvaluatorOfVehicle(model.RegisterTransitMatrix(cost.tolist()), vi)
        else:
            model.SetArcCostEvaluatorOfAllVehicles(model.RegisterTransitMatrix(travel[0].astype(np.int64).tolist()))

        horizon = int(max(p.tw_end_s.max(), max(v.shift_end_s for v in p.vehicles))) + 1
        model.AddDimensionWithVehicleTransits(time_evaluators, horizon, horizon, False, "Time")
        self.time = time_dim = model.GetDimensionOrDie("Time")
        for k in range(n):
            node = int(order[k])
            if node in bases:
                continue
            index = m.NodeToIndex(k)
            time_dim.CumulVar(index).SetRange(int(p.tw_start_s[node]), int(p.tw_end_s[node]))
            if p.penalty[node] >= 0:
                model.AddDisjunction([index], int(p.penalty[node]))
            if p.allowed is not None and p.allowed[node] is not None:
                # (SetAllowedVehiclesForIndex's SWIG signature differs between releases; the
                # vehicle variable works in all: -1 = not visited, allowed for optional nodes)
                values = sorted(int(x) for x in p.allowed[node]) + ([-1] if p.penalty[node] >= 0 else [])
                model.VehicleVar(index).SetValues(values)
        solver = model.solver()
        visit = [0] * model.Size() + [0] * nv
        for index in range(model.Size()):
            visit[index] = int(service[m.IndexToNode(index)])
        self.breaks = []
        for vi, veh in enumerate(p.vehicles):
            s, e = model.Start(vi), model.End(vi)
            # Start cumul = leave the base (its window and the shift both bound it).
            lo_s = max(veh.shift_start_s, int(p.tw_start_s[veh.start]))
            hi_e = min(veh.shift_end_s, int(p.tw_end_s[veh.end]))
            time_dim.CumulVar(s).SetRange(lo_s, max(lo_s, min(veh.shift_end_s, int(p.tw_end_s[veh.start]))))
            time_dim.CumulVar(e).SetRange(min(hi_e, max(veh.shift_start_s, int(p.tw_start_s[veh.end]))), hi_e)
            if veh.max_route_s is not None:
                time_dim.SetSpanUpperBoundForVehicle(int(veh.max_route_s), vi)
            model.AddVariableMaximizedByFinalizer(time_dim.CumulVar(s))
            model.AddVariableMinimizedByFinalizer(time_dim.CumulVar(e))
            if veh.break_earliest_s is not None and veh.break_duration_s > 0:
                interval = solver.FixedDurationIntervalVar(
                    int(veh.break_earliest_s), int(veh.break_latest_s), int(veh.break_duration_s), False, f"break {vi}"
                )
                time_dim.SetBreakIntervalsOfVehicle([interval], vi, visit)
                self.breaks.append(interval)
            else:
                self.breaks.append(None)
        if p.span_cost:
            time_dim.SetGlobalSpanCostCoefficient(int(p.span_cost))
        if p.vehicle_fixed_cost:
            model.SetFixedCostOfAllVehicles(int(p.vehicle_fixed_cost))
        if p.demand is not None and p.capacity is not None:
            demand = p.demand[order].astype(np.int64).tolist()
            did = model.RegisterUnaryTransitVector(demand)
            model.AddDimensionWithVehicleCapacity(did, 0, [int(p.capacity)] * nv, True, "Capacity")

    def routes_to_indices(self, routes: list[list[int]]) -> list[list[int]]:
        return [[self.manager.NodeToIndex(int(self.pos[node])) for node in r] for r in routes]

    def read(self, solution, problem: RoutingProblem) -> tuple[list, list, list]:
        m, model, time_dim = self.manager, self.model, self.time
        routes, breaks = [], []
        for vi in range(len(problem.vehicles)):
            route = []
            index = model.Start(vi)
            while True:
                cumul = time_dim.CumulVar(index)
                node = int(self.order[m.IndexToNode(index)])
                route.append((node, int(solution.Min(cumul))))
                if model.IsEnd(index):
                    break
                index = solution.Value(model.NextVar(index))
            routes.append(route)
            interval = self.breaks[vi]
            if interval is None:
                breaks.append(None)
            else:
                intervals = solution.IntervalVarContainer()
                start = None
                for i in range(intervals.Size()):
                    element = intervals.Element(i)
                    if element.Var().Name() == interval.Name():
                        start = int(element.StartMin())
                breaks.append(start)
        dropped = []
        for index in range(model.Size()):
            if model.IsStart(index) or model.IsEnd(index):
                continue
            if solution.Value(model.NextVar(index)) == index:
                dropped.append(int(self.order[m.IndexToNode(index)]))
        return routes, breaks, sorted(dropped)


def _node_order(problem: RoutingProblem, seed: int) -> np.ndarray:
    """Seed 0: the problem's node order; else the bases first, then the other nodes shuffled."""
    n = problem.n_nodes
    if not seed:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    inner = np.array([i for i in range(n) if i not in problem.bases], dtype=np.int64)
    return np.array(sorted(problem.bases) + list(rng.permutation(inner)), dtype=np.int64)


def solve(
    problem: RoutingProblem,
    *,
    time_limit_s: float,
    seed: int,
    first_solution: str,
    metaheuristic: str,
    hint_routes: list[list[int]] | None = None,
    change_penalty: int = 0,
    gls_lambda: float | None = None,
    overrides: dict | None = None,
    solution_limit: int | None = None,
) -> RawSolution:
    """Build the model and solve it: at most ``solution_limit`` solutions (deterministic; None:
    none) and ``time_limit_s`` wall-clock seconds (the safety cap).

    ``hint_routes[v]`` lists the non-base nodes vehicle ``v`` visited in a previous plan;
    the search starts from it when it is still feasible. A portfolio gives its k-th start
    ``solution_limit // n`` solutions (the first ``solution_limit % n`` starts one more) and the
    wall time left as its cap (without a solution limit: the time left divided by the starts left).
    """
    t0 = time.perf_counter()
    vehicle_of_hint = {}
    if hint_routes is not None:
        vehicle_of_hint = {int(node): v for v, r in enumerate(hint_routes) for node in r}
    portfolio = first_solution == "portfolio"
    if first_solution == "auto":
        strategies = AUTO_FIRST_SOLUTIONS
    elif portfolio:
        strategies = PORTFOLIO_FIRST_SOLUTIONS
        if solution_limit is not None:
            per_start = PORTFOLIO_SOLUTIONS_PER_START_PER_NODE * problem.n_nodes
            starts = max(1, min(len(strategies), int(solution_limit) // per_start))
            strategies = strategies[:starts]
    elif first_solution in FIRST_SOLUTIONS:
        strategies = (first_solution,)
    else:
        raise ValueError(
            f"first_solution must be 'auto', 'portfolio' or one of {sorted(FIRST_SOLUTIONS)}, got {first_solution!r}"
        )
    if metaheuristic not in METAHEURISTICS:
        raise ValueError(f"metaheuristic must be one of {sorted(METAHEURISTICS)}, got {metaheuristic!r}")

    last = None
    best: RawSolution | None = None
    capped = False
    for i, entry in enumerate(strategies):
        remaining = time_limit_s - (time.perf_counter() - t0)
        if (last is not None or best is not None) and remaining <= 0.05:
            capped = True  # a start left out for want of wall time
            break
        # with a solution limit the work splits the search and the cap only guards the whole
        # solve, so a start may use all the wall time left (a share of it cut starts under load)
        budget = remaining / (len(strategies) - i) if portfolio and solution_limit is None else remaining
        count = solution_limit
        if portfolio and solution_limit is not None:
            count = solution_limit // len(strategies) + (i < solution_limit % len(strategies))
        # a portfolio entry "start:metaheuristic" overrides the metaheuristic for that start
        strategy, _, own = entry.partition(":")
        meta = own or metaheuristic
        # a repeated start in the portfolio gets its own node order (seed, seed + 1, …)
        run_seed = seed + [e.partition(":")[0] for e in strategies[:i]].count(strategy)
        built = _Model(problem, _node_order(problem, run_seed), vehicle_of_hint, change_penalty)
        built.model.solver().ReSeed(int(run_seed) % (2**31 - 1))
        if meta == ITERATED_LOCAL_SEARCH and hint_routes is not None:
            meta = "guided_local_search"  # iterated local search cannot start from a given plan
        params = _params(budget, strategy, meta, gls_lambda, overrides, count)
        t_run = time.perf_counter()
        solution = None
        if hint_routes is not None:
            built.model.CloseModelWithParameters(params)
            start = built.model.ReadAssignmentFromRoutes(built.routes_to_indices(hint_routes), True)
            if start is not None:
                solution = built.model.SolveFromAssignmentWithParameters(start, params)
            else:
                log.info("the hint is not feasible any more; solving from scratch")
        if solution is None and params.use_iterated_local_search:
            solution = built.model.SolveWithIteratedLocalSearch(params)
            # (this entry point leaves the model's status unset; a solution is a feasible plan)
            status = "feasible" if solution is not None else _status_name(built.model.status())
        else:
            if solution is None:
                solution = built.model.SolveWithParameters(params)
            status = _status_name(built.model.status())
        run_s = time.perf_counter() - t_run
        if run_s >= 0.97 * budget:
            capped = True
        if solution is not None:
            routes, breaks, dropped = built.read(solution, problem)
            found = int(built.model.solver().Solutions())
            log.debug("routing %s/%s: %d solutions (limit %s) in %.2f s", strategy, meta, found, count, run_s)
            if capped:
                ending = "safety_cap"
            elif count is None:
                ending = "safety_cap"  # no work limit: the wall clock decided
            elif params.use_iterated_local_search or found >= count:
                ending = "work"
            else:
                ending = "complete"  # the search ran out of improving moves (a local optimum)
            raw = RawSolution(
                routes,
                breaks,
                dropped,
                int(solution.ObjectiveValue()),
                status,
                strategy,
                meta,
                time.perf_counter() - t0,
                ending,
                found,
            )
            if not portfolio:
                return raw
            if best is None or raw.objective < best.objective:
                best = raw
            continue
        last = status
        log.info("first solution %s found no solution (%s)", strategy, status)
    if best is not None:
        ending = "safety_cap" if capped else best.stopped_by
        return dataclasses.replace(best, solve_s=time.perf_counter() - t0, stopped_by=ending)
    nv = len(problem.vehicles)
    return RawSolution(
        [[] for _ in range(nv)],
        [None] * nv,
        [],
        0,
        last or "no_solution",
        strategies[-1],
        metaheuristic,
        time.perf_counter() - t0,
        "safety_cap" if capped or solution_limit is None else "complete",
    )
