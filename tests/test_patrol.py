"""Patrol planning: travel matrices, hotspot targets, visit slots, and whole plans on hand-built streets."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geoengine.network import RoadNetwork
from geoengine.patrol.targets import hotspot_targets, visit_slots
from geoengine.patrol.travel import travel_matrix
from geoengine.risk import estimate_risk
from geoengine.scenario import PatrolSettings, RiskSettings, TeamSettings, TimeWindow
from geoengine.synthetic import grid_network

CRS = "EPSG:32633"
X0, Y0 = 500_000.0, 6_600_000.0


def grid(tmp_path, n: int = 6, block_m: float = 100.0) -> RoadNetwork:
    return grid_network(n, block_m=block_m, crs=CRS, origin=(X0, Y0))


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> RoadNetwork:
    return grid(tmp_path_factory.mktemp("grid"))


def pts(*xy: tuple[float, float]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": [f"p{i}" for i in range(len(xy))]}, geometry=[shapely.Point(X0 + x, Y0 + y) for x, y in xy], crs=CRS
    )


def test_travel_matrix_times_lengths_and_paths(city):
    m = travel_matrix(city, pts((0, 0), (300, 0), (300, 200)), mode="foot")
    speed = city.edges["speed_foot_kph"].max() / 3.6
    assert m.metres[0, 1] == pytest.approx(300.0)
    assert m.metres[0, 2] == pytest.approx(500.0)  # along the streets, not the 360 m diagonal
    assert m.seconds[0, 2] == pytest.approx(500.0 / speed, rel=1e-6)
    assert np.allclose(np.diag(m.seconds), 0)
    path = m.path(0, 2)
    assert path.length == pytest.approx(500.0)
    assert path.coords[0] == pytest.approx((X0, Y0)) and path.coords[-1] == pytest.approx((X0 + 300, Y0 + 200))


def test_visit_slots_keep_revisits_between_the_min_and_max_gap():
    settings = PatrolSettings(teams=(TeamSettings(name="t"),))
    w = TimeWindow(name="evening", start="18:00", end="23:00")
    slots = visit_slots(w, "red", settings, start_s=0, end_s=5 * 3600)
    assert all(b >= a and dwell == 12 * 60 for a, b, dwell in slots)
    # any arrivals chosen within consecutive windows are 30 to 60 min apart (Koper: leave, come back)
    assert max(b2 - a1 for (a1, _, _), (_, b2, _) in zip(slots, slots[1:])) <= 3600
    assert min(a2 - b1 for (_, b1, _), (a2, _, _) in zip(slots, slots[1:])) >= 1800
    assert len(slots) == 7  # a cycle of (60 + 30) / 2 = 45 min: arrivals from 0 to 4 h 30 ≤ 5 h − 12 min
    orange = visit_slots(w, "orange", settings, start_s=0, end_s=5 * 3600)
    assert len(orange) == 4 and max(b2 - a1 for (a1, _, _), (_, b2, _) in zip(orange, orange[1:])) <= 7200
    # a cycle that starts later (staggered, or the way there is long) keeps the same spacing
    late = visit_slots(w, "red", settings, start_s=0, end_s=5 * 3600, offset_s=20 * 60)
    assert late[0][0] == 20 * 60 and len(late) == 6
    # a window shorter than one dwell has no visit
    assert visit_slots(w, "red", settings, start_s=0, end_s=10 * 60) == []


def test_hotspots_are_clusters_of_adjacent_risky_streets(city):
    times = pd.to_datetime(["2026-01-01 20:00"] * 8)
    inc = gpd.GeoDataFrame(
        {"time": times, "time_precision": "datetime", "category": "robbery"},
        geometry=[
            shapely.Point(X0 + 50, Y0),
            shapely.Point(X0 + 150, Y0),
            shapely.Point(X0 + 55, Y0),
            shapely.Point(X0 + 145, Y0),
            shapely.Point(X0 + 450, Y0 + 500),
            shapely.Point(X0 + 455, Y0 + 500),
            shapely.Point(X0 + 440, Y0 + 500),
            shapely.Point(X0 + 460, Y0 + 500),
        ],
        crs=CRS,
    )
    risk = estimate_risk(city, inc, settings=RiskSettings(own_segment_share=1.0, level_shares=(0.05, 0.01, 0.01)))
    h = hotspot_targets(risk, levels=("red",))
    assert len(h) == 2
    assert sorted(len(s) for s in h["segments"]) == [1, 2]  # two adjacent segments, one alone
    assert set(h["level:all_day"]) == {"red"}


# --------------------------------------------------------------------------- whole plans
from geoengine.patrol.plan import plan_patrol  # noqa: E402


def _risk_with_hotspots(city: RoadNetwork, spots: list[tuple[float, float]], *, window: TimeWindow, n: int = 6):
    xy = [p for p in spots for _ in range(n)]
    inc = gpd.GeoDataFrame(
        {
            "time": pd.to_datetime([f"2026-01-01 {window.start}"] * len(xy)) + pd.Timedelta(minutes=5),
            "time_precision": "datetime",
            "category": "robbery",
        },
        geometry=[shapely.Point(X0 + x, Y0 + y) for x, y in xy],
        crs=CRS,
    )
    return estimate_risk(
        city, inc, windows=(window,), settings=RiskSettings(own_segment_share=1.0, level_shares=(0.05, 0.05, 0.1))
    )


def _stations(*xy: tuple[float, float]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": [f"Station {i}" for i in range(len(xy))]}, geometry=[shapely.Point(X0 + x, Y0 + y) for x, y in xy], crs=CRS
    )


EVENING = TimeWindow(name="evening", start="18:00", end="22:00")


def test_two_teams_serve_four_hotspots_and_revisit_red_ones_in_time(city):
    risk = _risk_with_hotspots(city, [(50, 0), (450, 0), (50, 500), (450, 500)], window=EVENING)
    settings = PatrolSettings(
        teams=(TeamSettings(name="car", mode="car", count=2, base=0),),
        beats=2,
        hotspot_levels=("red",),
        district_max_gap_min=None,
        cross_beat=True,
    )
    plan = plan_patrol(city, settings=settings, windows=(EVENING,), risk=risk, stations=_stations((250, 250)), time_limit_s=10)
    m = plan.metrics()
    assert m["teams"] == 2 and m["time_window_violations"] == 0
    assert m["visits_dropped"] == 0, plan.dropped
    assert m["dosage_met_share"] == 1.0
    # red hotspots: arrivals never further apart than 60 minutes
    hot = plan.stops[plan.stops["place_kind"] == "hotspot"]
    for _, g in hot.groupby("place_id"):
        assert np.diff(np.sort(g["arrive_s"].to_numpy())).max() <= 3600
    assert m["max_revisit_gap_min"] <= 60
    # each route starts and ends at the base and dwells 12 minutes at each hotspot
    for _, g in plan.stops.groupby("team"):
        assert g.sort_values("seq")["place_kind"].iloc[0] == "base" and g.sort_values("seq")["place_kind"].iloc[-1] == "base"
    assert (hot["dwell_min"] == 12).all()
    table = plan.routes_table()
    assert list(table.columns) == [
        "team",
        "mode",
        "window",
        "seq",
        "place_id",
        "place_kind",
        "place_name",
        "beat",
        "lon",
        "lat",
        "arrive",
        "depart",
        "arrive_s",
        "depart_s",
        "dwell_min",
        "travel_min_from_prev",
        "risk_level",
    ]
    assert table["arrive"].str.match(r"^\d\d:\d\d$").all() and table["arrive"].min() >= "18:00"
    # routes are drawn along the streets
    assert all(line.length > 0 for line in plan.route_lines.geometry)


def test_a_hotspot_no_team_can_reach_in_time_is_dropped_and_reported(city):
    short = TimeWindow(name="short", start="18:00", end="18:20")
    risk = _risk_with_hotspots(city, [(450, 500), (50, 0)], window=short)
    settings = PatrolSettings(
        teams=(TeamSettings(name="foot", mode="foot", count=1, base=0),),
        beats=1,
        hotspot_levels=("red",),
        district_max_gap_min=None,
        dwell_min={"red": 12.0},
        max_hotspots_per_window=2,
    )
    plan = plan_patrol(city, settings=settings, windows=(short,), risk=risk, stations=_stations((0, 0)), time_limit_s=5)
    # on foot the far corner (900 m, ~12 min) plus a 12 min stop does not fit in 20 minutes with the near one
    assert len(plan.dropped) >= 1
    assert plan.dropped["reason"].str.len().gt(0).all()
    reachable = plan.stops[plan.stops["place_kind"] == "hotspot"]["place_id"].unique()
    assert set(plan.dropped["place_id"]).isdisjoint(reachable) or len(reachable) == 0
    assert plan.metrics()["visits_dropped"] == len(plan.dropped)
    assert plan.metrics()["time_window_violations"] == 0
    assert set(plan.dropped["cause"]) == {"unreachable"}


def test_teams_stay_in_their_beats_and_beats_are_contiguous(city):
    risk = _risk_with_hotspots(city, [(50, 0), (450, 0), (50, 500), (450, 500), (250, 300)], window=EVENING)
    settings = PatrolSettings(
        teams=(TeamSettings(name="car", mode="car", count=2, base=0), TeamSettings(name="bike", mode="ebike", count=2, base=1)),
        beats=4,
        hotspot_levels=("red",),
        district_max_gap_min=None,
        cross_beat=False,
    )
    plan = plan_patrol(
        city, settings=settings, windows=(EVENING,), risk=risk, stations=_stations((0, 0), (500, 500)), time_limit_s=10
    )
    assert plan.beats.contiguous
    beat_of = plan.hotspots.set_index("hotspot_id")["beat"]
    result = plan.results["evening"]
    assert result is not None
    # every hotspot stop is made by a team allowed in that hotspot's beat
    from geoengine.patrol.plan import _team_beats

    teams = plan.teams[plan.teams["window"] == "evening"].reset_index(drop=True)
    allowed = _team_beats(teams, plan.beats, plan.allocation, "evening", _stations((0, 0), (500, 500)), city)
    hot = plan.stops[plan.stops["place_kind"] == "hotspot"]
    assert len(hot) > 0
    for row in hot.itertuples():
        assert int(beat_of[row.place_id]) in allowed[row.team]


def test_replanning_keeps_what_still_works(city, tmp_path):
    risk = _risk_with_hotspots(city, [(50, 0), (450, 0), (50, 500), (450, 500)], window=EVENING)
    teams = (TeamSettings(name="car", mode="car", count=2, base=0),)
    settings = PatrolSettings(teams=teams, beats=2, hotspot_levels=("red",), district_max_gap_min=None, cross_beat=True)
    stations = _stations((250, 250))
    first = plan_patrol(city, settings=settings, windows=(EVENING,), risk=risk, stations=stations, time_limit_s=8)
    (tmp_path / "prev").mkdir()
    first.routes_table().to_csv(tmp_path / "prev" / "routes.csv", index=False)
    again = settings.model_copy(update={"previous_run": tmp_path / "prev"})
    same = plan_patrol(city, settings=again, windows=(EVENING,), risk=risk, stations=stations, time_limit_s=8, seed=5)
    assert same.changed_stops == 0
    assert same.metrics()["changed_stops"] == 0
    # one team removed: its stops must move, and the change is counted
    fewer = again.model_copy(update={"teams": (TeamSettings(name="car", mode="car", count=1, base=0),)})
    moved = plan_patrol(city, settings=fewer, windows=(EVENING,), risk=risk, stations=stations, time_limit_s=8)
    assert moved.changed_stops > 0


def test_alternative_plans_are_near_equal_and_differ(city):
    risk = _risk_with_hotspots(city, [(50, 0), (450, 0), (50, 500), (450, 500)], window=EVENING)
    settings = PatrolSettings(
        teams=(TeamSettings(name="car", mode="car", count=2, base=0),),
        beats=1,
        hotspot_levels=("red",),
        district_max_gap_min=None,
        alternatives=3,
        alternative_tolerance=0.10,
    )
    plan = plan_patrol(city, settings=settings, windows=(EVENING,), risk=risk, stations=_stations((250, 250)), time_limit_s=9)
    m = plan.metrics()
    assert m["alternatives"] == 1 + len(plan.alternatives) >= 2
    assert all(0.0 <= share <= 1.0 for share in m["alternatives_differ_share"])
    assert max(m["alternatives_differ_share"]) > 0, "alternatives should not repeat the plan"


def test_a_replanning_hint_never_gives_a_team_a_stop_outside_its_beats():
    import pandas as pd

    from geoengine.patrol.plan import _hint

    previous = pd.DataFrame(
        {
            "team": ["car-1"] * 4,
            "window": ["evening"] * 4,
            "seq": [0, 1, 2, 3],
            "place_kind": ["base", "hotspot", "hotspot", "base"],
            "place_id": ["b", "h1", "h2", "b"],
        }
    )
    wt = pd.DataFrame({"team": ["car-1"], "base": ["b"]})
    visits = pd.DataFrame({"place_id": ["h1", "h2"], "visit": [0, 0], "node": [1, 2]})
    hint = _hint(previous, "evening", wt, visits)
    assert [s.node for s in hint.routes[0].stops] == [0, 1, 2, 0]
    # today h2 lies in a beat car-1 no longer patrols: the hint leaves it out
    hint = _hint(previous, "evening", wt, visits, (None, None, frozenset({1})))
    assert [s.node for s in hint.routes[0].stops] == [0, 1, 0]


def test_the_beats_get_the_patrol_safety_cap_not_their_default(city, monkeypatch):
    """``plan_patrol(time_limit_s=...)`` (the scenario's ``solver.time_limit_s``) reaches the beats
    step: it used to run with make_beats' own 60 s default whatever the scenario said."""
    import geoengine.patrol.plan as plan_module

    seen = {}
    real = plan_module.make_beats

    def recording(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(plan_module, "make_beats", recording)
    short = TimeWindow(name="short", start="18:00", end="18:20")
    risk = _risk_with_hotspots(city, [(50, 0)], window=short)
    settings = PatrolSettings(
        teams=(TeamSettings(name="foot", mode="foot", count=1, base=0),),
        beats=1,
        hotspot_levels=("red",),
        district_max_gap_min=None,
        dwell_min={"red": 5.0},
        max_hotspots_per_window=1,
    )
    plan_patrol(city, settings=settings, windows=(short,), risk=risk, stations=_stations((0, 0)), time_limit_s=7)
    assert seen["time_limit_s"] == 7.0
