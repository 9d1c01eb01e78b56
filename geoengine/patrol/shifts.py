"""Teams and their shifts in each time window: one physical team is never planned twice at once.

A team entry of the scenario (``patrol.teams``) is ``count`` alike teams. Each works in the
windows it lists (default: every window), in each window for the part of its shift
(``shift_start``–``shift_end``; default the whole window) that falls in it. Without an
explicit shift, each window is a shift of its own.

Windows may overlap in clock time on some day (the demo's ``weekend_night`` 22:00–04:00 on
Fridays and Saturdays lies over ``evening`` 18:00–23:00 and ``night`` 23:00–07:00). A team
on duty in two overlapping windows is one crew, so it follows the plan of the window listed
**first** in the scenario during the overlap, and the later window gets the rest of its
time: the longest stretch of its shift there that no earlier window holds. When nothing (or
less than :data:`MIN_SHIFT_MIN` minutes) is left, the team does not work in the later window.
Every such cut is a warning, so the planner sees why a window has fewer teams.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

from ..errors import InfeasibleSettingsError, Problem

if TYPE_CHECKING:
    from ..scenario import PatrolSettings, TimeWindow

__all__ = ["MIN_SHIFT_MIN", "expand_teams", "window_overlaps"]

MIN_SHIFT_MIN = 30
"""A team whose time in a window is shorter than this (minutes) does not work in it."""

_DAY_MIN = 24 * 60
_WEEK_MIN = 7 * _DAY_MIN
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
BREAK_MIN_SHIFT_S = 4 * 3600
"""A meal break is planned only in a shift (within one window) at least this long."""


def _hhmm(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 60 + int(m)


def _occurrences(w: TimeWindow) -> list[tuple[int, int]]:
    """The window's occurrences in a week, as ``[start, end)`` minutes from Monday 00:00 (end may pass the week)."""
    days = range(7) if w.days is None else [_DAYS.index(d) for d in w.days]
    return [(d * _DAY_MIN + w.start_min, d * _DAY_MIN + w.start_min + w.duration_min) for d in days]


def window_overlaps(a: TimeWindow, b: TimeWindow) -> list[tuple[int, int]]:
    """Where window ``a`` lies over window ``b``, in minutes from ``b``'s start (merged intervals).

    Both windows' weekly occurrences are compared (``days``; windows wrapping midnight and
    the week are handled), so ``evening`` (every day) over ``weekend_night`` (22:00–04:00,
    Fri and Sat) gives ``[(0, 60)]``.
    """
    pieces = []
    for sb, eb in _occurrences(b):
        for sa, ea in _occurrences(a):
            for shift in (-_WEEK_MIN, 0, _WEEK_MIN):
                lo, hi = max(sa + shift, sb), min(ea + shift, eb)
                if hi > lo:
                    pieces.append((lo - sb, hi - sb))
    pieces.sort()
    merged: list[tuple[int, int]] = []
    for lo, hi in pieces:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _shift_in_window(shift_start: str | None, shift_end: str | None, w: TimeWindow) -> tuple[int, int] | None:
    """The longest part of a daily shift inside the window, in minutes from the window's start."""
    duration = w.duration_min
    if shift_start is None and shift_end is None:
        return 0, duration
    ss = w.start_min if shift_start is None else _hhmm(shift_start)
    se = w.end_min if shift_end is None else _hhmm(shift_end)
    se = se if se > ss else se + _DAY_MIN
    best = None
    for shift in (-_DAY_MIN, 0, _DAY_MIN):
        lo, hi = max(ss + shift, w.start_min), min(se + shift, w.end_min)
        if hi > lo and (best is None or hi - lo > best[1] - best[0]):
            best = (lo - w.start_min, hi - w.start_min)
    return best


def _subtract(interval: tuple[int, int], holes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    lo, hi = interval
    out = []
    cur = lo
    for a, b in sorted(holes):
        if b <= cur or a >= hi:
            continue
        if a > cur:
            out.append((cur, a))
        cur = max(cur, b)
    if cur < hi:
        out.append((cur, hi))
    return out


def _clock(minutes: int) -> str:
    m = minutes % _DAY_MIN
    return f"{m // 60:02d}:{m % 60:02d}"


def expand_teams(
    settings: PatrolSettings, windows: tuple[TimeWindow, ...], stations: gpd.GeoDataFrame | None
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """One row per (team, window) it works in, and the warnings about shifts cut by overlaps.

    Columns: team, mode, window, base (row of ``stations``), base_name, shift_start_s,
    shift_end_s (seconds after the window's start), shift_min, break_s, volunteer,
    shift_note (why the shift is shorter than the window, or empty).
    """
    if stations is None or len(stations) == 0:
        raise InfeasibleSettingsError.single(
            "patrol teams need a base: the scenario has no stations layer",
            field="layers.stations",
            hint="add a stations layer (police stations or team bases)",
        )
    names = stations["name"].astype(str).tolist() if "name" in stations else [f"Station {i}" for i in range(len(stations))]
    by_name = {n: i for i, n in enumerate(names)}
    win_names = {w.name: w for w in windows}
    problems: list[Problem] = []
    rows: list[dict] = []
    warnings: list[str] = []
    seen: dict[str, int] = {}
    for ti, t in enumerate(settings.teams):
        where = f"patrol.teams[{ti}]"
        if t.name in seen:
            problems.append(Problem(f"team name {t.name!r} is used by teams {seen[t.name]} and {ti}", field=f"{where}.name"))
            continue
        seen[t.name] = ti
        if isinstance(t.base, int):
            base = t.base if 0 <= t.base < len(stations) else None
        elif isinstance(t.base, str):
            base = by_name.get(t.base)
        else:
            base = 0
        if base is None:
            problems.append(
                Problem(f"team {t.name!r}: no station {t.base!r} (stations: {', '.join(names[:8])})", field=f"{where}.base")
            )
            continue
        unknown = [w for w in (t.windows or ()) if w not in win_names]
        if unknown:
            problems.append(
                Problem(
                    f"team {t.name!r}: no window {', '.join(unknown)} (windows: {', '.join(win_names)})", field=f"{where}.windows"
                )
            )
            continue
        mine = [w for w in windows if t.windows is None or w.name in t.windows]
        worked: list[TimeWindow] = []
        any_shift = False
        for w in mine:
            part = _shift_in_window(t.shift_start, t.shift_end, w)
            if part is None:
                continue
            any_shift = True
            holes = [iv for earlier in worked for iv in window_overlaps(earlier, w)]
            free = _subtract(part, holes)
            note = ""
            if holes and free != [part]:
                over = ", ".join(e.name for e in worked if window_overlaps(e, w))
                if not free or max(b - a for a, b in free) < MIN_SHIFT_MIN:
                    warnings.append(
                        f"patrol: team {t.name!r} does not work in window {w.name!r}: its time there is held by "
                        f"the overlapping window(s) {over} (listed first; one crew is never planned twice at once)"
                    )
                    worked.append(w)
                    continue
                lo, hi = max(free, key=lambda iv: (iv[1] - iv[0], -iv[0]))
                note = f"{_clock(w.start_min + lo)}–{_clock(w.start_min + hi)}: the rest is held by {over}"
                warnings.append(
                    f"patrol: team {t.name!r} works {note} in window {w.name!r} (one crew is never planned twice at once)"
                )
                part = (lo, hi)
            worked.append(w)
            if part[1] <= part[0]:
                continue
            for k in range(t.count):
                name = t.name if t.count == 1 else f"{t.name}-{k + 1}"
                rows.append(
                    {
                        "team": name,
                        "mode": t.mode,
                        "window": w.name,
                        "base": base,
                        "base_name": names[base],
                        "shift_start_s": 60 * part[0],
                        "shift_end_s": 60 * part[1],
                        "shift_min": float(part[1] - part[0]),
                        "break_s": 60 * t.break_min,
                        "volunteer": t.volunteer,
                        "shift_note": note,
                    }
                )
        if not any_shift:
            shift = f"{t.shift_start or 'window start'}–{t.shift_end or 'window end'}"
            problems.append(
                Problem(
                    f"team {t.name!r}: its shift {shift} lies in none of its windows ({', '.join(w.name for w in mine)})",
                    field=f"{where}.shift_start",
                )
            )
    if problems:
        raise InfeasibleSettingsError(f"{len(problems)} problem(s) with patrol.teams", problems=problems)
    if not rows:
        raise InfeasibleSettingsError.single("no team works in any window", field="patrol.teams")
    return pd.DataFrame(rows), tuple(warnings)
