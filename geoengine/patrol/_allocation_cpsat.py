"""The one adapter to OR-Tools' CP-SAT for force allocation (动态布警).

Nothing else in geoengine imports ``ortools.sat``. :func:`solve_allocation` takes plain integer
numpy arrays (built and scaled by :mod:`geoengine.patrol.allocation`) and returns a plain
:class:`CpSatSolution`. Index maps are explicit:

* a *pair* ``p`` is one (unit, window); a *slot* ``k`` is one (window, team type);
* an *arc* ``a`` joins pair ``arc_pair[a]`` and slot ``arc_slot[a]`` where that team type may serve
  that unit; it carries the integer variable ``x[a] ∈ [0, arc_ub[a]]`` (teams of that type there);
* a *post* ``q`` is one (checkpoint, window) with the binary ``y[q]`` (staffed).

The model (all coefficients integers, nothing scaled here)::

    n[p] = Σ_{a∈p} x[a]                                   teams in pair p
    Σ_{a∈k} x[a] ≤ slot_cap[k]                            slot capacity (available × shift_units)
    pair_floor[p] ≤ n[p] ≤ pair_cap[p]                    key floor and cap
    d[p] ≥ scale·n[p] − target[p],  d[p] ≥ target[p] − scale·n[p]      (|scale·n − target| linearised)
    d[p] ≥ f + (scale − 2f)·(n[p] − lo)    with lo, f = divmod(target[p], scale)   (chord, f > 0)
    Σ_{q∈w} y[q] ≤ crews[w]
    minimise  main_weight · (Σ_p d[p] + idle_weight · Σ_k (slot_cap[k] − Σ_{a∈k} x[a]))
              + Σ_p tiebreak[p] · n[p]  +  Σ_q score[q] · (1 − y[q])

The chord through ``(lo, f)`` and ``(lo + 1, scale − f)`` is exact at integer ``n`` and makes the
LP relaxation integral (a convex-cost flow with integer breakpoints). The objective is
non-negative by construction, so the relative gap is well defined.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

__all__ = ["CpSatSolution", "solve_allocation"]

_STATUS = {
    cp_model.OPTIMAL: "optimal",
    cp_model.FEASIBLE: "feasible",
    cp_model.INFEASIBLE: "infeasible",
    cp_model.MODEL_INVALID: "model_invalid",
    cp_model.UNKNOWN: "no_solution",
}


@dataclass(frozen=True, eq=False)
class CpSatSolution:
    """What a CP-SAT solve returned. ``x``/``y``/``d`` are ``None`` when there is no solution."""

    status: str  # "optimal" | "feasible" | "infeasible" | "no_solution" | "model_invalid"
    x: np.ndarray | None
    y: np.ndarray | None
    d: np.ndarray | None
    objective: float | None
    bound: float | None
    solve_s: float
    stopped_by: str = "complete"  # "complete" (optimal) | "work" (deterministic time) | "safety_cap"


def solve_allocation(
    *,
    arc_pair: np.ndarray,
    arc_slot: np.ndarray,
    arc_ub: np.ndarray,
    slot_cap: np.ndarray,
    pair_target: np.ndarray,
    pair_floor: np.ndarray,
    pair_cap: np.ndarray,
    pair_tiebreak: np.ndarray,
    scale: int,
    main_weight: int,
    idle_weight: int,
    post_window: np.ndarray,
    post_score: np.ndarray,
    crews: np.ndarray,
    time_limit_s: float,
    seed: int,
    workers: int,
    deterministic_time: float | None = None,
    hint: np.ndarray | None = None,
    hint_y: np.ndarray | None = None,
    log_search: bool = False,
) -> CpSatSolution:
    """Build and solve the allocation model above (see the module docstring for every array).

    ``pair_cap`` holds the largest number of teams a pair may take. ``hint`` (one value per arc,
    feasible) and ``hint_y`` (one per post) are passed with ``add_hint``, completed with the
    ``n`` and ``d`` they imply. ``log_search`` prints CP-SAT's search log. CP-SAT runs with
    ``max_deterministic_time`` = ``deterministic_time`` (the deterministic work limit, in CP-SAT's
    deterministic seconds), ``max_time_in_seconds`` = ``time_limit_s`` (the safety cap),
    ``random_seed`` and ``num_workers``; more than one worker runs with ``interleave_search``
    (CP-SAT's deterministic parallel mode), so the search is the same for a seed and worker
    count on any machine unless the safety cap cuts it (``stopped_by``).
    """
    n_arcs = len(arc_pair)
    n_pairs = len(pair_target)
    model = cp_model.CpModel()

    ub = [int(v) for v in arc_ub]
    x = [model.new_int_var(0, ub[a], f"x{a}") for a in range(n_arcs)]
    by_pair: list[list[int]] = [[] for _ in range(n_pairs)]
    by_slot: list[list[int]] = [[] for _ in range(len(slot_cap))]
    for a, (p, k) in enumerate(zip(arc_pair.tolist(), arc_slot.tolist(), strict=True)):
        by_pair[p].append(a)
        by_slot[k].append(a)

    for k, arcs in enumerate(by_slot):
        if arcs:
            model.add(cp_model.LinearExpr.sum([x[a] for a in arcs]) <= int(slot_cap[k]))

    n_expr = []
    d = []
    for p, arcs in enumerate(by_pair):
        reach = min(int(pair_cap[p]), sum(ub[a] for a in arcs))
        n = model.new_int_var(0, reach, f"n{p}")
        model.add(n == cp_model.LinearExpr.sum([x[a] for a in arcs]))
        if pair_floor[p] > 0:
            model.add(n >= int(pair_floor[p]))
        t = int(pair_target[p])
        dp = model.new_int_var(0, max(t, scale * reach - t, 0), f"d{p}")
        model.add(dp >= scale * n - t)
        model.add(dp >= t - scale * n)
        # The chord between the integers either side of the target: exact at integer n and
        # what makes the LP relaxation integral (a convex cost flow with integer breakpoints).
        lo, f = divmod(t, scale)
        if f:
            model.add(dp >= f + (scale - 2 * f) * (n - lo))
        n_expr.append(n)
        d.append(dp)

    y = [model.new_bool_var(f"y{q}") for q in range(len(post_score))]
    by_window: dict[int, list[int]] = {}
    for q, w in enumerate(post_window.tolist()):
        by_window.setdefault(int(w), []).append(q)
    for w, posts in by_window.items():
        model.add(cp_model.LinearExpr.sum([y[q] for q in posts]) <= int(crews[w]))

    # Σ_k (slot_cap[k] − Σ_{a∈k} x[a]) = total capacity − Σ_a x[a]; Σ_q s[q]·(1 − y[q]) likewise.
    w_main, w_idle = int(main_weight), int(idle_weight)
    terms = [(dp, w_main) for dp in d] + [(xa, -w_main * w_idle) for xa in x]
    terms += [(n, int(c)) for n, c in zip(n_expr, pair_tiebreak.tolist(), strict=True) if c]
    terms += [(y[q], -int(s)) for q, s in enumerate(post_score.tolist()) if s]
    constant = w_main * w_idle * int(np.sum(slot_cap)) + int(np.sum(post_score))
    if terms:
        expr = cp_model.LinearExpr.weighted_sum([v for v, _ in terms], [c for _, c in terms])
        model.minimize(expr + constant)
    else:
        model.minimize(model.new_constant(constant))
    if hint is not None:
        # A complete hint (x, and the n, d it implies; y) so that CP-SAT starts from a solution.
        hx = [int(v) for v in np.asarray(hint)]
        for a, v in enumerate(hx):
            model.add_hint(x[a], v)
        for p, arcs in enumerate(by_pair):
            n_p = sum(hx[a] for a in arcs)
            model.add_hint(n_expr[p], n_p)
            model.add_hint(d[p], abs(scale * n_p - int(pair_target[p])))
    if hint_y is not None:
        for q, v in enumerate(np.asarray(hint_y).tolist()):
            model.add_hint(y[q], bool(v))

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit_s)
    solver.parameters.random_seed = int(seed)
    solver.parameters.num_workers = int(workers)
    if int(workers) > 1:
        solver.parameters.interleave_search = True
    if deterministic_time is not None:
        solver.parameters.max_deterministic_time = float(deterministic_time)
    solver.parameters.log_search_progress = bool(log_search)
    t0 = time.perf_counter()
    code = solver.solve(model)
    solve_s = time.perf_counter() - t0
    status = _STATUS.get(code, "no_solution")
    if code in (cp_model.OPTIMAL, cp_model.INFEASIBLE, cp_model.MODEL_INVALID):
        ending = "complete"
    elif deterministic_time is None or solve_s >= 0.97 * float(time_limit_s):
        ending = "safety_cap"
    else:
        ending = "work"
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return CpSatSolution(status, None, None, None, None, None, solve_s, ending)
    bound = float(solver.best_objective_bound)
    return CpSatSolution(
        status=status,
        x=np.array([solver.value(v) for v in x], dtype=np.int64),
        y=np.array([bool(solver.value(v)) for v in y], dtype=bool),
        d=np.array([solver.value(v) for v in d], dtype=np.int64),
        objective=float(solver.objective_value),
        bound=bound if np.isfinite(bound) else None,
        solve_s=solve_s,
        stopped_by=ending,
    )
