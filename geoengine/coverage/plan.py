"""CoveragePlan: where to add cameras so that streets, districts and key sites are watched.

:func:`plan_coverage` composes the coverage stage: demand points along the streets
(weighted by risk × priority, with a floor so every street counts) and on key-site
outlines; candidate sites (intersections, poles set back to the kerb, listed sites,
minus exclusion zones and buildings); a sparse visibility matrix per camera model
(range, field of view, headings, line of sight past buildings, quality tiers);
the credit existing cameras already give; then the location problem (maximal
covering for a budget, or the fewest cameras to cover chosen districts, with backup
coverage of key sites) solved with a deterministic work limit (a wall-clock safety cap beside it) and a seed. The result says what each
new camera adds and why, coverage before and after, per district and per risk level,
and the solver's bound and gap.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely

from ..errors import InfeasibleSettingsError
from ..scenario import CameraSettings
from ..stop import DEFAULT_WORK, Limits, record_safety_caps
from .candidates import candidate_sites
from .demand import combine_demand, key_site_demand, street_demand
from .network import NetworkActions, network_actions, network_columns
from .problem import CoverageProblem, LocationResult, coverage_curve, solve_lscp, solve_mclp
from .visibility import (
    bearing_deg,
    existing_ids,
    mount_cameras,
    resolve_existing,
    view_polygons,
    visibility,
)

if TYPE_CHECKING:
    from ..network import RoadNetwork
    from ..risk import RiskSurface

__all__ = ["CoveragePlan", "plan_coverage"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class CoveragePlan:
    """The camera plan: new cameras, the demand they and the existing ones cover, and the solve.

    ``demand`` has, per demand point: ``weight``, ``credit_existing`` (0–1, what existing
    cameras give), ``credit`` (with the new cameras), ``views`` (cameras seeing it),
    ``level`` (the street's risk level, when risk was estimated) and ``district``.
    ``cameras_new`` has one row per new camera with ``model``, ``heading_deg``
    (NaN for 360°), ``fov_deg``, ``range_m``, ``cost``, ``added_weight``,
    ``added_share`` and a ``reason`` in words.
    """

    cameras_new: gpd.GeoDataFrame
    cameras_existing: gpd.GeoDataFrame | None
    demand: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    result: LocationResult
    curve: pd.DataFrame
    views_new: gpd.GeoSeries
    views_existing: gpd.GeoSeries | None
    settings: CameraSettings
    stats: dict[str, Any]
    warnings: tuple[str, ...] = ()
    safety_caps: tuple[str, ...] = ()
    """One note per solve of this plan stopped by its wall-clock safety cap (empty: reproducible)."""
    pairs: pd.DataFrame | None = None
    """Which camera sees which demand point (see :meth:`coverage_pairs`)."""
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    # ------------------------------------------------------------------ shares
    def _share(self, mask: np.ndarray | None = None, column: str = "credit") -> float | None:
        d = self.demand if mask is None else self.demand[mask]
        total = float(d["weight"].sum())
        return float((d["weight"] * d[column]).sum() / total) if total > 0 else None

    def shares(self) -> dict[str, float | None]:
        """Risk-weighted and street-length coverage, existing only and with the new cameras."""
        street = (self.demand["kind"] == "street").to_numpy()
        s = self.demand[street]
        return {
            "covered_weight_share": self._share(),
            "covered_weight_share_existing": self._share(column="credit_existing"),
            "street_length_share": float((s["credit"] > 0).mean()) if len(s) else None,
            "street_length_share_existing": float((s["credit_existing"] > 0).mean()) if len(s) else None,
        }

    def by_group(self, column: str) -> pd.DataFrame:
        """Coverage per value of a demand column (``district``, ``level``, ``kind``)."""
        rows = []
        d = self.demand[self.demand[column].notna()]
        for value, g in d.groupby(column, sort=False):
            w = g["weight"].sum()
            rows.append(
                {
                    column: value,
                    "demand_points": len(g),
                    "weight": float(w),
                    "covered_share_existing": float((g["weight"] * g["credit_existing"]).sum() / w) if w > 0 else None,
                    "covered_share": float((g["weight"] * g["credit"]).sum() / w) if w > 0 else None,
                    "points_seen_share": float((g["credit"] > 0).mean()),
                }
            )
        return pd.DataFrame(rows)

    def street_coverage(self, network: RoadNetwork) -> gpd.GeoDataFrame:
        """Per street segment: share of its demand points seen before and after, and a status
        (``existing``, ``new`` or ``uncovered``: more than half its points seen or not)."""
        d = self.demand[self.demand["kind"] == "street"]
        g = d.groupby("segment_id")
        table = pd.DataFrame(
            {
                "seen_existing": g["credit_existing"].apply(lambda c: float((c > 0).mean())),
                "seen": g["credit"].apply(lambda c: float((c > 0).mean())),
            }
        )
        segs = network.segments()[["name", "highway", "length_m", "geometry"]].join(table, how="inner")
        status = np.where(segs["seen_existing"] > 0.5, "existing", np.where(segs["seen"] > 0.5, "new", "uncovered"))
        return gpd.GeoDataFrame(segs.assign(status=status), geometry="geometry", crs=network.crs)

    def actions(self) -> pd.DataFrame:
        """What the plan buys besides new cameras: one row per existing camera it connects or
        upgrades (``camera_id``, ``owner``, ``quality``, ``action``, ``cost``, ``district``)."""
        cols = ["camera_id", "owner", "quality", "action", "cost", "district"]
        cams = self.cameras_existing
        if cams is None or "action" not in cams or not (cams["action"] != "").any():
            return pd.DataFrame({c: [] for c in cols})
        s = self.settings
        done = cams[cams["action"] != ""]
        cost = done["action"].map(
            lambda a: (s.connect_cost or 0.0) * ("connect" in a) + (s.upgrade_cost or 0.0) * ("upgrade" in a)
        )
        return pd.DataFrame(
            {
                "camera_id": done["camera_id"].to_numpy(),
                "owner": done["owner"].to_numpy(),
                "quality": done["quality"].to_numpy(),
                "action": done["action"].to_numpy(),
                "cost": cost.to_numpy(dtype=float),
                "district": done["district"].to_numpy() if "district" in done else None,
            }
        )

    def district_table(self) -> pd.DataFrame:
        """Per district (and ``(all)``), before and after the plan: cameras, connected share, HD
        share, and the covered share (risk-weighted credit) of main roads, of the red/orange
        ("busy") streets, of all streets and of key sites — the seeds' one-network figures.

        Existing cameras count before whether connected or not; ``connected_share`` and
        ``hd_share`` are shares of all cameras (quality unknown counts as not HD; new cameras
        are connected HD cameras). Shares are None where a district has nothing to measure."""
        return _district_table(self)

    def coverage_pairs(self) -> gpd.GeoDataFrame:
        """Which camera covers which demand point: ``demand_id``, ``camera_id`` (the stable id of
        ``cameras_existing`` / ``cameras_new``), ``camera_kind`` (existing / new), ``distance_m``,
        ``bearing_deg`` (camera to point, clockwise from north) and ``credit``; the geometry is
        the sight line from the camera to the point."""
        return _pairs_frame(self)

    def metrics(self) -> dict[str, Any]:
        """The ``metrics.coverage`` block of the manifest."""
        r = self.result
        shares = self.shares()
        out: dict[str, Any] = {
            "cameras_existing": 0 if self.cameras_existing is None else len(self.cameras_existing),
            "cameras_new": len(self.cameras_new),
            "demand_points": len(self.demand),
            "covered_weight_share": _round(shares["covered_weight_share"]),
            "covered_weight_share_existing": _round(shares["covered_weight_share_existing"]),
            "objective": _round(r.objective),
            "bound": _round(r.bound),
            "gap": _round(r.gap, 6),
            "status": r.status,
            "stopped_by": r.stopped_by,
            "solve_s": round(r.solve_s, 3),
            "objective_kind": r.problem_kind,
            "method": r.method,
            "street_length_share": _round(shares["street_length_share"]),
            "street_length_share_existing": _round(shares["street_length_share_existing"]),
            "new_camera_cost": float(self.cameras_new["cost"].sum()),
            "candidate_sites": int(self.stats["sites"]),
            "candidate_orientations": int(self.stats["orientations"]),
            "matrix_s": round(float(self.stats["matrix_s"]), 3),
            "blocked_sight_lines": int(self.stats["blocked_pairs"]),
            "cameras_moved_to_facade": int(self.stats.get("cameras_moved", 0)),
            "cameras_far_from_street": int(self.stats.get("cameras_far_from_street", 0)),
            "cameras_assumed_heading": int(self.stats.get("cameras_assumed_heading", 0)),
        }
        if "level" in self.demand:
            out["by_level"] = {
                row["level"]: {"existing": _round(row["covered_share_existing"]), "with_new": _round(row["covered_share"])}
                for _, row in self.by_group("level").iterrows()
            }
        if "district" in self.demand:
            out["by_district"] = {
                str(row["district"]): {
                    "existing": _round(row["covered_share_existing"]),
                    "with_new": _round(row["covered_share"]),
                }
                for _, row in self.by_group("district").iterrows()
            }
        if len(self.curve):
            out["curve"] = self.curve.to_dict(orient="records")
        acts = self.actions()
        out["actions"] = {a: int((acts["action"] == a).sum()) for a in ("connect", "upgrade", "connect+upgrade")}
        out["action_cost"] = float(acts["cost"].sum()) if len(acts) else 0.0
        out["districts"] = [
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
            for row in self.district_table().to_dict(orient="records")
        ]
        return out

    def summary(self) -> str:
        s = self.shares()
        r = self.result
        gap = "n/a" if r.gap is None else f"{r.gap:.2%}"
        return (
            f"cameras: {len(self.cameras_new)} new on top of "
            f"{0 if self.cameras_existing is None else len(self.cameras_existing)} existing; "
            f"risk-weighted coverage {s['covered_weight_share_existing']:.1%} → {s['covered_weight_share']:.1%} "
            f"({r.problem_kind}, {r.method}, {r.status}, gap {gap}, {r.solve_s:.1f} s)"
        )

    def __repr__(self) -> str:
        return f"<CoveragePlan {len(self.cameras_new)} new cameras, {len(self.demand)} demand points>"


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None or value != value else round(float(value), digits)


def _segment_weights(
    network: RoadNetwork, risk: RiskSurface | None, settings: CameraSettings
) -> tuple[pd.Series, pd.Series | None]:
    """Weight of each street segment (risk on it plus a floor), and its risk level."""
    segs = network.segments()
    if risk is None:
        return segs["length_m"].astype(float), None
    window = settings.risk_window
    if window in ("max", "mean"):
        wide = risk.table.pivot(index="segment_id", columns="window", values="risk_per_km")
        per_km = wide.max(axis=1) if window == "max" else wide.mean(axis=1)
        level = risk.overall.set_index("segment_id")["level"]
    else:
        if window not in risk.window_names:
            raise InfeasibleSettingsError.single(
                f"no time window {window!r}",
                field="cameras.risk_window",
                hint=f"use max, mean or one of: {', '.join(risk.window_names)}",
            )
        block = risk.table[risk.table["window"] == window].set_index("segment_id")
        per_km, level = block["risk_per_km"], block["level"]
    per_km = per_km.reindex(segs.index).fillna(0.0)
    floor = settings.street_floor_share * float(per_km.mean()) if per_km.mean() > 0 else 1.0
    return (per_km + floor) * segs["length_m"] / 1000.0, level.reindex(segs.index)


MAIN_ROAD_CLASSES = ("motorway", "trunk", "primary", "secondary")
"""OSM highway classes counted as main roads (arterial and secondary roads, with their links)."""


def _main_road(network: RoadNetwork, demand: gpd.GeoDataFrame) -> np.ndarray:
    """Per demand point: does it lie on a main road (:data:`MAIN_ROAD_CLASSES`)?"""
    segs = network.segments()
    if "highway" not in segs:
        return np.zeros(len(demand), dtype=bool)
    main = (
        segs["highway"]
        .astype(str)
        .map(
            lambda h: any(
                c in h.replace("_link", "").replace("[", " ").replace("]", " ").replace("'", " ").replace(",", " ").split()
                for c in MAIN_ROAD_CLASSES
            )
        )
    )
    street = (demand["kind"] == "street").to_numpy()
    out = np.zeros(len(demand), dtype=bool)
    out[street] = main.reindex(demand["segment_id"].to_numpy()[street]).fillna(False).to_numpy(dtype=bool)
    return out


def in_polygons(points: gpd.GeoSeries, polygons: gpd.GeoDataFrame, column: str = "name") -> pd.Series:
    """The ``column`` of the polygon each point lies in (first one), else None."""
    if len(points) == 0:
        return pd.Series([], index=points.index, dtype=object)
    poly = polygons.to_crs(points.crs).reset_index(drop=True)
    tree = shapely.STRtree(np.asarray(poly.geometry.values))
    pt_i, poly_i = tree.query(np.asarray(points.values), predicate="within")
    out = pd.Series([None] * len(points), index=points.index, dtype=object)
    first = pd.Series(poly_i, index=pt_i).groupby(level=0).min()
    out.iloc[first.index.to_numpy()] = poly[column].to_numpy()[first.to_numpy()]
    return out


_CURVE_SCIP_MIN_WORK = 5.0
"""Work units per budget from which the budget curve is solved with SCIP (below: greedy + 1-swap and
the LP bound). On the demo, SCIP at the old 7.5 s per budget never improved on greedy + swap: the
same coverage (0.474 / 0.551 / 0.667 / 0.791) and gaps (2.1-2.7 %)."""


def plan_coverage(
    network: RoadNetwork,
    *,
    settings: CameraSettings,
    risk: RiskSurface | None = None,
    cameras: gpd.GeoDataFrame | None = None,
    districts: gpd.GeoDataFrame | None = None,
    key_sites: gpd.GeoDataFrame | None = None,
    listed_sites: gpd.GeoDataFrame | None = None,
    exclusion: gpd.GeoDataFrame | None = None,
    must_cover: gpd.GeoDataFrame | None = None,
    time_limit_s: float = 30.0,
    seed: int = 0,
    work: float | None = None,
) -> CoveragePlan:
    """Plan new cameras on top of the existing ones (see the module docstring).

    ``work`` (default :data:`geoengine.stop.DEFAULT_WORK`) is the deterministic work of the
    stage and ``time_limit_s`` its wall-clock safety cap; the budget curve shares them.
    """
    warnings: list[str] = []
    buildings = network.buildings if network.buildings is not None and len(network.buildings) else None
    if buildings is None:
        warnings.append(
            "coverage: the network source has no buildings, so line of sight is not checked "
            "(cameras are assumed to see past blocks); use an OSM extract with buildings"
        )

    # demand -------------------------------------------------------------------
    seg_weight, seg_level = _segment_weights(network, risk, settings)
    frames = [street_demand(network, spacing_m=settings.spacing_m, segment_weight=seg_weight)]
    if key_sites is not None and len(key_sites):
        per_m = float(seg_weight.sum() / max(network.segments()["length_m"].sum(), 1.0))
        frames.append(key_site_demand(key_sites.to_crs(network.crs), spacing_m=settings.spacing_m, weight_per_m=2.0 * per_m))
    demand = combine_demand(*frames, must_cover=must_cover.to_crs(network.crs) if must_cover is not None else None)
    if seg_level is not None:
        demand["level"] = seg_level.reindex(demand["segment_id"]).to_numpy()
    if districts is not None and len(districts):
        demand["district"] = in_polygons(demand.geometry, districts).to_numpy()
    demand["main_road"] = _main_road(network, demand)
    demand = _asked_tiers(demand, settings)

    # candidates and visibility --------------------------------------------------
    t0 = time.perf_counter()
    sites = candidate_sites(
        network,
        pole_spacing_m=settings.pole_spacing_m,
        setback_m=settings.setback_m,
        intersections=settings.intersections,
        listed=listed_sites.to_crs(network.crs) if listed_sites is not None else None,
        exclusion=exclusion.to_crs(network.crs) if exclusion is not None else None,
        buildings=buildings,
    )
    if len(sites) == 0:
        raise InfeasibleSettingsError.single(
            "no candidate camera site is left (exclusion zones or buildings cover them all)",
            field="cameras",
            hint="allow intersections, shorten pole_spacing_m or shrink the exclusion zones",
        )
    tiers = [(t.max_range_share, t.weight) for t in settings.tiers] if settings.tiers else None
    blocks, col_model, col_site, col_heading = [], [], [], []
    checked = blocked = 0
    for k, model in enumerate(settings.models):
        vis = visibility(
            sites,
            demand,
            range_m=model.range_m,
            fov_deg=model.fov_deg,
            headings=settings.headings,
            buildings=buildings,
            tiers=tiers,
        )
        blocks.append(vis.matrix)
        col_model.append(np.full(len(vis.orient_site), k))
        col_site.append(vis.orient_site)
        col_heading.append(vis.orient_heading)
        checked += vis.pairs_checked
        blocked += vis.blocked_pairs
    matrix = sp.hstack(blocks, format="csc")
    useful = np.diff(matrix.indptr) > 0  # orientations that see nothing are not candidates
    matrix = matrix[:, useful].tocsr()
    col_model_a = np.concatenate(col_model)[useful]
    col_site_a = np.concatenate(col_site)[useful]
    col_heading_a = np.concatenate(col_heading)[useful]
    costs = np.array([settings.models[m].cost for m in col_model_a], dtype=float)

    cams_existing = None
    credit0 = np.zeros(len(demand))
    views0 = np.zeros(len(demand), dtype=int)
    if cameras is not None and len(cameras):
        cams_existing = cameras.to_crs(network.crs).reset_index(drop=True)
        cams_existing, notes = mount_cameras(
            cams_existing, buildings=buildings, network=network, max_street_m=settings.max_camera_street_m
        )
        cams_existing, more = resolve_existing(
            cams_existing,
            default_range_m=settings.existing_range_m,
            default_fov_deg=settings.existing_fov_deg,
            network=network,
        )
        cams_existing.insert(0, "camera_id", existing_ids(cams_existing))
        cams_existing = network_columns(cams_existing)
        warnings.extend(f"coverage: {n}" for n in (*notes, *more))
    backup = (demand["kind"] == "key_site").to_numpy() if settings.backup_key_sites else None
    # the one network: connected cameras count; connecting / upgrading the others are columns too
    n_build = matrix.shape[1]
    net: NetworkActions | None = None
    groups = col_site_a
    if cams_existing is not None:
        net = network_actions(
            cams_existing,
            demand,
            buildings=buildings,
            tiers=tiers,
            connect_cost=settings.connect_cost,
            upgrade_cost=settings.upgrade_cost,
            upgrade_range_factor=settings.upgrade_range_factor,
            backup=backup,
        )
        credit0, views0 = net.credit0, net.views0
        if net.n_actions:
            matrix = sp.hstack([matrix, net.matrix], format="csr")
            costs = np.concatenate([costs, net.table["cost"].to_numpy(dtype=float)])
            groups = np.concatenate([col_site_a, len(sites) + net.table["camera"].to_numpy(dtype=np.int64)])
    matrix_s = time.perf_counter() - t0

    problem = CoverageProblem.from_coverage_matrix(
        matrix,
        demand["weight"].to_numpy(dtype=float),
        costs=costs,
        groups=groups,
        max_per_group=settings.max_per_site,
        existing=credit0,
        existing_views=views0,
        backup=backup,
    )
    stop = Limits(DEFAULT_WORK if work is None else work, time_limit_s)
    caps: list[str] = []
    if settings.objective == "mclp":
        if settings.budget_count is None and settings.budget_cost is None:
            raise InfeasibleSettingsError.single(
                "the mclp objective needs a budget", field="cameras.budget_count", hint="set budget_count or budget_cost"
            )
        with record_safety_caps() as noted:
            result = solve_mclp(
                problem,
                budget_count=settings.budget_count,
                budget_cost=settings.budget_cost,
                backup_weight=settings.backup_weight if settings.backup_key_sites else 0.0,
                stop=stop,
                seed=seed,
                solver=settings.solver,
            )
        caps += noted
    else:
        mask = _lscp_mask(demand, districts, settings, warnings)
        with record_safety_caps() as noted:
            result = solve_lscp(problem, demand_mask=mask, stop=stop, seed=seed, solver=settings.solver)
        caps += noted
        if getattr(result, "uncoverable", 0):
            warnings.append(f"coverage: {result.uncoverable} demand points in the set-cover area no candidate can see")

    curve = pd.DataFrame()
    if settings.budgets:
        by = "cost" if settings.budget_cost is not None else "count"
        budgets = sorted(settings.budgets)
        if by == "count":
            fractional = [b for b in budgets if float(b) != int(b)]
            if fractional:
                raise InfeasibleSettingsError.single(
                    f"camera counts must be whole numbers, got {fractional}",
                    field="cameras.budgets",
                    hint="give whole numbers of cameras, or set budget_cost to read budgets as costs",
                )
            budgets = [int(b) for b in budgets]
        per_budget = stop.share(1 / len(settings.budgets), min_runtime_s=1.0)  # the curve shares one work and cap
        # below _CURVE_SCIP_MIN_WORK units a budget gets greedy + 1-swap with the Lagrangian and LP bounds
        # (deterministic, about a second each) rather than a SCIP root solve of 8-25 s that the cap would cut
        curve_solver = settings.solver if (per_budget.work or 0.0) >= _CURVE_SCIP_MIN_WORK else "greedy"
        # the main plan is the curve's point at its budget: one solve, one answer
        main_budget = None
        if settings.objective == "mclp" and (by == "cost" or settings.budget_cost is None):
            main_budget = settings.budget_cost if by == "cost" else settings.budget_count
            if main_budget is not None and main_budget not in budgets:
                budgets = sorted([*budgets, main_budget])
        others = [b for b in budgets if b != main_budget]
        with record_safety_caps() as noted:
            solved = (
                coverage_curve(
                    problem,
                    others,
                    by=by,
                    stop=per_budget,
                    seed=seed,
                    backup_weight=settings.backup_weight if settings.backup_key_sites else 0.0,
                    solver=curve_solver,
                )
                if others
                else []
            )
        caps += [f"curve: {n}" for n in noted]
        by_budget = dict(zip(others, solved))
        if main_budget is not None:
            by_budget[main_budget] = result
        results = [by_budget[b] for b in budgets]
        total = float(problem.weights.sum())
        curve = pd.DataFrame(
            [
                {
                    "budget": b,
                    "budget_unit": by,
                    "cameras": int((r.selected < n_build).sum()),
                    "actions": int((r.selected >= n_build).sum()),
                    "cost": float(problem.costs[r.selected].sum()),
                    "covered_weight_share": _round(
                        float((problem.weights * r.credit).sum() / total) if r.credit is not None and total else None
                    ),
                    "objective": _round(r.objective),
                    "bound": _round(r.bound),
                    "gap": _round(r.gap, 6),
                    "status": r.status,
                }
                for b, r in zip(budgets, results)
            ]
        )

    # results ---------------------------------------------------------------
    credit = result.credit if result.credit is not None else credit0
    selected = np.asarray(result.selected, dtype=np.int64)
    built, acted = selected[selected < n_build], selected[selected >= n_build] - n_build
    build_matrix = matrix[:, :n_build] if net is not None and net.n_actions else matrix
    demand = demand.assign(credit_existing=credit0, credit=np.maximum(credit, credit0))
    cams_new, views_new = _new_cameras(
        built, build_matrix, demand, sites, settings, col_model_a, col_site_a, col_heading_a, buildings
    )
    views_existing = None
    pairs = _new_pairs(built, build_matrix, demand, sites, settings, col_model_a, col_site_a, col_heading_a)
    if cams_existing is not None and net is not None:
        pairs0, after, upgraded = net.final_pairs(acted, cams_existing["connected"].to_numpy(dtype=bool))
        chosen = net.table.iloc[acted]
        action = np.full(len(cams_existing), "", dtype=object)
        action[chosen["camera"].to_numpy(dtype=np.int64)] = chosen["action"].to_numpy()
        factor = np.where(upgraded, float(settings.upgrade_range_factor), 1.0)
        cams_existing = cams_existing.assign(
            action=action,
            connected_after=after,
            quality_after=np.where(upgraded, "HD", cams_existing["quality"].to_numpy(dtype=object)),
            range_after_m=cams_existing["range_m"].to_numpy(dtype=float) * factor,
        )
        views_existing = view_polygons(
            cams_existing.geometry,
            cams_existing["heading_deg"].to_numpy(dtype=float),
            fov_deg=cams_existing["fov_deg"].to_numpy(dtype=float),
            range_m=cams_existing["range_after_m"].to_numpy(dtype=float),
            buildings=buildings,
        )
        ids = cams_existing["camera_id"].to_numpy()
        pairs = pd.concat(
            [pairs0.assign(camera_id=ids[pairs0["camera"].to_numpy(dtype=np.int64)], camera_kind="existing"), pairs],
            ignore_index=True,
        )
        cams_existing = _existing_adds(cams_existing, pairs, demand, settings)
    # views from the pairs that count (an upgraded camera is one view, not two)
    demand = demand.assign(views=np.bincount(pairs["demand"].to_numpy(dtype=np.int64), minlength=len(demand)))
    if districts is not None and len(districts):
        cams_new = cams_new.assign(district=in_polygons(cams_new.geometry, districts).to_numpy())
        if cams_existing is not None:
            cams_existing = cams_existing.assign(district=in_polygons(cams_existing.geometry, districts).to_numpy())
    stats = {
        "sites": len(sites),
        "orientations": int(useful.size),
        "useful_orientations": matrix.shape[1],
        "pairs_checked": checked,
        "blocked_pairs": blocked,
        "matrix_s": matrix_s,
        "nonzeros": int(matrix.nnz),
        "cameras_moved": 0 if cams_existing is None else int(cams_existing["moved"].sum()),
        "cameras_far_from_street": 0 if cams_existing is None else int((~cams_existing["street_credit"]).sum()),
        "cameras_assumed_heading": 0 if cams_existing is None else int(cams_existing["assumed"].str.contains("heading").sum()),
    }
    plan = CoveragePlan(
        cameras_new=cams_new,
        cameras_existing=cams_existing,
        demand=demand,
        sites=sites,
        result=result,
        curve=curve,
        views_new=views_new,
        views_existing=views_existing,
        settings=settings,
        stats=stats,
        warnings=tuple(warnings),
        safety_caps=tuple(caps),
        pairs=pairs,
    )
    log.info("%s", plan.summary())
    return plan


def _lscp_mask(
    demand: gpd.GeoDataFrame, districts: gpd.GeoDataFrame | None, settings: CameraSettings, warnings: list[str]
) -> np.ndarray:
    if "must_cover" in demand and demand["must_cover"].any():
        return demand["must_cover"].to_numpy(dtype=bool)
    if districts is None or "district" not in demand:
        warnings.append("coverage: no districts or must-cover zones: the set cover covers every street")
        return np.ones(len(demand), dtype=bool)
    chosen = settings.lscp_districts
    if chosen is not None:
        unknown = sorted(set(chosen) - set(districts["name"]))
        if unknown:
            raise InfeasibleSettingsError.single(
                f"no district named {', '.join(map(repr, unknown))}",
                field="cameras.lscp_districts",
                hint=f"districts are: {', '.join(map(str, districts['name']))}",
            )
        return demand["district"].isin(chosen).to_numpy()
    return demand["district"].notna().to_numpy()


def _new_cameras(
    selected: np.ndarray,
    matrix: sp.csr_matrix,
    demand: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    settings: CameraSettings,
    col_model: np.ndarray,
    col_site: np.ndarray,
    col_heading: np.ndarray,
    buildings: gpd.GeoDataFrame | None,
) -> tuple[gpd.GeoDataFrame, gpd.GeoSeries]:
    """One row per new camera with what it adds: demand points are credited to the new
    camera that sees them best, for the credit above what existing cameras give."""
    crs = sites.crs
    if len(selected) == 0:
        empty = gpd.GeoDataFrame(
            {
                c: []
                for c in (
                    "camera_id",
                    "site_id",
                    "source",
                    "model",
                    "heading_deg",
                    "fov_deg",
                    "range_m",
                    "cost",
                    "added_weight",
                    "added_share",
                    "reason",
                )
            },
            geometry=[],
            crs=crs,
        )
        return empty, gpd.GeoSeries([], crs=crs)
    sub = matrix[:, selected].tocsc()
    best = np.asarray(sub.argmax(axis=1)).ravel()
    best_credit = np.asarray(sub.max(axis=1).todense()).ravel()
    gain = np.maximum(best_credit - demand["credit_existing"].to_numpy(), 0.0) * demand["weight"].to_numpy()
    added = np.bincount(best[gain > 0], weights=gain[gain > 0], minlength=len(selected))
    total_gain = added.sum()
    is_street = (demand["kind"] == "street").to_numpy()
    level = demand["level"].to_numpy() if "level" in demand else np.full(len(demand), None)
    site_name = demand["key_site"].to_numpy() if "key_site" in demand else np.full(len(demand), None)
    rows = []
    for k, col in enumerate(selected):
        mine = (best == k) & (gain > 0)
        model = settings.models[int(col_model[col])]
        street_m = int(round((mine & is_street).sum() * settings.spacing_m))
        hot = int(np.isin(level[mine], ["red", "orange"]).sum())
        sites_seen = sorted({str(s) for s in site_name[mine] if s is not None and s == s})
        reason = (
            f"adds {added[k] / total_gain:.1%} of the new coverage: ~{street_m} m of street"
            if total_gain > 0
            else "adds no new coverage"
        )
        if hot:
            reason += f", {hot} points on red/orange streets"
        if sites_seen:
            reason += f", key site {', '.join(sites_seen[:3])}"
        site = sites.iloc[int(col_site[col])]
        rows.append(
            {
                "camera_id": new_camera_id(site.get("site_id", int(col_site[col])), model.name, float(col_heading[col])),
                "site_id": site.get("site_id", int(col_site[col])),
                "source": site.get("source", ""),
                "model": model.name,
                "heading_deg": float(col_heading[col]),
                "fov_deg": model.fov_deg,
                "range_m": model.range_m,
                "cost": model.cost,
                "added_weight": float(added[k]),
                "added_share": float(added[k] / total_gain) if total_gain > 0 else 0.0,
                "reason": reason,
                "geometry": site.geometry,
            }
        )
    cams = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs).sort_values("added_weight", ascending=False)
    cams = cams.reset_index(drop=True)
    views = view_polygons(
        cams.geometry,
        np.nan_to_num(cams["heading_deg"].to_numpy(dtype=float)),
        fov_deg=cams["fov_deg"].to_numpy(dtype=float),
        range_m=cams["range_m"].to_numpy(dtype=float),
        buildings=buildings,
    )
    return cams, views


# --------------------------------------------------------------------------- traceable coverage
def new_camera_id(site_id: Any, model: str, heading_deg: float) -> str:
    """The stable id of a new camera: its site, model and heading (``N<site>-<model>-<heading>``, ``all`` for 360°)."""
    head = "all" if heading_deg != heading_deg else f"{heading_deg:03.0f}"
    return f"N{site_id}-{'_'.join(str(model).split())}-{head}"


def _new_pairs(
    selected: np.ndarray,
    matrix: sp.csr_matrix,
    demand: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    settings: CameraSettings,
    col_model: np.ndarray,
    col_site: np.ndarray,
    col_heading: np.ndarray,
) -> pd.DataFrame:
    """The (demand point, new camera) pairs of the plan, with distance and bearing."""
    selected = np.asarray(selected, dtype=np.int64)
    sub = matrix[:, selected].tocoo()
    d, k = sub.row.astype(np.int64), sub.col.astype(np.int64)
    site_row = col_site[selected[k]]
    sxy = shapely.get_coordinates(sites.geometry.to_numpy()[site_row]) if len(d) else np.empty((0, 2))
    dxy = shapely.get_coordinates(demand.geometry.to_numpy()[d]) if len(d) else np.empty((0, 2))
    delta = dxy - sxy
    site_ids = sites["site_id"].to_numpy() if "site_id" in sites else np.arange(len(sites))
    ids = np.array(
        [new_camera_id(site_ids[col_site[c]], settings.models[int(col_model[c])].name, float(col_heading[c])) for c in selected],
        dtype=object,
    )
    return pd.DataFrame(
        {
            "camera": k,
            "demand": d,
            "distance_m": np.hypot(delta[:, 0], delta[:, 1]),
            "bearing_deg": bearing_deg(delta[:, 0], delta[:, 1]),
            "credit": sub.data.astype(float),
            "camera_id": ids[k] if len(k) else np.empty(0, dtype=object),
            "camera_kind": "new",
        }
    )


def _existing_adds(
    cams: gpd.GeoDataFrame, pairs: pd.DataFrame, demand: gpd.GeoDataFrame, settings: CameraSettings
) -> gpd.GeoDataFrame:
    """Per existing camera what it sees (``sees_points``, ``sees_street_m``), what no other camera
    sees (``alone_points``, ``alone_weight_share`` of all demand weight) and ``adds`` in words."""
    n = len(cams)
    ex = pairs[pairs["camera_kind"] == "existing"]
    cam = ex["camera"].to_numpy(dtype=np.int64)
    d = ex["demand"].to_numpy(dtype=np.int64)
    seen_by = np.bincount(pairs["demand"].to_numpy(dtype=np.int64), minlength=len(demand))
    is_street = (demand["kind"] == "street").to_numpy()
    weight = demand["weight"].to_numpy(dtype=float)
    alone = seen_by[d] == 1
    sees = np.bincount(cam, minlength=n)
    street_m = np.bincount(cam, weights=is_street[d].astype(float), minlength=n) * settings.spacing_m
    alone_n = np.bincount(cam[alone], minlength=n)
    total = float(weight.sum()) or 1.0
    alone_w = np.bincount(cam[alone], weights=weight[d[alone]], minlength=n) / total
    adds = [
        f"sees {s:,} demand points (~{m:,.0f} m of street), {a:,} seen by no other camera ({w:.2%} of the risk weight)"
        if s
        else "sees no demand point"
        for s, m, a, w in zip(sees, street_m, alone_n, alone_w, strict=True)
    ]
    return cams.assign(sees_points=sees, sees_street_m=street_m, alone_points=alone_n, alone_weight_share=alone_w, adds=adds)


def _pairs_frame(plan: CoveragePlan) -> gpd.GeoDataFrame:
    crs = plan.demand.crs
    cols = ["demand_id", "camera_id", "camera_kind", "distance_m", "bearing_deg", "credit"]
    p = plan.pairs
    if p is None or not len(p):
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=crs)
    d = p["demand"].to_numpy(dtype=np.int64)
    dpts = plan.demand.geometry.to_numpy()[d]
    cam_pts = np.empty(len(p), dtype=object)
    ex = (p["camera_kind"] == "existing").to_numpy()
    if ex.any() and plan.cameras_existing is not None:
        cam_pts[ex] = plan.cameras_existing.geometry.to_numpy()[p["camera"].to_numpy(dtype=np.int64)[ex]]
    if (~ex).any():
        where = dict(zip(plan.cameras_new["camera_id"], plan.cameras_new.geometry.to_numpy(), strict=True))
        cam_pts[~ex] = [where[c] for c in p["camera_id"].to_numpy()[~ex]]
    lines = shapely.shortest_line(cam_pts.astype(object), dpts)
    out = pd.DataFrame(
        {
            "demand_id": plan.demand["demand_id"].to_numpy()[d],
            "camera_id": p["camera_id"].to_numpy(),
            "camera_kind": p["camera_kind"].to_numpy(),
            "distance_m": p["distance_m"].to_numpy(dtype=float).round(3),
            "bearing_deg": p["bearing_deg"].to_numpy(dtype=float).round(3),
            "credit": p["credit"].to_numpy(dtype=float),
        }
    )
    return gpd.GeoDataFrame(out, geometry=lines, crs=crs)


def _asked_tiers(demand: gpd.GeoDataFrame, settings: CameraSettings) -> gpd.GeoDataFrame:
    """The quality tier each demand point asks for (``tier``: the key-site layer's, else
    ``key_site_tier`` / ``street_tier``) and its band as a share of range (``tier_share``)."""
    tier = demand["tier"].to_numpy(dtype=object).copy() if "tier" in demand else np.full(len(demand), None, dtype=object)
    tier = np.array([None if t is None or pd.isna(t) or not str(t).strip() else str(t).strip() for t in tier], dtype=object)
    bands = {t.name: float(t.max_range_share) for t in settings.tiers or ()}
    by_fold = {name.casefold(): name for name in bands}
    from_layer = np.array([t is not None for t in tier], dtype=bool)
    unknown = sorted({str(t) for t in tier[from_layer] if t.casefold() not in by_fold})
    if unknown:  # the key-site layer's own tiers: name the layer's column
        raise InfeasibleSettingsError.single(
            f"key sites ask for quality tiers that cameras.tiers does not define: {', '.join(map(repr, unknown))}",
            field="layers.key_sites.tier",
            hint=f"use one of: {', '.join(bands)}"
            if bands
            else "define cameras.tiers (e.g. identify, recognise, observe, detect)",
        )
    tier[from_layer] = [by_fold[t.casefold()] for t in tier[from_layer]]
    kind = demand["kind"].to_numpy()
    for k, asked in (("key_site", settings.key_site_tier), ("street", settings.street_tier)):
        if asked is not None:
            tier[(kind == k) & np.array([t is None for t in tier], dtype=bool)] = asked
    if all(t is None for t in tier):
        return demand
    share = np.array([np.nan if t is None else bands[t] for t in tier], dtype=float)
    return demand.assign(tier=tier, tier_share=share)


def _district_table(plan: CoveragePlan) -> pd.DataFrame:
    d = plan.demand
    ex = plan.cameras_existing
    new = plan.cameras_new
    w = d["weight"].to_numpy(dtype=float)
    street = (d["kind"] == "street").to_numpy()
    masks = {
        "main_roads": street & d["main_road"].to_numpy(dtype=bool) if "main_road" in d else street & False,
        "busy_streets": street & d["level"].isin(["red", "orange"]).to_numpy() if "level" in d else street & False,
        "streets": street,
        "key_sites": (d["kind"] == "key_site").to_numpy(),
    }

    def share(mask: np.ndarray, column: str) -> float | None:
        tot = float(w[mask].sum())
        return round(float((w[mask] * d[column].to_numpy(dtype=float)[mask]).sum() / tot), 4) if tot > 0 else None

    def ratio(a: int, b: int) -> float | None:
        return round(a / b, 4) if b else None

    districts: list = [None]
    if "district" in d:
        names = [x for x in pd.unique(d["district"]) if pd.notna(x)]
        if ex is not None and "district" in ex:
            names += [x for x in pd.unique(ex["district"]) if pd.notna(x) and x not in names]
        districts = [*names, None]
    rows = []
    for name in districts:
        in_d = np.ones(len(d), dtype=bool) if name is None else (d["district"] == name).to_numpy()
        e = ex if ex is None or name is None else ex[ex["district"] == name]
        n_new = len(new) if name is None or "district" not in new else int((new["district"] == name).sum())
        n_ex = 0 if e is None else len(e)
        conn_b = 0 if e is None else int(e["connected"].sum())
        conn_a = 0 if e is None else int(e.get("connected_after", e["connected"]).sum())
        hd_b = 0 if e is None else int((e["quality"] == "HD").sum())
        hd_a = 0 if e is None else int((e.get("quality_after", e["quality"]) == "HD").sum())
        acts = e["action"] if e is not None and "action" in e else pd.Series([], dtype=object)
        row = {
            "district": "(all)" if name is None else str(name),
            "cameras_before": n_ex,
            "cameras_after": n_ex + n_new,
            "new_cameras": n_new,
            "connected": int(acts.str.startswith("connect").sum()),
            "upgraded": int(acts.str.contains("upgrade").sum()),
            "connected_share_before": ratio(conn_b, n_ex),
            "connected_share_after": ratio(conn_a + n_new, n_ex + n_new),
            "hd_share_before": ratio(hd_b, n_ex),
            "hd_share_after": ratio(hd_a + n_new, n_ex + n_new),
        }
        for key, mask in masks.items():
            row[f"{key}_covered_before"] = share(in_d & mask, "credit_existing")
            row[f"{key}_covered_after"] = share(in_d & mask, "credit")
        rows.append(row)
    return pd.DataFrame(rows)
