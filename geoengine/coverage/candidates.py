"""Candidate camera sites: intersections, poles along the kerb, and sites the planner lists.

:func:`candidate_sites` returns one row per site with ``site_id`` (0..n-1),
``source`` (``"intersection"``, ``"pole"`` or ``"listed"``), ``segment_id`` (the street
a pole stands on, ``-1`` otherwise), ``name`` and ``geometry`` (in the network CRS).

Poles stand every ``pole_spacing_m`` along each street, set back sideways from the
centreline to the kerb (alternating sides); the setback follows the highway class
(:data:`SETBACK_M`) unless one is given. Sites inside a building or an exclusion zone
are dropped (a pole that would stand in a building is first tried on the other side
of the street); sites closer than :data:`DEDUPE_M` to a kept one are dropped, keeping
listed sites first, then intersections, then poles.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from ..errors import CRSMismatchError, LayerError
from .demand import points_along

__all__ = ["DEDUPE_M", "DEFAULT_SETBACK_M", "SETBACK_M", "candidate_sites", "setback_for"]

logger = logging.getLogger(__name__)

SETBACK_M: dict[str, float] = {
    "motorway": 10.0,
    "trunk": 8.0,
    "primary": 7.0,
    "secondary": 7.0,
    "tertiary": 5.0,
    "unclassified": 4.0,
    "residential": 3.5,
    "living_street": 3.0,
    "service": 3.5,
    "road": 3.5,
    "busway": 5.0,
    "track": 2.0,
    "cycleway": 1.5,
    "pedestrian": 1.5,
    "footway": 1.0,
    "path": 1.0,
    "bridleway": 1.0,
    "steps": 1.0,
    "corridor": 0.0,
    "trail": 1.0,
}
"""Distance (m) from a street's centreline to its kerb by OSM highway class (``*_link`` as its class)."""
DEFAULT_SETBACK_M = 3.5
"""Setback of highway classes not in :data:`SETBACK_M`."""
DEDUPE_M = 2.0
"""Sites closer than this to a kept site are dropped."""
_SOURCE_RANK = {"listed": 0, "intersection": 1, "pole": 2}
SITE_COLUMNS: tuple[str, ...] = ("site_id", "source", "segment_id", "name", "geometry")


def setback_for(highway: pd.Series | np.ndarray | list[str]) -> np.ndarray:
    """Setback in metres per highway class (first class of a ``"a;b"`` or ``"['a', 'b']"`` value)."""
    values = pd.Series(np.asarray(highway, dtype=object)).fillna("").astype(str)
    first = values.str.strip("[]").str.split(r"[;,]", n=1, regex=True).str[0].str.strip(" '\"")
    base = first.str.replace(r"_link$", "", regex=True)
    return base.map(SETBACK_M).fillna(DEFAULT_SETBACK_M).to_numpy(dtype=float)


def _check_crs(gdf: gpd.GeoDataFrame, crs: pyproj.CRS, what: str) -> None:
    if gdf.crs is None or not pyproj.CRS(gdf.crs).equals(crs):
        got = "no CRS" if gdf.crs is None else pyproj.CRS(gdf.crs).name
        raise CRSMismatchError.single(
            f"{what} is in {got}, the network in {crs.name}",
            field="crs",
            hint="reproject it to the network's CRS (gdf.to_crs(network.crs))",
        )


def _polygons(gdf: gpd.GeoDataFrame | None) -> np.ndarray:
    if gdf is None or len(gdf) == 0:
        return np.empty(0, dtype=object)
    geoms = gdf.geometry.to_numpy()
    geoms = geoms[np.isin(shapely.get_type_id(geoms), (3, 6)) & ~shapely.is_empty(geoms)]
    return np.where(shapely.is_valid(geoms), geoms, shapely.make_valid(geoms)) if len(geoms) else geoms


def _inside(points: np.ndarray, polys: np.ndarray) -> np.ndarray:
    """True for points strictly inside any polygon (a point on a wall is not inside)."""
    out = np.zeros(len(points), dtype=bool)
    if len(polys) and len(points):
        hit, _ = shapely.STRtree(polys).query(points, predicate="within")
        out[hit] = True
    return out


def _intersections(network: object) -> gpd.GeoDataFrame:
    edges = network.edges  # type: ignore[attr-defined]
    nodes = network.nodes  # type: ignore[attr-defined]
    u = edges.index.get_level_values(0).to_numpy()
    v = edges.index.get_level_values(1).to_numpy()
    seg = edges["segment_id"].to_numpy()
    name = edges["name"].fillna("").astype(str).to_numpy() if "name" in edges else np.full(len(edges), "")
    ends = pd.DataFrame(
        {"node": np.concatenate([u, v]), "segment_id": np.concatenate([seg, seg]), "name": np.concatenate([name, name])}
    ).drop_duplicates(["node", "segment_id"])
    degree = ends.groupby("node")["segment_id"].size()
    ids = degree.index[degree >= 3]
    named = ends[ends["node"].isin(ids) & (ends["name"] != "")].drop_duplicates(["node", "name"])
    names = named.sort_values(["node", "name"]).groupby("node")["name"].agg(" / ".join)
    names = names.reindex(ids).fillna("intersection")
    return gpd.GeoDataFrame(
        {"source": "intersection", "segment_id": -1, "name": names.to_numpy(dtype=object)},
        geometry=nodes.geometry.reindex(ids).to_numpy(),
        crs=network.crs,  # type: ignore[attr-defined]
    )


def _poles(segs: gpd.GeoDataFrame, spacing_m: float, setback_m: float | None, polys_block: np.ndarray) -> gpd.GeoDataFrame:
    geoms = segs.geometry.to_numpy()
    length = shapely.length(geoms)
    keep = length >= spacing_m / 2  # a street shorter than half a spacing gets no pole
    rows = np.flatnonzero(keep)
    line_index, k, offset, centre = points_along(geoms[rows], spacing_m)
    line_rows = rows[line_index]
    lines = geoms[line_rows]
    # tangent by a small step either side of the pole position
    step = np.minimum(0.5, length[line_rows] / 4)
    a = shapely.get_coordinates(shapely.line_interpolate_point(lines, np.maximum(offset - step, 0.0)))
    b = shapely.get_coordinates(shapely.line_interpolate_point(lines, np.minimum(offset + step, length[line_rows])))
    t = b - a
    norm = np.hypot(t[:, 0], t[:, 1])
    norm[norm == 0] = 1.0
    left = np.column_stack([-t[:, 1], t[:, 0]]) / norm[:, None]  # unit normal to the left of travel
    if setback_m is None:
        setback = setback_for(segs["highway"].to_numpy() if "highway" in segs else np.full(len(segs), ""))[line_rows]
    else:
        setback = np.full(len(line_rows), float(setback_m))
    side = np.where(k % 2 == 0, 1.0, -1.0)  # alternate sides along the street
    xy = shapely.get_coordinates(centre)
    pts = shapely.points(xy + left * (side * setback)[:, None])
    # a pole that would stand in a building goes to the other side of the street
    blocked = _inside(pts, polys_block)
    if blocked.any():
        other = shapely.points(xy[blocked] - left[blocked] * (side * setback)[blocked, None])
        pts[blocked] = other
    names = segs["name"].fillna("").astype(str).to_numpy() if "name" in segs else np.full(len(segs), "")
    seg_ids = segs.index.to_numpy(dtype=np.int64)[line_rows]
    return gpd.GeoDataFrame(
        {"source": "pole", "segment_id": seg_ids, "name": names[line_rows].astype(object)},
        geometry=pts,
        crs=segs.crs,
    )


def _listed(listed: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    geoms = listed.geometry.to_numpy()
    types = shapely.get_type_id(geoms)
    if not np.isin(types[~shapely.is_missing(geoms)], (0, 3, 6)).all():
        raise LayerError.single("listed camera sites must be points or polygons", field="cameras.listed_sites")
    pts = np.where(types == 0, geoms, shapely.point_on_surface(geoms))
    n = len(listed)
    names = (
        listed["name"].fillna("").astype(str).to_numpy(dtype=object)
        if "name" in listed
        else np.array([f"Listed site {i + 1}" for i in range(n)], dtype=object)
    )
    valid = ~(shapely.is_missing(pts) | shapely.is_empty(pts))
    return gpd.GeoDataFrame({"source": "listed", "segment_id": -1, "name": names[valid]}, geometry=pts[valid], crs=listed.crs)


def _dedupe(points: np.ndarray, radius_m: float) -> np.ndarray:
    """Keep mask: greedily keep sites in order, dropping any closer than ``radius_m`` to a kept one."""
    keep = np.ones(len(points), dtype=bool)
    if len(points) < 2:
        return keep
    a, b = shapely.STRtree(points).query(points, predicate="dwithin", distance=radius_m)
    sel = a < b
    a, b = a[sel], b[sel]
    if len(a) == 0:
        return keep
    order = np.lexsort((b, a))
    # only the (few) close pairs are walked, in site order
    for i, j in zip(a[order].tolist(), b[order].tolist(), strict=True):
        if keep[i]:
            keep[j] = False
    return keep


def candidate_sites(
    network: object,
    *,
    pole_spacing_m: float = 30.0,
    setback_m: float | None = None,
    intersections: bool = True,
    listed: gpd.GeoDataFrame | None = None,
    exclusion: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Candidate camera sites on ``network`` (see the module docstring).

    Parameters
    ----------
    pole_spacing_m
        Distance between poles along a street (each street at least half this long
        gets at least one pole); ``0`` for no poles.
    setback_m
        Distance of poles from the street centreline; ``None`` for a setback by highway
        class (:data:`SETBACK_M`).
    intersections
        Whether nodes where three or more streets meet are sites.
    listed
        Sites the planner lists (points, or polygons that give a point on their surface);
        a ``name`` column is kept.
    exclusion
        Polygons where no camera may stand.
    buildings
        Building polygons (a site inside one is dropped); ``None`` uses ``network.buildings``.
    """
    if pole_spacing_m < 0:
        raise ValueError(f"pole_spacing_m must be ≥ 0, got {pole_spacing_m!r}")
    if setback_m is not None and setback_m < 0:
        raise ValueError(f"setback_m must be ≥ 0, got {setback_m!r}")
    crs = pyproj.CRS(network.crs)  # type: ignore[attr-defined]
    if buildings is None:
        buildings = getattr(network, "buildings", None)
    for gdf, what in ((listed, "the listed sites"), (exclusion, "the exclusion zones"), (buildings, "the buildings")):
        if gdf is not None and len(gdf):
            _check_crs(gdf, crs, what)
    bpolys = _polygons(buildings)
    xpolys = _polygons(exclusion)

    frames: list[gpd.GeoDataFrame] = []
    if listed is not None and len(listed):
        frames.append(_listed(listed))
    if intersections:
        frames.append(_intersections(network))
    if pole_spacing_m > 0:
        frames.append(_poles(network.segments(), pole_spacing_m, setback_m, bpolys))  # type: ignore[attr-defined]
    if not frames:
        return gpd.GeoDataFrame({c: [] for c in SITE_COLUMNS[:-1]}, geometry=[], crs=crs)
    sites = pd.concat(frames, ignore_index=True)
    sites = gpd.GeoDataFrame(sites, geometry="geometry", crs=crs)
    pts = sites.geometry.to_numpy()

    in_building = _inside(pts, bpolys)
    in_exclusion = np.zeros(len(pts), dtype=bool)
    if len(xpolys):
        hit, _ = shapely.STRtree(xpolys).query(pts, predicate="intersects")
        in_exclusion[hit] = True
    src = sites["source"].to_numpy()
    for label, mask in (("in buildings", in_building), ("in exclusion zones", in_exclusion)):
        n_listed = int((mask & (src == "listed")).sum())
        if n_listed:
            logger.warning("%d listed camera sites are %s and were dropped", n_listed, label)
    sites = sites[~(in_building | in_exclusion)]

    rank = sites["source"].map(_SOURCE_RANK).to_numpy()
    sites = sites.iloc[np.argsort(rank, kind="stable")].reset_index(drop=True)
    keep = _dedupe(sites.geometry.to_numpy(), DEDUPE_M)
    sites = sites[keep].reset_index(drop=True)
    sites.insert(0, "site_id", np.arange(len(sites), dtype=np.int64))
    sites["segment_id"] = sites["segment_id"].astype(np.int64)
    counts = sites["source"].value_counts()
    logger.info(
        "candidate sites: %d (%d intersections, %d poles, %d listed); dropped %d in buildings, %d in exclusion zones, %d duplicates",
        len(sites),
        counts.get("intersection", 0),
        counts.get("pole", 0),
        counts.get("listed", 0),
        int(in_building.sum()),
        int((in_exclusion & ~in_building).sum()),
        int((~keep).sum()),
    )
    return sites[list(SITE_COLUMNS)]
