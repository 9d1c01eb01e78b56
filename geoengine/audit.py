"""``geoengine audit RUN_FOLDER``: an independent check of a run folder's patrol plan.

:func:`audit_run` reads only the files of a run folder (``manifest.json``,
``routes.csv``, ``teams.csv``, ``team_beats.csv``, ``dropped_visits.csv``,
``patrol_dosage.csv``, the ``hotspots`` layer of ``plan.gpkg``) and the scenario the
manifest names, recomputes travel times on the street network with its own shortest
paths (it does not import the patrol planner), and lists every rule the plan breaks:

``travel``
    a team arrives sooner than the streets allow (departure + travel + breaks on the
    way), or ``travel_min_from_prev`` states much less travel than the streets need;
``dwell``
    a hotspot or district visit shorter than the scenario's dwell for its level, or
    longer than 16 minutes (the evidence-based dose is 10–16 minutes);
``revisit``
    two visits of one hotspot in a window closer than ``min_revisit_gap_min`` (arrival
    to arrival), or one team visiting the same place twice in a row without leaving it for
    ``SAME_PLACE_AWAY_S`` (15 minutes) in between;
``dosage``
    ``patrol_dosage.csv`` marks a hotspot met although its largest gap exceeds the
    level's ``max_gap_min`` or it was served fewer times than required;
``time_window``
    a row outside its window, departure not arrival + dwell, ``seq`` not 0…n−1, a route
    that does not start and end at a base, an unknown window or mode;
``shift``
    a row outside the team's shift (``teams.csv``), a route of a team that has no shift;
``break``
    a team that works ≥ 4 hours with a break length but has no break, a break shorter
    than that, a break during a visit or outside the travel it interrupts;
``double_booked``
    one team busy in two windows at the same clock time on a common day;
``beat``
    a hotspot visited by a team not allocated to its beat (``team_beats.csv``);
``dropped_cause``
    a dropped visit whose stated cause does not hold, each checked by a counterfactual
    (the rank cut, teams on shift, reachability from the bases, insertion into every
    team's timetable without moving its stops);
``idle_beside_dropped_red``
    a dropped red visit that some team of the window could have made in an idle gap of
    its timetable, whatever the beats.

Tolerances: travel may be up to ``max(60 s, 3 %)`` faster than recomputed, plus the time
to cover twice the distance from each end's point to its street node at the mode's median
speed (places are snapped to street nodes independently of the planner, and a point midway
along a street may go to either end); times are compared to the second
(1 s) and ``depart = arrive + dwell`` to 2 s (``dwell_min`` is rounded to 0.01 min). The
counterfactual checks of dropped visits give the planner the same benefit of the doubt:
an insertion counts as possible only when it fits with every travel leg padded by that
tolerance.
"""

from __future__ import annotations

import itertools
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from .errors import GeoEngineError
from .patrol.routing import SAME_PLACE_AWAY_S

if TYPE_CHECKING:
    from .network import RoadNetwork
    from .scenario import PatrolSettings, Scenario, TimeWindow

__all__ = ["KINDS", "AuditReport", "RunFolderError", "Violation", "audit_run"]

KINDS: tuple[str, ...] = (
    "travel",
    "dwell",
    "revisit",
    "dosage",
    "time_window",
    "shift",
    "break",
    "double_booked",
    "beat",
    "dropped_cause",
    "idle_beside_dropped_red",
)
"""Every kind of :class:`Violation`, in the order the report lists them."""

CAUSES: tuple[str, ...] = ("cut_by_max_hotspots", "no_team_on_shift", "unreachable", "time_used", "no_team_allocated")
MODES: tuple[str, ...] = ("car", "foot", "ebike")
PLACE_KINDS: tuple[str, ...] = ("base", "hotspot", "district", "break")

TRAVEL_TOL_S = 60.0
"""Travel may be this much faster than recomputed, …"""
TRAVEL_TOL_SHARE = 0.03
"""… or this share of the recomputed travel time, whichever is larger."""
TIME_TOL_S = 1.0
"""Slack of every other time comparison (times are whole seconds)."""
DWELL_SUM_TOL_S = 2.0
"""``depart_s`` may differ this much from ``arrive_s + 60·dwell_min`` (dwell_min has two decimals)."""
DWELL_MAX_MIN = 16.0
"""Longest visit the evidence supports (10–16 minutes), unless the scenario's dwell is longer."""
GAP_TOL_MIN = 0.1
"""Slack on ``largest_gap_min`` against ``max_gap_min``."""
BREAK_SHIFT_S = 4 * 3600
"""A team with a break length must take a break in a shift at least this long."""

_DAY_S = 24 * 3600
_WEEK_S = 7 * _DAY_S
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

ROUTE_REQUIRED = (
    "team",
    "mode",
    "window",
    "seq",
    "place_id",
    "place_kind",
    "lon",
    "lat",
    "arrive_s",
    "depart_s",
    "dwell_min",
)
TEAMS_REQUIRED = ("team", "window", "shift_start_s", "shift_end_s")
TEAM_BEATS_REQUIRED = ("window", "team", "beat")
DROPPED_REQUIRED = ("window", "place_id", "level", "cause")
DOSAGE_REQUIRED = ("window", "place_id", "kind", "level", "required", "served", "largest_gap_min", "met")


def travel_tolerance_s(travel_s: float) -> float:
    """How much faster than the recomputed ``travel_s`` a planned leg may be."""
    return max(TRAVEL_TOL_S, TRAVEL_TOL_SHARE * travel_s)


class RunFolderError(GeoEngineError, ValueError):
    """The folder is not a run folder the audit can read (no manifest, a file without its columns, …)."""


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class Violation:
    """One rule the plan breaks: its kind (one of :data:`KINDS`), where, and in plain words."""

    kind: str
    window: str | None
    team: str | None
    place_id: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "window": self.window, "team": self.team, "place_id": self.place_id, "message": self.message}


@dataclass(frozen=True)
class AuditReport:
    """What :func:`audit_run` found: the violations, how much it checked, and what it could not check."""

    violations: tuple[Violation, ...]
    checked: dict[str, int]
    notes: tuple[str, ...] = ()
    """Checks left out and why (e.g. a file the run folder does not have)."""

    @property
    def clean(self) -> bool:
        return not self.violations

    def by_kind(self) -> dict[str, int]:
        """Number of violations per kind (kinds with none left out), in the order of :data:`KINDS`."""
        counts: dict[str, int] = {}
        for v in self.violations:
            counts[v.kind] = counts.get(v.kind, 0) + 1
        return {k: counts[k] for k in sorted(counts, key=lambda k: (KINDS.index(k) if k in KINDS else len(KINDS), k))}

    def lines(self) -> list[str]:
        """One line per violation."""
        return [str(v) for v in self.violations]

    def summary(self) -> str:
        what = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in self.checked.items() if n)
        head = (
            "audit: clean"
            if self.clean
            else (
                f"audit: {len(self.violations)} violation{'s' if len(self.violations) != 1 else ''} ("
                + ", ".join(f"{n} {k}" for k, n in self.by_kind().items())
                + ")"
            )
        )
        text = f"{head}; checked {what}" if what else head
        for note in self.notes:
            text += f"\n  note: {note}"
        return text

    def to_dict(self, *, max_items: int = 200) -> dict[str, Any]:
        """The manifest's ``audit`` block: clean, counts by kind, what was checked, the first violations."""
        return {
            "clean": self.clean,
            "violations": len(self.violations),
            "by_kind": self.by_kind(),
            "checked": dict(self.checked),
            "notes": list(self.notes),
            "items": [v.to_dict() for v in self.violations[:max_items]],
            "items_truncated": len(self.violations) > max_items,
        }


# --------------------------------------------------------------------------- travel
class _Travel:
    """Fastest travel seconds between street nodes, per mode, computed here (not by the planner).

    Points are snapped to the nearest node of the largest strongly connected part of the
    mode's graph (the edges the mode may use, ``time_<mode>_s``, fastest of parallel edges).
    """

    def __init__(self, network: RoadNetwork) -> None:
        self.network = network
        self._graphs: dict[str, tuple[sp.csr_matrix, np.ndarray, cKDTree]] = {}
        self._dist: dict[tuple[str, int], np.ndarray] = {}
        self._to_net = pyproj.Transformer.from_crs("EPSG:4326", network.crs, always_xy=True)

    def project(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        x, y = self._to_net.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        return np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])

    def _graph(self, mode: str) -> tuple[sp.csr_matrix, np.ndarray, cKDTree]:
        if mode not in self._graphs:
            e = self.network.edges
            t = pd.to_numeric(e[f"time_{mode}_s"], errors="coerce").to_numpy(dtype=float)
            ok = e[mode].to_numpy(dtype=bool) & np.isfinite(t)
            node_ids = np.asarray(self.network.nodes.index)
            pos = pd.Series(np.arange(len(node_ids)), index=node_ids)
            u = pos.loc[np.asarray(e.index.get_level_values(0))[ok]].to_numpy()
            v = pos.loc[np.asarray(e.index.get_level_values(1))[ok]].to_numpy()
            w = pd.DataFrame({"u": u, "v": v, "t": np.maximum(t[ok], 1e-3)}).groupby(["u", "v"], sort=True)["t"].min()
            n = len(node_ids)
            g = sp.csr_matrix(
                (w.to_numpy(), (w.index.get_level_values(0).to_numpy(), w.index.get_level_values(1).to_numpy())),
                shape=(n, n),
            )
            _, labels = connected_components(g, directed=True, connection="strong")
            inside = np.flatnonzero(labels == np.bincount(labels).argmax()) if n else np.array([], dtype=int)
            xy = self.network.nodes[["x", "y"]].to_numpy(dtype=float)[inside]
            self._graphs[mode] = (g, inside, cKDTree(xy))
        return self._graphs[mode]

    def snap(self, mode: str, xy: np.ndarray) -> np.ndarray:
        """Node positions (into ``network.nodes``) of points in the network CRS."""
        return self.snap_with_distance(mode, xy)[0]

    def snap_with_distance(self, mode: str, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Node positions and the straight-line metres from each point to its node."""
        _, inside, tree = self._graph(mode)
        if len(xy) == 0:
            return np.array([], dtype=int), np.array([], dtype=float)
        d, k = tree.query(np.asarray(xy, dtype=float).reshape(-1, 2))
        return inside[np.asarray(k, dtype=int)], np.asarray(d, dtype=float).reshape(-1)

    def speed_mps(self, mode: str) -> float:
        """The mode's median speed on its streets (metres per second)."""
        key = f"_speed_{mode}"
        if key not in self.__dict__:
            e = self.network.edges
            t = pd.to_numeric(e[f"time_{mode}_s"], errors="coerce").to_numpy(dtype=float)
            ok = e[mode].to_numpy(dtype=bool) & np.isfinite(t) & (t > 0)
            v = e["length_m"].to_numpy(dtype=float)[ok] / t[ok]
            self.__dict__[key] = float(np.median(v)) if len(v) else 1.0
        return self.__dict__[key]

    def prepare(self, mode: str, nodes: Iterable[int]) -> None:
        """Shortest paths from many nodes at once."""
        todo = sorted({int(n) for n in nodes} - {n for (m, n) in self._dist if m == mode})
        if not todo:
            return
        g, _, _ = self._graph(mode)
        dist = dijkstra(g, directed=True, indices=todo)
        for n, row in zip(todo, np.atleast_2d(dist), strict=True):
            self._dist[(mode, n)] = row

    def seconds(self, mode: str, a: int, b: int) -> float:
        if (mode, a) not in self._dist:
            self.prepare(mode, [a])
        return float(self._dist[(mode, a)][b])


# --------------------------------------------------------------------------- helpers
def _clock(window: TimeWindow | None, seconds: float) -> str:
    start = 0 if window is None else window.start_min * 60
    t = round(start + seconds) % _DAY_S
    return f"{t // 3600:02d}:{(t % 3600) // 60:02d}"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60.0:.1f} min"


def _is_true(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    return str(value).strip().lower() in ("true", "1", "yes")


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    s = str(value).strip()
    return s or None


def _num(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def _beat(value: Any) -> int | None:
    x = _num(value)
    return None if x is None else round(x)


def _read_csv(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        df = pd.DataFrame(columns=list(required))
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as err:
        raise RunFolderError.single(f"cannot read it: {err}", file=path) from None
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise RunFolderError.single(
            f"lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
            file=path,
            hint="this run folder was written by an older geoengine or by hand; rerun the scenario",
        )
    return df


def _numbers(df: pd.DataFrame, columns: Iterable[str], path: Path) -> pd.DataFrame:
    df = df.copy()
    for c in columns:
        if c not in df.columns:
            continue
        raw = df[c].replace("", np.nan)
        num = pd.to_numeric(raw, errors="coerce")
        bad = num.isna() & raw.notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise RunFolderError.single(f"row {row + 2}: {c} {df[c].iloc[row]!r} is not a number", file=path, field=c)
        df[c] = num
    return df


def _team_names(settings: PatrolSettings) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for t in settings.teams:
        for k in range(t.count):
            out[t.name if t.count == 1 else f"{t.name}-{k + 1}"] = t
    return out


@dataclass
class _Row:
    idx: int
    team: str
    mode: str
    window: str
    seq: int
    place_id: str
    kind: str
    xy: tuple[float, float]
    arrive: float
    depart: float
    dwell_s: float
    travel_s: float | None
    level: str | None
    beat: int | None
    node: int = -1
    snap_m: float = 0.0


@dataclass
class _Team:
    team: str
    window: str
    mode: str
    shift_start: float
    shift_end: float
    break_min: float
    rows: list[_Row] = field(default_factory=list)

    @property
    def stops(self) -> list[_Row]:
        return [r for r in self.rows if r.kind != "break"]

    @property
    def breaks(self) -> list[tuple[float, float]]:
        return sorted((r.arrive, r.depart) for r in self.rows if r.kind == "break")


def _free(start: float, end: float, breaks: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """``[start, end]`` less the breaks, as sorted intervals."""
    out, t = [], start
    for a, b in sorted(breaks):
        if b <= t or a >= end:
            continue
        if a > t:
            out.append((t, a))
        t = max(t, b)
    if t < end:
        out.append((t, end))
    return out


def _advance(t: float, dur: float, free: list[tuple[float, float]]) -> float | None:
    """When ``dur`` seconds of free time have passed from ``t`` (travel pauses during breaks)."""
    if dur <= 0:
        for a, b in free:
            if b >= t:
                return max(a, t)
        return None
    for a, b in free:
        if b <= t:
            continue
        s = max(a, t)
        if b - s >= dur:
            return s + dur
        dur -= b - s
    return None


def _place_dwell(
    t: float, latest: float, dwell: float, free: list[tuple[float, float]], avoid: Sequence[tuple[float, float]] = ()
) -> float | None:
    """Earliest start ≥ ``t`` and ≤ ``latest`` of a whole dwell inside one free interval, not starting
    inside any of the open intervals ``avoid`` (too close to another visit of the place)."""
    for a, b in free:
        s = max(a, t)
        moved = True
        while moved:
            moved = False
            for lo, hi in avoid:
                if lo < s < hi:
                    s, moved = hi, True
        if s > latest:
            return None
        if s + dwell <= b:
            return s
    return None


# --------------------------------------------------------------------------- the audit
class _Audit:
    def __init__(self, run_dir: Path, scenario: Scenario, network: RoadNetwork) -> None:
        self.run_dir = run_dir
        self.scenario = scenario
        assert scenario.patrol is not None
        self.settings: PatrolSettings = scenario.patrol
        self.windows = {w.name: w for w in scenario.windows}
        self.travel = _Travel(network)
        self.network = network
        self.violations: list[Violation] = []
        self.checked: dict[str, int] = defaultdict(int)
        self.notes: list[str] = []
        self.teams: dict[tuple[str, str], _Team] = {}
        self.routes: dict[tuple[str, str], list[_Row]] = {}
        self.rows: list[_Row] = []
        self.hotspots: pd.DataFrame | None = None
        self.place_xy: dict[str, tuple[float, float]] = {}
        self.place_xy_mode: dict[tuple[str, str], tuple[float, float]] = {}  # where a team of that mode stood
        self.dropped_nodes: dict[tuple[str, str], int] = {}
        self._gap_cache: dict[tuple[str, str], list[tuple[float, float]]] = {}
        self.allowed_beats: dict[tuple[str, str], set[int]] | None = None

    def add(
        self, kind: str, message: str, *, window: str | None = None, team: str | None = None, place_id: str | None = None
    ) -> None:
        self.violations.append(Violation(kind, window, team, place_id, message))

    def who(self, team: str, window: str) -> str:
        return f"{team} in {window}"

    def clock(self, window: str, s: float) -> str:
        return _clock(self.windows.get(window), s)

    def tt(self, mode: str, a: _Row | int, b: _Row | int) -> float:
        na = a.node if isinstance(a, _Row) else a
        nb = b.node if isinstance(b, _Row) else b
        return self.travel.seconds(mode, na, nb)

    # ----------------------------------------------------------- loading
    def load(self) -> None:
        path = self.run_dir / "routes.csv"
        df = _numbers(
            _read_csv(path, ROUTE_REQUIRED),
            ("seq", "lon", "lat", "arrive_s", "depart_s", "dwell_min", "travel_min_from_prev", "beat"),
            path,
        )
        for c in ("seq", "lon", "lat", "arrive_s", "depart_s", "dwell_min"):
            if df[c].isna().any():
                row = int(np.flatnonzero(df[c].isna().to_numpy())[0])
                raise RunFolderError.single(f"row {row + 2}: {c} is empty", file=path, field=c)
        xy = self.travel.project(df["lon"].to_numpy(), df["lat"].to_numpy()) if len(df) else np.zeros((0, 2))
        for i, d in enumerate(df.to_dict("records")):
            self.rows.append(
                _Row(
                    idx=i,
                    team=str(d["team"]),
                    mode=str(d["mode"]).strip(),
                    window=str(d["window"]),
                    seq=int(d["seq"]),
                    place_id=str(d["place_id"]),
                    kind=str(d["place_kind"]).strip(),
                    xy=(float(xy[i, 0]), float(xy[i, 1])),
                    arrive=float(d["arrive_s"]),
                    depart=float(d["depart_s"]),
                    dwell_s=60.0 * float(d["dwell_min"]),
                    travel_s=None if _num(d.get("travel_min_from_prev")) is None else 60.0 * float(d["travel_min_from_prev"]),
                    level=_text(d.get("risk_level")),
                    beat=_beat(d.get("beat")),
                )
            )
        for r in self.rows:
            self.routes.setdefault((r.team, r.window), []).append(r)
        for rows in self.routes.values():
            rows.sort(key=lambda r: (r.seq, r.idx))
        self.checked["routes"] = len(self.routes)
        self.checked["rows"] = len(self.rows)
        self._load_teams()
        self._load_hotspots()
        for r in self.rows:
            if r.kind in ("hotspot", "district"):
                self.place_xy.setdefault(r.place_id, r.xy)
                self.place_xy_mode.setdefault((r.mode, r.place_id), r.xy)

    def _load_teams(self) -> None:
        names = _team_names(self.settings)
        path = self.run_dir / "teams.csv"
        if path.is_file():
            df = _numbers(_read_csv(path, TEAMS_REQUIRED), ("shift_start_s", "shift_end_s", "break_min"), path)
            for d in df.to_dict("records"):
                team, window = str(d["team"]), str(d["window"])
                mode = _text(d.get("mode")) or ""
                if not mode and (team, window) in self.routes:
                    mode = self.routes[(team, window)][0].mode
                spec = names.get(team)
                brk = max(_num(d.get("break_min")) or 0.0, float(spec.break_min) if spec is not None else 0.0)
                self.teams[(team, window)] = _Team(team, window, mode, float(d["shift_start_s"]), float(d["shift_end_s"]), brk)
        else:
            self.notes.append("no teams.csv: shifts are taken as the whole window, breaks from the scenario")
            for (team, window), rows in self.routes.items():
                w = self.windows.get(window)
                spec = names.get(team)
                dur = 60.0 * w.duration_min if w is not None else max(r.depart for r in rows)
                self.teams[(team, window)] = _Team(
                    team, window, rows[0].mode, 0.0, dur, float(spec.break_min) if spec is not None else 0.0
                )
        for key, rows in self.routes.items():
            if key in self.teams:
                self.teams[key].rows = rows
        self.checked["teams"] = len(self.teams)

    def _load_hotspots(self) -> None:
        path = self.run_dir / "plan.gpkg"
        if not path.is_file():
            self.notes.append("no plan.gpkg: cut_by_max_hotspots causes are not checked")
            return
        import pyogrio

        try:
            layers = {str(name) for name, _ in pyogrio.list_layers(path)}
            if "hotspots" not in layers:
                self.notes.append("plan.gpkg has no hotspots layer: cut_by_max_hotspots causes are not checked")
                return
            import geopandas as gpd

            h = gpd.read_file(path, layer="hotspots", engine="pyogrio")
        except Exception as err:  # noqa: BLE001 — a damaged GeoPackage is the user's folder, not our bug
            raise RunFolderError.single(f"cannot read the hotspots layer: {err}", file=path) from None
        if "hotspot_id" not in h.columns:
            raise RunFolderError.single("the hotspots layer lacks hotspot_id", file=path, field="hotspots")
        if h.crs is not None and len(h):
            h = h.to_crs(self.network.crs)
        h["hotspot_id"] = h["hotspot_id"].astype(str)
        self.hotspots = pd.DataFrame(h.drop(columns="geometry"))
        for hid, g in zip(h["hotspot_id"], h.geometry.values, strict=True):
            if g is not None and not g.is_empty:
                p = g.representative_point()
                self.place_xy[hid] = (float(p.x), float(p.y))

    # ----------------------------------------------------------- routes
    def snap_rows(self) -> None:
        by_mode: dict[str, list[_Row]] = defaultdict(list)
        for r in self.rows:
            if r.mode in MODES:
                by_mode[r.mode].append(r)
        for mode, rows in by_mode.items():
            nodes, dist = self.travel.snap_with_distance(mode, np.array([r.xy for r in rows]))
            for r, n, d in zip(rows, nodes, dist, strict=True):
                r.node = int(n)
                r.snap_m = float(d)
            self.travel.prepare(mode, nodes)

    def check_routes(self) -> None:
        dwell = self.settings.dwell_min
        dwell_lo_default = min(dwell.values()) if dwell else 10.0
        dwell_hi_default = max(dwell.values()) if dwell else DWELL_MAX_MIN
        back_to_back: set[tuple[int, int]] = set()
        for (team, window), rows in self.routes.items():
            who = self.who(team, window)
            w = self.windows.get(window)
            if w is None:
                self.add(
                    "time_window",
                    f"{who}: {window!r} is not a window of the scenario ({', '.join(self.windows)})",
                    window=window,
                    team=team,
                )
                continue
            dur = 60.0 * w.duration_min
            modes = {r.mode for r in rows}
            if len(modes) > 1 or not modes <= set(MODES):
                self.add(
                    "time_window",
                    f"{who}: mode {', '.join(sorted(modes))} (rule: one of car, foot, ebike per route)",
                    window=window,
                    team=team,
                )
                continue
            mode = rows[0].mode
            seqs = [r.seq for r in rows]
            if seqs != list(range(len(rows))):
                self.add(
                    "time_window",
                    f"{who}: seq runs {seqs[:8]}{'…' if len(seqs) > 8 else ''} (rule: 0, 1, … n−1)",
                    window=window,
                    team=team,
                )
            if rows[0].kind != "base" or rows[-1].kind != "base":
                bad = rows[0] if rows[0].kind != "base" else rows[-1]
                self.add(
                    "time_window",
                    f"{who}: the route {'starts' if bad is rows[0] else 'ends'} at {bad.place_id} "
                    f"({bad.kind}) (rule: every route starts and ends at its base)",
                    window=window,
                    team=team,
                    place_id=bad.place_id,
                )
            shift = self.teams.get((team, window))
            if shift is None:
                self.add(
                    "shift",
                    f"{who}: teams.csv has no shift for this team in this window (rule: every route has a row in teams.csv)",
                    window=window,
                    team=team,
                )
            elif shift.mode and shift.mode != mode:
                self.add("time_window", f"{who}: routes.csv says {mode}, teams.csv says {shift.mode}", window=window, team=team)
            for r in rows:
                if r.kind not in PLACE_KINDS:
                    self.add(
                        "time_window",
                        f"{who}: row {r.seq} has place_kind {r.kind!r} (rule: base, hotspot, district or break)",
                        window=window,
                        team=team,
                        place_id=r.place_id,
                    )
                if r.arrive < -TIME_TOL_S or r.depart > dur + TIME_TOL_S:
                    self.add(
                        "time_window",
                        f"{who}: {r.place_id} {self.clock(window, r.arrive)}–"
                        f"{self.clock(window, r.depart)} (arrive_s {r.arrive:.0f}, depart_s {r.depart:.0f}) lies "
                        f"outside the window {w.start}–{w.end} (rule: 0 ≤ times ≤ {dur:.0f} s)",
                        window=window,
                        team=team,
                        place_id=r.place_id,
                    )
                if abs(r.depart - r.arrive - r.dwell_s) > DWELL_SUM_TOL_S or r.depart < r.arrive:
                    self.add(
                        "time_window",
                        f"{who}: {r.place_id} at {self.clock(window, r.arrive)}: depart_s "
                        f"{r.depart:.0f} is not arrive_s {r.arrive:.0f} + dwell {r.dwell_s:.0f} s",
                        window=window,
                        team=team,
                        place_id=r.place_id,
                    )
                if shift is not None and (r.arrive < shift.shift_start - TIME_TOL_S or r.depart > shift.shift_end + TIME_TOL_S):
                    self.add(
                        "shift",
                        f"{who}: {r.place_id} {self.clock(window, r.arrive)}–{self.clock(window, r.depart)} "
                        f"lies outside the shift {self.clock(window, shift.shift_start)}–"
                        f"{self.clock(window, shift.shift_end)}",
                        window=window,
                        team=team,
                        place_id=r.place_id,
                    )
                if r.kind in ("hotspot", "district"):
                    self.checked["visits"] += 1
                    lo = self.settings.dwell_for(r.level, dwell_lo_default) if r.level else dwell_lo_default
                    hi = max(DWELL_MAX_MIN, self.settings.dwell_for(r.level, dwell_hi_default) if r.level else dwell_hi_default)
                    if r.dwell_s < 60 * lo - TIME_TOL_S or r.dwell_s > 60 * hi + TIME_TOL_S:
                        self.add(
                            "dwell",
                            f"{who}: {r.place_id} ({r.level or r.kind}) at {self.clock(window, r.arrive)} "
                            f"dwells {_minutes(r.dwell_s)} (rule: {lo:g}–{hi:g} min)",
                            window=window,
                            team=team,
                            place_id=r.place_id,
                        )
            # legs between consecutive non-break rows, with the breaks between them
            prev: _Row | None = None
            between: list[_Row] = []
            for r in rows:
                if r.kind == "break":
                    if prev is None:
                        self.add(
                            "break",
                            f"{who}: a break at {self.clock(window, r.arrive)} comes before the route leaves its base",
                            window=window,
                            team=team,
                        )
                    between.append(r)
                    continue
                if prev is not None and mode in MODES:
                    self._check_leg(team, window, mode, prev, r, between)
                    away = r.arrive - prev.depart
                    if r.kind != "base" and r.place_id == prev.place_id and away < SAME_PLACE_AWAY_S - TIME_TOL_S:
                        back_to_back.add((prev.idx, r.idx))
                        self.add(
                            "revisit",
                            f"{who}: {r.place_id} twice in a row, {self.clock(window, prev.arrive)} and "
                            f"{self.clock(window, r.arrive)}, {away / 60:.0f} min apart (rule: a longer stay is one "
                            f"visit; leave for at least {SAME_PLACE_AWAY_S // 60} min and come back)",
                            window=window,
                            team=team,
                            place_id=r.place_id,
                        )
                prev, between = r, []
            for b in between:  # breaks after the last stop
                self.add(
                    "break",
                    f"{who}: a break at {self.clock(window, b.arrive)} comes after the route is back at its base",
                    window=window,
                    team=team,
                )
            if shift is not None:
                self._check_breaks(shift, rows)
        for (team, window), t in self.teams.items():
            if not t.rows:
                self.add(
                    "shift",
                    f"{self.who(team, window)}: teams.csv gives a shift "
                    f"{self.clock(window, t.shift_start)}–{self.clock(window, t.shift_end)} but routes.csv has no "
                    "route (rule: every team on shift has a route, base to base at least)",
                    window=window,
                    team=team,
                )
        self._check_revisit_gaps(back_to_back)

    def _check_leg(self, team: str, window: str, mode: str, a: _Row, b: _Row, breaks: list[_Row]) -> None:
        self.checked["legs"] += 1
        t = self.tt(mode, a, b)
        who = self.who(team, window)
        if not math.isfinite(t):
            self.add(
                "travel",
                f"{who}: no {mode} path from {a.place_id} to {b.place_id}",
                window=window,
                team=team,
                place_id=b.place_id,
            )
            return
        # a place between two street nodes may be snapped by the planner to the other one: allow
        # walking (driving) twice the snap distance at each end
        tol = travel_tolerance_s(t) + 2.0 * (a.snap_m + b.snap_m) / self.travel.speed_mps(mode)
        pause = sum(x.depart - x.arrive for x in breaks)
        need = a.depart + t + pause
        problems = []
        if b.arrive < need - tol:
            problems.append(
                f"arrives at {b.place_id} at {self.clock(window, b.arrive)}, {_minutes(b.arrive - a.depart - pause)} after "
                f"leaving {a.place_id} at {self.clock(window, a.depart)}"
                + (f" less {_minutes(pause)} of break" if pause else "")
                + f", but {mode} travel takes {_minutes(t)} (rule: arrival ≥ departure + travel"
                + (" + breaks" if pause else "")
                + f" − {_minutes(tol)})"
            )
        if b.travel_s is not None and b.travel_s < t - tol:
            problems.append(
                f"travel_min_from_prev {_minutes(b.travel_s)} from {a.place_id} to {b.place_id} is less than the "
                f"{_minutes(t)} the streets need by {mode}"
            )
        if problems:
            self.add("travel", f"{who}: " + "; ".join(problems), window=window, team=team, place_id=b.place_id)
        for x in breaks:
            self.checked["breaks"] += 1
            if x.arrive < a.depart - TIME_TOL_S or x.depart > b.arrive + TIME_TOL_S:
                self.add(
                    "break",
                    f"{who}: the break {self.clock(window, x.arrive)}–{self.clock(window, x.depart)} lies "
                    f"outside the travel it interrupts, from {a.place_id} at {self.clock(window, a.depart)} to "
                    f"{b.place_id} at {self.clock(window, b.arrive)}",
                    window=window,
                    team=team,
                )

    def _check_breaks(self, shift: _Team, rows: list[_Row]) -> None:
        team, window = shift.team, shift.window
        who = self.who(team, window)
        breaks = [r for r in rows if r.kind == "break"]
        length = shift.shift_end - shift.shift_start
        if shift.break_min > 0 and length >= BREAK_SHIFT_S - TIME_TOL_S and not breaks:
            self.add(
                "break",
                f"{who}: no break in a shift of {length / 3600:.1f} h "
                f"({self.clock(window, shift.shift_start)}–{self.clock(window, shift.shift_end)}) "
                f"(rule: a {shift.break_min:g} min break in every shift of 4 h or more)",
                window=window,
                team=team,
            )
        for b in breaks:
            if shift.break_min > 0 and b.depart - b.arrive < 60 * shift.break_min - TIME_TOL_S:
                self.add(
                    "break",
                    f"{who}: the break at {self.clock(window, b.arrive)} lasts "
                    f"{_minutes(b.depart - b.arrive)} (rule: at least {shift.break_min:g} min)",
                    window=window,
                    team=team,
                )
            for r in rows:
                if r.kind == "break":
                    continue
                if min(b.depart, r.depart) - max(b.arrive, r.arrive) > TIME_TOL_S:
                    self.add(
                        "break",
                        f"{who}: the break {self.clock(window, b.arrive)}–{self.clock(window, b.depart)} "
                        f"overlaps the stay at {r.place_id} {self.clock(window, r.arrive)}–"
                        f"{self.clock(window, r.depart)} (rule: no visit during a break)",
                        window=window,
                        team=team,
                        place_id=r.place_id,
                    )

    def _check_revisit_gaps(self, back_to_back: set[tuple[int, int]]) -> None:
        gap_s = 60.0 * float(getattr(self.settings, "min_revisit_gap_min", 30.0))
        visits: dict[tuple[str, str], list[_Row]] = defaultdict(list)
        for r in self.rows:
            if r.kind == "hotspot":
                visits[(r.window, r.place_id)].append(r)
        for (window, place), rows in visits.items():
            rows.sort(key=lambda r: (r.arrive, r.idx))
            for a, b in itertools.pairwise(rows):
                self.checked["revisit_pairs"] += 1
                if (a.idx, b.idx) in back_to_back or b.arrive - a.arrive >= gap_s - TIME_TOL_S:
                    continue
                teams = a.team if a.team == b.team else f"{a.team} and {b.team}"
                self.add(
                    "revisit",
                    f"{place} in {window}: {teams} arrive at {self.clock(window, a.arrive)} and "
                    f"{self.clock(window, b.arrive)}, {_minutes(b.arrive - a.arrive)} apart (rule: at least "
                    f"{gap_s / 60:g} min between visits)",
                    window=window,
                    team=b.team,
                    place_id=place,
                )

    # ----------------------------------------------------------- dosage
    def check_dosage(self) -> None:
        path = self.run_dir / "patrol_dosage.csv"
        if not path.is_file():
            self.notes.append("no patrol_dosage.csv: dosage claims are not checked")
            return
        df = _numbers(_read_csv(path, DOSAGE_REQUIRED), ("required", "served", "largest_gap_min"), path)
        arrivals: dict[tuple[str, str], list[float]] = defaultdict(list)
        for r in self.rows:
            if r.kind == "hotspot":
                arrivals[(r.window, r.place_id)].append(r.arrive)
        for d in df.to_dict("records"):
            if str(d["kind"]).strip() != "hotspot" or not _is_true(d["met"]):
                continue
            self.checked["dosage_rows"] += 1
            window, place, level = str(d["window"]), str(d["place_id"]), str(d["level"]).strip()
            max_gap = self.settings.max_gap_for(level)
            required, served, largest = _num(d["required"]), _num(d["served"]), _num(d["largest_gap_min"])
            arr = sorted(arrivals.get((window, place), []))
            seen_gap = float(np.diff(arr).max()) / 60.0 if len(arr) > 1 else None
            problems = []
            if max_gap is not None and largest is not None and largest > max_gap + GAP_TOL_MIN:
                problems.append(f"its largest gap is {largest:.1f} min")
            elif max_gap is not None and seen_gap is not None and seen_gap > max_gap + GAP_TOL_MIN:
                problems.append(f"routes.csv has a gap of {seen_gap:.1f} min between arrivals")
            if required is not None and served is not None and served < required:
                problems.append(f"it was served {served:g} of {required:g} times")
            if required is not None and len(arr) < required and (served is None or served >= required):
                problems.append(f"routes.csv has {len(arr)} visits of the {required:g} required")
            if problems:
                rule = f"the largest gap at most {max_gap:g} min and " if max_gap is not None else ""
                self.add(
                    "dosage",
                    f"{place} ({level}) in {window} is marked met but {' and '.join(problems)} (rule: met "
                    f"means {rule}served ≥ required)",
                    window=window,
                    place_id=place,
                )

    # ----------------------------------------------------------- teams in two places at once
    def check_double_booking(self) -> None:
        by_team: dict[str, list[str]] = defaultdict(list)
        for team, window in self.routes:
            if window in self.windows:
                by_team[team].append(window)
        for team, wins in sorted(by_team.items()):
            wins = sorted(wins, key=lambda n: list(self.windows).index(n))
            busy = {}
            for name in wins:
                rows = self.routes[(team, name)]
                busy[name] = (rows[0].depart, rows[-1].arrive)
            for i, a in enumerate(wins):
                for b in wins[i + 1 :]:
                    self.checked["window_pairs"] += 1
                    hit = self._overlap(self.windows[a], busy[a], self.windows[b], busy[b])
                    if hit is None:
                        continue
                    day, start, end = hit
                    wa, wb = self.windows[a], self.windows[b]
                    self.add(
                        "double_booked",
                        f"{team} is busy in {a} {_clock(wa, busy[a][0])}–{_clock(wa, busy[a][1])} "
                        f"and in {b} {_clock(wb, busy[b][0])}–{_clock(wb, busy[b][1])}, both on {day} "
                        f"{_clock(None, start)}–{_clock(None, end)} (rule: one team, one place at a time)",
                        window=b,
                        team=team,
                    )

    @staticmethod
    def _occurrences(w: TimeWindow, busy: tuple[float, float]) -> list[tuple[float, float]]:
        days = range(7) if w.days is None else [_DAYS.index(d) for d in w.days]
        base = 60.0 * w.start_min
        return [(d * _DAY_S + base + busy[0], d * _DAY_S + base + busy[1]) for d in days]

    def _overlap(
        self, wa: TimeWindow, ba: tuple[float, float], wb: TimeWindow, bb: tuple[float, float]
    ) -> tuple[str, float, float] | None:
        for sa, ea in self._occurrences(wa, ba):
            for sb, eb in self._occurrences(wb, bb):
                for shift in (-_WEEK_S, 0.0, _WEEK_S):
                    lo, hi = max(sa, sb + shift), min(ea, eb + shift)
                    if hi - lo > TIME_TOL_S:
                        t = lo % _WEEK_S
                        return _DAYS[int(t // _DAY_S)], t % _DAY_S, (t + hi - lo) % _DAY_S
        return None

    # ----------------------------------------------------------- beats
    def check_beats(self) -> None:
        path = self.run_dir / "team_beats.csv"
        if not path.is_file():
            self.notes.append("no team_beats.csv: beats are not checked")
            return
        df = _numbers(_read_csv(path, TEAM_BEATS_REQUIRED), ("beat",), path)
        allowed = self.allowed_beats = defaultdict(set)
        for d in df.to_dict("records"):
            b = _beat(d["beat"])
            if b is not None:
                allowed[(str(d["window"]), str(d["team"]))].add(b)
        for r in self.rows:
            if r.kind != "hotspot" or r.beat is None:
                continue
            self.checked["beat_rows"] += 1
            ok = allowed.get((r.window, r.team), set())
            if r.beat not in ok:
                beats = ", ".join(str(b) for b in sorted(ok)) or "none"
                self.add(
                    "beat",
                    f"{self.who(r.team, r.window)}: {r.place_id} at {self.clock(r.window, r.arrive)} lies in "
                    f"beat {r.beat}, not one of the team's beats ({beats}) in team_beats.csv",
                    window=r.window,
                    team=r.team,
                    place_id=r.place_id,
                )

    # ----------------------------------------------------------- dropped visits
    def check_dropped(self) -> None:
        path = self.run_dir / "dropped_visits.csv"
        if not path.is_file():
            self.notes.append("no dropped_visits.csv: nothing was dropped, or the causes are not checked")
            return
        df = _numbers(_read_csv(path, DROPPED_REQUIRED), ("visit", "earliest_s", "latest_s", "dwell_min", "risk", "beat"), path)
        teams_by_window: dict[str, list[_Team]] = defaultdict(list)
        for (_team, window), t in sorted(self.teams.items()):
            teams_by_window[window].append(t)
        # snap every dropped place once per mode
        need: dict[str, set[str]] = defaultdict(set)
        for d in df.to_dict("records"):
            place = str(d["place_id"])
            for t in teams_by_window.get(str(d["window"]), []):
                if t.mode in MODES:
                    need[t.mode].add(place)
        for mode, places in need.items():
            located = sorted(p for p in places if p in self.place_xy)
            # a place is where a team of this mode stood there, else where any team did, else the hotspot
            xy = [self.place_xy_mode.get((mode, p), self.place_xy[p]) for p in located]
            nodes = self.travel.snap(mode, np.array(xy))
            for p, n in zip(located, nodes, strict=True):
                self.dropped_nodes[(mode, p)] = int(n)
            self.travel.prepare(mode, nodes)
        for d in df.to_dict("records"):
            self.checked["dropped_visits"] += 1
            self._check_drop(d, teams_by_window.get(str(d["window"]), []))

    def _check_drop(self, d: dict[str, Any], on_shift: list[_Team]) -> None:
        window, place = str(d["window"]), str(d["place_id"])
        teams = [t for t in on_shift if t.stops and t.mode in MODES]  # with a route: a base and a timetable
        cause = str(d["cause"]).strip()
        level = _text(d.get("level"))
        w = self.windows.get(window)
        label = f"dropped {place} ({level or '?'}) in {window}"
        if w is None:
            self.add("dropped_cause", f"{label}: {window!r} is not a window of the scenario", window=window, place_id=place)
            return
        if cause not in CAUSES:
            self.add(
                "dropped_cause", f"{label}: cause {cause!r} is not one of {', '.join(CAUSES)}", window=window, place_id=place
            )
            return
        if cause == "cut_by_max_hotspots":
            self._check_cut(label, window, place)
            return
        if cause == "no_team_allocated" and self.allowed_beats is not None:
            beat = _beat(d.get("beat"))
            who = sorted(team for (win, team), beats in self.allowed_beats.items() if win == window and beat in beats)
            if beat is None or who:
                self.add(
                    "dropped_cause",
                    f"{label}, cause no_team_allocated: "
                    + (f"{', '.join(who)} may patrol its beat {beat} (team_beats.csv)" if who else "it names no beat"),
                    window=window,
                    place_id=place,
                )
        e, l, dwell_min = _num(d.get("earliest_s")), _num(d.get("latest_s")), _num(d.get("dwell_min"))
        if e is None or l is None:
            self.add("dropped_cause", f"{label}: a {cause} visit without earliest_s/latest_s", window=window, place_id=place)
            return
        dwell = 60.0 * (dwell_min if dwell_min is not None else self.settings.dwell_for(level or "", 12.0))
        slot = f"{self.clock(window, e)}–{self.clock(window, l)}"
        if place not in self.place_xy:
            self.checked["dropped_unlocated"] += 1
            self.notes.append(f"{place} ({window}) has no location in routes.csv or plan.gpkg: its cause is not checked")
            return
        self.checked["dropped_causes_checked"] += 1
        if cause == "no_team_on_shift":
            for t in on_shift:
                s = _place_dwell(e, l - TIME_TOL_S, dwell, _free(t.shift_start, t.shift_end, t.breaks))
                if s is not None:
                    self.add(
                        "dropped_cause",
                        f"{label} ({slot}), cause no_team_on_shift: {t.team} is on shift and off "
                        f"break for the whole {_minutes(dwell)} from {self.clock(window, s)}",
                        window=window,
                        team=t.team,
                        place_id=place,
                    )
                    break
        # for certain (travel padded by the tolerance) refutes "unreachable"; perhaps (travel less the
        # tolerance) is the benefit of the doubt for "time_used", whose teams must be able to get there
        reach = [(t, arr) for t in teams if (arr := self._reach(t, place, e, l, dwell, pad=1.0)) is not None]
        maybe = [t for t in teams if self._reach(t, place, e, l, dwell, pad=-1.0) is not None]
        if cause == "unreachable" and reach:
            t, arr = reach[0]
            self.add(
                "dropped_cause",
                f"{label} ({slot}), cause unreachable: {t.team} ({t.mode}) can leave its base at "
                f"{self.clock(window, t.shift_start)}, be there by {self.clock(window, arr)} and back before "
                f"{self.clock(window, t.shift_end)}",
                window=window,
                team=t.team,
                place_id=place,
            )
        inserted = {t.team: ins for t in teams if (ins := self._insert(t, place, e, l, dwell)) is not None}
        if cause == "time_used":
            if not maybe:
                self.add(
                    "dropped_cause",
                    f"{label} ({slot}), cause time_used: no team on shift can get there in time from its base",
                    window=window,
                    place_id=place,
                )
            for name, (a, b, s) in inserted.items():
                self.add(
                    "dropped_cause",
                    f"{label} ({slot}), cause time_used: {name} could make it at "
                    f"{self.clock(window, s)} between {a} and {b} without moving its other stops",
                    window=window,
                    team=name,
                    place_id=place,
                )
                break
            busy = [p for p in (_text(d.get("busy_with")) or "").split(";") if p.strip()]
            if maybe and not busy:
                self.add(
                    "dropped_cause",
                    f"{label} ({slot}), cause time_used: busy_with names no visits",
                    window=window,
                    place_id=place,
                )
            for p in (p.strip() for p in busy):
                if not any(self._visits_during(t, p, e, l + dwell) for t in maybe):
                    self.add(
                        "dropped_cause",
                        f"{label} ({slot}), cause time_used: busy_with names {p}, but no team able "
                        f"to reach {place} visits {p} during {self.clock(window, e)}–{self.clock(window, l + dwell)}",
                        window=window,
                        place_id=place,
                    )
        if level == "red":
            self.checked["red_drops_checked"] += 1
            for name, (a, b, s) in inserted.items():
                self.add(
                    "idle_beside_dropped_red",
                    f"{label} ({slot}): {name} is idle from {a} to {b} and could make "
                    f"it at {self.clock(window, s)} without moving its other stops",
                    window=window,
                    team=name,
                    place_id=place,
                )
                break

    def _check_cut(self, label: str, window: str, place: str) -> None:
        if self.hotspots is None:
            return
        self.checked["dropped_causes_checked"] += 1
        h = self.hotspots
        rc, lc = f"risk:{window}", f"level:{window}"
        k = self.settings.max_hotspots_per_window
        if not isinstance(k, int):  # 'auto': the number routed in this window (patrol_dosage.csv)
            k = self._routed_hotspots(window)
        if rc not in h.columns or lc not in h.columns:
            self.add(
                "dropped_cause",
                f"{label}: plan.gpkg hotspots have no {rc}/{lc} columns to rank by",
                window=window,
                place_id=place,
            )
            return
        me = h[h["hotspot_id"] == place]
        if not len(me):
            self.add(
                "dropped_cause",
                f"{label}, cause cut_by_max_hotspots: {place} is not a hotspot of plan.gpkg",
                window=window,
                place_id=place,
            )
            return
        levels = tuple(self.settings.hotspot_levels)
        my_level, my_risk = str(me[lc].iloc[0]), float(me[rc].iloc[0])
        visited = [r for r in self.rows if r.window == window and r.place_id == place and r.kind == "hotspot"]
        if visited:
            self.add(
                "dropped_cause",
                f"{label}, cause cut_by_max_hotspots: but {visited[0].team} visits it at {self.clock(window, visited[0].arrive)}",
                window=window,
                place_id=place,
            )
        if my_level not in levels:
            self.add(
                "dropped_cause",
                f"{label}, cause cut_by_max_hotspots: {place} is graded {my_level} in {window}, not "
                f"one of the patrol levels ({', '.join(levels)}), so it was never a candidate to cut",
                window=window,
                place_id=place,
            )
            return
        graded = h[h[lc].astype(str).isin(levels) & (h["hotspot_id"] != place)]
        ahead = int((pd.to_numeric(graded[rc], errors="coerce") >= my_risk).sum())
        if ahead < k:
            self.add(
                "dropped_cause",
                f"{label}, cause cut_by_max_hotspots: with risk {my_risk:.4g} it ranks "
                f"{ahead + 1} of the {len(graded) + 1} hotspots graded {'/'.join(levels)} in {window} "
                f"(rule: only those ranked below the top {k} are cut)",
                window=window,
                place_id=place,
            )

    def _routed_hotspots(self, window: str) -> int:
        path = self.run_dir / "patrol_dosage.csv"
        if not path.is_file():
            return 0
        df = _read_csv(path, DOSAGE_REQUIRED)
        return int(((df["window"].astype(str) == window) & (df["kind"].astype(str).str.strip() == "hotspot")).sum())

    def _node(self, mode: str, place: str) -> int:
        return self.dropped_nodes[(mode, place)]

    def _reach(self, t: _Team, place: str, e: float, l: float, dwell: float, *, pad: float) -> float | None:
        """When the team, leaving its base at shift start, can be at the place (None: not in time, or not back
        by shift end), with each travel time plus ``pad`` × its tolerance."""
        base = t.stops[0] if t.stops else None
        if base is None or base.node < 0:
            return None
        node = self._node(t.mode, place)
        go, back = self.tt(t.mode, base, node), self.tt(t.mode, node, base)
        if not (math.isfinite(go) and math.isfinite(back)):
            return None
        arrive = t.shift_start + go + pad * travel_tolerance_s(go)
        if arrive > l:
            return None
        start = max(arrive, e)
        if start + dwell + back + pad * travel_tolerance_s(back) > t.shift_end:
            return None
        return arrive

    def _insert(self, t: _Team, place: str, e: float, l: float, dwell: float) -> tuple[str, str, float] | None:
        """A gap of the team's timetable the visit fits into without moving any stop: (from, to, start) or None."""
        stops, breaks = t.stops, t.breaks
        node = self._node(t.mode, place)
        w = t.window
        for i in range(len(stops) - 1):
            a, b = stops[i], stops[i + 1]
            start = a.depart
            if i == 0 and a.kind == "base":
                start = min(start, t.shift_start)  # the team may leave its base earlier …
            end = b.arrive
            if i + 1 == len(stops) - 1 and b.kind == "base":
                end = max(end, t.shift_end)  # … and come back later, within its shift
            start, end = max(start, t.shift_start), min(end, t.shift_end)
            if end - start < dwell or start > l:
                continue
            go, back = self.tt(t.mode, a, node), self.tt(t.mode, node, b)
            if not (math.isfinite(go) and math.isfinite(back)):
                continue
            free = _free(start, end, breaks)
            there = _advance(start, go + travel_tolerance_s(go), free)
            if there is None:
                continue
            s = _place_dwell(max(there, e), l, dwell, free, self._too_close(w, place))
            if s is None:
                continue
            home = _advance(s + dwell, back + travel_tolerance_s(back), free)
            if home is not None and home <= end:
                frm = f"{a.place_id} at {self.clock(w, a.depart)}" if a.kind != "base" else f"its base ({self.clock(w, start)})"
                to = f"{b.place_id} at {self.clock(w, b.arrive)}" if b.kind != "base" else f"its base ({self.clock(w, end)})"
                return frm, to, s
        return None

    def _too_close(self, window: str, place: str) -> list[tuple[float, float]]:
        """Arrival times a new visit of a hotspot may not have: within min_revisit_gap_min of a planned one."""
        key = (window, place)
        if key not in self._gap_cache:
            gap = 60.0 * float(getattr(self.settings, "min_revisit_gap_min", 30.0))
            arrivals = [r.arrive for r in self.rows if r.window == window and r.place_id == place and r.kind == "hotspot"]
            self._gap_cache[key] = [(a - gap, a + gap) for a in sorted(arrivals)] if gap > 0 else []
        return self._gap_cache[key]

    def _visits_during(self, t: _Team, place: str, a: float, b: float) -> bool:
        return any(r.place_id == place and min(r.depart, b) - max(r.arrive, a) > 0 for r in t.stops)

    def report(self) -> AuditReport:
        order = {k: i for i, k in enumerate(KINDS)}
        vs = sorted(
            self.violations,
            key=lambda v: (order.get(v.kind, len(order)), v.window or "", v.team or "", v.place_id or "", v.message),
        )
        checked = {
            k: int(self.checked.get(k, 0))
            for k in (
                "routes",
                "rows",
                "legs",
                "breaks",
                "visits",
                "revisit_pairs",
                "teams",
                "window_pairs",
                "beat_rows",
                "dosage_rows",
                "dropped_visits",
                "dropped_causes_checked",
                "dropped_unlocated",
                "red_drops_checked",
            )
        }
        return AuditReport(tuple(vs), checked, tuple(dict.fromkeys(self.notes)))


def audit_run(
    run_dir: str | Path,
    *,
    scenario: Scenario | None = None,
    network: RoadNetwork | None = None,
    manifest: dict[str, Any] | None = None,
) -> AuditReport:
    """Check a run folder's patrol plan against the scenario and the streets; see the module docstring.

    ``scenario``, ``network`` and ``manifest`` skip loading them (``geoengine run`` passes
    them for its staging folder, before ``manifest.json`` exists). Without them the
    scenario is the one ``manifest.json`` names and the network is loaded (from its cache)
    as the scenario says.

    Raises
    ------
    RunFolderError
        The folder is not a run folder (no manifest.json, no routes.csv although the
        scenario plans patrols, a file without the columns of the run-folder contract).
    """
    from .network import load_network
    from .scenario import load_scenario

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunFolderError.single("not a folder", file=run_dir, hint="give the folder geoengine run or geoengine demo wrote")
    if scenario is None:
        if manifest is None:
            mpath = run_dir / "manifest.json"
            if not mpath.is_file():
                raise RunFolderError.single(
                    "not a run folder: it has no manifest.json",
                    file=run_dir,
                    hint="give the folder geoengine run or geoengine demo wrote (a run is complete once its manifest is there)",
                )
            try:
                manifest = json.loads(mpath.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
                raise RunFolderError.single(f"cannot read it: {err}", file=mpath) from None
        if not isinstance(manifest, dict) or not isinstance(manifest.get("scenario"), str) or not manifest["scenario"]:
            raise RunFolderError.single(
                "names no scenario",
                file=run_dir / "manifest.json",
                field="scenario",
                hint="the audit needs the scenario the run was made from",
            )
        scenario = load_scenario(manifest["scenario"])
    if scenario.patrol is None:
        return AuditReport((), {"rows": 0}, ("the scenario plans no patrols: nothing to audit",))
    if not (run_dir / "routes.csv").is_file():
        raise RunFolderError.single(
            "has no routes.csv although the scenario plans patrols",
            file=run_dir,
            hint="rerun the scenario; a run folder is complete once its manifest is there",
        )
    if network is None:
        network = load_network(scenario.network, scenario_dir=scenario.base_dir)
    audit = _Audit(run_dir, scenario, network)
    audit.load()
    audit.snap_rows()
    audit.check_routes()
    audit.check_dosage()
    audit.check_double_booking()
    audit.check_beats()
    audit.check_dropped()
    return audit.report()
