"""Rapid-response circles (快速反应圈): tiered response times from the plan's responders.

Chinese district practice plans response as tiers: 1 minute for the most important sites
(stations, hubs, schools, government, tourist sites), 3 minutes for the key commercial
districts, 5 minutes for the rest of the streets, answered by booths, stations, checkpoints
and the patrol teams wherever the plan puts them at that minute::

    responders = plan_responders(network, windows=sc.windows, patrol=plan, stations=stations,
                                 settings=sc.response, booth_mode="foot")
    result = evaluate_response(network, responders, settings=sc.response, windows=sc.windows,
                               key_sites=sites, districts=districts)
    print(result.summary())

* **Responders** (:func:`plan_responders`): booths and stations are fixed; checkpoints count in the
  windows the force allocation staffs them; a patrol team is at its stop from arrival to
  departure, and on the leg between two stops at the street node it has reached along the
  fastest path of its mode by that minute (planned times; from its departure); on its meal
  break and off shift it is not available. Every responder kind has a travel mode and a
  turnout time (call to moving: booth 0.5 min, car 1 min ...).
* **Response time** to a demand point (a street node: a key site's nearest node, the nodes inside
  a key district, or every node) at a minute: the least turnout + network travel time from an
  available responder of the tier's kinds — one multi-source Dijkstra per responder kind
  (``scipy.sparse.csgraph.dijkstra(..., min_only=True)``) on that kind's mode graph
  (:func:`geoengine.graphs.mode_graph`, times divided by the window's speed factor for
  cars and e-bikes), up to ``horizon_min``.
* **Per tier and window** (:class:`ResponseResult`): the share of demand within the tier's minutes,
  averaged over the window's minutes (every ``sample_minutes``) and at its worst minute, the points
  outside then and those never inside, and for backup tiers the second responder's time (the next
  distinct responder).
* **Planned** (:func:`site_booths`): booths sited for a tier — LSCP, the fewest posts so that every
  reachable tier point is inside its circle, or MCLP, the most tier demand for K posts (with a
  reward for a second booth at backup points) — with the location solvers of
  :mod:`geoengine.coverage.problem` and their status, bound and gap.
* **Backtest** (:func:`incident_response_shares`): each held-out incident with a time of day is
  answered from the responders' positions at its minute; per tier, the share of the incidents in
  the tier's demand (near a key site, inside a district, anywhere) reached within its minutes.

Inside, times are seconds and distances metres; demand points stand at street nodes.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import math
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from .errors import InfeasibleSettingsError
from .graphs import mode_graph
from .scenario import RESPONDER_KINDS, ResponseSettings, ResponseTier, TimeWindow

if TYPE_CHECKING:
    from .network import RoadNetwork
    from .patrol.posts import Posts
    from .stop import Stop

__all__ = [
    "Responders",
    "ResponseResult",
    "evaluate_response",
    "incident_response_shares",
    "plan_responders",
    "response_times",
    "site_booths",
    "tier_demand",
]

log = logging.getLogger(__name__)

TEAM_MODES = ("car", "foot", "ebike")
SLOWED_MODES = ("car", "ebike")
"""Modes whose speed the per-window speed factor changes (traffic); walking is not slowed."""
TABLE_COLUMNS = (
    "tier",
    "window",
    "minutes",
    "demand_points",
    "share_within",
    "worst_minute_share",
    "worst_minute",
    "outside_at_worst",
    "never_within",
    "median_response_min",
    "second_responder_median_min",
    "second_within_share",
)
_OUTSIDE_NAMES = 10
TIER_COLOURS = ("#1b7837", "#5aae61", "#a6dba0", "#00441b", "#d9f0d3")
"""The tiers' colours on the map and the briefing, tightest first: greens, darker the faster
(no risk level, team line or post is green in that way)."""


# --------------------------------------------------------------------------------------------
# graphs
def _graphs(network: RoadNetwork) -> dict[str, sp.csr_matrix]:
    """Travel seconds per mode (fastest of parallel edges), node positions as in ``network.nodes``."""
    key = "response:graphs"
    if key not in network._cache:
        network._cache[key] = {m: mode_graph(network, m)[0] for m in TEAM_MODES}
    return network._cache[key]


def _scaled(graph: sp.csr_matrix, mode: str, factor: float) -> sp.csr_matrix:
    if factor == 1.0 or mode not in SLOWED_MODES:
        return graph
    g = graph.copy()
    g.data = g.data / factor
    return g


def _main_part(graph: sp.csr_matrix) -> np.ndarray:
    """Node positions in the mode's largest strongly connected part."""
    _, labels = connected_components(graph, directed=True, connection="strong")
    deg = np.asarray(graph.getnnz(axis=1)).ravel() + np.asarray(graph.getnnz(axis=0)).ravel()
    counts = np.bincount(labels, weights=(deg > 0).astype(float))
    return np.flatnonzero(labels == int(np.argmax(counts)))


def _nearest(network: RoadNetwork, geoms: Any, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Position (into ``network.nodes``) of the nearest node of each geometry, and its distance in metres."""
    xy = network.nodes[["x", "y"]].to_numpy(dtype=float)
    pos = np.arange(len(xy)) if allowed is None else np.asarray(allowed)
    pts = shapely.get_coordinates(shapely.point_on_surface(np.asarray(geoms, dtype=object)))
    if not len(pts):
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    dist, k = cKDTree(xy[pos]).query(pts)
    return pos[k].astype(np.int64), dist


# --------------------------------------------------------------------------------------------
# responders
@dataclass(frozen=True, eq=False)
class _Track:
    """One patrol team in one window: stops (node, arrive_s, depart_s, available) and the legs between."""

    responder: str
    kind: str
    stops: tuple[tuple[int, int, int, bool], ...]
    legs: tuple[tuple[np.ndarray, np.ndarray], ...]  # per leg: path node positions, cumulative planned seconds

    def at(self, t_s: float) -> int | None:
        """The node position at ``t_s`` seconds after the window's start, or None (off shift, on break)."""
        s = self.stops
        if not s or t_s < s[0][1] or t_s > s[-1][2]:
            return None
        i = bisect.bisect_right(self._arrivals, t_s) - 1  # the last stop arrived at by t_s
        node, _, depart, available = s[i]
        if t_s <= depart:
            return node if available else None
        path, cum = self.legs[i]  # on the way to the next stop (or waiting there)
        k = int(np.searchsorted(cum, t_s - depart, side="right")) - 1
        return int(path[max(k, 0)])

    _arrivals: list[int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_arrivals", [a for _, a, _, _ in self.stops])


@dataclass(frozen=True, eq=False)
class Responders:
    """Where every responder is in every window, at any minute.

    ``fixed``: one row per fixed responder (booths, stations, checkpoints) with ``responder``,
    ``kind``, ``mode``, ``node`` (node id), ``pos`` (position in ``network.nodes``), ``window``
    (None: every window; a checkpoint: the window it is staffed in). ``tracks``: the patrol
    teams per window. ``turnout_s`` and ``mode`` per kind.
    """

    fixed: pd.DataFrame
    tracks: dict[str, tuple[_Track, ...]]
    mode: dict[str, str]
    turnout_s: dict[str, float]
    node_ids: np.ndarray = field(repr=False)

    def at(self, window: str, minute: float) -> pd.DataFrame:
        """Available responders ``minute`` minutes after ``window`` starts: responder, kind, mode, pos, node, turnout_s."""
        f = self.fixed
        f = f[f["window"].isna() | (f["window"] == window)]
        rows = [(r, k, p) for r, k, p in zip(f["responder"], f["kind"], f["pos"])]
        t = 60.0 * float(minute)
        for track in self.tracks.get(window, ()):
            p = track.at(t)
            if p is not None:
                rows.append((track.responder, track.kind, p))
        out = pd.DataFrame(rows, columns=["responder", "kind", "pos"])
        out["pos"] = out["pos"].astype(np.int64)
        out["mode"] = out["kind"].map(self.mode)
        out["node"] = self.node_ids[out["pos"].to_numpy()] if len(out) else pd.Series(dtype=np.int64)
        out["turnout_s"] = out["kind"].map(self.turnout_s).astype(float)
        return out[["responder", "kind", "mode", "pos", "node", "turnout_s"]]

    def _fixed_in(self, window: str) -> list[tuple[str, int]]:
        f = self.fixed
        f = f[f["window"].isna() | (f["window"] == window)]
        return [(str(k), int(p)) for k, p in zip(f["kind"], f["pos"])]

    def present(self, window: str, minute: float, fixed: list[tuple[str, int]] | None = None) -> list[tuple[str, int]]:
        """``(kind, node position)`` of every available responder (fast form of :meth:`at`)."""
        out = list(self._fixed_in(window) if fixed is None else fixed)
        t = 60.0 * float(minute)
        for track in self.tracks.get(window, ()):
            p = track.at(t)
            if p is not None:
                out.append((track.kind, p))
        return out


def plan_responders(
    network: RoadNetwork,
    *,
    windows: tuple[TimeWindow, ...],
    settings: ResponseSettings,
    patrol: Any = None,
    stations: gpd.GeoDataFrame | None = None,
    booths: gpd.GeoDataFrame | None = None,
    checkpoints: gpd.GeoDataFrame | None = None,
    stops: gpd.GeoDataFrame | None = None,
    booth_mode: str = "foot",
) -> Responders:
    """The responders of a plan (see the module docstring).

    ``patrol`` (a :class:`~geoengine.patrol.plan.PatrolPlan`) gives its booths, the checkpoints its
    force allocation staffs and the team routes; ``booths`` (``post_id``, ``node``), ``checkpoints``
    (``post_id``, ``node``, ``window``: one row per window it is staffed in) and ``stops`` (rows of
    ``routes.csv``: team, mode, window, seq, place_kind, arrive_s, depart_s and the stop's point)
    replace the plan's when given. ``stations`` are points (``name`` when present).
    """
    modes = {
        "booth": settings.booth_mode or booth_mode,
        "station": settings.station_mode,
        "checkpoint": settings.checkpoint_mode,
        "car": "car",
        "foot": "foot",
        "ebike": "ebike",
    }
    known = {w.name for w in windows}
    turnout = {k: 60.0 * float(settings.turnout_min.get(k, 0.0)) for k in RESPONDER_KINDS}
    node_ids = np.asarray(network.nodes.index)
    index = pd.Index(node_ids)
    graphs = _graphs(network)
    if patrol is not None:
        if booths is None and patrol.booths is not None:
            booths = patrol.booths.sites
        if checkpoints is None and patrol.checkpoints is not None and len(patrol.checkpoints.sites):
            alloc = getattr(patrol.allocation, "checkpoints", None) if patrol.allocation is not None else None
            if alloc is not None and len(alloc):
                staffed = alloc[alloc["staffed"].astype(bool)][["checkpoint", "window"]].astype({"checkpoint": str})
                sites = patrol.checkpoints.sites.assign(post_id=patrol.checkpoints.sites["post_id"].astype(str))
                checkpoints = sites.merge(staffed, left_on="post_id", right_on="checkpoint")
        if stops is None:
            stops = patrol.stops
    rows: list[dict[str, Any]] = []
    if stations is not None and len(stations):
        st = stations.to_crs(network.crs).reset_index(drop=True)
        pos, _ = _nearest(network, st.geometry.values, _main_part(graphs[modes["station"]]))
        names = st["name"].astype(str).tolist() if "name" in st else [f"station {i + 1}" for i in range(len(st))]
        rows += [{"responder": n, "kind": "station", "pos": int(p), "window": None} for n, p in zip(names, pos, strict=True)]
    if booths is not None and len(booths):
        pos = index.get_indexer(booths["node"].to_numpy())
        rows += [
            {"responder": str(r), "kind": "booth", "pos": int(p), "window": None}
            for r, p in zip(booths["post_id"], pos, strict=True)
            if p >= 0
        ]
    if checkpoints is not None and len(checkpoints):
        pos = index.get_indexer(checkpoints["node"].to_numpy())
        rows += [
            {"responder": f"{c} ({w})", "kind": "checkpoint", "pos": int(p), "window": str(w)}
            for c, w, p in zip(checkpoints["post_id"], checkpoints["window"], pos, strict=True)
            if p >= 0 and w in known
        ]
    tracks = _tracks(network, stops, graphs) if stops is not None and len(stops) else {}
    fixed = pd.DataFrame(rows, columns=["responder", "kind", "pos", "window"])
    fixed["mode"] = fixed["kind"].map(modes)
    fixed["node"] = node_ids[fixed["pos"].to_numpy(dtype=np.int64)] if len(fixed) else pd.Series(dtype=np.int64)
    return Responders(fixed=fixed, tracks=tracks, mode=modes, turnout_s=turnout, node_ids=node_ids)


def _tracks(network: RoadNetwork, stops: gpd.GeoDataFrame, graphs: dict[str, sp.csr_matrix]) -> dict[str, tuple[_Track, ...]]:
    """Per window, every team's stops and the planned fastest path of each leg."""
    s = stops.to_crs(network.crs) if stops.crs is not None and not network.crs.equals(stops.crs) else stops
    out: dict[str, list[_Track]] = {}
    for mode, by_mode in s.groupby("mode", sort=True):
        g = graphs[str(mode)]
        pos, _ = _nearest(network, by_mode.geometry.values, _main_part(g))
        by_mode = by_mode.assign(_pos=pos)
        uniq = np.unique(pos)
        dist, pred = dijkstra(g, directed=True, indices=uniq, return_predecessors=True)
        row = {int(p): i for i, p in enumerate(uniq)}
        for (window, team), t in by_mode.groupby(["window", "team"], sort=True):
            t = t.sort_values("seq")
            stops_t = tuple(
                (int(p), int(a), int(d), kind != "break")
                for p, a, d, kind in zip(t["_pos"], t["arrive_s"], t["depart_s"], t["place_kind"])
            )
            legs = []
            for (a, *_), (b, *_) in itertools.pairwise(stops_t):
                chain = [b]
                while chain[-1] != a and pred[row[a], chain[-1]] >= 0:
                    chain.append(int(pred[row[a], chain[-1]]))
                path = np.array(chain[::-1], dtype=np.int64)
                legs.append((path, dist[row[a], path]))
            out.setdefault(str(window), []).append(_Track(str(team), str(mode), stops_t, tuple(legs)))
    return {w: tuple(v) for w, v in out.items()}


# --------------------------------------------------------------------------------------------
# response times
class _Engine:
    """Multi-source Dijkstra per responder kind for one window, remembering the last source set of
    each kind (booths and stations stay put; a team dwells at a stop for many minutes)."""

    def __init__(self, network: RoadNetwork, responders: Responders, *, factor: float, horizon_s: float) -> None:
        self.graphs = {m: _scaled(g, m, factor) for m, g in _graphs(network).items()}
        self.responders = responders
        self.horizon_s = horizon_s
        self.n = len(network.nodes)
        self._last: dict[str, tuple[frozenset[int], np.ndarray]] = {}
        self._rows: dict[tuple[str, str, int], np.ndarray] = {}
        self.dijkstra_calls = 0

    def kind_times(self, kind: str, nodes: frozenset[int]) -> np.ndarray:
        """Turnout + travel seconds from the nearest of ``nodes`` (responders of ``kind``) to every node."""
        last = self._last.get(kind)
        if last is not None and last[0] == nodes:
            return last[1]
        mode = self.responders.mode[kind]
        dist = dijkstra(self.graphs[mode], directed=True, indices=sorted(nodes), min_only=True, limit=self.horizon_s)
        self.dijkstra_calls += 1
        times = dist + self.responders.turnout_s[kind]
        self._last[kind] = (nodes, times)
        return times

    def by_kind(self, present: list[tuple[str, int]]) -> dict[str, np.ndarray]:
        """Per kind present: seconds from its nearest responder to every node."""
        nodes: dict[str, set[int]] = {}
        for kind, pos in present:
            nodes.setdefault(kind, set()).add(pos)
        return {k: self.kind_times(k, frozenset(v)) for k, v in nodes.items()}

    def times(self, present: list[tuple[str, int]] | dict[str, np.ndarray], kinds: tuple[str, ...]) -> np.ndarray:
        """Seconds from the nearest present responder of ``kinds`` to every node (inf beyond the horizon)."""
        per_kind = present if isinstance(present, dict) else self.by_kind(present)
        out = np.full(self.n, np.inf)
        for kind, times in per_kind.items():
            if kind in kinds:
                np.minimum(out, times, out=out)
        return out

    def per_responder(self, present: list[tuple[str, int]], kinds: tuple[str, ...], points: np.ndarray, key: str) -> np.ndarray:
        """(responders, points) seconds, turnout included, for the present responders of ``kinds``
        (``key`` names the point set, e.g. the tier)."""
        mode_of, turnout = self.responders.mode, self.responders.turnout_s
        p = [(mode_of[k], pos, turnout[k]) for k, pos in present if k in kinds]
        missing: dict[str, set[int]] = {}
        for mode, pos, _ in p:
            if (key, mode, pos) not in self._rows:
                missing.setdefault(mode, set()).add(pos)
        for mode, nodes in missing.items():
            order = sorted(nodes)
            dist = np.atleast_2d(dijkstra(self.graphs[mode], directed=True, indices=order, limit=self.horizon_s))
            self.dijkstra_calls += 1
            for i, node in enumerate(order):
                self._rows[(key, mode, node)] = dist[i, points]
        if not p:
            return np.full((0, len(points)), np.inf)
        return np.stack([self._rows[(key, m, x)] + t for m, x, t in p])


def response_times(
    network: RoadNetwork,
    responders: Responders,
    *,
    window: str,
    minute: float,
    kinds: tuple[str, ...] = RESPONDER_KINDS,
    speed_factor: float = 1.0,
    horizon_min: float = 15.0,
) -> np.ndarray:
    """Seconds (turnout + travel) from the nearest responder of ``kinds`` available ``minute`` minutes
    into ``window`` to every node of ``network.nodes`` (in its order); inf beyond ``horizon_min``."""
    engine = _Engine(network, responders, factor=speed_factor, horizon_s=60.0 * horizon_min)
    return engine.times(responders.present(window, minute), tuple(kinds))


# --------------------------------------------------------------------------------------------
# demand
def _matches(category: Any, words: tuple[str, ...]) -> bool:
    text = "" if category is None or pd.isna(category) else str(category)
    return any(re.search(rf"\b{re.escape(w)}\b", text, flags=re.IGNORECASE) for w in words)


def tier_demand(
    network: RoadNetwork,
    tier: ResponseTier,
    *,
    key_sites: gpd.GeoDataFrame | None = None,
    districts: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """The tier's demand points: ``name``, ``node``, ``pos`` (into ``network.nodes``), ``weight``,
    ``snap_m`` and the point's geometry (the site; the node for districts and streets); key sites
    keep ``category`` and ``priority``, so the frame can stand in for the key-site layer."""
    cols = ["name", "node", "pos", "weight", "snap_m"]
    kind, names = tier.demand_kind, tier.demand_names
    node_ids = np.asarray(network.nodes.index)
    empty = gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=network.crs)
    if kind == "key_sites":
        if key_sites is None or not len(key_sites):
            return empty
        ks = key_sites.to_crs(network.crs).reset_index(drop=True)
        if names is not None:
            cat = ks["category"] if "category" in ks else pd.Series([None] * len(ks))
            ks = ks[[_matches(c, names) for c in cat]].reset_index(drop=True)
        if not len(ks):
            return empty
        pos, snap = _nearest(network, ks.geometry.values)
        weight = pd.to_numeric(ks["priority"], errors="coerce").fillna(1.0) if "priority" in ks else 1.0
        label = ks["name"].astype(str) if "name" in ks else pd.Series([f"site {i + 1}" for i in range(len(ks))])
        return gpd.GeoDataFrame(
            {
                "name": label.to_numpy(),
                "node": node_ids[pos],
                "pos": pos,
                "weight": np.asarray(weight, dtype=float) * np.ones(len(ks)),
                "snap_m": snap,
                "category": ks["category"].to_numpy() if "category" in ks else None,
                "priority": np.asarray(weight, dtype=float) * np.ones(len(ks)),
            },
            geometry=shapely.point_on_surface(ks.geometry.values),
            crs=network.crs,
        )
    nodes = network.nodes
    pts = gpd.GeoSeries(gpd.points_from_xy(nodes["x"], nodes["y"]), crs=network.crs)
    if kind == "streets":
        label = np.array([f"node {n}" for n in node_ids], dtype=object)
        keep = np.arange(len(nodes))
    else:
        if districts is None or not len(districts):
            return empty
        d = districts.to_crs(network.crs).reset_index(drop=True)
        if "name" not in d:
            d = d.assign(name=[f"district {i + 1}" for i in range(len(d))])
        if names is not None:
            d = d[d["name"].astype(str).isin(names)].reset_index(drop=True)
        if not len(d):
            return empty
        tree = shapely.STRtree(np.asarray(d.geometry.values))
        pt_i, poly_i = tree.query(np.asarray(pts.values), predicate="intersects")
        first = pd.Series(poly_i, index=pt_i).groupby(level=0).min()
        keep = first.index.to_numpy()
        label = d["name"].astype(str).to_numpy()[first.to_numpy()]
        label = np.array([f"{lab} (node {n})" for lab, n in zip(label, node_ids[keep])], dtype=object)
        if tier.demand_kind == "districts" and not len(keep):
            return empty
    return gpd.GeoDataFrame(
        {"name": label, "node": node_ids[keep], "pos": keep.astype(np.int64), "weight": 1.0, "snap_m": 0.0},
        geometry=pts.values[keep],
        crs=network.crs,
    )


def _tier_area(tier: ResponseTier, demand: gpd.GeoDataFrame, districts: gpd.GeoDataFrame | None) -> Any:
    """Where the tier's incidents lie (backtest): None for streets (everywhere)."""
    if tier.demand_kind == "streets":
        return None
    if tier.demand_kind == "districts":
        if districts is None or not len(districts):
            return shapely.GeometryCollection()
        d = districts
        names = tier.demand_names
        if names is not None and "name" in d:
            d = d[d["name"].astype(str).isin(names)]
        return shapely.union_all(np.asarray(d.geometry.values)) if len(d) else shapely.GeometryCollection()
    return shapely.MultiPoint(shapely.get_coordinates(demand.geometry.values)) if len(demand) else shapely.GeometryCollection()


# --------------------------------------------------------------------------------------------
# result
@dataclass(frozen=True, eq=False)
class ResponseResult:
    """Response circles of a plan, per tier and window.

    ``table``: one row per (tier, window) with the columns of ``response.csv`` (shares 0–1,
    times in minutes, ``worst_minute`` the clock time). ``per_minute``: tier, window, minute
    (after the window's start), clock and share within. ``demand``: the points per tier.
    ``outside``: per (tier, window) the names of points outside at the worst minute (first 10).
    """

    settings: ResponseSettings
    windows: tuple[TimeWindow, ...]
    responders: Responders
    demand: dict[str, gpd.GeoDataFrame]
    table: pd.DataFrame
    per_minute: pd.DataFrame
    outside: dict[tuple[str, str], tuple[str, ...]]
    areas: dict[str, Any] = field(repr=False, default_factory=dict)
    compute_s: float = 0.0
    dijkstra_calls: int = 0
    booth_siting: dict[str, Any] | None = None
    warnings: tuple[str, ...] = ()
    node_share: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    """Per tier: the share of all sampled minutes (every window) each node of ``network.nodes`` is
    inside the tier's circle (its minutes from the tier's responders), whatever the tier's demand."""
    node_share_by_window: dict[tuple[str, str], np.ndarray] = field(repr=False, default_factory=dict)
    """Per (tier, window): the share of the window's sampled minutes each node is inside the tier's
    circle (the responders of that window: staffed checkpoints, patrol teams where they are)."""

    def covered_segments(
        self, network: RoadNetwork, tier: str, *, min_share: float = 0.5, window: str | None = None
    ) -> gpd.GeoDataFrame:
        """The tier's circle drawn on the streets: segments whose two ends are inside it at least
        ``min_share`` of the sampled minutes (of every window, or of ``window``), with ``segment_id``,
        ``name`` and ``share`` (the lower end's)."""
        share = self.node_share.get(tier) if window is None else self.node_share_by_window.get((tier, window))
        segs = network.segments()
        if share is None or not len(segs):
            return gpd.GeoDataFrame({"segment_id": [], "name": [], "share": []}, geometry=[], crs=network.crs)
        e = network.edges.reset_index()
        index = network.nodes.index
        lo = np.minimum(share[index.get_indexer(e["u"])], share[index.get_indexer(e["v"])])
        by_seg = pd.Series(lo, index=e["segment_id"].to_numpy()).groupby(level=0).max()
        keep = by_seg[by_seg >= min_share]
        out = segs.loc[segs.index.intersection(keep.index), ["name", "geometry"]]
        out = out.assign(share=keep.reindex(out.index).to_numpy()).rename_axis("segment_id").reset_index()
        return gpd.GeoDataFrame(out, geometry="geometry", crs=network.crs)

    def share(self, tier: str, window: str, *, worst: bool = False) -> float | None:
        """The tier's share within its minutes in ``window`` (time-averaged, or at the worst minute)."""
        t = self.table[(self.table["tier"] == tier) & (self.table["window"] == window)]
        if not len(t):
            raise KeyError(f"no tier {tier!r} in window {window!r}")
        v = t["worst_minute_share" if worst else "share_within"].iloc[0]
        return None if v is None or pd.isna(v) else float(v)

    def metrics(self) -> dict[str, Any]:
        """The ``metrics.response`` block of the manifest: per tier its settings and, per window, the figures."""

        def r(v: Any, nd: int = 4) -> Any:
            if v is None or (isinstance(v, float) and not math.isfinite(v)):
                return None
            return round(float(v), nd) if isinstance(v, (float, np.floating)) else v

        tiers: dict[str, Any] = {}
        for tier in self.settings.tiers:
            t = self.table[self.table["tier"] == tier.name]
            by_window = {}
            for row in t.to_dict(orient="records"):
                block = {k: r(row[k]) for k in TABLE_COLUMNS if k not in ("tier", "window", "minutes", "demand_points")}
                block["outside"] = list(self.outside.get((tier.name, row["window"]), ()))
                by_window[row["window"]] = block
            tiers[tier.name] = {
                "minutes": float(tier.minutes),
                "demand": tier.demand,
                "modes": list(tier.modes),
                "backup": tier.backup,
                "demand_points": len(self.demand[tier.name]),
                "windows": by_window,
            }
        out: dict[str, Any] = {
            "tiers": tiers,
            "sample_minutes": int(self.settings.sample_minutes),
            "horizon_min": float(self.settings.horizon_min),
            "turnout_min": {k: float(v) for k, v in self.settings.turnout_min.items()},
            "speed_factor": {k: float(v) for k, v in self.settings.speed_factor.items()},
            "responders": {  # checkpoints: one per window a crew staffs it
                ("checkpoint_staffed_windows" if k == "checkpoint" else k): int(v)
                for k, v in self.responders.fixed["kind"].value_counts().sort_index().items()
            }
            | {"teams": len({tr.responder for v in self.responders.tracks.values() for tr in v})},
            "compute_s": round(self.compute_s, 3),
        }
        if self.booth_siting is not None:
            out["booth_siting"] = self.booth_siting
        return out

    def csv_table(self) -> pd.DataFrame:
        """``response.csv``: the table with shares rounded to 4 digits and times to 2."""
        t = self.table.copy()
        for c in ("share_within", "worst_minute_share", "second_within_share"):
            t[c] = t[c].astype(float).round(4)
        for c in ("median_response_min", "second_responder_median_min"):
            t[c] = t[c].astype(float).round(2)
        return t

    def summary(self) -> str:
        head = (
            f"response circles: {len(self.settings.tiers)} tiers × {len(self.windows)} windows, "
            f"every {self.settings.sample_minutes} min ({self.compute_s:.2f} s)"
        )
        lines = [head]
        for row in self.table.itertuples():
            share = "n/a" if row.share_within != row.share_within else f"{100 * row.share_within:.1f} %"
            worst = "n/a" if row.worst_minute_share != row.worst_minute_share else f"{100 * row.worst_minute_share:.1f} %"
            lines.append(
                f"  {row.tier:<12} {row.window:<14} {row.minutes:g} min  {row.demand_points:>6} points  "
                f"within {share:>8} (worst {worst} at {row.worst_minute})"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<ResponseResult {len(self.settings.tiers)} tiers × {len(self.windows)} windows>"

    def _repr_html_(self) -> str:  # pragma: no cover - notebook display
        import html

        return "<pre>" + html.escape(self.summary()) + "</pre>"


def _clock(w: TimeWindow, minute: float) -> str:
    m = round(w.start_min + minute) % (24 * 60)
    return f"{m // 60:02d}:{m % 60:02d}"


def evaluate_response(
    network: RoadNetwork,
    responders: Responders,
    *,
    settings: ResponseSettings,
    windows: tuple[TimeWindow, ...],
    key_sites: gpd.GeoDataFrame | None = None,
    districts: gpd.GeoDataFrame | None = None,
    booth_siting: dict[str, Any] | None = None,
) -> ResponseResult:
    """Every tier in every window, sampled every ``settings.sample_minutes`` (module docstring)."""
    t0 = time.perf_counter()
    demand = {t.name: tier_demand(network, t, key_sites=key_sites, districts=districts) for t in settings.tiers}
    warnings = []
    for t in settings.tiers:
        if not len(demand[t.name]):
            what = {
                "key_sites": "key sites" + (f" of categories {', '.join(t.demand_names)}" if t.demand_names else ""),
                "districts": "district streets",
                "streets": "streets",
            }[t.demand_kind]
            warnings.append(f"response: tier {t.name!r} has no demand ({what} in the layers): its figures are not computed")
    rows, minute_rows = [], []
    outside: dict[tuple[str, str], tuple[str, ...]] = {}
    calls = 0
    node_minutes: dict[str, np.ndarray] = {}
    window_share: dict[tuple[str, str], np.ndarray] = {}
    sampled = 0
    horizon_s = 60.0 * settings.horizon_min
    for w in windows:
        engine = _Engine(network, responders, factor=float(settings.speed_factor.get(w.name, 1.0)), horizon_s=horizon_s)
        minutes = np.arange(0, w.duration_min, settings.sample_minutes, dtype=float)
        acc = {t.name: _Acc(len(demand[t.name])) for t in settings.tiers}
        inside = {t.name: np.zeros(engine.n) for t in settings.tiers}
        fixed = responders._fixed_in(w.name)
        pts = {t.name: demand[t.name]["pos"].to_numpy() for t in settings.tiers}
        for m in minutes:
            present = responders.present(w.name, m, fixed)
            per_kind = engine.by_kind(present)
            for t in settings.tiers:
                if not len(pts[t.name]):
                    continue
                every = engine.times(per_kind, t.modes)
                inside[t.name] += every <= 60.0 * t.minutes + 1e-9
                times = every[pts[t.name]]
                second = None
                if t.backup:
                    per = engine.per_responder(present, t.modes, pts[t.name], t.name)
                    second = np.partition(per, 1, axis=0)[1] if per.shape[0] >= 2 else np.full(len(pts[t.name]), np.inf)
                acc[t.name].add(m, times, 60.0 * t.minutes, second)
        calls += engine.dijkstra_calls
        for t in settings.tiers:
            node_minutes[t.name] = node_minutes.get(t.name, 0.0) + inside[t.name]
            window_share[(t.name, w.name)] = inside[t.name] / max(len(minutes), 1)
        sampled += len(minutes)
        for t in settings.tiers:
            a = acc[t.name]
            row = a.row(t, w, demand[t.name])
            rows.append(row)
            outside[(t.name, w.name)] = a.outside_names(demand[t.name])
            minute_rows += [
                {"tier": t.name, "window": w.name, "minute": float(m), "clock": _clock(w, m), "share_within": s}
                for m, s in zip(a.minutes, a.shares)
            ]
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    result = ResponseResult(
        settings=settings,
        windows=tuple(windows),
        responders=responders,
        demand=demand,
        table=table,
        per_minute=pd.DataFrame(minute_rows, columns=["tier", "window", "minute", "clock", "share_within"]),
        outside=outside,
        areas={t.name: _tier_area(t, demand[t.name], districts) for t in settings.tiers},
        compute_s=time.perf_counter() - t0,
        dijkstra_calls=calls,
        booth_siting=booth_siting,
        warnings=tuple(warnings),
        node_share={k: v / max(sampled, 1) for k, v in node_minutes.items()},
        node_share_by_window=window_share,
    )
    log.info("%s", result.summary())
    return result


class _Acc:
    """Running figures of one tier in one window."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.minutes: list[float] = []
        self.shares: list[float] = []
        self.medians: list[float] = []
        self.ever = np.zeros(n, dtype=bool)
        self.worst: tuple[float, float, np.ndarray] | None = None  # share, minute, outside mask
        self.second_medians: list[float] = []
        self.second_within: list[float] = []

    def add(self, minute: float, times: np.ndarray, limit_s: float, second: np.ndarray | None) -> None:
        within = times <= limit_s + 1e-9
        share = float(within.mean())
        self.minutes.append(minute)
        self.shares.append(share)
        self.medians.append(float(np.median(times)))
        self.ever |= within
        if self.worst is None or share < self.worst[0]:
            self.worst = (share, minute, ~within)
        if second is not None:
            self.second_medians.append(float(np.median(second)))
            self.second_within.append(float((second <= limit_s + 1e-9).mean()))

    def row(self, tier: ResponseTier, w: TimeWindow, demand: gpd.GeoDataFrame) -> dict[str, Any]:
        nan = float("nan")
        base = {"tier": tier.name, "window": w.name, "minutes": float(tier.minutes), "demand_points": int(self.n)}
        if not self.n or self.worst is None:
            return (
                base
                | {c: nan for c in TABLE_COLUMNS if c not in base}
                | {"worst_minute": "", "outside_at_worst": 0, "never_within": 0}
            )
        med = float(np.mean(self.medians))
        sec = float(np.mean(self.second_medians)) if self.second_medians else nan
        return base | {
            "share_within": float(np.mean(self.shares)),
            "worst_minute_share": float(self.worst[0]),
            "worst_minute": _clock(w, self.worst[1]),
            "outside_at_worst": int(self.worst[2].sum()),
            "never_within": int((~self.ever).sum()),
            "median_response_min": med / 60.0 if math.isfinite(med) else nan,
            "second_responder_median_min": sec / 60.0 if math.isfinite(sec) else nan,
            "second_within_share": float(np.mean(self.second_within)) if self.second_within else nan,
        }

    def outside_names(self, demand: gpd.GeoDataFrame) -> tuple[str, ...]:
        if self.worst is None or not self.n:
            return ()
        return tuple(demand["name"].astype(str).to_numpy()[self.worst[2]][:_OUTSIDE_NAMES])


# --------------------------------------------------------------------------------------------
# backtest
def incident_response_shares(result: ResponseResult, network: RoadNetwork, incidents: gpd.GeoDataFrame) -> dict[str, Any]:
    """Per tier: ``share`` of the timed incidents in the tier's demand (within ``key_site_radius_m`` of a
    tier key site, inside a tier district, or anywhere for streets) reached within the tier's minutes
    from the responders at the incident's minute, and ``incidents`` (how many were scored). An incident
    at a time no window holds counts as not reached (nothing is planned then), as in
    :func:`geoengine.evaluation.within_response`."""
    settings = result.settings
    out: dict[str, Any] = {t.name: {"share": None, "incidents": 0, "minutes": float(t.minutes)} for t in settings.tiers}
    if incidents is None or not len(incidents) or "time" not in incidents:
        return out
    inc = incidents.to_crs(network.crs) if not network.crs.equals(incidents.crs) else incidents
    inc = inc.reset_index(drop=True)
    timed = (inc["time_precision"].astype(str) == "datetime").to_numpy() if "time_precision" in inc else np.ones(len(inc), bool)
    inc = inc[timed].reset_index(drop=True)
    if not len(inc):
        return out
    times = pd.to_datetime(inc["time"])
    clock = (times.dt.hour * 60 + times.dt.minute).to_numpy(dtype=float)
    weekday = times.dt.day_of_week.to_numpy()
    pos, _ = _nearest(network, inc.geometry.values)
    members = {}
    for t in settings.tiers:
        area = result.areas.get(t.name)
        if area is None:
            members[t.name] = np.ones(len(inc), dtype=bool)
        elif shapely.is_empty(area):
            members[t.name] = np.zeros(len(inc), dtype=bool)
        elif t.demand_kind == "key_sites":
            members[t.name] = shapely.dwithin(np.asarray(inc.geometry.values), area, settings.key_site_radius_m)
        else:
            members[t.name] = shapely.intersects(np.asarray(inc.geometry.values), area)
    best = {t.name: np.full(len(inc), np.inf) for t in settings.tiers}
    horizon_s = 60.0 * settings.horizon_min
    for w in result.windows:
        offset = (clock - w.start_min) % (24 * 60)
        inside = np.array([w.contains_minute(m, int(d)) for m, d in zip(clock, weekday)], dtype=bool)
        if not inside.any():
            continue
        engine = _Engine(network, result.responders, factor=float(settings.speed_factor.get(w.name, 1.0)), horizon_s=horizon_s)
        minute = np.floor(offset)
        for m in np.unique(minute[inside]):
            sel = inside & (minute == m)
            per_kind = engine.by_kind(result.responders.present(w.name, m))
            for t in settings.tiers:
                if members[t.name][sel].any():
                    tt = engine.times(per_kind, t.modes)[pos[sel]]
                    best[t.name][sel] = np.minimum(best[t.name][sel], tt)
    for t in settings.tiers:
        mem = members[t.name]
        n = int(mem.sum())
        if n:
            out[t.name] = {
                "share": round(float((best[t.name][mem] <= 60.0 * t.minutes + 1e-9).mean()), 4),
                "incidents": n,
                "minutes": float(t.minutes),
            }
    return out


# --------------------------------------------------------------------------------------------
# planned: booths sited for a tier
def site_booths(
    network: RoadNetwork,
    demand: gpd.GeoDataFrame,
    *,
    minutes: float,
    objective: str = "mclp",
    k: int | None = None,
    mode: str = "foot",
    turnout_min: float = 0.5,
    backup: bool = False,
    backup_weight: float = 0.5,
    stop: Stop | None = None,
    seed: int = 0,
    tier: str = "",
) -> Posts:
    """Booths for a response tier: a booth at node c covers demand point i when turnout + travel
    from c to i on ``mode`` is within ``minutes``. ``objective`` "lscp": the fewest booths covering
    every coverable point; "mclp": the most demand weight for ``k`` booths (+ ``backup_weight`` for
    a second booth at each point when ``backup``). Candidates are the nodes of the mode's main
    connected part that cover at least one point."""
    from .coverage.problem import CoverageProblem, solve_lscp, solve_mclp
    from .patrol.posts import SITE_COLUMNS, Posts, solver_metrics
    from .stop import DEFAULT_WORK, Limits

    field_name = "response.booth_siting"
    if objective not in ("mclp", "lscp"):
        raise InfeasibleSettingsError.single(
            f"objective must be mclp or lscp, got {objective!r}", field=f"{field_name}.objective"
        )
    if objective == "mclp" and (k is None or k < 1):
        raise InfeasibleSettingsError.single("mclp needs the number of booths k ≥ 1", field=field_name, hint="set patrol.booths")
    budget = 60.0 * (float(minutes) - float(turnout_min))
    if not len(demand):
        raise InfeasibleSettingsError.single(f"tier {tier!r} has no demand points to site booths for", field=f"{field_name}.tier")
    if budget <= 0:
        raise InfeasibleSettingsError.single(
            f"a booth's turnout ({turnout_min:g} min) uses the whole {minutes:g} min circle",
            field=f"{field_name}.tier",
            hint="lower response.turnout_min.booth or site for a longer tier",
        )
    stop = stop if stop is not None else Limits(DEFAULT_WORK / 4, 20.0)
    g = _graphs(network)[mode]
    main = _main_part(g)
    in_main = np.zeros(g.shape[0], dtype=bool)
    in_main[main] = True
    pts_pos = demand["pos"].to_numpy(dtype=np.int64)
    uniq, inverse = np.unique(pts_pos, return_inverse=True)
    weights = np.bincount(inverse, weights=demand["weight"].to_numpy(dtype=float), minlength=len(uniq))
    # reverse search from the points: time from any node to the point
    gt = g.T.tocsr()
    blocks = []
    for lo in range(0, len(uniq), 256):
        dist = np.atleast_2d(dijkstra(gt, directed=True, indices=uniq[lo : lo + 256], limit=budget))
        dist[:, ~in_main] = np.inf
        blocks.append(sp.csr_matrix(np.isfinite(dist) & (dist <= budget + 1e-9)))
    reach = sp.vstack(blocks, format="csr")  # (points, nodes)
    cand = np.flatnonzero(np.asarray(reach.getnnz(axis=0)).ravel() > 0)
    if not cand.size:
        raise InfeasibleSettingsError.single(
            f"no street node reaches a point of tier {tier!r} within {minutes:g} min", field=field_name
        )
    cov = reach[:, cand].astype(float).tocsr()
    backup_rows = np.full(len(uniq), bool(backup))
    problem = CoverageProblem.from_coverage_matrix(cov, weights, backup=backup_rows)
    if objective == "lscp":
        res = solve_lscp(problem, stop=stop, seed=seed)
    else:
        res = solve_mclp(
            problem,
            budget_count=min(int(k or 1), cand.size),
            backup_weight=backup_weight if backup else 0.0,
            stop=stop,
            seed=seed,
        )
    chosen = np.asarray(res.selected, dtype=np.int64)
    covered = np.asarray(cov[:, chosen].sum(axis=1)).ravel() > 0 if chosen.size else np.zeros(len(uniq), bool)
    alone = np.asarray(cov[:, chosen].T @ weights).ravel() / max(weights.sum(), 1e-12) if chosen.size else np.zeros(0)
    order = np.lexsort((cand[chosen], -alone))
    chosen, alone = chosen[order], alone[order]
    nodes = cand[chosen]
    node_ids = np.asarray(network.nodes.index)
    names = _node_names(network, node_ids[nodes])
    how = {"foot": "on foot", "car": "by car", "ebike": "by e-bike"}[mode]
    rows = [
        {
            "post_id": f"B{i + 1}",
            "kind": "booth",
            "node": int(node_ids[p]),
            "segment_id": -1,
            "name": names[i],
            "score": float(s),
            "reason": f"puts {100 * s:.1f} % of tier {tier!r} within {minutes:g} min ({how}, turnout included)",
        }
        for i, (p, s) in enumerate(zip(nodes.tolist(), alone.tolist()))
    ]
    xy = network.nodes[["x", "y"]].to_numpy(dtype=float)[nodes]
    sites = gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=list(SITE_COLUMNS)), geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=network.crs
    )
    metrics = {
        "kind": "booths",
        "sited_for": f"response tier {tier}",
        "objective_kind": objective,
        "mode": mode,
        "minutes": float(minutes),
        "k": None if k is None else int(k),
        "selected": len(sites),
        "candidates": int(cand.size),
        "demand_points": len(demand),
        "covered_share": round(float(weights[covered].sum() / max(weights.sum(), 1e-12)), 4),
        "uncoverable": int(getattr(res, "uncoverable", 0)),
        **solver_metrics(res),
    }
    return Posts(sites=sites, metrics=metrics, result=res)


def _node_names(network: RoadNetwork, node_ids: np.ndarray) -> list[str]:
    e = network.edges
    first = e.reset_index()
    first = first[first["u"].isin(node_ids)] if "u" in first else first.iloc[0:0]
    names = first.groupby("u")["name"].agg(lambda s: next((str(x) for x in s if isinstance(x, str) and x), "unnamed street"))
    return [str(names.get(n, "unnamed street")) for n in node_ids]
