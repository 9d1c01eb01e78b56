"""Vehicle routing with time windows, shifts, breaks and optional visits (matrix level, no GIS).

The patrol planner's routing core, in the style of PyVRP: immutable problem data built
from plain numpy arrays, ``solve_routing(problem, stop=MaxWork(10) | MaxRuntime(30), seed=0)``, and a
frozen :class:`RoutingResult`. The solver is OR-Tools' routing library behind one
adapter (:mod:`geoengine.patrol._routing`); nothing here imports OR-Tools.

Units: every time is an integer number of seconds from the plan's time origin; every
cost (travel, penalties, span cost) is in the same integer units as ``travel_s``. Callers
round: ``np.rint(seconds).astype(int)``. A benchmark that needs fractional distances
scales them to integers first and divides back (see :mod:`geoengine.patrol.solomon`).

A small example (one base, two visits, one vehicle; the car leaves as late as it can)::

    >>> import numpy as np
    >>> travel = np.array([[0, 10, 20], [10, 0, 10], [20, 10, 0]])
    >>> problem = RoutingProblem.from_arrays(
    ...     travel, service_s=[0, 5, 5], tw_start_s=[0, 0, 0], tw_end_s=[1000, 15, 1000],
    ...     vehicles=[Vehicle("car 1", start=0, end=0, shift_start_s=0, shift_end_s=1000)])
    >>> result = solve_routing(problem, stop=MaxWork(1) | MaxRuntime(10))
    >>> [(s.node, s.arrive_s) for s in result.routes[0].stops], result.objective
    ([(0, 5), (1, 15), (2, 30), (0, 55)], 40)
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np

from ..stop import DEFAULT_WORK, Limits, MaxRuntime, MaxWork, as_limits, report_stop
from ..stop import Stop as StopCriterion

__all__ = [
    "DEFAULT_STOP",
    "Limits",
    "MaxRuntime",
    "MaxWork",
    "Route",
    "RoutingProblem",
    "RoutingResult",
    "Stop",
    "Vehicle",
    "solve_routing",
]

DEFAULT_STOP = Limits(work=DEFAULT_WORK, max_runtime_s=3 * DEFAULT_WORK)
"""``solve_routing``'s default: :data:`~geoengine.stop.DEFAULT_WORK` work units
(``ROUTING_SOLUTIONS_PER_UNIT`` solutions each) with a wall-clock safety cap three times that."""


SAME_PLACE_AWAY_S = 15 * 60
"""Between two visits of one place in a row a team is away (patrolling its beat) at least this
long: revisits are made even when a beat holds one hotspot, never as one long stay."""


@dataclass(frozen=True)
class Vehicle:
    """A patrol team: where it starts and ends, its shift, and one optional meal break.

    The break lasts ``break_duration_s`` and starts at some time in
    ``[break_earliest_s, break_latest_s]``; it may not interrupt a visit's dwell, but may
    fall during travel or waiting. ``max_route_s`` caps the time from leaving the start
    base to returning to the end base.
    """

    name: str
    start: int
    end: int
    shift_start_s: int
    shift_end_s: int
    break_earliest_s: int | None = None
    break_latest_s: int | None = None
    break_duration_s: int = 0
    max_route_s: int | None = None


def _int_array(name: str, value: Any, problems: list[str], ndim: tuple[int, ...]) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim not in ndim:
        problems.append(f"{name}: expected {' or '.join(f'{d}-d' for d in ndim)}, got shape {arr.shape}")
        return np.zeros((0,) * ndim[0], dtype=np.int64)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):
            problems.append(f"{name}: holds NaN or infinite values")
            return np.zeros(arr.shape, dtype=np.int64)
        if not np.array_equal(arr, np.rint(arr)):
            problems.append(f"{name}: must hold whole numbers (round seconds first: np.rint(x).astype(int))")
        arr = np.rint(arr)
    elif arr.dtype.kind not in "iub":
        problems.append(f"{name}: must be integers, got dtype {arr.dtype}")
        return np.zeros(arr.shape, dtype=np.int64)
    return arr.astype(np.int64)


@dataclass(frozen=True, eq=False)
class RoutingProblem:
    """Immutable routing data; build it with :meth:`from_arrays` (which validates).

    Attributes
    ----------
    travel_s
        ``(n, n)`` integer travel seconds between nodes (asymmetric allowed), or
        ``(v, n, n)`` when vehicles travel at different speeds (car, foot, e-bike).
    service_s
        ``(n,)`` dwell at each node (0 at bases).
    tw_start_s, tw_end_s
        ``(n,)`` window in which service at each node must start.
    vehicles
        The teams; their ``start``/``end`` nodes are the bases.
    penalty
        ``(n,)`` cost of not visiting a node (same units as travel); ``-1`` = mandatory.
        Ignored at bases.
    allowed
        Per node, the vehicle indices allowed to visit it (beats), ``None`` = any.
    span_cost
        Global span cost coefficient on time (latest return − earliest departure over
        all teams, times this): balances workload.
    distance
        Optional ``(n, n)`` metres, for reporting only.
    demand, capacity
        Optional load per node and per vehicle (a capacity dimension), for VRPTW benchmarks.
    visit_cost
        Optional ``(v, n)`` extra cost for vehicle ``v`` serving node ``n`` (e.g. a team
        patrolling outside its own beats), same units as travel; 0 = none.
    place
        Optional ``(n,)`` place label per node (``-1`` = none): two nodes with the same
        label ≥ 0 may not follow each other directly (a revisit of a hotspot is a return
        after going elsewhere, not a longer stay).
    vehicle_fixed_cost
        Cost of using a vehicle at all (same units as travel; 0 = none, the patrol planner's
        setting: a given fleet whose idle teams stay home for free). Where vehicles cost
        (a VRPTW fleet), a fixed cost makes the search minimise the fleet first.
    """

    travel_s: np.ndarray
    service_s: np.ndarray
    tw_start_s: np.ndarray
    tw_end_s: np.ndarray
    vehicles: tuple[Vehicle, ...]
    penalty: np.ndarray
    allowed: tuple[frozenset[int] | None, ...] | None = None
    span_cost: int = 0
    distance: np.ndarray | None = None
    demand: np.ndarray | None = None
    capacity: int | None = None
    name: str = ""
    visit_cost: np.ndarray | None = None
    place: np.ndarray | None = None
    vehicle_fixed_cost: int = 0

    @property
    def n_nodes(self) -> int:
        return int(self.service_s.shape[0])

    @cached_property
    def bases(self) -> frozenset[int]:
        """Nodes that are some vehicle's start or end."""
        return frozenset(v.start for v in self.vehicles) | frozenset(v.end for v in self.vehicles)

    def subset(self, keep: Sequence[int]) -> RoutingProblem:
        """The same problem on the nodes ``keep`` (in that order; every base must be kept):
        node ``i`` of the new problem is node ``keep[i]`` of this one."""
        keep = np.asarray(keep, dtype=np.int64)
        pos = {int(n): i for i, n in enumerate(keep)}
        missing = sorted(b for b in self.bases if b not in pos)
        if missing:
            raise ValueError(f"subset: bases {missing} must be kept")
        vehicles = tuple(replace(v, start=pos[v.start], end=pos[v.end]) for v in self.vehicles)
        travel = self.travel_s[:, keep][:, :, keep] if self.travel_s.ndim == 3 else self.travel_s[np.ix_(keep, keep)]
        return RoutingProblem.from_arrays(
            travel,
            service_s=self.service_s[keep],
            tw_start_s=self.tw_start_s[keep],
            tw_end_s=self.tw_end_s[keep],
            vehicles=vehicles,
            penalty=self.penalty[keep],
            allowed=None if self.allowed is None else [self.allowed[int(n)] for n in keep],
            span_cost=self.span_cost,
            distance=None if self.distance is None else self.distance[np.ix_(keep, keep)],
            demand=None if self.demand is None else self.demand[keep],
            capacity=self.capacity,
            name=self.name,
            visit_cost=None if self.visit_cost is None else self.visit_cost[:, keep],
            place=None if self.place is None else self.place[keep],
            vehicle_fixed_cost=self.vehicle_fixed_cost,
        )

    def travel_of(self, vehicle: int) -> np.ndarray:
        """The ``(n, n)`` travel matrix of one vehicle."""
        return self.travel_s[vehicle] if self.travel_s.ndim == 3 else self.travel_s

    @classmethod
    def from_arrays(
        cls,
        travel_s: Any,
        *,
        service_s: Any,
        tw_start_s: Any,
        tw_end_s: Any,
        vehicles: Sequence[Vehicle],
        penalty: Any = None,
        allowed: Sequence[Any] | None = None,
        span_cost: int = 0,
        distance: Any = None,
        demand: Any = None,
        capacity: int | None = None,
        name: str = "",
        visit_cost: Any = None,
        place: Any = None,
        vehicle_fixed_cost: int = 0,
    ) -> RoutingProblem:
        """Validate plain arrays and build the problem; raise ``ValueError`` listing every problem.

        Times must be whole numbers of seconds (floats holding whole numbers are accepted;
        callers round). ``penalty=None`` makes every visit mandatory.
        """
        problems: list[str] = []
        travel = _int_array("travel_s", travel_s, problems, (2, 3))
        n = travel.shape[-1] if travel.ndim >= 2 else 0
        vehicles = tuple(vehicles)
        if travel.ndim >= 2 and travel.shape[-2] != n:
            problems.append(f"travel_s: must be square, got shape {travel.shape}")
        if travel.ndim == 3 and travel.shape[0] != len(vehicles):
            problems.append(f"travel_s: a (v, n, n) matrix needs v = {len(vehicles)} vehicles, got {travel.shape[0]}")
        if travel.size and travel.min() < 0:
            problems.append("travel_s: negative travel times")

        def vector(label: str, value: Any) -> np.ndarray:
            arr = _int_array(label, value, problems, (1,))
            if arr.shape != (n,):
                problems.append(f"{label}: expected shape ({n},), got {arr.shape}")
            return arr

        service = vector("service_s", service_s)
        tw_start = vector("tw_start_s", tw_start_s)
        tw_end = vector("tw_end_s", tw_end_s)
        pen = vector("penalty", np.full(n, -1) if penalty is None else penalty)
        if service.shape == (n,) and service.size and service.min() < 0:
            problems.append("service_s: negative dwell times")
        if tw_start.shape == tw_end.shape == (n,):
            bad = np.flatnonzero(tw_start > tw_end)
            if bad.size:
                problems.append(f"time windows: start > end at nodes {bad[:10].tolist()}{' …' if bad.size > 10 else ''}")
        if pen.shape == (n,):
            bad = np.flatnonzero(pen < -1)
            if bad.size:
                problems.append(f"penalty: must be ≥ 0 or -1 (mandatory), got {pen[bad[0]]} at node {bad[0]}")
        if not vehicles:
            problems.append("vehicles: at least one vehicle is needed")
        for i, v in enumerate(vehicles):
            where = f"vehicles[{i}] ({v.name})"
            for attr in ("start", "end"):
                node = getattr(v, attr)
                if not (isinstance(node, (int, np.integer)) and 0 <= node < n):
                    problems.append(f"{where}: {attr} must be a node index in [0, {n}), got {node!r}")
            if v.shift_start_s > v.shift_end_s:
                problems.append(f"{where}: shift_start_s > shift_end_s")
            if (v.break_earliest_s is None) != (v.break_latest_s is None):
                problems.append(f"{where}: give both break_earliest_s and break_latest_s, or neither")
            elif v.break_earliest_s is not None:
                if v.break_earliest_s > v.break_latest_s:
                    problems.append(f"{where}: break_earliest_s > break_latest_s")
                if v.break_duration_s <= 0:
                    problems.append(f"{where}: a break needs break_duration_s > 0")
            if v.max_route_s is not None and v.max_route_s < 0:
                problems.append(f"{where}: max_route_s must be ≥ 0")
        if allowed is not None:
            allowed = tuple(None if a is None else frozenset(int(x) for x in a) for a in allowed)
            if len(allowed) != n:
                problems.append(f"allowed: expected {n} entries, got {len(allowed)}")
            for node, a in enumerate(allowed):
                if a is not None and (not a or min(a) < 0 or max(a) >= len(vehicles)):
                    problems.append(f"allowed[{node}]: vehicle indices must be in [0, {len(vehicles)}) and not empty")
        dist = None
        if distance is not None:
            dist = np.asarray(distance, dtype=float)
            if dist.shape != (n, n):
                problems.append(f"distance: expected shape ({n}, {n}), got {dist.shape}")
        dem = None
        if (demand is None) != (capacity is None):
            problems.append("demand and capacity: give both or neither")
        elif demand is not None:
            dem = vector("demand", demand)
            if capacity < 0:
                problems.append("capacity: must be ≥ 0")
        if int(span_cost) < 0:
            problems.append("span_cost: must be ≥ 0")
        if int(vehicle_fixed_cost) < 0:
            problems.append("vehicle_fixed_cost: must be ≥ 0")
        vcost = None
        if visit_cost is not None:
            vcost = _int_array("visit_cost", visit_cost, problems, (2,))
            if vcost.shape != (len(vehicles), n):
                problems.append(f"visit_cost: expected shape ({len(vehicles)}, {n}), got {vcost.shape}")
            elif vcost.size and vcost.min() < 0:
                problems.append("visit_cost: must be ≥ 0")
        place_arr = None
        if place is not None:
            place_arr = vector("place", place)
        if vehicles and n:
            bases = {v.start for v in vehicles} | {v.end for v in vehicles}
            if service.shape == (n,):
                busy = [b for b in sorted(bases) if 0 <= b < n and service[b] != 0]
                if busy:
                    problems.append(f"service_s: bases {busy} must have 0 dwell")
        if problems:
            raise ValueError(f"invalid routing problem ({len(problems)} problems):\n  - " + "\n  - ".join(problems))
        return cls(
            travel,
            service,
            tw_start,
            tw_end,
            vehicles,
            pen,
            allowed,
            int(span_cost),
            dist,
            dem,
            None if capacity is None else int(capacity),
            name,
            vcost,
            place_arr,
            int(vehicle_fixed_cost),
        )


@dataclass(frozen=True)
class Stop:
    """One visit: ``arrive_s`` is the start of service (the team may have waited before it)."""

    node: int
    arrive_s: int
    depart_s: int


@dataclass(frozen=True)
class Route:
    """One vehicle's route, from its start base to its end base (both included in ``stops``)."""

    vehicle: int
    stops: tuple[Stop, ...]
    travel_s: int
    distance_m: float | None
    break_start_s: int | None

    @property
    def visits(self) -> tuple[int, ...]:
        """The visited nodes, bases excluded."""
        return tuple(s.node for s in self.stops[1:-1])

    @property
    def used(self) -> bool:
        return len(self.stops) > 2

    @property
    def duration_s(self) -> int:
        return self.stops[-1].arrive_s - self.stops[0].depart_s if self.stops else 0


@dataclass(frozen=True, eq=False)
class RoutingResult:
    """A routing plan. Routing search proves no bound: ``bound`` and ``gap`` are always ``None``.

    ``objective`` is the solver's integer objective: travel + drop penalties + span cost
    (+ change penalties when re-planning). ``status``: ``"feasible"`` (a plan found when the
    time limit stopped the search), ``"optimal"`` (the search space was exhausted),
    ``"no_solution"``, ``"timeout"`` (no plan within the limit), ``"infeasible"``, ``"invalid"``.
    ``changed_stops``: with a hint, how many non-base nodes changed vehicle (or changed
    between served and dropped) relative to it; ``None`` without a hint.
    """

    routes: tuple[Route, ...]
    dropped: tuple[int, ...]
    objective: int
    status: str
    solve_s: float
    first_solution: str
    metaheuristic: str
    seed: int = 0
    changed_stops: int | None = None
    bound: None = None
    gap: None = None
    stopped_by: str = "work"
    """"work" (the solution limit), "complete" (no improving move left) or "safety_cap" (the wall clock)."""

    def is_feasible(self) -> bool:
        return self.status in ("optimal", "feasible")

    @property
    def travel_s(self) -> int:
        return sum(r.travel_s for r in self.routes)

    @property
    def distance_m(self) -> float | None:
        if not self.is_feasible() or any(r.distance_m is None for r in self.routes):
            return None
        return float(sum(r.distance_m for r in self.routes))  # type: ignore[misc]

    @property
    def n_vehicles_used(self) -> int:
        return sum(r.used for r in self.routes)

    def vehicle_of(self) -> dict[int, int]:
        """Map visited node → vehicle index."""
        return {node: r.vehicle for r in self.routes for node in r.visits}

    def summary(self) -> str:
        lines = [
            f"routing: {self.status}, objective {self.objective}, {self.n_vehicles_used} of {len(self.routes)} vehicles, "
            f"{sum(len(r.visits) for r in self.routes)} visits, {len(self.dropped)} dropped, "
            f"travel {self.travel_s} s" + (f", distance {self.distance_m:.1f} m" if self.distance_m is not None else ""),
            f"  solved in {self.solve_s:.1f} s (first solution {self.first_solution}, {self.metaheuristic}, seed {self.seed}, "
            f"stopped by {self.stopped_by.replace('_', ' ')});"
            " no bound: routing search proves none, so the gap is unknown",
        ]
        if self.changed_stops is not None:
            lines.append(f"  re-plan: {self.changed_stops} stops changed vehicle since the previous plan")
        if self.dropped:
            lines.append(f"  dropped nodes: {list(self.dropped)}")
        for r in self.routes:
            if r.used:
                brk = f", break at {r.break_start_s} s" if r.break_start_s is not None else ""
                lines.append(f"  vehicle {r.vehicle}: {' → '.join(str(s.node) for s in r.stops)} ({r.travel_s} s{brk})")
        return "\n".join(lines)

    def time_window_violations(self, problem: RoutingProblem) -> int:
        """Count broken time rules: windows, travel between stops, shifts, breaks, route length."""
        bad = 0
        for r in self.routes:
            veh = problem.vehicles[r.vehicle]
            travel = problem.travel_of(r.vehicle)
            stops = r.stops
            if not stops:
                continue
            for i, s in enumerate(stops):
                if not problem.tw_start_s[s.node] <= s.arrive_s <= problem.tw_end_s[s.node] and 0 < i < len(stops) - 1:
                    bad += 1
                if s.depart_s != s.arrive_s + int(problem.service_s[s.node]):
                    bad += 1
                if i and s.arrive_s < stops[i - 1].depart_s + int(travel[stops[i - 1].node, s.node]):
                    bad += 1
            if stops[0].depart_s < veh.shift_start_s or stops[-1].arrive_s > veh.shift_end_s:
                bad += 1
            if veh.max_route_s is not None and r.duration_s > veh.max_route_s:
                bad += 1
            if r.break_start_s is not None:
                if not veh.break_earliest_s <= r.break_start_s <= veh.break_latest_s:
                    bad += 1
                b0, b1 = r.break_start_s, r.break_start_s + veh.break_duration_s
                if any(s.arrive_s < b1 and b0 < s.depart_s for s in stops[1:-1]):
                    bad += 1
        return bad


def _changed(hint: RoutingResult, result: RoutingResult) -> int:
    before, after = hint.vehicle_of(), result.vehicle_of()
    nodes = set(before) | set(after)
    return sum(before.get(node) != after.get(node) for node in nodes)


def solve_routing(
    problem: RoutingProblem,
    *,
    stop: StopCriterion = DEFAULT_STOP,
    seed: int = 0,
    first_solution: str = "auto",
    metaheuristic: str = "guided_local_search",
    hint: RoutingResult | None = None,
    change_penalty: int = 0,
    gls_lambda: float | None = None,
    search_params: dict[str, Any] | None = None,
) -> RoutingResult:
    """Solve ``problem`` under ``stop``; always returns a result (check ``status``).

    Parameters
    ----------
    stop
        A :mod:`geoengine.stop` criterion. Its work becomes OR-Tools' ``solution_limit``
        (``ROUTING_SOLUTIONS_PER_UNIT`` per unit): the same problem, seed and work give the same
        plan on any machine; ``max_runtime_s`` is the safety cap (``stopped_by`` says which
        ended the search). A bare ``MaxRuntime`` stops on the wall clock only (not reproducible).
    first_solution
        ``"auto"`` tries parallel cheapest insertion, then local cheapest insertion, path
        cheapest arc and savings until one finds a plan; ``"portfolio"`` splits the work
        (solution count; the cap likewise) between several starts (a repeated start gets another node order) and keeps
        the best plan; or any OR-Tools ``FirstSolutionStrategy`` name in lower case
        (``"path_cheapest_arc"``, …).
    metaheuristic
        An OR-Tools ``LocalSearchMetaheuristic`` name in lower case, or
        ``"iterated_local_search"``: OR-Tools' ruin-and-recreate iterated local search (SISR
        ruin, simulated-annealing acceptance; the Solomon bench's setting). Re-planning from
        a ``hint`` always uses guided local search (iterated local search cannot start from
        a given plan); ``RoutingResult.metaheuristic`` says which ran.
    seed
        0 = the problem's node order; other seeds shuffle the node order in the model
        deterministically (OR-Tools routing has no seed parameter), giving a different,
        equally valid plan: use several seeds for unpredictable patrols.
    hint, change_penalty
        Re-planning: start from a previous plan (on the same vehicles and nodes) when it is
        still feasible; each node served by another vehicle than in ``hint`` costs
        ``change_penalty``. ``changed_stops`` counts the nodes that moved.
    gls_lambda
        Guided local search's lambda coefficient (OR-Tools' default 0.1 when ``None``).
    search_params
        Expert settings: OR-Tools ``RoutingSearchParameters`` fields by dotted path, e.g.
        ``{"local_search_operators.use_cross_exchange": True}`` (booleans map to
        OR-Tools' OptionalBoolean). Applied over the tuned defaults.
    """
    from . import _routing

    limits = as_limits(stop)
    if change_penalty < 0:
        raise ValueError("change_penalty must be ≥ 0")
    hint_routes = None
    if hint is not None:
        if len(hint.routes) != len(problem.vehicles):
            raise ValueError(f"hint has {len(hint.routes)} routes but the problem has {len(problem.vehicles)} vehicles")
        n = problem.n_nodes
        hint_routes = [[node for node in r.visits if node < n and node not in problem.bases] for r in hint.routes]
    t0 = time.perf_counter()
    raw = _routing.solve(
        problem,
        time_limit_s=limits.cap_s,
        seed=seed,
        first_solution=first_solution,
        metaheuristic=metaheuristic,
        hint_routes=hint_routes,
        change_penalty=change_penalty if hint is not None else 0,
        gls_lambda=gls_lambda,
        overrides=search_params,
        solution_limit=limits.routing_solutions(),
    )
    report_stop("routing", raw.stopped_by, limits, raw.solve_s, problem.name)  # type: ignore[arg-type]
    routes = []
    for v, (raw_route, brk) in enumerate(zip(raw.routes, raw.breaks)):
        travel = problem.travel_of(v)
        stops = tuple(Stop(node, t, t + int(problem.service_s[node])) for node, t in raw_route)
        nodes = [s.node for s in stops]
        travel_total = int(sum(int(travel[a, b]) for a, b in zip(nodes, nodes[1:])))
        dist = None
        if problem.distance is not None:
            dist = float(sum(problem.distance[a, b] for a, b in zip(nodes, nodes[1:])))
        routes.append(Route(v, stops, travel_total, dist, brk))
    result = RoutingResult(
        tuple(routes),
        tuple(raw.dropped),
        raw.objective,
        raw.status,
        time.perf_counter() - t0,
        raw.first_solution,
        raw.metaheuristic,
        seed,
        stopped_by=raw.stopped_by,
    )
    if hint is not None:
        result = replace(result, changed_stops=_changed(hint, result))
    return result
