"""Reading and validating the scenario's layers (SPEC §2 Layers, §6).

A layer is one file — GeoJSON, GeoPackage, Shapefile (also zipped), GeoParquet or a
CSV with lon/lat columns — read into a GeoDataFrame in the road network's CRS with
the standard columns of its kind:

===========  ==========================  =============================================
kind         geometry                    columns
===========  ==========================  =============================================
incidents    Point                       time, time_precision, category, description,
                                         weight
districts    Polygon / MultiPolygon      name, priority
key_sites    Point / Polygon             name, category, priority, tier
cameras      Point                       name, camera_type, heading_deg, fov_deg,
                                         range_m, mount, zone, owner, connected,
                                         quality
stations     Point (polygons → a point   name
             inside them)
===========  ==========================  =============================================

Every layer also keeps ``source_row``, the 0-based row of the feature in its file.

Rows that cannot be used (missing or invalid coordinates, unparseable dates, empty
geometry, outside the network's area) are dropped and counted in
:attr:`Layer.drop_reasons`, never silently. Problems the user must fix (missing
file, unreadable file, a mapped column that does not exist, wrong geometry type, a
CRS mix-up, a layer wholly outside the network) raise a :class:`~geoengine.errors.
LayerError` (or a subclass) that names the file and the scenario field and says how
to fix it. :func:`load_layers` reads every layer and reports the problems of all of
them at once.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from ._cameras import (
    ALL_ROUND_TYPES,
    normalise_camera_type,
    parse_connected,
    parse_direction,
    parse_hstore,
    parse_osm_camera_tags,
    parse_owner,
    parse_quality,
)
from ._io import sha256_file
from .errors import (
    CRSMismatchError,
    GeoEngineError,
    InputFileNotFoundError,
    LayerError,
    LayerOutsideNetworkError,
    Problem,
)
from .scenario import NAME_MAX_CHARS, LayerSource, LayersSettings, check_date_format

if TYPE_CHECKING:
    from .network import RoadNetwork

__all__ = [
    "KINDS",
    "Layer",
    "Layers",
    "load_layers",
    "parse_osm_camera_tags",
    "read_layer",
]

logger = logging.getLogger(__name__)

KINDS: tuple[str, ...] = ("incidents", "districts", "key_sites", "cameras", "stations")
"""The layer kinds, in the order they are read and reported."""

_POINT = frozenset({"Point"})
_POLYGONAL = frozenset({"Polygon", "MultiPolygon"})
_ALLOWED_GEOMETRY: dict[str, frozenset[str]] = {
    "incidents": _POINT,
    "cameras": _POINT,
    "stations": _POINT | _POLYGONAL,
    "districts": _POLYGONAL,
    "key_sites": _POINT | _POLYGONAL,
}
_GEOMETRY_WORDS = {
    "incidents": "points",
    "cameras": "points",
    "stations": "points (or polygons, replaced by a point inside them)",
    "districts": "polygons",
    "key_sites": "points or polygons",
}

_STANDARD_COLUMNS: dict[str, tuple[str, ...]] = {
    "incidents": ("time", "time_precision", "category", "description", "weight"),
    "districts": ("name", "priority"),
    "key_sites": ("name", "category", "priority", "tier"),
    "cameras": ("name", "camera_type", "heading_deg", "fov_deg", "range_m", "mount", "zone", "owner", "connected", "quality"),
    "stations": ("name",),
}

# Common column names, compared after lower-casing and folding spaces, '_', '-', ':'.
_CANDIDATES: dict[str, tuple[str, ...]] = {
    "lon": ("lon", "lng", "long", "longitude", "x", "lon_wgs84", "longitude_wgs84"),
    "lat": ("lat", "latitude", "y", "lat_wgs84", "latitude_wgs84"),
    "wkt": ("wkt", "geometry", "geom", "the_geom", "shape"),
    "datetime": (
        "datetime",
        "date time",
        "timestamp",
        "occurred at",
        "occurred",
        "occurred datetime",
        "incident datetime",
        "report datetime",
        "reported at",
        "event time",
    ),
    "date": ("date", "incident date", "occurred date", "occurrence date", "report date", "crime date", "day", "month"),
    "time": ("time", "incident time", "occurred time", "occurrence time", "report time", "time of day"),
    "category": (
        "category",
        "crime type",
        "crimetype",
        "crime category",
        "offense",
        "offence",
        "offense type",
        "offence type",
        "incident type",
        "incident category",
        "primary type",
        "type",
        "class",
        "amenity",
        "kind",
    ),
    "description": ("description", "descript", "desc", "details", "offense description", "incident description"),
    "weight": ("weight", "count", "n"),
    "name": (
        "name",
        "title",
        "label",
        "district",
        "district name",
        "site",
        "site name",
        "station",
        "station name",
        "camera name",
    ),
    "priority": ("priority", "prio", "importance"),
    "heading": ("heading", "heading deg", "camera direction", "direction", "bearing", "azimuth"),
    "fov": ("fov", "fov deg", "field of view", "camera fov"),
    "range": ("range", "range m", "camera range"),
    "camera_type": ("camera type", "camera_type", "type"),
    "osm_tags": ("other tags", "tags", "osm tags"),
    "mount": ("camera mount", "mount"),
    "zone": ("surveillance zone", "zone"),
    "owner": ("owner", "camera owner", "operator type", "ownership"),
    "connected": ("connected", "networked", "linked", "connected to police"),
    "quality": ("quality", "image quality", "resolution", "camera quality"),
    "tier": ("tier", "quality tier", "dori", "dori tier"),
}
# which fields each kind looks for (lon/lat/wkt only matter for tables)
_FIELDS: dict[str, tuple[str, ...]] = {
    "incidents": ("datetime", "date", "time", "category", "description", "weight"),
    "districts": ("name", "priority"),
    "key_sites": ("name", "category", "priority", "tier"),
    "cameras": ("name", "camera_type", "heading", "fov", "range", "osm_tags", "mount", "zone", "owner", "connected", "quality"),
    "stations": ("name",),
}
_KIND_LABEL = {
    "incidents": "Incident",
    "districts": "District",
    "key_sites": "Key site",
    "cameras": "Camera",
    "stations": "Station",
}
_TABLE_SUFFIXES = (".csv", ".tsv", ".txt")
_PARQUET_SUFFIXES = (".parquet", ".geoparquet", ".pq")

_MONTH_RE = r"^\s*(\d{4})[-/.](\d{1,2})\s*$"
_HAS_CLOCK_RE = r"\d{1,2}:\d{2}"
_TIME_OF_DAY_RE = r"^\s*(\d{1,2}):?(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*([AaPp]\.?[Mm]\.?)?\s*$"
_MIN_DATE = pd.Timestamp("1900-01-01")
_MAX_DATE = pd.Timestamp("2200-01-01")


# --------------------------------------------------------------------------- results
@dataclass(frozen=True, eq=False)
class Layer:
    """One layer read from a file, in the target CRS, with its standard columns.

    Attributes
    ----------
    kind
        ``incidents``, ``districts``, ``key_sites``, ``cameras`` or ``stations``.
    gdf
        The rows that are used, in the network's CRS, standard columns plus
        ``source_row`` (0-based row in the file) and ``geometry``; RangeIndex.
    path, sha256
        The file and the SHA-256 of its bytes (provenance).
    rows_read, rows_used, rows_dropped
        Rows (features) in the file, rows kept, rows dropped
        (``rows_read == rows_used + rows_dropped``).
    drop_reasons
        Why rows were dropped, e.g. ``{"missing coordinates": 465}``.
    warnings
        Things the user should know that did not stop the read.
    synthetic
        The layer is synthetic (labelled as such on maps).
    """

    kind: str
    gdf: gpd.GeoDataFrame = field(repr=False)
    path: Path
    sha256: str
    rows_read: int
    rows_used: int
    rows_dropped: int
    drop_reasons: dict[str, int]
    warnings: tuple[str, ...] = ()
    synthetic: bool = False
    extent: Any = field(default=None, repr=False)  # incidents: the recorded area (shapely polygon), if given

    @property
    def crs(self) -> CRS | None:
        """The layer's CRS (the network's)."""
        return self.gdf.crs

    def summary(self) -> str:
        """One line: kind, file, rows read / used / dropped with reasons, warnings."""
        text = f"{self.kind}: {self.path.name}"
        if self.synthetic:
            text += " (synthetic)"
        text += f" — {self.rows_read:,} read, {self.rows_used:,} used, {self.rows_dropped:,} dropped"
        if self.drop_reasons:
            text += " (" + ", ".join(f"{reason}: {n:,}" for reason, n in self.drop_reasons.items()) + ")"
        if self.warnings:
            text += f"; {len(self.warnings)} warning" + ("s" if len(self.warnings) != 1 else "")
        return text

    def _repr_html_(self) -> str:
        import html

        rows = "".join(f"<li>{html.escape(w)}</li>" for w in self.warnings)
        return f"<div><b>{html.escape(self.summary())}</b>" + (f"<ul>{rows}</ul>" if rows else "") + "</div>"


@dataclass(frozen=True, eq=False)
class Layers:
    """The scenario's layers; a kind that the scenario does not name is ``None``."""

    incidents: Layer | None = None
    districts: Layer | None = None
    key_sites: Layer | None = None
    cameras: Layer | None = None
    stations: Layer | None = None

    def items(self) -> list[tuple[str, Layer]]:
        """``(kind, layer)`` for the layers that are present, in :data:`KINDS` order."""
        return [(kind, layer) for kind in KINDS if (layer := getattr(self, kind)) is not None]

    @property
    def warnings(self) -> tuple[str, ...]:
        """Every layer's warnings, each prefixed with its kind."""
        return tuple(f"{kind}: {w}" for kind, layer in self.items() for w in layer.warnings)

    def summary(self) -> str:
        """One line per present layer."""
        return "\n".join(layer.summary() for _, layer in self.items()) or "no layers"


# --------------------------------------------------------------------------- reading context
class _Reader:
    """Book-keeping of one read: the file, the field prefix, warnings and drops."""

    def __init__(self, kind: str, source: LayerSource, field: str | None = None) -> None:
        self.kind = kind
        self.source = source
        self.path = Path(source.path)
        self.file = str(self.path)
        self.prefix = field or f"layers.{kind}"
        self.warnings: list[str] = []
        self.drop_reasons: dict[str, int] = {}

    def error(
        self, cls: type[GeoEngineError], message: str, *, field: str | None = None, hint: str | None = None
    ) -> GeoEngineError:
        where = f"{self.prefix}.{field}" if field else self.prefix
        return cls.single(message, file=self.file, field=where, hint=hint)

    def problem(self, message: str, *, field: str | None = None, hint: str | None = None) -> Problem:
        where = f"{self.prefix}.{field}" if field else self.prefix
        return Problem(message, self.file, where, hint)

    def warn(self, message: str) -> None:
        text = f"{self.path.name}: {message}"
        logger.warning("%s: %s", self.prefix, text)
        self.warnings.append(text)

    def drop(self, frame: pd.DataFrame, mask: Any, reason: str) -> pd.DataFrame:
        """Drop the rows where ``mask`` is true and count them under ``reason``."""
        mask = np.asarray(mask, dtype=bool)
        n = int(mask.sum())
        if n:
            self.drop_reasons[reason] = self.drop_reasons.get(reason, 0) + n
            logger.info("%s: %s: dropped %d rows (%s)", self.prefix, self.path.name, n, reason)
            return frame.loc[~mask]
        return frame


def _fold(name: str) -> str:
    return re.sub(r"[\s_\-:./]+", " ", str(name).strip().lower()).strip()


def _resolve_columns(frame: pd.DataFrame, fields: Iterable[str], ctx: _Reader) -> dict[str, str]:
    """Map each field to a column: the one the scenario names, else a common name.

    A named column that does not exist is a problem (all of them are reported at once).
    """
    columns = [c for c in frame.columns if c != getattr(frame, "_geometry_column_name", None)]
    folded: dict[str, str] = {}
    for column in columns:
        folded.setdefault(_fold(column), column)
    mapping: dict[str, str] = {}
    problems: list[Problem] = []
    used: set[str] = set()
    for name in fields:
        wanted = getattr(ctx.source.columns, name, None) if name in type(ctx.source.columns).model_fields else None
        if wanted:
            if wanted in columns:
                mapping[name] = wanted
            elif _fold(wanted) in folded:
                mapping[name] = folded[_fold(wanted)]
            else:
                problems.append(
                    ctx.problem(
                        f"column {wanted!r} not found in {_described(ctx, columns)}",
                        field=f"columns.{name}",
                        hint=f"set {ctx.prefix}.columns.{name} to one of the file's column names "
                        "(a CSV names them in its first row)",
                    )
                )
            used.add(mapping.get(name, ""))
    if problems:
        raise LayerError(problems=problems)
    for name in fields:
        if name in mapping:
            continue
        for candidate in _CANDIDATES.get(name, ()):
            column = folded.get(_fold(candidate))
            if column is not None and column not in used:
                mapping[name] = column
                used.add(column)
                break
    return mapping


def _text(values: pd.Series) -> pd.Series:
    """Strings with surrounding blanks removed; missing and empty values as NA.

    Non-string values (numbers, dates from typed formats) become their ``str``.
    """
    objects = values.astype(object)
    missing = objects.isna()
    objects = objects.map(lambda v: v if isinstance(v, str) else str(v)).mask(missing, None)
    text = objects.astype("string").str.strip()
    return text.mask(text == "")


# --------------------------------------------------------------------------- files
def _read_file(ctx: _Reader) -> tuple[pd.DataFrame, bool]:
    """Read the file: ``(frame, is_table)``; a table (CSV, plain Parquet) has no geometry yet."""
    path, source = ctx.path, ctx.source
    suffix = path.suffix.lower()
    try:
        if suffix in _TABLE_SUFFIXES:
            return _read_csv(path, ctx), True
        if suffix in _PARQUET_SUFFIXES:
            try:
                return gpd.read_parquet(path), False
            except ValueError as exc:
                if "geo" not in str(exc).lower():
                    raise
                return pd.read_parquet(path), True  # plain Parquet: lon/lat columns like a CSV
        target = f"zip://{path}" if suffix == ".zip" else str(path)
        layer = source.layer
        try:
            layers = pyogrio.list_layers(target)
        except Exception as exc:  # noqa: BLE001 - any GDAL failure means the file cannot be read
            raise ctx.error(
                LayerError,
                f"cannot read {path.name} ({_size_text(path)}) as a GIS layer ({_short(exc, path)})",
                field="path",
                hint="give a GeoJSON, GeoPackage, Shapefile (.shp or .zip), GeoParquet or CSV file",
            ) from exc
        names = [str(n) for n in layers[:, 0]] if len(layers) else []
        if not names:
            raise ctx.error(LayerError, "the file holds no layers", field="path")
        if layer is not None and layer not in names:
            raise ctx.error(
                LayerError,
                f"layer {layer!r} not in the file; it has: {_clipped_names(names)}",
                field="layer",
                hint=f"set {ctx.prefix}.layer to one of those",
            )
        if layer is None and len(names) > 1:
            raise ctx.error(
                LayerError,
                f"the file holds {len(names)} layers: {_clipped_names(names)}",
                field="layer",
                hint=f"set {ctx.prefix}.layer to the one to read",
            )
        frame = gpd.read_file(target, layer=layer or names[0], engine="pyogrio")
        if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
            return pd.DataFrame(frame), True
        return frame, False
    except GeoEngineError:
        raise
    except Exception as exc:  # noqa: BLE001 - corrupt files raise anything from GDAL/Arrow/pandas
        raise ctx.error(
            LayerError,
            f"cannot read {path.name} ({_size_text(path)}) ({_short(exc, path)})",
            field="path",
            hint="check that the file is complete and in a supported format "
            "(GeoJSON, GeoPackage, Shapefile, zipped Shapefile, GeoParquet, CSV)",
        ) from exc


_QUOTED = re.compile(r"b?'[^']*'|\"[^\"]*\"")


def _clipped_names(names: list[str]) -> str:
    shown = [n if len(n) <= 40 else n[:39] + "…" for n in names[:10]]
    return ", ".join(shown) + (f" and {len(names) - 10} more" if len(names) > 10 else "")


def _short(exc: BaseException, path: Path | None = None) -> str:
    """The reason a reader gave, without any quoted text (it may quote the file's content)."""
    text = " ".join(str(exc).split())
    if path is not None:
        text = text.replace(str(path), path.name)
    text = _QUOTED.sub("'…'", text)
    text = text or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "…"


def _read_csv(path: Path, ctx: _Reader) -> pd.DataFrame:
    with open(path, "rb") as fh:
        head = fh.read(4096)
    first = head.split(b"\n", 1)[0]
    sep = "\t" if path.suffix.lower() == ".tsv" or (b"\t" in first and b"," not in first) else ","
    if sep == "," and b";" in first and b"," not in first:
        sep = ";"
    options: dict[str, Any] = {"sep": sep, "dtype": str, "keep_default_na": False, "na_values": [""]}
    try:
        return pd.read_csv(path, encoding="utf-8-sig", **options)
    except UnicodeDecodeError:
        ctx.warn("the file is not UTF-8; read it as Latin-1 (names may show wrong characters)")
        return pd.read_csv(path, encoding="latin-1", **options)


# --------------------------------------------------------------------------- geometry
def _table_to_gdf(frame: pd.DataFrame, cols: dict[str, str], ctx: _Reader) -> gpd.GeoDataFrame:
    """Points from lon/lat columns (or geometry from a WKT column); bad coordinates dropped."""
    crs = _user_crs(ctx) or CRS.from_epsg(4326)
    if "lon" in cols and "lat" in cols:
        lon_raw, lat_raw = frame[cols["lon"]], frame[cols["lat"]]
        lon = pd.to_numeric(lon_raw, errors="coerce").astype(float)
        lat = pd.to_numeric(lat_raw, errors="coerce").astype(float)
        blank = _text(lon_raw).isna() | _text(lat_raw).isna()
        frame = ctx.drop(frame, blank, "missing coordinates")
        lon, lat = lon.loc[frame.index], lat.loc[frame.index]
        bad = ~(np.isfinite(lon) & np.isfinite(lat))
        frame = ctx.drop(frame, bad, "invalid coordinates")
        lon, lat = lon.loc[frame.index], lat.loc[frame.index]
        if crs.is_geographic:
            lon, lat, frame = _check_degrees(lon, lat, frame, ctx, columns=(cols["lon"], cols["lat"]))
        geometry = gpd.points_from_xy(lon.to_numpy(), lat.to_numpy())
    elif "wkt" in cols:
        text = _text(frame[cols["wkt"]])
        frame = ctx.drop(frame, text.isna(), "missing coordinates")
        geoms = shapely.from_wkt(text.loc[frame.index].to_numpy(dtype=object), on_invalid="ignore")
        frame = ctx.drop(frame, pd.isna(geoms), "invalid coordinates")
        geometry = shapely.from_wkt(text.loc[frame.index].to_numpy(dtype=object), on_invalid="ignore")
    else:
        raise ctx.error(
            LayerError,
            f"no longitude/latitude columns found in {_described(ctx, frame.columns)}; expected a table with a "
            "header row and lon/lat (or x/y, longitude/latitude) columns, or a GIS layer",
            field="columns.lon",
            hint=f"set {ctx.prefix}.columns.lon and {ctx.prefix}.columns.lat to the coordinate columns",
        )
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry, index=frame.index), crs=crs)


def _check_degrees(
    lon: pd.Series, lat: pd.Series, frame: pd.DataFrame, ctx: _Reader, *, columns: tuple[str, str] | None
) -> tuple[pd.Series, pd.Series, pd.DataFrame]:
    """Coordinates of a geographic CRS must be degrees; mostly out of range is a CRS mix-up."""
    out = (lon.abs() > 180) | (lat.abs() > 90)
    n_out = int(out.sum())
    if n_out == 0:
        return lon, lat, frame
    if n_out * 2 >= len(out):
        swapped = ((lat.abs() <= 180) & (lon.abs() <= 90)).all()
        example = f"e.g. ({lon[out].iloc[0]:.6g}, {lat[out].iloc[0]:.6g})"
        if swapped:
            hint = f"the longitude and latitude look swapped; set {ctx.prefix}.columns.lon and {ctx.prefix}.columns.lat" + (
                f" (now {columns[0]!r}, {columns[1]!r})" if columns else ""
            )
        else:
            hint = f"coordinates look projected; set {ctx.prefix}.crs to the file's CRS (e.g. EPSG:32610)"
        raise ctx.error(
            CRSMismatchError,
            f"{n_out:,} of {len(out):,} coordinates lie outside longitude ±180 / latitude ±90 {example}, "
            "but the CRS is geographic (degrees)",
            field="crs",
            hint=hint,
        )
    frame = ctx.drop(frame, out, "coordinates out of range")
    ctx.warn(f"{n_out:,} rows have coordinates outside longitude ±180 / latitude ±90 and were dropped")
    return lon[~out], lat[~out], frame


def _user_crs(ctx: _Reader) -> CRS | None:
    """The layer's ``crs`` setting as a CRS (None when not set); a CRS pyproj does not know is a LayerError."""
    if not ctx.source.crs:
        return None
    try:
        return CRS.from_user_input(ctx.source.crs)
    except Exception:  # noqa: BLE001 - pyproj raises CRSError, ValueError or TypeError
        raise ctx.error(
            LayerError,
            "not a coordinate reference system pyproj knows",
            field="crs",
            hint="give an EPSG code (e.g. EPSG:4326, EPSG:32610) or leave it out",
        ) from None


def _set_file_crs(gdf: gpd.GeoDataFrame, ctx: _Reader) -> gpd.GeoDataFrame:
    source = ctx.source
    user_crs = _user_crs(ctx)
    if gdf.crs is None:
        if user_crs is not None:
            return gdf.set_crs(user_crs)
        ctx.warn("the file states no CRS; assumed EPSG:4326 (longitude/latitude)")
        return gdf.set_crs(4326)
    if user_crs is not None and not user_crs.equals(gdf.crs, ignore_axis_order=True):
        ctx.warn(f"the file states its CRS ({gdf.crs.to_string()}); {ctx.prefix}.crs ({source.crs}) is ignored")
    return gdf


def _clean_geometry(gdf: gpd.GeoDataFrame, ctx: _Reader) -> gpd.GeoDataFrame:
    """Drop empty geometry, check types for the kind, repair invalid polygons."""
    geoms = gdf.geometry.array
    gdf = ctx.drop(gdf, shapely.is_missing(geoms) | shapely.is_empty(geoms), "empty geometry")
    if gdf.empty:
        return gdf
    values = gdf.geometry.to_numpy()
    # a multi-point with a single part is a point
    single_multi = (shapely.get_type_id(values) == 4) & (shapely.get_num_geometries(values) == 1)
    if single_multi.any():
        values = values.copy()
        values[single_multi] = shapely.get_geometry(values[single_multi], 0)
        gdf = gdf.set_geometry(gpd.GeoSeries(values, index=gdf.index, crs=gdf.crs))
    types = gdf.geom_type
    allowed = _ALLOWED_GEOMETRY[ctx.kind]
    wrong = ~types.isin(allowed)
    if wrong.any():
        found = ", ".join(f"{t} ×{n}" for t, n in types[wrong].value_counts().items())
        raise ctx.error(
            LayerError,
            f"{ctx.kind} must be {_GEOMETRY_WORDS[ctx.kind]}, but the file holds {found}",
            field="path",
            hint=f"give a file of {_GEOMETRY_WORDS[ctx.kind]} for {ctx.kind}",
        )
    polygonal = types.isin(_POLYGONAL).to_numpy()
    if polygonal.any():
        values = gdf.geometry.to_numpy()
        invalid = polygonal & ~shapely.is_valid(values)
        if invalid.any():
            values = values.copy()
            values[invalid] = _make_valid_polygons(values[invalid])
            gdf = gdf.set_geometry(gpd.GeoSeries(values, index=gdf.index, crs=gdf.crs))
            ctx.warn(f"{int(invalid.sum()):,} invalid polygons were repaired (shapely make_valid)")
            gdf = ctx.drop(gdf, shapely.is_empty(values), "empty geometry")
    return gdf


def _make_valid_polygons(values: np.ndarray) -> np.ndarray:
    """Repair polygons, keeping only their polygonal parts (collapsed lines and points go)."""
    try:  # shapely >= 2.1
        return shapely.make_valid(values, method="structure", keep_collapsed=False)
    except TypeError:  # older shapely: repair, then drop non-polygonal parts
        repaired = shapely.make_valid(values)
        parts, index = shapely.get_parts(repaired, return_index=True)
        keep = np.isin(shapely.get_type_id(parts), (3, 6))
        series = gpd.GeoSeries(parts[keep], index=index[keep])
        out = np.array([shapely.Polygon()] * len(values), dtype=object)
        if not series.empty:
            dissolved = series.groupby(level=0).agg(lambda g: shapely.union_all(g.to_numpy()))
            out[dissolved.index.to_numpy()] = dissolved.to_numpy()
        return out


def _target_crs(gdf: gpd.GeoDataFrame, network: RoadNetwork | None, crs: Any) -> CRS:
    if network is not None:
        return CRS.from_user_input(network.crs)
    if crs is not None:
        return CRS.from_user_input(crs)
    if gdf.crs is not None and gdf.crs.is_projected:
        return gdf.crs
    utm = gdf.estimate_utm_crs()
    logger.info("no network or crs given; using the local UTM zone %s", utm.to_string())
    return utm


def _reproject(gdf: gpd.GeoDataFrame, network: RoadNetwork | None, crs: Any, ctx: _Reader) -> gpd.GeoDataFrame:
    if gdf.crs.is_geographic:
        _check_degrees_bounds(gdf.geometry.bounds, ctx)
    target = _target_crs(gdf, network, crs)
    if not gdf.crs.equals(target):
        gdf = gdf.to_crs(target)
    bounds = gdf.geometry.bounds.to_numpy()
    bad = ~np.isfinite(bounds).all(axis=1)
    return ctx.drop(gdf, bad, "invalid coordinates")


def _check_degrees_bounds(b: pd.DataFrame, ctx: _Reader) -> None:
    out = (b["minx"] < -180) | (b["maxx"] > 180) | (b["miny"] < -90) | (b["maxy"] > 90)
    if out.any():
        swapped = ((b["miny"] >= -180) & (b["maxy"] <= 180) & (b["minx"] >= -90) & (b["maxx"] <= 90)).all()
        hint = (
            "the x and y coordinates look swapped (latitude first); write the file with longitude first"
            if swapped
            else f"coordinates look projected; set {ctx.prefix}.crs to the file's real CRS or fix the file's CRS"
        )
        raise ctx.error(
            CRSMismatchError,
            f"{int(out.sum()):,} of {len(out):,} features have coordinates outside longitude ±180 / latitude ±90, "
            "but the file's CRS is geographic (degrees)",
            field="crs",
            hint=hint,
        )


def _lonlat_box(bounds: Iterable[float], crs: Any) -> str:
    minx, miny, maxx, maxy = gpd.GeoSeries([shapely.box(*bounds)], crs=crs).to_crs(4326).total_bounds
    return f"lon {minx:.4f}…{maxx:.4f}, lat {miny:.4f}…{maxy:.4f}"


def _clip_to_network(
    gdf: gpd.GeoDataFrame, network: RoadNetwork, buffer_m: float, ctx: _Reader, *, crs_note: str
) -> gpd.GeoDataFrame:
    """Drop (and count) features farther than ``buffer_m`` from every street of the network.

    Distance to the streets, not the network's bounding box: a clipped extract's box
    holds areas with no streets, and points there would snap to the wrong street.
    """
    tree = shapely.STRtree(np.asarray(network.edges.geometry.values))
    hit, _ = tree.query(np.asarray(gdf.geometry.values), predicate="dwithin", distance=buffer_m)
    inside = np.zeros(len(gdf), dtype=bool)
    inside[hit] = True
    if not inside.any():
        minx, miny, maxx, maxy = (float(v) for v in network.bounds)
        layer_box = _lonlat_box(gdf.total_bounds, gdf.crs)
        network_box = _lonlat_box((minx, miny, maxx, maxy), gdf.crs)
        raise ctx.error(
            LayerOutsideNetworkError,
            f"all {len(gdf):,} features lie outside the road network's area, more than {buffer_m:g} m "
            f"from any street (layer: {layer_box}; network: {network_box})",
            field="path",
            hint=f"check the lon/lat column order and the CRS ({ctx.prefix}.crs{crs_note}), "
            "or give a network that covers the layer",
        )
    n_out = int((~inside).sum())
    if n_out:
        ctx.warn(
            f"{n_out:,} of {len(gdf):,} features lie outside the road network's area "
            f"(more than {buffer_m:g} m from any street) and were dropped"
        )
    return ctx.drop(gdf, ~inside, "outside the network area")


def _street_distance_warning(gdf: gpd.GeoDataFrame, network: RoadNetwork, max_m: float, ctx: _Reader) -> None:
    points = gdf.geometry[gdf.geom_type == "Point"]
    if points.empty:
        return
    distance = np.asarray(network.snap(points)["distance_m"], dtype=float)
    far = distance > max_m
    if far.any():
        ctx.warn(
            f"{int(far.sum()):,} of {len(points):,} points lie more than {max_m:g} m from any street "
            f"(farthest {np.nanmax(distance):,.0f} m)"
        )


def _size_text(path: Path) -> str:
    try:
        size = path.stat().st_size
    except OSError:
        return "size unknown"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def _described(ctx: _Reader, columns: Iterable[Any]) -> str:
    """The file by name, size and column count for an error, never its text: a file that is
    not the expected format would otherwise echo its first line (which may hold a secret)."""
    n = len([c for c in columns if str(c) not in ("source_row", "geometry")])
    return f"{ctx.path.name} ({_size_text(ctx.path)}, {n} column{'s' if n != 1 else ''})"


# --------------------------------------------------------------------------- dates
def _parse_datetimes(values: pd.Series, ctx: _Reader, *, field_name: str) -> tuple[pd.Series, pd.Series, pd.Series]:
    """``(time, precision, missing)``: parsed times (NaT when missing or unparseable),
    ``datetime``/``date``/``month`` per row, and which rows had no value at all."""
    index = values.index
    if pd.api.types.is_datetime64_any_dtype(values):
        times = values
        if getattr(times.dt, "tz", None) is not None:
            times = times.dt.tz_localize(None)
        times = times.astype("datetime64[ns]")
        valid = times.notna()
        has_clock = bool((times[valid] != times[valid].dt.normalize()).any())
        precision = pd.Series("datetime" if has_clock else "date", index=index, dtype=object)
        return times, precision, ~valid
    text = _text(values)
    missing = text.isna()
    times = pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
    precision = pd.Series(None, index=index, dtype=object)
    present = text[~missing]
    if present.empty:
        return times, precision, missing
    fmt = ctx.source.date_format
    if fmt:
        try:
            check_date_format(fmt)
        except ValueError as err:
            raise ctx.error(LayerError, str(err), field="date_format") from None
        parsed = _to_datetime(present, format=fmt)
        clock = any(code in fmt for code in ("%H", "%I", "%M", "%S", "%X", "%T", "%c", "%R"))
        day = any(code in fmt for code in ("%d", "%j", "%c", "%x", "%F", "%D", "%e"))
        precision[present.index] = "datetime" if clock else ("date" if day else "month")
    else:
        month = present.str.match(_MONTH_RE).fillna(False).astype(bool)
        parsed = pd.Series(pd.NaT, index=present.index, dtype="datetime64[ns]")
        if month.any():
            normal = present[month].str.replace(r"[/.]", "-", regex=True)
            parsed[month] = _to_datetime(normal, format="%Y-%m")
        rest = present[~month]
        if not rest.empty:
            parsed[rest.index] = _to_datetime_guess(rest, dayfirst=ctx.source.dayfirst)
        clock = present.str.contains(_HAS_CLOCK_RE, regex=True).fillna(False).astype(bool)
        precision[present.index] = np.where(month, "month", np.where(clock, "datetime", "date"))
    parsed = parsed.where((parsed >= _MIN_DATE) & (parsed < _MAX_DATE))
    times[present.index] = parsed
    return times, precision, missing


def _to_datetime(values: pd.Series, **options: Any) -> pd.Series:
    with warnings.catch_warnings():
        # "could not infer format": the element-by-element fallback is intended here
        warnings.simplefilter("ignore", UserWarning)
        try:
            parsed = pd.to_datetime(values, errors="coerce", **options)
        except (ValueError, TypeError):
            parsed = pd.to_datetime(values, errors="coerce", utc=True, **options)
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    # out-of-range years would overflow nanoseconds
    parsed = parsed.where((parsed >= _MIN_DATE) & (parsed < _MAX_DATE))
    return parsed.astype("datetime64[ns]")


def _to_datetime_guess(values: pd.Series, *, dayfirst: bool) -> pd.Series:
    """ISO 8601 first, then the format pandas infers, then element by element."""
    parsed = _to_datetime(values, format="ISO8601")
    for options in ({"dayfirst": dayfirst}, {"format": "mixed", "dayfirst": dayfirst}):
        bad = parsed.isna()
        if not bad.any():
            break
        parsed[bad] = _to_datetime(values[bad], **options)
    return parsed


def _parse_time_of_day(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``(offset, invalid)``: time of day as a Timedelta (NaT when missing or invalid)."""
    text = _text(values)
    parts = text.str.extract(_TIME_OF_DAY_RE)
    hours = pd.to_numeric(parts[0], errors="coerce")
    minutes = pd.to_numeric(parts[1], errors="coerce")
    seconds = pd.to_numeric(parts[2], errors="coerce").fillna(0)
    ampm = parts[3].astype("string").str.lower().str.replace(".", "", regex=False)
    hours = hours.where(~((ampm == "pm").fillna(False) & (hours < 12)), hours + 12)
    hours = hours.where(~((ampm == "am").fillna(False) & (hours == 12)), 0)
    ok = hours.between(0, 23) & minutes.between(0, 59) & seconds.between(0, 59)
    offset = pd.to_timedelta(hours * 3600 + minutes * 60 + seconds, unit="s").where(ok)
    # a full date-time in the time column: take its clock time
    other = text.notna() & ~ok
    if other.any():
        parsed = _to_datetime(text[other], format="mixed")
        offset[other] = parsed - parsed.dt.normalize()
    invalid = text.notna() & offset.isna()
    return offset, invalid


def _incident_times(gdf: gpd.GeoDataFrame, cols: dict[str, str], ctx: _Reader) -> gpd.GeoDataFrame:
    if "datetime" in cols:
        column, field_name = cols["datetime"], "columns.datetime"
    elif "date" in cols:
        column, field_name = cols["date"], "columns.date"
    elif "time" in cols:  # a lone "time" column holds the full date and time
        column, field_name = cols["time"], "columns.time"
    else:
        raise ctx.error(
            LayerError,
            f"no date or time column found in {_described(ctx, gdf.columns)}; expected a date, time or datetime column",
            field="columns.date",
            hint=f"set {ctx.prefix}.columns.datetime (date and time in one column) or "
            f"{ctx.prefix}.columns.date (and {ctx.prefix}.columns.time)",
        )
    times, precision, missing = _parse_datetimes(gdf[column], ctx, field_name=field_name)
    if "time" in cols and column != cols["time"]:
        offset, invalid_time = _parse_time_of_day(gdf[cols["time"]])
        add = (precision == "date") & offset.notna() & times.notna()
        times = times.where(~add, times + offset)
        precision = precision.where(~add, "datetime")
        gdf = gdf.assign(time=times, time_precision=precision)
        gdf = ctx.drop(gdf, invalid_time & (precision == "date"), "unparseable time")
    else:
        gdf = gdf.assign(time=times, time_precision=precision)
    gdf = ctx.drop(gdf, missing.loc[gdf.index], "missing date")
    bad = gdf["time"].isna()
    if bad.any():
        row = int(gdf.loc[bad, "source_row"].iloc[0]) + 1 if "source_row" in gdf else None
        n = int(bad.sum())
        hint = f"set {ctx.prefix}.date_format (e.g. '%d/%m/%Y %H:%M')" if not ctx.source.date_format else ""
        where = f" in column {column!r}" + (f" (the first in data row {row:,})" if row is not None else "")
        ctx.warn(f"{n:,} rows have a date that cannot be read{where} and were dropped" + (f"; {hint}" if hint else ""))
    return ctx.drop(gdf, bad, "unparseable date")


# --------------------------------------------------------------------------- attributes
def _strings(gdf: pd.DataFrame, column: str | None, default: str | pd.Series) -> pd.Series:
    if column is None:
        if isinstance(default, pd.Series):
            return default.astype(object)
        return pd.Series(default, index=gdf.index, dtype=object)
    text = _text(gdf[column])
    return text.astype(object).where(text.notna(), default)


def _numbers(gdf: pd.DataFrame, column: str | None) -> tuple[pd.Series, pd.Series]:
    """``(values, invalid)``: floats (NaN when missing) and rows whose value is not a number."""
    if column is None:
        return pd.Series(np.nan, index=gdf.index, dtype=float), pd.Series(False, index=gdf.index)
    raw = gdf[column]
    values = pd.to_numeric(raw, errors="coerce").astype(float)
    present = _text(raw).notna()
    invalid = present & ~np.isfinite(values)
    return values.where(np.isfinite(values)), invalid


def _default_names(gdf: pd.DataFrame, kind: str) -> pd.Series:
    return pd.Series([f"{_KIND_LABEL[kind]} {i}" for i in range(1, len(gdf) + 1)], index=gdf.index, dtype=object)


def _priorities(gdf: pd.DataFrame, cols: dict[str, str], ctx: _Reader) -> pd.Series:
    values, invalid = _numbers(gdf, cols.get("priority"))
    negative = values < 0
    if (invalid | negative).any():
        ctx.warn(
            f"{int((invalid | negative).sum()):,} rows have a priority that is not a number ≥ 0 "
            f"in column {cols['priority']!r}; used the default {ctx.source.default_priority:g}"
        )
    return values.where(~negative).fillna(ctx.source.default_priority).astype(float)


def _incident_columns(gdf: gpd.GeoDataFrame, cols: dict[str, str], ctx: _Reader) -> gpd.GeoDataFrame:
    gdf = _incident_times(gdf, cols, ctx)
    weight, invalid = _numbers(gdf, cols.get("weight"))
    invalid = invalid | (weight < 0)
    gdf = gdf.assign(
        category=_strings(gdf, cols.get("category"), "unknown"),
        description=_strings(gdf, cols.get("description"), ""),
        weight=weight.fillna(1.0),
    )
    gdf = ctx.drop(gdf, invalid.loc[gdf.index], "invalid weight")
    return gdf


def _district_columns(gdf: gpd.GeoDataFrame, cols: dict[str, str], ctx: _Reader) -> gpd.GeoDataFrame:
    names = _strings(gdf, cols.get("name"), _default_names(gdf, "districts"))
    return gdf.assign(name=names, priority=_priorities(gdf, cols, ctx))


def _key_site_columns(gdf: gpd.GeoDataFrame, cols: dict[str, str], ctx: _Reader) -> gpd.GeoDataFrame:
    tier = _strings(gdf, cols.get("tier"), None)  # a cameras.tiers name (checked against the tiers by the plan)
    long = tier.notna() & (tier.astype(str).str.len() > 32)
    if long.any():
        ctx.warn(
            f"{int(long.sum()):,} key sites have a tier longer than 32 characters in column {cols['tier']!r}; "
            "no tier asked for them"
        )
        tier = tier.where(~long, None)
    return gdf.assign(
        name=_strings(gdf, cols.get("name"), _default_names(gdf, "key_sites")),
        category=_strings(gdf, cols.get("category"), "unknown"),
        priority=_priorities(gdf, cols, ctx),
        tier=tier.astype(object).where(tier.notna(), None),
    )


def _station_columns(gdf: gpd.GeoDataFrame, cols: dict[str, str], ctx: _Reader) -> gpd.GeoDataFrame:
    gdf = gdf.assign(name=_strings(gdf, cols.get("name"), _default_names(gdf, "stations")))
    polygonal = gdf.geom_type.isin(_POLYGONAL)
    if polygonal.any():
        gdf = gdf.set_geometry(gdf.geometry.where(~polygonal, gdf.geometry.representative_point()))
    return gdf


def _camera_columns(gdf: gpd.GeoDataFrame, cols: dict[str, str], ctx: _Reader) -> gpd.GeoDataFrame:
    index = gdf.index
    # OSM tags (GDAL other_tags or a tags column): one dict per row; parsing strings row by row is fine
    if "osm_tags" in cols:
        tag_dicts = gdf[cols["osm_tags"]].map(lambda v: v if isinstance(v, dict) else parse_hstore(v))
    else:
        tag_dicts = pd.Series([{}] * len(gdf), index=index, dtype=object)
    # plain OSM-style columns (camera:type, camera:direction…) merge into the tags
    plain = {
        _fold(c): c
        for c in gdf.columns
        if _fold(c) in ("camera type", "camera direction", "direction", "camera mount", "surveillance zone", "camera fov")
    }
    if plain:
        keys = {
            _fold(k): k
            for k in ("camera:type", "camera:direction", "direction", "camera:mount", "surveillance:zone", "camera:fov")
        }
        extra = pd.DataFrame({keys[f]: gdf[c] for f, c in plain.items()}, index=index)
        records = extra.astype(object).where(extra.notna(), None).to_dict("records")
        tag_dicts = pd.Series(
            [{**{k: v for k, v in rec.items() if v is not None}, **tags} for rec, tags in zip(records, tag_dicts)],
            index=index,
            dtype=object,
        )
    parsed = pd.DataFrame(list(tag_dicts.map(parse_osm_camera_tags)), index=index)

    # explicit columns win over tags
    if "camera_type" in cols and cols["camera_type"] not in plain.values():
        raw_type = gdf[cols["camera_type"]]
        camera_type = raw_type.map(normalise_camera_type)
        camera_type = camera_type.where(raw_type.notna(), parsed["camera_type"])
        unknown = raw_type.notna() & (camera_type == "unknown")
        if unknown.any():
            ctx.warn(
                f"{int(unknown.sum()):,} cameras have an unknown camera type in column {cols['camera_type']!r}; "
                "use fixed, dome or ptz"
            )
    else:
        camera_type = parsed["camera_type"]
    if "heading" in cols and cols["heading"] not in plain.values():
        raw_heading = gdf[cols["heading"]]
        heading = raw_heading.map(parse_direction).astype(float)
        bad = _text(raw_heading)
        bad = bad.notna() & heading.isna()
        if bad.any():
            ctx.warn(
                f"{int(bad.sum()):,} cameras have a heading that is neither degrees nor compass letters "
                f"in column {cols['heading']!r}; their heading is unknown"
            )
        heading = heading.fillna(parsed["heading_deg"].astype(float))
    else:
        heading = parsed["heading_deg"].astype(float)
    fov, _ = _numbers(gdf, cols.get("fov") if cols.get("fov") not in plain.values() else None)
    fov = fov.fillna(parsed["fov_deg"].astype(float))
    fov = fov.where(fov.notna() | ~camera_type.isin(ALL_ROUND_TYPES), 360.0)
    bad_fov = (fov <= 0) | (fov > 360)
    if bad_fov.any():
        ctx.warn(f"{int(bad_fov.sum()):,} cameras have a field of view outside (0, 360] degrees; set to unknown")
        fov = fov.where(~bad_fov)
    range_m, _ = _numbers(gdf, cols.get("range"))
    bad_range = range_m <= 0
    if bad_range.any():
        ctx.warn(f"{int(bad_range.sum()):,} cameras have a range ≤ 0 m; set to unknown")
        range_m = range_m.where(~bad_range)

    tag_names = tag_dicts.map(lambda t: t.get("name") or t.get("ref"))
    default_names = _default_names(gdf, "cameras")
    osm_id = next((c for c in gdf.columns if _fold(c) in ("osm id", "osmid")), None)
    if osm_id is not None:
        ids = _text(gdf[osm_id])
        default_names = ("OSM camera " + ids).astype(object).where(ids.notna(), default_names)
    default_names = tag_names.where(tag_names.notna(), default_names)
    n_heading = int(heading.notna().sum())
    logger.info("%s: %d of %d cameras have a heading", ctx.prefix, n_heading, len(gdf))
    owner, connected, quality = _network_columns(gdf, cols, ctx)
    return gdf.assign(
        name=_strings(gdf, cols.get("name"), default_names),
        camera_type=camera_type.astype(object),
        heading_deg=heading.astype(float),
        fov_deg=fov.astype(float),
        range_m=range_m.astype(float),
        mount=_strings(
            gdf,
            cols.get("mount") if cols.get("mount") not in plain.values() else None,
            parsed["mount"].where(parsed["mount"].notna(), "unknown"),
        ),
        zone=_strings(
            gdf,
            cols.get("zone") if cols.get("zone") not in plain.values() else None,
            parsed["zone"].where(parsed["zone"].notna(), "unknown"),
        ),
        owner=owner,
        connected=connected,
        quality=quality,
    )


def _network_columns(gdf: gpd.GeoDataFrame, cols: dict[str, str], ctx: _Reader) -> tuple[pd.Series, pd.Series, pd.Series]:
    """``owner`` (police / social / unknown), ``connected`` (default: all but social cameras) and
    ``quality`` (SD / HD / unknown) of existing cameras; values not understood are warned about
    together and take the default."""
    index = gdf.index
    values: dict[str, pd.Series] = {}
    for key, parse, default in (("owner", parse_owner, "unknown"), ("quality", parse_quality, "unknown")):
        raw = gdf[cols[key]] if key in cols else pd.Series(None, index=index, dtype=object)
        parsed = raw.map(parse)
        bad = parsed.isna()
        if bad.any():
            ctx.warn(
                f"{int(bad.sum()):,} cameras have {'an' if key == 'owner' else 'a'} {key} that is not understood in column {cols[key]!r} "
                f"(use {'police, social or unknown' if key == 'owner' else 'SD or HD'}); set to {default}"
            )
        values[key] = parsed.where(~bad, default).astype(object)
    raw = gdf[cols["connected"]] if "connected" in cols else pd.Series(None, index=index, dtype=object)
    parsed = raw.map(parse_connected)
    bad = parsed.isna() & _text(raw.astype(object)).notna()
    if bad.any():
        ctx.warn(
            f"{int(bad.sum()):,} cameras have a connected value that is neither true nor false in column "
            f"{cols['connected']!r}; social cameras count as not connected, others as connected"
        )
    default = values["owner"] != "social"
    connected = parsed.where(parsed.notna(), default).astype(bool)
    return values["owner"], connected, values["quality"]


_ATTRIBUTES: dict[str, Callable[[gpd.GeoDataFrame, dict[str, str], _Reader], gpd.GeoDataFrame]] = {
    "incidents": _incident_columns,
    "districts": _district_columns,
    "key_sites": _key_site_columns,
    "cameras": _camera_columns,
    "stations": _station_columns,
}


def _check_names(gdf: gpd.GeoDataFrame, kind: str, ctx: _Reader) -> None:
    """Names at most :data:`~geoengine.scenario.NAME_MAX_CHARS` long; district names unique
    (a district is known by its name in reports and ``cameras.lscp_districts``)."""
    if "name" not in gdf.columns:
        return
    names = gdf["name"].astype(str)
    rows = gdf["source_row"] if "source_row" in gdf.columns else pd.Series(np.arange(len(gdf)), index=gdf.index)
    long = names.str.len() > NAME_MAX_CHARS
    if long.any():
        first = int(rows[long].iloc[0]) + 1
        raise ctx.error(
            LayerError,
            f"{int(long.sum()):,} {kind.replace('_', ' ')} names are longer than {NAME_MAX_CHARS} characters "
            f"(the first in data row {first:,}, {len(names[long].iloc[0]):,} characters)",
            field="columns.name",
            hint=f"shorten the names in the file, or set {ctx.prefix}.columns.name to the column of short names",
        )
    repeated = names[names.duplicated(keep=False)]
    if len(repeated):
        shown = sorted(set(repeated))
        text = ", ".join(repr(n) for n in shown[:5]) + (f" and {len(shown) - 5} more" if len(shown) > 5 else "")
        if kind == "districts":
            raise ctx.error(
                LayerError,
                f"{len(shown):,} district names are used by more than one polygon: {text}",
                field="columns.name",
                hint="give every district its own name (or merge its polygons into one multipolygon)",
            )
        if kind == "stations":
            ctx.warn(f"{len(shown):,} station names are used more than once ({text}); a team base by name takes the first")


# --------------------------------------------------------------------------- public
def read_layer(
    kind: str,
    source: LayerSource,
    *,
    network: RoadNetwork | None = None,
    crs: Any = None,
    max_street_distance_m: float = 150.0,
    outside_area_buffer_m: float = 300.0,
    field: str | None = None,
) -> Layer:
    """Read one layer file, validate it and bring it into the network's CRS.

    ``field`` is the scenario path named in messages (default ``layers.<kind>``), e.g.
    ``cameras.exclusion_zones`` for a polygon layer read like districts.

    Parameters
    ----------
    kind
        ``incidents``, ``districts``, ``key_sites``, ``cameras`` or ``stations``.
    source
        The file and how to read it (columns, CRS, date format).
    network
        The road network: its CRS is the target CRS, features outside its area (more
        than ``outside_area_buffer_m`` from any street) are dropped, and points farther than
        ``max_street_distance_m`` from a street are reported in a warning.
    crs
        Target CRS when no network is given; default: the file's CRS if projected,
        else the local UTM zone.

    Raises
    ------
    InputFileNotFoundError
        The file does not exist.
    LayerError
        The file cannot be read, a named column does not exist, the geometry is of the
        wrong type, or no row is usable.
    CRSMismatchError
        Coordinates do not fit the CRS (e.g. projected metres in a lon/lat file).
    LayerOutsideNetworkError
        Every feature lies outside the network's area.
    """
    if kind not in KINDS:
        raise LayerError.single(f"unknown layer kind {kind!r}; use one of {', '.join(KINDS)}", field="layers")
    ctx = _Reader(kind, source, field)
    path = ctx.path
    if not path.is_file():
        raise ctx.error(
            InputFileNotFoundError,
            "file not found" if not path.exists() else "not a file",
            field="path",
            hint=f"check {ctx.prefix}.path (relative paths resolve against the scenario's folder)",
        )
    digest = sha256_file(path)
    frame, is_table = _read_file(ctx)
    rows_read = len(frame)
    if rows_read == 0:
        raise ctx.error(LayerError, "the file holds no rows", field="path", hint="give a file with data")
    frame = frame.reset_index(drop=True)
    frame["source_row"] = np.arange(rows_read, dtype=np.int64)

    table_fields = ("lon", "lat") if is_table else ()
    cols = _resolve_columns(frame, table_fields + _FIELDS[kind], ctx)
    if is_table and not ("lon" in cols and "lat" in cols):
        cols.update(_resolve_columns(frame, ("wkt",), ctx))

    if is_table:
        gdf = _table_to_gdf(frame, cols, ctx)
        crs_note = "" if source.crs else "; CSV coordinates are read as EPSG:4326 unless it is set"
    else:
        gdf = _set_file_crs(frame, ctx)
        crs_note = f"; the file states {gdf.crs.to_string()}" if gdf.crs is not None else ""
    if not gdf.empty:
        gdf = _clean_geometry(gdf, ctx)
    if not gdf.empty:
        gdf = _reproject(gdf, network, crs, ctx)
    if not gdf.empty:
        gdf = _ATTRIBUTES[kind](gdf, cols, ctx)
    if not gdf.empty and network is not None:
        gdf = _clip_to_network(gdf, network, outside_area_buffer_m, ctx, crs_note=crs_note)
    if gdf.empty:
        reasons = ", ".join(f"{reason}: {n:,}" for reason, n in ctx.drop_reasons.items())
        raise ctx.error(
            LayerError,
            f"no usable rows: all {rows_read:,} rows were dropped ({reasons})",
            field="path",
            hint="check the coordinate and date columns and the CRS",
        )
    if network is not None:
        _street_distance_warning(gdf, network, max_street_distance_m, ctx)
    _check_names(gdf, kind, ctx)

    columns = [*_STANDARD_COLUMNS[kind], "source_row"]
    out = gpd.GeoDataFrame(gdf[columns], geometry=gdf.geometry.rename("geometry"), crs=gdf.crs)
    out = out.reset_index(drop=True)
    for column in (
        "name",
        "category",
        "description",
        "camera_type",
        "mount",
        "zone",
        "time_precision",
        "owner",
        "quality",
        "tier",
    ):
        if column in out.columns:
            out[column] = out[column].astype(object)
    rows_used = len(out)
    dropped = rows_read - rows_used
    assert dropped == sum(ctx.drop_reasons.values()), (ctx.drop_reasons, rows_read, rows_used)
    layer = Layer(
        kind=kind,
        gdf=out,
        path=path,
        sha256=digest,
        rows_read=rows_read,
        rows_used=rows_used,
        rows_dropped=dropped,
        drop_reasons=dict(ctx.drop_reasons),
        warnings=tuple(ctx.warnings),
        synthetic=source.synthetic,
        extent=_read_extent(ctx, out.crs) if getattr(source, "extent", None) is not None else None,
    )
    logger.info("%s", layer.summary())
    return layer


def _read_extent(ctx: _Reader, crs: Any) -> Any:
    """``layers.incidents.extent``: the polygons of the recorded area, dissolved, in ``crs``."""
    path = Path(ctx.source.extent)  # type: ignore[attr-defined]
    where = f"{ctx.prefix}.extent"
    if not path.is_file():
        raise InputFileNotFoundError.single(
            "file not found" if not path.exists() else "not a file",
            file=str(path),
            field=where,
            hint=f"check {where} (relative paths resolve against the scenario's folder)",
        )
    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file
        raise LayerError.single(f"cannot read the extent: {type(exc).__name__}", file=str(path), field=where) from None
    geoms = frame.geometry[frame.geometry.notna() & ~frame.geometry.is_empty] if len(frame) else frame.geometry
    if len(geoms) == 0 or not geoms.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        raise LayerError.single(
            "the extent must hold polygons", file=str(path), field=where, hint="give the area as (multi)polygons"
        )
    if frame.crs is None:
        raise LayerError.single("the extent file states no CRS", file=str(path), field=where)
    return shapely.union_all(geoms.to_crs(crs).make_valid().values)


def load_layers(settings: LayersSettings, *, network: RoadNetwork) -> Layers:
    """Read every layer the scenario names, in the network's CRS.

    All layers are read before anything is raised, so the user sees the problems of
    every layer at once: one error names them all (a single failing layer re-raises
    its own error, e.g. :class:`~geoengine.errors.CRSMismatchError`).
    """
    found: dict[str, Layer] = {}
    errors: list[GeoEngineError] = []
    for kind in KINDS:
        source = getattr(settings, kind)
        if source is None:
            continue
        try:
            found[kind] = read_layer(
                kind,
                source,
                network=network,
                max_street_distance_m=settings.max_street_distance_m,
                outside_area_buffer_m=settings.outside_area_buffer_m,
            )
        except GeoEngineError as exc:
            errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        problems = [p for exc in errors for p in (exc.problems or (Problem(str(exc)),))]
        raise LayerError(f"{len(problems)} problems in the layers", problems=problems)
    return Layers(**found)
