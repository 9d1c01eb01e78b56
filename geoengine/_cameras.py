"""Private helpers: OSM surveillance-camera tags (``camera:type``, ``camera:direction``…).

OpenStreetMap maps existing cameras as ``man_made=surveillance`` nodes. GDAL's OSM
driver puts their tags into one ``other_tags`` string in the hstore form
``"camera:type"=>"dome","camera:direction"=>"N"``; other exports keep the tags as
plain columns. These helpers turn either form into the standard camera fields.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "COMPASS_DEG",
    "normalise_camera_type",
    "parse_direction",
    "parse_hstore",
    "parse_osm_camera_tags",
]

_POINTS_16 = ("N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE", "S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW")
COMPASS_DEG: dict[str, float] = {name: i * 22.5 for i, name in enumerate(_POINTS_16)}
"""Compass letters (16-point rose) to degrees clockwise from north."""

_HSTORE_PAIR = re.compile(r'"((?:[^"\\]|\\.)*)"\s*=>\s*(?:"((?:[^"\\]|\\.)*)"|(NULL))')
_UNESCAPE = re.compile(r"\\(.)")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")

_CAMERA_TYPES: dict[str, str] = {
    "dome": "dome",
    "panorama": "dome",  # an all-round (fisheye) camera sees like a dome
    "fisheye": "dome",
    "360": "dome",
    "fixed": "fixed",
    "static": "fixed",
    "bullet": "fixed",
    "box": "fixed",
    "panning": "ptz",
    "ptz": "ptz",
    "pan_tilt_zoom": "ptz",
    "pan-tilt-zoom": "ptz",
    "pan tilt zoom": "ptz",
    "pan-tilt": "ptz",
}
CAMERA_TYPES = ("fixed", "dome", "ptz", "unknown")
ALL_ROUND_TYPES = ("dome", "ptz")


def parse_hstore(text: str | None) -> dict[str, str]:
    """Parse GDAL's ``other_tags`` string (``"k"=>"v","k2"=>"v2"``) into a dict.

    A JSON object string (``{"k": "v"}``) is accepted too. ``None``, NaN or an empty
    string give an empty dict; text that holds no pairs gives an empty dict.
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return {}
    text = str(text).strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            return {str(k): str(v) for k, v in data.items() if v is not None}
    tags: dict[str, str] = {}
    for key, value, null in _HSTORE_PAIR.findall(text):
        if null:
            continue
        tags[_UNESCAPE.sub(r"\1", key)] = _UNESCAPE.sub(r"\1", value)
    return tags


def parse_direction(value: Any) -> float:
    """Degrees clockwise from north (0 ≤ d < 360) from an OSM direction value, else NaN.

    Accepts degrees (``"90"``, ``"90.5"``, ``"-30"``, ``"90°"``), several values
    separated by ``;`` (the first is taken: ``"90;270"`` → 90), and compass letters of
    the 16-point rose (``N``, ``NE``, ``ENE``, ``SSW`` …, any case). Anything else
    (``forward``, empty, missing) gives NaN.
    """
    if value is None:
        return math.nan
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) % 360.0 if math.isfinite(value) else math.nan
    text = str(value).strip()
    if not text:
        return math.nan
    first = text.split(";")[0].strip().rstrip("°").strip()
    if _NUMBER.match(first):
        deg = float(first)
        return deg % 360.0 if math.isfinite(deg) else math.nan
    return COMPASS_DEG.get(first.upper(), math.nan)


def normalise_camera_type(value: Any) -> str:
    """``fixed`` | ``dome`` | ``ptz`` | ``unknown`` from an OSM ``camera:type`` or a user value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "unknown"
    text = str(value).strip().lower()
    return _CAMERA_TYPES.get(text, "unknown")


def _first(tags: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        value = tags.get(key)
        if value is not None and not (isinstance(value, float) and math.isnan(value)) and str(value).strip():
            return value
    return None


def _number(value: Any) -> float:
    if value is None:
        return math.nan
    text = str(value).strip().split(";")[0].strip().rstrip("°").strip()
    for suffix in (" m", "m"):
        if text.endswith(suffix):
            text = text[: -len(suffix)].strip()
    if _NUMBER.match(text):
        number = float(text)
        return number if math.isfinite(number) else math.nan
    return math.nan


def parse_osm_camera_tags(tags: str | Mapping[str, Any] | None) -> dict[str, Any]:
    """The standard camera fields from OSM tags.

    Parameters
    ----------
    tags
        GDAL's ``other_tags`` string (``"camera:type"=>"dome","camera:direction"=>"N"``),
        a dict of tags, or ``None``.

    Returns
    -------
    dict
        ``camera_type`` (``fixed`` | ``dome`` | ``ptz`` | ``unknown``), ``heading_deg``
        (degrees clockwise from north, NaN when not tagged; ``camera:direction`` first,
        else ``direction``), ``fov_deg`` (``camera:fov`` when tagged, else 360 for dome
        and PTZ cameras, else NaN), ``mount`` and ``zone`` (``camera:mount``,
        ``surveillance:zone``; ``None`` when not tagged).

    Examples
    --------
    >>> parse_osm_camera_tags('"camera:type"=>"dome","camera:direction"=>"NE"')["heading_deg"]
    45.0
    """
    parsed: Mapping[str, Any] = parse_hstore(tags) if (tags is None or isinstance(tags, (str, float))) else tags
    camera_type = normalise_camera_type(_first(parsed, "camera:type", "surveillance:camera_type"))
    heading = parse_direction(_first(parsed, "camera:direction", "direction"))
    fov = _number(_first(parsed, "camera:fov", "camera:field_of_view"))
    if math.isnan(fov) and camera_type in ALL_ROUND_TYPES:
        fov = 360.0
    mount = _first(parsed, "camera:mount")
    zone = _first(parsed, "surveillance:zone")
    return {
        "camera_type": camera_type,
        "heading_deg": heading,
        "fov_deg": fov,
        "mount": None if mount is None else str(mount).strip(),
        "zone": None if zone is None else str(zone).strip(),
    }
