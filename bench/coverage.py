"""Suite ``coverage``: camera siting — matrix build, greedy, SCIP at 10 s and 60 s, spopt.

Instances: SF downtown (real streets, the 2016 Chinatown risk is not needed here:
street length weights), Baltimore for scale, Helsinki with its buildings, and
synthetic grids with a building on every block, growing to ≥ 100k demand points and
≥ 20k candidate orientations. Each row reports the matrix build time beside the solve.
PySAL spopt's MCLP (``pip install -e '.[bench]'``) runs on the same matrix, in the
same process, on the instances whose dense matrix it can hold.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ._common import SHARED, measure, row

GRID_CRS = "EPSG:32633"
SPOPT_MAX_CELLS = 5_000_000  # dense demand × candidate cells spopt is given at most


def grid_city(n: int, *, block_m: float = 100.0, building_inset_m: float = 12.0) -> Any:
    """An n × n street grid with one building filling each block (inset from the streets)."""
    from geoengine.synthetic import grid_network

    return grid_network(n, block_m=block_m, crs=GRID_CRS, building_inset_m=building_inset_m)


def _instance(name: str, network: Any, *, spacing_m: float, pole_spacing_m: float, range_m: float, fov_deg: float,
              headings: int, risk_like: bool = True, seed: int = 0) -> dict[str, Any]:  # fmt: skip
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
    problem = CoverageProblem.from_coverage_matrix(
        vis.matrix, demand["weight"].to_numpy(dtype=float), groups=vis.orient_site
    )
    build_s = time.perf_counter() - t0
    return {"name": name, "problem": problem, "build_s": build_s, "demand": len(demand), "orientations": vis.matrix.shape[1]}


def _spopt_mclp(problem: Any, p: int, time_limit_s: float) -> tuple[float | None, float, str]:
    """spopt's MCLP on the same binary coverage (as a 0/1 cost matrix with radius 0.5)."""
    try:
        import pulp
        from spopt.locate import MCLP
    except ImportError:
        return None, 0.0, "spopt not installed (pip install -e '.[bench]')"
    a = problem.coverage
    if a.shape[0] * a.shape[1] > SPOPT_MAX_CELLS:
        return None, 0.0, f"skipped: dense {a.shape[0]}×{a.shape[1]} matrix too large for spopt"
    cost = np.where(a.toarray() > 0, 0.0, 1.0)
    t0 = time.perf_counter()
    model = MCLP.from_cost_matrix(cost, problem.weights, service_radius=0.5, p_facilities=p)
    model = model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s))
    wall = time.perf_counter() - t0
    covered = float(model.problem.objective.value()) if model.problem.objective.value() is not None else None
    return covered, wall, "spopt MCLP (PuLP + CBC)"


def run(*, quick: bool = False) -> list[dict[str, Any]]:
    from geoengine.coverage.greedy import greedy_mclp
    from geoengine.coverage.problem import CoverageProblem, solve_mclp
    from geoengine.coverage.stop import MaxRuntime
    from geoengine.demo import helsinki_pbf
    from geoengine.network import network_from_pbf, network_from_xml

    specs: list[tuple[str, Any, dict[str, Any], int]] = [
        ("helsinki (buildings)", lambda: network_from_pbf(helsinki_pbf()), dict(spacing_m=10, pole_spacing_m=30, range_m=50, fov_deg=90, headings=8), 200),
        ("grid 8×8 (spopt-sized)", lambda: grid_city(8), dict(spacing_m=10, pole_spacing_m=50, range_m=50, fov_deg=90, headings=4), 20),
        ("grid 20×20", lambda: grid_city(20), dict(spacing_m=10, pole_spacing_m=50, range_m=50, fov_deg=90, headings=8), 100),
    ]  # fmt: skip
    if SHARED.exists():
        specs.append(("sf_downtown_2017", lambda: network_from_xml(SHARED / "osm" / "sf_downtown_2017.osm.bz2"),
                      dict(spacing_m=10, pole_spacing_m=30, range_m=50, fov_deg=90, headings=8), 150))  # fmt: skip
        if not quick:
            specs.append(("baltimore", lambda: network_from_pbf(SHARED / "osm" / "baltimore.osm.pbf"),
                          dict(spacing_m=10, pole_spacing_m=50, range_m=50, fov_deg=90, headings=8), 500))  # fmt: skip
    if not quick:
        specs.append(("grid 72×72", lambda: grid_city(72), dict(spacing_m=10, pole_spacing_m=50, range_m=60, fov_deg=90, headings=8), 1500))  # fmt: skip
    limits = (10.0,) if quick else (10.0, 60.0)
    rows: list[dict[str, Any]] = []
    for name, make, opts, p in specs:
        network = make()
        inst, wall, peak = measure(lambda: _instance(name, network, **opts))
        problem = inst["problem"]
        label = f"{name}: {inst['demand']:,} demand × {inst['orientations']:,} orientations, p={p}"
        common = {"build_s": round(inst["build_s"], 2), "demand": inst["demand"], "orientations": inst["orientations"]}
        t0 = time.perf_counter()
        sel = greedy_mclp(problem, budget_count=p)
        greedy_s = time.perf_counter() - t0
        credit = np.asarray(problem.coverage[:, sel].max(axis=1).todense()).ravel() if len(sel) else np.zeros(problem.coverage.shape[0])
        greedy_value = float((problem.weights * np.maximum(credit, problem.existing)).sum())
        rows.append(row("coverage", label, "greedy", wall_s=greedy_s, peak_mb=peak, objective=round(greedy_value, 3), **common))
        for limit in limits:
            res, wall, peak = measure(lambda: solve_mclp(problem, budget_count=p, stop=MaxRuntime(limit), seed=0))
            rows.append(row("coverage", label, f"scip {limit:g}s", wall_s=wall, peak_mb=peak,
                            objective=round(res.objective, 3), bound=None if res.bound is None else round(res.bound, 3),
                            gap=None if res.gap is None else round(res.gap, 6), status=res.status, **common))  # fmt: skip
        # spopt's MCLP has no per-site limit: compare it with ours on the same matrix without one
        free = CoverageProblem.from_coverage_matrix(problem.coverage, problem.weights)
        value, wall, label_s = _spopt_mclp(free, p, limits[-1])
        if value is not None:
            ours, w2, pk2 = measure(lambda: solve_mclp(free, budget_count=p, stop=MaxRuntime(limits[-1]), seed=0))
            rows.append(row("coverage", label, "scip, no per-site limit (as spopt)", wall_s=w2, peak_mb=pk2,
                            objective=round(ours.objective, 3), bound=None if ours.bound is None else round(ours.bound, 3),
                            gap=None if ours.gap is None else round(ours.gap, 6), **common))  # fmt: skip
            known = ours.bound if ours.bound is not None else ours.objective
            rows.append(row("coverage", label, label_s, wall_s=wall, objective=round(value, 3), best_known=round(known, 3),
                            gap_to_best_known=round((known - value) / known, 6) if known else None, **common))  # fmt: skip
        else:
            rows.append(row("coverage", label, label_s, wall_s=0.0, **common))
    return rows
