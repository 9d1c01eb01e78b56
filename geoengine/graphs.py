"""Street graphs as sparse matrices, shared by the stages that route, site and draw.

:func:`segment_graph` gives the street segments with their end nodes as matrix indices
(one row per ``segment_id``); :func:`mode_graph` gives one travel mode's directed node graph
in seconds (and metres), the fastest of parallel edges kept. Both are cached on the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

if TYPE_CHECKING:
    from .network import RoadNetwork

__all__ = ["SegmentGraph", "mode_graph", "segment_graph"]


@dataclass(frozen=True, eq=False)
class SegmentGraph:
    """Segments with their end nodes as matrix indices; node ids ↔ indices explicit."""

    segment_id: np.ndarray  # (n_seg,) sorted segment ids
    u: np.ndarray  # (n_seg,) node index of one end
    v: np.ndarray  # (n_seg,) node index of the other end
    length_m: np.ndarray  # (n_seg,)
    geometry: np.ndarray  # (n_seg,) LineStrings
    node_id: np.ndarray  # (n_node,) node ids (osmid)
    node_xy: np.ndarray  # (n_node, 2)

    @property
    def n_seg(self) -> int:
        return int(self.segment_id.size)

    @property
    def n_node(self) -> int:
        return int(self.node_id.size)

    def incidence(self) -> sp.csr_matrix:
        """``(n_seg, n_node)`` 0/1 matrix: segment touches node."""
        n = self.n_seg
        rows = np.concatenate([np.arange(n), np.arange(n)])
        cols = np.concatenate([self.u, self.v])
        m = sp.csr_matrix((np.ones(2 * n), (rows, cols)), shape=(n, self.n_node))
        m.data[:] = 1.0
        return m

    def adjacency(self) -> sp.csr_matrix:
        """``(n_seg, n_seg)`` 0/1 matrix: segments sharing a node (no diagonal)."""
        b = self.incidence()
        a = (b @ b.T).tocsr()
        a.setdiag(0)
        a.eliminate_zeros()
        a.data[:] = 1.0
        return a

    def node_graph(self) -> sp.csr_matrix:
        """Undirected node graph weighted by street length (shortest parallel street kept)."""
        length = np.maximum(self.length_m, 1e-3)  # csgraph drops explicit zeros
        a, b = np.minimum(self.u, self.v), np.maximum(self.u, self.v)
        order = np.lexsort((length, b, a))
        a, b, length = a[order], b[order], length[order]
        first = np.ones(a.size, dtype=bool)
        first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
        a, b, length = a[first], b[first], length[first]
        g = sp.csr_matrix((length, (a, b)), shape=(self.n_node, self.n_node))
        return (g + g.T).tocsr()


def segment_graph(network: RoadNetwork) -> SegmentGraph:
    cache = network._cache
    if "patrol:segment_graph" not in cache:
        e = network.edges
        first = (
            pd.DataFrame(
                {
                    "segment_id": e["segment_id"].to_numpy(),
                    "u": e.index.get_level_values(0).to_numpy(),
                    "v": e.index.get_level_values(1).to_numpy(),
                    "length_m": e["length_m"].to_numpy(dtype=float),
                    "geometry": e.geometry.to_numpy(),
                }
            )
            .drop_duplicates("segment_id")
            .sort_values("segment_id", kind="stable")
        )
        node_id = network.nodes.index.to_numpy()
        order = np.argsort(node_id, kind="stable")
        node_id = node_id[order]
        xy = network.nodes[["x", "y"]].to_numpy(dtype=float)[order]
        u = np.searchsorted(node_id, first["u"].to_numpy())
        v = np.searchsorted(node_id, first["v"].to_numpy())
        cache["patrol:segment_graph"] = SegmentGraph(
            segment_id=first["segment_id"].to_numpy(dtype=np.int64),
            u=u.astype(np.int64),
            v=v.astype(np.int64),
            length_m=first["length_m"].to_numpy(dtype=float),
            geometry=first["geometry"].to_numpy(),
            node_id=node_id,
            node_xy=xy,
        )
    return cache["patrol:segment_graph"]


def mode_graph(network: RoadNetwork, mode: str) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
    e = network.edges
    allowed = e[mode].to_numpy(dtype=bool)
    node_ids = np.asarray(network.nodes.index)
    pos = pd.Series(np.arange(len(node_ids)), index=node_ids)
    u = pos.loc[e.index.get_level_values(0)[allowed]].to_numpy()
    v = pos.loc[e.index.get_level_values(1)[allowed]].to_numpy()
    t = e[f"time_{mode}_s"].to_numpy(dtype=float)[allowed]
    length = e["length_m"].to_numpy(dtype=float)[allowed]
    n = len(node_ids)
    # fastest of parallel edges
    order = np.lexsort((t, u * n + v))
    key = (u * n + v)[order]
    keep = order[np.r_[True, key[1:] != key[:-1]]] if len(key) else order
    time_g = sp.csr_matrix((np.maximum(t[keep], 1e-3), (u[keep], v[keep])), shape=(n, n))
    len_g = sp.csr_matrix((length[keep], (u[keep], v[keep])), shape=(n, n))
    return time_g, len_g, node_ids
