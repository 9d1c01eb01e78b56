"""One network (一张网): build, connect and upgrade in one plan; per-district figures; per-site tiers.

A hand-built 5 × 5 grid (streets 100 m apart, a building in every block) whose answers can be
checked by hand."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geoengine.coverage import plan_coverage
from geoengine.errors import InfeasibleSettingsError
from geoengine.layers import read_layer
from geoengine.network import RoadNetwork
from geoengine.scenario import CameraModel, CameraSettings, LayerSource, QualityTier
from geoengine.synthetic import grid_network

CRS = "EPSG:32633"
X0, Y0 = 500_000.0, 6_600_000.0


@pytest.fixture(scope="module")
def city() -> RoadNetwork:
    return grid_network(5, block_m=100.0, crs=CRS, origin=(X0, Y0), building_inset_m=12.0)


BUILD_ONLY = CameraSettings(
    models=(CameraModel(name="dome", range_m=60, fov_deg=360, cost=1.0),),
    budget_count=None,
    budget_cost=1.0,
    spacing_m=10,
    pole_spacing_m=50,
    backup_key_sites=False,
)
MIXED = BUILD_ONLY.model_copy(update={"connect_cost": 0.3})


@pytest.fixture(scope="module")
def social(city) -> gpd.GeoDataFrame:
    """Six social domes at intersections, none connected to the police network."""
    corners = [(1, 1), (3, 1), (1, 3), (3, 3), (2, 2), (0, 4)]
    return gpd.GeoDataFrame(
        {
            "name": [f"shop {i}" for i in range(6)],
            "camera_type": ["dome"] * 6,
            "range_m": [60.0] * 6,
            "owner": ["social"] * 6,
            "connected": [False] * 6,
        },
        geometry=[shapely.Point(X0 + 100 * i, Y0 + 100 * j) for i, j in corners],
        crs=CRS,
    )


def test_mixed_plan_covers_at_least_as_much_as_build_only_and_more_where_connecting_is_cheaper(city, social):
    for budget in (0.3, 1.0, 2.0, 3.0):
        build = plan_coverage(
            city, settings=BUILD_ONLY.model_copy(update={"budget_cost": budget}), cameras=social, time_limit_s=30
        )
        mixed = plan_coverage(city, settings=MIXED.model_copy(update={"budget_cost": budget}), cameras=social, time_limit_s=30)
        assert build.result.gap is not None and build.result.gap <= 1e-6
        assert mixed.result.gap is not None and mixed.result.gap <= 1e-6
        # unconnected cameras count in neither plan until the mixed one connects them
        assert np.array_equal(build.demand["credit_existing"], mixed.demand["credit_existing"])
        assert build.demand["credit_existing"].sum() == 0
        assert mixed.result.objective >= build.result.objective - 1e-9
        # connecting a camera (0.3) is cheaper than building one (1.0) and sees as much: strictly more
        assert mixed.result.objective > build.result.objective * 1.05 + 1e-9, budget
        acts = mixed.actions()
        assert set(acts["action"]) == {"connect"} and len(acts) >= 1
        spent = float(mixed.cameras_new["cost"].sum() + acts["cost"].sum())
        assert spent <= budget + 1e-9
        # a connected camera's view counts: its pairs are in coverage_pairs, the others' are not
        pairs = mixed.coverage_pairs()
        ex = pairs[pairs["camera_kind"] == "existing"]
        assert set(ex["camera_id"]) == set(acts["camera_id"])
    m = mixed.metrics()
    assert m["actions"]["connect"] == len(mixed.actions()) and m["action_cost"] == pytest.approx(0.3 * len(mixed.actions()))


def test_an_sd_camera_upgraded_to_hd_sees_farther(city):
    sd = gpd.GeoDataFrame(
        {"camera_type": ["dome"], "range_m": [30.0], "owner": ["police"], "quality": ["SD"]},
        geometry=[shapely.Point(X0 + 200, Y0 + 200)],
        crs=CRS,
    )
    settings = BUILD_ONLY.model_copy(update={"budget_cost": 0.5, "upgrade_cost": 0.5, "upgrade_range_factor": 2.0})
    plan = plan_coverage(city, settings=settings, cameras=sd, time_limit_s=30)
    cam = plan.cameras_existing.iloc[0]
    assert cam["action"] == "upgrade" and cam["quality_after"] == "HD" and cam["range_after_m"] == 60.0
    assert len(plan.cameras_new) == 0  # a new camera (1.0) does not fit the budget
    d = plan.demand
    dist = d.geometry.distance(cam.geometry)
    assert (d.loc[dist <= 29, "credit_existing"] == 1).all() and (d.loc[dist > 31, "credit_existing"] == 0).all()
    assert (d.loc[(dist > 31) & (dist <= 59), "credit"] == 1).all()  # the arms of the crossing, 30 to 60 m out
    pairs = plan.coverage_pairs()
    assert pairs["distance_m"].max() > 50 and (pairs["camera_kind"] == "existing").all()
    # an upgraded camera is one view, not two
    assert d["views"].max() == 1
    # without the upgrade option the camera stays SD and the budget buys nothing
    same = plan_coverage(city, settings=settings.model_copy(update={"upgrade_cost": None}), cameras=sd, time_limit_s=30)
    assert same.result.objective < plan.result.objective


def test_connect_and_upgrade_need_a_cost_budget():
    with pytest.raises(ValueError, match="connect_cost is spent from budget_cost"):
        CameraSettings(connect_cost=0.2)
    with pytest.raises(ValueError, match="extra"):
        CameraSettings(budget_cost=5, connect_costs=0.2)


def test_district_table_before_and_after(city, social):
    districts = gpd.GeoDataFrame(
        {"name": ["west", "east"]},
        geometry=[shapely.box(X0 - 10, Y0 - 10, X0 + 250, Y0 + 410), shapely.box(X0 + 250, Y0 - 10, X0 + 410, Y0 + 410)],
        crs=CRS,
    )
    cams = social.assign(quality=["HD", "SD", "SD", "HD", "unknown", "HD"])
    plan = plan_coverage(
        city, settings=MIXED.model_copy(update={"budget_cost": 2.0}), cameras=cams, districts=districts, time_limit_s=30
    )
    table = plan.district_table()
    assert set(table["district"]) == {"west", "east", "(all)"} and table["district"].iloc[-1] == "(all)"
    total = table.set_index("district").loc["(all)"]
    assert total["cameras_before"] == 6 and total["connected_share_before"] == 0.0
    assert total["hd_share_before"] == pytest.approx(3 / 6)
    n_new, n_conn = len(plan.cameras_new), len(plan.actions())
    assert total["cameras_after"] == 6 + n_new
    assert total["connected_share_after"] == pytest.approx(round((n_conn + n_new) / (6 + n_new), 4))
    assert total["streets_covered_before"] == 0.0 and total["streets_covered_after"] > 0
    by = table.set_index("district")
    assert (by.loc["west", "cameras_before"], by.loc["east", "cameras_before"]) == (4, 2)
    # the metrics carry the same table as a list of dicts
    rows = plan.metrics()["districts"]
    assert [r["district"] for r in rows] == list(table["district"])
    assert rows[-1]["streets_covered_after"] == total["streets_covered_after"]


# --------------------------------------------------------------------------- per-site tiers from the layer
TIERS = (
    QualityTier(name="identify", max_range_share=0.25, weight=1.0),
    QualityTier(name="recognise", max_range_share=0.5, weight=0.8),
    QualityTier(name="observe", max_range_share=1.0, weight=0.5),
)


def test_a_key_site_asking_for_recognise_in_its_layer_row_is_not_credited_at_observe_distance(city, tmp_path):
    # two entrances on the street y = 0, 40 m from an existing connected dome (range 60) at (100, 0):
    # 40 / 60 of its range is "observe" distance. The layer asks "recognise" for the bank only;
    # the scenario's key_site_tier ("observe") holds for the other.
    sites = gpd.GeoDataFrame(
        {"name": ["Bank entrance", "Kiosk"], "priority": [500.0, 500.0], "tier": ["Recognise", None]},
        geometry=[shapely.Point(X0 + 140, Y0), shapely.Point(X0 + 100, Y0 + 40)],
        crs=CRS,
    ).to_crs("EPSG:4326")
    sites.to_file(tmp_path / "sites.geojson")
    layer = read_layer("key_sites", LayerSource(path=tmp_path / "sites.geojson"), network=city)
    assert list(layer.gdf["tier"]) == ["Recognise", None]
    dome = gpd.GeoDataFrame({"camera_type": ["dome"], "range_m": [60.0]}, geometry=[shapely.Point(X0 + 100, Y0)], crs=CRS)
    settings = BUILD_ONLY.model_copy(update={"tiers": TIERS, "key_site_tier": "observe", "budget_cost": 1.0})
    plan = plan_coverage(city, settings=settings, cameras=dome, key_sites=layer.gdf, time_limit_s=30)
    keys = plan.demand[plan.demand["kind"] == "key_site"].set_index("key_site")
    bank, kiosk = keys.loc["Bank entrance"], keys.loc["Kiosk"]
    assert bank["tier"] == "recognise" and kiosk["tier"] == "observe"
    assert bank["credit_existing"] == 0.0  # seen only at observe distance
    assert kiosk["credit_existing"] == 1.0  # observe asked, observe given
    assert bank["credit"] == 1.0  # the plan adds a camera near enough
    pairs = plan.coverage_pairs()
    mine = pairs[pairs["demand_id"] == bank["demand_id"]]
    assert set(mine["camera_kind"]) == {"new"}
    new = plan.cameras_new.set_index("camera_id").loc[mine["camera_id"]]
    assert (mine["distance_m"].to_numpy() <= 0.5 * new["range_m"].to_numpy() + 1e-9).all()


def test_a_key_site_tier_the_scenario_does_not_define_names_the_layer_column(city):
    sites = gpd.GeoDataFrame({"name": ["Bank"], "tier": ["recognize-ish"]}, geometry=[shapely.Point(X0 + 140, Y0)], crs=CRS)
    with pytest.raises(InfeasibleSettingsError, match="recognize-ish") as info:
        plan_coverage(city, settings=BUILD_ONLY.model_copy(update={"tiers": TIERS}), key_sites=sites, time_limit_s=10)
    assert "layers.key_sites.tier" in str(info.value)


def test_the_camera_layer_reads_owner_connected_and_quality_with_defaults(city, tmp_path):
    cams = gpd.GeoDataFrame(
        {
            "owner": ["Police", "shop", "social", "martian", None],
            "connected": ["yes", None, "1", None, "perhaps"],
            "quality": ["analogue", "1080p", None, "HD", "blurry"],
        },
        geometry=[shapely.Point(X0 + 100 * i, Y0) for i in range(5)],
        crs=CRS,
    ).to_crs("EPSG:4326")
    cams.to_file(tmp_path / "cams.geojson")
    layer = read_layer("cameras", LayerSource(path=tmp_path / "cams.geojson"), network=city)
    g = layer.gdf
    assert list(g["owner"]) == ["police", "social", "social", "unknown", "unknown"]
    # not given: social cameras are not connected, the others are
    assert list(g["connected"]) == [True, False, True, True, True]
    assert list(g["quality"]) == ["SD", "HD", "unknown", "HD", "unknown"]
    # every value not understood is reported, naming the column
    text = " ".join(layer.warnings)
    assert "1 cameras have an owner that is not understood in column 'owner'" in text
    assert "1 cameras have a quality that is not understood in column 'quality'" in text
    assert "1 cameras have a connected value that is neither true nor false in column 'connected'" in text
