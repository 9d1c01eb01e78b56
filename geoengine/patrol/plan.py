"""PatrolPlan: beats, posts, force allocation and routes per time window.

:func:`plan_patrol` composes the patrol stage:

1. **beats** — K contiguous beats balancing street length and risk;
2. **posts** — checkpoints intercepting traffic into key districts, booths covering
   the most risk within T minutes;
3. **targets** — hotspots (clusters of red/orange streets) with the visits each needs
   per window (dwell ≈ 12 min; revisits no further apart than the level's maximum
   gap), less the share cameras already watch;
4. **allocation** — how many teams go to each beat in each window (CP-SAT, in
   proportion to risk), which fixes the beats each team may patrol;
5. **routes** — per window, each team's ordered stops with arrival and departure
   times (OR-Tools routing with time windows, shifts, breaks and optional visits
   that are dropped with a reason, never silently).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..coverage.stop import MaxRuntime
from ..errors import InfeasibleSettingsError
from .allocation import Allocation, allocate_force
from .beats import Beats, make_beats
from .posts import Posts, choose_booths, choose_checkpoints
from .routing import Route, RoutingProblem, RoutingResult, Stop, Vehicle, solve_routing
from .targets import hotspot_targets, visit_slots
from .travel import TravelMatrix, travel_matrix

if TYPE_CHECKING:
    from ..coverage.plan import CoveragePlan
    from ..network import RoadNetwork
    from ..risk import RiskSurface
    from ..scenario import PatrolSettings, TimeWindow

__all__ = ["PatrolPlan", "plan_patrol"]

log = logging.getLogger(__name__)

ROUTE_COLUMNS = (
    "team", "mode", "window", "seq", "place_id", "place_kind", "lon", "lat", "arrive", "depart",
    "dwell_min", "travel_min_from_prev", "risk_level",
)  # fmt: skip


@dataclass(frozen=True, eq=False)
class PatrolPlan:
    """Beats, posts, allocation, routes per window and what was dropped.

    ``stops`` has one row per stop: team, mode, window, seq, place_id, place_kind
    (base / hotspot / district), arrive_s / depart_s (seconds after the window's
    start), arrive / depart (clock), dwell_min, travel_min_from_prev, risk_level, and
    geometry. ``dropped`` lists visits no team could make, with the reason.
    ``requirements`` has one row per (hotspot or district, window): visits required,
    served, the largest gap between arrivals and whether the dosage target is met.
    """

    beats: Beats
    checkpoints: Posts | None
    booths: Posts | None
    allocation: Allocation | None
    hotspots: gpd.GeoDataFrame
    teams: pd.DataFrame
    stops: gpd.GeoDataFrame
    route_lines: gpd.GeoDataFrame
    dropped: pd.DataFrame
    requirements: pd.DataFrame
    results: dict[str, RoutingResult]
    time_window_violations: int
    camera_shift: dict[str, float | None]
    alternatives: tuple[pd.DataFrame, ...] = ()
    warnings: tuple[str, ...] = ()
    changed_stops: int | None = None  # re-planning: stops that moved to another team or were dropped/added
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def routes_table(self) -> pd.DataFrame:
        """The ``routes.csv`` table (SPEC columns, WGS84 lon/lat)."""
        if len(self.stops) == 0:
            return pd.DataFrame(columns=list(ROUTE_COLUMNS))
        ll = self.stops.to_crs("EPSG:4326")
        out = pd.DataFrame(self.stops.drop(columns="geometry"))
        out["lon"] = ll.geometry.x.round(7).to_numpy()
        out["lat"] = ll.geometry.y.round(7).to_numpy()
        return out[list(ROUTE_COLUMNS)]

    def workload(self) -> pd.DataFrame:
        """Per team and window: busy minutes (travel + dwell), shift minutes, utilisation."""
        s = self.stops
        if len(s) == 0:
            return pd.DataFrame(columns=["team", "window", "busy_min", "shift_min", "utilisation"])
        busy = s.groupby(["team", "window"]).agg(travel=("travel_min_from_prev", "sum"), dwell=("dwell_min", "sum"))
        busy["busy_min"] = busy["travel"] + busy["dwell"]
        shift = self.teams.set_index(["team", "window"])["shift_min"]
        busy = busy.join(shift, how="right").fillna({"busy_min": 0.0})
        busy["utilisation"] = busy["busy_min"] / busy["shift_min"]
        return busy.reset_index()[["team", "window", "busy_min", "shift_min", "utilisation"]]

    def district_presence(self) -> pd.DataFrame:
        """Per district per window: visits, minutes of presence, largest gap between arrivals."""
        s = self.stops[self.stops["district"].notna()] if "district" in self.stops else self.stops.iloc[0:0]
        rows = []
        for (d, w), g in s.groupby(["district", "window"]):
            arr = np.sort(g["arrive_s"].to_numpy())
            rows.append(
                {
                    "district": d,
                    "window": w,
                    "visits": len(g),
                    "presence_min": float(g["dwell_min"].sum()),
                    "largest_gap_min": float(np.diff(arr).max() / 60.0) if len(arr) > 1 else None,
                }
            )
        return pd.DataFrame(rows)

    def metrics(self) -> dict[str, Any]:
        """The ``metrics.patrol`` block of the manifest."""
        req = self.requirements
        hot = req[req["kind"] == "hotspot"] if len(req) else req
        if not len(req):
            req = pd.DataFrame({"largest_gap_min": []})
        wl = self.workload()
        util = wl["busy_min"].to_numpy(dtype=float)
        cv = float(util.std() / util.mean()) if len(util) and util.mean() > 0 else None
        gaps = req["largest_gap_min"].dropna()
        out: dict[str, Any] = {
            "teams": int(self.teams["team"].nunique()),
            "beats": int(len(self.beats.beats)),
            "checkpoints": 0 if self.checkpoints is None else int(len(self.checkpoints.sites)),
            "booths": 0 if self.booths is None else int(len(self.booths.sites)),
            "visits_planned": int((self.stops["place_kind"] != "base").sum()) if len(self.stops) else 0,
            "visits_dropped": int(len(self.dropped)),
            "dosage_met_share": float(hot["met"].mean()) if len(hot) else None,
            "max_revisit_gap_min": float(gaps.max()) if len(gaps) else None,
            "workload_cv": None if cv is None else round(cv, 4),
            "time_window_violations": int(self.time_window_violations),
            "beat_workload_cv": round(float(self.beats.cv), 4),
            "hotspots": int(len(self.hotspots)),
            "dropped_reasons": self.dropped["reason"].value_counts().to_dict() if len(self.dropped) else {},
            "camera_shift": self.camera_shift,
            "alternatives": len(self.alternatives) + 1,
            "alternatives_differ_share": [float(a["differs_share"].iloc[0]) for a in self.alternatives if len(a)],
            "changed_stops": self.changed_stops,
            "routing": {w: {"status": r.status, "objective": r.objective, "solve_s": round(r.solve_s, 3)} for w, r in self.results.items()},
        }
        if self.checkpoints is not None:
            out["checkpoint_metrics"] = _jsonable(self.checkpoints.metrics)
        if self.booths is not None:
            out["booth_metrics"] = _jsonable(self.booths.metrics)
        if self.allocation is not None:
            out["allocation"] = {"status": self.allocation.status, "objective": self.allocation.objective, "gap": self.allocation.gap}
        dp = self.district_presence()
        if len(dp):  # a district visited once has no gap: None in JSON, not NaN
            out["districts"] = dp.astype(object).where(dp.notna(), None).to_dict(orient="records")
        return out

    def summary(self) -> str:
        m = self.metrics()
        share = "n/a" if m["dosage_met_share"] is None else f"{m['dosage_met_share']:.0%}"
        return (
            f"patrol: {m['teams']} teams, {m['beats']} beats, {m['checkpoints']} checkpoints, {m['booths']} booths; "
            f"{m['visits_planned']} visits planned, {m['visits_dropped']} dropped; dosage met {share}; "
            f"time-window violations {m['time_window_violations']}"
        )

    def __repr__(self) -> str:
        return f"<PatrolPlan {self.summary()}>"


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        if isinstance(v, (int, float, str, bool)) or v is None:
            out[k] = v
        elif isinstance(v, (np.integer, np.floating)):
            out[k] = v.item()
        else:
            out[k] = str(v)
    return out


def _hhmm_to_s(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 3600 + int(m) * 60


def _clock(window: TimeWindow, offset_s: float) -> str:
    t = (window.start_min * 60 + int(round(offset_s))) % 86400
    return f"{t // 3600:02d}:{(t % 3600) // 60:02d}"


def _expand_teams(settings: PatrolSettings, windows: tuple[TimeWindow, ...], stations: gpd.GeoDataFrame) -> pd.DataFrame:
    """One row per (team, window) it works in, with its base and shift in seconds from the window start."""
    if stations is None or len(stations) == 0:
        raise InfeasibleSettingsError.single(
            "patrol teams need a base: the scenario has no stations layer", field="layers.stations",
            hint="add a stations layer (police stations or team bases)",
        )
    names = stations["name"].astype(str).tolist() if "name" in stations else [f"Station {i}" for i in range(len(stations))]
    by_name = {n: i for i, n in enumerate(names)}
    problems = []
    rows = []
    win_names = {w.name: w for w in windows}
    for t in settings.teams:
        if isinstance(t.base, int):
            base = t.base if 0 <= t.base < len(stations) else None
        elif isinstance(t.base, str):
            base = by_name.get(t.base)
        else:
            base = 0
        if base is None:
            problems.append(f"team {t.name!r}: no station {t.base!r} (stations: {', '.join(names[:8])})")
            continue
        unknown = [w for w in (t.windows or ()) if w not in win_names]
        if unknown:
            problems.append(f"team {t.name!r}: no window {', '.join(unknown)}")
            continue
        for k in range(t.count):
            name = t.name if t.count == 1 else f"{t.name}-{k + 1}"
            for w in windows:
                if t.windows is not None and w.name not in t.windows:
                    continue
                duration = w.duration_min * 60
                start = 0 if t.shift_start is None else (_hhmm_to_s(t.shift_start) - w.start_min * 60) % 86400
                end = duration if t.shift_end is None else (_hhmm_to_s(t.shift_end) - w.start_min * 60) % 86400 or duration
                start, end = max(0, min(start, duration)), max(0, min(end, duration))
                if end <= start:
                    continue
                rows.append(
                    {"team": name, "mode": t.mode, "window": w.name, "base": base, "base_name": names[base],
                     "shift_start_s": start, "shift_end_s": end, "shift_min": (end - start) / 60.0,
                     "break_s": 60 * t.break_min, "volunteer": t.volunteer}  # fmt: skip
                )
    if problems:
        from ..errors import Problem

        raise InfeasibleSettingsError(
            f"{len(problems)} problem(s) with patrol.teams",
            problems=[Problem(p, field="patrol.teams") for p in problems],
        )
    if not rows:
        raise InfeasibleSettingsError.single("no team works in any window", field="patrol.teams")
    return pd.DataFrame(rows)


def plan_patrol(
    network: RoadNetwork,
    *,
    settings: PatrolSettings,
    windows: tuple[TimeWindow, ...],
    risk: RiskSurface,
    stations: gpd.GeoDataFrame,
    districts: gpd.GeoDataFrame | None = None,
    coverage: CoveragePlan | None = None,
    time_limit_s: float = 30.0,
    seed: int = 0,
) -> PatrolPlan:
    """Plan beats, posts and routes for every window (see the module docstring)."""
    warnings: list[str] = []
    teams = _expand_teams(settings, windows, stations.to_crs(network.crs))
    bases = stations.to_crs(network.crs).reset_index(drop=True)

    # 1. beats ---------------------------------------------------------------
    segs = network.segments()
    overall = risk.overall.set_index("segment_id")["risk"].reindex(segs.index).fillna(0.0)
    scale = segs["length_m"].sum() / overall.sum() if overall.sum() > 0 else 0.0
    workload = segs["length_m"] + scale * overall
    beats = make_beats(network, k=settings.beats, workload=workload, tolerance=settings.beat_tolerance, seed=seed)
    if beats.max_deviation > settings.beat_tolerance:
        warnings.append(
            f"patrol: beats balanced to ±{beats.max_deviation:.0%}, outside the ±{settings.beat_tolerance:.0%} "
            "tolerance (contiguity comes first)"
        )

    # 2. posts ---------------------------------------------------------------
    stop_post = MaxRuntime(max(1.0, time_limit_s / 4))
    checkpoints = None
    if settings.checkpoints > 0:
        checkpoints = choose_checkpoints(
            network, k=settings.checkpoints, districts=districts, method=settings.checkpoint_method, seed=seed,
            stop=stop_post,
        )  # fmt: skip
    booths = None
    if settings.booths > 0:
        booths = choose_booths(
            network, k=settings.booths, risk=overall, minutes=settings.booth_minutes, mode=settings.booth_mode,
            stop=stop_post, seed=seed,
        )  # fmt: skip

    # 3. targets -------------------------------------------------------------
    camera_watch = None
    camera_shift: dict[str, float | None] = {"covered_risk_share": None}
    if coverage is not None:
        d = coverage.demand[coverage.demand["kind"] == "street"]
        camera_watch = d.groupby("segment_id")["credit"].mean()
    hotspots = hotspot_targets(
        risk, levels=settings.hotspot_levels, camera_watch=camera_watch, camera_discount=settings.camera_discount
    )
    if len(hotspots):
        first_seg = [s[0] for s in hotspots["segments"]]
        best_seg = [
            max(s, key=lambda sid: float(overall.get(sid, 0.0))) for s in hotspots["segments"]
        ]
        hotspots["beat"] = beats.assignment.reindex(best_seg).fillna(beats.assignment.reindex(first_seg)).astype(int).to_numpy()
        if districts is not None and len(districts):
            from ..coverage.plan import _in_polygons

            hotspots["district"] = _in_polygons(hotspots.geometry, districts).to_numpy()
        else:
            hotspots["district"] = None

    # 4. allocation ------------------------------------------------------------
    allocation = _allocate(teams, beats, hotspots, windows, districts, checkpoints, settings, time_limit_s, seed, warnings)

    # 5. routes ---------------------------------------------------------------
    stops_frames, lines, dropped_rows, req_rows = [], [], [], []
    results: dict[str, RoutingResult] = {}
    violations = 0
    alternatives: list[pd.DataFrame] = []
    per_window = max(1.0, time_limit_s / max(1, len(windows)))
    previous = _previous_routes(settings)
    for w in windows:
        wt = teams[teams["window"] == w.name].reset_index(drop=True)
        if wt.empty:
            warnings.append(f"patrol: no team works in window {w.name!r}")
            continue
        team_beats = _team_beats(wt, beats, allocation, w.name, bases, network)
        built = _window_problem(network, w, wt, team_beats, hotspots, bases, districts, settings)
        if built is None:
            continue
        problem, places, visits, matrices = built
        hint = _hint(previous, w.name, wt, visits, problem.allowed) if previous is not None else None
        result = solve_routing(
            problem, stop=MaxRuntime(per_window), seed=seed, hint=hint,
            change_penalty=int(60 * settings.change_penalty_min) if hint is not None else 0,
        )  # fmt: skip
        results[w.name] = result
        violations += int(result.time_window_violations(problem))
        frame, route_lines = _collect(result, problem, places, visits, wt, w, matrices)
        stops_frames.append(frame)
        lines.extend(route_lines)
        dropped_rows.extend(_dropped(result, problem, visits, wt, w))
        req_rows.extend(_requirements(visits, frame, w, settings))
        for k in range(1, settings.alternatives):
            alt = solve_routing(problem, stop=MaxRuntime(per_window), seed=seed + k)
            if alt.objective <= result.objective * (1 + settings.alternative_tolerance):
                alt_frame, _ = _collect(alt, problem, places, visits, wt, w, matrices)
                alternatives.append(alt_frame.assign(alternative=k))

    crs = network.crs
    stops = (
        gpd.GeoDataFrame(pd.concat(stops_frames, ignore_index=True), geometry="geometry", crs=crs)
        if stops_frames
        else gpd.GeoDataFrame({c: [] for c in ROUTE_COLUMNS}, geometry=[], crs=crs)
    )
    route_lines = gpd.GeoDataFrame(lines, geometry="geometry", crs=crs) if lines else gpd.GeoDataFrame(
        {"team": [], "window": []}, geometry=[], crs=crs
    )
    if coverage is not None and len(stops):
        camera_shift = _camera_shift(stops, coverage, network)
    plan = PatrolPlan(
        beats=beats, checkpoints=checkpoints, booths=booths, allocation=allocation, hotspots=hotspots, teams=teams,
        stops=stops, route_lines=route_lines, dropped=pd.DataFrame(dropped_rows, columns=["window", "place_id", "visit", "level", "reason"]),
        requirements=pd.DataFrame(req_rows), results=results, time_window_violations=violations,
        camera_shift=camera_shift, alternatives=tuple(_compare_alternatives(stops, alternatives)), warnings=tuple(warnings),
        changed_stops=_changed_stops(previous, stops) if previous is not None else None,
    )  # fmt: skip
    log.info("%s", plan.summary())
    return plan


# --------------------------------------------------------------------------- re-planning
def _previous_routes(settings: PatrolSettings) -> pd.DataFrame | None:
    """``routes.csv`` of the run folder named by ``patrol.previous_run``."""
    if settings.previous_run is None:
        return None
    from ..errors import InputFileNotFoundError

    path = settings.previous_run / "routes.csv"
    if not path.is_file():
        raise InputFileNotFoundError.single(
            "the previous run has no routes.csv", file=path, field="patrol.previous_run",
            hint="give the folder of a finished run that planned patrols",
        )
    return pd.read_csv(path)


def _changed_stops(previous: pd.DataFrame, stops: gpd.GeoDataFrame) -> int:
    """Stops that differ from the previous plan: a (window, place, team) visit made now but
    not before, or before but not now, counting a moved visit once."""
    from collections import Counter

    def visits(df: pd.DataFrame) -> Counter:
        v = df[df["place_kind"] != "base"] if len(df) else df
        return Counter(zip(v["window"], v["place_id"], v["team"])) if len(v) else Counter()

    old, new = visits(previous), visits(stops)
    return max(sum((old - new).values()), sum((new - old).values()))


def _hint(
    previous: pd.DataFrame,
    window: str,
    wt: pd.DataFrame,
    visits: pd.DataFrame,
    allowed: tuple[frozenset[int] | None, ...] | None = None,
) -> RoutingResult | None:
    """Yesterday's routes in today's problem: each team's old stops, in order, mapped onto
    today's visit nodes of the same places (teams matched by name). A stop today's beats no
    longer allow the team to make is left out of its hint (the solver places it afresh)."""
    old = previous[(previous["window"] == window) & (previous["place_kind"] != "base")].sort_values(["team", "seq"])
    if old.empty:
        return None
    free: dict[str, list[int]] = {
        pid: list(g.sort_values("visit")["node"]) for pid, g in visits.groupby("place_id")
    }
    base_node = {b: i for i, b in enumerate(sorted(wt["base"].unique()))}  # as in _window_problem
    routes = []
    for k, team in enumerate(wt.itertuples()):
        home = base_node[team.base]
        nodes = []
        for pid in old.loc[old["team"] == team.team, "place_id"]:
            if free.get(pid):
                node = int(free[pid][0])
                if allowed is not None and allowed[node] is not None and k not in allowed[node]:
                    continue
                nodes.append(int(free[pid].pop(0)))
        # one route per vehicle of today's problem: a team with no old stops (new, or whose
        # stops went to the places of a removed team) starts from an empty route
        stops = tuple(Stop(n, 0, 0) for n in [home, *nodes, home])
        routes.append(Route(vehicle=k, stops=stops, travel_s=0, distance_m=None, break_start_s=None))
    if not any(len(r.stops) > 2 for r in routes):
        return None
    return RoutingResult(routes=tuple(routes), dropped=(), objective=0, status="feasible", solve_s=0.0,
                         first_solution="previous plan", metaheuristic="")  # fmt: skip


# --------------------------------------------------------------------------- allocation
def _allocate(
    teams: pd.DataFrame,
    beats: Beats,
    hotspots: gpd.GeoDataFrame,
    windows: tuple[TimeWindow, ...],
    districts: gpd.GeoDataFrame | None,
    checkpoints: Posts | None,
    settings: PatrolSettings,
    time_limit_s: float,
    seed: int,
    warnings: list[str],
) -> Allocation | None:
    units = []
    for w in windows:
        col = f"risk:{w.name}"
        by_beat = hotspots.groupby("beat")[col].sum() if len(hotspots) else pd.Series(dtype=float)
        for b in beats.beats["beat"]:
            units.append({"unit": f"Beat {int(b) + 1}", "kind": "beat", "window": w.name,
                          "risk": float(by_beat.get(b, 0.0)), "key": False})  # fmt: skip
    avail = teams.groupby(["mode", "window"]).size().rename("available").reset_index().rename(columns={"mode": "team_type"})
    avail["shift_units"] = 1
    cps = crews = None
    if checkpoints is not None and settings.checkpoint_crews > 0 and len(checkpoints.sites):
        cps = pd.DataFrame(
            [{"checkpoint": str(r.post_id), "window": w.name, "score": float(r.score)}
             for r in checkpoints.sites.itertuples() for w in windows]  # fmt: skip
        )
        crews = pd.DataFrame({"window": [w.name for w in windows], "available": settings.checkpoint_crews})
    try:
        return allocate_force(
            pd.DataFrame(units), avail, checkpoints=cps, crews=crews, min_per_key_unit=0,
            stop=MaxRuntime(max(1.0, time_limit_s / 10)), seed=seed,
        )  # fmt: skip
    except InfeasibleSettingsError as err:
        warnings.append(f"patrol: force allocation not possible ({err.summary}); beats are shared by nearest base")
        return None


def _team_beats(
    wt: pd.DataFrame, beats: Beats, allocation: Allocation | None, window: str, bases: gpd.GeoDataFrame, network: RoadNetwork
) -> dict[str, set[int]]:
    """Beats each team of the window may patrol, following the allocation: a beat given n
    teams of a type gets the n least-loaded teams of that type (nearest base first);
    beats with no team join the nearest staffed beat."""
    beat_ids = [int(b) for b in beats.beats["beat"]]
    centroids = beats.beats.set_index("beat").geometry.centroid
    staffed: dict[tuple[int, str | None], int] = {}
    if allocation is not None:
        t = allocation.table
        t = t[(t["window"] == window) & (t["teams"] > 0)]
        for (unit, ttype), n in t.groupby(["unit", "team_type"], dropna=False)["teams"].sum().items():
            if str(unit).startswith("Beat "):
                staffed[(int(str(unit).split()[1]) - 1, None if ttype != ttype else ttype)] = int(n)
    if not staffed:
        staffed = {(b, None): 1 for b in beat_ids}
    team_pts = bases.geometry.iloc[wt["base"].to_numpy()].to_numpy()
    names = wt["team"].tolist()
    modes = wt["mode"].tolist()
    out: dict[str, set[int]] = {name: set() for name in names}
    load = {name: 0 for name in names}
    for (b, ttype), n in sorted(staffed.items(), key=lambda kv: -kv[1]):
        d = shapely.distance(team_pts, centroids.loc[b])
        pool = [i for i in range(len(wt)) if ttype is None or modes[i] == ttype] or list(range(len(wt)))
        for i in sorted(pool, key=lambda i: (load[names[i]], d[i]))[: max(1, n)]:
            out[names[i]].add(b)
            load[names[i]] += 1
    # beats without a team join the team of the nearest staffed beat
    covered = {b for s in out.values() for b in s}
    for b in beat_ids:
        if b in covered:
            continue
        near = min(covered, key=lambda c: centroids.loc[b].distance(centroids.loc[c])) if covered else b
        for name, s in out.items():
            if near in s:
                s.add(b)
    for name, s in out.items():  # a team with no beat (more teams than beats) takes the nearest
        if not s:
            i = int(np.flatnonzero(wt["team"].to_numpy() == name)[0])
            s.add(int(min(beat_ids, key=lambda b: team_pts[i].distance(centroids.loc[b]))))
    return out


# --------------------------------------------------------------------------- routing problem
def _window_problem(
    network: RoadNetwork,
    w: TimeWindow,
    wt: pd.DataFrame,
    team_beats: dict[str, set[int]],
    hotspots: gpd.GeoDataFrame,
    bases: gpd.GeoDataFrame,
    districts: gpd.GeoDataFrame | None,
    settings: PatrolSettings,
) -> tuple[RoutingProblem, gpd.GeoDataFrame, pd.DataFrame, dict[str, TravelMatrix]] | None:
    duration = w.duration_min * 60
    used_bases = sorted(wt["base"].unique())
    place_rows = [
        {"place_id": f"base:{bases['name'].iloc[b] if 'name' in bases else b}", "place_kind": "base", "level": None,
         "risk": 0.0, "beat": -1, "district": None, "geometry": bases.geometry.iloc[b]}
        for b in used_bases
    ]  # fmt: skip
    col_r, col_l = f"risk:{w.name}", f"level:{w.name}"
    chosen = pd.DataFrame()
    if len(hotspots):
        cand = hotspots[hotspots[col_l].isin(settings.hotspot_levels)]
        chosen = cand.sort_values(col_r, ascending=False).head(settings.max_hotspots_per_window)
    for h in chosen.itertuples():
        place_rows.append({"place_id": h.hotspot_id, "place_kind": "hotspot", "level": chosen.loc[h.Index, col_l],
                           "risk": float(chosen.loc[h.Index, col_r]), "beat": int(h.beat), "district": h.district,
                           "geometry": h.geometry})  # fmt: skip
    # key districts need presence at least every district_max_gap_min: a presence point per district
    if districts is not None and len(districts) and settings.district_max_gap_min:
        d = districts.to_crs(network.crs).reset_index(drop=True)
        pts = gpd.GeoSeries(d.geometry.representative_point().values, crs=network.crs)
        snapped = gpd.GeoSeries(network.snap(pts, mode="foot")["snapped"].values, crs=network.crs)
        for i, name in enumerate(d["name"].astype(str)):
            place_rows.append({"place_id": f"district:{name}", "place_kind": "district", "level": "district",
                               "risk": 0.0, "beat": -2, "district": name, "geometry": snapped.iloc[i]})  # fmt: skip
    places = gpd.GeoDataFrame(place_rows, geometry="geometry", crs=network.crs)
    if (places["place_kind"] != "base").sum() == 0:
        return None

    modes = sorted(wt["mode"].unique())
    matrices = {m: travel_matrix(network, places, mode=m) for m in modes}
    # visits: one node per required visit
    visit_rows = []
    for i, p in places.iterrows():
        if p["place_kind"] == "base":
            continue
        level = "district" if p["place_kind"] == "district" else p["level"]
        if p["place_kind"] == "district":
            gap = settings.district_max_gap_min
            slots = _district_slots(duration, gap, settings)
        else:
            slots = visit_slots(w, level, settings, start_s=0, end_s=duration)
        for k, (a, b, dwell) in enumerate(slots):
            visit_rows.append({"place": i, "visit": k, "earliest_s": a, "latest_s": b, "dwell_s": dwell,
                               "level": level, "kind": p["place_kind"], "place_id": p["place_id"],
                               "risk": p["risk"], "beat": p["beat"], "district": p["district"]})  # fmt: skip
    visits = pd.DataFrame(visit_rows)
    n_b = len(used_bases)
    n = n_b + len(visits)
    node_place = np.r_[np.arange(n_b), visits["place"].to_numpy(dtype=int)] if len(visits) else np.arange(n_b)
    travel = np.stack([matrices[m].seconds[np.ix_(node_place, node_place)] for m in wt["mode"]])
    travel = np.where(np.isfinite(travel), np.round(travel), 10 * 86400).astype(np.int64)
    metres = matrices[modes[0]].metres[np.ix_(node_place, node_place)]
    service = np.r_[np.zeros(n_b, dtype=np.int64), visits["dwell_s"].to_numpy(dtype=np.int64)]
    tw_a = np.r_[np.zeros(n_b, dtype=np.int64), visits["earliest_s"].to_numpy(dtype=np.int64)]
    tw_b = np.r_[np.full(n_b, duration, dtype=np.int64), visits["latest_s"].to_numpy(dtype=np.int64)]
    # dropping a visit costs more the riskier the hotspot (in seconds of travel it is worth)
    max_risk = max(float(visits["risk"].max()) if len(visits) else 1.0, 1e-9)
    rank = {"red": 3.0, "orange": 2.0, "yellow": 1.0, "district": 2.0}
    pen = [int(3600 * (rank.get(v.level, 1.0) + 2.0 * v.risk / max_risk)) for v in visits.itertuples()]
    penalty = np.r_[np.full(n_b, -1, dtype=np.int64), np.asarray(pen, dtype=np.int64)]
    base_node = {b: k for k, b in enumerate(used_bases)}
    vehicles = []
    for t in wt.itertuples():
        brk = None
        length = t.shift_end_s - t.shift_start_s
        if t.break_s > 0 and length >= 4 * 3600:
            brk = (t.shift_start_s + int(0.4 * length), t.shift_start_s + int(0.6 * length))
        vehicles.append(
            Vehicle(
                name=t.team, start=base_node[t.base], end=base_node[t.base], shift_start_s=int(t.shift_start_s),
                shift_end_s=int(t.shift_end_s), break_earliest_s=None if brk is None else brk[0],
                break_latest_s=None if brk is None else brk[1], break_duration_s=int(t.break_s) if brk else 0,
            )  # fmt: skip
        )
    allowed: list[frozenset[int] | None] = [None] * n_b
    for v in visits.itertuples():
        if settings.cross_beat or v.kind == "district":
            allowed.append(None)
        else:
            ok = frozenset(k for k, name in enumerate(wt["team"]) if int(v.beat) in team_beats[name])
            allowed.append(ok or None)
    problem = RoutingProblem.from_arrays(
        travel_s=travel, service_s=service, tw_start_s=tw_a, tw_end_s=tw_b, vehicles=tuple(vehicles),
        penalty=penalty, allowed=tuple(allowed), span_cost=1, distance=metres,
    )  # fmt: skip
    visits = visits.assign(node=np.arange(n_b, n))
    return problem, places, visits, matrices


def _district_slots(duration: int, gap_min: float, settings: PatrolSettings) -> list[tuple[int, int, int]]:
    gap = 60.0 * gap_min
    v = max(1, math.ceil(duration / (2.0 * gap / 3.0)))
    slot = duration / v
    dwell = int(round(60 * settings.dwell_min.get("orange", 12.0)))
    out = []
    for k in range(v):
        a = int(round(k * slot))
        b = min(int(round(a + min(gap / 3.0, slot))), duration - dwell)
        if b >= a:
            out.append((a, b, dwell))
    return out


def _collect(
    result: RoutingResult,
    problem: RoutingProblem,
    places: gpd.GeoDataFrame,
    visits: pd.DataFrame,
    wt: pd.DataFrame,
    w: TimeWindow,
    matrices: dict[str, TravelMatrix],
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    n_b = len(places[places["place_kind"] == "base"])
    node_place = np.r_[np.arange(n_b), visits["place"].to_numpy(dtype=int)] if len(visits) else np.arange(n_b)
    rows, lines = [], []
    for route in result.routes:
        team = wt.iloc[route.vehicle]
        matrix = matrices[team["mode"]]
        prev_node = None
        path_parts = []
        for seq, st in enumerate(route.stops):
            place = int(node_place[st.node])
            p = places.iloc[place]
            travel_min = 0.0
            if prev_node is not None:
                travel_min = float(problem.travel_s[route.vehicle, prev_node, st.node] if problem.travel_s.ndim == 3 else problem.travel_s[prev_node, st.node]) / 60.0
                path_parts.append(matrix.path(int(node_place[prev_node]), place))
            dwell = float(problem.service_s[st.node]) / 60.0
            level = p["level"] if p["place_kind"] == "hotspot" else None
            rows.append(
                {"team": team["team"], "mode": team["mode"], "window": w.name, "seq": seq, "place_id": p["place_id"],
                 "place_kind": p["place_kind"], "arrive_s": int(st.arrive_s), "depart_s": int(st.depart_s),
                 "arrive": _clock(w, st.arrive_s), "depart": _clock(w, st.depart_s), "dwell_min": round(dwell, 2),
                 "travel_min_from_prev": round(travel_min, 2), "risk_level": level, "district": p["district"],
                 "geometry": p.geometry}  # fmt: skip
            )
            prev_node = st.node
        if path_parts:
            coords: list[tuple[float, float]] = []
            for part in path_parts:
                pts = list(part.coords)
                coords.extend(pts if not coords else pts[1:])
            if len(coords) >= 2:
                lines.append({"team": team["team"], "mode": team["mode"], "window": w.name,
                              "stops": len(route.stops), "geometry": shapely.LineString(coords)})  # fmt: skip
    return pd.DataFrame(rows), lines


def _dropped(result: RoutingResult, problem: RoutingProblem, visits: pd.DataFrame, wt: pd.DataFrame, w: TimeWindow) -> list[dict[str, Any]]:
    rows = []
    by_node = visits.set_index("node")
    travel = problem.travel_s if problem.travel_s.ndim == 3 else problem.travel_s[None]
    for node in result.dropped:
        v = by_node.loc[node]
        allowed = problem.allowed[node] if problem.allowed is not None else None
        vehicles = range(len(problem.vehicles)) if allowed is None else sorted(allowed)
        earliest = min(
            (problem.vehicles[k].shift_start_s + travel[k if travel.shape[0] > 1 else 0, problem.vehicles[k].start, node] for k in vehicles),
            default=np.inf,
        )
        if allowed is not None and len(allowed) == 0:
            reason = "no team patrols its beat in this window"
        elif earliest > v["latest_s"]:
            reason = f"no team can reach it in its time window (earliest arrival {_clock(w, earliest)}, latest {_clock(w, v['latest_s'])})"
        else:
            reason = "not enough team time in the window (riskier visits came first)"
        rows.append({"window": w.name, "place_id": v["place_id"], "visit": int(v["visit"]), "level": v["level"], "reason": reason})
    return rows


def _requirements(visits: pd.DataFrame, frame: pd.DataFrame, w: TimeWindow, settings: PatrolSettings) -> list[dict[str, Any]]:
    rows = []
    served = frame[frame["place_kind"] != "base"] if len(frame) else frame
    for pid, g in visits.groupby("place_id", sort=False):
        arr = np.sort(served.loc[served["place_id"] == pid, "arrive_s"].to_numpy()) if len(served) else np.array([])
        kind = g["kind"].iloc[0]
        level = g["level"].iloc[0]
        gap_limit = settings.district_max_gap_min if kind == "district" else settings.max_gap_min.get(level)
        largest = float(np.diff(arr).max() / 60.0) if len(arr) > 1 else None
        met = len(arr) >= len(g) and (largest is None or gap_limit is None or largest <= gap_limit + 1e-6)
        rows.append({"window": w.name, "place_id": pid, "kind": kind, "level": level, "required": len(g),
                     "served": len(arr), "largest_gap_min": largest, "met": bool(met)})  # fmt: skip
    return rows


def _camera_shift(stops: gpd.GeoDataFrame, coverage: CoveragePlan, network: RoadNetwork) -> dict[str, float | None]:
    """Where patrol presence goes: share of dwell minutes on camera-watched streets vs the
    share of risk those streets carry (a ratio below 1 means patrols go where cameras do not see)."""
    d = coverage.demand[coverage.demand["kind"] == "street"]
    watched = d.groupby("segment_id")["credit"].mean()
    visits = stops[stops["place_kind"] != "base"]
    if len(visits) == 0:
        return {"presence_on_watched_share": None, "risk_on_watched_share": None}
    snap = network.snap(visits.geometry)
    w = watched.reindex(snap["segment_id"]).fillna(0.0).to_numpy()
    presence = float((visits["dwell_min"].to_numpy() * w).sum() / max(visits["dwell_min"].sum(), 1e-9))
    risk_w = (d["weight"] * d["credit"]).sum() / max(d["weight"].sum(), 1e-9)
    return {"presence_on_watched_share": round(presence, 4), "risk_on_watched_share": round(float(risk_w), 4)}


def _compare_alternatives(stops: gpd.GeoDataFrame, alternatives: list[pd.DataFrame]) -> list[pd.DataFrame]:
    """Each alternative with ``differs_share``: share of its stops made by another team or in another order."""
    out = []
    if not len(stops):
        return out
    base = {(r.window, r.place_id, r.team, r.seq) for r in stops.itertuples()}
    for alt in alternatives:
        keys = {(r.window, r.place_id, r.team, r.seq) for r in alt.itertuples()}
        differs = 1.0 - len(base & keys) / max(len(keys), 1)
        out.append(alt.assign(differs_share=round(differs, 4)))
    return out
