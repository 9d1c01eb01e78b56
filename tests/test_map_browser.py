"""The briefing map as a planner opens it: one offline HTML file in a real browser.

A small hand-built city (a 7 × 7 street grid with buildings, two time windows, two
patrol teams with an alternative plan, new cameras, a checkpoint and a booth) whose
names are hostile HTML. The page is opened from disk in headless Chromium with every
request that is not ``file:`` or ``data:`` aborted.

Chromium (Debian ``chromium``) and Playwright's Python package are needed; the
browser tests skip when they are missing (``.ci/run`` installs both). A screenshot is
saved under ``test-artifacts/`` (or ``$GEOENGINE_TEST_ARTIFACTS``), never committed.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geoengine.export._assets import ASSETS, MapAssetError, check_offline
from geoengine.export.map import make_map, overlay_names
from geoengine.layers import Layer, Layers
from geoengine.synthetic import grid_network

CRS = "EPSG:32633"
X0, Y0 = 500_000.0, 6_600_000.0
EVIL_IMG = "<img src=x onerror=alert(1)>"
EVIL_SCRIPT = "</script><script>alert(1)</script>"
EVIL_JINJA = "{{ 7*7 }} {% if 1 %}"  # folium renders scripts twice through Jinja
REPO = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _layer(kind: str, gdf: gpd.GeoDataFrame) -> Layer:
    return Layer(
        kind=kind,
        gdf=gdf,
        path=Path(f"{kind}.geojson"),
        sha256="0" * 64,
        rows_read=len(gdf),
        rows_used=len(gdf),
        rows_dropped=0,
        drop_reasons={},
    )


def _pts(names: list[str], xy: list[tuple[float, float]], **cols: Any) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": names, **cols}, geometry=[shapely.Point(X0 + x, Y0 + y) for x, y in xy], crs=CRS)


@pytest.fixture(scope="module")
def city_run() -> dict[str, Any]:
    """Network, layers, risk, cameras and patrols of the small city (a few seconds)."""
    from geoengine.coverage import plan_coverage
    from geoengine.patrol.plan import plan_patrol
    from geoengine.risk import estimate_risk
    from geoengine.scenario import (
        CameraModel,
        CameraSettings,
        PatrolSettings,
        RiskSettings,
        TeamSettings,
        TimeWindow,
    )

    city = grid_network(7, block_m=100.0, crs=CRS, origin=(X0, Y0), building_inset_m=15.0)
    windows = (TimeWindow(name="evening", start="18:00", end="22:00"), TimeWindow(name="late", start="22:00", end="02:00"))
    spots = [(50, 0), (550, 0), (50, 600), (550, 600), (300, 350)]
    xy = [p for p in spots for _ in range(6)]
    # the first two spots are evening hotspots, the others late ones
    times = [f"2026-01-0{1 + i % 5} {'19:10' if i < 12 else '23:20'}" for i in range(len(xy))]
    incidents = gpd.GeoDataFrame(
        {"time": pd.to_datetime(times), "time_precision": "datetime", "category": "robbery", "weight": 1.0},
        geometry=[shapely.Point(X0 + x, Y0 + y) for x, y in xy],
        crs=CRS,
    )
    risk = estimate_risk(
        city, incidents, windows=windows, settings=RiskSettings(own_segment_share=1.0, level_shares=(0.05, 0.05, 0.1))
    )
    districts = gpd.GeoDataFrame(
        {"name": [EVIL_IMG, EVIL_SCRIPT], "priority": [2.0, 1.0]},
        geometry=[shapely.box(X0 - 20, Y0 - 20, X0 + 220, Y0 + 220), shapely.box(X0 + 380, Y0 + 380, X0 + 620, Y0 + 620)],
        crs=CRS,
    )
    sites = _pts([EVIL_SCRIPT, EVIL_IMG], [(300, 300), (100, 500)], category=[EVIL_IMG, "school"], priority=[1.0, 2.0])
    stations = _pts([EVIL_JINJA], [(300, 300)])
    layers = Layers(
        incidents=_layer("incidents", incidents),
        districts=_layer("districts", districts),
        key_sites=_layer("key_sites", sites),
        stations=_layer("stations", stations),
    )
    cameras = CameraSettings(
        models=(CameraModel(name="dome", range_m=60, fov_deg=360, cost=1.0),),
        budget_count=3,
        spacing_m=20,
        pole_spacing_m=50,
        backup_key_sites=False,
    )
    coverage = plan_coverage(city, settings=cameras, risk=risk, time_limit_s=5)
    settings = PatrolSettings(
        teams=(TeamSettings(name="car", mode="car", count=2, base=0, break_min=30),),
        beats=2,
        hotspot_levels=("red",),
        district_max_gap_min=None,
        cross_beat=True,
        checkpoints=1,
        checkpoint_crews=1,
        booths=1,
        alternatives=2,
        alternative_tolerance=0.5,
    )
    patrol = plan_patrol(
        city,
        settings=settings,
        windows=windows,
        risk=risk,
        stations=stations,
        districts=districts,
        coverage=coverage,
        time_limit_s=4,
    )
    assert len(patrol.alternatives) >= 1, "the fixture needs an alternative plan to show"
    assert (patrol.stops["place_kind"] == "break").any(), "the fixture needs meal breaks to show"
    return {"network": city, "layers": layers, "risk": risk, "coverage": coverage, "patrol": patrol, "windows": windows}


@pytest.fixture(scope="module")
def city_map(city_run: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    fmap = make_map(**city_run, title=EVIL_SCRIPT, subtitle=EVIL_IMG)
    path = tmp_path_factory.mktemp("map") / "map.html"
    path.write_text(fmap.get_root().render(), encoding="utf-8")
    return path, fmap


# --------------------------------------------------------------------------- without a browser
def test_page_inlines_leaflet_from_the_installed_package(city_map):
    path, _ = city_map
    page = path.read_text(encoding="utf-8")
    check_offline(page)
    for asset in ("leaflet.js", "leaflet.css", "leaflet-heat.js"):
        a = ASSETS[asset]
        assert f"/* {asset}: {a.project}, from PyPI {a.distribution} {a.version}" in page
    assert "<script src" not in page and "<link " not in page
    for cdn in ("cdn.jsdelivr", "cdnjs", "code.jquery", "bootstrapcdn", "fontawesome"):
        assert cdn not in page, cdn
    assert "data:image/png;base64," in page  # Leaflet's own images, inlined
    assert "tile.openstreetmap.org" not in page


def test_a_layer_that_needs_the_network_makes_rendering_fail(city_run):
    from folium.plugins import Fullscreen

    fmap = make_map(city_run["network"])
    Fullscreen().add_to(fmap)  # folium loads its plugin from a CDN
    with pytest.raises(MapAssetError, match="script with src"):
        fmap.get_root().render()
    with pytest.raises(MapAssetError, match="CSS url"):
        check_offline("<html><style>.x{background:url(https://example.org/a.png)}</style></html>")
    with pytest.raises(MapAssetError, match="web tile URL"):
        check_offline("<script>L.tileLayer('https://tile.openstreetmap.org/{z}/{x}/{y}.png')</script>")
    check_offline("<script>L.tileLayer('https://tile.openstreetmap.org/{z}/{x}/{y}.png')</script>", tiles_allowed=True)


def test_patrols_without_the_scenario_windows_and_bad_tiles(city_run):
    run = {k: v for k, v in city_run.items() if k != "windows"}
    page = make_map(**run).get_root().render()  # the clock's windows come from the stops
    assert re.search(r'"label": ?"evening"', page) and re.search(r'"label": ?"late"', page)
    with pytest.raises(ValueError, match="tiles"):
        make_map(city_run["network"], tiles="google")


def test_hostile_names_reach_the_page_escaped(city_map):
    path, _ = city_map
    page = path.read_text(encoding="utf-8")
    assert EVIL_IMG not in page and "<script>alert(1)" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.replace("\\u0026", "&")


def test_layer_control_lists_every_layer_of_the_run(city_map):
    _, fmap = city_map
    names = overlay_names(fmap)
    for expected in (
        "Streets (basemap)",
        "Buildings (basemap)",
        "Incidents (heat)",
        "Risk level by time window",
        "Key districts",
        "Key sites",
        "Police stations / bases",
        "New cameras (",
        "New camera views (clipped by buildings)",
        "Street camera coverage",
        "Patrol beats (2)",
        "Checkpoints (1)",
        "Police booths (1)",
        "Routes: evening",
        "Routes: late",
        "Routes: evening, alternative 1",
        "Patrols at the selected time (clock)",
    ):
        assert any(n.startswith(expected) for n in names), (expected, names)


# --------------------------------------------------------------------------- in the browser
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # locally they skip without a browser; in CI (CI=true) a missing browser is a failure
    missing = pytest.fail if os.environ.get("CI") else pytest.skip
    chromium = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if chromium is None:
        missing("chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)")
    try:
        from playwright import sync_api
    except ImportError:
        missing("playwright is not installed (pip install -e '.[test]')")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Page:
    """A page opened from disk with the network blocked, recording what went wrong."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 860})
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.blocked: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on("dialog", self._dialog)
        self.page.route("**/*", self._route)
        self.page.goto(path.as_uri(), wait_until="load")

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:")):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def js(self, code: str) -> Any:
        return self.page.evaluate(code)


@pytest.fixture(scope="module")
def opened(browser: Any, city_map: tuple[Path, Any]) -> Iterator[Page]:
    page = Page(browser, city_map[0])
    yield page
    page.page.close()


def test_map_loads_offline_with_every_layer(opened: Page, city_map):
    _, fmap = city_map
    assert opened.js("window.geoengine !== undefined && geoengine.map instanceof L.Map")
    listed = opened.js(
        "Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label span span')).map(s => s.textContent.trim())"
    )
    assert listed == overlay_names(fmap)
    shown = [c.layer_name for c in fmap._children.values() if getattr(c, "control", False) and c.show]
    assert opened.js("document.querySelectorAll('.leaflet-control-layers-selector:checked').length") == len(shown)
    # the basemap and the data are drawn: features on the map
    assert (
        opened.js("geoengine.layers['Streets (basemap)'].getLayers().length") == _layer_of(fmap, "Streets (basemap)").n_features
    )
    assert opened.js("geoengine.map.hasLayer(geoengine.layers['risk'])")
    assert opened.js("geoengine.layers['risk'].getLayers().length") == _layer_of(fmap, "Risk level by time window").n_features > 0
    assert opened.js("!!document.querySelector('.leaflet-control-scale')")
    assert "OpenStreetMap contributors" in opened.js("document.querySelector('.leaflet-control-attribution').textContent")
    assert opened.blocked == [] and opened.errors == [] and opened.dialogs == []


def test_the_map_opens_on_the_busiest_window_at_its_first_hour(opened: Page, city_run):
    risk = city_run["risk"]
    totals = risk.table.groupby("window")["risk"].sum()
    busiest = max(risk.window_names, key=lambda w: float(totals.get(w, 0.0)))
    assert busiest == "late"  # the fixture has more late incidents
    state = opened.js("geoengine.clock.state()")
    assert state["window_name"] == busiest and state["minute"] == 0
    assert opened.page.locator(".geoengine-clock .ge-time").text_content() == "22:00"
    assert opened.js("geoengineRisk.names[geoengineRisk.current()]") == busiest
    assert opened.js("geoengine.map.hasLayer(geoengine.layers['Routes: late'])")
    assert not opened.js("geoengine.map.hasLayer(geoengine.layers['Routes: evening'])")
    # one time control: the risk legend has no selector of its own, it names the clock's window
    assert not opened.page.locator("select.geoengine-window").is_visible()
    assert "late" in opened.page.locator(".geoengine-window-shown").text_content()
    assert "window=late&time=22:00" in opened.js("location.hash")


def test_one_control_switches_risk_routes_and_dropped_visits_together(opened: Page, city_run):
    colours = "geoengine.layers['risk'].getLayers().map(l => l.options.color).join()"
    dropped = city_run["patrol"].dropped
    n_dropped = dropped["window"].astype(str).value_counts().to_dict() if len(dropped) else {}

    def dropped_shown() -> dict[str, bool]:
        return opened.js(
            "Object.fromEntries(Object.keys(geoengine.layers).filter(k => k.startsWith('Dropped visits: '))"
            ".map(k => [k, geoengine.map.hasLayer(geoengine.layers[k])]))"
        )

    opened.page.select_option(".geoengine-clock .ge-window", "1")  # late
    late = opened.js(colours)
    opened.page.select_option(".geoengine-clock .ge-window", "0")  # evening
    assert opened.js("geoengineRisk.names[geoengineRisk.current()]") == "evening"
    assert opened.js(colours) != late
    assert opened.js("geoengine.map.hasLayer(geoengine.layers['Routes: evening'])")
    assert not opened.js("geoengine.map.hasLayer(geoengine.layers['Routes: late'])")
    shown = dropped_shown()
    for name, on in shown.items():
        assert on == name.startswith("Dropped visits: evening "), (name, on)
    assert set(shown) == {f"Dropped visits: {w} ({n})" for w, n in n_dropped.items()}
    opened.page.select_option(".geoengine-clock .ge-window", "1")
    assert opened.js(colours) == late
    for name, on in dropped_shown().items():
        assert on == name.startswith("Dropped visits: late "), (name, on)
    # the risk legend hides with its layer
    legend = opened.page.locator(".geoengine-risk-legend")
    opened.page.get_by_text("Risk level by time window").click()
    assert not legend.is_visible() and not opened.js("geoengine.map.hasLayer(geoengine.layers['risk'])")
    opened.page.get_by_text("Risk level by time window").click()
    assert legend.is_visible()
    assert opened.errors == [] and opened.dialogs == []


def test_the_control_shows_the_checkpoints_staffed_in_its_window(opened: Page, city_run):
    table = city_run["patrol"].allocation.checkpoints
    assert table is not None and table["staffed"].any(), "the fixture staffs a checkpoint"

    def staffed_shown() -> dict[str, bool]:
        return opened.js(
            "Object.fromEntries(Object.keys(geoengine.layers).filter(k => k.startsWith('Checkpoints staffed: '))"
            ".map(k => [k, geoengine.map.hasLayer(geoengine.layers[k])]))"
        )

    for index, window in ((0, "evening"), (1, "late")):
        opened.page.select_option(".geoengine-clock .ge-window", str(index))
        shown = staffed_shown()
        assert len(shown) == 2
        for name, on in shown.items():
            assert on == name.startswith(f"Checkpoints staffed: {window} "), (name, on)
        ids = sorted(table.loc[(table["window"] == window) & table["staffed"], "checkpoint"])
        note = opened.page.locator(".geoengine-clock .ge-note").inner_text()
        assert f"Checkpoints staffed: {', '.join(ids) if ids else 'none'}" in note
    assert opened.errors == [] and opened.dialogs == []


def test_the_address_keeps_the_view(browser: Any, city_map):
    path, _ = city_map
    page = Page(browser, path)
    try:
        page.page.select_option(".geoengine-clock .ge-window", "0")
        page.page.locator(".geoengine-clock .ge-slider").fill("90")
        url = page.js("location.href")
        assert url.endswith("#window=evening&time=19:30")
    finally:
        page.page.close()
    again = Page(browser, Path(path))
    try:
        again.page.goto(url, wait_until="load")
        again.page.reload(wait_until="load")
        state = again.js("geoengine.clock.state()")
        assert state["window_name"] == "evening" and state["minute"] == 90
        assert again.page.locator(".geoengine-clock .ge-time").text_content() == "19:30"
        assert again.js("geoengineRisk.names[geoengineRisk.current()]") == "evening"
        assert again.js("geoengine.map.hasLayer(geoengine.layers['Routes: evening'])")
        assert again.errors == [] and again.blocked == []
    finally:
        again.page.close()


def _layer_of(fmap: Any, name: str) -> Any:
    return next(c for c in fmap._children.values() if getattr(c, "layer_name", "") == name)


def test_time_slider_moves_the_patrols(opened: Page):
    slider = opened.page.locator(".geoengine-clock .ge-slider")
    label = opened.page.locator(".geoengine-clock .ge-time")
    opened.page.select_option(".geoengine-clock .ge-window", "0")
    slider.fill("0")
    assert label.text_content() == "18:00"
    at_start = opened.js("geoengine.clock.state().shown")
    assert len(at_start) == 2 and all(s["trail"] == 1 for s in at_start)  # nobody has moved yet
    seen = set()
    for minute in (20, 60, 110, 170, 230):
        slider.fill(str(minute))
        state = opened.js("geoengine.clock.state()")
        assert state["minute"] == minute
        seen.add(tuple((s["status"], s["trail"], round(s["lat"], 5), round(s["lon"], 5)) for s in state["shown"]))
        assert opened.js("Object.keys(geoengine.map._layers).length") > 0
    assert len(seen) >= 4, "the teams' positions and trails change with the slider"
    assert label.text_content() == "21:50"
    # the late window crosses midnight
    opened.page.select_option(".geoengine-clock .ge-window", "1")
    slider.fill("150")
    assert label.text_content() == "00:30"
    # the clock's window brings its routes and its risk along
    assert opened.js("geoengine.map.hasLayer(geoengine.layers['Routes: late'])")
    assert not opened.js("geoengine.map.hasLayer(geoengine.layers['Routes: evening'])")
    assert opened.js("geoengineRisk.names[geoengineRisk.current()]") == "late"
    opened.page.select_option(".geoengine-clock .ge-window", "0")
    assert opened.js("geoengine.map.hasLayer(geoengine.layers['Routes: evening'])")


def test_each_alternative_plan_can_be_shown(opened: Page, city_map):
    _, fmap = city_map
    name = next(n for n in overlay_names(fmap) if n.startswith("Routes: evening, alternative 1"))
    layer = f"geoengine.layers[{name!r}]"
    assert not opened.js(f"geoengine.map.hasLayer({layer})")  # off by default
    opened.page.get_by_text(name).click()
    assert opened.js(f"geoengine.map.hasLayer({layer})") and opened.js(f"{layer}.getLayers().length") > 2
    opened.page.get_by_text(name).click()
    # and in the clock
    opened.page.select_option(".geoengine-clock .ge-plan", "1")
    opened.page.locator(".geoengine-clock .ge-slider").fill("60")
    state = opened.js("geoengine.clock.state()")
    assert state["plan"] == 1 and len(state["shown"]) == 2
    opened.page.select_option(".geoengine-clock .ge-plan", "0")
    assert opened.errors == [] and opened.dialogs == []


def test_meal_breaks_show_on_the_routes_and_in_the_clock(opened: Page, city_run):
    stops = city_run["patrol"].stops
    breaks = stops[(stops["place_kind"] == "break") & (stops["window"] == "evening")]
    assert len(breaks), "the evening window has meal breaks"
    markers = """geoengine.layers['Routes: evening'].getLayers().filter(l => l.options.icon &&
                 l.options.icon.options.className.indexOf('geoengine-break') >= 0)"""
    assert opened.js(f"({markers}).length") == len(breaks)
    opened.page.select_option(".geoengine-clock .ge-window", "0")  # evening, its routes shown
    assert opened.js("document.querySelectorAll('.leaflet-marker-pane .geoengine-break').length") == len(breaks)
    popups = opened.js(f"({markers}).map(l => l.getPopup().getContent())")
    for b in breaks.itertuples():
        assert any(f"meal break {b.arrive}–{b.depart}" in p and b.team in p for p in popups), (b.team, popups)
    # in the clock: at a minute inside the break the team's marker says it is on its break
    b = breaks.iloc[0]
    minute = int((b["arrive_s"] + b["depart_s"]) / 2 // 60)
    opened.page.locator(".geoengine-clock .ge-slider").fill(str(minute))
    shown = {s["team"]: s for s in opened.js("geoengine.clock.state().shown")}
    assert shown[b["team"]]["on_break"] and "meal break" in shown[b["team"]]["status"], shown
    others = breaks[breaks["team"] != b["team"]]
    for o in others.itertuples():  # another team is on its break only inside its own
        inside = o.arrive_s <= minute * 60 < o.depart_s
        assert shown[o.team]["on_break"] == inside
    opened.page.locator(".geoengine-clock .ge-slider").fill(str(int(b["depart_s"] // 60) + 1))
    after = {s["team"]: s for s in opened.js("geoengine.clock.state().shown")}
    assert not after[b["team"]]["on_break"]
    assert opened.errors == [] and opened.dialogs == []


def test_stop_and_dropped_popups_name_the_place_beat_and_cause(city_run):
    from geoengine.export.map import _stop_popup

    stops = city_run["patrol"].stops
    hot = stops[stops["place_kind"] == "hotspot"]
    assert len(hot)
    r = next(hot.itertuples())
    text = _stop_popup(r)
    assert f"beat {int(r.beat)}" in text and r.place_id in text
    page = make_map(**city_run).get_root().render()
    dropped = city_run["patrol"].dropped
    if len(dropped):
        assert "Dropped visits (" in page
        words = {
            "time_used": "team time used",
            "no_team_allocated": "no team allocated to its beat",
            "no_team_on_shift": "no team on shift",
            "unreachable": "unreachable in time",
        }
        for cause in set(dropped["cause"]):
            assert words[cause] in page


def test_hostile_names_show_as_text_and_run_nothing(opened: Page):
    # open every popup and tooltip on the page
    texts = opened.js(
        """(() => {
      var out = [];
      Object.values(geoengine.layers).forEach(function (g) {
        if (!geoengine.map.hasLayer(g)) { geoengine.map.addLayer(g); }
        g.eachLayer(function (l) {
          if (l.getPopup && l.getPopup()) { l.openPopup(); out.push(l.getPopup().getElement().textContent); l.closePopup(); }
          if (l.getTooltip && l.getTooltip()) { l.openTooltip(l.getLatLng ? l.getLatLng() : l.getBounds().getCenter());
            var t = l.getTooltip().getElement(); if (t) { out.push(t.textContent); } l.closeTooltip(); }
        });
      });
      out.push(document.querySelector('.geoengine-banner').textContent);
      out.push(document.querySelector('.geoengine-legend').textContent);
      return out;
    })()"""
    )
    joined = "\n".join(texts)
    assert EVIL_IMG in joined and EVIL_SCRIPT in joined and EVIL_JINJA in joined  # shown literally, as text
    assert opened.js("document.querySelectorAll('img').length") == 0  # no element was made from a name
    assert opened.dialogs == [] and opened.errors == []


def test_screenshot_is_saved_as_an_artefact(opened: Page):
    folder = Path(os.environ.get("GEOENGINE_TEST_ARTIFACTS", REPO / "test-artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    opened.page.locator(".geoengine-clock .ge-slider").fill("75")
    out = folder / "map_browser.png"
    opened.page.screenshot(path=str(out))
    assert out.stat().st_size > 10_000


def test_map_with_web_tiles_still_renders_offline(browser: Any, city_run, tmp_path):
    fmap = make_map(**city_run, tiles="osm")
    path = tmp_path / "map.html"
    path.write_text(fmap.get_root().render(), encoding="utf-8")
    page = Page(browser, path)
    try:
        assert page.js("geoengine.map instanceof L.Map")
        assert page.js("geoengine.layers['Streets (basemap)'].getLayers().length") > 0
        assert any("tile.openstreetmap.org" in u for u in page.blocked)  # asked for, refused, and the page still works
        errors = [e for e in page.errors if "Failed to load resource" not in e]
        assert errors == [] and page.dialogs == []
    finally:
        page.page.close()


def test_the_legend_does_not_promise_buildings_the_source_lacks(city_run):
    with_buildings = make_map(city_run["network"]).get_root().render()
    assert "own streets and buildings" in with_buildings
    bare = grid_network(3, block_m=100.0, crs=CRS, origin=(X0, Y0))
    assert bare.buildings is None or len(bare.buildings) == 0
    page = make_map(bare).get_root().render()
    assert "own streets (the source has no buildings)" in page
    assert "own streets and buildings" not in page


def test_beat_and_hotspot_labels_show_at_zoom(opened: Page, city_run):
    patrol = city_run["patrol"]
    opened.js("void geoengine.map.setZoom(12, {animate: false})")
    assert opened.js("document.querySelectorAll('.geoengine-label').length") == 0  # too far out for names
    opened.js("void geoengine.map.setZoom(17, {animate: false})")
    beats = opened.js("Array.from(document.querySelectorAll('.geoengine-label-beat')).map(e => e.textContent)")
    assert sorted(beats) == sorted(map(str, patrol.beats.beats["name"]))
    hot = opened.js("geoengine.layers['labels: hotspots'].getLayers().length")
    assert hot == len(patrol.hotspots) > 0
    # the risk legend has its own grey entry for streets without data
    assert "no data" in opened.page.locator(".geoengine-risk-legend").text_content()
    assert opened.errors == []


# --------------------------------------------------------------------------- response circles and the clock
@pytest.fixture(scope="module")
def circles_map(city_run: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any, Any]:
    """The small city with its response circles (default tiers: key sites 1 min, districts 3, streets 5)."""
    from geoengine.response import evaluate_response, plan_responders
    from geoengine.scenario import ResponseSettings

    settings = ResponseSettings()
    run = city_run
    responders = plan_responders(
        run["network"], windows=run["windows"], settings=settings, patrol=run["patrol"], stations=run["layers"].stations.gdf
    )
    response = evaluate_response(
        run["network"],
        responders,
        settings=settings,
        windows=run["windows"],
        key_sites=run["layers"].key_sites.gdf,
        districts=run["layers"].districts.gdf,
    )
    fmap = make_map(**run, response=response, title="circles")
    path = tmp_path_factory.mktemp("circles") / "map.html"
    path.write_text(fmap.get_root().render(), encoding="utf-8")
    return path, fmap, response


def test_response_circles_follow_the_one_time_control(browser: Any, circles_map):
    path, fmap, response = circles_map
    tiers = sorted(response.settings.tiers, key=lambda t: t.minutes)
    windows = [w.name for w in response.windows]
    circle = {
        (t.name, w): next(n for n in overlay_names(fmap) if n.startswith(f"Response circle: {t.name}, {t.minutes:g} min, {w} ("))
        for t in tiers
        for w in windows
    }
    assert len(circle) == len(tiers) * len(windows) == 6  # one layer per (tier, window), none per minute
    page = Page(browser, path)
    try:

        def shown() -> set[tuple[str, str]]:
            on = page.js(
                "Object.fromEntries(Object.keys(geoengine.layers).filter(k => k.startsWith('Response circle: '))"
                ".map(k => [k, geoengine.map.hasLayer(geoengine.layers[k])]))"
            )
            assert set(on) == set(circle.values())
            return {key for key, name in circle.items() if on[name]}

        def at(hhmm: str) -> None:  # the clock's window holding that time, then the time
            h, m = map(int, hhmm.split(":"))
            for i, w in enumerate(response.windows):
                offset = (h * 60 + m - w.start_min) % 1440
                if offset < w.duration_min:
                    page.js(f"geoengine.clock.select({i})")
                    page.js(f"geoengine.clock.set({offset})")
                    assert page.page.locator(".geoengine-clock .ge-time").text_content() == hhmm
                    return
            raise AssertionError(hhmm)

        tight, wide = tiers[0].name, tiers[-1].name
        # the map opens on the busiest window (late) with the tightest tier's circle of that window
        assert page.js("geoengine.clock.state().window_name") == "late"
        assert shown() == {(tight, "late")}
        at("19:30")
        assert shown() == {(tight, "evening")}
        note = page.page.locator(".geoengine-clock .ge-note").inner_text()
        share = response.share(tight, "evening")
        assert "Response circles evening" in note and f"{100 * share:.0f} % within" in note, note
        # switching the widest tier on in the layer control: the clock shows its layer of the window in view
        page.page.get_by_text(circle[(wide, "late")], exact=True).click()
        page.page.wait_for_function(f"geoengine.map.hasLayer(geoengine.layers[{circle[(wide, 'evening')]!r}])")
        assert shown() == {(tight, "evening"), (wide, "evening")}
        at("23:10")
        assert shown() == {(tight, "late"), (wide, "late")}
        at("01:59")  # the late window after midnight: still its layers
        assert shown() == {(tight, "late"), (wide, "late")}
        page.page.get_by_text(circle[(tight, "late")], exact=True).click()  # the tightest tier off
        page.page.wait_for_function(f"!geoengine.map.hasLayer(geoengine.layers[{circle[(tight, 'late')]!r}])")
        at("18:05")
        assert shown() == {(wide, "evening")}
        assert page.blocked == [] and page.errors == [] and page.dialogs == []
    finally:
        page.page.close()


def test_a_tiers_key_sites_show_inside_or_outside_its_circle(circles_map):
    _, fmap, response = circles_map
    tier = next(t for t in response.settings.tiers if t.demand_kind == "key_sites")
    demand = response.demand[tier.name]
    for w in response.windows:
        share = response.node_share_by_window[(tier.name, w.name)][demand["pos"].to_numpy()]
        name = next(
            n for n in overlay_names(fmap) if n.startswith(f"Response circle: {tier.name}, {tier.minutes:g} min, {w.name} (")
        )
        assert name.endswith(f"({int((share >= 0.5).sum())} of {len(demand)} sites inside)")
