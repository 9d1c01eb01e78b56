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
    "OWNERS",
    "QUALITIES",
    "normalise_camera_type",
    "parse_connected",
    "parse_direction",
    "parse_hstore",
    "parse_osm_camera_tags",
    "parse_owner",
    "parse_quality",
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


# --------------------------------------------------------------------------- one network: owner, connection, quality
OWNERS = ("police", "social", "unknown")
"""Who runs an existing camera: the police (公安), a business, residents or a street office (社会), or unknown."""
_OWNER_ALIASES: dict[str, str] = {
    **{
        k: "police"
        for k in (
            "police",
            "public security",
            "gongan",
            "公安",
            "law enforcement",
            "government",
            "public",
            "city",
            "municipal",
            "state",
            "council",
        )
    },
    **{
        k: "social"
        for k in (
            "social",
            "社会",
            "private",
            "business",
            "commercial",
            "shop",
            "store",
            "company",
            "residential",
            "resident",
            "community",
            "street office",
            "other",
        )
    },
    **{k: "unknown" for k in ("unknown", "?", "n/a", "na", "none")},
}
QUALITIES = ("SD", "HD", "unknown")
"""Image quality of an existing camera: SD (analogue, CIF/D1, ≤ 576 lines) or HD (720p and up)."""
_QUALITY_ALIASES: dict[str, str] = {
    **{k: "SD" for k in ("sd", "analog", "analogue", "cif", "d1", "480p", "576p", "480", "576", "standard", "low")},
    **{
        k: "HD"
        for k in (
            "hd",
            "fhd",
            "uhd",
            "720p",
            "1080p",
            "720",
            "1080",
            "2k",
            "4k",
            "2mp",
            "3mp",
            "4mp",
            "5mp",
            "8mp",
            "ip",
            "high",
            "full hd",
        )
    },
    **{k: "unknown" for k in ("unknown", "?", "n/a", "na", "none")},
}
_TRUE = ("true", "yes", "y", "1", "t", "connected", "on")
_FALSE = ("false", "no", "n", "0", "f", "not connected", "unconnected", "off")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or not str(value).strip()


def parse_owner(value: Any) -> str | None:
    """``police`` / ``social`` / ``unknown`` (``None`` when the text is not understood; blank → unknown)."""
    if _blank(value):
        return "unknown"
    return _OWNER_ALIASES.get(" ".join(str(value).strip().lower().replace("_", " ").split()))


def parse_quality(value: Any) -> str | None:
    """``SD`` / ``HD`` / ``unknown`` (``None`` when the text is not understood; blank → unknown)."""
    if _blank(value):
        return "unknown"
    return _QUALITY_ALIASES.get(" ".join(str(value).strip().lower().replace("_", " ").split()))


def parse_connected(value: Any) -> bool | None:
    """True / False from booleans, 0/1 and yes/no words; ``None`` for blank or not understood."""
    if isinstance(value, bool):
        return value
    if _blank(value):
        return None
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = " ".join(str(value).strip().lower().split())
    return True if text in _TRUE else False if text in _FALSE else None
