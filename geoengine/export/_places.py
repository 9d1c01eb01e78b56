"""Human names of the places a plan works with, as a planner says them.

A hotspot is named after the block its stop stands on: "Stockton St between Clay St and
Washington St" (the street of the segment nearest the stop, walked along segments of the same
name until a differently named street crosses), "Kaivokatu at Mannerheimintie" with one cross
street, "Kaivokatu" with none. A post (checkpoint, booth) stands at a crossing: "Kaivokatu at
Mannerheimintie". A base is its station's name, a district its district's name::

    names = place_names(patrol, network)      # place id -> human name
    names["H3"], names["C1"], names["district:Mannerheimintie commercial district"]
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

if TYPE_CHECKING:
    from ..network import RoadNetwork

__all__ = ["StreetNamer", "beats_table", "hotspots_csv", "hotspots_table", "place_names", "with_places"]

_NEAR_M = 80.0
"""A stop on an unnamed path is named after the nearest named street within this distance."""
_FAR_M = 400.0
"""Farther than ``_NEAR_M`` but within this, a stop is "path near" the nearest named street."""
_MAX_WALK = 40
"""Most segments walked along one street to find its cross street."""


def _clean(name: object) -> str:
    if isinstance(name, (list, tuple)):
        name = next((n for n in name if n), "")
    if name is None or pd.isna(name):
        return ""
    text = str(name).strip()
    return "" if text.lower() in ("nan", "none") else text


class StreetNamer:
    """Street names of a network's segments with the streets crossing them."""

    def __init__(self, network: RoadNetwork) -> None:
        from ..graphs import segment_graph

        sg = segment_graph(network)
        segs = network.segments()
        self._sid = sg.segment_id
        self._pos = {int(s): i for i, s in enumerate(sg.segment_id.tolist())}
        names = segs["name"].reindex(sg.segment_id) if "name" in segs else pd.Series("", index=sg.segment_id)
        self._name = np.array([_clean(n) for n in names], dtype=object)
        self._u, self._v = sg.u, sg.v
        self._len = sg.length_m
        self._geom = sg.geometry
        self._node_id = {int(n): i for i, n in enumerate(sg.node_id.tolist())}
        at: dict[int, list[int]] = defaultdict(list)
        for i, (a, b) in enumerate(zip(sg.u.tolist(), sg.v.tolist(), strict=True)):
            at[a].append(i)
            if b != a:
                at[b].append(i)
        self._at = at
        named = np.flatnonzero(self._name != "")
        self._named = named
        self._tree = shapely.STRtree(self._geom[named]) if named.size else None

    # ------------------------------------------------------------------ pieces
    def _cross(self, node: int, street: str, came: int) -> tuple[str, list[int]]:
        """At ``node`` (reached along ``came``): the cross street's name ('' if none) and the
        segments of ``street`` going on."""
        others: dict[str, float] = defaultdict(float)
        same: list[int] = []
        for j in self._at.get(node, []):
            if j == came:
                continue
            n = self._name[j]
            if n == street:
                same.append(j)
            elif n:
                others[n] += float(self._len[j])
        if others:
            return max(sorted(others), key=lambda k: others[k]), same
        return "", same

    # ------------------------------------------------------------------ names
    def segment(self, segment_id: int) -> str:
        """The block's name: "Street between A and B", "Street at A" or "Street" for a named segment ('' unnamed)."""
        i = self._pos.get(int(segment_id))
        return "" if i is None else self._block(i)

    def _block(self, i: int) -> str:
        street = self._name[i]
        if not street:
            return ""
        a = self._end_name(i, int(self._u[i]), street)
        b = self._end_name(i, int(self._v[i]), street)
        ends = [n for n in dict.fromkeys([a, b]) if n]
        if len(ends) == 2:
            return f"{street} between {ends[0]} and {ends[1]}"
        if ends:
            return f"{street} at {ends[0]}"
        return street

    def _end_name(self, i: int, node: int, street: str) -> str:
        seen = {i}
        cur = i
        for _ in range(_MAX_WALK):
            cross, same = self._cross(node, street, cur)
            if cross:
                return cross
            same = [j for j in same if j not in seen]
            if len(same) != 1:
                return ""
            cur = same[0]
            seen.add(cur)
            node = int(self._v[cur]) if int(self._u[cur]) == node else int(self._u[cur])
        return ""

    def at_point(self, point: Any, segments: Any = None) -> str:
        """The block a point stands on: among ``segments`` (ids; default all) the nearest named
        one, else the nearest named street within 80 m."""
        if point is None or shapely.is_empty(point):
            return ""
        cand = []
        if segments is not None:
            cand = [self._pos[int(s)] for s in segments if int(s) in self._pos and self._name[self._pos[int(s)]]]
        if cand:
            d = shapely.distance(self._geom[cand], point)
            return self._block(cand[int(np.argmin(d))])
        if self._tree is None:
            return ""
        hit = self._tree.query_nearest(point, max_distance=_FAR_M, all_matches=False)
        if not len(hit):
            return ""
        i = int(self._named[int(hit[0])])
        if shapely.distance(self._geom[i], point) <= _NEAR_M:
            return self._block(i)
        return f"path near {self._name[i]}"

    def at_node(self, node: int | None, segment_id: int | None = None) -> str:
        """A crossing: "Street at Cross" (the street of ``segment_id`` first), else the block."""
        k = None if node is None or pd.isna(node) else self._node_id.get(int(node))
        first = None if segment_id is None or pd.isna(segment_id) else self._pos.get(int(segment_id))
        if k is None:
            return "" if first is None else self._block(first)
        names: dict[str, float] = defaultdict(float)
        for j in self._at.get(k, []):
            if self._name[j]:
                names[self._name[j]] += float(self._len[j])
        main = self._name[first] if first is not None and self._name[first] else ""
        order = sorted(names, key=lambda n: (-names[n], n))
        if not main and order:
            main = order[0]
        others = [n for n in order if n != main]
        if main and others:
            return f"{main} at {others[0]}"
        if main:
            return self._block(first) if first is not None and self._name[first] else main
        return ""


def place_names(patrol: Any, network: RoadNetwork | None, *, namer: StreetNamer | None = None) -> dict[str, str]:
    """Place id → human name for every hotspot, post, district and base of a plan."""
    out: dict[str, str] = {}
    if patrol is None:
        return out
    namer = namer if namer is not None else (StreetNamer(network) if network is not None else None)
    hs = patrol.hotspots
    if len(hs):
        for r in hs.itertuples():
            name = namer.at_point(r.geometry, getattr(r, "segments", None)) if namer is not None else ""
            out[str(r.hotspot_id)] = name or _clean(getattr(r, "name", "")) or str(r.hotspot_id)
    for posts in (patrol.checkpoints, patrol.booths):
        sites = getattr(posts, "sites", None)
        if sites is None or not len(sites):
            continue
        for r in sites.itertuples():
            name = namer.at_node(getattr(r, "node", None), getattr(r, "segment_id", None)) if namer is not None else ""
            out[str(r.post_id)] = name or _clean(getattr(r, "name", "")) or str(r.post_id)
    s = patrol.stops
    if len(s):
        for pid, kind, name in zip(s["place_id"].astype(str), s["place_kind"].astype(str), s["place_name"], strict=True):
            if pid in out or kind == "break":
                continue
            if kind in ("base", "district"):
                out[pid] = _clean(name) or pid.split(":", 1)[-1]
    d = patrol.dropped_table() if hasattr(patrol, "dropped_table") else getattr(patrol, "dropped", pd.DataFrame())
    if len(d) and "place_id" in d:
        for pid in d["place_id"].astype(str):
            if pid not in out and pid.startswith("district:"):
                out[pid] = pid.split(":", 1)[1]
    return out


def hotspots_csv(patrol: Any, names: dict[str, str] | None = None) -> pd.DataFrame:
    """``hotspots.csv``: every hotspot with its human place name, beat (1…K), district, street
    length, risk and level per window, and WGS84 lon/lat."""
    h = hotspots_table(patrol, names)
    if not len(h):
        return pd.DataFrame(columns=["hotspot_id", "place", "beat"])
    ll = h.geometry.to_crs("EPSG:4326")
    out = pd.DataFrame(h.drop(columns=["geometry", *(["name"] if "place" in h else [])]))
    out["lon"] = ll.x.round(7).to_numpy()
    out["lat"] = ll.y.round(7).to_numpy()
    return out


def with_places(table: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """``table`` with a ``place`` column (the human name) after ``place_name``; break rows keep
    their "meal break at …" text."""
    out = table.copy()
    if "place_id" not in out:
        return out
    pid = out["place_id"].astype(str)
    place = pid.map(names)
    if "place_name" in out:
        fallback = out["place_name"].map(_clean)
        place = place.where(place.notna() & (out.get("place_kind", "") != "break"), fallback)
    if {"place_kind", "team", "window", "seq"} <= set(out.columns):  # a break: where the team stands then
        breaks = out["place_kind"].astype(str) == "break"
        if breaks.any():
            order = out.sort_values(["team", "window", "seq"], kind="stable")
            where = order["place_id"].astype(str).map(names).where(order["place_kind"].astype(str) != "break")
            where = where.groupby([order["team"], order["window"]], sort=False).ffill()
            at_break = where.reindex(out.index)[breaks]
            place = place.copy()
            place[breaks] = ["Meal break at " + w if isinstance(w, str) and w else "Meal break" for w in at_break]
    out = out.drop(columns=["place"], errors="ignore")
    at = list(out.columns).index("place_name") + 1 if "place_name" in out else list(out.columns).index("place_id") + 1
    out.insert(at, "place", place.fillna(pid).to_numpy())
    return out


def beats_table(patrol: Any) -> Any:
    """The beats as every output shows them: ``beat`` 1…K as in "Beat N" (the plan counts from 0)."""
    b = patrol.beats.beats.copy()
    if len(b):
        b["beat"] = b["beat"].astype("int64") + 1
    return b


def hotspots_table(patrol: Any, names: dict[str, str] | None = None) -> Any:
    """The hotspots as every output shows them: ``beat`` 1…K, ``place`` the human name of the block."""
    h = patrol.hotspots.drop(columns=["segments"], errors="ignore").copy()
    if len(h) and "beat" in h:
        h["beat"] = pd.to_numeric(h["beat"], errors="coerce").astype("Int64") + 1
    if names:
        h.insert(list(h.columns).index("hotspot_id") + 1, "place", h["hotspot_id"].astype(str).map(names).to_numpy())
    return h
