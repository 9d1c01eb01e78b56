"""PatrolPlan: beats, posts, force allocation and routes per time window.

:func:`plan_patrol` composes the patrol stage:

1. **teams** — each team's time in each window (:mod:`~geoengine.patrol.shifts`: windows
   that overlap share one crew, so no team is planned twice at once);
2. **beats** — K contiguous beats balancing street length and risk;
3. **posts** — checkpoints intercepting traffic into key districts, booths covering
   the most risk within T minutes;
4. **targets** — hotspots (clusters of red/orange streets), the riskiest routed per window
   (a number, or as many as the team time can serve), each with its visits: a dwell of
   about 12 minutes, revisits between ``min_revisit_gap_min`` and the level's maximum gap
   apart, cycles staggered between hotspots; less the share cameras already watch;
5. **allocation** — how many teams go to each beat in each window (CP-SAT), in proportion
   to the minutes of visits routing will ask of each beat, which gives each team its beats;
6. **routes** — per window, each team's ordered stops with arrival and departure times
   (OR-Tools routing with time windows, shifts and breaks; hotspots first, then district
   presence around them). A team may cross into another beat to make a visit that would
   otherwise be dropped, at a price (``cross_beat: when_needed``), and the crossing is
   recorded. Then :mod:`~geoengine.patrol.repair` puts every dropped visit that fits into
   an allowed team's idle time into the plan (so, when it ends, no dropped visit has a team
   that could make it without moving another stop: the feedback between allocation and
   routing needs no further round), names the cause of each drop that remains (checked by
   counterfactual), and bounds the dosage any plan could reach.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import InfeasibleSettingsError
from ..stop import DEFAULT_WORK, Limits
from .allocation import Allocation, allocate_force
from .beats import Beats, make_beats
from .decompose import sectors, solve_by_sectors
from .posts import Posts, choose_booths, choose_checkpoints
from .repair import capacity_bound, drop_causes, insert_dropped
from .routing import Route, RoutingProblem, RoutingResult, Stop, Vehicle, solve_routing
from .shifts import BREAK_MIN_SHIFT_S, expand_teams
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
    "team",
    "mode",
    "window",
    "seq",
    "place_id",
    "place_kind",
    "place_name",
    "beat",
    "lon",
    "lat",
    "arrive",
    "depart",
    "arrive_s",
    "depart_s",
    "dwell_min",
    "travel_min_from_prev",
    "risk_level",
)
DROPPED_COLUMNS = (
    "window",
    "place_id",
    "visit",
    "level",
    "risk",
    "beat",
    "earliest",
    "latest",
    "earliest_s",
    "latest_s",
    "dwell_min",
    "cause",
    "reason",
    "busy_with",
)
TEAM_COLUMNS = (
    "team",
    "mode",
    "window",
    "base",
    "shift_start",
    "shift_end",
    "shift_start_s",
    "shift_end_s",
    "shift_min",
    "break_min",
    "travel_min",
    "dwell_min",
    "patrol_min",
    "idle_min",
    "idle_share",
    "visits",
    "shift_note",
)
BREAK_FROM, BREAK_TO = 0.25, 0.75
"""A meal break starts between a quarter and three quarters of the way through the shift
(wide, so the teams' breaks can be staggered and the area is never left without patrols)."""
CAUSES = ("cut_by_max_hotspots", "no_team_on_shift", "unreachable", "no_team_allocated", "time_used")
"""Why a visit is not in the plan (``dropped_visits.csv`` ``cause``), checked by counterfactual."""


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
    cut: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(DROPPED_COLUMNS)))
    team_beats: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["window", "team", "beat", "how"]))
    capacity: dict[str, dict[str, Any]] = field(default_factory=dict)
    crossings: dict[str, int] = field(default_factory=dict)
    hotspots_routed: dict[str, int] = field(default_factory=dict)
    windows: tuple[Any, ...] = ()
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def routes_table(self) -> pd.DataFrame:
        """The ``routes.csv`` table (SPEC columns, WGS84 lon/lat): a team's timetable per window,
        base to base, with its meal break as a row (``place_kind = break``)."""
        if len(self.stops) == 0:
            return pd.DataFrame(columns=list(ROUTE_COLUMNS))
        ll = self.stops.to_crs("EPSG:4326")
        out = pd.DataFrame(self.stops.drop(columns="geometry"))
        out["lon"] = ll.geometry.x.round(7).to_numpy()
        out["lat"] = ll.geometry.y.round(7).to_numpy()
        out["beat"] = out["beat"].astype("Int64")
        return out[list(ROUTE_COLUMNS)]

    def dropped_table(self) -> pd.DataFrame:
        """``dropped_visits.csv``: every visit not in the plan with its checked cause — the visits
        routing could not fit, then the hotspots cut by ``max_hotspots_per_window``."""
        frames = [f for f in (self.dropped, self.cut) if len(f)]
        if not frames:
            return pd.DataFrame(columns=list(DROPPED_COLUMNS))
        out = pd.concat(frames, ignore_index=True)[list(DROPPED_COLUMNS)]
        for c in ("visit", "beat", "earliest_s", "latest_s"):
            out[c] = pd.to_numeric(out[c], errors="coerce").astype("Int64")
        out["visit"] = out["visit"] + 1  # counted from 1, as the map's popups say "visit 1"
        return out

    def team_summary(self) -> pd.DataFrame:
        """``teams.csv``: per team and window its shift and how the shift is spent (minutes):
        travel, dwell at hotspots and districts, break, patrol (travel + dwell) and idle."""
        rows = []
        s = self.stops
        for t in self.teams.itertuples():
            g = s[(s["team"] == t.team) & (s["window"] == t.window)] if len(s) else s
            visits = g[g["place_kind"].isin(["hotspot", "district"])] if len(g) else g
            travel = float(g["travel_min_from_prev"].sum()) if len(g) else 0.0
            dwell = float(visits["dwell_min"].sum()) if len(visits) else 0.0
            brk = float(g.loc[g["place_kind"] == "break", "dwell_min"].sum()) if len(g) else 0.0
            shift = float(t.shift_min)
            idle = max(0.0, shift - travel - dwell - brk)
            start = int(t.shift_start_s)
            end = int(t.shift_end_s)
            win = next((w for w in self._windows if w.name == t.window), None)
            rows.append(
                {
                    "team": t.team,
                    "mode": t.mode,
                    "window": t.window,
                    "base": t.base_name,
                    "shift_start": _clock(win, start) if win else "",
                    "shift_end": _clock(win, end) if win else "",
                    "shift_start_s": start,
                    "shift_end_s": end,
                    "shift_min": round(shift, 2),
                    "break_min": round(brk, 2),
                    "travel_min": round(travel, 2),
                    "dwell_min": round(dwell, 2),
                    "patrol_min": round(travel + dwell, 2),
                    "idle_min": round(idle, 2),
                    "idle_share": round(idle / shift, 4) if shift > 0 else 0.0,
                    "visits": int(len(visits)),
                    "shift_note": getattr(t, "shift_note", ""),
                }
            )
        return pd.DataFrame(rows, columns=list(TEAM_COLUMNS))

    def workload(self) -> pd.DataFrame:
        """Per team and window: busy minutes (travel + dwell), shift minutes, utilisation."""
        t = self.team_summary()
        if not len(t):
            return pd.DataFrame(columns=["team", "window", "busy_min", "shift_min", "utilisation"])
        t = t.assign(busy_min=t["patrol_min"], utilisation=t["patrol_min"] / t["shift_min"])
        return t[["team", "window", "busy_min", "shift_min", "utilisation"]].reset_index(drop=True)

    def district_presence(self) -> pd.DataFrame:
        """Per district per window: visits, minutes of presence, largest gap between arrivals."""
        s = (
            self.stops[self.stops["district"].notna() & (self.stops["place_kind"] != "break")]
            if "district" in self.stops
            else self.stops.iloc[0:0]
        )
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
            "visits_planned": int(self.stops["place_kind"].isin(["hotspot", "district"]).sum()) if len(self.stops) else 0,
            "visits_dropped": int(len(self.dropped)),
            "hotspots_cut": int(len(self.cut)),
            "hotspots_routed": dict(self.hotspots_routed),
            "dosage_met_share": float(hot["met"].mean()) if len(hot) else None,
            "dosage_bound": self._dosage_bound(),
            "max_revisit_gap_min": float(gaps.max()) if len(gaps) else None,
            "workload_cv": None if cv is None else round(cv, 4),
            "time_window_violations": int(self.time_window_violations),
            "beat_workload_cv": round(float(self.beats.cv), 4),
            "hotspots": int(len(self.hotspots)),
            "dropped_reasons": {c: int(n) for c, n in self.dropped_table()["cause"].value_counts().items()},
            "capacity": _jsonable_nested(self.capacity),
            "cross_beat_visits": dict(self.crossings),
            "idle_share": self._idle_share(),
            "camera_shift": self.camera_shift,
            "alternatives": len(self.alternatives) + 1,
            "alternatives_differ_share": [float(a["differs_share"].iloc[0]) for a in self.alternatives if len(a)],
            "changed_stops": self.changed_stops,
            "routing": {
                w: {"status": r.status, "objective": r.objective, "solve_s": round(r.solve_s, 3)} for w, r in self.results.items()
            },
        }
        if self.checkpoints is not None:
            out["checkpoint_metrics"] = _jsonable(self.checkpoints.metrics)
        if self.booths is not None:
            out["booth_metrics"] = _jsonable(self.booths.metrics)
        if self.allocation is not None:
            out["allocation"] = {
                "status": self.allocation.status,
                "objective": self.allocation.objective,
                "gap": self.allocation.gap,
            }
        dp = self.district_presence()
        if len(dp):  # a district visited once has no gap: None in JSON, not NaN
            out["districts"] = dp.astype(object).where(dp.notna(), None).to_dict(orient="records")
        return out

    @property
    def _windows(self) -> tuple[Any, ...]:
        return self.windows

    def _dosage_bound(self) -> float | None:
        """Upper bound on ``dosage_met_share`` over the windows: the hotspots any plan could meet."""
        tot = sum(int(c.get("targets", 0)) for c in self.capacity.values())
        ok = sum(int(c.get("targets_possible", 0)) for c in self.capacity.values())
        return round(ok / tot, 4) if tot else None

    def _idle_share(self) -> float | None:
        t = self.team_summary()
        if not len(t) or t["shift_min"].sum() <= 0:
            return None
        return round(float(t["idle_min"].sum() / t["shift_min"].sum()), 4)

    def summary(self) -> str:
        m = self.metrics()
        share = "n/a" if m["dosage_met_share"] is None else f"{m['dosage_met_share']:.0%}"
        bound = "" if m["dosage_bound"] is None else f" (at most {m['dosage_bound']:.0%} possible with this force)"
        return (
            f"patrol: {m['teams']} teams, {m['beats']} beats, {m['checkpoints']} checkpoints, {m['booths']} booths; "
            f"{m['visits_planned']} visits planned, {m['visits_dropped']} dropped; dosage met {share}{bound}; "
            f"time-window violations {m['time_window_violations']}"
        )

    def __repr__(self) -> str:
        return f"<PatrolPlan {self.summary()}>"


def _jsonable_nested(d: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {k: _jsonable(v) for k, v in d.items()}


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


def _clock(window: TimeWindow, offset_s: float) -> str:
    t = (window.start_min * 60 + int(round(offset_s))) % 86400
    return f"{t // 3600:02d}:{(t % 3600) // 60:02d}"


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
    work: float = DEFAULT_WORK,
    workers: int = 1,
    booths: Posts | None = None,
) -> PatrolPlan:
    """Plan beats, posts and routes for every window (see the module docstring).

    ``booths``: booths sited already (e.g. for a response tier, :func:`geoengine.response.site_booths`)
    instead of ``settings.booths`` sited for risk.

    ``work`` is the stage's deterministic budget (:mod:`geoengine.stop` units: posts a
    quarter, allocation a tenth, routing ``work / len(windows)`` per window); ``time_limit_s``
    is the wall-clock safety cap; ``workers`` the CP-SAT threads of the allocation.
    """
    warnings: list[str] = []
    if stations is not None and len(stations):
        stations = stations.to_crs(network.crs)
    teams, shift_warnings = expand_teams(settings, windows, stations)
    warnings.extend(shift_warnings)
    bases = stations.reset_index(drop=True)

    # 1. beats ---------------------------------------------------------------
    segs = network.segments()
    overall = risk.overall.set_index("segment_id")["risk"].reindex(segs.index).fillna(0.0)
    scale = segs["length_m"].sum() / overall.sum() if overall.sum() > 0 else 0.0
    workload = segs["length_m"] + scale * overall
    beats = make_beats(
        network,
        k=settings.beats,
        workload=workload,
        risk=overall,
        tolerance=settings.beat_tolerance,
        seed=seed,
        time_limit_s=max(1.0, float(time_limit_s)),
    )  # the scenario's safety cap, not 60 s
    if beats.max_deviation > settings.beat_tolerance:
        warnings.append(
            f"patrol: beats balanced to ±{beats.max_deviation:.0%}, outside the ±{settings.beat_tolerance:.0%} "
            "tolerance (contiguity comes first)"
        )

    # 2. posts ---------------------------------------------------------------
    stop_post = Limits(work / 4, max(1.0, time_limit_s / 4))
    checkpoints = None
    if settings.checkpoints > 0:
        checkpoints = choose_checkpoints(
            network,
            k=settings.checkpoints,
            districts=districts,
            method=settings.checkpoint_method,
            seed=seed,
            stop=stop_post,
        )
    if booths is None and settings.booths > 0:
        booths = choose_booths(
            network,
            k=settings.booths,
            risk=overall,
            minutes=settings.booth_minutes,
            mode=settings.booth_mode,
            stop=stop_post,
            seed=seed,
        )

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
        best_seg = [max(s, key=lambda sid: float(overall.get(sid, 0.0))) for s in hotspots["segments"]]
        hotspots["beat"] = beats.assignment.reindex(best_seg).fillna(beats.assignment.reindex(first_seg)).astype(int).to_numpy()
        if districts is not None and len(districts):
            from ..coverage.plan import in_polygons

            hotspots["district"] = in_polygons(hotspots.geometry, districts).to_numpy()
        else:
            hotspots["district"] = None

    # 4. the routing problems, then allocation by what they ask for ------------
    built: dict[str, tuple] = {}
    cut_rows: list[dict[str, Any]] = []
    routed: dict[str, int] = {}
    for w in windows:
        wt = teams[teams["window"] == w.name].reset_index(drop=True)
        if wt.empty:
            warnings.append(f"patrol: no team works in window {w.name!r}")
            continue
        n_hot = settings.max_hotspots_per_window
        if n_hot == "auto":
            n_hot = _auto_hotspots(network, w, wt, hotspots, bases, districts, settings)
        routed[w.name] = int(n_hot)
        cut_rows.extend(_cut_hotspots(hotspots, w, settings, int(n_hot)))
        places, visits, matrices = _window_targets(network, w, wt, hotspots, bases, districts, settings, n_hot=int(n_hot))
        if places is None:
            continue
        built[w.name] = (wt, places, visits, matrices)
    allocation = _allocate(teams, beats, built, windows, checkpoints, settings, time_limit_s, seed, warnings, work, workers)

    # 5. routes ---------------------------------------------------------------
    stops_frames: list[pd.DataFrame] = []
    lines: list[dict[str, Any]] = []
    dropped_rows: list[dict[str, Any]] = []
    req_rows: list[dict[str, Any]] = []
    beat_rows: list[dict[str, Any]] = []
    results: dict[str, RoutingResult] = {}
    capacity: dict[str, dict[str, Any]] = {}
    violations = 0
    alternatives: list[pd.DataFrame] = []
    # the work is split between the windows; the wall clock is only a safety cap, so each
    # window's routing may use the whole of it (a large window's solutions come slower)
    per_window = max(1.0, float(time_limit_s))
    previous = _previous_routes(settings)
    crossings: dict[str, int] = {}
    for w in windows:
        if w.name not in built:
            continue
        wt, places, visits, matrices = built[w.name]
        how: dict[tuple[str, int], str] = {}
        team_beats = _team_beats(wt, beats, allocation, w.name, bases, network, how=how)
        problem = _window_problem(wt, team_beats, places, visits, matrices, settings, window=w.name)
        capacity[w.name] = capacity_bound(
            problem, _node_place(places, visits), [i for i in places.index if places.at[i, "place_kind"] == "hotspot"]
        )
        hint = _hint(previous, w.name, wt, visits, problem.allowed) if previous is not None else None
        stop_w = Limits(work / max(1, len(windows)), per_window)
        parts = None
        if hint is None and settings.sector_visits is not None and len(visits) > 1.5 * settings.sector_visits:
            parts = sectors(problem, target_nodes=int(settings.sector_visits))
            parts = parts if len(parts) > 1 else None
        if parts is not None:
            result = solve_by_sectors(
                problem,
                parts,
                stop=stop_w,
                solve=lambda sub, keep, lim: _hotspots_first(sub, _sub_visits(visits, keep), lim, seed),  # noqa: B023
            )
            log.info(
                "window %s: %d visits routed in %d sectors (%s)",
                w.name,
                len(visits),
                len(parts),
                ", ".join(f"{len(p.vehicles)} teams / {len(p.nodes)} visits" for p in parts),
            )
        elif hint is None:
            result = _hotspots_first(problem, visits, stop_w, seed)
        else:
            result = solve_routing(
                problem,
                stop=stop_w,
                seed=seed,
                hint=hint,
                change_penalty=int(60 * settings.change_penalty_min),
            )
        # repair: fill idle time the search left (riskiest first), then record where teams crossed
        result, _ = insert_dropped(problem, result)
        by_node = visits.set_index("node")
        crossed = 0
        for r in result.routes:
            name = str(wt["team"].iloc[r.vehicle])
            for node in r.visits:
                b = int(by_node.at[node, "beat"])
                if b >= 0 and b not in team_beats[name]:
                    team_beats[name].add(b)
                    how[(name, b)] = "cross_beat"
                    crossed += 1
        crossings[w.name] = crossed
        results[w.name] = result
        violations += int(result.time_window_violations(problem))
        frame, route_lines = _collect(result, problem, places, visits, wt, w, matrices)
        stops_frames.append(frame)
        lines.extend(route_lines)
        dropped_rows.extend(_dropped(result, problem, visits, wt, w))
        req_rows.extend(_requirements(visits, frame, w, settings))
        beat_rows.extend(
            {"window": w.name, "team": name, "beat": int(b) + 1, "how": how.get((name, b), "allocated")}
            for name in wt["team"]
            for b in sorted(team_beats[name])
        )
        for k in range(1, settings.alternatives):
            alt = _hotspots_first(problem, visits, stop_w, seed + k)
            if alt.objective <= result.objective * (1 + settings.alternative_tolerance):
                alt_frame, _ = _collect(alt, problem, places, visits, wt, w, matrices)
                alternatives.append(alt_frame.assign(alternative=k))

    crs = network.crs
    stops = (
        gpd.GeoDataFrame(pd.concat(stops_frames, ignore_index=True), geometry="geometry", crs=crs)
        if stops_frames
        else gpd.GeoDataFrame({c: [] for c in ROUTE_COLUMNS}, geometry=[], crs=crs)
    )
    route_lines = (
        gpd.GeoDataFrame(lines, geometry="geometry", crs=crs)
        if lines
        else gpd.GeoDataFrame({"team": [], "window": []}, geometry=[], crs=crs)
    )
    if coverage is not None and len(stops):
        camera_shift = _camera_shift(stops, coverage, network)
    dropped = pd.DataFrame(dropped_rows, columns=list(DROPPED_COLUMNS))
    plan = PatrolPlan(
        beats=beats,
        checkpoints=checkpoints,
        booths=booths,
        allocation=allocation,
        hotspots=hotspots,
        teams=teams,
        stops=stops,
        route_lines=route_lines,
        dropped=dropped,
        requirements=pd.DataFrame(req_rows),
        results=results,
        time_window_violations=violations,
        camera_shift=camera_shift,
        alternatives=tuple(_compare_alternatives(stops, alternatives)),
        warnings=tuple(warnings),
        changed_stops=_changed_stops(previous, stops) if previous is not None else None,
        cut=pd.DataFrame(cut_rows, columns=list(DROPPED_COLUMNS)),
        team_beats=pd.DataFrame(beat_rows, columns=["window", "team", "beat", "how"]),
        capacity=capacity,
        crossings=crossings,
        windows=tuple(windows),
        hotspots_routed=routed,
    )
    idle = plan.team_summary()
    cut = plan.cut
    if len(cut) and len(idle):
        for wname, g in idle.groupby("window", sort=False):
            share = float(g["idle_min"].sum() / max(g["shift_min"].sum(), 1e-9))
            n_cut = int((cut["window"] == wname).sum())
            if share > 0.25 and n_cut:
                n_red = int(((cut["window"] == wname) & (cut["level"] == "red")).sum())
                warnings.append(
                    f"patrol: in {wname} the teams are idle {share:.0%} of their shifts while {n_cut} hotspots "
                    f"({n_red} red) are left out by max_hotspots_per_window={settings.max_hotspots_per_window} "
                    "(dropped_visits.csv lists them): raise it (or set it to auto) to patrol more of them"
                )
    if len(dropped) and len(idle):
        lazy = idle[(idle["idle_share"] > 0.25) & idle["window"].isin(set(dropped["window"]))]
        for r in lazy.itertuples():
            warnings.append(
                f"patrol: {r.team} is idle {r.idle_share:.0%} of its shift in {r.window} while "
                + (lambda n: f"{n} visit{'s' if n != 1 else ''} there {'are' if n != 1 else 'is'} dropped")(
                    int((dropped["window"] == r.window).sum())
                )
                + " (dropped_visits.csv says why no idle team could make them)"
            )
    warnings.extend(_no_data_warnings(plan, risk))
    if len(warnings) != len(plan.warnings):
        plan = replace(plan, warnings=tuple(warnings))
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
            "the previous run has no routes.csv",
            file=path,
            field="patrol.previous_run",
            hint="give the folder of a finished run that planned patrols",
        )
    from ..errors import LayerError

    expected = "a routes.csv written by geoengine (team, window, place_id, place_kind, seq columns)"
    try:
        table = pd.read_csv(path)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as err:  # not a CSV (binary, broken quoting)
        raise LayerError.single(
            f"routes.csv cannot be read as a table ({path.stat().st_size:,} bytes; {type(err).__name__})",
            file=path,
            field="patrol.previous_run",
            hint=f"expected {expected}",
        ) from None
    missing = [c for c in ("team", "window", "place_id", "place_kind", "seq") if c not in table.columns]
    if missing:
        raise LayerError.single(
            f"routes.csv lacks the columns {', '.join(missing)} ({path.stat().st_size:,} bytes, {len(table.columns)} columns)",
            file=path,
            field="patrol.previous_run",
            hint=f"expected {expected}",
        )
    return table


def _no_data_warnings(plan: PatrolPlan, risk: RiskSurface) -> list[str]:
    """Beats lying mostly, and posts standing, on streets the incidents do not cover (level ``no data``)."""
    no_data = set(risk.no_data_segments().tolist())
    if not no_data:
        return []
    out: list[str] = []
    length = risk.segments["length_m"]
    assignment = plan.beats.assignment
    names = dict(zip(plan.beats.beats["beat"], plan.beats.beats["name"], strict=False))
    for beat, ids in assignment.groupby(assignment, sort=True):
        seg = ids.index[ids.index.isin(length.index)]
        total = float(length.loc[seg].sum())
        share = float(length.loc[seg[seg.isin(list(no_data))]].sum()) / total if total > 0 else 0.0
        if share >= 0.5:
            out.append(
                f"patrol: {names.get(beat, f'beat {beat}')} lies {share:.0%} on streets with no incident data "
                "(outside the incidents' extent): its share of the force rests on the part with data"
            )
    for posts in (plan.checkpoints, plan.booths):
        if posts is None or not len(posts.sites):
            continue
        bad = posts.sites[posts.sites["segment_id"].isin(list(no_data))]
        if len(bad):
            kind = str(bad["kind"].iloc[0])
            out.append(
                f"patrol: {kind} {', '.join(map(str, bad['post_id']))} "
                f"{'stand' if len(bad) > 1 else 'stands'} on streets with no incident data "
                "(outside the incidents' extent): nothing there says it is needed"
            )
    return out


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
    free: dict[str, list[int]] = {pid: list(g.sort_values("visit")["node"]) for pid, g in visits.groupby("place_id")}
    base_node = {b: i for i, b in enumerate(sorted(wt["base"].unique()))}  # as in _window_problem
    routes = []
    for k, team in enumerate(wt.itertuples()):
        home = base_node[team.base]
        nodes = []
        for pid in old.loc[old["team"] == team.team, "place_id"]:
            if free.get(pid):
                node = int(free[pid][0])
                if allowed is not None and (ok := allowed[node]) is not None and k not in ok:
                    continue
                nodes.append(int(free[pid].pop(0)))
        # one route per vehicle of today's problem: a team with no old stops (new, or whose
        # stops went to the places of a removed team) starts from an empty route
        stops = tuple(Stop(n, 0, 0) for n in [home, *nodes, home])
        routes.append(Route(vehicle=k, stops=stops, travel_s=0, distance_m=None, break_start_s=None))
    if not any(len(r.stops) > 2 for r in routes):
        return None
    return RoutingResult(
        routes=tuple(routes),
        dropped=(),
        objective=0,
        status="feasible",
        solve_s=0.0,
        first_solution="previous plan",
        metaheuristic="",
    )


# --------------------------------------------------------------------------- allocation
def _allocate(
    teams: pd.DataFrame,
    beats: Beats,
    built: dict[str, tuple],
    windows: tuple[TimeWindow, ...],
    checkpoints: Posts | None,
    settings: PatrolSettings,
    time_limit_s: float,
    seed: int,
    warnings: list[str],
    work: float = DEFAULT_WORK,
    workers: int = 1,
) -> Allocation | None:
    """Teams per beat per window in proportion to what routing will ask of each beat: the
    minutes of its hotspot visits in that window (dwell + the quickest way in), weighted by
    their risk rank, so a beat with red hotspots to visit never goes without a team while a
    beat with none gets one."""
    units = []
    for w in windows:
        demand = pd.Series(dtype=float)
        if w.name in built:
            _, places, visits, matrices = built[w.name]
            demand = _beat_demand(places, visits, matrices)
        for b in beats.beats["beat"]:
            units.append(
                {
                    "unit": f"Beat {int(b) + 1}",
                    "kind": "beat",
                    "window": w.name,
                    "risk": float(demand.get(int(b), 0.0)),
                    "key": False,
                }
            )
    avail = teams.groupby(["mode", "window"]).size().rename("available").reset_index().rename(columns={"mode": "team_type"})
    avail["shift_units"] = 1
    cps = crews = None
    if checkpoints is not None and settings.checkpoint_crews > 0 and len(checkpoints.sites):
        cps = pd.DataFrame(
            [
                {"checkpoint": str(r.post_id), "window": w.name, "score": float(r.score)}
                for r in checkpoints.sites.itertuples()
                for w in windows
            ]
        )
        crews = pd.DataFrame({"window": [w.name for w in windows], "available": settings.checkpoint_crews})
    try:
        return allocate_force(
            pd.DataFrame(units),
            avail,
            checkpoints=cps,
            crews=crews,
            min_per_key_unit=0,
            stop=Limits(work / 10, max(1.0, time_limit_s / 10)),
            seed=seed,
            workers=workers,
        )
    except InfeasibleSettingsError as err:
        warnings.append(f"patrol: force allocation not possible ({err.summary}); beats are shared by nearest base")
        return None


_LEVEL_WEIGHT = {"red": 3.0, "orange": 2.0, "yellow": 1.0, "district": 2.0}


def _quickest_way_in(matrices: dict[str, TravelMatrix]) -> np.ndarray:
    """Per place: the quickest travel into it from any other place, by the fastest mode (seconds; 0 if none)."""
    fastest = np.min(np.stack([m.seconds for m in matrices.values()]), axis=0)
    np.fill_diagonal(fastest, np.inf)
    t_in = np.nanmin(np.where(np.isfinite(fastest), fastest, np.nan), axis=0)
    return np.nan_to_num(t_in, nan=0.0)


def _beat_demand(places: gpd.GeoDataFrame, visits: pd.DataFrame, matrices: dict[str, TravelMatrix]) -> pd.Series:
    """Per beat: Σ over its hotspot visits of (dwell + quickest way in, minutes) × level weight."""
    if not len(visits):
        return pd.Series(dtype=float)
    t_in = _quickest_way_in(matrices)
    v = visits[visits["kind"] == "hotspot"]
    minutes = (v["dwell_s"].to_numpy(dtype=float) + t_in[v["place"].to_numpy(dtype=int)]) / 60.0
    weight = v["level"].map(_LEVEL_WEIGHT).fillna(1.0).to_numpy()
    return pd.Series(minutes * weight, index=v["beat"].astype(int).to_numpy()).groupby(level=0).sum()


def _team_beats(
    wt: pd.DataFrame,
    beats: Beats,
    allocation: Allocation | None,
    window: str,
    bases: gpd.GeoDataFrame,
    network: RoadNetwork,
    how: dict[tuple[str, int], str] | None = None,
) -> dict[str, set[int]]:
    """Beats each team of the window may patrol, following the allocation: a beat given n
    teams of a type gets the n least-loaded teams of that type (nearest base first);
    beats with no team join the nearest staffed beat. ``how`` (if given) receives
    ``(team, beat) → "allocated" | "nearest"``."""
    how = {} if how is None else how
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
            how[(names[i], b)] = "allocated"
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
                how.setdefault((name, b), "nearest")
    for name, s in out.items():  # a team with no beat (more teams than beats) takes the nearest
        if not s:
            i = int(np.flatnonzero(wt["team"].to_numpy() == name)[0])
            b = int(min(beat_ids, key=lambda b: team_pts[i].distance(centroids.loc[b])))
            s.add(b)
            how.setdefault((name, b), "nearest")
    return out


# --------------------------------------------------------------------------- routing problem
def _sub_visits(visits: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """The visits of a sector's problem, with its node numbers (node ``i`` there is ``keep[i]`` here)."""
    pos = pd.Series(np.arange(len(keep)), index=keep)
    sub = visits[visits["node"].isin(keep)]
    return sub.assign(node=pos.loc[sub["node"].to_numpy()].to_numpy())


def _hotspots_first(problem: RoutingProblem, visits: pd.DataFrame, stop: Limits, seed: int) -> RoutingResult:
    """Route the hotspot visits first, then add the district presence visits around them.

    Half the work routes the hotspots alone (their revisit cycles are the hard part); the plan is
    mapped back and the other half searches the whole problem from it, adding the district
    visits (the caller's repair then fills what idle time is left). Dropping a red visit costs more than a
    district visit, so the second search keeps the hotspots served. Without both kinds of visit
    (or with a previous plan to start from) this is one search.
    """
    kinds = visits["kind"].to_numpy()
    if not ((kinds == "hotspot").any() and (kinds != "hotspot").any()):
        return solve_routing(problem, stop=stop, seed=seed)
    n_b = problem.n_nodes - len(visits)
    keep = np.r_[np.arange(n_b), visits.loc[kinds == "hotspot", "node"].to_numpy(dtype=np.int64)]
    half = Limits(None if stop.work is None else stop.work / 2, None if stop.max_runtime_s is None else stop.max_runtime_s / 2)
    first = solve_routing(problem.subset(keep), stop=half, seed=seed)
    if not first.is_feasible():
        return solve_routing(problem, stop=stop, seed=seed)
    routes = tuple(
        replace(r, stops=tuple(Stop(int(keep[s.node]), s.arrive_s, s.depart_s) for s in r.stops)) for r in first.routes
    )
    served = {s.node for r in routes for s in r.stops[1:-1]}
    start = replace(first, routes=routes, dropped=tuple(n for n in range(n_b, problem.n_nodes) if n not in served))
    # the hint is the solver's own plan of the hotspots (a plan of the whole problem with the
    # district visits not yet made), so OR-Tools reads it back without a search of its own
    second = solve_routing(problem, stop=half, seed=seed, hint=start)
    if not second.is_feasible():
        return insert_dropped(problem, start, swaps=False)[0]
    return replace(
        second,
        solve_s=first.solve_s + second.solve_s,
        first_solution=f"hotspots first ({first.first_solution})",
        stopped_by="safety_cap" if "safety_cap" in (first.stopped_by, second.stopped_by) else second.stopped_by,
        changed_stops=None,
    )


AUTO_MAX_HOTSPOTS = 40
"""``max_hotspots_per_window: auto`` routes at most this many hotspots per window (problem size)."""
AUTO_FILL = 0.7
"""``auto`` adds hotspots while the minutes their visits ask for stay within this share of the team time
(the estimate counts only the quickest way into each visit; real legs are longer, and the teams need
room to keep the revisit cycles: on the demo 0.7 serves 98 % of the routed hotspots' dosage, 0.8 88 %)."""


def _auto_hotspots(
    network: RoadNetwork,
    w: TimeWindow,
    wt: pd.DataFrame,
    hotspots: gpd.GeoDataFrame,
    bases: gpd.GeoDataFrame,
    districts: gpd.GeoDataFrame | None,
    settings: PatrolSettings,
) -> int:
    """How many of the riskiest hotspots the window's teams can serve: visits (dwell + the quickest
    way in) of the district presence and of the hotspots in rank order, while the total stays
    within :data:`AUTO_FILL` of the team-minutes (at least one, at most :data:`AUTO_MAX_HOTSPOTS`)."""
    places, visits, matrices = _window_targets(network, w, wt, hotspots, bases, districts, settings, n_hot=AUTO_MAX_HOTSPOTS)
    if places is None or not len(visits):
        return 1
    t_in = _quickest_way_in(matrices)
    cost = visits["dwell_s"].to_numpy(dtype=float) + t_in[visits["place"].to_numpy(dtype=int)]
    per_place = pd.Series(cost, index=visits["place"].to_numpy()).groupby(level=0).sum()
    team_s = float(
        (wt["shift_end_s"] - wt["shift_start_s"]).sum()
        - wt["break_s"].where((wt["shift_end_s"] - wt["shift_start_s"]) >= BREAK_MIN_SHIFT_S, 0).sum()
    )
    kinds = places["place_kind"]
    used = float(per_place.reindex(places.index[kinds == "district"]).fillna(0.0).sum())
    n = 0
    for i in places.index[kinds == "hotspot"]:  # in rank order
        used += float(per_place.get(i, 0.0))
        if used > AUTO_FILL * team_s and n >= 1:
            break
        n += 1
    return max(1, n)


def _cut_hotspots(hotspots: gpd.GeoDataFrame, w: TimeWindow, settings: PatrolSettings, n_hot: int) -> list[dict[str, Any]]:
    """Hotspots graded in the patrol levels in ``w`` but beyond the ``n_hot`` routed."""
    if not len(hotspots):
        return []
    col_r, col_l = f"risk:{w.name}", f"level:{w.name}"
    cand = hotspots[hotspots[col_l].isin(settings.hotspot_levels)].sort_values(col_r, ascending=False, kind="stable")
    rest = cand.iloc[n_hot:]
    if not len(rest):
        return []
    cutoff = float(cand[col_r].iloc[n_hot - 1])
    return [
        {
            "window": w.name,
            "place_id": h.hotspot_id,
            "visit": None,
            "level": rest.at[i, col_l],
            "risk": round(float(rest.at[i, col_r]), 4),
            "beat": int(h.beat) + 1,
            "earliest": None,
            "latest": None,
            "earliest_s": None,
            "latest_s": None,
            "dwell_min": None,
            "cause": "cut_by_max_hotspots",
            "reason": (
                f"not among the {n_hot} riskiest hotspots routed in {w.name} "
                f"(risk {float(rest.at[i, col_r]):.3g} < {cutoff:.3g}; "
                + (
                    "the team time is full"
                    if settings.max_hotspots_per_window == "auto"
                    else "raise patrol.max_hotspots_per_window"
                )
                + ")"
            ),
            "busy_with": "",
        }
        for i, h in zip(rest.index, rest.itertuples())
    ]


def _window_targets(
    network: RoadNetwork,
    w: TimeWindow,
    wt: pd.DataFrame,
    hotspots: gpd.GeoDataFrame,
    bases: gpd.GeoDataFrame,
    districts: gpd.GeoDataFrame | None,
    settings: PatrolSettings,
    *,
    n_hot: int,
) -> tuple[gpd.GeoDataFrame | None, pd.DataFrame, dict[str, TravelMatrix]]:
    """The window's places (its teams' bases, the riskiest hotspots, key districts), one row
    per required visit with its arrival window and dwell, and a travel matrix per mode."""
    duration = w.duration_min * 60
    used_bases = sorted(wt["base"].unique())
    place_rows = [
        {
            "place_id": f"base:{bases['name'].iloc[b] if 'name' in bases else b}",
            "place_kind": "base",
            "level": None,
            "risk": 0.0,
            "beat": -1,
            "district": None,
            "place_name": str(bases["name"].iloc[b]) if "name" in bases else f"Station {b}",
            "geometry": bases.geometry.iloc[b],
        }
        for b in used_bases
    ]
    col_r, col_l = f"risk:{w.name}", f"level:{w.name}"
    chosen = pd.DataFrame()
    if len(hotspots):
        cand = hotspots[hotspots[col_l].isin(settings.hotspot_levels)]
        chosen = cand.sort_values(col_r, ascending=False, kind="stable").head(n_hot)
    for h in chosen.itertuples():
        street = str(getattr(h, "name", "") or "")
        place_rows.append(
            {
                "place_id": h.hotspot_id,
                "place_kind": "hotspot",
                "level": chosen.loc[h.Index, col_l],
                "risk": float(chosen.loc[h.Index, col_r]),
                "beat": int(h.beat),
                "district": h.district,
                "place_name": street or h.hotspot_id,
                "geometry": h.geometry,
            }
        )
    # key districts need presence at least every district_max_gap_min: a presence point per district
    if districts is not None and len(districts) and settings.district_max_gap_min:
        d = districts.to_crs(network.crs).reset_index(drop=True)
        pts = gpd.GeoSeries(d.geometry.representative_point().values, crs=network.crs)
        snapped = gpd.GeoSeries(network.snap(pts, mode="foot")["snapped"].values, crs=network.crs)
        for i, name in enumerate(d["name"].astype(str)):
            place_rows.append(
                {
                    "place_id": f"district:{name}",
                    "place_kind": "district",
                    "level": "district",
                    "risk": 0.0,
                    "beat": -2,
                    "district": name,
                    "place_name": name,
                    "geometry": snapped.iloc[i],
                }
            )
    places = gpd.GeoDataFrame(place_rows, geometry="geometry", crs=network.crs)
    if (places["place_kind"] != "base").sum() == 0:
        return None, pd.DataFrame(), {}
    modes = sorted(wt["mode"].unique())
    matrices = {m: travel_matrix(network, places, mode=m) for m in modes}
    base_pos = {b: k for k, b in enumerate(used_bases)}
    # the earliest any team of the window can be at each place (its shift start + the way there)
    earliest = np.full(len(places), np.inf)
    for t in wt.itertuples():
        sec = matrices[t.mode].seconds[base_pos[t.base]]
        earliest = np.minimum(earliest, t.shift_start_s + np.where(np.isfinite(sec), sec, np.inf))
    # the latest a visit there can end so that some team is back at its base by the end of its shift
    latest_back = np.full(len(places), -np.inf)
    for t in wt.itertuples():
        sec = matrices[t.mode].seconds[:, base_pos[t.base]]
        latest_back = np.maximum(latest_back, t.shift_end_s - np.where(np.isfinite(sec), sec, np.inf))
    phase = _phases(places, matrices, settings)
    visit_rows = []
    for i, p in places.iterrows():
        if p["place_kind"] == "base":
            continue
        level = "district" if p["place_kind"] == "district" else p["level"]
        offset = max(int(earliest[i]) if np.isfinite(earliest[i]) else 0, int(phase.get(i, 0)))
        end = int(min(duration, latest_back[i])) if np.isfinite(latest_back[i]) else duration
        if p["place_kind"] == "district":
            assert settings.district_max_gap_min is not None  # district places come only with a district gap
            slots = _district_slots(end, settings.district_max_gap_min, settings, offset_s=offset)
        else:
            slots = visit_slots(w, level, settings, start_s=0, end_s=end, offset_s=offset)
        if not slots:  # no team can make even one visit there: one visit, dropped with its cause
            dwell = int(round(60 * settings.dwell_for(str(level), 12.0)))
            slots = [(0, max(0, duration - dwell), dwell)]
        for k, (a, b, dwell) in enumerate(slots):
            visit_rows.append(
                {
                    "place": i,
                    "visit": k,
                    "earliest_s": a,
                    "latest_s": b,
                    "dwell_s": dwell,
                    "level": level,
                    "kind": p["place_kind"],
                    "place_id": p["place_id"],
                    "risk": p["risk"],
                    "beat": p["beat"],
                    "district": p["district"],
                }
            )
    visits = pd.DataFrame(visit_rows)
    if visits.empty:
        return None, visits, matrices
    visits = visits.assign(node=np.arange(len(used_bases), len(used_bases) + len(visits)))
    return places, visits, matrices


def _phases(places: gpd.GeoDataFrame, matrices: dict[str, TravelMatrix], settings: PatrolSettings) -> dict[int, int]:
    """When each place's cycle of visits starts (seconds after the window's start).

    Places of one level share a revisit cycle (slot ``(G + m) / 2``). Started together, all
    their first visits would fall in the same few minutes and the teams would idle for the
    rest of each cycle; so the cycles are staggered: the places of a level are ordered along a
    nearest-neighbour tour from the riskiest (a team can follow it) and the k-th of n starts
    ``k / n`` of a slot later.
    """
    fastest = np.min(np.stack([m.seconds for m in matrices.values()]), axis=0)
    low = settings.min_revisit_gap_min
    out: dict[int, int] = {}
    kinds = places["place_kind"].to_numpy()
    levels = np.where(kinds == "district", "district", places["level"].astype(object).to_numpy())
    for level in [lv for lv in dict.fromkeys(levels[kinds != "base"])]:
        members = [int(i) for i in np.flatnonzero((levels == level) & (kinds != "base"))]
        gap = settings.district_max_gap_min if level == "district" else settings.max_gap_for(str(level))
        if gap is None or len(members) < 2:
            continue
        slot = 30.0 * (float(gap) + min(low, float(gap)))
        risk = places["risk"].to_numpy(dtype=float)
        left = sorted(members, key=lambda i: (-risk[i], i))
        tour = [left.pop(0)]
        while left:
            here = tour[-1]
            nxt = min(left, key=lambda j: (fastest[here, j] if np.isfinite(fastest[here, j]) else np.inf, j))
            left.remove(nxt)
            tour.append(nxt)
        for k, i in enumerate(tour):
            out[i] = int(round(k * slot / len(tour)))
    return out


def _node_place(places: gpd.GeoDataFrame, visits: pd.DataFrame) -> np.ndarray:
    n_b = int((places["place_kind"] == "base").sum())
    return np.r_[np.arange(n_b), visits["place"].to_numpy(dtype=int)] if len(visits) else np.arange(n_b)


def _window_problem(
    wt: pd.DataFrame,
    team_beats: dict[str, set[int]],
    places: gpd.GeoDataFrame,
    visits: pd.DataFrame,
    matrices: dict[str, TravelMatrix],
    settings: PatrolSettings,
    window: str = "",
) -> RoutingProblem:
    """The routing problem of one window: a node per base and per required visit; teams may
    serve their beats' hotspots (a beat they cross into costs ``cross_beat_penalty_min``);
    districts are open to every team; between two visits of one place in a row the team is away
    for ``SAME_PLACE_AWAY_S``."""
    n_b = int((places["place_kind"] == "base").sum())
    n = n_b + len(visits)
    node_place = _node_place(places, visits)
    modes = sorted(matrices)
    travel = np.stack([matrices[m].seconds[np.ix_(node_place, node_place)] for m in wt["mode"]])
    travel = np.where(np.isfinite(travel), np.round(travel), 10 * 86400).astype(np.int64)
    metres = matrices[modes[0]].metres[np.ix_(node_place, node_place)]
    metres = np.where(np.isfinite(metres), metres, 0.0)
    service = np.r_[np.zeros(n_b, dtype=np.int64), visits["dwell_s"].to_numpy(dtype=np.int64)]
    tw_a = np.r_[np.zeros(n_b, dtype=np.int64), visits["earliest_s"].to_numpy(dtype=np.int64)]
    duration = int(max(wt["shift_end_s"].max(), visits["latest_s"].max()))
    tw_b = np.r_[np.full(n_b, duration, dtype=np.int64), visits["latest_s"].to_numpy(dtype=np.int64)]
    # dropping a visit costs more the riskier the hotspot (in seconds of travel it is worth)
    max_risk = max(float(visits["risk"].max()) if len(visits) else 1.0, 1e-9)
    pen = [int(3600 * (_LEVEL_WEIGHT.get(v.level, 1.0) + 2.0 * v.risk / max_risk)) for v in visits.itertuples()]
    penalty = np.r_[np.full(n_b, -1, dtype=np.int64), np.asarray(pen, dtype=np.int64)]
    base_node = {b: k for k, b in enumerate(sorted(wt["base"].unique()))}
    vehicles = []
    for t in wt.itertuples():
        brk = None
        length = t.shift_end_s - t.shift_start_s
        if t.break_s > 0 and length >= BREAK_MIN_SHIFT_S:
            brk = (t.shift_start_s + int(BREAK_FROM * length), t.shift_start_s + int(BREAK_TO * length))
        vehicles.append(
            Vehicle(
                name=t.team,
                start=base_node[t.base],
                end=base_node[t.base],
                shift_start_s=int(t.shift_start_s),
                shift_end_s=int(t.shift_end_s),
                break_earliest_s=None if brk is None else brk[0],
                break_latest_s=None if brk is None else brk[1],
                break_duration_s=int(t.break_s) if brk else 0,
            )
        )
    allowed: list[frozenset[int] | None] = [None] * n_b
    visit_cost = np.zeros((len(wt), n), dtype=np.int64)
    cross = int(round(60 * settings.cross_beat_penalty_min))
    names = wt["team"].tolist()
    for v in visits.itertuples():
        if settings.cross_beat == "always" or v.kind == "district":
            allowed.append(None)
            continue
        ok = frozenset(k for k, name in enumerate(names) if int(v.beat) in team_beats[name])
        if settings.cross_beat == "never":
            allowed.append(ok or None)
            continue
        allowed.append(None)  # when_needed: any team, at a price outside its own beats
        for k in range(len(names)):
            if k not in ok:
                visit_cost[k, v.node] = cross
    place = np.r_[np.full(n_b, -1, dtype=np.int64), visits["place"].to_numpy(dtype=np.int64)]
    return RoutingProblem.from_arrays(
        travel_s=travel,
        service_s=service,
        tw_start_s=tw_a,
        tw_end_s=tw_b,
        vehicles=tuple(vehicles),
        penalty=penalty,
        allowed=tuple(allowed),
        span_cost=1,
        distance=metres,
        visit_cost=visit_cost if visit_cost.any() else None,
        place=place,
        name=f"patrol window {window}",
    )


def _district_slots(duration: int, gap_min: float, settings: PatrolSettings, *, offset_s: int = 0) -> list[tuple[int, int, int]]:
    """Presence visits to a key district: revisits between ``min_revisit_gap_min`` and ``gap_min`` apart."""
    dwell = int(round(60 * settings.dwell_for("orange", 12.0)))
    gap = float(gap_min)
    low = min(settings.min_revisit_gap_min, gap)
    slot, slack = 30.0 * (gap + low), 30.0 * (gap - low)
    first, last = max(0, int(offset_s)), duration - dwell
    out = []
    k = 0
    while last >= first:
        a = first + int(round(k * slot))
        if a > last:
            break
        out.append((a, min(int(round(a + slack)), last), dwell))
        k += 1
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
    """routes.csv rows (a break is a row of its own, where the team is when it starts) and route lines."""
    node_place = _node_place(places, visits)
    rows, lines = [], []
    for route in result.routes:
        team = wt.iloc[route.vehicle]
        matrix = matrices[team["mode"]]
        stand = matrix.node_points()  # a stop is at the street node its travel times start from
        veh = problem.vehicles[route.vehicle]
        travel = problem.travel_of(route.vehicle)
        times = [[st.node, int(st.arrive_s), int(st.depart_s)] for st in route.stops]
        if not route.visits:  # an unused team stays at its base all shift
            times[0][1] = times[0][2] = int(veh.shift_start_s)
            times[-1][1] = times[-1][2] = int(veh.shift_end_s)
        brk = (
            None
            if route.break_start_s is None or veh.break_duration_s <= 0
            else (int(route.break_start_s), int(route.break_start_s) + int(veh.break_duration_s))
        )
        where = None  # (index of the stop the break follows, node where the team is)
        if brk is not None and len(times) >= 2:
            if brk[0] < times[0][2]:  # before leaving the base: leave (on paper) when the break starts
                times[0][1] = times[0][2] = brk[0]
            if brk[0] >= times[-1][1]:  # after coming back: the route ends when the break does
                times[-1][1] = times[-1][2] = max(times[-1][1], brk[1])
            for i in range(len(times) - 1):
                a, b = times[i], times[i + 1]
                if a[2] <= brk[0] < b[1]:
                    at_b = brk[0] >= a[2] + int(travel[a[0], b[0]])
                    where = (i, b[0] if at_b else a[0])
                    break
        prev_node = None
        path_parts = []
        seq = 0
        for i, (node, arrive, depart) in enumerate(times):
            place = int(node_place[node])
            p = places.iloc[place]
            travel_min = 0.0
            if prev_node is not None:
                travel_min = float(travel[prev_node, node]) / 60.0
                path_parts.append(matrix.path(int(node_place[prev_node]), place))
            level = p["level"] if p["place_kind"] == "hotspot" else None
            beat = int(p["beat"]) + 1 if p["place_kind"] == "hotspot" else None
            rows.append(
                _route_row(
                    team,
                    w,
                    seq,
                    p["place_id"],
                    p["place_kind"],
                    p["place_name"],
                    beat,
                    arrive,
                    depart,
                    travel_min,
                    level,
                    stand[place],
                    district=p["district"],
                )
            )
            seq += 1
            prev_node = node
            if where is not None and brk is not None and where[0] == i:
                q = places.iloc[int(node_place[where[1]])]
                rows.append(
                    _route_row(
                        team,
                        w,
                        seq,
                        "break",
                        "break",
                        f"meal break at {q['place_name']}",
                        None,
                        brk[0],
                        brk[1],
                        0.0,
                        None,
                        stand[int(node_place[where[1]])],
                    )
                )
                seq += 1
        if path_parts:
            coords: list[tuple[float, float]] = []
            for part in path_parts:
                pts = list(part.coords)
                coords.extend(pts if not coords else pts[1:])
            if len(coords) >= 2:
                lines.append(
                    {
                        "team": team["team"],
                        "mode": team["mode"],
                        "window": w.name,
                        "stops": len(route.stops),
                        "geometry": shapely.LineString(coords),
                    }
                )
    return pd.DataFrame(rows), lines


def _route_row(
    team: Any,
    w: TimeWindow,
    seq: int,
    place_id: str,
    kind: str,
    name: str,
    beat: int | None,
    arrive_s: int,
    depart_s: int,
    travel_min: float,
    level: str | None,
    geometry: Any,
    district: str | None = None,
) -> dict[str, Any]:
    return {
        "team": team["team"],
        "mode": team["mode"],
        "window": w.name,
        "seq": seq,
        "place_id": place_id,
        "place_kind": kind,
        "place_name": name,
        "beat": beat,
        "arrive_s": int(arrive_s),
        "depart_s": int(depart_s),
        "arrive": _clock(w, arrive_s),
        "depart": _clock(w, depart_s),
        "dwell_min": round((int(depart_s) - int(arrive_s)) / 60.0, 2),
        "travel_min_from_prev": round(travel_min, 2),
        "risk_level": level,
        "district": district,
        "geometry": geometry,
    }


_CAUSE_TEXT = {
    "no_team_allocated": "no team allocated to its beat could make it, and teams may not cross beats (cross_beat: never)",
    "no_team_on_shift": "no team is on shift (and off its break) for a whole visit in its time",
    "unreachable": "no team on shift can get there from its base in time (and back by the end of its shift)",
}


def _dropped(
    result: RoutingResult, problem: RoutingProblem, visits: pd.DataFrame, wt: pd.DataFrame, w: TimeWindow
) -> list[dict[str, Any]]:
    """Each dropped visit with the cause that holds (checked by counterfactual, :func:`drop_causes`)."""
    rows = []
    by_node = visits.set_index("node")
    causes = drop_causes(problem, result)
    names = wt["team"].tolist()
    for node in result.dropped:
        v = by_node.loc[node]
        cause, busy = causes[node]
        busy_ids: list[str] = []
        if cause == "time_used":
            teams = sorted({names[k] for k, _ in busy})
            places = []
            for _, other in busy:
                o = by_node.loc[other]
                label = f"{o['place_id']} ({o['level']})"
                if label not in places:
                    places.append(label)
                if o["place_id"] not in busy_ids:
                    busy_ids.append(str(o["place_id"]))
            riskier = all(int(problem.penalty[other]) >= int(problem.penalty[node]) for _, other in busy)
            reason = (
                (
                    f"team time used: {', '.join(teams)} could make it but {'are' if len(teams) > 1 else 'is'} busy then with "
                    f"{', '.join(places[:6])}{' …' if len(places) > 6 else ''}"
                    + (
                        " (visits worth at least as much)"
                        if riskier
                        else " (no single one of them can be swapped for it in the timetable)"
                    )
                )
                if busy
                else "team time used: the teams able to make it are travelling or on their break then"
            )
        else:
            reason = _CAUSE_TEXT[cause]
        rows.append(
            {
                "window": w.name,
                "place_id": v["place_id"],
                "visit": int(v["visit"]),
                "level": v["level"],
                "risk": round(float(v["risk"]), 4),
                "beat": int(v["beat"]) + 1 if int(v["beat"]) >= 0 else None,
                "earliest": _clock(w, v["earliest_s"]),
                "latest": _clock(w, v["latest_s"]),
                "earliest_s": int(v["earliest_s"]),
                "latest_s": int(v["latest_s"]),
                "dwell_min": round(float(v["dwell_s"]) / 60.0, 2),
                "cause": cause,
                "reason": reason,
                "busy_with": ";".join(busy_ids),
            }
        )
    return rows


def _requirements(visits: pd.DataFrame, frame: pd.DataFrame, w: TimeWindow, settings: PatrolSettings) -> list[dict[str, Any]]:
    rows = []
    served = frame[frame["place_kind"].isin(["hotspot", "district"])] if len(frame) else frame
    for pid, g in visits.groupby("place_id", sort=False):
        arr = np.sort(served.loc[served["place_id"] == pid, "arrive_s"].to_numpy()) if len(served) else np.array([])
        kind = g["kind"].iloc[0]
        level = g["level"].iloc[0]
        gap_limit = settings.district_max_gap_min if kind == "district" else settings.max_gap_for(level)
        largest = float(np.diff(arr).max() / 60.0) if len(arr) > 1 else None
        met = len(arr) >= len(g) and (largest is None or gap_limit is None or largest <= gap_limit + 1e-6)
        rows.append(
            {
                "window": w.name,
                "place_id": pid,
                "kind": kind,
                "level": level,
                "required": len(g),
                "served": len(arr),
                "largest_gap_min": largest,
                "met": bool(met),
            }
        )
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
    out: list[Any] = []
    if not len(stops):
        return out
    base = {(r.window, r.place_id, r.team, r.seq) for r in stops.itertuples()}
    for alt in alternatives:
        keys = {(r.window, r.place_id, r.team, r.seq) for r in alt.itertuples()}
        differs = 1.0 - len(base & keys) / max(len(keys), 1)
        out.append(alt.assign(differs_share=round(differs, 4)))
    return out
