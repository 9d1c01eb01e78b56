"""The committed real-data scenarios end to end (skipped without ../shared/data)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import geoengine as ge
from geoengine.cli import app

from .conftest import SHARED

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared real data not available at {SHARED}")


@pytest.fixture(scope="module")
def sf(tmp_path_factory) -> ge.RunResult:
    # written, so that the run audits its own folder (manifest "audit")
    return ge.run(REPO / "scenarios" / "sf_downtown.yaml", out_dir=tmp_path_factory.mktemp("sf") / "run")


def test_sf_incidents_snap_to_streets(sf):
    inc = sf.layers.incidents
    assert inc.rows_read == 1478 and inc.rows_dropped == 0
    assert (inc.gdf["time_precision"] == "datetime").all()
    d = sf.network.snap(inc.gdf.geometry)["distance_m"].to_numpy()
    assert np.mean(d <= 50.0) >= 0.95


def test_sf_cameras_parsed_with_heading_where_tagged(sf):
    cams = sf.layers.cameras.gdf
    assert sf.layers.cameras.rows_read == 657
    with_heading = cams["heading_deg"].notna()
    assert with_heading.sum() > 100
    assert cams.loc[with_heading, "heading_deg"].between(0, 360).all()
    assert set(cams["camera_type"]) <= {"fixed", "dome", "ptz", "unknown"}
    assert (cams.loc[cams["camera_type"] == "dome", "fov_deg"] == 360).all()
    m = sf.manifest["metrics"]["layers"]["cameras"]
    assert m["rows_used"] + m["rows_dropped"] == 657 and m["drop_reasons"] == {"outside the network area": m["rows_dropped"]}


def test_sf_network_is_metric_and_has_travel_times(sf):
    net = sf.network
    assert net.crs.is_projected and net.crs.axis_info[0].unit_name == "metre"
    assert "UTM zone 10N" in net.crs.name
    e = net.edges
    car = e[e["car"]]
    assert np.allclose(car["time_car_s"], car["length_m"] / (car["speed_car_kph"] / 3.6))
    assert np.isinf(e.loc[~e["car"], "time_car_s"]).all()
    assert 100 < sf.manifest["metrics"]["network"]["street_km"] < 200


def test_sf_heldout_pai_beats_the_previous_period_baseline(sf):
    risk = sf.manifest["metrics"]["risk"]
    assert sf.scenario.evaluation.split.isoformat() == "2016-09-01"
    assert risk["heldout_incidents"] == sf.risk_evaluation.heldout_incidents > 400
    assert set(risk["pai_5pct_by_window"]) == {"day", "swing", "night"}
    assert all(v is not None and v > 1 for v in risk["pai_5pct_by_window"].values())
    assert risk["pai_5pct"] > risk["baseline_pai_5pct"]
    assert sf.manifest["metrics"]["evaluation"]["pai_5pct"] == risk["pai_5pct"]


def test_sf_cameras_are_added_on_top_of_the_existing_ones(sf):
    cov = sf.manifest["metrics"]["coverage"]
    assert sf.layers.cameras.rows_read == 657
    assert cov["cameras_existing"] == sf.layers.cameras.rows_used > 300
    assert cov["cameras_new"] > 0 and cov["new_camera_cost"] <= 100 + 1e-9
    assert cov["covered_weight_share_existing"] > 0
    assert cov["covered_weight_share"] > cov["covered_weight_share_existing"]
    assert cov["status"] in ("optimal", "feasible") and cov["gap"] is not None and cov["gap"] <= 0.05
    # the 2017 extract has no buildings: the run must say line of sight was not checked
    assert any("no buildings" in w for w in sf.warnings)
    plan = sf.coverage
    assert (plan.demand["credit"] >= plan.demand["credit_existing"]).all()
    # new cameras are not credited for what existing cameras already see
    gain = (plan.demand["credit"] - plan.demand["credit_existing"]) * plan.demand["weight"]
    assert plan.cameras_new["added_weight"].sum() == pytest.approx(gain.sum(), rel=1e-9)


def test_sf_patrol_plan_has_no_time_window_violations(sf):
    p = sf.manifest["metrics"]["patrol"]
    assert p["time_window_violations"] == 0
    assert p["teams"] == 10 and p["beats"] == 8 and p["checkpoints"] == 6 and p["booths"] == 5
    assert p["visits_planned"] > 50
    assert p["dosage_met_share"] is not None and p["dosage_met_share"] > 0.5
    # every dropped visit says why, with a cause the run's own audit re-checked
    assert sf.patrol.dropped["reason"].str.len().gt(10).all()
    assert sf.patrol.beats.contiguous
    assert sf.manifest["audit"]["clean"], sf.manifest["audit"]
    assert p["dosage_met_share"] <= p["dosage_bound"]
    if p["dosage_bound"] >= 0.95:
        assert p["dosage_met_share"] >= 0.9
    # 'auto' routes as many hotspots as the team time can serve; the rest are listed
    assert min(p["hotspots_routed"].values()) > 12
    assert p["hotspots_cut"] == len(sf.patrol.cut)


def test_london_month_only_crimes_and_empty_coordinates_counted():
    res = ge.run(REPO / "scenarios" / "london.yaml", write=False)
    # month-only dates: the aoristic path spreads every incident over the day and is reported
    assert res.risk is not None and res.risk.untimed_share == 1.0
    assert res.manifest["metrics"]["risk"]["untimed_share"] == 1.0
    assert res.manifest["metrics"]["risk"]["pai_5pct"] is not None
    assert any("no incident has a time of day" in w for w in res.warnings)
    inc = res.layers.incidents
    assert inc.rows_read == 10118
    assert inc.drop_reasons["missing coordinates"] == 465
    assert inc.rows_used + inc.rows_dropped == inc.rows_read
    assert (inc.gdf["time_precision"] == "month").all()
    assert "Anti-social behaviour" in set(inc.gdf["category"])
    block = res.manifest["metrics"]["layers"]["incidents"]
    assert block["rows_dropped"] == inc.rows_dropped and block["drop_reasons"]["missing coordinates"] == 465
    assert any("outside the road network" in w for w in res.warnings)


def test_jingan_fragmentation_is_handled_and_reported(tmp_path):
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["run", str(REPO / "scenarios" / "jingan.yaml"), "--out", str(out), "-q"])
    assert res.exit_code == 0, res.output
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    net = m["metrics"]["network"]
    assert 300 <= net["dropped_nodes"] <= 450 and 350 <= net["nodes"] <= 450
    assert any("largest strongly connected part" in w for w in m["warnings"])
    assert m["metrics"]["layers"] == {}
    assert (out / "map.html").exists()


def test_sf_streets_beyond_the_chinatown_incidents_are_no_data(sf):
    import geopandas as gpd
    import shapely

    layer = gpd.read_file(sf.out_dir / "plan.gpkg", layer="risk_all_times")
    extent = sf.risk.extent
    assert extent is not None
    # the incidents cover Chinatown (about 0.9 × 0.9 km) of a 3.9 × 3.2 km network
    share = sf.manifest["metrics"]["risk"]["data_extent"]["street_length_share_with_data"]
    assert 0.05 < share < 0.4
    mids = shapely.line_interpolate_point(layer.to_crs(sf.network.crs).geometry.values, 0.5, normalized=True)
    far = shapely.distance(extent, mids) > 50
    assert far.sum() > 300
    assert (layer.loc[far, "level"] == "no data").all()
    assert (layer.loc[~shapely.intersects(extent, mids), "level"] == "no data").all()
    # the beats and posts set in the empty streets are named in the warnings
    nd = set(sf.risk.no_data_segments().tolist())
    posts = [p for p in (sf.patrol.checkpoints, sf.patrol.booths) if p is not None]
    outside = [pid for p in posts for pid, seg in zip(p.sites["post_id"], p.sites["segment_id"]) if seg in nd]
    text = "\n".join(sf.warnings)
    for pid in outside:
        assert pid in text
    assert "streets with no incident data" in text
