"""Routing by sectors: known separable problems split, solve and map back exactly."""

from __future__ import annotations

import numpy as np

from geoengine.patrol.decompose import restrict, sectors, solve_by_sectors
from geoengine.patrol.routing import RoutingProblem, Vehicle, solve_routing
from geoengine.stop import Limits


def _two_towns(n_per_town: int = 12, *, district: bool = False) -> RoutingProblem:
    """Town A around x = 0 (base 0, vehicles 0, 1), town B around x = 20 km (base 1, vehicles 2, 3);
    each town's visits allowed only to its own vehicles; optionally one visit open to all, near B."""
    rng = np.random.default_rng(0)
    xy = [(0.0, 0.0), (20_000.0, 0.0)]
    allowed: list = [None, None]
    for _town, (x0, vs) in enumerate(((0.0, {0, 1}), (20_000.0, {2, 3}))):
        for _ in range(n_per_town):
            xy.append((x0 + rng.uniform(-1500, 1500), rng.uniform(-1500, 1500)))
            allowed.append(frozenset(vs))
    if district:
        xy.append((19_000.0, 500.0))
        allowed.append(None)
    xy_a = np.array(xy)
    n = len(xy_a)
    travel = np.rint(np.hypot(*(xy_a[:, None] - xy_a[None]).transpose(2, 0, 1)) / 8).astype(int)
    start = np.r_[0, 0, rng.integers(0, 2 * 3600, n - 2)]
    vehicles = [Vehicle(f"t{k}", start=k // 2, end=k // 2, shift_start_s=0, shift_end_s=4 * 3600) for k in range(4)]
    return RoutingProblem.from_arrays(
        travel,
        service_s=[0, 0] + [600] * (n - 2),
        tw_start_s=start,
        tw_end_s=np.r_[4 * 3600, 4 * 3600, start[2:] + 3600],
        vehicles=vehicles,
        penalty=[-1, -1] + [5000] * (n - 2),
        allowed=allowed,
    )


def test_teams_of_separate_beats_form_separate_sectors_and_open_visits_go_to_the_nearest():
    p = _two_towns(district=True)
    parts = sectors(p, target_nodes=5)
    assert [s.vehicles for s in parts] == [(0, 1), (2, 3)]
    assert parts[0].nodes == tuple(range(2, 14)) and parts[1].nodes == (*range(14, 26), 26)  # the open visit is near B
    # a large target merges the two towns into one sector
    assert [s.vehicles for s in sectors(p, target_nodes=100)] == [(0, 1, 2, 3)]


def test_restrict_keeps_the_vehicles_bases_and_remaps_allowed():
    p = _two_towns()
    sub, keep = restrict(p, [2, 3], range(14, 26))
    assert keep.tolist() == [1, *range(14, 26)]
    assert [v.start for v in sub.vehicles] == [0, 0]
    assert all(a == frozenset({0, 1}) for a in sub.allowed[1:])
    assert np.array_equal(sub.travel_of(0), p.travel_of(2)[np.ix_(keep, keep)])


def test_solving_by_sectors_gives_a_valid_plan_of_the_whole_problem():
    p = _two_towns()
    parts = sectors(p, target_nodes=5)
    result = solve_by_sectors(
        p, parts, stop=Limits(work=2, max_runtime_s=60), solve=lambda sub, keep, stop: solve_routing(sub, stop=stop, seed=0)
    )
    assert result.is_feasible() and result.time_window_violations(p) == 0
    served = [node for r in result.routes for node in r.visits]
    assert len(served) == len(set(served)) and set(served) | set(result.dropped) == set(range(2, p.n_nodes))
    for r in result.routes:  # every visit made by one of its allowed vehicles, from the vehicle's own base
        assert r.stops[0].node == p.vehicles[r.vehicle].start
        assert all(r.vehicle in p.allowed[node] for node in r.visits)
    whole = solve_routing(p, stop=Limits(work=2, max_runtime_s=60), seed=0)
    assert len(result.dropped) <= len(whole.dropped) + 1


def test_a_patrol_window_routed_by_sectors_serves_each_beat_with_its_own_teams(caplog):
    import logging

    import geopandas as gpd
    import pandas as pd
    import shapely

    from geoengine.patrol.plan import plan_patrol
    from geoengine.risk import estimate_risk
    from geoengine.scenario import PatrolSettings, RiskSettings, TeamSettings, TimeWindow
    from geoengine.synthetic import grid_network

    crs, x0, y0 = "EPSG:32633", 500_000.0, 6_600_000.0
    city = grid_network(8, block_m=100.0, crs=crs, origin=(x0, y0))
    evening = TimeWindow(name="evening", start="18:00", end="23:00")
    spots = [(50, 0), (150, 100), (0, 250), (650, 700), (550, 600), (700, 450)]
    xy = [p for p in spots for _ in range(6)]
    inc = gpd.GeoDataFrame(
        {"time": pd.to_datetime(["2026-01-02 18:05"] * len(xy)), "time_precision": "datetime", "category": "robbery"},
        geometry=[shapely.Point(x0 + x, y0 + y) for x, y in xy],
        crs=crs,
    )
    risk = estimate_risk(city, inc, windows=(evening,), settings=RiskSettings(own_segment_share=1.0, extent="none"))
    stations = gpd.GeoDataFrame(
        {"name": ["South", "North"]}, geometry=[shapely.Point(x0 + 50, y0 + 50), shapely.Point(x0 + 650, y0 + 650)], crs=crs
    )
    base = dict(
        teams=(TeamSettings(name="car", mode="car", count=2), TeamSettings(name="foot", mode="foot", count=2, base=1)),
        beats=2,
        hotspot_levels=("red", "orange"),
        district_max_gap_min=None,
        cross_beat="never",
    )
    plans = {}
    caplog.set_level(logging.INFO, logger="geoengine.patrol.plan")
    for label, sector_visits in (("sectors", 10), ("one search", None)):
        settings = PatrolSettings(**base, sector_visits=sector_visits)
        plans[label] = plan_patrol(city, settings=settings, windows=(evening,), risk=risk, stations=stations, time_limit_s=20)
    split, whole = plans["sectors"], plans["one search"]
    assert any("routed in 2 sectors" in r.getMessage() for r in caplog.records)
    assert len(split.stops) and split.metrics()["visits_planned"] > 15
    # every hotspot visit is made by a team allowed that beat
    tb = split.team_beats
    for r in split.stops[split.stops["place_kind"] == "hotspot"].itertuples():
        assert ((tb["team"] == r.team) & (tb["beat"] == int(r.beat))).any()
    assert split.metrics()["dosage_met_share"] >= whole.metrics()["dosage_met_share"] - 0.2
