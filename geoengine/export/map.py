"""Interactive briefing map (folium).

Layers are drawn from the run's own data: streets and buildings form the basemap, so
the map is readable without web tiles; an OpenStreetMap tile layer can be switched on
when online. Every string that comes from input data is HTML-escaped before it is
shown in a popup or tooltip.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import MacroElement, Template
from folium.plugins import HeatMap

if TYPE_CHECKING:
    from ..layers import Layers
    from ..network import RoadNetwork
    from ..coverage.plan import CoveragePlan
    from ..risk import RiskSurface

__all__ = ["OSM_ATTRIBUTION", "make_map"]

OSM_ATTRIBUTION = "© OpenStreetMap contributors"
WGS84 = "EPSG:4326"

STREET_STYLE = {"color": "#6b6b6b", "weight": 1.2, "opacity": 0.8}
MAJOR = {"motorway", "trunk", "primary", "secondary", "motorway_link", "trunk_link", "primary_link", "secondary_link"}


def _esc(value: object) -> str:
    """Escape a value from input data for display in HTML."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return html.escape(str(value), quote=True)


class _Attribution(MacroElement):
    """Adds a fixed attribution (and an optional notice) to the map's attribution control."""

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


class _Banner(MacroElement):
    """A fixed title box in the top-left corner (text is escaped by the caller)."""

    _template = Template(
        """
        {% macro html(this, kwargs) %}
        <div class="geoengine-banner" style="position:fixed;top:10px;left:60px;z-index:9999;
             background:rgba(255,255,255,0.92);padding:6px 10px;border-radius:4px;
             font:14px/1.3 sans-serif;box-shadow:0 1px 4px rgba(0,0,0,0.3);max-width:60%">
          {{ this.html_text }}
        </div>
        {% endmacro %}
        """
    )

    def __init__(self, html_text: str) -> None:
        super().__init__()
        self._name = "Banner"
        self.html_text = html_text


def _streets(network: RoadNetwork) -> gpd.GeoDataFrame:
    segs = network.segments()
    out = gpd.GeoDataFrame(
        {
            "name": segs["name"].map(_esc).values,
            "highway": segs["highway"].map(_esc).values,
            "length_m": segs["length_m"].round(0).values,
            "major": segs["highway"].isin(MAJOR).values,
        },
        geometry=segs.geometry.simplify(1.0).values,
        crs=network.crs,
    )
    return out.to_crs(WGS84)


def make_map(
    network: RoadNetwork,
    layers: Layers | None = None,
    *,
    risk: RiskSurface | None = None,
    coverage: CoveragePlan | None = None,
    patrol: Any = None,
    windows: Any = None,
    title: str = "geoengine",
    subtitle: str | None = None,
    tiles: str | None = None,
) -> folium.Map:
    """Build the briefing map of a run's network and layers.

    Parameters
    ----------
    network
        The run's streets (and buildings, drawn as the basemap).
    layers
        Districts, key sites, cameras, stations and incidents (as heat).
    risk
        Streets coloured by risk level, with a time-window selector and hotspots outlined.
    coverage
        New and existing cameras with their views clipped by buildings, and which
        streets they cover.
    title, subtitle
        Shown in the banner; escaped here.
    tiles
        ``"osm"`` adds OpenStreetMap web tiles (needs internet) as an optional base layer.
    """
    west, south, east, north = network.to_wgs84_bounds()
    fmap = folium.Map(location=[(south + north) / 2, (west + east) / 2], tiles=None, control_scale=True, prefer_canvas=True)
    fmap.fit_bounds([[south, west], [north, east]])
    if tiles == "osm":
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap tiles (online)", attr=OSM_ATTRIBUTION, show=False).add_to(fmap)

    if network.buildings is not None and len(network.buildings):
        b = network.buildings[["geometry"]].copy()
        b["geometry"] = b.geometry.simplify(0.5)
        folium.GeoJson(
            b.to_crs(WGS84).to_json(drop_id=True),
            name="Buildings",
            style_function=lambda _: {"color": "#b5b5b5", "weight": 0.5, "fillColor": "#d9d9d9", "fillOpacity": 0.7},
            interactive=False,
        ).add_to(fmap)

    streets = _streets(network)
    folium.GeoJson(
        streets.to_json(drop_id=True),
        name="Streets",
        style_function=lambda f: {
            **STREET_STYLE,
            "weight": 2.5 if f["properties"]["major"] else 1.2,
            "color": "#4d4d4d" if f["properties"]["major"] else "#8c8c8c",
        },
        tooltip=folium.GeoJsonTooltip(fields=["name", "highway"], aliases=["Street", "Type"]),
    ).add_to(fmap)

    if risk is not None:
        from ._risk_layer import RiskLayer

        group = folium.FeatureGroup(name="Risk level by time window", show=True)
        group.add_to(fmap)
        RiskLayer(risk, group).add_to(fmap)

    synthetic_note = ""
    if layers is not None:
        _add_layers(fmap, layers, heat_shown=risk is None)
        if layers.incidents is not None and layers.incidents.synthetic:
            synthetic_note = "<br><b style='color:#b30000'>Incidents are SYNTHETIC (demo model), not real crime data.</b>"

    if coverage is not None:
        _add_coverage(fmap, network, coverage)
    if patrol is not None:
        _add_patrol(fmap, patrol, windows or ())

    banner = f"<b>{_esc(title)}</b>"
    if subtitle:
        banner += f"<br>{_esc(subtitle)}"
    _Banner(banner + synthetic_note).add_to(fmap)
    _Attribution(OSM_ATTRIBUTION).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    return fmap


def _add_layers(fmap: folium.Map, layers: Layers, *, heat_shown: bool = True) -> None:
    if layers.incidents is not None and len(layers.incidents.gdf):
        inc = layers.incidents.gdf.to_crs(WGS84)
        weights = inc["weight"].to_numpy(dtype=float) if "weight" in inc else np.ones(len(inc))
        # saturate only where many incidents overlap, whatever the layer's size
        weights = weights * float(np.clip(150.0 / max(len(inc), 1), 0.02, 1.0))
        data = np.column_stack([inc.geometry.y.values, inc.geometry.x.values, weights]).round(6).tolist()
        label = "Incidents (heat, SYNTHETIC)" if layers.incidents.synthetic else "Incidents (heat)"
        HeatMap(data, name=label, radius=14, blur=16, min_opacity=0.25, max_zoom=15, show=heat_shown).add_to(fmap)

    if layers.districts is not None:
        d = layers.districts.gdf
        gdf = gpd.GeoDataFrame(
            {
                "name": d["name"].map(_esc).values,
                "priority": d["priority"].values if "priority" in d else 1.0,
            },
            geometry=d.geometry.values,
            crs=d.crs,
        ).to_crs(WGS84)
        folium.GeoJson(
            gdf.to_json(drop_id=True),
            name="Key districts",
            style_function=lambda _: {"color": "#7b3294", "weight": 2, "fillColor": "#c2a5cf", "fillOpacity": 0.25},
            tooltip=folium.GeoJsonTooltip(fields=["name", "priority"], aliases=["District", "Priority"]),
        ).add_to(fmap)

    if layers.key_sites is not None:
        group = folium.FeatureGroup(name="Key sites")
        ks = layers.key_sites.gdf.to_crs(WGS84)
        pts = ks.geometry.representative_point()
        for (name, cat, prio), p in zip(ks[["name", "category", "priority"]].itertuples(index=False), pts):
            popup = f"<b>{_esc(name)}</b><br>{_esc(cat)}<br>priority {_esc(prio)}"
            folium.CircleMarker(
                [p.y, p.x], radius=5, color="#d7191c", weight=1.5, fill=True, fill_color="#fdae61", fill_opacity=0.9,
                popup=folium.Popup(popup, max_width=250), tooltip=_esc(name),
            ).add_to(group)
        group.add_to(fmap)

    if layers.cameras is not None:
        group = folium.FeatureGroup(name="Existing cameras")
        cams = layers.cameras.gdf.to_crs(WGS84)
        for row, p in zip(cams.itertuples(index=False), cams.geometry):
            heading = getattr(row, "heading_deg", np.nan)
            popup = (
                f"<b>Existing camera</b> {_esc(getattr(row, 'name', ''))}<br>type {_esc(getattr(row, 'camera_type', ''))}"
                + (f"<br>heading {heading:.0f}°" if heading == heading else "")
            )
            folium.CircleMarker(
                [p.y, p.x], radius=3, color="#2c7bb6", fill=True, fill_opacity=1.0, popup=folium.Popup(popup, max_width=250)
            ).add_to(group)
        group.add_to(fmap)

    if layers.stations is not None:
        group = folium.FeatureGroup(name="Police stations / bases")
        st = layers.stations.gdf.to_crs(WGS84)
        for name, p in zip(st["name"], st.geometry):
            folium.Marker(
                [p.y, p.x], tooltip=_esc(name), popup=folium.Popup(f"<b>{_esc(name)}</b>", max_width=250),
                icon=folium.Icon(color="darkblue", icon="star"),
            ).add_to(group)
        group.add_to(fmap)


COVERAGE_COLOURS = {"existing": "#1a9850", "new": "#00a6d6", "uncovered": "#8c8c8c"}


def _add_coverage(fmap: folium.Map, network: RoadNetwork, coverage: CoveragePlan) -> None:
    streets = coverage.street_coverage(network).to_crs(WGS84)
    streets = gpd.GeoDataFrame(
        {
            "name": streets["name"].map(_esc).values,
            "status": streets["status"].values,
            "seen": (streets["seen"] * 100).round(0).values,
            "seen_existing": (streets["seen_existing"] * 100).round(0).values,
        },
        geometry=streets.geometry.simplify(1e-5).values,
        crs=WGS84,
    )
    folium.GeoJson(
        streets.to_json(drop_id=True),
        name="Street camera coverage (green existing, cyan new, grey uncovered)",
        show=False,
        style_function=lambda f: {
            "color": COVERAGE_COLOURS[f["properties"]["status"]],
            "weight": 3,
            "opacity": 0.9,
            "dashArray": "4 4" if f["properties"]["status"] == "uncovered" else None,
        },
        tooltip=folium.GeoJsonTooltip(
            fields=["name", "status", "seen_existing", "seen"],
            aliases=["Street", "Coverage", "% seen by existing", "% seen with new"],
        ),
    ).add_to(fmap)

    if coverage.views_existing is not None and len(coverage.views_existing):
        views = gpd.GeoDataFrame(geometry=coverage.views_existing.values, crs=coverage.views_existing.crs).to_crs(WGS84)
        folium.GeoJson(
            views.to_json(drop_id=True),
            name="Existing camera views",
            style_function=lambda _: {"color": "#1a9850", "weight": 0.5, "fillColor": "#1a9850", "fillOpacity": 0.25},
            interactive=False,
        ).add_to(fmap)

    cams = coverage.cameras_new
    if len(cams):
        views = gpd.GeoDataFrame(geometry=coverage.views_new.values, crs=coverage.views_new.crs).to_crs(WGS84)
        folium.GeoJson(
            views.to_json(drop_id=True),
            name="New camera views (clipped by buildings)",
            style_function=lambda _: {"color": "#00a6d6", "weight": 1, "fillColor": "#00a6d6", "fillOpacity": 0.35},
            interactive=False,
        ).add_to(fmap)
        group = folium.FeatureGroup(name=f"New cameras ({len(cams)})")
        pts = cams.to_crs(WGS84)
        for rank, (row, p) in enumerate(zip(pts.itertuples(index=False), pts.geometry), start=1):
            heading = "all round" if row.heading_deg != row.heading_deg else f"heading {row.heading_deg:.0f}°"
            popup = (
                f"<b>New camera #{rank}</b> ({_esc(row.model)}, {heading}, {row.fov_deg:g}° FOV, {row.range_m:g} m)"
                f"<br>site: {_esc(row.source)}<br>why: {_esc(row.reason)}"
            )
            folium.CircleMarker(
                [p.y, p.x], radius=5, color="#005a78", weight=2, fill=True, fill_color="#00a6d6", fill_opacity=1.0,
                popup=folium.Popup(popup, max_width=320), tooltip=f"New camera #{rank}",
            ).add_to(group)
        group.add_to(fmap)


TEAM_COLOURS = ("#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#a65628", "#f781bf", "#1b9e77", "#d95f02", "#7570b3")
PLAN_DAY = "2026-01-05"  # a nominal Monday: the slider shows clock times only


def _add_patrol(fmap: folium.Map, patrol: Any, windows: Any) -> None:
    from folium.plugins import TimestampedGeoJson

    beats = patrol.beats.beats.to_crs(WGS84)
    b = gpd.GeoDataFrame(
        {
            "beat": beats["name"].map(_esc).values,
            "workload": beats["workload"].round(0).values,
            "street_km": beats["street_km"].round(2).values,
            "compactness": beats["compactness"].round(2).values,
        },
        geometry=beats.geometry.simplify(1e-5).values,
        crs=WGS84,
    )
    folium.GeoJson(
        b.to_json(drop_id=True),
        name=f"Patrol beats ({len(b)})",
        show=False,
        style_function=lambda _: {"color": "#222222", "weight": 2, "dashArray": "6 4", "fillOpacity": 0.03},
        tooltip=folium.GeoJsonTooltip(fields=["beat", "workload", "street_km", "compactness"],
                                      aliases=["Beat", "Workload", "Street km", "Compactness"]),  # fmt: skip
    ).add_to(fmap)
    for label, posts, colour in (("Checkpoints", patrol.checkpoints, "#67000d"), ("Police booths", patrol.booths, "#08306b")):
        if posts is None or not len(posts.sites):
            continue
        group = folium.FeatureGroup(name=f"{label} ({len(posts.sites)})")
        pts = posts.sites.to_crs(WGS84)
        for row, p in zip(pts.itertuples(index=False), pts.geometry):
            popup = f"<b>{label[:-1]}</b> {_esc(getattr(row, 'name', ''))}<br>why: {_esc(getattr(row, 'reason', ''))}"
            folium.Marker(
                [p.y, p.x],
                icon=folium.DivIcon(
                    html=f"<div style='width:12px;height:12px;background:{colour};border:2px solid #fff;"
                    "box-shadow:0 0 2px #000'></div>",
                    icon_size=(16, 16), icon_anchor=(8, 8),
                ),
                popup=folium.Popup(popup, max_width=300), tooltip=_esc(label[:-1]),
            ).add_to(group)
        group.add_to(fmap)

    teams = sorted(patrol.stops["team"].unique()) if len(patrol.stops) else []
    colour = {t: TEAM_COLOURS[i % len(TEAM_COLOURS)] for i, t in enumerate(teams)}
    starts = {w.name: w.start_min for w in windows}
    lines = patrol.route_lines.to_crs(WGS84) if len(patrol.route_lines) else patrol.route_lines
    stops = patrol.stops.to_crs(WGS84) if len(patrol.stops) else patrol.stops
    for k, wname in enumerate(dict.fromkeys(stops["window"]) if len(stops) else []):
        group = folium.FeatureGroup(name=f"Routes: {_esc(wname)}", show=k == 0)
        for row in lines[lines["window"] == wname].itertuples():
            folium.PolyLine(
                [(y, x) for x, y in row.geometry.coords], color=colour[row.team], weight=3, opacity=0.85,
                tooltip=f"{_esc(row.team)} ({_esc(row.mode)}) — {_esc(wname)}",
            ).add_to(group)
        for row, p in zip(stops[stops["window"] == wname].itertuples(), stops[stops["window"] == wname].geometry):
            if row.place_kind == "base":
                continue
            popup = (
                f"<b>{_esc(row.team)}</b> stop {row.seq}: {_esc(row.place_id)} ({_esc(row.place_kind)}"
                + (f", {_esc(row.risk_level)}" if isinstance(row.risk_level, str) else "")
                + f")<br>arrive {row.arrive}, leave {row.depart} ({row.dwell_min:g} min)"
            )
            folium.CircleMarker(
                [p.y, p.x], radius=4, color=colour[row.team], fill=True, fill_opacity=1.0,
                popup=folium.Popup(popup, max_width=300),
            ).add_to(group)
        group.add_to(fmap)

    if len(patrol.dropped) and len(patrol.hotspots):
        where = patrol.hotspots.set_index("hotspot_id").to_crs(WGS84).geometry
        group = folium.FeatureGroup(name=f"Dropped visits ({len(patrol.dropped)})", show=False)
        for row in patrol.dropped.itertuples():
            if row.place_id not in where.index:
                continue
            p = where.loc[row.place_id]
            folium.CircleMarker(
                [p.y, p.x], radius=6, color="#555555", weight=2, fill=False, dash_array="2 2",
                popup=folium.Popup(f"<b>Dropped visit</b> {_esc(row.place_id)} ({_esc(row.window)}, visit {row.visit + 1})"
                                   f"<br>why: {_esc(row.reason)}", max_width=300),  # fmt: skip
            ).add_to(group)
        group.add_to(fmap)

    # the time slider: each stop appears from arrival to departure, clock times over the day
    features = []
    for row, p in zip(stops.itertuples(), stops.geometry) if len(stops) else []:
        origin = pd.Timestamp(PLAN_DAY) + pd.Timedelta(minutes=starts.get(row.window, 0))
        t0 = origin + pd.Timedelta(seconds=int(row.arrive_s))
        t1 = origin + pd.Timedelta(seconds=max(int(row.depart_s), int(row.arrive_s) + 60))
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(p.x, 6), round(p.y, 6)]},
                "properties": {
                    "times": [t0.isoformat(), t1.isoformat()],
                    "popup": f"{_esc(row.team)}: {_esc(row.place_id)} {row.arrive}–{row.depart}",
                    "icon": "circle",
                    "iconstyle": {"fillColor": colour.get(row.team, "#000"), "fillOpacity": 0.9, "stroke": "true",
                                  "radius": 6 if row.place_kind != "base" else 4},  # fmt: skip
                },
            }
        )
    if features:
        TimestampedGeoJson(
            {"type": "FeatureCollection", "features": features},
            period="PT5M", duration="PT10M", transition_time=200, auto_play=False, add_last_point=False,
            loop=False, date_options="HH:mm", time_slider_drag_update=True,
        ).add_to(fmap)
