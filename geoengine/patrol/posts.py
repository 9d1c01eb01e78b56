"""Posts: armed checkpoints (武装盘查卡点) and fixed police booths (治安岗亭) on the streets.

Both are location problems solved with the camera planner's solver
(:mod:`geoengine.coverage.problem`): a coverage matrix, then MCLP or LSCP::

    cps = choose_checkpoints(network, k=15, districts=districts)           # traffic interception
    cut = choose_checkpoints(network, k=15, districts=districts, method="cut_cover")
    booths = choose_booths(network, k=20, risk=risk, minutes=5, mode="foot")
    print(cps.summary())

* **Checkpoints, ``method="intercept"``**: ``n_od`` car trips are sampled, from nodes outside
  the key districts to nodes inside (destinations weighted by district priority; without
  districts: between random nodes, a sampled edge betweenness). Their fastest car paths
  (:func:`scipy.sparse.csgraph.dijkstra` predecessors) make a trip × street coverage matrix,
  and the MCLP picks the ``k`` streets that intercept the most trips, each trip counted once.
* **Checkpoints, ``method="cut_cover"``**: every street entering the district (one the mode may
  travel from outside to inside, so a one-way exit is none, or one passing through) must be
  covered; a checkpoint at a node covers the entering streets that meet there. The LSCP gives
  the fewest checkpoints; when ``k`` is smaller the MCLP covers the most entries with ``k``
  and the uncovered ones are reported.
* **Booths**: candidate nodes (intersections on main streets, or given sites such as bus
  stations and markets snapped to the network) cover the street segments they reach within
  ``minutes`` on ``mode`` (segment reached at its nearer end); the MCLP puts the most risk
  within reach with ``k`` booths.

Every result has ``metrics`` with the share achieved and the solver's objective, bound, gap
and status, and one sentence per post saying why it was chosen.
"""

from __future__ import annotations

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
from scipy.sparse.csgraph import dijkstra

from geoengine.coverage.problem import CoverageProblem, LocationResult, solve_lscp, solve_mclp
from geoengine.coverage.stop import MaxRuntime  # noqa: F401  (re-exported for callers)
from geoengine.errors import InfeasibleSettingsError, LayerError
from geoengine.graphs import SegmentGraph, segment_graph
from geoengine.patrol.beats import aligned_values, risk_series
from geoengine.stop import DEFAULT_WORK, Limits, Stop, as_limits

if TYPE_CHECKING:
    from geoengine.network import RoadNetwork

__all__ = ["Posts", "choose_booths", "choose_checkpoints"]

log = logging.getLogger(__name__)

MODES: tuple[str, ...] = ("car", "foot", "ebike")
MAIN_HIGHWAYS: frozenset[str] = frozenset(
    {
        "motorway",
        "trunk",
        "primary",
        "secondary",
        "tertiary",
        "unclassified",
        "motorway_link",
        "trunk_link",
        "primary_link",
        "secondary_link",
        "tertiary_link",
    }
)
"""Street classes whose intersections are default booth candidates."""
_HIGHWAY_RANK = {
    h: i
    for i, h in enumerate(
        (
            "trunk",
            "primary",
            "secondary",
            "tertiary",
            "trunk_link",
            "primary_link",
            "secondary_link",
            "tertiary_link",
            "unclassified",
            "residential",
            "living_street",
            "pedestrian",
            "service",
        )
    )
}
_CHUNK_SOURCES = 256
SITE_COLUMNS: tuple[str, ...] = ("post_id", "kind", "node", "segment_id", "name", "score", "reason")


# --------------------------------------------------------------------------------------------
# result


@dataclass(frozen=True, eq=False)
class Posts:
    """Chosen posts and how good they are.

    ``sites``: one row per post, best first: ``post_id`` ("C1"…, "B1"…), ``kind``
    ("checkpoint" | "booth"), ``node`` (node id), ``segment_id`` (the street it stands on),
    ``name`` (street name), ``score`` (the share it achieves alone), ``reason`` (one sentence),
    ``geometry`` (a point on the street). Booths from given candidates also have ``site``.
    ``metrics``: the share achieved (``intercepted_share`` / ``covered_entries_share`` /
    ``covered_risk_share``), the counts, and the solve's ``objective``, ``bound``, ``gap``,
    ``status``, ``solve_s``. ``result`` is the solver's :class:`LocationResult` (None when there
    was nothing to solve).
    """

    sites: gpd.GeoDataFrame
    metrics: dict[str, Any]
    result: LocationResult | None = None

    def summary(self) -> str:
        """The metrics, then one line per post."""
        kind = str(self.metrics.get("kind", "posts"))
        head = ", ".join(
            f"{k} {_fmt(v)}" for k, v in self.metrics.items() if k not in ("kind",) and not isinstance(v, (list, dict))
        )
        lines = [f"Posts ({kind}): {head}"]
        for r in self.sites.itertuples():
            lines.append(f"  {r.post_id:<5} {r.name[:32]:<32} node {r.node:<12} {r.reason}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Posts {self.metrics.get('kind', '')}: {len(self.sites)} sites>"

    def _repr_html_(self) -> str:  # pragma: no cover - notebook display
        return "<pre>" + html.escape(self.summary()) + "</pre>"


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def solver_metrics(res: LocationResult | None) -> dict[str, Any]:
    if res is None:
        return {"objective": None, "bound": None, "gap": None, "status": None, "solve_s": None}
    return {
        "objective": float(res.objective),
        "bound": None if res.bound is None else float(res.bound),
        "gap": None if res.gap is None else float(res.gap),
        "status": res.status,
        "solve_s": round(float(res.solve_s + res.build_s), 4),
    }


def _empty_sites(crs: Any) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in SITE_COLUMNS}, geometry=[], crs=crs)


# --------------------------------------------------------------------------------------------
# graphs


@dataclass(frozen=True, eq=False)
class _ModeGraph:
    graph: sp.csr_matrix  # (n_node, n_node) travel time in seconds
    key: np.ndarray  # sorted a*n_node + b of the kept arcs
    seg: np.ndarray  # segment index (into SegmentGraph) of each kept arc, aligned with key
    node_ok: np.ndarray  # (n_node,) bool: the node has an arc of the mode


def _mode_graph(network: RoadNetwork, sg: SegmentGraph, mode: str, *, undirected: bool) -> _ModeGraph:
    cache_key = f"patrol:mode_graph:{mode}:{undirected}"
    if cache_key in network._cache:
        return network._cache[cache_key]
    e = network.edges
    ok = e[mode].to_numpy(dtype=bool)
    a = np.searchsorted(sg.node_id, e.index.get_level_values(0).to_numpy()[ok])
    b = np.searchsorted(sg.node_id, e.index.get_level_values(1).to_numpy()[ok])
    t = np.maximum(e[f"time_{mode}_s"].to_numpy(dtype=float)[ok], 1e-3)
    s = np.searchsorted(sg.segment_id, e["segment_id"].to_numpy()[ok])
    if undirected:
        a, b, t, s = np.concatenate([a, b]), np.concatenate([b, a]), np.concatenate([t, t]), np.concatenate([s, s])
    n = sg.n_node
    key = a.astype(np.int64) * n + b
    order = np.lexsort((t, key))  # fastest parallel arc first
    key, t, s, a, b = key[order], t[order], s[order], a[order], b[order]
    first = np.ones(key.size, dtype=bool)
    first[1:] = key[1:] != key[:-1]
    key, t, s, a, b = key[first], t[first], s[first], a[first], b[first]
    g = sp.csr_matrix((t, (a, b)), shape=(n, n))
    node_ok = np.zeros(n, dtype=bool)
    node_ok[a] = True
    node_ok[b] = True
    out = _ModeGraph(g, key, s, node_ok)
    network._cache[cache_key] = out
    return out


def _check_common(k: int | None, mode: str, stop: Stop, field: str, *, k_optional: bool = False) -> None:
    if k is None and k_optional:
        pass
    elif isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InfeasibleSettingsError.single(f"the number of posts must be an integer ≥ 1, got {k!r}", field=field)
    if mode not in MODES:
        raise InfeasibleSettingsError.single(
            f"unknown mode {mode!r}", field=f"{field}.mode", hint=f"use one of: {', '.join(MODES)}"
        )
    as_limits(stop)  # TypeError unless a MaxWork, MaxRuntime or Limits


def _street_names(network: RoadNetwork, sg: SegmentGraph) -> np.ndarray:
    names = network.segments()["name"].reindex(sg.segment_id).fillna("").astype(str).to_numpy()
    return np.where((names == "") | (names == "nan") | (names == "None"), "unnamed street", names)


def _districts_frame(districts: gpd.GeoDataFrame, crs: Any, field: str) -> gpd.GeoDataFrame:
    if not isinstance(districts, gpd.GeoDataFrame) or len(districts) == 0:
        raise LayerError.single("districts must be a non-empty GeoDataFrame of polygons", field=field)
    d = districts
    if d.crs is not None and not d.crs.equals(crs):
        d = d.to_crs(crs)
    d = d[d.geometry.notna() & ~d.geometry.is_empty].copy()
    if len(d) == 0:
        raise LayerError.single("districts hold no geometry", field=field)
    if "name" not in d.columns:
        d["name"] = [f"district {i + 1}" for i in range(len(d))]
    d["name"] = d["name"].fillna("").astype(str)
    d.loc[d["name"] == "", "name"] = [f"district {i + 1}" for i in np.flatnonzero(d["name"].to_numpy() == "")]
    pr = pd.to_numeric(d["priority"], errors="coerce") if "priority" in d.columns else pd.Series(1.0, index=d.index)
    d["priority"] = pr.fillna(1.0).clip(lower=0.0).astype(float)
    return d.reset_index(drop=True)


def _node_district(sg: SegmentGraph, d: gpd.GeoDataFrame) -> np.ndarray:
    """For each node the district (row of ``d``) it lies in (highest priority first), -1 outside."""
    out = np.full(sg.n_node, -1, dtype=np.int64)
    x, y = sg.node_xy[:, 0], sg.node_xy[:, 1]
    for i in np.argsort(-d["priority"].to_numpy(), kind="stable")[::-1]:
        inside = shapely.contains_xy(d.geometry.iloc[i], x, y) | shapely.intersects_xy(d.geometry.iloc[i].boundary, x, y)
        out[inside] = i
    return out


# --------------------------------------------------------------------------------------------
# checkpoints


def choose_checkpoints(
    network: RoadNetwork,
    *,
    k: int | None,
    districts: gpd.GeoDataFrame | None,
    method: str = "intercept",
    mode: str = "car",
    n_od: int = 400,
    district: str | None = None,
    seed: int = 0,
    stop: Stop = Limits(DEFAULT_WORK / 4, 20.0),
) -> Posts:
    """Choose checkpoint sites on the streets.

    Parameters
    ----------
    k
        Number of checkpoints. For ``cut_cover`` it may be None: as many as a full cover needs.
    districts
        Key districts (polygons; ``name`` and ``priority`` columns used when present), in any
        CRS. ``intercept`` without districts intercepts traffic across the whole area.
    method
        ``"intercept"`` (most sampled trips into the districts intercepted) or ``"cut_cover"``
        (cover every street entering the districts with the fewest checkpoints).
    mode
        The traffic to intercept / streets that count as entries (default cars).
    n_od
        Number of sampled trips (intercept).
    district
        ``cut_cover``/``intercept``: only this district (by name); default all of them.
    seed, stop
        Seed of the trip sample and the solver; the solver's time limit.
    """
    field = "patrol.checkpoints"
    if method not in ("intercept", "cut_cover"):
        raise InfeasibleSettingsError.single(
            f"unknown method {method!r}", field=f"{field}.method", hint="use 'intercept' or 'cut_cover'"
        )
    _check_common(k, mode, stop, field, k_optional=method == "cut_cover")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**31:
        raise ValueError(f"seed must be an integer in [0, 2**31), got {seed!r}")
    d = None
    if districts is not None:
        d = _districts_frame(districts, network.crs, f"{field}.districts")
        if district is not None:
            d = d[d["name"] == district].reset_index(drop=True)
            if len(d) == 0:
                raise InfeasibleSettingsError.single(
                    f"no district named {district!r}",
                    field=f"{field}.district",
                    hint="names: " + ", ".join(districts["name"].astype(str)),
                )
    if method == "cut_cover":
        if d is None:
            raise InfeasibleSettingsError.single("cut_cover needs districts", field=f"{field}.districts")
        return _cut_cover(network, k=k, d=d, mode=mode, seed=seed, stop=stop)
    if not (isinstance(n_od, (int, np.integer)) and not isinstance(n_od, bool) and n_od >= 1):
        raise InfeasibleSettingsError.single(f"must be an integer ≥ 1, got {n_od!r}", field=f"{field}.n_od")
    assert k is not None
    return _intercept(network, k=int(k), d=d, mode=mode, n_od=int(n_od), seed=seed, stop=stop)


def _path_arcs(
    pred: np.ndarray, row: np.ndarray, start: np.ndarray, end: np.ndarray, forward: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arcs ``(pair, a, b)`` of the shortest paths, walking the predecessor rows.

    ``forward=False``: the tree grew from the origins; walk from the destination ``end`` back
    to ``start``. ``forward=True``: the tree grew from the destinations on the reversed graph;
    walk from the origin ``start`` forward to ``end``.
    """
    pair_l, a_l, b_l = [], [], []
    idx = np.arange(start.size)
    cur = (start if forward else end).copy()
    stop_at = end if forward else start
    active = cur != stop_at
    while active.any():
        i = idx[active]
        nxt = pred[row[i], cur[i]]
        pair_l.append(i)
        if forward:
            a_l.append(cur[i])
            b_l.append(nxt)
        else:
            a_l.append(nxt)
            b_l.append(cur[i])
        cur[i] = nxt
        active = cur != stop_at
    if not pair_l:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(pair_l), np.concatenate(a_l), np.concatenate(b_l)


def _intercept(network: RoadNetwork, *, k: int, d: gpd.GeoDataFrame | None, mode: str, n_od: int, seed: int, stop: Stop) -> Posts:
    t0 = time.perf_counter()
    sg = segment_graph(network)
    mg = _mode_graph(network, sg, mode, undirected=False)
    rng = np.random.default_rng(seed)
    ok_nodes = np.flatnonzero(mg.node_ok)
    if d is not None:
        where = _node_district(sg, d)
        dest_pool = ok_nodes[where[ok_nodes] >= 0]
        orig_pool = ok_nodes[where[ok_nodes] < 0]
        if dest_pool.size == 0:
            raise InfeasibleSettingsError.single(
                f"no street node of the {mode} network lies inside the districts", field="patrol.checkpoints.districts"
            )
        if orig_pool.size == 0:
            raise InfeasibleSettingsError.single(
                "the districts cover the whole network: there is no traffic from outside to intercept",
                field="patrol.checkpoints.districts",
            )
        p = d["priority"].to_numpy()[where[dest_pool]]
        p = np.ones(dest_pool.size) if p.sum() <= 0 else p
        dest = rng.choice(dest_pool, size=n_od, p=p / p.sum())
        orig = rng.choice(orig_pool, size=n_od)
    else:
        where = None
        orig = rng.choice(ok_nodes, size=n_od)
        dest = rng.choice(ok_nodes, size=n_od)
    keep = orig != dest
    orig, dest = orig[keep], dest[keep]
    # shortest paths from the smaller set of distinct end points
    u_orig, u_dest = np.unique(orig), np.unique(dest)
    forward = u_dest.size < u_orig.size
    if forward:  # trees from the destinations on the reversed graph
        src = u_dest
        _, pred = dijkstra(mg.graph.T.tocsr(), directed=True, indices=src, return_predecessors=True)
        row = np.searchsorted(src, dest)
        reach = pred[row, orig] >= 0
    else:
        src = u_orig
        _, pred = dijkstra(mg.graph, directed=True, indices=src, return_predecessors=True)
        row = np.searchsorted(src, orig)
        reach = pred[row, dest] >= 0
    orig, dest, row = orig[reach], dest[reach], row[reach]
    n_pairs = int(orig.size)
    t_paths = time.perf_counter()
    pair, a, b = _path_arcs(pred, row, orig, dest, forward)
    pos = np.searchsorted(mg.key, a * sg.n_node + b)
    seg = mg.seg[pos]
    cols, col_inv = np.unique(seg, return_inverse=True)
    cov = sp.csr_matrix((np.ones(pair.size), (pair, col_inv.ravel())), shape=(n_pairs, cols.size))
    cov.sum_duplicates()
    cov.data[:] = 1.0
    weights = np.ones(n_pairs)
    scope = "sampled car trips across the area" if d is None else None
    names = _street_names(network, sg)
    if n_pairs == 0 or cols.size == 0:
        log.warning("choose_checkpoints: no sampled trip could be routed")
        return Posts(
            _empty_sites(network.crs),
            {
                "kind": "checkpoints",
                "method": "intercept",
                "mode": mode,
                "k": k,
                "selected": 0,
                "n_od": 0,
                "intercepted_share": None,
                **solver_metrics(None),
            },
        )
    problem = CoverageProblem.from_coverage_matrix(cov, weights)
    res = solve_mclp(problem, budget_count=min(k, cols.size), stop=stop, seed=seed)
    chosen = np.asarray(res.selected)
    total = float(weights.sum())
    alone = np.asarray(cov[:, chosen].sum(axis=0)).ravel() / total
    order = np.lexsort((cols[chosen], -alone))
    chosen, alone = chosen[order], alone[order]
    seg_idx = cols[chosen]
    rows = []
    mid = shapely.line_interpolate_point(sg.geometry[seg_idx], 0.5, normalized=True)
    for i, (j, s, share) in enumerate(zip(chosen.tolist(), seg_idx.tolist(), alone.tolist(), strict=True)):
        hit = cov[:, j].nonzero()[0]
        if d is not None:
            assert where is not None
            dd = where[dest[hit]]
            top = int(np.bincount(dd, minlength=len(d)).argmax())
            into = d["name"].iloc[top] if len(d) == 1 or (dd == top).mean() > 0.5 else "the key districts"
            what = f"traffic into {into}"
            # the end node nearer the district
            gd = d.geometry.iloc[top]
            nu, nv = sg.u[s], sg.v[s]
            node = (
                nu
                if shapely.distance(gd, shapely.Point(sg.node_xy[nu])) <= shapely.distance(gd, shapely.Point(sg.node_xy[nv]))
                else nv
            )
        else:
            what = scope or ""
            node = sg.u[s]
        rows.append(
            {
                "post_id": f"C{i + 1}",
                "kind": "checkpoint",
                "node": int(sg.node_id[node]),
                "segment_id": int(sg.segment_id[s]),
                "name": str(names[s]),
                "score": float(share),
                "reason": f"intercepts {100 * share:.1f} % of {what} ({hit.size} of {n_pairs} sampled trips)",
            }
        )
    sites = gpd.GeoDataFrame(pd.DataFrame(rows, columns=list(SITE_COLUMNS)), geometry=mid, crs=network.crs)
    metrics = {
        "kind": "checkpoints",
        "method": "intercept",
        "mode": mode,
        "k": k,
        "selected": len(sites),
        "n_od": n_pairs,
        "intercepted_share": float(res.objective / total),
        **solver_metrics(res),
        "paths_s": round(t_paths - t0, 4),
        "total_s": round(time.perf_counter() - t0, 4),
    }
    if len(sites) < k:
        if res.objective >= total - 1e-9:
            metrics["note"] = f"{len(sites)} checkpoints already intercept every sampled trip; k={k} not needed"
        elif cols.size < k:
            metrics["note"] = f"only {cols.size} streets carry sampled trips; fewer than k={k} checkpoints"
        else:
            metrics["note"] = f"further checkpoints would intercept no further sampled trip (k={k})"
    log.info(
        "choose_checkpoints(intercept): %d sites, %.1f %% of %d trips intercepted, %.2f s",
        len(sites),
        100 * metrics["intercepted_share"],
        n_pairs,
        metrics["total_s"],
    )
    return Posts(sites, metrics, res)


def _cut_cover(network: RoadNetwork, *, k: int | None, d: gpd.GeoDataFrame, mode: str, seed: int, stop: Stop) -> Posts:
    t0 = time.perf_counter()
    sg = segment_graph(network)
    names = _street_names(network, sg)
    where = _node_district(sg, d)
    inside = where >= 0
    area = shapely.union_all(d.geometry.to_numpy())
    # an entry: a street the mode may travel from outside to inside (a one-way exit is none),
    # or one that passes through the district
    e = network.edges
    ok = e[mode].to_numpy(dtype=bool)
    a = np.searchsorted(sg.node_id, e.index.get_level_values(0).to_numpy()[ok])
    b = np.searchsorted(sg.node_id, e.index.get_level_values(1).to_numpy()[ok])
    s = np.searchsorted(sg.segment_id, e["segment_id"].to_numpy()[ok])
    seg_ok = np.zeros(sg.n_seg, dtype=bool)
    seg_ok[s] = True
    into = np.zeros(sg.n_seg, dtype=bool)
    into[s[~inside[a] & inside[b]]] = True
    through = seg_ok & ~inside[sg.u] & ~inside[sg.v] & shapely.intersects(sg.geometry, area)
    if through.any():  # touching the boundary is not entering
        through[through] = shapely.length(shapely.intersection(sg.geometry[through], area)) > 0.5
    entering = np.flatnonzero(into | through)
    label = d["name"].iloc[0] if len(d) == 1 else "the key districts"
    n_entries = int(entering.size)
    if n_entries == 0:
        metrics = {
            "kind": "checkpoints",
            "method": "cut_cover",
            "mode": mode,
            "k": k,
            "entries": 0,
            "needed": 0,
            "selected": 0,
            "uncovered_entries": 0,
            "covered_entries_share": None,
            **solver_metrics(None),
        }
        return Posts(_empty_sites(network.crs), metrics)
    ends = np.concatenate([sg.u[entering], sg.v[entering]])
    cand, inv = np.unique(ends, return_inverse=True)
    rows = np.concatenate([np.arange(n_entries), np.arange(n_entries)])
    cov = sp.csr_matrix((np.ones(rows.size), (rows, inv.ravel())), shape=(n_entries, cand.size))
    cov.data[:] = 1.0
    problem = CoverageProblem.from_coverage_matrix(cov, np.ones(n_entries))
    lscp = solve_lscp(problem, stop=stop, seed=seed)
    needed = lscp.n_selected
    res = lscp
    if k is not None and k < needed:
        res = solve_mclp(problem, budget_count=int(k), stop=stop, seed=seed)
    chosen = np.asarray(res.selected)
    sub = cov[:, chosen].tocsc()
    counts = np.diff(sub.indptr)
    order = np.lexsort((cand[chosen], -counts))
    chosen = chosen[order]
    taken = np.zeros(n_entries, dtype=bool)
    out = []
    for i, j in enumerate(chosen.tolist()):
        entries = cov[:, j].nonzero()[0]
        new = entries[~taken[entries]]
        taken[entries] = True
        segs = entering[entries]
        streets = list(dict.fromkeys(names[segs].tolist()))
        out.append(
            {
                "post_id": f"C{i + 1}",
                "kind": "checkpoint",
                "node": int(sg.node_id[cand[j]]),
                "segment_id": int(sg.segment_id[entering[new[0] if new.size else entries[0]]]),
                "name": " / ".join(streets[:3]),
                "score": float(entries.size / n_entries),
                "reason": f"covers {entries.size} of {n_entries} streets entering {label} ({', '.join(streets[:4])})",
            }
        )
    geom = gpd.points_from_xy(sg.node_xy[cand[chosen], 0], sg.node_xy[cand[chosen], 1])
    sites = gpd.GeoDataFrame(pd.DataFrame(out, columns=list(SITE_COLUMNS)), geometry=geom, crs=network.crs)
    covered = int(taken.sum())
    metrics = {
        "kind": "checkpoints",
        "method": "cut_cover",
        "mode": mode,
        "k": k,
        "entries": n_entries,
        "needed": needed,
        "selected": len(sites),
        "uncovered_entries": n_entries - covered,
        "covered_entries_share": covered / n_entries,
        **solver_metrics(res),
        "total_s": round(time.perf_counter() - t0, 4),
    }
    if k is not None and k < needed:
        metrics["note"] = (
            f"k={k} checkpoints leave {n_entries - covered} of {n_entries} entering streets "
            f"uncovered; a full cover needs {needed}"
        )
    elif k is not None and k > needed:
        metrics["note"] = f"a full cover needs only {needed} checkpoints (k={k})"
    if "note" in metrics:
        log.info("choose_checkpoints(cut_cover): %s", metrics["note"])
    uncovered = entering[~taken]
    metrics["uncovered_segment_ids"] = sg.segment_id[uncovered].astype(int).tolist()
    return Posts(sites, metrics, res)


# --------------------------------------------------------------------------------------------
# booths


def _default_candidates(network: RoadNetwork, sg: SegmentGraph, node_ok: np.ndarray, k: int) -> np.ndarray:
    """Intersections (≥ 3 streets) on main streets; fewer than k: any intersection; then any node."""
    hw = network.segments()["highway"].reindex(sg.segment_id).astype(str).to_numpy()
    deg = np.bincount(np.concatenate([sg.u, sg.v]), minlength=sg.n_node)
    main_seg = np.isin(hw, list(MAIN_HIGHWAYS))
    on_main = np.zeros(sg.n_node, dtype=bool)
    on_main[sg.u[main_seg]] = True
    on_main[sg.v[main_seg]] = True
    for mask in (node_ok & (deg >= 3) & on_main, node_ok & (deg >= 3), node_ok):
        if mask.sum() >= k:
            return np.flatnonzero(mask)
    return np.flatnonzero(node_ok)


def _node_street(network: RoadNetwork, sg: SegmentGraph, nodes: np.ndarray) -> np.ndarray:
    """For each node the segment index of its main incident street (best class, then longest)."""
    hw = network.segments()["highway"].reindex(sg.segment_id).astype(str).to_numpy()
    rank = np.array([_HIGHWAY_RANK.get(h, 99) for h in hw])
    node = np.concatenate([sg.u, sg.v])
    seg = np.concatenate([np.arange(sg.n_seg), np.arange(sg.n_seg)])
    order = np.lexsort((seg, -sg.length_m[seg], rank[seg], node))
    node, seg = node[order], seg[order]
    first = np.ones(node.size, dtype=bool)
    first[1:] = node[1:] != node[:-1]
    best = np.full(sg.n_node, -1, dtype=np.int64)
    best[node[first]] = seg[first]
    return best[nodes]


def choose_booths(
    network: RoadNetwork,
    *,
    k: int,
    risk: pd.Series | Any,
    minutes: float = 5.0,
    mode: str = "foot",
    candidates: gpd.GeoDataFrame | None = None,
    stop: Stop = Limits(DEFAULT_WORK / 4, 20.0),
    seed: int = 0,
) -> Posts:
    """Choose ``k`` booth sites so that the most risk lies within ``minutes`` of a booth on ``mode``.

    Parameters
    ----------
    risk
        Risk weight per ``segment_id`` (a Series), or a RiskSurface (its all-day risk).
    minutes
        Response time: a segment counts as covered when a booth reaches its nearer end within
        it. On foot the streets are walked both ways; by car/e-bike the direction matters
        (booth → incident).
    candidates
        Sites to choose from (points or polygons, e.g. bus stations and markets; ``name`` used
        when present), snapped to the nearest end node of their nearest street of ``mode``.
        Default: the intersections on main streets.
    """
    field = "patrol.booths"
    _check_common(k, mode, stop, field)
    if not (isinstance(minutes, (int, float)) and math.isfinite(minutes) and minutes > 0):
        raise InfeasibleSettingsError.single(f"must be a number > 0, got {minutes!r}", field=f"{field}.minutes")
    t0 = time.perf_counter()
    sg = segment_graph(network)
    mg = _mode_graph(network, sg, mode, undirected=mode == "foot")
    w = aligned_values(risk_series(risk), sg.segment_id, f"{field}.risk")
    total = float(w.sum())
    if total <= 0:
        raise InfeasibleSettingsError.single("the risk is 0 on every street segment", field=f"{field}.risk")
    site_name: np.ndarray | None = None
    if candidates is not None:
        cand, site_name = _snap_candidates(network, sg, candidates, mode, field)
    else:
        cand = _default_candidates(network, sg, mg.node_ok, k)
    limit = 60.0 * float(minutes)
    # reach: booth j → node, within the limit, as a sparse boolean matrix (chunks of sources)
    blocks = []
    for lo in range(0, cand.size, _CHUNK_SOURCES):
        dist = dijkstra(mg.graph, directed=True, indices=cand[lo : lo + _CHUNK_SOURCES], limit=limit)
        blocks.append(sp.csr_matrix(np.isfinite(dist) & (dist <= limit)))
    reach = sp.vstack(blocks, format="csr").astype(float)  # (n_cand, n_node)
    cov = (sg.incidence() @ reach.T).tocsr()  # (n_seg, n_cand): segment reached at either end
    cov.data[:] = 1.0
    t_matrix = time.perf_counter()
    problem = CoverageProblem.from_coverage_matrix(cov, w)
    res = solve_mclp(problem, budget_count=min(int(k), cand.size), stop=stop, seed=seed)
    chosen = np.asarray(res.selected)
    alone = np.asarray(cov[:, chosen].T @ w).ravel() / total
    order = np.lexsort((cand[chosen], -alone))
    chosen, alone = chosen[order], alone[order]
    nodes = cand[chosen]
    street = _node_street(network, sg, nodes)
    names = _street_names(network, sg)
    how = {"foot": "on foot", "car": "by car", "ebike": "by e-bike"}[mode]
    rows = []
    for i, (j, node, s, share) in enumerate(zip(chosen.tolist(), nodes.tolist(), street.tolist(), alone.tolist(), strict=True)):
        row = {
            "post_id": f"B{i + 1}",
            "kind": "booth",
            "node": int(sg.node_id[node]),
            "segment_id": int(sg.segment_id[s]) if s >= 0 else -1,
            "name": str(names[s]) if s >= 0 else "",
            "score": float(share),
            "reason": f"covers {100 * share:.1f} % of risk within {minutes:g} min {how}",
        }
        if site_name is not None:
            row["site"] = str(site_name[j])
            row["reason"] = f"{row['reason']} (at {site_name[j]})"
        rows.append(row)
    cols = list(SITE_COLUMNS) + (["site"] if site_name is not None else [])
    geom = gpd.points_from_xy(sg.node_xy[nodes, 0], sg.node_xy[nodes, 1])
    sites = gpd.GeoDataFrame(pd.DataFrame(rows, columns=cols), geometry=geom, crs=network.crs)
    metrics = {
        "kind": "booths",
        "mode": mode,
        "minutes": float(minutes),
        "k": int(k),
        "selected": len(sites),
        "candidates": int(cand.size),
        "demand_segments": int((w > 0).sum()),
        "covered_risk_share": float(res.objective / total),
        **solver_metrics(res),
        "matrix_s": round(t_matrix - t0, 4),
        "total_s": round(time.perf_counter() - t0, 4),
    }
    if len(sites) < k:
        if res.objective >= float(problem.coverage.max(axis=1).toarray().ravel() @ w) - 1e-9 * total:
            metrics["note"] = (
                f"{len(sites)} booths already cover all the risk the candidates can reach within "
                f"{minutes:g} min; k={k} not needed"
            )
        else:
            metrics["note"] = f"only {len(sites)} useful candidate sites (k={k})"
    log.info(
        "choose_booths: %d booths cover %.1f %% of risk within %g min %s (%d candidates), %.2f s",
        len(sites),
        100 * metrics["covered_risk_share"],
        minutes,
        how,
        cand.size,
        metrics["total_s"],
    )
    return Posts(sites, metrics, res)


def _snap_candidates(
    network: RoadNetwork, sg: SegmentGraph, candidates: gpd.GeoDataFrame, mode: str, field: str
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct candidate nodes and their names (first name per node)."""
    if not isinstance(candidates, gpd.GeoDataFrame) or len(candidates) == 0:
        raise LayerError.single("candidates must be a non-empty GeoDataFrame", field=f"{field}.candidates")
    c = candidates if candidates.crs is None or candidates.crs.equals(network.crs) else candidates.to_crs(network.crs)
    geom = c.geometry
    pts = gpd.GeoSeries(
        np.where(geom.geom_type.isin(["Point"]), geom, geom.representative_point()), index=c.index, crs=network.crs
    )
    snap = network.snap(pts, mode=mode)
    ok = snap["segment_id"].to_numpy() >= 0
    if not ok.any():
        raise LayerError.single("no candidate could be snapped to a street", field=f"{field}.candidates")
    lengths = network.edges["length_m"].to_numpy()
    # nearer end of the snapped edge
    e_len = pd.Series(lengths, index=network.edges.index)
    key = list(zip(snap["u"][ok], snap["v"][ok], snap["key"][ok], strict=True))
    ln = e_len.reindex(pd.MultiIndex.from_tuples(key)).to_numpy()
    node_ids = np.where(snap["offset_m"].to_numpy()[ok] <= 0.5 * ln, snap["u"].to_numpy()[ok], snap["v"].to_numpy()[ok])
    names = (
        c["name"].astype(str).to_numpy()[ok] if "name" in c.columns else np.array([f"site {i + 1}" for i in np.flatnonzero(ok)])
    )
    idx = np.searchsorted(sg.node_id, node_ids)
    uniq, first = np.unique(idx, return_index=True)
    order = np.argsort(first, kind="stable")
    return uniq[order], names[first[order]]
