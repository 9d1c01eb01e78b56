"""Patrol beats, checkpoints and booths on hand-built street grids whose answers are known, and on Helsinki."""

from __future__ import annotations

import time
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import pytest
import shapely

from geoengine.coverage.stop import MaxRuntime
from geoengine.errors import InfeasibleSettingsError
from geoengine.graphs import segment_graph
from geoengine.network import RoadNetwork, network_from_graphml, network_from_pbf
from geoengine.patrol.beats import Beats, _n_components, make_beats, segment_workload
from geoengine.patrol.posts import choose_booths, choose_checkpoints

CRS = "EPSG:32633"
X0, Y0 = 500_000.0, 6_600_000.0
BLOCK = 100.0


def build(
    tmp_path: Path,
    name: str,
    nodes: dict[int, tuple[float, float]],
    streets: list[tuple[int, int]],
    oneway: frozenset[tuple[int, int]] = frozenset(),
) -> RoadNetwork:
    """A network from nodes (metres) and streets (two-way unless in ``oneway``: a → b only), via osmnx GraphML."""
    g = nx.MultiDiGraph(crs=CRS)
    for n, (x, y) in nodes.items():
        g.add_node(n, x=x, y=y)
    for osmid, (a, b) in enumerate(streets, start=1):
        (xa, ya), (xb, yb) = nodes[a], nodes[b]
        length = float(np.hypot(xb - xa, yb - ya))
        one = (a, b) in oneway
        for s, t in ((a, b),) if one else ((a, b), (b, a)):
            # alternate classes so that consecutive streets of a straight line are not merged
            g.add_edge(
                s,
                t,
                osmid=osmid,
                highway=("residential", "tertiary")[osmid % 2],
                oneway=one,
                reversed=s > t,
                length=length,
                name=f"Street {osmid}",
            )
    path = tmp_path / f"{name}.graphml"
    ox.save_graphml(g, path)
    return network_from_graphml(path, crs=CRS)


def grid_spec(n: int, *, x0: float = X0, y0: float = Y0, first_id: int = 1) -> tuple[dict, list]:
    """n × n nodes BLOCK apart; node id first_id + i*n + j at (x0 + i·BLOCK, y0 + j·BLOCK)."""
    nodes = {first_id + i * n + j: (x0 + BLOCK * i, y0 + BLOCK * j) for i in range(n) for j in range(n)}
    streets = []
    for i in range(n):
        for j in range(n):
            a = first_id + i * n + j
            if i + 1 < n:
                streets.append((a, a + n))
            if j + 1 < n:
                streets.append((a, a + 1))
    return nodes, streets


@pytest.fixture(scope="module")
def grid8(tmp_path_factory) -> RoadNetwork:
    return build(tmp_path_factory.mktemp("grid8"), "grid8", *grid_spec(8))


@pytest.fixture(scope="module")
def two_towns(tmp_path_factory) -> RoadNetwork:
    """Two 5 × 5 grids 600 m apart joined by one bridge between their facing middle nodes."""
    west_nodes, west_streets = grid_spec(5)
    east_nodes, east_streets = grid_spec(5, x0=X0 + 1000.0, first_id=101)
    nodes = {**west_nodes, **east_nodes, 900: (X0 + 700.0, Y0 + 200.0)}
    w_mid = 1 + 4 * 5 + 2  # (i=4, j=2): east edge, middle
    e_mid = 101 + 0 * 5 + 2  # (i=0, j=2): west edge, middle
    bridge = [(w_mid, 900), (900, e_mid)]  # two pieces of different classes: two segments
    return build(tmp_path_factory.mktemp("towns"), "towns", nodes, west_streets + east_streets + bridge)


def _beat_segments_connected(net: RoadNetwork, beats: Beats) -> bool:
    sg = segment_graph(net)
    lab = beats.assignment.reindex(sg.segment_id).to_numpy()
    return all(_n_components(sg.u[lab == b], sg.v[lab == b]) == 1 for b in range(beats.k))


# ------------------------------------------------------------------------------------------ beats


def test_grid_network_is_as_built(grid8: RoadNetwork) -> None:
    seg = grid8.segments()
    assert len(seg) == 2 * 8 * 7  # 112 streets of 100 m, none merged
    assert np.allclose(seg["length_m"], BLOCK)


@pytest.mark.parametrize("k", [2, 4, 7, 12])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_beats_are_contiguous_partitions(grid8: RoadNetwork, k: int, seed: int) -> None:
    beats = make_beats(grid8, k=k, seed=seed)
    assert beats.contiguous
    assert _beat_segments_connected(grid8, beats)
    assert set(beats.assignment.index) == set(grid8.segments().index)
    assert sorted(beats.assignment.unique()) == list(range(k))
    assert beats.beats["n_segments"].sum() == 112
    assert beats.beats["street_km"].sum() == pytest.approx(11.2)
    assert list(beats.beats["name"]) == [f"Beat {i + 1}" for i in range(k)]


def test_beats_are_deterministic(grid8: RoadNetwork) -> None:
    a = make_beats(grid8, k=5, seed=7)
    b = make_beats(grid8, k=5, seed=7)
    pd.testing.assert_series_equal(a.assignment, b.assignment)


def test_uniform_grid_splits_into_quarters(grid8: RoadNetwork) -> None:
    t0 = time.perf_counter()
    beats = make_beats(grid8, k=4, seed=0)
    print(f"\nk=4 on 8×8: {time.perf_counter() - t0:.3f} s\n{beats.summary()}")
    assert beats.within_tolerance and beats.max_deviation <= 0.15
    assert beats.beats["workload"].to_numpy() == pytest.approx(np.full(4, 11200 / 4), rel=0.15)
    assert beats.cv < 0.1
    # polygons: non-overlapping, together about the area of the grid, fairly compact
    geoms = beats.beats.geometry.to_numpy()
    for i in range(4):
        for j in range(i + 1, 4):
            assert shapely.intersection(geoms[i], geoms[j]).area < 1.0
    assert beats.beats["area_km2"].sum() == pytest.approx((0.7 + 0.12) ** 2, rel=0.1)
    assert (beats.beats["compactness"] > 0.3).all()  # an L at worst: 7 × 7 blocks do not quarter
    assert (beats.beats["seed_node"].isin(grid8.nodes.index)).all()


def test_heavy_corner_makes_a_small_beat(grid8: RoadNetwork) -> None:
    seg = grid8.segments()
    mid = seg.geometry.interpolate(0.5, normalized=True)
    corner = ((mid.x - X0) < 250) & ((mid.y - Y0) < 250)
    assert corner.sum() == 12
    # the corner's 12 streets carry a quarter of the workload: about one beat
    work = pd.Series(np.where(corner, 3.0 * BLOCK, BLOCK), index=seg.index)
    beats = make_beats(grid8, k=4, workload=work, seed=0)
    print(f"\nheavy corner:\n{beats.summary()}")
    assert beats.contiguous
    corner_beat = int(beats.assignment[corner[corner].index].mode().iloc[0])
    area = beats.beats.set_index("beat")["area_km2"]
    assert area[corner_beat] == area.min()
    assert area[corner_beat] < 0.5 * area.drop(corner_beat).mean()
    assert beats.max_deviation <= 0.15 or beats.message


def test_risk_workload_and_risk_column(grid8: RoadNetwork) -> None:
    seg = grid8.segments()
    risk = pd.Series(0.0, index=seg.index)
    risk.iloc[:5] = 1.0
    work = segment_workload(grid8, risk=risk, patrol_kph=5.0, risk_share=0.5)
    street_s = BLOCK / (5 / 3.6)
    assert work.sum() == pytest.approx(2 * 112 * street_s)
    assert work.iloc[0] == pytest.approx(street_s + 112 * street_s / 5)
    beats = make_beats(grid8, k=3, workload=work, risk=risk, seed=0)
    assert beats.beats["risk"].sum() == pytest.approx(5.0)
    assert make_beats(grid8, k=3).beats["risk"].isna().all()


def test_too_many_beats_raise(grid8: RoadNetwork) -> None:
    with pytest.raises(InfeasibleSettingsError, match="patrol.beats"):
        make_beats(grid8, k=113)
    with pytest.raises(InfeasibleSettingsError, match="patrol.beats"):
        make_beats(grid8, k=0)
    beats = make_beats(grid8, k=112)  # one street each is allowed
    assert beats.contiguous and beats.beats["n_segments"].eq(1).all()


def test_impossible_balance_is_explained(grid8: RoadNetwork) -> None:
    seg = grid8.segments()
    work = pd.Series(1.0, index=seg.index)
    work.iloc[0] = 1000.0  # one street outweighs everything else
    beats = make_beats(grid8, k=4, workload=work, seed=0)
    assert beats.contiguous
    assert not beats.within_tolerance
    assert "one street segment alone" in beats.message


# ------------------------------------------------------------------------------------ checkpoints


def middle_block() -> gpd.GeoDataFrame:
    """A district around the 2 × 2 nodes (3..4, 3..4) of the 8 × 8 grid: 4 inner streets, 8 entering."""
    poly = shapely.box(X0 + 250, Y0 + 250, X0 + 450, Y0 + 450)
    return gpd.GeoDataFrame({"name": ["Market"], "priority": [2]}, geometry=[poly], crs=CRS)


def test_cut_cover_needs_the_four_corners(grid8: RoadNetwork) -> None:
    posts = choose_checkpoints(grid8, k=None, districts=middle_block(), method="cut_cover")
    print(f"\n{posts.summary()}")
    m = posts.metrics
    assert m["entries"] == 8
    assert m["needed"] == 4 and len(posts.sites) == 4
    assert m["uncovered_entries"] == 0 and m["covered_entries_share"] == 1.0
    corners = {1 + i * 8 + j for i in (3, 4) for j in (3, 4)}
    assert set(posts.sites["node"]) == corners
    assert (posts.sites["kind"] == "checkpoint").all()
    assert posts.sites["reason"].str.contains("covers 2 of 8 streets entering Market").all()


def test_cut_cover_skips_one_way_exits(tmp_path: Path) -> None:
    nodes, streets = grid_spec(8)
    exit_street = (1 + 3 * 8 + 3, 1 + 3 * 8 + 2)  # from the corner (3, 3) south, out of the district
    assert exit_street in [(b, a) for a, b in streets]
    streets = [exit_street if (b, a) == exit_street else (a, b) for a, b in streets]
    net = build(tmp_path, "oneway", nodes, streets, oneway=frozenset({exit_street}))
    posts = choose_checkpoints(net, k=None, districts=middle_block(), method="cut_cover")
    assert posts.metrics["entries"] == 7 and posts.metrics["needed"] == 4
    posts = choose_checkpoints(net, k=None, districts=middle_block(), method="cut_cover", mode="foot")
    assert posts.metrics["entries"] == 8  # people walk both ways


def test_cut_cover_with_too_few_reports_uncovered(grid8: RoadNetwork) -> None:
    posts = choose_checkpoints(grid8, k=3, districts=middle_block(), method="cut_cover")
    m = posts.metrics
    assert m["needed"] == 4 and m["selected"] == 3
    assert m["uncovered_entries"] == 2 and len(m["uncovered_segment_ids"]) == 2
    assert "needs 4" in m["note"]


def test_cut_cover_on_single_node_district(grid8: RoadNetwork) -> None:
    """A district around one intersection: its 4 streets all meet there, one checkpoint does."""
    node = grid8.nodes.loc[1 + 3 * 8 + 3]
    d = gpd.GeoDataFrame({"name": ["Square"]}, geometry=[shapely.Point(node.x, node.y).buffer(30)], crs=CRS)
    posts = choose_checkpoints(grid8, k=4, districts=d, method="cut_cover")
    assert posts.metrics["entries"] == 4 and posts.metrics["needed"] == 1
    assert list(posts.sites["node"]) == [1 + 3 * 8 + 3]


def test_intercept_picks_the_bridge(two_towns: RoadNetwork) -> None:
    east = shapely.box(X0 + 950, Y0 - 50, X0 + 1450, Y0 + 450)
    d = gpd.GeoDataFrame({"name": ["East Town"], "priority": [1]}, geometry=[east], crs=CRS)
    t0 = time.perf_counter()
    posts = choose_checkpoints(two_towns, k=1, districts=d, n_od=200, seed=0)
    print(f"\nbridge: {time.perf_counter() - t0:.3f} s\n{posts.summary()}")
    bridge = set(two_towns.edges.xs(900, level="u")["segment_id"])
    assert int(posts.sites["segment_id"].iloc[0]) in bridge
    assert posts.metrics["intercepted_share"] == pytest.approx(1.0)
    assert posts.metrics["status"] == "optimal" and posts.metrics["gap"] == pytest.approx(0.0)
    assert "into East Town" in posts.sites["reason"].iloc[0]


def test_intercept_without_districts_uses_through_traffic(two_towns: RoadNetwork) -> None:
    posts = choose_checkpoints(two_towns, k=2, districts=None, n_od=300, seed=1)
    bridge = set(two_towns.edges.xs(900, level="u")["segment_id"])
    assert int(posts.sites["segment_id"].iloc[0]) in bridge  # about half of random trips cross it
    assert 0 < posts.metrics["intercepted_share"] <= 1
    assert posts.sites["score"].is_monotonic_decreasing


def test_checkpoint_settings_are_checked(grid8: RoadNetwork) -> None:
    with pytest.raises(InfeasibleSettingsError, match="method"):
        choose_checkpoints(grid8, k=2, districts=middle_block(), method="magic")
    with pytest.raises(InfeasibleSettingsError, match="districts"):
        choose_checkpoints(grid8, k=2, districts=None, method="cut_cover")
    with pytest.raises(InfeasibleSettingsError, match="patrol.checkpoints"):
        choose_checkpoints(grid8, k=0, districts=None)


# ------------------------------------------------------------------------------------------ booths


def corner_risk(net: RoadNetwork) -> pd.Series:
    """Risk only on the streets near the south-west corner of the grid."""
    seg = net.segments()
    mid = seg.geometry.interpolate(0.5, normalized=True)
    hot = ((mid.x - X0) < 150) & ((mid.y - Y0) < 150)
    return pd.Series(np.where(hot, 1.0, 0.0), index=seg.index)


def test_booth_goes_to_the_hot_corner(grid8: RoadNetwork) -> None:
    risk = corner_risk(grid8)
    t0 = time.perf_counter()
    posts = choose_booths(grid8, k=1, risk=risk, minutes=3.0, mode="foot")
    print(f"\nbooth: {time.perf_counter() - t0:.3f} s\n{posts.summary()}")
    assert posts.metrics["covered_risk_share"] == pytest.approx(1.0)
    assert posts.metrics["gap"] == pytest.approx(0.0)
    site = posts.sites.iloc[0]
    assert site.geometry.distance(shapely.Point(X0, Y0)) <= 300
    assert "100.0 % of risk within 3 min on foot" in site["reason"]


def test_booths_short_reach_and_candidates(grid8: RoadNetwork) -> None:
    risk = pd.Series(1.0, index=grid8.segments().index)
    # 1 min on foot (~83 m): a booth reaches only the 4 streets at its node
    posts = choose_booths(grid8, k=2, risk=risk, minutes=1.0, mode="foot")
    assert posts.metrics["covered_risk_share"] == pytest.approx(8 / 112)
    # given candidates snap to the nearest node, named
    points = [shapely.Point(X0 + 310, Y0 + 290), shapely.Point(X0 + 5, Y0 + 20)]
    cands = gpd.GeoDataFrame({"name": ["Bus station", "Market"]}, geometry=points, crs=CRS)
    posts = choose_booths(grid8, k=1, risk=corner_risk(grid8), minutes=3.0, candidates=cands)
    assert posts.sites["site"].iloc[0] == "Market"
    assert int(posts.sites["node"].iloc[0]) == 1
    assert posts.metrics["candidates"] == 2


def test_booth_settings_are_checked(grid8: RoadNetwork) -> None:
    risk = corner_risk(grid8)
    with pytest.raises(InfeasibleSettingsError, match="mode"):
        choose_booths(grid8, k=1, risk=risk, mode="horse")
    with pytest.raises(InfeasibleSettingsError, match="minutes"):
        choose_booths(grid8, k=1, risk=risk, minutes=0)
    with pytest.raises(InfeasibleSettingsError, match="risk"):
        choose_booths(grid8, k=1, risk=risk * 0)


# ------------------------------------------------------------------------------------------ Helsinki


@pytest.fixture(scope="module")
def helsinki(helsinki_pbf: Path) -> RoadNetwork:
    return network_from_pbf(helsinki_pbf)


def test_helsinki_beats(helsinki: RoadNetwork) -> None:
    for seed in (0, 1):
        t0 = time.perf_counter()
        beats = make_beats(helsinki, k=6, seed=seed)
        print(f"\nHelsinki k=6 seed={seed}: {time.perf_counter() - t0:.2f} s\n{beats.summary()}")
        assert beats.contiguous and _beat_segments_connected(helsinki, beats)
        assert np.isfinite(beats.cv)
        assert beats.within_tolerance or beats.message
    t0 = time.perf_counter()
    beats = make_beats(helsinki, k=18, seed=0)
    print(f"\nHelsinki k=18: {time.perf_counter() - t0:.2f} s, cv {beats.cv:.3f}, max dev {beats.max_deviation:.3f}")
    assert beats.contiguous


def _assert_clean_beat_polygons(net: RoadNetwork, beats: Beats) -> None:
    """Each beat is one valid area without holes; beats do not overlap and cover every street's
    midpoint (most of them in the street's own beat)."""
    geoms = beats.beats.geometry.to_numpy()
    assert shapely.is_valid(geoms).all()
    for g in geoms:
        parts = shapely.get_parts(g)
        assert len(parts) == 1, "one area per beat"
        assert all(len(p.interiors) == 0 for p in parts), "no holes"
    overlap = sum(shapely.intersection(geoms[i], geoms[j]).area for i in range(len(geoms)) for j in range(i + 1, len(geoms)))
    assert overlap < 1.0 * len(geoms)  # m²: floating-point only
    seg = net.segments()
    mid = shapely.line_interpolate_point(seg.geometry.to_numpy(), 0.5, normalized=True)
    assert shapely.covers(shapely.union_all(geoms), mid).all()
    own = beats.assignment.reindex(seg.index).to_numpy()
    assert np.mean([shapely.covers(geoms[b], m) for b, m in zip(own, mid, strict=True)]) > 0.9


@pytest.mark.parametrize("k", [2, 4, 7, 12])
def test_beat_polygons_are_clean_areas_on_the_grid(grid8: RoadNetwork, k: int) -> None:
    _assert_clean_beat_polygons(grid8, make_beats(grid8, k=k, seed=1))


def test_beat_polygons_are_clean_areas_in_helsinki(helsinki: RoadNetwork) -> None:
    for k in (6, 18):
        _assert_clean_beat_polygons(helsinki, make_beats(helsinki, k=k, seed=0))


def test_helsinki_posts(helsinki: RoadNetwork) -> None:
    seg = helsinki.segments()
    centre = seg.union_all().centroid
    d = gpd.GeoDataFrame({"name": ["Centre"], "priority": [1]}, geometry=[centre.buffer(300)], crs=helsinki.crs)
    t0 = time.perf_counter()
    cps = choose_checkpoints(helsinki, k=15, districts=d, n_od=400, seed=0, stop=MaxRuntime(10))
    print(f"\nHelsinki checkpoints (intercept): {time.perf_counter() - t0:.2f} s\n{cps.summary()}")
    assert 1 <= len(cps.sites) <= 15 and 0 < cps.metrics["intercepted_share"] <= 1
    if len(cps.sites) < 15:
        assert "already intercept every sampled trip" in cps.metrics["note"]
    t0 = time.perf_counter()
    cut = choose_checkpoints(helsinki, k=None, districts=d, method="cut_cover", stop=MaxRuntime(10))
    print(f"\nHelsinki checkpoints (cut_cover): {time.perf_counter() - t0:.2f} s\n{cut.summary()}")
    assert cut.metrics["uncovered_entries"] == 0 and cut.metrics["needed"] <= cut.metrics["entries"]
    mid = seg.geometry.interpolate(0.5, normalized=True)
    risk = pd.Series(np.exp(-mid.distance(centre) / 300.0), index=seg.index)
    t0 = time.perf_counter()
    booths = choose_booths(helsinki, k=20, risk=risk, minutes=5.0, mode="foot", stop=MaxRuntime(10))
    print(f"\nHelsinki booths: {time.perf_counter() - t0:.2f} s\n{booths.summary()}")
    assert 1 <= len(booths.sites) <= 20 and 0 < booths.metrics["covered_risk_share"] <= 1
    if len(booths.sites) < 20:
        assert "already cover all the risk" in booths.metrics["note"]
    assert booths.metrics["bound"] is None or booths.metrics["bound"] >= booths.metrics["objective"] - 1e-6
