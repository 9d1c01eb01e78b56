"""``plan.gpkg``: every layer of a run in one GeoPackage (for QGIS / ArcGIS)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

if TYPE_CHECKING:
    from ..layers import Layers
    from ..network import RoadNetwork
    from ..coverage.plan import CoveragePlan
    from ..risk import RiskSurface

__all__ = ["write_gpkg"]


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


def write_gpkg(
    path: str | Path,
    *,
    network: RoadNetwork,
    layers: Layers | None = None,
    risk: RiskSurface | None = None,
    coverage: CoveragePlan | None = None,
    patrol: Any = None,
) -> Path:
    """Write the run's layers into one GeoPackage: ``streets``, ``risk`` (one feature per
    segment and window; filter on ``window``), ``risk_all_times`` and each input layer."""
    path = Path(path)
    streets = network.segments().reset_index()
    _plain(streets).to_file(path, layer="streets", driver="GPKG")
    if risk is not None:
        long = risk.table.merge(
            risk.segments[["name", "length_m", "priority", "geometry"]].reset_index(), on="segment_id", how="left"
        )
        _plain(gpd.GeoDataFrame(long, geometry="geometry", crs=risk.segments.crs)).to_file(
            path, layer="risk", driver="GPKG"
        )
        _plain(risk.for_window("*").reset_index()).to_file(path, layer="risk_all_times", driver="GPKG")
    if layers is not None:
        for kind, layer in layers.items():
            _plain(layer.gdf).to_file(path, layer=kind, driver="GPKG")
    if coverage is not None:
        if len(coverage.cameras_new):
            _plain(coverage.cameras_new).to_file(path, layer="cameras_new", driver="GPKG")
            views = gpd.GeoDataFrame(
                coverage.cameras_new[["site_id", "model", "heading_deg"]].reset_index(drop=True),
                geometry=coverage.views_new.reset_index(drop=True).values, crs=coverage.cameras_new.crs,
            )
            _plain(views).to_file(path, layer="camera_views_new", driver="GPKG")
        if coverage.views_existing is not None and len(coverage.views_existing):
            views = gpd.GeoDataFrame(geometry=coverage.views_existing.reset_index(drop=True).values, crs=coverage.views_existing.crs)
            _plain(views).to_file(path, layer="camera_views_existing", driver="GPKG")
        _plain(coverage.street_coverage(network).reset_index()).to_file(path, layer="coverage_streets", driver="GPKG")
        _plain(coverage.demand).to_file(path, layer="coverage_demand", driver="GPKG")
    if patrol is not None:
        _plain(patrol.beats.beats).to_file(path, layer="beats", driver="GPKG")
        for name, posts in (("checkpoints", patrol.checkpoints), ("booths", patrol.booths)):
            if posts is not None and len(posts.sites):
                _plain(posts.sites).to_file(path, layer=name, driver="GPKG")
        if len(patrol.route_lines):
            _plain(patrol.route_lines).to_file(path, layer="routes", driver="GPKG")
        if len(patrol.stops):
            _plain(patrol.stops).to_file(path, layer="route_stops", driver="GPKG")
        if len(patrol.hotspots):
            _plain(patrol.hotspots.drop(columns=["segments"])).to_file(path, layer="hotspots", driver="GPKG")
        if len(patrol.dropped) and len(patrol.hotspots):
            where = patrol.hotspots.set_index("hotspot_id").geometry
            d = patrol.dropped[patrol.dropped["place_id"].isin(where.index)]
            if len(d):
                gdf = gpd.GeoDataFrame(d, geometry=where.loc[d["place_id"]].to_numpy(), crs=patrol.hotspots.crs)
                _plain(gdf).to_file(path, layer="dropped_visits", driver="GPKG")
    return path
