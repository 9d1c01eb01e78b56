"""Patrol beats: the streets split into K contiguous, compact beats of balanced workload (网格化巡逻).

A beat is a set of street segments (``segment_id``) that is connected (segments sharing a
node) and has about the mean workload. Workload is given per segment (default: its length in
metres; :func:`segment_workload` mixes the patrol time to walk the street with a dwell demand
driven by risk)::

    work = segment_workload(network, risk=surface)          # seconds per segment
    beats = make_beats(network, k=18, workload=work, seed=0)
    print(beats.summary())

The method, deterministic for a seed:

1. **Seeds**: k-means++ on the segment midpoints weighted by workload, a few weighted Lloyd
   steps, each centre snapped to the nearest unused segment.
2. **Growth**: multi-source region growing on the segment adjacency graph; at every step the
   beat with the smallest workload takes its nearest unassigned neighbouring segment (network
   distance from its seed node). Every beat is connected by construction.
3. **Balancing**: boundary segments move from a beat to an adjacent beat with less workload,
   nearest-to-the-receiving-seed first, only while the giving beat stays connected (checked
   with :func:`scipy.sparse.csgraph.connected_components` on its streets), until every beat is
   within ``tolerance`` of the mean or ``max_iter`` sweeps are done.

Seed segments never move, so no beat can be emptied. The beat polygons are the Voronoi cells
of points sampled along the streets, dissolved per beat and clipped to the streets' outline
(a concave hull widened by 60 m): they do not overlap, cover every street, and are cleaned
into one area per beat without holes (exclaves go to their neighbour, a beat enclosed by
another gets a corridor out), so a beat's polygon may hold a few streets of its neighbour.
"""

from __future__ import annotations

import heapq
import html
import logging
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components, dijkstra

from geoengine.errors import InfeasibleSettingsError
from geoengine.graphs import SegmentGraph, segment_graph
from geoengine.stop import Limits, report_stop

if TYPE_CHECKING:
    from geoengine.network import RoadNetwork

__all__ = ["Beats", "make_beats", "segment_workload"]

log = logging.getLogger(__name__)

_LLOYD_STEPS = 8
_DETOUR_HOPS = 6
"""Contiguity is first checked by looking for a detour of at most this many segments."""
_BALANCE_TARGET = 0.5
"""Balancing continues until every beat is within this share of the tolerance (where it can)."""
_SAMPLE_STEP_M = 25.0
"""Spacing of the points sampled along the streets for the beat polygons."""
_CLIP_BUFFER_M = 60.0
"""The beat polygons reach this far from the streets."""
_HULL_RATIO = 0.2
"""Concavity of the streets' outline (``shapely.concave_hull`` ratio: 0 most concave, 1 convex)."""
_MIN_PART_M2 = 1.0
"""Polygon parts and holes smaller than this are floating-point crumbs of the overlays."""
_CORRIDOR_M = 12.0
"""Half-width of the corridor that joins a beat enclosed by another to the outside."""
_CLEAN_PASSES = 8
"""Most passes of :func:`_clean_polygons` (each pass moves exclaves, then opens one hole per part)."""


def _n_components(u: np.ndarray, v: np.ndarray) -> int:
    """Connected components of the streets ``(u, v)`` (segments sharing a node are connected)."""
    if u.size == 0:
        return 0
    nodes, inv = np.unique(np.concatenate([u, v]), return_inverse=True)
    m = u.size
    g = sp.coo_matrix((np.ones(m), (inv[:m], inv[m:])), shape=(nodes.size, nodes.size))
    return int(connected_components(g, directed=False, return_labels=False))


# --------------------------------------------------------------------------------------------
# workload


def risk_series(risk: Any) -> pd.Series:
    """A risk weight per segment_id from a Series or a RiskSurface (its all-day risk)."""
    if isinstance(risk, pd.Series):
        return risk.astype(float)
    overall = getattr(risk, "overall", None)
    if isinstance(overall, pd.DataFrame) and {"segment_id", "risk"} <= set(overall.columns):
        return overall.set_index("segment_id")["risk"].astype(float)
    raise TypeError(f"risk must be a pandas Series (segment_id -> risk) or a RiskSurface, got {type(risk).__name__}")


def aligned_values(values: pd.Series, segment_id: np.ndarray, field: str) -> np.ndarray:
    """``values`` per segment (missing = 0), validated finite and ≥ 0."""
    s = pd.Series(values, dtype=float)
    extra = s.index.difference(pd.Index(segment_id))
    if len(extra):
        log.warning("%s: %d segment ids are not in the network and are ignored", field, len(extra))
    missing = pd.Index(segment_id).difference(s.index)
    if len(missing):
        log.info("%s: %d segments have no value; taken as 0", field, len(missing))
    arr = s.reindex(segment_id).fillna(0.0).to_numpy(dtype=float)
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise InfeasibleSettingsError.single("values must be finite and ≥ 0", field=field)
    return arr


def segment_workload(
    network: RoadNetwork,
    *,
    risk: pd.Series | Any | None = None,
    patrol_kph: float = 5.0,
    risk_share: float = 0.5,
) -> pd.Series:
    """Patrol workload per ``segment_id`` in seconds: time to cover the street plus dwell demand.

    The street part is ``length_m / patrol speed``; the dwell part spreads a dwell budget over
    the segments in proportion to ``risk`` (a Series ``segment_id -> risk`` or a RiskSurface,
    whose all-day risk is used). ``risk_share`` is the dwell budget's share of the total
    workload (0.5: half covering streets, half dwelling at risky places). Without risk the
    workload is the street time alone.
    """
    if not (math.isfinite(patrol_kph) and patrol_kph > 0):
        raise InfeasibleSettingsError.single(f"must be > 0, got {patrol_kph!r}", field="patrol_kph")
    if not (0.0 <= risk_share < 1.0):
        raise InfeasibleSettingsError.single(f"must lie in [0, 1), got {risk_share!r}", field="risk_share")
    sg = segment_graph(network)
    street_s = sg.length_m / (patrol_kph / 3.6)
    work = street_s.copy()
    if risk is not None and risk_share > 0:
        r = aligned_values(risk_series(risk), sg.segment_id, "risk")
        if r.sum() > 0:
            dwell_total = street_s.sum() * risk_share / (1.0 - risk_share)
            work = street_s + dwell_total * r / r.sum()
    return pd.Series(work, index=pd.Index(sg.segment_id, name="segment_id"), name="workload_s")


# --------------------------------------------------------------------------------------------
# result


@dataclass(frozen=True, eq=False)
class Beats:
    """K patrol beats: which beat each street belongs to, and one row per beat.

    ``beats`` columns: ``beat`` (0..K-1), ``name`` ("Beat 1"…), ``workload``, ``street_km``,
    ``risk`` (sum of the risk given to :func:`make_beats`, NaN without), ``area_km2``,
    ``compactness`` (Polsby-Popper 4πA/P² of the polygon's main part with its holes filled,
    1 = disc; slivers where another beat's street passes are left out), ``n_segments``,
    ``seed_node``, ``geometry`` (non-overlapping polygons without holes around the beat's streets).
    ``cv`` is the coefficient of variation of the workload, ``max_deviation`` the largest
    ``|workload / mean − 1|``; ``within_tolerance`` says whether it is ≤ ``tolerance`` and
    ``message`` why not.
    """

    assignment: pd.Series
    beats: gpd.GeoDataFrame
    cv: float
    max_deviation: float
    contiguous: bool
    tolerance: float
    within_tolerance: bool
    iterations: int
    moves: int
    seed: int
    elapsed_s: float
    message: str = ""
    stopped_by: str = "complete"
    """"complete" (balanced or no move left), "work" (``max_iter`` sweeps used) or "safety_cap" (``time_limit_s``)."""

    @property
    def k(self) -> int:
        return int(len(self.beats))

    def summary(self) -> str:
        """The beats as a table, then CV, max deviation, contiguity and the note."""
        b = self.beats
        lines = [
            f"Beats: k={self.k}, workload CV {self.cv:.3f}, max deviation {100 * self.max_deviation:.1f} % "
            f"(tolerance {100 * self.tolerance:.0f} %: {'met' if self.within_tolerance else 'NOT met'}), "
            f"contiguous: {'yes' if self.contiguous else 'NO'}, {self.iterations} sweeps, {self.moves} moves, "
            f"{self.elapsed_s:.2f} s",
            f"{'beat':<8} {'workload':>12} {'dev %':>7} {'street km':>10} {'risk':>10} {'area km2':>9} "
            f"{'compact':>8} {'segments':>9}",
        ]
        mean = float(b["workload"].mean()) if len(b) else 0.0
        for r in b.itertuples():
            dev = 100 * (r.workload / mean - 1) if mean > 0 else 0.0
            risk = "—" if not np.isfinite(r.risk) else f"{r.risk:,.3g}"
            lines.append(
                f"{r.name:<8} {r.workload:>12,.1f} {dev:>+7.1f} {r.street_km:>10.2f} {risk:>10} "
                f"{r.area_km2:>9.3f} {r.compactness:>8.3f} {r.n_segments:>9d}"
            )
        if self.message:
            lines.append(f"note: {self.message}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Beats k={self.k} cv={self.cv:.3f} max_deviation={self.max_deviation:.3f} contiguous={self.contiguous}>"

    def _repr_html_(self) -> str:  # pragma: no cover - notebook display
        return "<pre>" + html.escape(self.summary()) + "</pre>"


# --------------------------------------------------------------------------------------------
# the algorithm


def _check(network: RoadNetwork, k: int, tolerance: float, seed: int, max_iter: int) -> None:
    n_seg = segment_graph(network).n_seg
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InfeasibleSettingsError.single(f"the number of beats must be an integer ≥ 1, got {k!r}", field="patrol.beats")
    if k > n_seg:
        raise InfeasibleSettingsError.single(
            f"{k} beats asked for but the network has only {n_seg} street segments",
            field="patrol.beats",
            hint="ask for fewer beats or use a larger network",
        )
    if not (isinstance(tolerance, (int, float)) and math.isfinite(tolerance) and tolerance >= 0):
        raise InfeasibleSettingsError.single(f"must be a number ≥ 0, got {tolerance!r}", field="patrol.tolerance")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**31:
        raise ValueError(f"seed must be an integer in [0, 2**31), got {seed!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 0:
        raise ValueError(f"max_iter must be an integer ≥ 0, got {max_iter!r}")


def _seeds(mid: np.ndarray, w: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k distinct seed segments: weighted k-means++ then Lloyd steps, centres snapped to segments."""
    n = mid.shape[0]
    p = w + 1e-12 * max(float(w.max()), 1.0)
    p = p / p.sum()
    centres = [int(rng.choice(n, p=p))]
    d2 = ((mid - mid[centres[0]]) ** 2).sum(axis=1)
    for _ in range(1, k):
        q = p * d2
        if q.sum() <= 0:
            q = np.where(np.isin(np.arange(n), centres), 0.0, 1.0)
        j = int(rng.choice(n, p=q / q.sum()))
        centres.append(j)
        d2 = np.minimum(d2, ((mid - mid[j]) ** 2).sum(axis=1))
    c = mid[centres].copy()
    for _ in range(_LLOYD_STEPS):
        lab = _nearest(mid, c)
        tot = np.bincount(lab, weights=p, minlength=k)
        for dim in range(2):
            s = np.bincount(lab, weights=p * mid[:, dim], minlength=k)
            c[:, dim] = np.where(tot > 0, s / np.where(tot > 0, tot, 1.0), c[:, dim])
    # snap each centre to its nearest unused segment
    chosen: list[int] = []
    used = np.zeros(n, dtype=bool)
    for i in range(k):
        d = ((mid - c[i]) ** 2).sum(axis=1)
        d[used] = np.inf
        j = int(np.argmin(d))
        used[j] = True
        chosen.append(j)
    return np.asarray(chosen, dtype=np.int64)


def _nearest(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    d = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    return np.argmin(d, axis=1)


def _grow(adj: sp.csr_matrix, w: np.ndarray, dist: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Capacitated multi-source growth: the lightest beat takes its nearest free neighbour."""
    n, k = adj.shape[0], seeds.size
    label = np.full(n, -1, dtype=np.int64)
    load = np.zeros(k)
    frontier: list[list[tuple[float, int]]] = [[] for _ in range(k)]
    indptr, indices = adj.indptr, adj.indices

    def take(b: int, s: int) -> None:
        label[s] = b
        load[b] += w[s]
        for t in indices[indptr[s] : indptr[s + 1]]:
            if label[t] < 0:
                heapq.heappush(frontier[b], (float(dist[b, t]), int(t)))

    for b, s in enumerate(seeds):
        label[s] = b  # reserve all seeds first
    for b, s in enumerate(seeds):
        label[s] = -1
        take(b, int(s))
    order = [(float(load[b]), b) for b in range(k)]
    heapq.heapify(order)
    while order:
        _, b = heapq.heappop(order)
        fr = frontier[b]
        while fr and label[fr[0][1]] >= 0:
            heapq.heappop(fr)
        if not fr:
            continue  # enclosed: it can never grow again
        _, s = heapq.heappop(fr)
        take(b, s)
        heapq.heappush(order, (float(load[b]), b))
    if (label < 0).any():  # pragma: no cover - the segment graph of a network is connected
        raise InfeasibleSettingsError.single(
            f"{int((label < 0).sum())} street segments are not connected to the rest", field="patrol.beats"
        )
    return label


def _balance(
    sg: SegmentGraph,
    adj: sp.csr_matrix,
    w: np.ndarray,
    dist: np.ndarray,
    label: np.ndarray,
    seeds: np.ndarray,
    *,
    tolerance: float,
    max_iter: int,
    deadline: float,
) -> tuple[int, int]:
    """Move boundary segments from heavier to lighter adjacent beats, keeping beats connected.

    Balancing aims at ``_BALANCE_TARGET · tolerance`` (half of it), so that beats end well
    inside the tolerance where the streets allow. A sweep visits every pair of adjacent beats
    (b heavier than c), biggest difference first, where b is above ``mean·(1 + target/2)`` or c
    below ``mean·(1 − target/2)``, and
    moves b's segments that touch c to c while that narrows their difference. Work passes
    on through beats in between over the sweeps. Works on ``label`` in place; returns
    (sweeps, moves).
    """
    k = seeds.size
    load = np.bincount(label, weights=w, minlength=k)
    mean = float(load.mean())
    if mean <= 0 or k < 2:
        return 0, 0
    target = _BALANCE_TARGET * tolerance
    hi, lo = mean * (1 + 0.5 * target), mean * (1 - 0.5 * target)
    is_seed = np.zeros(label.size, dtype=bool)
    is_seed[seeds] = True
    rows = np.repeat(np.arange(label.size), np.diff(adj.indptr))
    moves = 0
    sweeps = 0
    while sweeps < max_iter and time.perf_counter() < deadline:
        if np.abs(load / mean - 1).max() <= target:
            break
        sweeps += 1
        lb, lc = label[rows], label[adj.indices]
        cross = lb != lc
        pairs = np.unique(np.stack([lb[cross], lc[cross]], axis=1), axis=0)
        gap = load[pairs[:, 0]] - load[pairs[:, 1]]
        active = (gap > 0) & ((load[pairs[:, 0]] > hi) | (load[pairs[:, 1]] < lo))
        pairs, gap = pairs[active], gap[active]
        moved = 0
        for b, c in pairs[np.lexsort((pairs[:, 1], pairs[:, 0], -gap))]:
            moved += _transfer(int(b), int(c), adj, label, load, w, dist, is_seed, sg.u, sg.v, hi=hi, lo=lo)
        moves += moved
        if moved == 0:
            break
    return sweeps, moves


def _transfer(
    b: int,
    c: int,
    adj: sp.csr_matrix,
    label: np.ndarray,
    load: np.ndarray,
    w: np.ndarray,
    dist: np.ndarray,
    is_seed: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    *,
    hi: float,
    lo: float,
) -> int:
    """Move segments of beat b bordering beat c to c while that narrows their load difference."""
    moved = 0
    while (load[b] > hi or load[c] < lo) and load[b] > load[c]:
        members = np.flatnonzero(label == b)
        touch = (adj[members] @ (label == c).astype(float)) > 0
        gap = load[b] - load[c]
        cand = members[touch & ~is_seed[members] & (w[members] < gap)]
        if cand.size == 0:
            return moved
        score = dist[c, cand] - dist[b, cand]
        cand = cand[np.lexsort((cand, score))]
        keep = np.ones(members.size, dtype=bool)
        pos = np.searchsorted(members, cand)
        done = False
        for s, i in zip(cand.tolist(), pos.tolist(), strict=True):
            if not ((load[b] > hi or load[c] < lo) and w[s] < load[b] - load[c]):
                break
            keep[i] = False
            if not _locally_removable(s, b, label, adj, u, v) and _n_components(u[members[keep]], v[members[keep]]) != 1:
                keep[i] = True
                continue
            label[s] = c
            load[b] -= w[s]
            load[c] += w[s]
            moved += 1
            done = True
        if not done:
            return moved
    return moved


def _locally_removable(s: int, b: int, label: np.ndarray, adj: sp.csr_matrix, u: np.ndarray, v: np.ndarray) -> bool:
    """Whether beat b stays connected without segment s, shown by a short detour (else unknown: False).

    The beat's segments at one end of s share that node, so they are connected to one another;
    removing s keeps b connected if it is a dead end in b, or if a short walk within b (at
    most ``_DETOUR_HOPS`` segments) links the segments at its two ends.
    """
    indptr, indices = adj.indptr, adj.indices
    nb = indices[indptr[s] : indptr[s + 1]]
    nb = nb[label[nb] == b]
    at_u = nb[(u[nb] == u[s]) | (v[nb] == u[s])]
    at_v = nb[(u[nb] == v[s]) | (v[nb] == v[s])]
    if at_u.size == 0 or at_v.size == 0:
        return True
    target = set(at_v.tolist())
    seen = set(at_u.tolist()) | {s}
    if seen & target:
        return True
    frontier = at_u.tolist()
    for _ in range(_DETOUR_HOPS):
        nxt = []
        for t in frontier:
            for r in indices[indptr[t] : indptr[t + 1]].tolist():
                if r in seen or label[r] != b:
                    continue
                if r in target:
                    return True
                seen.add(r)
                nxt.append(r)
        if not nxt:
            return False
        frontier = nxt
    return False


def _dissolve(cells: np.ndarray) -> shapely.Geometry:
    """Union of Voronoi cells (edge-matched, so the fast coverage union applies)."""
    try:
        out = shapely.coverage_union_all(cells)
        if shapely.is_valid(out):
            return out
    except shapely.errors.GEOSException:  # pragma: no cover - fall back to the general union
        pass
    return shapely.union_all(cells)  # pragma: no cover


def _outline(pts: np.ndarray) -> shapely.Geometry:
    """The area the streets cover: a concave hull of the street sample points, widened by
    ``_CLIP_BUFFER_M``, without holes (a square or a lake inside the network belongs to a beat)."""
    hull = shapely.concave_hull(shapely.multipoints(pts), ratio=_HULL_RATIO)
    area = shapely.buffer(hull, _CLIP_BUFFER_M, quad_segs=4)
    return shapely.union_all([shapely.Polygon(p.exterior) for p in shapely.get_parts(area) if not p.is_empty])


def _parts(g: shapely.Geometry) -> list[shapely.Polygon]:
    """Polygon parts of ``g`` above ``_MIN_PART_M2`` (numerical crumbs dropped)."""
    return [p for p in shapely.get_parts(g) if isinstance(p, shapely.Polygon) and p.area > _MIN_PART_M2]


def _without_crumbs(g: shapely.Geometry) -> shapely.Geometry:
    """``g`` without parts and holes smaller than ``_MIN_PART_M2`` (left by floating-point overlay)."""
    parts = [shapely.Polygon(p.exterior, [r for r in p.interiors if shapely.Polygon(r).area > _MIN_PART_M2]) for p in _parts(g)]
    if not parts:
        return shapely.Polygon()
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def _give(polys: np.ndarray, b: int, c: int, piece: shapely.Geometry) -> None:
    """Move ``piece`` from beat b's polygon to beat c's."""
    polys[b] = _without_crumbs(shapely.difference(polys[b], piece))
    polys[c] = _without_crumbs(shapely.union(polys[c], piece))


def _clean_polygons(polys: np.ndarray, own: list[np.ndarray]) -> None:
    """Make each beat one area without holes, in place.

    Exclaves (parts other than the one holding most of the beat's street sample points) go to
    the neighbour they share the longest border with. A beat enclosed by another (a hole in
    it) gets a corridor to the enclosing beat's outer border, along the shortest way out, so
    the enclosing beat's polygon has no hole. The polygons keep covering the same area and
    do not overlap.
    """
    k = polys.size
    for _ in range(_CLEAN_PASSES):
        changed = False
        for b in range(k):
            parts = _parts(polys[b])
            if len(parts) <= 1:
                continue
            hits = [int(shapely.contains(p, own[b]).sum()) if own[b].size else 0 for p in parts]
            main = int(np.lexsort(([p.area for p in parts], hits))[-1])
            for i, part in enumerate(parts):
                if i == main:
                    continue
                border = [shapely.length(shapely.intersection(part.exterior, polys[c])) if c != b else 0.0 for c in range(k)]
                c = int(np.argmax(border))
                if border[c] > 0:
                    _give(polys, b, c, part)
                    changed = True
        for b in range(k):
            for part in _parts(polys[b]):
                for ring in part.interiors:
                    way = shapely.shortest_line(ring, part.exterior)
                    start = shapely.get_point(way, 0)
                    near = [shapely.distance(polys[c], start) if c != b else np.inf for c in range(k)]
                    c = int(np.argmin(near))
                    corridor = shapely.intersection(shapely.buffer(way, _CORRIDOR_M, cap_style="flat"), polys[b])
                    _give(polys, b, c, corridor)
                    changed = True
                    break  # the part changed: look at it again in the next pass
        if not changed:
            return


def _polygons(sg: SegmentGraph, label: np.ndarray, k: int, crs: Any) -> np.ndarray:
    """Beat polygons as clean areas: the Voronoi cells of street sample points, dissolved per
    beat, clipped to the area the streets cover (:func:`_outline`), then cleaned
    (:func:`_clean_polygons`): one area per beat where the streets allow, no holes, no overlaps."""
    lines = sg.geometry
    length = sg.length_m
    n_pts = np.maximum(1, np.ceil(length / _SAMPLE_STEP_M).astype(np.int64))
    seg_of = np.repeat(np.arange(lines.size), n_pts)
    within = np.arange(seg_of.size) - np.repeat(np.cumsum(n_pts) - n_pts, n_pts)
    frac = (within + 0.5) / n_pts[seg_of]
    pts = shapely.line_interpolate_point(lines[seg_of], frac, normalized=True)
    xy = shapely.get_coordinates(pts)
    _, first = np.unique(np.round(xy, 2), axis=0, return_index=True)
    first = np.sort(first)
    pts, seg_of = pts[first], seg_of[first]
    ends = shapely.points(sg.node_xy)
    area = _outline(np.concatenate([pts, ends]))
    out = np.empty(k, dtype=object)
    if pts.size < 2:
        out[:] = area
        return out
    cells = shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=shapely.buffer(area, 10.0), ordered=True)
    cells = np.asarray(shapely.get_parts(cells))
    if cells.size != pts.size:  # pragma: no cover - GEOS merges coincident points
        hit_p, hit_c = shapely.STRtree(cells).query(pts, predicate="intersects")
        owner = np.full(cells.size, -1)
        owner[hit_c[::-1]] = hit_p[::-1]
        cell_beat = np.where(owner >= 0, label[seg_of[np.maximum(owner, 0)]], -1)
    else:
        cell_beat = label[seg_of]
    for b in range(k):
        mine = cells[cell_beat == b]
        poly = _dissolve(mine) if mine.size else shapely.Polygon()
        out[b] = _without_crumbs(shapely.intersection(poly, area))
    _clean_polygons(out, [pts[label[seg_of] == b] for b in range(k)])
    return out


def _compactness(geoms: np.ndarray) -> np.ndarray:
    """Polsby-Popper ``4πA/P²`` of each polygon's main part (largest part, holes filled)."""
    out = np.zeros(geoms.size)
    for i, g in enumerate(geoms):
        parts = shapely.get_parts(g)
        if parts.size == 0:
            continue
        main = parts[int(np.argmax(shapely.area(parts)))]
        shell = shapely.Polygon(main.exterior) if isinstance(main, shapely.Polygon) else main
        perim = shell.length
        out[i] = 4 * np.pi * shell.area / perim**2 if perim > 0 else 0.0
    return out


def make_beats(
    network: RoadNetwork,
    *,
    k: int,
    workload: pd.Series | None = None,
    risk: pd.Series | Any | None = None,
    tolerance: float = 0.15,
    seed: int = 0,
    max_iter: int = 200,
    time_limit_s: float = 60.0,
) -> Beats:
    """Split the streets into ``k`` contiguous, compact beats of balanced workload.

    Parameters
    ----------
    network
        The road network; every street segment goes to exactly one beat.
    k
        Number of beats (patrol teams or grids), 1 ≤ k ≤ number of segments.
    workload
        Workload per ``segment_id`` (any unit; default the street length in metres; see
        :func:`segment_workload`). Missing segments count 0.
    risk
        Optional risk per ``segment_id`` (or a RiskSurface) reported per beat; it does not
        change the beats (put it in ``workload`` for that).
    tolerance
        Target: every beat's workload within ``±tolerance`` of the mean.
    seed
        Seed of the seeding step; same inputs and seed give the same beats.
    max_iter
        Most balancing sweeps (the deterministic limit).
    time_limit_s
        Wall-clock safety cap of the balancing step (a run stopped by it says so in
        ``stopped_by`` and is not reproducible).

    Raises
    ------
    InfeasibleSettingsError
        ``k`` < 1 or larger than the number of street segments (field ``patrol.beats``), or a
        bad workload.
    """
    t0 = time.perf_counter()
    _check(network, k, tolerance, seed, max_iter)
    k = int(k)
    sg = segment_graph(network)
    w = sg.length_m.copy() if workload is None else aligned_values(workload, sg.segment_id, "workload")
    if w.sum() <= 0:
        raise InfeasibleSettingsError.single("the workload is 0 on every segment", field="workload")
    rng = np.random.default_rng(seed)
    mid = shapely.get_coordinates(shapely.line_interpolate_point(sg.geometry, 0.5, normalized=True))
    seeds = _seeds(mid, w, k, rng)
    seed_node = np.where(
        ((sg.node_xy[sg.u[seeds]] - mid[seeds]) ** 2).sum(axis=1) <= ((sg.node_xy[sg.v[seeds]] - mid[seeds]) ** 2).sum(axis=1),
        sg.u[seeds],
        sg.v[seeds],
    )
    node_d = dijkstra(sg.node_graph(), directed=False, indices=seed_node)
    # distance from a seed to a segment: to its nearer end plus half its length
    dist = np.minimum(node_d[:, sg.u], node_d[:, sg.v]) + 0.5 * sg.length_m[None, :]
    adj = sg.adjacency()
    label = _grow(adj, w, dist, seeds)
    t_grow = time.perf_counter()
    sweeps, moves = _balance(
        sg, adj, w, dist, label, seeds, tolerance=float(tolerance), max_iter=int(max_iter), deadline=t0 + time_limit_s
    )
    t_bal = time.perf_counter()
    if t_bal > t0 + time_limit_s and sweeps < max_iter:
        stopped_by = "safety_cap"
        report_stop("beats", "safety_cap", Limits(float(max_iter), float(time_limit_s)), t_bal - t0, f"k={k}")
    else:
        stopped_by = "work" if sweeps >= max_iter else "complete"

    load = np.bincount(label, weights=w, minlength=k)
    mean = float(load.mean())
    dev = np.abs(load / mean - 1)
    cv = float(load.std() / mean)
    max_dev = float(dev.max())
    parts = np.array([_n_components(sg.u[label == b], sg.v[label == b]) for b in range(k)])
    contiguous = bool((parts == 1).all())
    if not contiguous:  # pragma: no cover - guarded by construction
        log.error("beats %s are not contiguous", np.flatnonzero(parts != 1).tolist())
    within = bool(max_dev <= tolerance + 1e-12)
    message = ""
    if not within:
        heavy = int(np.argmax(dev))
        biggest = float(w.max())
        reasons = []
        if biggest > tolerance * mean:
            reasons.append(f"one street segment alone carries {100 * biggest / mean:.0f} % of a beat's mean workload")
        if sweeps >= max_iter:
            reasons.append(f"max_iter={max_iter} balancing sweeps used up")
        elif time.perf_counter() > t0 + time_limit_s:
            reasons.append(f"time limit {time_limit_s:g} s reached")
        else:
            reasons.append("no boundary street can move without splitting a beat or worsening the balance")
        message = (
            f"Beat {heavy + 1} is {100 * (load[heavy] / mean - 1):+.1f} % off the mean workload "
            f"(tolerance ±{100 * tolerance:.0f} %): " + "; ".join(reasons)
        )
        log.warning("make_beats: %s", message)

    risk_arr = None if risk is None else aligned_values(risk_series(risk), sg.segment_id, "risk")
    geoms = _polygons(sg, label, k, network.crs)
    areas = shapely.area(geoms)
    compact = _compactness(geoms)
    beats = gpd.GeoDataFrame(
        {
            "beat": np.arange(k, dtype=np.int64),
            "name": [f"Beat {b + 1}" for b in range(k)],
            "workload": load,
            "street_km": np.bincount(label, weights=sg.length_m, minlength=k) / 1000.0,
            "risk": np.bincount(label, weights=risk_arr, minlength=k) if risk_arr is not None else np.full(k, np.nan),
            "area_km2": areas / 1e6,
            "compactness": compact,
            "n_segments": np.bincount(label, minlength=k).astype(np.int64),
            "seed_node": sg.node_id[seed_node].astype(np.int64),
        },
        geometry=geoms,
        crs=network.crs,
    )
    assignment = pd.Series(label, index=pd.Index(sg.segment_id, name="segment_id"), name="beat")
    elapsed = time.perf_counter() - t0
    log.info(
        "make_beats: k=%d, %d segments, grow %.2f s, balance %.2f s (%d sweeps, %d moves), total %.2f s, "
        "cv %.3f, max deviation %.3f",
        k,
        sg.n_seg,
        t_grow - t0,
        t_bal - t_grow,
        sweeps,
        moves,
        elapsed,
        cv,
        max_dev,
    )
    return Beats(
        assignment=assignment,
        beats=beats,
        cv=cv,
        max_deviation=max_dev,
        contiguous=contiguous,
        tolerance=float(tolerance),
        within_tolerance=within,
        iterations=int(sweeps),
        moves=int(moves),
        seed=int(seed),
        elapsed_s=elapsed,
        message=message,
        stopped_by=stopped_by,
    )
