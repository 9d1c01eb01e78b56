"""Demand points: what the cameras should see.

Coverage is measured on points: every ``spacing_m`` metres along every street
(:func:`street_demand`) and along the outline of every key site
(:func:`key_site_demand`); :func:`combine_demand` stacks the frames, numbers the points
and flags the ones inside must-cover areas. Every frame has the columns

``demand_id``
    0..n-1 within the frame (renumbered by :func:`combine_demand`).
``kind``
    ``"street"`` or ``"key_site"``.
``segment_id``
    The street the point lies on (``-1`` for key-site points).
``weight``
    What seeing the point is worth; a street's (or an outline's) weight is split evenly
    over its points, so the weights of a street's points sum to the street's weight.
``key_site``
    The key site's name (``None`` for street points).

All geometry is in the network's projected metric CRS.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from ..errors import CRSMismatchError, LayerError

__all__ = ["DEMAND_COLUMNS", "combine_demand", "key_site_demand", "points_along", "street_demand"]

logger = logging.getLogger(__name__)

DEMAND_COLUMNS: tuple[str, ...] = ("demand_id", "kind", "segment_id", "weight", "key_site", "geometry")
OPTIONAL_COLUMNS: tuple[str, ...] = ("tier",)
"""Kept by :func:`combine_demand` when some frame has them: ``tier``, the quality tier a point asks for."""


def points_along(lines: np.ndarray, spacing_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Evenly spaced points along each line, about ``spacing_m`` apart, at least one per line.

    A line of length ``L`` gets ``n = max(1, round(L / spacing_m))`` points at
    ``(k + 0.5) · L / n`` (k = 0..n-1): the first half a step from the start, the last
    half a step from the end, each point standing for ``L / n`` metres.

    Returns ``(line_index, k, offset_m, points)``, one entry per point.
    """
    lines = np.asarray(lines, dtype=object)
    length = shapely.length(lines)
    length = np.where(np.isfinite(length), length, 0.0)
    n = np.maximum(1, np.round(length / spacing_m)).astype(np.int64)
    n[shapely.is_missing(lines) | shapely.is_empty(lines)] = 0
    line_index = np.repeat(np.arange(len(lines)), n)
    starts = np.cumsum(n) - n
    k = np.arange(len(line_index)) - np.repeat(starts, n)
    offset = (k + 0.5) * (length[line_index] / n[line_index])
    points = shapely.line_interpolate_point(lines[line_index], offset)
    return line_index, k, offset, points


def _check_metric(crs: pyproj.CRS | str | None, what: str) -> pyproj.CRS:
    if crs is None:
        raise CRSMismatchError.single(f"{what} has no CRS", field="crs", hint="set the CRS of the layer")
    crs = pyproj.CRS(crs)
    if not crs.is_projected:
        raise CRSMismatchError.single(
            f"{what} is in {crs.name}, not a projected CRS in metres",
            field="crs",
            hint="reproject it to the network's CRS (gdf.to_crs(network.crs))",
        )
    return crs


def _frame(
    kind: str, segment_id: np.ndarray, weight: np.ndarray, key_site: np.ndarray, points: np.ndarray, crs: pyproj.CRS
) -> gpd.GeoDataFrame:
    n = len(points)
    return gpd.GeoDataFrame(
        {
            "demand_id": np.arange(n, dtype=np.int64),
            "kind": np.full(n, kind, dtype=object),
            "segment_id": np.asarray(segment_id, dtype=np.int64),
            "weight": np.asarray(weight, dtype=float),
            "key_site": np.asarray(key_site, dtype=object),
        },
        geometry=gpd.GeoSeries(points, crs=crs).values,
        crs=crs,
    )


def street_demand(
    network: object,
    *,
    spacing_m: float = 10.0,
    segment_weight: pd.Series | None = None,
) -> gpd.GeoDataFrame:
    """Demand points every ``spacing_m`` metres along every street of ``network``.

    Each street (``network.segments()``) gets at least one point; its points are evenly
    spaced (see :func:`points_along`). ``segment_weight`` (indexed by ``segment_id``,
    e.g. risk per street) is split evenly over the street's points; streets missing
    from it get weight 0. Without it a point's weight is the street length it stands
    for, in metres.
    """
    if not spacing_m > 0:
        raise ValueError(f"spacing_m must be > 0, got {spacing_m!r}")
    segs = network.segments()  # type: ignore[attr-defined]
    crs = _check_metric(segs.crs, "the network")
    geoms = segs.geometry.to_numpy()
    line_index, _, _, points = points_along(geoms, spacing_m)
    seg_ids = segs.index.to_numpy(dtype=np.int64)[line_index]
    per_line = np.bincount(line_index, minlength=len(segs)).astype(float)
    if segment_weight is None:
        total = shapely.length(geoms)
    else:
        total = pd.Series(segment_weight, dtype=float).reindex(segs.index).fillna(0.0).to_numpy()
        if (total < 0).any():
            raise ValueError("segment_weight has negative values")
    weight = total[line_index] / per_line[line_index]
    out = _frame("street", seg_ids, weight, np.full(len(points), None, dtype=object), points, crs)
    logger.debug("street demand: %d points on %d streets every %.1f m", len(out), len(segs), spacing_m)
    return out


def key_site_demand(
    key_sites: gpd.GeoDataFrame,
    *,
    spacing_m: float = 10.0,
    weight_per_m: float = 1.0,
) -> gpd.GeoDataFrame:
    """Demand points on key sites: along polygon outlines every ``spacing_m``, or the point itself.

    A polygon's outline (every ring, holes included) gets evenly spaced points, each
    weighted ``weight_per_m × (outline metres it stands for) × priority``; a point site is
    one demand point weighted ``weight_per_m × spacing_m × priority`` (as one outline
    point). ``priority`` defaults to 1, ``name`` to ``"Key site <row>"``.
    """
    if not spacing_m > 0:
        raise ValueError(f"spacing_m must be > 0, got {spacing_m!r}")
    if not weight_per_m >= 0:
        raise ValueError(f"weight_per_m must be ≥ 0, got {weight_per_m!r}")
    crs = _check_metric(key_sites.crs, "the key sites layer")
    geoms = key_sites.geometry.to_numpy()
    n_sites = len(key_sites)
    names = (
        key_sites["name"].astype(object).to_numpy()
        if "name" in key_sites
        else np.array([f"Key site {i + 1}" for i in range(n_sites)], dtype=object)
    )
    priority = (
        pd.to_numeric(key_sites["priority"], errors="coerce").fillna(1.0).to_numpy(dtype=float)
        if "priority" in key_sites
        else np.ones(n_sites)
    )
    types = shapely.get_type_id(geoms)
    polygonal = np.isin(types, (3, 6))  # Polygon, MultiPolygon
    pointlike = np.isin(types, (0, 4))  # Point, MultiPoint
    other = ~(polygonal | pointlike) & ~shapely.is_missing(geoms)
    if other.any():
        raise LayerError.single(f"{int(other.sum())} key sites are neither points nor polygons", field="key_sites.geometry")

    # polygon outlines: every ring as its own line
    poly_rows = np.flatnonzero(polygonal & ~shapely.is_empty(geoms))
    rings, ring_owner = shapely.get_parts(shapely.boundary(geoms[poly_rows]), return_index=True)
    ring_site = poly_rows[ring_owner]
    line_index, _, _, outline_pts = points_along(rings, spacing_m)
    ring_len = shapely.length(rings)
    per_ring = np.bincount(line_index, minlength=len(rings)).astype(float)
    outline_site = ring_site[line_index]
    outline_w = weight_per_m * ring_len[line_index] / per_ring[line_index] * priority[outline_site]

    # point sites (a multipoint gives one point per part)
    pt_rows = np.flatnonzero(pointlike & ~shapely.is_empty(geoms))
    pts, pt_owner = shapely.get_parts(geoms[pt_rows], return_index=True)
    pt_site = pt_rows[pt_owner]
    pt_w = weight_per_m * spacing_m * priority[pt_site]

    site = np.concatenate([outline_site, pt_site]).astype(np.int64)
    order = np.argsort(site, kind="stable")
    points = np.concatenate([outline_pts, pts])[order]
    weight = np.concatenate([outline_w, pt_w])[order]
    site = site[order]
    out = _frame("key_site", np.full(len(points), -1), weight, names[site], points, crs)
    if "tier" in key_sites:  # the quality tier the site asks for (e.g. recognise at an entrance)
        tier = key_sites["tier"].astype(object).to_numpy()
        out["tier"] = [None if t is None or t != t or not str(t).strip() else str(t).strip() for t in tier[site]]
    logger.debug("key-site demand: %d points on %d sites", len(out), n_sites)
    return out


def combine_demand(*frames: gpd.GeoDataFrame, must_cover: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Stack demand frames, renumber ``demand_id`` 0..n-1 and add ``must_cover``.

    ``must_cover`` is True for points inside (or on the edge of) any polygon of the
    ``must_cover`` layer. All frames and the layer must share one CRS.
    """
    frames = tuple(f for f in frames if f is not None)
    if not frames:
        raise ValueError("combine_demand needs at least one demand frame")
    crs = _check_metric(frames[0].crs, "the demand")
    for f in frames[1:]:
        if f.crs is None or not pyproj.CRS(f.crs).equals(crs):
            raise CRSMismatchError.single(
                "demand frames are in different CRSs", field="crs", hint="reproject them to the network's CRS"
            )
    extra = [c for c in OPTIONAL_COLUMNS if any(c in f for f in frames)]
    out = pd.concat([f.reindex(columns=[*DEMAND_COLUMNS, *extra]) for f in frames], ignore_index=True)
    for c in extra:
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=crs)
    out["demand_id"] = np.arange(len(out), dtype=np.int64)
    flag = np.zeros(len(out), dtype=bool)
    if must_cover is not None and len(must_cover):
        mc_crs = _check_metric(must_cover.crs, "the must-cover layer")
        if not mc_crs.equals(crs):
            raise CRSMismatchError.single(
                f"the must-cover layer is in {mc_crs.name}, the demand in {crs.name}",
                field="crs",
                hint="reproject it to the network's CRS (gdf.to_crs(network.crs))",
            )
        polys = must_cover.geometry.to_numpy()
        polys = polys[np.isin(shapely.get_type_id(polys), (3, 6))]
        if len(polys):
            tree = shapely.STRtree(polys)
            hit, _ = tree.query(out.geometry.to_numpy(), predicate="intersects")
            flag[np.unique(hit)] = True
    out["must_cover"] = flag
    return out
