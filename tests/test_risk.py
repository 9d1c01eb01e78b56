"""Risk surface: kernel values, time windows, recency, harm, grading, Gi*, backtest."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import pytest
import scipy.sparse as sp
import shapely

from geoengine.network import RoadNetwork, network_from_graphml
from geoengine.risk import (
    LEVELS,
    estimate_risk,
    evaluate_risk,
    getis_ord_gi_star,
    harm_weights,
    hour_profile,
    network_kernel_density,
    split_incidents,
    window_weights,
)
from geoengine.scenario import RiskSettings, TimeWindow
from geoengine.synthetic import grid_network

CRS = "EPSG:32633"
X0, Y0 = 500_000.0, 6_600_000.0


def _save(g: nx.MultiDiGraph, path: Path) -> RoadNetwork:
    ox.save_graphml(g, path)
    return network_from_graphml(path, crs=CRS)


@pytest.fixture(scope="module")
def line(tmp_path_factory) -> RoadNetwork:
    """A straight 1 km street along x in ten 100 m segments (alternating classes so they stay apart)."""
    g = nx.MultiDiGraph(crs=CRS)
    for i in range(11):
        g.add_node(i + 1, x=X0 + 100 * i, y=Y0)
    for i in range(10):
        for a, b in ((i + 1, i + 2), (i + 2, i + 1)):
            g.add_edge(
                a,
                b,
                osmid=100 + i,
                highway=("residential", "tertiary")[i % 2],
                oneway=False,
                reversed=a > b,
                length=100.0,
                name=f"Street {i}",
            )
    return _save(g, tmp_path_factory.mktemp("line") / "line.graphml")


@pytest.fixture(scope="module")
def star(tmp_path_factory) -> RoadNetwork:
    """Three 200 m arms meeting at one junction (a T): distances go round the corner."""
    g = nx.MultiDiGraph(crs=CRS)
    g.add_node(1, x=X0, y=Y0)
    ends = {2: (X0 - 200, Y0), 3: (X0 + 200, Y0), 4: (X0, Y0 + 200)}
    for n, (x, y) in ends.items():
        g.add_node(n, x=x, y=y)
        for a, b in ((1, n), (n, 1)):
            g.add_edge(a, b, osmid=n, highway="residential", oneway=False, reversed=a != 1, length=200.0, name=f"Arm {n}")
    return _save(g, tmp_path_factory.mktemp("star") / "star.graphml")


@pytest.fixture(scope="module")
def grid() -> RoadNetwork:
    """An 8 × 8 grid of 100 m blocks (112 street segments)."""
    return grid_network(8, crs=CRS, origin=(X0, Y0))


def points(xy: list[tuple[float, float]], crs: str = CRS) -> gpd.GeoSeries:
    return gpd.GeoSeries([shapely.Point(x, y) for x, y in xy], crs=crs)


def incidents(xy, times, precision="datetime", categories=None, crs: str = CRS) -> gpd.GeoDataFrame:
    n = len(xy)
    return gpd.GeoDataFrame(
        {
            "time": pd.to_datetime(times, format="ISO8601"),
            "time_precision": [precision] * n if isinstance(precision, str) else precision,
            "category": categories or ["theft"] * n,
            "weight": 1.0,
        },
        geometry=points(xy, crs).values,
        crs=crs,
    )


def quartic(d: np.ndarray, h: float) -> np.ndarray:
    u = np.abs(d) / h
    return np.where(u < 1, 15 / 16 * (1 - u**2) ** 2 / h, 0.0)


# --------------------------------------------------------------------------- kernel
def test_two_incidents_on_a_line_give_the_expected_kernel_values(line):
    at = np.array([250.0, 700.0])
    dens = network_kernel_density(line, points([(X0 + a, Y0 + 3) for a in at]), bandwidth_m=150, lixel_m=25)[0]
    segs = line.segments()
    for sid, geom in zip(segs.index, segs.geometry):
        start = geom.bounds[0] - X0
        samples = start + np.array([12.5, 37.5, 62.5, 87.5])  # four 25 m lixels of a 100 m segment
        expected = quartic(samples[:, None] - at[None, :], 150).sum(axis=1).mean()
        assert dens[sid] == pytest.approx(expected, rel=1e-9, abs=1e-15), sid
    # the kernel integrates to one incident per incident along the line (none reaches the ends)
    assert (dens * segs["length_m"]).sum() == pytest.approx(2.0, rel=0.02)


def test_distance_is_measured_along_the_streets_not_straight(star):
    # an incident 50 m up arm 4; arm 3's sample 50 m from the junction is 70.7 m away in a
    # straight line but 100 m along the streets
    dens = network_kernel_density(star, points([(X0, Y0 + 50)]), bandwidth_m=150, lixel_m=100)[0]
    segs = star.segments()
    arm3 = segs.index[segs["name"] == "Arm 3"][0]
    # arm 3 (200 m, two 100 m lixels) has samples at 50 m and 150 m from the junction
    expected = (quartic(np.array([100.0]), 150)[0] + quartic(np.array([200.0]), 150)[0]) / 2
    assert dens[arm3] == pytest.approx(expected)


def test_own_segment_share_keeps_weight_on_the_incident_segment(line):
    inc = incidents([(X0 + 250, Y0)], ["2026-01-01 12:00"])
    s = estimate_risk(line, inc, settings=RiskSettings(own_segment_share=1.0, half_life_days=None, district_boost=0))
    t = s.for_window("all_day")
    on = t["crime_per_km"].idxmax()
    assert t.loc[on, "crime_per_km"] == pytest.approx(1000 * 2.0 / 100)  # theft harm 2 over 100 m
    assert (t.drop(index=on)["crime_per_km"] == 0).all()


# --------------------------------------------------------------------------- time
def test_midnight_wrapping_window_counts_a_2330_incident():
    night = TimeWindow(name="night", start="22:00", end="06:00")
    day = TimeWindow(name="day", start="06:00", end="22:00")
    times = pd.Series(pd.to_datetime(["2026-03-02 23:30", "2026-03-03 05:59", "2026-03-03 12:00"]))
    w = window_weights(times, pd.Series(["datetime"] * 3), (night, day))
    assert w.tolist() == [[1, 0], [1, 0], [0, 1]]


def test_days_of_week_with_a_wrapping_window():
    fri_night = TimeWindow(name="fri", start="22:00", end="04:00", days=("fri",))
    times = pd.Series(pd.to_datetime(["2026-11-20 23:00", "2026-11-21 02:00", "2026-11-22 02:00"]))  # Fri, Sat 2am, Sun 2am
    w = window_weights(times, pd.Series(["datetime"] * 3), (fri_night,))
    assert w[:, 0].tolist() == [1, 1, 0]


def test_date_only_incident_is_spread_by_the_profile():
    morning = TimeWindow(name="morning", start="07:00", end="12:00")
    evening = TimeWindow(name="evening", start="18:00", end="24:00")
    times = pd.Series(pd.to_datetime(["2026-03-02 08:15"] * 30 + ["2026-03-02 19:40"] * 10 + ["2026-03-04"], format="ISO8601"))
    prec = pd.Series(["datetime"] * 40 + ["date"])
    w = window_weights(times, prec, (morning, evening))
    profile = hour_profile(times, prec)
    assert profile.sum() == pytest.approx(1.0)
    bins = np.arange(96)
    assert w[-1, 0] == pytest.approx(profile[(bins >= 28) & (bins < 48)].sum())
    assert w[-1, 1] == pytest.approx(profile[bins >= 72].sum())
    assert w[-1, 0] == pytest.approx(0.75, abs=0.02) and w[-1, 1] == pytest.approx(0.25, abs=0.02)


def test_month_only_incident_follows_the_weekdays_of_its_month():
    # November 2026 starts on a Sunday: 30 days, so Sunday and Monday occur five times
    sunday = TimeWindow(name="sun", start="00:00", end="24:00", days=("sun",))
    tuesday = TimeWindow(name="tue", start="00:00", end="24:00", days=("tue",))
    w = window_weights(pd.Series(pd.to_datetime(["2026-11-01"])), pd.Series(["month"]), (sunday, tuesday))
    assert w[0].tolist() == pytest.approx([5 / 30, 4 / 30])


def test_untimed_incidents_are_never_dropped(line):
    inc = incidents([(X0 + 250, Y0), (X0 + 650, Y0)], ["2026-03-02", "2026-03-01"], precision=["date", "month"])
    night = TimeWindow(name="night", start="22:00", end="06:00")
    s = estimate_risk(line, inc, windows=(night,))
    assert s.incidents_used == 2 and s.untimed_share == 1.0
    assert s.for_window("night")["risk"].sum() > 0
    assert any("no incident has a time" in w for w in s.warnings)


# --------------------------------------------------------------------------- weights
def test_recency_halves_weight_every_half_life(line):
    settings = RiskSettings(own_segment_share=1.0, half_life_days=60, district_boost=0)
    inc = incidents([(X0 + 250, Y0), (X0 + 750, Y0)], ["2026-01-01 12:00", "2026-03-02 12:00"])  # 60 days apart
    t = estimate_risk(line, inc, settings=settings).for_window("all_day")
    old, new = (
        t.loc[t.geometry.bounds.minx == X0 + 200, "risk"].iloc[0],
        t.loc[t.geometry.bounds.minx == X0 + 700, "risk"].iloc[0],
    )
    assert old / new == pytest.approx(0.5, rel=1e-6)


def test_harm_weights_by_keyword_and_unknown_categories_listed():
    cats = pd.Series(["ROBBERY", "LARCENY/THEFT", "Anti-social behaviour", "VEHICLE THEFT", "FRAUD", "fraud"])
    w, unknown = harm_weights(cats, RiskSettings().category_weights)
    assert w.tolist() == [3.0, 2.0, 1.0, 2.0, 1.0, 1.0]
    assert unknown == ["FRAUD", "fraud"]


def test_robbery_outranks_theft_outranks_disorder(line):
    inc = incidents(
        [(X0 + 150, Y0), (X0 + 450, Y0), (X0 + 850, Y0)], ["2026-01-01 12:00"] * 3, categories=["robbery", "theft", "disorder"]
    )
    t = estimate_risk(line, inc, settings=RiskSettings(own_segment_share=1.0)).for_window("all_day")
    by_x = t.set_index(t.geometry.bounds.minx - X0)["risk"]
    assert by_x[100] > by_x[400] > by_x[800] > 0


def test_priority_districts_and_key_sites_raise_risk(line):
    inc = incidents([(X0 + 50 + 100 * i, Y0) for i in range(10)], ["2026-01-01 12:00"] * 10)
    district = gpd.GeoDataFrame(
        {"name": ["d"], "priority": [2.0]}, geometry=[shapely.box(X0 + 100, Y0 - 50, X0 + 200, Y0 + 50)], crs=CRS
    )
    site = gpd.GeoDataFrame({"name": ["s"], "priority": [1.0]}, geometry=[shapely.Point(X0 + 850, Y0 + 20)], crs=CRS)
    settings = RiskSettings(own_segment_share=1.0, district_boost=0.5, key_site_boost=0.5, key_site_radius_m=30)
    s = estimate_risk(line, inc, settings=settings, districts=district, key_sites=site)
    t = s.for_window("all_day").set_index(s.segments.geometry.bounds.minx.to_numpy() - X0)
    assert t.loc[100, "priority"] == pytest.approx(2.0)  # 1 + 0.5 × 2
    assert t.loc[800, "priority"] == pytest.approx(1.5)
    assert t.loc[400, "priority"] == 1.0
    assert t.loc[100, "risk"] == pytest.approx(2 * t.loc[400, "risk"])
    assert t.loc[100, "crime_per_km"] == pytest.approx(t.loc[400, "crime_per_km"])  # crime itself is not boosted


# --------------------------------------------------------------------------- grading, hotspots
def test_grading_by_shares_of_street_length(line):
    # one incident per segment, i incidents on segment i: a strict ranking
    xy = [(X0 + 100 * i + 50, Y0) for i in range(10) for _ in range(i)]
    inc = incidents(xy, ["2026-01-01 12:00"] * len(xy))
    settings = RiskSettings(own_segment_share=1.0, level_shares=(0.1, 0.2, 0.3), half_life_days=None)
    t = estimate_risk(line, inc, settings=settings).for_window("all_day")
    t = t.sort_values("risk", ascending=False)
    assert t["level"].tolist() == ["red"] + ["orange"] * 2 + ["yellow"] * 3 + ["blue"] * 4
    thresholds = RiskSettings(own_segment_share=1.0, thresholds_per_km=(150.0, 100.0, 1.0), half_life_days=None)
    t2 = estimate_risk(line, inc, settings=thresholds).for_window("all_day").sort_values("risk")
    # i incidents × harm 2 over 100 m = 20·i per km
    assert t2["level"].tolist() == ["blue"] + ["yellow"] * 4 + ["orange"] * 3 + ["red"] * 2


def test_gi_star_matches_esda_on_the_same_weights():
    esda = pytest.importorskip("esda")
    from libpysal.weights import W

    rng = np.random.default_rng(7)
    n = 60
    adj = sp.random(n, n, density=0.08, random_state=3, data_rvs=np.ones).tocsr()
    adj = ((adj + adj.T) > 0).astype(float)
    adj.setdiag(0)
    adj.eliminate_zeros()
    # every unit needs a neighbour for libpysal
    for i in np.flatnonzero(np.asarray(adj.sum(axis=1)).ravel() == 0):
        adj[i, (i + 1) % n] = adj[(i + 1) % n, i] = 1
    y = rng.gamma(1.5, 2.0, size=n)
    neighbours = {i: [int(j) for j in adj[i].indices if j != i] for i in range(n)}
    w = W(neighbours, silence_warnings=True)
    ref = esda.G_Local(y, w, transform="B", star=True, permutations=0)
    assert getis_ord_gi_star(y, adj) == pytest.approx(ref.Zs, rel=1e-9)


def test_a_cluster_of_incidents_is_a_significant_hotspot(grid):
    rng = np.random.default_rng(0)
    cluster = [(X0 + 150 + dx, Y0 + 100) for dx in rng.uniform(-45, 45, 25)]  # one street near a corner
    cluster += [(X0 + 200, Y0 + 150 + dy) for dy in rng.uniform(-45, 45, 15)]  # and a street next to it
    scatter = [(X0 + x, Y0 + y) for x, y in zip(rng.integers(0, 7, 12) * 100 + 50, rng.integers(0, 8, 12) * 100)]
    xy = cluster + scatter
    inc = incidents(xy, ["2026-01-01 12:00"] * len(xy))
    t = estimate_risk(grid, inc).for_window("all_day")
    hot = t[t["hotspot"]]
    assert len(hot) >= 2
    centre = shapely.Point(X0 + 175, Y0 + 110)
    assert (hot.geometry.distance(centre) <= 150).all()
    assert (hot["gi_q"] < 0.05).all() and (hot["gi_z"] > 0).all()
    assert hot["level"].isin(["red", "orange"]).all()


# --------------------------------------------------------------------------- evaluation
def test_pai_on_a_known_answer(line):
    history = incidents([(X0 + 50, Y0)] * 5 + [(X0 + 950, Y0)], ["2026-01-10 12:00"] * 5 + ["2026-01-20 12:00"])
    s = estimate_risk(line, history, settings=RiskSettings(own_segment_share=1.0, half_life_days=None))
    held = incidents([(X0 + 50, Y0)] * 3 + [(X0 + 550, Y0)], ["2026-02-01 12:00"] * 4)
    ev = evaluate_risk(s, held, history=history, shares=(0.1,))
    # the top 10 % of street length is the first segment: 3 of 4 held-out incidents, PAI 7.5
    row = ev.table[(ev.table["window"] == "*") & (ev.table["method"] == "risk")].iloc[0]
    assert row["hit_rate"] == pytest.approx(0.75) and row["length_share"] == pytest.approx(0.1)
    assert ev.pai(0.1) == pytest.approx(7.5)
    # the baseline looks at the 7 days before the held-out day and finds nothing there:
    # with no information its ranking is a tie, and a tie scores PAI 1
    assert ev.baseline_days == pytest.approx(7.0)
    assert ev.pai(0.1, method="baseline") == pytest.approx(1.0)
    # a 16-day held-out period looks back to 9 January: five incidents on the first
    # segment, one on the last, so the last comes second
    held2 = incidents([(X0 + 950, Y0)] * 2, ["2026-01-25 12:00", "2026-02-10 12:00"])
    ev2 = evaluate_risk(s, held2, history=history, shares=(0.1, 0.2))
    assert ev2.baseline_days == pytest.approx(16.0)
    assert ev2.pai(0.1, method="baseline") == pytest.approx(0.0)
    assert ev2.pai(0.2, method="baseline") == pytest.approx(5.0)


def test_split_keeps_later_incidents_out():
    inc = incidents([(X0, Y0)] * 3, ["2016-08-31 23:59", "2016-09-01 00:00", "2016-10-01"])
    est, held = split_incidents(inc, dt.date(2016, 9, 1))
    assert len(est) == 1 and len(held) == 2


def test_estimation_is_deterministic_and_does_not_mutate_inputs(line):
    inc = incidents([(X0 + 120, Y0), (X0 + 480, Y0)], ["2026-01-01 01:00", "2026-01-02"], precision=["datetime", "date"])
    before = inc.copy()
    a = estimate_risk(line, inc)
    b = estimate_risk(line, inc)
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(inc, before)
    assert set(a.table["level"]) <= set(LEVELS)
