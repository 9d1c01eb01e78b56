"""``geoengine audit``: hand-built run folders on a 6 × 6 street grid whose answers are known.

A clean folder (two teams in the day, one car in the evening and on weekend nights,
one visit dropped for each cause, each cause true) gives no violation; each test plants
one violation in a copy and sees it caught with its kind. Grid: blocks of 120 m; a car
needs 13.5–18 s per block, a walker 96 s.
"""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import networkx as nx
import pandas as pd
import pyproj
import pytest
import shapely
import yaml
from typer.testing import CliRunner

import geoengine as ge
from geoengine.audit import KINDS, AuditReport, RunFolderError, Violation, audit_run
from geoengine.cli import app
from geoengine.network import save_graphml
from geoengine.synthetic import grid_network

BLOCK_M = 120.0
X0, Y0 = 500_000.0, 6_600_000.0
WINDOWS = {"day": "08:00", "evening": "16:00", "night": "22:00"}

# grid coordinates (i, j) of each place; node id = 6 i + j + 1
PLACES = {
    "base:B1": (0, 0),
    "base:B2": (2, 2),
    "H1": (1, 1),
    "H2": (2, 3),
    "H3": (5, 5),
    "H4": (0, 5),
}
BEAT = {"H1": 1, "H2": 2, "H3": 2, "H4": 1}
LEVEL = {"H1": "red", "H2": "orange", "H3": "red", "H4": "orange"}

SCENARIO = {
    "name": "audit grid",
    "network": {"source": "grid.graphml"},
    "windows": [
        {"name": "day", "start": "08:00", "end": "16:00"},
        {"name": "evening", "start": "16:00", "end": "24:00"},
        {"name": "night", "start": "22:00", "end": "06:00", "days": ["fri", "sat"]},
    ],
    "patrol": {
        "teams": [
            {"name": "car", "mode": "car", "windows": ["day", "evening", "night"]},
            {"name": "foot", "mode": "foot", "windows": ["day"], "break_min": 30},
        ],
        "beats": 2,
        "max_hotspots_per_window": 3,
    },
    # a patrol section needs these layers to validate; the audit itself reads only the run folder
    "layers": {"incidents": {"path": "incidents.csv"}, "stations": {"path": "stations.geojson"}},
}


def _xy(place: str) -> tuple[float, float]:
    i, j = PLACES[place]
    return X0 + BLOCK_M * i, Y0 + BLOCK_M * j


_TO_LL = pyproj.Transformer.from_crs("EPSG:32633", "EPSG:4326", always_xy=True)


def _clock(window: str, s: float) -> str:
    h, m = (int(x) for x in WINDOWS[window].split(":"))
    t = (h * 3600 + m * 60 + int(s)) % 86400
    return f"{t // 3600:02d}:{(t % 3600) // 60:02d}"


def _route(team: str, mode: str, window: str, stops: list[tuple]) -> list[dict]:
    """stops: (place, kind, arrive_s, dwell_min, travel_min_from_prev)."""
    rows = []
    for seq, (place, kind, arrive, dwell, travel) in enumerate(stops):
        lon, lat = _TO_LL.transform(*_xy(place))
        hot = kind == "hotspot"
        rows.append(
            {
                "team": team,
                "mode": mode,
                "window": window,
                "seq": seq,
                "place_id": f"break:{seq}" if kind == "break" else place,
                "place_kind": kind,
                "place_name": place,
                "beat": BEAT[place] if hot else "",
                "lon": round(lon, 7),
                "lat": round(lat, 7),
                "arrive": _clock(window, arrive),
                "depart": _clock(window, arrive + 60 * dwell),
                "arrive_s": arrive,
                "depart_s": int(arrive + 60 * dwell),
                "dwell_min": dwell,
                "travel_min_from_prev": travel,
                "risk_level": LEVEL[place] if hot else "",
            }
        )
    return rows


def _clean_tables() -> dict[str, pd.DataFrame]:
    routes = [
        *_route(
            "car",
            "car",
            "day",
            [
                ("base:B1", "base", 0, 0.0, 0.0),
                ("H1", "hotspot", 900, 12.0, 0.53),  # 08:15
                ("H2", "hotspot", 3600, 12.0, 0.8),  # 09:00
                ("H1", "hotspot", 4500, 12.0, 0.8),  # 09:15, 60 min after the first
                ("base:B1", "base", 5400, 0.0, 0.53),  # 09:30, then idle at the base
            ],
        ),
        *_route(
            "foot",
            "foot",
            "day",
            [
                ("base:B2", "base", 0, 0.0, 0.0),
                ("H2", "hotspot", 1200, 12.0, 1.6),  # 08:20
                ("H3", "hotspot", 3000, 12.0, 8.0),  # 08:50
                ("H3", "break", 14400, 30.0, 0.0),  # 12:00–12:30, at H3
                ("H2", "hotspot", 17400, 12.0, 8.0),  # 12:50
                ("base:B2", "base", 18600, 0.0, 1.6),  # 13:10
            ],
        ),
        *_route(
            "car",
            "car",
            "evening",
            [
                ("base:B1", "base", 0, 0.0, 0.0),
                ("H1", "hotspot", 600, 12.0, 0.53),
                ("base:B1", "base", 2400, 0.0, 0.53),  # 16:40
            ],
        ),
        *_route(
            "car",
            "car",
            "night",
            [
                ("base:B1", "base", 3600, 0.0, 0.0),  # shift from 23:00
                ("H2", "hotspot", 4200, 12.0, 1.3),
                ("base:B1", "base", 6000, 0.0, 1.3),  # 23:40
            ],
        ),
    ]
    teams = pd.DataFrame(
        [
            ("car", "car", "day", "B1", "08:00", "16:00", 0, 28800, 480, 0, 3, 36, 39, 441, 0.92),
            ("foot", "foot", "day", "B2", "08:00", "16:00", 0, 28800, 480, 30, 20, 36, 56, 394, 0.82),
            ("car", "car", "evening", "B1", "16:00", "24:00", 0, 28800, 480, 0, 1, 12, 13, 467, 0.97),
            ("car", "car", "night", "B1", "23:00", "06:00", 3600, 28800, 420, 0, 3, 12, 15, 405, 0.96),
        ],
        columns=[
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
        ],
    )
    team_beats = pd.DataFrame(
        [
            ("day", "car", 1, "allocated"),
            ("day", "car", 2, "cross_beat"),
            ("day", "foot", 2, "allocated"),
            ("evening", "car", 1, "allocated"),
            ("evening", "car", 2, "allocated"),
            ("night", "car", 1, "allocated"),
            ("night", "car", 2, "nearest"),
        ],
        columns=["window", "team", "beat", "how"],
    )
    dropped = pd.DataFrame(
        [
            # H4 ranks 4th of the four red/orange hotspots of the day; 3 are patrolled
            (
                "day",
                "H4",
                "",
                "orange",
                2.0,
                1,
                "",
                "",
                "",
                "",
                12.0,
                "cut_by_max_hotspots",
                "ranks 4 by risk; 3 hotspots per window",
                "",
            ),
            # 08:20–08:25: the car is at H1 (08:15–08:27), the walker at H2 (08:20–08:32)
            (
                "day",
                "H3",
                1,
                "red",
                8.0,
                2,
                "08:20",
                "08:25",
                1200,
                1500,
                12.0,
                "time_used",
                "every team able to reach it is busy",
                "H1;H2",
            ),
            # 08:00–08:01 at the far corner: no team gets there within a minute
            ("day", "H3", 0, "red", 8.0, 2, "08:00", "08:01", 0, 60, 12.0, "unreachable", "no team reaches it in time", ""),
            # 22:00–22:30: the night car starts at 23:00
            ("night", "H1", 0, "red", 10.0, 1, "22:00", "22:30", 0, 1800, 12.0, "no_team_on_shift", "no team on shift", ""),
        ],
        columns=[
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
        ],
    )
    dosage = pd.DataFrame(
        [
            ("day", "H1", "hotspot", "red", 2, 2, 60.0, True),
            ("day", "H2", "hotspot", "orange", 2, 3, 230.0, False),
            ("day", "H3", "hotspot", "red", 3, 1, None, False),
            ("evening", "H1", "hotspot", "red", 1, 1, None, True),
            ("night", "H2", "hotspot", "orange", 1, 1, None, True),
            ("night", "H1", "hotspot", "red", 1, 0, None, False),
        ],
        columns=["window", "place_id", "kind", "level", "required", "served", "largest_gap_min", "met"],
    )
    return {
        "routes": pd.DataFrame(routes),
        "teams": teams,
        "team_beats": team_beats,
        "dropped_visits": dropped,
        "patrol_dosage": dosage,
    }


def _write_tables(folder: Path, tables: dict[str, pd.DataFrame]) -> None:
    for name, df in tables.items():
        df.to_csv(folder / f"{name}.csv", index=False)


def _write_hotspots(folder: Path) -> None:
    risk = {"H1": 10.0, "H2": 6.0, "H3": 8.0, "H4": 2.0}
    h = gpd.GeoDataFrame(
        {
            "hotspot_id": list(risk),
            **{f"risk:{w}": list(risk.values()) for w in WINDOWS},
            "level:day": [LEVEL[h] for h in risk],
            "level:evening": ["red", "orange", "red", "yellow"],
            "level:night": ["red", "orange", "red", "yellow"],
        },
        geometry=[shapely.Point(_xy(h)) for h in risk],
        crs="EPSG:32633",
    )
    h.to_file(folder / "plan.gpkg", layer="hotspots", driver="GPKG")


@pytest.fixture(scope="session")
def city(tmp_path_factory: pytest.TempPathFactory) -> tuple[ge.Scenario, ge.RoadNetwork, Path]:
    folder = tmp_path_factory.mktemp("audit-city")
    save_graphml(grid_network(6, block_m=BLOCK_M), folder / "grid.graphml")
    lon, lat = _TO_LL.transform(*_xy("H1"))
    (folder / "incidents.csv").write_text(f"date,time,category,lon,lat\n2026-01-05,20:00,robbery,{lon},{lat}\n", encoding="utf-8")
    blon, blat = _TO_LL.transform(X0, Y0)
    (folder / "stations.geojson").write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": "Base"},
                        "geometry": {"type": "Point", "coordinates": [blon, blat]},
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(SCENARIO, sort_keys=False), encoding="utf-8")
    scenario = ge.load_scenario(path)
    return scenario, ge.load_network(scenario.network), path


@pytest.fixture(scope="session")
def clean_run(city, tmp_path_factory: pytest.TempPathFactory) -> Path:
    _, _, scenario_path = city
    folder = tmp_path_factory.mktemp("audit-runs") / "clean"
    folder.mkdir()
    _write_tables(folder, _clean_tables())
    _write_hotspots(folder)
    (folder / "manifest.json").write_text(
        json.dumps({"scenario": str(scenario_path), "seed": 0, "outputs": {"routes": "routes.csv"}}), encoding="utf-8"
    )
    return folder


def _plant(clean: Path, tmp_path: Path, edit: Callable[[dict[str, pd.DataFrame]], None]) -> Path:
    folder = tmp_path / "planted"
    shutil.copytree(clean, folder)
    tables = {name: pd.read_csv(folder / f"{name}.csv", dtype=object, keep_default_na=False) for name in _clean_tables()}
    edit(tables)
    _write_tables(folder, tables)
    return folder


def _audit(folder: Path, city) -> AuditReport:
    scenario, network, _ = city
    return audit_run(folder, scenario=scenario, network=network)


def _set(df: pd.DataFrame, where: dict[str, object], **values: object) -> None:
    mask = pd.Series(True, index=df.index)
    for col, v in where.items():
        mask &= df[col].astype(str) == str(v)
    assert mask.sum() == 1, (where, int(mask.sum()))
    for col, v in values.items():
        df.loc[mask, col] = v


def _stop(df: pd.DataFrame, team: str, window: str, seq: int, **values: object) -> None:
    _set(df, {"team": team, "window": window, "seq": seq}, **values)


# --------------------------------------------------------------------------- the clean folder
def test_the_hand_built_schedule_has_the_travel_slack_it_claims(city):
    """The clean folder's legs, by networkx on the same graph (not the audit's code)."""
    _, network, _ = city
    routes = _clean_tables()["routes"]
    node = {p: 6 * i + j + 1 for p, (i, j) in PLACES.items()}
    for (_, _, mode), g in routes.groupby(["team", "window", "mode"]):
        stops = g[g["place_kind"] != "break"].to_dict("records")
        for a, b in itertools.pairwise(stops):
            t = nx.shortest_path_length(network.graph, node[a["place_name"]], node[b["place_name"]], weight=f"time_{mode}_s")
            pause = g[(g["place_kind"] == "break") & g["seq"].between(a["seq"], b["seq"])]["dwell_min"].sum() * 60
            assert b["arrive_s"] - a["depart_s"] - pause >= t, (a, b, t)
            assert abs(b["travel_min_from_prev"] * 60 - t) < 60


def test_a_clean_run_folder_has_no_violations(city, clean_run):
    report = audit_run(clean_run)  # scenario and network from the manifest, as the CLI does
    assert report.violations == (), report.lines()
    assert report.clean and report.summary().startswith("audit: clean")
    c = report.checked
    assert (c["routes"], c["rows"], c["legs"], c["breaks"], c["teams"]) == (4, 17, 12, 1, 4)
    assert c["dropped_visits"] == 4 and c["dropped_causes_checked"] == 4 and c["red_drops_checked"] == 3
    assert c["window_pairs"] == 3 and c["dosage_rows"] == 3
    d = report.to_dict()
    assert d["clean"] is True and d["violations"] == 0 and d["items"] == [] and d["checked"] == c
    json.dumps(d)  # fits in the manifest


def test_objects_passed_in_skip_loading_for_a_staging_folder_without_manifest(city, clean_run, tmp_path):
    staging = tmp_path / "stage"
    shutil.copytree(clean_run, staging)
    (staging / "manifest.json").unlink()
    assert _audit(staging, city).clean
    with pytest.raises(RunFolderError, match="no manifest.json"):
        audit_run(staging)


# --------------------------------------------------------------------------- each violation, planted
def _arrive(df: pd.DataFrame, team: str, window: str, seq: int, arrive: int, dwell: float | None = None) -> None:
    row = df[(df["team"] == team) & (df["window"] == window) & (df["seq"].astype(int) == seq)].iloc[0]
    dwell = float(row["dwell_min"]) if dwell is None else dwell
    _stop(
        df,
        team,
        window,
        seq,
        arrive_s=arrive,
        depart_s=int(arrive + 60 * dwell),
        dwell_min=dwell,
        arrive=_clock(window, arrive),
        depart=_clock(window, arrive + 60 * dwell),
    )


def _right_after(df: pd.DataFrame, team: str, window: str, seq: int, minutes: float) -> None:
    """Stop ``seq`` arrives ``minutes`` after stop ``seq - 1`` departs."""
    prev = df[(df["team"] == team) & (df["window"] == window) & (df["seq"].astype(int) == seq - 1)].iloc[0]
    _arrive(df, team, window, seq, int(prev["depart_s"]) + int(60 * minutes))


def _move(df: pd.DataFrame, team: str, window: str, seq: int, place: str) -> None:
    lon, lat = _TO_LL.transform(*_xy(place))
    _stop(
        df,
        team,
        window,
        seq,
        place_id=place,
        place_name=place,
        lon=round(lon, 7),
        lat=round(lat, 7),
        beat=BEAT.get(place, ""),
        risk_level=LEVEL.get(place, ""),
    )


def _without(df: pd.DataFrame, team: str, window: str, seq: int) -> pd.DataFrame:
    keep = ~((df["team"] == team) & (df["window"] == window) & (df["seq"].astype(int) == seq))
    return df[keep]


def _renumber(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["seq"] = df.groupby(["team", "window"]).cumcount()
    return df


PLANTS: dict[str, tuple[Callable[[dict[str, pd.DataFrame]], None], set[str]]] = {
    # 1. the walker reaches H3 (5 blocks, 8 min) 80 s after leaving H2
    "arrival faster than travel": (lambda t: _arrive(t["routes"], "foot", "day", 2, 2000), {"travel"}),
    "stated travel much less than the streets need": (
        lambda t: _stop(t["routes"], "foot", "day", 2, travel_min_from_prev=1.0),
        {"travel"},
    ),
    # 2. dwell
    "dwell below the level's dwell": (lambda t: _arrive(t["routes"], "car", "day", 3, 4500, dwell=5.0), {"dwell"}),
    "dwell above 16 minutes": (lambda t: _arrive(t["routes"], "car", "evening", 1, 600, dwell=25.0), {"dwell"}),
    # 3. revisits: the car at H2 20 min after the walker
    "revisit sooner than min_revisit_gap_min": (lambda t: _arrive(t["routes"], "car", "day", 2, 2400), {"revisit"}),
    "the same place twice in a row": (
        # H2 again 5 min after leaving it (a team that left for 15 min or more made a revisit)
        lambda t: (
            _move(t["routes"], "foot", "day", 2, "H2"),
            _right_after(t["routes"], "foot", "day", 2, 5),
            _stop(t["routes"], "foot", "day", 2, travel_min_from_prev=0),
        ),
        {"revisit"},
    ),
    "met although the gap is too long": (
        lambda t: _set(t["patrol_dosage"], {"window": "day", "place_id": "H2"}, met="True"),
        {"dosage"},
    ),
    "met although served below required": (
        lambda t: _set(t["patrol_dosage"], {"window": "evening", "place_id": "H1"}, required=2),
        {"dosage"},
    ),
    # 4. time windows and shifts
    "a stop after the window's end": (lambda t: _arrive(t["routes"], "foot", "day", 5, 28900), {"time_window", "shift"}),
    "a stop before the shift starts": (lambda t: _arrive(t["routes"], "car", "night", 0, 3000), {"shift"}),
    "depart is not arrive plus dwell": (lambda t: _stop(t["routes"], "car", "day", 1, depart_s=1700), {"time_window"}),
    "seq with a hole": (lambda t: _set(t["routes"], {"team": "car", "window": "day", "seq": 4}, seq=5), {"time_window"}),
    "a route that does not end at its base": (
        lambda t: t.update(routes=_without(t["routes"], "car", "evening", 2)),
        {"time_window"},
    ),
    "a team on shift without a route": (
        lambda t: t.update(routes=t["routes"][~((t["routes"]["team"] == "car") & (t["routes"]["window"] == "evening"))]),
        {"shift", "dosage"},
    ),
    # 5. breaks
    "no break in an 8 h shift": (lambda t: t.update(routes=_renumber(_without(t["routes"], "foot", "day", 3))), {"break"}),
    "a break shorter than break_min": (lambda t: _arrive(t["routes"], "foot", "day", 3, 14400, dwell=20.0), {"break"}),
    "a break during a visit": (lambda t: _arrive(t["routes"], "foot", "day", 3, 3300), {"break"}),
    # 6. the evening car comes home at 23:10, the night car leaves at 23:00 (Fri, Sat)
    "one team in two windows at once": (lambda t: _arrive(t["routes"], "car", "evening", 2, 25800), {"double_booked"}),
    # 7. beats
    "a hotspot outside the team's beats": (
        lambda t: t.update(
            team_beats=t["team_beats"][
                ~(
                    (t["team_beats"]["team"] == "car")
                    & (t["team_beats"]["beat"].astype(int) == 2)
                    & (t["team_beats"]["window"] == "day")
                )
            ]
        ),
        {"beat"},
    ),
    # 8. dropped visits whose cause does not hold
    "cut although it ranks in the top 3": (
        lambda t: _set(t["dropped_visits"], {"cause": "cut_by_max_hotspots"}, place_id="H2"),
        {"dropped_cause"},
    ),
    "cut although not graded in the patrol levels": (
        lambda t: _set(t["dropped_visits"], {"cause": "cut_by_max_hotspots"}, window="evening"),
        {"dropped_cause"},
    ),
    # (the car could be there at 08:03, but a visit then would be 30 min from the walker's at 08:50)
    "unreachable although the car gets there": (
        lambda t: _set(t["dropped_visits"], {"cause": "unreachable"}, latest_s=3000, latest="08:50"),
        {"dropped_cause"},
    ),
    "unreachable although the car gets there, and it is idle": (
        lambda t: _set(t["dropped_visits"], {"cause": "unreachable"}, earliest_s=5400, latest_s=7200),
        {"dropped_cause", "idle_beside_dropped_red"},
    ),
    "no team on shift although the night car is": (
        lambda t: _set(t["dropped_visits"], {"cause": "no_team_on_shift"}, earliest_s=3600, latest_s=5400),
        {"dropped_cause", "idle_beside_dropped_red"},
    ),
    "time used although the car is idle after 09:30": (
        lambda t: _set(t["dropped_visits"], {"cause": "time_used"}, latest_s=7200, latest="10:00"),
        {"dropped_cause", "idle_beside_dropped_red"},
    ),
    "time used although no team can get there in time": (
        lambda t: _set(t["dropped_visits"], {"cause": "unreachable"}, cause="time_used", busy_with="H1"),
        {"dropped_cause"},
    ),
    "time used, busy with a visit that is not in the slot": (
        lambda t: _set(t["dropped_visits"], {"cause": "time_used"}, busy_with="H1;H4"),
        {"dropped_cause"},
    ),
    "no team allocated although the car may patrol beat 2": (
        lambda t: _set(t["dropped_visits"], {"cause": "time_used"}, cause="no_team_allocated"),
        {"dropped_cause"},
    ),
    "an unknown cause": (
        lambda t: _set(t["dropped_visits"], {"cause": "unreachable"}, cause="not enough team time"),
        {"dropped_cause"},
    ),
    # 9. the same slot, red, but with the car idle: flagged whatever the stated cause
    "an idle team beside a dropped red visit": (
        lambda t: _set(t["dropped_visits"], {"cause": "unreachable"}, earliest_s=6000, latest_s=7200, cause="no_team_on_shift"),
        {"dropped_cause", "idle_beside_dropped_red"},
    ),
}


@pytest.mark.parametrize("name", list(PLANTS))
def test_each_planted_violation_is_caught_with_its_kind(name, city, clean_run, tmp_path):
    edit, kinds = PLANTS[name]
    report = _audit(_plant(clean_run, tmp_path, edit), city)
    assert {v.kind for v in report.violations} == kinds, report.lines()
    assert not report.clean and all(v.kind in KINDS for v in report.violations)
    assert report.to_dict()["by_kind"].keys() == {k for k in KINDS if k in kinds}


def test_files_a_run_folder_lacks_are_notes_not_violations(city, clean_run, tmp_path):
    folder = tmp_path / "partial"
    shutil.copytree(clean_run, folder)
    for name in ("team_beats.csv", "patrol_dosage.csv", "plan.gpkg"):
        (folder / name).unlink()
    report = _audit(folder, city)
    assert report.clean, report.lines()
    notes = " ".join(report.notes)
    assert "team_beats.csv" in notes and "patrol_dosage.csv" in notes and "cut_by_max_hotspots" in notes
    assert report.checked["beat_rows"] == 0 and report.checked["dosage_rows"] == 0
    assert "note: no team_beats.csv" in report.summary() and report.to_dict()["notes"] == list(report.notes)


def test_messages_name_the_team_the_window_the_clock_times_and_the_rule(city, clean_run, tmp_path):
    report = _audit(_plant(clean_run, tmp_path, PLANTS["arrival faster than travel"][0]), city)
    (v,) = report.violations
    assert isinstance(v, Violation) and (v.kind, v.window, v.team, v.place_id) == ("travel", "day", "foot", "H3")
    assert "foot in day" in v.message and "08:33" in v.message and "08:32" in v.message and "rule:" in v.message
    assert str(v) == f"travel: {v.message}"


def test_the_travel_tolerance_is_60_s_or_3_percent(city, clean_run, tmp_path):
    """H2 → H3 on foot is 480 s: an arrival 50 s early passes, 70 s early does not."""
    for early, caught in ((50, False), (70, True)):
        folder = tmp_path / str(early)
        folder.mkdir()
        report = _audit(
            _plant(clean_run, folder, lambda t, e=early: _arrive(t["routes"], "foot", "day", 2, 1920 + 480 - e)), city
        )
        assert (not report.clean) is caught, report.lines()


def _with_window(scenario: ge.Scenario, name: str, **changes: object) -> ge.Scenario:
    windows = tuple(w.model_copy(update=changes) if w.name == name else w for w in scenario.windows)
    return scenario.model_copy(update={"windows": windows})


def test_the_same_team_in_overlapping_windows_is_double_booked_only_when_busy_on_a_common_day(city, clean_run, tmp_path):
    """Evening (every day) until 23:10 against the Friday/Saturday night car from 23:00, then from 23:30."""
    scenario, network, _ = city
    home_late = _plant(clean_run, tmp_path, lambda t: _arrive(t["routes"], "car", "evening", 2, 25800))
    assert {v.kind for v in audit_run(home_late, scenario=scenario, network=network).violations} == {"double_booked"}
    # the evening only on Mondays: no common day with the Friday/Saturday night
    assert audit_run(home_late, scenario=_with_window(scenario, "evening", days=("mon",)), network=network).clean
    # the evening on Fridays, the night on Thursdays: no common day either (Thu night ends Fri 06:00)
    thu = _with_window(_with_window(scenario, "evening", days=("fri",)), "night", days=("thu",))
    assert audit_run(home_late, scenario=thu, network=network).clean

    def later(t: dict[str, pd.DataFrame]) -> None:
        _arrive(t["routes"], "car", "evening", 2, 25800)
        for seq, arrive in ((0, 5400), (1, 6000), (2, 7800)):
            _arrive(t["routes"], "car", "night", seq, arrive)
        _set(t["teams"], {"team": "car", "window": "night"}, shift_start_s=5400)

    assert _audit(_plant(clean_run, tmp_path / "later", later), city).clean


def test_a_night_route_past_midnight_overlaps_a_window_of_the_next_morning(city, clean_run, tmp_path):
    """The Friday night car busy until 05:46 on Saturday against a day shift from 05:30 every day."""
    scenario, network, _ = city
    early = _with_window(scenario, "day", start="05:30", end="13:30")
    folder = _plant(clean_run, tmp_path, lambda t: _arrive(t["routes"], "car", "night", 2, 28000))
    report = audit_run(folder, scenario=early, network=network)
    assert {v.kind for v in report.violations} == {"double_booked"}, report.lines()
    (v,) = report.violations
    assert "sat 05:30" in v.message and (v.team, v.window) == ("car", "night")


def test_a_hotspot_whose_only_team_is_on_break_has_no_team_on_shift(city, clean_run, tmp_path):
    """The car works only until 12:00; the walker is on break 12:00–12:30. A 12-minute visit of H2
    starting by 12:10 has no team; one that may start until 12:35 has the walker from 12:30."""

    def edit(latest: int) -> Callable[[dict[str, pd.DataFrame]], None]:
        def _edit(t: dict[str, pd.DataFrame]) -> None:
            _set(t["teams"], {"team": "car", "window": "day"}, shift_end_s=14400, shift_end="12:00")
            _set(
                t["dropped_visits"],
                {"cause": "time_used"},
                place_id="H2",
                level="orange",
                earliest_s=14400,
                latest_s=latest,
                cause="no_team_on_shift",
                busy_with="",
            )

        return _edit

    holds = _audit(_plant(clean_run, tmp_path / "a", edit(15000)), city)
    assert holds.clean, holds.lines()
    wrong = _audit(_plant(clean_run, tmp_path / "b", edit(16500)), city)
    assert [(v.kind, v.team) for v in wrong.violations] == [("dropped_cause", "foot")], wrong.lines()
    assert "12:30" in wrong.violations[0].message


# --------------------------------------------------------------------------- the command
runner = CliRunner()


def test_cli_exit_0_on_a_clean_folder(clean_run):
    res = runner.invoke(app, ["audit", str(clean_run)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert res.output.startswith("audit: clean")


def test_cli_exit_2_with_one_line_per_violation(city, clean_run, tmp_path):
    folder = _plant(clean_run, tmp_path, PLANTS["time used although the car is idle after 09:30"][0])
    res = runner.invoke(app, ["audit", str(folder)], catch_exceptions=False)
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    kinds = [line.split(":", 1)[0] for line in lines[:-1]]
    assert sorted(kinds) == ["dropped_cause", "idle_beside_dropped_red"] and lines[-1].startswith("audit: 2 violations")
    assert "Traceback" not in res.output


@pytest.mark.parametrize("what", ["empty folder", "no folder", "old routes.csv", "bad manifest"])
def test_cli_exit_2_for_a_folder_that_is_not_a_run_folder(what, clean_run, tmp_path):
    folder = tmp_path / "x"
    if what == "empty folder":
        folder.mkdir()
        expect = "not a run folder"
    elif what == "no folder":
        expect = "not a folder"
    elif what == "old routes.csv":
        shutil.copytree(clean_run, folder)
        pd.read_csv(folder / "routes.csv").drop(columns=["arrive_s", "depart_s"]).to_csv(folder / "routes.csv", index=False)
        expect = "lacks the columns arrive_s, depart_s"
    else:
        shutil.copytree(clean_run, folder)
        (folder / "manifest.json").write_text("{not json", encoding="utf-8")
        expect = "cannot read it"
    res = runner.invoke(app, ["audit", str(folder)], catch_exceptions=False)
    assert res.exit_code == 2, res.output
    assert expect in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1
