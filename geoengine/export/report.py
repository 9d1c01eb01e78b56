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
from ..risk import LEVEL_COLOURS, LEVELS
from ..timefmt import days_label
from .manifest import METRIC_KEYS, TIMING_KEYS

if TYPE_CHECKING:
    from ..coverage.plan import CoveragePlan
    from ..layers import Layers
    from ..risk import RiskSurface
    from ..scenario import Scenario

__all__ = ["report_html", "write_report"]

LEVEL_HATCH = {"red": "xxx", "orange": "///", "yellow": "...", "blue": "", "no data": "\\\\\\"}  # no data: grey, hatched
WINDOW_HATCHES = ("", "///", "...", "xxx", "\\\\\\", "++", "oo", "--")

# What each contract metric means, shown next to it (SPEC §4.1).
METRIC_HELP: dict[str, dict[str, str]] = {
    "network": {
        "nodes": "street intersections and ends",
        "edges": "directed street edges",
        "street_km": "length of the streets",
        "dropped_nodes": "nodes outside the largest connected part",
    },
    "risk": {
        "windows": "time windows planned for",
        "hotspot_segments": "segments that are a significant hotspot (Gi*, FDR) in a window",
        "pai_5pct": "prediction accuracy index: share of held-out incidents on the riskiest 5 % of street length ÷ 5 %",
    },
    "coverage": {
        "cameras_existing": "cameras already there",
        "cameras_new": "cameras the plan adds",
        "demand_points": "points along streets and at key sites to be seen",
        "covered_weight_share": "risk-weighted share of demand seen, with the new cameras",
        "covered_weight_share_existing": "the same with existing cameras only",
        "objective": "demand weight the cameras see (the solver's objective: street and key-site demand points, "
        "each weighted by its risk; its share of all demand is covered_weight_share)",
        "bound": "the most demand weight any plan within the budget could see (upper bound on the objective)",
        "gap": "(bound − objective) ÷ bound",
        "status": "solver status",
        "solve_s": "solve time",
    },
    "patrol": {
        "teams": "patrol teams",
        "beats": "patrol beats",
        "checkpoints": "checkpoints chosen",
        "booths": "booths chosen",
        "visits_planned": "stops at hotspots, districts and posts",
        "visits_dropped": "visits no team could make",
        "dosage_met_share": "hotspot-windows that get their required visits",
        "max_revisit_gap_min": "longest time between visits to a place in its window",
        "workload_cv": "spread of busy time between teams (std ÷ mean)",
        "time_window_violations": "stops outside their window or shift",
        "dosage_bound": "the most dosage any plan could reach with this force (upper bound)",
        "capacity": "per window: team-minutes, minutes asked, hotspots, the most that can be met",
        "dropped_reasons": "dropped visits (and hotspots cut) by cause",
        "hotspots_cut": "hotspot-windows left out by max_hotspots_per_window",
        "idle_share": "share of the teams' shift time spent idle",
        "cross_beat_visits": "visits made outside the team's allocated beats",
    },
    "evaluation": {
        "heldout_incidents": "incidents after the split date, used to score the plan",
        "in_camera_view_share": "held-out incidents seen by a camera",
        "within_response_share": "held-out incidents reached within the response time",
        "response_minutes": "response time used",
        "pai_5pct": "as in risk",
    },
}

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
td.hi{background:#ffe0cc;font-weight:bold}.lead{font-size:15px;margin:6px 0 10px}
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
        if (
            key.endswith("share")
            or key in ("gap", "dosage_bound")
            or key.endswith("_share_existing")
            or key.startswith("covered_share")
        ):
            return f"{v:.1%}"
        if key.endswith("_s"):
            return f"{v:.2f} s" if abs(v) < 100 else f"{v:,.0f} s"
        return f"{v:,.3g}" if abs(v) < 1000 else f"{float(f'{v:.4g}'):,.0f}"  # at most 4 significant digits
    if isinstance(value, (list, tuple)):
        return _e(", ".join(str(v) for v in value))
    if isinstance(value, dict):
        if all(not isinstance(v, dict) for v in value.values()):
            return _e(", ".join(f"{k}: {v}" for k, v in value.items()))
        return _e("per window: see Patrol, Dosage reached, below")
    return _e(value)


def _cell(value: object, key: str = "", *, null: str = "—") -> str:
    if _is_null(value) or (isinstance(value, (list, tuple, str, dict)) and len(value) == 0):
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
                ax.text(
                    j,
                    i,
                    text[i][j],
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="black",
                    parse_math=False,
                    bbox={"facecolor": "white", "alpha": 0.6, "pad": 1, "linewidth": 0},
                )
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
        ax.barh(
            range(len(teams)),
            hours,
            left=left,
            color=cmap(k % 10),
            edgecolor="black",
            linewidth=0.5,
            hatch=WINDOW_HATCHES[k % len(WINDOW_HATCHES)],
            label=_mpl(w),
        )
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
        a2.bar(
            range(len(names)),
            v,
            bottom=bottom,
            color=LEVEL_COLOURS[lv],
            edgecolor="black",
            linewidth=0.5,
            hatch=LEVEL_HATCH[lv],
            label=lv,
        )
        bottom += v
    a2.set_xticks(range(len(names)), [_mpl(n) for n in names], rotation=30, ha="right", fontsize=8)
    a2.set_ylabel("street km")
    a2.set_title("street km by risk level", fontsize=10)
    a2.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _style(a2)
    fig.tight_layout()
    return fig


BACKTEST_METHODS: dict[str, tuple[str, str]] = {
    "risk": ("model", "#5b6f8a"),
    "kde": ("KDE alone", "#bdbdbd"),
    "counts": ("counts (training period)", "#fd8d3c"),
    "baseline": ("counts (last period)", "#fecc5c"),
}


def chart_backtest(metrics: dict[str, Any]) -> Figure | None:
    """PAI and PEI at 1 / 5 / 10 % of street length for the model and the baselines."""
    pai, pei = metrics.get("pai") or {}, metrics.get("pei") or {}
    if not pai:
        return None
    shares = list(pai)
    methods = [m for m in BACKTEST_METHODS if any(pai[k].get(m) is not None for k in shares)]
    panels = [("PAI (higher is better)", pai)] + ([("PEI (1 = the best any ranking reaches)", pei)] if pei else [])
    fig = Figure(figsize=(4.2 * len(panels), 2.8))
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    width = 0.8 / max(len(methods), 1)
    for ax, (title, block) in zip(axes, panels, strict=True):
        for j, m in enumerate(methods):
            values = [block.get(k, {}).get(m) for k in shares]
            ax.bar(
                np.arange(len(shares)) + (j - (len(methods) - 1) / 2) * width,
                [np.nan if v is None else v for v in values],
                width,
                label=BACKTEST_METHODS[m][0],
                color=BACKTEST_METHODS[m][1],
                edgecolor="black",
                linewidth=0.5,
            )
        ax.set_xticks(range(len(shares)), [k.replace("pct", " %") for k in shares], fontsize=8)
        ax.set_xlabel("share of street length", fontsize=8)
        ax.set_title(title, fontsize=9)
        _style(ax)
    axes[-1].legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig


def backtest_sentences(metrics: dict[str, Any]) -> list[str]:
    """Plain sentences: where counts beat the model (or the model beats them), coverage by coverage."""
    out = []
    for key, v in (metrics.get("pai") or {}).items():
        model = v.get("risk")
        ref = "counts" if v.get("counts") is not None else "baseline"
        other = v.get(ref)
        if model is None or other is None:
            continue
        label = "training-period counts per metre" if ref == "counts" else "last period's counts per metre"
        share = key.replace("pct", " %")
        if other > model:
            out.append(f"At {share} of street length {label} beat the model: PAI {other:.2f} against {model:.2f}.")
        else:
            out.append(f"At {share} of street length the model reaches PAI {model:.2f} against {other:.2f} for {label}.")
    harm = (metrics.get("pai_harm") or {}).get("5pct") or {}
    if harm.get("risk") is not None and harm.get("baseline") is not None:
        out.append(
            f"Weighted by harm (what the surface ranks), at 5 % the model reaches PAI {harm['risk']:.2f} against "
            f"{harm['baseline']:.2f} for last period's harm per metre"
            + (f" (the best any ranking reaches: {harm['oracle']:.2f})." if harm.get("oracle") else ".")
        )
    scored = metrics.get("scored") or {}
    set_aside = {k: v for k, v in (scored.get("not_scored") or {}).items() if v}
    if set_aside:
        what = {"non_crime": "non-crime records", "stacked": "at a stacked coordinate (a station's address: place unknown)"}
        out.append(
            f"Scored on {scored.get('heldout_scored', 0):,} of {scored.get('heldout_given', 0):,} held-out incidents; "
            + ", ".join(f"{v:,} {what.get(k, k)}" for k, v in set_aside.items())
            + " set aside."
        )
    return out


def _backtest_section(risk: RiskSurface, metrics: dict[str, Any]) -> str:
    out = []
    model = getattr(risk, "model", None)
    if model is not None:
        out.append(f"<p>Risk model: {_e(model.describe())}.</p>")
    pai = metrics.get("pai") or {}
    if not pai:
        return "\n".join(out)
    out.append("<h3>Held-out accuracy (backtest)</h3>")
    fig = chart_backtest(metrics)
    if fig is not None:
        out.append(_figure("PAI and PEI on the held-out incidents at 1, 5 and 10 % of street length", fig, salt="backtest"))
    sentences = backtest_sentences(metrics)
    if sentences:
        out.append("<p>" + " ".join(_e(x) for x in sentences) + "</p>")
    pei = metrics.get("pei") or {}
    methods = [m for m in BACKTEST_METHODS if any(v.get(m) is not None for v in pai.values())]
    rows = [
        [k.replace("pct", " %"), *(pai[k].get(m) for m in methods), *((pei.get(k) or {}).get(m) for m in methods if pei)]
        for k in pai
    ]
    header = ["street length share", *(f"PAI {BACKTEST_METHODS[m][0]}" for m in methods)]
    header += [f"PEI {BACKTEST_METHODS[m][0]}" for m in methods] if pei else []
    out.append(_table(rows, header))
    return "\n".join(out)


# --------------------------------------------------------------------------- sections
def _scenario_section(scenario: Scenario, manifest: dict[str, Any]) -> str:
    rows = [
        ("scenario", manifest.get("scenario")),
        ("description", scenario.description or None),
        ("scenario SHA-256", manifest.get("scenario_sha256")),
        ("seed", manifest.get("seed")),
        ("geoengine", manifest.get("geoengine_version")),
        ("python", manifest.get("python")),
        ("solver time limit", f"{scenario.solver.time_limit_s:g} s"),
        ("cameras planned", "yes" if scenario.cameras is not None else "no"),
        ("patrol planned", "yes" if scenario.patrol is not None else "no"),
    ]
    out = [_table(rows, ["setting", "value"], keys=["", ""])]
    out.append("<h3>Time windows</h3>")
    out.append(
        _table(((w.name, w.start, w.end, days_label(w.days)) for w in scenario.windows), ["window", "start", "end", "days"])
    )
    inputs = manifest.get("inputs") or {}
    if inputs:
        out.append("<h3>Input files</h3>")
        out.append(
            _table(
                ((k, v.get("path"), v.get("rows"), (v.get("sha256") or "")[:16] + "…") for k, v in inputs.items()),
                ["input", "path", "rows", "SHA-256 (start)"],
            )
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
                (
                    (
                        k,
                        b.get("rows_read"),
                        b.get("rows_used"),
                        b.get("rows_dropped"),
                        ", ".join(f"{r}: {n}" for r, n in (b.get("drop_reasons") or {}).items()) or None,
                        "SYNTHETIC" if b.get("synthetic") else "real",
                    )
                    for k, b in layers.items()
                ),
                ["layer", "rows read", "rows used", "rows dropped", "why dropped", "data"],
            )
        )
    timings = manifest.get("timings_s") or {}
    if timings:
        # the report is written during the export stage: its own time and the total are only in manifest.json
        done = [k for k in TIMING_KEYS if k not in ("export", "total") and timings.get(k) is not None]
        out.append("<h3>timings</h3>")
        out.append(_table(((k, f"{float(timings[k]):.1f} s") for k in done), ["stage", "time"], keys=["", ""]))
        out.append(
            "<p class='muted'>The export (this report, the maps and files) and the total time are in "
            "manifest.json, written last.</p>"
        )
    return "\n".join(out)


def _metric_table(name: str, block: dict[str, Any]) -> str:
    keys = list(METRIC_KEYS.get(name, ()))
    extra = [k for k, v in block.items() if k not in keys and (v is None or isinstance(v, (int, float, str, bool, list)))]
    extra = [k for k, v in ((k, block[k]) for k in extra) if not isinstance(v, list) or all(not isinstance(x, dict) for x in v)]
    extra += [
        k
        for k, v in block.items()
        if k not in keys
        and isinstance(v, dict)
        and v
        and k in METRIC_HELP.get(name, {})
        and all(not isinstance(x, (dict, list)) for x in v.values())
    ]
    head = "<th>metric</th><th>value</th><th>meaning</th>"
    body = []
    for k in keys + extra:
        v = block.get(k)
        body.append(
            f"<tr><td>{_e(k)}</td>{_cell(v, k, null='not computed' if v is None else 'none')}<td class='muted'>{_e(METRIC_HELP.get(name, {}).get(k, ''))}</td></tr>"
        )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _key_figures(manifest: dict[str, Any]) -> str:
    """The run in a few plain lines (the briefing's key figures): what was planned and what could not be."""
    from .briefing import briefing_facts

    facts, notes = briefing_facts(manifest)
    if not facts and not notes:
        return "<p class='muted'>The run computed no figures.</p>"
    sub = " class='muted' style='list-style:none'"
    items = "".join(f"<li{sub if f.startswith('  ') else ''}>{_e(f.strip())}</li>" for f in facts)
    out = f"<ul class='lead'>{items}</ul>"
    if notes:
        out += "<p class='warn'>" + "<br>".join(_e(n) for n in notes) + "</p>"
    return out


def _risk_tables(risk: RiskSurface, metrics: dict[str, Any], district_risk: pd.DataFrame | None) -> str:
    from ._units import RISK_EXPLAINED, RISK_PER_KM

    out = [
        f"<p>Risk is in <b>{_e(RISK_PER_KM)}</b>: {_e(RISK_EXPLAINED)}; streets are graded "
        "red, orange, yellow and blue by it within each time window.</p>"
    ]
    levels = risk.level_counts()
    out.append("<h3>Street segments by risk level and window</h3>")
    out.append(
        _table(
            (
                [
                    w,
                    *(c[lv] for lv in LEVELS),
                    metrics.get("pai_5pct_by_window", {}).get(w),
                    metrics.get("baseline_pai_5pct_by_window", {}).get(w),
                ]
                for w, c in levels.items()
            ),
            ["window", *LEVELS, "PAI 5 %", "baseline PAI 5 %"],
        )
    )
    out.append(_backtest_section(risk, metrics))
    if district_risk is not None and len(district_risk):
        out.append("<h3>Risk by district and window</h3>")
        out.append(_frame_table(district_risk))
    return "\n".join(out)


def _coverage_tables(coverage: CoveragePlan, metrics: dict[str, Any]) -> str:
    out = []
    by_level = metrics.get("by_level") or {}
    if by_level:
        out.append("<h3>Risk-weighted coverage by risk level</h3>")
        out.append(
            _table(
                ((k, v.get("existing"), v.get("with_new")) for k, v in by_level.items()),
                ["level", "existing", "with new"],
                keys=["", "covered_share", "covered_share"],
            )
        )
    by_district = metrics.get("by_district") or {}
    if by_district:
        out.append("<h3>Risk-weighted coverage by district</h3>")
        out.append(
            _table(
                ((k, v.get("existing"), v.get("with_new")) for k, v in by_district.items()),
                ["district", "existing", "with new"],
                keys=["", "covered_share", "covered_share"],
            )
        )
    districts = metrics.get("districts") or []
    if districts:  # the one-network figures per district, before → after (metrics.coverage.districts)
        out.append("<h3>One network by district (before → after)</h3>")
        out.append(_frame_table(pd.DataFrame(districts)))
    if len(coverage.curve):
        out.append("<h3>Coverage against budget</h3>")
        out.append(_frame_table(coverage.curve))
    new = coverage.cameras_new
    if len(new):
        out.append(f"<h3>New cameras ({len(new)})</h3>")
        out.append(
            _frame_table(
                pd.DataFrame(new.drop(columns="geometry")),
                columns=["site_id", "model", "heading_deg", "fov_deg", "range_m", "cost", "added_share", "reason"],
            )
        )
    return "\n".join(out)


CAUSE_WORDS: dict[str, str] = {
    "time_used": "team time used up by other (riskier) visits",
    "no_team_allocated": "no team allocated to its beat",
    "no_team_on_shift": "no team on shift (or all on their break) then",
    "unreachable": "no team can get there and back in time",
    "cut_by_max_hotspots": "not among the max_hotspots_per_window riskiest hotspots",
}
"""Each ``dropped_visits.csv`` cause in plain words (the column headings of the cause table)."""
IDLE_HIGHLIGHT = 0.25
"""A team idle more than this share of its shift is highlighted in the shift table."""


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * float(v):.0f} %"


def _window_order(patrol: Any, manifest_windows: Sequence[str]) -> list[str]:
    names = [w for w in manifest_windows]
    for w in getattr(patrol, "windows", ()) or ():
        if getattr(w, "name", None) not in names:
            names.append(w.name)
    for w in list(patrol.capacity) + list(patrol.teams["window"].unique() if len(patrol.teams) else []):
        if w not in names:
            names.append(w)
    return names


def capacity_table(patrol: Any, windows: Sequence[str] = ()) -> pd.DataFrame:
    """Per window (and overall): teams, team-minutes, minutes the targets ask for, hotspots,
    the dosage met and the most any plan could reach with this force (capacity bound)."""
    req = patrol.requirements
    hot = req[req["kind"] == "hotspot"] if len(req) else pd.DataFrame(columns=["window", "met"])
    teams = patrol.teams.groupby("window").size() if len(patrol.teams) else pd.Series(dtype=int)
    rows = []
    for w in _window_order(patrol, windows):
        cap = patrol.capacity.get(w) or {}
        h = hot[hot["window"] == w]
        if not cap and not len(h):
            continue
        rows.append(
            {
                "window": w,
                "teams": int(teams.get(w, 0)),
                "team_min": cap.get("team_min"),
                "demand_min": cap.get("demand_min"),
                "hotspots": int(cap.get("targets", len(h))),
                "met": int(h["met"].sum()) if len(h) else 0,
                "met_share": float(h["met"].mean()) if len(h) else None,
                "possible": cap.get("targets_possible"),
                "bound": cap.get("dosage_bound"),
            }
        )
    out = pd.DataFrame(
        rows, columns=["window", "teams", "team_min", "demand_min", "hotspots", "met", "met_share", "possible", "bound"]
    )
    if len(out):
        tot_h = int(out["hotspots"].sum())
        possible = pd.to_numeric(out["possible"], errors="coerce")
        out.attrs["overall"] = {
            "window": "all windows",
            "teams": int(patrol.teams["team"].nunique()) if len(patrol.teams) else 0,
            "team_min": float(pd.to_numeric(out["team_min"], errors="coerce").sum()),
            "demand_min": float(pd.to_numeric(out["demand_min"], errors="coerce").sum()),
            "hotspots": tot_h,
            "met": int(out["met"].sum()),
            "met_share": float(hot["met"].mean()) if len(hot) else None,
            "possible": int(possible.sum()) if possible.notna().any() else None,
            "bound": round(float(possible.sum()) / tot_h, 4) if tot_h and possible.notna().any() else None,
        }
    return out


def dosage_sentence(
    name: str, met: float | None, bound: float | None, *, n_met: int | None = None, n: int | None = None, unit: str = "hotspots"
) -> str:
    """One plain sentence: the dosage reached beside the most this force could reach, and what limits it
    (the plan when the bound is above the dosage reached, the force when the bound itself falls short)."""
    if met is None:
        return f"{name}: no hotspot to visit."
    count = f"{n_met} of {n} {unit} ({_pct(met)})" if n is not None and n_met is not None else f"{_pct(met)} of {unit}"
    if n is not None and n_met is not None and n_met == n:
        count = f"all {n} {unit}" if n > 1 else f"the {unit.rstrip('s')}"
    head = f"{name}: {count} get{'s' if n == 1 and n_met == n else ''} all their visits"
    if bound is None:
        return head + " (no capacity bound was computed)."
    short = met < bound - 0.005
    if bound >= 0.995:
        if not short:
            return head + "."
        return (
            head + f"; at most {_pct(bound)} is possible with this force, so the plan, not the force, limits it "
            "(the bound is optimistic: it ignores the order of the visits)."
        )
    if not short:
        return head + f", the most this force can reach (at most {_pct(bound)} is possible): the force is too small for the rest."
    return (
        head + f"; at most {_pct(bound)} is possible with this force: the force is too small for "
        f"{_pct(1 - bound)} of them, and the plan falls {_pct(bound - met)} short of what the force could reach."
    )


def _capacity_section(patrol: Any, windows: Sequence[str]) -> str:
    t = capacity_table(patrol, windows)
    if not len(t):
        return ""
    overall = t.attrs.get("overall")
    out = ["<h3>Dosage reached and the most this force could reach</h3>"]
    if overall:
        out.append(f"<p class='lead'><b>{_e(_overall_sentence(overall))}</b></p>")
    items = []
    for r in t.itertuples():
        line = dosage_sentence(
            str(r.window).capitalize() if str(r.window).islower() else str(r.window),
            r.met_share,
            r.bound,
            n_met=int(r.met),
            n=int(r.hotspots),
        )
        if r.team_min is not None and r.demand_min is not None and float(r.demand_min) > float(r.team_min):
            line += (
                f" The visits ask for {float(r.demand_min):,.0f} minutes, more than the {float(r.team_min):,.0f} "
                "team-minutes on shift: hotspots come first, district visits give way."
            )
        items.append(f"<li>{_e(line)}</li>")
    out.append("<ul>" + "".join(items) + "</ul>")
    rows = [
        [
            r["window"],
            r["teams"],
            _round(r["team_min"]),
            _round(r["demand_min"]),
            r["hotspots"],
            f"{_pct(r['met_share'])} ({r['met']} of {r['hotspots']})",
            "not computed"
            if r["bound"] is None or _is_null(r["bound"])
            else f"{_pct(r['bound'])} ({int(r['possible'])} of {r['hotspots']})",
        ]
        for r in [*t.to_dict(orient="records"), *([overall] if overall else [])]
    ]
    out.append(_table(rows, ["window", "teams", "team-minutes", "minutes asked", "hotspots", "dosage met", "at most possible"]))
    out.append(
        "<p class='muted'>team-minutes: the teams' shift minutes less their breaks; minutes asked: the dwell "
        "of every required visit (hotspots and key districts) plus the quickest way in. <i>At most possible</i> is an upper bound: no plan "
        "with this force meets more hotspots (a hotspot is met when it gets all its visits, on time).</p>"
    )
    return "\n".join(out)


def _overall_sentence(overall: dict[str, Any]) -> str:
    return dosage_sentence(
        "All windows", overall["met_share"], overall["bound"], n_met=overall["met"], n=overall["hotspots"], unit="hotspot-windows"
    )


def _round(v: Any) -> Any:
    return None if v is None or _is_null(v) else int(round(float(v)))


def dropped_by_cause(table: pd.DataFrame, windows: Sequence[str] = ()) -> pd.DataFrame:
    """Dropped visits counted per window (rows) and cause (columns, in :data:`CAUSE_WORDS` order), with totals."""
    if not len(table):
        return pd.DataFrame()
    counts = table.groupby(["window", "cause"], sort=False).size().unstack(fill_value=0)
    causes = [c for c in CAUSE_WORDS if c in counts.columns] + [c for c in counts.columns if c not in CAUSE_WORDS]
    order = [w for w in windows if w in counts.index] + [w for w in counts.index if w not in windows]
    counts = counts.reindex(index=order, columns=causes)
    counts["total"] = counts.sum(axis=1)
    counts.loc["all windows"] = counts.sum(axis=0)
    return counts.astype(int)


def _dropped_section(patrol: Any, windows: Sequence[str]) -> str:
    table = patrol.dropped_table() if hasattr(patrol, "dropped_table") else patrol.dropped
    if not len(table):
        return "<h3>Dropped visits</h3><p class='ok'>Every required visit is in the plan.</p>"
    if "cause" not in table:
        table = table.assign(cause="unknown")
    counts = dropped_by_cause(table, windows)
    routed = int((table["cause"] != "cut_by_max_hotspots").sum())
    cut = int((table["cause"] == "cut_by_max_hotspots").sum())
    out = [
        f"<h3>Dropped visits by cause ({routed} visits the teams could not make"
        + (f", {cut} hotspots left out by max_hotspots_per_window" if cut else "")
        + ")</h3>"
    ]
    head = ["window", *(CAUSE_WORDS.get(c, c) for c in counts.columns if c != "total"), "total"]
    out.append(
        _table(
            ([w, *map(int, r)] for w, r in zip(counts.index, counts.to_numpy(), strict=True)),
            head,
            keys=["", *[""] * (len(head) - 1)],
        )
    )
    out.append(
        "<p class='muted'>Each cause is checked by counterfactual (e.g. <i>team time used</i>: some team could "
        "make the visit, but only by giving up a visit worth at least as much). A hotspot left out by "
        "max_hotspots_per_window counts once per window; the other causes count visits.</p>"
    )
    drops = table[table["cause"] != "cut_by_max_hotspots"]
    if len(drops):
        cols = ["window", "place_id", "visit", "level", "beat", "earliest", "latest", "dwell_min", "cause", "reason"]
        out.append(
            f"<details><summary>Every dropped visit ({len(drops)})</summary>"
            + _frame_table(drops, columns=cols, max_rows=1000)
            + "</details>"
        )
    return "\n".join(out)


def _cut_section(patrol: Any, windows: Sequence[str], *, top: int = 5) -> str:
    cut = getattr(patrol, "cut", None)
    if cut is None or not len(cut):
        return ""
    order = [w for w in windows if w in set(cut["window"])] + [w for w in dict.fromkeys(cut["window"]) if w not in windows]
    rows = []
    for w in order:
        g = cut[cut["window"] == w].sort_values("risk", ascending=False, kind="stable")
        levels = g["level"].value_counts()
        by_level = ", ".join(f"{int(levels[lv])} {lv}" for lv in LEVELS if lv in levels)
        riskiest = "; ".join(
            f"{h.place_id} ({h.level}, risk {float(h.risk):.3g}, beat {_e(_intish(h.beat))})" for h in g.head(top).itertuples()
        )
        rows.append([w, len(g), by_level, riskiest + (" …" if len(g) > top else "")])
    out = [
        f"<h3>Hotspots left out by max_hotspots_per_window ({len(cut)} hotspot-windows)</h3>",
        "<p>Only the riskiest hotspots of each window are given visits; these are not planned at all. "
        "Raise <code>patrol.max_hotspots_per_window</code> where the teams have idle time.</p>",
        _table(rows, ["window", "hotspots left out", "by level", f"the riskiest {top} of them"]),
    ]
    out.append(
        f"<details><summary>Every hotspot left out ({len(cut)})</summary>"
        + _frame_table(cut, columns=["window", "place_id", "level", "risk", "beat", "reason"], max_rows=1000)
        + "</details>"
    )
    return "\n".join(out)


def _intish(v: Any) -> str:
    if _is_null(v) or v is pd.NA:
        return "—"
    try:
        return str(int(v))
    except (TypeError, ValueError):
        return str(v)


def _teams_section(patrol: Any, windows: Sequence[str]) -> str:
    t = patrol.team_summary() if hasattr(patrol, "team_summary") else pd.DataFrame()
    if not len(t):
        return ""
    order = {w: i for i, w in enumerate(_window_order(patrol, windows))}
    t = t.assign(_w=t["window"].map(order)).sort_values(["_w", "team"], kind="stable")
    mins = ["shift_min", "break_min", "travel_min", "dwell_min", "patrol_min", "idle_min"]
    head = [
        "team",
        "mode",
        "window",
        "base",
        "shift",
        "shift min",
        "break min",
        "travel min",
        "dwell min",
        "patrol min",
        "idle min",
        "idle share",
        "visits",
        "note",
    ]
    body = []
    n_hi = 0
    for r in t.to_dict(orient="records"):
        share = float(r["idle_share"] or 0.0)
        hi = share > IDLE_HIGHLIGHT
        n_hi += hi
        note = r.get("shift_note")
        cells = [
            f"<td>{_e(r['team'])}</td>",
            f"<td>{_e(r['mode'])}</td>",
            f"<td>{_e(r['window'])}</td>",
            f"<td>{_e(r['base'])}</td>",
            f"<td style='white-space:nowrap'>{_e(r['shift_start'])}–{_e(r['shift_end'])}</td>",
            *(f"<td class='n'>{int(round(float(r[c] or 0.0))):,}</td>" for c in mins),
            f"<td class='n{' hi' if hi else ''}'>{100 * share:.0f} %</td>",
            f"<td class='n'>{int(r['visits'])}</td>",
            f"<td>{'' if _is_null(note) or not note else _e(note)}</td>",
        ]
        body.append("<tr>" + "".join(cells) + "</tr>")
    out = [
        f"<h3>Shifts per team and window ({len(t)})</h3>",
        "<p class='muted'>Minutes of each shift: break, travel, dwell at hotspots and districts, patrol (travel + dwell) "
        f"and idle; idle share above {IDLE_HIGHLIGHT:.0%} is highlighted"
        + (f" ({n_hi} team-window{'s' if n_hi != 1 else ''})" if n_hi else " (none)")
        + ". teams.csv has the same table.</p>",
        "<table><thead><tr>"
        + "".join(f"<th>{_e(h)}</th>" for h in head)
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table>",
    ]
    return "\n".join(out)


def _checks_section(manifest: dict[str, Any]) -> str:
    """The independent audit of the run folder and whether the plan is reproducible."""
    out = []
    audit = manifest.get("audit")
    if audit:
        checked = audit.get("checked") or {}
        what = ", ".join(f"{int(n):,} {k.replace('_', ' ')}" for k, n in checked.items() if n)
        if audit.get("clean"):
            out.append(
                f"<p class='ok'><b>Audit: clean.</b> The independent checker (<code>geoengine audit</code>) re-read the "
                f"run folder and found no violation{(' (checked: ' + _e(what) + ')') if what else ''}.</p>"
            )
        else:
            n = int(audit.get("violations") or 0)
            out.append(
                f"<div class='warn'><b>Audit: {n:,} violation{'s' if n != 1 else ''}</b> found by the independent "
                "checker (<code>geoengine audit RUN_FOLDER</code> lists them all)."
            )
            by_kind = audit.get("by_kind") or {}
            if by_kind:
                out.append(_table(((k.replace("_", " "), v) for k, v in by_kind.items()), ["kind", "violations"]))
            items = audit.get("items") or []
            if items:
                out.append(
                    "<p>The first ones:</p><ul>"
                    + "".join(
                        f"<li>{_e(it.get('kind', ''))}: {_e(it.get('message', it))}</li>"
                        if isinstance(it, dict)
                        else f"<li>{_e(it)}</li>"
                        for it in items[:8]
                    )
                    + "</ul>"
                )
            out.append("</div>")
        notes = audit.get("notes") or []
        if notes:
            out.append("<p class='muted'>Not checked: " + "; ".join(_e(x) for x in notes) + "</p>")
    else:
        out.append("<p class='muted'>The run was not audited (no patrol plan, or not written to a folder).</p>")
    if "reproducible" in manifest:
        notes = manifest.get("reproducible_notes") or []
        if manifest.get("reproducible"):
            out.append(
                "<p class='ok'><b>Reproducible: yes.</b> Every solver stopped on its deterministic work limit, so the "
                "same scenario and seed give the same plan on any machine.</p>"
            )
        else:
            out.append(
                "<div class='warn'><b>Reproducible: no.</b> A solver was stopped by its wall-clock safety cap, so "
                "a run on another machine (or under other load) may give another plan:<ul>"
                + "".join(f"<li>{_e(x)}</li>" for x in notes)
                + "</ul></div>"
            )
    return "\n".join(out)


def _patrol_tables(patrol: Any, dosage: pd.DataFrame, windows: Sequence[str] = ()) -> str:
    out = []
    out.append(_capacity_section(patrol, windows))
    out.append(_dropped_section(patrol, windows))
    out.append(_cut_section(patrol, windows))
    out.append(_teams_section(patrol, windows))
    routing = {w: r for w, r in patrol.results.items()}
    if routing:
        out.append("<h3>Routing per window</h3>")
        out.append(
            _table(
                ((w, r.status, f"{float(r.solve_s):.1f} s") for w, r in routing.items()),
                ["window", "solver status", "solve time"],
                keys=["", "", ""],
            )
        )
    if len(dosage):
        out.append(f"<h3>Dosage per {_e(dosage.attrs.get('by', 'district'))} and window (visits served ÷ required)</h3>")
        out.append(_frame_table(dosage))
    for name in ("checkpoints", "booths"):
        posts = getattr(patrol, name)
        if posts is not None and len(posts.sites):
            out.append(f"<h3>{_e(name.capitalize())} ({len(posts.sites)})</h3>")
            out.append(
                _frame_table(pd.DataFrame(posts.sites.drop(columns="geometry")), columns=["post_id", "name", "score", "reason"])
            )
    beats = patrol.beats.beats
    if len(beats):
        from ._units import RISK_TOTAL

        out.append(f"<h3>Beats ({len(beats)})</h3>")
        shown = pd.DataFrame(
            {
                "beat": beats["name"],
                "street (km)": beats["street_km"],
                f"risk ({RISK_TOTAL})": beats["risk"],
                "risk per km": beats["risk"] / beats["street_km"].where(beats["street_km"] > 0),
                "area (km²)": beats["area_km2"],
                "compactness (1 = disc)": beats["compactness"],
            }
        )
        out.append(_frame_table(shown))
    tb = getattr(patrol, "team_beats", None)
    if tb is not None and len(tb) and (tb["how"] != "allocated").any():
        out.append("<h3>Teams outside their allocated beats</h3>")
        other = (
            tb[tb["how"] != "allocated"]
            .groupby(["window", "how"], sort=False)
            .agg(teams=("team", lambda s: ", ".join(dict.fromkeys(map(str, s)))), beats=("beat", "nunique"))
            .reset_index()
        )
        out.append(_frame_table(other))
        out.append(
            "<p class='muted'>nearest: a team with no allocated beat patrols the nearest one; cross_beat: a team "
            "crossed into a neighbouring beat (at a penalty) for visits its own teams could not make.</p>"
        )
    return "\n".join(x for x in out if x)


# --------------------------------------------------------------------------- page
def _response_section(block: dict[str, Any], evaluation: dict[str, Any] | None) -> str:
    """Rapid-response circles (metrics.response): one row per tier and window, then the backtest per tier."""
    rows = []
    for name, tier in (block.get("tiers") or {}).items():
        for window, f in (tier.get("windows") or {}).items():
            worst = None if f.get("worst_minute_share") is None else f"{f['worst_minute_share']:.1%} at {f.get('worst_minute')}"
            rows.append(
                (
                    name,
                    f"{tier.get('minutes'):g} min",
                    window,
                    tier.get("demand_points"),
                    f.get("share_within"),
                    worst,
                    f.get("outside_at_worst"),
                    f.get("never_within"),
                    f.get("second_responder_median_min"),
                )
            )
    lead = (
        "<p>Share of each tier's demand reached within its minutes (turnout + travel on the streets) from the nearest "
        "available responder — booths, stations, staffed checkpoints and patrol teams where the plan puts them — "
        f"averaged over the window's minutes (every {_e(block.get('sample_minutes'))} min), and at its worst minute.</p>"
    )
    out = [
        lead,
        _table(
            rows,
            [
                "tier",
                "circle",
                "window",
                "demand points",
                "within (time-averaged)",
                "worst minute",
                "outside then",
                "never within",
                "second responder (median min)",
            ],
            keys=["", "", "", "n", "share", "", "n", "n", "min"],
        ),
    ]
    by_tier = (evaluation or {}).get("within_response_share_by_tier") or {}
    if by_tier:
        out.append(
            "<p>Backtest: held-out incidents of each tier reached within its minutes from the responders at the "
            "incident's minute: "
            + "; ".join(f"{_e(k)} {_pct(v.get('share'))} of {v.get('incidents', 0)}" for k, v in by_tier.items())
            + ".</p>"
        )
    return "\n".join(out)


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
    add(
        f"<p class='sub'>{_e(scenario.description)}{' · ' if scenario.description else ''}generated {_e(generated.isoformat(sep=' '))}"
        f" · geoengine {_e(manifest.get('geoengine_version'))}</p>"
    )
    if synthetic:
        add(f"<p class='warn'><b>Synthetic data:</b> {_e(', '.join(synthetic))} — not real records.</p>")

    add("<h2 id='key-figures'>Key figures</h2>")
    add(_key_figures(manifest))
    warnings = manifest.get("warnings") or []
    add(f"<h2 id='warnings'>Warnings ({len(warnings)})</h2>")
    if warnings:
        add("<ul class='warn'>" + "".join(f"<li>{_e(w)}</li>" for w in warnings) + "</ul>")
    else:
        add("<p class='ok'>The run raised no warnings.</p>")

    if manifest.get("audit") or "reproducible" in manifest:
        add("<h2 id='checks'>Checks: audit and reproducibility</h2>")
        add(_checks_section(manifest))
    if patrol is not None:
        cap = capacity_table(patrol, [w.name for w in scenario.windows]).attrs.get("overall")
        if cap:
            add(f"<p class='lead'><b>Patrol dosage</b> — {_e(_overall_sentence(cap))} <a href='#patrol'>Per window</a></p>")

    add("<h2 id='metrics'>All figures (as in manifest.json)</h2>")
    add(
        "<p class='muted'>Shares are fractions shown as %; <i>not computed</i> means the run did not compute the metric "
        "(JSON null in manifest.json).</p>"
    )
    add(_metrics_section(manifest))

    add("<h2 id='charts'>Charts</h2>")
    charts: list[tuple[str, Callable[[], Figure | None]]] = []
    window_names = [w.name for w in scenario.windows]
    if coverage is not None:
        charts.append(
            (
                "Coverage against budget: share of risk-weighted demand seen by all cameras when the plan may "
                "spend each budget; the dotted line is the solver's upper bound.",
                lambda: chart_coverage_curve(coverage, metrics.get("coverage") or {}),
            )
        )
    dosage = dosage_table(patrol) if patrol is not None else pd.DataFrame()
    if patrol is not None:
        by = dosage.attrs.get("by", "district")
        charts.append(
            (
                f"Patrol dosage per {by} and window: visits served ÷ visits required "
                + (
                    "(district visits and hotspot visits inside the district)."
                    if by == "district"
                    else "(hotspot visits; the scenario has no key districts)."
                ),
                lambda: chart_dosage(dosage, window_names),
            )
        )
        charts.append(
            (
                "Workload per team: busy hours (travel and visits) per window, stacked; the bar mark is the "
                "team's total shift hours.",
                lambda: chart_workload(patrol, window_names),
            )
        )
    if risk is not None:
        charts.append(
            (
                "Risk by window: expected weighted incidents (label: km of significant hotspot streets) and "
                "street km by risk level.",
                lambda: chart_risk_by_window(risk),
            )
        )
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
        add(_patrol_tables(patrol, dosage, window_names))
    if metrics.get("response"):
        add("<h2 id='response'>Response circles</h2>")
        add(_response_section(metrics["response"], metrics.get("evaluation")))

    add("<h2 id='scenario'>Scenario and inputs (provenance)</h2>")
    add(_scenario_section(scenario, manifest))
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
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body><main>\n" + "\n".join(parts) + "\n</main></body></html>\n"
    )


def write_report(path: str | Path, **kwargs: Any) -> Path:
    """Write :func:`report_html` to ``path`` (atomically)."""
    return write_text_atomic(Path(path), report_html(**kwargs))
