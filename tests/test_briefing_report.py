"""Briefing outputs of a run: the static map (PNG/PDF), the offline report, the GeoPackage
and GeoJSON — on a small synthetic street grid whose districts and key sites carry
hostile names, so the whole file is quick."""

from __future__ import annotations

import json
import re
import shutil
import struct
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import yaml

import geoengine as ge
from geoengine.errors import InfeasibleSettingsError, ScenarioError
from geoengine.export._units import RISK_PER_KM
from geoengine.export.briefing import PAPER_MM, briefing_figure, main_window
from geoengine.export.report import capacity_table, dosage_sentence, report_html

from ._grid_city import write_grid_and_incidents

EVIL = "<img src=x onerror=alert(1)>"
SCRIPT = "</script><script>alert(1)</script>"
BLOCK_M = 120.0

SCENARIO = {
    "name": "grid briefing",
    "description": "6 × 6 grid, synthetic incidents",
    "network": {"source": "data/grid.graphml"},
    "layers": {
        "incidents": {"path": "data/incidents.csv", "synthetic": True},
        "stations": {"path": "data/stations.geojson"},
        "districts": {"path": "data/districts.geojson"},
        "key_sites": {"path": "data/key_sites.geojson"},
        "cameras": {"path": "data/cameras.geojson"},
    },
    "windows": [{"name": "day", "start": "08:00", "end": "16:00"}, {"name": "evening", "start": "16:00", "end": "24:00"}],
    "cameras": {"budget_cost": 3, "budgets": [1, 3, 5], "pole_spacing_m": 60, "spacing_m": 20},
    "patrol": {
        "teams": [{"name": "car $\\oops$", "mode": "car", "count": 2}],
        "beats": 2,
        "max_hotspots_per_window": 3,
        "checkpoints": 1,
        "booths": 1,
    },
    "evaluation": {"split": "2026-04-01"},
    "solver": {"time_limit_s": 2},
    "outputs": {"map": False, "paper": "A4", "geojson": True},
}

# What a run with risk, cameras and patrols puts in plan.gpkg.
GPKG_LAYERS = {
    "streets",
    "risk",
    "risk_all_times",
    "incidents",
    "districts",
    "key_sites",
    "stations",
    "cameras",
    "cameras_existing",
    "cameras_new",
    "camera_views_new",
    "coverage_streets",
    "coverage_demand",
    "beats",
    "checkpoints",
    "booths",
    "routes",
    "route_stops",
    "hotspots",
    "teams",
}


def _write_inputs(folder: Path) -> None:
    """A 6 × 6 grid, 300 incidents (60 % on four hot streets) over four months, a base,
    two districts and three key sites with hostile names, two existing cameras."""
    net = write_grid_and_incidents(folder, block_m=BLOCK_M)
    x0, y0 = net.nodes.x.min(), net.nodes.y.min()

    def save(gdf: gpd.GeoDataFrame, name: str) -> None:
        gdf.set_crs(net.crs).to_crs("EPSG:4326").to_file(folder / name, driver="GeoJSON")

    save(gpd.GeoDataFrame({"name": ["HQ"]}, geometry=[shapely.Point(x0 + 2.5 * BLOCK_M, y0 + 2.5 * BLOCK_M)]), "stations.geojson")
    save(
        gpd.GeoDataFrame(
            {"name": [EVIL, SCRIPT], "priority": [2.0, 1.5]},
            geometry=[
                shapely.box(x0 + 40, y0 + 40, x0 + 2 * BLOCK_M + 40, y0 + 2 * BLOCK_M + 40),
                shapely.box(x0 + 3 * BLOCK_M - 40, y0 + 3 * BLOCK_M - 40, x0 + 5 * BLOCK_M - 40, y0 + 5 * BLOCK_M - 40),
            ],
        ),
        "districts.geojson",
    )
    save(
        gpd.GeoDataFrame(
            {"name": [SCRIPT, EVIL, "Bank $1$"], "category": [EVIL, "bank", SCRIPT]},
            geometry=[
                shapely.Point(x0 + BLOCK_M + 5, y0 + BLOCK_M),
                shapely.Point(x0 + 4 * BLOCK_M, y0 + 4 * BLOCK_M + 5),
                shapely.Point(x0 + 3 * BLOCK_M + 5, y0 + BLOCK_M),
            ],
        ),
        "key_sites.geojson",
    )
    save(
        gpd.GeoDataFrame(
            {"name": ["cam A", "cam B"]},
            geometry=[shapely.Point(x0 + 2 * BLOCK_M, y0 + 3 * BLOCK_M + 4), shapely.Point(x0 + 4, y0 + BLOCK_M)],
        ),
        "cameras.geojson",
    )


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[ge.RunResult, Path]:
    folder = tmp_path_factory.mktemp("briefing")
    _write_inputs(folder / "data")
    path = folder / "grid.yaml"
    path.write_text(yaml.safe_dump(SCENARIO, sort_keys=False, allow_unicode=True), encoding="utf-8")
    out = folder / "run"
    return ge.run(path, out_dir=out), out


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def _pdf_pages(path: Path) -> list[tuple[float, float]]:
    """(width, height) in points of every page's MediaBox."""
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", path.read_bytes())
    return [(float(w), float(h)) for w, h in boxes]


# --------------------------------------------------------------------------- the run folder
def test_run_writes_and_lists_the_briefing_outputs(grid_run):
    res, out = grid_run
    names = {p.name for p in out.iterdir()}
    assert {"briefing.png", "briefing.pdf", "report.html", "plan.gpkg", "geojson", "manifest.json"} <= names
    outputs = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["outputs"]
    assert outputs["briefing_png"] == "briefing.png" and outputs["briefing_pdf"] == "briefing.pdf"
    assert outputs["report"] == "report.html" and outputs["geojson"] == "geojson/"
    assert res.manifest["outputs"] == outputs
    assert "map" not in outputs and not (out / "map.html").exists()  # outputs.map: false is obeyed


def test_briefing_is_a4_landscape_in_png_and_pdf(grid_run):
    _, out = grid_run
    w_mm, h_mm = PAPER_MM["A4"]
    width, height = _png_size(out / "briefing.png")
    assert (width, height) == pytest.approx((w_mm / 25.4 * 150, h_mm / 25.4 * 150), abs=1)  # 150 dpi
    pages = _pdf_pages(out / "briefing.pdf")
    assert len(pages) == 1
    assert pages[0] == pytest.approx((w_mm / 25.4 * 72, h_mm / 25.4 * 72), abs=0.5)  # 841.9 × 595.3 pt


def test_report_is_offline_and_escapes_names_from_input_data(grid_run):
    _, out = grid_run
    page = (out / "report.html").read_text(encoding="utf-8")
    low = page.lower()
    for bad in ('src="http', "src='http", 'href="http', "href='http", "url(http", "@import", "<link", "<script", "<img"):
        assert bad not in low, bad
    assert "<iframe" not in low and "javascript:" not in low
    assert EVIL not in page and "<script>alert(1)" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<svg") >= 4, "coverage curve, dosage, workload and risk-by-window charts"


def test_report_shows_the_manifest_metrics_and_warnings(grid_run):
    res, out = grid_run
    page = (out / "report.html").read_text(encoding="utf-8")
    from geoengine.export.manifest import METRIC_KEYS

    for block, keys in METRIC_KEYS.items():
        assert f"<h3>{block}</h3>" in page, block
        for key in keys:
            assert f"<td>{key}</td>" in page, key
    assert f"Warnings ({len(res.warnings)})" in page
    for w in res.warnings:
        assert w.split(":")[0] in page
    assert "SYNTHETIC" in page and "grid briefing" in page
    assert "Coverage against budget" in page and "Workload per team" in page and "Dosage per district" in page
    # a team named with TeX in it: drawn as text on the charts (mathtext would fail on \oops), listed as is
    assert "car $\\oops$-1" in page


def test_report_escapes_warnings_and_shows_nulls_as_not_computed(grid_run):
    res, _ = grid_run
    manifest = json.loads(json.dumps(res.manifest))
    manifest["warnings"] = [f"district {SCRIPT} has no streets"]
    manifest["metrics"]["evaluation"]["in_camera_view_share"] = None
    page = report_html(scenario=res.scenario, manifest=manifest)
    assert "<script>" not in page and "district &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; has no streets" in page
    assert '<td>in_camera_view_share</td><td class="null">not computed</td>' in page


def test_gpkg_has_every_layer_with_a_crs_and_geojson_copies(grid_run):
    import pyogrio

    _, out = grid_run
    layers = {name for name, _ in pyogrio.list_layers(out / "plan.gpkg")}
    assert GPKG_LAYERS <= layers
    for name in layers:
        info = pyogrio.read_info(out / "plan.gpkg", layer=name)
        assert info["crs"] == "EPSG:32633", name
        assert info["features"] > 0, name
    risk = pyogrio.read_dataframe(out / "plan.gpkg", layer="risk")
    assert set(risk["window"]) == {"day", "evening"} and risk.crs.is_projected
    districts = pyogrio.read_dataframe(out / "plan.gpkg", layer="districts")
    assert set(districts["name"]) == {EVIL, SCRIPT}  # stored as given; escaping is for display
    geojson = {p.stem for p in (out / "geojson").glob("*.geojson")}
    assert geojson == layers
    back = gpd.read_file(out / "geojson" / "beats.geojson")
    assert back.crs.to_epsg() == 4326 and len(back) == 2


# --------------------------------------------------------------------------- the drawing, by hand
def test_briefing_figure_without_plans_is_a3_with_north_arrow_and_scale_bar():
    from geoengine.synthetic import grid_network

    net = grid_network(4, block_m=100.0, building_inset_m=15.0)
    page = briefing_figure(net, title="$x$ <b>plain</b>", paper="A3")
    w, h = page.figure.get_size_inches()
    assert (w * 25.4, h * 25.4) == pytest.approx(PAPER_MM["A3"])
    assert page.window is None and page.drawn == ("buildings", "streets")
    texts = [t.get_text() for ax in page.figure.axes for t in ax.texts] + [t.get_text() for t in page.figure.texts]
    assert "N" in texts and "$x$ <b>plain</b>" in texts
    assert any(t.endswith(" m") for t in texts), "scale bar labelled in metres"


def test_briefing_window_is_the_riskiest_or_the_chosen_one(grid_run):
    res, _ = grid_run
    totals = res.risk.table.groupby("window")["risk"].sum()
    assert main_window(res.risk) == totals.idxmax()
    assert main_window(res.risk, window="day") == "day"
    with pytest.raises(InfeasibleSettingsError, match="night"):
        main_window(res.risk, window="night")


def test_briefing_window_must_be_a_scenario_window(tmp_path):
    data = {**SCENARIO, "outputs": {"briefing_window": "night"}}
    with pytest.raises(ScenarioError) as err:
        ge.scenario.parse_scenario(data, base_dir=tmp_path)
    assert "briefing_window" in str(err.value.problems[0])


def test_north_arrow_points_to_true_north():
    """West of a UTM zone's central meridian, true north leans clockwise from grid north by
    about Δλ·sin φ: Helsinki (24.94° E, 60.17° N) in zone 35N (27° E) → +1.79°."""
    from pyproj import Transformer

    from geoengine.export.briefing import _true_north_deg

    x, y = Transformer.from_crs("EPSG:4326", "EPSG:32635", always_xy=True).transform(24.94, 60.17)
    assert _true_north_deg("EPSG:32635", x, y) == pytest.approx((27 - 24.94) * np.sin(np.radians(60.17)), abs=0.02)
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:32635", always_xy=True).transform(29.0, 60.17)
    assert _true_north_deg("EPSG:32635", x, y) < 0  # east of the meridian it leans the other way
    assert _true_north_deg("EPSG:32633", 500_000.0, 6_600_000.0) == pytest.approx(0.0, abs=1e-6)


def test_manifest_values_that_are_not_numbers_are_written_as_null():
    from geoengine.export.run_folder import null_non_finite as _null_non_finite

    data = {"patrol": {"districts": [{"largest_gap_min": float("nan")}, {"largest_gap_min": 12.5}]}, "x": (float("inf"), 1)}
    assert _null_non_finite(data) == {
        "patrol": {"districts": [{"largest_gap_min": None}, {"largest_gap_min": 12.5}]},
        "x": [None, 1],
    }


# --------------------------------------------------------------------------- patrol: bound, causes, shifts, audit
def test_dosage_sentence_says_whether_the_plan_or_the_force_limits_it():
    plan = dosage_sentence("Night", 0.5, 1.0, n_met=4, n=8)
    assert plan.startswith("Night: 4 of 8 hotspots (50 %) get all their visits")
    assert "at most 100 % is possible with this force, so the plan, not the force, limits it" in plan
    force = dosage_sentence("Night", 0.74, 0.74, n_met=74, n=100)
    assert "the most this force can reach (at most 74 % is possible): the force is too small" in force
    both = dosage_sentence("Night", 0.5, 0.75)
    assert "the force is too small for 25 %" in both and "falls 25 % short" in both
    assert dosage_sentence("Day", 1.0, 1.0, n_met=3, n=3) == "Day: all 3 hotspots get all their visits."
    assert "no capacity bound" in dosage_sentence("Day", 0.5, None)


def test_report_states_dosage_beside_the_bound_per_window(grid_run):
    res, out = grid_run
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Dosage reached and the most this force could reach" in page
    table = capacity_table(res.patrol, [w.name for w in res.scenario.windows])
    assert list(table["window"]) == [w for w in ("day", "evening") if w in res.patrol.capacity]
    for h in ("team-minutes", "minutes asked", "dosage met", "at most possible"):
        assert f"<th>{h}</th>" in page
    overall = table.attrs["overall"]
    assert overall["met_share"] == pytest.approx(res.manifest["metrics"]["patrol"]["dosage_met_share"])
    assert overall["bound"] == pytest.approx(res.manifest["metrics"]["patrol"]["dosage_bound"])
    for w in table["window"]:
        assert f"<li>{w.capitalize()}: " in page


def test_report_groups_drops_by_cause_and_lists_cut_hotspots_and_shifts(grid_run):
    res, out = grid_run
    page = (out / "report.html").read_text(encoding="utf-8")
    dropped = res.patrol.dropped_table()
    if len(dropped):
        assert "Dropped visits by cause" in page and "<summary>Every" in page
    else:
        assert "Every required visit is in the plan" in page
    if len(res.patrol.cut):
        assert f"Hotspots left out by max_hotspots_per_window ({len(res.patrol.cut)} hotspot-windows)" in page
        top = res.patrol.cut.sort_values("risk", ascending=False).iloc[0]
        assert f"{top['place_id']} ({top['level']}, risk" in page
    teams = res.patrol.team_summary()
    assert f"Shifts per team and window ({len(teams)})" in page
    assert page.count("<td class='n hi'>") == int((teams["idle_share"] > 0.25).sum())


def test_report_shows_the_audit_and_reproducibility(grid_run):
    res, out = grid_run
    page = (out / "report.html").read_text(encoding="utf-8")
    audit = res.manifest["audit"]
    assert ("Audit: clean." in page) == bool(audit["clean"])
    assert ("Reproducible: yes." in page) == bool(res.manifest["reproducible"])
    manifest = json.loads(json.dumps(res.manifest))
    manifest["audit"] = {
        "clean": False,
        "violations": 2,
        "by_kind": {"revisit_gap": 1, "dropped_cause": 1},
        "checked": {"rows": 10},
        "notes": [],
        "items": [
            {"kind": "revisit_gap", "message": f"H1 {SCRIPT} revisited after 5 min"},
            {"kind": "dropped_cause", "message": "H2: cause does not hold"},
        ],
    }
    manifest["reproducible"] = False
    manifest["reproducible_notes"] = [f"routing {EVIL} stopped by its 30 s safety cap"]
    page = report_html(scenario=res.scenario, manifest=manifest, patrol=res.patrol)
    assert "Audit: 2 violations" in page and "<td>revisit gap</td>" in page and "H2: cause does not hold" in page
    assert "Reproducible: no." in page and "routing &lt;img src=x onerror=alert(1)&gt; stopped" in page
    assert EVIL not in page and "<script>" not in page


def test_briefing_facts_give_dosage_with_its_bound():
    from geoengine.export.briefing import briefing_facts

    manifest = {
        "metrics": {
            "patrol": {
                "teams": 2,
                "beats": 1,
                "visits_planned": 10,
                "visits_dropped": 2,
                "dosage_met_share": 0.5,
                "dosage_bound": 0.75,
                "dropped_reasons": {"time_used": 2, "cut_by_max_hotspots": 4},
                "hotspots_cut": 4,
            }
        },
        "audit": {"clean": True},
        "reproducible": True,
    }
    facts, _ = briefing_facts(manifest)
    assert "  dosage met 50.0 % (at most 75.0 % possible)" in facts
    assert "  dropped because: 2 team time used" in facts and "Audit: clean" in facts and "Reproducible: yes" in facts


def test_briefing_route_labels_count_visits_not_breaks(grid_run):
    from geoengine.export.briefing import _route_visits

    res, _ = grid_run
    stops = res.patrol.stops
    for (team, window), (n, brk) in _route_visits(res.patrol).items():
        g = stops[(stops["team"] == team) & (stops["window"] == window)]
        assert n == int(g["place_kind"].isin(["hotspot", "district"]).sum())
        assert bool(brk) == bool((g["place_kind"] == "break").any())


def test_gpkg_dropped_visits_have_their_cause_and_teams_their_shifts(grid_run):
    import pyogrio

    res, out = grid_run
    layers = {name for name, _ in pyogrio.list_layers(out / "plan.gpkg")}
    teams = pyogrio.read_dataframe(out / "plan.gpkg", layer="teams")
    assert len(teams) == len(res.patrol.team_summary()) and {"shift_min", "idle_share", "break_min"} <= set(teams.columns)
    assert teams.geometry.notna().all()
    stops = pyogrio.read_dataframe(out / "plan.gpkg", layer="route_stops")
    assert (stops["place_kind"] == "break").sum() == (res.patrol.stops["place_kind"] == "break").sum()
    dropped = res.patrol.dropped_table()
    if len(dropped):
        assert "dropped_visits" in layers
        d = pyogrio.read_dataframe(out / "plan.gpkg", layer="dropped_visits")
        assert "cause" in d and set(d["cause"]) <= set(dropped["cause"])
        assert (d["cause"] == "cut_by_max_hotspots").sum() == len(res.patrol.cut)


# --------------------------------------------------------------------------- issue 16: outputs a commander reads
def test_shift_sheets_have_one_page_per_team_and_window_with_every_stop_in_order(grid_run):
    pypdf = pytest.importorskip("pypdf")
    res, out = grid_run
    stops = res.patrol.stops
    groups = list(stops.groupby(["window", "team"], sort=False))
    assert groups, "the fixture plans patrols"
    reader = pypdf.PdfReader(out / "shift_sheets.pdf")
    assert len(reader.pages) == len(groups)
    texts = [p.extract_text() for p in reader.pages]
    for (window, team), g in groups:
        page = next(t for t in texts if f"{team} (" in t and f"· {window} (" in t)
        at = 0
        for r in g.sort_values("seq").itertuples():
            if r.place_kind in ("hotspot", "district", "checkpoint", "booth"):
                at = page.index(str(r.arrive), at)  # each stop's arrival, in route order
        if (g["place_kind"] == "break").any():
            assert "Meal break" in page
        assert "Start at " in page and "Return to " in page
    html_page = (out / "shift_sheets.html").read_text(encoding="utf-8")
    assert html_page.count("<section>") == len(groups)
    assert "$\\oops$" in html_page and "<script" not in html_page  # names as text, no script
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["outputs"]["shift_sheets_pdf"] == "shift_sheets.pdf"


def test_report_opens_with_key_figures_and_ends_with_provenance(grid_run):
    _, out = grid_run
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.index("id='key-figures'") < page.index("id='warnings'") < page.index("id='metrics'") < page.index("id='scenario'")
    assert "SPEC" not in page and "§" not in page
    assert RISK_PER_KM in page
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    # every timing the report shows is the manifest's, rounded
    for stage, seconds in re.findall(r"<tr><td>([a-z]+)</td><td>([\d.]+) s</td></tr>", page):
        if stage in manifest["timings_s"]:
            assert abs(float(seconds) - manifest["timings_s"][stage]) <= 0.05


def test_no_csv_number_has_more_than_four_significant_digits_unless_a_coordinate(grid_run):
    from geoengine.export._csv import is_coordinate

    _, out = grid_run
    files = sorted(out.glob("*.csv"))
    assert files
    number = re.compile(r"^-?\d+\.\d+$")
    for path in files:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        for col in frame.columns:
            if is_coordinate(col):
                continue
            for cell in frame[col]:
                if number.match(cell):
                    digits = cell.lstrip("-").replace(".", "").lstrip("0")
                    assert len(digits) <= 4, (path.name, col, cell)


def _report_text(path: Path) -> str:
    """The report's visible text before its provenance (hashes and paths), without charts."""
    import html as html_lib

    page = path.read_text(encoding="utf-8")
    page = page[: page.index("id='scenario'")] if "id='scenario'" in page else page
    page = re.sub(r"<(svg|style|script)\b.*?</\1>", " ", page, flags=re.DOTALL)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", page))


def test_no_report_number_has_more_than_four_significant_digits(grid_run):
    """Every decimal number the report shows is rounded to at most 4 significant digits, and
    whole numbers from measurements (not counts) too: no '0.27308659666920193', no '216,889'."""
    _, out = grid_run
    text = _report_text(out / "report.html")
    assert "key" in text.lower()
    for m in re.finditer(r"(?<![\w.])-?\d[\d,]*\.\d+(?![\w.])", text):
        digits = m.group(0).lstrip("-").replace(",", "").replace(".", "").lstrip("0")
        assert len(digits) <= 4, (m.group(0), text[max(0, m.start() - 60) : m.end() + 20])
    for m in re.finditer(r"(?<![\w.,])\d{1,3}(?:,\d{3})+(?![\w.,])", text):  # thousands: counts or rounded values
        digits = m.group(0).replace(",", "").rstrip("0")
        context = text[max(0, m.start() - 80) : m.end() + 10]
        assert len(digits) <= 4 or re.search(r"points|incidents|sites|orientations|lines|segments|rows|pairs", context), context


def test_manifest_and_report_name_this_runs_network_file_when_it_came_from_the_cache(tmp_path):
    """Two scenarios whose network files have the same content share one cache entry; the second
    run, served from the cache, still names its own file in manifest.json and report.html."""
    results = {}
    write_grid_and_incidents(tmp_path / "first", block_m=BLOCK_M)
    shutil.copytree(tmp_path / "first", tmp_path / "second")  # the same bytes in another file
    for name in ("first", "second"):
        scenario = {
            "name": f"cache {name}",
            "network": {"source": f"{name}/grid.graphml", "cache_dir": "cache"},
            "layers": {"incidents": {"path": f"{name}/incidents.csv", "synthetic": True}},
            "windows": [{"name": "day", "start": "08:00", "end": "20:00"}],
            "outputs": {"map": False, "briefing": False},
        }
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(scenario, sort_keys=False), encoding="utf-8")
        results[name] = ge.run(path, out_dir=tmp_path / f"run-{name}")
    assert results["second"].network.stats.from_cache, "the second scenario's network comes from the shared cache"
    own = str((tmp_path / "second" / "grid.graphml").resolve())
    other = str((tmp_path / "first" / "grid.graphml").resolve())
    manifest = json.loads((tmp_path / "run-second" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["inputs"]["network"]["path"] == own
    report = (tmp_path / "run-second" / "report.html").read_text(encoding="utf-8")
    assert own in report and other not in report
