"""Interactive briefing map: one self-contained HTML page that works with no network.

* **Offline**: Leaflet (and Leaflet.heat) are read from installed packages and inlined
  (:mod:`._assets`); the page is checked when it is rendered and rendering fails if
  anything would still be fetched. folium's default jQuery, Bootstrap and Font
  Awesome are not used.
* **Basemap**: the run's own streets and buildings, light grey, simplified and drawn
  on a canvas; ``tiles="osm"`` adds OpenStreetMap web tiles above that basemap for
  online users (the page renders the same without them).
* **Layers**: risk by window, districts, key sites, cameras and their views, street
  coverage, beats, checkpoints, booths, routes per window and each alternative plan,
  dropped visits, and a patrol clock (a time slider showing where each team is).
  Popups say why each choice was made.
* **Safety**: every string from input data is HTML-escaped here, and all data reaches
  the page as HTML-safe JSON.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import branca.element
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Template
from folium.map import Layer
from folium.plugins import HeatMap

from ._assets import asset_url, check_offline, inline_assets
from ._map_js import CLOCK, RUNTIME, RawMacro, geojson_text
from ._palette import (
    KEY_SITE_COLOUR,
    MODE_DASH_MAP,
    POST_STYLE,
    TEAM_PALETTE,
    team_colours,
)
from ._places import place_names, with_places

if TYPE_CHECKING:
    from ..coverage.plan import CoveragePlan
    from ..layers import Layers
    from ..network import RoadNetwork
    from ..patrol.plan import PatrolPlan
    from ..risk import RiskSurface
    from ..scenario import TimeWindow

__all__ = ["OSM_ATTRIBUTION", "make_map", "overlay_names"]

OSM_ATTRIBUTION = "© OpenStreetMap contributors"
WGS84 = "EPSG:4326"
DECIMALS = 6  # ~0.1 m: more digits only make the page bigger
MAJOR = {"motorway", "trunk", "primary", "secondary", "motorway_link", "trunk_link", "primary_link", "secondary_link"}
# team colours stay clear of the risk levels' red, orange, yellow and blue
TEAM_COLOURS = TEAM_PALETTE  # one palette for map, briefing, shift sheets and report (see ._palette)
COVERAGE_COLOURS = {"existing": "#1a9850", "new": "#00a6d6", "uncovered": "#8c8c8c"}

# styles (ours, never from input data); "shape" draws a DOM marker instead of a canvas circle
S_STREET = [{"color": "#c9c9c9", "weight": 1.0, "opacity": 1.0}, {"color": "#b3b3b3", "weight": 2.2, "opacity": 1.0}]
S_BUILDING = [{"color": "#d3d1cb", "weight": 0.5, "fillColor": "#e3e1da", "fillOpacity": 1.0, "opacity": 1.0}]
S_DISTRICT = [{"color": "#7b3294", "weight": 2, "fillColor": "#c2a5cf", "fillOpacity": 0.15}]
S_KEY_SITE = [{"shape": "star", "size": 18, "fillColor": KEY_SITE_COLOUR, "color": "#ffffff"}]
S_STATION = [{"shape": "diamond", "size": 13, "fillColor": "#1f1f7a", "color": "#ffffff"}]
S_CAMERA = [{"radius": 3, "color": "#2c7bb6", "weight": 1, "fillColor": "#2c7bb6", "fillOpacity": 1.0}]
S_CAMERA_NEW = [{"radius": 5, "color": "#005a78", "weight": 2, "fillColor": "#00a6d6", "fillOpacity": 1.0}]
S_VIEW = [{"color": "#1a9850", "weight": 0.5, "fillColor": "#1a9850", "fillOpacity": 0.22}]
S_VIEW_NEW = [{"color": "#00a6d6", "weight": 1, "fillColor": "#00a6d6", "fillOpacity": 0.32}]
S_COVERAGE = [
    {"color": COVERAGE_COLOURS["existing"], "weight": 3, "opacity": 0.9},
    {"color": COVERAGE_COLOURS["new"], "weight": 3, "opacity": 0.9},
    {"color": COVERAGE_COLOURS["uncovered"], "weight": 2, "opacity": 0.9, "dashArray": "4 4"},
]
S_BEAT = [{"color": "#222222", "weight": 2, "dashArray": "6 4", "fillColor": "#000000", "fillOpacity": 0.03}]
S_CHECKPOINT = [
    {"shape": "badge", "size": 14, "fillColor": POST_STYLE["checkpoint"]["fill"], "color": POST_STYLE["checkpoint"]["text"]}
]
S_BOOTH = [{"shape": "badge", "size": 14, "fillColor": POST_STYLE["booth"]["fill"], "color": POST_STYLE["booth"]["text"]}]
S_DROPPED = [
    {"radius": 9, "color": "#3a3a3a", "weight": 2.5, "dashArray": "3 3", "fill": True, "fillColor": "#ffffff", "fillOpacity": 0.6}
]
_BADGE_CLEAR_M = 120.0
"""Beat names on the map keep this far from checkpoint and booth badges where the beat allows."""
S_STAFFED = [{"radius": 13, "color": "#000000", "weight": 3.5, "fill": False}]
S_CUT = [
    {"radius": 6, "color": "#8c8c8c", "weight": 1.5, "dashArray": "2 3", "fill": True, "fillColor": "#ffffff", "fillOpacity": 0.4}
]


def _esc(value: object) -> str:
    """Escape a value from input data for display in HTML.

    Braces become character references too: folium (through branca) renders each
    element's script a second time as a Jinja template, so a name holding ``{{ … }}``
    or ``{% … %}`` would otherwise be evaluated while the page is written.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return html.escape(str(value), quote=True).replace("{", "&#123;").replace("}", "&#125;")


def _num(value: object, fmt: str = "g") -> str:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return _esc(value)
    return "" if v != v else format(v, fmt)


# --------------------------------------------------------------------------- page and elements
class _OfflineFigure(branca.element.Figure):
    """The page: rendering inlines the assets and fails if anything would come from the network."""

    def __init__(self, *, tiles_allowed: bool) -> None:
        super().__init__()
        self.tiles_allowed = tiles_allowed

    def render(self, **kwargs: Any) -> str:
        page = inline_assets(super().render(**kwargs))
        check_offline(page, tiles_allowed=self.tiles_allowed)
        return page


class _OfflineMap(folium.Map):
    """folium's Map with Leaflet alone, from an installed package (no jQuery, Bootstrap or icon fonts)."""

    default_js = [("leaflet", asset_url("leaflet.js"))]
    default_css = [("leaflet_css", asset_url("leaflet.css"))]


class _Heat(HeatMap, RawMacro):
    default_js = [("leaflet-heat.js", asset_url("leaflet-heat.js"))]


class _Script(RawMacro):
    """A piece of the page's own JavaScript, rendered with the map as ``this._parent``."""

    def __init__(self, code: str, **values: Any) -> None:
        super().__init__()
        self._name = "GeoengineScript"
        self._template = Template("{% macro script(this, kwargs) %}" + code + "{% endmacro %}")
        for k, v in values.items():
            setattr(self, k, v)


class _Vector(Layer, RawMacro):
    """A vector layer in the layer control, drawn by ``geoengine.vector`` from compact GeoJSON."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = geoengine.vector({{ this.key|tojson }}, {{ this.data_json }}, {{ this.opts|tojson }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        name: str,
        data: tuple[str, int],
        *,
        styles: list[dict[str, Any]],
        show: bool = True,
        interactive: bool = True,
        pane: str | None = None,
        order: str | None = None,
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "GeoengineVector"
        self.key = name
        self.data_json, self.n_features = data
        self.opts = {"styles": styles, "interactive": interactive, "pane": pane, "order": order}


class _Labels(RawMacro):
    """Place names drawn as text from ``min_zoom`` on (``geoengine.labels``); ``t`` is escaped HTML."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        geoengine.labels({{ this.key|tojson }}, {{ this.data_json }}, {{ this.min_zoom|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, key: str, data: tuple[str, int], *, min_zoom: int) -> None:
        super().__init__()
        self._name = "GeoengineLabels"
        self.key, self.min_zoom = key, min_zoom
        self.data_json, self.n_features = data


class _Group(Layer, RawMacro):
    """An empty layer group in the layer control, filled by a script (the patrol clock)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.layerGroup();
        {% endmacro %}
        """
    )

    def __init__(self, name: str, *, show: bool = True) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "GeoengineGroup"


class _Attribution(RawMacro):
    """Adds a fixed attribution to the map's attribution control."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "Attribution"
        self.text = text


class _Box(RawMacro):
    """A fixed box (title banner or legend) as a Leaflet control; ``html_text`` is built from escaped parts."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        geoengine.box({{ this.position|tojson }}, {{ this.cls|tojson }}, {{ this.html_text|tojson }}, {{ this.css|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, html_text: str, *, position: str, cls: str, css: str = "") -> None:
        super().__init__()
        self._name = "Box"
        self.html_text, self.position, self.cls, self.css = html_text, position, cls, css


# --------------------------------------------------------------------------- GeoJSON helpers
def _collection(geoms: Any, props: Sequence[dict[str, Any]] | None = None) -> tuple[str, int]:
    """A FeatureCollection of WGS84 geometries (coordinates rounded) as HTML-safe JSON text."""
    return geojson_text(geoms, props, decimals=DECIMALS)


def _to_wgs84(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> Any:
    return gdf.to_crs(WGS84) if gdf.crs is not None and not gdf.crs.equals(WGS84) else gdf


# --------------------------------------------------------------------------- the map
def make_map(
    network: RoadNetwork,
    layers: Layers | None = None,
    *,
    risk: RiskSurface | None = None,
    coverage: CoveragePlan | None = None,
    patrol: PatrolPlan | None = None,
    windows: Sequence[TimeWindow] | None = None,
    title: str = "geoengine",
    subtitle: str | None = None,
    tiles: str | None = None,
    response: Any = None,
) -> folium.Map:
    """Build the briefing map of a run; ``fmap.get_root().render()`` is one offline HTML page.

    Parameters
    ----------
    network
        The run's streets and buildings, drawn light grey as the basemap.
    layers
        Districts, key sites, cameras, stations and incidents (as heat).
    risk
        Streets coloured by risk level, with a time-window selector and hotspots outlined.
    coverage
        New and existing cameras with their views clipped by buildings, and which
        streets they cover.
    patrol, windows
        Beats, checkpoints, booths, routes per window, each alternative plan, dropped
        visits and the patrol clock (the scenario's time windows name the clock's windows).
    title, subtitle
        Shown in the banner; escaped here.
    tiles
        ``"osm"`` adds OpenStreetMap web tiles (shown only when online) above the basemap.
    response
        A :class:`geoengine.response.ResponseResult`: each tier's circle as the streets inside it
        most of the time (one layer per tier, off by default).
    """
    if tiles not in (None, "osm"):
        raise ValueError(f"tiles must be None or 'osm', not {tiles!r}")
    west, south, east, north = network.to_wgs84_bounds()
    fmap = _OfflineMap(
        location=[(south + north) / 2, (west + east) / 2],
        tiles=None,
        control_scale=False,
        prefer_canvas=True,
        font_size="0.75rem",
    )
    _OfflineFigure(tiles_allowed=tiles is not None).add_child(fmap)
    fmap.get_root().header.add_child(
        branca.element.Element(
            "<style>.leaflet-container{font:12px/1.4 sans-serif}.geoengine-icon{background:none;border:none}"
            ".geoengine-box summary{cursor:pointer;font-weight:bold}"
            ".leaflet-control-layers-expanded{max-width:300px}</style>"
        ),
        name="geoengine_css",
    )
    fmap.fit_bounds([[south, west], [north, east]])
    _Script(RUNTIME).add_to(fmap)

    _add_basemap(fmap, network)
    if tiles == "osm":
        folium.TileLayer(
            "OpenStreetMap",
            name="OpenStreetMap web tiles (online only)",
            attr=OSM_ATTRIBUTION,
            overlay=True,
            show=True,
            pane="webtiles",
        ).add_to(fmap)

    legend: list[str] = [
        "<div><b>Basemap</b>: the run's own streets and buildings</div>"
        if _has_buildings(network)
        else "<div><b>Basemap</b>: the run's own streets (the source has no buildings)</div>"
    ]
    synthetic_note = ""
    if layers is not None and layers.incidents is not None and len(layers.incidents.gdf):
        _add_incidents(fmap, layers, shown=risk is None)
        legend.append(_swatch("heat", "#f03b20", "Incidents (heat)" + (" — SYNTHETIC" if layers.incidents.synthetic else "")))
        if layers.incidents.synthetic:
            synthetic_note = "<br><b style='color:#b30000'>Incidents are SYNTHETIC (demo model), not real crime data.</b>"
    if risk is not None:
        from ._risk_layer import RiskLayer

        RiskLayer(risk).add_to(fmap)
    if layers is not None:
        legend += _add_layers(fmap, layers, coverage)
    if coverage is not None:
        legend += _add_coverage(fmap, network, coverage)
    initial = _busiest(risk, patrol) if patrol is not None else None
    circles, circles_legend = {}, []
    if response is not None:  # before the clock, which binds its layers to the time control
        circles, circles_legend = _add_response(fmap, network, response, initial=initial, clock=patrol is not None)
    if patrol is not None:
        legend += _add_patrol(fmap, network, patrol, windows or (), initial=initial, circles=circles)
    legend += circles_legend

    banner = f"<b style='font-size:14px'>{_esc(title)}</b>"
    if subtitle:
        banner += f"<br>{_esc(subtitle)}"
    _Box(banner + synthetic_note, position="topleft", cls="geoengine-banner", css="max-width:420px").add_to(fmap)
    _Box(
        "<details open><summary>Legend</summary>" + "".join(legend) + "</details>",
        position="topleft",
        cls="geoengine-legend",
        css="max-width:260px",
    ).add_to(fmap)
    _Attribution(OSM_ATTRIBUTION).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    return fmap


def _tier_order(response: Any) -> list[Any]:
    """The tiers, tightest first (as the legend and the drawing order read them)."""
    return sorted(response.settings.tiers, key=lambda t: (t.minutes, response.settings.tiers.index(t)))


def _share_text(v: Any) -> str:
    return "n/a" if v is None or v != v else f"{100 * float(v):.0f} %"


def _add_response(
    fmap: folium.Map, network: RoadNetwork, response: Any, *, initial: str | None = None, clock: bool = True
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Response circles, one layer per (tier, window): the streets whose two ends the tier's responders of
    that window (staffed checkpoints, the patrols where they are) reach within its minutes at least half
    of the window's minutes. The time control shows the window's own layers of the tiers switched on
    (the tightest tier at first); returns per window the clock's ``response`` layers and note, and the legend."""
    from ..response import TIER_COLOURS

    tiers = _tier_order(response)
    windows = [w.name for w in response.windows]
    initial = initial if initial in windows else (windows[0] if windows else None)
    table = response.table
    out: dict[str, dict[str, Any]] = {w: {"response": [], "response_note": []} for w in windows}
    legend = [
        "<div style='margin-top:4px'><b>Response circles</b>: streets reached within the minutes most of the "
        "window shown (darker = faster); share of the tier's demand within</div>"
    ]
    empty = [t for t in tiers if not len(response.demand.get(t.name, ()))]
    tiers = [t for t in tiers if t not in empty]
    n = len(tiers)
    for rank, tier in enumerate(tiers):
        colour = TIER_COLOURS[rank % len(TIER_COLOURS)]
        style = [
            {"color": colour, "weight": 5 + 5 * (n - 1 - rank), "opacity": 0.5, "lineCap": "round"},
            {"shape": "star", "size": 18, "fillColor": colour, "color": "#ffffff"},
            {"shape": "star", "size": 18, "fillColor": KEY_SITE_COLOUR, "color": "#ffffff"},
        ]
        demand = response.demand[tier.name]
        sites = tier.demand_kind == "key_sites" and len(demand)
        site_pts = _to_wgs84(demand.geometry).values if sites else []
        what = _esc(tier.name)
        for wname in windows:
            segs = response.covered_segments(network, tier.name, window=wname)
            row = table[(table["tier"] == tier.name) & (table["window"] == wname)]
            share = row["share_within"].iloc[0] if len(row) else None
            worst = row["worst_minute_share"].iloc[0] if len(row) else None
            at = row["worst_minute"].iloc[0] if len(row) else ""
            head = (
                f"<b>{_num(tier.minutes)} min circle ({_esc(tier.name)})</b>, {_esc(wname)}: "
                f"{_share_text(share)} of its demand within {_num(tier.minutes)} min on average"
                + (f", {_share_text(worst)} at the worst minute ({_esc(at)})" if worst is not None and worst == worst else "")
            )
            geoms = shapely.simplify(_to_wgs84(segs.geometry).values, 1e-5) if len(segs) else []
            props = [
                {
                    "t": f"{_esc(nm)}: inside the {_num(tier.minutes)} min circle ({_esc(tier.name)}) "
                    f"{100 * sh:.0f} % of the {_esc(wname)} window",
                    "p": head,
                }
                for nm, sh in zip(segs["name"].fillna("unnamed street"), segs["share"], strict=True)
            ]
            name = f"Response circle: {_esc(tier.name)}, {_num(tier.minutes)} min, {_esc(wname)} ({len(segs)} streets)"
            if sites:  # the tier's key sites: filled when inside the circle most of the window, hollow when not
                at_site = response.node_share_by_window.get((tier.name, wname), np.zeros(0))
                at_site = at_site[demand["pos"].to_numpy()] if len(at_site) else np.zeros(len(demand))
                geoms = [*site_pts, *geoms]  # first: bringing the layer to the back puts its last feature lowest
                props = [
                    {
                        "s": 1 if sh >= 0.5 else 2,
                        "p": head,
                        "t": f"{_esc(nm)}: inside the {_num(tier.minutes)} min circle {100 * sh:.0f} % of the {_esc(wname)} window",
                    }
                    for nm, sh in zip(demand["name"], at_site, strict=True)
                ] + props
                inside = int((at_site >= 0.5).sum())
                name = (
                    f"Response circle: {_esc(tier.name)}, {_num(tier.minutes)} min, {_esc(wname)} "
                    f"({inside} of {len(demand)} sites inside)"
                )
            shown = rank == 0 and wname == initial
            _Vector(name, geojson_text(geoms, props, decimals=5), styles=style, show=shown, order="back").add_to(fmap)
            out[wname]["response"].append(name)
            out[wname]["response_note"].append(
                f"<span style='color:{colour}'>&#9644;</span> {_num(tier.minutes)} min {_esc(tier.name)}: "
                f"{_share_text(share)} within (worst {_share_text(worst)}" + (f" at {_esc(at)})" if at else ")")
            )
        shares = table[table["tier"] == tier.name]
        per = ", ".join(f"{_esc(w)} {_share_text(v)}" for w, v in zip(shares["window"], shares["share_within"]))
        legend.append(
            _swatch("line", colour, f"{_num(tier.minutes)} min ({what}): {per}" + ("" if clock else " (a layer per window)"))
        )
        if sites:
            legend.append(
                f"<div><span style='color:{colour};font-size:15px;text-shadow:0 0 1px #000'>★</span>"
                f"<span style='color:{KEY_SITE_COLOUR};font-size:15px;margin:0 5px 0 0;text-shadow:0 0 1px #000'>★</span>"
                f"{what} inside / outside the {_num(tier.minutes)} min circle</div>"
            )
    legend += [f"<div style='color:#555'>{_num(t.minutes)} min ({_esc(t.name)}): no such demand, not drawn</div>" for t in empty]
    for wname in windows:
        notes = out[wname].pop("response_note")
        out[wname]["response_note"] = "Response circles " + _esc(wname) + ":<br>" + "<br>".join(notes)
    return out, legend


def overlay_names(fmap: folium.Map) -> list[str]:
    """The names the layer control lists, in order (for tests and checks)."""
    return [child.layer_name for child in fmap._children.values() if isinstance(child, Layer) and child.control]


def _swatch(kind: str, colour: str, label: str, *, dashed: bool = False, dash: str | None = None) -> str:
    """A legend row; ``label`` must already be escaped."""
    if kind == "line" and dash:
        return (
            f"<div><svg width='24' height='8' style='margin:0 6px 0 0'><line x1='0' y1='4' x2='24' y2='4' "
            f"stroke='{colour}' stroke-width='3' stroke-dasharray='{dash}'/></svg>{label}</div>"
        )
    if kind == "star":
        return (
            f"<div><span style='color:{colour};font-size:16px;margin:0 6px 0 1px;text-shadow:0 0 1px #000'>★</span>{label}</div>"
        )
    if kind == "badge":
        fill, text = colour.split("/")
        return (
            f"<div><span style='display:inline-block;background:{fill};color:{text};border:1px solid #000;"
            f"font:bold 10px sans-serif;padding:0 3px;margin:0 6px 0 0'>{label[:1]}1</span>{label}</div>"
        )
    if kind == "line":
        mark = f"width:22px;height:0;border-top:3px {'dashed' if dashed else 'solid'} {colour};margin:0 6px 3px 0"
    elif kind == "area":
        mark = f"width:16px;height:11px;border:2px {'dashed' if dashed else 'solid'} {colour};margin:0 8px -1px 2px"
    elif kind == "square":
        mark = f"width:11px;height:11px;background:{colour};margin:0 9px -1px 3px;box-shadow:0 0 1px #000"
    elif kind == "diamond":
        mark = f"width:10px;height:10px;background:{colour};margin:0 9px -1px 4px;transform:rotate(45deg)"
    elif kind == "heat":
        mark = "width:22px;height:11px;background:linear-gradient(90deg,#3b9cff,#7fff00,#ffd700,#ff2d00);margin:0 6px -1px 0"
    elif kind == "pause":
        return (
            f"<div><span style='display:inline-block;width:12px;height:12px;border:2px solid {colour};border-radius:50%;"
            f"margin:0 8px -3px 3px;background:linear-gradient(90deg,#fff 30%,{colour} 30%,{colour} 45%,#fff 45%,#fff 55%,"
            f"{colour} 55%,{colour} 70%,#fff 70%)'></span>{label}</div>"
        )
    elif kind == "ring":
        mark = f"width:12px;height:12px;border:2px dashed {colour};border-radius:50%;margin:0 8px -2px 3px"
    else:
        mark = f"width:10px;height:10px;background:{colour};border-radius:50%;margin:0 9px -1px 4px;box-shadow:0 0 1px #000"
    return f"<div><span style='display:inline-block;{mark}'></span>{label}</div>"


def _add_basemap(fmap: folium.Map, network: RoadNetwork) -> None:
    if _has_buildings(network):
        b = network.buildings.geometry
        tolerance = 0.5 if len(b) < 20_000 else 1.5
        b = _to_wgs84(gpd.GeoSeries(shapely.simplify(b.values, tolerance), crs=b.crs))
        _Vector("Buildings (basemap)", _collection(b), styles=S_BUILDING, interactive=False, pane="basemap").add_to(fmap)
    segs = network.segments()
    major = segs["highway"].isin(MAJOR).to_numpy()
    streets = _to_wgs84(gpd.GeoSeries(shapely.simplify(segs.geometry.values, 1.0), crs=segs.crs))
    _Vector(
        "Streets (basemap)",
        _collection(streets, [{"s": int(m)} for m in major]),
        styles=S_STREET,
        interactive=False,
        pane="basemap",
    ).add_to(fmap)


def _add_incidents(fmap: folium.Map, layers: Layers, *, shown: bool) -> None:
    assert layers.incidents is not None
    inc = _to_wgs84(layers.incidents.gdf)
    weights = inc["weight"].to_numpy(dtype=float) if "weight" in inc else np.ones(len(inc))
    # saturate only where many incidents overlap, whatever the layer's size
    weights = np.round(weights * float(np.clip(150.0 / max(len(inc), 1), 0.02, 1.0)), 4)
    data = np.column_stack([np.round(inc.geometry.y.values, 5), np.round(inc.geometry.x.values, 5), weights]).tolist()
    label = "Incidents (heat, SYNTHETIC)" if layers.incidents.synthetic else "Incidents (heat)"
    # Leaflet.heat's maxZoom (full intensity) is also read by the layer control, which would grey the
    # layer out when zoomed in further: use the map's own maximum and scale the intensity to match
    _Heat(data, name=label, radius=14, blur=16, min_opacity=0.25, max_zoom=18, max=0.125, show=shown).add_to(fmap)


def _add_layers(fmap: folium.Map, layers: Layers, coverage: CoveragePlan | None = None) -> list[str]:
    legend = []
    if layers.districts is not None and len(layers.districts.gdf):
        d = _to_wgs84(layers.districts.gdf)
        prio = d["priority"] if "priority" in d else pd.Series(np.nan, index=d.index)
        props = [{"t": f"<b>{_esc(n)}</b><br>key district, priority {_num(p)}"} for n, p in zip(d["name"], prio)]
        _Vector("Key districts", _collection(d.geometry, props), styles=S_DISTRICT, order="back").add_to(fmap)
        legend.append(_swatch("area", "#7b3294", "Key district"))
    if layers.key_sites is not None and len(layers.key_sites.gdf):
        ks = _to_wgs84(layers.key_sites.gdf)
        cat = ks["category"] if "category" in ks else pd.Series("", index=ks.index)
        prio = ks["priority"] if "priority" in ks else pd.Series(np.nan, index=ks.index)
        props = [
            {"t": _esc(n), "p": f"<b>{_esc(n)}</b><br>{_esc(c)}<br>priority {_num(p)}"} for n, c, p in zip(ks["name"], cat, prio)
        ]
        _Vector("Key sites", _collection(ks.geometry.representative_point(), props), styles=S_KEY_SITE, order="front").add_to(
            fmap
        )
        legend.append(_swatch("star", KEY_SITE_COLOUR, "Key site"))
    if layers.stations is not None and len(layers.stations.gdf):
        st = _to_wgs84(layers.stations.gdf)
        props = [{"t": _esc(n), "p": f"<b>{_esc(n)}</b><br>police station / patrol base"} for n in st["name"]]
        _Vector("Police stations / bases", _collection(st.geometry.representative_point(), props), styles=S_STATION).add_to(fmap)
        legend.append(_swatch("diamond", "#1f1f7a", "Police station / base"))
    planned = coverage.cameras_existing if coverage is not None else None
    if planned is not None and "adds" in planned and layers.cameras is not None and len(planned) == len(layers.cameras.gdf):
        cams = _to_wgs84(planned)  # as the plan used them: on the façade, with assumed heading, range, FOV
        props = [{"p": _existing_popup(row)} for row in cams.itertuples(index=False)]
        _Vector(
            f"Existing cameras ({len(cams)})",
            _collection(cams.geometry.representative_point(), props),
            styles=S_CAMERA,
            order="front",
            show=len(cams) <= 100,
        ).add_to(fmap)
        legend.append(_swatch("dot", "#2c7bb6", "Existing camera (click: what it adds)"))
    elif layers.cameras is not None and len(layers.cameras.gdf):
        cams = _to_wgs84(layers.cameras.gdf)
        props = []
        for row in cams.itertuples(index=False):
            heading = getattr(row, "heading_deg", np.nan)
            name = getattr(row, "name", "")
            props.append(
                {
                    "p": f"<b>Existing camera</b> {_esc(name)}<br>type {_esc(getattr(row, 'camera_type', ''))}"
                    + (f"<br>heading {heading:.0f}°" if isinstance(heading, (int, float)) and heading == heading else "")
                }
            )
        _Vector(
            f"Existing cameras ({len(cams)})",
            _collection(cams.geometry.representative_point(), props),
            styles=S_CAMERA,
            order="front",
            show=len(cams) <= 100,
        ).add_to(fmap)
        legend.append(_swatch("dot", "#2c7bb6", "Existing camera"))
    return legend


def _existing_popup(row: Any) -> str:
    """An existing camera as planned: id, type, heading/FOV/range (which assumed), mount, what it adds."""
    assumed = set(str(getattr(row, "assumed", "") or "").split(","))
    heading = getattr(row, "heading_deg", np.nan)
    mark = lambda f: " (assumed)" if f in assumed else ""  # noqa: E731
    look = "all round" if heading != heading else f"heading {heading:.0f}°{mark('heading')}"
    text = (
        f"<b>Existing camera {_esc(getattr(row, 'camera_id', ''))}</b> {_esc(getattr(row, 'name', '') or '')}"
        f"<br>{_esc(getattr(row, 'camera_type', ''))}, {look}, {_num(getattr(row, 'fov_deg', np.nan))}° field of view"
        f"{mark('fov')}, {_num(getattr(row, 'range_m', np.nan))} m{mark('range')}"
    )
    if bool(getattr(row, "moved", False)):
        text += f"<br>mapped inside a building: mounted on its façade facing the street ({_num(row.moved_m)} m away)"
    if not bool(getattr(row, "street_credit", True)):
        text += f"<br>{_num(getattr(row, 'street_m', np.nan))} m from the nearest street: no street credit"
    return text + f"<br>adds: {_esc(getattr(row, 'adds', ''))}"


def _has_buildings(network: RoadNetwork) -> bool:
    return network.buildings is not None and len(network.buildings) > 0


def _add_coverage(fmap: folium.Map, network: RoadNetwork, coverage: CoveragePlan) -> list[str]:
    legend = []
    if coverage.views_existing is not None and len(coverage.views_existing):
        views = _to_wgs84(gpd.GeoSeries(shapely.simplify(coverage.views_existing.values, 0.5), crs=coverage.views_existing.crs))
        _Vector(
            "Existing camera views", _collection(views), styles=S_VIEW, interactive=False, order="back", show=len(views) <= 100
        ).add_to(fmap)
        legend.append(_swatch("area", "#1a9850", "Existing camera view"))
    cams = coverage.cameras_new
    if len(cams):
        views = _to_wgs84(gpd.GeoSeries(shapely.simplify(coverage.views_new.values, 0.5), crs=coverage.views_new.crs))
        _Vector(
            "New camera views (clipped by buildings)", _collection(views), styles=S_VIEW_NEW, interactive=False, order="back"
        ).add_to(fmap)
        legend.append(
            _swatch("area", "#00a6d6", "New camera view (clipped by buildings)" if _has_buildings(network) else "New camera view")
        )

    streets = coverage.street_coverage(network)
    if len(streets):
        code = {"existing": 0, "new": 1, "uncovered": 2}
        props = [
            {
                "s": code[st],
                "t": f"<b>{_esc(n) or '(unnamed street)'}</b><br>{st}: {se * 100:.0f} % seen by existing "
                f"cameras, {sn * 100:.0f} % with the new ones",
            }
            for n, st, se, sn in zip(streets["name"], streets["status"], streets["seen_existing"], streets["seen"])
        ]
        geoms = _to_wgs84(gpd.GeoSeries(shapely.simplify(streets.geometry.values, 1.0), crs=streets.crs))
        _Vector(
            "Street camera coverage (green existing, cyan new, grey uncovered)",
            _collection(geoms, props),
            styles=S_COVERAGE,
            show=False,
        ).add_to(fmap)
        legend.append(_swatch("line", COVERAGE_COLOURS["existing"], "Street seen by existing cameras"))
        legend.append(_swatch("line", COVERAGE_COLOURS["new"], "Street seen only with new cameras"))
        legend.append(_swatch("line", COVERAGE_COLOURS["uncovered"], "Street not covered", dashed=True))

    if len(cams):
        pts = _to_wgs84(cams)
        props = []
        for rank, row in enumerate(pts.itertuples(index=False), start=1):
            heading = "all round" if row.heading_deg != row.heading_deg else f"heading {row.heading_deg:.0f}°"
            share = getattr(row, "added_share", np.nan)
            props.append(
                {
                    "t": f"New camera #{rank}",
                    "p": f"<b>New camera #{rank}</b> {_esc(getattr(row, 'camera_id', ''))} ({_esc(row.model)}, {heading}, {_num(row.fov_deg)}° field of view, "
                    f"{_num(row.range_m)} m)<br>site: {_esc(row.source)}"
                    + f"<br>why: {_esc(row.reason)}"
                    + (f" (its share of the risk coverage the new cameras add: {share * 100:.1f} %)" if share == share else ""),
                }
            )
        _Vector(f"New cameras ({len(cams)})", _collection(pts.geometry, props), styles=S_CAMERA_NEW, order="front").add_to(fmap)
        legend.append(_swatch("dot", "#00a6d6", "New camera (click: why)"))
    return legend


# --------------------------------------------------------------------------- patrols
def _add_patrol(
    fmap: folium.Map,
    network: RoadNetwork,
    patrol: PatrolPlan,
    windows: Sequence[TimeWindow],
    *,
    initial: str | None = None,
    circles: dict[str, dict[str, Any]] | None = None,
) -> list[str]:
    legend = []
    names = place_names(patrol, network)
    beats = patrol.beats.beats
    if len(beats):
        props = [
            {
                "t": f"<b>{_esc(n if str(n).lower().startswith('beat') else f'Beat {n}')}</b><br>{_num(km, '.3g')} km of street, "
                f"risk {_num(r, '.3g')} harm-weighted incidents over the incident history"
            }
            for n, km, r in zip(beats["name"], beats["street_km"], beats["risk"])
        ]
        geoms = _to_wgs84(gpd.GeoSeries(beats.geometry.values, crs=beats.crs))  # as in plan.gpkg and the briefing
        _Vector(f"Patrol beats ({len(beats)})", _collection(geoms, props), styles=S_BEAT, show=False, order="back").add_to(fmap)
        legend.append(_swatch("area", "#222222", "Patrol beat", dashed=True))
    _add_labels(fmap, patrol, names)
    for label, posts, styles, colour in (
        ("Checkpoints", patrol.checkpoints, S_CHECKPOINT, "#000000/#ffffff"),
        ("Police booths", patrol.booths, S_BOOTH, "#ffffff/#000000"),
    ):
        if posts is None or not len(posts.sites):
            continue
        pts = _to_wgs84(posts.sites)
        one = label[:-1]
        props = [
            {
                "t": f"{one} {_esc(getattr(r, 'post_id', ''))}",
                "b": _esc(getattr(r, "post_id", "")),
                "p": f"<b>{one} {_esc(getattr(r, 'post_id', ''))}</b> {_esc(names.get(str(getattr(r, 'post_id', '')), getattr(r, 'name', '')))}"
                f"<br>why: {_esc(getattr(r, 'reason', ''))}",
            }
            for r in pts.itertuples(index=False)
        ]
        _Vector(f"{label} ({len(pts)})", _collection(pts.geometry, props), styles=styles).add_to(fmap)
        legend.append(_swatch("badge", colour, f"{one} (click: why)"))

    stops = with_places(patrol.stops, names) if len(patrol.stops) else patrol.stops
    if not len(stops):
        return legend + _add_dropped(fmap, patrol, names, initial=initial) + _add_cut(fmap, patrol, names)
    teams = list(dict.fromkeys(sorted(stops["team"].astype(str))))
    colour = team_colours(teams)
    team_mode = {str(t): str(m) for t, m in zip(stops["team"], stops["mode"])}
    order = [w.name for w in windows if w.name in set(stops["window"])]
    order += [w for w in dict.fromkeys(stops["window"]) if w not in order]
    by_name = {w.name: w for w in windows}
    alternatives = [with_places(a, names) for a in patrol.alternatives if len(a)]
    legs = _Legs(network, [stops, *alternatives])

    lines = _to_wgs84(patrol.route_lines) if len(patrol.route_lines) else patrol.route_lines
    styles: list[dict[str, Any]] = []
    for t in teams:
        dash = MODE_DASH_MAP.get(team_mode.get(t, "car"))
        styles.append({"color": colour[t], "weight": 4, "opacity": 0.9, **({"dashArray": dash} if dash else {})})
        styles.append({"radius": 4, "color": colour[t], "weight": 1.5, "fillColor": "#ffffff", "fillOpacity": 1.0})
        styles.append({"color": colour[t], "weight": 3, "opacity": 0.55, "dashArray": "14 4 2 4"})
    for t in teams:  # a meal break: a DOM marker (white disc, pause bars in the team's colour)
        styles.append({"shape": "pause", "size": 16, "fillColor": "#ffffff", "color": colour[t]})
    team_ix = {t: i for i, t in enumerate(teams)}

    def stop_style(team: object, kind: object) -> int:
        k = team_ix.get(str(team), 0)
        return 3 * len(teams) + k if str(kind) == "break" else 3 * k + 1

    for k, wname in enumerate(order):
        w_lines = lines[lines["window"] == wname] if len(lines) else lines
        geoms = list(shapely.simplify(w_lines.geometry.values, 1e-5)) if len(w_lines) else []
        props = [
            {"s": 3 * team_ix[str(r.team)], "t": f"<b>{_esc(r.team)}</b> ({_esc(r.mode)}), {_esc(wname)}"}
            for r in w_lines.itertuples()
        ]
        w_stops = _to_wgs84(stops[stops["window"] == wname])
        w_stops = w_stops[w_stops["place_kind"] != "base"]
        geoms += list(w_stops.geometry.values)
        props += [
            {"s": stop_style(r.team, r.place_kind), "t": _stop_tooltip(r), "p": _stop_popup(r)} for r in w_stops.itertuples()
        ]
        shown = wname == initial if initial in order else k == 0
        _Vector(f"Routes: {_esc(wname)}", _collection(geoms, props), styles=styles, show=shown, order="front").add_to(fmap)
        for alt in alternatives:
            a = alt[alt["window"] == wname]
            if not len(a):
                continue
            n = int(a["alternative"].iloc[0])
            differs = float(a["differs_share"].iloc[0]) if "differs_share" in a else float("nan")
            geoms, props = [], []
            for (team, mode), g in a.groupby(["team", "mode"], sort=False):
                route = legs.route(g)
                geoms.append(
                    shapely.LineString([(x, y) for y, x in route["c"]])
                    if len(route["c"]) > 1
                    else shapely.Point(route["c"][0][::-1])
                )
                props.append(
                    {
                        "s": 3 * team_ix.get(str(team), 0) + 2,
                        "t": f"<b>{_esc(team)}</b> ({_esc(mode)}), {_esc(wname)}, alternative {n}",
                    }
                )
            pts = _to_wgs84(gpd.GeoDataFrame(a, geometry="geometry", crs=network.crs))
            pts = pts[pts["place_kind"] != "base"]
            geoms += list(pts.geometry.values)
            props += [
                {"s": stop_style(r.team, r.place_kind), "t": _stop_tooltip(r), "p": _stop_popup(r, alternative=n)}
                for r in pts.itertuples()
            ]
            name = f"Routes: {_esc(wname)}, alternative {n}" + (
                f" ({differs * 100:.0f} % of stops differ)" if differs == differs else ""
            )
            _Vector(name, _collection(geoms, props), styles=styles, show=False, order="front").add_to(fmap)

    legend.append(
        "<div style='margin-top:4px'><b>Teams</b> (line pattern: car solid, foot dotted, e-bike dashed; "
        "dash-dot: alternative plan)</div>"
    )
    legend += [
        _swatch("line", colour[t], f"{_esc(t)} ({_esc(team_mode.get(t, ''))})", dash=MODE_DASH_MAP.get(team_mode.get(t, "car")))
        for t in teams
    ]
    if (stops["place_kind"] == "break").any():
        legend.append(_swatch("pause", "#444444", "Meal break (click: when; in the clock: on break)"))
    legend += _add_dropped(fmap, patrol, names, initial=initial)
    legend += _add_cut(fmap, patrol, names)
    staffed, staffing_legend = _add_staffing(fmap, patrol, names, by_name, order, initial=initial)
    legend += staffing_legend

    # the patrol clock: the chosen plan and each alternative, window by window
    n_dropped = patrol.dropped["window"].astype(str).value_counts() if len(patrol.dropped) else pd.Series(dtype=int)
    plans = [
        {
            "label": "chosen plan",
            "windows": [
                {
                    **_clock_window(wname, by_name.get(wname), stops, legs, colour, n_dropped=int(n_dropped.get(wname, 0))),
                    **staffed.get(wname, {}),
                    **(circles or {}).get(wname, {}),
                }
                for wname in order
            ],
        }
    ]
    for n in sorted({int(a["alternative"].iloc[0]) for a in alternatives}):
        frames = {str(a["window"].iloc[0]): a for a in alternatives if int(a["alternative"].iloc[0]) == n}
        plans.append(
            {
                "label": f"alternative {n}",
                "windows": [
                    _clock_window(wname, by_name.get(wname), frames[wname], legs, colour)
                    if wname in frames
                    else {
                        **_clock_window(wname, by_name.get(wname), stops.iloc[0:0], legs, colour),
                        "note": "no alternative within the tolerance in this window",
                    }
                    for wname in order
                ],
            }
        )
    group = _Group("Patrols at the selected time (clock)", show=True)
    group.add_to(fmap)
    first = next(iter((circles or {}).values()), {}).get("response", [])
    clock = _Script(
        CLOCK.replace("{{ this.get_name() }}", group.get_name()),
        plans=plans,
        initial=order.index(initial) if initial in order else 0,
        tiers_on=[k == 0 for k in range(len(first))],
    )
    clock.add_to(fmap)
    return legend


def _add_labels(fmap: folium.Map, patrol: PatrolPlan, names: dict[str, str]) -> None:
    """Beat names from zoom 14, hotspot names (id and street) from zoom 17 (denser, they would overprint)."""
    beats = patrol.beats.beats
    if len(beats):
        names = beats["name"] if "name" in beats else beats["beat"]
        pts = _to_wgs84(gpd.GeoSeries(_beat_label_points(patrol), crs=beats.crs))
        _Labels("labels: beats", _collection(pts, [{"t": _esc(n), "k": "beat"} for n in names]), min_zoom=14).add_to(fmap)
    hs = patrol.hotspots
    if len(hs):
        text = []
        for hid in hs["hotspot_id"].astype(str):
            n = _street_of(names.get(hid, ""))
            text.append({"t": _esc(f"{hid} {n}".strip() if n != hid else hid), "k": "hotspot"})
        pts = _to_wgs84(gpd.GeoSeries(hs.geometry.representative_point().values, crs=hs.crs))
        _Labels("labels: hotspots", _collection(pts, text), min_zoom=17).add_to(fmap)


def _beat_label_points(patrol: PatrolPlan) -> list[Any]:
    """Where to name each beat: deep inside its area, away from the posts' badges (as on the briefing)."""
    from shapely.ops import polylabel

    beats = patrol.beats.beats
    badges = [
        p.sites.to_crs(beats.crs).geometry.values for p in (patrol.checkpoints, patrol.booths) if p is not None and len(p.sites)
    ]
    avoid = shapely.union_all(shapely.buffer(np.concatenate(badges), _BADGE_CLEAR_M)) if badges else None
    out = []
    for geom in beats.geometry.values:
        parts = shapely.get_parts(geom)
        main = max(parts, key=lambda g: g.area) if len(parts) else geom
        free = main.difference(avoid) if avoid is not None else main
        if not free.is_empty and free.area > 0.15 * main.area:
            main = max(shapely.get_parts(free), key=lambda g: g.area)
        try:
            out.append(polylabel(main, tolerance=max(main.length / 500, 1.0)))
        except Exception:  # noqa: BLE001 - odd geometry: any inside point will do
            out.append(main.representative_point())
    return out


def _busiest(risk: RiskSurface | None, patrol: PatrolPlan) -> str | None:
    """The window the map opens on: the one with the most risk (as the briefing), else the first planned."""
    if risk is not None and len(risk.table):
        totals = risk.table.groupby("window", sort=False)["risk"].sum()
        names = risk.window_names
        return str(max(names, key=lambda w: (float(totals.get(w, 0.0)), -names.index(w))))
    return str(patrol.stops["window"].iloc[0]) if len(patrol.stops) else None


def _street_of(place: str) -> str:
    """The street of a block's name ("Stockton St between Clay St and Washington St" → "Stockton St")."""
    return place.split(" between ", 1)[0].split(" at ", 1)[0]


def _place_label(r: Any) -> str:
    """A stop's place as a planner says it: "H3 Stockton St between Clay St and Washington St", the district's
    or the base's name, never a raw id."""
    pid = str(r.place_id)
    place = getattr(r, "place", None)
    if isinstance(place, str) and place and place != pid and str(getattr(r, "place_kind", "")) != "break":
        return f"{pid} {place}" if str(getattr(r, "place_kind", "")) == "hotspot" else place
    name = getattr(r, "place_name", None)
    name = "" if name is None or pd.isna(name) else str(name)
    if ":" in pid:
        return name or pid.split(":", 1)[1]
    return name if name.startswith(pid) else f"{pid} {name}".strip()


def _stop_tooltip(r: Any) -> str:
    if str(r.place_kind) == "break":
        return f"{_esc(r.team)}: meal break {_esc(r.arrive)}–{_esc(r.depart)}"
    return f"{_esc(r.team)}: {_esc(_place_label(r))} {_esc(r.arrive)}"


def _stop_popup(r: Any, *, alternative: int | None = None) -> str:
    kind = _esc(r.place_kind)
    level = f"{_esc(r.risk_level)} " if isinstance(r.risk_level, str) and r.risk_level else ""
    head = f"<b>{_esc(r.team)}</b> ({_esc(r.mode)}) stop {int(r.seq)}" + (f", alternative {alternative}" if alternative else "")
    name = getattr(r, "place_name", None)
    name = "" if name is None or (isinstance(name, float) and name != name) else str(name)
    if str(r.place_kind) == "break":
        return (
            f"<b>{_esc(r.team)}</b> ({_esc(r.mode)}): meal break {_esc(r.arrive)}–{_esc(r.depart)}"
            + (f", alternative {alternative}" if alternative else "")
            + f"<br>{_esc(name or 'meal break')} ({_num(r.dwell_min)} min, {_esc(r.window)})"
        )
    why = {
        "hotspot": f"a {level}hotspot: a visit of about {_num(r.dwell_min)} min deters when it recurs in time",
        "district": "key district: presence needed in this window",
        "checkpoint": "checkpoint",
        "booth": "police booth",
    }.get(str(r.place_kind), kind)
    beat = getattr(r, "beat", None)
    beat_text = ""
    try:
        if beat is not None and beat is not pd.NA and beat == beat:
            beat_text = f", beat {int(beat)}"
    except (TypeError, ValueError):
        beat_text = ""
    place = _esc(_place_label(r))
    return (
        f"{head}<br>{place}{beat_text} — {why}<br>{_esc(r.window)}: arrive {_esc(r.arrive)}, leave {_esc(r.depart)} "
        f"({_num(r.dwell_min)} min), {_num(r.travel_min_from_prev)} min from the previous stop"
    )


CAUSE_WORDS = {
    "time_used": "team time used",
    "no_team_allocated": "no team allocated to its beat",
    "no_team_on_shift": "no team on shift",
    "unreachable": "unreachable in time",
    "cut_by_max_hotspots": "left out by max_hotspots_per_window",
}


def _add_dropped(
    fmap: folium.Map, patrol: PatrolPlan, places: dict[str, str] | None = None, *, initial: str | None = None
) -> list[str]:
    """Dropped visits, one layer per window: the time control shows the window's own."""
    dropped = patrol.dropped
    if not len(dropped):
        return []
    where: dict[str, Any] = {}
    if len(patrol.hotspots):
        where.update(zip(patrol.hotspots["hotspot_id"], _to_wgs84(patrol.hotspots.geometry).representative_point()))
    if len(patrol.stops):
        s = _to_wgs84(patrol.stops.drop_duplicates("place_id"))
        for pid, g in zip(s["place_id"], s.geometry):
            where.setdefault(pid, g)
    names = _place_names(patrol, places)
    first, missing = True, 0
    for wname, wd in dropped.groupby("window", sort=False):
        geoms, props, unplaced = [], [], 0
        for pid, g in wd.groupby("place_id", sort=False):
            if pid not in where:
                unplaced += len(g)
                continue
            place = _esc(names.get(str(pid), pid))
            rows = [
                f"visit {_visit_no(r.visit)} ({_esc(r.earliest)}–{_esc(r.latest)}): "
                f"<b>{_esc(CAUSE_WORDS.get(str(getattr(r, 'cause', '')), getattr(r, 'cause', '')))}</b> — {_esc(_reason(r))}"
                for r in g.head(12).itertuples()
            ]
            more = f"<br>… and {len(g) - 12} more" if len(g) > 12 else ""
            geoms.append(where[pid])
            props.append(
                {
                    "t": f"{len(g)} dropped visit{'s' if len(g) != 1 else ''} at {place} ({_esc(wname)})",
                    "p": f"<b>Dropped visits at {place}</b>, {_esc(wname)} ({len(g)})<br>" + "<br>".join(rows) + more,
                }
            )
        shown = str(wname) == initial if initial in set(dropped["window"].astype(str)) else first
        _Vector(
            _dropped_name(str(wname), len(wd)), _collection(geoms, props), styles=S_DROPPED, show=shown, order="front"
        ).add_to(fmap)
        first = False
        missing += unplaced
    return [
        _swatch(
            "ring",
            "#3a3a3a",
            "Dropped visit in the window shown (click: cause and why)" + (f"; {missing} without a location" if missing else ""),
        )
    ]


def _add_staffing(
    fmap: folium.Map,
    patrol: PatrolPlan,
    names: dict[str, str],
    windows: dict[str, TimeWindow],
    order: Sequence[str],
    *,
    initial: str | None = None,
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The checkpoints a crew staffs, one layer per window (the time control shows the window's
    own); returns per window the clock's ``posts`` layer and ``staffed`` text, and the legend."""
    alloc = getattr(patrol, "allocation", None)
    table = getattr(alloc, "checkpoints", None) if alloc is not None else None
    cps = patrol.checkpoints
    if table is None or not len(table) or cps is None or not len(cps.sites):
        return {}, []
    where = dict(zip(cps.sites["post_id"].astype(str), _to_wgs84(cps.sites).geometry.values, strict=True))
    out: dict[str, dict[str, Any]] = {}
    first = True
    for wname in order:
        rows = table[(table["window"].astype(str) == wname) & table["staffed"].astype(bool)]
        ids = [str(c) for c in rows["checkpoint"] if str(c) in where]
        w = windows.get(wname)
        span = f" ({w.start}–{w.end})" if w is not None else ""
        props = [
            {
                "t": f"Checkpoint {_esc(c)} {_esc(names.get(c, ''))}: staffed {_esc(wname)}{_esc(span)}",
                "p": f"<b>Checkpoint {_esc(c)}</b> {_esc(names.get(c, ''))}<br>a crew staffs it for the whole "
                f"{_esc(wname)} window{_esc(span)}",
            }
            for c in ids
        ]
        layer = f"Checkpoints staffed: {_esc(wname)} ({len(ids)} of {len(where)})"
        shown = wname == initial if initial in order else first
        _Vector(layer, _collection([where[c] for c in ids], props), styles=S_STAFFED, show=shown, order="front").add_to(fmap)
        first = False
        out[wname] = {"posts": layer, "staffed": "Checkpoints staffed: " + (_esc(", ".join(ids)) if ids else "none")}
    return out, [_swatch("ring", "#000000", "Checkpoint staffed in the window shown (black ring)")]


def _dropped_name(window: str, n: int) -> str:
    """The layer of a window's dropped visits (the time control switches it with the window)."""
    return f"Dropped visits: {_esc(window)} ({n})"


def _place_names(patrol: PatrolPlan, places: dict[str, str] | None = None) -> dict[str, str]:
    """Place id → the name a planner uses ("H3 Stockton St between …"), from ``places``
    (:func:`~geoengine.export._places.place_names`), the stops and the hotspots."""
    out: dict[str, str] = {}
    for pid, n in (places or {}).items():
        if n and n != pid:
            out[pid] = f"{pid} {n}" if pid in set(patrol.hotspots.get("hotspot_id", pd.Series(dtype=str)).astype(str)) else n
    hs = patrol.hotspots
    if len(hs) and "name" in hs:
        for pid, n in zip(hs["hotspot_id"].astype(str), hs["name"]):
            if isinstance(n, str) and n and n != pid:
                out[pid] = f"{pid} {n}"
    if len(patrol.stops) and "place_name" in patrol.stops:
        for pid, n in zip(patrol.stops["place_id"].astype(str), patrol.stops["place_name"]):
            if pid not in out and isinstance(n, str) and n and n != pid:
                out[pid] = n if n.startswith(pid) or ":" in pid else f"{pid} {n}"
    return out


def _reason(r: Any) -> str:
    """The reason without the cause it repeats ("team time used: car-1 could make it …" → "car-1 could make it …")."""
    text = str(r.reason)
    words = CAUSE_WORDS.get(str(getattr(r, "cause", "")), "")
    return text[len(words) + 1 :].strip() if words and text.lower().startswith(words + ":") else text


def _visit_no(visit: Any) -> str:
    try:
        return str(int(visit) + 1)
    except (TypeError, ValueError):
        return "?"


def _add_cut(fmap: folium.Map, patrol: PatrolPlan, places: dict[str, str] | None = None) -> list[str]:
    """Hotspots left out by ``max_hotspots_per_window`` (off by default): where, and in which windows."""
    cut = getattr(patrol, "cut", None)
    if cut is None or not len(cut) or not len(patrol.hotspots):
        return []
    where = dict(zip(patrol.hotspots["hotspot_id"].astype(str), _to_wgs84(patrol.hotspots.geometry).representative_point()))
    geoms, props = [], []
    for pid, g in cut.groupby("place_id", sort=False):
        if str(pid) not in where:
            continue
        rows = [f"{_esc(r.window)}: {_esc(r.level)}, risk {_num(r.risk, '.3g')}" for r in g.itertuples()]
        geoms.append(where[str(pid)])
        place = _esc(f"{pid} {(places or {}).get(str(pid), '')}".strip())
        props.append(
            {
                "t": f"{place}: left out in {len(g)} window{'s' if len(g) != 1 else ''}",
                "p": f"<b>{place}</b>: not planned in {len(g)} window{'s' if len(g) != 1 else ''} — not among the "
                f"riskiest hotspots kept (patrol.max_hotspots_per_window)<br>" + "<br>".join(rows),
            }
        )
    if not geoms:
        return []
    _Vector(
        f"Hotspots left out by max_hotspots_per_window ({len(geoms)})",
        _collection(geoms, props),
        styles=S_CUT,
        show=False,
        order="front",
    ).add_to(fmap)
    return [_swatch("ring", "#8c8c8c", "Hotspot left out by max_hotspots_per_window (layer off by default)")]


class _Legs:
    """Each team's way along the streets, leg by leg, for the clock and the alternative plans.

    The travel matrices are the planner's own (:func:`geoengine.patrol.travel.travel_matrix`),
    one per mode over every place that any plan visits.
    """

    def __init__(self, network: RoadNetwork, frames: Iterable[pd.DataFrame]) -> None:
        from pyproj import Transformer

        from ..patrol.travel import travel_matrix

        self._to_wgs84 = Transformer.from_crs(network.crs, WGS84, always_xy=True)
        places: dict[str, dict[tuple[float, float], int]] = {}
        points: dict[str, list[Any]] = {}
        for f in frames:
            for mode, g in f.groupby("mode"):
                idx = places.setdefault(str(mode), {})
                for p in g.geometry:
                    key = (round(p.x, 3), round(p.y, 3))
                    if key not in idx:
                        idx[key] = len(idx)
                        points.setdefault(str(mode), []).append(p)
        self._index = places
        self._matrix = {
            mode: travel_matrix(network, gpd.GeoSeries(pts, crs=network.crs), mode=mode) for mode, pts in points.items()
        }

    def route(self, g: pd.DataFrame) -> dict[str, Any]:
        """``c`` [[lat, lon]], ``d`` metres along the way at each vertex, ``s`` [[arrive_s, depart_s, metres, label,
        on_break]] (``on_break`` 1 for a meal break row)."""
        g = g.sort_values("seq")
        mode = str(g["mode"].iloc[0])
        idx, matrix = self._index[mode], self._matrix[mode]
        coords: list[tuple[float, float]] = []
        stops, at = [], []
        prev = None
        for r in g.itertuples():
            i = idx[(round(r.geometry.x, 3), round(r.geometry.y, 3))]
            if prev is None:
                coords.append((r.geometry.x, r.geometry.y))
            elif i != prev:
                pts = list(shapely.simplify(matrix.path(prev, i), 1.0).coords)
                coords.extend(pts[1:] if pts and pts[0] == coords[-1] else pts)
            prev = i
            at.append(len(coords) - 1)
            if r.place_kind == "break":
                label = _esc(getattr(r, "place_name", None) or "meal break")
            else:
                label = _esc(_place_label(r)) + (f" ({_esc(r.place_kind)})" if r.place_kind != "hotspot" else "")
            stops.append([int(r.arrive_s), int(r.depart_s), 0.0, label, 1 if r.place_kind == "break" else 0])
        xy = np.asarray(coords)
        cum = np.r_[0.0, np.cumsum(np.hypot(*np.diff(xy, axis=0).T))] if len(xy) > 1 else np.zeros(len(xy))
        for stop, k in zip(stops, at):
            stop[2] = round(float(cum[k]), 1)
        lon, lat = self._to_wgs84.transform(xy[:, 0], xy[:, 1])
        c = np.column_stack([np.round(lat, DECIMALS), np.round(lon, DECIMALS)]).tolist()
        return {"c": c, "d": np.round(cum, 1).tolist(), "s": stops}


def _clock_window(
    name: str, w: TimeWindow | None, stops: pd.DataFrame, legs: _Legs, colour: dict[str, str], *, n_dropped: int = 0
) -> dict[str, Any]:
    s = stops[stops["window"] == name] if len(stops) else stops
    if w is not None:
        start, length = w.start_min, w.duration_min
        label = f"{_esc(name)} ({w.start}–{w.end})"
    else:
        start = 0
        length = int(np.ceil(s["depart_s"].max() / 60)) if len(s) else 60
        label = _esc(name)
    teams = []
    for (team, mode), g in s.groupby(["team", "mode"], sort=True):
        route = legs.route(g)
        teams.append({"team": _esc(team), "mode": _esc(mode), "colour": colour.get(str(team), "#000000"), **route})
    return {
        "name": _esc(name),
        "label": label,
        "start_min": int(start),
        "length_min": int(max(length, 1)),
        "teams": teams,
        "routes": f"Routes: {_esc(name)}",
        "dropped": _dropped_name(name, n_dropped) if n_dropped else None,
    }
