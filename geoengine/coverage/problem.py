"""Location problems on a coverage or cost matrix, and their solvers (no GIS here).

Build a :class:`CoverageProblem` from a (sparse) coverage matrix — or from a cost matrix and a
service radius, like spopt's ``from_cost_matrix`` — then solve it::

    problem = CoverageProblem.from_cost_matrix(dist_m, population, service_radius=5000)
    result = solve_mclp(problem, budget_count=4, stop=MaxRuntime(30), seed=0)
    print(result.summary())

Problems:

* **MCLP** (:func:`solve_mclp`): maximise ``Σ_i w_i · credit_i`` (+ a backup term) for a count
  and/or cost budget, with at most ``max_per_group`` candidates per group (one camera per pole).
  Credits may be tiered (a camera covering a point at 60 % quality); existing cameras give a
  credit already achieved.
* **LSCP** (:func:`solve_lscp`): fewest (cheapest) new candidates so that every demand row of
  the mask not covered by existing cameras is covered.
* **p-median** (:func:`solve_pmedian`): minimise ``Σ_i w_i · d_i,nearest`` with ``p`` facilities.

Every solve has a stop criterion (:mod:`geoengine.stop`: a deterministic work limit — SCIP nodes
and LP iterations, counted swap passes — and a wall-clock safety cap) and a seed, and returns
a frozen :class:`LocationResult` with status, objective, bound, gap and ``stopped_by``. MCLP and LSCP always run on
:meth:`CoverageProblem.reduced` and report per original demand row. OR-Tools is used only through
:mod:`geoengine.coverage._ortools`.

Every MCLP solve computes the Lagrangian bound of :mod:`geoengine.coverage._lagrange` (coverage
rows relaxed, groups kept; a fixed number of subgradient steps), fixes to 0 the columns its
multipliers exclude from any plan better than greedy + swap, and runs SCIP on the remaining core
(no MIP at all when the bound already proves greedy + swap optimal). ``bound`` is the best of
SCIP's, GLOP's LP (on the core), the Lagrangian and the singleton-gain bound; ``bound_method``,
``bound_s`` and ``fixed`` say which won, how long the Lagrangian took and how many columns it fixed.
The relaxation's integral inner solutions are plans too: filled and swapped, they replace greedy +
swap when better (method "lagrangian+swap"). From 500k core non-zeros the Lagrangian stands in for
GLOP's LP, and a plan the bound proves within 0.5 % is returned without SCIP (whose root solve
there is bounded by no work count).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import scipy.sparse as sp

from geoengine.coverage import _ortools
from geoengine.coverage._lagrange import lagrangian_bound
from geoengine.coverage.greedy import (
    credit_and_views,
    drop_redundant,
    greedy_mclp,
    greedy_pmedian_ending,
    mclp_value,
    swap_improve_ending,
)
from geoengine.coverage.stop import MaxRuntime  # noqa: F401  (re-exported for callers)
from geoengine.errors import InfeasibleSettingsError, Problem
from geoengine.stop import (
    DEFAULT_WORK,
    Limits,
    Stop,
    StoppedBy,
    as_limits,
    merge_stopped_by,
    report_stop,
)

__all__ = [
    "CoverageProblem",
    "LocationResult",
    "coverage_curve",
    "lagrangian_mclp_bound",
    "solve_lscp",
    "solve_mclp",
    "solve_pmedian",
]

log = logging.getLogger(__name__)

_SOLVERS = ("scip", "greedy")
_LP_BOUND_MAX_NNZ = 3_000_000
"""Above this many non-zeros the greedy solver skips its LP-relaxation bound."""
_SKIP_MIP_WHEN_PROVEN = True
"""When the bound proves the greedy + swap answer optimal, no MIP is built (tests turn it off)."""
_SKIP_MIP_GAP = 0.005
"""Above this proven gap a solve spends more bound work (roundings of the averaged Lagrangian
solutions, a continued subgradient run)."""
_SKIP_MIP_MIN_NNZ = 500_000
"""From this many core non-zeros the greedy + swap / Lagrangian plan is returned without SCIP: SCIP's
root solve there takes longer than its safety cap under load (the 72 × 72 grid: 60 s, no better plan,
no better bound; Helsinki p = 400: no root LP after 485 s) and would make the answer depend on the machine."""
_LP_FIRST_NNZ = 200_000
_ROUND_KEEP = (0.9, 0.75)
"""Shares of the budget taken from the rounded averaged Lagrangian solution before greedy fills the rest
(Helsinki p = 400: 168,570 from the inner solutions, 169,053 from either rounding)."""
_LNS_SIZE, _LNS_SUB_WORK = 15, 1.0
_LNS_SUB_NODES, _LNS_SUB_LP_ITERATIONS = 20, 20_000
_LNS_WINDOWS_PER_UNIT, _LNS_HOPS = 2.0, 1
_LNS_SCIP_PARAMS: tuple[str, ...] = ("separating/maxroundsroot = 0", "separating/maxrounds = 0")
"""Large-neighbourhood search on cores too big for SCIP: each window frees ``_LNS_SIZE`` neighbouring
cameras and re-solves the MCLP of their budget on the candidates sharing a demand row with them
(``_LNS_HOPS`` row–column hops), with SCIP on ``_LNS_SUB_NODES`` nodes, ``_LNS_SUB_LP_ITERATIONS``
simplex iterations an LP and no cutting-plane rounds (the root's cuts were the cost: 10-70 s a window,
the same plans without them); ``_LNS_WINDOWS_PER_UNIT`` windows per work unit of the solve, every limit
a count, so the plan is the same at any load. Helsinki p = 400 at work 10 (20 windows): 169,123 →
169,691 (gap 1.09 → 0.76 %) in 35 s of CPU, where windows of 30 cameras on two hops, 200 nodes and
SCIP's cuts took 226 s for 0.70 %."""
_MORE_ITERATIONS, _MORE_STEP, _MORE_PATIENCE = 1400, 0.5, 200
"""Subgradient steps, the first step factor and the patience of the continued Lagrangian when a gap above
0.5 % is left (Helsinki p = 400: 171,098 → 170,975, the LP bound being 170,901)."""
"""From this many model non-zeros, the SCIP solver first gets GLOP's LP bound (SCIP's may come late)."""


# --------------------------------------------------------------------------------------------
# problem


@dataclass(frozen=True, eq=False)
class CoverageProblem:
    """Demand rows × candidate columns with credits, weights, costs, groups and existing coverage.

    Attributes
    ----------
    coverage
        ``(n_demand, n_cand)`` CSR matrix, credit in (0, 1] of candidate j for demand i
        (1 = fully covered; quality tiers give less). Canonical: sorted indices, no stored zeros.
    weights
        ``(n_demand,)`` demand weights ≥ 0.
    costs
        ``(n_cand,)`` candidate costs > 0 (default 1).
    groups
        ``(n_cand,)`` integer site ids; at most ``max_per_group`` candidates are chosen per group
        (the headings of one pole). Default: every candidate its own group.
    existing
        ``(n_demand,)`` credit already given by existing cameras, in [0, 1] (default 0).
    existing_views
        ``(n_demand,)`` number of existing cameras seeing the row (default 0).
    backup
        ``(n_demand,)`` bool, the row wants a second view (key sites; default False).

    Arrays are copied and made read-only; build with :meth:`from_coverage_matrix` or
    :meth:`from_cost_matrix` (the constructor validates the same way).
    """

    coverage: sp.csr_matrix
    weights: np.ndarray
    costs: np.ndarray = None  # type: ignore[assignment]  # filled in __post_init__
    groups: np.ndarray = None  # type: ignore[assignment]
    max_per_group: int = 1
    existing: np.ndarray = None  # type: ignore[assignment]
    existing_views: np.ndarray = None  # type: ignore[assignment]
    backup: np.ndarray = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        problems: list[Problem] = []

        def bad(field: str, message: str) -> None:
            problems.append(Problem(message, field=field))

        if not sp.issparse(self.coverage):
            cov = np.asarray(self.coverage, dtype=float)
            if cov.ndim != 2:
                raise ValueError(f"coverage: must be a 2-D matrix, got shape {cov.shape}")
            cov = sp.csr_matrix(cov)
        else:
            if self.coverage.ndim != 2:
                raise ValueError(f"coverage: must be a 2-D matrix, got shape {self.coverage.shape}")
            cov = sp.csr_matrix(self.coverage, dtype=float, copy=True)
        cov.sum_duplicates()
        cov.eliminate_zeros()
        cov.sort_indices()
        n, m = cov.shape
        if cov.nnz and not np.isfinite(cov.data).all():
            bad("coverage", "contains NaN or infinite credits")
        elif cov.nnz and (cov.data.min() < 0 or cov.data.max() > 1):
            bad("coverage", f"credits must lie in (0, 1], found {cov.data.min():g}..{cov.data.max():g}")

        def vec(name: str, value, default, dtype, length: int) -> np.ndarray:
            arr = np.full(length, default, dtype=dtype) if value is None else np.asarray(value)
            if arr.shape != (length,):
                bad(name, f"must have shape ({length},), got {arr.shape}")
                return np.full(length, default, dtype=dtype)
            if dtype is bool:
                if arr.dtype != bool and not np.isin(arr, (0, 1)).all():
                    bad(name, "must be boolean")
                return arr.astype(bool)
            if dtype is np.int64:
                if arr.size and not np.issubdtype(arr.dtype, np.integer):
                    if not (np.isfinite(arr.astype(float)).all() and (arr == np.round(arr)).all()):
                        bad(name, "must hold integers")
                        return np.full(length, default, dtype=dtype)
                return arr.astype(np.int64)
            arr = arr.astype(float)
            if not np.isfinite(arr).all():
                bad(name, "contains NaN or infinite values")
            return arr

        weights = vec("weights", self.weights, 0.0, float, n)
        costs = vec("costs", self.costs, 1.0, float, m)
        groups = vec("groups", self.groups if self.groups is not None else np.arange(m), 0, np.int64, m)
        existing = vec("existing", self.existing, 0.0, float, n)
        existing_views = vec("existing_views", self.existing_views, 0, np.int64, n)
        backup = vec("backup", self.backup, False, bool, n)
        if (weights < 0).any():
            bad("weights", "must be ≥ 0")
        if (costs <= 0).any():
            bad("costs", "must be > 0")
        if ((existing < 0) | (existing > 1)).any():
            bad("existing", "must lie in [0, 1]")
        if (existing_views < 0).any():
            bad("existing_views", "must be ≥ 0")
        if (
            isinstance(self.max_per_group, bool)
            or not isinstance(self.max_per_group, (int, np.integer))
            or self.max_per_group < 1
        ):
            bad("max_per_group", f"must be an integer ≥ 1, got {self.max_per_group!r}")
        if problems:
            raise ValueError("invalid coverage problem:\n" + "\n".join(f"  - {p}" for p in problems))
        for arr in (weights, costs, groups, existing, existing_views, backup):
            arr.flags.writeable = False
        for name, value in (
            ("coverage", cov),
            ("weights", weights),
            ("costs", costs),
            ("groups", groups),
            ("max_per_group", int(self.max_per_group)),
            ("existing", existing),
            ("existing_views", existing_views),
            ("backup", backup),
        ):
            object.__setattr__(self, name, value)

    # -- constructors ------------------------------------------------------------------------

    @classmethod
    def from_coverage_matrix(
        cls,
        coverage: sp.spmatrix | sp.sparray | np.ndarray,
        weights: np.ndarray,
        *,
        costs: np.ndarray | None = None,
        groups: np.ndarray | None = None,
        max_per_group: int = 1,
        existing: np.ndarray | None = None,
        existing_views: np.ndarray | None = None,
        backup: np.ndarray | None = None,
    ) -> CoverageProblem:
        """The real constructor: a credit matrix (dense or sparse) and the per-row/per-column data.

        Raises ``ValueError`` listing every shape or value problem at once.
        """
        # None fields are filled in __post_init__ (the dataclass types them as filled)
        return cls(coverage, weights, costs, groups, max_per_group, existing, existing_views, backup)  # type: ignore[arg-type]

    @classmethod
    def from_cost_matrix(
        cls,
        cost: np.ndarray,
        weights: np.ndarray,
        *,
        service_radius: float,
        costs: np.ndarray | None = None,
    ) -> CoverageProblem:
        """Binary coverage ``cost ≤ service_radius`` (as spopt's MCLP/LSCP); NaN/inf = unreachable."""
        if not (isinstance(service_radius, (int, float, np.number)) and math.isfinite(service_radius) and service_radius > 0):
            raise InfeasibleSettingsError.single(
                f"service radius must be a finite number > 0, got {service_radius!r}", field="service_radius"
            )
        c = cost.toarray() if sp.issparse(cost) else np.asarray(cost, dtype=float)  # type: ignore[attr-defined]
        if c.ndim != 2:
            raise ValueError(f"cost: must be a 2-D matrix, got shape {c.shape}")
        with np.errstate(invalid="ignore"):
            covered = np.isfinite(c) & (c <= service_radius)
        return cls(sp.csr_matrix(covered.astype(float)), weights, costs)  # type: ignore[arg-type]  # costs None: filled in __post_init__

    # -- sizes -----------------------------------------------------------------------------

    @property
    def n_demand(self) -> int:
        return int(self.coverage.shape[0])

    @property
    def n_candidates(self) -> int:
        return int(self.coverage.shape[1])

    # -- reduction ---------------------------------------------------------------------------

    def reduced(self) -> tuple[CoverageProblem, np.ndarray]:
        """Merge identical demand rows and drop rows that cannot gain anything.

        Rows merge when they have the same columns with the same credits and the same existing
        credit, existing views and backup flag; their weights add up. A row is dropped when its
        weight is 0, or when no candidate gives more than its existing credit and it cannot gain a
        second view either. Returns the reduced problem (same candidates, rows in first-seen
        order) and ``row_map``: original row → reduced row, ``-1`` when dropped.

        Rows are hashed (two independent 64-bit hashes of their (column, credit) pairs) and the
        grouping is then verified exactly, so a hash collision only costs a missed merge.
        """
        a = self.coverage
        n = a.shape[0]
        nnz_row = np.diff(a.indptr).astype(np.int64)
        key = np.empty((n, 6), dtype=np.uint64)
        cols = a.indices.astype(np.uint64)
        bits = a.data.astype(np.float64).view(np.uint64)
        key[:, 0] = _row_hash(cols * np.uint64(0x9E3779B97F4A7C15) ^ bits, a.indptr)
        key[:, 1] = _row_hash((cols + np.uint64(0x632BE59BD9B4E019)) ^ (bits * np.uint64(0xD6E8FEB86659FD93)), a.indptr)
        key[:, 2] = self.existing.astype(np.float64).view(np.uint64)
        key[:, 3] = self.existing_views.astype(np.uint64)
        key[:, 4] = self.backup.astype(np.uint64)
        key[:, 5] = nnz_row.astype(np.uint64)
        _, first, inv = np.unique(key, axis=0, return_index=True, return_inverse=True)
        inv = inv.ravel()
        rep = first[inv]
        diff = abs(a - a[rep]).sum(axis=1).A.ravel() if n else np.zeros(0)
        collided = np.flatnonzero(diff != 0)
        if collided.size:  # pragma: no cover - needs a 2×64-bit hash collision
            log.warning("reduced(): %d rows with colliding hashes kept apart", collided.size)
            inv = inv.copy()
            inv[collided] = inv.max() + 1 + np.arange(collided.size)
            first = np.concatenate([first, collided])
        n_groups = int(inv.max()) + 1 if n else 0
        # order groups by first occurrence so the reduced rows keep the original order
        first_row = np.full(n_groups, n, dtype=np.int64)
        np.minimum.at(first_row, inv, np.arange(n))
        weight = np.bincount(inv, weights=self.weights, minlength=n_groups)
        best = a.max(axis=1).toarray().ravel() if a.shape[1] else np.zeros(n)
        ex, ev = self.existing[first_row], self.existing_views[first_row]
        gain_credit = best[first_row] > ex
        gain_view = self.backup[first_row] & (ev < 2) & (ev + nnz_row[first_row] >= 2)
        keep = (weight > 0) & (gain_credit | gain_view)
        kept = np.flatnonzero(keep)
        kept = kept[np.argsort(first_row[kept], kind="stable")]
        new_id = np.full(n_groups, -1, dtype=np.int64)
        new_id[kept] = np.arange(kept.size)
        row_map = new_id[inv] if n else np.zeros(0, dtype=np.int64)
        rows = first_row[kept]
        red = CoverageProblem(
            a[rows],
            weight[kept],
            self.costs,
            self.groups,
            self.max_per_group,
            self.existing[rows],
            self.existing_views[rows],
            self.backup[rows],
        )
        log.debug("reduced %d demand rows to %d (%d dropped)", n, kept.size, int((row_map < 0).sum()))
        row_map.flags.writeable = False
        return red, row_map


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, element-wise on uint64 (wrapping arithmetic)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _row_hash(values: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """Order-independent hash per CSR row: sum of mixed per-entry hashes (0 for empty rows)."""
    n = indptr.size - 1
    out = np.zeros(n, dtype=np.uint64)
    if values.size == 0:
        return out
    h = _mix64(values)
    nonempty = indptr[1:] > indptr[:-1]
    with np.errstate(over="ignore"):
        out[nonempty] = np.add.reduceat(h, indptr[:-1][nonempty])
    return out


# --------------------------------------------------------------------------------------------
# result


@dataclass(frozen=True, eq=False)
class LocationResult:
    """The outcome of one location solve.

    ``objective``: MCLP covered weight ``Σ w_i · credit_i`` (existing credit included) plus the
    backup term; LSCP: number of new sites (their total cost when costs differ); p-median:
    ``Σ w_i · d_i``. ``bound``: best bound the solver proved (upper for MCLP, lower for
    minimisation), ``None`` when there is none. ``gap``: MCLP ``(bound − objective)/bound``;
    minimisation ``(objective − bound)/objective``; 0 when proven optimal.
    ``status``: "optimal" | "feasible" | "infeasible" | "no_solution" | "greedy" (the MIP found
    nothing and the greedy answer is returned; ``message`` says so).
    ``stopped_by``: "complete" (optimal / heuristic converged), "work" (the deterministic work
    limit) or "safety_cap" (the wall clock: the result may differ on another run).
    """

    selected: np.ndarray
    objective: float
    bound: float | None
    gap: float | None
    status: str
    solve_s: float
    build_s: float
    method: str
    problem_kind: str
    credit: np.ndarray | None = None
    views: np.ndarray | None = None
    uncoverable: int = 0
    mean_distance: float | None = None
    message: str = ""
    stopped_by: str = "complete"
    bound_method: str = ""
    bound_s: float = 0.0
    fixed: int = 0
    bound_cpu_s: float = 0.0
    """CPU seconds of the bound stage (Lagrangian with its start plans; ``bound_s`` is its wall time)."""
    total_s: float = 0.0
    cpu_s: float = 0.0
    """Wall and CPU seconds of the whole solve (heuristics, bounds, LNS, SCIP)."""

    @property
    def n_selected(self) -> int:
        return int(self.selected.size)

    def summary(self) -> str:
        """A short table: kind, method, status, objective, bound, gap, times, number selected."""

        def num(v: float | None) -> str:
            return "—" if v is None else f"{v:,.6g}" if abs(v) < 1e6 else f"{v:,.1f}"

        rows = [
            ("problem", self.problem_kind),
            ("method", self.method),
            ("status", self.status),
            ("objective", num(self.objective)),
            ("bound", num(self.bound)),
            ("gap", "—" if self.gap is None else f"{100 * self.gap:.3f} %"),
            *(
                [("bound by", f"{self.bound_method} ({self.bound_s:.3f} s, {self.fixed} columns fixed)")]
                if self.bound_method
                else []
            ),
            ("selected", str(self.n_selected)),
        ]
        if self.mean_distance is not None:
            rows.append(("mean distance", f"{self.mean_distance:,.3f}"))
        if self.problem_kind == "lscp":
            rows.append(("uncoverable", str(self.uncoverable)))
        rows += [("stopped by", self.stopped_by), ("build_s", f"{self.build_s:.3f}"), ("solve_s", f"{self.solve_s:.3f}")]
        if self.message:
            rows.append(("note", self.message))
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)

    def _repr_html_(self) -> str:  # pragma: no cover - notebook display
        import html

        return "<pre>" + html.escape(self.summary()) + "</pre>"


# --------------------------------------------------------------------------------------------
# MCLP


@dataclass(frozen=True, eq=False)
class _MclpModel:
    model: _ortools.MipModel
    n_x: int
    tier_row: np.ndarray
    tier_q: np.ndarray
    z_row: np.ndarray
    count_row: int | None
    cost_row: int | None
    offset: float

    def hint(self, problem: CoverageProblem, selected: np.ndarray) -> np.ndarray:
        credit, views = credit_and_views(problem, selected)
        x = np.zeros(self.n_x)
        x[selected] = 1.0
        y = (credit[self.tier_row] >= self.tier_q).astype(float)
        z = (views[self.z_row] >= 2).astype(float)
        return np.concatenate([x, y, z])


@dataclass(frozen=True, eq=False)
class _MclpRows:
    """The coverage rows of the MCLP: tier rows ``y_t ≤ Σ x_j`` and backup rows ``(2 − ev)·z ≤ Σ x_j``."""

    tier_row: np.ndarray
    tier_q: np.ndarray
    q_prev: np.ndarray
    ent_row: np.ndarray
    ent_col: np.ndarray
    z_row: np.ndarray
    z_ent_row: np.ndarray  # numbered after the tier rows
    z_ent_col: np.ndarray
    const: float

    def lagrange_data(self, red: CoverageProblem, backup_weight: float) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        """``T`` (binary rows × candidates), row values ``c`` and coefficients ``d`` (see _lagrange)."""
        n_t, n_z = self.tier_row.size, self.z_row.size
        rows = np.concatenate([self.ent_row, self.z_ent_row])
        cols = np.concatenate([self.ent_col, self.z_ent_col])
        t = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n_t + n_z, red.n_candidates))
        t.sum_duplicates()
        t.data[:] = 1.0
        w = red.weights
        c = np.concatenate([w[self.tier_row] * (self.tier_q - self.q_prev), backup_weight * w[self.z_row]])
        d = np.concatenate([np.ones(n_t), (2.0 - red.existing_views[self.z_row]).astype(float)])
        return t, c, d


def _mclp_rows(red: CoverageProblem, backup_weight: float) -> _MclpRows:
    a = red.coverage
    n = a.shape[0]
    w, ex, ev = red.weights, red.existing, red.existing_views
    rows = np.repeat(np.arange(n), np.diff(a.indptr))
    cols, vals = a.indices, a.data
    # tiers: distinct credit levels above the existing credit, per row
    up = vals > ex[rows]
    r, c, v = rows[up], cols[up], vals[up]
    order = np.lexsort((v, r))
    r, c, v = r[order], c[order], v[order]
    new_level = np.ones(r.size, dtype=bool)
    new_level[1:] = (r[1:] != r[:-1]) | (v[1:] != v[:-1])
    level = np.cumsum(new_level) - 1
    tier_row, tier_q = r[new_level], v[new_level]
    n_t = tier_row.size
    row_start = np.ones(n_t, dtype=bool)
    row_start[1:] = tier_row[1:] != tier_row[:-1]
    q_prev = np.where(row_start, ex[tier_row], np.concatenate([[0.0], tier_q[:-1]]))
    first_tier = np.maximum.accumulate(np.where(row_start, np.arange(n_t), 0))
    # a non-zero at level L of its row counts for tiers first_tier..L of that row
    cnt = level - first_tier[level] + 1
    ent_col = np.repeat(c, cnt)
    offs = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    ent_row = np.repeat(first_tier[level], cnt) + offs
    # backup second views
    const = float(w @ ex)
    z_row = np.zeros(0, dtype=np.int64)
    if backup_weight > 0 and red.backup.any():
        nnz_row = np.diff(a.indptr)
        const += backup_weight * float(w[red.backup & (ev >= 2)].sum())
        z_row = np.flatnonzero(red.backup & (ev < 2) & (ev + nnz_row >= 2))
    n_z = z_row.size
    zr_start = a.indptr[z_row]
    zr_len = np.diff(a.indptr)[z_row]
    zsel = np.repeat(zr_start, zr_len) + (np.arange(int(zr_len.sum())) - np.repeat(np.cumsum(zr_len) - zr_len, zr_len))
    z_ent_row = n_t + np.repeat(np.arange(n_z), zr_len)
    z_ent_col = cols[zsel]
    return _MclpRows(tier_row, tier_q, q_prev, ent_row, ent_col, z_row, z_ent_row, z_ent_col, const)


def _build_mclp(
    red: CoverageProblem,
    *,
    budget_count: int | None,
    budget_cost: float | None,
    backup_weight: float,
    relax: bool = False,
) -> _MclpModel:
    """Tiered MCLP with optional backup and group rows, as one CSR constraint matrix.

    Variables: ``x_j`` (binary, candidates), ``y_t`` (continuous [0, 1], one per (row, credit
    level above existing)), ``z_i`` (binary, second view of a backup row). Rows:
    ``y_t − Σ_{j: a_ij ≥ q_t} x_j ≤ 0``; ``(2 − ev_i)·z_i − Σ_{j: a_ij > 0} x_j ≤ 0``;
    budgets; ``Σ_{j ∈ g} x_j ≤ max_per_group`` for groups larger than the limit.
    Objective: ``Σ_t w_i (q_t − q_{t−1}) y_t + backup_weight Σ w_i z_i + constant``.
    """
    a = red.coverage
    n, m = a.shape
    w, ev = red.weights, red.existing_views
    s = _mclp_rows(red, backup_weight)
    tier_row, tier_q, q_prev, ent_row, ent_col = s.tier_row, s.tier_q, s.q_prev, s.ent_row, s.ent_col
    z_row, z_ent_row, z_ent_col, const = s.z_row, s.z_ent_row, s.z_ent_col, s.const
    n_t, n_z = tier_row.size, z_row.size
    # assemble: tier rows, z rows, budget rows, group rows
    i_parts = [np.arange(n_t), ent_row, n_t + np.arange(n_z), z_ent_row]
    j_parts = [m + np.arange(n_t), ent_col, m + n_t + np.arange(n_z), z_ent_col]
    v_parts = [np.ones(n_t), -np.ones(ent_row.size), (2.0 - ev[z_row]).astype(float), -np.ones(z_ent_row.size)]
    ub_parts = [np.zeros(n_t + n_z)]
    next_row = n_t + n_z
    count_row = cost_row = None
    if budget_count is not None:
        count_row = next_row
        i_parts.append(np.full(m, next_row))
        j_parts.append(np.arange(m))
        v_parts.append(np.ones(m))
        ub_parts.append(np.array([float(budget_count)]))
        next_row += 1
    if budget_cost is not None:
        cost_row = next_row
        i_parts.append(np.full(m, next_row))
        j_parts.append(np.arange(m))
        v_parts.append(red.costs.astype(float))
        ub_parts.append(np.array([float(budget_cost)]))
        next_row += 1
    _, ginv, gsize = np.unique(red.groups, return_inverse=True, return_counts=True)
    big = np.flatnonzero(gsize > red.max_per_group)
    if big.size:
        gid = np.full(gsize.size, -1)
        gid[big] = np.arange(big.size)
        member = gid[ginv.ravel()] >= 0
        i_parts.append(next_row + gid[ginv.ravel()][member])
        j_parts.append(np.flatnonzero(member))
        v_parts.append(np.ones(int(member.sum())))
        ub_parts.append(np.full(big.size, float(red.max_per_group)))
        next_row += big.size
    n_vars = m + n_t + n_z
    mat = sp.csr_matrix((np.concatenate(v_parts), (np.concatenate(i_parts), np.concatenate(j_parts))), shape=(next_row, n_vars))
    mat.sum_duplicates()
    mat.sort_indices()
    obj = np.concatenate([np.zeros(m), w[tier_row] * (tier_q - q_prev), backup_weight * w[z_row]])
    is_int = np.concatenate([np.ones(m, bool), np.zeros(n_t, bool), np.ones(n_z, bool)])
    model = _ortools.build_mip(
        obj,
        mat,
        np.full(next_row, -np.inf),
        np.concatenate(ub_parts),
        np.zeros(n_vars),
        np.ones(n_vars),
        is_int,
        maximize=True,
        offset=const,
        relax=relax,
    )
    return _MclpModel(model, m, tier_row, tier_q, z_row, count_row, cost_row, const)


def _check_budgets(budget_count: int | None, budget_cost: float | None, *, required: bool) -> None:
    problems = []
    if budget_count is not None and (
        isinstance(budget_count, bool) or not isinstance(budget_count, (int, np.integer)) or budget_count < 0
    ):
        problems.append(Problem(f"must be an integer ≥ 0, got {budget_count!r}", field="budget_count"))
    if budget_cost is not None and not (
        isinstance(budget_cost, (int, float, np.number)) and math.isfinite(budget_cost) and budget_cost >= 0
    ):
        problems.append(Problem(f"must be a finite number ≥ 0, got {budget_cost!r}", field="budget_cost"))
    if required and budget_count is None and budget_cost is None:
        problems.append(Problem("a coverage budget is needed", field="budget_count", hint="give budget_count and/or budget_cost"))
    if problems:
        raise InfeasibleSettingsError(problems=problems)


def _check_run(stop: Stop, seed: int, solver: str) -> Limits:
    limits = as_limits(stop)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**31:
        raise ValueError(f"seed must be an integer in [0, 2**31), got {seed!r}")
    if solver not in _SOLVERS:
        raise ValueError(f"solver must be one of {_SOLVERS}, got {solver!r}")
    return limits


_DEFAULT_STOP = Limits(DEFAULT_WORK, 30.0)


def _mip_ending(limits: Limits, sol: _ortools.MipSolution, time_limit_s: float) -> StoppedBy:
    """How a SCIP / GLOP solve ended: optimal = complete; else its wall time against its cap."""
    return limits.stopped_by(finished=sol.status in ("optimal", "infeasible"), elapsed_s=sol.solve_s, cap_s=time_limit_s)


def solve_mclp(
    problem: CoverageProblem,
    *,
    budget_count: int | None = None,
    budget_cost: float | None = None,
    backup_weight: float = 0.0,
    stop: Stop = _DEFAULT_STOP,
    seed: int = 0,
    solver: str = "scip",
    warm_start: bool = True,
) -> LocationResult:
    """Maximal covering: most (tiered, weighted) credit for a count and/or cost budget.

    ``solver="scip"`` solves the MIP with SCIP, hinted with the greedy + 1-swap answer when
    ``warm_start``; ``solver="greedy"`` returns that heuristic answer with the LP-relaxation
    bound (GLOP) when the model is small enough. Runs on :meth:`CoverageProblem.reduced`;
    ``credit`` and ``views`` are per original demand row. ``backup_weight`` > 0 adds
    ``backup_weight · Σ_{backup rows} w_i · [views_i ≥ 2]``. ``stop``: a :mod:`geoengine.stop`
    criterion; its work goes to SCIP as node and LP-iteration limits, its cap to every phase.
    """
    _check_budgets(budget_count, budget_cost, required=True)
    stop = _check_run(stop, seed, solver)
    if not (math.isfinite(backup_weight) and backup_weight >= 0):
        raise InfeasibleSettingsError.single(f"must be ≥ 0, got {backup_weight!r}", field="backup_weight")
    t0 = time.perf_counter()
    red, row_map = problem.reduced()
    return _solve_mclp_reduced(
        problem,
        red,
        row_map,
        t0=t0,
        budget_count=budget_count,
        budget_cost=budget_cost,
        backup_weight=backup_weight,
        stop=stop,
        seed=seed,
        solver=solver,
        warm_start=warm_start,
    )


def _solve_mclp_reduced(
    problem: CoverageProblem,
    red: CoverageProblem,
    row_map: np.ndarray,
    *,
    t0: float,
    budget_count: int | None,
    budget_cost: float | None,
    backup_weight: float,
    stop: Limits,
    seed: int,
    solver: str,
    warm_start: bool,
    start: np.ndarray | None = None,
    model: _MclpModel | None = None,
    polish: bool = True,
    mip_limits: dict[str, Any] | None = None,
) -> LocationResult:
    """The MCLP on ``red`` (see :func:`solve_mclp`); ``polish=False`` (an LNS window's sub-problem)
    skips the extra work for large gaps: roundings, the continued subgradient run and the LNS.
    ``mip_limits``: SCIP's node and LP-iteration limits instead of those of ``stop``'s work."""
    deadline = t0 + stop.cap_s
    c0 = time.process_time()
    endings: list[str] = []
    kind = "backup" if backup_weight > 0 and problem.backup.any() else "mclp"
    dropped_const = _dropped_constant(problem, row_map, backup_weight)
    simple = _simple_bound(red, budget_count=budget_count, budget_cost=budget_cost, backup_weight=backup_weight)
    simple += dropped_const

    info: dict[str, Any] = {"bound_method": "simple", "bound_s": 0.0, "bound_cpu_s": 0.0, "fixed": 0}

    def finish(selected, status, method, bound, solve_s, build_s, message="") -> LocationResult:
        selected = np.sort(np.asarray(selected, dtype=np.int64))
        credit, views = credit_and_views(problem, selected)
        objective = mclp_value(problem, selected, backup_weight=backup_weight)
        ending = merge_stopped_by(*cast(list[StoppedBy], endings))  # a capped warm start can change even an optimal answer
        report_stop(
            "camera siting" if kind != "backup" else "camera siting (backup)",
            ending,
            stop,
            time.perf_counter() - t0,
            f"{method}, budget {budget_count if budget_count is not None else budget_cost}",
        )
        gap = None
        if bound is not None:
            if bound - objective <= 1e-9 * max(1.0, abs(bound)):  # float noise of a proven optimum
                bound = objective
        if status == "optimal":
            gap = 0.0
        elif bound is not None:
            gap = max(0.0, (bound - objective) / bound) if bound > 0 else 0.0
        for arr in (selected, credit, views):
            arr.flags.writeable = False
        return LocationResult(
            selected,
            objective,
            bound,
            gap,
            status,
            solve_s,
            build_s,
            method,
            kind,
            credit,
            views,
            message=message,
            stopped_by=ending,
            bound_method=str(info["bound_method"]),
            bound_s=float(info["bound_s"]),
            fixed=int(info["fixed"]),
            bound_cpu_s=float(info["bound_cpu_s"]),
            total_s=time.perf_counter() - t0,
            cpu_s=time.process_time() - c0,
        )

    def tighten(current: float, value: float | None, name: str) -> float:
        if value is not None and value < current:
            info["bound_method"] = name
            return value
        return current

    heuristic = None
    if solver == "greedy" or warm_start:
        th = time.perf_counter()
        heuristic = greedy_mclp(red, budget_count=budget_count, budget_cost=budget_cost, backup_weight=backup_weight, start=start)
        # the swaps stop on their pass count; only the solve's own safety cap cuts them (a share of
        # the remaining wall time cut them under load: another plan for the same input)
        heuristic, swap_end = swap_improve_ending(
            red, heuristic, budget_cost=budget_cost, backup_weight=backup_weight, deadline=deadline
        )
        endings.append(swap_end if solver == "greedy" or swap_end == "safety_cap" else "complete")
        heuristic = greedy_mclp(
            red, budget_count=budget_count, budget_cost=budget_cost, backup_weight=backup_weight, start=heuristic
        )
        log.debug("greedy+swap: %d sites in %.3f s", heuristic.size, time.perf_counter() - th)

    # Lagrangian bound of the coverage rows, and reduced-cost fixing (fixed iteration count)
    tl, tl_cpu = time.perf_counter(), time.process_time()
    incumbent = (
        heuristic
        if heuristic is not None
        else greedy_mclp(red, budget_count=budget_count, budget_cost=budget_cost, backup_weight=backup_weight)
    )
    m = red.n_candidates
    inc_value = mclp_value(red, incumbent, backup_weight=backup_weight)
    heuristic_name = "greedy+swap" if heuristic is not None else "greedy"
    keep = np.ones(m, dtype=bool)
    if red.n_demand and m:
        rows_s = _mclp_rows(red, backup_weight)
        t_mat, c_row, d_row = rows_s.lagrange_data(red, backup_weight)
        lag = lagrangian_bound(
            t_mat,
            c_row,
            d_row,
            red.groups,
            red.max_per_group,
            budget_count=budget_count,
            budget_cost=budget_cost,
            costs=red.costs,
            lower=inc_value - rows_s.const,
            deadline=deadline,
        )
        endings.append(lag.stopped_by)
        simple = tighten(simple, lag.bound + rows_s.const + dropped_const, "lagrangian")

        def improve(start_plan: np.ndarray, name: str) -> None:
            """A start plan (a Lagrangian inner solution, a rounding), filled and swapped: kept when better."""
            nonlocal heuristic, incumbent, inc_value, heuristic_name
            if not _feasible(red, start_plan, budget_count, budget_cost):
                return
            plan_ = greedy_mclp(
                red, budget_count=budget_count, budget_cost=budget_cost, backup_weight=backup_weight, start=start_plan
            )
            plan_, end_ = swap_improve_ending(red, plan_, budget_cost=budget_cost, backup_weight=backup_weight, deadline=deadline)
            endings.append("safety_cap" if end_ == "safety_cap" else "complete")
            plan_ = greedy_mclp(red, budget_count=budget_count, budget_cost=budget_cost, backup_weight=backup_weight, start=plan_)
            value_ = mclp_value(red, plan_, backup_weight=backup_weight)
            if value_ > inc_value + 1e-9 * max(1.0, abs(inc_value)):
                log.debug("a %s plan %.6g beats %.6g", name, value_, inc_value)
                heuristic = incumbent = plan_
                inc_value = value_
                heuristic_name = f"{name}+swap"

        def gap_now() -> float:
            return (simple - inc_value - dropped_const) / simple if simple > 0 else 0.0

        for start_plan in lag.plans if heuristic is not None else ():
            improve(start_plan, "lagrangian")
        if polish and heuristic is not None and gap_now() > _SKIP_MIP_GAP and lag.average is not None:
            # still more than 0.5 %: (1) round the averaged inner solutions (≈ the LP solution) to plans,
            # (2) continue the subgradient steps from the best multipliers, steered by the better plan
            for share in _ROUND_KEEP:
                improve(_round_average(red, lag.average, share, budget_count, budget_cost), "rounded")
            more = lagrangian_bound(
                t_mat,
                c_row,
                d_row,
                red.groups,
                red.max_per_group,
                budget_count=budget_count,
                budget_cost=budget_cost,
                costs=red.costs,
                lower=inc_value - rows_s.const,
                deadline=deadline,
                iterations=_MORE_ITERATIONS,
                start=lag.multipliers,
                step=_MORE_STEP,
                patience=_MORE_PATIENCE,
            )
            endings.append(more.stopped_by)
            log.debug("continued Lagrangian: %.6g → %.6g in %d more iterations", lag.bound, more.bound, more.iterations)
            if more.bound < lag.bound:
                lag = more
                simple = tighten(simple, lag.bound + rows_s.const + dropped_const, "lagrangian")
                if gap_now() > _SKIP_MIP_GAP and more.average is not None:
                    improve(_round_average(red, more.average, _ROUND_KEEP[0], budget_count, budget_cost), "rounded")
        if (
            polish
            and solver == "scip"
            and heuristic is not None
            and gap_now() > _SKIP_MIP_GAP
            and red.coverage.nnz >= _SKIP_MIP_MIN_NNZ
        ):
            # SCIP will not run on a core this large: spend the work on windows of the plan instead
            windows = (
                max(1, math.ceil(_LNS_WINDOWS_PER_UNIT * stop.work))
                if stop.work is not None
                else max(1, heuristic.size // _LNS_SIZE)
            )
            plan_, n_better, end_ = _lns(
                red,
                heuristic,
                budget_count=budget_count,
                budget_cost=budget_cost,
                backup_weight=backup_weight,
                windows=windows,
                seed=seed,
                deadline=deadline,
            )
            endings.append(end_)
            log.debug("LNS: %d of %d windows improved the plan", n_better, windows)
            if n_better:
                heuristic = incumbent = plan_
                inc_value = mclp_value(red, plan_, backup_weight=backup_weight)
                heuristic_name = "lns"
        keep = ~lag.fix_zero_below(inc_value - rows_s.const)
        keep[incumbent] = True
        log.debug(
            "Lagrangian bound %.6g in %d iterations, %.3f s; %d of %d columns fixed to 0",
            lag.bound + rows_s.const + dropped_const,
            lag.iterations,
            lag.seconds,
            int((~keep).sum()),
            m,
        )
    info["bound_s"] = time.perf_counter() - tl
    info["bound_cpu_s"] = time.process_time() - tl_cpu
    info["fixed"] = int((~keep).sum())
    inc_total = inc_value + dropped_const
    if _SKIP_MIP_WHEN_PROVEN and simple - inc_total <= 1e-9 * max(1.0, abs(simple)):  # the bound proves it optimal
        endings.append("complete")
        status = "optimal" if solver != "greedy" else "greedy"
        return finish(incumbent, status, heuristic_name, simple, time.perf_counter() - t0, 0.0)

    # the core: columns not fixed, rows that can still gain
    core_cols = np.flatnonzero(keep)
    if core_cols.size < m:
        core_full = CoverageProblem(
            red.coverage[:, core_cols],
            red.weights,
            red.costs[core_cols],
            red.groups[core_cols],
            red.max_per_group,
            red.existing,
            red.existing_views,
            red.backup,
        )
        core, core_map = core_full.reduced()
        offset = dropped_const + _dropped_constant(core_full, core_map, backup_weight)
        model = None  # the shared model holds every column
    else:
        core, offset = red, dropped_const
    to_core = np.full(m, -1, dtype=np.int64)
    to_core[core_cols] = np.arange(core_cols.size)
    heuristic_core = None if heuristic is None else to_core[heuristic]

    proven_gap = (simple - inc_total) / simple if simple > 0 else 0.0
    if solver == "scip" and heuristic is not None and core.coverage.nnz >= _SKIP_MIP_MIN_NNZ:
        # SCIP's root on a model this large is not bounded by the work limit (the safety cap
        # decides, so the answer would depend on the load): Helsinki p = 400, 523k non-zeros, had
        # no root LP after 485 s and no better plan, so the plan and bound above are the answer
        endings.append("complete")
        return finish(
            heuristic,
            "feasible",
            heuristic_name,
            simple,
            time.perf_counter() - t0,
            0.0,
            f"the {info['bound_method']} bound proves the {heuristic_name} plan within {100 * proven_gap:.3f} %; "
            f"SCIP not run on a core of {core.coverage.nnz:,} non-zeros (its root is not bounded by the work limit)",
        )

    if solver == "greedy":
        t_solve = time.perf_counter() - t0
        bound = simple
        build_s = 0.0
        # with a work limit the LP bound is always computed (deterministic); the cap only guards it
        # from _SKIP_MIP_MIN_NNZ non-zeros the Lagrangian stands in for GLOP's LP (within 0.03 % of it;
        # GLOP's time there is not bounded by any work count: 4-50 s on Helsinki)
        if core.coverage.nnz < min(_LP_BOUND_MAX_NNZ, _SKIP_MIP_MIN_NNZ) and (
            stop.deterministic or time.perf_counter() < deadline
        ):
            tb = time.perf_counter()
            lp = _build_mclp(core, budget_count=budget_count, budget_cost=budget_cost, backup_weight=backup_weight, relax=True)
            build_s = time.perf_counter() - tb
            lp_limit = max(0.1, deadline - time.perf_counter())
            sol = _ortools.solve_mip(lp.model, backend="glop", time_limit_s=lp_limit)
            endings.append("safety_cap" if sol.bound is None and sol.solve_s >= 0.97 * lp_limit else "complete")
            if sol.bound is not None:
                bound = tighten(bound, sol.bound + offset, "lp")
            t_solve = time.perf_counter() - t0 - build_s
        return finish(heuristic, "greedy", heuristic_name, bound, t_solve, build_s)

    tb = time.perf_counter()
    if model is None:
        model = _build_mclp(core, budget_count=budget_count, budget_cost=budget_cost, backup_weight=backup_weight)
    build_s = time.perf_counter() - tb
    overrides = {}
    if model.count_row is not None and budget_count is not None:
        overrides[model.count_row] = float(budget_count)
    if model.cost_row is not None and budget_cost is not None:
        overrides[model.cost_row] = float(budget_cost)
    hint = model.hint(core, heuristic_core) if heuristic_core is not None else None
    if model.model.nnz >= _LP_FIRST_NNZ and core.coverage.nnz < min(_LP_BOUND_MAX_NNZ, _SKIP_MIP_MIN_NNZ):
        # SCIP's own root LP is slow on big models (no bound after 30 s on 1M non-zeros where
        # GLOP needs 2 s): spend up to a fifth of the time on GLOP's LP bound first.
        tl = time.perf_counter()
        lp = _build_mclp(core, budget_count=budget_count, budget_cost=budget_cost, backup_weight=backup_weight, relax=True)
        lp_limit = max(0.1, 0.2 * (deadline - tl))
        lp_sol = _ortools.solve_mip(lp.model, backend="glop", time_limit_s=lp_limit)
        endings.append("safety_cap" if lp_sol.bound is None and lp_sol.solve_s >= 0.97 * lp_limit else "complete")
        if lp_sol.bound is not None:
            simple = tighten(simple, lp_sol.bound + offset, "lp")
        log.debug("LP bound %s in %.3f s", lp_sol.bound, time.perf_counter() - tl)
    remaining = max(0.1 * stop.cap_s, deadline - time.perf_counter())
    sol = _ortools.solve_mip(
        model.model,
        backend="scip",
        time_limit_s=remaining,
        seed=seed,
        hint=hint,
        row_ub=overrides,
        **(mip_limits if mip_limits is not None else stop.scip_limits()),
    )
    endings.append(_mip_ending(stop, sol, remaining))
    bound = simple if sol.bound is None else tighten(simple, sol.bound + offset, "scip")
    if sol.values is None:
        if sol.status == "infeasible":  # pragma: no cover - x = 0 is always feasible
            return finish(np.zeros(0), "infeasible", "scip", None, sol.solve_s, build_s, "the MIP is infeasible")
        log.warning("SCIP found no solution in %.1f s; returning the greedy answer", sol.solve_s)
        return finish(
            incumbent,
            "greedy",
            "scip→greedy",
            bound,
            sol.solve_s,
            build_s,
            f"SCIP found no solution ({sol.status}) within its limits; greedy answer returned",
        )
    chosen = core_cols[np.flatnonzero(sol.values[: model.n_x] > 0.5)]
    message = ""
    status = sol.status
    if heuristic is not None:
        if mclp_value(red, heuristic, backup_weight=backup_weight) > mclp_value(
            red, chosen, backup_weight=backup_weight
        ) + 1e-9 * max(1.0, float(red.weights.sum())):
            chosen, message = heuristic, f"the {heuristic_name} answer beat SCIP's incumbent and is returned"
            if status == "optimal":  # pragma: no cover - SCIP's optimum cannot be beaten
                status = "feasible"
    return finish(chosen, status, "scip", bound, sol.solve_s, build_s, message)


def lagrangian_mclp_bound(
    problem: CoverageProblem,
    *,
    budget_count: int | None = None,
    budget_cost: float | None = None,
    backup_weight: float = 0.0,
    lower: float | None = None,
    iterations: int | None = None,
) -> float:
    """The Lagrangian upper bound of the MCLP optimum (coverage rows relaxed; see ``_lagrange``).

    ``lower``: the value of a known solution (default: greedy + swap's), which steers the steps.
    Deterministic (a fixed number of subgradient iterations)."""
    _check_budgets(budget_count, budget_cost, required=True)
    red, row_map = problem.reduced()
    const = _dropped_constant(problem, row_map, backup_weight)
    rows_s = _mclp_rows(red, backup_weight)
    if red.n_demand == 0 or red.n_candidates == 0:
        return const + rows_s.const
    if lower is None:  # greedy + swap, as in a solve
        inc = greedy_mclp(red, budget_count=budget_count, budget_cost=budget_cost, backup_weight=backup_weight)
        inc, _ = swap_improve_ending(red, inc, budget_cost=budget_cost, backup_weight=backup_weight)
        lower = mclp_value(red, inc, backup_weight=backup_weight) + const
    t_mat, c_row, d_row = rows_s.lagrange_data(red, backup_weight)
    kw: dict[str, Any] = {} if iterations is None else {"iterations": int(iterations)}
    lag = lagrangian_bound(
        t_mat,
        c_row,
        d_row,
        red.groups,
        red.max_per_group,
        budget_count=budget_count,
        budget_cost=budget_cost,
        costs=red.costs,
        lower=lower - const - rows_s.const,
        **kw,
    )
    return lag.bound + rows_s.const + const


def _lns(
    red: CoverageProblem,
    selected: np.ndarray,
    *,
    budget_count: int | None,
    budget_cost: float | None,
    backup_weight: float,
    windows: int,
    seed: int,
    deadline: float,
) -> tuple[np.ndarray, int, str]:
    """Large-neighbourhood search: ``windows`` times, free ``_LNS_SIZE`` chosen columns that share
    demand neighbourhoods (the first not yet freed, then those within two row–column hops), keep the
    others, and solve the MCLP of the freed budget on the nearby candidates (groups of kept columns
    excluded, the kept columns' credit and views as existing) with SCIP under a node limit; a better
    answer replaces the freed part. Returns the plan, the windows that improved it and the ending."""
    sel = np.sort(np.asarray(selected, dtype=np.int64))
    if red.max_per_group != 1 or sel.size == 0:
        return sel, 0, "complete"
    csr, csc = red.coverage, red.coverage.tocsc()
    _, ginv = np.unique(red.groups, return_inverse=True)
    ginv = ginv.ravel()
    m, n = red.n_candidates, red.n_demand

    def rows_of(cols: np.ndarray) -> np.ndarray:
        mask = np.zeros(m, dtype=bool)
        mask[cols] = True
        return np.flatnonzero(csc @ mask.astype(float) > 0)

    def cols_of(rows: np.ndarray) -> np.ndarray:
        mask = np.zeros(n)
        mask[rows] = 1.0
        return np.flatnonzero(csr.T @ mask > 0)

    value = mclp_value(red, sel, backup_weight=backup_weight)
    freed = np.zeros(m, dtype=bool)
    improved, ending = 0, "complete"
    for _ in range(int(windows)):
        if time.perf_counter() > deadline:
            ending = "safety_cap"
            break
        chosen = np.zeros(m, dtype=bool)
        chosen[sel] = True
        left = sel[~freed[sel]]
        if left.size == 0:
            freed[:] = False  # every chosen column was freed once: start over
            left = sel
        free, frontier = left[:1], left[:1]
        while free.size < _LNS_SIZE and frontier.size:
            near = cols_of(rows_of(cols_of(rows_of(frontier))))
            near = near[chosen[near] & ~np.isin(near, free)][: _LNS_SIZE - free.size]
            free, frontier = np.concatenate([free, near]), near
        freed[free] = True
        fixed = np.setdiff1d(sel, free)
        cand = free
        for _ in range(_LNS_HOPS):
            cand = cols_of(rows_of(cand))
        blocked = np.zeros(int(ginv.max()) + 1, dtype=bool)
        blocked[ginv[fixed]] = True
        cand = cand[~blocked[ginv[cand]]]
        rows = rows_of(cand)
        credit, views = credit_and_views(red, fixed)
        sub = CoverageProblem.from_coverage_matrix(
            red.coverage[rows][:, cand],
            red.weights[rows],
            costs=red.costs[cand],
            groups=red.groups[cand],
            existing=credit[rows],
            existing_views=views[rows],
            backup=red.backup[rows],
        )
        left_cost = None if budget_cost is None else float(budget_cost - red.costs[fixed].sum())
        cap = max(1.0, deadline - time.perf_counter())  # only the solve's own safety cap
        sub_red, sub_map = sub.reduced()
        res = _solve_mclp_reduced(
            sub,
            sub_red,
            sub_map,
            t0=time.perf_counter(),
            budget_count=None if budget_count is None else int(budget_count - fixed.size),
            budget_cost=left_cost,
            backup_weight=backup_weight,
            stop=Limits(_LNS_SUB_WORK, cap),
            seed=seed,
            solver="scip",
            warm_start=True,
            polish=False,
            mip_limits={
                "node_limit": _LNS_SUB_NODES,
                "lp_iteration_limit": _LNS_SUB_LP_ITERATIONS,
                "scip_params": _LNS_SCIP_PARAMS,
            },
        )
        if res.stopped_by == "safety_cap":
            ending = "safety_cap"
        new = np.sort(np.concatenate([fixed, cand[np.asarray(res.selected, dtype=np.int64)]]))
        new_value = mclp_value(red, new, backup_weight=backup_weight)
        if new_value > value + 1e-9 * max(1.0, abs(value)) and _feasible(red, new, budget_count, budget_cost):
            sel, value, improved = new, new_value, improved + 1
    if ending == "complete" and windows > 0:
        ending = "work"  # the window count (the solve's work units) ended the search, not convergence
    return sel, improved, ending


def _round_average(
    red: CoverageProblem, average: np.ndarray, share: float, budget_count: int | None, budget_cost: float | None
) -> np.ndarray:
    """A start plan from averaged (fractional) Lagrangian solutions: per group its ``max_per_group``
    largest, then the largest overall while they fit ``share`` of the budget(s)."""
    x = np.asarray(average, dtype=float)
    _, ginv = np.unique(red.groups, return_inverse=True)
    ginv = ginv.ravel()
    o = np.lexsort((np.arange(x.size), -x, ginv))
    first = np.r_[0, np.flatnonzero(ginv[o][1:] != ginv[o][:-1]) + 1]
    rank = np.arange(x.size) - np.repeat(first, np.diff(np.r_[first, x.size]))
    cand = o[(rank < red.max_per_group) & (x[o] > 0)]
    cand = cand[np.lexsort((cand, -x[cand]))]
    ok = np.ones(cand.size, dtype=bool)
    if budget_count is not None:
        ok &= np.arange(cand.size) < int(share * budget_count)
    if budget_cost is not None:
        ok &= np.cumsum(red.costs[cand]) <= share * budget_cost + 1e-9
    return np.sort(cand[: int(ok.sum())])  # ``ok`` holds for a prefix


def _feasible(red: CoverageProblem, selected: np.ndarray, budget_count: int | None, budget_cost: float | None) -> bool:
    """``selected`` keeps the count and cost budgets and the per-group limit."""
    if budget_count is not None and selected.size > budget_count:
        return False
    if budget_cost is not None and float(red.costs[selected].sum()) > budget_cost + 1e-9:
        return False
    _, per_group = np.unique(red.groups[selected], return_counts=True)
    return bool(per_group.size == 0 or per_group.max() <= red.max_per_group)


def _simple_bound(
    problem: CoverageProblem, *, budget_count: int | None, budget_cost: float | None, backup_weight: float
) -> float:
    """A cheap valid upper bound on the MCLP optimum (used when the solver proves none better).

    Every row at its best credit; and, when the objective is submodular (no backup term), the
    value with nothing chosen plus the best singleton gains that fit the budget (top ``p`` for a
    count, fractional knapsack for a cost), since ``f(S) ≤ f(∅) + Σ_{j∈S} gain_j(∅)``.
    """
    a = problem.coverage
    best = a.max(axis=1).toarray().ravel() if a.shape[1] else np.zeros(a.shape[0])
    w = problem.weights
    bound = float(w @ np.maximum(problem.existing, best))
    if backup_weight and problem.backup.any():
        can = problem.backup & (problem.existing_views + np.diff(a.indptr) >= 2)
        return bound + backup_weight * float(w[can].sum())
    rows = np.repeat(np.arange(a.shape[0]), np.diff(a.indptr))
    gain = np.bincount(a.indices, weights=w[rows] * np.maximum(a.data - problem.existing[rows], 0.0), minlength=a.shape[1])
    base = float(w @ problem.existing)
    if budget_count is not None:
        bound = min(bound, base + float(np.sort(gain)[::-1][:budget_count].sum()))
    if budget_cost is not None:
        order = np.argsort(-gain / problem.costs, kind="stable")
        c, g = problem.costs[order], gain[order]
        room = np.clip(budget_cost - (np.cumsum(c) - c), 0.0, None)
        bound = min(bound, base + float((g * np.minimum(1.0, room / c)).sum()))
    return bound


def _dropped_constant(problem: CoverageProblem, row_map: np.ndarray, backup_weight: float) -> float:
    """Objective of the rows reduced() dropped (their existing credit and existing backup)."""
    dropped = row_map < 0
    value = float(problem.weights[dropped] @ problem.existing[dropped])
    if backup_weight:
        value += backup_weight * float(problem.weights[dropped & problem.backup & (problem.existing_views >= 2)].sum())
    return value


def coverage_curve(
    problem: CoverageProblem,
    budgets: list[int] | list[float],
    *,
    by: str = "count",
    backup_weight: float = 0.0,
    stop: Stop = _DEFAULT_STOP,
    seed: int = 0,
    solver: str = "scip",
) -> list[LocationResult]:
    """Solve the MCLP for several budgets (``by="count"`` or ``"cost"``), one result per budget.

    The reduced problem and the MIP are built once (only the budget row changes); each solve is
    warm-started from the previous answer when the budget grows (nested greedy), else from
    scratch, then improved by its own swaps; every budget gets its own bound (Lagrangian, LP,
    SCIP: never one shared between budgets). ``stop`` applies to each budget.
    """
    if by not in ("count", "cost"):
        raise ValueError(f"by must be 'count' or 'cost', got {by!r}")
    budgets = list(budgets)
    for b in budgets:
        _check_budgets(cast(int, b) if by == "count" else None, b if by == "cost" else None, required=True)
    stop = _check_run(stop, seed, solver)
    red, row_map = problem.reduced()
    model = None
    if solver == "scip" and budgets:
        first = budgets[0]
        model = _build_mclp(
            red,
            budget_count=cast(int, first) if by == "count" else None,
            budget_cost=first if by == "cost" else None,
            backup_weight=backup_weight,
        )
    results: list[LocationResult] = []
    previous: tuple[float, np.ndarray] | None = None
    for b in budgets:
        t0 = time.perf_counter()
        start = None
        if previous is not None and b >= previous[0]:
            start = _reduced_selection(red, previous[1], b, by)
        res = _solve_mclp_reduced(
            problem,
            red,
            row_map,
            t0=t0,
            budget_count=cast(int, b) if by == "count" else None,
            budget_cost=b if by == "cost" else None,
            backup_weight=backup_weight,
            stop=stop,
            seed=seed,
            solver=solver,
            warm_start=True,
            start=start,
            model=model,
        )
        results.append(res)
        previous = (b, res.selected)
    return results


def _reduced_selection(red: CoverageProblem, selected: np.ndarray, budget: float, by: str) -> np.ndarray | None:
    """``selected`` if it fits ``budget`` (candidates are the same in the reduced problem)."""
    used = selected.size if by == "count" else float(red.costs[selected].sum())
    return selected if used <= budget else None


# --------------------------------------------------------------------------------------------
# LSCP


def solve_lscp(
    problem: CoverageProblem,
    *,
    demand_mask: np.ndarray | None = None,
    stop: Stop = _DEFAULT_STOP,
    seed: int = 0,
    solver: str = "scip",
) -> LocationResult:
    """Set cover: fewest new candidates (cheapest, when costs differ) covering every row that needs it.

    A row needs covering when it is in ``demand_mask`` (default: every row) and has no existing
    credit. Rows no candidate covers are left out and counted in ``uncoverable`` (not an error).
    Weights are ignored. The per-group limit holds; if it makes the cover impossible the status
    is "infeasible" and the greedy selection is returned.
    """
    stop = _check_run(stop, seed, solver)
    t0 = time.perf_counter()
    deadline = t0 + stop.cap_s
    endings: list[str] = []
    n = problem.n_demand
    mask = np.ones(n, dtype=bool) if demand_mask is None else np.asarray(demand_mask)
    if mask.shape != (n,) or mask.dtype != bool:
        raise ValueError(f"demand_mask: must be a boolean array of shape ({n},)")
    need = mask & (problem.existing <= 0)
    coverable = np.diff(problem.coverage.indptr) > 0
    uncoverable = int((need & ~coverable).sum())
    binary = problem.coverage.copy()
    binary.data[:] = 1.0
    cover = CoverageProblem(binary, (need & coverable).astype(float), problem.costs, problem.groups, problem.max_per_group)
    red, _ = cover.reduced()

    def finish(selected, status, method, bound, solve_s, build_s, message="") -> LocationResult:
        selected = np.sort(np.asarray(selected, dtype=np.int64))
        credit, views = credit_and_views(problem, selected)
        objective = float(problem.costs[selected].sum())
        ending = merge_stopped_by(*cast(list[StoppedBy], endings))
        report_stop("set cover", ending, stop, time.perf_counter() - t0, method)
        if status == "optimal":
            gap = 0.0
        elif bound is not None and objective > 0:
            gap = max(0.0, (objective - bound) / objective)
        else:
            gap = None
        for arr in (selected, credit, views):
            arr.flags.writeable = False
        msg = message
        if uncoverable:
            msg = (msg + "; " if msg else "") + f"{uncoverable} demand rows no candidate covers"
        return LocationResult(
            selected,
            objective,
            bound,
            gap,
            status,
            solve_s,
            build_s,
            method,
            "lscp",
            credit,
            views,
            uncoverable=uncoverable,
            message=msg,
            stopped_by=ending,
        )

    heuristic = drop_redundant(red, greedy_mclp(red, budget_cost=None))
    if red.n_demand == 0:
        return finish(np.zeros(0), "optimal", "trivial", 0.0, time.perf_counter() - t0, 0.0)
    greedy_ok = _covers_all(red, heuristic)
    if solver == "greedy":
        return finish(
            heuristic,
            "greedy",
            "greedy",
            None,
            time.perf_counter() - t0,
            0.0,
            "" if greedy_ok else "the group limit left some rows uncovered",
        )
    tb = time.perf_counter()
    a = red.coverage
    m = a.shape[1]
    k = a.shape[0]
    _, ginv, gsize = np.unique(red.groups, return_inverse=True, return_counts=True)
    big = np.flatnonzero(gsize > red.max_per_group)
    gid = np.full(gsize.size, -1)
    gid[big] = np.arange(big.size)
    member = gid[ginv.ravel()] >= 0
    g_rows = sp.csr_matrix((np.ones(int(member.sum())), (gid[ginv.ravel()][member], np.flatnonzero(member))), shape=(big.size, m))
    mat = sp.vstack([a, g_rows], format="csr")
    model = _ortools.build_mip(
        red.costs,
        mat,
        np.concatenate([np.ones(k), np.full(big.size, -np.inf)]),
        np.concatenate([np.full(k, np.inf), np.full(big.size, float(red.max_per_group))]),
        np.zeros(m),
        np.ones(m),
        np.ones(m, dtype=bool),
        maximize=False,
    )
    build_s = time.perf_counter() - tb
    hint = None
    if greedy_ok:
        hint = np.zeros(m)
        hint[heuristic] = 1.0
    scip_s = max(0.1 * stop.cap_s, deadline - time.perf_counter())
    sol = _ortools.solve_mip(model, backend="scip", time_limit_s=scip_s, seed=seed, hint=hint, **stop.scip_limits())
    endings.append(_mip_ending(stop, sol, scip_s))
    if sol.status == "infeasible":
        return finish(
            heuristic,
            "infeasible",
            "scip",
            None,
            sol.solve_s,
            build_s,
            "the per-group limit makes a full cover impossible; greedy selection returned",
        )
    if sol.values is None:
        return finish(
            heuristic,
            "greedy",
            "scip→greedy",
            sol.bound,
            sol.solve_s,
            build_s,
            f"SCIP found no solution ({sol.status}) within its limits; greedy answer returned",
        )
    chosen = np.flatnonzero(sol.values[:m] > 0.5)
    return finish(chosen, sol.status, "scip", sol.bound, sol.solve_s, build_s)


def _covers_all(red: CoverageProblem, selected: np.ndarray) -> bool:
    if red.n_demand == 0:
        return True
    return bool((np.diff(red.coverage[:, selected].tocsr().indptr) > 0).all())


# --------------------------------------------------------------------------------------------
# p-median


def solve_pmedian(
    cost: np.ndarray,
    weights: np.ndarray,
    p: int,
    *,
    stop: Stop = _DEFAULT_STOP,
    seed: int = 0,
) -> LocationResult:
    """p-median: choose ``p`` candidates minimising ``Σ_i w_i · min_{j chosen} cost_ij``.

    Classic assignment MIP (dense: one variable per finite (demand, candidate) pair, so for
    small and medium sizes), hinted with greedy + Teitz–Bart swaps. ``cost`` ``inf``/NaN means
    unreachable. ``mean_distance`` = objective / Σ w.
    """
    stop = _check_run(stop, seed, "scip")
    t0 = time.perf_counter()
    deadline = t0 + stop.cap_s
    d = np.asarray(cost.toarray() if sp.issparse(cost) else cost, dtype=float)  # type: ignore[attr-defined]
    w = np.asarray(weights, dtype=float)
    if d.ndim != 2 or w.shape != (d.shape[0],):
        raise ValueError(f"cost must be 2-D and weights of length cost.shape[0]; got {d.shape} and {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("weights must be finite and ≥ 0")
    n, m = d.shape
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or not 1 <= p <= m:
        raise InfeasibleSettingsError.single(f"p must be an integer in 1..{m}, got {p!r}", field="p")
    finite = np.isfinite(d)
    active = w > 0
    if (active & ~finite.any(axis=1)).any():
        raise InfeasibleSettingsError.single(
            f"{int((active & ~finite.any(axis=1)).sum())} weighted demand rows reach no candidate", field="cost"
        )
    if (d[finite] < 0).any():
        raise ValueError("cost must be ≥ 0")
    heuristic, swap_end = greedy_pmedian_ending(d, w, p, deadline=t0 + 0.25 * stop.cap_s)

    def value(sel: np.ndarray) -> float:
        dd = np.where(finite, d, np.inf)[:, sel].min(axis=1)
        return float(w[active] @ dd[active])

    tb = time.perf_counter()
    rows = np.flatnonzero(active)
    ii, jj = np.nonzero(finite[rows])
    n_y = ii.size
    # variables: x (m), y (n_y); rows: assign (len(rows)), link (n_y), count (1)
    a_assign = sp.csr_matrix((np.ones(n_y), (ii, m + np.arange(n_y))), shape=(rows.size, m + n_y))
    a_link = sp.csr_matrix(
        (np.concatenate([np.ones(n_y), -np.ones(n_y)]), (np.tile(np.arange(n_y), 2), np.concatenate([m + np.arange(n_y), jj]))),
        shape=(n_y, m + n_y),
    )
    a_count = sp.csr_matrix((np.ones(m), (np.zeros(m, dtype=int), np.arange(m))), shape=(1, m + n_y))
    mat = sp.vstack([a_assign, a_link, a_count], format="csr")
    mat.sort_indices()
    obj = np.concatenate([np.zeros(m), w[rows][ii] * d[rows][ii, jj]])
    model = _ortools.build_mip(
        obj,
        mat,
        np.concatenate([np.ones(rows.size), np.full(n_y, -np.inf), [float(p)]]),
        np.concatenate([np.ones(rows.size), np.zeros(n_y), [float(p)]]),
        np.zeros(m + n_y),
        np.ones(m + n_y),
        np.concatenate([np.ones(m, dtype=bool), np.zeros(n_y, dtype=bool)]),
        maximize=False,
    )
    build_s = time.perf_counter() - tb
    # hint: x from the heuristic, each row assigned to its nearest chosen site
    xh = np.zeros(m)
    xh[heuristic] = 1.0
    dh = np.where(finite[rows][:, heuristic], d[rows][:, heuristic], np.inf)
    nearest = heuristic[np.argmin(dh, axis=1)]
    yh = (jj == nearest[ii]).astype(float)
    # rows tied between two chosen sites: keep only the first match
    first = np.zeros(n_y, dtype=bool)
    hit = np.flatnonzero(yh > 0)
    _, uniq = np.unique(ii[hit], return_index=True)
    first[hit[uniq]] = True
    scip_s = max(0.1 * stop.cap_s, deadline - time.perf_counter())
    sol = _ortools.solve_mip(
        model,
        backend="scip",
        time_limit_s=scip_s,
        seed=seed,
        hint=np.concatenate([xh, first.astype(float)]),
        **stop.scip_limits(),
    )
    total_w = float(w.sum())
    message = ""
    ending = merge_stopped_by("safety_cap" if swap_end == "safety_cap" else "complete", _mip_ending(stop, sol, scip_s))
    report_stop("p-median", ending, stop, time.perf_counter() - t0)
    if sol.values is None:
        chosen, status, method = heuristic, "greedy", "scip→greedy"
        message = f"SCIP found no solution ({sol.status}) within its limits; greedy answer returned"
    else:
        chosen, status, method = np.flatnonzero(sol.values[:m] > 0.5), sol.status, "scip"
        if value(heuristic) < value(chosen) - 1e-9 * max(1.0, value(chosen)):
            chosen, message = heuristic, "the greedy+swap answer beat SCIP's incumbent and is returned"
    chosen = np.sort(chosen.astype(np.int64))
    objective = value(chosen)
    bound = sol.bound
    if status == "optimal":
        gap = 0.0
    elif bound is not None and objective > 0:
        gap = max(0.0, (objective - bound) / objective)
    else:
        gap = None
    chosen.flags.writeable = False
    return LocationResult(
        chosen,
        objective,
        bound,
        gap,
        status,
        sol.solve_s,
        build_s,
        method,
        "pmedian",
        mean_distance=objective / total_w if total_w > 0 else None,
        message=message,
        stopped_by=ending,
    )
