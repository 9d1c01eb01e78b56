"""Large routing windows solved by sectors: teams that share beats, with their beats' visits.

A district window (a few hundred visits, tens of teams) is too large for one guided local
search to improve in a planner's time: every move is scanned against every route. But the
patrol problem is almost separable: a team serves its own beats (``allowed`` vehicles, or
the teams a visit costs nothing to, with a cross-beat price for the others). So

1. :func:`sectors` groups the vehicles: teams that share a beat's visits are in one group
   (union of each visit's own teams), and small groups are merged with their nearest one
   (mean travel between their visits) until each holds about ``target_nodes`` visits; visits
   open to every team (key districts) go to the group whose visits are nearest;
2. :func:`solve_by_sectors` solves each sector on its own (``solve`` is called with the
   sector's problem and its share of the work: deterministic, proportional to its visits)
   and maps the routes back to the whole problem; the caller's repair then inserts what one
   sector dropped into another sector's idle time.

Everything is on the problem's matrices (:class:`~geoengine.patrol.routing.RoutingProblem`),
so it is tested on hand-built problems; :func:`geoengine.patrol.plan.plan_patrol` uses it for
windows with more than ``patrol.sector_above_visits`` visits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..stop import Limits
from .routing import Route, RoutingProblem, RoutingResult, Stop

__all__ = ["Sector", "restrict", "sectors", "solve_by_sectors"]


@dataclass(frozen=True)
class Sector:
    """Vehicle indices and the non-base nodes they route as one sub-problem."""

    vehicles: tuple[int, ...]
    nodes: tuple[int, ...]


def restrict(problem: RoutingProblem, vehicles: Sequence[int], nodes: Sequence[int]) -> tuple[RoutingProblem, np.ndarray]:
    """The problem on ``vehicles`` and ``nodes`` (plus those vehicles' bases).

    Returns the sub-problem and ``keep``: its node ``i`` is node ``keep[i]`` of ``problem``;
    its vehicle ``k`` is ``vehicles[k]``. A node no kept vehicle may serve is left out.
    """
    vs = [int(v) for v in vehicles]
    new_v = {old: k for k, old in enumerate(vs)}
    base_nodes = sorted({problem.vehicles[v].start for v in vs} | {problem.vehicles[v].end for v in vs})
    inner = []
    for n in nodes:
        n = int(n)
        if n in problem.bases:
            continue
        a = None if problem.allowed is None else problem.allowed[n]
        if a is not None and not any(x in new_v for x in a):
            continue
        inner.append(n)
    keep = np.asarray(base_nodes + inner, dtype=np.int64)
    pos = {int(n): i for i, n in enumerate(keep)}
    veh = tuple(replace(problem.vehicles[v], start=pos[problem.vehicles[v].start], end=pos[problem.vehicles[v].end]) for v in vs)
    if problem.travel_s.ndim == 3:
        travel = problem.travel_s[vs][:, keep][:, :, keep]
    else:
        travel = problem.travel_s[np.ix_(keep, keep)]
    allowed = None
    if problem.allowed is not None:
        allowed = []
        for n in keep:
            a = problem.allowed[int(n)]
            allowed.append(None if a is None else frozenset(new_v[x] for x in a if x in new_v))
    sub = RoutingProblem.from_arrays(
        travel,
        service_s=problem.service_s[keep],
        tw_start_s=problem.tw_start_s[keep],
        tw_end_s=problem.tw_end_s[keep],
        vehicles=veh,
        penalty=problem.penalty[keep],
        allowed=allowed,
        span_cost=problem.span_cost,
        distance=None if problem.distance is None else problem.distance[np.ix_(keep, keep)],
        demand=None if problem.demand is None else problem.demand[keep],
        capacity=problem.capacity,
        name=f"{problem.name} sector",
        visit_cost=None if problem.visit_cost is None else problem.visit_cost[vs][:, keep],
        place=None if problem.place is None else problem.place[keep],
        vehicle_fixed_cost=problem.vehicle_fixed_cost,
    )
    return sub, keep


def _own_vehicles(problem: RoutingProblem, node: int) -> frozenset[int] | None:
    """The vehicles a node belongs to: its allowed set, else those it costs nothing to (None: every one)."""
    nv = len(problem.vehicles)
    if problem.allowed is not None and problem.allowed[node] is not None:
        own = problem.allowed[node]
    elif problem.visit_cost is not None:
        own = frozenset(int(k) for k in np.flatnonzero(problem.visit_cost[:, node] == 0))
    else:
        return None
    return None if len(own) in (0, nv) else frozenset(own)


def sectors(problem: RoutingProblem, *, target_nodes: int = 120) -> list[Sector]:
    """Vehicle groups and their nodes (module docstring); one sector when nothing separates."""
    nv = len(problem.vehicles)
    inner = [n for n in range(problem.n_nodes) if n not in problem.bases]
    parent = list(range(nv))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    own = {n: _own_vehicles(problem, n) for n in inner}
    for o in own.values():
        if o:
            first, *rest = sorted(o)
            for v in rest:
                ra, rb = find(first), find(v)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
    comp_of = [find(v) for v in range(nv)]
    roots = sorted(set(comp_of))
    vehicles = {r: [v for v in range(nv) if comp_of[v] == r] for r in roots}
    nodes: dict[int, list[int]] = {r: [] for r in roots}
    free = []
    for n in inner:
        if own[n]:
            nodes[comp_of[min(own[n])]].append(n)
        else:
            free.append(n)
    travel = problem.travel_of(0)

    def anchor(g: tuple[list[int], list[int]]) -> list[int]:
        return g[1] or sorted({problem.vehicles[v].start for v in g[0]})

    def between(a: tuple[list[int], list[int]], b: tuple[list[int], list[int]]) -> float:
        return float(travel[np.ix_(anchor(a), anchor(b))].mean())

    groups = [(vehicles[r], nodes[r]) for r in roots]
    # merge the smallest group into its nearest while it is under the target
    while len(groups) > 1:
        groups.sort(key=lambda g: (len(g[1]), g[0][0]))
        if len(groups[0][1]) >= target_nodes:
            break
        fits = [k for k in range(1, len(groups)) if len(groups[0][1]) + len(groups[k][1]) <= 2 * target_nodes]
        if not fits:
            break
        j = min(fits, key=lambda k: (between(groups[0], groups[k]), groups[k][0][0]))
        merged = (sorted(groups[0][0] + groups[j][0]), sorted(groups[0][1] + groups[j][1]))
        groups = [g for k, g in enumerate(groups) if k not in (0, j)] + [merged]
    groups.sort(key=lambda g: g[0][0])
    # nodes open to every vehicle: to the group whose nodes (or bases) are nearest
    if free:
        anchors = [anchor(g) for g in groups]
        for n in free:
            k = min(range(len(groups)), key=lambda i: (float(travel[anchors[i], n].min()), i))
            groups[k][1].append(n)
    return [Sector(tuple(v), tuple(sorted(n))) for v, n in groups]


def solve_by_sectors(
    problem: RoutingProblem,
    parts: Sequence[Sector],
    *,
    stop: Limits,
    solve: Callable[[RoutingProblem, np.ndarray, Limits], RoutingResult],
) -> RoutingResult:
    """Solve each sector with ``solve(sub_problem, keep, limits)`` and map the plans back.

    Each sector gets the work and the safety cap in proportion to its nodes (at least one
    node's share), so the whole stays within ``stop``. Nodes of no sector are dropped.
    """
    n_inner = max(1, sum(len(p.nodes) for p in parts))
    nv = len(problem.vehicles)
    routes: list[Route | None] = [None] * nv
    served: set[int] = set()
    objective, solve_s = 0, 0.0
    statuses, ends = [], []
    for part in parts:
        share = max(len(part.nodes), 1) / n_inner
        limits = Limits(
            None if stop.work is None else stop.work * share,
            None if stop.max_runtime_s is None else max(1.0, stop.max_runtime_s * share),
        )
        sub, keep = restrict(problem, part.vehicles, part.nodes)
        result = solve(sub, keep, limits)
        objective += int(result.objective)
        solve_s += result.solve_s
        statuses.append(result.status)
        ends.append(result.stopped_by)
        for r in result.routes:
            v = part.vehicles[r.vehicle]
            stops = tuple(Stop(int(keep[s.node]), s.arrive_s, s.depart_s) for s in r.stops)
            routes[v] = replace(r, vehicle=v, stops=stops)
            served.update(s.node for s in stops[1:-1])
    for v, r in enumerate(routes):
        if r is None:  # a vehicle of no sector stays at its base
            veh = problem.vehicles[v]
            routes[v] = Route(
                v,
                (Stop(veh.start, veh.shift_start_s, veh.shift_start_s), Stop(veh.end, veh.shift_start_s, veh.shift_start_s)),
                0,
                0.0,
                None,
            )
    dropped = tuple(n for n in range(problem.n_nodes) if n not in problem.bases and n not in served)
    status = (
        "feasible"
        if all(s in ("feasible", "optimal") for s in statuses)
        else next(s for s in statuses if s not in ("feasible", "optimal"))
    )
    ended = "safety_cap" if "safety_cap" in ends else ("work" if "work" in ends else "complete")
    return RoutingResult(
        tuple(routes),
        dropped,
        objective,
        status,
        solve_s,  # type: ignore[arg-type]
        f"{len(parts)} sectors",
        "per sector",
        stopped_by=ended,
    )
