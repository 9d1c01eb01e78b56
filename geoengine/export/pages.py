"""The batch's ``summary.html`` and the comparison's ``compare.html``: self-contained pages
rendered from jinja2 templates (``export/templates``) with autoescape on.

No script, no web fonts, no CDN: the pages open from disk on a machine with no internet.
Every string from the input (run names, reasons, parameters) is escaped by the template;
chart text is drawn as paths, so no input string reaches the page as markup.
"""

from __future__ import annotations

import base64
import io
import math
from typing import Any

import pandas as pd

__all__ = ["compare_html", "figure_png_base64", "figure_svg", "summary_html"]

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em} h2{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.85em} th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left}
th{background:#f3f3f3;position:sticky;top:0} tr.failed td{background:#fdecea} tr.skipped td{color:#555}
.charts{display:flex;flex-wrap:wrap;gap:1em} .chart{border:1px solid #ddd;padding:.5em}
.muted{color:#666;font-size:.85em}
"""


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def figure_svg(fig: Any) -> str:
    """A matplotlib figure as inline SVG (text as paths), without the XML prolog."""
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    with plt.rc_context({"svg.fonttype": "path", "svg.hashsalt": "geoengine"}):
        fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def figure_png_base64(fig: Any, *, dpi: int = 110) -> str:
    """A matplotlib figure as a ``data:image/png;base64,…`` URI."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _num(table: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(table[column], errors="coerce") if column in table else pd.Series(float("nan"), index=table.index)


def _charts(table: pd.DataFrame) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    ok = table[table["status"].isin(["complete", "skipped"])] if len(table) else table
    charts: list[tuple[str, str]] = []
    cost, share = _num(ok, "new_camera_cost"), _num(ok, "covered_weight_share")
    m = cost.notna() & share.notna()
    if m.any():
        fig, ax = plt.subplots(figsize=(4.6, 3.2))
        d = pd.DataFrame({"x": cost[m], "y": share[m]})
        ax.scatter(d["x"], d["y"], color="#2c7bb6", alpha=0.6, label="run")
        mean = d.groupby("x")["y"].mean()
        ax.plot(mean.index, mean.to_numpy(), "-", color="#2c7bb6", label="mean per budget")
        ax.set_xlabel("new camera budget used (cost units)")
        ax.set_ylabel("risk-weighted coverage share")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        charts.append(("Coverage vs camera budget", figure_svg(fig)))
    teams, dosage = _num(ok, "teams"), _num(ok, "dosage_met_share")
    m = teams.notna() & dosage.notna()
    if m.any():
        fig, ax = plt.subplots(figsize=(4.6, 3.2))
        ax.scatter(teams[m], dosage[m], color="#d7191c")
        ax.set_xlabel("patrol teams")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # teams come whole
        ax.set_ylabel("hotspot dosage met (share)")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        charts.append(("Dosage met vs number of teams", figure_svg(fig)))
    view, resp = _num(ok, "in_camera_view_share"), _num(ok, "within_response_share")
    m = view.notna() | resp.notna()
    if m.any():
        sub = ok[m]
        n = len(sub)
        fig, ax = plt.subplots(figsize=(5.6, 0.9 + 0.32 * n))
        y = range(n)
        ax.barh([i - 0.2 for i in y], view[m].fillna(0), height=0.4, label="in camera view", color="#2c7bb6")
        ax.barh([i + 0.2 for i in y], resp[m].fillna(0), height=0.4, label="within R min of a patrol", color="#fd8d3c")
        ax.set_yticks(list(y))
        ax.set_yticklabels([str(r)[:48] for r in sub["run"]], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of held-out incidents")
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18 - 0.4 / max(n, 1)), ncol=2, frameon=False)
        charts.append(("Held-out capture per run", figure_svg(fig)))
    return charts


def _render(template: str, **context: Any) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("geoengine.export", "templates"), autoescape=True)
    return env.get_template(template).render(css=CSS, **context)


def summary_html(table: pd.DataFrame, *, title: str = "geoengine batch") -> str:
    """The batch summary page: counts, charts, one row per run."""
    counts = table["status"].value_counts().to_dict() if len(table) else {}
    failed = table[table["status"] == "failed"] if len(table) else table
    cols = [c for c in table.columns if c not in ("run_id",)]
    return _render(
        "summary.html",
        title=title,
        counts=", ".join(f"{v} {k}" for k, v in sorted(counts.items())),
        n_runs=len(table),
        failed=[(str(r["run"]), str(r["reason"])) for _, r in failed.iterrows()],
        charts=_charts(table) if len(table) else [],
        cols=[str(c) for c in cols],
        rows=[(str(row["status"]), [_fmt(row[c]) for c in cols]) for _, row in table.iterrows()],
    )


def compare_html(
    *,
    name_a: str,
    name_b: str,
    counts: dict[str, Any],
    warnings: list[str],
    png: str,
    metrics: pd.DataFrame,
    beats: pd.DataFrame,
    cameras: list[tuple[str, str, Any, float, float]],
) -> str:
    """What changed between two runs: counts, the difference map (a PNG data URI), metrics, beats, cameras."""
    return _render(
        "compare.html",
        name_a=name_a,
        name_b=name_b,
        counts=[(k.replace("_", " "), str(v)) for k, v in counts.items()],
        warnings=warnings,
        png=png,
        metrics=[(str(r.metric), _fmt(r.a), _fmt(r.b), _fmt(r.change)) for r in metrics.itertuples()],
        beats=[(str(r.name), f"{r.changed_share:.3f}", "yes" if r.changed else "") for r in beats.itertuples()],
        cameras=[(what, model, _fmt(heading), f"{lat:.6f}", f"{lon:.6f}") for what, model, heading, lat, lon in cameras],
    )
