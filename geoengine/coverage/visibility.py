"""What cameras see: range, field of view and line of sight past buildings.

:func:`visibility` builds the sparse coverage matrix of candidate orientations (site ×
heading) against demand points; :func:`existing_credit` does the same for the cameras
that already exist (each with its own heading, field of view and range) and reduces it
to the best credit and the number of views per demand point (:func:`mount_cameras` first
moves cameras mapped inside a building to its façade facing the street,
:func:`resolve_existing` states every camera's heading, range and field of view and which
were assumed, :func:`existing_pairs` says which camera sees which point); :func:`view_polygons`
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
- a demand point that asks for a quality tier (a ``tier_share`` column: the tier's band
  as a share of range) is credited 1 by a view within that band and 0 by one beyond it;
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
    "existing_ids",
    "existing_pairs",
    "in_fov",
    "mount_cameras",
    "pairs_credit",
    "required_tier_credit",
    "resolve_existing",
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


def required_tier_credit(
    credit: np.ndarray, dist_m: np.ndarray, range_m: np.ndarray | float, need_share: np.ndarray | None
) -> np.ndarray:
    """Credit for points that ask for a quality tier: full (1) when the distance is within the
    tier's band (``need_share`` × range), else 0; points with a NaN ``need_share`` keep ``credit``."""
    if need_share is None:
        return credit
    need = np.asarray(need_share, dtype=float)
    rel = np.asarray(dist_m, dtype=float) / np.asarray(range_m, dtype=float)
    return np.where(np.isnan(need), credit, np.where(rel <= need + 1e-12, 1.0, 0.0))


def _need_share(demand: gpd.GeoDataFrame) -> np.ndarray | None:
    """Per demand point the band (share of range) of the tier it asks for (``tier_share``), NaN for none."""
    if "tier_share" not in demand:
        return None
    need = pd.to_numeric(demand["tier_share"], errors="coerce").to_numpy(dtype=float)
    return None if np.isnan(need).all() else need


def _crs_of(gdf: gpd.GeoDataFrame | gpd.GeoSeries, what: str) -> pyproj.CRS:
    if gdf.crs is None:
        raise CRSMismatchError.single(f"{what} has no CRS", field="crs", hint="set the layer's CRS")
    crs = pyproj.CRS(gdf.crs)
    if not crs.is_projected:
        raise CRSMismatchError.single(
            f"{what} is in {crs.name}, not a projected CRS in metres",
            field="crs",
            hint="reproject it to the network's CRS (gdf.to_crs(network.crs))",
        )
    return crs


def _same_crs(crs: pyproj.CRS, other: gpd.GeoDataFrame | gpd.GeoSeries | None, what: str) -> None:
    if other is None or len(other) == 0:
        return
    ocrs = _crs_of(other, what)
    if not ocrs.equals(crs):
        raise CRSMismatchError.single(
            f"{what} is in {ocrs.name}, the sites in {crs.name}",
            field="crs",
            hint="reproject every layer to the network's CRS (gdf.to_crs(network.crs))",
        )


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
            geoms = np.asarray(
                buildings.geometry.to_numpy() if isinstance(buildings, gpd.GeoDataFrame) else buildings.to_numpy(), dtype=object
            )
            keep = np.isin(shapely.get_type_id(geoms), (3, 6)) & ~shapely.is_empty(geoms)
            self.polys = geoms[keep]
        self.polys = (
            np.where(shapely.is_valid(self.polys), self.polys, shapely.make_valid(self.polys)) if len(self.polys) else self.polys
        )
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
    need = _need_share(demand)

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
            if need is not None:
                credit = required_tier_credit(credit, dist, range_m, need[d])
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
                site_xy[s],
                demand_xy[d],
                skip_start_m=ignore_own_building_m,
                own_building=None if own is None else own[d],
            )
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
        matrix=matrix,
        orient_site=orient_site,
        orient_heading=orient_heading,
        range_m=float(range_m),
        fov_deg=float(fov_deg),
        pairs_checked=int(checked),
        blocked_pairs=int(blocked_n),
    )
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


# --------------------------------------------------------------------------- existing cameras: mount, assumptions, pairs
FACADE_OFFSET_M = 0.1
"""How far outside its footprint a camera moved to a façade is placed (the wall itself is skipped
by ``ignore_own_building_m``, so it still cannot see through its building)."""
ON_FOOTPRINT_M = 0.01
"""A camera this close to a footprint's outline is on it (a wall mount drawn on the wall)."""


def _unit(dx: float, dy: float) -> tuple[float, float] | None:
    n = float(np.hypot(dx, dy))
    return None if n < 1e-9 else (dx / n, dy / n)


def mount_cameras(
    cameras: gpd.GeoDataFrame,
    *,
    buildings: gpd.GeoDataFrame | None,
    network: object | None,
    max_street_m: float = 100.0,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Move existing cameras mapped inside (or on) a building footprint to the façade facing the street.

    OSM maps wall and façade cameras inside the building outline; by the line-of-sight rule
    they would see nothing. A camera inside or on a footprint (within
    :data:`ON_FOOTPRINT_M`) goes to the nearest façade point facing the street: the nearest
    point of its building's outline when the line from there to its own nearest street crosses
    no building, else the point where the line from the camera to its nearest street leaves
    the buildings; it is placed :data:`FACADE_OFFSET_M` outside the wall.

    Returns ``(cameras, notes)``: a copy with the moved geometry and the columns ``orig_x``,
    ``orig_y`` (the position as mapped), ``moved`` (bool), ``moved_m``, ``street_m`` (distance
    from the mount to the nearest street, NaN without a network) and ``street_credit`` (False
    when ``street_m`` > ``max_street_m``: the camera earns no credit for street demand).
    """
    if not max_street_m > 0:
        raise ValueError(f"max_street_m must be > 0, got {max_street_m!r}")
    notes: list[str] = []
    out = cameras.copy()
    pts = np.asarray(out.geometry.to_numpy(), dtype=object)
    xy = _point_xy(pts, "the cameras layer") if len(pts) else np.empty((0, 2))
    n = len(pts)
    moved = np.zeros(n, dtype=bool)
    passage = 0
    new_xy = xy.copy()
    blockers = _Blockers(buildings)
    if n and len(blockers) and network is not None:
        cam_i, b_i = blockers.tree.query(pts, predicate="dwithin", distance=ON_FOOTPRINT_M)  # type: ignore[union-attr]
        inside = np.unique(cam_i)
        if len(inside):
            snap = network.snap(pts[inside])  # type: ignore[attr-defined]
            street = snap["snapped"].to_numpy()
            for k, c in enumerate(inside):
                s = street[k]
                if s is None or shapely.is_empty(s):
                    continue
                p = pts[c]
                own = shapely.union_all(blockers.polys[b_i[cam_i == c]])
                sxy = shapely.get_coordinates(s)[0]
                if blockers.containing(np.array([s]))[0] >= 0 or float(np.hypot(*(sxy - xy[c]))) < 1e-6:
                    passage += 1  # its nearest street runs through the building (a passage): it watches that
                    continue
                mount = _facade_point(p, xy[c], own, sxy, blockers, network)
                if mount is not None:
                    new_xy[c] = mount
                    moved[c] = True
    out["orig_x"] = xy[:, 0] if n else np.empty(0)
    out["orig_y"] = xy[:, 1] if n else np.empty(0)
    out["moved"] = moved
    out["moved_m"] = np.round(np.hypot(*(new_xy - xy).T), 2) if n else np.empty(0)
    if passage:
        notes.append(
            f"{passage} existing cameras inside a building whose nearest street runs through it (a passage) "
            "were left where they were mapped"
        )
    if moved.any():
        out.loc[moved, out.geometry.name] = shapely.points(new_xy[moved])
        notes.append(
            f"{int(moved.sum())} existing cameras mapped inside or on a building footprint were moved to the "
            f"façade facing the street (median {float(np.median(out['moved_m'][moved])):.1f} m; "
            "orig_x/orig_y keep where they were mapped)"
        )
    street_m = np.full(n, np.nan)
    if n and network is not None:
        street_m = network.snap(out.geometry.to_numpy())["distance_m"].to_numpy(dtype=float)  # type: ignore[attr-defined]
    out["street_m"] = np.round(street_m, 2)
    far = street_m > max_street_m
    out["street_credit"] = ~far
    if far.any():
        notes.append(
            f"{int(far.sum())} existing cameras are more than {max_street_m:g} m from any street "
            "(cameras.max_camera_street_m): they get no credit for street demand"
        )
        logger.warning(notes[-1])
    return out, notes


def _facade_point(
    p: shapely.Point, pxy: np.ndarray, own: shapely.Geometry, sxy: np.ndarray, blockers: _Blockers, network: object
) -> np.ndarray | None:
    """The mount of a camera at ``p`` inside or on ``own`` (its buildings) whose nearest street point is ``sxy``."""
    options: list[tuple[float, np.ndarray]] = []
    fallback = None  # the nearest outline point, when no façade point is seen to face the street
    # (a) the nearest point of the outline, when the street it faces is in sight from there
    q = shapely.get_coordinates(shapely.shortest_line(shapely.boundary(own), p))[0]
    outward = (q - pxy) if shapely.contains(own, p) else (pxy - q)
    d = _unit(*outward) or _unit(*(sxy - pxy))
    if d is not None:
        cand = q + FACADE_OFFSET_M * np.array(d)
        if blockers.containing(shapely.points(cand[None, :]))[0] < 0:
            fallback = cand
            snap = network.snap(shapely.points(cand[None, :]))  # type: ignore[attr-defined]
            s2 = snap["snapped"].to_numpy()[0]
            if s2 is not None and not shapely.is_empty(s2):
                s2xy = shapely.get_coordinates(s2)[0]
                free = (
                    float(np.hypot(*(s2xy - cand))) < 1e-6
                    or not blockers.blocked(cand[None, :], s2xy[None, :], skip_start_m=0.0)[0]
                )
                if free:
                    options.append((float(np.hypot(*(cand - pxy))), cand))
    # (b) where the line to the nearest street leaves the buildings
    seg = shapely.LineString([pxy, sxy])
    near = blockers.polys[blockers.tree.query(seg, predicate="intersects")]  # type: ignore[union-attr]
    rest = shapely.difference(seg, shapely.union_all(near)) if len(near) else seg
    u = _unit(*(sxy - pxy))
    if u is not None:
        starts = []
        for g in shapely.get_parts(rest):
            if shapely.is_empty(g) or shapely.get_type_id(g) != 1:
                continue
            along = shapely.line_locate_point(seg, shapely.points(shapely.get_coordinates(g)[[0, -1]]))
            lo, hi = float(along.min()), float(along.max())
            if hi - lo > FACADE_OFFSET_M:
                starts.append(lo)
        for lo in sorted(starts):
            cand = pxy + (lo + FACADE_OFFSET_M) * np.array(u)
            if blockers.containing(shapely.points(cand[None, :]))[0] < 0:
                options.append((float(np.hypot(*(cand - pxy))), cand))
                break
    if not options:
        return fallback
    return min(options, key=lambda o: o[0])[1]


ASSUMED_FIELDS = ("heading", "fov", "range")


def resolve_existing(
    cameras: gpd.GeoDataFrame,
    *,
    default_range_m: float = 40.0,
    default_fov_deg: float = 90.0,
    network: object | None = None,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Every existing camera's ``heading_deg``, ``fov_deg`` and ``range_m``, stated or assumed.

    ``fov_deg`` NaN → 360 for dome/PTZ, else ``default_fov_deg``; ``range_m`` NaN →
    ``default_range_m``; a camera with a field of view under 360° and no heading faces the
    nearest street of ``network`` (along it when it stands on it; without a network, or
    with no street found, it counts as seeing all round: ``fov_deg`` 360). The column
    ``assumed`` lists which of ``heading``, ``fov``, ``range`` were assumed (comma-separated,
    empty when all were stated); cameras that already carry ``assumed`` keep it (idempotent).
    """
    notes: list[str] = []
    out = cameras.copy()
    n = len(out)
    ctype = _column(out, "camera_type", "unknown").fillna("unknown").astype(str).str.lower().to_numpy()
    heading = pd.to_numeric(_column(out, "heading_deg", np.nan), errors="coerce").to_numpy(dtype=float).copy()
    fov = pd.to_numeric(_column(out, "fov_deg", np.nan), errors="coerce").to_numpy(dtype=float).copy()
    rng = pd.to_numeric(_column(out, "range_m", np.nan), errors="coerce").to_numpy(dtype=float).copy()
    prior = out["assumed"].fillna("").astype(str).to_numpy() if "assumed" in out else np.full(n, "")
    a_fov = np.isnan(fov) | (fov <= 0)
    a_rng = np.isnan(rng) | (rng <= 0)
    all_round_type = np.isin(ctype, ("dome", "ptz"))
    fov = np.where(a_fov, np.where(all_round_type, 360.0, default_fov_deg), np.minimum(fov, 360.0))
    rng = np.where(a_rng, default_range_m, rng)
    heading = np.mod(heading, 360.0)
    need = (fov < 360) & np.isnan(heading)
    if need.any():
        if network is not None and len(out):
            guessed = _street_headings(out.geometry.to_numpy()[need], network)
            heading[need] = guessed
            lost = np.isnan(guessed)
            if lost.any():
                fov[np.flatnonzero(need)[lost]] = 360.0
            notes.append(f"{int(need.sum())} existing cameras have no heading: assumed to face the nearest street")
        else:
            fov[need] = 360.0
            notes.append(
                f"{int(need.sum())} existing cameras have no heading and no street network was given: counted as seeing all round"
            )
            logger.warning(notes[-1])
    assumed = []
    for i in range(n):
        names = set(filter(None, prior[i].split(",")))
        names |= {
            f for f, a in zip(ASSUMED_FIELDS, (need[i], a_fov[i] or (need[i] and fov[i] >= 360), a_rng[i]), strict=True) if a
        }
        assumed.append(",".join(f for f in ASSUMED_FIELDS if f in names))
    out["camera_type"] = ctype
    out["heading_deg"] = np.where(fov >= 360, np.nan, heading)
    out["fov_deg"] = fov
    out["range_m"] = rng
    out["assumed"] = assumed
    return out, notes


def existing_ids(cameras: gpd.GeoDataFrame) -> np.ndarray:
    """Stable ids of existing cameras: ``E<row>`` in the layer's order (``camera_id`` when given)."""
    if "camera_id" in cameras and cameras["camera_id"].notna().all() and cameras["camera_id"].astype(str).is_unique:
        return cameras["camera_id"].astype(str).to_numpy()
    return np.array([f"E{i:04d}" for i in range(len(cameras))], dtype=object)


def existing_pairs(
    cameras: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    *,
    buildings: gpd.GeoDataFrame | None = None,
    tiers: list[tuple[float, float]] | None = None,
    ignore_own_building_m: float = 1.0,
) -> pd.DataFrame:
    """Which existing camera sees which demand point: ``camera`` (row position), ``demand``
    (row position), ``distance_m``, ``bearing_deg`` (camera to point) and ``credit``.

    ``cameras`` must carry ``heading_deg``, ``fov_deg`` and ``range_m`` (see
    :func:`resolve_existing`; NaN heading = all round); a ``street_credit`` column of False
    gives that camera no pairs with street demand (``kind`` = street).
    """
    cols = {
        "camera": np.empty(0, np.int64),
        "demand": np.empty(0, np.int64),
        "distance_m": np.empty(0),
        "bearing_deg": np.empty(0),
        "credit": np.empty(0),
    }
    if len(cameras) == 0 or len(demand) == 0:
        return pd.DataFrame(cols)
    _check_tiers(tiers)
    crs = _crs_of(cameras, "the cameras layer")
    _same_crs(crs, demand, "the demand points")
    _same_crs(crs, buildings, "the buildings")
    pts = cameras.geometry.to_numpy()
    cxy = _point_xy(pts, "the cameras layer")
    heading = pd.to_numeric(cameras["heading_deg"], errors="coerce").to_numpy(dtype=float)
    fov = pd.to_numeric(cameras["fov_deg"], errors="coerce").to_numpy(dtype=float)
    rng = pd.to_numeric(cameras["range_m"], errors="coerce").to_numpy(dtype=float)
    street_ok = _column(cameras, "street_credit", True).fillna(True).astype(bool).to_numpy()
    is_street = (_column(demand, "kind", "street").astype(str) == "street").to_numpy()
    demand_pts = demand.geometry.to_numpy()
    demand_xy = _point_xy(demand_pts, "the demand points")
    blockers = _Blockers(buildings)
    own = blockers.containing(demand_pts) if len(blockers) else None
    tree = shapely.STRtree(demand_pts)
    need = _need_share(demand)
    parts: list[tuple[np.ndarray, ...]] = []
    for s, d in _pairs_within(pts, tree, rng):
        keep = street_ok[s] | ~is_street[d]
        s, d = s[keep], d[keep]
        dxy = demand_xy[d] - cxy[s]
        dist = np.hypot(dxy[:, 0], dxy[:, 1])
        bearing = bearing_deg(dxy[:, 0], dxy[:, 1])
        c = tier_credit(dist, rng[s], tiers)
        if need is not None:
            c = required_tier_credit(c, dist, rng[s], need[d])
        ok = (c > 0) & (in_fov(bearing, heading[s], fov[s]) | (dist < 1e-9))
        s, d, c, dist, bearing = s[ok], d[ok], c[ok], dist[ok], bearing[ok]
        blocked = blockers.blocked(
            cxy[s], demand_xy[d], skip_start_m=ignore_own_building_m, own_building=None if own is None else own[d]
        )
        seen = ~blocked
        parts.append((s[seen], d[seen], dist[seen], bearing[seen], c[seen]))
    if parts:
        for k, name in enumerate(cols):
            cols[name] = np.concatenate([p[k] for p in parts])
    return pd.DataFrame(cols)


def pairs_credit(pairs: pd.DataFrame, n_demand: int) -> tuple[np.ndarray, np.ndarray]:
    """Per demand point, the best credit of its pairs (0 when none) and how many cameras see it."""
    credit = np.zeros(n_demand)
    views = np.zeros(n_demand, dtype=np.int64)
    d = pairs["demand"].to_numpy(dtype=np.int64)
    np.maximum.at(credit, d, pairs["credit"].to_numpy(dtype=float))
    np.add.at(views, d, 1)
    return credit, views


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

    resolved, notes = resolve_existing(cameras, default_range_m=default_range_m, default_fov_deg=default_fov_deg, network=network)
    pairs = existing_pairs(resolved, demand, buildings=buildings, tiers=tiers, ignore_own_building_m=ignore_own_building_m)
    credit, views = pairs_credit(pairs, n_demand)
    logger.info("existing cameras: %d see %d of %d demand points", len(cameras), int((views > 0).sum()), n_demand)
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
