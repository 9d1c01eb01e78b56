"""Backtest a plan on incidents it did not see (SPEC §2 Evaluation, §3 Batch).

:func:`backtest_plan` scores a camera plan and a patrol plan on held-out incidents:

- **in camera view**: the share of held-out incidents inside the view polygon of a
  camera (existing or new; views are cut by buildings where the network has them);
- **within response**: the share of held-out incidents with a time of day that lie
  within ``response_minutes`` of travel (on the streets, by the stop's team mode or
  ``response_mode``) from a *planned patrol presence at their hour*: a planned stop
  (hotspot or district visit, not the base) of a window that holds the incident's time
  and day, whose visit overlaps the incident's clock hour. Plans repeat every day the
  window applies; incidents with a date only are left out of this share;
- **PAI** at 5 % of street length, from the risk evaluation
  (:func:`geoengine.risk.evaluate_risk`).

:func:`rolling_backtest` adds rolling-origin folds (estimate on weeks 1–8, test on
week 9, move on): each fold re-estimates risk on its training period and scores PAI on
its test period; the camera and patrol shares of the run's plan are scored on the
folds whose test period the plan did not see (on or after the split), else null.

:func:`evaluate_run` is what the pipeline calls; it returns ``None`` when the scenario
asks for no backtest (no split and no rolling windows) or no incident is held out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .graphs import mode_graph
from .scenario import TimeWindow

if TYPE_CHECKING:
    from .coverage.plan import CoveragePlan
    from .layers import Layers
    from .network import RoadNetwork
    from .patrol.plan import PatrolPlan
    from .response import ResponseResult
    from .risk import RiskEvaluation, RiskSurface
    from .scenario import EvaluationSettings, Scenario

__all__ = ["Backtest", "backtest_plan", "evaluate_run", "in_camera_view", "rolling_backtest", "within_response"]

log = logging.getLogger(__name__)
MODES = ("car", "foot", "ebike")


@dataclass(frozen=True)
class Backtest:
    """The plan scored on held-out incidents; ``incidents`` has one row per held-out
    incident with ``in_view`` and ``answered`` (None for date-only incidents or without a
    patrol plan). ``folds`` has one row per rolling fold (empty without rolling windows)."""

    heldout_incidents: int
    in_camera_view_share: float | None
    within_response_share: float | None
    response_minutes: float
    pai_5pct: float | None
    timed_incidents: int
    incidents: pd.DataFrame = field(repr=False)
    folds: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    response_mode: str | None = None
    within_response_share_by_tier: dict[str, Any] | None = None
    """Per response tier (geoengine.response): share of its held-out incidents reached within its
    minutes from the responders' positions at the incident's minute, and how many were scored."""

    def metrics(self) -> dict[str, Any]:
        """The ``metrics.evaluation`` block of the manifest."""

        def r(v: float | None) -> float | None:
            return None if v is None or v != v else round(float(v), 4)

        out: dict[str, Any] = {
            "heldout_incidents": int(self.heldout_incidents),
            "in_camera_view_share": r(self.in_camera_view_share),
            "within_response_share": r(self.within_response_share),
            "response_minutes": float(self.response_minutes),
            "pai_5pct": r(self.pai_5pct),
            "timed_heldout_incidents": int(self.timed_incidents),
            "response_mode": self.response_mode or "team",
        }
        if self.within_response_share_by_tier is not None:
            out["within_response_share_by_tier"] = self.within_response_share_by_tier
        if len(self.folds):
            f = self.folds
            out["rolling"] = {
                "folds": [
                    {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
                    for row in f.to_dict(orient="records")
                ],
                "mean_pai_5pct": r(f["pai_5pct"].dropna().mean()) if f["pai_5pct"].notna().any() else None,
                "mean_in_camera_view_share": r(f["in_camera_view_share"].dropna().mean())
                if f["in_camera_view_share"].notna().any()
                else None,
                "mean_within_response_share": r(f["within_response_share"].dropna().mean())
                if f["within_response_share"].notna().any()
                else None,
            }
        return out

    def summary(self) -> str:
        def pct(v: float | None) -> str:
            return "n/a" if v is None else f"{v:.0%}"

        pai = "n/a" if self.pai_5pct is None else f"{self.pai_5pct:.2f}"
        return (
            f"backtest: {self.heldout_incidents} held-out incidents; in camera view {pct(self.in_camera_view_share)}; "
            f"within {self.response_minutes:g} min of a patrol at their hour {pct(self.within_response_share)}; PAI 5% {pai}"
        )


# --------------------------------------------------------------------------- pieces
def in_camera_view(points: gpd.GeoSeries, views: list[gpd.GeoSeries | None]) -> np.ndarray:
    """Whether each point lies inside (or on the edge of) any view polygon."""
    polys = [g for v in views if v is not None and len(v) for g in np.asarray(v.values, dtype=object)]
    polys = [p for p in polys if p is not None and not shapely.is_empty(p)]
    out = np.zeros(len(points), dtype=bool)
    if not polys or not len(points):
        return out
    tree = shapely.STRtree(polys)
    inp, _ = tree.query(np.asarray(points.values, dtype=object), predicate="intersects")
    out[np.unique(inp)] = True
    return out


def _presence(stops: pd.DataFrame, windows: tuple[TimeWindow, ...]) -> pd.DataFrame:
    """Planned stops (not bases) with the clock minutes of their visit: ``start_min``,
    ``end_min`` (after midnight of the window's start day, may pass 1440) and the window."""
    by_name = {w.name: w for w in windows}
    s = stops[(stops["place_kind"] != "base") & stops["window"].isin(list(by_name))]
    start = np.array([by_name[w].start_min for w in s["window"]], dtype=float)
    return pd.DataFrame(
        {
            "window": s["window"].to_numpy(),
            "mode": s["mode"].to_numpy(),
            "start_min": start + s["arrive_s"].to_numpy(dtype=float) / 60.0,
            "end_min": start + s["depart_s"].to_numpy(dtype=float) / 60.0,
            "geometry": s.geometry.to_numpy(),
        }
    )


def within_response(
    network: RoadNetwork,
    incidents: gpd.GeoDataFrame,
    stops: gpd.GeoDataFrame,
    windows: tuple[TimeWindow, ...],
    *,
    response_minutes: float,
    response_mode: str | None = None,
) -> np.ndarray:
    """Per incident: True/False whether a planned stop at its hour is within
    ``response_minutes`` of travel; NaN for incidents without a time of day."""
    from scipy.sparse.csgraph import dijkstra
    from scipy.spatial import cKDTree

    n = len(incidents)
    out = np.full(n, np.nan)
    if n == 0:
        return out
    timed = (incidents["time_precision"].astype(str) == "datetime").to_numpy()
    out[~timed] = np.nan
    out[timed] = 0.0
    pres = _presence(stops, windows) if len(stops) else pd.DataFrame()
    if not len(pres) or not timed.any():
        return out
    times = pd.to_datetime(incidents["time"]).reset_index(drop=True)
    minute = (times.dt.hour * 60 + times.dt.minute).to_numpy(dtype=float)
    weekday = times.dt.day_of_week.to_numpy()
    hour0 = np.floor(minute / 60.0) * 60.0
    by_name = {w.name: w for w in windows}
    limit_s = response_minutes * 60.0
    node_xy = network.nodes[["x", "y"]].to_numpy()
    inc_xy = shapely.get_coordinates(incidents.geometry.values)
    for mode in MODES:
        p = pres if response_mode else pres[pres["mode"] == mode]
        if response_mode and mode != response_mode:
            continue
        if not len(p):
            continue
        g, _, _ = mode_graph(network, mode)  # travel seconds, fastest of parallel edges
        usable = np.flatnonzero(np.asarray((g.getnnz(axis=1) > 0) & (g.getnnz(axis=0) > 0)).ravel())
        if len(usable) == 0:
            continue
        tree = cKDTree(node_xy[usable])
        _, k_stop = tree.query(shapely.get_coordinates(p["geometry"].to_numpy()))
        _, k_inc = tree.query(inc_xy)
        stop_node = usable[k_stop]
        inc_node = usable[k_inc]
        uniq, inverse = np.unique(stop_node, return_inverse=True)
        dist = dijkstra(g, directed=True, indices=uniq, limit=limit_s)  # (unique stops, nodes)
        reach = dist[inverse][:, inc_node] <= limit_s  # (stops, incidents)
        s_start = p["start_min"].to_numpy()
        s_end = p["end_min"].to_numpy()
        s_win = p["window"].to_numpy()
        for i in np.flatnonzero(timed & (out != 1.0)):
            m, d, h = minute[i], int(weekday[i]), hour0[i]
            # the clock hour of the incident, on the window's own day (minutes past 1440 for the day after)
            ok = np.zeros(len(p), dtype=bool)
            for name in set(s_win):
                w = by_name[name]
                if not w.contains_minute(m, d):
                    continue
                shift = 1440.0 if m < w.start_min else 0.0
                sel = s_win == name
                ok |= sel & (s_start < h + shift + 60.0) & (s_end >= h + shift)
            if (reach[:, i] & ok).any():
                out[i] = 1.0
    return out


# --------------------------------------------------------------------------- backtests
def backtest_plan(
    network: RoadNetwork,
    heldout: gpd.GeoDataFrame,
    *,
    windows: tuple[TimeWindow, ...],
    coverage: CoveragePlan | None = None,
    patrol: PatrolPlan | None = None,
    risk_evaluation: RiskEvaluation | None = None,
    response_minutes: float = 10.0,
    response_mode: str | None = None,
) -> Backtest:
    """Score a camera plan and a patrol plan on held-out incidents (module docstring)."""
    held = heldout.to_crs(network.crs) if heldout.crs is not None and not network.crs.equals(heldout.crs) else heldout
    held = held.reset_index(drop=True)
    n = len(held)
    view = None
    if coverage is not None:
        view = in_camera_view(held.geometry, [coverage.views_existing, coverage.views_new])
    answered = None
    timed = int((held["time_precision"].astype(str) == "datetime").sum()) if n else 0
    if patrol is not None:
        answered = within_response(
            network, held, patrol.stops, windows, response_minutes=response_minutes, response_mode=response_mode
        )
    table = pd.DataFrame(
        {
            "time": held["time"].to_numpy() if n else [],
            "category": held["category"].to_numpy() if n and "category" in held else [None] * n,
            "in_view": view if view is not None else [None] * n,
            "answered": [None if a != a else bool(a) for a in answered] if answered is not None else [None] * n,
        }
    )
    view_share = float(view.mean()) if view is not None and n else None
    resp_share = float(np.nanmean(answered)) if answered is not None and timed else None
    return Backtest(
        heldout_incidents=n,
        in_camera_view_share=view_share,
        within_response_share=resp_share,
        response_minutes=float(response_minutes),
        pai_5pct=risk_evaluation.pai(0.05) if risk_evaluation is not None else None,
        timed_incidents=timed,
        incidents=table,
        response_mode=response_mode,
    )


def rolling_backtest(
    network: RoadNetwork,
    incidents: gpd.GeoDataFrame,
    *,
    scenario: Scenario,
    districts: gpd.GeoDataFrame | None = None,
    key_sites: gpd.GeoDataFrame | None = None,
    coverage: CoveragePlan | None = None,
    patrol: PatrolPlan | None = None,
    risk_settings: Any = None,
) -> pd.DataFrame:
    """One row per rolling fold: periods, incidents, PAI at 5 % of a surface re-estimated on
    the fold's training period (with ``risk_settings``: the run's resolved model, so a fold
    does not repeat the model selection), and the run plan's camera and patrol shares on the test
    period when the plan did not see it (test start on or after the split)."""
    from .risk import estimate_risk, evaluate_risk

    settings = scenario.evaluation
    rolling = settings.rolling
    assert rolling is not None
    t = pd.to_datetime(incidents["time"])
    if not len(t):
        return pd.DataFrame()
    first, last = t.min().normalize(), t.max().normalize() + pd.Timedelta(days=1)
    step = pd.Timedelta(days=rolling.step_days or rolling.test_days)
    train, test = pd.Timedelta(days=rolling.train_days), pd.Timedelta(days=rolling.test_days)
    split = pd.Timestamp(settings.split) if settings.split is not None else None
    rows: list[dict[str, Any]] = []
    end = last
    while end - test - train >= first - step / 2 and (rolling.folds is None or len(rows) < rolling.folds):
        t_start = end - test
        tr = incidents[((t >= t_start - train) & (t < t_start)).to_numpy()]
        te = incidents[((t >= t_start) & (t < end)).to_numpy()]
        row: dict[str, Any] = {
            "train_start": (t_start - train).date().isoformat(),
            "test_start": t_start.date().isoformat(),
            "test_end": (end - pd.Timedelta(days=1)).date().isoformat(),
            "train_incidents": len(tr),
            "test_incidents": len(te),
            "pai_5pct": None,
            "in_camera_view_share": None,
            "within_response_share": None,
        }
        if len(tr) and len(te):
            surface = estimate_risk(
                network,
                tr,
                windows=scenario.windows,
                settings=risk_settings or scenario.risk,
                districts=districts,
                key_sites=key_sites,
            )
            pai = evaluate_risk(surface, te, history=tr).pai(0.05)
            row["pai_5pct"] = None if pai is None else round(pai, 4)
            if split is not None and t_start >= split:
                b = backtest_plan(
                    network,
                    te,
                    windows=scenario.windows,
                    coverage=coverage,
                    patrol=patrol,
                    response_minutes=settings.response_minutes,
                    response_mode=settings.response_mode,
                )
                row["in_camera_view_share"] = None if b.in_camera_view_share is None else round(b.in_camera_view_share, 4)
                row["within_response_share"] = None if b.within_response_share is None else round(b.within_response_share, 4)
        rows.append(row)
        end = end - step
    return pd.DataFrame(rows[::-1])


def evaluate_run(
    scenario: Scenario,
    network: RoadNetwork,
    layers: Layers,
    *,
    risk: RiskSurface | None = None,
    risk_evaluation: RiskEvaluation | None = None,
    coverage: CoveragePlan | None = None,
    patrol: PatrolPlan | None = None,
    response: ResponseResult | None = None,
) -> Backtest | None:
    """The pipeline's evaluation stage: :func:`backtest_plan` on the incidents on or after
    ``evaluation.split`` (and :func:`rolling_backtest` when rolling windows are set); with
    ``response`` (a :class:`geoengine.response.ResponseResult`) also the share per response tier."""
    from .risk import split_incidents

    settings: EvaluationSettings = scenario.evaluation
    if layers.incidents is None or (settings.split is None and settings.rolling is None):
        return None
    incidents = layers.incidents.gdf
    _, heldout = split_incidents(incidents, settings.split)
    folds = pd.DataFrame()
    if settings.rolling is not None:
        folds = rolling_backtest(
            network,
            incidents,
            scenario=scenario,
            districts=layers.districts.gdf if layers.districts is not None else None,
            key_sites=layers.key_sites.gdf if layers.key_sites is not None else None,
            coverage=coverage,
            patrol=patrol,
            risk_settings=None if risk is None else risk.settings,
        )
    if settings.split is None or not len(heldout):
        if not len(folds):
            return None
        heldout = heldout.iloc[0:0]
    result = backtest_plan(
        network,
        heldout,
        windows=scenario.windows,
        coverage=coverage,
        patrol=patrol,
        risk_evaluation=risk_evaluation,
        response_minutes=settings.response_minutes,
        response_mode=settings.response_mode,
    )
    log.info("%s", result.summary())
    by_tier = None
    if response is not None:
        from .response import incident_response_shares

        by_tier = incident_response_shares(response, network, heldout)
    return Backtest(**{**result.__dict__, "folds": folds, "within_response_share_by_tier": by_tier})
