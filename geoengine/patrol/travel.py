"""Travel times between the places a patrol plan works with (bases, hotspots, posts).

One matrix per mode, from multi-source shortest paths on the street graph restricted
to the edges that mode may use (``scipy.sparse.csgraph.dijkstra``), with the street
length of each fastest path and the path itself for drawing routes along the streets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components, dijkstra

from ..errors import InfeasibleSettingsError
from ..graphs import mode_graph

if TYPE_CHECKING:
    from ..network import RoadNetwork

__all__ = ["TravelMatrix", "travel_matrix"]


@dataclass(frozen=True, eq=False)
class TravelMatrix:
    """Seconds and metres of the fastest path between every two places, for one mode.

    ``places`` has the input rows (same index order) with ``node`` (the street node each
    place was snapped to, inside the mode's largest strongly connected part) and
    ``snap_m`` (how far the place lies from that node).
    """

    mode: str
    places: gpd.GeoDataFrame
    seconds: np.ndarray
    metres: np.ndarray
    _network: Any = field(repr=False)
    _pred: np.ndarray = field(repr=False)  # (n_places, n_nodes) predecessor positions
    _node_ids: np.ndarray = field(repr=False)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def _edge_geometry(self) -> dict[tuple[int, int], shapely.LineString]:
        if "edges" not in self._cache:
            e = self._network.edges
            e = e[e[self.mode].to_numpy(dtype=bool)].sort_values(f"time_{self.mode}_s")
            keys = zip(e.index.get_level_values(0), e.index.get_level_values(1))
            geoms: dict[tuple[int, int], shapely.LineString] = {}
            for key, g in zip(keys, e.geometry.values):
                geoms.setdefault((int(key[0]), int(key[1])), g)
            self._cache["edges"] = geoms
        return self._cache["edges"]

    def node_points(self) -> np.ndarray:
        """The street node each place was snapped to, as points (where a team of this mode stands)."""
        if "points" not in self._cache:
            xy = self._network.nodes.loc[self.places["node"].to_numpy(), ["x", "y"]].to_numpy(dtype=float)
            self._cache["points"] = shapely.points(xy)
        return self._cache["points"]

    def path(self, i: int, j: int) -> shapely.LineString:
        """The fastest path from place ``i`` to place ``j`` along the streets."""
        nodes = self._node_ids
        pos = {int(n): k for k, n in enumerate(nodes)}
        src, dst = pos[int(self.places["node"].iloc[i])], pos[int(self.places["node"].iloc[j])]
        chain = [dst]
        while chain[-1] != src:
            prev = int(self._pred[i, chain[-1]])
            if prev < 0:
                break
            chain.append(prev)
        chain.reverse()
        if len(chain) < 2:
            p = self.places.geometry.iloc[i]
            return shapely.LineString([p, p])
        geoms = self._edge_geometry()
        coords: list[tuple[float, float]] = []
        for a, b in zip(chain[:-1], chain[1:]):
            pts = list(geoms[(int(nodes[a]), int(nodes[b]))].coords)
            coords.extend(pts if not coords else pts[1:])
        return shapely.LineString(coords) if len(coords) >= 2 else shapely.LineString([coords[0], coords[0]])


def travel_matrix(network: RoadNetwork, places: gpd.GeoDataFrame | gpd.GeoSeries, *, mode: str) -> TravelMatrix:
    """Fastest travel between every two places on ``mode`` (car, foot, ebike).

    Places are snapped to the nearest node of the mode's largest strongly connected
    part of the street graph, so every pair is reachable.
    """
    if mode not in ("car", "foot", "ebike"):
        raise InfeasibleSettingsError.single(f"unknown mode {mode!r}", field="patrol.teams.mode", hint="car, foot or ebike")
    gdf = places if isinstance(places, gpd.GeoDataFrame) else gpd.GeoDataFrame(geometry=places)
    gdf = gdf.to_crs(network.crs).reset_index(drop=True)
    time_g, len_g, node_ids = mode_graph(network, mode)
    _, labels = connected_components(time_g, directed=True, connection="strong")
    main = np.bincount(labels).argmax()
    inside = np.flatnonzero(labels == main)
    if len(inside) < 2:
        raise InfeasibleSettingsError.single(
            f"the street network has no connected part usable by {mode}", field="patrol.teams.mode"
        )
    xy = network.nodes[["x", "y"]].to_numpy()[inside]
    from scipy.spatial import cKDTree

    dist, k = cKDTree(xy).query(shapely.get_coordinates(gdf.geometry.representative_point().values))
    place_pos = inside[k]
    seconds_all, pred = dijkstra(time_g, directed=True, indices=place_pos, return_predecessors=True)
    seconds = seconds_all[:, place_pos]
    metres = _path_lengths(pred, len_g, place_pos)
    out = gdf.assign(node=node_ids[place_pos], snap_m=dist)
    return TravelMatrix(mode=mode, places=out, seconds=seconds, metres=metres, _network=network, _pred=pred, _node_ids=node_ids)


def _path_lengths(pred: np.ndarray, len_g: sp.csr_matrix, place_pos: np.ndarray) -> np.ndarray:
    """Street length along each fastest path, by pointer jumping up the shortest-path trees."""
    n_src, n = pred.shape
    rows = np.arange(n_src)[:, None]
    p = pred.copy()
    root = p < 0
    p[root] = np.broadcast_to(np.arange(n), p.shape)[root]
    step = np.zeros(p.shape)
    has = ~root
    r, c = np.nonzero(has)
    step[r, c] = np.asarray(len_g[p[r, c], c]).ravel()
    for _ in range(int(np.ceil(np.log2(max(n, 2)))) + 1):
        step = step + step[rows, p]
        p = p[rows, p]
    return step[:, place_pos]
