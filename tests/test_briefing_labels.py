"""The briefing map's labels on a real, dense plan (SF downtown): no two label boxes overlap."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
import yaml
from matplotlib.backends.backend_agg import FigureCanvasAgg

import geoengine as ge
from geoengine.export.briefing import briefing_figure
from geoengine.scenario import parse_scenario

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sf_plan(shared_data):
    """SF downtown's patrol plan at a small deterministic work (no cameras: they carry no labels)."""
    path = REPO / "scenarios" / "sf_downtown.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["cameras"] = None
    data["solver"] = {"work": 2, "time_limit_s": 30}
    return ge.run(parse_scenario(data, base_dir=path.parent), write=False)


@pytest.mark.parametrize("paper", ["A3", "A4"])
def test_no_two_briefing_labels_overlap_on_sf(sf_plan, paper):
    r = sf_plan
    page = briefing_figure(r.network, title="SF", layers=r.layers, risk=r.risk, patrol=r.patrol, paper=paper)
    renderer = FigureCanvasAgg(page.figure).get_renderer()
    shown = [t for t in page.labels if t.get_visible()]
    texts = {t.get_text() for t in shown}
    patrol = r.patrol
    assert {f"Beat {b + 1}" for b in range(len(patrol.beats.beats))} <= texts, "every beat is named"
    assert set(patrol.checkpoints.sites["post_id"]) | set(patrol.booths.sites["post_id"]) <= texts, "every post is named"
    assert any(t.startswith("H") for t in texts), "the window's hotspots are named"
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in shown]
    frame = page.figure.axes[0].get_window_extent(renderer)
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        assert not box_a.overlaps(box_b), (a, b)
    for name, box in boxes:
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1, name
    page_box = page.figure.bbox
    for artist in page.figure.axes[1].get_children():  # the side panel: legends and key figures stay on the page
        if artist.get_visible() and hasattr(artist, "get_window_extent") and type(artist).__name__ in ("Legend", "Text"):
            box = artist.get_window_extent(renderer)
            assert box.x1 <= page_box.x1 + 0.5, (type(artist).__name__, box)
    if paper == "A3":
        artefacts = Path(os.environ.get("GEOENGINE_TEST_ARTIFACTS", REPO / "test-artifacts"))
        artefacts.mkdir(parents=True, exist_ok=True)
        page.save(png=artefacts / "sf_briefing.png", dpi=110)
