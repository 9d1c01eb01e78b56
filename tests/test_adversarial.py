"""Scenarios from the adversary's side (issue 13): the demo mutated at every leaf.

Each example takes ``scenarios/demo.yaml`` as data, replaces one to three of its leaves (or
adds a key next to one) with a wrong type, an out-of-range number, an empty or huge
string, an unknown name where another field is referenced, or a whole odd structure, writes
it to a temporary file and runs ``geoengine validate`` on it through typer's CliRunner. The
command must exit 0 (valid) or 2 (the user's mistake, one line per problem), never 1 (an
internal error) and never print a traceback.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from geoengine.cli import app

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
    st.sampled_from(["", " ", "x" * 201, "x" * 100_000, "07:00", "24:00", "25:99", "noon", "%Q", "%d/%m/%Y",
                     "EPSG:99999", "EPSG:4326", "EPSG:32635", "auto", "red", "never", "always", "2026-09-01",
                     "2026-13-45", "package://nope/x", "../../../etc/passwd", "\x00", "${HOME}", "!!python/object"]),
    st.sampled_from(NAMES),
)  # fmt: skip
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
