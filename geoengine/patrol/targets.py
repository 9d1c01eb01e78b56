"""Patrol targets: hotspots from the risk surface and the visits each needs per window.

A hotspot is a cluster of contiguous high-risk street segments (sharing a node), with
a representative point (the midpoint of its riskiest segment), its level and risk per
window. The visits a hotspot needs in a window follow the evidence on hot-spot
policing (Koper 1995; Telep et al. 2014): a stop of about 10–16 minutes deters, and
should recur before its effect wears off — at most ``max_gap_min`` apart by level.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components

from ..risk import LEVELS

if TYPE_CHECKING:
    from ..risk import RiskSurface
    from ..scenario import PatrolSettings, TimeWindow

__all__ = ["hotspot_targets", "visit_slots"]

_RANK = {lv: i for i, lv in enumerate(LEVELS)}  # red 0 … blue 3


def hotspot_targets(
    risk: RiskSurface,
    *,
    levels: tuple[str, ...] = ("red", "orange"),
    camera_watch: pd.Series | None = None,
    camera_discount: float = 0.0,
    radius_m: float = 150.0,
) -> gpd.GeoDataFrame:
    """Hotspots: clusters of adjacent segments graded ``levels`` in some window.

    A cluster larger than one patrol stop can watch is split: its riskiest segment
    seeds a hotspot that takes the cluster's segments within ``radius_m`` (midpoint to
    midpoint), and so on until none is left.

    Columns: ``hotspot_id``, ``segments`` (list of segment ids), ``street_m``, and per
    window ``risk:<w>`` (patrol demand: risk, less ``camera_discount`` × the share of it
    cameras watch) and ``level:<w>``; ``geometry`` is the midpoint of the riskiest
    segment (where the team stands).
    """
    table = risk.table
    hot_segments = table.loc[table["level"].isin(levels), "segment_id"].unique()
    segs = risk.segments.loc[np.sort(hot_segments)]
    if len(segs) == 0:
        return gpd.GeoDataFrame({"hotspot_id": [], "segments": [], "street_m": []}, geometry=[], crs=risk.segments.crs)
    net = risk.network
    first = net.edges.reset_index().drop_duplicates("segment_id").set_index("segment_id")
    u = first.loc[segs.index, "u"].to_numpy()
    v = first.loc[segs.index, "v"].to_numpy()
    nodes, inv = np.unique(np.r_[u, v], return_inverse=True)
    s = len(segs)
    inc = sp.csr_matrix((np.ones(2 * s), (np.r_[np.arange(s), np.arange(s)], inv)), shape=(s, len(nodes)))
    _, label = connected_components(inc @ inc.T, directed=False)

    wide_risk = table.pivot(index="segment_id", columns="window", values="risk").loc[segs.index]
    wide_level = table.pivot(index="segment_id", columns="window", values="level").loc[segs.index]
    if camera_watch is not None and camera_discount > 0:
        watched = camera_watch.reindex(segs.index).fillna(0.0).to_numpy()[:, None]
        wide_risk = wide_risk * (1.0 - camera_discount * watched)
    total = wide_risk.sum(axis=1).to_numpy()
    mid = shapely.get_coordinates(shapely.line_interpolate_point(segs.geometry.values, 0.5, normalized=True))
    groups: list[np.ndarray] = []
    for k in np.unique(label):
        members = np.flatnonzero(label == k)
        left = members[np.argsort(-total[members], kind="stable")]
        while len(left):
            seed = left[0]
            near = np.hypot(*(mid[left] - mid[seed]).T) <= radius_m
            groups.append(left[near])
            left = left[~near]
    rows = []
    for members in groups:
        ids = segs.index.to_numpy()[members]
        best = members[np.argmax(total[members])]
        row = {
            "segments": [int(i) for i in ids],
            "street_m": float(segs["length_m"].to_numpy()[members].sum()),
            "name": str(segs["name"].iloc[best] or ""),
            "geometry": shapely.line_interpolate_point(segs.geometry.iloc[best], 0.5, normalized=True),
        }
        for w in risk.window_names:
            row[f"risk:{w}"] = float(wide_risk[w].to_numpy()[members].sum())
            lv = wide_level[w].to_numpy()[members]
            row[f"level:{w}"] = LEVELS[min(_RANK[x] for x in lv)]
        rows.append(row)
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=risk.segments.crs)
    out = out.sort_values(f"risk:{risk.window_names[0]}", ascending=False).reset_index(drop=True)
    out.insert(0, "hotspot_id", [f"H{i + 1}" for i in range(len(out))])
    return out


def visit_slots(
    window: TimeWindow, level: str, settings: PatrolSettings, *, start_s: int, end_s: int, offset_s: int = 0
) -> list[tuple[int, int, int]]:
    """Arrival windows ``(earliest_s, latest_s, dwell_s)`` for the visits a hotspot of
    ``level`` needs in a window running from ``start_s`` to ``end_s``.

    Revisits are at least m = ``min_revisit_gap_min`` and at most G = the level's
    ``max_gap_min`` apart (arrival to arrival): visit k may arrive in
    ``[t0 + k·s, t0 + k·s + h]`` with slot ``s = (G + m) / 2`` and slack ``h = (G − m) / 2``, so two
    consecutive arrivals are between ``s − h = m`` and ``s + h = G`` apart, and a plan that
    skips a visit still never stands at a hotspot twice within m minutes. ``t0 = start_s +
    offset_s`` (the earliest any team can be there). A level without a maximum gap gets one visit.
    """
    dwell = int(round(60 * settings.dwell_for(level, 10.0)))
    first = start_s + max(0, int(offset_s))
    last = end_s - dwell
    gap = settings.max_gap_for(level)
    if last < first:
        return []
    if gap is None:
        return [(first, last, dwell)]
    low = min(float(getattr(settings, "min_revisit_gap_min", 30.0)), gap)
    slot = 30.0 * (gap + low)
    slack = 30.0 * (gap - low)
    out = []
    k = 0
    while True:
        a = first + int(round(k * slot))
        if a > last:
            break
        out.append((a, min(int(round(a + slack)), last), dwell))
        k += 1
    return out
