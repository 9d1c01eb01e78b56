"""One network (一张网): existing cameras' owner, connection and quality, and what the planner may buy.

Existing cameras carry ``owner`` (police / social / unknown), ``connected`` (their feed reaches
the police network) and ``quality`` (SD / HD / unknown). Only connected cameras count today.
Besides building a new camera at a candidate site, the plan may buy, for its ``budget_cost``:

``connect``
    an unconnected camera (most often a social one), at ``connect_cost``: its view counts.
``upgrade``
    a connected SD camera to HD, at ``upgrade_cost``: its range grows by ``upgrade_range_factor``.
``connect+upgrade``
    an unconnected SD camera, at both costs: its HD view counts.

Each action is one column of the coverage problem beside the new-camera columns, with its cost
in the budget row, so one optimisation (greedy + swap, the Lagrangian bound, SCIP) picks the mix.
The actions on one camera share a group (at most ``max_per_site`` of them; with the default 1,
connect or connect+upgrade, never both). An upgrade column holds the HD view minus the points
the camera's SD view already gives as much credit (and, on backup rows, minus every point it
already sees), so no point counts one camera twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._cameras import parse_connected, parse_owner, parse_quality
from .visibility import existing_pairs, pairs_credit

__all__ = ["ACTIONS", "NetworkActions", "network_actions", "network_columns"]

ACTIONS = ("connect", "upgrade", "connect+upgrade")


def network_columns(cameras: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``owner``, ``connected`` and ``quality`` of every camera, filled with the layer reader's defaults
    (owner unknown, connected unless social, quality unknown) when absent or not understood."""
    n = len(cameras)
    owner = cameras["owner"].map(parse_owner) if "owner" in cameras else pd.Series(["unknown"] * n, index=cameras.index)
    owner = owner.where(owner.notna(), "unknown").astype(object)
    quality = cameras["quality"].map(parse_quality) if "quality" in cameras else pd.Series(["unknown"] * n, index=cameras.index)
    quality = quality.where(quality.notna(), "unknown").astype(object)
    conn = cameras["connected"].map(parse_connected) if "connected" in cameras else pd.Series([None] * n, index=cameras.index)
    connected = conn.where(conn.notna(), owner != "social").astype(bool)
    return cameras.assign(owner=owner, connected=connected, quality=quality)


@dataclass(frozen=True, eq=False)
class NetworkActions:
    """What existing cameras give today and the actions on them.

    ``credit0`` / ``views0``: per demand point, the credit and views of the connected cameras as
    they are. ``pairs_now``: every camera's current view (``camera``, ``demand``, ``distance_m``,
    ``bearing_deg``, ``credit``); ``pairs_hd``: the SD cameras' view once upgraded. ``matrix``:
    ``(n_demand, n_actions)`` credits; ``table``: per action its ``camera`` (row), ``action`` and
    ``cost``."""

    credit0: np.ndarray
    views0: np.ndarray
    pairs_now: pd.DataFrame
    pairs_hd: pd.DataFrame
    matrix: sp.csr_matrix
    table: pd.DataFrame

    @property
    def n_actions(self) -> int:
        return len(self.table)

    def final_pairs(self, chosen: np.ndarray, connected: np.ndarray) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        """The pairs that count after the ``chosen`` actions (rows of ``table``), and per camera
        whether it is connected and upgraded afterwards."""
        t = self.table.iloc[np.asarray(chosen, dtype=np.int64)]
        n = connected.size
        upgraded = np.zeros(n, dtype=bool)
        upgraded[t["camera"].to_numpy(dtype=np.int64)[t["action"].str.contains("upgrade").to_numpy()]] = True
        after = connected.copy()
        after[t["camera"].to_numpy(dtype=np.int64)[t["action"].str.startswith("connect").to_numpy()]] = True
        now = self.pairs_now[
            after[self.pairs_now["camera"].to_numpy(dtype=np.int64)]
            & ~upgraded[self.pairs_now["camera"].to_numpy(dtype=np.int64)]
        ]
        hd = self.pairs_hd[upgraded[self.pairs_hd["camera"].to_numpy(dtype=np.int64)]]
        pairs = pd.concat([now, hd], ignore_index=True).sort_values(["camera", "demand"], kind="stable").reset_index(drop=True)
        return pairs, after, upgraded


def network_actions(
    cameras: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    *,
    buildings: gpd.GeoDataFrame | None,
    tiers: list[tuple[float, float]] | None,
    connect_cost: float | None,
    upgrade_cost: float | None,
    upgrade_range_factor: float = 1.5,
    backup: np.ndarray | None = None,
) -> NetworkActions:
    """The credit of today's connected cameras and the action columns (see the module docstring).

    ``cameras`` carry ``heading_deg``, ``fov_deg``, ``range_m`` (resolved) and the network
    columns (:func:`network_columns` fills them). ``backup``: demand rows that want a second view.
    """
    n_demand = len(demand)
    connected = cameras["connected"].to_numpy(dtype=bool)
    sd = (cameras["quality"] == "SD").to_numpy()
    pairs_now = existing_pairs(cameras, demand, buildings=buildings, tiers=tiers)
    cam_now = pairs_now["camera"].to_numpy(dtype=np.int64)
    credit0, views0 = pairs_credit(pairs_now[connected[cam_now]], n_demand)
    pairs_hd = pairs_now.iloc[:0]
    if upgrade_cost is not None and sd.any():
        rows = np.flatnonzero(sd)
        hd = cameras.iloc[rows].assign(range_m=cameras["range_m"].to_numpy(dtype=float)[rows] * float(upgrade_range_factor))
        pairs_hd = existing_pairs(hd, demand, buildings=buildings, tiers=tiers)
        pairs_hd = pairs_hd.assign(camera=rows[pairs_hd["camera"].to_numpy(dtype=np.int64)])

    acts: list[tuple[int, str, float]] = []
    if connect_cost is not None:
        acts += [(int(c), "connect", float(connect_cost)) for c in np.flatnonzero(~connected)]
    if upgrade_cost is not None:
        acts += [(int(c), "upgrade", float(upgrade_cost)) for c in np.flatnonzero(connected & sd)]
        if connect_cost is not None:
            acts += [
                (int(c), "connect+upgrade", float(connect_cost) + float(upgrade_cost)) for c in np.flatnonzero(~connected & sd)
            ]
    acts.sort(key=lambda a: (a[0], ACTIONS.index(a[1])))
    table = (
        pd.DataFrame(acts, columns=["camera", "action", "cost"])
        if acts
        else pd.DataFrame({"camera": np.zeros(0, np.int64), "action": np.zeros(0, object), "cost": np.zeros(0)})
    )
    n_cam = len(cameras)
    parts_i, parts_j, parts_v = [], [], []
    for action, pairs in (("connect", pairs_now), ("upgrade", pairs_hd), ("connect+upgrade", pairs_hd)):
        mine = table[table["action"] == action]
        if not len(mine) or not len(pairs):
            continue
        col_of = np.full(n_cam, -1, dtype=np.int64)
        col_of[mine["camera"].to_numpy(dtype=np.int64)] = mine.index.to_numpy()
        cam = pairs["camera"].to_numpy(dtype=np.int64)
        d = pairs["demand"].to_numpy(dtype=np.int64)
        v = pairs["credit"].to_numpy(dtype=float)
        keep = col_of[cam] >= 0
        if action == "upgrade":  # the SD view of the same camera already counts
            sd_credit = sp.csr_matrix(
                (pairs_now["credit"].to_numpy(dtype=float), (cam_now, pairs_now["demand"].to_numpy(dtype=np.int64))),
                shape=(n_cam, n_demand),
            )
            before = np.asarray(sd_credit[cam, d]).ravel()
            seen = before > 0
            on_backup = np.zeros(d.size, dtype=bool) if backup is None else np.asarray(backup, dtype=bool)[d]
            keep &= ~(seen & (on_backup | (v <= before + 1e-12)))
        parts_i.append(d[keep])
        parts_j.append(col_of[cam[keep]])
        parts_v.append(v[keep])
    if parts_i:
        i, j, v = np.concatenate(parts_i), np.concatenate(parts_j), np.concatenate(parts_v)
    else:
        i, j, v = np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    matrix = sp.csr_matrix((v, (i, j)), shape=(n_demand, len(table)))
    matrix.sum_duplicates()
    return NetworkActions(credit0, views0, pairs_now, pairs_hd, matrix, table)
