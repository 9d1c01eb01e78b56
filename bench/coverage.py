"""Suite ``coverage``: camera siting — the matrix build, then each solver on the same problem.

Solvers: ours (greedy + swap; SCIP on our model — reduced rows, warm start, cuts, the best
of several bounds — at 10 s and, in a full run, 60 s), the **plain OR-Tools** models
(:mod:`bench._plain_ortools`: the MCLP written directly with pywraplp for SCIP, and with
CP-SAT with its 8-worker portfolio, default parameters, 10 s) and PySAL **spopt**'s MCLP (PuLP + CBC,
``pip install -e '.[bench]'``) on the instances whose dense matrix it can hold. All run
in the same process. ``best_known`` is the best objective any solver reached on the
instance in this run (the optimum where one proved it).

Instances: Helsinki with its buildings, SF downtown, Baltimore for scale, and synthetic
grids with a building on every block, growing to ≥ 100k demand points and ≥ 20k candidate
orientations. Street weights are heavy-tailed like crime risk. Each row carries the
matrix build time (``build_s``) beside the solve. ``--quick``: Helsinki and grid 8×8, 10 s.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ._common import SHARED, fill_best_known, measure, row

GRID_CRS = "EPSG:32633"
SPOPT_MAX_CELLS = 5_000_000  # dense demand × candidate cells spopt is given at most


def _safety_cap(work: float) -> float:
    """The wall-clock safety cap of ours at ``work`` units: 60 s a unit + 60 s, so that on this shared
    2-core machine (wall up to 5x CPU; LNS windows on Helsinki p = 400 take 300 s of CPU at work 10)
    the deterministic work limit, not the clock, ends a solve."""
    return 60.0 * work + 60.0


CURVE_INSTANCES = ("helsinki (buildings)", "baltimore", "grid 72×72")
"""The instances whose coverage-vs-budget curve (p/4, p/2, p, 2p) is run in a full bench."""


def grid_city(n: int, *, block_m: float = 100.0, building_inset_m: float = 12.0) -> Any:
    """An n × n street grid with one building filling each block (inset from the streets)."""
    from geoengine.synthetic import grid_network

    return grid_network(n, block_m=block_m, crs=GRID_CRS, building_inset_m=building_inset_m)


def _instance(
    name: str,
    network: Any,
    *,
    spacing_m: float,
    pole_spacing_m: float,
    range_m: float,
    fov_deg: float,
    headings: int,
    risk_like: bool = True,
    seed: int = 0,
) -> dict[str, Any]:
    """Demand, sites and the visibility matrix. ``risk_like`` weights streets with a heavy-tailed
    (lognormal, σ = 1.2) weight per metre, as crime risk is, instead of plain length: on a regular
    grid equal weights make every placement alike and the problem trivial."""
    from geoengine.coverage.candidates import candidate_sites
    from geoengine.coverage.demand import street_demand
    from geoengine.coverage.problem import CoverageProblem
    from geoengine.coverage.visibility import visibility

    t0 = time.perf_counter()
    segs = network.segments()
    weight = None
    if risk_like:
        rng = np.random.default_rng(seed)
        weight = segs["length_m"] * rng.lognormal(0.0, 1.2, len(segs))
    demand = street_demand(network, spacing_m=spacing_m, segment_weight=weight)
    sites = candidate_sites(network, pole_spacing_m=pole_spacing_m, buildings=network.buildings)
    vis = visibility(sites, demand, range_m=range_m, fov_deg=fov_deg, headings=headings, buildings=network.buildings)
    problem = CoverageProblem.from_coverage_matrix(vis.matrix, demand["weight"].to_numpy(dtype=float), groups=vis.orient_site)
    build_s = time.perf_counter() - t0
    return {"name": name, "problem": problem, "build_s": build_s, "demand": len(demand), "orientations": vis.matrix.shape[1]}


def _spopt_mclp(problem: Any, p: int, time_limit_s: float) -> tuple[float | None, float, float | None, str]:
    """spopt's MCLP on the same binary coverage (as a 0/1 cost matrix with radius 0.5)."""
    try:
        import pulp
        from spopt.locate import MCLP
    except ImportError:
        return None, 0.0, None, "spopt not installed (pip install -e '.[bench]')"
    a = problem.coverage
    if a.shape[0] * a.shape[1] > SPOPT_MAX_CELLS:
        return None, 0.0, None, f"spopt: skipped, dense {a.shape[0]}×{a.shape[1]} matrix too large"

    def solve() -> Any:
        cost = np.where(a.toarray() > 0, 0.0, 1.0)
        model = MCLP.from_cost_matrix(cost, problem.weights, service_radius=0.5, p_facilities=p)
        return model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s))

    model, wall, peak = measure(solve)
    value = model.problem.objective.value()
    return (None if value is None else float(value)), wall, peak, "spopt MCLP (PuLP + CBC)"


def _over_60s(work: float, wall: float, cpu: float) -> str | None:
    """A note when a deterministic work limit took longer than 60 s of solving here."""
    if max(wall, cpu) <= 60.0:
        return None
    return f"work {work:g} took {wall:.0f} s wall, {cpu:.0f} s CPU (> 60 s) on this machine"


def _ours(problem: Any, p: int, work: float, label: str, common: dict[str, Any]) -> dict[str, Any]:
    """Ours on a deterministic work limit (``work`` units, the wall clock only a safety cap)."""
    from geoengine.coverage.problem import solve_mclp
    from geoengine.stop import Limits

    stop = Limits(work, _safety_cap(work))
    c0 = time.process_time()
    res, wall, peak = measure(lambda: solve_mclp(problem, budget_count=p, stop=stop, seed=0))
    cpu = time.process_time() - c0
    return row(
        "coverage",
        label,
        f"ours: scip work {work:g}",
        wall_s=wall,
        peak_mb=peak,
        objective=round(res.objective, 3),
        bound=None if res.bound is None else round(res.bound, 3),
        gap=None if res.gap is None else round(res.gap, 6),
        status=res.status,
        bound_method=res.bound_method,
        bound_s=round(res.bound_s, 3),
        bound_cpu_s=round(res.bound_cpu_s, 3),
        cpu_s=round(cpu, 3),
        fixed=res.fixed,
        stopped_by=res.stopped_by,
        note=_over_60s(work, wall, cpu),
        **common,
    )


CURVE_WORK = 10.0
"""Work units per curve point in the bench (SCIP where the core is small enough, else plan + bound)."""


def _curve(problem: Any, p: int, label: str, common: dict[str, Any], work: float = CURVE_WORK) -> list[dict[str, Any]]:
    """The coverage-vs-budget curve at p/4, p/2, p and 2p: one row per point with its own plan,
    bound (and how it was found), gap, the bound's wall and CPU time and how the point ended."""
    from geoengine.coverage.problem import coverage_curve
    from geoengine.stop import Limits

    budgets = sorted({max(1, p // 4), max(1, p // 2), p, 2 * p})
    stop = Limits(work, _safety_cap(work))
    results, wall, peak = measure(lambda: coverage_curve(problem, budgets, stop=stop, seed=0))
    out = []
    for b, r in zip(budgets, results, strict=True):
        out.append(
            row(
                "coverage",
                f"{label}: curve",
                f"ours: curve p={b}, work {work:g}",
                wall_s=r.total_s,
                objective=round(r.objective, 3),
                bound=None if r.bound is None else round(r.bound, 3),
                gap=None if r.gap is None else round(r.gap, 6),
                status=r.status,
                method=r.method,
                bound_method=r.bound_method,
                bound_s=round(r.bound_s, 3),
                bound_cpu_s=round(r.bound_cpu_s, 3),
                cpu_s=round(r.cpu_s, 3),
                fixed=r.fixed,
                stopped_by=r.stopped_by,
                note=_over_60s(work, r.total_s, r.cpu_s),
                **common,
            )
        )
    out[-1]["peak_mb"] = None if peak is None else round(peak, 1)  # the whole curve's peak, on its last row
    return out


def _bound_only(problem: Any, p: int, label: str, common: dict[str, Any]) -> dict[str, Any]:
    """The Lagrangian bound alone (greedy's value steers the steps), with its CPU time."""
    from geoengine.coverage.problem import lagrangian_mclp_bound

    c0 = time.process_time()
    bound, wall, peak = measure(lambda: lagrangian_mclp_bound(problem, budget_count=p))
    return row(
        "coverage",
        label,
        "ours: Lagrangian bound",
        wall_s=wall,
        peak_mb=peak,
        bound=round(bound, 3),
        cpu_s=round(time.process_time() - c0, 3),
        **common,
    )


def _plain(problem: Any, p: int, limit: float, backend: str, label: str, common: dict[str, Any]) -> dict[str, Any]:
    from ._plain_ortools import plain_mclp

    res, wall, peak = measure(lambda: plain_mclp(problem, p=p, time_limit_s=limit, backend=backend))
    gap = None
    if res.objective is not None and res.bound:
        gap = round(max(res.bound - res.objective, 0.0) / abs(res.bound), 6)
    name = {"scip": "plain OR-Tools SCIP", "cpsat": "plain OR-Tools CP-SAT 8 workers"}[backend]
    return row(
        "coverage",
        label,
        f"{name} {limit:g}s",
        wall_s=wall,
        peak_mb=peak,
        objective=None if res.objective is None else round(res.objective, 3),
        bound=None if res.bound is None else round(res.bound, 3),
        gap=gap,
        status=res.status,
        model_build_s=round(res.build_s, 2),
        **common,
    )


def run(*, quick: bool = False, limit_s: float | None = None) -> list[dict[str, Any]]:
    """Greedy, ours (SCIP with our model, reduction and warm start) at 10 s (and 60 s), the
    plain OR-Tools models (SCIP and CP-SAT, default parameters) at the first limit, and
    spopt where its dense model fits; ``best_known`` is the best objective any solver
    reached on the instance in this run (the optimum where one proved it)."""
    from geoengine.coverage.greedy import greedy_mclp
    from geoengine.coverage.problem import CoverageProblem
    from geoengine.demo import helsinki_pbf
    from geoengine.network import network_from_pbf, network_from_xml

    specs: list[tuple[str, Any, dict[str, Any], int, bool]] = [  # name, network, options, p, plain refs
        (
            "helsinki (buildings)",
            lambda: network_from_pbf(helsinki_pbf()),
            dict(spacing_m=10, pole_spacing_m=30, range_m=50, fov_deg=90, headings=8),
            200,
            True,
        ),
        (
            "grid 8×8 (spopt-sized)",
            lambda: grid_city(8),
            dict(spacing_m=10, pole_spacing_m=50, range_m=50, fov_deg=90, headings=4),
            20,
            True,
        ),
    ]
    if not quick:
        specs.append(
            (
                "grid 10×10 (spopt-sized)",
                lambda: grid_city(10),
                dict(spacing_m=10, pole_spacing_m=50, range_m=50, fov_deg=90, headings=4),
                30,
                True,
            )
        )
        specs.append(
            (
                "grid 20×20",
                lambda: grid_city(20),
                dict(spacing_m=10, pole_spacing_m=50, range_m=50, fov_deg=90, headings=8),
                100,
                True,
            )
        )
    if SHARED.exists() and not quick:
        specs.append(
            (
                "sf_downtown_2017",
                lambda: network_from_xml(SHARED / "osm" / "sf_downtown_2017.osm.bz2"),
                dict(spacing_m=10, pole_spacing_m=30, range_m=50, fov_deg=90, headings=8),
                150,
                True,
            )
        )
        specs.append(
            (
                "baltimore",
                lambda: network_from_pbf(SHARED / "osm" / "baltimore.osm.pbf"),
                dict(spacing_m=10, pole_spacing_m=50, range_m=50, fov_deg=90, headings=8),
                500,
                True,
            )
        )
    if not quick:
        specs.append(
            (
                "grid 72×72",
                lambda: grid_city(72),
                dict(spacing_m=10, pole_spacing_m=50, range_m=60, fov_deg=90, headings=8),
                1500,
                False,
            )
        )
    limits = (limit_s,) if limit_s is not None else ((10.0,) if quick else (10.0, 60.0))
    # ours runs on work units (one ≈ a second of one unloaded core), the references on seconds
    rows: list[dict[str, Any]] = []
    for name, make, opts, p, plain_refs in specs:
        network = make()
        inst, wall, peak = measure(lambda: _instance(name, network, **opts))
        problem = inst["problem"]
        label = f"{name}: {inst['demand']:,} demand × {inst['orientations']:,} orientations, p={p}"
        common = {"build_s": round(inst["build_s"], 2), "demand": inst["demand"], "orientations": inst["orientations"]}
        found: list[dict[str, Any]] = []
        sel, wall, peak = measure(lambda: greedy_mclp(problem, budget_count=p))
        credit = (
            np.asarray(problem.coverage[:, sel].max(axis=1).todense()).ravel()
            if len(sel)
            else np.zeros(problem.coverage.shape[0])
        )
        greedy_value = float((problem.weights * np.maximum(credit, problem.existing)).sum())
        found.append(
            row("coverage", label, "ours: greedy", wall_s=wall, peak_mb=peak, objective=round(greedy_value, 3), **common)
        )
        found.append(_bound_only(problem, p, label, common))
        for limit in limits:
            found.append(_ours(problem, p, limit, label, common))
        if plain_refs:  # the plain models take minutes to build on the largest instances
            for backend in ("scip", "cpsat"):
                found.append(_plain(problem, p, limits[0], backend, label, common))
        # spopt's MCLP has no per-site limit: compare it with ours on the same matrix without one
        free = CoverageProblem.from_coverage_matrix(problem.coverage, problem.weights)
        value, wall, peak, label_s = _spopt_mclp(free, p, limits[-1])
        free_label = f"{label}, no per-site limit"
        if value is not None:
            found.append(_ours(free, p, limits[-1], free_label, common))
            found.append(row("coverage", free_label, label_s, wall_s=wall, peak_mb=peak, objective=round(value, 3), **common))
        else:
            print(f"coverage: {name}: {label_s}")
        if name in CURVE_INSTANCES and not quick:
            curve_rows = _curve(problem, p, label, common)
        fill_best_known(found, maximize=True)
        for r in found:  # the bound alone against the best plan of the run
            if r["solver"] == "ours: Lagrangian bound" and r["best_known"] and r["bound"]:
                r["gap"] = round(max(0.0, r["bound"] - r["best_known"]) / r["bound"], 6)
        rows += found
        if name in CURVE_INSTANCES and not quick:
            rows += curve_rows
    return rows
