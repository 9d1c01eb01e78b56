"""Patrol plans a planner can defend: known answers for shifts, revisits, repair, drop causes and the capacity bound."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geoengine.errors import InfeasibleSettingsError
from geoengine.patrol.plan import plan_patrol
from geoengine.patrol.repair import capacity_bound, drop_causes, find_insertion, insert_dropped
from geoengine.patrol.routing import SAME_PLACE_AWAY_S, Route, RoutingProblem, RoutingResult, Stop, Vehicle, solve_routing
from geoengine.patrol.shifts import expand_teams, window_overlaps
from geoengine.risk import estimate_risk
from geoengine.scenario import PatrolSettings, RiskSettings, TeamSettings, TimeWindow
from geoengine.stop import Limits
from geoengine.synthetic import grid_network

CRS = "EPSG:32633"
X0, Y0 = 500_000.0, 6_600_000.0
EVENING = TimeWindow(name="evening", start="18:00", end="23:00")
NIGHT = TimeWindow(name="night", start="23:00", end="07:00")
WEEKEND = TimeWindow(name="weekend_night", start="22:00", end="04:00", days=("fri", "sat"))


@pytest.fixture(scope="module")
def city():
    return grid_network(6, block_m=100.0, crs=CRS, origin=(X0, Y0))


def _stations(*xy: tuple[float, float]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": [f"Station {i}" for i in range(len(xy))]}, geometry=[shapely.Point(X0 + x, Y0 + y) for x, y in xy], crs=CRS
    )


def _risk(city, spots, windows, n=6):
    xy = [p for p in spots for _ in range(n)]
    times = []
    for w in windows:
        times += [f"2026-01-02 {w.start}"] * len(xy)  # a Friday
    inc = gpd.GeoDataFrame(
        {"time": pd.to_datetime(times) + pd.Timedelta(minutes=5), "time_precision": "datetime", "category": "robbery"},
        geometry=[shapely.Point(X0 + x, Y0 + y) for x, y in xy * len(windows)],
        crs=CRS,
    )
    return estimate_risk(
        city,
        inc,
        windows=tuple(windows),
        settings=RiskSettings(own_segment_share=1.0, level_shares=(0.05, 0.05, 0.1), extent="none"),
    )


# --------------------------------------------------------------------------- shifts
def test_window_overlaps_follow_days_and_midnight():
    assert window_overlaps(EVENING, WEEKEND) == [(0, 60)]  # 22:00–23:00, from weekend_night's start
    assert window_overlaps(NIGHT, WEEKEND) == [(60, 360)]  # 23:00–04:00
    assert window_overlaps(EVENING, NIGHT) == []
    fri_only = TimeWindow(name="fri", start="20:00", end="21:00", days=("fri",))
    mon_only = TimeWindow(name="mon", start="20:00", end="21:00", days=("mon",))
    assert window_overlaps(fri_only, mon_only) == []


def test_overlapping_windows_share_one_crew():
    stations = _stations((0, 0))
    settings = PatrolSettings(
        teams=(
            TeamSettings(name="foot", mode="foot", count=2, windows=("evening", "weekend_night")),
            TeamSettings(name="car", mode="car"),
        ),
        district_max_gap_min=None,
    )
    teams, warnings = expand_teams(settings, (EVENING, NIGHT, WEEKEND), stations)
    foot = teams[(teams["team"] == "foot-1")].set_index("window")
    # evening (listed first) keeps 22:00–23:00; weekend_night gets the rest of its time
    assert foot.loc["evening", "shift_start_s"] == 0 and foot.loc["evening", "shift_end_s"] == 5 * 3600
    assert foot.loc["weekend_night", "shift_start_s"] == 3600 and foot.loc["weekend_night", "shift_end_s"] == 6 * 3600
    # the car works every window: evening and night hold all of weekend_night, so it is not planned there
    assert set(teams.loc[teams["team"] == "car", "window"]) == {"evening", "night"}
    assert any("'car' does not work in window 'weekend_night'" in w for w in warnings)
    assert any("'foot' works 23:00–04:00" in w for w in warnings)


def test_an_explicit_shift_spans_windows_and_is_cut_to_each():
    settings = PatrolSettings(
        teams=(TeamSettings(name="late", shift_start="22:00", shift_end="06:00"),), district_max_gap_min=None
    )
    teams, _ = expand_teams(settings, (EVENING, NIGHT), _stations((0, 0)))
    t = teams.set_index("window")
    assert (t.loc["evening", "shift_start_s"], t.loc["evening", "shift_end_s"]) == (4 * 3600, 5 * 3600)
    assert (t.loc["night", "shift_start_s"], t.loc["night", "shift_end_s"]) == (0, 7 * 3600)


def test_team_mistakes_are_reported_together():
    settings = PatrolSettings(
        teams=(TeamSettings(name="a", base="nowhere"), TeamSettings(name="a"), TeamSettings(name="b", windows=("lunch",))),
        district_max_gap_min=None,
    )
    with pytest.raises(InfeasibleSettingsError) as err:
        expand_teams(settings, (EVENING,), _stations((0, 0)))
    text = str(err.value)
    assert "no station 'nowhere'" in text and "team name 'a' is used" in text and "no window lunch" in text


def test_overlapping_windows_never_double_book_a_team(city):
    windows = (EVENING, WEEKEND)
    risk = _risk(city, [(50, 0), (450, 500)], windows)
    settings = PatrolSettings(
        teams=(TeamSettings(name="foot", mode="foot", count=1),), beats=1, hotspot_levels=("red",), district_max_gap_min=None
    )
    plan = plan_patrol(city, settings=settings, windows=windows, risk=risk, stations=_stations((250, 250)), time_limit_s=10)
    s = plan.stops
    # absolute clock minutes of the team's rows on a Friday (weekend_night starts at 22:00)
    start = {"evening": 18 * 60, "weekend_night": 22 * 60}
    busy = {w: (start[w] + g["arrive_s"].min() / 60, start[w] + g["depart_s"].max() / 60) for w, g in s.groupby("window")}
    assert busy["evening"][1] <= busy["weekend_night"][0] + 1e-9
    assert busy["weekend_night"][0] >= 23 * 60


# --------------------------------------------------------------------------- revisits
def test_revisits_are_spaced_and_never_back_to_back(city):
    risk = _risk(city, [(50, 0), (450, 500)], (EVENING,))
    settings = PatrolSettings(
        teams=(TeamSettings(name="car", mode="car", count=1),), beats=1, hotspot_levels=("red",), district_max_gap_min=None
    )
    plan = plan_patrol(city, settings=settings, windows=(EVENING,), risk=risk, stations=_stations((250, 250)), time_limit_s=10)
    s = plan.stops.sort_values(["team", "seq"])
    visits = s[s["place_kind"] == "hotspot"]
    assert len(visits) > 4
    # consecutive stops of a team at one place are a revisit: it left for 15 min or more (never one long stay)
    rows = s[s["place_kind"] != "break"]
    for (a, da), (b, ab) in zip(zip(rows["place_id"], rows["depart_s"]), list(zip(rows["place_id"], rows["arrive_s"]))[1:]):
        assert a != b or ab - da >= SAME_PLACE_AWAY_S
    for _, g in visits.groupby("place_id"):
        gaps = np.diff(np.sort(g["arrive_s"].to_numpy())) / 60.0
        assert gaps.min() >= 30 - 1e-9 and gaps.max() <= 60 + 1e-9
    assert (visits["dwell_min"] == 12).all()


# --------------------------------------------------------------------------- allocation
def test_the_beat_with_all_the_risk_gets_the_team(city):
    """Two beats; every hotspot in one of them; the only team's base in the other. Allocation follows the
    visits routing needs, so the team is allocated the risky beat (not the beat of its base) and serves it."""
    risk = _risk(city, [(50, 500), (150, 500), (50, 400)], (EVENING,))
    settings = PatrolSettings(
        teams=(TeamSettings(name="car", mode="car", count=1),),
        beats=2,
        hotspot_levels=("red",),
        district_max_gap_min=None,
        cross_beat="never",
    )
    plan = plan_patrol(city, settings=settings, windows=(EVENING,), risk=risk, stations=_stations((500, 0)), time_limit_s=10)
    hot_beats = set(plan.hotspots["beat"].astype(int) + 1)
    mine = plan.team_beats[(plan.team_beats["team"] == "car") & (plan.team_beats["how"] == "allocated")]
    assert hot_beats <= set(mine["beat"])
    a = plan.allocation.table
    risky = a[a["unit"].isin([f"Beat {b}" for b in hot_beats]) & (a["window"] == "evening")]
    assert risky["teams"].sum() >= 1
    assert plan.metrics()["dosage_met_share"] == 1.0


def test_a_beat_with_one_red_hotspot_gets_every_visit_it_needs(city):
    """The team's beat holds one hotspot and nothing else to visit: the team leaves and comes back for
    each revisit (it used to be dropped as 'team time used' while the team idled 95 % of its shift)."""
    spots = [(50, 500), (150, 500), (50, 400)]
    xy = [p for p in spots for _ in range(6)]
    inc = gpd.GeoDataFrame(
        {"time": pd.to_datetime(["2026-01-02 18:05"] * len(xy)), "time_precision": "datetime", "category": "robbery"},
        geometry=[shapely.Point(X0 + x, Y0 + y) for x, y in xy],
        crs=CRS,
    )
    risk = estimate_risk(
        city, inc, windows=(EVENING,), settings=RiskSettings(own_segment_share=1.0, level_shares=(0.05, 0.05, 0.1))
    )
    settings = PatrolSettings(
        teams=(TeamSettings(name="car", mode="car", count=1),),
        beats=2,
        hotspot_levels=("red",),
        district_max_gap_min=None,
        cross_beat="never",
    )
    plan = plan_patrol(city, settings=settings, windows=(EVENING,), risk=risk, stations=_stations((500, 0)), time_limit_s=10)
    assert len(plan.hotspots) == 1
    m = plan.metrics()
    assert m["visits_dropped"] == 0 and m["dosage_met_share"] == 1.0
    visits = plan.stops[plan.stops["place_kind"] == "hotspot"].sort_values("arrive_s")
    assert len(visits) >= 6
    assert (visits["arrive_s"].to_numpy()[1:] - visits["depart_s"].to_numpy()[:-1] >= SAME_PLACE_AWAY_S).all()


# --------------------------------------------------------------------------- matrix level: repair and causes
def _line_problem(*, break_at=None, tw=((0, 1000),), vehicles=1, allowed=None):
    """One base (node 0) and visits 1.. at 10 s from everything; 60 s dwell each."""
    n = 1 + len(tw)
    travel = np.full((n, n), 10)
    np.fill_diagonal(travel, 0)
    veh = []
    for k in range(vehicles):
        b = (
            {}
            if break_at is None
            else {"break_earliest_s": break_at[0], "break_latest_s": break_at[0], "break_duration_s": break_at[1]}
        )
        veh.append(Vehicle(f"t{k}", start=0, end=0, shift_start_s=0, shift_end_s=1000, **b))
    return RoutingProblem.from_arrays(
        travel,
        service_s=[0] + [60] * len(tw),
        tw_start_s=[0] + [a for a, _ in tw],
        tw_end_s=[1000] + [b for _, b in tw],
        vehicles=veh,
        penalty=[-1] + [1000] * len(tw),
        allowed=allowed,
        place=[-1] + list(range(len(tw))),
    )


def _empty_result(problem, *, dropped, break_start=None):
    routes = tuple(
        Route(
            k,
            (Stop(0, v.shift_start_s, v.shift_start_s), Stop(0, v.shift_end_s, v.shift_end_s)),
            0,
            None,
            break_start if v.break_duration_s else None,
        )
        for k, v in enumerate(problem.vehicles)
    )
    return RoutingResult(routes, tuple(dropped), 0, "feasible", 0.0, "test", "test")


def test_a_visit_whose_only_team_is_on_break_has_no_team_on_shift():
    p = _line_problem(break_at=(100, 300), tw=((150, 200),))  # the team is on its break 100–400
    cause, busy = drop_causes(p, _empty_result(p, dropped=[1], break_start=100))[1]
    assert cause == "no_team_on_shift" and busy == []
    # the same visit when the break is elsewhere: the team is free, so it is inserted
    q = _line_problem(break_at=(500, 300), tw=((150, 200),))
    fixed, placed = insert_dropped(q, _empty_result(q, dropped=[1], break_start=500))
    assert placed == [(1, 0)] and fixed.dropped == ()
    assert [s.node for s in fixed.routes[0].stops] == [0, 1, 0] and fixed.routes[0].stops[1].arrive_s == 150


def test_a_visit_too_far_for_the_shift_is_unreachable():
    p = _line_problem(tw=((0, 5),))  # 10 s of travel from the base, arrival by 5 s
    assert drop_causes(p, _empty_result(p, dropped=[1]))[1][0] == "unreachable"


def test_a_visit_no_allowed_team_can_make_has_no_team_allocated():
    base = _line_problem(tw=((100, 200),), vehicles=2)
    early = Vehicle("t0", start=0, end=0, shift_start_s=0, shift_end_s=90)  # the team of its beat has gone home
    p = RoutingProblem.from_arrays(
        base.travel_s,
        service_s=base.service_s,
        tw_start_s=base.tw_start_s,
        tw_end_s=base.tw_end_s,
        vehicles=[early, base.vehicles[1]],
        penalty=base.penalty,
        allowed=[None, [0]],
        place=base.place,
    )
    result = _empty_result(p, dropped=[1])
    assert find_insertion(p, result.routes[1], 1) is not None  # team 1 is free, but may not patrol there
    assert drop_causes(p, result)[1][0] == "no_team_allocated"
    assert insert_dropped(p, result)[1] == []  # and the repair respects the beats
    # allowed everywhere: the idle team takes it
    q = _line_problem(tw=((100, 200),), vehicles=2)
    assert insert_dropped(q, _empty_result(q, dropped=[1]))[1] == [(1, 0)]


def test_time_used_names_the_visits_that_hold_the_team():
    p = _line_problem(tw=((100, 120), (100, 120)))
    busy = Route(0, (Stop(0, 0, 0), Stop(1, 100, 160), Stop(0, 170, 170)), 20, None, None)
    result = RoutingResult((busy,), (2,), 0, "feasible", 0.0, "test", "test")
    cause, held = drop_causes(p, result)[2]
    assert cause == "time_used" and held == [(0, 1)]


def test_a_dropped_visit_takes_the_place_of_a_less_valuable_one():
    p = _line_problem(tw=((100, 120), (100, 120)))
    p = RoutingProblem.from_arrays(
        p.travel_s,
        service_s=p.service_s,
        tw_start_s=p.tw_start_s,
        tw_end_s=p.tw_end_s,
        vehicles=p.vehicles,
        penalty=[-1, 100, 5000],
        place=p.place,
    )
    busy = Route(0, (Stop(0, 0, 0), Stop(1, 100, 160), Stop(0, 170, 170)), 20, None, None)
    fixed, placed = insert_dropped(p, RoutingResult((busy,), (2,), 0, "feasible", 0.0, "test", "test"))
    assert fixed.dropped == (1,) and [s.node for s in fixed.routes[0].stops] == [0, 2, 0]


def test_capacity_bound_sees_break_time_and_visits_at_the_same_moment():
    # two places, one visit each, both to be made between 100 and 160 s: one team can make only one
    p = _line_problem(tw=((100, 100), (100, 100)))
    b = capacity_bound(p, np.array([0, 1, 2]), [1, 2])
    assert b["targets"] == 2 and b["targets_possible"] == 1 and b["dosage_bound"] == 0.5
    # two teams can make both
    q = _line_problem(tw=((100, 100), (100, 100)), vehicles=2)
    assert capacity_bound(q, np.array([0, 1, 2]), [1, 2])["targets_possible"] == 2
    # one team whose break (100–400, fixed) covers the visits: none is possible
    r = _line_problem(tw=((150, 150), (150, 150)), break_at=(100, 300))
    assert capacity_bound(r, np.array([0, 1, 2]), [1, 2])["targets_possible"] == 0
    # and the solver agrees with each bound
    for prob, bound in ((p, 1), (q, 2)):
        res = solve_routing(prob, stop=Limits(work=1, max_runtime_s=30))
        assert len(prob.bases) + 2 - 1 - len(res.dropped) == bound


def test_same_place_visits_never_follow_each_other():
    # one place needing two visits close together, and another place: the solver must go elsewhere between
    travel = np.array([[0, 10, 10, 10], [10, 0, 0, 10], [10, 0, 0, 10], [10, 10, 10, 0]])
    p = RoutingProblem.from_arrays(
        travel,
        service_s=[0, 60, 60, 60],
        tw_start_s=[0, 0, 0, 0],
        tw_end_s=[1000, 1000, 1000, 1000],
        vehicles=[Vehicle("t", start=0, end=0, shift_start_s=0, shift_end_s=1000)],
        penalty=[-1, 500, 500, 500],
        place=[-1, 7, 7, 8],
    )
    res = solve_routing(p, stop=Limits(work=1, max_runtime_s=30))
    nodes = [s.node for s in res.routes[0].stops]
    assert res.dropped == () and all({a, b} != {1, 2} for a, b in zip(nodes, nodes[1:]))


def test_a_previous_run_whose_routes_csv_is_not_a_table_is_an_input_error(tmp_path):
    from geoengine.errors import GeoEngineError
    from geoengine.patrol.plan import _previous_routes

    (tmp_path / "routes.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00SECRET=hunter2\x00\xff\xfe")
    settings = PatrolSettings(teams=(TeamSettings(name="t"),), previous_run=tmp_path, district_max_gap_min=None)
    with pytest.raises(GeoEngineError) as err:
        _previous_routes(settings)
    assert "routes.csv" in str(err.value) and "hunter2" not in str(err.value)
    (tmp_path / "routes.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(GeoEngineError, match="lacks the columns team"):
        _previous_routes(settings)
