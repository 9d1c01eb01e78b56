"""RiskSurface: incidents turned into risk per street segment and time window.

Risk of street segment *s* in window *w* is a density in weighted incidents per metre,
part kept on the incident's own segment (crime repeats at the same places), part a
network kernel density::

    λ_w(s) = β · Σ_{i on s} x_iw / len(s)  +  (1 − β) · mean over sample points p of s of Σ_i x_iw · K(d(i, p))
    x_iw   = a_iw · r_i · h_i                      (β = ``own_segment_share``, default 0.5)

* ``d(i, p)`` is the distance **along the streets** (undirected) from incident *i*
  (snapped to its segment) to sample point *p* (points every ``lixel_m`` along each
  segment); ``K`` is a 1-D kernel with bandwidth ``bandwidth_m`` (quartic by default,
  integrating to 1 along a line), so λ is in weighted incidents per metre. This is the
  "simple" network kernel of Okabe & Sugihara: every branch at a junction receives the
  full kernel value.
* ``a_iw`` is the share of incident *i* that falls in window *w*: 1 or 0 for incidents
  with a time; for incidents with only a date (or a month) the empirical hour-of-day
  profile of the timed incidents (and the weekdays of the month) spreads it over the
  windows (aoristic weighting) — never dropped.
* ``r_i = 0.5 ** (age_days / half_life_days)`` weights recent incidents more;
  ``h_i`` is the harm weight of the incident's category.

Risk is then multiplied by ``1 + district_boost × priority`` on segments inside a
district and ``1 + key_site_boost × priority`` near a key site; grading and the
planners' maps use this prioritised risk, while the backtest (:func:`evaluate_risk`)
uses the crime-only density. The hotspot test is Getis-Ord Gi* on the weighted
incident counts per metre of each segment (segments shorter than ``lixel_m`` count as
that long; not the kernel-smoothed density, whose smoothing alone would make
neighbours alike), with street adjacency (segments sharing a node, and each
segment itself) and a Benjamini–Hochberg false-discovery-rate correction.

Distances come from multi-source shortest paths with a cutoff
(``scipy.sparse.csgraph.dijkstra(limit=bandwidth_m)``) and sparse incident ×
sample-point pairs, processed in chunks — no Python loop over incidents × segments.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy import stats
from scipy.sparse.csgraph import dijkstra

from .errors import InfeasibleSettingsError
from .harm import incident_harm
from .quality import IncidentQuality, check_incidents
from .risk_model import RiskModel, blend_terms, select_model
from .scenario import ALL_DAY, RiskSettings, TimeWindow

if TYPE_CHECKING:
    from .network import RoadNetwork

__all__ = [
    "LEVELS",
    "NO_DATA",
    "data_extent",
    "RiskEvaluation",
    "RiskSurface",
    "estimate_risk",
    "evaluate_risk",
    "getis_ord_gi_star",
    "harm_weights",
    "hour_profile",
    "network_kernel_density",
    "split_incidents",
    "window_weights",
]

log = logging.getLogger(__name__)

LEVELS: tuple[str, ...] = ("red", "orange", "yellow", "blue", "no data")
NO_DATA = "no data"  # the level of streets outside the area the incidents cover
LEVEL_COLOURS: dict[str, str] = {
    "red": "#d7191c",
    "orange": "#fd8d3c",
    "yellow": "#fecc5c",
    "blue": "#2c7bb6",
    NO_DATA: "#9e9e9e",
}
EVAL_SHARES: tuple[float, ...] = (0.01, 0.05, 0.10)
_BINS_PER_HOUR = 4
_BINS = 24 * _BINS_PER_HOUR
_CHUNK_INCIDENTS = 20_000


# --------------------------------------------------------------------------- street geometry
@dataclass(frozen=True)
class StreetSamples:
    """Undirected street segments as arrays, with sample points along them."""

    segment_id: np.ndarray  # (S,)
    u: np.ndarray  # node index of the segment's start (geometry starts there)
    v: np.ndarray
    length: np.ndarray  # metres
    graph: sp.csr_matrix  # N×N undirected, min segment length between two nodes
    n_nodes: int
    sample_seg: np.ndarray  # (P,) segment position of each sample point
    sample_t: np.ndarray  # (P,) distance from the segment's start
    seg_first_sample: np.ndarray  # (S,) index of the segment's first sample
    seg_samples: np.ndarray  # (S,) number of samples
    node_samples: sp.csr_matrix  # N×P: distance + 1 from node to sample point on an adjacent segment (0 = none)
    geometry: np.ndarray  # (S,) LineStrings


def _streets(network: RoadNetwork, lixel_m: float) -> StreetSamples:
    edges = network.edges
    first = edges.reset_index().drop_duplicates("segment_id").sort_values("segment_id")
    node_ids = np.asarray(network.nodes.index)
    pos = pd.Series(np.arange(len(node_ids)), index=node_ids)
    u = pos.loc[first["u"].to_numpy()].to_numpy()
    v = pos.loc[first["v"].to_numpy()].to_numpy()
    length = np.maximum(first["length_m"].to_numpy(dtype=float), 1e-3)
    n = len(node_ids)
    g = sp.coo_matrix((length, (u, v)), shape=(n, n)).tocsr()
    # keep the shortest of parallel segments, in both directions
    both = sp.coo_matrix((np.r_[length, length], (np.r_[u, v], np.r_[v, u])), shape=(n, n))
    order = np.lexsort((both.data, both.row * n + both.col))
    key = (both.row * n + both.col)[order]
    keep = order[np.r_[True, key[1:] != key[:-1]]]
    g = sp.csr_matrix((both.data[keep], (both.row[keep], both.col[keep])), shape=(n, n))

    n_samples = np.maximum(1, np.ceil(length / lixel_m).astype(np.int64))
    seg_of = np.repeat(np.arange(len(length)), n_samples)
    first_sample = np.r_[0, np.cumsum(n_samples)[:-1]]
    j = np.arange(len(seg_of)) - first_sample[seg_of]
    t = (j + 0.5) * length[seg_of] / n_samples[seg_of]
    # node → sample distances along the sample's own segment (+1 so that 0 means "none")
    rows = np.r_[u[seg_of], v[seg_of]]
    cols = np.r_[np.arange(len(seg_of)), np.arange(len(seg_of))]
    dist = np.r_[t, length[seg_of] - t] + 1.0
    node_samples = sp.csr_matrix((dist, (rows, cols)), shape=(n, len(seg_of)))
    # loops (u == v) sum duplicates: keep the shorter way round
    if (u == v).any():
        ns = sp.coo_matrix((dist, (rows, cols)), shape=(n, len(seg_of)))
        order = np.lexsort((ns.data, ns.row * len(seg_of) + ns.col))
        k = (ns.row * len(seg_of) + ns.col)[order]
        keep = order[np.r_[True, k[1:] != k[:-1]]]
        node_samples = sp.csr_matrix((ns.data[keep], (ns.row[keep], ns.col[keep])), shape=(n, len(seg_of)))
    return StreetSamples(
        segment_id=first["segment_id"].to_numpy(),
        u=u,
        v=v,
        length=length,
        graph=g,
        n_nodes=n,
        sample_seg=seg_of,
        sample_t=t,
        seg_first_sample=first_sample,
        seg_samples=n_samples,
        node_samples=node_samples,
        geometry=np.asarray(first.geometry.values),
    )


def _kernel(d: np.ndarray, bandwidth_m: float, kind: str) -> np.ndarray:
    u = d / bandwidth_m
    inside = u < 1.0
    if kind == "quartic":
        k = 15.0 / 16.0 * (1 - u**2) ** 2
    elif kind == "triangular":
        k = 1.0 - u
    elif kind == "uniform":
        k = np.full_like(u, 0.5)
    else:  # pragma: no cover - validated by the scenario model
        raise ValueError(kind)
    return np.where(inside, k / bandwidth_m, 0.0)


def _rows_gather(m: sp.csr_matrix, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each requested row r_k: (k repeated, column, value) of its stored entries, vectorised."""
    starts = m.indptr[rows]
    counts = m.indptr[rows + 1] - starts
    owner = np.repeat(np.arange(len(rows)), counts)
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    idx = starts[owner] + within
    return owner, m.indices[idx], m.data[idx]


def _incident_positions(network: RoadNetwork, streets: StreetSamples, points: gpd.GeoSeries) -> tuple[np.ndarray, np.ndarray]:
    """(segment position, offset from the segment's start) for each point."""
    snap = network.snap(points)
    seg_pos = pd.Series(np.arange(len(streets.segment_id)), index=streets.segment_id)
    s = seg_pos.loc[snap["segment_id"].to_numpy()].to_numpy()
    node_pos = pd.Series(np.arange(streets.n_nodes), index=np.asarray(network.nodes.index))
    su = node_pos.loc[snap["u"].to_numpy()].to_numpy()
    forward = su == streets.u[s]
    off = snap["offset_m"].to_numpy(dtype=float)
    o = np.where(forward, off, streets.length[s] - off)
    return s, np.clip(o, 0.0, streets.length[s])


def density_at_samples(
    streets: StreetSamples,
    seg: np.ndarray,
    offset: np.ndarray,
    weights: np.ndarray,
    *,
    bandwidth_m: float,
    kernel: str,
) -> np.ndarray:
    """Σ_i weights[i, w] · K(d(i, p)) for every sample point p: array (P, W)."""
    n_p = len(streets.sample_seg)
    out = np.zeros((n_p, weights.shape[1]))
    if len(seg) == 0:
        return out
    ends = np.unique(np.r_[streets.u[seg], streets.v[seg]])
    src_pos = np.full(streets.n_nodes, -1)
    src_pos[ends] = np.arange(len(ends))
    # node-to-node distances within the bandwidth, from every node an incident lies next to
    parts = []
    for lo in range(0, len(ends), 512):
        d = dijkstra(streets.graph, directed=False, indices=ends[lo : lo + 512], limit=bandwidth_m)
        r, c = np.nonzero(np.isfinite(d))
        parts.append(sp.csr_matrix((d[r, c] + 1.0, (r + lo, c)), shape=(len(ends), streets.n_nodes)))
    dist_nodes = sp.vstack(parts).tocsr()

    for lo in range(0, len(seg), _CHUNK_INCIDENTS):
        s = seg[lo : lo + _CHUNK_INCIDENTS]
        o = offset[lo : lo + _CHUNK_INCIDENTS]
        n_i = len(s)
        cand_i, cand_p, cand_d = [], [], []
        # 1. along the incident's own segment
        first, count = streets.seg_first_sample[s], streets.seg_samples[s]
        own_i = np.repeat(np.arange(n_i), count)
        own_p = np.repeat(first, count) + (np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count))
        cand_i.append(own_i)
        cand_p.append(own_p)
        cand_d.append(np.abs(o[own_i] - streets.sample_t[own_p]))
        # 2. through the segment's two ends to nodes within the bandwidth, then onto adjacent segments
        for end, lead in ((streets.u[s], o), (streets.v[s], streets.length[s] - o)):
            k, node, dn = _rows_gather(dist_nodes, src_pos[end])
            dn = dn - 1.0 + lead[k]
            near = dn < bandwidth_m
            k, node, dn = k[near], node[near], dn[near]
            k2, p, dp = _rows_gather(streets.node_samples, node)
            total = dn[k2] + dp - 1.0
            near = total < bandwidth_m
            cand_i.append(k[k2][near])
            cand_p.append(p[near])
            cand_d.append(total[near])
        ci, cp, cd = np.concatenate(cand_i), np.concatenate(cand_p), np.concatenate(cand_d)
        # shortest way from each incident to each sample point
        key = ci.astype(np.int64) * n_p + cp
        order = np.lexsort((cd, key))
        key = key[order]
        first_of = order[np.r_[True, key[1:] != key[:-1]]] if len(key) else order
        kval = _kernel(cd[first_of], bandwidth_m, kernel)
        m = sp.csr_matrix((kval, (cp[first_of], ci[first_of])), shape=(n_p, n_i))
        out += m @ weights[lo : lo + n_i]
    return out


def network_kernel_density(
    network: RoadNetwork,
    points: gpd.GeoSeries,
    weights: np.ndarray | None = None,
    *,
    bandwidth_m: float = 150.0,
    kernel: str = "quartic",
    lixel_m: float = 25.0,
) -> pd.DataFrame:
    """Network kernel density per street segment (weighted points per metre).

    ``weights`` is (n,) or (n, k); the result has one column per weight column
    (``0…k-1``), indexed by ``segment_id``. Each segment's value is the mean of the
    density at its sample points.
    """
    streets = _streets(network, lixel_m)
    w = np.ones((len(points), 1)) if weights is None else np.asarray(weights, dtype=float)
    if w.ndim == 1:
        w = w[:, None]
    seg, off = _incident_positions(network, streets, points)
    dens = density_at_samples(streets, seg, off, w, bandwidth_m=bandwidth_m, kernel=kernel)
    per_seg = np.zeros((len(streets.length), w.shape[1]))
    np.add.at(per_seg, streets.sample_seg, dens)
    per_seg /= streets.seg_samples[:, None]
    return pd.DataFrame(per_seg, index=pd.Index(streets.segment_id, name="segment_id"))


# --------------------------------------------------------------------------- time
def hour_profile(times: pd.Series, precision: pd.Series) -> np.ndarray:
    """Empirical share of incidents per quarter hour (96 bins) from the timed incidents.

    Falls back to a flat profile without timed incidents; a small prior (one
    incident spread evenly) keeps every bin positive.
    """
    timed = times[(precision == "datetime") & times.notna()]
    counts = np.zeros(_BINS)
    if len(timed):
        minutes = timed.dt.hour.to_numpy() * 60 + timed.dt.minute.to_numpy()
        counts += np.bincount(minutes // (60 // _BINS_PER_HOUR), minlength=_BINS)
    counts += 1.0 / _BINS
    return counts / counts.sum()


def _coverage(windows: tuple[TimeWindow, ...]) -> np.ndarray:
    """(W, 7, 96): whether window w covers weekday d at quarter-hour bin b (its midpoint)."""
    out = np.zeros((len(windows), 7, _BINS), dtype=bool)
    mids = (np.arange(_BINS) + 0.5) * (60 / _BINS_PER_HOUR)
    for k, w in enumerate(windows):
        for d in range(7):
            out[k, d] = [w.contains_minute(m, d) for m in mids]
    return out


def window_weights(
    times: pd.Series,
    precision: pd.Series,
    windows: tuple[TimeWindow, ...],
    *,
    profile: np.ndarray | None = None,
) -> np.ndarray:
    """Share of each incident in each window: (n, W).

    Timed incidents count 1 in every window their time falls in. Incidents with only
    a date are spread over the day by ``profile`` (default: :func:`hour_profile` of
    the timed ones); with only a month, also over the weekdays of that month.
    """
    prof = hour_profile(times, precision) if profile is None else profile
    cov = _coverage(windows).astype(float)  # W,7,B
    n = len(times)
    out = np.zeros((n, len(windows)))
    t = pd.to_datetime(times.reset_index(drop=True))
    prec = precision.reset_index(drop=True).to_numpy()
    timed = np.flatnonzero(prec == "datetime")
    if len(timed):
        tt = t.iloc[timed]
        b = (tt.dt.hour.to_numpy() * 60 + tt.dt.minute.to_numpy()) // (60 // _BINS_PER_HOUR)
        out[timed] = cov[:, tt.dt.day_of_week.to_numpy(), b].T
    dated = np.flatnonzero(prec == "date")
    if len(dated):
        per_day = cov @ prof  # W,7: share of a day on weekday d that falls in window w
        out[dated] = per_day[:, t.iloc[dated].dt.day_of_week.to_numpy()].T
    monthly = np.flatnonzero(prec == "month")
    if len(monthly):
        per_day = cov @ prof
        start = t.iloc[monthly].dt.to_period("M").dt.start_time
        days_in = t.iloc[monthly].dt.days_in_month.to_numpy()
        first_dow = start.dt.day_of_week.to_numpy()
        # weekdays of the month: each weekday occurs 4 times, plus one for the first (days-28)
        share = np.full((len(monthly), 7), 4.0)
        for extra in range(3):
            has = days_in - 28 > extra
            share[np.flatnonzero(has), (first_dow[has] + extra) % 7] += 1
        share /= days_in[:, None]
        out[monthly] = share @ per_day.T
    return out


def _effective_time(times: pd.Series, precision: pd.Series) -> pd.Series:
    """A representative instant: mid-day for dates, mid-month for months."""
    t = pd.to_datetime(times)
    add = np.where(precision == "date", 12 * 3600, np.where(precision == "month", 0, 0))
    eff = t + pd.to_timedelta(add, unit="s")
    month = (precision == "month").to_numpy()
    if month.any():
        mid = t[month] + pd.to_timedelta(t[month].dt.days_in_month / 2, unit="D")
        eff = eff.copy()
        eff[month] = mid
    return eff


# --------------------------------------------------------------------------- harm
def harm_weights(categories: pd.Series, table: dict[str, float]) -> tuple[np.ndarray, list[str]]:
    """Harm weight per incident from category keywords; unknown categories weigh 1.

    A key matches a category when it appears in it as a word (case-insensitive); the
    longest matching key wins. Returns the weights and the sorted unknown categories.
    """
    keys = sorted(table, key=len, reverse=True)
    patterns = [(re.compile(rf"(?<![a-z]){re.escape(k.lower())}"), table[k]) for k in keys]
    lookup: dict[str, float | None] = {}
    for cat in pd.unique(categories.astype(str)):
        text = cat.lower()
        lookup[cat] = next((w for pat, w in patterns if pat.search(text)), None)
    unknown = sorted(c for c, w in lookup.items() if w is None)
    weights = categories.astype(str).map(lambda c: 1.0 if lookup[c] is None else lookup[c]).to_numpy(dtype=float)
    return weights, unknown


# --------------------------------------------------------------------------- hotspots
def getis_ord_gi_star(values: np.ndarray, adjacency: sp.spmatrix) -> np.ndarray:
    """Getis-Ord Gi* z-scores with binary weights that include each unit itself.

    ``adjacency`` is a symmetric 0/1 matrix (its diagonal is set to 1 here). Same
    statistic and moments as ``esda.G_Local(y, w, transform="B", star=True).Zs``.
    """
    y = np.asarray(values, dtype=float)
    n = len(y)
    w = ((sp.csr_matrix(adjacency) != 0) + sp.identity(n, format="csr", dtype=bool)).astype(float)
    total = y.sum()
    if n < 3 or total <= 0:
        return np.zeros(n)
    mean = total / n
    var = (y**2).mean() - mean**2
    if var <= 0:
        return np.zeros(n)
    card = np.asarray(w.sum(axis=1)).ravel()
    g = (w @ y) / total
    expected = card / n
    variance = card * (n - card) / (n - 1) / n**2 * var / mean**2
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (g - expected) / np.sqrt(variance)
    return np.nan_to_num(z)


def _adjacency(streets: StreetSamples) -> sp.csr_matrix:
    """Segments that share a street node (and each segment with itself)."""
    s = len(streets.length)
    inc = sp.csr_matrix(
        (np.ones(2 * s), (np.r_[np.arange(s), np.arange(s)], np.r_[streets.u, streets.v])), shape=(s, streets.n_nodes)
    )
    adj = (inc @ inc.T).tocsr()
    adj.data[:] = 1.0
    return adj


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False)
class RiskSurface:
    """Risk per street segment per time window, graded and tested for hotspots.

    ``table`` is long: one row per (segment_id, window) with ``risk`` (expected
    weighted incidents on the segment over the estimation period, prioritised),
    ``risk_per_km``, ``crime_per_km`` (the density before priority multipliers),
    ``level`` (red/orange/yellow/blue), ``gi_z``, ``gi_p``, ``gi_q`` (FDR-adjusted)
    and ``hotspot``. ``overall`` is the same for all times of day (window ``"*"``).
    """

    network: RoadNetwork
    windows: tuple[TimeWindow, ...]
    segments: gpd.GeoDataFrame  # segment_id index: name, highway, length_m, priority, geometry
    table: pd.DataFrame
    overall: pd.DataFrame
    settings: RiskSettings
    profile: np.ndarray  # 96 quarter-hour shares from the timed incidents
    incidents_used: int
    untimed_share: float
    reference_date: dt.date | None
    unknown_categories: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    model: RiskModel | None = None  # how the surface was estimated (chosen parameters, CV scores)
    kde_per_km: np.ndarray | None = field(default=None, repr=False)  # (S, W+1) KDE alone, last column all times
    requested_settings: RiskSettings | None = field(default=None, repr=False)  # as given (auto unresolved)
    quality: IncidentQuality | None = field(default=None, repr=False)  # incident data quality (geoengine.quality)
    extent: Any = field(default=None, repr=False)  # the area with data (shapely polygon), None: everywhere
    extent_source: str = "none"  # where the extent came from
    data_share: float = 1.0  # share of street length inside the extent
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def window_names(self) -> list[str]:
        return [w.name for w in self.windows]

    def for_window(self, window: str) -> gpd.GeoDataFrame:
        """The segments with this window's risk columns (``"*"`` for all times)."""
        block = self.overall if window == "*" else self.table[self.table["window"] == window]
        if window != "*" and block.empty:
            raise KeyError(f"no window {window!r}; windows: {', '.join(self.window_names)}")
        block = block.set_index("segment_id").drop(columns=["window"], errors="ignore")
        return gpd.GeoDataFrame(self.segments.join(block), geometry="geometry", crs=self.segments.crs)

    def level_counts(self) -> dict[str, dict[str, int]]:
        """Segments per level per window."""
        counts = self.table.groupby(["window", "level"]).size().unstack(fill_value=0)
        return {w: {lv: int(counts.loc[w, lv]) if lv in counts.columns else 0 for lv in LEVELS} for w in self.window_names}

    def no_data_segments(self) -> np.ndarray:
        """Ids of the segments outside the area the incidents cover (level ``no data``)."""
        return self.overall.loc[self.overall["level"].to_numpy() == NO_DATA, "segment_id"].to_numpy()

    def hotspot_segments(self) -> int:
        """Segments that are a significant hotspot in at least one window."""
        return int(self.table.loc[self.table["hotspot"], "segment_id"].nunique())

    def district_table(self, districts: gpd.GeoDataFrame) -> pd.DataFrame:
        """Risk per district per window: street km, risk, risk per km, red/orange km, hotspot segments."""
        mids = gpd.GeoDataFrame(
            {"segment_id": self.segments.index},
            geometry=shapely.line_interpolate_point(self.segments.geometry.values, 0.5, normalized=True),
            crs=self.segments.crs,
        )
        d = districts[["name", "geometry"]].to_crs(self.segments.crs).reset_index(drop=True)
        hit = gpd.sjoin(mids, d, predicate="within")[["segment_id", "name"]]
        rows = []
        for name, grp in hit.groupby("name", sort=False):
            ids = grp["segment_id"].to_numpy()
            km = self.segments.loc[ids, "length_m"].sum() / 1000
            sub = self.table[self.table["segment_id"].isin(ids)]
            for w in self.window_names:
                t = sub[sub["window"] == w]
                length = self.segments.loc[t["segment_id"], "length_m"].to_numpy()
                rows.append(
                    {
                        "district": name,
                        "window": w,
                        "street_km": round(km, 3),
                        "risk": float(t["risk"].sum()),
                        "risk_per_km": float(t["risk"].sum() / km) if km else 0.0,
                        "red_km": float(length[t["level"].to_numpy() == "red"].sum() / 1000),
                        "orange_km": float(length[t["level"].to_numpy() == "orange"].sum() / 1000),
                        "hotspot_segments": int(t["hotspot"].sum()),
                    }
                )
        return pd.DataFrame(rows)

    def summary(self) -> str:
        lines = [
            f"risk surface: {len(self.segments)} segments × {len(self.windows)} windows "
            f"from {self.incidents_used:,} incidents ({self.untimed_share:.0%} without a time, spread by profile)",
            f"bandwidth {self.settings.bandwidth_m:g} m ({self.settings.kernel}), half-life "
            + (f"{self.settings.half_life_days:g} days" if self.settings.half_life_days else "none"),
        ]
        if self.model is not None:
            lines.append(f"model: {self.model.describe()}")
        for w, c in self.level_counts().items():
            lines.append(f"  {w:<14} " + ", ".join(f"{lv} {n}" for lv, n in c.items()))
        lines.append(f"hotspot segments (Gi*, FDR {self.settings.fdr_alpha:g}): {self.hotspot_segments()}")
        if self.data_share < 1.0:
            lines.append(f"streets with data: {self.data_share:.0%} of the length ({self.extent_source})")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<RiskSurface {len(self.segments)} segments × {len(self.windows)} windows>"

    def metrics(self, evaluation: RiskEvaluation | None = None) -> dict[str, dict[str, Any]]:
        """The manifest's ``risk`` block (and ``incident_quality``, ``evaluation`` when known):
        windows, hotspots, data extent, the model chosen and, with ``evaluation``, the
        held-out PAI and PEI of the model, KDE alone and counts."""
        block: dict[str, Any] = {
            "windows": self.window_names,
            "hotspot_segments": self.hotspot_segments(),
            "pai_5pct": None,
            "incidents_used": self.incidents_used,
            "untimed_share": round(self.untimed_share, 4),
            "bandwidth_m": self.settings.bandwidth_m,
            "levels": self.level_counts(),
            "unknown_categories": list(self.unknown_categories),
            "data_extent": {
                "source": self.extent_source,
                "street_length_share_with_data": round(self.data_share, 4),
                "area_km2": round(float(self.extent.area) / 1e6, 3) if self.extent is not None else None,
            },
        }
        out: dict[str, dict[str, Any]] = {"risk": block}
        if self.quality is not None:
            out["incident_quality"] = self.quality.metrics()
        if evaluation is not None:

            def r(v: float | None) -> float | None:
                return None if v is None else round(v, 4)

            block["pai_5pct"] = r(evaluation.pai(0.05))
            block["baseline_pai_5pct"] = r(evaluation.pai(0.05, method="baseline"))
            block["pai_5pct_by_window"] = {w: r(evaluation.pai(0.05, window=w)) for w in self.window_names}
            block["baseline_pai_5pct_by_window"] = {
                w: r(evaluation.pai(0.05, window=w, method="baseline")) for w in self.window_names
            }
            block["pai"] = {
                f"{int(round(s * 100))}pct": {"risk": r(evaluation.pai(s)), "baseline": r(evaluation.pai(s, method="baseline"))}
                for s in (0.01, 0.05, 0.10)
            }
            block["heldout_incidents"] = evaluation.heldout_incidents
            if hasattr(evaluation, "metrics"):  # PAI and PEI at 1/5/10 % for the model, KDE alone and counts
                block.update(evaluation.metrics(self.window_names))
            out["evaluation"] = {"heldout_incidents": evaluation.heldout_incidents, "pai_5pct": block["pai_5pct"]}
        if self.model is not None:
            block["model"] = self.model.as_dict()
        return out


def data_extent(points: gpd.GeoSeries, *, method: str = "concave", buffer_m: float, ratio: float = 0.3) -> Any:
    """The area the incidents cover: their concave (``ratio``) or convex hull, buffered by ``buffer_m``.

    A street outside it has no incident within reach of the kernel, and no evidence of being
    safe either: the records may simply stop there (a district's own extract, a study area).
    """
    geoms = points.values[~(points.isna().to_numpy() | points.is_empty.to_numpy())]
    if len(geoms) == 0:
        return None
    hull_of = shapely.multipoints(shapely.get_coordinates(geoms))
    hull = shapely.concave_hull(hull_of, ratio=ratio) if method == "concave" else shapely.convex_hull(hull_of)
    return shapely.buffer(hull, max(buffer_m, 1.0))


def _with_data(segments: gpd.GeoDataFrame, area: Any) -> np.ndarray:
    """Segments whose midpoint lies in ``area`` (all of them without one)."""
    if area is None:
        return np.ones(len(segments), dtype=bool)
    mids = shapely.line_interpolate_point(segments.geometry.values, 0.5, normalized=True)
    shapely.prepare(area)
    return np.asarray(shapely.intersects(area, mids), dtype=bool)


def _grade_with_data(values: np.ndarray, length: np.ndarray, settings: RiskSettings, with_data: np.ndarray) -> np.ndarray:
    """:func:`_grade` among the streets with data; the others are ``no data``."""
    level = np.full(len(values), NO_DATA, dtype=object)
    level[with_data] = _grade(values[with_data], length[with_data], settings)
    return level


def _grade(values: np.ndarray, length: np.ndarray, settings: RiskSettings) -> np.ndarray:
    """Level per segment from risk per km (values)."""
    level = np.full(len(values), "blue", dtype=object)
    if settings.thresholds_per_km is not None:
        red, orange, yellow = settings.thresholds_per_km
        level[values >= yellow] = "yellow"
        level[values >= orange] = "orange"
        level[values >= red] = "red"
        level[values <= 0] = "blue"
        return level
    order = np.lexsort((np.arange(len(values)), -values))
    before = np.r_[0.0, np.cumsum(length[order])[:-1]] / max(length.sum(), 1e-9)
    cuts = np.cumsum(settings.level_shares) - 1e-9  # shares of a round total land on the boundary
    ranked = np.full(len(values), "blue", dtype=object)
    ranked[before < cuts[2]] = "yellow"
    ranked[before < cuts[1]] = "orange"
    ranked[before < cuts[0]] = "red"
    level[order] = ranked
    level[values <= 0] = "blue"
    return level


def _priority(
    segments: gpd.GeoDataFrame,
    districts: gpd.GeoDataFrame | None,
    key_sites: gpd.GeoDataFrame | None,
    settings: RiskSettings,
) -> np.ndarray:
    mult = np.ones(len(segments))
    if districts is not None and len(districts) and settings.district_boost > 0:
        mids = shapely.line_interpolate_point(segments.geometry.values, 0.5, normalized=True)
        d = districts.to_crs(segments.crs)
        prio = d["priority"].to_numpy(dtype=float) if "priority" in d else np.ones(len(d))
        tree = shapely.STRtree(np.asarray(d.geometry.values))
        seg_i, dist_i = tree.query(mids, predicate="within")
        boost = np.ones(len(segments))
        np.maximum.at(boost, seg_i, 1.0 + settings.district_boost * prio[dist_i])
        mult *= boost
    if key_sites is not None and len(key_sites) and settings.key_site_boost > 0:
        k = key_sites.to_crs(segments.crs)
        prio = k["priority"].to_numpy(dtype=float) if "priority" in k else np.ones(len(k))
        tree = shapely.STRtree(np.asarray(segments.geometry.values))
        site_i, seg_i = tree.query(np.asarray(k.geometry.values), predicate="dwithin", distance=settings.key_site_radius_m)
        boost = np.ones(len(segments))
        np.maximum.at(boost, seg_i, 1.0 + settings.key_site_boost * prio[site_i])
        mult *= boost
    return mult


def _incident_frame(incidents: gpd.GeoDataFrame | Any) -> gpd.GeoDataFrame:
    gdf = incidents.gdf if hasattr(incidents, "gdf") else incidents
    for column in ("time", "time_precision"):
        if column not in gdf.columns:
            raise InfeasibleSettingsError.single(
                f"incidents need a '{column}' column",
                field=f"layers.incidents.{column}",
                hint="read them with geoengine.layers.read_layer('incidents', ...)",
            )
    return gdf


def split_incidents(incidents: gpd.GeoDataFrame, split: dt.date | None) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """(estimation, held-out): incidents before ``split`` and on or after it."""
    if split is None:
        return incidents, incidents.iloc[0:0]
    late = pd.to_datetime(incidents["time"]) >= pd.Timestamp(split)
    return incidents[~late.to_numpy()], incidents[late.to_numpy()]


def estimate_risk(
    network: RoadNetwork,
    incidents: gpd.GeoDataFrame,
    *,
    windows: tuple[TimeWindow, ...] | list[TimeWindow] = (ALL_DAY,),
    settings: RiskSettings | None = None,
    districts: gpd.GeoDataFrame | None = None,
    key_sites: gpd.GeoDataFrame | None = None,
    stations: gpd.GeoDataFrame | None = None,
    extent: Any = None,
) -> RiskSurface:
    """Risk per street segment and time window from incidents (see the module docstring).

    Parameters
    ----------
    network
        The streets (metric CRS).
    incidents
        Points in the network CRS with ``time``, ``time_precision``, ``category`` and
        optional ``weight`` (a :class:`~geoengine.layers.Layer`'s ``gdf``, or the layer).
    windows
        The scenario's time windows.
    settings
        Bandwidth, kernel, recency, harm weights, priority boosts, grading, FDR.
    districts, key_sites
        Optional priority layers (``priority`` column, default 1).
    stations
        Optional stations layer: stacked incident coordinates near one are named after it
        (:func:`geoengine.quality.check_incidents`).
    extent
        The area the incidents were recorded in (a shapely polygon in the network CRS,
        ``layers.incidents.extent``); default: the incidents' hull buffered by the bandwidth
        (``risk.extent``). Streets outside it are graded ``no data``.
    """
    settings = settings or RiskSettings()
    windows = tuple(windows)
    inc = _incident_frame(incidents)
    if inc.crs is not None and not network.crs.equals(inc.crs):
        inc = inc.to_crs(network.crs)
    warnings: list[str] = []
    streets = _streets(network, settings.lixel_m)
    segs_all = network.segments()
    segments = segs_all.loc[streets.segment_id, ["name", "highway", "length_m", "geometry"]]
    segments = gpd.GeoDataFrame(segments, geometry="geometry", crs=network.crs)

    times = pd.to_datetime(inc["time"]).reset_index(drop=True)
    precision = inc["time_precision"].astype(str).reset_index(drop=True)
    profile = hour_profile(times, precision)
    if len(inc) and not (precision == "datetime").any():
        warnings.append("no incident has a time of day: date-only incidents are spread evenly over the day")
    all_windows = (*windows, ALL_DAY)
    a = window_weights(times, precision, all_windows, profile=profile)

    eff = _effective_time(times, precision)
    reference = settings.reference_date or (eff.max().date() if len(eff) else None)
    categories = (
        inc["category"].astype(str).reset_index(drop=True) if "category" in inc else pd.Series("unknown", index=range(len(inc)))
    )
    harm_result = incident_harm(categories, settings)  # the scenario's harm table (geoengine.harm)
    harm, unknown = harm_result.weights, sorted(harm_result.unknown)
    if settings.weighting == "count":
        harm = (harm > 0).astype(float)  # every crime incident 1; excluded records stay 0
    warnings.extend(harm_result.warnings())
    base = inc["weight"].to_numpy(dtype=float) if "weight" in inc else np.ones(len(inc))
    quality = check_incidents(
        inc,
        settings=settings,
        network=network,
        stations=stations,
        districts=districts,
        period=(None, settings.reference_date),
        harm=harm_result,
    )
    base = base * quality.weight  # stacked coordinates: risk.stacked (downweight, drop, keep)
    warnings.extend(quality.warnings)
    seg, off = _incident_positions(network, streets, inc.geometry.reset_index(drop=True))

    # the model: explicit settings, or bandwidth / half-life / blend chosen on held-out months
    model = select_model(streets, seg, harm * base, eff, settings, kernel=settings.kernel)
    if model.half_life_days and len(eff):
        age_days = (pd.Timestamp(reference) + pd.Timedelta(days=1) - eff).dt.total_seconds().to_numpy() / 86400.0
        recency = 0.5 ** (np.maximum(age_days, 0.0) / model.half_life_days)
    else:
        recency = np.ones(len(inc))
    w = a * (harm * base)[:, None]  # long-term weights per window
    n_cols = w.shape[1]
    decays = model.half_life_days is not None
    dens_w = np.c_[w, w * recency[:, None]] if decays else w
    dens = density_at_samples(streets, seg, off, dens_w, bandwidth_m=model.bandwidth_m, kernel=settings.kernel)
    kde = np.zeros((len(streets.length), dens_w.shape[1]))
    np.add.at(kde, streets.sample_seg, dens)
    kde /= streets.seg_samples[:, None]  # weighted incidents per metre
    # weighted incident counts on each segment (unsmoothed)
    counts_all = np.zeros_like(kde)
    np.add.at(counts_all, seg, dens_w)
    counts_long, counts_recent = counts_all[:, :n_cols], counts_all[:, n_cols:] if decays else counts_all
    kde_long, kde_recent = kde[:, :n_cols], kde[:, n_cols:] if decays else kde
    per_seg, kde_alone = blend_terms(
        counts_long / streets.length[:, None],
        kde_long,
        counts_recent / streets.length[:, None],
        kde_recent,
        streets.length,
        model.weights,
        model.own_segment_share,
    )
    # the hotspot test runs on the own-segment counts weighted as the blend weights them
    # (recency for the recent term): the kernel's smoothing alone would make neighbours alike
    counts = (1.0 - model.weights["recent"]) * counts_long + model.weights["recent"] * counts_recent
    resolved = settings.model_copy(update={"bandwidth_m": model.bandwidth_m, "half_life_days": model.half_life_days})
    settings_in = settings
    settings = resolved

    if extent is not None:
        area, extent_source = extent, "layers.incidents.extent"
    elif settings.extent == "none" or len(inc) == 0:
        area, extent_source = None, "none"
    else:
        area = data_extent(inc.geometry, method=settings.extent, buffer_m=float(model.bandwidth_m))
        extent_source = f"{settings.extent} hull of the incidents + {float(model.bandwidth_m):g} m"
    with_data = _with_data(segments, area)
    data_share = float(streets.length[with_data].sum() / max(streets.length.sum(), 1e-9))
    if not with_data.all():
        warnings.append(
            f"risk: {1 - data_share:.0%} of the street length lies outside the area the incidents cover "
            f"({extent_source}): graded 'no data', not low risk"
        )

    priority = _priority(segments, districts, key_sites, settings)
    segments = segments.assign(priority=priority)
    adjacency = _adjacency(streets)
    length = streets.length

    frames = []
    for k, win in enumerate(all_windows):
        crime_per_km = per_seg[:, k] * 1000.0
        risk_per_km = crime_per_km * priority
        z = getis_ord_gi_star(counts[:, k] / np.maximum(length, settings.lixel_m), adjacency)
        p = 2 * stats.norm.sf(np.abs(z))
        q = stats.false_discovery_control(p, method="bh") if len(p) else p
        frames.append(
            pd.DataFrame(
                {
                    "segment_id": streets.segment_id,
                    "window": win.name if k < len(windows) else "*",
                    "risk": risk_per_km * length / 1000.0,
                    "risk_per_km": risk_per_km,
                    "crime_per_km": crime_per_km,
                    "level": _grade_with_data(risk_per_km, length, settings, with_data),
                    "gi_z": z,
                    "gi_p": p,
                    "gi_q": q,
                    "hotspot": (q < settings.fdr_alpha) & (z > 0) & with_data,
                }
            )
        )
    table = pd.concat(frames[:-1], ignore_index=True)
    overall = frames[-1].drop(columns="window")
    untimed = float((precision != "datetime").mean()) if len(precision) else 0.0
    surface = RiskSurface(
        network=network,
        windows=windows,
        segments=segments,
        table=table,
        overall=overall,
        settings=settings,
        profile=profile,
        incidents_used=len(inc),
        untimed_share=untimed,
        reference_date=reference,
        unknown_categories=tuple(unknown),
        warnings=tuple(warnings),
        model=model,
        kde_per_km=kde_alone * 1000.0,
        requested_settings=settings_in,
        quality=quality,
        extent=area,
        extent_source=extent_source,
        data_share=data_share,
    )
    log.info("%s", surface.summary())
    return surface


# --------------------------------------------------------------------------- evaluation
@dataclass(frozen=True)
class RiskEvaluation:
    """Hit rate, PAI and PEI of the risk surface and of baselines on held-out incidents.

    ``table`` has one row per (window, method, share): ``hit_rate`` (share of held-out
    incident weight on the selected streets), ``length_share`` (share of street length
    selected, the top-ranked segments until ``share`` is reached), ``pai`` =
    hit_rate / length_share and ``pei`` = pai / the best PAI any ranking reaches on these
    held-out incidents (the ``oracle``: segments ranked by held-out incidents per metre).
    ``pai_harm`` / ``pei_harm`` score the same way with every incident weighted by its harm
    (the surface's harm table) and the baselines counting harm: the measure of a harm surface.
    Window ``"*"`` is all times of day. Methods: ``risk`` (the surface's crime density:
    the chosen model), ``kde`` (the network kernel density alone, same bandwidth, no
    decay), ``counts`` (counts per metre of the whole training period), ``baseline``
    (counts per metre of the period just before the held-out one, of the same length)
    and ``oracle``.
    """

    table: pd.DataFrame
    heldout_incidents: int
    baseline_days: float
    methods: tuple[str, ...] = ("risk", "kde", "counts", "baseline", "oracle")
    heldout_given: int | None = None  # before the non-crime and stacked ones were set aside
    excluded: dict[str, int] = field(default_factory=dict)  # held-out incidents not scored, by reason

    def pei(self, share: float = 0.05, *, window: str = "*", method: str = "risk", harm: bool = False) -> float | None:
        return self._value("pei_harm" if harm else "pei", share, window, method)

    def _value(self, column: str, share: float, window: str, method: str) -> float | None:
        t = self.table
        if column not in t:
            return None
        row = t[(t["window"] == window) & (t["method"] == method) & np.isclose(t["share"], share)]
        return None if row.empty or pd.isna(row[column].iloc[0]) else float(row[column].iloc[0])

    def metrics(self, windows: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
        """``metrics.risk`` blocks: PAI and PEI at each share for every method, overall and per window."""

        def r(v: float | None) -> float | None:
            return None if v is None else round(v, 4)

        shares = sorted(set(self.table["share"].round(6))) if len(self.table) else []
        methods = [m for m in self.methods if (self.table["method"] == m).any()]

        def block(window: str) -> dict[str, Any]:
            return {
                measure: {f"{int(round(s * 100))}pct": {m: r(fn(s, window=window, method=m)) for m in methods} for s in shares}
                for measure, fn in (("pai", self.pai), ("pei", self.pei))
            } | {
                f"{measure}_harm": {
                    f"{int(round(s * 100))}pct": {m: r(fn(s, window=window, method=m, harm=True)) for m in methods}
                    for s in shares
                }
                for measure, fn in (("pai", self.pai), ("pei", self.pei))
            }

        overall = block("*")
        out: dict[str, Any] = {k: overall[k] for k in ("pai", "pei", "pai_harm", "pei_harm")}
        out["by_window"] = {w: block(w) for w in windows}
        beaten = [
            f"{k.replace('pct', ' %')}"
            for k, v in overall["pai"].items()
            if v.get("counts") is not None and v.get("risk") is not None and v["counts"] > v["risk"]
        ]
        out["counts_beat_model_at"] = beaten
        if self.heldout_given is not None:
            out["scored"] = {
                "heldout_given": self.heldout_given,
                "heldout_scored": self.heldout_incidents,
                "not_scored": dict(self.excluded),
            }
        return out

    def pai(self, share: float = 0.05, *, window: str = "*", method: str = "risk", harm: bool = False) -> float | None:
        """PAI of ``method`` at ``share``; ``harm``: held-out incidents weighted by harm, ranked by harm."""
        return self._value("pai_harm" if harm else "pai", share, window, method)

    def summary(self) -> str:
        pivot = self.table.pivot_table(index=["window", "share"], columns="method", values="pai")
        return f"held-out incidents: {self.heldout_incidents}\n{pivot.round(2).to_string()}"


def ranked_hits(rank_values: np.ndarray, length: np.ndarray, hit_weight: np.ndarray, share: float) -> tuple[float, float]:
    """(hit rate, length share) of the top-ranked streets covering ``share`` of the length.

    Segments with equal values form one group; the group that straddles the share is
    taken in proportion (its hits spread evenly along it) — the expected result of
    breaking the tie at random, so a ranking with no information scores PAI 1.
    """
    total_len = length.sum()
    total_hits = hit_weight.sum()
    if total_len <= 0 or total_hits <= 0:
        return np.nan, share
    values, group = np.unique(-rank_values, return_inverse=True)  # highest first
    g_len = np.bincount(group, weights=length, minlength=len(values))
    g_hit = np.bincount(group, weights=hit_weight, minlength=len(values))
    target = share * total_len
    before = np.r_[0.0, np.cumsum(g_len)[:-1]]
    take = np.clip((target - before) / np.where(g_len > 0, g_len, 1.0), 0.0, 1.0)
    hits = float((take * g_hit).sum())
    taken = float((take * g_len).sum())
    return hits / total_hits, taken / total_len


def evaluate_risk(
    surface: RiskSurface,
    heldout: gpd.GeoDataFrame,
    *,
    history: gpd.GeoDataFrame | None = None,
    shares: tuple[float, ...] = EVAL_SHARES,
    clean: bool = True,
) -> RiskEvaluation:
    """Score the surface on incidents it did not see (SPEC §2 Evaluation).

    With ``clean`` (the default) the held-out incidents, and the history the baselines count,
    are the ones the surface predicts: categories its harm table marks non-crime (when
    ``risk.exclude_non_crime``) and incidents at the stacked coordinates it handled (a police
    station's address: where they happened is unknown) neither score nor count
    (``RiskEvaluation.excluded`` says how many held-out ones).

    Segments are ranked by crime density; the top ones covering ``share`` of the
    street length are selected (a tie across the boundary is taken in proportion); the
    hit rate is the share of held-out incidents (by window weight) on them, and PAI =
    hit rate / length share. The baseline ranks by
    the counts per metre of ``history`` incidents in the period just before the
    held-out one, of the same length.
    """
    held = _incident_frame(heldout)
    if held.crs is not None and not surface.network.crs.equals(held.crs):
        held = held.to_crs(surface.network.crs)
    held_in = len(held)
    excluded = {"non_crime": 0, "stacked": 0}
    if clean:
        keep, why = _scored_mask(surface, held)
        held = held[keep]
        excluded = why
    net = surface.network
    streets = _streets(net, surface.settings.lixel_m)
    seg_index = pd.Series(np.arange(len(streets.segment_id)), index=streets.segment_id)
    length = surface.segments["length_m"].to_numpy()
    all_windows = (*surface.windows, ALL_DAY)
    names = [*surface.window_names, "*"]

    settings = surface.requested_settings or surface.settings

    def weights_on_segments(gdf: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(incidents, harm) per segment and window: window weights, and the same × harm weight."""
        out = np.zeros((len(streets.segment_id), len(all_windows)))
        if len(gdf) == 0:
            return out, out.copy()
        times = pd.to_datetime(gdf["time"]).reset_index(drop=True)
        prec = gdf["time_precision"].astype(str).reset_index(drop=True)
        a = window_weights(times, prec, all_windows, profile=surface.profile)
        cats = (
            gdf["category"].astype(str).reset_index(drop=True)
            if "category" in gdf
            else pd.Series("unknown", index=range(len(gdf)))
        )
        harm = incident_harm(cats, settings).weights
        if settings.weighting == "count":
            harm = (harm > 0).astype(float)
        snap = net.snap(gdf.geometry.reset_index(drop=True))
        pos = seg_index.loc[snap["segment_id"].to_numpy()].to_numpy()
        harmed = np.zeros_like(out)
        np.add.at(out, pos, a)
        np.add.at(harmed, pos, a * harm[:, None])
        return out, harmed

    held_w, held_h = weights_on_segments(held)
    baseline_days = 0.0
    base_w, base_h = np.zeros_like(held_w), np.zeros_like(held_w)
    count_w, count_h = np.zeros_like(held_w), np.zeros_like(held_w)
    if history is not None and len(history) and len(held):
        hist = _incident_frame(history)
        if hist.crs is not None and not net.crs.equals(hist.crs):
            hist = hist.to_crs(net.crs)
        if clean:  # the baselines count the same incidents the surface is scored on
            hist = hist[_scored_mask(surface, hist)[0]]
        h_start = pd.to_datetime(held["time"]).min()
        h_end = pd.to_datetime(held["time"]).max()
        baseline_days = max((h_end - h_start).total_seconds() / 86400.0, 7.0)
        t = pd.to_datetime(hist["time"])
        before = (t < h_start).to_numpy()
        count_w, count_h = weights_on_segments(hist[before])
        recent = (t >= h_start - pd.Timedelta(days=baseline_days)) & (t < h_start)
        base_w, base_h = weights_on_segments(hist[recent.to_numpy()])

    kde_seg = None
    if surface.kde_per_km is not None:
        kde_seg = pd.DataFrame(surface.kde_per_km, index=surface.segments.index).reindex(streets.segment_id).to_numpy()

    def score(values: np.ndarray, hits: np.ndarray, share: float) -> tuple[float, float, float, float]:
        """(hit rate, length share, PAI, PEI) of ranking ``values`` against ``hits``."""
        best_hit, best_got = ranked_hits(hits / length, length, hits, share)
        best = best_hit / best_got if best_got > 0 and best_hit == best_hit else np.nan
        hit, got = ranked_hits(values, length, hits, share)
        pai = hit / got if got > 0 and hit == hit else np.nan
        return hit, got, pai, (pai / best if best and best == best and pai == pai else np.nan)

    rows = []
    for k, name in enumerate(names):
        crime = (
            (surface.overall if name == "*" else surface.table[surface.table["window"] == name])
            .set_index("segment_id")["crime_per_km"]
            .reindex(streets.segment_id)
            .to_numpy()
        )
        # each method's ranking for incident counts and for harm (the baselines count harm too)
        methods: list[tuple[str, np.ndarray, np.ndarray]] = [("risk", crime, crime)]
        if kde_seg is not None:
            methods.append(("kde", kde_seg[:, k], kde_seg[:, k]))
        if history is not None:
            methods += [
                ("counts", count_w[:, k] / length, count_h[:, k] / length),
                ("baseline", base_w[:, k] / length, base_h[:, k] / length),
            ]
        methods.append(("oracle", held_w[:, k] / length, held_h[:, k] / length))
        for share in shares:
            for method, by_count, by_harm in methods:
                hit, got, pai, pei = score(by_count, held_w[:, k], share)
                _, _, pai_h, pei_h = score(by_harm, held_h[:, k], share)
                rows.append(
                    {
                        "window": name,
                        "method": method,
                        "share": share,
                        "incidents": float(held_w[:, k].sum()),
                        "hit_rate": hit,
                        "length_share": got,
                        "pai": pai,
                        "pei": pei,
                        "pai_harm": pai_h,
                        "pei_harm": pei_h,
                    }
                )
    return RiskEvaluation(
        table=pd.DataFrame(rows),
        heldout_incidents=len(held),
        baseline_days=baseline_days,
        heldout_given=held_in,
        excluded=excluded,
    )


def _scored_mask(surface: RiskSurface, incidents: gpd.GeoDataFrame) -> tuple[np.ndarray, dict[str, int]]:
    """Which incidents can score a ranking: not a non-crime category the surface excludes, not
    at a stacked coordinate the surface handled (a station's address: the true place is unknown)."""
    n = len(incidents)
    keep = np.ones(n, dtype=bool)
    if n == 0:
        return keep, {"non_crime": 0, "stacked": 0}
    settings = surface.requested_settings or surface.settings
    non_crime = np.zeros(n, dtype=bool)
    if settings.exclude_non_crime and "category" in incidents:
        harm = incident_harm(incidents["category"].astype(str).reset_index(drop=True), settings)
        non_crime = incidents["category"].astype(str).isin(list(harm.non_crime)).to_numpy()
    stacked = np.zeros(n, dtype=bool)
    handled = [s for s in (surface.quality.stacks if surface.quality is not None else ()) if s.weight < 1.0]
    if handled:
        from .quality import GRID_M

        geoms = np.asarray(incidents.geometry.values)
        x = np.round(shapely.get_x(geoms) / GRID_M)
        y = np.round(shapely.get_y(geoms) / GRID_M)
        for s in handled:
            stacked |= (x == round(s.x / GRID_M)) & (y == round(s.y / GRID_M))
    keep = ~(non_crime | stacked)
    return keep, {"non_crime": int(non_crime.sum()), "stacked": int((stacked & ~non_crime).sum())}
