"""``report.html``: the run's metrics as tables and charts, in one offline file.

The page has no external resource: the CSS is inline, charts are inline SVG drawn by
matplotlib (text as glyph outlines, so no font is needed), and there is no
JavaScript. Every string that comes from input data or settings (names, categories,
window names, warnings, paths) goes through :func:`html.escape`.

Sections: the scenario (settings, windows, input files and hashes), warnings, the
metrics of the manifest (SPEC §4.1) block by block, charts (coverage against budget,
patrol dosage per district and window, workload per team, risk by window) and detail
tables (coverage by level and district, risk by district, posts, dropped visits).
"""

from __future__ import annotations

import datetime as dt
import html
import io
import math
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .._io import write_text_atomic
from ..risk import LEVEL_COLOURS, LEVELS, _days_label
from .manifest import METRIC_KEYS, TIMING_KEYS

if TYPE_CHECKING:
    from ..coverage.plan import CoveragePlan
    from ..layers import Layers
    from ..risk import RiskSurface
    from ..scenario import Scenario

__all__ = ["report_html", "write_report"]

LEVEL_HATCH = {"red": "xxx", "orange": "///", "yellow": "...", "blue": ""}
WINDOW_HATCHES = ("", "///", "...", "xxx", "\\\\\\", "++", "oo", "--")

# What each contract metric means, shown next to it (SPEC §4.1).
METRIC_HELP: dict[str, dict[str, str]] = {
    "network": {
        "nodes": "street intersections and ends", "edges": "directed street edges",
        "street_km": "length of the streets", "dropped_nodes": "nodes outside the largest connected part",
    },
    "risk": {
        "windows": "time windows planned for", "hotspot_segments": "segments that are a significant hotspot (Gi*, FDR) in a window",
        "pai_5pct": "prediction accuracy index: share of held-out incidents on the riskiest 5 % of street length ÷ 5 %",
    },
    "coverage": {
        "cameras_existing": "cameras already there", "cameras_new": "cameras the plan adds",
        "demand_points": "points along streets and at key sites to be seen",
        "covered_weight_share": "risk-weighted share of demand seen, with the new cameras",
        "covered_weight_share_existing": "the same with existing cameras only",
        "objective": "solver objective (covered weight)", "bound": "best upper bound on the objective",
        "gap": "(bound − objective) ÷ bound", "status": "solver status", "solve_s": "solve time",
    },
    "patrol": {
        "teams": "patrol teams", "beats": "patrol beats", "checkpoints": "checkpoints chosen", "booths": "booths chosen",
        "visits_planned": "stops at hotspots, districts and posts", "visits_dropped": "visits no team could make",
        "dosage_met_share": "hotspot-windows that get their required visits",
        "max_revisit_gap_min": "longest time between visits to a place in its window",
        "workload_cv": "spread of busy time between teams (std ÷ mean)",
        "time_window_violations": "stops outside their window or shift",
    },
    "evaluation": {
        "heldout_incidents": "incidents after the split date, used to score the plan",
        "in_camera_view_share": "held-out incidents seen by a camera", "within_response_share": "held-out incidents reached within the response time",
        "response_minutes": "response time used", "pai_5pct": "as in risk",
    },
}  # fmt: skip

CSS = """
body{font:14px/1.45 -apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1d1d1d;margin:0;background:#f4f4f2}
main{max-width:1120px;margin:0 auto;padding:24px 28px 48px;background:#fff}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:34px 0 10px;border-bottom:2px solid #222;padding-bottom:3px}
h3{font-size:16px;margin:20px 0 6px}.sub{color:#555;margin:0 0 14px}
table{border-collapse:collapse;margin:6px 0 14px;font-size:13px}th,td{border:1px solid #c9c9c9;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#ecebe8}td.n{text-align:right;font-variant-numeric:tabular-nums}td.null{color:#888;font-style:italic}
.warn{background:#fff4d6;border:1px solid #e0b000;padding:8px 14px;margin:10px 0}.warn li{margin:3px 0}
.ok{background:#e9f5ea;border:1px solid #64a86b;padding:8px 14px}
figure{margin:10px 0 18px}figcaption{color:#444;font-size:13px;margin-top:2px}figure svg{max-width:100%;height:auto}
pre{background:#f6f6f4;border:1px solid #ddd;padding:10px;overflow:auto;font-size:12px}
.grid{display:flex;flex-wrap:wrap;gap:8px 28px}.muted{color:#666}.tag{display:inline-block;padding:0 6px;border:1px solid #999;border-radius:3px;font-size:12px}
@media print{body{background:#fff}main{padding:0}h2{break-after:avoid}figure,table{break-inside:avoid}}
"""


# --------------------------------------------------------------------------- formatting
def _e(value: object) -> str:
    """Escape anything for HTML text or an attribute value."""
    return html.escape("" if value is None else str(value), quote=True)


def _is_null(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _fmt(value: object, key: str = "") -> str:
    """A value as escaped display text: shares as %, floats rounded, null as 'not computed'."""
    if _is_null(value):
        return "not computed"
    if isinstance(value, bool) or isinstance(value, np.bool_):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if key.endswith("share") or key == "gap" or key.endswith("_share_existing") or key.startswith("covered_share"):
            return f"{v:.1%}"
        if key.endswith("_s"):
            return f"{v:.2f} s"
        return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    if isinstance(value, (list, tuple)):
        return _e(", ".join(str(v) for v in value))
    return _e(value)


def _cell(value: object, key: str = "", *, null: str = "—") -> str:
    if _is_null(value) or (isinstance(value, (list, tuple, str)) and len(value) == 0):
        return f'<td class="null">{_e(null)}</td>'
    numeric = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    return f'<td class="n">{_fmt(value, key)}</td>' if numeric else f"<td>{_fmt(value, key)}</td>"


def _table(rows: Iterable[Sequence[object]], header: Sequence[str], *, keys: Sequence[str] | None = None) -> str:
    """An HTML table; ``keys`` (one per column) choose number formats."""
    keys = keys or [str(h) for h in header]
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(v, k) for v, k in zip(row, keys, strict=False)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _frame_table(df: pd.DataFrame, *, columns: Sequence[str] | None = None, max_rows: int = 200) -> str:
    columns = [c for c in (columns or df.columns) if c in df.columns]
    rows = df[columns].head(max_rows).itertuples(index=False, name=None)
    more = f'<p class="muted">… {len(df) - max_rows} more rows in the CSV files.</p>' if len(df) > max_rows else ""
    return _table(rows, columns) + more


# --------------------------------------------------------------------------- charts
def _svg(fig: Figure, *, salt: str) -> str:
    """A matplotlib figure as inline SVG (text as paths, no external reference)."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": salt}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    # Several SVGs share one page: give each one's ids (glyphs, clip paths) its own prefix.
    prefix = re.sub(r"[^A-Za-z0-9]", "", salt) + "-"
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}{m.group(1)}"', svg)
    return re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", svg)


def _figure(caption: str, fig: Figure, *, salt: str) -> str:
    return f"<figure>{_svg(fig, salt=salt)}<figcaption>{_e(caption)}</figcaption></figure>"


def _mpl(text: object) -> str:
    """A name from input data as a matplotlib label: ``$`` must not start mathtext."""
    return str(text).replace("$", r"\$")


def _style(ax: Any) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)


def chart_coverage_curve(coverage: CoveragePlan, metrics: dict[str, Any]) -> Figure | None:
    """Risk-weighted coverage against budget (with the bound and the existing cameras)."""
    curve = coverage.curve
    if not len(curve):
        return None
    fig = Figure(figsize=(7.5, 3.8))
    ax = fig.add_subplot()
    x = curve["budget"].to_numpy(dtype=float)
    y = curve["covered_weight_share"].to_numpy(dtype=float) * 100
    ax.plot(x, y, marker="o", color="#1f4e79", linewidth=2, label="covered risk with new cameras")
    with np.errstate(divide="ignore", invalid="ignore"):
        ub = np.where(curve["objective"] > 0, y * curve["bound"] / curve["objective"], np.nan)
    ax.plot(x, np.minimum(ub, 100), linestyle=":", color="#555555", marker="^", markersize=4, label="upper bound (solver)")
    existing = metrics.get("covered_weight_share_existing")
    if existing is not None:
        ax.axhline(existing * 100, linestyle="--", color="#888888", linewidth=1.2, label="existing cameras only")
    for xi, yi, n in zip(x, y, curve["cameras"], strict=True):
        ax.annotate(f"{int(n)} cams", (xi, yi), textcoords="offset points", xytext=(0, 7), ha="center", fontsize=8)
    chosen = coverage.settings.budget_cost if coverage.settings.budget_cost is not None else coverage.settings.budget_count
    if chosen is not None:
        ax.axvline(float(chosen), color="#b22222", linewidth=1, linestyle="-.", label=f"planned budget ({chosen:g})")
    unit = str(curve["budget_unit"].iloc[0]) if "budget_unit" in curve else "budget"
    ax.set_xlabel(f"budget ({'cost units' if unit == 'cost' else 'cameras'})")
    ax.set_ylabel("risk-weighted coverage (%)")
    ax.set_ylim(0, 100)
    _style(ax)
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    fig.tight_layout()
    return fig


def dosage_table(patrol: Any) -> pd.DataFrame:
    """Per district and window: visits served ÷ required (district visits and hotspot visits inside it)."""
    req = patrol.requirements
    if not len(req):
        return pd.DataFrame(columns=["district", "window", "required", "served", "met_share"])
    req = req.copy()
    req["district"] = None
    is_d = req["kind"] == "district"
    req.loc[is_d, "district"] = req.loc[is_d, "place_id"].astype(str).str.removeprefix("district:")
    if "district" in patrol.hotspots and len(patrol.hotspots):
        where = patrol.hotspots.set_index(patrol.hotspots["hotspot_id"].astype(str))["district"]
        hot = req["kind"] == "hotspot"
        req.loc[hot, "district"] = req.loc[hot, "place_id"].astype(str).map(where)
    if not req["district"].notna().any() and "beat" in patrol.hotspots and len(patrol.hotspots):
        # no key districts: show the beats instead
        names = dict(zip(patrol.beats.beats["beat"], patrol.beats.beats.get("name", patrol.beats.beats["beat"]), strict=True))
        where = patrol.hotspots.set_index(patrol.hotspots["hotspot_id"].astype(str))["beat"].map(names)
        hot = req["kind"] == "hotspot"
        req.loc[hot, "district"] = req.loc[hot, "place_id"].astype(str).map(where)
        by = "beat"
    else:
        by = "district"
    req = req[req["district"].notna()]
    out = req.groupby(["district", "window"], sort=False)[["required", "served"]].sum().reset_index()
    out["met_share"] = np.where(out["required"] > 0, out["served"] / out["required"].where(out["required"] > 0, 1), np.nan)
    out = out.rename(columns={"district": by})
    out.attrs["by"] = by
    return out


def chart_dosage(table: pd.DataFrame, windows: list[str]) -> Figure | None:
    if not len(table):
        return None
    by = table.attrs.get("by", "district")
    districts = list(dict.fromkeys(table[by]))
    wins = [w for w in windows if w in set(table["window"])]
    grid = np.full((len(districts), len(wins)), np.nan)
    text = [["" for _ in wins] for _ in districts]
    for r in table.rename(columns={by: "area"}).itertuples(index=False):
        if r.window in wins:
            i, j = districts.index(r.area), wins.index(r.window)
            grid[i, j] = r.met_share
            text[i][j] = f"{int(r.served)}/{int(r.required)}"
    fig = Figure(figsize=(7.5, 0.45 * len(districts) + 1.6))
    ax = fig.add_subplot()
    im = ax.imshow(grid * 100, cmap="RdYlGn", vmin=0, vmax=100, aspect="auto")
    for i in range(len(districts)):
        for j in range(len(wins)):
            if text[i][j]:
                ax.text(j, i, text[i][j], ha="center", va="center", fontsize=8,
                        color="black", parse_math=False, bbox={"facecolor": "white", "alpha": 0.6, "pad": 1, "linewidth": 0})  # fmt: skip
    ax.set_xticks(range(len(wins)), [_mpl(w) for w in wins], fontsize=8)
    ax.set_yticks(range(len(districts)), [_mpl(d) for d in districts], fontsize=8)
    fig.colorbar(im, ax=ax, label="visits served (% of required)", shrink=0.9)
    fig.tight_layout()
    return fig


def chart_workload(patrol: Any, windows: list[str]) -> Figure | None:
    wl = patrol.workload()
    if not len(wl):
        return None
    teams = list(dict.fromkeys(wl["team"]))
    fig = Figure(figsize=(7.5, 0.38 * len(teams) + 1.6))
    ax = fig.add_subplot()
    left = np.zeros(len(teams))
    wins = [w for w in windows if w in set(wl["window"])]
    cmap = __import__("matplotlib").colormaps["tab10"]
    for k, w in enumerate(wins):
        sub = wl[wl["window"] == w].set_index("team")
        hours = np.array([float(sub["busy_min"].get(t, 0.0)) / 60 for t in teams])
        ax.barh(range(len(teams)), hours, left=left, color=cmap(k % 10), edgecolor="black", linewidth=0.5,
                hatch=WINDOW_HATCHES[k % len(WINDOW_HATCHES)], label=_mpl(w))  # fmt: skip
        left += hours
    shift = wl.groupby("team", sort=False)["shift_min"].sum().reindex(teams).to_numpy(dtype=float) / 60
    ax.scatter(shift, range(len(teams)), marker="|", s=260, color="black", label="shift hours", zorder=5)
    ax.set_yticks(range(len(teams)), [_mpl(t) for t in teams], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("busy hours (travel + visits) over all windows")
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


def chart_risk_by_window(risk: RiskSurface) -> Figure:
    names = risk.window_names
    t = risk.table.merge(risk.segments[["length_m"]], left_on="segment_id", right_index=True)
    fig = Figure(figsize=(9, 3.6))
    a1, a2 = fig.subplots(1, 2)
    total = t.groupby("window")["risk"].sum().reindex(names).fillna(0)
    hot = t[t["hotspot"]].groupby("window")["length_m"].sum().reindex(names).fillna(0) / 1000
    a1.bar(range(len(names)), total.to_numpy(), color="#5b6f8a", edgecolor="black", linewidth=0.5)
    a1.set_xticks(range(len(names)), [_mpl(n) for n in names], rotation=30, ha="right", fontsize=8)
    a1.set_ylabel("expected weighted incidents")
    a1.set_title("risk per window", fontsize=10)
    for i, (v, h) in enumerate(zip(total.to_numpy(), hot.to_numpy(), strict=True)):
        a1.annotate(f"{h:.1f} km hot", (i, v), textcoords="offset points", xytext=(0, 3), ha="center", fontsize=7)
    _style(a1)
    km = t.groupby(["window", "level"])["length_m"].sum().unstack(fill_value=0).reindex(names).fillna(0) / 1000
    bottom = np.zeros(len(names))
    for lv in LEVELS:
        v = km[lv].to_numpy() if lv in km else np.zeros(len(names))
        a2.bar(range(len(names)), v, bottom=bottom, color=LEVEL_COLOURS[lv], edgecolor="black", linewidth=0.5,
               hatch=LEVEL_HATCH[lv], label=lv)  # fmt: skip
        bottom += v
    a2.set_xticks(range(len(names)), [_mpl(n) for n in names], rotation=30, ha="right", fontsize=8)
    a2.set_ylabel("street km")
    a2.set_title("street km by risk level", fontsize=10)
    a2.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _style(a2)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- sections
def _scenario_section(scenario: Scenario, manifest: dict[str, Any]) -> str:
    rows = [
        ("scenario", manifest.get("scenario")), ("description", scenario.description or None),
        ("scenario SHA-256", manifest.get("scenario_sha256")), ("seed", manifest.get("seed")),
        ("geoengine", manifest.get("geoengine_version")), ("python", manifest.get("python")),
        ("solver time limit", f"{scenario.solver.time_limit_s:g} s"),
        ("cameras planned", "yes" if scenario.cameras is not None else "no"),
        ("patrol planned", "yes" if scenario.patrol is not None else "no"),
    ]  # fmt: skip
    out = [_table(rows, ["setting", "value"], keys=["", ""])]
    out.append("<h3>Time windows</h3>")
    out.append(_table(((w.name, w.start, w.end, _days_label(w.days)) for w in scenario.windows), ["window", "start", "end", "days"]))
    inputs = manifest.get("inputs") or {}
    if inputs:
        out.append("<h3>Input files</h3>")
        out.append(
            _table(((k, v.get("path"), v.get("rows"), (v.get("sha256") or "")[:16] + "…") for k, v in inputs.items()),
                   ["input", "path", "rows", "SHA-256 (start)"])  # fmt: skip
        )
    text = None
    if scenario.path is not None and Path(scenario.path).is_file():
        text = Path(scenario.path).read_text(encoding="utf-8", errors="replace")
    else:
        text = scenario.model_dump_json(indent=2)
    out.append(f"<details><summary>Scenario file</summary><pre>{_e(text)}</pre></details>")
    return "\n".join(out)


def _metrics_section(manifest: dict[str, Any]) -> str:
    m = manifest.get("metrics") or {}
    out = []
    for block in ("network", "risk", "coverage", "patrol", "evaluation"):
        if block in m:
            out.append(f"<h3>{_e(block)}</h3>")
            out.append(_metric_table(block, m[block]))
    layers = m.get("layers") or {}
    if layers:
        out.append("<h3>layers</h3>")
        out.append(
            _table(
                ((k, b.get("rows_read"), b.get("rows_used"), b.get("rows_dropped"),
                  ", ".join(f"{r}: {n}" for r, n in (b.get("drop_reasons") or {}).items()) or None,
                  "SYNTHETIC" if b.get("synthetic") else "real") for k, b in layers.items()),
                ["layer", "rows read", "rows used", "rows dropped", "why dropped", "data"],
            )
        )  # fmt: skip
    timings = manifest.get("timings_s") or {}
    if timings:
        out.append("<h3>timings</h3>")
        out.append(_table(((k, timings.get(k)) for k in TIMING_KEYS), ["stage", "seconds"], keys=["", "x"]))
    return "\n".join(out)


def _metric_table(name: str, block: dict[str, Any]) -> str:
    keys = list(METRIC_KEYS.get(name, ()))
    extra = [k for k, v in block.items() if k not in keys and (v is None or isinstance(v, (int, float, str, bool, list)))]
    extra = [k for k, v in ((k, block[k]) for k in extra) if not isinstance(v, list) or all(not isinstance(x, dict) for x in v)]
    head = "<th>metric</th><th>value</th><th>meaning</th>"
    body = []
    for k in keys + extra:
        v = block.get(k)
        body.append(f"<tr><td>{_e(k)}</td>{_cell(v, k, null='not computed' if v is None else 'none')}<td class='muted'>{_e(METRIC_HELP.get(name, {}).get(k, ''))}</td></tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _risk_tables(risk: RiskSurface, metrics: dict[str, Any], district_risk: pd.DataFrame | None) -> str:
    out = []
    levels = risk.level_counts()
    out.append("<h3>Street segments by risk level and window</h3>")
    out.append(_table(([w, *(c[lv] for lv in LEVELS), metrics.get("pai_5pct_by_window", {}).get(w),
                        metrics.get("baseline_pai_5pct_by_window", {}).get(w)] for w, c in levels.items()),
                      ["window", *LEVELS, "PAI 5 %", "baseline PAI 5 %"]))  # fmt: skip
    pai = metrics.get("pai") or {}
    if pai:
        out.append("<h3>Held-out accuracy (PAI: higher is better; baseline = last period's counts)</h3>")
        out.append(_table(((k.replace("pct", " %"), v.get("risk"), v.get("baseline")) for k, v in pai.items()),
                          ["street length share", "PAI risk surface", "PAI baseline"]))  # fmt: skip
    if district_risk is not None and len(district_risk):
        out.append("<h3>Risk by district and window</h3>")
        out.append(_frame_table(district_risk))
    return "\n".join(out)


def _coverage_tables(coverage: CoveragePlan, metrics: dict[str, Any]) -> str:
    out = []
    by_level = metrics.get("by_level") or {}
    if by_level:
        out.append("<h3>Risk-weighted coverage by risk level</h3>")
        out.append(_table(((k, v.get("existing"), v.get("with_new")) for k, v in by_level.items()),
                          ["level", "existing", "with new"], keys=["", "covered_share", "covered_share"]))  # fmt: skip
    by_district = metrics.get("by_district") or {}
    if by_district:
        out.append("<h3>Risk-weighted coverage by district</h3>")
        out.append(_table(((k, v.get("existing"), v.get("with_new")) for k, v in by_district.items()),
                          ["district", "existing", "with new"], keys=["", "covered_share", "covered_share"]))  # fmt: skip
    if len(coverage.curve):
        out.append("<h3>Coverage against budget</h3>")
        out.append(_frame_table(coverage.curve))
    new = coverage.cameras_new
    if len(new):
        out.append(f"<h3>New cameras ({len(new)})</h3>")
        out.append(_frame_table(pd.DataFrame(new.drop(columns="geometry")),
                                columns=["site_id", "model", "heading_deg", "fov_deg", "range_m", "cost", "added_share", "reason"]))  # fmt: skip
    return "\n".join(out)


def _patrol_tables(patrol: Any, dosage: pd.DataFrame) -> str:
    out = []
    routing = {w: r for w, r in patrol.results.items()}
    if routing:
        out.append("<h3>Routing per window</h3>")
        out.append(_table(((w, r.status, r.objective, r.solve_s) for w, r in routing.items()),
                          ["window", "status", "objective", "solve time"], keys=["", "", "", "solve_s"]))  # fmt: skip
    wl = patrol.workload()
    if len(wl):
        out.append("<h3>Workload per team and window</h3>")
        out.append(_frame_table(wl.assign(utilisation_share=wl["utilisation"]).drop(columns="utilisation")))
    if len(dosage):
        out.append(f"<h3>Dosage per {_e(dosage.attrs.get('by', 'district'))} and window (visits served ÷ required)</h3>")
        out.append(_frame_table(dosage))
    for name in ("checkpoints", "booths"):
        posts = getattr(patrol, name)
        if posts is not None and len(posts.sites):
            out.append(f"<h3>{_e(name.capitalize())} ({len(posts.sites)})</h3>")
            out.append(_frame_table(pd.DataFrame(posts.sites.drop(columns="geometry")), columns=["post_id", "name", "score", "reason"]))
    beats = patrol.beats.beats
    if len(beats):
        out.append(f"<h3>Beats ({len(beats)})</h3>")
        out.append(_frame_table(pd.DataFrame(beats.drop(columns="geometry")),
                                columns=["beat", "name", "workload", "street_km", "risk", "area_km2", "compactness"]))  # fmt: skip
    if len(patrol.dropped):
        out.append(f"<h3>Dropped visits ({len(patrol.dropped)})</h3>")
        summary = patrol.dropped.groupby(["window", "reason"], sort=False).size().reset_index(name="visits")
        out.append(_frame_table(summary))
        out.append("<details><summary>Every dropped visit</summary>" + _frame_table(patrol.dropped, max_rows=1000) + "</details>")
    return "\n".join(out)


# --------------------------------------------------------------------------- page
def report_html(
    *,
    scenario: Scenario,
    manifest: dict[str, Any],
    layers: Layers | None = None,
    risk: RiskSurface | None = None,
    coverage: CoveragePlan | None = None,
    patrol: Any = None,
    district_risk: pd.DataFrame | None = None,
    generated: dt.datetime | None = None,
) -> str:
    """The report page as one self-contained HTML string (see the module docstring)."""
    metrics = manifest.get("metrics") or {}
    generated = generated or dt.datetime.now().replace(microsecond=0)
    synthetic = [k for k, b in (metrics.get("layers") or {}).items() if b.get("synthetic")]
    parts: list[str] = []
    add = parts.append
    add(f"<h1>Planning report: {_e(scenario.name)}</h1>")
    add(f"<p class='sub'>{_e(scenario.description)}{' · ' if scenario.description else ''}generated {_e(generated.isoformat(sep=' '))}"
        f" · geoengine {_e(manifest.get('geoengine_version'))}</p>")  # fmt: skip
    if synthetic:
        add(f"<p class='warn'><b>Synthetic data:</b> {_e(', '.join(synthetic))} — not real records.</p>")

    warnings = manifest.get("warnings") or []
    add(f"<h2 id='warnings'>Warnings ({len(warnings)})</h2>")
    if warnings:
        add("<ul class='warn'>" + "".join(f"<li>{_e(w)}</li>" for w in warnings) + "</ul>")
    else:
        add("<p class='ok'>The run raised no warnings.</p>")

    add("<h2 id='scenario'>Scenario</h2>")
    add(_scenario_section(scenario, manifest))

    add("<h2 id='metrics'>Metrics (manifest, SPEC §4.1)</h2>")
    add("<p class='muted'>Shares are fractions shown as %; <i>not computed</i> means the run did not compute the metric "
        "(JSON null in manifest.json).</p>")  # fmt: skip
    add(_metrics_section(manifest))

    add("<h2 id='charts'>Charts</h2>")
    charts: list[tuple[str, Callable[[], Figure | None]]] = []
    window_names = [w.name for w in scenario.windows]
    if coverage is not None:
        charts.append(("Coverage against budget: share of risk-weighted demand seen by all cameras when the plan may "
                       "spend each budget; the dotted line is the solver's upper bound.",
                       lambda: chart_coverage_curve(coverage, metrics.get("coverage") or {})))  # fmt: skip
    dosage = dosage_table(patrol) if patrol is not None else pd.DataFrame()
    if patrol is not None:
        by = dosage.attrs.get("by", "district")
        charts.append((f"Patrol dosage per {by} and window: visits served ÷ visits required "
                       + ("(district visits and hotspot visits inside the district)." if by == "district" else
                          "(hotspot visits; the scenario has no key districts)."),
                       lambda: chart_dosage(dosage, window_names)))  # fmt: skip
        charts.append(("Workload per team: busy hours (travel and visits) per window, stacked; the bar mark is the "
                       "team's total shift hours.", lambda: chart_workload(patrol, window_names)))  # fmt: skip
    if risk is not None:
        charts.append(("Risk by window: expected weighted incidents (label: km of significant hotspot streets) and "
                       "street km by risk level.", lambda: chart_risk_by_window(risk)))  # fmt: skip
    shown = 0
    for i, (caption, make) in enumerate(charts):
        fig = make()
        if fig is not None:
            add(_figure(caption, fig, salt=f"geoengine-report-{i}"))
            shown += 1
    if not shown:
        add("<p class='muted'>No chart: the run estimated no risk and planned no cameras or patrols.</p>")

    if risk is not None:
        add("<h2 id='risk'>Risk</h2>")
        add(_risk_tables(risk, metrics.get("risk") or {}, district_risk))
    if coverage is not None:
        add("<h2 id='cameras'>Cameras</h2>")
        add(_coverage_tables(coverage, metrics.get("coverage") or {}))
    if patrol is not None:
        add("<h2 id='patrol'>Patrol</h2>")
        add(_patrol_tables(patrol, dosage))

    outputs = manifest.get("outputs") or {}
    if outputs:
        add("<h2 id='outputs'>Files of this run</h2>")
        add(_table(((k, v) for k, v in outputs.items()), ["output", "file"]))
    add("<p class='muted'>Streets, buildings and points of interest © OpenStreetMap contributors (ODbL).</p>")

    title = f"geoengine report: {scenario.name}"
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body><main>\n"
        + "\n".join(parts)
        + "\n</main></body></html>\n"
    )


def write_report(path: str | Path, **kwargs: Any) -> Path:
    """Write :func:`report_html` to ``path`` (atomically)."""
    return write_text_atomic(Path(path), report_html(**kwargs))
