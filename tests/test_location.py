"""Location problems on hand-made matrices (known optima), the SF benchmark, and properties."""

from __future__ import annotations

import itertools
import json
import time

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geoengine.coverage import _ortools
from geoengine.coverage import problem as problem_mod
from geoengine.coverage.greedy import greedy_mclp, mclp_value, swap_improve
from geoengine.coverage.problem import (
    CoverageProblem,
    LocationResult,
    coverage_curve,
    lagrangian_mclp_bound,
    solve_lscp,
    solve_mclp,
    solve_pmedian,
)
from geoengine.coverage.stop import Limits, MaxRuntime
from geoengine.errors import GeoEngineError, InfeasibleSettingsError

STOP = MaxRuntime(10)


def brute_force(
    a: np.ndarray,
    w: np.ndarray,
    *,
    count: int | None = None,
    cost_budget: float | None = None,
    costs: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    max_per_group: int = 1,
    existing: np.ndarray | None = None,
    existing_views: np.ndarray | None = None,
    backup: np.ndarray | None = None,
    backup_weight: float = 0.0,
) -> tuple[float, tuple[int, ...]]:
    """Best value over every subset, written independently of the package (plain loops)."""
    n, m = a.shape
    costs = np.ones(m) if costs is None else costs
    groups = np.arange(m) if groups is None else groups
    existing = np.zeros(n) if existing is None else existing
    existing_views = np.zeros(n, int) if existing_views is None else existing_views
    backup = np.zeros(n, bool) if backup is None else backup
    best, best_set = -np.inf, ()
    for k in range(m + 1):
        for subset in itertools.combinations(range(m), k):
            if count is not None and k > count:
                continue
            if cost_budget is not None and sum(costs[j] for j in subset) > cost_budget + 1e-9:
                continue
            if any(sum(1 for j in subset if groups[j] == g) > max_per_group for g in set(groups.tolist())):
                continue
            value = 0.0
            for i in range(n):
                credit = max([existing[i]] + [a[i, j] for j in subset])
                views = existing_views[i] + sum(1 for j in subset if a[i, j] > 0)
                value += w[i] * credit + (backup_weight * w[i] if backup[i] and views >= 2 else 0.0)
            if value > best + 1e-9:
                best, best_set = value, subset
    return best, best_set


# "Just five tracts and five sites": greedy takes site 0 (4.5) first and ends at 6.5;
# sites 1 and 2 together cover 8.
GREEDY_TRAP = np.array(
    [
        # c0 c1 c2 c3 c4
        [0, 1, 0, 0, 0],  # r0 w2
        [1, 1, 0, 0, 0],  # r1 w2
        [1, 0, 1, 0, 0],  # r2 w2
        [0, 0, 1, 1, 0],  # r3 w2
        [1, 0, 0, 0, 1],  # r4 w0.5
    ],
    dtype=float,
)
TRAP_W = np.array([2.0, 2.0, 2.0, 2.0, 0.5])


@pytest.fixture(scope="session")
def trap() -> CoverageProblem:
    return CoverageProblem.from_coverage_matrix(sp.csr_matrix(GREEDY_TRAP), TRAP_W)


# ---------------------------------------------------------------------------------------------
# hand-made optima


def test_greedy_is_trapped_but_scip_finds_the_optimum(trap: CoverageProblem) -> None:
    greedy = greedy_mclp(trap, budget_count=2)
    assert 0 in greedy and mclp_value(trap, greedy) == pytest.approx(6.5)
    for warm in (True, False):
        res = solve_mclp(trap, budget_count=2, stop=STOP, warm_start=warm)
        assert res.selected.tolist() == [1, 2]
        assert res.objective == pytest.approx(8.0)
        assert res.status == "optimal" and res.gap == 0.0
        assert res.bound == pytest.approx(8.0)
        # with the warm start the swap reaches 8 and the Lagrangian bound proves it: no MIP needed
        assert res.problem_kind == "mclp" and res.method == ("greedy+swap" if warm else "scip")
        assert res.credit.tolist() == [1, 1, 1, 1, 0]
        assert res.views.tolist() == [1, 1, 1, 1, 0]


def test_swap_escapes_the_greedy_trap(trap: CoverageProblem) -> None:
    assert swap_improve(trap, np.array([0, 1])).tolist() == [1, 2]
    res = solve_mclp(trap, budget_count=2, solver="greedy")
    assert res.status == "greedy" and res.objective == pytest.approx(8.0)
    # LP relaxation of this instance is integral at 8
    assert res.bound == pytest.approx(8.0) and res.gap == pytest.approx(0.0)


def test_group_limit_one_camera_per_pole() -> None:
    groups = np.array([0, 1, 1, 2, 3])  # sites 1 and 2 are two headings of one pole
    p = CoverageProblem.from_coverage_matrix(GREEDY_TRAP, TRAP_W, groups=groups)
    res = solve_mclp(p, budget_count=2, stop=STOP)
    assert not {1, 2} <= set(res.selected.tolist())
    assert res.objective == pytest.approx(6.5) == brute_force(GREEDY_TRAP, TRAP_W, count=2, groups=groups)[0]
    two = CoverageProblem.from_coverage_matrix(GREEDY_TRAP, TRAP_W, groups=groups, max_per_group=2)
    assert solve_mclp(two, budget_count=2, stop=STOP).objective == pytest.approx(8.0)


def test_cost_budget() -> None:
    costs = np.array([1.0, 3.0, 3.0, 1.0, 1.0])
    p = CoverageProblem.from_coverage_matrix(GREEDY_TRAP, TRAP_W, costs=costs)
    res = solve_mclp(p, budget_cost=5.0, stop=STOP)
    expected, best = brute_force(GREEDY_TRAP, TRAP_W, cost_budget=5.0, costs=costs)
    assert res.objective == pytest.approx(expected) == pytest.approx(8.5)  # c0 + c1 + c3
    assert costs[res.selected].sum() <= 5.0
    assert res.selected.tolist() == list(best)
    both = solve_mclp(p, budget_cost=6.0, budget_count=2, stop=STOP)
    assert both.selected.tolist() == [1, 2] and both.objective == pytest.approx(8.0)


def test_tiers_give_partial_credit_and_take_the_best_not_the_sum() -> None:
    a = np.array([[0.6, 1.0], [1.0, 0.3]])
    w = np.array([10.0, 10.0])
    p = CoverageProblem.from_coverage_matrix(a, w)
    one = solve_mclp(p, budget_count=1, stop=STOP)
    assert one.selected.tolist() == [0]
    assert one.objective == pytest.approx(16.0)
    assert one.credit.tolist() == pytest.approx([0.6, 1.0])
    two = solve_mclp(p, budget_count=2, stop=STOP)
    assert two.objective == pytest.approx(20.0)  # max per row, not 0.6 + 1.0
    assert two.bound == pytest.approx(20.0)


def test_existing_credit_reduces_what_new_sites_are_worth() -> None:
    a = np.array([[1.0, 0.0], [0.0, 1.0]])
    w = np.array([10.0, 3.0])
    fresh = solve_mclp(CoverageProblem.from_coverage_matrix(a, w), budget_count=1, stop=STOP)
    assert fresh.selected.tolist() == [0] and fresh.objective == pytest.approx(10.0)
    p = CoverageProblem.from_coverage_matrix(a, w, existing=np.array([0.8, 0.0]))
    res = solve_mclp(p, budget_count=1, stop=STOP)
    assert res.selected.tolist() == [1]
    assert res.objective == pytest.approx(8.0 + 3.0)  # existing credit counts in the objective
    assert res.credit.tolist() == pytest.approx([0.8, 1.0])
    # a tier at or below the existing credit is worth nothing
    low = CoverageProblem.from_coverage_matrix(np.array([[0.5, 0.0], [0.0, 0.2]]), w, existing=np.array([0.6, 0.0]))
    res = solve_mclp(low, budget_count=1, stop=STOP)
    assert res.selected.tolist() == [1] and res.objective == pytest.approx(6.0 + 0.6)


def test_backup_needs_two_views() -> None:
    a = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    w = np.array([5.0, 1.0])
    key = np.array([True, False])
    p = CoverageProblem.from_coverage_matrix(a, w, backup=key)
    plain = solve_mclp(p, budget_count=2, stop=STOP)
    assert 2 in plain.selected and plain.objective == pytest.approx(6.0)
    for warm in (True, False):  # cold: the MIP alone must get it right
        res = solve_mclp(p, budget_count=2, backup_weight=1.0, stop=STOP, warm_start=warm)
        assert res.selected.tolist() == [0, 1] and not res.message
        assert res.objective == pytest.approx(5.0 + 5.0) == res.bound
        assert res.views.tolist() == [2, 0] and res.problem_kind == "backup"
    assert greedy_mclp(p, budget_count=2, backup_weight=1.0).tolist() == [0, 1]
    # one existing camera already sees the key site: one new view gives the backup
    seen = CoverageProblem.from_coverage_matrix(a, w, backup=key, existing_views=np.array([1, 0]))
    res = solve_mclp(seen, budget_count=2, backup_weight=1.0, stop=STOP)
    assert 2 in res.selected and res.objective == pytest.approx(5.0 + 5.0 + 1.0)
    assert res.views[0] == 2


def test_reduced_merges_identical_rows_exactly() -> None:
    a = sp.csr_matrix(
        np.array(
            [
                [1.0, 0.5, 0.0],  # 0
                [0.0, 1.0, 0.0],  # 1
                [1.0, 0.5, 0.0],  # 2 = row 0
                [1.0, 0.6, 0.0],  # 3 same columns, other credit
                [1.0, 0.5, 0.0],  # 4 = row 0 but existing credit differs
                [0.0, 0.0, 0.0],  # 5 no candidate: dropped
                [0.0, 1.0, 0.0],  # 6 = row 1 but weight 0
                [0.0, 0.0, 0.4],  # 7 existing credit already better: dropped
                [1.0, 0.5, 0.0],  # 8 = row 0 but a key site
            ]
        )
    )
    w = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.0, 8.0, 9.0])
    existing = np.array([0, 0, 0, 0, 0.2, 0, 0, 0.5, 0])
    backup = np.zeros(9, bool)
    backup[8] = True
    p = CoverageProblem.from_coverage_matrix(a, w, existing=existing, backup=backup)
    red, row_map = p.reduced()
    assert row_map.tolist() == [0, 1, 0, 2, 3, -1, 1, -1, 4]
    assert red.weights.tolist() == [4.0, 2.0, 4.0, 5.0, 9.0]
    assert (red.coverage != a[[0, 1, 3, 4, 8]]).nnz == 0
    assert red.existing.tolist() == [0, 0, 0, 0.2, 0] and red.backup.tolist() == [0, 0, 0, 0, 1]
    for count in (1, 2):
        full, _ = brute_force(a.toarray(), w, count=count, existing=existing, backup=backup)
        small, _ = brute_force(red.coverage.toarray(), red.weights, count=count, existing=red.existing)
        dropped = float(w[row_map < 0] @ existing[row_map < 0])
        assert small + dropped == pytest.approx(full)
        assert solve_mclp(p, budget_count=count, stop=STOP).objective == pytest.approx(full)


def test_reduced_keeps_backup_rows_that_can_gain_a_second_view() -> None:
    a = np.array([[0.5, 0.5], [0.5, 0.5]])
    p = CoverageProblem.from_coverage_matrix(a, np.ones(2), existing=np.array([1.0, 1.0]), backup=np.array([True, False]))
    _, row_map = p.reduced()
    assert row_map.tolist() == [0, -1]


def test_reduced_is_vectorised_on_a_large_matrix() -> None:
    rng = np.random.default_rng(1)
    base = sp.random(2_000, 300, density=0.02, format="csr", random_state=rng, data_rvs=lambda k: np.ones(k))
    a = sp.vstack([base, base, base], format="csr")  # every row three times
    p = CoverageProblem.from_coverage_matrix(a, np.ones(6_000))
    red, row_map = p.reduced()
    keep = np.diff(base.indptr) > 0
    unique_rows = {tuple(base.indices[base.indptr[i] : base.indptr[i + 1]]) for i in np.flatnonzero(keep)}
    assert red.n_demand == len(unique_rows)
    assert red.weights.sum() == pytest.approx(3 * keep.sum())
    assert (row_map[:2000] == row_map[2000:4000]).all() and (row_map[:2000] == row_map[4000:]).all()


def test_lscp_reports_uncoverable_rows_and_skips_existing() -> None:
    a = np.array(
        [
            [1, 0, 0, 0],
            [1, 1, 0, 0],
            [0, 1, 1, 0],
            [0, 0, 1, 0],
            [0, 0, 0, 0],  # nobody covers this row
            [0, 0, 0, 1],  # only site 3, but an existing camera covers it already
        ],
        dtype=float,
    )
    existing = np.array([0, 0, 0, 0, 0, 1.0])
    p = CoverageProblem.from_coverage_matrix(a, np.ones(6), existing=existing)
    res = solve_lscp(p, stop=STOP)
    assert res.selected.tolist() == [0, 2]
    assert res.objective == 2 and res.status == "optimal" and res.gap == 0.0
    assert res.uncoverable == 1 and "1 demand rows" in res.message and "uncoverable" in res.summary()
    mask = np.array([True, False, False, True, True, True])
    assert solve_lscp(p, demand_mask=mask, stop=STOP).selected.tolist() == [0, 2]
    assert solve_lscp(p, demand_mask=np.array([False, False, True, False, False, False])).n_selected == 1
    # cheapest, not fewest, when costs differ
    costs = np.array([1.0, 5.0, 1.0, 1.0])
    cheap = solve_lscp(CoverageProblem.from_coverage_matrix(a, np.ones(6), costs=costs, existing=existing))
    assert cheap.selected.tolist() == [0, 2] and cheap.objective == 2.0


def test_lscp_greedy_is_a_cover() -> None:
    rng = np.random.default_rng(3)
    a = (rng.random((60, 25)) < 0.1).astype(float)
    p = CoverageProblem.from_coverage_matrix(a, np.ones(60))
    exact = solve_lscp(p, stop=STOP)
    greedy = solve_lscp(p, solver="greedy")
    for res in (exact, greedy):
        covered = a[:, res.selected].sum(axis=1) > 0
        assert (covered | (a.sum(axis=1) == 0)).all()
    assert exact.objective <= greedy.objective
    assert exact.uncoverable == int((a.sum(axis=1) == 0).sum())


def test_pmedian_tiny() -> None:
    d = np.array(
        [
            [0.0, 4.0, 9.0],
            [3.0, 1.0, 8.0],
            [7.0, 2.0, 1.0],
            [9.0, 6.0, 0.0],
        ]
    )
    w = np.array([1.0, 2.0, 1.0, 3.0])
    one = solve_pmedian(d, w, 1, stop=STOP)
    # totals: site 0 = 0+6+7+27 = 40, site 1 = 4+2+2+18 = 26, site 2 = 9+16+1+0 = 26 → tie; bound proves 26
    assert one.objective == pytest.approx(26.0) and one.status == "optimal"
    two = solve_pmedian(d, w, 2, stop=STOP)
    # {1, 2}: 4 + 2 + 1 + 0 = 7; {0, 2}: 0 + 6 + 1 + 0 = 7; {0, 1}: 0 + 2 + 2 + 18 = 22
    assert two.objective == pytest.approx(7.0) and two.bound == pytest.approx(7.0)
    assert two.mean_distance == pytest.approx(7.0 / 7.0)
    assert "mean distance" in two.summary()
    three = solve_pmedian(np.where(d > 8, np.inf, d), w, 2, stop=STOP)  # unreachable pairs
    assert three.objective == pytest.approx(7.0)
    with pytest.raises(InfeasibleSettingsError):
        solve_pmedian(d, w, 4)


# ---------------------------------------------------------------------------------------------
# statuses, determinism, curve, validation


def test_no_mip_solution_falls_back_to_greedy_and_says_so(trap: CoverageProblem, monkeypatch) -> None:
    monkeypatch.setattr(problem_mod, "_SKIP_MIP_WHEN_PROVEN", False)

    def nothing(model, **kwargs):
        return _ortools.MipSolution("no_solution", None, None, 9.0, 0.01, "scip")

    monkeypatch.setattr(_ortools, "solve_mip", nothing)
    res = solve_mclp(trap, budget_count=2)
    assert res.status == "greedy" and res.method == "scip→greedy"
    # SCIP's 9 is beaten by the singleton-gain bound (4.5 + 4 = 8.5) and that by the Lagrangian (8)
    assert res.objective == pytest.approx(8.0) and res.bound == pytest.approx(8.0)
    assert res.gap == pytest.approx(0.0)
    assert "greedy answer returned" in res.summary()


def test_bound_without_solver_bound_is_still_valid(monkeypatch) -> None:
    monkeypatch.setattr(problem_mod, "_SKIP_MIP_WHEN_PROVEN", False)

    def nothing(model, **kwargs):
        return _ortools.MipSolution("no_solution", None, None, None, 0.01, "scip")

    monkeypatch.setattr(_ortools, "solve_mip", nothing)
    a = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0], [0.5, 0.0, 1.0]])
    w = np.array([1.0, 2.0, 4.0])
    p = CoverageProblem.from_coverage_matrix(a, w, costs=np.array([1.0, 2.0, 2.0]))
    for kw in ({"budget_count": 1}, {"budget_cost": 3.0}, {"budget_count": 3}):
        res = solve_mclp(p, **kw)
        truth, _ = brute_force(a, w, count=kw.get("budget_count"), cost_budget=kw.get("budget_cost"), costs=p.costs)
        assert res.status == "greedy" and res.bound >= truth - 1e-9
    assert solve_mclp(p, budget_count=1).bound == pytest.approx(6.0)  # site 2 alone: 2 + 4


def test_same_seed_same_plan() -> None:
    rng = np.random.default_rng(7)
    a = sp.random(400, 80, density=0.05, format="csr", random_state=rng)
    a.data = np.round(a.data * 3 + 0.5) / 3.5
    w = rng.random(400)
    p = CoverageProblem.from_coverage_matrix(a, w, groups=np.arange(80) // 4)
    r1 = solve_mclp(p, budget_count=8, stop=MaxRuntime(5), seed=3)
    r2 = solve_mclp(p, budget_count=8, stop=MaxRuntime(5), seed=3)
    assert r1.selected.tolist() == r2.selected.tolist() and r1.objective == r2.objective


def test_coverage_curve_matches_single_solves(trap: CoverageProblem) -> None:
    curve = coverage_curve(trap, [1, 2, 3, 4], stop=STOP)
    objectives = [r.objective for r in curve]
    assert objectives == pytest.approx([4.5, 8.0, 8.5, 8.5])
    for b, r in zip([1, 2, 3, 4], curve, strict=True):
        assert r.n_selected <= b
        assert r.objective == pytest.approx(solve_mclp(trap, budget_count=b, stop=STOP).objective)
    costs = np.array([1.0, 3.0, 3.0, 1.0, 1.0])
    pc = CoverageProblem.from_coverage_matrix(GREEDY_TRAP, TRAP_W, costs=costs)
    by_cost = coverage_curve(pc, [6.0, 2.0, 5.0], by="cost", stop=STOP)
    for b, r in zip([6.0, 2.0, 5.0], by_cost, strict=True):
        assert r.objective == pytest.approx(brute_force(GREEDY_TRAP, TRAP_W, cost_budget=b, costs=costs)[0])


def test_validation_collects_problems() -> None:
    with pytest.raises(ValueError, match="coverage") as info:
        CoverageProblem.from_coverage_matrix(np.array([[1.5, 0.0]]), np.array([1.0, 2.0]))
    assert "weights" in str(info.value)  # both problems reported at once
    with pytest.raises(ValueError, match="costs"):
        CoverageProblem.from_coverage_matrix(np.eye(2), np.ones(2), costs=np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="max_per_group"):
        CoverageProblem.from_coverage_matrix(np.eye(2), np.ones(2), max_per_group=0)
    p = CoverageProblem.from_coverage_matrix(np.eye(2), np.ones(2))
    with pytest.raises(InfeasibleSettingsError, match="budget"):
        solve_mclp(p)
    with pytest.raises(GeoEngineError):
        solve_mclp(p, budget_count=-1)
    with pytest.raises(InfeasibleSettingsError, match="service radius"):
        CoverageProblem.from_cost_matrix(np.eye(2), np.ones(2), service_radius=0)
    with pytest.raises(ValueError, match="seconds"):
        MaxRuntime(0)
    with pytest.raises(ValueError, match="solver"):
        solve_mclp(p, budget_count=1, solver="cplex")
    assert p.weights.flags.writeable is False


def test_from_cost_matrix_is_inclusive_and_ignores_unreachable() -> None:
    cost = np.array([[100.0, np.inf], [250.0, np.nan], [50.0, 200.0]])
    p = CoverageProblem.from_cost_matrix(cost, np.ones(3), service_radius=200)
    assert p.coverage.toarray().tolist() == [[1, 0], [0, 0], [1, 1]]


def test_summary_is_one_short_table(trap: CoverageProblem) -> None:
    text = solve_mclp(trap, budget_count=2, stop=STOP).summary()
    for word in ("mclp", "method", "optimal", "objective", "bound", "gap", "selected", "solve_s", "build_s"):
        assert word in text
    assert len(text.splitlines()) <= 12
    assert isinstance(solve_mclp(trap, budget_count=2, stop=STOP), LocationResult)


# ---------------------------------------------------------------------------------------------
# properties


@st.composite
def small_problems(draw):
    n = draw(st.integers(1, 7))
    m = draw(st.integers(1, 6))
    levels = st.sampled_from([0.0, 0.0, 0.3, 0.6, 1.0])
    a = np.array(draw(st.lists(st.lists(levels, min_size=m, max_size=m), min_size=n, max_size=n)))
    if draw(st.booleans()):  # duplicate rows so that reduced() merges something
        a = np.vstack([a, a[: draw(st.integers(0, n))]])
    n = a.shape[0]
    w = np.array(draw(st.lists(st.sampled_from([0.0, 1.0, 2.5, 4.0]), min_size=n, max_size=n)))
    existing = np.array(draw(st.lists(st.sampled_from([0.0, 0.0, 0.3, 0.6]), min_size=n, max_size=n)))
    ev = (existing > 0).astype(int)
    backup = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    groups = np.array(draw(st.lists(st.integers(0, 3), min_size=m, max_size=m)))
    costs = np.array(draw(st.lists(st.sampled_from([1.0, 2.0, 3.0]), min_size=m, max_size=m)))
    count = draw(st.integers(1, m))
    cost_budget = draw(st.one_of(st.none(), st.sampled_from([2.0, 4.0, 6.0])))
    bw = draw(st.sampled_from([0.0, 0.5]))
    mpg = draw(st.integers(1, 2))
    return a, w, existing, ev, backup, groups, costs, count, cost_budget, bw, mpg


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_problems())
def test_scip_is_optimal_and_between_greedy_and_its_bound(case) -> None:
    a, w, existing, ev, backup, groups, costs, count, cost_budget, bw, mpg = case
    p = CoverageProblem.from_coverage_matrix(
        a, w, costs=costs, groups=groups, max_per_group=mpg, existing=existing, existing_views=ev, backup=backup
    )
    kw = dict(budget_count=count, budget_cost=cost_budget, backup_weight=bw)
    exact = solve_mclp(p, **kw, stop=STOP)
    cold = solve_mclp(p, **kw, stop=STOP, warm_start=False)  # the MIP alone, no greedy incumbent
    greedy = solve_mclp(p, **kw, solver="greedy")
    truth, _ = brute_force(
        a,
        w,
        count=count,
        cost_budget=cost_budget,
        costs=costs,
        groups=groups,
        max_per_group=mpg,
        existing=existing,
        existing_views=ev,
        backup=backup,
        backup_weight=bw,
    )
    tol = 1e-6 * max(1.0, truth)
    assert exact.status == "optimal"
    assert exact.objective == pytest.approx(truth, abs=tol)
    assert exact.objective >= greedy.objective - tol
    assert cold.status == "optimal" and cold.objective == pytest.approx(truth, abs=tol)
    assert cold.bound == pytest.approx(truth, abs=tol)  # the model's value is the true value
    assert exact.bound is not None and exact.objective <= exact.bound + tol
    if greedy.bound is not None:  # the LP bound is a valid upper bound
        assert greedy.bound >= truth - tol
    # the Lagrangian bound too (tiers, backup views, groups, costs), and no weaker than the trivial one
    lag = lagrangian_mclp_bound(p, **kw)
    assert lag >= truth - tol
    red0, map0 = p.reduced()
    trivial = problem_mod._simple_bound(red0, budget_count=count, budget_cost=cost_budget, backup_weight=bw)
    assert lag <= trivial + problem_mod._dropped_constant(p, map0, bw) + tol
    # the selection is feasible and its reported value is right
    sel = exact.selected
    assert sel.size <= count and np.bincount(groups[sel], minlength=4).max(initial=0) <= mpg
    if cost_budget is not None:
        assert costs[sel].sum() <= cost_budget + 1e-9
    # reduced() preserves the optimum
    red, row_map = p.reduced()
    dropped = row_map < 0
    const = float(w[dropped] @ existing[dropped]) + bw * float(w[dropped & backup & (ev >= 2)].sum())
    red_truth, _ = brute_force(
        red.coverage.toarray(),
        red.weights,
        count=count,
        cost_budget=cost_budget,
        costs=costs,
        groups=groups,
        max_per_group=mpg,
        existing=red.existing,
        existing_views=red.existing_views,
        backup=red.backup,
        backup_weight=bw,
    )
    assert red_truth + const == pytest.approx(truth, abs=tol)


# ---------------------------------------------------------------------------------------------
# real benchmark: spopt's San Francisco stores (205 tracts × 16 stores)


@pytest.fixture(scope="session")
def sf(shared_data):
    pd = pytest.importorskip("pandas")
    folder = shared_data / "coverage" / "spopt_sf"
    if not folder.is_dir():
        pytest.skip(f"spopt SF benchmark not available: {folder}")
    dist = pd.read_csv(folder / "SF_network_distance_candidateStore_16_censusTract_205_new.csv", dtype={"DestinationName": str})
    cost = dist.pivot_table(values="distance", index="DestinationName", columns="name")
    demand = pd.read_csv(folder / "SF_demand_205_centroid_uniform_weight.csv", dtype={"NAME": str}).sort_values("NAME")
    assert cost.shape == (205, 16) and (cost.index.to_numpy() == demand["NAME"].to_numpy()).all()
    known = json.loads((folder / "known_values.json").read_text())
    return cost.to_numpy(), demand["POP2000"].to_numpy(dtype=float), list(cost.columns), known


@pytest.mark.shared
def test_sf_mclp(sf) -> None:
    cost, w, names, known = sf
    p = CoverageProblem.from_cost_matrix(cost, w, service_radius=known["MCLP"]["service_radius_m"])
    res = solve_mclp(p, budget_count=known["MCLP"]["p"], stop=STOP)
    assert res.status == "optimal"
    assert res.objective == known["MCLP"]["objective_covered_pop"] == 875_247
    assert int((res.credit == 0).sum()) == known["MCLP"]["uncovered_tracts"]
    assert sorted(names[j] for j in res.selected) == known["MCLP"]["sites"]


@pytest.mark.shared
def test_sf_lscp(sf) -> None:
    cost, w, _, known = sf
    p = CoverageProblem.from_cost_matrix(cost, w, service_radius=known["LSCP"]["service_radius_m"])
    res = solve_lscp(p, stop=STOP)
    assert res.status == "optimal" and res.uncoverable == 0
    assert res.n_selected == known["LSCP"]["min_facilities"] == 8
    assert (res.credit > 0).all()


@pytest.mark.shared
def test_sf_pmedian(sf) -> None:
    cost, w, names, known = sf
    res = solve_pmedian(cost, w, known["PMedian"]["p"], stop=STOP)
    assert res.status == "optimal"
    assert res.mean_distance == pytest.approx(known["PMedian"]["weighted_mean_distance_m"], abs=1e-3)
    assert res.mean_distance == pytest.approx(2982.127, abs=1e-3)
    assert sorted(names[j] for j in res.selected) == known["PMedian"]["sites"]


# ---------------------------------------------------------------------------------------------
# Lagrangian bound


def _brute_mclp(a: np.ndarray, w: np.ndarray, k: int, groups: np.ndarray | None) -> float:
    best = 0.0
    for r in range(k + 1):
        for s in itertools.combinations(range(a.shape[1]), r):
            if groups is not None and len(set(groups[list(s)])) < len(s):
                continue
            best = max(best, float(w @ (a[:, list(s)].max(axis=1) if s else np.zeros(a.shape[0]))))
    return best


def _lp_bound(problem: CoverageProblem, **budget) -> float:
    red, row_map = problem.reduced()
    lp = problem_mod._build_mclp(red, backup_weight=0.0, relax=True, **budget)
    sol = _ortools.solve_mip(lp.model, backend="glop", time_limit_s=30)
    return sol.bound + problem_mod._dropped_constant(problem, row_map, 0.0)


def test_lagrangian_bound_is_valid_and_no_worse_than_the_trivial_one() -> None:
    rng = np.random.default_rng(7)
    for trial in range(25):
        n, m = int(rng.integers(4, 12)), int(rng.integers(3, 9))
        a = (rng.random((n, m)) < 0.35).astype(float)
        w = rng.random(n) * 3
        groups = np.arange(m) // 2 if trial % 2 else None
        p = CoverageProblem.from_coverage_matrix(a, w, groups=groups)
        k = int(rng.integers(1, 4))
        truth = _brute_mclp(a, w, k, groups)
        bound = lagrangian_mclp_bound(p, budget_count=k)
        red, _ = p.reduced()
        trivial = problem_mod._simple_bound(red, budget_count=k, budget_cost=None, backup_weight=0.0)
        assert truth - 1e-9 <= bound <= trivial + 1e-9
        assert bound >= _lp_bound(p, budget_count=k, budget_cost=None) - 1e-6 * max(1.0, bound)


def test_lagrangian_bound_equals_the_lp_bound_on_an_integral_instance() -> None:
    # the trap: LP optimum 8 = the integer optimum ({c1, c2}); greedy alone finds 6.5
    p = CoverageProblem.from_coverage_matrix(GREEDY_TRAP, TRAP_W)
    lp = _lp_bound(p, budget_count=2, budget_cost=None)
    assert lp == pytest.approx(8.0)
    assert lagrangian_mclp_bound(p, budget_count=2, lower=8.0) == pytest.approx(lp, rel=1e-6)
    # without the optimum as the step target (greedy's 6.5 steers the steps) it still gets there
    assert lagrangian_mclp_bound(p, budget_count=2) == pytest.approx(lp, rel=1e-3)


def test_lagrangian_bound_with_costs_and_backup_is_valid() -> None:
    costs = np.array([1.0, 3.0, 3.0, 1.0, 1.0])
    p = CoverageProblem.from_coverage_matrix(GREEDY_TRAP, TRAP_W, costs=costs)
    for budget in (2.0, 5.0, 6.0):
        truth, _ = brute_force(GREEDY_TRAP, TRAP_W, cost_budget=budget, costs=costs)
        assert lagrangian_mclp_bound(p, budget_cost=budget) >= truth - 1e-9
        assert lagrangian_mclp_bound(p, budget_cost=budget, budget_count=2) >= min(truth, 8.0) - 1e-9
    a = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    key = CoverageProblem.from_coverage_matrix(a, np.array([5.0, 1.0]), backup=np.array([True, False]))
    assert lagrangian_mclp_bound(key, budget_count=2, backup_weight=1.0) >= 10.0 - 1e-9  # {c0, c1}: 5 + 5·1


def test_solve_reports_the_bound_method_and_proves_the_trap() -> None:
    p = CoverageProblem.from_coverage_matrix(GREEDY_TRAP, TRAP_W)
    res = solve_mclp(p, budget_count=2, stop=STOP)
    assert res.status == "optimal" and res.bound == pytest.approx(8.0) and res.bound_method
    again = solve_mclp(p, budget_count=2, stop=STOP)
    assert again.selected.tolist() == res.selected.tolist() and again.bound == res.bound


def _linprog_bound(a: np.ndarray, w: np.ndarray, k: int, groups: np.ndarray) -> float:
    """The LP relaxation written independently (scipy's HiGHS): max Σ w y, y ≤ A x, Σ x ≤ k, ≤ 1 per group."""
    from scipy.optimize import linprog

    n, m = a.shape
    g = np.unique(groups)
    rows = [
        np.hstack([-a, np.eye(n)]),
        np.hstack([np.ones((1, m)), np.zeros((1, n))]),
        np.hstack([(groups[None, :] == g[:, None]).astype(float), np.zeros((g.size, n))]),
    ]
    rhs = np.concatenate([np.zeros(n), [k], np.ones(g.size)])
    res = linprog(np.concatenate([np.zeros(m), -w]), A_ub=np.vstack(rows), b_ub=rhs, bounds=(0, 1), method="highs")
    assert res.status == 0
    return -float(res.fun)


def _curve_cases():
    rng = np.random.default_rng(11)
    for _ in range(6):
        n, m = int(rng.integers(8, 14)), int(rng.integers(8, 12))
        a = (rng.random((n, m)) < 0.3).astype(float)
        w = rng.lognormal(0.0, 1.0, n)
        yield a, w, np.arange(m) // 3


@pytest.mark.parametrize("solver", ["greedy", "scip"])
def test_every_curve_point_has_its_own_valid_bound_and_a_true_gap(solver, monkeypatch) -> None:
    """Brute force on small problems: at every budget optimum ≤ bound ≤ that budget's own LP bound,
    objective ≤ optimum, the gap is (bound − objective) / bound, and 'optimal' means the optimum.
    A point reusing another budget's bound (or a shared, trivial one) would exceed its own LP bound."""
    monkeypatch.setattr(problem_mod, "_SKIP_MIP_GAP", 0.0)  # the rounding and continued-bound path too
    budgets = [1, 2, 3, 4]
    for a, w, groups in _curve_cases():
        p = CoverageProblem.from_coverage_matrix(a, w, groups=groups)
        results = coverage_curve(p, budgets, stop=Limits(2, 60), solver=solver)
        for k, r in zip(budgets, results, strict=True):
            truth = _brute_mclp(a, w, k, groups)
            lp = _linprog_bound(a, w, k, groups)
            assert r.objective <= truth + 1e-9
            assert r.objective == pytest.approx(mclp_value(p, r.selected))
            assert truth - 1e-9 <= r.bound <= lp + 1e-6 * max(1.0, lp), (k, r.bound, truth, lp)
            assert r.gap == pytest.approx(max(0.0, r.bound - r.objective) / r.bound, abs=1e-9)
            assert r.selected.size <= k and len(set(groups[r.selected])) == r.selected.size
            if r.status == "optimal":
                assert r.objective == pytest.approx(truth) and r.gap == 0.0
        # bounds grow with the budget and differ where the optima differ by more than the LP slack
        bounds = [r.bound for r in results]
        assert all(b0 <= b1 + 1e-9 for b0, b1 in zip(bounds, bounds[1:]))


def test_round_average_keeps_the_budget_and_the_groups() -> None:
    a = np.eye(6)
    p = CoverageProblem.from_coverage_matrix(
        a, np.ones(6), groups=np.array([0, 0, 1, 1, 2, 2]), costs=np.array([1.0, 2.0, 1.0, 1.0, 3.0, 1.0])
    )
    red, _ = p.reduced()
    x = np.array([0.9, 0.8, 0.1, 0.7, 0.0, 0.6])
    assert problem_mod._round_average(red, x, 1.0, 3, None).tolist() == [0, 3, 5]
    assert problem_mod._round_average(red, x, 0.5, 3, None).tolist() == [0]
    assert problem_mod._round_average(red, x, 1.0, None, 2.0).tolist() == [0, 3]


def test_lagrangian_continues_from_given_multipliers() -> None:
    from geoengine.coverage._lagrange import lagrangian_bound

    rng = np.random.default_rng(3)
    a = (rng.random((40, 30)) < 0.15).astype(float)
    p = CoverageProblem.from_coverage_matrix(a, rng.random(40), groups=np.arange(30) // 3)
    red, _ = p.reduced()
    rows = problem_mod._mclp_rows(red, 0.0)
    t, c, d = rows.lagrange_data(red, 0.0)
    kw = dict(budget_count=4, budget_cost=None, costs=red.costs, lower=0.0)
    short = lagrangian_bound(t, c, d, red.groups, 1, iterations=20, **kw)
    more = lagrangian_bound(t, c, d, red.groups, 1, iterations=400, start=short.multipliers, step=0.5, patience=200, **kw)
    assert more.bound <= short.bound + 1e-9
    assert more.bound >= _brute_mclp(a, p.weights, 4, np.arange(30) // 3) - rows.const - 1e-9
    assert more.average is not None and 0 < more.average.sum() <= 4.0 + 1e-9


def test_lns_windows_keep_the_budget_never_lose_value_and_are_deterministic(monkeypatch) -> None:
    rng = np.random.default_rng(5)
    a = (rng.random((60, 36)) < 0.12).astype(float)
    w = rng.lognormal(0.0, 1.0, 60)
    groups = np.arange(36) // 3
    p = CoverageProblem.from_coverage_matrix(a, w, groups=groups)
    red, _ = p.reduced()
    start = greedy_mclp(red, budget_count=5)
    plan, better, ending = problem_mod._lns(
        red, start, budget_count=5, budget_cost=None, backup_weight=0.0, windows=3, seed=0, deadline=time.perf_counter() + 300
    )
    assert ending == "work" and plan.size <= 5 and len(set(red.groups[plan])) == plan.size  # the window count ended it
    assert mclp_value(red, plan) >= mclp_value(red, start) - 1e-9
    again = problem_mod._lns(
        red, start, budget_count=5, budget_cost=None, backup_weight=0.0, windows=3, seed=0, deadline=time.perf_counter() + 300
    )
    assert again[0].tolist() == plan.tolist() and again[1] == better
    # through the solve: a 'large' core (threshold lowered) with a gap left gets its windows, SCIP does not run
    monkeypatch.setattr(problem_mod, "_SKIP_MIP_MIN_NNZ", 0)
    monkeypatch.setattr(problem_mod, "_SKIP_MIP_GAP", 0.0)
    monkeypatch.setattr(problem_mod, "_SKIP_MIP_WHEN_PROVEN", False)
    res = solve_mclp(p, budget_count=5, stop=Limits(2, 120))
    truth = _brute_mclp(a, w, 5, groups)
    assert res.objective <= truth + 1e-9 <= res.bound + 2e-9
    assert "SCIP not run" in res.message and res.stopped_by == "work"


def test_backup_solve_on_a_large_core_ends_on_its_work_and_is_deterministic(monkeypatch) -> None:
    """The district's camera backup MIP at a small size: key sites (backup rows) want a second view,
    a cost budget with two camera models, one camera per pole. Where the core is too large for SCIP
    (threshold lowered here) the LNS windows take its place: the solve ends on its work (the window
    count, not the wall clock), keeps the budget and gives the same plan twice."""
    rng = np.random.default_rng(21)
    n, sites = 80, 16
    fixed = (rng.random((n, sites * 4)) < 0.08).astype(float)
    dome = (rng.random((n, sites)) < 0.2).astype(float)
    a = np.hstack([fixed, dome])
    groups = np.concatenate([np.arange(sites * 4) // 4, np.arange(sites)])
    costs = np.concatenate([np.ones(sites * 4), np.full(sites, 3.0)])
    backup = rng.random(n) < 0.3
    p = CoverageProblem.from_coverage_matrix(a, rng.lognormal(0.0, 1.0, n), costs=costs, groups=groups, backup=backup)
    monkeypatch.setattr(problem_mod, "_SKIP_MIP_MIN_NNZ", 0)
    monkeypatch.setattr(problem_mod, "_SKIP_MIP_GAP", 0.0)
    monkeypatch.setattr(problem_mod, "_SKIP_MIP_WHEN_PROVEN", False)
    runs = [solve_mclp(p, budget_cost=8.0, backup_weight=0.5, stop=Limits(3, 600), seed=0) for _ in range(2)]
    for res in runs:
        assert res.problem_kind == "backup" and res.stopped_by == "work" and "SCIP not run" in res.message
        assert float(costs[res.selected].sum()) <= 8.0 + 1e-9
        assert len(set(groups[res.selected])) == res.selected.size
        assert res.objective == pytest.approx(mclp_value(p, res.selected, backup_weight=0.5))
        assert res.objective <= res.bound + 1e-9
    assert runs[0].selected.tolist() == runs[1].selected.tolist() and runs[0].objective == runs[1].objective


def test_lagrangian_bound_with_unequal_costs_keeps_the_groups_and_stays_valid() -> None:
    """Two camera costs, one camera a pole (the district's models): the inner problem is the LP of the
    multiple-choice knapsack; the bound stays at or above the brute-force optimum, backup term or not."""

    rng = np.random.default_rng(4)
    for _ in range(25):
        n, m = int(rng.integers(6, 12)), int(rng.integers(6, 10))
        a = (rng.random((n, m)) < 0.3).astype(float)
        w = rng.lognormal(0.0, 1.0, n)
        groups, costs = np.arange(m) // 3, rng.choice([1.0, 3.0], m)
        budget, bw = float(rng.integers(2, 7)), float(rng.choice([0.0, 0.5]))
        p = CoverageProblem.from_coverage_matrix(a, w, costs=costs, groups=groups, backup=rng.random(n) < 0.3)
        best = max(
            mclp_value(p, np.array(s, dtype=np.int64), backup_weight=bw)
            for r in range(m + 1)
            for s in itertools.combinations(range(m), r)
            if costs[list(s)].sum() <= budget + 1e-9 and len(set(groups[list(s)])) == len(s)
        )
        assert lagrangian_mclp_bound(p, budget_cost=budget, backup_weight=bw) >= best - 1e-7
