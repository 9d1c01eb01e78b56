"""The batch summary and run comparison pages: jinja2 templates, autoescaped, self-contained."""

from __future__ import annotations

import pandas as pd

from geoengine.export.pages import compare_html, summary_html

EVIL = "<img src=x onerror=alert(1)>"


def test_compare_page_escapes_every_input_string():
    metrics = pd.DataFrame({"metric": [EVIL], "a": [0.5], "b": [0.75], "change": [0.25]})
    beats = pd.DataFrame({"name": [EVIL], "changed_share": [0.125], "changed": [True]})
    page = compare_html(
        name_a=EVIL,
        name_b="b",
        counts={"cameras_added": 2},
        warnings=[EVIL],
        png="data:image/png;base64,AAAA",
        metrics=metrics,
        beats=beats,
        cameras=[("added", EVIL, "90", 60.1, 24.9)],
    )
    assert (
        EVIL not in page and page.count("&lt;img src=x onerror=alert(1)&gt;") == 6
    )  # title, heading, warning, metric, beat, camera
    assert "<li>cameras added: 2</li>" in page and "<td>0.125</td><td>yes</td>" in page
    assert "<td>60.100000</td><td>24.900000</td>" in page and "<script" not in page


def test_summary_page_escapes_names_and_reasons():
    table = pd.DataFrame({"run": [EVIL, "ok"], "status": ["failed", "complete"], "reason": [EVIL, ""], "run_id": ["1", "2"]})
    page = summary_html(table, title=EVIL)
    assert EVIL not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "1 complete, 1 failed — 2 runs" in page and "<th>run_id</th>" not in page
    assert '<tr class="failed">' in page
