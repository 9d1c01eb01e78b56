"""Private helpers of :mod:`geoengine.network`: OSM tags, XML cleaning and graph simplification.

Nothing here knows about :class:`~geoengine.network.RoadNetwork`; the functions work on
plain tables:

``segments``
    one row per piece of an OSM way between two consecutive OSM nodes (or, after
    :func:`simplify_segments`, between two graph endpoints), in the way's node order,
    with the tag columns of :data:`WAY_TAGS` and a shapely ``geometry`` column.
"""

from __future__ import annotations

import bz2
import gzip
import io
import logging
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import quoteattr

import numpy as np
import pandas as pd
import shapely

logger = logging.getLogger(__name__)

WAY_TAGS: tuple[str, ...] = (
    "highway",
    "name",
    "oneway",
    "oneway:bicycle",
    "junction",
    "maxspeed",
    "access",
    "vehicle",
    "motor_vehicle",
    "motorcar",
    "foot",
    "bicycle",
    "sidewalk",
    "cycleway",
    "service",
    "area",
)
"""The way tags that decide access, direction and speed."""

POI_COLUMNS: tuple[str, ...] = (
    "name",
    "amenity",
    "shop",
    "tourism",
    "public_transport",
    "railway",
    "highway",
    "leisure",
    "building",
)
POI_ANY_KEYS = ("amenity", "shop", "tourism", "public_transport", "leisure")
POI_RAILWAY = frozenset({"station", "halt", "tram_stop", "subway_entrance"})
POI_HIGHWAY = frozenset({"bus_stop"})

CAR_HIGHWAYS = frozenset(
    {
        "motorway",
        "trunk",
        "primary",
        "secondary",
        "tertiary",
        "unclassified",
        "residential",
        "living_street",
        "service",
        "road",
        "motorway_link",
        "trunk_link",
        "primary_link",
        "secondary_link",
        "tertiary_link",
    }
)
NO_FOOT_HIGHWAYS = frozenset({"motorway", "motorway_link", "trunk", "trunk_link"})
NO_EBIKE_HIGHWAYS = frozenset({"motorway", "motorway_link"})
BIKE_HIGHWAYS = frozenset({"cycleway", "path", "track", "bridleway"})
BIKE_IF_ALLOWED = frozenset({"footway", "pedestrian", "steps"})
EXCLUDED_HIGHWAYS = frozenset(
    {
        "abandoned",
        "bus_guideway",
        "construction",
        "corridor",
        "disused",
        "elevator",
        "emergency_bay",
        "escalator",
        "no",
        "planned",
        "platform",
        "proposed",
        "raceway",
        "razed",
        "rest_area",
        "services",
        "bus_stop",
        "traffic_island",
        "via_ferrata",
    }
)
DENY = frozenset({"no", "private", "agricultural", "forestry", "agricultural;forestry", "military"})
ALLOW = frozenset({"yes", "designated", "permissive", "official", "destination", "customers", "delivery"})
MINOR_SERVICE = frozenset({"parking_aisle", "driveway", "drive-through", "emergency_access", "private"})
"""``service=*`` values of car parks and private drives: walkable, not part of the car network."""
ONEWAY_FORWARD = frozenset({"yes", "true", "1"})
ONEWAY_BACKWARD = frozenset({"-1", "reverse"})
ONEWAY_NONE = frozenset({"no", "false", "0", "reversible", "alternating"})
FLAGS: tuple[str, ...] = ("car_f", "car_b", "foot_f", "foot_b", "ebike_f", "ebike_b")
_MPH = 1.609344
_NUMBER = re.compile(r"(\d+(?:\.\d+)?)\s*(mph)?", re.IGNORECASE)


# --------------------------------------------------------------------------- tags
def first_value(value: Any) -> Any:
    """The first element of a list value (osmnx merges attributes into lists), else the value."""
    if isinstance(value, (list, tuple)):
        return value[0] if value else None
    if isinstance(value, str) and value.startswith("[") and value.endswith("]"):
        inner = value[1:-1].split(",")[0].strip().strip("'\"")
        return inner or None
    return value


def _clean_str(value: Any) -> str:
    value = first_value(value)
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return str(value).strip()


def parse_maxspeed_kph(value: Any) -> float | None:
    """Parse an OSM ``maxspeed`` value to km/h; ``None`` when it holds no number.

    ``"50"`` → 50, ``"30 mph"`` → 48.3, ``"50;30"`` → 30 (the lowest of a list),
    ``"RU:urban"``, ``"none"``, ``"signals"`` → ``None`` (the caller falls back to the
    highway class).
    """
    if isinstance(value, (list, tuple)):
        parts = [parse_maxspeed_kph(v) for v in value]
        valid = [p for p in parts if p is not None]
        return min(valid) if valid else None
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (int, float)):
        return float(value) if value > 0 else None
    speeds = []
    for piece in re.split(r"[;|,]", str(value)):
        match = _NUMBER.search(piece)
        if match:
            kph = float(match.group(1)) * (_MPH if (match.group(2) or "mph" in piece.lower()) else 1.0)
            if kph > 0:
                speeds.append(kph)
    return min(speeds) if speeds else None


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    if name in df.columns:
        return df[name].map(_clean_str).str.lower()
    return pd.Series("", index=df.index, dtype=object)


def access_flags(tags: pd.DataFrame, *, car_kph: Mapping[str, float], car_factor: float, car_max_kph: float) -> pd.DataFrame:
    """Per-direction access (way node order) and car speed from the tag columns.

    Returns a frame aligned with ``tags`` with the boolean columns of :data:`FLAGS`
    (``_f`` along the way, ``_b`` against it), ``oneway`` (bool), ``highway`` (str),
    ``name`` (str), ``car_kph`` (float) and ``keep`` (bool: a usable street).
    """
    hw = _col(tags, "highway")
    access = _col(tags, "access")
    vehicle = _col(tags, "vehicle")
    motor = _col(tags, "motor_vehicle")
    motorcar = _col(tags, "motorcar")
    foot = _col(tags, "foot")
    bicycle = _col(tags, "bicycle")
    sidewalk = _col(tags, "sidewalk")
    oneway = _col(tags, "oneway")
    oneway_bike = _col(tags, "oneway:bicycle")
    cycleway = _col(tags, "cycleway")
    junction = _col(tags, "junction")
    area = _col(tags, "area")

    keep = (hw != "") & ~hw.isin(EXCLUDED_HIGHWAYS) & (area != "yes")

    # the most specific of motorcar > motor_vehicle > vehicle > access decides for cars
    car_rule = motorcar.where(motorcar != "", motor.where(motor != "", vehicle.where(vehicle != "", access)))
    car = hw.isin(CAR_HIGHWAYS) & ~car_rule.isin(DENY) & ~_col(tags, "service").isin(MINOR_SERVICE)

    foot_rule = foot.where(foot != "", access)
    foot_ok = ~hw.isin(NO_FOOT_HIGHWAYS) | sidewalk.isin({"both", "left", "right", "yes", "separate"})
    foot_ok = foot_ok & ~foot_rule.isin(DENY | {"use_sidepath"})
    foot_ok = foot_ok | foot.isin(ALLOW)

    bike_rule = bicycle.where(bicycle != "", vehicle.where(vehicle != "", access))
    ebike = (hw.isin(CAR_HIGHWAYS) & ~hw.isin(NO_EBIKE_HIGHWAYS)) | hw.isin(BIKE_HIGHWAYS)
    ebike = (ebike & ~bike_rule.isin(DENY)) | (hw.isin(BIKE_IF_ALLOWED) & bicycle.isin({"yes", "designated", "permissive"}))
    ebike = ebike | (bicycle.isin({"yes", "designated", "permissive"}) & ~hw.isin(NO_EBIKE_HIGHWAYS))

    direction = pd.Series(0, index=tags.index)
    implied = junction.isin({"roundabout", "circular"}) | hw.isin({"motorway"})
    direction = direction.mask(implied, 1)
    direction = direction.mask(oneway.isin(ONEWAY_FORWARD), 1)
    direction = direction.mask(oneway.isin(ONEWAY_BACKWARD), -1)
    direction = direction.mask(oneway.isin(ONEWAY_NONE), 0)
    bike_contra = oneway_bike.isin({"no", "false", "0"}) | cycleway.str.startswith("opposite")
    bike_dir = direction.mask(bike_contra, 0)

    out = pd.DataFrame(index=tags.index)
    out["keep"] = keep
    out["highway"] = hw
    out["name"] = tags["name"].map(_clean_str) if "name" in tags.columns else ""
    out["oneway"] = direction != 0
    out["car_f"] = car & (direction >= 0)
    out["car_b"] = car & (direction <= 0)
    out["foot_f"] = foot_ok
    out["foot_b"] = foot_ok
    out["ebike_f"] = ebike & (bike_dir >= 0)
    out["ebike_b"] = ebike & (bike_dir <= 0)

    base_class = hw.str.replace("_link", "", regex=False)
    fallback = float(car_kph.get("road", 30.0))
    by_class = base_class.map(lambda h: float(car_kph.get(h, fallback)))
    limit = tags["maxspeed"].map(parse_maxspeed_kph) if "maxspeed" in tags.columns else None
    kph = by_class if limit is None else limit.astype(float).fillna(by_class)
    out["car_kph"] = np.minimum(kph.to_numpy(dtype=float) * car_factor, car_max_kph).round(3)
    return out


# --------------------------------------------------------------------------- OSM XML
@dataclass
class XmlData:
    """What one pass over an OSM XML file yields."""

    nodes: dict[int, tuple[float, float]] = field(default_factory=dict)
    node_tags: dict[int, dict[str, str]] = field(default_factory=dict)
    ways: list[tuple[int, list[int], dict[str, str]]] = field(default_factory=list)


def open_osm(path: Path) -> io.BufferedIOBase:
    """Open an OSM XML file, decompressing ``.bz2`` and ``.gz``."""
    name = path.name.lower()
    if name.endswith(".bz2"):
        return bz2.open(path, "rb")
    if name.endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")


def read_osm_xml(path: Path) -> XmlData:
    """Read nodes (with coordinates and tags) and ways (with node refs and tags)."""
    data = XmlData()
    with open_osm(path) as fh:
        for _event, elem in ET.iterparse(fh, events=("end",)):
            tag = elem.tag
            if tag == "node":
                nid = int(elem.attrib["id"])
                if "lat" in elem.attrib and "lon" in elem.attrib:
                    data.nodes[nid] = (float(elem.attrib["lon"]), float(elem.attrib["lat"]))
                    tags = {t.attrib["k"]: t.attrib["v"] for t in elem.iter("tag")}
                    if tags:
                        data.node_tags[nid] = tags
                elem.clear()
            elif tag == "way":
                refs = [int(nd.attrib["ref"]) for nd in elem.iter("nd")]
                tags = {t.attrib["k"]: t.attrib["v"] for t in elem.iter("tag")}
                data.ways.append((int(elem.attrib["id"]), refs, tags))
                elem.clear()
            elif tag == "relation":
                elem.clear()
    return data


def present_runs(refs: list[int], present: Mapping[int, Any] | set[int]) -> list[list[int]]:
    """Split a way's node refs into runs of consecutive nodes that are present.

    A missing node ends a run: pieces are never joined across it. Runs of fewer than
    two nodes are dropped.
    """
    runs: list[list[int]] = []
    current: list[int] = []
    for ref in refs:
        if ref in present:
            current.append(ref)
        else:
            if len(current) >= 2:
                runs.append(current)
            current = []
    if len(current) >= 2:
        runs.append(current)
    return runs


def write_clean_osm(data: XmlData, fh: IO[str]) -> dict[int, tuple[int, dict[str, str]]]:
    """Write the highway ways of ``data``, split into present runs, as a clean OSM XML.

    Each run gets a new way id (1, 2, …) because osmnx keys paths by way id; the returned
    map gives the original OSM way id and tags of each new id.
    """
    pieces: dict[int, tuple[int, dict[str, str]]] = {}
    runs_out: list[tuple[int, list[int]]] = []
    used: set[int] = set()
    for way_id, refs, tags in data.ways:
        if "highway" not in tags:
            continue
        for run in present_runs(refs, data.nodes):
            new_id = len(pieces) + 1
            pieces[new_id] = (way_id, tags)
            runs_out.append((new_id, run))
            used.update(run)
    fh.write("<?xml version='1.0' encoding='utf-8'?>\n<osm version=\"0.6\" generator=\"geoengine\">\n")
    for nid in sorted(used):
        lon, lat = data.nodes[nid]
        fh.write(f'<node id="{nid}" lat="{lat!r}" lon="{lon!r}" />\n')
    for new_id, run in runs_out:
        fh.write(f'<way id="{new_id}">')
        fh.write("".join(f'<nd ref="{r}" />' for r in run))
        fh.write(f'<tag k="highway" v={quoteattr(pieces[new_id][1]["highway"])} />')
        fh.write("</way>\n")
    fh.write("</osm>\n")
    return pieces


def xml_buildings(data: XmlData) -> tuple[list[int], list[shapely.Polygon]]:
    """Closed ways with a ``building`` tag whose nodes are all present, as polygons (lon/lat)."""
    ids, polys = [], []
    for way_id, refs, tags in data.ways:
        if "building" not in tags or len(refs) < 4 or refs[0] != refs[-1]:
            continue
        if not all(r in data.nodes for r in refs):
            continue
        poly = shapely.Polygon([data.nodes[r] for r in refs])
        if not poly.is_valid:
            poly = shapely.make_valid(poly)
        if poly.is_empty or poly.area == 0:
            continue
        ids.append(way_id)
        polys.append(poly)
    return ids, polys


def is_poi(tags: Mapping[str, str]) -> bool:
    """Whether a tag set marks a point of interest geoengine keeps."""
    return any(k in tags for k in POI_ANY_KEYS) or tags.get("railway") in POI_RAILWAY or tags.get("highway") in POI_HIGHWAY


def xml_pois(data: XmlData) -> list[dict[str, Any]]:
    """POI nodes, and closed POI ways as their representative point (lon/lat)."""
    rows: list[dict[str, Any]] = []
    for nid, tags in data.node_tags.items():
        if is_poi(tags):
            row: dict[str, Any] = {k: tags.get(k) for k in POI_COLUMNS}
            row["osmid"] = nid
            row["geometry"] = shapely.Point(data.nodes[nid])
            rows.append(row)
    for way_id, refs, tags in data.ways:
        if not is_poi(tags) or len(refs) < 4 or refs[0] != refs[-1] or not all(r in data.nodes for r in refs):
            continue
        row = {k: tags.get(k) for k in POI_COLUMNS}
        row["osmid"] = way_id
        row["geometry"] = shapely.Polygon([data.nodes[r] for r in refs]).representative_point()
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- simplification
def _oriented(flags: np.ndarray, forward: bool) -> tuple[bool, ...]:
    if forward:
        return tuple(bool(x) for x in flags)
    car_f, car_b, foot_f, foot_b, ebike_f, ebike_b = (bool(x) for x in flags)
    return (car_b, car_f, foot_b, foot_f, ebike_b, ebike_f)


def simplify_segments(seg: pd.DataFrame, coords: list[np.ndarray]) -> tuple[pd.DataFrame, list[np.ndarray]]:
    """Merge chains of segments through nodes of degree two into single segments.

    A node stays a graph node (an *endpoint*) unless exactly two different segments meet
    there, they lead to two different neighbours, and they carry the same highway class,
    one-way status, car speed and per-direction access when walked through the node.
    ``seg`` has columns u, v, osmid, name, highway, oneway, car_kph, length_m and
    :data:`FLAGS`; ``coords`` holds each segment's coordinates from u to v. Returns the
    merged table (same columns, new positional index) and coordinates.
    """
    n = len(seg)
    u = seg["u"].to_numpy()
    v = seg["v"].to_numpy()
    flags = seg[list(FLAGS)].to_numpy(dtype=bool)
    static = list(zip(seg["highway"], seg["oneway"], seg["car_kph"], strict=True))
    incid: dict[int, list[tuple[int, bool]]] = {}  # node -> [(segment, segment starts here)]
    for i in range(n):
        incid.setdefault(int(u[i]), []).append((i, True))
        incid.setdefault(int(v[i]), []).append((i, False))

    def other(i: int, starts_here: bool) -> int:
        return int(v[i]) if starts_here else int(u[i])

    endpoints: set[int] = set()
    for node, inc in incid.items():
        if len(inc) != 2:
            endpoints.add(node)
            continue
        (i1, s1), (i2, s2) = inc
        if i1 == i2 or other(i1, s1) == other(i2, s2) or static[i1] != static[i2]:
            endpoints.add(node)
            continue
        # walk in along i1 (towards node), out along i2 (away from node)
        if _oriented(flags[i1], not s1) != _oriented(flags[i2], s2):
            endpoints.add(node)

    used = np.zeros(n, dtype=bool)
    chains: list[list[tuple[int, bool]]] = []

    def walk(start: int, i: int, starts_here: bool) -> None:
        chain: list[tuple[int, bool]] = []
        node = start
        while True:
            used[i] = True
            chain.append((i, starts_here))
            node = other(i, starts_here)
            if node in endpoints or node == start:
                break
            nxt = [(j, s) for j, s in incid[node] if j != i]
            j, s = nxt[0]
            if used[j]:
                break
            i, starts_here = j, s
        chains.append(chain)

    for node in sorted(endpoints):
        for i, starts_here in incid[node]:
            if not used[i]:
                walk(node, i, starts_here)
    while not used.all():  # rings with no endpoint
        i = int(np.flatnonzero(~used)[0])
        endpoints.add(int(u[i]))
        walk(int(u[i]), i, True)

    osmid = seg["osmid"].to_numpy()
    names = seg["name"].to_numpy()
    length = seg["length_m"].to_numpy(dtype=float)
    rows: dict[str, list[Any]] = {k: [] for k in ("u", "v", "osmid", "name", "highway", "oneway", "car_kph", "length_m", *FLAGS)}
    out_coords: list[np.ndarray] = []
    for chain in chains:
        i0, fw0 = chain[0]
        start = int(u[i0]) if fw0 else int(v[i0])
        iz, fwz = chain[-1]
        end = int(v[iz]) if fwz else int(u[iz])
        parts = [coords[i] if fw else coords[i][::-1] for i, fw in chain]
        merged = parts[0] if len(parts) == 1 else np.concatenate([parts[0]] + [p[1:] for p in parts[1:]])
        out_coords.append(merged)
        rows["u"].append(start)
        rows["v"].append(end)
        rows["osmid"].append(osmid[i0])
        rows["name"].append(next((names[i] for i, _ in chain if names[i]), ""))
        hw, ow, kph = static[i0]
        rows["highway"].append(hw)
        rows["oneway"].append(ow)
        rows["car_kph"].append(kph)
        rows["length_m"].append(float(sum(length[i] for i, _ in chain)))
        for name, value in zip(FLAGS, _oriented(flags[i0], fw0), strict=True):
            rows[name].append(value)
    out = pd.DataFrame(rows)
    out["u"] = out["u"].astype("int64")
    out["v"] = out["v"].astype("int64")
    return out, out_coords
