"""Suite ``response``: the cost of the rapid-response circles (issue 17).

SF downtown (``scenarios/sf_downtown.yaml``: 3 windows of 8 h, its key sites) and Baltimore (the
district scenario of :mod:`bench._district`: 50 teams in 3 shifts, 20 booths, 15 checkpoints,
real OSM streets, synthetic incidents) — both need ../shared/data. Per city: the whole run
(``write=False``) with its stage times, then every tier for every window at 1-minute sampling
recomputed on the run's plan (responders, then the figures) with its peak memory, the
Dijkstra calls, and the response stage's share of the whole run's time. Baltimore's run has no
cameras (they do not respond) and a small planning work: the response cost does not depend on
how good the routes are.

``--quick``: SF without cameras at work 2, Baltimore at work 1.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml

from ._common import SHARED, measure, row

REPO = Path(__file__).resolve().parents[1]


def _run(path: Path, *, update: dict[str, Any]) -> Any:
    import geoengine as ge
    from geoengine.scenario import parse_scenario

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(update)
    return ge.run(parse_scenario(data, base_dir=path.parent), write=False)


def _rows(city: str, label: str, run: Any) -> list[dict[str, Any]]:
    from geoengine.response import evaluate_response, plan_responders

    sc = run.scenario
    timings = run.manifest["timings_s"]
    stations = run.layers.stations.gdf if run.layers.stations is not None else None
    keys = run.layers.key_sites.gdf if run.layers.key_sites is not None else None
    if sc.response.key_sites is not None:
        from geoengine.layers import read_layer

        keys = read_layer("key_sites", sc.response.key_sites, network=run.network, field="response.key_sites").gdf

    def compute() -> Any:
        responders = plan_responders(
            run.network,
            windows=sc.windows,
            settings=sc.response,
            patrol=run.patrol,
            stations=stations,
            booth_mode=sc.patrol.booth_mode,
        )
        return evaluate_response(
            run.network,
            responders,
            settings=sc.response,
            windows=sc.windows,
            key_sites=keys,
            districts=run.layers.districts.gdf if run.layers.districts is not None else None,
        )

    res, wall, peak = measure(compute)
    minutes = sum(w.duration_min for w in sc.windows) // sc.response.sample_minutes
    total = float(timings["total"])
    share = float(timings["response"]) / total if total > 0 else None
    t = res.table.dropna(subset=["share_within"])
    lowest = t.loc[t["share_within"].idxmin()] if len(t) else None
    return [
        row(
            "response",
            city,
            f"whole run ({label})",
            wall_s=total,
            **{f"{k}_s": round(float(v), 3) for k, v in timings.items() if v is not None and k != "total"},
        ),
        row(
            "response",
            city,
            "every tier × window, 1-min sampling",
            wall_s=wall,
            peak_mb=peak,
            nodes=int(run.network.stats.nodes),
            tiers=len(sc.response.tiers),
            windows=len(sc.windows),
            minutes=int(minutes),
            demand_points=int(sum(len(d) for d in res.demand.values())),
            responders=len(res.responders.fixed) + len({tr.responder for v in res.responders.tracks.values() for tr in v}),
            dijkstra_calls=int(res.dijkstra_calls),
            lowest=None if lowest is None else f"{lowest['tier']} {lowest['window']} {100 * lowest['share_within']:.1f} %",
        ),
        row(
            "response",
            city,
            "response stage share of the whole run",
            wall_s=float(timings["response"]),
            share_of_run=None if share is None else round(share, 4),
            under_10pct=None if share is None else share < 0.10,
        ),
    ]


def run(*, quick: bool = False) -> list[dict[str, Any]]:
    if not (SHARED / "osm" / "sf_downtown_2017.osm.bz2").exists():
        return [row("response", "sf, baltimore", "skipped: ../shared/data absent", wall_s=0.0)]
    rows: list[dict[str, Any]] = []
    sf_update: dict[str, Any] = {"cameras": None, "solver": {"work": 2, "time_limit_s": 30}} if quick else {}
    rows += _rows(
        "sf downtown",
        "quick: no cameras, work 2" if quick else "as shipped",
        _run(REPO / "scenarios" / "sf_downtown.yaml", update=sf_update),
    )
    from . import _district

    if not _district.PBF.is_file():
        rows.append(row("response", "baltimore", f"skipped: {_district.PBF} absent", wall_s=0.0))
        return rows
    work = 1 if quick else 5
    with tempfile.TemporaryDirectory(prefix="geoengine-bench-response-") as tmp:
        path = _district.write_district(Path(tmp))
        baltimore = _run(path, update={"cameras": None, "solver": {"work": work, "time_limit_s": 300}})
        rows += _rows("baltimore", f"no cameras, work {work}", baltimore)
    return rows
