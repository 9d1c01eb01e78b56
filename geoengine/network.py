"""RoadNetwork: the street graph every later stage works on.

A :class:`RoadNetwork` is a directed street graph in a projected metric CRS with, per
edge, the length in metres and, per mode (car, foot, e-bike), whether the mode may
travel the edge in its direction, the speed and the travel time in seconds. Only the
largest strongly connected component of the chosen ``network_type`` is kept.

Sources:

- an OSM PBF extract, read offline with pyrosm (:func:`network_from_pbf`);
- an OSM XML file (``.osm``, ``.xml``, ``.osm.bz2``), cleaned and read with
  ``osmnx.graph_from_xml`` (:func:`network_from_xml`);
- a GraphML file, best one written by :func:`save_graphml` (:func:`network_from_graphml`);
- online, with osmnx by place name or bounding box (:func:`network_from_place`,
  :func:`network_from_bbox`); an :class:`~geoengine.errors.OfflineError` when the
  machine cannot reach OpenStreetMap.

:func:`load_network` dispatches on a :class:`~geoengine.scenario.NetworkSettings` and
caches the finished network on disk.

Every street (a piece of OSM way between two intersections) has one ``segment_id``
shared by its two directions. A one-way street has a forward edge for cars and
e-bikes and a *contraflow* edge (``car=False``, ``foot=True``) because people walk
both ways. On an edge where a mode is not allowed its speed is 0 and its time ``inf``.
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
import os
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal
from xml.etree.ElementTree import ParseError as ET_ParseError

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely

from . import _osm
from ._io import sha256_file, sha256_text
from .errors import CRSMismatchError, InputFileNotFoundError, NetworkSourceError, OfflineError
from .scenario import NetworkSettings, Speeds

__all__ = [
    "MODES",
    "NetworkSource",
    "NetworkStats",
    "RoadNetwork",
    "load_network",
    "network_from_bbox",
    "network_from_graphml",
    "network_from_pbf",
    "network_from_place",
    "network_from_xml",
    "save_graphml",
]

logger = logging.getLogger(__name__)

NetworkType = Literal["all", "drive", "walk"]
MODES: tuple[str, ...] = ("car", "foot", "ebike")
NETWORK_TYPES: tuple[str, ...] = ("all", "drive", "walk")
DROP_WARN_SHARE = 0.10
CACHE_FORMAT = 2  # 2: data-only entries (GeoParquet + JSON header), no pickle
GRAPHML_FORMAT = "geoengine-network-1"
EDGE_COLUMNS: tuple[str, ...] = (
    "segment_id",
    "osmid",
    "name",
    "highway",
    "oneway",
    "length_m",
    "car",
    "foot",
    "ebike",
    "speed_car_kph",
    "speed_foot_kph",
    "speed_ebike_kph",
    "time_car_s",
    "time_foot_s",
    "time_ebike_s",
)
_BOOL_COLUMNS = ("oneway", "car", "foot", "ebike")
_FLOAT_COLUMNS = ("length_m", "speed_car_kph", "speed_foot_kph", "speed_ebike_kph", "time_car_s", "time_foot_s", "time_ebike_s")
_OFFLINE_HINT = (
    "cannot reach OpenStreetMap (Overpass/Nominatim): this machine looks offline; "
    "use a local .osm.pbf file in network.source (e.g. a Geofabrik/BBBike extract) "
    "or a GraphML file saved earlier"
)


# --------------------------------------------------------------------------- result types
@dataclass(frozen=True)
class NetworkStats:
    """Counts that describe a prepared network."""

    nodes: int
    edges: int
    street_km: float
    """Street length with each street counted once (not per direction)."""
    nodes_before: int
    """Nodes before keeping the largest strongly connected component."""
    dropped_nodes: int
    """``nodes_before - nodes``."""
    components: int
    """Strongly connected components before keeping the largest."""
    car_scc_nodes: int
    """Nodes in the largest strongly connected component of the car edges of the kept network."""
    build_s: float = 0.0
    """Seconds it took to build the network from its source."""
    from_cache: bool = False
    """Whether :func:`load_network` served the network from its disk cache."""


@dataclass(frozen=True)
class NetworkSource:
    """Where a network came from."""

    kind: str
    """``"pbf"``, ``"xml"``, ``"graphml"`` or ``"online"``."""
    path: Path | None
    sha256: str | None
    description: str


@dataclass(frozen=True, eq=False)
class RoadNetwork:
    """A directed street graph in a projected metric CRS with travel times per mode.

    ``graph`` is frozen (``nx.freeze``); its node attributes are ``x``, ``y`` (metres)
    and its edge attributes the columns of ``edges`` (plus ``length``, a copy of
    ``length_m`` for osmnx functions). ``edges`` is indexed by ``(u, v, key)``.
    """

    graph: nx.MultiDiGraph
    nodes: gpd.GeoDataFrame
    edges: gpd.GeoDataFrame
    crs: pyproj.CRS
    buildings: gpd.GeoDataFrame | None
    pois: gpd.GeoDataFrame | None
    source: NetworkSource
    stats: NetworkStats
    warnings: tuple[str, ...] = ()
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    # pickling: the lazily built search trees are not kept
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_cache"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    # ---------------------------------------------------------------- views
    def segments(self) -> gpd.GeoDataFrame:
        """One row per street (``segment_id``): name, highway, length_m, modes allowed in any direction, geometry."""
        if "segments" not in self._cache:
            edges = self.edges.reset_index(drop=True)
            first = edges.drop_duplicates("segment_id").set_index("segment_id").sort_index()
            modes = edges.groupby("segment_id")[list(MODES)].any()
            out = first[["name", "highway", "length_m"]].join(modes)
            out = gpd.GeoDataFrame(out, geometry=first.geometry, crs=self.crs)
            self._cache["segments"] = out
        return self._cache["segments"].copy()

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(minx, miny, maxx, maxy)`` of the streets, in metres."""
        minx, miny, maxx, maxy = self.edges.total_bounds
        return (float(minx), float(miny), float(maxx), float(maxy))

    def to_wgs84_bounds(self) -> tuple[float, float, float, float]:
        """``(west, south, east, north)`` of the streets, in degrees."""
        t = pyproj.Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)
        west, south, east, north = t.transform_bounds(*self.bounds)
        return (float(west), float(south), float(east), float(north))

    # ---------------------------------------------------------------- snapping
    def _tree(self, mode: str | None) -> tuple[shapely.STRtree, np.ndarray]:
        key = f"tree:{mode}"
        if key not in self._cache:
            if mode is None:
                rows = np.arange(len(self.edges))
            elif mode in MODES:
                rows = np.flatnonzero(self.edges[mode].to_numpy(dtype=bool))
            else:
                raise ValueError(f"mode must be one of {', '.join(MODES)} or None, got {mode!r}")
            geoms = self.edges.geometry.to_numpy()[rows]
            self._cache[key] = (shapely.STRtree(geoms), rows)
        return self._cache[key]

    def snap(
        self,
        points: gpd.GeoSeries | gpd.GeoDataFrame | np.ndarray | list[Any],
        *,
        mode: str | None = None,
    ) -> pd.DataFrame:
        """Snap points (in the network CRS) to their nearest edge.

        Returns a frame aligned with the input (same index for a GeoSeries/GeoDataFrame)
        with ``segment_id``, ``u``, ``v``, ``key``, ``distance_m`` (point to street),
        ``offset_m`` (distance along the edge from ``u``) and ``snapped`` (the point on
        the edge). ``mode`` (car, foot, ebike) restricts to edges that mode may travel.
        Empty or missing points get NaN/-1 and an empty ``snapped``.
        """
        if isinstance(points, (gpd.GeoSeries, gpd.GeoDataFrame)):
            if points.crs is not None and not pyproj.CRS(points.crs).equals(self.crs):
                raise CRSMismatchError.single(
                    f"points are in {pyproj.CRS(points.crs).name}, the network in {self.crs.name}; "
                    "reproject them first (gdf.to_crs(network.crs))",
                    field="crs",
                )
            index = points.index
            geoms = np.asarray(points.geometry.values, dtype=object)
        else:
            geoms = np.asarray(points, dtype=object)
            index = pd.RangeIndex(len(geoms))
        tree, rows = self._tree(mode)
        n = len(geoms)
        seg_id = np.full(n, -1, dtype="int64")
        u = np.full(n, -1, dtype="int64")
        v = np.full(n, -1, dtype="int64")
        key = np.full(n, -1, dtype="int64")
        dist = np.full(n, np.nan)
        offset = np.full(n, np.nan)
        snapped = np.full(n, None, dtype=object)
        valid = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        if valid.any() and len(rows):
            idx_valid = np.flatnonzero(valid)
            (inp, hit), d = tree.query_nearest(geoms[valid], return_distance=True, all_matches=False)
            target = idx_valid[inp]
            edge_rows = rows[hit]
            lines = self.edges.geometry.to_numpy()[edge_rows]
            off = shapely.line_locate_point(lines, geoms[target])
            mi = self.edges.index
            seg_id[target] = self.edges["segment_id"].to_numpy()[edge_rows]
            u[target] = mi.get_level_values(0).to_numpy()[edge_rows]
            v[target] = mi.get_level_values(1).to_numpy()[edge_rows]
            key[target] = mi.get_level_values(2).to_numpy()[edge_rows]
            dist[target] = d
            offset[target] = off
            snapped[target] = shapely.line_interpolate_point(lines, off)
        return pd.DataFrame(
            {
                "segment_id": seg_id,
                "u": u,
                "v": v,
                "key": key,
                "distance_m": dist,
                "offset_m": offset,
                "snapped": gpd.GeoSeries(snapped, crs=self.crs).values,
            },
            index=index,
        )

    # ---------------------------------------------------------------- display
    def _card(self) -> list[tuple[str, str]]:
        s = self.stats
        return [
            ("source", f"{self.source.kind}: {self.source.description}"),
            ("crs", self.crs.to_string() if self.crs.to_epsg() is None else f"EPSG:{self.crs.to_epsg()} ({self.crs.name})"),
            ("nodes", f"{s.nodes:,}"),
            ("edges", f"{s.edges:,}"),
            ("street km", f"{s.street_km:,.1f}"),
            ("dropped nodes", f"{s.dropped_nodes:,} of {s.nodes_before:,} ({s.components:,} components)"),
            ("buildings", "none" if self.buildings is None else f"{len(self.buildings):,}"),
            ("POIs", "none" if self.pois is None else f"{len(self.pois):,}"),
        ]

    def summary(self) -> str:
        """A few lines that describe the network."""
        lines = ["RoadNetwork"] + [f"  {k:<14}{v}" for k, v in self._card()]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def __repr__(self) -> str:
        s = self.stats
        return f"<RoadNetwork {self.source.description!r}: {s.nodes} nodes, {s.edges} edges, {s.street_km:.1f} street km>"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>{html.escape(v)}</td></tr>"
            for k, v in self._card()
        )
        warn = "".join(f"<li>{html.escape(w)}</li>" for w in self.warnings)
        warn = f"<ul style='color:#a60'>{warn}</ul>" if warn else ""
        return f"<div><strong>RoadNetwork</strong><table>{rows}</table>{warn}</div>"


# --------------------------------------------------------------------------- helpers
def _check_file(path: str | Path) -> Path:
    path = Path(path).expanduser()
    if not path.exists():
        raise InputFileNotFoundError.single(
            "network source file not found",
            file=path,
            field="network.source",
            hint="check the path; relative paths resolve against the scenario's folder",
        )
    if not path.is_file():
        raise NetworkSourceError.single("network source is not a file", file=path, field="network.source")
    return path


def _check_network_type(network_type: str) -> None:
    if network_type not in NETWORK_TYPES:
        raise NetworkSourceError.single(
            f"unknown network_type {network_type!r}",
            field="network.network_type",
            hint="use one of: all, drive, walk",
        )


def _target_crs(crs: str | pyproj.CRS | None, lonlat: np.ndarray) -> pyproj.CRS:
    """The projected metric CRS to use: ``crs`` validated, else the local UTM zone."""
    if crs is not None:
        try:
            target = pyproj.CRS(crs)
        except pyproj.exceptions.CRSError as exc:
            raise NetworkSourceError.single(f"not a valid CRS: {crs!r} ({exc})", field="network.crs") from None
        units = {ax.unit_name for ax in target.axis_info}
        if not target.is_projected or not units <= {"metre", "meter"}:
            raise NetworkSourceError.single(
                f"{crs!r} is not a projected CRS in metres",
                field="network.crs",
                hint="use a projected CRS such as a UTM zone (EPSG:326xx) or leave it empty for the local UTM zone",
            )
        return target
    pts = gpd.GeoSeries(gpd.points_from_xy(lonlat[:, 0], lonlat[:, 1]), crs="EPSG:4326")
    return pyproj.CRS(pts.estimate_utm_crs())


@contextlib.contextmanager
def _progress(enabled: bool, total: int, desc: str) -> Iterator[Callable[[str], None]]:
    if not enabled:
        yield lambda _step: None
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, leave=False)

    def step(name: str) -> None:
        bar.set_postfix_str(name)
        bar.update(1)

    try:
        yield step
    finally:
        bar.close()


def _empty_error(label: str) -> NetworkSourceError:
    return NetworkSourceError.single(
        "no usable streets in the source",
        file=label,
        field="network.source",
        hint="check that the file covers the area and holds highway ways (or try network_type 'all')",
    )


# --------------------------------------------------------------------------- the builder
def _build(
    segments: pd.DataFrame,
    node_xy: pd.DataFrame,
    src_crs: pyproj.CRS,
    *,
    network_type: str,
    crs: str | pyproj.CRS | None,
    speeds: Speeds,
    source: NetworkSource,
    buildings: gpd.GeoDataFrame | None,
    pois: gpd.GeoDataFrame | None,
    label: str,
    step: Callable[[str], None],
    started: float,
) -> RoadNetwork:
    """Turn OSM way pieces into a RoadNetwork.

    ``segments``: columns u, v (node ids, way order), osmid, geometry (shapely, from u to
    v, in ``src_crs``) and OSM tag columns (:data:`geoengine._osm.WAY_TAGS`, missing ones
    are fine). ``node_xy``: index node id, columns x, y in ``src_crs``.
    """
    _check_network_type(network_type)
    segments = segments[segments["u"].to_numpy() != segments["v"].to_numpy()].reset_index(drop=True)
    flags = _osm.access_flags(segments, car_kph=speeds.car_kph, car_factor=speeds.car_factor, car_max_kph=speeds.car_max_kph)
    anymode = flags[list(_osm.FLAGS)].any(axis=1)
    keep = flags["keep"] & anymode
    if network_type == "drive":
        keep &= flags["car_f"] | flags["car_b"]
    elif network_type == "walk":
        keep &= flags["foot_f"] | flags["foot_b"]
    keep = keep.to_numpy()
    if not keep.any():
        raise _empty_error(label)
    seg = pd.DataFrame(
        {
            "u": segments["u"].to_numpy(dtype="int64")[keep],
            "v": segments["v"].to_numpy(dtype="int64")[keep],
            "osmid": pd.to_numeric(segments["osmid"].map(_osm.first_value), errors="coerce")
            .fillna(-1)
            .astype("int64")
            .to_numpy()[keep],
        }
    )
    for col in ("name", "highway", "oneway", "car_kph", *_osm.FLAGS):
        seg[col] = flags[col].to_numpy()[keep]
    geoms = np.asarray(segments["geometry"].to_numpy(), dtype=object)[keep]

    # projection
    if src_crs.is_geographic:
        used = np.unique(np.concatenate([seg["u"].to_numpy(), seg["v"].to_numpy()]))
        lonlat = node_xy.loc[node_xy.index.intersection(used), ["x", "y"]].to_numpy(dtype=float)
        target = _target_crs(crs, lonlat)
    elif crs is None:
        units = {ax.unit_name for ax in src_crs.axis_info}
        if not units <= {"metre", "meter"}:
            raise NetworkSourceError.single(
                f"the source's CRS {src_crs.name} is not in metres",
                file=label,
                field="network.crs",
                hint="name a projected metric CRS in network.crs",
            )
        target = src_crs
    else:
        target = _target_crs(crs, np.zeros((0, 2)))
    if not target.equals(src_crs):
        geoms = gpd.GeoSeries(geoms, crs=src_crs).to_crs(target).to_numpy()
        pts = gpd.GeoSeries(gpd.points_from_xy(node_xy["x"], node_xy["y"]), crs=src_crs).to_crs(target)
        node_xy = pd.DataFrame({"x": pts.x.to_numpy(), "y": pts.y.to_numpy()}, index=node_xy.index)
    step("projected")
    seg["length_m"] = shapely.length(geoms)
    coords = [shapely.get_coordinates(g) for g in geoms]

    # simplify, keep the largest strongly connected part, simplify again
    seg, coords = _osm.simplify_segments(seg, coords)
    mode = {"drive": "car", "walk": "foot"}.get(network_type)
    nodes_before = int(len(pd.unique(np.concatenate([seg["u"].to_numpy(), seg["v"].to_numpy()]))))
    components = _sccs(seg, mode)
    largest = max(components, key=len)
    inside = seg["u"].isin(largest).to_numpy() & seg["v"].isin(largest).to_numpy()
    if mode is not None:  # a street of the mode's network that leads out of the part is dropped
        inside &= (seg[f"{mode}_f"] | seg[f"{mode}_b"]).to_numpy()
    seg = seg[inside].reset_index(drop=True)
    coords = [c for c, k in zip(coords, inside, strict=True) if k]
    seg, coords = _osm.simplify_segments(seg, coords)
    step("connected")

    edges = _directed_edges(seg, coords, speeds, target)
    node_ids = np.unique(np.concatenate([edges.index.get_level_values(0), edges.index.get_level_values(1)]))
    xy = node_xy.loc[node_ids]
    nodes = gpd.GeoDataFrame(
        {"x": xy["x"].to_numpy(dtype=float), "y": xy["y"].to_numpy(dtype=float)},
        index=pd.Index(node_ids, name="osmid"),
        geometry=gpd.points_from_xy(xy["x"], xy["y"]),
        crs=target,
    )
    car_parts = _sccs(seg, "car")
    car_scc = max((len(c) for c in car_parts), default=0)
    street_km = float(seg["length_m"].sum() / 1000.0)
    stats = NetworkStats(
        nodes=len(nodes),
        edges=len(edges),
        street_km=round(street_km, 3),
        nodes_before=nodes_before,
        dropped_nodes=nodes_before - len(nodes),
        components=len(components),
        car_scc_nodes=int(car_scc),
        build_s=round(time.perf_counter() - started, 3),
    )
    warnings: list[str] = []
    if nodes_before and stats.dropped_nodes > DROP_WARN_SHARE * nodes_before:
        what = {"drive": "car", "walk": "walking"}.get(network_type, "street")
        warnings.append(
            f"kept the largest strongly connected part of the {what} network: {stats.nodes} of "
            f"{nodes_before} nodes ({stats.dropped_nodes} dropped; {len(components)} parts)"
        )
    if buildings is not None:
        buildings = buildings.to_crs(target) if buildings.crs is not None else buildings.set_crs(target)
    if pois is not None:
        pois = pois.to_crs(target) if pois.crs is not None else pois.set_crs(target)
    graph = _graph(nodes, edges, target)
    step("graph")
    for w in warnings:
        logger.warning("%s: %s", label, w)
    return RoadNetwork(
        graph=graph,
        nodes=nodes,
        edges=edges,
        crs=target,
        buildings=buildings,
        pois=pois,
        source=source,
        stats=stats,
        warnings=tuple(warnings),
    )


def _sccs(seg: pd.DataFrame, mode: str | None) -> list[set[int]]:
    """Strongly connected components of the directed graph of ``seg`` for a mode (None: any)."""
    u = seg["u"].to_numpy()
    v = seg["v"].to_numpy()
    if mode is None:
        fw = seg[["car_f", "foot_f", "ebike_f"]].any(axis=1).to_numpy()
        bw = seg[["car_b", "foot_b", "ebike_b"]].any(axis=1).to_numpy()
    else:
        fw = seg[f"{mode}_f"].to_numpy(dtype=bool)
        bw = seg[f"{mode}_b"].to_numpy(dtype=bool)
    g = nx.DiGraph()
    g.add_nodes_from(
        np.unique(np.concatenate([u, v])).tolist()
        if mode is None
        else np.unique(np.concatenate([u[fw | bw], v[fw | bw]])).tolist()
    )
    g.add_edges_from(zip(u[fw].tolist(), v[fw].tolist(), strict=True))
    g.add_edges_from(zip(v[bw].tolist(), u[bw].tolist(), strict=True))
    return [set(c) for c in nx.strongly_connected_components(g)] or [set()]


def _directed_edges(seg: pd.DataFrame, coords: list[np.ndarray], speeds: Speeds, crs: pyproj.CRS) -> gpd.GeoDataFrame:
    """Both travel directions of every street that some mode may use, with speeds and times."""
    seg = seg.copy()
    seg["segment_id"] = np.arange(len(seg), dtype="int64")
    lines = _lines(coords)
    fw_any = seg[["car_f", "foot_f", "ebike_f"]].any(axis=1).to_numpy()
    bw_any = seg[["car_b", "foot_b", "ebike_b"]].any(axis=1).to_numpy()
    parts = []
    for forward, mask in ((True, fw_any), (False, bw_any)):
        part = seg[mask]
        suffix = "_f" if forward else "_b"
        frame = pd.DataFrame(
            {
                "u": part["u" if forward else "v"].to_numpy(),
                "v": part["v" if forward else "u"].to_numpy(),
                "segment_id": part["segment_id"].to_numpy(),
                "osmid": part["osmid"].to_numpy(),
                "name": part["name"].astype(str).to_numpy(),
                "highway": part["highway"].astype(str).to_numpy(),
                "oneway": part["oneway"].to_numpy(dtype=bool),
                "length_m": part["length_m"].to_numpy(dtype=float),
                "car": part["car" + suffix].to_numpy(dtype=bool),
                "foot": part["foot" + suffix].to_numpy(dtype=bool),
                "ebike": part["ebike" + suffix].to_numpy(dtype=bool),
                "_kph": part["car_kph"].to_numpy(dtype=float),
                "_order": part["segment_id"].to_numpy() * 2 + (0 if forward else 1),
            }
        )
        geoms = lines[mask]
        frame["geometry"] = geoms if forward else shapely.reverse(geoms)
        parts.append(frame)
    df = pd.concat(parts, ignore_index=True).sort_values("_order", kind="stable").reset_index(drop=True)
    kph = {"car": df["_kph"].to_numpy(), "foot": np.full(len(df), speeds.foot_kph), "ebike": np.full(len(df), speeds.ebike_kph)}
    length = df["length_m"].to_numpy(dtype=float)
    for m in MODES:
        ok = df[m].to_numpy(dtype=bool)
        speed = np.where(ok, kph[m], 0.0)
        df[f"speed_{m}_kph"] = speed
        with np.errstate(divide="ignore", invalid="ignore"):
            df[f"time_{m}_s"] = np.where(ok, length / (np.where(ok, speed, 1.0) / 3.6), np.inf)
    df["key"] = df.groupby(["u", "v"]).cumcount().astype("int64")
    df = df.set_index(["u", "v", "key"])
    return gpd.GeoDataFrame(df[list(EDGE_COLUMNS)], geometry=df["geometry"].to_numpy(), crs=crs)


def _lines(coords: list[np.ndarray]) -> np.ndarray:
    """LineStrings from a list of coordinate arrays, in one vectorised call."""
    if not coords:
        return np.array([], dtype=object)
    counts = np.fromiter((len(c) for c in coords), dtype=np.int64, count=len(coords))
    return shapely.linestrings(np.concatenate(coords)[:, :2], indices=np.repeat(np.arange(len(coords)), counts))


def _graph(nodes: gpd.GeoDataFrame, edges: gpd.GeoDataFrame, crs: pyproj.CRS) -> nx.MultiDiGraph:
    g = nx.MultiDiGraph(crs=crs, simplified=True, geoengine=GRAPHML_FORMAT)
    g.add_nodes_from(
        (int(n), {"x": float(x), "y": float(y)}) for n, x, y in zip(nodes.index, nodes["x"], nodes["y"], strict=True)
    )
    records = edges.reset_index().to_dict("records")
    for r in records:
        u, v, k = int(r.pop("u")), int(r.pop("v")), int(r.pop("key"))
        r["length"] = r["length_m"]
        g.add_edge(u, v, key=k, **r)
    return nx.freeze(g)


def _edges_from_graph(g: nx.MultiDiGraph) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Way pieces (one per street, travel direction for one-way streets) from an osmnx graph."""
    node_xy = pd.DataFrame.from_dict(
        {n: (float(d["x"]), float(d["y"])) for n, d in g.nodes(data=True)}, orient="index", columns=["x", "y"]
    )
    rows = []
    for u, v, data in g.edges(data=True):
        oneway = _osm.first_value(data.get("oneway", False))
        oneway = oneway in (True, "True", "true", "yes", 1)
        if not oneway and u > v:  # the twin (v, u) stands for the street
            continue
        row = {k: data.get(k) for k in _osm.WAY_TAGS if k in data}
        row["oneway"] = "yes" if oneway else "no"
        row.pop("junction", None)
        row["u"], row["v"], row["osmid"] = u, v, data.get("osmid", -1)
        row["geometry"] = data.get("geometry")
        rows.append(row)
    df = pd.DataFrame(rows)
    missing = df["geometry"].isna().to_numpy()
    if missing.any():  # unsimplified osmnx edges carry no geometry: a straight line
        a = node_xy.loc[df.loc[missing, "u"], ["x", "y"]].to_numpy()
        b = node_xy.loc[df.loc[missing, "v"], ["x", "y"]].to_numpy()
        geoms = df["geometry"].to_numpy(dtype=object).copy()
        geoms[missing] = shapely.linestrings(np.stack([a, b], axis=1))
        df["geometry"] = geoms
    return df, node_xy


# --------------------------------------------------------------------------- PBF
def _poi_frame(df: pd.DataFrame | None, crs: Any) -> gpd.GeoDataFrame | None:
    if df is None or len(df) == 0:
        return None
    df = df.copy()
    for col in _osm.POI_COLUMNS:
        if col not in df.columns:
            df[col] = None
    tags = df[list(_osm.POI_COLUMNS)].astype(object).where(df[list(_osm.POI_COLUMNS)].notna(), None)
    keep = np.zeros(len(df), dtype=bool)
    for k in _osm.POI_ANY_KEYS:
        keep |= tags[k].notna().to_numpy()
    keep |= tags["railway"].isin(_osm.POI_RAILWAY).to_numpy() | tags["highway"].isin(_osm.POI_HIGHWAY).to_numpy()
    geoms = gpd.GeoSeries(df.geometry.values, crs=crs)
    geoms = geoms.where(geoms.geom_type == "Point", geoms.representative_point())
    keep &= ~(geoms.is_empty.to_numpy() | geoms.isna().to_numpy())
    out = tags[keep].astype(object)
    osmid = df["id"] if "id" in df.columns else df.get("osmid", pd.Series(-1, index=df.index))
    out.insert(0, "osmid", pd.to_numeric(osmid, errors="coerce")[keep].to_numpy())
    if not len(out):
        return None
    return gpd.GeoDataFrame(out.reset_index(drop=True), geometry=geoms[keep].to_numpy(), crs=crs)


def network_from_pbf(
    path: str | Path,
    *,
    network_type: NetworkType = "all",
    crs: str | pyproj.CRS | None = None,
    speeds: Speeds | None = None,
    progress: bool = False,
) -> RoadNetwork:
    """Read a network, buildings and POIs from an OSM PBF extract with pyrosm (offline)."""
    path = _check_file(path)
    _check_network_type(network_type)
    speeds = speeds or Speeds()
    started = time.perf_counter()
    import pyrosm

    with _progress(progress, 6, path.name) as step:
        try:
            osm = pyrosm.OSM(str(path))
            got = osm.get_network(network_type="all", nodes=True)
        except Exception as exc:  # noqa: BLE001 - pyrosm raises anything on a bad file
            raise NetworkSourceError.single(
                f"cannot read the OSM PBF file: {type(exc).__name__}: {exc}",
                file=path,
                field="network.source",
                hint="is it a valid .osm.pbf extract?",
            ) from None
        if got is None or got[1] is None or len(got[1]) == 0:
            raise _empty_error(str(path))
        pnodes, pedges = got
        step("read")
        segments = pd.DataFrame(pedges.drop(columns="geometry"))
        segments["geometry"] = pedges.geometry.to_numpy()
        segments = segments.rename(columns={"id": "osmid"})
        if "junction" not in segments.columns and "tags" in segments.columns:
            segments["junction"] = segments["tags"].map(_junction_from_json)
        node_xy = pd.DataFrame(
            {"x": pnodes["lon"].to_numpy(dtype=float), "y": pnodes["lat"].to_numpy(dtype=float)},
            index=pnodes["id"].to_numpy(dtype="int64"),
        )
        node_xy = node_xy[~node_xy.index.duplicated()]
        buildings = pois = None
        try:
            b = osm.get_buildings()
            if b is not None and len(b):
                b = b[b.geom_type.isin(["Polygon", "MultiPolygon"])]
                cols = [c for c in ("id", "building", "name", "building:levels", "height") if c in b.columns]
                buildings = gpd.GeoDataFrame(
                    b[cols].rename(columns={"id": "osmid"}).reset_index(drop=True),
                    geometry=b.geometry.to_numpy(),
                    crs="EPSG:4326",
                )
                buildings = buildings if len(buildings) else None
            step("buildings")
            p = osm.get_pois(
                custom_filter={
                    "amenity": True,
                    "shop": True,
                    "tourism": True,
                    "public_transport": True,
                    "leisure": True,
                    "railway": sorted(_osm.POI_RAILWAY),
                    "highway": sorted(_osm.POI_HIGHWAY),
                }
            )
            pois = _poi_frame(p, "EPSG:4326")
            step("pois")
        except Exception as exc:  # noqa: BLE001 - optional layers must not sink the network
            logger.warning("%s: could not read buildings/POIs: %s", path, exc)
        source = NetworkSource("pbf", path.resolve(), sha256_file(path), path.name)
        return _build(
            segments,
            node_xy,
            pyproj.CRS("EPSG:4326"),
            network_type=network_type,
            crs=crs,
            speeds=speeds,
            source=source,
            buildings=buildings,
            pois=pois,
            label=str(path),
            step=step,
            started=started,
        )


def _junction_from_json(value: Any) -> str | None:
    if not isinstance(value, str) or "junction" not in value:
        return None
    try:
        return json.loads(value).get("junction")
    except (ValueError, AttributeError):
        return None


# --------------------------------------------------------------------------- XML
def network_from_xml(
    path: str | Path,
    *,
    network_type: NetworkType = "all",
    crs: str | pyproj.CRS | None = None,
    speeds: Speeds | None = None,
    progress: bool = False,
) -> RoadNetwork:
    """Read a network from an OSM XML file (``.osm``, ``.xml``, ``.osm.bz2``) with osmnx.

    Clipped extracts hold ways whose nodes lie outside the file; such ways are split
    into runs of nodes that are present (never joined across a missing node) before
    ``osmnx.graph_from_xml`` reads a cleaned copy. Buildings (closed ways tagged
    ``building``) and POIs come from the same file.
    """
    path = _check_file(path)
    _check_network_type(network_type)
    speeds = speeds or Speeds()
    started = time.perf_counter()
    import osmnx as ox

    with _progress(progress, 6, path.name) as step:
        try:
            data = _osm.read_osm_xml(path)
        except (OSError, EOFError, ValueError, KeyError, ET_ParseError) as exc:
            raise NetworkSourceError.single(
                f"cannot read the OSM XML file: {type(exc).__name__}: {exc}",
                file=path,
                field="network.source",
                hint="is it a valid (optionally bz2-compressed) OSM XML file?",
            ) from None
        step("read")
        with tempfile.TemporaryDirectory(prefix="geoengine-osm-") as tmp:
            clean = Path(tmp) / "clean.osm"
            with open(clean, "w", encoding="utf-8") as fh:
                pieces = _osm.write_clean_osm(data, fh)
            if not pieces:
                raise _empty_error(str(path))
            try:
                g = ox.graph_from_xml(clean, bidirectional=True, simplify=False, retain_all=True)
            except Exception as exc:  # noqa: BLE001
                raise NetworkSourceError.single(
                    f"osmnx cannot build a graph: {type(exc).__name__}: {exc}", file=path, field="network.source"
                ) from None
        step("graph_from_xml")
        rows = []
        for u, v, d in g.edges(data=True):
            if d.get("reversed"):
                continue
            orig_id, tags = pieces[int(d["osmid"])]
            row: dict[str, Any] = {k: tags.get(k) for k in _osm.WAY_TAGS}
            row.update(u=u, v=v, osmid=orig_id)
            rows.append(row)
        segments = pd.DataFrame(rows)
        node_xy = pd.DataFrame.from_dict(
            {n: (float(dd["x"]), float(dd["y"])) for n, dd in g.nodes(data=True)}, orient="index", columns=["x", "y"]
        )
        segments["geometry"] = shapely.linestrings(
            np.stack(
                [node_xy.loc[segments["u"], ["x", "y"]].to_numpy(), node_xy.loc[segments["v"], ["x", "y"]].to_numpy()],
                axis=1,
            )
        )
        ids, polys = _osm.xml_buildings(data)
        buildings = gpd.GeoDataFrame({"osmid": ids}, geometry=polys, crs="EPSG:4326") if polys else None
        poi_rows = _osm.xml_pois(data)
        pois = None
        if poi_rows:
            pdf = pd.DataFrame(poi_rows)
            pois = gpd.GeoDataFrame(
                pdf[["osmid", *_osm.POI_COLUMNS]].astype(object).where(pdf[list(("osmid", *_osm.POI_COLUMNS))].notna(), None),
                geometry=pdf["geometry"].to_numpy(),
                crs="EPSG:4326",
            )
        step("layers")
        source = NetworkSource("xml", path.resolve(), sha256_file(path), path.name)
        return _build(
            segments,
            node_xy,
            pyproj.CRS("EPSG:4326"),
            network_type=network_type,
            crs=crs,
            speeds=speeds,
            source=source,
            buildings=buildings,
            pois=pois,
            label=str(path),
            step=step,
            started=started,
        )


# --------------------------------------------------------------------------- GraphML
def save_graphml(network: RoadNetwork, path: str | Path) -> Path:
    """Write the network's graph (projected, with every edge column) as GraphML.

    :func:`network_from_graphml` reads it back into an equal network (buildings and
    POIs are not stored). Written whole or not at all.
    """
    import osmnx as ox

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    g = nx.MultiDiGraph(network.graph)
    g.graph["crs"] = network.crs.to_wkt()
    g.graph["geoengine"] = GRAPHML_FORMAT
    g.graph["stats"] = json.dumps({k: v for k, v in network.stats.__dict__.items()})
    g.graph["warnings"] = json.dumps(list(network.warnings))
    g.graph["source"] = json.dumps(
        {
            "kind": network.source.kind,
            "path": str(network.source.path) if network.source.path else None,
            "sha256": network.source.sha256,
            "description": network.source.description,
        }
    )
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        ox.save_graphml(g, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _to_bool(value: Any) -> bool:
    return value in (True, "True", "true", "1", 1)


def network_from_graphml(
    path: str | Path,
    *,
    network_type: NetworkType = "all",
    crs: str | pyproj.CRS | None = None,
    speeds: Speeds | None = None,
    progress: bool = False,
) -> RoadNetwork:
    """Read a network from GraphML.

    A file written by :func:`save_graphml` is read back as it was (reprojected if
    ``crs`` differs; ``network_type`` and ``speeds`` are those it was built with).
    Any other osmnx GraphML is rebuilt from its edge tags like an OSM source.
    """
    path = _check_file(path)
    _check_network_type(network_type)
    speeds = speeds or Speeds()
    started = time.perf_counter()
    import osmnx as ox

    with _progress(progress, 4, path.name) as step:
        try:
            g = ox.load_graphml(path)
        except Exception as exc:  # noqa: BLE001
            raise NetworkSourceError.single(
                f"cannot read the GraphML file: {type(exc).__name__}: {exc}", file=path, field="network.source"
            ) from None
        step("read")
        source = NetworkSource("graphml", path.resolve(), sha256_file(path), path.name)
        if g.graph.get("geoengine") == GRAPHML_FORMAT:
            return _from_saved_graph(g, crs=crs, source=source, label=str(path))
        if g.number_of_edges() == 0:
            raise _empty_error(str(path))
        segments, node_xy = _edges_from_graph(g)
        src_crs = pyproj.CRS(g.graph.get("crs", "EPSG:4326"))
        return _build(
            segments,
            node_xy,
            src_crs,
            network_type=network_type,
            crs=crs,
            speeds=speeds,
            source=source,
            buildings=None,
            pois=None,
            label=str(path),
            step=step,
            started=started,
        )


def _from_saved_graph(g: nx.MultiDiGraph, *, crs: str | pyproj.CRS | None, source: NetworkSource, label: str) -> RoadNetwork:
    src_crs = pyproj.CRS(g.graph["crs"])
    records = []
    for u, v, k, d in g.edges(keys=True, data=True):
        row = {"u": int(u), "v": int(v), "key": int(k)}
        for col in EDGE_COLUMNS:
            val = d.get(col)
            if col in _BOOL_COLUMNS:
                val = _to_bool(val)
            elif col in _FLOAT_COLUMNS:
                val = float(val)
            elif col in ("segment_id", "osmid"):
                val = int(val)
            else:
                val = "" if val is None else str(val)
            row[col] = val
        row["geometry"] = d["geometry"]
        records.append(row)
    df = pd.DataFrame(records).set_index(["u", "v", "key"])
    edges = gpd.GeoDataFrame(df[list(EDGE_COLUMNS)], geometry=df["geometry"].to_numpy(), crs=src_crs)
    node_ids = sorted(int(n) for n in g.nodes)
    nodes = gpd.GeoDataFrame(
        {"x": [float(g.nodes[n]["x"]) for n in node_ids], "y": [float(g.nodes[n]["y"]) for n in node_ids]},
        index=pd.Index(node_ids, name="osmid"),
        geometry=gpd.points_from_xy([float(g.nodes[n]["x"]) for n in node_ids], [float(g.nodes[n]["y"]) for n in node_ids]),
        crs=src_crs,
    )
    target = src_crs if crs is None else _target_crs(crs, np.zeros((0, 2)))
    if not target.equals(src_crs):
        edges = edges.to_crs(target)
        nodes = nodes.to_crs(target)
        nodes["x"] = nodes.geometry.x
        nodes["y"] = nodes.geometry.y
    stats_d = json.loads(g.graph.get("stats", "{}"))
    fields = set(NetworkStats.__dataclass_fields__)
    stats = NetworkStats(**{k: v for k, v in stats_d.items() if k in fields and k != "from_cache"})
    warnings = tuple(json.loads(g.graph.get("warnings", "[]")))
    return RoadNetwork(
        graph=_graph(nodes, edges, target),
        nodes=nodes,
        edges=edges,
        crs=target,
        buildings=None,
        pois=None,
        source=source,
        stats=stats,
        warnings=warnings,
    )


# --------------------------------------------------------------------------- online
@contextlib.contextmanager
def _osmnx_online(timeout_s: float, cache_dir: Path | None) -> Iterator[None]:
    """Temporarily set osmnx's global settings (and undo osmnx's DNS patching)."""
    import osmnx as ox

    names = ("requests_timeout", "overpass_rate_limit", "use_cache", "cache_folder", "useful_tags_way", "log_console")
    saved = {n: getattr(ox.settings, n) for n in names}
    saved_getaddrinfo = socket.getaddrinfo
    try:
        ox.settings.requests_timeout = timeout_s
        ox.settings.overpass_rate_limit = False
        ox.settings.log_console = False
        ox.settings.use_cache = cache_dir is not None
        if cache_dir is not None:
            ox.settings.cache_folder = cache_dir / "osmnx-http"
        ox.settings.useful_tags_way = sorted(set(saved["useful_tags_way"]) | set(_osm.WAY_TAGS))
        yield
    finally:
        for n, value in saved.items():
            setattr(ox.settings, n, value)
        socket.getaddrinfo = saved_getaddrinfo


def _is_offline(exc: BaseException) -> bool:
    import requests

    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(
            e, (requests.ConnectionError, requests.Timeout, socket.gaierror, socket.timeout, ConnectionError, TimeoutError)
        ):
            return True
        e = e.__cause__ or e.__context__
    return False


def _online(
    fetch: Callable[[], nx.MultiDiGraph],
    description: str,
    *,
    network_type: str,
    crs: str | pyproj.CRS | None,
    speeds: Speeds,
    timeout_s: float,
    cache_dir: Path | None,
    progress: bool,
    field: str,
) -> RoadNetwork:
    _check_network_type(network_type)
    started = time.perf_counter()
    with _progress(progress, 4, description) as step:
        try:
            with _osmnx_online(timeout_s, cache_dir):
                g = fetch()
        except Exception as exc:  # noqa: BLE001
            if _is_offline(exc):
                raise OfflineError.single(
                    f"{_OFFLINE_HINT} ({type(exc).__name__} while fetching {description!r})",
                    field=field,
                ) from None
            raise NetworkSourceError.single(
                f"osmnx could not fetch {description!r}: {type(exc).__name__}: {exc}", field=field
            ) from None
        step("download")
        if g.number_of_edges() == 0:
            raise _empty_error(description)
        segments, node_xy = _edges_from_graph(g)
        source = NetworkSource("online", None, None, description)
        return _build(
            segments,
            node_xy,
            pyproj.CRS(g.graph.get("crs", "EPSG:4326")),
            network_type=network_type,
            crs=crs,
            speeds=speeds,
            source=source,
            buildings=None,
            pois=None,
            label=description,
            step=step,
            started=started,
        )


def network_from_place(
    place: str,
    *,
    network_type: NetworkType = "all",
    crs: str | pyproj.CRS | None = None,
    speeds: Speeds | None = None,
    timeout_s: float = 60.0,
    progress: bool = False,
) -> RoadNetwork:
    """Download the streets of a place (Nominatim + Overpass, via osmnx). Needs the internet."""
    import osmnx as ox

    def fetch() -> nx.MultiDiGraph:
        return ox.graph_from_place(place, network_type="all", simplify=False, retain_all=True)

    return _online(
        fetch,
        place,
        network_type=network_type,
        crs=crs,
        speeds=speeds or Speeds(),
        timeout_s=timeout_s,
        cache_dir=None,
        progress=progress,
        field="network.place",
    )


def network_from_bbox(
    bbox: tuple[float, float, float, float],
    *,
    network_type: NetworkType = "all",
    crs: str | pyproj.CRS | None = None,
    speeds: Speeds | None = None,
    timeout_s: float = 60.0,
    progress: bool = False,
) -> RoadNetwork:
    """Download the streets in ``(west, south, east, north)`` degrees (Overpass, via osmnx). Needs the internet."""
    import osmnx as ox

    west, south, east, north = (float(x) for x in bbox)
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise NetworkSourceError.single(f"bbox must be (west, south, east, north) in degrees, got {bbox!r}", field="network.bbox")

    def fetch() -> nx.MultiDiGraph:
        return ox.graph_from_bbox((west, south, east, north), network_type="all", simplify=False, retain_all=True)

    return _online(
        fetch,
        f"bbox {west:.5f},{south:.5f},{east:.5f},{north:.5f}",
        network_type=network_type,
        crs=crs,
        speeds=speeds or Speeds(),
        timeout_s=timeout_s,
        cache_dir=None,
        progress=progress,
        field="network.bbox",
    )


# --------------------------------------------------------------------------- load + cache
def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/geoengine`` or ``~/.cache/geoengine``."""
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "geoengine"


_REFUSED_CACHE_DIRS: set[tuple[Path, Path]] = set()


def cache_folder(
    settings: NetworkSettings, *, scenario_dir: str | Path | None = None, cache_dir: str | Path | None = None
) -> Path:
    """The folder the network (and stage) cache of ``settings`` lives in.

    ``cache_dir`` (from the user: the CLI or Python) wins; then the scenario's
    ``network.cache_dir``, but only when it lies inside the scenario's own folder tree
    (``scenario_dir``: the scenario file's folder; for settings not read from a file the
    current folder, where their relative paths resolve) — a scenario file must not choose
    where cached data is read from; otherwise :func:`default_cache_dir`, with a warning.
    """
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    if settings.cache_dir is None:
        return default_cache_dir()
    wanted = Path(settings.cache_dir).expanduser().resolve()
    root = Path(scenario_dir if scenario_dir is not None else Path.cwd()).expanduser().resolve()
    if wanted == root or root in wanted.parents:
        return wanted
    fallback = default_cache_dir()
    if (wanted, root) not in _REFUSED_CACHE_DIRS:
        _REFUSED_CACHE_DIRS.add((wanted, root))
        logger.warning(
            "network.cache_dir %s is outside the scenario's folder %s: using the cache in %s instead "
            "(set XDG_CACHE_HOME, or put the cache folder inside the scenario's folder)",
            wanted,
            root,
            fallback,
        )
    return fallback


def _source_kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".pbf"):
        return "pbf"
    if name.endswith((".osm", ".xml", ".osm.bz2", ".xml.bz2", ".osm.gz", ".xml.gz")):
        return "xml"
    if name.endswith(".graphml"):
        return "graphml"
    raise NetworkSourceError.single(
        "unknown network source type",
        file=path,
        field="network.source",
        hint="use an .osm.pbf, .osm / .osm.bz2 / .xml or .graphml file",
    )


def cache_key(settings: NetworkSettings) -> str:
    """The cache key of a network: source content hash (or place/bbox) + options + version."""
    from ._version import __version__

    if settings.source is not None:
        what: dict[str, Any] = {"sha256": sha256_file(settings.source), "kind": _source_kind(Path(settings.source))}
    elif settings.place is not None:
        what = {"place": settings.place}
    else:
        what = {"bbox": list(settings.bbox or ())}
    options = {
        "source": what,
        "network_type": settings.network_type,
        "crs": settings.crs,
        "speeds": settings.speeds.model_dump(mode="json"),
        "geoengine": __version__,
        "format": CACHE_FORMAT,
    }
    return sha256_text(json.dumps(options, sort_keys=True))


def cache_path(settings: NetworkSettings, *, scenario_dir: str | Path | None = None, cache_dir: str | Path | None = None) -> Path:
    """Where :func:`load_network` keeps the prepared network for these settings (see :func:`cache_folder`)."""
    folder = cache_folder(settings, scenario_dir=scenario_dir, cache_dir=cache_dir)
    return folder / f"network-{cache_key(settings)[:32]}.zip"


def _graph_from_tables(nodes: gpd.GeoDataFrame, edges: gpd.GeoDataFrame, crs: pyproj.CRS) -> nx.MultiDiGraph:
    """What :func:`_graph` builds, filled straight into networkx's adjacency (≈4× faster)."""
    g = nx.MultiDiGraph(crs=crs, simplified=True, geoengine=GRAPHML_FORMAT)
    g.add_nodes_from(
        (int(n), {"x": float(x), "y": float(y)})
        for n, x, y in zip(nodes.index.tolist(), nodes["x"].tolist(), nodes["y"].tolist(), strict=True)
    )
    idx = edges.index
    names = [*EDGE_COLUMNS, "geometry"]
    columns = [edges[c].tolist() for c in EDGE_COLUMNS] + [edges.geometry.to_numpy().tolist()]
    succ, pred = g._succ, g._pred
    for u, v, k, row in zip(
        idx.get_level_values(0).tolist(),
        idx.get_level_values(1).tolist(),
        idx.get_level_values(2).tolist(),
        zip(*columns, strict=True),
        strict=True,
    ):
        if u not in succ or v not in succ:
            raise ValueError(f"edge ({u}, {v}) between unknown nodes")
        data = dict(zip(names, row, strict=True))
        data["length"] = data["length_m"]
        keys = succ[u].get(v)
        if keys is None:
            keys = succ[u][v] = pred[v][u] = {}
        keys[int(k)] = data
    return nx.freeze(g)


def _network_parts(network: RoadNetwork) -> dict[str, Any]:
    return {
        "nodes": network.nodes,
        "edges": network.edges,
        "crs": network.crs,
        "buildings": network.buildings,
        "pois": network.pois,
        "source": network.source,
        "stats": network.stats,
        "warnings": list(network.warnings),
    }


def _read_cache(path: Path, key: str) -> RoadNetwork | None:
    """The network cached at ``path`` for ``key``, or None (missing, or refused with a warning).

    Data only: GeoParquet tables and a JSON header, checked against the key and the
    content hashes (:mod:`geoengine._serial`); nothing read here can run code."""
    from . import _serial

    if not path.exists():
        return None
    try:
        meta, files = _serial.read_entry(path, kind="network", key=key)
        parts = _serial.decode(meta, files)
        if not isinstance(parts, dict):
            raise _serial.CacheEntryError("not a network entry")
        nodes, edges, crs = parts["nodes"], parts["edges"], parts["crs"]
        if not (
            isinstance(nodes, gpd.GeoDataFrame)
            and isinstance(edges, gpd.GeoDataFrame)
            and isinstance(crs, pyproj.CRS)
            and isinstance(parts["source"], NetworkSource)
            and isinstance(parts["stats"], NetworkStats)
        ):
            raise _serial.CacheEntryError("not a network entry")
        for extra in ("buildings", "pois"):
            if parts[extra] is not None and not isinstance(parts[extra], gpd.GeoDataFrame):
                raise _serial.CacheEntryError(f"bad {extra} table")
        if len(nodes) != parts["stats"].nodes or len(edges) != parts["stats"].edges:
            raise _serial.CacheEntryError("the tables do not match the entry's stats")
        graph = _graph_from_tables(nodes, edges, crs)
        return RoadNetwork(
            graph=graph,
            nodes=nodes,
            edges=edges,
            crs=crs,
            buildings=parts["buildings"],
            pois=parts["pois"],
            source=parts["source"],
            stats=parts["stats"],
            warnings=tuple(str(w) for w in parts["warnings"]),
        )
    except Exception as exc:  # noqa: BLE001 - any entry that is not exactly this network is rebuilt
        logger.warning("ignoring the network cache %s (%s); rebuilding", path, exc)
        return None


def _write_cache(path: Path, network: RoadNetwork, key: str) -> None:
    from . import _serial

    try:
        meta, files = _serial.encode(_network_parts(network))
        _serial.write_entry(path, kind="network", key=key, meta=meta, files=files)
    except (OSError, TypeError, ValueError) as exc:
        logger.warning("could not write the network cache %s: %s", path, exc)


def load_network(
    settings: NetworkSettings,
    *,
    progress: bool = False,
    scenario_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
) -> RoadNetwork:
    """Build (or read from the disk cache) the network that ``settings`` describe.

    The cache key is the source file's SHA-256 (or the place / bbox), the options
    (network_type, crs, speeds) and the geoengine version; a cache file is written only
    after a successful build, atomically. ``stats.from_cache`` tells whether the network
    came from the cache. The cache is data only (GeoParquet tables and a JSON header
    with the key and content hashes); an entry made for another key, with a wrong hash
    or that does not parse is rebuilt, with a warning. The folder is ``cache_dir``, else
    ``settings.cache_dir`` when it lies inside ``scenario_dir`` (the scenario file's
    folder; default: the current folder), else :func:`default_cache_dir`
    (see :func:`cache_folder`).
    """
    cpath: Path | None = None
    key = ""
    if settings.cache:
        if settings.source is not None:
            _check_file(settings.source)
        key = cache_key(settings)
        cpath = cache_folder(settings, scenario_dir=scenario_dir, cache_dir=cache_dir) / f"network-{key[:32]}.zip"
        cached = _read_cache(cpath, key)
        if cached is not None:
            logger.info("network from cache %s", cpath)
            source = cached.source
            if settings.source is not None:  # the entry may be another scenario's copy of the same file
                path = Path(settings.source).resolve()
                source = replace(source, path=path, description=path.name)
            return replace(cached, source=source, stats=replace(cached.stats, from_cache=True))
    options: dict[str, Any] = {
        "network_type": settings.network_type,
        "crs": settings.crs,
        "speeds": settings.speeds,
        "progress": progress,
    }
    if settings.source is not None:
        path = _check_file(settings.source)
        reader = {"pbf": network_from_pbf, "xml": network_from_xml, "graphml": network_from_graphml}[_source_kind(path)]
        network = reader(path, **options)
    elif settings.place is not None:
        network = network_from_place(settings.place, **options)
    else:
        assert settings.bbox is not None
        network = network_from_bbox(settings.bbox, **options)
    if cpath is not None:
        _write_cache(cpath, network, key)
    return network
