"""Static briefing map: ``briefing.png`` and ``briefing.pdf`` (matplotlib).

One landscape page (A3 by default, or A4) that a planner can print and pin up: title,
scenario, date, the risk window shown, a legend, a scale bar and a north arrow. It is
meant to stay readable when printed in black and white, so colour is never the only
cue: risk levels differ in line width and dash pattern as well as colour, districts
are hatched, beats are dash-dot outlines, and each kind of point has its own marker
shape. Everything is drawn in the network's metric CRS (metres).

Strings from input data are drawn with mathtext parsing off, so a name such as
``$x$`` is shown as typed.
"""

from __future__ import annotations

import datetime as dt
import math
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import shapely
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch, Rectangle
from matplotlib.path import Path as MplPath
from matplotlib.text import Text
from matplotlib.transforms import Bbox
from shapely.ops import polylabel

from ..errors import InfeasibleSettingsError
from ..risk import LEVEL_COLOURS, LEVELS
from ..timefmt import days_label
from ._palette import (
    KEY_SITE_COLOUR,
    MODE_DASH_MPL,
    NO_DATA,
    NO_DATA_COLOUR,
    POST_STYLE,
    TEAM_PALETTE,
    team_colours,
)

if TYPE_CHECKING:
    from ..coverage.plan import CoveragePlan
    from ..layers import Layers
    from ..network import RoadNetwork
    from ..risk import RiskSurface

__all__ = ["PAPER_MM", "BriefingMap", "briefing_facts", "briefing_figure", "main_window", "write_briefing"]

Paper = Literal["A4", "A3"]
PAPER_MM: dict[str, tuple[float, float]] = {"A4": (297.0, 210.0), "A3": (420.0, 297.0)}
"""Landscape page sizes (width, height) in millimetres."""
MM_PER_INCH = 25.4
OSM_ATTRIBUTION = "© OpenStreetMap contributors"

# Risk levels: colour *and* width *and* dash pattern, so a grey print still tells them apart.
# Each level but the lowest has a dark edge in its own hue, so light colours still print.
LEVEL_STYLE: dict[str, dict[str, Any]] = {
    "red": {"linewidth": 3.4, "linestyle": "solid", "zorder": 6, "edge": "#3b0000"},
    "orange": {"linewidth": 2.6, "linestyle": (0, (4.0, 1.6)), "zorder": 5, "edge": "#7f2704"},
    "yellow": {"linewidth": 1.9, "linestyle": (0, (1.0, 1.4)), "zorder": 4, "edge": "#6b5200"},
    "blue": {"linewidth": 0.6, "linestyle": "solid", "zorder": 3, "edge": None},
    NO_DATA: {"linewidth": 1.2, "linestyle": (0, (0.6, 0.9)), "zorder": 2.8, "edge": None},
}
LEVEL_LABEL = {
    "red": "red: highest risk",
    "orange": "orange: high",
    "yellow": "yellow: elevated",
    "blue": "blue: low",
    NO_DATA: "grey hatched: no data\n(outside the incidents' extent)",
}
SHOWN_LEVELS: tuple[str, ...] = (*LEVELS, *(() if NO_DATA in LEVELS else (NO_DATA,)))
"""The levels drawn, "no data" last (grey, never counted as blue)."""
STREET_GREY = "#9a9a9a"
BUILDING_FILL = "#e4e1dc"
DISTRICT_EDGE = "#5e3c99"
BEAT_EDGE = "#1a1a1a"
MODE_STYLE: dict[str, Any] = dict(MODE_DASH_MPL)
TEAM_COLOURS = TEAM_PALETTE  # the map's and the report's too (see ._palette)
HALO = [patheffects.withStroke(linewidth=3.0, foreground="white")]
_LABEL_PAD = 1.5
"""Display units kept free around every label box."""
_LABEL_RINGS = 10
"""Rings of candidate positions tried around a label's anchor before it is left out."""
_HOTSPOT_LABELS = 15
"""The briefing names at most this many of the window's routed hotspots (riskiest first)."""
ROUTE_HALO = [patheffects.Stroke(linewidth=2.2, foreground="white"), patheffects.Normal()]


@dataclass(frozen=True)
class BriefingMap:
    """A drawn briefing page: the figure, the paper, the window shown and what was drawn."""

    figure: Figure
    paper: Paper
    window: str | None
    drawn: tuple[str, ...]
    labels: tuple[Text, ...] = ()
    """The map's labels (posts, beats, hotspots, districts) as placed: no two boxes overlap."""

    def save(self, png: str | Path | None = None, pdf: str | Path | None = None, *, dpi: int = 150) -> list[Path]:
        """Write the page as PNG and/or PDF (the PDF page is exactly the paper size)."""
        written = []
        if png is not None:
            self.figure.savefig(Path(png), format="png", dpi=dpi, metadata={"Software": None})
            written.append(Path(png))
        if pdf is not None:
            self.figure.savefig(Path(pdf), format="pdf", metadata={"CreationDate": None, "Creator": None, "Producer": None})
            written.append(Path(pdf))
        return written


# --------------------------------------------------------------------------- helpers
def _plain(text: object) -> str:
    """Text from input data for places where matplotlib would parse mathtext (legend labels)."""
    return str(text).replace("$", r"\$")


def line_segments(geoms: Iterable[Any]) -> list[np.ndarray]:
    parts = shapely.get_parts(np.asarray(list(geoms), dtype=object))
    parts = parts[~shapely.is_empty(parts)]
    return [np.asarray(p.coords)[:, :2] for p in parts if p.geom_type == "LineString"]


def _polygon_path(geom: Any) -> MplPath | None:
    """A (multi)polygon as a matplotlib path, holes wound the other way."""
    verts: list[np.ndarray] = []
    codes: list[np.ndarray] = []
    for poly in shapely.get_parts(np.asarray([geom], dtype=object)):
        if poly.geom_type != "Polygon" or poly.is_empty:
            continue
        poly = shapely.geometry.polygon.orient(poly, 1.0)
        for ring in (poly.exterior, *poly.interiors):
            c = np.asarray(ring.coords)[:, :2]
            if len(c) < 4:
                continue
            code = np.full(len(c), MplPath.LINETO, dtype=np.uint8)
            code[0], code[-1] = MplPath.MOVETO, MplPath.CLOSEPOLY
            verts.append(c)
            codes.append(code)
    if not verts:
        return None
    return MplPath(np.concatenate(verts), np.concatenate(codes))


def _nice_length(target_m: float) -> float:
    """A round scale-bar length (1, 2 or 5 × 10^k metres) not above ``target_m``."""
    exp = 10 ** math.floor(math.log10(max(target_m, 1.0)))
    for f in (5, 2, 1):
        if f * exp <= target_m:
            return float(f * exp)
    return float(exp)


def _true_north_deg(crs: Any, x: float, y: float) -> float:
    """Clockwise angle from grid up to true north at (x, y), in degrees (0 when unknown)."""
    try:
        from pyproj import Transformer

        to_ll = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        to_xy = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        lon, lat = to_ll.transform(x, y)
        x0, y0 = to_xy.transform(lon, lat)
        x1, y1 = to_xy.transform(lon, min(lat + 0.01, 89.99))
        angle = math.degrees(math.atan2(x1 - x0, y1 - y0))
        return angle if math.isfinite(angle) else 0.0
    except Exception:  # noqa: BLE001 - a north arrow is still right to within a few degrees
        return 0.0


def main_window(risk: RiskSurface, *, window: str | None = None) -> str:
    """The window the briefing shows: ``window`` if given, else the one with the most risk."""
    names = risk.window_names
    if window is not None:
        if window not in names:
            raise InfeasibleSettingsError.single(
                f"briefing window {window!r} is not a window of the scenario",
                field="outputs.briefing_window",
                hint=f"use one of: {', '.join(names)}",
            )
        return window
    totals = risk.table.groupby("window", sort=False)["risk"].sum()
    return str(max(names, key=lambda w: (float(totals.get(w, 0.0)), -names.index(w))))


def _window_label(risk: RiskSurface | None, window: str | None) -> str:
    if risk is None or window is None:
        return ""
    w = next(w for w in risk.windows if w.name == window)
    return f"{w.name} ({w.start}–{w.end}, {days_label(w.days)})"


# --------------------------------------------------------------------------- drawing
def _draw_scale_bar(ax: Axes, *, width_m: float, fontsize: float) -> Rectangle:
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = _nice_length(width_m / 4)
    n = 4 if length / 4 >= 1 and (length / 4) == int(length / 4) else 2
    step = length / n
    h = (y1 - y0) * 0.01
    left, base = x0 + (x1 - x0) * 0.03, y0 + (y1 - y0) * 0.04
    frame = Rectangle(
        (left - step * 0.4, base - h * 1.5),
        length + step * 1.1,
        h * 5.2,
        facecolor="white",
        edgecolor="#555555",
        linewidth=0.5,
        alpha=0.9,
        zorder=20,
    )
    ax.add_patch(frame)
    for i in range(n):
        ax.add_patch(
            Rectangle(
                (left + i * step, base),
                step,
                h,
                facecolor="black" if i % 2 == 0 else "white",
                edgecolor="black",
                linewidth=0.8,
                zorder=21,
            )
        )
    unit, div = ("km", 1000.0) if length >= 1000 else ("m", 1.0)
    for i in (0, n // 2, n) if n == 4 else (0, n):
        value = i * step / div
        label = f"{value:g}" + (f" {unit}" if i == n else "")
        ax.text(left + i * step, base + h * 1.6, label, ha="center", va="bottom", fontsize=fontsize, zorder=22)
    return frame


def _draw_north_arrow(ax: Axes, *, north_deg: float) -> Rectangle:
    """An arrow pointing to true north, ``north_deg`` clockwise from the map's up."""
    cx, cy, size = 0.955, 0.90, 0.055
    a = math.radians(north_deg)
    bbox = ax.get_position()  # axes fractions are not square: scale x by the axes' aspect
    fig_w, fig_h = ax.figure.get_size_inches()
    aspect = (bbox.height * fig_h) / (bbox.width * fig_w)
    dx, dy = math.sin(a) * aspect, math.cos(a)
    tip = (cx + dx * size / 2, cy + dy * size / 2)
    tail = (cx - dx * size / 2, cy - dy * size / 2)
    frame = Rectangle(
        (cx - 0.03, cy - 0.05),
        0.06,
        0.115,
        transform=ax.transAxes,
        facecolor="white",
        edgecolor="#555555",
        linewidth=0.5,
        alpha=0.9,
        zorder=20,
    )
    ax.add_patch(frame)
    ax.annotate(
        "",
        xy=tip,
        xytext=tail,
        xycoords="axes fraction",
        arrowprops={"arrowstyle": "-|>,head_length=0.8,head_width=0.4", "color": "black", "linewidth": 2.0},
        zorder=21,
    )
    ax.text(
        tip[0] + dx * 0.012,
        tip[1] + dy * 0.012,
        "N",
        transform=ax.transAxes,
        ha="center",
        va="bottom",
        fontsize=12,
        fontweight="bold",
        zorder=21,
    )
    return frame


def _wrap(line: str, width: int) -> list[str]:
    """Wrap a panel line, keeping its indent on continuation lines."""
    indent = line[: len(line) - len(line.lstrip())]
    return textwrap.wrap(line, width, subsequent_indent=indent + "  ") or [""]


def _label_point(geom: Any, *, avoid: Any = None) -> Any:
    """Where to write a polygon's label: deep inside its largest part, away from ``avoid``."""
    largest = max(shapely.get_parts(geom), key=lambda g: g.area)
    free = largest.difference(avoid) if avoid is not None else largest
    if not free.is_empty and free.area > 0.15 * largest.area:
        largest = max(shapely.get_parts(free), key=lambda g: g.area)
    try:
        return polylabel(largest, tolerance=max(largest.length / 500, 1.0))
    except Exception:  # noqa: BLE001 - odd geometry: any inside point will do
        return largest.representative_point()


def _edge(level: str, *, scale: float = 1.0) -> list[Any] | None:
    st = LEVEL_STYLE[level]
    if st["edge"] is None:
        return None
    return [patheffects.Stroke(linewidth=(st["linewidth"] + 1.4) * scale, foreground=st["edge"]), patheffects.Normal()]


def _window_hotspots(patrol: Any, window: str | None, crs: Any) -> list[tuple[str, Any]]:
    """The hotspots routed in ``window`` (riskiest first, at most ``_HOTSPOT_LABELS``) and where they are."""
    if patrol is None or not len(patrol.hotspots) or not len(patrol.stops) or window is None:
        return []
    s = patrol.stops
    routed = set(s.loc[(s["window"] == window) & (s["place_kind"] == "hotspot"), "place_id"].astype(str))
    h = patrol.hotspots[patrol.hotspots["hotspot_id"].astype(str).isin(routed)]
    col = f"risk:{window}"
    if col in h:
        h = h.sort_values(col, ascending=False, kind="stable")
    h = h.head(_HOTSPOT_LABELS).to_crs(crs)
    return list(zip(h["hotspot_id"].astype(str), h.geometry.representative_point().values, strict=True))


def _label(ax: Axes, x: float, y: float, text: object, **kw: Any) -> Text:
    return ax.text(x, y, str(text), parse_math=False, path_effects=HALO, clip_on=True, **kw)


def _offsets(w: float, h: float, *, beside: bool) -> list[tuple[float, float]]:
    """Candidate offsets (display units) of a label's centre from its anchor: on it (areas) or
    beside it (points, upper right first), then rings farther out."""
    gap = 0.35 * h
    near = [
        (w / 2 + gap, h / 2 + gap),
        (-w / 2 - gap, h / 2 + gap),
        (w / 2 + gap, -h / 2 - gap),
        (-w / 2 - gap, -h / 2 - gap),
        (w / 2 + gap, 0.0),
        (-w / 2 - gap, 0.0),
        (0.0, h + gap),
        (0.0, -h - gap),
    ]
    out = near if beside else [(0.0, 0.0), (0.0, h * 1.1), (0.0, -h * 1.1), *near]
    for ring in range(1, _LABEL_RINGS + 1):
        r = ring * 1.6 * h + (w / 2 if beside else 0.0)
        out += [(r * math.cos(a), r * math.sin(a)) for a in np.linspace(0, 2 * math.pi, 16, endpoint=False)]
    return out


def _place_labels(ax: Axes, labels: list[tuple[Text, tuple[float, float], bool]], obstacles: list[Any]) -> list[Text]:
    """Place labels so that no two boxes overlap (nor the scale bar, north arrow, attribution).

    Each label is ``(text, anchor, beside)``: in order (the first ones win), it takes the first
    free position of :func:`_offsets`; one placed away from its anchor gets a thin leader line
    to it; one with no free position within the frame is hidden. Returns the labels shown.
    """
    if not labels:
        return []
    renderer = FigureCanvasAgg(ax.figure).get_renderer()
    frame = ax.get_window_extent(renderer)
    placed = [o.get_window_extent(renderer) for o in obstacles]
    to_data = ax.transData.inverted()
    shown = []
    for t, (x, y), beside in labels:
        t.set_horizontalalignment("center")
        t.set_verticalalignment("center")
        t.set_position((x, y))
        box0 = t.get_window_extent(renderer)
        w, h = box0.width + 2 * _LABEL_PAD, box0.height + 2 * _LABEL_PAD
        px, py = ax.transData.transform((x, y))
        for dx, dy in _offsets(w, h, beside=beside):
            box = Bbox.from_bounds(px + dx - w / 2, py + dy - h / 2, w, h)
            if (
                box.x0 >= frame.x0
                and box.x1 <= frame.x1
                and box.y0 >= frame.y0
                and box.y1 <= frame.y1
                and not any(box.overlaps(b) for b in placed)
            ):
                break
        else:
            t.set_visible(False)
            continue
        t.set_position(to_data.transform((px + dx, py + dy)))
        placed.append(box)
        shown.append(t)
        far = math.hypot(dx, dy) > (1.5 * h if not beside else w / 2 + 1.5 * h)
        if far:  # a leader from the anchor to the label's nearest box edge
            ex = min(max(px, box.x0), box.x1)
            ey = min(max(py, box.y0), box.y1)
            (lx, ly), (ax_, ay_) = to_data.transform((ex, ey)), (x, y)
            ax.plot(
                [ax_, lx],
                [ay_, ly],
                color=t.get_color(),
                linewidth=0.6,
                alpha=0.8,
                zorder=t.get_zorder() - 0.5,
                solid_capstyle="round",
            )
    return shown


def briefing_figure(
    network: RoadNetwork,
    *,
    title: str,
    layers: Layers | None = None,
    risk: RiskSurface | None = None,
    coverage: CoveragePlan | None = None,
    patrol: Any = None,
    window: str | None = None,
    paper: Paper = "A3",
    date: dt.date | None = None,
    subtitle: str = "",
    facts: list[str] | None = None,
    notes: list[str] | None = None,
    response: Any = None,
) -> BriefingMap:
    """Draw the briefing page.

    Parameters
    ----------
    network
        The streets (drawn in its metric CRS) and buildings (basemap).
    title
        Usually the scenario name.
    window
        Risk window to colour the streets by and whose routes to draw; default the
        window with the most risk (:func:`main_window`).
    paper
        ``"A3"`` or ``"A4"``, landscape.
    facts, notes
        Lines for the side panel: key figures of the run, and caveats (synthetic data,
        warnings).
    response
        A :class:`geoengine.response.ResponseResult`: every tier's circle in the window shown (the
        area along the streets its responders reach within its minutes most of the window), each
        with its own outline and hatch, in the legend with its minutes and share within.
    """
    if paper not in PAPER_MM:
        raise InfeasibleSettingsError.single(f"unknown paper size {paper!r}", field="outputs.paper", hint="use A4 or A3")
    crs = network.crs
    date = date or dt.date.today()
    w_mm, h_mm = PAPER_MM[paper]
    scale = w_mm / PAPER_MM["A3"][0]  # fonts, markers and lines shrink a little on A4
    lw = 0.6 + 0.4 * scale
    fig = Figure(figsize=(w_mm / MM_PER_INCH, h_mm / MM_PER_INCH))
    fs = {"title": 22 * scale + 2, "sub": 12 * scale + 1, "body": 10 * scale + 1, "small": 8 * scale + 1}
    drawn: list[str] = []

    # ---- frame: map on the left, legend and facts on the right
    ax = fig.add_axes((0.015, 0.055, 0.70, 0.82))
    panel = fig.add_axes((0.73, 0.055, 0.255, 0.82))
    panel.set_axis_off()
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_linewidth(1.0)

    segs = network.segments()
    extent = [segs.total_bounds]
    if layers is not None and layers.districts is not None and len(layers.districts.gdf):
        extent.append(layers.districts.gdf.to_crs(crs).total_bounds)
    if patrol is not None and len(patrol.beats.beats):
        extent.append(patrol.beats.beats.to_crs(crs).total_bounds)
    bounds = np.asarray(extent, dtype=float)
    minx, miny = bounds[:, 0].min(), bounds[:, 1].min()
    maxx, maxy = bounds[:, 2].max(), bounds[:, 3].max()
    pad = 0.03 * max(maxx - minx, maxy - miny)
    minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
    # Fill the map frame: widen the shorter side to the frame's aspect.
    frame_w, frame_h = 0.70 * w_mm, 0.82 * h_mm
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    half_w, half_h = (maxx - minx) / 2, (maxy - miny) / 2
    if half_w / half_h < frame_w / frame_h:
        half_w = half_h * frame_w / frame_h
    else:
        half_h = half_w * frame_h / frame_w
    ax.set_xlim(cx - half_w, cx + half_w)
    ax.set_ylim(cy - half_h, cy + half_h)
    ax.set_facecolor("white")

    handles: list[tuple[str, list[Any]]] = []  # (section, handles)

    # ---- basemap: buildings, then every street in grey
    if network.buildings is not None and len(network.buildings):
        b = network.buildings.to_crs(crs)
        paths = [p for p in (_polygon_path(g) for g in b.geometry.values) if p is not None]
        ax.add_collection(PathCollection(paths, facecolor=BUILDING_FILL, edgecolor="none", zorder=1))
        drawn.append("buildings")
    ax.add_collection(LineCollection(line_segments(segs.geometry.values), colors=STREET_GREY, linewidths=0.5, zorder=2))
    drawn.append("streets")
    base: list[Any] = [Line2D([], [], color=STREET_GREY, linewidth=0.8, label="street")]
    if "buildings" in drawn:
        base.append(Patch(facecolor=BUILDING_FILL, edgecolor="none", label="building"))

    # ---- districts (hatched) and beats (dash-dot outlines)
    districts = layers.districts.gdf.to_crs(crs) if layers is not None and layers.districts is not None else None
    if districts is not None and len(districts):
        for geom in districts.geometry.values:
            p = _polygon_path(geom)
            if p is not None:
                ax.add_patch(
                    PathPatch(p, facecolor="none", edgecolor=DISTRICT_EDGE, hatch="///", linewidth=0, alpha=0.35, zorder=2.5)
                )
                ax.add_patch(PathPatch(p, facecolor="none", edgecolor=DISTRICT_EDGE, linewidth=1.6 * lw, zorder=7))
        drawn.append("districts")
        base.append(Patch(facecolor="none", edgecolor=DISTRICT_EDGE, hatch="///", linewidth=1.6, label="key district"))
    beats = patrol.beats.beats.to_crs(crs) if patrol is not None and len(patrol.beats.beats) else None
    if beats is not None:
        for geom in beats.geometry.values:  # the polygons of plan.gpkg and the map, as they are
            p = _polygon_path(geom)
            if p is not None:
                ax.add_patch(PathPatch(p, facecolor="none", edgecolor=BEAT_EDGE, linewidth=1.4 * lw, linestyle="-.", zorder=8))
        drawn.append("beats")
        base.append(Line2D([], [], color=BEAT_EDGE, linewidth=1.4, linestyle="-.", label="patrol beat (name)"))

    # ---- streets by risk level
    shown = None
    if risk is not None:
        shown = main_window(risk, window=window)
        seg = risk.for_window(shown)
        seg = seg.to_crs(crs) if seg.crs != crs else seg
        level_handles = []
        for lv in reversed(SHOWN_LEVELS):  # no data and blue first, red on top
            sub = seg[seg["level"] == lv]
            if lv == NO_DATA and not len(sub):
                continue
            st = LEVEL_STYLE[lv]
            colour = LEVEL_COLOURS.get(lv, NO_DATA_COLOUR)
            if len(sub):
                lc = LineCollection(
                    line_segments(sub.geometry.values),
                    colors=colour,
                    linewidths=st["linewidth"] * lw,
                    linestyles=st["linestyle"],
                    zorder=st["zorder"],
                    capstyle="butt",
                    path_effects=_edge(lv, scale=lw),
                )
                ax.add_collection(lc)
            km = float(sub["length_m"].sum()) / 1000 if "length_m" in sub else 0.0
            level_handles.append(
                Line2D(
                    [],
                    [],
                    color=colour,
                    linewidth=st["linewidth"],
                    linestyle=st["linestyle"],
                    label=f"{LEVEL_LABEL[lv]} ({km:.1f} km)",
                    path_effects=_edge(lv),
                )
            )
        drawn.append("risk")
        handles.append((f"Street risk by level\n{_window_label(risk, shown)}", list(reversed(level_handles))))

    # ---- routes of the window shown
    route_handles: list[Any] = []
    if patrol is not None and len(patrol.route_lines):
        routes = patrol.route_lines
        if shown is not None:
            routes = routes[routes["window"] == shown]
        elif len(routes):
            routes = routes[routes["window"] == routes["window"].iloc[0]]
        routes = routes.to_crs(crs)
        visits = _route_visits(patrol)
        colours = team_colours(patrol.stops["team"] if len(patrol.stops) else patrol.route_lines["team"])
        for row in routes.itertuples(index=False):
            colour = colours.get(str(row.team), TEAM_PALETTE[0])
            ls = MODE_STYLE.get(str(row.mode), "solid")
            lc = LineCollection(
                line_segments([row.geometry]),
                colors=colour,
                linewidths=2.6 * lw,
                linestyles=ls,
                alpha=0.95,
                zorder=9,
                path_effects=ROUTE_HALO,
                capstyle="round",
            )
            ax.add_collection(lc)
            route_handles.append(
                Line2D(
                    [],
                    [],
                    color=colour,
                    linewidth=2.6,
                    linestyle=ls,
                    label=_plain(
                        _route_label(
                            str(row.team), str(row.mode), *visits.get((str(row.team), str(row.window)), (int(row.stops), ""))
                        )
                    ),
                )
            )
        if route_handles:
            drawn.append("routes")

    # ---- response circles, every tier, of the window shown: the area along the streets reached within
    # the tier's minutes most of the window (tightest on top, each with its own outline and hatch)
    circle_handles: list[Any] = []
    if response is not None and getattr(response, "settings", None) is not None and response.settings.tiers:
        circle_handles, circle_window = _draw_response(ax, network, response, shown, crs=crs, lw=lw)
        if circle_handles:
            drawn.append("response")

    # ---- points
    points: list[Any] = []

    def scatter(gdf: gpd.GeoDataFrame | None, name: str, label: str, **kw: Any) -> None:
        if gdf is None or not len(gdf):
            return
        g = gdf.to_crs(crs)
        pts = g.geometry.representative_point() if not (g.geom_type == "Point").all() else g.geometry
        kw = {**kw, "s": kw.get("s", 20) * scale}  # marker area follows the paper
        ax.scatter(pts.x, pts.y, label=label, **kw)
        points.append(
            Line2D(
                [],
                [],
                linestyle="none",
                label=label,
                marker=kw.get("marker", "o"),
                markersize=7,
                markerfacecolor=kw.get("c", kw.get("facecolors", "none")),
                markeredgecolor=kw.get("edgecolors", "black"),
                markeredgewidth=kw.get("linewidths", 1.0),
            )
        )
        drawn.append(name)

    cams_existing = (
        coverage.cameras_existing
        if coverage is not None and coverage.cameras_existing is not None
        else (layers.cameras.gdf if layers is not None and layers.cameras is not None else None)
    )
    n_exist = 0 if cams_existing is None else len(cams_existing)
    scatter(
        cams_existing,
        "cameras_existing",
        f"existing camera ({n_exist})",
        marker="o",
        s=14,
        facecolors="white",
        edgecolors="#333333",
        linewidths=0.8,
        zorder=10,
    )
    if coverage is not None:
        scatter(
            coverage.cameras_new,
            "cameras_new",
            f"new camera ({len(coverage.cameras_new)})",
            marker="^",
            s=46,
            c="#000000",
            edgecolors="white",
            linewidths=0.7,
            zorder=11,
        )
    if layers is not None and layers.key_sites is not None:
        scatter(
            layers.key_sites.gdf,
            "key_sites",
            f"key site ({len(layers.key_sites.gdf)})",
            marker="*",
            s=110,
            c=KEY_SITE_COLOUR,
            edgecolors="white",
            linewidths=0.6,
            zorder=12,
        )
    if layers is not None and layers.stations is not None:
        scatter(
            layers.stations.gdf,
            "stations",
            f"police station / base ({len(layers.stations.gdf)})",
            marker="p",
            s=120,
            c="#08306b",
            edgecolors="white",
            linewidths=1.0,
            zorder=13,
        )
    posts = []
    if patrol is not None:
        for name, marker, colour, label in (
            ("checkpoints", "s", POST_STYLE["checkpoint"]["fill"], "checkpoint (C1…)"),
            ("booths", "s", POST_STYLE["booth"]["fill"], "police booth (B1…)"),
        ):
            p = getattr(patrol, name)
            if p is not None and len(p.sites):
                scatter(
                    p.sites,
                    name,
                    f"{label.split(' (')[0]} ({len(p.sites)})",
                    marker=marker,
                    s=90,
                    c=colour,
                    edgecolors="black",
                    linewidths=1.6,
                    zorder=14,
                )
                posts.append(p.sites.to_crs(crs))

    # ---- scale bar, north arrow, attribution
    span = ax.get_xlim()[1] - ax.get_xlim()[0]
    furniture = [
        _draw_scale_bar(ax, width_m=span, fontsize=fs["body"]),
        _draw_north_arrow(ax, north_deg=_true_north_deg(crs, cx, cy)),
        ax.text(
            0.995,
            0.005,
            OSM_ATTRIBUTION,
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=fs["small"] - 1,
            color="#333333",
            path_effects=HALO,
            zorder=22,
        ),
    ]

    # ---- labels (drawn last, with a white halo, placed so that none overprints another):
    # posts first (beside their marker), then beats, the window's hotspots, districts
    todo: list[tuple[Text, tuple[float, float], bool]] = []
    for p in posts:
        for geom, pid in zip(p.geometry.values, p["post_id"].to_numpy(), strict=True):
            todo.append(
                (_label(ax, geom.x, geom.y, pid, fontsize=fs["small"] + 1, fontweight="bold", zorder=16), (geom.x, geom.y), True)
            )
    if beats is not None:
        names = beats["name"] if "name" in beats else beats["beat"]
        avoid = shapely.union_all(districts.geometry.values) if districts is not None and len(districts) else None
        for geom, name in zip(beats.geometry.values, names.to_numpy(), strict=True):
            pt = _label_point(geom, avoid=avoid)
            todo.append(
                (
                    _label(
                        ax, pt.x, pt.y, name, fontsize=fs["sub"] + 1, fontweight="bold", color=BEAT_EDGE, zorder=15, alpha=0.85
                    ),
                    (pt.x, pt.y),
                    False,
                )
            )
    for hid, pt in _window_hotspots(patrol, shown, crs):
        todo.append((_label(ax, pt.x, pt.y, hid, fontsize=fs["small"], color="#7a0000", zorder=15), (pt.x, pt.y), True))
    if districts is not None and "name" in districts:
        for geom, name in zip(districts.geometry.values, districts["name"].to_numpy(), strict=True):
            pt = geom.representative_point()
            todo.append(
                (
                    _label(
                        ax,
                        pt.x,
                        pt.y,
                        textwrap.fill(str(name), 22),
                        fontsize=fs["small"] + 0.5,
                        color=DISTRICT_EDGE,
                        fontstyle="italic",
                        zorder=15,
                        linespacing=1.0,
                    ),
                    (pt.x, pt.y),
                    False,
                )
            )
    labels = _place_labels(ax, todo, furniture)

    # ---- title band
    fig.text(0.015, 0.965, title, fontsize=fs["title"], fontweight="bold", va="top", parse_math=False)
    line2 = " · ".join(
        x for x in (subtitle, f"risk window: {_window_label(risk, shown)}" if shown else "", f"date {date.isoformat()}") if x
    )
    fig.text(0.015, 0.905, line2, fontsize=fs["sub"], va="top", parse_math=False, color="#222222")
    fig.text(
        0.015,
        0.02,
        f"Map CRS: {crs.name} (metres) · grid north up; arrow shows true north · "
        f"{OSM_ATTRIBUTION} · {'streets and buildings' if 'buildings' in drawn else 'streets'} from OpenStreetMap",
        fontsize=fs["small"],
        color="#444444",
    )

    # ---- side panel: legend sections, then facts and notes
    sections = [("Map", base)]
    if handles:
        sections = handles + sections
    if points:
        sections.append(("Sites and posts", points))
    if route_handles:
        sections.append((f"Patrol routes — {shown}" if shown else "Patrol routes", route_handles))
    if circle_handles:
        sections.append((f"Response circles — {circle_window}" if circle_window else "Response circles", circle_handles))
    renderer = FigureCanvasAgg(fig).get_renderer()
    y = 1.0
    right = fig.bbox.x1 - 0.006 * fig.bbox.width  # the page's right margin
    for head, hs in sections:
        # two columns for long lists, one (then smaller type) where a column would run off the page
        for ncols, shrink in ((1 if len(hs) <= 6 else 2, 0.0), (1, 0.0), (1, 1.0), (1, 2.0)):
            leg = panel.legend(
                handles=hs,
                title=_plain(head),
                loc="upper left",
                bbox_to_anchor=(0.0, y),
                frameon=False,
                fontsize=fs["body"] - 0.5 - shrink,
                title_fontsize=fs["body"] + 0.5,
                alignment="left",
                handlelength=3.2 if ncols == 1 else 2.4,
                borderaxespad=0.0,
                labelspacing=0.35,
                ncols=ncols,
                columnspacing=0.8,
            )
            if leg.get_window_extent(renderer).x1 <= right:
                break
        leg.get_title().set_fontweight("bold")
        panel.add_artist(leg)
        y = leg.get_window_extent(renderer).transformed(panel.transAxes.inverted()).y0 - 0.02
    lines = [*(facts or []), *([""] + list(notes) if notes else [])]
    if lines:
        panel.text(0.0, y, "Key figures", fontsize=fs["body"] + 0.5, fontweight="bold", va="top", transform=panel.transAxes)
        size = fs["body"] - 0.5
        while True:  # wrap to the panel's width, shrink until it fits above the page's foot
            chars = int(0.255 * w_mm / (size * 0.3528 * 0.55))
            text = panel.text(
                0.0,
                y - 0.028,
                "\n".join(w for line in lines for w in _wrap(line, chars)),
                fontsize=size,
                va="top",
                linespacing=1.4,
                transform=panel.transAxes,
                parse_math=False,
            )
            bottom = text.get_window_extent(renderer).transformed(panel.transAxes.inverted()).y0
            if bottom >= -0.02 or size <= 5.5:
                break
            text.remove()
            size -= 0.5
    return BriefingMap(figure=fig, paper=paper, window=shown, drawn=tuple(drawn), labels=tuple(labels))


RESPONSE_HATCH = ("xxx", "\\\\\\", "...", "///", "++")
RESPONSE_LINESTYLE = ("solid", "dashed", "dotted", "dashdot", "solid")
RESPONSE_BUFFER_M = 30.0
RESPONSE_CLOSE_M = 90.0
"""A tier's circle is the area within ``RESPONSE_BUFFER_M`` of its covered streets, with the blocks
between covered streets filled (gaps narrower than twice ``RESPONSE_CLOSE_M``)."""


def _draw_response(
    ax: Axes, network: RoadNetwork, response: Any, window: str | None, *, crs: Any, lw: float
) -> tuple[list[Any], str | None]:
    """Every tier's circle in ``window`` (else the first window): outline, light hatch; legend handles
    with the minutes, the demand and its share within (time-averaged, and at the worst minute)."""
    from ..response import TIER_COLOURS

    names = [w.name for w in response.windows]
    if window not in names:
        window = names[0] if names else None
    tiers = sorted(response.settings.tiers, key=lambda t: (t.minutes, response.settings.tiers.index(t)))
    table = response.table
    handles: list[Any] = []
    rank = 0
    for tier in tiers:
        if not len(response.demand.get(tier.name, ())):
            handles.append(
                Patch(
                    facecolor="none",
                    edgecolor="#999999",
                    linestyle="dotted",
                    label=_plain(f"{tier.minutes:g} min ({tier.name}): no such demand, not drawn"),
                )
            )
            continue
        colour = TIER_COLOURS[rank % len(TIER_COLOURS)]
        hatch, ls = RESPONSE_HATCH[rank % len(RESPONSE_HATCH)], RESPONSE_LINESTYLE[rank % len(RESPONSE_LINESTYLE)]
        z = 2.6 + 0.05 * (len(tiers) - rank)  # under the risk streets, the tightest on top
        rank += 1
        inside = (
            response.covered_segments(network, tier.name, window=window)
            if window
            else response.covered_segments(network, tier.name)
        )
        if len(inside):
            area = shapely.union_all(shapely.buffer(inside.to_crs(crs).geometry.values, RESPONSE_BUFFER_M))
            area = shapely.simplify(
                area.buffer(RESPONSE_CLOSE_M).buffer(-RESPONSE_CLOSE_M), 5.0
            )  # blocks between covered streets
            for part in shapely.get_parts(area):
                p = _polygon_path(part)
                if p is not None:
                    ax.add_patch(PathPatch(p, facecolor=colour, edgecolor="none", alpha=0.16, zorder=z))
                    ax.add_patch(PathPatch(p, facecolor="none", edgecolor=colour, hatch=hatch, linewidth=0, alpha=0.45, zorder=z))
                    ax.add_patch(PathPatch(p, facecolor="none", edgecolor=colour, linewidth=1.5 * lw, linestyle=ls, zorder=6.5))
        row = table[(table["tier"] == tier.name) & (table["window"] == window)]
        share = row["share_within"].iloc[0] if len(row) else float("nan")
        worst = row["worst_minute_share"].iloc[0] if len(row) else float("nan")
        at = row["worst_minute"].iloc[0] if len(row) else ""
        pct = lambda v: "n/a" if v != v else f"{100 * float(v):.0f} %"  # noqa: E731
        label = f"{tier.minutes:g} min ({tier.name}): {pct(share)} within" + (f", worst {pct(worst)} at {at}" if at else "")
        handles.append(
            Patch(
                facecolor=(*_rgb(colour), 0.25), edgecolor=colour, hatch=hatch, linewidth=1.5, linestyle=ls, label=_plain(label)
            )
        )
        demand = response.demand[tier.name]
        if tier.demand_kind == "key_sites" and len(demand) and window:
            share = response.node_share_by_window.get((tier.name, window))
            ok = share[demand["pos"].to_numpy()] >= 0.5 if share is not None else np.zeros(len(demand), bool)
            pts = demand.to_crs(crs).geometry
            for mask, face, what in ((ok, colour, "inside"), (~ok, "white", "outside")):
                if mask.any():
                    ax.scatter(
                        pts.x[mask], pts.y[mask], marker="*", s=150 * lw, c=face, edgecolors="black", linewidths=0.9, zorder=12.5
                    )
                handles.append(
                    Line2D(
                        [],
                        [],
                        linestyle="none",
                        marker="*",
                        markersize=10,
                        markerfacecolor=face,
                        markeredgecolor="black",
                        label=_plain(f"{tier.name} {what} the {tier.minutes:g} min circle ({int(mask.sum())})"),
                    )
                )
    return (handles if rank else []), window


def _rgb(colour: str) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    return to_rgb(colour)


def write_briefing(
    png: str | Path | None,
    pdf: str | Path | None,
    network: RoadNetwork,
    *,
    dpi: int = 150,
    **kwargs: Any,
) -> BriefingMap:
    """Draw the briefing page (see :func:`briefing_figure`) and write it as PNG and PDF."""
    page = briefing_figure(network, **kwargs)
    page.save(png, pdf, dpi=dpi)
    return page


def briefing_facts(manifest: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Key figures and caveats for the side panel, from a run manifest's metrics."""
    m = manifest.get("metrics") or {}
    facts: list[str] = []

    def pct(v: Any) -> str:
        return "n/a" if v is None else f"{100 * float(v):.1f} %"

    net = m.get("network") or {}
    if net.get("street_km") is not None:
        facts.append(f"Streets: {net['street_km']:.1f} km, {net.get('nodes', 0):,} intersections")
    risk = m.get("risk") or {}
    if risk.get("windows"):
        line = f"Risk: {risk.get('incidents_used') or 0:,} incidents, {risk.get('hotspot_segments') or 0:,} hotspot segments"
        facts.append(line)
        if risk.get("pai_5pct") is not None:
            base = risk.get("baseline_pai_5pct")
            facts.append(
                f"  held-out PAI at 5 %: {risk['pai_5pct']:.2f}" + (f" (baseline {base:.2f})" if base is not None else "")
            )
    cov = m.get("coverage") or {}
    if cov.get("cameras_new") is not None:
        facts.append(f"Cameras: {cov.get('cameras_existing') or 0:,} existing + {cov['cameras_new']:,} new")
        facts.append(
            f"  risk-weighted coverage {pct(cov.get('covered_weight_share_existing'))} → {pct(cov.get('covered_weight_share'))}"
        )
        if cov.get("status") is not None:
            facts.append(f"  solver {cov['status']}, gap {pct(cov.get('gap'))}")
    pat = m.get("patrol") or {}
    if pat.get("teams") is not None:
        facts.append(
            f"Patrol: {_n(pat['teams'], 'team')}, {_n(pat.get('beats'), 'beat')}, "
            f"{_n(pat.get('checkpoints'), 'checkpoint')}, {_n(pat.get('booths'), 'booth')}"
        )
        facts.append(
            f"  visits {pat.get('visits_planned') or 0:,} planned, {pat.get('visits_dropped') or 0:,} dropped (all windows)"
        )
        reasons = pat.get("dropped_reasons") or {}
        routed = {k: v for k, v in reasons.items() if k != "cut_by_max_hotspots" and v}
        if routed:
            facts.append(
                "  dropped because: "
                + ", ".join(
                    f"{int(v):,} {CAUSE_SHORT.get(k, k.replace('_', ' '))}"
                    for k, v in sorted(routed.items(), key=lambda kv: -kv[1])
                )
            )
        if pat.get("hotspots_cut"):
            facts.append(f"  {int(pat['hotspots_cut']):,} hotspot-windows left out by max_hotspots_per_window")
        if pat.get("dosage_met_share") is not None:
            bound = pat.get("dosage_bound")
            facts.append(
                f"  dosage met {pct(pat['dosage_met_share'])}"
                + (f" (at most {pct(bound)} possible)" if bound is not None else "")
            )
        if pat.get("idle_share") is not None:
            facts.append(f"  teams idle {pct(pat['idle_share'])} of their shift time")
    audit = manifest.get("audit")
    if audit:
        n = int(audit.get("violations") or 0)
        facts.append("Audit: clean" if audit.get("clean") else f"Audit: {n:,} violation{'s' if n != 1 else ''} (see report.html)")
    if "reproducible" in manifest:
        facts.append("Reproducible: " + ("yes" if manifest.get("reproducible") else "no (a solver hit its time cap)"))
    ev = m.get("evaluation") or {}
    backtest = [
        f"  {label}: {pct(ev[key])}"
        for key, label in (("in_camera_view_share", "in camera view"), ("within_response_share", "within patrol response"))
        if ev.get(key) is not None
    ]
    if backtest:
        facts += [f"Backtest on {ev.get('heldout_incidents') or 0:,} held-out incidents:", *backtest]
    notes: list[str] = []
    synthetic = [k for k, b in (m.get("layers") or {}).items() if b.get("synthetic")]
    if synthetic:
        notes.append("SYNTHETIC data: " + ", ".join(synthetic))
    warnings = manifest.get("warnings") or []
    if warnings:
        notes.append(f"{len(warnings)} warning{'s' if len(warnings) != 1 else ''}: see report.html")
    return facts, notes


CAUSE_SHORT = {
    "time_used": "team time used",
    "no_team_allocated": "no team allocated",
    "no_team_on_shift": "no team on shift",
    "unreachable": "unreachable",
}


def _route_visits(patrol: Any) -> dict[tuple[str, str], tuple[int, str]]:
    """Per (team, window): the visits it makes (hotspots and districts: neither bases nor its
    meal break count as stops) and when its meal break is ("" without one)."""
    s = getattr(patrol, "stops", None)
    if s is None or not len(s):
        return {}
    out = {}
    for (team, window), g in s.groupby(["team", "window"], sort=False):
        n = int(g["place_kind"].isin(["hotspot", "district", "checkpoint", "booth"]).sum())
        b = g[g["place_kind"] == "break"]
        brk = f"break {b['arrive'].iloc[0]}–{b['depart'].iloc[0]}" if len(b) and "arrive" in b else ""
        out[(str(team), str(window))] = (n, brk)
    return out


def _route_label(team: str, mode: str, stops: int, brk: str = "") -> str:
    who = team if mode.lower() in team.lower() else f"{team} ({mode})"
    return f"{who}, {stops} stop{'' if stops == 1 else 's'}" + (f", {brk}" if brk else "")


def _n(count: Any, noun: str) -> str:
    count = int(count or 0)
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
