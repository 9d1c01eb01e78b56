"""Shift sheets: one page per team per window, in the order a patrol officer reads it.

``shift_sheets.pdf`` (A4 portrait, matplotlib) and ``shift_sheets.html`` (jinja2,
autoescaped) hold the same sheets: the team and window, then its timetable — start at
base, each stop with arrival, dwell and what to watch (the hotspot's top incident
categories in that window), the meal break, the return — and a small map of the route.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ._palette import MODE_DASH_MPL, team_colours

if TYPE_CHECKING:
    from ..layers import Layers
    from ..network import RoadNetwork
    from ..scenario import TimeWindow

__all__ = ["SheetLine", "ShiftSheet", "shift_sheets", "write_shift_sheets"]

WATCH_RADIUS_M = 60.0
"""Incidents this close to a hotspot's streets count for what to watch there."""


@dataclass(frozen=True)
class SheetLine:
    """One line of a sheet: when, what (start, stop, break, return), where, dwell and what to watch."""

    time: str
    kind: str
    place: str
    dwell_min: float
    watch: str


@dataclass(frozen=True)
class ShiftSheet:
    """A team's timetable in one window."""

    team: str
    mode: str
    window: str
    window_label: str
    colour: str
    lines: tuple[SheetLine, ...]


def _watch(patrol: Any, layers: Layers | None, windows: Sequence[TimeWindow]) -> dict[tuple[str, str], str]:
    """(hotspot id, window) → its top incident categories in that window ("theft 12, robbery 3")."""
    inc = layers.incidents.gdf if layers is not None and layers.incidents is not None else None
    hs = patrol.hotspots
    if inc is None or not len(inc) or not len(hs) or "category" not in inc or "time" not in inc:
        return {}
    inc = inc.to_crs(hs.crs) if inc.crs != hs.crs else inc
    t = pd.to_datetime(inc["time"], errors="coerce")
    minute = (t.dt.hour * 60 + t.dt.minute).to_numpy(dtype=float)
    near = hs[["hotspot_id", "geometry"]].copy()
    near["geometry"] = near.geometry.buffer(WATCH_RADIUS_M)
    joined = inc[["category", "geometry"]].assign(_m=minute).sjoin(near, predicate="within")
    out: dict[tuple[str, str], str] = {}
    for w in windows:
        m = joined["_m"].to_numpy(dtype=float)
        inside = ((m - w.start_min) % 1440) < w.duration_min
        for hid, g in joined[inside].groupby("hotspot_id"):
            top = g["category"].astype(str).value_counts().head(3)
            out[(str(hid), w.name)] = ", ".join(f"{c} ({n})" for c, n in top.items())
    return out


def street_names(patrol: Any, network: RoadNetwork | None) -> dict[str, str]:
    """Hotspot id → the name of its street (the nearest named street to the hotspot), "" where none is named."""
    hs = patrol.hotspots
    if network is None or not len(hs):
        return {}
    segs = network.segments()
    if "name" not in segs:
        return {}
    named = segs[segs["name"].notna() & (segs["name"].astype(str).str.strip() != "")][["name", "geometry"]]
    if not len(named):
        return {}
    pts = hs[["hotspot_id"]].set_geometry(hs.geometry.representative_point(), crs=hs.crs)
    near = pts.sjoin_nearest(named.to_crs(hs.crs), how="left", max_distance=80.0)
    near = near[~near.index.duplicated(keep="first")]
    return {str(h): ("" if pd.isna(n) else str(n)) for h, n in zip(near["hotspot_id"], near["name"])}


def _place(r: Any, streets: dict[str, str] | None = None) -> str:
    place = getattr(r, "place", None)  # the human name (geoengine.export._places), where known
    if isinstance(place, str) and place and place != str(r.place_id):
        if str(r.place_kind) == "break":
            return "at " + place.removeprefix("Meal break at ") if place.startswith("Meal break at ") else "meal break"
        return f"{r.place_id} {place}" if str(r.place_kind) == "hotspot" else place
    name = getattr(r, "place_name", None)
    name = "" if name is None or pd.isna(name) else str(name)
    pid = str(r.place_id)
    if str(r.place_kind) in ("base", "break"):
        return name or str(r.place_kind)
    if streets and streets.get(pid) and (not name or name == pid):
        name = f"{pid} {streets[pid]}"
    if pid.startswith("district:"):
        return name or pid.removeprefix("district:")
    return name if name.startswith(pid) else f"{pid} {name}".strip()


def shift_sheets(
    patrol: Any, *, layers: Layers | None = None, windows: Sequence[TimeWindow] = (), network: RoadNetwork | None = None
) -> list[ShiftSheet]:
    """The sheets of a plan, window by window (scenario order), team by team; hotspots are named
    after their street when ``network`` is given."""
    from ._places import place_names, with_places

    streets = street_names(patrol, network)
    stops = patrol.stops
    if not len(stops):
        return []
    stops = with_places(stops, place_names(patrol, network))
    colours = team_colours(stops["team"])
    watch = _watch(patrol, layers, windows)
    by_name = {w.name: w for w in windows}
    order = [w.name for w in windows if w.name in set(stops["window"])]
    order += [w for w in dict.fromkeys(stops["window"]) if w not in order]
    sheets = []
    for wname in order:
        w = by_name.get(wname)
        label = f"{wname} ({w.start}–{w.end})" if w is not None else str(wname)
        ws = stops[stops["window"] == wname]
        for (team, mode), g in sorted(ws.groupby(["team", "mode"]), key=lambda kv: str(kv[0][0])):
            g = g.sort_values("seq")
            lines = []
            last = len(g) - 1
            for i, r in enumerate(g.itertuples()):
                kind = str(r.place_kind)
                if kind == "base":
                    what = "start" if i == 0 else ("return" if i == last else "base")
                    lines.append(SheetLine(str(r.arrive if what == "return" else r.depart), what, _place(r, streets), 0.0, ""))
                elif kind == "break":
                    lines.append(SheetLine(f"{r.arrive}–{r.depart}", "break", _place(r, streets), float(r.dwell_min), ""))
                else:
                    lines.append(
                        SheetLine(
                            f"{r.arrive}–{r.depart}",
                            kind,
                            _place(r, streets),
                            float(r.dwell_min),
                            watch.get((str(r.place_id), str(wname)), ""),
                        )
                    )
            sheets.append(ShiftSheet(str(team), str(mode), str(wname), label, colours[str(team)], tuple(lines)))
    return sheets


def _route_map(ax: Any, network: RoadNetwork, patrol: Any, sheet: ShiftSheet) -> None:
    from matplotlib.collections import LineCollection

    from .briefing import line_segments

    lines = patrol.route_lines
    route = (
        lines[(lines["team"].astype(str) == sheet.team) & (lines["window"].astype(str) == sheet.window)] if len(lines) else lines
    )
    stops = patrol.stops[(patrol.stops["team"].astype(str) == sheet.team) & (patrol.stops["window"].astype(str) == sheet.window)]
    if len(route):
        minx, miny, maxx, maxy = route.total_bounds
    else:
        minx, miny, maxx, maxy = stops.total_bounds
    pad = max(maxx - minx, maxy - miny, 200.0) * 0.08
    box = (minx - pad, miny - pad, maxx + pad, maxy + pad)
    segs = network.segments().cx[box[0] : box[2], box[1] : box[3]]
    ax.add_collection(LineCollection(line_segments(segs.geometry.values), colors="#bbbbbb", linewidths=0.5, zorder=1))
    if len(route):
        ax.add_collection(
            LineCollection(
                line_segments(route.geometry.values),
                colors=sheet.colour,
                linewidths=2.2,
                linestyles=MODE_DASH_MPL.get(sheet.mode, "solid"),
                zorder=3,
            )
        )
    n = 0
    for r in stops.sort_values("seq").itertuples():
        if r.place_kind in ("base", "break"):
            marker = "p" if r.place_kind == "base" else "o"
            ax.scatter(
                [r.geometry.x],
                [r.geometry.y],
                marker=marker,
                s=60,
                c="black" if marker == "p" else "white",
                edgecolors="black",
                zorder=4,
            )
            continue
        n += 1
        ax.scatter([r.geometry.x], [r.geometry.y], s=120, c="white", edgecolors=sheet.colour, linewidths=1.8, zorder=5)
        ax.text(r.geometry.x, r.geometry.y, str(n), ha="center", va="center", fontsize=7, fontweight="bold", zorder=6)
    ax.set_xlim(box[0], box[2])
    ax.set_ylim(box[1], box[3])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def _pdf(path: Path, sheets: list[ShiftSheet], network: RoadNetwork, patrol: Any, title: str) -> None:
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    with PdfPages(path, metadata={"Creator": None, "Producer": None, "CreationDate": None}) as pdf:
        for sheet in sheets:
            fig = Figure(figsize=(210 / 25.4, 297 / 25.4))
            fig.text(
                0.06,
                0.965,
                f"{sheet.team} ({sheet.mode})",
                fontsize=20,
                fontweight="bold",
                va="top",
                color=sheet.colour,
                parse_math=False,
            )
            fig.text(0.06, 0.925, f"Shift sheet · {sheet.window_label} · {title}", fontsize=11, va="top", parse_math=False)
            y, n = 0.885, 0
            fig.text(0.06, y, "time", fontsize=9, fontweight="bold")
            fig.text(0.22, y, "what and where", fontsize=9, fontweight="bold")
            fig.text(0.62, y, "dwell", fontsize=9, fontweight="bold")
            fig.text(0.70, y, "what to watch", fontsize=9, fontweight="bold")
            step = min(0.03, 0.42 / max(len(sheet.lines), 1))
            size = 9 if step >= 0.022 else 7
            for line in sheet.lines:
                y -= step
                if line.kind in ("start", "return", "base"):
                    what = {"start": "Start at ", "return": "Return to ", "base": "At "}[line.kind] + line.place
                elif line.kind == "break":
                    what = "Meal break" + (f" ({line.place})" if line.place not in ("break", "meal break") else "")
                else:
                    n += 1
                    what = f"{n}. {line.place}" + ("" if line.kind == "hotspot" else f" ({line.kind})")
                fig.text(0.06, y, line.time, fontsize=size, parse_math=False)
                fig.text(
                    0.22,
                    y,
                    what[:60],
                    fontsize=size,
                    parse_math=False,
                    fontweight="bold" if line.kind in ("start", "return", "break") else "normal",
                )
                fig.text(0.62, y, f"{line.dwell_min:.0f} min" if line.dwell_min else "", fontsize=size)
                fig.text(0.70, y, line.watch[:40], fontsize=size, parse_math=False)
            ax = fig.add_axes((0.06, 0.04, 0.88, min(0.40, y - 0.07)))
            _route_map(ax, network, patrol, sheet)
            pdf.savefig(fig)


def _html(path: Path, sheets: list[ShiftSheet], title: str) -> None:
    import jinja2

    from .._io import write_text_atomic

    env = jinja2.Environment(loader=jinja2.PackageLoader("geoengine.export", "templates"), autoescape=True)
    text = env.get_template("shift_sheets.html").render(title=title, sheets=sheets)
    write_text_atomic(path, text)


def write_shift_sheets(
    pdf: str | Path | None,
    html_path: str | Path | None,
    network: RoadNetwork,
    patrol: Any,
    *,
    title: str,
    layers: Layers | None = None,
    windows: Sequence[TimeWindow] = (),
) -> list[ShiftSheet]:
    """Write ``shift_sheets.pdf`` and ``shift_sheets.html``; returns the sheets (none: nothing written)."""
    sheets = shift_sheets(patrol, layers=layers, windows=windows, network=network)
    if not sheets:
        return sheets
    if pdf is not None:
        _pdf(Path(pdf), sheets, network, patrol, title)
    if html_path is not None:
        _html(Path(html_path), sheets, title)
    return sheets
