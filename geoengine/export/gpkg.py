"""``plan.gpkg``: every layer of a run in one GeoPackage (for QGIS / ArcGIS), and GeoJSON.

Layers (each written when the run has it, each with the network's metric CRS):

========================  ==========================================================
``streets``               the street segments of the network
``risk``                  one feature per segment and window (filter on ``window``)
``risk_all_times``        one feature per segment, risk over all times of day
input layers              ``incidents``, ``districts``, ``key_sites``, ``stations``,
                          ``cameras`` as read (after cleaning)
``cameras_existing``      existing cameras as the plan used them: stable ``camera_id``, ``heading_deg``,
                          ``range_m``, ``fov_deg`` with ``assumed`` saying which were assumed, the
                          façade mount (``moved``, ``orig_x``/``orig_y`` where it was mapped),
                          ``street_m``/``street_credit`` and what it adds (``adds``)
``cameras_new``           new cameras with stable ``camera_id``, model, heading and why
``camera_views_new``      their view polygons, clipped by buildings (with ``camera_id``)
``camera_views_existing`` the existing cameras' views (with ``camera_id``)
``coverage_pairs``        which camera covers which demand point: ``demand_id``, ``camera_id``,
                          ``camera_kind``, ``distance_m``, ``bearing_deg``, ``credit``; the sight line
``coverage_streets``      per segment: share seen before/after the new cameras
``coverage_demand``       demand points with their credit before/after
``beats``                 patrol beats: ``beat`` 1…K as in their names ("Beat 1"), ``risk`` the
                          sum of their streets' risk (harm-weighted incidents over the incident history)
``checkpoints``/``booths``  chosen posts with the reason
``routes``                one line per team and window
``route_stops``           every stop with arrival/departure, meal breaks included (``place_kind`` break),
                          ``place`` its human name ("Stockton St between Clay St and Washington St")
``hotspots``              patrol hotspots with ``place`` and ``beat`` (1…K)
``dropped_visits``        every visit not in the plan with its ``cause`` and reason (at the hotspot or
                          district), and the hotspots cut by ``max_hotspots_per_window``
``teams``                 ``teams.csv``: each team's shift per window (minutes of travel, dwell,
                          break, idle), at its base
========================  ==========================================================

:func:`write_geojson` copies every layer into ``folder/<layer>.geojson`` in WGS84
(RFC 7946), for web tools that do not read GeoPackage.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from ._places import beats_table, hotspots_table, place_names, with_places

if TYPE_CHECKING:
    from ..coverage.plan import CoveragePlan
    from ..layers import Layers
    from ..network import RoadNetwork
    from ..risk import RiskSurface

__all__ = ["write_geojson", "write_gpkg"]


def _plain(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Columns GeoPackage can store: datetimes as ISO text, objects as text, booleans as 0/1."""
    out = gdf.copy()
    for column in out.columns:
        if column == out.geometry.name:
            continue
        s = out[column]
        if pd.api.types.is_datetime64_any_dtype(s):
            out[column] = s.dt.strftime("%Y-%m-%dT%H:%M:%S").where(s.notna(), None)
        elif pd.api.types.is_bool_dtype(s):
            out[column] = s.astype("int8")
        elif s.dtype == object or isinstance(s.dtype, pd.StringDtype):
            out[column] = s.astype(object).where(s.notna(), None).map(lambda v: v if v is None else str(v))
    return out


def _dropped_visits(patrol: Any, districts: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """Every visit not in the plan with its checked ``cause`` (``dropped_visits.csv``): the visits
    routing could not fit, placed at their hotspot or at their district (``district:NAME``),
    and the hotspots cut by ``max_hotspots_per_window``, at the hotspot."""
    d = patrol.dropped_table() if hasattr(patrol, "dropped_table") else patrol.dropped
    if not len(d):
        return None
    crs = patrol.hotspots.crs if len(patrol.hotspots) else patrol.beats.beats.crs
    where: dict[str, Any] = {}
    if len(patrol.hotspots):
        where.update(zip(patrol.hotspots["hotspot_id"].astype(str), patrol.hotspots.geometry.values, strict=True))
    if districts is not None and len(districts) and "name" in districts:
        for name, geom in zip(districts["name"].astype(str), districts.to_crs(crs).geometry.values, strict=True):
            where.setdefault(f"district:{name}", geom.representative_point())
    if len(patrol.stops):  # a place some team visits elsewhere in the plan (e.g. a district without polygon)
        s = patrol.stops[patrol.stops["place_kind"] != "break"].to_crs(crs)
        for pid, geom in zip(s["place_id"].astype(str), s.geometry.values, strict=True):
            where.setdefault(pid, geom)
    d = d[d["place_id"].astype(str).isin(where)]
    if not len(d):
        return None
    geometry = [where[str(p)] for p in d["place_id"]]
    out = gpd.GeoDataFrame(d.reset_index(drop=True), geometry=geometry, crs=crs)
    for c in ("visit", "beat", "earliest_s", "latest_s"):  # nullable integers: GeoPackage integers with NULL
        if c in out:
            out[c] = out[c].astype("float64").astype("Int64")
    return out


def _teams(patrol: Any, stations: gpd.GeoDataFrame | None, crs: Any) -> gpd.GeoDataFrame | None:
    """``teams.csv`` as a layer: each team's shift per window, at its base (the route's first stop,
    or its row of ``stations``)."""
    t = patrol.team_summary() if hasattr(patrol, "team_summary") else None
    if t is None or not len(t):
        return None
    where: dict[tuple[str, str], Any] = {}
    s = patrol.stops
    if len(s):
        base = s[s["place_kind"] == "base"].sort_values("seq", kind="stable").drop_duplicates(["team", "window"])
        base = base.to_crs(crs)
        where.update(zip(zip(base["team"].astype(str), base["window"].astype(str)), base.geometry.values, strict=True))
    by_team = patrol.teams.set_index(["team", "window"]) if len(patrol.teams) else None
    geoms = []
    for r in t.itertuples():
        g = where.get((str(r.team), str(r.window)))
        if g is None and stations is not None and by_team is not None and (r.team, r.window) in by_team.index:
            k = by_team.loc[(r.team, r.window), "base"]
            if isinstance(k, pd.Series):
                k = k.iloc[0]
            try:
                g = stations.to_crs(crs).geometry.iloc[int(k)]
            except (IndexError, TypeError, ValueError):
                g = None
        geoms.append(g)
    return gpd.GeoDataFrame(t.reset_index(drop=True), geometry=geoms, crs=crs)


def write_gpkg(
    path: str | Path,
    *,
    network: RoadNetwork,
    layers: Layers | None = None,
    risk: RiskSurface | None = None,
    coverage: CoveragePlan | None = None,
    patrol: Any = None,
) -> Path:
    """Write the run's layers (see the module docstring) into one GeoPackage."""
    path = Path(path)

    def put(gdf: gpd.GeoDataFrame | None, layer: str) -> None:
        if gdf is None or not len(gdf):
            return
        if gdf.crs is None:  # pragma: no cover - every stage result carries a CRS
            gdf = gdf.set_crs(network.crs)
        _plain(gdf).to_file(path, layer=layer, driver="GPKG")

    put(network.segments().reset_index(), "streets")
    if risk is not None:
        long = risk.table.merge(
            risk.segments[["name", "length_m", "priority", "geometry"]].reset_index(), on="segment_id", how="left"
        )
        put(gpd.GeoDataFrame(long, geometry="geometry", crs=risk.segments.crs), "risk")
        put(risk.for_window("*").reset_index(), "risk_all_times")
    if layers is not None:
        for kind, layer in layers.items():
            put(layer.gdf, kind)
    if coverage is not None:
        put(coverage.cameras_existing, "cameras_existing")
        put(coverage.cameras_new, "cameras_new")
        if len(coverage.cameras_new):
            put(
                gpd.GeoDataFrame(
                    coverage.cameras_new[
                        [c for c in ("camera_id", "site_id", "model", "heading_deg") if c in coverage.cameras_new]
                    ].reset_index(drop=True),
                    geometry=coverage.views_new.reset_index(drop=True).values,
                    crs=coverage.cameras_new.crs,
                ),
                "camera_views_new",
            )
        if coverage.views_existing is not None and len(coverage.views_existing):
            put(
                gpd.GeoDataFrame(
                    {"camera_id": coverage.cameras_existing["camera_id"].to_numpy()}
                    if coverage.cameras_existing is not None and "camera_id" in coverage.cameras_existing
                    else None,
                    geometry=coverage.views_existing.reset_index(drop=True).values,
                    crs=coverage.views_existing.crs,
                ),
                "camera_views_existing",
            )
        put(coverage.street_coverage(network).reset_index(), "coverage_streets")
        put(coverage.demand, "coverage_demand")
        if hasattr(coverage, "coverage_pairs"):
            put(coverage.coverage_pairs(), "coverage_pairs")
    if patrol is not None:
        put(beats_table(patrol), "beats")
        for name, posts in (("checkpoints", patrol.checkpoints), ("booths", patrol.booths)):
            if posts is not None:
                put(posts.sites, name)
        put(patrol.route_lines, "routes")
        names = place_names(patrol, network)
        put(with_places(patrol.stops, names), "route_stops")
        if len(patrol.hotspots):
            put(hotspots_table(patrol, names), "hotspots")
        districts = layers.districts.gdf if layers is not None and layers.districts is not None else None
        put(_dropped_visits(patrol, districts), "dropped_visits")
        stations = layers.stations.gdf if layers is not None and layers.stations is not None else None
        put(_teams(patrol, stations, patrol.stops.crs if len(patrol.stops) else network.crs), "teams")
    return path


def write_geojson(gpkg: str | Path, folder: str | Path) -> dict[str, Path]:
    """Copy every layer of ``gpkg`` into ``folder/<layer>.geojson`` (WGS84, RFC 7946)."""
    import pyogrio

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for name, _ in pyogrio.list_layers(gpkg):
        gdf = pyogrio.read_dataframe(gpkg, layer=name)
        out = folder / f"{name}.geojson"
        gdf.to_crs("EPSG:4326").to_file(out, driver="GeoJSON", engine="pyogrio", layer_options={"RFC7946": "YES"})
        written[str(name)] = out
    return written
