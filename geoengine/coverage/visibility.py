"""What cameras see: range, field of view and line of sight past buildings.

:func:`visibility` builds the sparse coverage matrix of candidate orientations (site ×
heading) against demand points; :func:`existing_credit` does the same for the cameras
that already exist (each with its own heading, field of view and range) and reduces it
to the best credit and the number of views per demand point; :func:`view_polygons`
draws what a camera sees (its wedge cut by building shadows) for maps.

Geometry rules (all in a projected metric CRS):

- a point is in view of a camera looking at heading ``h`` (degrees clockwise from
  north) with field of view ``fov`` iff its distance is ≤ the range and its bearing
  is within ``h ± fov/2`` (inclusive); a 360° camera has no heading;
- the sight line from camera to point must not pass through a building's interior;
  running along a wall or touching a corner is fine;
- the first ``ignore_own_building_m`` metres at the camera end are not checked, so a
  camera mounted on a wall is not blocked by its own building (it still cannot see
  through it); the last :data:`END_TOLERANCE_M` at the point end are not checked, so a
  point on a wall (a key-site outline) is seen from its side;
- a demand point inside a building (a key site mapped as a point within its
  building, a street through a building passage) is not blocked by that building: a
  camera sees it when it sees the building's wall on its sight line.

Everything is vectorised with shapely 2: an STRtree finds the demand points within
range of each site, bearings are numpy, and the sight lines of all pairs in a chunk
are tested against an STRtree of buildings at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
import shapely

from ..errors import CRSMismatchError, LayerError

__all__ = [
    "END_TOLERANCE_M",
    "Visibility",
    "bearing_deg",
    "existing_credit",
    "in_fov",
    "tier_credit",
    "view_polygons",
    "visibility",
]

logger = logging.getLogger(__name__)

END_TOLERANCE_M = 0.05
"""Metres at the demand end of a sight line that are not checked against buildings."""
CHUNK_PAIRS = 500_000
"""Sight lines tested against buildings at a time (bounds memory)."""
_ANGLE_EPS = 1e-9


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False)
class Visibility:
    """The coverage matrix of candidate orientations (site × heading) against demand points."""

    matrix: sp.csr_matrix
    """(n_demand × n_orient) credit in (0, 1]: 1 = seen, or the quality tier's weight by distance."""
    orient_site: np.ndarray
    """(n_orient,) row position of the orientation's site in the sites frame."""
    orient_heading: np.ndarray
    """(n_orient,) heading in degrees clockwise from north; NaN for 360° cameras."""
    range_m: float
    fov_deg: float
    pairs_checked: int
    """Sight lines (site, demand point within range and in some heading's view) tested against buildings."""
    blocked_pairs: int
    """Of those, how many a building blocked."""

    @property
    def n_orient(self) -> int:
        return int(self.matrix.shape[1])

    def summary(self) -> str:
        """One line for a report."""
        share = self.blocked_pairs / self.pairs_checked if self.pairs_checked else 0.0
        return (
            f"{self.matrix.shape[0]:,} demand points × {self.n_orient:,} orientations "
            f"(range {self.range_m:g} m, fov {self.fov_deg:g}°): {self.matrix.nnz:,} views; "
            f"{self.pairs_checked:,} sight lines, {self.blocked_pairs:,} blocked by buildings ({share:.0%})"
        )

    def __repr__(self) -> str:
        return f"<Visibility {self.summary()}>"


# --------------------------------------------------------------------------- small helpers
def bearing_deg(dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Bearing of the vector ``(dx, dy)`` in degrees clockwise from north, in [0, 360)."""
    return np.mod(np.degrees(np.arctan2(dx, dy)), 360.0)


def in_fov(bearing: np.ndarray, heading: np.ndarray, fov_deg: np.ndarray | float) -> np.ndarray:
    """Whether ``bearing`` is within ``heading ± fov/2`` (inclusive); always True for fov ≥ 360 or NaN heading."""
    diff = np.abs(np.mod(np.asarray(bearing) - np.asarray(heading) + 180.0, 360.0) - 180.0)
    fov = np.asarray(fov_deg, dtype=float)
    return (diff <= fov / 2 + _ANGLE_EPS) | (fov >= 360.0) | np.isnan(heading)


def _check_tiers(tiers: Sequence[tuple[float, float]] | None) -> tuple[np.ndarray, np.ndarray] | None:
    if tiers is None or len(tiers) == 0:
        return None
    share = np.array([float(t[0]) for t in tiers])
    weight = np.array([float(t[1]) for t in tiers])
    problems = []
    if not ((share > 0) & (share <= 1)).all():
        problems.append("tier distance shares must be in (0, 1]")
    if not (np.diff(share) > 0).all():
        problems.append("tier distance shares must increase")
    if not ((weight > 0) & (weight <= 1)).all():
        problems.append("tier weights must be in (0, 1]")
    if problems:
        raise ValueError(f"bad tiers {list(tiers)!r}: " + "; ".join(problems))
    return share, weight


def tier_credit(dist_m: np.ndarray, range_m: np.ndarray | float, tiers: Sequence[tuple[float, float]] | None) -> np.ndarray:
    """Credit per distance: the weight of the first tier ``(max share of range, weight)`` it falls in.

    ``None`` gives 1 within range. Beyond the last tier (or the range) the credit is 0.
    """
    dist = np.asarray(dist_m, dtype=float)
    rng = np.broadcast_to(np.asarray(range_m, dtype=float), dist.shape)
    checked = _check_tiers(tiers)
    if checked is None:
        return np.where(dist <= rng + 1e-9, 1.0, 0.0)
    share, weight = checked
    rel = dist / rng
    idx = np.searchsorted(share + 1e-12, rel, side="left")
    out = np.zeros(dist.shape)
    ok = idx < len(share)
    out[ok] = weight[idx[ok]]
    return out


def _crs_of(gdf: gpd.GeoDataFrame | gpd.GeoSeries, what: str) -> pyproj.CRS:
    if gdf.crs is None:
        raise CRSMismatchError.single(f"{what} has no CRS", field="crs", hint="set the layer's CRS")
    crs = pyproj.CRS(gdf.crs)
    if not crs.is_projected:
        raise CRSMismatchError.single(
            f"{what} is in {crs.name}, not a projected CRS in metres", field="crs",
            hint="reproject it to the network's CRS (gdf.to_crs(network.crs))",
        )  # fmt: skip
    return crs


def _same_crs(crs: pyproj.CRS, other: gpd.GeoDataFrame | gpd.GeoSeries | None, what: str) -> None:
    if other is None or len(other) == 0:
        return
    ocrs = _crs_of(other, what)
    if not ocrs.equals(crs):
        raise CRSMismatchError.single(
            f"{what} is in {ocrs.name}, the sites in {crs.name}", field="crs",
            hint="reproject every layer to the network's CRS (gdf.to_crs(network.crs))",
        )  # fmt: skip


def _point_xy(geoms: np.ndarray, what: str) -> np.ndarray:
    types = shapely.get_type_id(geoms)
    if len(geoms) and not (types == 0).all():
        raise LayerError.single(f"{what} must be points ({int((types != 0).sum())} are not)", field="geometry")
    xy = shapely.get_coordinates(geoms)
    if len(xy) != len(geoms):
        raise LayerError.single(f"{what} has empty geometries", field="geometry")
    return xy


# --------------------------------------------------------------------------- line of sight
class _Blockers:
    """The buildings, prepared for sight-line tests."""

    def __init__(self, buildings: gpd.GeoDataFrame | gpd.GeoSeries | None) -> None:
        if buildings is None or len(buildings) == 0:
            self.polys = np.empty(0, dtype=object)
        else:
            geoms = np.asarray(buildings.geometry.to_numpy() if isinstance(buildings, gpd.GeoDataFrame)
                               else buildings.to_numpy(), dtype=object)  # fmt: skip
            keep = np.isin(shapely.get_type_id(geoms), (3, 6)) & ~shapely.is_empty(geoms)
            self.polys = geoms[keep]
        self.polys = np.where(shapely.is_valid(self.polys), self.polys, shapely.make_valid(self.polys)) if len(self.polys) else self.polys
        shapely.prepare(self.polys)
        self.tree = shapely.STRtree(self.polys) if len(self.polys) else None

    def __len__(self) -> int:
        return len(self.polys)

    def containing(self, points: np.ndarray) -> np.ndarray:
        """Per point, the index of a building whose interior holds it, else -1."""
        out = np.full(len(points), -1, dtype=np.int64)
        if self.tree is not None and len(points):
            pt, b = self.tree.query(points, predicate="within")
            out[pt[::-1]] = b[::-1]  # the first match wins
        return out

    def blocked(
        self,
        a: np.ndarray,
        b: np.ndarray,
        *,
        skip_start_m: float,
        own_building: np.ndarray | None = None,
    ) -> np.ndarray:
        """Whether each sight line ``a[i] → b[i]`` (xy arrays) passes through a building's interior.

        The first ``skip_start_m`` and the last :data:`END_TOLERANCE_M` metres are not
        checked; building ``own_building[i]`` (the one holding the far point) is ignored.
        """
        n = len(a)
        out = np.zeros(n, dtype=bool)
        if self.tree is None or n == 0:
            return out
        d = b - a
        length = np.hypot(d[:, 0], d[:, 1])
        testable = length > skip_start_m + END_TOLERANCE_M
        idx = np.flatnonzero(testable)
        for lo in range(0, len(idx), CHUNK_PAIRS):
            sel = idx[lo : lo + CHUNK_PAIRS]
            unit = d[sel] / length[sel, None]
            start = a[sel] + unit * skip_start_m
            end = b[sel] - unit * END_TOLERANCE_M
            lines = shapely.linestrings(np.stack([start, end], axis=1))
            # the tree of lines is queried with the (prepared) buildings
            line_tree = shapely.STRtree(lines)
            poly_i, line_i = line_tree.query(self.polys, predicate="intersects")
            if len(line_i) == 0:
                continue
            through = ~shapely.touches(lines[line_i], self.polys[poly_i])
            if own_building is not None:
                through &= own_building[sel[line_i]] != poly_i
            out[sel[line_i[through]]] = True
        return out


# --------------------------------------------------------------------------- pairs within range
def _pairs_within(
    site_pts: np.ndarray, demand_tree: shapely.STRtree, range_m: np.ndarray, *, chunk_sites: int = 5_000
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(site, demand) index pairs with the demand point within the site's range, chunked by sites."""
    for lo in range(0, len(site_pts), chunk_sites):
        hi = min(lo + chunk_sites, len(site_pts))
        s, d = demand_tree.query(site_pts[lo:hi], predicate="dwithin", distance=range_m[lo:hi])
        yield s + lo, d


# --------------------------------------------------------------------------- visibility
def visibility(
    sites: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    *,
    range_m: float,
    fov_deg: float,
    headings: int = 8,
    buildings: gpd.GeoDataFrame | None = None,
    tiers: list[tuple[float, float]] | None = None,
    ignore_own_building_m: float = 1.0,
) -> Visibility:
    """The coverage matrix of every candidate orientation against every demand point.

    Orientations: one per site for ``fov_deg`` ≥ 360 (heading NaN), else ``headings``
    evenly spaced headings per site (0, 360/headings, …), site-major (column
    ``site × headings + k``). A demand point is covered by an orientation when it is
    within ``range_m``, within ``heading ± fov/2``, and its sight line crosses no
    building (see the module docstring). The credit is 1, or with ``tiers`` (list of
    ``(max distance as a share of range, weight)``, e.g. IEC 62676-4's identify /
    recognise / observe / detect) the weight of the first tier the distance falls in.
    """
    if not range_m > 0:
        raise ValueError(f"range_m must be > 0, got {range_m!r}")
    if not 0 < fov_deg <= 360:
        raise ValueError(f"fov_deg must be in (0, 360], got {fov_deg!r}")
    if headings < 1:
        raise ValueError(f"headings must be ≥ 1, got {headings!r}")
    if ignore_own_building_m < 0:
        raise ValueError(f"ignore_own_building_m must be ≥ 0, got {ignore_own_building_m!r}")
    _check_tiers(tiers)
    crs = _crs_of(sites, "the candidate sites")
    _same_crs(crs, demand, "the demand points")
    _same_crs(crs, buildings, "the buildings")

    n_sites, n_demand = len(sites), len(demand)
    all_round = fov_deg >= 360
    h = 1 if all_round else int(headings)
    heads = np.array([np.nan]) if all_round else np.arange(h) * (360.0 / h)
    orient_site = np.repeat(np.arange(n_sites, dtype=np.int64), h)
    orient_heading = np.tile(heads, n_sites)

    site_pts = sites.geometry.to_numpy()
    demand_pts = demand.geometry.to_numpy()
    site_xy = _point_xy(site_pts, "the candidate sites")
    demand_xy = _point_xy(demand_pts, "the demand points")
    blockers = _Blockers(buildings)
    own = blockers.containing(demand_pts) if len(blockers) else None

    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    checked = blocked_n = 0
    if n_sites and n_demand:
        tree = shapely.STRtree(demand_pts)
        ranges = np.full(n_sites, float(range_m))
        for s, d in _pairs_within(site_pts, tree, ranges):
            dxy = demand_xy[d] - site_xy[s]
            dist = np.hypot(dxy[:, 0], dxy[:, 1])
            credit = tier_credit(dist, range_m, tiers)
            ok = credit > 0
            s, d, dxy, dist, credit = s[ok], d[ok], dxy[ok], dist[ok], credit[ok]
            if all_round:
                fov_mask = np.ones((len(s), 1), dtype=bool)
            else:
                bearing = bearing_deg(dxy[:, 0], dxy[:, 1])
                fov_mask = in_fov(bearing[:, None], heads[None, :], fov_deg)
                fov_mask |= (dist < 1e-9)[:, None]  # a point at the camera is seen whatever the heading
            any_view = fov_mask.any(axis=1)
            s, d, dist, credit, fov_mask = s[any_view], d[any_view], dist[any_view], credit[any_view], fov_mask[any_view]
            blocked = blockers.blocked(
                site_xy[s], demand_xy[d], skip_start_m=ignore_own_building_m,
                own_building=None if own is None else own[d],
            )  # fmt: skip
            checked += len(s)
            blocked_n += int(blocked.sum())
            seen = ~blocked
            s, d, credit, fov_mask = s[seen], d[seen], credit[seen], fov_mask[seen]
            pair_i, head_k = np.nonzero(fov_mask)
            rows.append(d[pair_i])
            cols.append(s[pair_i] * h + head_k)
            vals.append(credit[pair_i])
    r = np.concatenate(rows) if rows else np.empty(0, dtype=np.int64)
    c = np.concatenate(cols) if cols else np.empty(0, dtype=np.int64)
    v = np.concatenate(vals) if vals else np.empty(0)
    matrix = sp.csr_matrix((v, (r, c)), shape=(n_demand, n_sites * h))
    vis = Visibility(
        matrix=matrix, orient_site=orient_site, orient_heading=orient_heading, range_m=float(range_m),
        fov_deg=float(fov_deg), pairs_checked=int(checked), blocked_pairs=int(blocked_n),
    )  # fmt: skip
    logger.info("visibility: %s", vis.summary())
    return vis


# --------------------------------------------------------------------------- existing cameras
def _column(cameras: gpd.GeoDataFrame, name: str, default: object) -> pd.Series:
    if name in cameras:
        return cameras[name]
    return pd.Series(default, index=cameras.index)


def _street_headings(points: np.ndarray, network: object) -> np.ndarray:
    """Bearing from each point to its nearest street; along the street for a point on it."""
    snap = network.snap(points)  # type: ignore[attr-defined]
    xy = shapely.get_coordinates(points)
    out = np.full(len(points), np.nan)
    ok = snap["segment_id"].to_numpy() >= 0
    if not ok.any():
        return out
    sxy = np.full((len(points), 2), np.nan)
    sxy[ok] = shapely.get_coordinates(snap["snapped"].to_numpy()[ok])
    d = sxy - xy
    out[ok] = bearing_deg(d[ok, 0], d[ok, 1])
    on_street = ok & (np.hypot(d[:, 0], d[:, 1]) < 0.5)
    if on_street.any():
        edges = network.edges  # type: ignore[attr-defined]
        keys = list(zip(snap["u"][on_street], snap["v"][on_street], snap["key"][on_street], strict=True))
        lines = edges.geometry.loc[keys].to_numpy()
        off = snap["offset_m"].to_numpy()[on_street]
        length = shapely.length(lines)
        a = shapely.get_coordinates(shapely.line_interpolate_point(lines, np.maximum(off - 1.0, 0.0)))
        b = shapely.get_coordinates(shapely.line_interpolate_point(lines, np.minimum(off + 1.0, length)))
        out[on_street] = bearing_deg(b[:, 0] - a[:, 0], b[:, 1] - a[:, 1])
    return out


def existing_credit(
    cameras: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    *,
    buildings: gpd.GeoDataFrame | None = None,
    default_range_m: float = 40.0,
    default_fov_deg: float = 90.0,
    network: object | None = None,
    tiers: list[tuple[float, float]] | None = None,
    ignore_own_building_m: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """What the existing cameras already see.

    ``cameras`` columns (all optional): ``camera_type`` (fixed, dome, ptz, unknown),
    ``heading_deg``, ``fov_deg`` (NaN → 360° for dome/ptz, else ``default_fov_deg``) and
    ``range_m`` (NaN → ``default_range_m``). A camera with a field of view under 360°
    and no heading is assumed to face the nearest street of ``network`` (along the
    street when it stands on it); without a network it is counted as seeing all round.

    Returns ``(credit, views, notes)``: per demand point the best credit any camera
    gives (0 when none sees it) and how many cameras see it, and notes for the report.
    """
    notes: list[str] = []
    n_demand = len(demand)
    credit = np.zeros(n_demand)
    views = np.zeros(n_demand, dtype=np.int64)
    if len(cameras) == 0 or n_demand == 0:
        return credit, views, notes
    if not default_range_m > 0 or not 0 < default_fov_deg <= 360:
        raise ValueError("default_range_m must be > 0 and default_fov_deg in (0, 360]")
    _check_tiers(tiers)
    crs = _crs_of(cameras, "the cameras layer")
    _same_crs(crs, demand, "the demand points")
    _same_crs(crs, buildings, "the buildings")

    pts = cameras.geometry.to_numpy()
    cxy = _point_xy(pts, "the cameras layer")
    ctype = _column(cameras, "camera_type", "unknown").fillna("unknown").astype(str).str.lower().to_numpy()
    heading = pd.to_numeric(_column(cameras, "heading_deg", np.nan), errors="coerce").to_numpy(dtype=float)
    fov = pd.to_numeric(_column(cameras, "fov_deg", np.nan), errors="coerce").to_numpy(dtype=float)
    rng = pd.to_numeric(_column(cameras, "range_m", np.nan), errors="coerce").to_numpy(dtype=float)
    all_round_type = np.isin(ctype, ("dome", "ptz"))
    fov = np.where(np.isnan(fov) | (fov <= 0), np.where(all_round_type, 360.0, default_fov_deg), np.minimum(fov, 360.0))
    rng = np.where(np.isnan(rng) | (rng <= 0), default_range_m, rng)
    heading = np.mod(heading, 360.0)
    need = (fov < 360) & np.isnan(heading)
    if need.any():
        if network is not None:
            guessed = _street_headings(pts[need], network)
            heading[need] = guessed
            lost = np.isnan(guessed)
            if lost.any():
                fov[np.flatnonzero(need)[lost]] = 360.0
            notes.append(f"{int(need.sum())} existing cameras have no heading: assumed to face the nearest street")
        else:
            fov[need] = 360.0
            notes.append(f"{int(need.sum())} existing cameras have no heading and no street network was given: counted as seeing all round")
            logger.warning(notes[-1])

    demand_pts = demand.geometry.to_numpy()
    demand_xy = _point_xy(demand_pts, "the demand points")
    blockers = _Blockers(buildings)
    own = blockers.containing(demand_pts) if len(blockers) else None
    tree = shapely.STRtree(demand_pts)
    for s, d in _pairs_within(pts, tree, rng):
        dxy = demand_xy[d] - cxy[s]
        dist = np.hypot(dxy[:, 0], dxy[:, 1])
        c = tier_credit(dist, rng[s], tiers)
        ok = (c > 0) & (in_fov(bearing_deg(dxy[:, 0], dxy[:, 1]), heading[s], fov[s]) | (dist < 1e-9))
        s, d, c = s[ok], d[ok], c[ok]
        blocked = blockers.blocked(cxy[s], demand_xy[d], skip_start_m=ignore_own_building_m,
                                   own_building=None if own is None else own[d])  # fmt: skip
        s, d, c = s[~blocked], d[~blocked], c[~blocked]
        np.maximum.at(credit, d, c)
        np.add.at(views, d, 1)
    logger.info(
        "existing cameras: %d see %d of %d demand points", len(cameras), int((views > 0).sum()), n_demand
    )
    return credit, views, notes


# --------------------------------------------------------------------------- view polygons
def view_polygons(
    points: gpd.GeoSeries,
    headings_deg: np.ndarray,
    *,
    fov_deg: np.ndarray | float,
    range_m: np.ndarray | float,
    buildings: gpd.GeoDataFrame | None = None,
    rays: int = 48,
    ignore_own_building_m: float = 1.0,
) -> gpd.GeoSeries:
    """What each camera sees: its wedge (a disc for 360° or a NaN heading) cut by building shadows.

    ``rays`` rays are cast across the field of view; each stops at the first building
    interior it enters (past the first ``ignore_own_building_m`` metres, as in
    :func:`visibility`); the polygon runs through the camera and the ray ends. Same
    index and CRS as ``points``.
    """
    if rays < 3:
        raise ValueError(f"rays must be ≥ 3, got {rays!r}")
    crs = _crs_of(points, "the camera points")
    _same_crs(crs, buildings, "the buildings")
    geoms = np.asarray(points.to_numpy() if isinstance(points, gpd.GeoSeries) else points, dtype=object)
    n = len(geoms)
    if n == 0:
        return gpd.GeoSeries([], crs=crs, index=getattr(points, "index", None))
    xy = _point_xy(geoms, "the camera points")
    heading = np.broadcast_to(np.asarray(headings_deg, dtype=float), (n,))
    fov = np.broadcast_to(np.asarray(fov_deg, dtype=float), (n,)).copy()
    rng = np.broadcast_to(np.asarray(range_m, dtype=float), (n,))
    disc = (fov >= 360) | np.isnan(heading)
    fov[disc] = 360.0
    # ray angles: across the wedge edge to edge, or round the disc without repeating 0/360
    t = np.linspace(0.0, 1.0, rays)
    t_disc = np.arange(rays) / rays
    start = np.where(disc, 0.0, np.nan_to_num(heading) - fov / 2)
    frac = np.where(disc[:, None], t_disc[None, :], t[None, :])
    ang = np.radians(start[:, None] + frac * fov[:, None])
    ux, uy = np.sin(ang), np.cos(ang)
    reach = np.repeat(rng[:, None], rays, axis=1).astype(float)

    blockers = _Blockers(buildings)
    if len(blockers):
        skip = np.minimum(ignore_own_building_m, rng * 0.5)[:, None]
        sx, sy = xy[:, 0:1] + ux * skip, xy[:, 1:2] + uy * skip
        ex, ey = xy[:, 0:1] + ux * rng[:, None], xy[:, 1:2] + uy * rng[:, None]
        seg = np.stack([np.stack([sx, sy], -1), np.stack([ex, ey], -1)], axis=2).reshape(-1, 2, 2)
        lines = shapely.linestrings(seg)
        cam_of_ray = np.repeat(np.arange(n), rays)
        for lo in range(0, len(lines), CHUNK_PAIRS):
            part = lines[lo : lo + CHUNK_PAIRS]
            poly_i, ray_i = shapely.STRtree(part).query(blockers.polys, predicate="intersects")
            if len(ray_i) == 0:
                continue
            through = ~shapely.touches(part[ray_i], blockers.polys[poly_i])
            poly_i, ray_i = poly_i[through], ray_i[through]
            hit = shapely.intersection(part[ray_i], blockers.polys[poly_i])
            cam = cam_of_ray[lo + ray_i]
            dist = shapely.distance(shapely.points(xy[cam]), hit)
            flat = reach.reshape(-1)
            np.minimum.at(flat, lo + ray_i, dist)
    ex, ey = xy[:, 0:1] + ux * reach, xy[:, 1:2] + uy * reach
    ends = np.stack([ex, ey], axis=-1)  # (n, rays, 2)
    wedge_ring = np.concatenate([xy[:, None, :], ends, xy[:, None, :]], axis=1)
    disc_ring = np.concatenate([ends, ends[:, :1, :]], axis=1)
    polys = np.empty(n, dtype=object)
    if (~disc).any():
        polys[~disc] = shapely.polygons(wedge_ring[~disc])
    if disc.any():
        polys[disc] = shapely.polygons(disc_ring[disc])
    bad = ~shapely.is_valid(polys)
    if bad.any():
        polys[bad] = shapely.make_valid(polys[bad])
    if len(blockers):
        # the chords between neighbouring rays can clip a building corner: cut the buildings out,
        # one round per building a view touches (vectorised over the views)
        view_i, poly_i = blockers.tree.query(polys, predicate="intersects")  # type: ignore[union-attr]
        if len(view_i):
            order = np.argsort(view_i, kind="stable")
            view_i, poly_i = view_i[order], poly_i[order]
            first = np.searchsorted(view_i, view_i, side="left")
            rank = np.arange(len(view_i)) - first
            for r in range(int(rank.max()) + 1):
                sel = rank == r
                v, p = view_i[sel], poly_i[sel]
                polys[v] = shapely.difference(polys[v], blockers.polys[p])
    mixed = shapely.get_type_id(polys) == 7  # a GeometryCollection: keep its polygonal parts
    for i in np.flatnonzero(mixed):
        parts = shapely.get_parts(polys[i])
        polys[i] = shapely.union_all(parts[np.isin(shapely.get_type_id(parts), (3, 6))])
    return gpd.GeoSeries(polys, crs=crs, index=getattr(points, "index", None))
