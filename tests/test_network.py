"""Tests of geoengine.network: loading, access per mode, connectivity, snapping, cache."""

from __future__ import annotations

import math
import pickle
import socket
import zipfile
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from geoengine import _osm
from geoengine.errors import (
    CRSMismatchError,
    InputFileNotFoundError,
    NetworkSourceError,
    OfflineError,
)
from geoengine.network import (
    RoadNetwork,
    cache_path,
    default_cache_dir,
    load_network,
    network_from_bbox,
    network_from_graphml,
    network_from_pbf,
    network_from_place,
    network_from_xml,
    save_graphml,
)
from geoengine.scenario import NetworkSettings, Speeds

EDGE_COLUMNS = [
    "segment_id",
    "osmid",
    "name",
    "highway",
    "oneway",
    "length_m",
    "car",
    "foot",
    "ebike",
    "speed_car_kph",
    "speed_foot_kph",
    "speed_ebike_kph",
    "time_car_s",
    "time_foot_s",
    "time_ebike_s",
    "geometry",
]


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def helsinki(helsinki_pbf: Path) -> RoadNetwork:
    return network_from_pbf(helsinki_pbf)


@pytest.fixture(scope="session")
def helsinki_drive(helsinki_pbf: Path) -> RoadNetwork:
    return network_from_pbf(helsinki_pbf, network_type="drive")


@pytest.fixture(scope="session")
def sf(shared_data: Path) -> RoadNetwork:
    return network_from_xml(shared_data / "osm" / "sf_downtown_2017.osm.bz2")


@pytest.fixture(scope="session")
def jingan_drive(shared_data: Path) -> RoadNetwork:
    return network_from_xml(shared_data / "osm" / "shanghai_jingan.osm.bz2", network_type="drive")


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- Helsinki (always)
def test_helsinki_loads_with_sane_counts_in_utm_metres(helsinki: RoadNetwork) -> None:
    s = helsinki.stats
    assert 1500 < s.nodes < 5000
    assert 4000 < s.edges < 12000
    assert 50 < s.street_km < 150  # central Helsinki, every street type
    assert s.nodes_before >= s.nodes and s.dropped_nodes == s.nodes_before - s.nodes
    assert s.components >= 1 and 0 < s.car_scc_nodes <= s.nodes
    assert helsinki.crs.is_projected
    assert helsinki.crs.to_epsg() == 32635  # UTM 35N
    assert {ax.unit_name for ax in helsinki.crs.axis_info} == {"metre"}
    assert helsinki.source.kind == "pbf" and len(helsinki.source.sha256 or "") == 64
    assert s.edges == helsinki.graph.number_of_edges() == len(helsinki.edges)
    assert s.nodes == helsinki.graph.number_of_nodes() == len(helsinki.nodes)


def test_every_frame_has_the_network_crs(helsinki: RoadNetwork) -> None:
    for frame in (helsinki.nodes, helsinki.edges, helsinki.buildings, helsinki.pois, helsinki.segments()):
        assert frame is not None and frame.crs is not None and frame.crs.equals(helsinki.crs)


def test_edge_columns_types_and_lengths(helsinki: RoadNetwork) -> None:
    e = helsinki.edges
    assert list(e.columns) == EDGE_COLUMNS
    assert e.index.names == ["u", "v", "key"]
    for col in ("oneway", "car", "foot", "ebike"):
        assert e[col].dtype == bool
    assert e["segment_id"].dtype == np.int64
    assert (e.geometry.geom_type == "LineString").all()
    np.testing.assert_allclose(e["length_m"], e.geometry.length, rtol=1e-6)
    assert (e[["car", "foot", "ebike"]].any(axis=1)).all()  # no edge nobody may use
    # each edge starts at its u node and ends at its v node
    start = shapely.get_point(e.geometry.values, 0)
    u_xy = helsinki.nodes.loc[e.index.get_level_values("u"), ["x", "y"]].to_numpy()
    np.testing.assert_allclose(shapely.get_coordinates(start), u_xy, atol=1e-6)
    # the graph carries the same attributes
    u, v, k = e.index[0]
    data = helsinki.graph.edges[u, v, k]
    assert data["segment_id"] == e.iloc[0]["segment_id"] and data["length_m"] == e.iloc[0]["length_m"]
    assert set(helsinki.graph.nodes[u]) >= {"x", "y"}
    assert nx.is_frozen(helsinki.graph)


def test_travel_times_follow_speeds_and_are_inf_where_not_allowed(helsinki: RoadNetwork) -> None:
    e = helsinki.edges
    for mode in ("car", "foot", "ebike"):
        ok = e[mode]
        expected = e.loc[ok, "length_m"] / (e.loc[ok, f"speed_{mode}_kph"] / 3.6)
        np.testing.assert_allclose(e.loc[ok, f"time_{mode}_s"], expected)
        assert np.isinf(e.loc[~ok, f"time_{mode}_s"]).all()
    assert (e.loc[e["foot"], "speed_foot_kph"] == 4.5).all()
    assert (e.loc[e["ebike"], "speed_ebike_kph"] == 15.0).all()
    car = e.loc[e["car"], "speed_car_kph"]
    assert car.max() <= 80.0 and car.min() > 0
    # a 30 km/h street (maxspeed tag in central Helsinki) drives at 0.8 × 30
    assert (car == 24.0).any()
    assert not e.loc[e["highway"].isin(["footway", "steps"]), "car"].any()
    assert not e.loc[e["highway"].isin(["motorway", "trunk"]), "foot"].any()


def test_one_way_streets_have_foot_contraflow_but_no_car_reverse(helsinki: RoadNetwork) -> None:
    e = helsinki.edges.reset_index()
    oneway_car = e[e["car"] & e["oneway"] & (e["u"] != e["v"])]  # (rings: both directions are u→u)
    assert len(oneway_car) > 50
    by_seg = e.groupby("segment_id")
    checked = 0
    for _, row in oneway_car.iterrows():
        twins = by_seg.get_group(row["segment_id"])
        reverse = twins[(twins["u"] == row["v"]) & (twins["v"] == row["u"])]
        assert not reverse["car"].any()
        if not row["foot"]:  # e.g. foot=no: nobody may go against the one-way
            continue
        assert len(reverse) == 1, row
        assert reverse["foot"].iloc[0]
        assert np.isinf(reverse["time_car_s"].iloc[0])
        checked += 1
    assert checked >= len(oneway_car) - 5  # all but the few foot=no ones
    # two-way car streets have a car edge both ways
    twoway = e[e["car"] & ~e["oneway"]]
    counts = twoway.groupby("segment_id").size()
    assert (counts == 2).all()


def test_segments_one_row_per_street(helsinki: RoadNetwork) -> None:
    seg = helsinki.segments()
    assert seg.index.name == "segment_id" and seg.index.is_unique
    assert set(seg.index) == set(helsinki.edges["segment_id"])
    assert list(seg.columns) == ["name", "highway", "length_m", "car", "foot", "ebike", "geometry"]
    assert seg["length_m"].sum() / 1000 == pytest.approx(helsinki.stats.street_km, rel=1e-4)


def test_drive_network_is_car_connected(helsinki: RoadNetwork, helsinki_drive: RoadNetwork) -> None:
    d = helsinki_drive
    assert 150 < d.stats.nodes < d.stats.nodes_before
    assert d.stats.car_scc_nodes == d.stats.nodes  # the kept part is strongly connected by car
    segs = d.edges.groupby("segment_id")["car"].any()
    assert segs.all()  # only car streets (and the foot contraflow of one-way ones)
    assert not d.edges.loc[~d.edges["car"], "oneway"].eq(False).any()
    car_graph = nx.MultiDiGraph(d.graph.edge_subgraph([k for k, c in zip(d.edges.index, d.edges["car"]) if c]))
    assert nx.is_strongly_connected(car_graph)
    assert d.stats.street_km < helsinki.stats.street_km
    assert d.stats.dropped_nodes == d.stats.nodes_before - d.stats.nodes


def test_walk_network_has_only_foot_streets(helsinki_pbf: Path) -> None:
    w = network_from_pbf(helsinki_pbf, network_type="walk")
    assert w.edges["foot"].all()
    assert nx.is_strongly_connected(w.graph)


def test_buildings_and_pois(helsinki: RoadNetwork) -> None:
    b, p = helsinki.buildings, helsinki.pois
    assert b is not None and len(b) > 300
    assert set(b.geom_type) <= {"Polygon", "MultiPolygon"}
    assert p is not None and len(p) > 500
    for col in _osm.POI_COLUMNS:
        assert col in p.columns
    assert (p.geom_type == "Point").all()
    assert p["amenity"].notna().sum() > 100 and p["shop"].notna().sum() > 100
    assert (p["highway"] == "bus_stop").sum() > 10
    assert p["railway"].isin(["station", "halt", "tram_stop", "subway_entrance"]).any()


def test_custom_crs_and_bad_crs(helsinki_pbf: Path) -> None:
    net = network_from_pbf(helsinki_pbf, network_type="drive", crs="EPSG:3067")
    assert net.crs.to_epsg() == 3067 and net.edges.crs.to_epsg() == 3067
    west, south, east, north = net.to_wgs84_bounds()
    assert 24.8 < west < east < 25.1 and 60.1 < south < north < 60.25
    with pytest.raises(NetworkSourceError, match="network.crs"):
        network_from_pbf(helsinki_pbf, crs="EPSG:4326")
    with pytest.raises(NetworkSourceError, match="network.crs"):
        network_from_pbf(helsinki_pbf, crs="not a crs")


def test_bounds_summary_and_html(helsinki: RoadNetwork) -> None:
    minx, miny, maxx, maxy = helsinki.bounds
    assert 1000 < maxx - minx < 10000 and 1000 < maxy - miny < 10000
    text = helsinki.summary()
    assert "Helsinki.osm.pbf" in text and f"{helsinki.stats.nodes:,}" in text and "buildings" in text
    html = helsinki._repr_html_()
    assert "<table>" in html and f"{helsinki.stats.edges:,}" in html


# --------------------------------------------------------------------------- snapping
def test_snap_point_10_m_off_an_edge(helsinki: RoadNetwork) -> None:
    e = helsinki.edges
    all_geoms = e.geometry.values
    tree = shapely.STRtree(all_geoms)
    found = False
    for (u, v, k), row in e[(e["length_m"] > 60) & e["car"]].iterrows():
        line = row.geometry
        coords = shapely.get_coordinates(line)
        if len(coords) != 2:
            continue
        (x0, y0), (x1, y1) = coords
        length = math.hypot(x1 - x0, y1 - y0)
        along = length / 3
        nx_, ny_ = -(y1 - y0) / length, (x1 - x0) / length  # left normal
        px, py = x0 + (x1 - x0) * along / length + 10 * nx_, y0 + (y1 - y0) * along / length + 10 * ny_
        point = shapely.Point(px, py)
        near = tree.query(point.buffer(15))
        if set(e["segment_id"].to_numpy()[near]) != {row["segment_id"]}:
            continue  # another street within 15 m: not a clean test point
        got = helsinki.snap(gpd.GeoSeries([point], index=["p"], crs=helsinki.crs))
        assert list(got.index) == ["p"]
        r = got.loc["p"]
        assert r["segment_id"] == row["segment_id"]
        assert r["distance_m"] == pytest.approx(10.0, abs=1e-6)
        if (r["u"], r["v"], r["key"]) == (u, v, k):
            assert r["offset_m"] == pytest.approx(along, abs=1e-6)
        else:  # the reverse edge of the same street
            assert (r["u"], r["v"]) == (v, u)
            assert r["offset_m"] == pytest.approx(length - along, abs=1e-6)
        assert r["snapped"].distance(point) == pytest.approx(10.0, abs=1e-6)
        assert line.distance(r["snapped"]) < 1e-6
        found = True
        break
    assert found


def test_snap_mode_restricts_edges_and_checks_crs(helsinki: RoadNetwork) -> None:
    pts = helsinki.nodes.geometry.iloc[::10]
    got = helsinki.snap(pts, mode="car")
    keys = list(zip(got["u"], got["v"], got["key"], strict=True))
    assert helsinki.edges.loc[keys, "car"].all()
    assert (got.index == pts.index).all()
    with pytest.raises(CRSMismatchError):
        helsinki.snap(pts.to_crs("EPSG:4326"))
    with pytest.raises(ValueError):
        helsinki.snap(pts, mode="boat")


def test_snap_10k_random_points_vectorised(helsinki: RoadNetwork) -> None:
    rng = np.random.default_rng(0)
    minx, miny, maxx, maxy = helsinki.bounds
    xy = np.column_stack([rng.uniform(minx, maxx, 10_000), rng.uniform(miny, maxy, 10_000)])
    points = shapely.points(xy)
    got = helsinki.snap(points)  # (its speed is measured by python -m bench network, not asserted here)
    assert len(got) == 10_000 and (got["segment_id"] >= 0).all()
    # brute force on a sample: the reported distance is the true nearest distance
    sample = rng.choice(10_000, 200, replace=False)
    lines = helsinki.edges.geometry.values
    for i in sample:
        best = shapely.distance(lines, points[i]).min()
        assert got["distance_m"].iloc[i] == pytest.approx(best, abs=1e-6)
    lengths = helsinki.edges.loc[list(zip(got["u"], got["v"], got["key"], strict=True)), "length_m"].to_numpy()
    assert ((got["offset_m"] >= 0) & (got["offset_m"] <= lengths + 1e-6)).all()
    np.testing.assert_allclose(shapely.distance(got["snapped"].values, points), got["distance_m"], atol=1e-6)


def test_snap_handles_empty_input_and_missing_points(helsinki: RoadNetwork) -> None:
    got = helsinki.snap(np.array([None, shapely.Point(helsinki.bounds[:2])], dtype=object))
    assert got["segment_id"].tolist()[0] == -1 and math.isnan(got["distance_m"].iloc[0])
    assert got["segment_id"].iloc[1] >= 0
    assert len(helsinki.snap(gpd.GeoSeries([], crs=helsinki.crs))) == 0


# --------------------------------------------------------------------------- tags
def test_parse_maxspeed() -> None:
    assert _osm.parse_maxspeed_kph("50") == 50
    assert _osm.parse_maxspeed_kph("30 mph") == pytest.approx(48.28, abs=0.01)
    assert _osm.parse_maxspeed_kph("50;30") == 30
    assert _osm.parse_maxspeed_kph("RU:urban") is None
    assert _osm.parse_maxspeed_kph("none") is None
    assert _osm.parse_maxspeed_kph(None) is None
    assert _osm.parse_maxspeed_kph(["40", "60"]) == 40


def test_access_rules_per_mode() -> None:
    tags = pd.DataFrame(
        [
            {"highway": "residential"},  # 0 all modes both ways
            {"highway": "residential", "oneway": "yes"},  # 1 car/ebike forward only
            {"highway": "residential", "oneway": "-1"},  # 2 car backward only
            {"highway": "residential", "oneway": "yes", "oneway:bicycle": "no"},  # 3 ebike both ways
            {"highway": "motorway"},  # 4 car only, one-way implied
            {"highway": "trunk"},  # 5 no foot
            {"highway": "trunk", "sidewalk": "both"},  # 6 foot on sidewalk
            {"highway": "footway"},  # 7 foot only
            {"highway": "footway", "bicycle": "yes"},  # 8 foot + ebike
            {"highway": "cycleway", "foot": "no"},  # 9 ebike only
            {"highway": "service", "access": "private"},  # 10 no car
            {"highway": "primary", "motor_vehicle": "no"},  # 11 no car
            {"highway": "construction"},  # 12 dropped
            {"highway": "primary_link", "junction": "roundabout"},  # 13 one-way
            {"highway": "service", "service": "parking_aisle"},  # 14 no car
        ]
    )
    f = _osm.access_flags(tags, car_kph={"primary": 50, "residential": 30, "motorway": 100}, car_factor=1.0, car_max_kph=80)
    row = lambda i: tuple(bool(x) for x in f.loc[i, list(_osm.FLAGS)])  # noqa: E731
    # (car_f, car_b, foot_f, foot_b, ebike_f, ebike_b)
    assert row(0) == (True, True, True, True, True, True)
    assert row(1) == (True, False, True, True, True, False) and f.loc[1, "oneway"]
    assert row(2) == (False, True, True, True, False, True)
    assert row(3) == (True, False, True, True, True, True)
    assert row(4) == (True, False, False, False, False, False)
    assert row(5)[2:4] == (False, False)
    assert row(6)[2:4] == (True, True)
    assert row(7) == (False, False, True, True, False, False)
    assert row(8) == (False, False, True, True, True, True)
    assert row(9) == (False, False, False, False, True, True)
    assert row(10)[:2] == (False, False)
    assert row(11)[:2] == (False, False)
    assert not f.loc[12, "keep"] and f.loc[:11, "keep"].all()
    assert f.loc[13, "oneway"] and row(13)[:2] == (True, False)
    assert row(14)[:2] == (False, False) and row(14)[2]
    # speeds: class default, link takes the parent class, capped
    assert f.loc[0, "car_kph"] == 30 and f.loc[13, "car_kph"] == 50 and f.loc[4, "car_kph"] == 80


def test_car_speed_uses_maxspeed_factor_and_cap() -> None:
    tags = pd.DataFrame(
        [
            {"highway": "primary", "maxspeed": "60"},
            {"highway": "primary", "maxspeed": "RU:urban"},
            {"highway": "primary", "maxspeed": "30 mph"},
            {"highway": "primary", "maxspeed": "120"},
        ]
    )
    sp = Speeds()
    f = _osm.access_flags(tags, car_kph=sp.car_kph, car_factor=sp.car_factor, car_max_kph=sp.car_max_kph)
    assert f["car_kph"].tolist() == pytest.approx([48.0, 40.0, 0.8 * 48.28032, 80.0], abs=1e-3)


def test_present_runs_never_join_across_a_missing_node() -> None:
    present = {1, 2, 3, 5, 6, 8}
    assert _osm.present_runs([1, 2, 3, 4, 5, 6, 7, 8], present) == [[1, 2, 3], [5, 6]]
    assert _osm.present_runs([4, 7], present) == []


# --------------------------------------------------------------------------- XML
OSM_HEAD = "<?xml version='1.0' encoding='UTF-8'?>\n<osm version='0.6'>\n"


def _node(i: int, lon: float, lat: float, tags: str = "") -> str:
    return f"<node id='{i}' lat='{lat}' lon='{lon}'>{tags}</node>\n"


def test_xml_with_missing_nodes_is_split_not_joined(tmp_path: Path) -> None:
    # a street 1-2-3-(4 missing)-5-6 and a cross street 2-7; a one-way street 5-8
    d = 0.001
    nodes = "".join(
        [
            _node(1, 0, 0),
            _node(2, d, 0),
            _node(3, 2 * d, 0),
            _node(5, 4 * d, 0),
            _node(6, 5 * d, 0),
            _node(7, d, d),
            _node(8, 4 * d, d),
            _node(9, 4 * d, 0.5 * d, "<tag k='shop' v='bakery'/><tag k='name' v='B'/>"),
        ]
    )
    ways = (
        "<way id='100'><nd ref='1'/><nd ref='2'/><nd ref='3'/><nd ref='4'/><nd ref='5'/><nd ref='6'/>"
        "<tag k='highway' v='residential'/><tag k='name' v='Main'/></way>\n"
        "<way id='101'><nd ref='2'/><nd ref='7'/><tag k='highway' v='residential'/></way>\n"
        "<way id='102'><nd ref='5'/><nd ref='8'/><tag k='highway' v='residential'/><tag k='oneway' v='yes'/></way>\n"
        "<way id='103'><nd ref='1'/><nd ref='2'/><nd ref='7'/><nd ref='1'/><tag k='building' v='yes'/></way>\n"
    )
    path = _write(tmp_path / "clip.osm", OSM_HEAD + nodes + ways + "</osm>\n")
    net = network_from_xml(path)
    e = net.edges.reset_index()
    pairs = set(zip(e["u"], e["v"], strict=True))
    assert (3, 5) not in pairs and (5, 3) not in pairs  # never across the missing node 4
    assert net.stats.components == 2 and net.stats.nodes_before == 7  # parts {1,2,3,7} and {5,6,8}
    assert net.source.kind == "xml"
    assert net.buildings is not None and len(net.buildings) == 1
    assert net.pois is not None and net.pois["shop"].tolist() == ["bakery"] and net.pois["name"].tolist() == ["B"]
    assert set(e["osmid"]) <= {100, 101, 102}


def test_xml_one_way_contraflow_and_bz2(tmp_path: Path) -> None:
    import bz2

    d = 0.001
    nodes = _node(1, 0, 0) + _node(2, d, 0) + _node(3, d, d) + _node(4, 0, d)
    ways = (
        "<way id='1'><nd ref='1'/><nd ref='2'/><tag k='highway' v='residential'/><tag k='oneway' v='yes'/></way>"
        "<way id='2'><nd ref='2'/><nd ref='3'/><nd ref='4'/><nd ref='1'/><tag k='highway' v='residential'/></way>"
    )
    path = tmp_path / "ring.osm.bz2"
    path.write_bytes(bz2.compress((OSM_HEAD + nodes + ways + "</osm>").encode()))
    net = network_from_xml(path, network_type="drive")
    e = net.edges
    assert e.loc[(1, 2, 0), "car"] and e.loc[(1, 2, 0), "oneway"]
    assert not e.loc[(2, 1, 0), "car"] and e.loc[(2, 1, 0), "foot"]
    assert e.loc[(1, 2, 0), "segment_id"] == e.loc[(2, 1, 0), "segment_id"]
    assert len(net.segments()) == 2 and net.stats.nodes == 2


def test_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileNotFoundError, match="nowhere.osm.pbf"):
        network_from_pbf(tmp_path / "nowhere.osm.pbf")
    bad_pbf = tmp_path / "bad.osm.pbf"
    bad_pbf.write_bytes(b"\x00\x01not a pbf" * 100)
    with pytest.raises(NetworkSourceError, match="bad.osm.pbf"):
        network_from_pbf(bad_pbf)
    bad_xml = _write(tmp_path / "bad.osm", "<osm><node id='1'")
    with pytest.raises(NetworkSourceError, match="bad.osm"):
        network_from_xml(bad_xml)
    bad_bz2 = tmp_path / "bad.osm.bz2"
    bad_bz2.write_bytes(b"BZh9 garbage")
    with pytest.raises(NetworkSourceError, match="bad.osm.bz2"):
        network_from_xml(bad_bz2)
    no_streets = _write(
        tmp_path / "nostreets.osm",
        OSM_HEAD
        + _node(1, 0, 0)
        + _node(2, 0.001, 0)
        + "<way id='1'><nd ref='1'/><nd ref='2'/><tag k='waterway' v='river'/></way></osm>",
    )
    with pytest.raises(NetworkSourceError, match="nostreets.osm.*no usable streets"):
        network_from_xml(no_streets)
    bad_graphml = _write(tmp_path / "bad.graphml", "<graphml><x")
    with pytest.raises(NetworkSourceError, match="bad.graphml"):
        network_from_graphml(bad_graphml)


# --------------------------------------------------------------------------- GraphML
def test_graphml_round_trip(helsinki_drive: RoadNetwork, tmp_path: Path) -> None:
    path = save_graphml(helsinki_drive, tmp_path / "net.graphml")
    back = network_from_graphml(path)
    assert back.source.kind == "graphml"
    assert back.crs.equals(helsinki_drive.crs)
    assert back.stats == helsinki_drive.stats
    assert back.warnings == helsinki_drive.warnings
    a = pd.DataFrame(helsinki_drive.edges.drop(columns="geometry")).sort_index()
    b = pd.DataFrame(back.edges.drop(columns="geometry")).sort_index()
    pd.testing.assert_frame_equal(a, b, check_index_type=False, check_dtype=False)
    geoms_a = helsinki_drive.edges.geometry.sort_index()
    geoms_b = back.edges.geometry.sort_index()
    assert geoms_a.geom_equals_exact(geoms_b, tolerance=1e-6).all()
    # reprojection on load
    other = network_from_graphml(path, crs="EPSG:3067")
    assert other.crs.to_epsg() == 3067 and other.stats.nodes == helsinki_drive.stats.nodes


def test_foreign_osmnx_graphml_is_rebuilt(tmp_path: Path) -> None:
    import osmnx as ox

    g = nx.MultiDiGraph(crs="EPSG:4326")
    d = 0.001
    for n, (x, y) in {1: (24.9, 60.1), 2: (24.9 + d, 60.1), 3: (24.9 + d, 60.1 + d)}.items():
        g.add_node(n, x=x, y=y)
    g.add_edge(1, 2, osmid=10, highway="residential", oneway=False, reversed=False, length=55.0)
    g.add_edge(2, 1, osmid=10, highway="residential", oneway=False, reversed=True, length=55.0)
    g.add_edge(2, 3, osmid=11, highway="primary", oneway=True, reversed=False, length=111.0, maxspeed="40")
    path = tmp_path / "foreign.graphml"
    ox.save_graphml(g, path)
    net = network_from_graphml(path)
    assert net.crs.to_epsg() == 32635
    e = net.edges
    assert e.loc[(2, 3, 0), "car"] and not e.loc[(3, 2, 0), "car"] and e.loc[(3, 2, 0), "foot"]
    assert e.loc[(2, 3, 0), "speed_car_kph"] == pytest.approx(32.0)
    assert e.loc[(1, 2, 0), "car"] and e.loc[(2, 1, 0), "car"]


# --------------------------------------------------------------------------- online
def _online() -> bool:
    try:
        socket.setdefaulttimeout(2)
        socket.gethostbyname("nominatim.openstreetmap.org")
        return True
    except OSError:
        return False
    finally:
        socket.setdefaulttimeout(None)


def test_online_sources_fail_fast_with_offline_error() -> None:
    if _online():
        pytest.skip("machine is online: the offline path cannot be tested")
    import osmnx as ox

    before = (ox.settings.requests_timeout, ox.settings.use_cache, list(ox.settings.useful_tags_way))
    getaddrinfo = socket.getaddrinfo
    with pytest.raises(OfflineError, match="cannot reach OpenStreetMap.*network.source"):
        network_from_place("Kamppi, Helsinki, Finland", timeout_s=5)
    with pytest.raises(OfflineError, match="cannot reach OpenStreetMap"):
        network_from_bbox((24.93, 60.16, 24.95, 60.17), timeout_s=5)
    assert (ox.settings.requests_timeout, ox.settings.use_cache, list(ox.settings.useful_tags_way)) == before
    assert socket.getaddrinfo is getaddrinfo


def test_connection_errors_become_offline_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import osmnx as ox
    import requests

    def refuse(*args: object, **kwargs: object) -> None:
        assert ox.settings.requests_timeout == 3  # set for the call only
        raise requests.ConnectionError("Name or service not known")

    monkeypatch.setattr(ox, "graph_from_place", refuse)
    timeout = ox.settings.requests_timeout
    with pytest.raises(OfflineError) as info:
        network_from_place("Somewhere", timeout_s=3)
    assert isinstance(info.value, ConnectionError)
    assert ox.settings.requests_timeout == timeout


# --------------------------------------------------------------------------- load_network + cache
def test_load_network_caches_and_rebuilds_corrupt_cache(helsinki_pbf: Path, tmp_path: Path) -> None:
    settings = NetworkSettings(source=helsinki_pbf, network_type="drive", cache_dir=tmp_path / "cache")
    target = cache_path(settings, scenario_dir=tmp_path)  # a cache_dir inside the scenario's folder is used
    assert tmp_path in target.parents and not target.exists()
    first = load_network(settings, scenario_dir=tmp_path)
    assert not first.stats.from_cache and target.exists()
    assert not list(target.parent.glob("*.tmp"))
    second = load_network(settings, scenario_dir=tmp_path)
    assert second.stats.from_cache
    assert second.stats.nodes == first.stats.nodes and second.stats.edges == first.stats.edges
    pd.testing.assert_frame_equal(pd.DataFrame(first.edges), pd.DataFrame(second.edges))
    assert second.snap(second.nodes.geometry.iloc[:3])["distance_m"].max() < 1e-6  # trees rebuilt after reading
    # other options → another cache file
    other = NetworkSettings(source=helsinki_pbf, network_type="drive", cache_dir=tmp_path / "cache", speeds=Speeds(foot_kph=5.0))
    assert cache_path(other, scenario_dir=tmp_path) != target
    # a corrupt cache file is ignored and rebuilt
    target.write_bytes(b"not a cache entry")
    third = load_network(settings, scenario_dir=tmp_path)
    assert not third.stats.from_cache and third.stats.nodes == first.stats.nodes
    assert zipfile.is_zipfile(target) and load_network(settings, scenario_dir=tmp_path).stats.from_cache
    # a cache_dir outside the scenario's folder is not used: the user's cache folder is
    elsewhere = cache_path(settings, scenario_dir=tmp_path / "scenario")
    assert elsewhere.parent == default_cache_dir()


def test_load_network_without_cache_dispatches_on_suffix(tmp_path: Path, helsinki_drive: RoadNetwork) -> None:
    path = save_graphml(helsinki_drive, tmp_path / "h.graphml")
    net = load_network(NetworkSettings(source=path, cache=False))
    assert net.source.kind == "graphml" and net.stats.nodes == helsinki_drive.stats.nodes
    assert not list(tmp_path.glob("network-*"))


def test_pickle_round_trip(helsinki_drive: RoadNetwork) -> None:
    """In memory only (e.g. Dask moving a network between processes); the disk cache never pickles."""
    helsinki_drive.snap(helsinki_drive.nodes.geometry.iloc[:2])  # builds a tree in the private cache
    back = pickle.loads(pickle.dumps(helsinki_drive))
    assert back.stats == helsinki_drive.stats and back.crs.equals(helsinki_drive.crs)


# --------------------------------------------------------------------------- shared real data
@pytest.mark.shared
def test_sf_xml_counts(sf: RoadNetwork) -> None:
    s = sf.stats
    assert 550 < s.nodes < 750  # osmnx: ≈650 nodes
    assert 1400 < s.edges < 2600  # osmnx: ≈1,540 edges without foot contraflow
    assert 80 < s.street_km < 200
    assert sf.crs.to_epsg() == 32610  # UTM 10N
    assert sf.edges["oneway"].sum() > 300  # downtown SF is full of one-way streets


@pytest.mark.shared
def test_jingan_drive_drops_the_disconnected_part(jingan_drive: RoadNetwork) -> None:
    s = jingan_drive.stats
    assert 700 < s.nodes_before < 850
    assert 300 < s.dropped_nodes < 450  # ≈ 420 of 780 nodes kept
    assert s.components > 50
    assert s.car_scc_nodes == s.nodes
    assert any("largest strongly connected part" in w and f"{s.dropped_nodes} dropped" in w for w in jingan_drive.warnings)
    assert jingan_drive.buildings is None and jingan_drive.pois is None


@pytest.mark.shared
def test_jingan_all_keeps_more(jingan_drive: RoadNetwork, shared_data: Path) -> None:
    net = network_from_xml(shared_data / "osm" / "shanghai_jingan.osm.bz2")
    assert net.stats.nodes > jingan_drive.stats.nodes


@pytest.mark.shared
@pytest.mark.parametrize("name", ["city_of_london.osm.pbf", "baltimore.osm.pbf"])
def test_shared_pbf_loads(name: str, tmp_path: Path, shared_data: Path) -> None:
    path = shared_data / "osm" / name
    net = load_network(NetworkSettings(source=path, network_type="drive"), cache_dir=tmp_path)
    s = net.stats
    assert s.nodes > 500 and s.edges > 1000 and s.street_km > 30
    assert s.car_scc_nodes == s.nodes
    assert net.buildings is not None and net.pois is not None and len(net.pois) > 100
    assert net.crs.is_projected
