"""After routing: fill idle team time, find the true cause of every drop, bound what any plan could reach.

Matrix level (a :class:`~geoengine.patrol.routing.RoutingProblem` and its
:class:`~geoengine.patrol.routing.RoutingResult`, no GIS), so each rule is tested on tiny
hand-built problems.

* :func:`insert_dropped` — a dropped visit that fits into the idle time of a team allowed to
  make it, without moving any other stop (reachable from the stop before in time, its dwell
  done, the stop after still reached in time, inside the shift, not during the break), is
  inserted, riskiest first (the caller records a beat crossing). Then a dropped visit may take the
  place of a *less* valuable visit of a team that could make it (a swap), so "team time used
  by riskier visits" is true when it is said.
* :func:`drop_causes` — the cause that holds for each visit still dropped, by counterfactual:
  ``no_team_on_shift`` (no team is on shift and off its break for a whole dwell inside the
  visit's arrival window), ``unreachable`` (teams are on shift but none can get there from its
  base in time and back by the shift's end), ``no_team_allocated`` (teams could, but none may
  patrol its beat: ``cross_beat: never``), ``time_used`` (teams could, but inserting the visit
  into any of their timetables would need moving other visits; those visits are named).
* :func:`capacity_bound` — per window, the team-minutes available, the minutes the targets
  ask for, and an upper bound on the share of hotspots whose dosage any plan could meet.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .routing import SAME_PLACE_AWAY_S, Route, RoutingProblem, RoutingResult, Stop

__all__ = ["Insertion", "capacity_bound", "drop_causes", "find_insertion", "insert_dropped"]


@dataclass(frozen=True)
class Insertion:
    """Where a visit fits into a route: before ``stops[position]``, arriving at ``arrive_s``."""

    vehicle: int
    position: int
    arrive_s: int
    added_travel_s: int


def _place(problem: RoutingProblem, node: int) -> int:
    return -1 if problem.place is None else int(problem.place[node])


def _break(problem: RoutingProblem, route: Route) -> tuple[int, int] | None:
    veh = problem.vehicles[route.vehicle]
    if route.break_start_s is None or veh.break_duration_s <= 0:
        return None
    return int(route.break_start_s), int(route.break_start_s) + int(veh.break_duration_s)


def find_insertion(problem: RoutingProblem, route: Route, node: int) -> Insertion | None:
    """The cheapest way to add ``node`` to ``route`` without moving its other stops (or ``None``).

    Between stops ``a`` and ``b`` the team is free from ``a``'s departure (its shift start
    when ``a`` is the start base) to ``b``'s arrival (its shift end when ``b`` is the end
    base). When the route's break lies in that gap the visit goes before or after it.
    """
    veh = problem.vehicles[route.vehicle]
    travel = problem.travel_of(route.vehicle)
    svc = int(problem.service_s[node])
    lo_tw, hi_tw = int(problem.tw_start_s[node]), int(problem.tw_end_s[node])
    me = _place(problem, node)
    stops = route.stops
    if len(stops) < 2:
        return None
    brk = _break(problem, route)
    best: Insertion | None = None
    for i in range(len(stops) - 1):
        a, b = stops[i], stops[i + 1]
        free_lo = int(veh.shift_start_s) if i == 0 else int(a.depart_s)
        free_hi = int(veh.shift_end_s) if i + 1 == len(stops) - 1 else int(b.arrive_s)
        t_an, t_nb = int(travel[a.node, node]), int(travel[node, b.node])
        # next to a visit of the same place the team is away in between (routing's rule)
        if me >= 0 and _place(problem, a.node) == me:
            t_an = max(t_an, SAME_PLACE_AWAY_S)
        if me >= 0 and _place(problem, b.node) == me:
            t_nb = max(t_nb, SAME_PLACE_AWAY_S)
        options = []
        if brk is not None and brk[0] < free_hi and brk[1] > free_lo:
            bs, be = brk
            t = max(lo_tw, free_lo + t_an)  # visit, then break (at the hotspot), then on
            if t + svc <= bs and be + t_nb <= free_hi:
                options.append(t)
            if bs >= free_lo:  # break first (where the team is), then the visit
                t = max(lo_tw, be + t_an)
                if t + svc + t_nb <= free_hi:
                    options.append(t)
        else:
            t = max(lo_tw, free_lo + t_an)
            if t + svc + t_nb <= free_hi:
                options.append(t)
        for t in options:
            if t > hi_tw:
                continue
            added = int(travel[a.node, node]) + int(travel[node, b.node]) - int(travel[a.node, b.node])
            if best is None or added < best.added_travel_s:
                best = Insertion(route.vehicle, i + 1, int(t), int(added))
    return best


def _with_stop(problem: RoutingProblem, route: Route, node: int, ins: Insertion) -> Route:
    travel = problem.travel_of(route.vehicle)
    svc = int(problem.service_s[node])
    stops = list(route.stops)
    new = Stop(node, ins.arrive_s, ins.arrive_s + svc)
    stops.insert(ins.position, new)
    first, last = stops[0], stops[-1]
    if ins.position == 1:  # leave the base in time to get there
        dep = min(first.depart_s, ins.arrive_s - int(travel[first.node, node]))
        stops[0] = Stop(first.node, dep, dep)
    if ins.position == len(stops) - 2:  # come back after it
        arr = max(last.arrive_s, new.depart_s + int(travel[node, last.node]))
        stops[-1] = Stop(last.node, arr, arr)
    return _retotal(problem, replace(route, stops=tuple(stops)))


def _without_stop(problem: RoutingProblem, route: Route, position: int) -> Route:
    stops = list(route.stops)
    del stops[position]
    return _retotal(problem, replace(route, stops=tuple(stops)))


def _retotal(problem: RoutingProblem, route: Route) -> Route:
    travel = problem.travel_of(route.vehicle)
    nodes = [s.node for s in route.stops]
    total = int(sum(int(travel[a, b]) for a, b in zip(nodes, nodes[1:])))
    dist = None
    if problem.distance is not None:
        dist = float(sum(problem.distance[a, b] for a, b in zip(nodes, nodes[1:])))
    return replace(route, travel_s=total, distance_m=dist)


def insert_dropped(
    problem: RoutingProblem, result: RoutingResult, *, swaps: bool = True
) -> tuple[RoutingResult, list[tuple[int, int]]]:
    """Insert dropped visits into idle team time, most valuable (highest penalty) first; then
    let a dropped visit replace a less valuable one (which is re-inserted elsewhere if it fits).

    Returns the new result and ``(node, vehicle)`` for every visit placed; a node goes only to
    the vehicles ``problem.allowed`` lets serve it.
    """
    if not result.is_feasible() or not result.dropped:
        return result, []
    routes = list(result.routes)
    dropped = sorted(result.dropped, key=lambda n: (-int(problem.penalty[n]), n))
    placed: list[tuple[int, int]] = []

    def may(vehicle: int, node: int) -> bool:
        allowed = None if problem.allowed is None else problem.allowed[node]
        return allowed is None or vehicle in allowed

    def place_one(node: int) -> bool:
        best = None
        for r in routes:
            if not may(r.vehicle, node):
                continue
            ins = find_insertion(problem, r, node)
            if ins is not None and (best is None or (ins.added_travel_s, ins.vehicle) < (best.added_travel_s, best.vehicle)):
                best = ins
        if best is None:
            return False
        routes[best.vehicle] = _with_stop(problem, routes[best.vehicle], node, best)
        placed.append((node, best.vehicle))
        return True

    still = [n for n in dropped if not place_one(n)]
    if swaps:
        changed = True
        rounds = 0
        while changed and rounds < 3:
            changed, rounds = False, rounds + 1
            for node in list(still):
                pen = int(problem.penalty[node])
                done = False
                for r in list(routes):
                    if not may(r.vehicle, node):
                        continue
                    for pos in range(1, len(r.stops) - 1):
                        other = r.stops[pos].node
                        if int(problem.penalty[other]) >= pen:
                            continue
                        trial = _without_stop(problem, r, pos)
                        ins = find_insertion(problem, trial, node)
                        if ins is None:
                            continue
                        routes[r.vehicle] = _with_stop(problem, trial, node, ins)
                        placed.append((node, r.vehicle))
                        placed[:] = [p for p in placed if p[0] != other]
                        still.remove(node)
                        if not place_one(other):
                            still.append(other)
                        done = changed = True
                        break
                    if done:
                        break
        # a swap can open a gap for a visit tried before it: try the rest again until none fits
        while still:
            left = [n for n in sorted(still, key=lambda n: (-int(problem.penalty[n]), n)) if not place_one(n)]
            if len(left) == len(still):
                break
            still = left
    served = {s.node for r in routes for s in r.stops[1:-1]}
    new_dropped = tuple(sorted(n for n in set(result.dropped) | set(still) if n not in served))
    moved = {n for n, _ in placed if n in served}
    if not moved and new_dropped == tuple(sorted(result.dropped)):
        return result, []
    extra = sum(int(problem.penalty[n]) for n in new_dropped) - sum(int(problem.penalty[n]) for n in result.dropped)
    extra += sum(r.travel_s for r in routes) - sum(r.travel_s for r in result.routes)
    return replace(result, routes=tuple(routes), dropped=new_dropped, objective=int(result.objective + extra)), [
        (n, v) for n, v in placed if n in served
    ]


def _on_shift(problem: RoutingProblem, route: Route, node: int) -> bool:
    veh = problem.vehicles[route.vehicle]
    svc = int(problem.service_s[node])
    lo = max(int(problem.tw_start_s[node]), int(veh.shift_start_s))
    hi = min(int(problem.tw_end_s[node]), int(veh.shift_end_s) - svc)
    if hi < lo:
        return False
    brk = _break(problem, route)
    if brk is None:
        return True
    bs, be = brk
    # some start t in [lo, hi] with [t, t + svc] clear of [bs, be]
    return lo + svc <= bs or max(lo, be) <= hi


def _reachable(problem: RoutingProblem, route: Route, node: int) -> bool:
    veh = problem.vehicles[route.vehicle]
    travel = problem.travel_of(route.vehicle)
    svc = int(problem.service_s[node])
    t = max(int(problem.tw_start_s[node]), int(veh.shift_start_s) + int(travel[veh.start, node]))
    return t <= int(problem.tw_end_s[node]) and t + svc + int(travel[node, veh.end]) <= int(veh.shift_end_s)


def drop_causes(problem: RoutingProblem, result: RoutingResult) -> dict[int, tuple[str, list[tuple[int, int]]]]:
    """For each dropped node: ``(cause, busy)``; ``busy`` lists ``(vehicle, node)`` of the visits that
    occupy the teams able to make it during its arrival window (for ``time_used``)."""
    out: dict[int, tuple[str, list[tuple[int, int]]]] = {}
    for node in result.dropped:
        on = [r for r in result.routes if _on_shift(problem, r, node)]
        if not on:
            out[node] = ("no_team_on_shift", [])
            continue
        able = [r for r in on if _reachable(problem, r, node)]
        if not able:
            out[node] = ("unreachable", [])
            continue
        allowed = None if problem.allowed is None else problem.allowed[node]
        mine = [r for r in able if allowed is None or r.vehicle in allowed]
        if not mine:
            out[node] = ("no_team_allocated", [])
            continue
        able = mine
        lo = int(problem.tw_start_s[node])
        hi = int(problem.tw_end_s[node]) + int(problem.service_s[node])
        busy = [(r.vehicle, s.node) for r in able for s in r.stops[1:-1] if s.arrive_s < hi and s.depart_s > lo]
        out[node] = ("time_used", busy)
    return out


def _break_overlap(v, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """For each interval ``[lo, hi]``: the part of the vehicle's break that lies in it wherever the break is placed."""
    if v.break_earliest_s is None or v.break_duration_s <= 0:
        return np.zeros_like(lo, dtype=float)
    length = float(v.break_duration_s)

    def overlap(start: float) -> np.ndarray:
        return np.clip(np.minimum(hi, start + length) - np.maximum(lo, start), 0.0, None)

    # the overlap is a trapezoid in the break's start: its least value is at an end of the range
    return np.minimum(overlap(float(v.break_earliest_s)), overlap(float(v.break_latest_s)))


def capacity_bound(problem: RoutingProblem, place_of_node: np.ndarray, targets: list[int]) -> dict[str, float | int | None]:
    """Team-minutes available, minutes asked for, and the most of ``targets`` (places) any plan could serve fully.

    A place is met only when all its visits are made. Each visit ``v`` is a dwell ``d`` that
    starts in its arrival window ``[a, b]``, so it lies inside ``[a, b + d]``, and the team needs
    at least ``t`` (the quickest way in from another target place or a base, by the fastest
    team) to get there from its previous target stop. For every interval ``I`` between an arrival-window start and a
    dwell end: the visits confined to ``I`` need ``Σ (d + t)`` minus one way in per team, which
    cannot exceed the team time in ``I`` (shifts, less the part of each break that falls in
    ``I`` wherever it is placed). The most places whose visits satisfy every such interval is
    a small 0-1 program, solved exactly (HiGHS through SciPy); its optimum bounds any plan.
    Visits no team can reach in time make their place impossible.
    """
    n_b = len(problem.bases)
    travel = problem.travel_s if problem.travel_s.ndim == 3 else problem.travel_s[None]
    fastest = travel.min(axis=0).astype(float)
    vehicles = problem.vehicles
    team_s = sum(
        max(0, v.shift_end_s - v.shift_start_s - (v.break_duration_s if v.break_earliest_s is not None else 0)) for v in vehicles
    )
    nodes = np.arange(n_b, problem.n_nodes)
    out: dict[str, float | int | None] = {
        "team_min": round(team_s / 60.0, 1),
        "demand_min": 0.0,
        "targets": len(targets),
        "targets_possible": 0,
        "dosage_bound": None,
    }
    if not len(nodes) or not targets:
        return out
    a = problem.tw_start_s[nodes].astype(float)
    b = problem.tw_end_s[nodes].astype(float)
    d = problem.service_s[nodes].astype(float)
    places = place_of_node[nodes]
    # the quickest way in from another target place or a base: stops at other places in between
    # only add time (shortest paths obey the triangle inequality)
    counted = np.isin(place_of_node, list(targets)) | (np.arange(problem.n_nodes) < n_b)
    t_in = np.empty(len(nodes))
    for k, node in enumerate(nodes):
        other = np.flatnonzero(counted & (place_of_node != place_of_node[node]))
        t_in[k] = fastest[other, node].min() if len(other) else 0.0
    out["demand_min"] = round(float((d + t_in).sum()) / 60.0, 1)
    reach = np.zeros(len(nodes), dtype=bool)
    for k, v in enumerate(vehicles):
        tk = travel[k if travel.shape[0] > 1 else 0]
        arrive = np.maximum(a, v.shift_start_s + tk[v.start, nodes])
        reach |= (arrive <= b) & (arrive + d + tk[nodes, v.end] <= v.shift_end_s)
    col = {p: j for j, p in enumerate(targets)}
    is_target = np.array([p in col for p in places])
    possible = np.ones(len(targets), dtype=bool)
    for p in set(places[is_target & ~reach]):
        possible[col[p]] = False
    # intervals between an arrival-window start and a dwell end
    starts, ends = np.unique(a[is_target]), np.unique((b + d)[is_target])
    lo, hi = np.meshgrid(starts, ends, indexing="ij")
    keep = hi > lo
    lo, hi = lo[keep], hi[keep]
    if len(lo) > 40000:  # keep the bound cheap on very large windows (fewer intervals: still valid)
        pick = np.linspace(0, len(lo) - 1, 40000).astype(int)
        lo, hi = lo[pick], hi[pick]
    cap = np.zeros(len(lo))
    for v in vehicles:
        cap += np.clip(np.minimum(hi, v.shift_end_s) - np.maximum(lo, v.shift_start_s), 0.0, None)
        cap -= np.minimum(
            _break_overlap(v, lo, hi), np.clip(np.minimum(hi, v.shift_end_s) - np.maximum(lo, v.shift_start_s), 0.0, None)
        )
    cap += len(vehicles) * float(t_in.max())  # each team's first way in may lie before I
    sel = np.flatnonzero(is_target)
    work = np.zeros((len(lo), len(targets)))
    inside = (a[sel][None, :] >= lo[:, None]) & ((b + d)[sel][None, :] <= hi[:, None])
    cost = (d + t_in)[sel]
    for j in range(len(targets)):
        m = places[sel] == targets[j]
        work[:, j] = (inside[:, m] * cost[m]).sum(axis=1)
    binding = work.sum(axis=1) > cap + 1e-9
    count = _max_places(work[binding], cap[binding], possible)
    out["targets_possible"] = int(count)
    out["dosage_bound"] = round(count / len(targets), 4)
    return out


def _max_places(work: np.ndarray, cap: np.ndarray, possible: np.ndarray) -> int:
    """The most places (0-1) with ``work @ y ≤ cap`` and ``y ≤ possible``."""
    if not possible.any():
        return 0
    if not len(work):
        return int(possible.sum())
    from scipy.optimize import Bounds, LinearConstraint, milp

    n = len(possible)
    res = milp(
        c=-np.ones(n),
        constraints=LinearConstraint(work, -np.inf, cap),
        integrality=np.ones(n),
        bounds=Bounds(np.zeros(n), possible.astype(float)),
        options={"node_limit": 10_000, "time_limit": 120.0, "presolve": True},  # nodes: deterministic
    )
    if res.status == 0 and res.x is not None:
        return int(round(-res.fun))
    # not solved to optimality within the node limit: the LP relaxation, rounded down, is still a bound
    from scipy.optimize import linprog

    lp = linprog(-np.ones(n), A_ub=work, b_ub=cap, bounds=list(zip(np.zeros(n), possible.astype(float))), method="highs")
    return int(np.floor(-lp.fun + 1e-9)) if lp.status == 0 else int(possible.sum())
