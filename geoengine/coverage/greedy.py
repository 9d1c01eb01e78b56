"""Greedy and local-search heuristics for the location problems (numpy / scipy only).

* :func:`greedy_mclp` — greedy by marginal gain (per unit cost when costs differ). Gains of all
  candidates are kept in one vector and updated exactly after each pick from the rows the pick
  touches (a sparse row slice and a ``bincount``), so there is no Python loop over rows or
  candidates, and the update stays exact also for the backup term (which is not submodular, so
  a lazy heap would be wrong there).
* :func:`swap_improve` — 1-swap local search (drop one chosen site, add the best other) with the
  same incremental gains; it stops on a count of passes (deterministic), a wall-clock deadline
  only as a safety cap.
* :func:`drop_redundant` — removes chosen sites whose rows all keep a view (set cover clean-up).
* :func:`greedy_pmedian` — greedy add + Teitz–Bart swaps on a dense cost matrix (small sizes).

Objective of a coverage problem for a selection ``S``::

    f(S) = Σ_i w_i · max(existing_i, max_{j∈S} a_ij) + backup_weight · Σ_{i backup} w_i · [views_i(S) ≥ 2]
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from geoengine.coverage.problem import CoverageProblem

__all__ = [
    "credit_and_views",
    "drop_redundant",
    "greedy_mclp",
    "greedy_pmedian",
    "greedy_pmedian_ending",
    "mclp_value",
    "swap_improve",
    "swap_improve_ending",
]

log = logging.getLogger(__name__)


def credit_and_views(problem: CoverageProblem, selected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Credit (best of existing and chosen) and number of views (existing + chosen) per demand row."""
    sel = np.asarray(selected, dtype=np.int64)
    if sel.size == 0:
        return problem.existing.astype(float), problem.existing_views.astype(np.int64)
    sub = problem.coverage[:, sel].tocsr()
    best = sub.max(axis=1).toarray().ravel()
    credit = np.maximum(problem.existing, best)
    views = problem.existing_views.astype(np.int64) + np.diff(sub.indptr)
    return credit, views


def mclp_value(problem: CoverageProblem, selected: np.ndarray, *, backup_weight: float = 0.0) -> float:
    """``f(S)`` above: covered weight plus the weighted backup term."""
    credit, views = credit_and_views(problem, selected)
    value = float(problem.weights @ credit)
    if backup_weight:
        value += backup_weight * float(problem.weights[problem.backup & (views >= 2)].sum())
    return value


class _State:
    """Credit, views and the gain of every candidate for the current selection (private, mutable)."""

    def __init__(self, problem: CoverageProblem, backup_weight: float) -> None:
        self.csr = problem.coverage
        self.csc = problem.coverage.tocsc()
        self.csc.sort_indices()
        self.w = problem.weights.astype(float)
        self.bw = backup_weight * self.w * problem.backup if backup_weight else np.zeros_like(self.w)
        self.existing = problem.existing.astype(float)
        self.credit = self.existing.copy()
        self.views = problem.existing_views.astype(np.int64).copy()
        self.m = problem.coverage.shape[1]
        self.chosen = np.zeros(self.m, dtype=bool)
        self.gain = self._gains(self.csr, np.arange(self.csr.shape[0]))

    def _gains(self, sub, rows: np.ndarray) -> np.ndarray:
        """Gain of adding each candidate, summed over ``rows`` (``sub`` = those rows of the matrix)."""
        rr = np.repeat(rows, np.diff(sub.indptr))
        g = self.w[rr] * np.maximum(sub.data - self.credit[rr], 0.0) + self.bw[rr] * (self.views[rr] == 1)
        return np.bincount(sub.indices, weights=g, minlength=self.m)

    def value_of(self, rows: np.ndarray) -> float:
        return float(self.w[rows] @ self.credit[rows] + self.bw[rows] @ (self.views[rows] >= 2))

    def refresh(self) -> None:
        self.gain = self._gains(self.csr, np.arange(self.csr.shape[0]))

    def add(self, j: int) -> None:
        s, e = self.csc.indptr[j], self.csc.indptr[j + 1]
        rows, vals = self.csc.indices[s:e], self.csc.data[s:e]
        sub = self.csr[rows]
        self.gain -= self._gains(sub, rows)
        self.credit[rows] = np.maximum(self.credit[rows], vals)
        self.views[rows] += 1
        self.gain += self._gains(sub, rows)
        self.chosen[j] = True

    def remove(self, j: int) -> float:
        """Drop ``j``; return the loss in objective."""
        s, e = self.csc.indptr[j], self.csc.indptr[j + 1]
        rows = self.csc.indices[s:e]
        sub = self.csr[rows]
        before = self.value_of(rows)
        self.gain -= self._gains(sub, rows)
        self.chosen[j] = False
        keep = self.chosen[sub.indices]
        local = np.repeat(np.arange(rows.size), np.diff(sub.indptr))
        credit = self.existing[rows].copy()
        np.maximum.at(credit, local[keep], sub.data[keep])
        self.credit[rows] = credit
        self.views[rows] -= 1
        self.gain += self._gains(sub, rows)
        return before - self.value_of(rows)


def _group_index(problem: CoverageProblem) -> tuple[np.ndarray, int]:
    _, inv = np.unique(problem.groups, return_inverse=True)
    return inv.ravel(), int(inv.max()) + 1 if inv.size else 0


def greedy_mclp(
    problem: CoverageProblem,
    *,
    budget_count: int | None = None,
    budget_cost: float | None = None,
    backup_weight: float = 0.0,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """Greedy selection under the budget(s) and the per-group limit; returns sorted candidate indices.

    Each step adds the candidate with the largest gain (gain per unit cost when ``budget_cost`` is
    given), stopping when no candidate adds anything or the budget is used. ``start`` is a feasible
    selection to extend (nested greedy for budget sweeps). With a cost budget, the best single
    affordable candidate is returned instead when it alone is better (the classic safeguard).
    With no budget at all, greedy runs until nothing adds value (the set-cover greedy).
    """
    state = _State(problem, backup_weight)
    costs = problem.costs
    ginv, n_groups = _group_index(problem)
    used = np.zeros(n_groups, dtype=np.int64)
    spent = 0.0
    chosen: list[int] = []
    for j in [] if start is None else np.asarray(start, dtype=np.int64).tolist():
        state.add(j)
        used[ginv[j]] += 1
        spent += costs[j]
        chosen.append(j)
    initial_gain = state.gain.copy()
    scale = 1e-12 * max(1.0, float(problem.weights.sum()))
    by_ratio = budget_cost is not None
    while budget_count is None or len(chosen) < budget_count:
        ok = ~state.chosen & (used[ginv] < problem.max_per_group) & (state.gain > scale)
        if budget_cost is not None:
            ok &= costs <= budget_cost - spent + 1e-9 * max(1.0, budget_cost)
        if not ok.any():
            break
        score = state.gain / costs if by_ratio else state.gain
        j = int(np.argmax(np.where(ok, score, -np.inf)))
        state.add(j)
        used[ginv[j]] += 1
        spent += costs[j]
        chosen.append(j)
    sel = np.sort(np.asarray(chosen, dtype=np.int64))
    if budget_cost is not None and start is None:
        fits = costs <= budget_cost + 1e-9 * max(1.0, budget_cost)
        if fits.any():
            single = int(np.argmax(np.where(fits, initial_gain, -np.inf)))
            base = float(problem.weights @ problem.existing)
            if base + initial_gain[single] > mclp_value(problem, sel, backup_weight=backup_weight) + scale:
                sel = np.array([single], dtype=np.int64)
    return sel


def swap_improve(
    problem: CoverageProblem,
    selected: np.ndarray,
    *,
    budget_cost: float | None = None,
    backup_weight: float = 0.0,
    deadline: float | None = None,
    max_passes: int = 20,
) -> np.ndarray:
    """1-swap local search: for each chosen site, swap it for the best unchosen one if that improves.

    Keeps the count, the cost budget and the group limits. Stops after a pass with no improvement,
    ``max_passes`` passes (both deterministic), or at ``deadline`` (a ``time.perf_counter()``
    value: the safety cap). :func:`swap_improve_ending` also says which of the three happened.
    """
    return swap_improve_ending(
        problem, selected, budget_cost=budget_cost, backup_weight=backup_weight, deadline=deadline, max_passes=max_passes
    )[0]


def swap_improve_ending(
    problem: CoverageProblem,
    selected: np.ndarray,
    *,
    budget_cost: float | None = None,
    backup_weight: float = 0.0,
    deadline: float | None = None,
    max_passes: int = 20,
) -> tuple[np.ndarray, str]:
    """:func:`swap_improve` and how it ended: "complete" (a pass without improvement), "work"
    (``max_passes`` used up) or "safety_cap" (the ``deadline``)."""
    sel = [int(j) for j in np.asarray(selected, dtype=np.int64)]
    if not sel:
        return np.asarray(sel, dtype=np.int64), "complete"
    state = _State(problem, backup_weight)
    costs = problem.costs
    ginv, n_groups = _group_index(problem)
    used = np.zeros(n_groups, dtype=np.int64)
    for j in sel:
        state.add(j)
        used[ginv[j]] += 1
    spent = float(costs[sel].sum())
    tol = 1e-9 * max(1.0, float(problem.weights.sum()))
    n_swaps = 0
    for _ in range(max_passes):
        state.refresh()  # no drift from the incremental updates
        improved = False
        for pos in range(len(sel)):
            if deadline is not None and time.perf_counter() > deadline:
                log.debug("swap: stopped at the deadline after %d swaps", n_swaps)
                return np.sort(np.asarray(sel, dtype=np.int64)), "safety_cap"
            j = sel[pos]
            loss = state.remove(j)
            used[ginv[j]] -= 1
            ok = ~state.chosen & (used[ginv] < problem.max_per_group)
            ok[j] = False
            if budget_cost is not None:
                ok &= costs <= budget_cost - (spent - costs[j]) + 1e-9 * max(1.0, budget_cost)
            k = int(np.argmax(np.where(ok, state.gain, -np.inf)))
            if ok[k] and state.gain[k] > loss + tol:
                sel[pos] = k
                spent += costs[k] - costs[j]
                improved = True
                n_swaps += 1
            else:
                k = j
            state.add(k)
            used[ginv[k]] += 1
        if not improved:
            ending = "complete"
            break
    else:
        ending = "work"
    log.debug("swap: %d improving swaps (%s)", n_swaps, ending)
    return np.sort(np.asarray(sel, dtype=np.int64)), ending


def drop_redundant(problem: CoverageProblem, selected: np.ndarray) -> np.ndarray:
    """Remove chosen sites (most expensive first) whose every covered row keeps another view."""
    sel = np.asarray(selected, dtype=np.int64)
    if sel.size == 0:
        return sel
    csc = problem.coverage.tocsc()
    views = np.zeros(problem.coverage.shape[0], dtype=np.int64)
    for j in sel:
        views[csc.indices[csc.indptr[j] : csc.indptr[j + 1]]] += 1
    keep = []
    for j in sel[np.argsort(-problem.costs[sel], kind="stable")]:
        rows = csc.indices[csc.indptr[j] : csc.indptr[j + 1]]
        if rows.size and (views[rows] >= 2).all():
            views[rows] -= 1
        elif rows.size:
            keep.append(int(j))
    return np.sort(np.asarray(keep, dtype=np.int64))


def greedy_pmedian(
    cost: np.ndarray, weights: np.ndarray, p: int, *, deadline: float | None = None, max_passes: int = 20
) -> np.ndarray:
    """Greedy add then Teitz–Bart swaps for the p-median on a dense matrix (``inf`` = unreachable).

    Stops after a pass without improvement or ``max_passes`` passes (deterministic), or at the
    ``deadline`` safety cap; :func:`greedy_pmedian_ending` also says which."""
    return greedy_pmedian_ending(cost, weights, p, deadline=deadline, max_passes=max_passes)[0]


def greedy_pmedian_ending(
    cost: np.ndarray, weights: np.ndarray, p: int, *, deadline: float | None = None, max_passes: int = 20
) -> tuple[np.ndarray, str]:
    """:func:`greedy_pmedian` and how it ended ("complete", "work" or "safety_cap")."""
    d = np.where(np.isfinite(cost), cost, np.nan)
    big = 10.0 * (np.nanmax(d) if np.isfinite(d).any() else 1.0) + 1.0
    d = np.nan_to_num(d, nan=big)
    w = np.asarray(weights, dtype=float)
    n, m = d.shape
    cur = np.full(n, big * 10.0)
    sel: list[int] = []
    for _ in range(p):
        totals = w @ np.minimum(cur[:, None], d)
        totals[sel] = np.inf
        j = int(np.argmin(totals))
        sel.append(j)
        cur = np.minimum(cur, d[:, j])
    best = float(w @ cur)
    for _ in range(max_passes):
        improved = False
        for pos in range(len(sel)):
            if deadline is not None and time.perf_counter() > deadline:
                return np.sort(np.asarray(sel, dtype=np.int64)), "safety_cap"
            others = sel[:pos] + sel[pos + 1 :]
            base = d[:, others].min(axis=1) if others else np.full(n, big * 10.0)
            totals = w @ np.minimum(base[:, None], d)
            totals[sel] = np.inf
            k = int(np.argmin(totals))
            if totals[k] < best - 1e-9 * max(1.0, abs(best)):
                sel[pos] = k
                best = float(totals[k])
                improved = True
        if not improved:
            ending = "complete"
            break
    else:
        ending = "work"
    return np.sort(np.asarray(sel, dtype=np.int64)), ending
