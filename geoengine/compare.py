"""Compare two run folders: what a re-plan or a what-if changed.

:func:`compare_runs` reads two complete run folders (their ``plan.gpkg`` and
``manifest.json``) and returns the differences: new cameras added and removed (same
site, model and heading counts as the same camera), beats whose area changed, streets
whose camera coverage was gained or lost (more than half their demand points seen), and
the key metrics side by side. Written as ``compare.html`` — one self-contained page with
the difference map as an embedded PNG and the tables, no script and no web assets, so it
opens offline — plus ``difference.png`` and ``compare.json``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from ._io import write_json_atomic, write_text_atomic
from .errors import InputFileNotFoundError

__all__ = ["RunComparison", "compare_runs"]

METRICS = (
    ("coverage", "cameras_new"),
    ("coverage", "new_camera_cost"),
    ("coverage", "covered_weight_share"),
    ("patrol", "teams"),
    ("patrol", "beats"),
    ("patrol", "visits_planned"),
    ("patrol", "visits_dropped"),
    ("patrol", "dosage_met_share"),
    ("patrol", "changed_stops"),
    ("evaluation", "in_camera_view_share"),
    ("evaluation", "within_response_share"),
    ("evaluation", "pai_5pct"),
)
BEAT_CHANGED_SHARE = 0.02
"""A beat counts as changed when more than this share of its area (symmetric difference over union) moved."""


@dataclass(frozen=True)
class RunComparison:
    """The differences between run A (before) and run B (after), in the runs' CRS."""

    run_a: Path
    run_b: Path
    cameras_added: gpd.GeoDataFrame
    cameras_removed: gpd.GeoDataFrame
    cameras_kept: int
    beats: gpd.GeoDataFrame  # one row per beat name: changed_share, changed, geometry (the area that moved)
    coverage_gained: gpd.GeoDataFrame
    coverage_lost: gpd.GeoDataFrame
    metrics: pd.DataFrame  # metric, a, b, change
    warnings: tuple[str, ...] = ()
    out_dir: Path | None = None
    streets: gpd.GeoDataFrame | None = field(default=None, repr=False)

    def counts(self) -> dict[str, Any]:
        changed = int(self.beats["changed"].sum()) if len(self.beats) else 0
        return {
            "cameras_added": len(self.cameras_added),
            "cameras_removed": len(self.cameras_removed),
            "cameras_kept": int(self.cameras_kept),
            "beats_changed": changed,
            "beats": len(self.beats),
            "streets_coverage_gained": len(self.coverage_gained),
            "streets_coverage_lost": len(self.coverage_lost),
            "coverage_gained_km": round(float(self.coverage_gained["length_m"].sum()) / 1000, 3)
            if len(self.coverage_gained)
            else 0.0,
            "coverage_lost_km": round(float(self.coverage_lost["length_m"].sum()) / 1000, 3) if len(self.coverage_lost) else 0.0,
        }

    def summary(self) -> str:
        c = self.counts()
        lines = [
            f"compare  {self.run_a.name} -> {self.run_b.name}",
            f"cameras  +{c['cameras_added']} added, -{c['cameras_removed']} removed, {c['cameras_kept']} kept",
            f"beats    {c['beats_changed']} of {c['beats']} changed",
            f"coverage {c['streets_coverage_gained']} streets gained ({c['coverage_gained_km']} km), "
            f"{c['streets_coverage_lost']} lost ({c['coverage_lost_km']} km)",
        ]
        if self.out_dir is not None:
            lines.append(f"written  {self.out_dir / 'compare.html'}")
        lines += [f"warning  {w}" for w in self.warnings]
        return "\n".join(lines)


def _manifest(folder: Path) -> dict[str, Any]:
    path = folder / "manifest.json"
    if not path.is_file():
        raise InputFileNotFoundError.single(
            "not a complete run folder (no manifest.json)", file=folder, hint="give the folder of a finished run"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def _layer(folder: Path, name: str) -> gpd.GeoDataFrame | None:
    import pyogrio

    path = folder / "plan.gpkg"
    if not path.is_file() or name not in {n for n, _ in pyogrio.list_layers(path)}:
        return None
    return pyogrio.read_dataframe(path, layer=name)


def _camera_keys(cams: gpd.GeoDataFrame | None) -> pd.Series:
    if cams is None or not len(cams):
        return pd.Series([], dtype=object)
    heading = (
        pd.to_numeric(cams.get("heading_deg"), errors="coerce")
        if "heading_deg" in cams
        else pd.Series(math.nan, index=cams.index)
    )
    model = cams["model"].astype(str) if "model" in cams else pd.Series("", index=cams.index)
    return pd.Series(
        [f"{g.x:.1f},{g.y:.1f},{m},{'all' if h != h else round(float(h))}" for g, m, h in zip(cams.geometry, model, heading)],
        index=cams.index,
    )


def _covered(streets: gpd.GeoDataFrame | None) -> pd.Series:
    if streets is None or not len(streets):
        return pd.Series([], dtype=bool)
    seen = pd.to_numeric(streets["seen"], errors="coerce").fillna(0.0)
    return pd.Series((seen > 0.5).to_numpy(), index=streets["segment_id"].to_numpy())


def compare_runs(run_a: str | Path, run_b: str | Path, *, out: str | Path | None = None, write: bool = True) -> RunComparison:
    """Differences between two complete run folders; write ``compare.html`` into ``out``
    (default ``compare-<A>-vs-<B>`` beside run B) unless ``write`` is False."""
    a, b = Path(run_a), Path(run_b)
    ma, mb = _manifest(a), _manifest(b)
    warnings: list[str] = []
    if (ma.get("inputs", {}).get("network") or {}).get("sha256") != (mb.get("inputs", {}).get("network") or {}).get("sha256"):
        warnings.append("the runs use different street networks: streets are matched by id and may not correspond")

    cam_a, cam_b = _layer(a, "cameras_new"), _layer(b, "cameras_new")
    crs = next((g.crs for g in (cam_b, cam_a, _layer(b, "streets")) if g is not None and g.crs is not None), None)
    empty = gpd.GeoDataFrame({"model": []}, geometry=[], crs=crs)
    ka, kb = _camera_keys(cam_a), _camera_keys(cam_b)
    added = cam_b[~kb.isin(set(ka)).to_numpy()] if cam_b is not None else empty
    removed = cam_a[~ka.isin(set(kb)).to_numpy()] if cam_a is not None else empty
    kept = int(kb.isin(set(ka)).sum()) if cam_b is not None else 0

    beats = _beat_changes(_layer(a, "beats"), _layer(b, "beats"), crs)

    sa, sb = _layer(a, "coverage_streets"), _layer(b, "coverage_streets")
    ca, cb = _covered(sa), _covered(sb)
    both = ca.index.intersection(cb.index)
    gained_ids = both[(~ca.loc[both].to_numpy()) & cb.loc[both].to_numpy()]
    lost_ids = both[ca.loc[both].to_numpy() & (~cb.loc[both].to_numpy())]
    streets = sb if sb is not None else sa
    if streets is not None:
        gained = streets[streets["segment_id"].isin(gained_ids)]
        lost = streets[streets["segment_id"].isin(lost_ids)]
    else:
        gained = lost = gpd.GeoDataFrame({"segment_id": [], "length_m": []}, geometry=[], crs=crs)

    rows = []
    for block, key in METRICS:
        va = (ma.get("metrics", {}).get(block) or {}).get(key)
        vb = (mb.get("metrics", {}).get(block) or {}).get(key)
        change = vb - va if isinstance(va, (int, float)) and isinstance(vb, (int, float)) else None
        rows.append({"metric": f"{block}.{key}", "a": va, "b": vb, "change": change})
    result = RunComparison(
        run_a=a,
        run_b=b,
        cameras_added=added,
        cameras_removed=removed,
        cameras_kept=kept,
        beats=beats,
        coverage_gained=gained,
        coverage_lost=lost,
        metrics=pd.DataFrame(rows),
        warnings=tuple(warnings),
        streets=_layer(b, "streets"),
    )
    if not write:
        return result
    target = Path(out) if out is not None else b.parent / f"compare-{a.name}-vs-{b.name}"
    return _write(result, target)


def _beat_changes(ba: gpd.GeoDataFrame | None, bb: gpd.GeoDataFrame | None, crs: Any) -> gpd.GeoDataFrame:
    if ba is None and bb is None:
        return gpd.GeoDataFrame({"name": [], "changed_share": [], "changed": []}, geometry=[], crs=crs)
    ga = {} if ba is None else dict(zip(ba["name"].astype(str), ba.geometry))
    gb = {} if bb is None else dict(zip(bb["name"].astype(str), bb.geometry))
    rows, geoms = [], []
    for name in sorted(set(ga) | set(gb), key=lambda n: (len(n), n)):
        pa, pb = ga.get(name), gb.get(name)
        if pa is None or pb is None:
            share, moved = 1.0, pa if pb is None else pb
        else:
            union = pa.union(pb).area
            moved = pa.symmetric_difference(pb)
            share = float(moved.area / union) if union > 0 else 0.0
        rows.append({"name": name, "changed_share": round(share, 4), "changed": share > BEAT_CHANGED_SHARE})
        geoms.append(moved)
    known = bb if bb is not None else ba
    assert known is not None  # both None returned above
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=known.crs)


def _figure(c: RunComparison) -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    fig, ax = plt.subplots(figsize=(8, 8))
    if c.streets is not None and len(c.streets):
        c.streets.plot(ax=ax, color="#bbbbbb", linewidth=0.6)
    changed = c.beats[c.beats["changed"]] if len(c.beats) else c.beats
    if len(changed):
        changed.plot(ax=ax, color="#fdae61", alpha=0.5, edgecolor="#d95f0e", linewidth=0.5)
    if len(c.coverage_gained):
        c.coverage_gained.plot(ax=ax, color="#1a9641", linewidth=2.2)
    if len(c.coverage_lost):
        c.coverage_lost.plot(ax=ax, color="#d7191c", linewidth=2.2)
    if len(c.cameras_added):
        c.cameras_added.plot(ax=ax, color="#1a9641", marker="^", markersize=42, edgecolor="black", linewidth=0.4)
    if len(c.cameras_removed):
        c.cameras_removed.plot(ax=ax, color="#d7191c", marker="X", markersize=42, edgecolor="black", linewidth=0.4)
    counts = c.counts()
    ax.legend(
        handles=[
            Line2D([], [], color="#1a9641", marker="^", linestyle="none", label=f"camera added ({counts['cameras_added']})"),
            Line2D([], [], color="#d7191c", marker="X", linestyle="none", label=f"camera removed ({counts['cameras_removed']})"),
            Line2D([], [], color="#1a9641", linewidth=2.2, label=f"coverage gained ({counts['coverage_gained_km']} km)"),
            Line2D([], [], color="#d7191c", linewidth=2.2, label=f"coverage lost ({counts['coverage_lost_km']} km)"),
            Patch(facecolor="#fdae61", alpha=0.5, label=f"beat area moved ({counts['beats_changed']} beats)"),
        ],
        loc="upper left",
        fontsize=8,
        framealpha=0.9,
    )
    ax.set_axis_off()
    ax.set_aspect("equal")
    return fig


def _write(c: RunComparison, target: Path) -> RunComparison:
    from dataclasses import replace

    from .export.pages import compare_html, figure_png_base64

    target.mkdir(parents=True, exist_ok=True)
    fig = _figure(c)
    fig.savefig(target / ".difference.png.tmp", format="png", dpi=110, bbox_inches="tight")
    (target / ".difference.png.tmp").replace(target / "difference.png")
    png = figure_png_base64(fig)
    counts = c.counts()
    cameras = []
    for g, what in ((c.cameras_added, "added"), (c.cameras_removed, "removed")):
        ll = g.to_crs("EPSG:4326") if len(g) and g.crs is not None else g
        cameras += [(what, str(r.get("model", "")), r.get("heading_deg"), r.geometry.y, r.geometry.x) for _, r in ll.iterrows()]
    page = compare_html(
        name_a=c.run_a.name,
        name_b=c.run_b.name,
        counts=counts,
        warnings=list(c.warnings),
        png=png,
        metrics=c.metrics,
        beats=c.beats,
        cameras=cameras,
    )
    write_text_atomic(target / "compare.html", page)
    write_json_atomic(
        target / "compare.json",
        {
            "run_a": str(c.run_a),
            "run_b": str(c.run_b),
            **counts,
            "metrics": json.loads(c.metrics.to_json(orient="records")),
            "warnings": list(c.warnings),
        },
    )
    return replace(c, out_dir=target)
