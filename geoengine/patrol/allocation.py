"""Force allocation (动态布警): how many teams of each type go to each patrol unit in each window.

:func:`allocate_force` takes the patrol units (beats and key districts) with their risk per time
window, the teams available per type and window, and optionally checkpoints with the crews that
can staff them, and returns a frozen :class:`Allocation`. The integer program is solved with
OR-Tools CP-SAT through :mod:`geoengine.patrol._allocation_cpsat` (the only module here that
imports it).

The model
---------
``x[u,w,t] ≥ 0`` integer: teams of type ``t`` in unit ``u`` in window ``w``.

* capacity: ``Σ_u x[u,w,t] ≤ available[w,t] · shift_units[w,t]`` (a team that covers
  ``shift_units`` units counts once in each of them), and ``x[u,w,t] ≤ available[w,t]`` (one team
  is not counted twice in the same unit);
* ``allowed``: ``x[u,w,t] = 0`` when type ``t`` may not serve the kind of ``u`` (a type missing from
  ``allowed`` may serve every kind);
* floor: every key unit-window gets ``≥ min_per_key_unit`` teams of any type — checked *before*
  solving with a max-flow per window; every window that falls short is reported in one
  :class:`~geoengine.errors.InfeasibleSettingsError` (field ``patrol.teams``);
* cap: ``Σ_t x[u,w,t] ≤ max_per_unit``.

Objective, minimised lexicographically by weighting (all integer, scaled explicitly):

1. ``Σ_{u,w} |Σ_t x[u,w,t] − target[u,w]|`` in units of ``1/SCALE`` team (``SCALE = 1000``),
   where ``target[u,w] = risk[u,w] / Σ_v risk[v,w] × Σ_t available[w,t]·shift_units[w,t]``
   (equal shares when a window's risk is all zero), rounded to the nearest 1/1000 team. The
   absolute value is linearised (``d ≥ SCALE·n − T``, ``d ≥ T − SCALE·n``, plus the chord
   through the two integers either side of ``T/SCALE``, exact at integer ``n``; with it the LP
   relaxation is a convex-cost flow with integer breakpoints, hence integral, and CP-SAT proves
   optimality at the root instead of branching on every unit). Added to it:
   ``IDLE_WEIGHT = 2·SCALE`` per team-slot left idle. Without this term the L1 deviation would
   prefer to leave teams at their base (risks 1:1:1 and 4 teams: 1,1,1 with one idle scores 1,
   1,1,2 scores 4/3). One more deployed team can always be had for at most one team of extra
   deviation (an augmenting path changes one unit's total by one), so with weight 2 per team
   the optimum deploys as many teams as caps and ``allowed`` permit, then matches the targets.
2. Tie-break: ``Σ (RISK_LEVELS − r[u,w]) · Σ_t x[u,w,t]`` with ``r = round(RISK_LEVELS ·
   risk / max risk in the window)``, ``RISK_LEVELS = 1000``: among allocations equally close to
   the targets, the one with more teams in higher-risk units. Part 1 is multiplied by
   ``RISK_LEVELS · (total capacity) + 1``, more than part 2 can ever reach, so the tie-break
   never trades away target accuracy.
3. Checkpoints: binary ``y[c,w]``, ``Σ_c y[c,w] ≤ crews[w]``, minimise the score left unstaffed
   ``Σ s[c,w]·(1 − y[c,w])`` with ``s = round(SCORE_LEVELS · score / max score)``,
   ``SCORE_LEVELS = 10**6`` (i.e. maximise the staffed score). Checkpoints share no
   constraint with the teams, so this is added with weight 1: the two parts are independent
   and the weighting changes the optimum of neither.

Windows share no constraint, so one CP-SAT model is solved per window (each gets the time left
divided by the windows left) and objectives and bounds are added up. A complete feasible start
is passed as a hint: the floor flow, filled greedily towards the targets, and the top-scoring
checkpoints.

``Allocation.objective`` and ``bound`` are in these scaled integer units (the whole objective is
``≥ 0``, so the gap ``(objective − bound) / objective`` is well defined); ``deviation`` is
``Σ |teams − target|`` over unit-windows in teams (unrounded targets, no idle term).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd

from geoengine.errors import InfeasibleSettingsError, Problem, ScenarioError
from geoengine.patrol import _allocation_cpsat
from geoengine.stop import (
    DEFAULT_WORK,
    Limits,
    MaxRuntime,
    MaxWork,
    as_limits,
    merge_stopped_by,
    report_stop,
)

__all__ = ["KINDS", "SCALE", "Allocation", "allocate_force"]

log = logging.getLogger(__name__)

KINDS = ("beat", "district")
"""Kinds of patrol unit."""

SCALE = 1000
"""Targets and deviations are integers in 1/1000 team."""

IDLE_WEIGHT = 2 * SCALE
"""Penalty per idle team-slot, in deviation units (2 teams of deviation)."""

RISK_LEVELS = 1000
"""Resolution of the tie-break on risk (risk relative to the window's highest)."""

SCORE_LEVELS = 1_000_000
"""Resolution of checkpoint scores (score relative to the highest)."""


# --------------------------------------------------------------------------------------------
# result


@dataclass(frozen=True, eq=False)
class Allocation:
    """The outcome of :func:`allocate_force`.

    ``table``: one row per (unit, window, team_type) with columns ``unit``, ``kind``, ``window``,
    ``team_type``, ``teams`` (int), ``risk_share`` (the unit's share of the window's risk),
    ``target`` (this type's part of the proportional share, ``risk_share × capacity of the type``,
    so summing ``target`` over types gives the unit-window target), ``floor`` (the unit-window
    floor, repeated on each type row), ``key`` and ``allowed`` (may this type serve this unit). A
    unit in a window with no teams at all has one row with ``team_type`` None and 0 teams.
    ``checkpoints``: one row per (checkpoint, window) with ``staffed`` (bool) and ``score``.
    ``objective`` / ``bound``: CP-SAT objective and best bound in scaled integer units (see the
    module docstring); ``gap``: ``(objective − bound) / objective`` (0 when optimal or when the
    objective is 0). ``status``: "optimal" | "feasible". ``deviation``: ``Σ |teams − target|``
    over unit-windows, in teams. ``deployed`` / ``capacity``: team-slots used / available.
    """

    table: pd.DataFrame
    checkpoints: pd.DataFrame
    objective: float
    bound: float | None
    gap: float | None
    status: str
    solve_s: float
    deviation: float = 0.0
    deployed: int = 0
    capacity: int = 0
    seed: int = 0
    stopped_by: str = "complete"
    """"complete" (every window optimal), "work" (a window's deterministic time used up) or "safety_cap"."""

    def pivot(self) -> pd.DataFrame:
        """Units × windows with the total number of teams (windows and units in input order)."""
        t = self.table
        units = list(dict.fromkeys(t["unit"]))
        windows = list(dict.fromkeys(t["window"]))
        totals = t.groupby(["unit", "window"], sort=False)["teams"].sum().unstack("window")
        return totals.reindex(index=units, columns=windows).fillna(0).astype(int)

    def summary(self) -> str:
        """A short table: status, objective, bound, gap, time, teams deployed, deviation, checkpoints."""

        def num(v: float | None) -> str:
            return "—" if v is None else f"{v:,.6g}" if abs(v) < 1e6 else f"{v:,.1f}"

        pairs = self.table.drop_duplicates(["unit", "window"])
        totals = self.table.groupby(["unit", "window"], sort=False)["teams"].sum()
        floors = pairs.set_index(["unit", "window"])["floor"]
        key_rows = floors[floors > 0]
        met = int((totals.reindex(key_rows.index) >= key_rows).sum())
        rows = [
            ("status", self.status),
            ("objective", num(self.objective)),
            ("bound", num(self.bound)),
            ("gap", "—" if self.gap is None else f"{100 * self.gap:.3f} %"),
            ("unit-windows", str(len(pairs))),
            ("teams deployed", f"{self.deployed} of {self.capacity} team-slots"),
            ("deviation", f"{self.deviation:,.3f} teams from the risk-proportional targets"),
            ("key unit-windows", f"{met} of {len(key_rows)} at their floor"),
        ]
        if len(self.checkpoints):
            staffed = self.checkpoints[self.checkpoints["staffed"]]
            rows.append(
                (
                    "checkpoints",
                    f"{len(staffed)} of {len(self.checkpoints)} staffed, score "
                    f"{staffed['score'].sum():,.6g} of {self.checkpoints['score'].sum():,.6g}",
                )
            )
        rows += [("seed", str(self.seed)), ("solve_s", f"{self.solve_s:.3f}")]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)

    def _repr_html_(self) -> str:  # pragma: no cover - notebook display
        import html

        return "<pre>" + html.escape(self.summary()) + "</pre>"


# --------------------------------------------------------------------------------------------
# validation


def _columns(df: object, name: str, required: tuple[str, ...], problems: list[Problem]) -> bool:
    if not isinstance(df, pd.DataFrame):
        problems.append(Problem(f"must be a DataFrame, got {type(df).__name__}", field=f"patrol.{name}"))
        return False
    missing = [c for c in required if c not in df.columns]
    if missing:
        problems.append(
            Problem(f"missing column(s) {', '.join(missing)}", field=f"patrol.{name}", hint=f"needs {', '.join(required)}")
        )
        return False
    return True


def _check_numbers(df: pd.DataFrame, name: str, col: str, problems: list[Problem], *, integer: bool, minimum: float) -> None:
    values = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values < minimum)
    if integer:
        bad |= np.isfinite(values) & (values != np.round(values))
    if bad.any():
        what = f"an integer ≥ {minimum:g}" if integer else f"a number ≥ {minimum:g}"
        rows = ", ".join(str(i) for i in df.index[bad][:5]) + (" …" if bad.sum() > 5 else "")
        message = f"{int(bad.sum())} row(s) where {col} is not {what} (rows {rows})"
        problems.append(Problem(message, field=f"patrol.{name}.{col}"))


def _check_unique(df: pd.DataFrame, name: str, cols: list[str], problems: list[Problem]) -> None:
    dup = df.duplicated(cols, keep=False)
    if dup.any():
        first = df.loc[dup, cols].drop_duplicates().head(3).itertuples(index=False, name=None)
        shown = "; ".join(", ".join(map(str, t)) for t in first)
        problems.append(Problem(f"{int(dup.sum())} rows repeat a ({', '.join(cols)}): {shown}", field=f"patrol.{name}"))


def _validate(
    units: object,
    teams: object,
    checkpoints: object,
    crews: object,
    *,
    min_per_key_unit: object,
    max_per_unit: object,
    allowed: object,
    stop: object,
    seed: object,
    workers: object,
) -> None:
    """Collect every problem with the inputs and raise one :class:`ScenarioError`."""
    problems: list[Problem] = []
    if _columns(units, "units", ("unit", "kind", "window", "risk"), problems):
        assert isinstance(units, pd.DataFrame)
        _check_numbers(units, "units", "risk", problems, integer=False, minimum=0)
        _check_unique(units, "units", ["unit", "window"], problems)
        if "key" in units.columns:
            bad_key = ~units["key"].isna() & ~units["key"].isin([True, False])
            if bad_key.any():
                message = f"{int(bad_key.sum())} row(s) where key is not true/false"
                problems.append(Problem(message, field="patrol.units.key"))
        odd = sorted(set(units["kind"].astype(str)) - set(KINDS))
        if odd:
            problems.append(
                Problem(f"unknown kind(s) {', '.join(odd)}", field="patrol.units.kind", hint=f"use {' or '.join(KINDS)}")
            )
    if _columns(teams, "teams", ("team_type", "window", "available"), problems):
        assert isinstance(teams, pd.DataFrame)
        _check_numbers(teams, "teams", "available", problems, integer=True, minimum=0)
        if "shift_units" in teams.columns:
            _check_numbers(teams, "teams", "shift_units", problems, integer=True, minimum=1)
        _check_unique(teams, "teams", ["team_type", "window"], problems)
    if checkpoints is not None:
        if _columns(checkpoints, "checkpoints", ("checkpoint", "window", "score"), problems):
            assert isinstance(checkpoints, pd.DataFrame)
            _check_numbers(checkpoints, "checkpoints", "score", problems, integer=False, minimum=0)
            _check_unique(checkpoints, "checkpoints", ["checkpoint", "window"], problems)
        if crews is None:
            problems.append(Problem("checkpoints given without crews", field="patrol.crews", hint="give crews per window"))
    if crews is not None and _columns(crews, "crews", ("window", "available"), problems):
        assert isinstance(crews, pd.DataFrame)
        _check_numbers(crews, "crews", "available", problems, integer=True, minimum=0)
        _check_unique(crews, "crews", ["window"], problems)
    if isinstance(min_per_key_unit, bool) or not isinstance(min_per_key_unit, (int, np.integer)) or min_per_key_unit < 0:
        problems.append(Problem(f"must be an integer ≥ 0, got {min_per_key_unit!r}", field="patrol.min_per_key_unit"))
    if max_per_unit is not None and (
        isinstance(max_per_unit, bool) or not isinstance(max_per_unit, (int, np.integer)) or max_per_unit < 0
    ):
        problems.append(Problem(f"must be an integer ≥ 0 or None, got {max_per_unit!r}", field="patrol.max_per_unit"))
    if allowed is not None:
        if not isinstance(allowed, dict):
            message = f"must map team type → unit kinds, got {type(allowed).__name__}"
            problems.append(Problem(message, field="patrol.allowed"))
        else:
            for team_type, kinds in allowed.items():
                if isinstance(kinds, str) or not hasattr(kinds, "__iter__"):
                    message = f"{team_type}: must be a set of unit kinds, got {kinds!r}"
                    problems.append(Problem(message, field="patrol.allowed"))
                    continue
                odd = sorted(set(map(str, kinds)) - set(KINDS))
                if odd:
                    problems.append(
                        Problem(
                            f"{team_type}: unknown kind(s) {', '.join(odd)}",
                            field="patrol.allowed",
                            hint=f"use {' or '.join(KINDS)}",
                        )
                    )
    if not isinstance(stop, (MaxRuntime, MaxWork, Limits)):
        problems.append(Problem(f"must be a MaxWork, MaxRuntime or Limits, got {stop!r}", field="patrol.stop"))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        problems.append(Problem(f"must be an integer ≥ 0, got {seed!r}", field="patrol.seed"))
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        problems.append(Problem(f"must be an integer ≥ 1, got {workers!r}", field="patrol.workers"))
    if problems:
        raise ScenarioError(f"force allocation: {len(problems)} problem(s) with the inputs", problems=problems)


# --------------------------------------------------------------------------------------------
# floors (checked before solving)


def _floor_flow(
    windows: list[str],
    pair_window: np.ndarray,
    pair_floor: np.ndarray,
    slot_window: np.ndarray,
    slot_cap: np.ndarray,
    arc_pair: np.ndarray,
    arc_slot: np.ndarray,
    arc_ub: np.ndarray,
) -> tuple[np.ndarray, list[tuple[str, int, int, int]]]:
    """Route the key-unit floors through the teams that may serve them, one max-flow per window.

    Returns the flow on every arc (a feasible start for the solver) and one ``(window, need,
    reach, short)`` per window whose floors cannot all be met.
    """
    flow = np.zeros(len(arc_pair), dtype=np.int64)
    shortfalls: list[tuple[str, int, int, int]] = []
    for w, window in enumerate(windows):
        need = int(pair_floor[pair_window == w].sum())
        if need == 0:
            continue
        g = nx.DiGraph()
        for k in np.flatnonzero(slot_window == w):
            g.add_edge("source", ("slot", int(k)), capacity=int(slot_cap[k]))
        for p in np.flatnonzero((pair_window == w) & (pair_floor > 0)):
            g.add_edge(("pair", int(p)), "sink", capacity=int(pair_floor[p]))
        arcs = [a for a in range(len(arc_pair)) if pair_window[arc_pair[a]] == w and pair_floor[arc_pair[a]] > 0]
        for a in arcs:
            g.add_edge(("slot", int(arc_slot[a])), ("pair", int(arc_pair[a])), capacity=int(arc_ub[a]))
        if "source" not in g or "sink" not in g:
            reach, flows = 0, {}
        else:
            reach, flows = nx.maximum_flow(g, "source", "sink")
        for a in arcs:
            flow[a] = int(flows.get(("slot", int(arc_slot[a])), {}).get(("pair", int(arc_pair[a])), 0))
        if reach < need:
            shortfalls.append((window, need, int(reach), need - int(reach)))
    return flow, shortfalls


def _greedy_fill(
    flow: np.ndarray,
    arc_pair: np.ndarray,
    arc_slot: np.ndarray,
    arc_ub: np.ndarray,
    slot_cap: np.ndarray,
    pair_target: np.ndarray,
    pair_cap: np.ndarray,
) -> np.ndarray:
    """A feasible start: the floor flow, then one team at a time to the unit furthest below its target."""
    x = flow.astype(np.int64).copy()
    if not len(x):
        return x
    used = np.bincount(arc_slot, weights=x, minlength=len(slot_cap)).astype(np.int64)
    n = np.bincount(arc_pair, weights=x, minlength=len(pair_target)).astype(np.int64)
    while True:
        ok = (x < arc_ub) & (used[arc_slot] < slot_cap[arc_slot]) & (n[arc_pair] < pair_cap[arc_pair])
        if not ok.any():
            return x
        deficit = np.where(ok, pair_target[arc_pair] - SCALE * n[arc_pair], np.iinfo(np.int64).min)
        a = int(np.argmax(deficit))
        x[a] += 1
        used[arc_slot[a]] += 1
        n[arc_pair[a]] += 1


def _top_posts(post_window: np.ndarray, post_score: np.ndarray, crews: np.ndarray) -> np.ndarray:
    """The highest-scoring checkpoints of each window, up to its crews (a start for the solver)."""
    y = np.zeros(len(post_score), dtype=bool)
    for w in np.unique(post_window):
        posts = np.flatnonzero(post_window == w)
        best = posts[np.argsort(-post_score[posts], kind="stable")][: int(crews[w])]
        y[best[post_score[best] > 0]] = True
    return y


def _solve_by_window(
    windows: list[str],
    unit_windows: list[int],
    post_windows: list[int],
    *,
    pair_window: np.ndarray,
    slot_window: np.ndarray,
    arc_pair: np.ndarray,
    arc_slot: np.ndarray,
    arc_ub: np.ndarray,
    slot_cap: np.ndarray,
    pair_target: np.ndarray,
    pair_floor: np.ndarray,
    pair_cap: np.ndarray,
    pair_tiebreak: np.ndarray,
    main_weight: int,
    post_window: np.ndarray,
    post_score: np.ndarray,
    crews: np.ndarray,
    x_hint: np.ndarray,
    y_hint: np.ndarray,
    stop: Limits,
    seed: int,
    workers: int,
) -> _allocation_cpsat.CpSatSolution:
    """Solve one CP-SAT model per window and add them up.

    Windows share no constraint (teams, crews and targets are per window), so the sum of the
    window optima is the optimum of the whole model and the sum of the window bounds is a bound.
    Each window gets an equal share of the work (CP-SAT deterministic seconds: a fixed split, so
    the answer does not depend on how fast an earlier window was) and, as its safety cap, the
    wall time left divided by the windows left.
    """
    deadline = time.perf_counter() + stop.cap_s
    work_each = None if stop.work is None else stop.work / max(1, len(windows))
    endings: list[str] = []
    x = np.zeros(len(arc_pair), dtype=np.int64)
    y = np.zeros(len(post_score), dtype=bool)
    objective, bound, solve_s = 0.0, 0.0, 0.0
    bound_known, statuses = True, []
    arc_window = pair_window[arc_pair] if len(arc_pair) else np.zeros(0, dtype=np.int64)
    for i, (window, uw, cw) in enumerate(zip(windows, unit_windows, post_windows, strict=True)):
        pairs = np.flatnonzero(pair_window == uw)
        slots = np.flatnonzero(slot_window == uw)
        arcs = np.flatnonzero(arc_window == uw)
        posts = np.flatnonzero(post_window == cw)
        pair_local = np.full(len(pair_window), -1, dtype=np.int64)
        pair_local[pairs] = np.arange(len(pairs))
        slot_local = np.full(len(slot_window), -1, dtype=np.int64)
        slot_local[slots] = np.arange(len(slots))
        budget = max((deadline - time.perf_counter()) / (len(windows) - i), 0.05)
        sol = _allocation_cpsat.solve_allocation(
            arc_pair=pair_local[arc_pair[arcs]],
            arc_slot=slot_local[arc_slot[arcs]],
            arc_ub=arc_ub[arcs],
            slot_cap=slot_cap[slots],
            pair_target=pair_target[pairs],
            pair_floor=pair_floor[pairs],
            pair_cap=pair_cap[pairs],
            pair_tiebreak=pair_tiebreak[pairs],
            scale=SCALE,
            main_weight=main_weight,
            idle_weight=IDLE_WEIGHT,
            post_window=np.zeros(len(posts), dtype=np.int64),
            post_score=post_score[posts],
            crews=np.array([crews[cw] if cw >= 0 else 0], dtype=np.int64),
            time_limit_s=budget,
            seed=seed,
            workers=workers,
            deterministic_time=work_each,
            hint=x_hint[arcs],
            hint_y=y_hint[posts],
            log_search=log.isEnabledFor(logging.DEBUG - 5),
        )
        log.debug("force allocation: window %r %s in %.3f s", window, sol.status, sol.solve_s)
        if sol.x is None or sol.y is None or sol.objective is None:
            if sol.status == "no_solution":
                raise InfeasibleSettingsError.single(
                    f"CP-SAT found no allocation for window {window!r} in {budget:.3g} s",
                    field="patrol.stop",
                    hint="give the solver more time",
                )
            raise RuntimeError(f"force allocation: CP-SAT returned {sol.status} on a model checked to be feasible")
        x[arcs] = sol.x
        y[posts] = sol.y
        objective += sol.objective
        solve_s += sol.solve_s
        statuses.append(sol.status)
        endings.append(sol.stopped_by)
        if sol.bound is None:
            bound_known = False
        else:
            bound += sol.bound
    status = "optimal" if all(s == "optimal" for s in statuses) else "feasible"
    return _allocation_cpsat.CpSatSolution(
        status,
        x,
        y,
        None,
        objective,
        bound if bound_known else None,
        solve_s,
        merge_stopped_by(*endings),  # type: ignore[arg-type]
    )


# --------------------------------------------------------------------------------------------
# the solve


def allocate_force(
    units: pd.DataFrame,
    teams: pd.DataFrame,
    *,
    checkpoints: pd.DataFrame | None = None,
    crews: pd.DataFrame | None = None,
    min_per_key_unit: int = 1,
    max_per_unit: int | None = None,
    allowed: dict[str, set[str]] | None = None,
    stop: MaxRuntime | MaxWork | Limits = Limits(DEFAULT_WORK / 10, 10.0),
    seed: int = 0,
    workers: int = 1,
) -> Allocation:
    """Decide how many teams of each type go to each unit in each window, and which checkpoints are staffed.

    Parameters
    ----------
    units
        One row per (unit, window): ``unit``, ``kind`` ("beat" | "district"), ``window``,
        ``risk`` (≥ 0) and optionally ``key`` (bool, default False: the unit must have
        presence in that window).
    teams
        One row per (team_type, window): ``available`` (int ≥ 0) and optionally ``shift_units``
        (int ≥ 1, default 1: how many units one team can serve in that window). Windows with no
        units are ignored; windows with units but no teams have no capacity.
    checkpoints, crews
        ``checkpoint``, ``window``, ``score`` (≥ 0); crews per ``window`` (``available``). A
        window missing from ``crews`` has none.
    min_per_key_unit
        Floor of teams (any type) in every key unit-window.
    max_per_unit
        Cap of teams in any unit-window (None: no cap).
    allowed
        Team type → the unit kinds it may serve; types not named may serve every kind.
    stop, seed, workers
        A :mod:`geoengine.stop` criterion: its work is CP-SAT's ``max_deterministic_time``
        (split evenly between the windows), its ``max_runtime_s`` the wall-clock safety cap;
        ``random_seed``; ``num_workers`` (more than one runs CP-SAT's deterministic interleaved
        search). The result is the same for the same seed and workers on any machine unless the
        safety cap cuts the search (``Allocation.stopped_by == "safety_cap"``).

    Raises
    ------
    ScenarioError
        The frames or options are malformed (every problem listed).
    InfeasibleSettingsError
        The key-unit floors cannot be met (field ``patrol.teams``, one problem per short
        window with the shortfall), or ``max_per_unit < min_per_key_unit`` (field
        ``patrol.max_per_unit``), or CP-SAT found no allocation in the time limit.
    """
    _validate(
        units,
        teams,
        checkpoints,
        crews,
        min_per_key_unit=min_per_key_unit,
        max_per_unit=max_per_unit,
        allowed=allowed,
        stop=stop,
        seed=seed,
        workers=workers,
    )
    units = units.reset_index(drop=True)
    teams = teams.reset_index(drop=True)
    u_unit = units["unit"].astype(str).to_numpy()
    u_kind = units["kind"].astype(str).to_numpy()
    u_window = units["window"].astype(str).to_numpy()
    u_risk = units["risk"].to_numpy(dtype=float)
    u_key = units["key"].fillna(False).astype(bool).to_numpy() if "key" in units.columns else np.zeros(len(units), bool)

    windows = list(dict.fromkeys(u_window))
    w_index = {w: i for i, w in enumerate(windows)}
    unit_order = {u: i for i, u in enumerate(dict.fromkeys(u_unit))}
    order = sorted(range(len(units)), key=lambda i: (w_index[u_window[i]], unit_order[u_unit[i]]))
    u_unit, u_kind, u_window, u_risk, u_key = (a[order] for a in (u_unit, u_kind, u_window, u_risk, u_key))
    pair_window = np.array([w_index[w] for w in u_window], dtype=np.int64)
    n_pairs = len(u_unit)

    # slots: one per (window, team type) in a window that has units
    t_window = teams["window"].astype(str).to_numpy()
    keep = np.array([w in w_index for w in t_window], dtype=bool)
    if (~keep).any():
        log.debug("force allocation: %d team row(s) in windows without units are ignored", int((~keep).sum()))
    type_order = {t: i for i, t in enumerate(dict.fromkeys(teams["team_type"].astype(str)))}
    s_type = teams["team_type"].astype(str).to_numpy()[keep]
    s_window = t_window[keep]
    s_avail = teams["available"].to_numpy(dtype=float)[keep].round().astype(np.int64)
    s_shift = (
        teams["shift_units"].to_numpy(dtype=float)[keep].round().astype(np.int64)
        if "shift_units" in teams.columns
        else np.ones(len(s_type), dtype=np.int64)
    )
    s_order = sorted(range(len(s_type)), key=lambda k: (w_index[s_window[k]], type_order[s_type[k]]))
    s_type, s_window, s_avail, s_shift = (a[s_order] for a in (s_type, s_window, s_avail, s_shift))
    slot_window = np.array([w_index[w] for w in s_window], dtype=np.int64)
    slot_cap = s_avail * s_shift
    window_cap = np.bincount(slot_window, weights=slot_cap, minlength=len(windows)).astype(np.int64)

    # risk shares, targets, floors, caps
    window_risk = np.bincount(pair_window, weights=u_risk, minlength=len(windows))
    window_count = np.bincount(pair_window, minlength=len(windows))
    share = np.where(
        window_risk[pair_window] > 0,
        u_risk / np.where(window_risk[pair_window] > 0, window_risk[pair_window], 1.0),
        1.0 / window_count[pair_window],
    )
    target = share * window_cap[pair_window]
    pair_target = np.round(target * SCALE).astype(np.int64)
    pair_floor = np.where(u_key, int(min_per_key_unit), 0).astype(np.int64)
    big = int(window_cap.max()) if len(window_cap) else 0
    pair_cap = np.full(n_pairs, big if max_per_unit is None else min(int(max_per_unit), big), dtype=np.int64)
    window_max_risk = np.zeros(len(windows))
    np.maximum.at(window_max_risk, pair_window, u_risk)
    top_risk = window_max_risk[pair_window]
    rel = np.where(top_risk > 0, u_risk / np.where(top_risk > 0, top_risk, 1.0), 1.0)
    pair_tiebreak = (RISK_LEVELS - np.round(RISK_LEVELS * rel)).astype(np.int64)

    # arcs: (unit-window, type) where the type may serve the unit's kind
    allowed_kinds = {str(t): set(map(str, kinds)) for t, kinds in (allowed or {}).items()}
    arc_pair_l: list[int] = []
    arc_slot_l: list[int] = []
    arc_ub_l: list[int] = []
    slots_in = [np.flatnonzero(slot_window == w) for w in range(len(windows))]
    allowed_pk = np.zeros((n_pairs, len(s_type)), dtype=bool)
    for p in range(n_pairs):
        for k in slots_in[pair_window[p]]:
            ok = s_type[k] not in allowed_kinds or u_kind[p] in allowed_kinds[s_type[k]]
            allowed_pk[p, k] = ok
            if ok and s_avail[k] > 0 and pair_cap[p] > 0:
                arc_pair_l.append(p)
                arc_slot_l.append(int(k))
                arc_ub_l.append(int(min(s_avail[k], pair_cap[p])))
    arc_pair = np.array(arc_pair_l, dtype=np.int64)
    arc_slot = np.array(arc_slot_l, dtype=np.int64)
    arc_ub = np.array(arc_ub_l, dtype=np.int64)

    # floors: every problem at once, before solving
    problems: list[Problem] = []
    if max_per_unit is not None and pair_floor.max(initial=0) > max_per_unit:
        problems.append(
            Problem(
                f"max_per_unit {max_per_unit} is below min_per_key_unit {min_per_key_unit}",
                field="patrol.max_per_unit",
                hint="raise max_per_unit or lower min_per_key_unit",
            )
        )
    hint, shortfalls = _floor_flow(windows, pair_window, pair_floor, slot_window, slot_cap, arc_pair, arc_slot, arc_ub)
    for window, need, reach, short in shortfalls:
        n_key = int(((pair_window == w_index[window]) & (pair_floor > 0)).sum())
        problems.append(
            Problem(
                f"window {window!r}: {n_key} key unit(s) need {need} team(s) "
                f"({min_per_key_unit} each) but the teams that may serve them reach {reach}; short by {short}",
                field="patrol.teams",
                hint="add teams in this window, allow more team types in key units, or lower min_per_key_unit",
            )
        )
    if problems:
        shorts = ", ".join(f"{w!r} short by {s}" for w, _, _, s in shortfalls)
        message = f"the key-unit floors cannot be met: {shorts}" if shortfalls else str(problems[0])
        raise InfeasibleSettingsError(message, problems=problems)

    # checkpoints
    post_ckpt, post_window_s, post_score_f = np.array([], dtype=str), np.array([], dtype=str), np.array([])
    if checkpoints is not None:
        c = checkpoints.reset_index(drop=True)
        post_ckpt = c["checkpoint"].astype(str).to_numpy()
        post_window_s = c["window"].astype(str).to_numpy()
        post_score_f = c["score"].to_numpy(dtype=float)
    c_windows = list(dict.fromkeys(post_window_s))
    c_index = {w: i for i, w in enumerate(c_windows)}
    post_window = np.array([c_index[w] for w in post_window_s], dtype=np.int64)
    crew_count = np.zeros(len(c_windows), dtype=np.int64)
    if crews is not None:
        for w, n in zip(crews["window"].astype(str), crews["available"].to_numpy(dtype=float), strict=True):
            if w in c_index:
                crew_count[c_index[w]] = int(round(n))
    top = post_score_f.max(initial=0.0)
    post_score = np.round(SCORE_LEVELS * post_score_f / top if top > 0 else 0 * post_score_f).astype(np.int64)

    total_cap = int(slot_cap.sum())
    main_weight = RISK_LEVELS * total_cap + 1
    x_hint = _greedy_fill(hint, arc_pair, arc_slot, arc_ub, slot_cap, pair_target, pair_cap)
    y_hint = _top_posts(post_window, post_score, crew_count)
    sol = _solve_by_window(
        windows + [w for w in c_windows if w not in w_index],
        [w_index.get(w, -1) for w in windows + [w for w in c_windows if w not in w_index]],
        [c_index.get(w, -1) for w in windows + [w for w in c_windows if w not in w_index]],
        pair_window=pair_window,
        slot_window=slot_window,
        arc_pair=arc_pair,
        arc_slot=arc_slot,
        arc_ub=arc_ub,
        slot_cap=slot_cap,
        pair_target=pair_target,
        pair_floor=pair_floor,
        pair_cap=pair_cap,
        pair_tiebreak=pair_tiebreak,
        main_weight=main_weight,
        post_window=post_window,
        post_score=post_score,
        crews=crew_count,
        x_hint=x_hint,
        y_hint=y_hint,
        stop=as_limits(stop),
        seed=int(seed),
        workers=int(workers),
    )
    report_stop("force allocation", sol.stopped_by, as_limits(stop), sol.solve_s)  # type: ignore[arg-type]
    # every window's solve raised above unless it gave a plan
    assert sol.x is not None and sol.y is not None and sol.objective is not None

    # read back
    x_pk = np.zeros((n_pairs, len(s_type)), dtype=np.int64)
    if len(arc_pair):
        x_pk[arc_pair, arc_slot] = sol.x
    rows = []
    for p in range(n_pairs):
        if not len(slots_in[pair_window[p]]):  # a window with no teams: keep the unit, with none
            rows.append(
                (u_unit[p], u_kind[p], u_window[p], None, 0, float(share[p]), 0.0, int(pair_floor[p]), bool(u_key[p]), False)
            )
        for k in slots_in[pair_window[p]]:
            rows.append(
                (
                    u_unit[p],
                    u_kind[p],
                    u_window[p],
                    s_type[k],
                    int(x_pk[p, k]),
                    float(share[p]),
                    float(share[p] * slot_cap[k]),
                    int(pair_floor[p]),
                    bool(u_key[p]),
                    bool(allowed_pk[p, k]),
                )
            )
    table = pd.DataFrame(
        rows, columns=["unit", "kind", "window", "team_type", "teams", "risk_share", "target", "floor", "key", "allowed"]
    ).astype({"teams": "int64", "floor": "int64", "risk_share": float, "target": float, "key": bool, "allowed": bool})
    totals = x_pk.sum(axis=1)
    deviation = float(np.abs(totals - target).sum())
    deployed = int(x_pk.sum())
    ckpt_table = pd.DataFrame(
        {"checkpoint": post_ckpt, "window": post_window_s, "staffed": sol.y.astype(bool), "score": post_score_f}
    )
    bound = sol.bound
    if sol.status == "optimal":
        gap: float | None = 0.0
    elif bound is None:
        gap = None
    else:
        gap = 0.0 if sol.objective <= 0 else max(0.0, (sol.objective - bound) / sol.objective)
    result = Allocation(
        table=table,
        checkpoints=ckpt_table,
        objective=sol.objective,
        bound=bound,
        gap=gap,
        status=sol.status,
        solve_s=sol.solve_s,
        deviation=deviation,
        deployed=deployed,
        capacity=total_cap,
        seed=int(seed),
        stopped_by=sol.stopped_by,
    )
    log.info(
        "force allocation: %s, %d of %d team-slots, deviation %.3f teams, gap %s, %.2f s",
        result.status,
        deployed,
        total_cap,
        deviation,
        "—" if gap is None else f"{gap:.4f}",
        sol.solve_s,
    )
    return result
