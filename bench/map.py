"""Suite ``map``: the offline briefing map with big layers.

A synthetic street grid of ~20k segments (with a building in every block) and 100k
synthetic incidents (``--quick``: ~5k segments, 20k incidents), with risk graded over
four windows: the time to build and render ``map.html``, its size, and in headless
Chromium (network blocked, opened from disk) the time until the page has loaded and
drawn, the JavaScript heap, and the time to switch the risk window (restyling every
street). Browser rows are left out when chromium or playwright is missing.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from ._common import measure, row
from .risk import GRID_CRS, synthetic_incidents

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def run(*, quick: bool = False) -> list[dict[str, Any]]:
    from geoengine.export.map import make_map
    from geoengine.layers import Layer, Layers
    from geoengine.risk import estimate_risk
    from geoengine.scenario import RiskSettings, TimeWindow
    from geoengine.synthetic import grid_network

    side, n_inc = (50, 20_000) if quick else (100, 100_000)
    network = grid_network(side, block_m=100.0, crs=GRID_CRS, building_inset_m=15.0)
    segments = len(network.segments())
    incidents = synthetic_incidents(network, n_inc)
    windows = tuple(
        TimeWindow(name=n, start=s, end=e)
        for n, s, e in (
            ("morning", "07:00", "12:00"),
            ("afternoon", "12:00", "18:00"),
            ("evening", "18:00", "23:00"),
            ("night", "23:00", "07:00"),
        )
    )
    risk = estimate_risk(network, incidents, windows=windows, settings=RiskSettings())
    layers = Layers(
        incidents=Layer(
            kind="incidents",
            gdf=incidents,
            path=Path("synthetic"),
            sha256="",
            rows_read=n_inc,
            rows_used=n_inc,
            rows_dropped=0,
            drop_reasons={},
            synthetic=True,
        )
    )
    instance = f"grid {segments // 1000}k segments, {n_inc // 1000}k incidents"
    extra = {"segments": segments, "incidents": n_inc, "buildings": len(network.buildings)}

    fmap, wall, peak = measure(lambda: make_map(network, layers, risk=risk, windows=windows, title="bench"))
    rows = [row("map", instance, "make_map", wall_s=wall, peak_mb=peak, **extra)]
    page, wall, peak = measure(lambda: fmap.get_root().render())
    html_mb = round(len(page.encode("utf-8")) / 2**20, 1)
    rows.append(
        row("map", instance, "render (inline assets, offline check)", wall_s=wall, peak_mb=peak, html_mb=html_mb, **extra)
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "map.html"
        path.write_text(page, encoding="utf-8")
        rows += _browser(path, instance, html_mb=html_mb, **extra)
    keys = dict.fromkeys(k for r in rows for k in r)  # every row with every column, for the table
    return [{k: r.get(k) for k in keys} for r in rows]


def _browser(path: Path, instance: str, **extra: Any) -> list[dict[str, Any]]:
    chromium = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return []
    if chromium is None:
        return []
    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "data:")) else r.abort())
        t0 = time.perf_counter()
        page.goto(path.as_uri(), wait_until="load", timeout=300_000)
        page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")  # drawn
        load = time.perf_counter() - t0
        heap = page.evaluate("performance.memory ? performance.memory.usedJSHeapSize / 1048576 : null")
        rows.append(
            row(
                "map",
                instance,
                "chromium: open and draw",
                wall_s=load,
                heap_mb=None if heap is None else round(heap, 1),
                errors=len(errors),
                **extra,
            )
        )
        t0 = time.perf_counter()
        page.evaluate("geoengineRisk.select(3)")
        page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        rows.append(row("map", instance, "chromium: switch risk window", wall_s=time.perf_counter() - t0, **extra))
        browser.close()
    return rows
