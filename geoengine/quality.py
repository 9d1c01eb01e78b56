"""Incident data quality: what a risk surface should not trust blindly.

:func:`check_incidents` looks at an incident table (a layer's ``gdf``: points with
``time``, ``time_precision``, ``category``, optional ``description``) and returns a frozen
:class:`IncidentQuality`, whose ``warnings`` go into the risk stage's warnings and whose
:meth:`IncidentQuality.metrics` is a JSON block for the run manifest. The rules:

* **Stacked coordinates** — a point (coordinates equal to 1 cm) holding at least
  ``risk.stack_min_incidents`` incidents (10) *and* at least ``risk.stack_min_share`` of
  all of them (2 %). Both must hold: police extracts place incidents on block faces and
  anonymous map points (SFPD: 34 of 356 Chinatown points hold 10 or more incidents;
  police.uk: 267 of 459 City of London points do), so a count alone would flag every busy
  street, while the one point with 2 % of a whole area's incidents is, on all three of our
  real files, the police station's address. Each stack is placed: within 50 m of a station
  of the ``stations`` layer (named, with its distance), described as a police station in
  the incidents' own ``description`` column, within 25 m of a district's centroid, a
  geocoder default (at least 5 categories, or every category of the data, at one point),
  an anonymised police.uk map point (descriptions "On or near …"), or one place with few
  categories (possibly a real place: a shop, a transit station). ``risk.stacked`` handles
  the suspect ones (station, district centroid, geocoder default): ``downweight``
  (default) scales each of their incidents' weight by *m / n* so that the point counts as
  *m*, the median incidents per point of the other points (never up: at most 1); ``drop``
  gives them weight 0; ``keep`` leaves them. Map points and one-place stacks are reported
  and kept.
* **Exact duplicates** — timed rows repeating an earlier row's date and time, point and
  category (kept and counted: SFPD extracts have one row per offence code of an incident).
* **Far from streets** — incidents more than ``far_m`` (150 m, the layers' default
  ``max_street_distance_m``) from any street: they snap to a street they may not be on.
* **Dates outside the period** — before ``period[0]`` or after ``period[1]`` (e.g. after
  ``risk.reference_date``), and implausible dates (before 1971 — the 1900/1970 "no date"
  defaults — or after today).
* **Times** — the share with a time of day (the rest is spread by the hour profile), and
  the share of timed incidents at exactly 00:00 or 00:01, a common "time unknown" default.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

if TYPE_CHECKING:
    from .harm import HarmResult
    from .network import RoadNetwork
    from .scenario import RiskSettings

__all__ = ["IncidentQuality", "StackedPoint", "check_incidents"]

STATION_RADIUS_M = 50.0
CENTROID_RADIUS_M = 25.0
FAR_FROM_STREET_M = 150.0
MANY_CATEGORIES = 5
EARLIEST_PLAUSIBLE = dt.date(1971, 1, 1)
GRID_M = 0.01  # coordinates equal to 1 cm are one point


@dataclass(frozen=True)
class StackedPoint:
    """One stacked coordinate: where it is, what it holds, what was done with it."""

    x: float  # incidents' CRS
    y: float
    lon: float | None
    lat: float | None
    incidents: int
    categories: int
    kind: str  # station | district centroid | geocoder default | one place
    place: str  # "12 m from SFPD Central Station (766 Vallejo St)"
    station: str | None
    distance_m: float | None
    weight: float  # multiplier of each of its incidents' weight (1 keep, 0 drop)

    @property
    def counts_as(self) -> float:
        return self.incidents * self.weight

    def as_dict(self) -> dict[str, Any]:
        return {
            "lon": None if self.lon is None else round(self.lon, 6),
            "lat": None if self.lat is None else round(self.lat, 6),
            "incidents": self.incidents,
            "categories": self.categories,
            "kind": self.kind,
            "place": self.place,
            "station": self.station,
            "distance_m": None if self.distance_m is None else round(self.distance_m, 1),
            "weight_each": round(self.weight, 6),
            "counts_as": round(self.counts_as, 3),
        }


@dataclass(frozen=True, eq=False)
class IncidentQuality:
    """The checks' results; ``weight`` multiplies each incident's weight (stack handling)."""

    incidents: int
    stacks: tuple[StackedPoint, ...]
    stacked: str
    stack_min_incidents: int
    stack_min_share: float
    median_per_point: float
    duplicates: int
    far_from_street: int | None  # None: no network to measure against
    far_m: float
    period: tuple[str | None, str | None]
    outside_period: int
    implausible_dates: int
    timed_share: float
    default_time_share: float
    harm: dict[str, Any] | None
    weight: np.ndarray = field(repr=False)
    warnings: tuple[str, ...] = ()

    @property
    def stacked_incidents(self) -> int:
        return sum(s.incidents for s in self.stacks)

    def metrics(self) -> dict[str, Any]:
        """A JSON-ready block for the manifest (``metrics.incident_quality``)."""
        n = max(self.incidents, 1)
        return {
            "incidents": self.incidents,
            "stacked": {
                "rule": {"min_incidents": self.stack_min_incidents, "min_share": self.stack_min_share},
                "handling": self.stacked,
                "points": [s.as_dict() for s in self.stacks],
                "incidents": self.stacked_incidents,
                "share": round(self.stacked_incidents / n, 4),
                "median_per_point": self.median_per_point,
            },
            "duplicates": {"count": self.duplicates, "share": round(self.duplicates / n, 4)},
            "far_from_street": None
            if self.far_from_street is None
            else {"beyond_m": self.far_m, "count": self.far_from_street, "share": round(self.far_from_street / n, 4)},
            "dates": {
                "period": list(self.period),
                "outside_period": self.outside_period,
                "implausible": self.implausible_dates,
            },
            "timed_share": round(self.timed_share, 4),
            "default_time_share": round(self.default_time_share, 4),
            "categories": self.harm,
        }

    def summary(self) -> str:
        return "\n".join(self.warnings) if self.warnings else f"incident quality: {self.incidents:,} incidents, no problem found"


def _lonlat(x: np.ndarray, y: np.ndarray, crs: Any) -> tuple[np.ndarray, np.ndarray] | None:
    if crs is None or len(x) == 0:
        return None
    pts = gpd.GeoSeries(shapely.points(x, y), crs=crs).to_crs(4326)
    return pts.x.to_numpy(), pts.y.to_numpy()


def _to_crs(gdf: gpd.GeoDataFrame | None, crs: Any) -> gpd.GeoDataFrame | None:
    if gdf is None or len(gdf) == 0:
        return None
    gdf = gdf.gdf if hasattr(gdf, "gdf") else gdf
    if crs is not None and gdf.crs is not None and not gdf.crs.equals(crs):
        gdf = gdf.to_crs(crs)
    return gdf


def _place(
    x: float,
    y: float,
    rows: pd.DataFrame,
    n_categories_total: int,
    stations: gpd.GeoDataFrame | None,
    districts: gpd.GeoDataFrame | None,
) -> tuple[str, str, str | None, float | None]:
    """(kind, place text, station name, distance) of a stack at (x, y)."""
    pt = shapely.Point(x, y)
    if stations is not None:
        geoms = np.asarray(stations.geometry.values)
        d = shapely.distance(pt, geoms)
        i = int(np.nanargmin(d)) if np.isfinite(d).any() else -1
        if i >= 0 and d[i] <= STATION_RADIUS_M:
            name = str(stations["name"].iloc[i]) if "name" in stations else f"station {i + 1}"
            return "station", f"{d[i]:.0f} m from {name}", name, float(d[i])
    if "description" in rows:
        desc = rows["description"].dropna().astype(str)
        if len(desc) and desc.str.contains("police", case=False).mean() >= 0.8:
            text = desc.mode().iloc[0][:80]
            return "station", f"at a point described as {text!r}", None, None
        if len(desc) >= 0.8 * len(rows) and desc.str.match(r"(?i)\s*on or near ").mean() >= 0.8:
            text = desc.mode().iloc[0][:80]
            return "map point", f"at the anonymised map point {text!r}", None, None
    if districts is not None:
        cents = np.asarray(districts.geometry.centroid.values)
        d = shapely.distance(pt, cents)
        i = int(np.nanargmin(d)) if np.isfinite(d).any() else -1
        if i >= 0 and d[i] <= CENTROID_RADIUS_M:
            name = str(districts["name"].iloc[i]) if "name" in districts else f"district {i + 1}"
            return "district centroid", f"{d[i]:.0f} m from the centroid of district {name}", None, float(d[i])
    k = int(rows["category"].nunique()) if "category" in rows else 0
    if n_categories_total >= 3 and k >= min(MANY_CATEGORIES, n_categories_total):
        return "geocoder default", f"one point with {k} categories", None, None
    return "one place", f"one point with {k} categor{'y' if k == 1 else 'ies'}", None, None


_LIKELY = {
    "station": "likely the station's address (reports taken there)",
    "district centroid": "likely a default location for the district",
    "geocoder default": "likely a geocoder's default for addresses it could not place",
    "map point": "police.uk places each crime at the nearest of its anonymised map points, so a busy street collects many: kept",
    "one place": "few categories, so possibly a real place (a shop, a transit station): kept",
}
HANDLED_KINDS: frozenset[str] = frozenset({"station", "district centroid", "geocoder default"})
"""Stacks that ``risk.stacked`` downweights or drops; the other kinds are reported and kept."""


def check_incidents(
    incidents: gpd.GeoDataFrame | Any,
    *,
    settings: RiskSettings | None = None,
    network: RoadNetwork | None = None,
    stations: gpd.GeoDataFrame | None = None,
    districts: gpd.GeoDataFrame | None = None,
    period: tuple[dt.date | None, dt.date | None] | None = None,
    harm: HarmResult | None = None,
    far_m: float = FAR_FROM_STREET_M,
    today: dt.date | None = None,
) -> IncidentQuality:
    """Check incidents (see the module docstring); ``stations``/``districts`` place the stacks."""
    from .scenario import RiskSettings

    settings = settings or RiskSettings()
    gdf = incidents.gdf if hasattr(incidents, "gdf") else incidents
    crs = gdf.crs if network is None else network.crs
    if network is not None and gdf.crs is not None and not gdf.crs.equals(network.crs):
        gdf = gdf.to_crs(network.crs)
    stations = _to_crs(stations, crs)
    districts = _to_crs(districts, crs)
    n = len(gdf)
    frame = pd.DataFrame(
        {
            "category": gdf["category"].astype(str).to_numpy() if "category" in gdf else np.full(n, "unknown"),
            "time": pd.to_datetime(gdf["time"]).to_numpy() if "time" in gdf else np.full(n, np.datetime64("NaT")),
            "precision": gdf["time_precision"].astype(str).to_numpy() if "time_precision" in gdf else np.full(n, "date"),
        }
    )
    if "description" in gdf:
        frame["description"] = gdf["description"].to_numpy()
    geoms = np.asarray(gdf.geometry.values)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms)) if n else np.zeros(0, dtype=bool)
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    if ok.any():
        x[ok] = shapely.get_x(geoms[ok])
        y[ok] = shapely.get_y(geoms[ok])
    frame["px"] = np.round(x / GRID_M)
    frame["py"] = np.round(y / GRID_M)
    warnings: list[str] = []
    weight = np.ones(n)

    # ---- stacked coordinates
    located = frame[ok]
    per_point = located.groupby(["px", "py"], sort=False).size()
    threshold = max(settings.stack_min_incidents, int(np.ceil(settings.stack_min_share * n)))
    stacked_keys = per_point[per_point >= threshold]
    others = per_point[per_point < threshold]
    median = float(np.median(others.to_numpy())) if len(others) else 1.0
    stacks: list[StackedPoint] = []
    if len(stacked_keys):
        n_cat = int(frame["category"].nunique())
        key_of = pd.MultiIndex.from_frame(frame[["px", "py"]])
        order = stacked_keys.sort_values(ascending=False)
        sx = np.array([k[0] for k in order.index]) * GRID_M
        sy = np.array([k[1] for k in order.index]) * GRID_M
        ll = _lonlat(sx, sy, crs)
        for j, (key, count) in enumerate(order.items()):
            member = np.flatnonzero(ok & key_of.isin([key]))
            kind, place, station, dist = _place(sx[j], sy[j], frame.iloc[member], n_cat, stations, districts)
            if kind not in HANDLED_KINDS:
                w = 1.0
            elif settings.stacked == "downweight":
                w = min(1.0, median / count)
            elif settings.stacked == "drop":
                w = 0.0
            else:
                w = 1.0
            weight[member] = w
            sp_ = StackedPoint(
                x=float(sx[j]),
                y=float(sy[j]),
                lon=None if ll is None else float(ll[0][j]),
                lat=None if ll is None else float(ll[1][j]),
                incidents=int(count),
                categories=int(frame["category"].iloc[member].nunique()),
                kind=kind,
                place=place,
                station=station,
                distance_m=dist,
                weight=w,
            )
            stacks.append(sp_)
            where = "" if sp_.lon is None else f" (lon {sp_.lon:.5f}, lat {sp_.lat:.5f})"
            handled = {
                "downweight": f"downweighted to count as {sp_.counts_as:g} (the median incidents per point of the others)",
                "drop": "dropped (risk.stacked: drop)",
                "keep": "kept at full weight (risk.stacked: keep)",
            }[settings.stacked]
            if kind == "map point":
                continue  # one warning for all of them, below
            text = f"{handled} — {_LIKELY[kind]}" if kind in HANDLED_KINDS else _LIKELY[kind]
            warnings.append(f"risk: {count:,} incidents at one point{where}, {place}: {text}")
        points = [s for s in stacks if s.kind == "map point"]
        if points:
            listed = ", ".join(f"{s.place.removeprefix('at the anonymised map point ')} ({s.incidents:,})" for s in points[:6])
            more = f" and {len(points) - 6} more" if len(points) > 6 else ""
            warnings.append(
                f"risk: {len(points)} anonymised map points hold at least {threshold:,} incidents each: "
                f"{listed}{more}; {_LIKELY['map point']}"
            )

    # ---- exact duplicates (timed incidents only: two thefts on one date at one shop are two)
    timed_ok = ok & (frame["precision"] == "datetime").to_numpy()
    dup = int(frame[timed_ok].duplicated(["time", "px", "py", "category"]).sum()) if n else 0
    if dup:
        warnings.append(
            f"risk: {dup:,} incidents ({dup / n:.1%}) repeat another incident's date and time, point and category "
            "(kept: extracts may list one row per offence code of one incident)"
        )

    # ---- far from streets
    far: int | None = None
    if network is not None and ok.any():
        uniq = located.drop_duplicates(["px", "py"])
        # a street within far_m of each distinct point (a bounded search, not a full snap)
        tree = shapely.STRtree(np.asarray(network.edges.geometry.values))
        near = tree.query_nearest(geoms[uniq.index.to_numpy()], max_distance=far_m, all_matches=False)[0]
        is_far = np.ones(len(uniq), dtype=bool)
        is_far[near] = False
        far_keys = uniq.loc[is_far, ["px", "py"]]
        if len(far_keys):
            far = int(located.merge(far_keys, on=["px", "py"]).shape[0])
        else:
            far = 0
        if far:
            warnings.append(
                f"risk: {far:,} incidents ({far / n:.1%}) lie more than {far_m:g} m from any street and count on the nearest one"
            )

    # ---- dates
    times = pd.to_datetime(frame["time"])
    start, end = period if period is not None else (None, None)
    outside = np.zeros(n, dtype=bool)
    if start is not None:
        outside |= (times < pd.Timestamp(start)).to_numpy()
    if end is not None:
        outside |= (times >= pd.Timestamp(end) + pd.Timedelta(days=1)).to_numpy()
    n_out = int(outside.sum())
    if n_out:
        span = f"{start or '…'} – {end or '…'}"
        warnings.append(f"risk: {n_out:,} incidents are dated outside the stated period {span}")
    today = today or dt.date.today()
    implausible = int(((times < pd.Timestamp(EARLIEST_PLAUSIBLE)) | (times >= pd.Timestamp(today) + pd.Timedelta(days=1))).sum())
    if implausible:
        warnings.append(
            f"risk: {implausible:,} incidents have implausible dates (before {EARLIEST_PLAUSIBLE.year} or after today): "
            "likely a 'no date' default"
        )

    # ---- times of day
    timed = (frame["precision"] == "datetime").to_numpy() & times.notna().to_numpy()
    timed_share = float(timed.mean()) if n else 0.0
    default_time = 0.0
    if timed.any():
        t = times[timed]
        minute = t.dt.hour.to_numpy() * 60 + t.dt.minute.to_numpy()
        at_default = int(np.isin(minute, (0, 1)).sum())
        default_time = at_default / int(timed.sum())
        if default_time >= 0.01 and at_default >= 10:
            warnings.append(
                f"risk: {at_default:,} timed incidents ({default_time:.1%}; about 0.1 % expected) are at exactly "
                "00:00 or 00:01, a common 'time unknown' default: they count at midnight"
            )

    harm_block = None
    if harm is not None:
        harm_block = {
            "table": harm.table,
            "unknown": dict(sorted(harm.unknown.items(), key=lambda kv: (-kv[1], kv[0]))),
            "non_crime": dict(sorted(harm.non_crime.items(), key=lambda kv: (-kv[1], kv[0]))),
            "non_crime_excluded": harm.excluded,
        }
    return IncidentQuality(
        incidents=n,
        stacks=tuple(stacks),
        stacked=settings.stacked,
        stack_min_incidents=int(settings.stack_min_incidents),
        stack_min_share=float(settings.stack_min_share),
        median_per_point=median,
        duplicates=dup,
        far_from_street=far,
        far_m=float(far_m),
        period=(None if start is None else str(start), None if end is None else str(end)),
        outside_period=n_out,
        implausible_dates=implausible,
        timed_share=timed_share,
        default_time_share=default_time,
        harm=harm_block,
        weight=weight,
        warnings=tuple(warnings),
    )
