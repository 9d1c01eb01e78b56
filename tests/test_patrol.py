"""Patrol planning: travel matrices, hotspot targets, visit slots, and whole plans on hand-built streets."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import pytest
import shapely

from geoengine.network import RoadNetwork, network_from_graphml
from geoengine.patrol.targets import hotspot_targets, visit_slots
from geoengine.patrol.travel import travel_matrix
from geoengine.risk import estimate_risk
from geoengine.scenario import PatrolSettings, RiskSettings, TeamSettings, TimeWindow

CRS = "EPSG:32633"
X0, Y0 = 500_000.0, 6_600_000.0


def grid(tmp_path, n: int = 6, block_m: float = 100.0) -> RoadNetwork:
    g = nx.MultiDiGraph(crs=CRS)
    for i in range(n):
        for j in range(n):
            g.add_node(i * n + j + 1, x=X0 + block_m * i, y=Y0 + block_m * j)
    osmid = 0
    for i in range(n):
        for j in range(n):
            a = i * n + j + 1
            for b in ([a + n] if i + 1 < n else []) + ([a + 1] if j + 1 < n else []):
                osmid += 1
                for s, t in ((a, b), (b, a)):
                    g.add_edge(s, t, osmid=osmid, highway=("residential", "tertiary")[osmid % 2], oneway=False,
                               reversed=s > t, length=block_m, name=f"Street {osmid}")  # fmt: skip
    ox.save_graphml(g, tmp_path / "grid.graphml")
    return network_from_graphml(tmp_path / "grid.graphml", crs=CRS)


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> RoadNetwork:
    return grid(tmp_path_factory.mktemp("grid"))


def pts(*xy: tuple[float, float]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": [f"p{i}" for i in range(len(xy))]}, geometry=[shapely.Point(X0 + x, Y0 + y) for x, y in xy], crs=CRS)


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


def test_visit_slots_keep_revisits_within_the_max_gap():
    settings = PatrolSettings(teams=(TeamSettings(name="t"),))
    w = TimeWindow(name="evening", start="18:00", end="23:00")
    slots = visit_slots(w, "red", settings, start_s=0, end_s=5 * 3600)
    assert all(b >= a and dwell == 12 * 60 for a, b, dwell in slots)
    # any arrivals chosen within consecutive windows are at most 60 min apart
    assert max(b2 - a1 for (a1, _, _), (_, b2, _) in zip(slots, slots[1:])) <= 3600
    assert len(slots) == 8  # ⌈300 min / 40 min⌉
    orange = visit_slots(w, "orange", settings, start_s=0, end_s=5 * 3600)
    assert len(orange) == 4 and max(b2 - a1 for (a1, _, _), (_, b2, _) in zip(orange, orange[1:])) <= 7200


def test_hotspots_are_clusters_of_adjacent_risky_streets(city):
    times = pd.to_datetime(["2026-01-01 20:00"] * 8)
    inc = gpd.GeoDataFrame(
        {"time": times, "time_precision": "datetime", "category": "robbery"},
        geometry=[shapely.Point(X0 + 50, Y0), shapely.Point(X0 + 150, Y0), shapely.Point(X0 + 55, Y0),
                  shapely.Point(X0 + 145, Y0), shapely.Point(X0 + 450, Y0 + 500), shapely.Point(X0 + 455, Y0 + 500),
                  shapely.Point(X0 + 440, Y0 + 500), shapely.Point(X0 + 460, Y0 + 500)],  # fmt: skip
        crs=CRS,
    )
    risk = estimate_risk(city, inc, settings=RiskSettings(own_segment_share=1.0, level_shares=(0.05, 0.01, 0.01)))
    h = hotspot_targets(risk, levels=("red",))
    assert len(h) == 2
    assert sorted(len(s) for s in h["segments"]) == [1, 2]  # two adjacent segments, one alone
    assert set(h["level:all_day"]) == {"red"}
