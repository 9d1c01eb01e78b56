"""Scenarios from the adversary's side (issue 13): the demo mutated at every leaf.

Each example takes ``scenarios/demo.yaml`` as data, replaces one to three of its leaves (or
adds a key next to one) with a wrong type, an out-of-range number, an empty or huge
string, an unknown name where another field is referenced, or a whole odd structure, writes
it to a temporary file and runs ``geoengine validate`` on it through typer's CliRunner. The
command must exit 0 (valid) or 2 (the user's mistake, one line per problem), never 1 (an
internal error) and never print a traceback.

A slow test does the same to a tiny scenario (a 6 × 6 synthetic street grid, a few hundred
incidents, one district, one station, cameras and two patrol teams, little solver work) and
runs it too, 20 times: ``geoengine run`` must also exit 0 or 2, and whatever ``validate``
accepts must not fail in ``run`` with an error that is about the scenario alone (every field
it names is a scenario setting): ``validate`` is at least as strict as ``run``.
"""

from __future__ import annotations

import copy
import math
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from geoengine import pipeline
from geoengine.cli import app
from geoengine.errors import GeoEngineError, InfeasibleSettingsError, ScenarioError
from geoengine.scenario import Scenario

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "scenarios" / "demo.yaml"


def _demo() -> dict[str, Any]:
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    for source in data["layers"].values():
        source["path"] = str((DEMO.parent / source["path"]).resolve())
    data["outputs"]["folder"] = "runs"
    # a few leaves the demo leaves at their defaults, so they are mutated too
    data["risk"] = {"lixel_m": 25, "bandwidth_m": 150, "half_life_days": 60, "level_shares": [0.05, 0.1, 0.25]}
    data["cameras"].update(spacing_m=10, pole_spacing_m=30, headings=8, risk_window="max")
    data["patrol"]["teams"][0].update(shift_start="07:00", shift_end="15:00")
    data["outputs"]["briefing_window"] = "evening"
    data["evaluation"]["rolling"] = {"train_days": 56, "test_days": 7}
    data["sweep"] = {"parameters": {"patrol.beats": [4, 6]}}
    return data


BASE = _demo()


def _leaves(node: Any, path: tuple = ()) -> list[tuple]:
    """Every path into the data: mappings' keys, lists' items (containers included)."""
    out = [path] if path else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _leaves(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _leaves(value, (*path, i))
    return out


LEAVES = _leaves(BASE)
NAMES = ["morning", "evening", "night", "car", "foot", "nope", "max", "mean", "", " ", "all_day"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1, 2**31, 10**9, 24 * 60, 1441]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-9, 1e-300, 1e300, 0.0001, 0.001, math.nan, math.inf, -math.inf]),
    st.text(max_size=20),
    st.sampled_from(
        [
            "",
            " ",
            "x" * 201,
            "x" * 100_000,
            "07:00",
            "24:00",
            "25:99",
            "noon",
            "%Q",
            "%d/%m/%Y",
            "EPSG:99999",
            "EPSG:4326",
            "EPSG:32635",
            "auto",
            "red",
            "never",
            "always",
            "2026-09-01",
            "2026-13-45",
            "package://nope/x",
            "../../../etc/passwd",
            "\x00",
            "${HOME}",
            "!!python/object",
        ]
    ),
    st.sampled_from(NAMES),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=4),
    st.dictionaries(st.sampled_from(["name", "start", "end", "path", "count", "x", "days"]), scalars, max_size=3),
    st.sampled_from([[], {}, [[]], [{}], {"name": "w", "start": "07:00", "end": "07:01"}, ["mon", "mon"], [True]]),
)
mutations = st.lists(
    st.tuples(st.sampled_from(LEAVES), st.sampled_from(["replace", "replace", "replace", "add", "delete"]), values),
    min_size=1,
    max_size=3,
)


def _apply(data: dict[str, Any], path: tuple, how: str, value: Any) -> None:
    node: Any = data
    for part in path[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return  # an earlier mutation removed the way there
    last = path[-1]
    try:
        if how == "delete":
            del node[last]
        elif how == "add" and isinstance(node, dict):
            node[f"{last}_extra"] = value
        elif how == "add" and isinstance(node, list):
            node.append(value)
        else:
            node[last] = value
    except (KeyError, IndexError, TypeError):
        pass


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


@settings(
    max_examples=500,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutations)
def test_validate_of_a_mutated_demo_is_ok_or_a_user_error(tmp_path_factory, runner, changes):
    data = copy.deepcopy(BASE)
    for path, how, value in changes:
        _apply(data, path, how, value)
    folder = tmp_path_factory.mktemp("adv", numbered=True)
    file = folder / "s.yaml"
    file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    res = runner.invoke(app, ["validate", str(file)])
    assert res.exit_code in (0, 2), (changes, res.output[-2000:], res.exception)
    assert "Traceback" not in res.output and "internal error" not in res.output, (changes, res.output[-2000:])
    if res.exit_code == 2:
        assert res.output.startswith("error: "), res.output[:500]
        assert len(res.output) < 20_000, "an error must not echo a huge value"


def test_the_unmutated_demo_validates(runner, tmp_path):
    file = tmp_path / "s.yaml"
    file.write_text(yaml.safe_dump(BASE), encoding="utf-8")
    res = runner.invoke(app, ["validate", str(file)])
    assert res.exit_code == 0, res.output


# --------------------------------------------------------------------------- runs of a tiny scenario
BLOCK_M = 120.0
TINY: dict[str, Any] = {
    "name": "tiny adversary",
    "seed": 0,
    "network": {"source": "../data/grid.graphml"},
    "layers": {
        "incidents": {
            "path": "../data/incidents.csv",
            "synthetic": True,
            "columns": {"date": "date", "time": "time", "category": "category", "lon": "lon", "lat": "lat"},
        },
        "stations": {"path": "../data/stations.geojson"},
        "districts": {"path": "../data/districts.geojson"},
    },
    "windows": [
        {"name": "day", "start": "08:00", "end": "16:00"},
        {"name": "night", "start": "20:00", "end": "02:00", "days": ["fri", "sat"]},
    ],
    "risk": {"bandwidth_m": 150, "half_life_days": 60, "level_shares": [0.05, 0.1, 0.25]},
    "cameras": {"budget_count": 2, "budgets": [1, 2], "pole_spacing_m": 60, "spacing_m": 20, "headings": 4, "risk_window": "max"},
    "patrol": {
        "teams": [
            {"name": "car", "mode": "car", "count": 1, "base": 0},
            {"name": "foot", "mode": "foot", "count": 1, "windows": ["day"], "shift_start": "08:00", "shift_end": "16:00"},
        ],
        "beats": 2,
        "max_hotspots_per_window": 3,
        "checkpoints": 1,
        "booths": 1,
    },
    "evaluation": {"split": "2026-04-01"},
    # a small work budget and a short safety cap keep each run to a few seconds; the solver
    # section is never mutated (a huge budget is valid and only slow)
    "solver": {"work": 1, "time_limit_s": 4},
    "outputs": {"map": False, "paper": "A4", "briefing_window": "day"},
}
TINY_LEAVES = [p for p in _leaves(TINY) if p[0] != "solver"]
TINY_NAMES = ["day", "night", "car", "foot", "centre", "HQ", "max", "mean", "nope", ""]
# wrong types, out-of-range numbers, odd strings, names of other fields, odd structures, and
# values that fit (so that some mutated scenarios validate and run all the way through)
TINY_VALUES: list[Any] = [
    None,
    True,
    False,
    -1,
    0,
    1,
    2,
    3,
    5,
    30,
    60,
    500,
    1441,
    2**31,
    10**9,
    -(2**70),
    0.5,
    0.99,
    -0.0,
    1e-9,
    1e300,
    math.nan,
    math.inf,
    -math.inf,
    "",
    " ",
    "x" * 201,
    "07:00",
    "08:00",
    "23:59",
    "00:00",
    "24:00",
    "25:99",
    "noon",
    "%Q",
    "EPSG:99999",
    "EPSG:4326",
    "auto",
    "red",
    "car",
    "foot",
    "ebike",
    "day",
    "night",
    "centre",
    "HQ",
    "max",
    "mean",
    "nope",
    "quartic",
    "lscp",
    "greedy",
    "cut_cover",
    "A3",
    "2026-02-01",
    "2027-01-01",
    "2026-13-45",
    "../../../etc/passwd",
    "\x00",
    "${HOME}",
    "!!python/object",
    [],
    {},
    [[]],
    [{}],
    ["day"],
    ["night", "day"],
    ["day", "day"],
    ["mon", "mon"],
    [True],
    [0, 1],
    {"name": "w", "start": "07:00", "end": "07:01"},
    {"x": 1},
]


def _near(value: Any, rng: Any) -> Any:
    """A value of the same kind as ``value`` that may well validate: another small number,
    another time of day, day or name, a list with an item dropped, repeated or reordered."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return rng.choice([0, 1, 2, 3, value + 1, value * 2])
    if isinstance(value, float):
        return rng.choice([0.0, 1.0, value / 2, value * 2, 1e-3])
    if isinstance(value, str) and value[:2].isdigit() and ":" in value:
        return rng.choice(["00:00", "07:30", "08:00", "12:00", "16:00", "23:59", "24:00"])
    if isinstance(value, str) and value in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        return rng.choice(["mon", "sun", "fri"])
    if isinstance(value, str) and value[:4].isdigit():
        return rng.choice(["2026-01-01", "2026-03-01", "2026-05-01", "2027-01-01"])
    if isinstance(value, str):
        return rng.choice(TINY_NAMES)
    if isinstance(value, list) and value:
        i = rng.randrange(len(value))
        return rng.choice([value[:i] + value[i + 1 :], value + [value[i]], value[::-1]])
    return rng.choice(TINY_VALUES)


def _tiny_mutations(n: int = 20, seed: int = 13) -> list[list[tuple]]:
    """``n`` fixed mutation lists, each starting at a leaf no other list starts with (so the
    runs cover different fields); every third one is hostile (one or two leaves set to
    anything), the rest change one or two leaves to a value of their own kind or drop them."""
    import random

    rng = random.Random(seed)
    out = []
    for k, first in enumerate(rng.sample(TINY_LEAVES, n)):
        paths = [first] + ([rng.choice(TINY_LEAVES)] if rng.random() < 0.4 else [])
        changes = []
        for path in paths:
            if k % 3 == 0:
                changes.append((path, rng.choice(["replace", "replace", "replace", "add", "delete"]), rng.choice(TINY_VALUES)))
            else:  # down to a scalar (or a list of scalars) under the chosen leaf
                node: Any = TINY
                for part in path:
                    node = node[part]
                while isinstance(node, dict) or (isinstance(node, list) and node and isinstance(node[0], dict)):
                    part = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
                    path, node = (*path, part), node[part]
                changes.append((path, "delete" if rng.random() < 0.2 else "replace", _near(node, rng)))
        out.append(changes)
    return out


TINY_MUTATIONS = _tiny_mutations()
SCENARIO_KEYS = frozenset(Scenario.model_fields)
# Scenario fields that name something in the data, so only a run can check them (validate
# reads no data files): a team's base is a station of the stations layer, the split and the
# rolling folds must fit the incidents' dates, lscp districts are rows of the districts layer.
DATA_FIELDS = frozenset({"patrol.teams.base", "evaluation.split", "evaluation.rolling", "cameras.lscp_districts"})


@pytest.fixture(scope="module")
def tiny_inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``data/``: a 6 × 6 grid (GraphML), 200 incidents, one station, one district."""
    import geopandas as gpd
    import shapely

    from ._grid_city import write_grid_and_incidents

    folder = tmp_path_factory.mktemp("adv-runs")
    net = write_grid_and_incidents(folder / "data", block_m=BLOCK_M, n_incidents=200)
    x0, y0 = net.nodes.x.min(), net.nodes.y.min()

    def save(gdf: gpd.GeoDataFrame, name: str) -> None:
        gdf.set_crs(net.crs).to_crs("EPSG:4326").to_file(folder / "data" / name, driver="GeoJSON")

    save(gpd.GeoDataFrame({"name": ["HQ"]}, geometry=[shapely.Point(x0 + 2.5 * BLOCK_M, y0 + 2.5 * BLOCK_M)]), "stations.geojson")
    save(
        gpd.GeoDataFrame(
            {"name": ["centre"], "priority": [2.0]},
            geometry=[shapely.box(x0 + BLOCK_M, y0 + BLOCK_M, x0 + 4 * BLOCK_M, y0 + 4 * BLOCK_M)],
        ),
        "districts.geojson",
    )
    return folder


def _is_scenario_only(err: GeoEngineError, scenario_file: Path) -> bool:
    """The error is about settings alone (validate could have known): a scenario or settings
    error whose every problem names a scenario field (not one checked against the data) and
    no file other than the scenario."""
    if not isinstance(err, (ScenarioError, InfeasibleSettingsError)) or not err.problems:
        return False
    for p in err.problems:
        if p.file is not None and Path(p.file).resolve() != scenario_file.resolve():
            return False
        field = re.sub(r"\[\d+\]|\.\d+(?=\.|$)", "", p.field or "")
        if field.split(".")[0] not in SCENARIO_KEYS or any(field.startswith(d) for d in DATA_FIELDS):
            return False
    return True


@pytest.mark.slow
def test_runs_of_a_mutated_tiny_scenario_are_ok_or_a_user_error(tiny_inputs, monkeypatch):
    runner = CliRunner()
    raised: list[BaseException] = []
    real_run = pipeline.run

    def spy(*args, **kwargs):  # what the CLI's run raised, seen on its way to the CLI's handler
        try:
            return real_run(*args, **kwargs)
        except BaseException as err:
            raised.append(err)
            raise

    monkeypatch.setattr(pipeline, "run", spy)
    internal: list[tuple] = []  # run or validate exited 1 or printed a traceback
    laxer: list[tuple] = []  # validate said ok, run failed on the scenario alone
    disagree: list[tuple] = []  # validate refused, run did not
    seen: list[tuple[list, int, int]] = []

    for changes in TINY_MUTATIONS:
        data = copy.deepcopy(TINY)
        for path, how, value in changes:
            _apply(data, path, how, value)
        folder = Path(tempfile.mkdtemp(prefix="ex-", dir=tiny_inputs))
        file = folder / "s.yaml"
        file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        val = runner.invoke(app, ["validate", str(file)])
        raised.clear()
        res = runner.invoke(app, ["run", str(file), "--out", str(folder / "out"), "--quiet"])
        seen.append((changes, val.exit_code, res.exit_code))
        for what, r in (("validate", val), ("run", res)):
            if r.exit_code not in (0, 2) or "Traceback" in r.output or "internal error" in r.output:
                internal.append((what, changes, r.exit_code, r.output[-1500:]))
        if val.exit_code == 0 and res.exit_code == 2:
            err = next((e for e in raised if isinstance(e, GeoEngineError)), None)
            if err is not None and _is_scenario_only(err, file):
                laxer.append((changes, [str(p) for p in err.problems]))
        if val.exit_code == 2 and res.exit_code == 0:
            disagree.append((changes, val.output[-500:]))

    assert not internal, internal
    assert not laxer, f"validate accepted, run refused on scenario settings alone: {laxer}"
    assert not disagree, f"validate refused, run accepted: {disagree}"
    assert any(r == 0 for _, _, r in seen), f"no mutated scenario ran through: {seen}"


def test_the_unmutated_tiny_scenario_validates(tiny_inputs):
    folder = tiny_inputs / "base"
    folder.mkdir()
    (folder / "s.yaml").write_text(yaml.safe_dump(TINY), encoding="utf-8")
    res = CliRunner().invoke(app, ["validate", str(folder / "s.yaml")])
    assert res.exit_code == 0, res.output


def test_validate_refuses_patrols_without_incidents(tiny_inputs):
    data = copy.deepcopy(TINY)
    del data["layers"]["incidents"]
    folder = tiny_inputs / "no-incidents"
    folder.mkdir()
    (folder / "s.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    res = CliRunner().invoke(app, ["validate", str(folder / "s.yaml")])
    assert res.exit_code == 2 and "incidents" in res.output, res.output
