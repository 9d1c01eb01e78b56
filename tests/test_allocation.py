"""Force allocation (动态布警) on small hand-built instances whose answers can be checked by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from geoengine.coverage.stop import MaxRuntime
from geoengine.errors import GeoEngineError, InfeasibleSettingsError, ScenarioError
from geoengine.patrol.allocation import Allocation, allocate_force


def _units(rows: list[tuple[str, str, str, float, bool]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["unit", "kind", "window", "risk", "key"])


def _teams(rows: list[tuple[str, str, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["team_type", "window", "available"])


def _totals(result: Allocation, window: str) -> dict[str, int]:
    return result.pivot()[window].to_dict()


@pytest.fixture(scope="module")
def three_beats() -> pd.DataFrame:
    """Three beats with risks 1 : 1 : 2 in one window."""
    return _units([("a", "beat", "day", 1.0, False), ("b", "beat", "day", 1.0, False), ("c", "beat", "day", 2.0, False)])


def test_proportional_split(three_beats: pd.DataFrame) -> None:
    result = allocate_force(three_beats, _teams([("car", "day", 4)]))
    assert _totals(result, "day") == {"a": 1, "b": 1, "c": 2}
    assert result.status == "optimal"
    assert result.deviation == pytest.approx(0.0)
    assert result.deployed == result.capacity == 4
    row = result.table.set_index("unit").loc["c"]
    assert row["risk_share"] == pytest.approx(0.5)
    assert row["target"] == pytest.approx(2.0)


def test_split_across_types_and_windows() -> None:
    units = _units(
        [
            ("a", "beat", "day", 1.0, False),
            ("b", "beat", "day", 3.0, False),
            ("a", "beat", "night", 3.0, False),
            ("b", "beat", "night", 1.0, False),
        ]
    )
    teams = _teams([("car", "day", 2), ("foot", "day", 2), ("car", "night", 4)])
    result = allocate_force(units, teams)
    assert _totals(result, "day") == {"a": 1, "b": 3}
    assert _totals(result, "night") == {"a": 3, "b": 1}
    # per-type capacity is respected
    per_type = result.table.groupby(["window", "team_type"])["teams"].sum()
    assert per_type[("day", "car")] <= 2 and per_type[("day", "foot")] <= 2
    # the target column sums over types to the unit-window target
    targets = result.table.groupby(["unit", "window"])["target"].sum()
    assert targets[("b", "day")] == pytest.approx(3.0)


def test_shift_units_multiply_capacity_but_not_per_unit() -> None:
    units = _units([("a", "beat", "day", 1.0, False), ("b", "beat", "day", 1.0, False), ("c", "beat", "day", 2.0, False)])
    teams = _teams([("car", "day", 2)]).assign(shift_units=2)
    result = allocate_force(units, teams)
    totals = _totals(result, "day")
    assert sum(totals.values()) == 4  # 2 teams × 2 units each
    assert max(totals.values()) <= 2  # one team is not counted twice in one unit
    assert totals == {"a": 1, "b": 1, "c": 2}


def test_all_teams_deployed_even_when_targets_are_fractional(three_beats: pd.DataFrame) -> None:
    equal = three_beats.assign(risk=1.0)
    result = allocate_force(equal, _teams([("car", "day", 4)]))
    assert sorted(_totals(result, "day").values()) == [1, 1, 2]
    assert result.deployed == 4


def test_floor_forces_a_team_into_a_low_risk_key_district() -> None:
    units = _units(
        [
            ("hot", "beat", "day", 10.0, False),
            ("warm", "beat", "day", 8.0, False),
            ("quiet", "district", "day", 0.1, True),
        ]
    )
    teams = _teams([("car", "day", 3)])
    without = allocate_force(units.assign(key=False), teams)
    assert _totals(without, "day")["quiet"] == 0
    result = allocate_force(units, teams)
    totals = _totals(result, "day")
    assert totals["quiet"] == 1
    assert totals["hot"] + totals["warm"] == 2
    assert result.table.set_index("unit").loc["quiet", "floor"] == 1


def test_shortfall_raises_with_every_short_window() -> None:
    units = _units(
        [
            ("d1", "district", "day", 1.0, True),
            ("d2", "district", "day", 1.0, True),
            ("d1", "district", "night", 1.0, True),
            ("d2", "district", "night", 1.0, True),
            ("d1", "district", "dawn", 1.0, True),
        ]
    )
    teams = _teams([("car", "day", 1), ("car", "night", 0), ("car", "dawn", 5)])
    with pytest.raises(InfeasibleSettingsError) as info:
        allocate_force(units, teams, min_per_key_unit=2)
    err = info.value
    assert isinstance(err, ValueError) and isinstance(err, GeoEngineError)
    assert [p.field for p in err.problems] == ["patrol.teams", "patrol.teams"]
    text = str(err)
    assert "'day'" in text and "short by 3" in text  # needs 4, has 1
    assert "'night'" in text and "short by 4" in text  # needs 4, has 0
    assert "'dawn'" not in text


def test_shortfall_counts_only_types_allowed_in_the_key_unit() -> None:
    units = _units([("d1", "district", "day", 1.0, True), ("b1", "beat", "day", 1.0, False)])
    teams = _teams([("foot", "day", 5)])
    with pytest.raises(InfeasibleSettingsError, match="short by 1"):
        allocate_force(units, teams, allowed={"foot": {"beat"}})


def test_cap_below_floor_is_reported() -> None:
    units = _units([("d1", "district", "day", 1.0, True)])
    with pytest.raises(InfeasibleSettingsError) as info:
        allocate_force(units, _teams([("car", "day", 5)]), min_per_key_unit=2, max_per_unit=1)
    assert info.value.problems[0].field == "patrol.max_per_unit"


def test_caps_respected(three_beats: pd.DataFrame) -> None:
    hot = three_beats.assign(risk=[1.0, 1.0, 20.0])
    result = allocate_force(hot, _teams([("car", "day", 6)]), max_per_unit=3)
    totals = _totals(result, "day")
    assert max(totals.values()) <= 3
    assert totals["c"] == 3
    assert sum(totals.values()) == 6  # the rest still goes out


def test_allowed_types_respected() -> None:
    units = _units(
        [
            ("d1", "district", "day", 10.0, True),
            ("b1", "beat", "day", 1.0, False),
            ("b2", "beat", "day", 1.0, False),
        ]
    )
    teams = _teams([("foot", "day", 4), ("car", "day", 2)])
    result = allocate_force(units, teams, allowed={"foot": {"beat"}})
    t = result.table
    foot_in_districts = t[(t["team_type"] == "foot") & (t["kind"] == "district")]
    assert foot_in_districts["teams"].sum() == 0
    assert not foot_in_districts["allowed"].any()
    # the district is the riskiest and takes both cars; foot teams go to the beats
    assert _totals(result, "day")["d1"] == 2
    assert t[t["team_type"] == "foot"]["teams"].sum() == 4


def test_tie_break_prefers_higher_risk_units() -> None:
    # Cars may only serve the district, foot teams only beats. With 3 foot teams for two beats
    # whose targets are both below 1, (1, 2) and (2, 1) are equally far from the targets; the
    # tie-break puts the extra team in the riskier beat.
    units = _units(
        [
            ("d1", "district", "day", 10.0, False),
            ("b1", "beat", "day", 1.0, False),
            ("b2", "beat", "day", 2.0, False),
        ]
    )
    teams = _teams([("car", "day", 1), ("foot", "day", 3)])
    result = allocate_force(units, teams, allowed={"car": {"district"}, "foot": {"beat"}})
    assert _totals(result, "day") == {"d1": 1, "b1": 1, "b2": 2}


@pytest.mark.parametrize("order", [["b2", "b1"], ["b1", "b2"]])
def test_tie_break_on_targets_that_round_equal(order: list[str]) -> None:
    # Risks 1.002 and 1: both targets round to 0.500 teams, so one car is equally close to
    # either; it goes to the (slightly) riskier beat whatever the input order.
    risk = {"b1": 1.0, "b2": 1.002}
    units = _units([(u, "beat", "day", risk[u], False) for u in order])
    result = allocate_force(units, _teams([("car", "day", 1)]))
    assert _totals(result, "day") == {"b1": 0, "b2": 1}


def test_checkpoints_highest_scores_staffed_up_to_crews(three_beats: pd.DataFrame) -> None:
    checkpoints = pd.DataFrame(
        {
            "checkpoint": ["p1", "p2", "p3", "p4", "p1", "p2", "p3"],
            "window": ["day"] * 4 + ["night"] * 3,
            "score": [5.0, 9.0, 1.0, 7.0, 2.0, 3.0, 4.0],
        }
    )
    crews = pd.DataFrame({"window": ["day", "night"], "available": [2, 1]})
    result = allocate_force(three_beats, _teams([("car", "day", 4)]), checkpoints=checkpoints, crews=crews)
    staffed = result.checkpoints[result.checkpoints["staffed"]]
    assert set(staffed[staffed["window"] == "day"]["checkpoint"]) == {"p2", "p4"}
    assert set(staffed[staffed["window"] == "night"]["checkpoint"]) == {"p3"}
    assert len(result.checkpoints) == 7
    # the main allocation is unaffected by the checkpoints
    assert _totals(result, "day") == {"a": 1, "b": 1, "c": 2}


def test_checkpoints_without_crews_in_a_window_stay_unstaffed(three_beats: pd.DataFrame) -> None:
    checkpoints = pd.DataFrame({"checkpoint": ["p1", "p2"], "window": ["day", "night"], "score": [1.0, 1.0]})
    crews = pd.DataFrame({"window": ["day"], "available": [5]})
    result = allocate_force(three_beats, _teams([("car", "day", 4)]), checkpoints=checkpoints, crews=crews)
    assert result.checkpoints.set_index("window")["staffed"].to_dict() == {"day": True, "night": False}


def test_status_objective_bound_gap_reported(three_beats: pd.DataFrame) -> None:
    result = allocate_force(three_beats, _teams([("car", "day", 4)]), stop=MaxRuntime(5), seed=3)
    assert result.status in {"optimal", "feasible"}
    assert isinstance(result.objective, float) and result.objective >= 0
    assert result.bound is not None and result.bound <= result.objective + 1e-9
    assert result.gap is not None and 0.0 <= result.gap <= 1.0
    assert result.solve_s >= 0.0
    assert result.seed == 3
    text = result.summary()
    for word in ("status", "objective", "bound", "gap", "solve_s", "teams deployed"):
        assert word in text


def test_deterministic_for_a_seed() -> None:
    # Many equal-risk beats and several types: plenty of equally good answers to choose from.
    units = _units([(f"b{i}", "beat", w, 1.0 + (i % 3), i % 4 == 0) for w in ("day", "night") for i in range(12)])
    teams = _teams([(t, w, n) for w in ("day", "night") for t, n in (("car", 5), ("foot", 7), ("ebike", 4))])
    runs = [allocate_force(units, teams, seed=7, workers=1) for _ in range(3)]
    for other in runs[1:]:
        pd.testing.assert_frame_equal(runs[0].table, other.table)
        assert other.objective == runs[0].objective


def test_pivot_shape_and_order() -> None:
    units = _units([("z", "beat", "night", 1.0, False), ("a", "beat", "night", 1.0, False), ("z", "beat", "day", 1.0, False)])
    result = allocate_force(units, _teams([("car", "night", 2), ("car", "day", 1)]))
    pivot = result.pivot()
    assert list(pivot.columns) == ["night", "day"]
    assert list(pivot.index) == ["z", "a"]
    assert pivot.loc["a", "day"] == 0  # 'a' has no row in 'day'
    assert pivot.loc["z", "day"] == 1


def test_invalid_inputs_collected() -> None:
    units = pd.DataFrame(
        {"unit": ["a", "a"], "kind": ["beat", "zone"], "window": ["day", "day"], "risk": [-1.0, 1.0], "key": ["no", True]}
    )
    teams = pd.DataFrame({"team_type": ["car"], "window": ["day"], "available": [1.5]})
    with pytest.raises(ScenarioError) as info:
        allocate_force(units, teams, allowed={"foot": {"districts"}}, workers=0)
    fields = {p.field for p in info.value.problems}
    expected = {"patrol.units.risk", "patrol.units", "patrol.units.kind", "patrol.units.key", "patrol.teams.available"}
    assert expected | {"patrol.allowed", "patrol.workers"} <= fields


def test_window_without_teams_keeps_its_units() -> None:
    units = _units([("a", "beat", "day", 1.0, False), ("b", "district", "night", 1.0, False)])
    result = allocate_force(units, _teams([("car", "day", 2), ("foot", "evening", 3)]))
    pivot = result.pivot()
    assert pivot.loc["b", "night"] == 0 and pivot.loc["a", "day"] == 2
    assert result.capacity == 2  # the evening teams have no units to serve
    with pytest.raises(InfeasibleSettingsError, match="'night'"):
        allocate_force(units.assign(key=True), _teams([("car", "day", 2)]))


def test_medium_instance_is_proven_optimal_quickly() -> None:
    # 2 windows × 150 units × 4 team types; the chord cut makes the LP integral, so CP-SAT
    # proves optimality at the root rather than branching on every unit.
    risks = [0.5 + (i * 37 % 11) for i in range(150)]
    units = _units(
        [
            (f"u{i}", "district" if i % 10 == 0 else "beat", w, r, i % 10 == 0)
            for w in ("day", "night")
            for i, r in enumerate(risks)
        ]
    )
    teams = pd.DataFrame(
        [
            (t, w, n, s)
            for w in ("day", "night")
            for t, n, s in (("car", 30, 2), ("foot", 40, 1), ("ebike", 20, 2), ("volunteer", 25, 1))
        ],
        columns=["team_type", "window", "available", "shift_units"],
    )
    result = allocate_force(units, teams, max_per_unit=4, allowed={"volunteer": {"district"}}, stop=MaxRuntime(30))
    assert result.status == "optimal" and result.gap == 0.0  # proven, not cut by the cap (speed: bench/)
    assert result.deployed == result.capacity
    assert result.pivot().max().max() <= 4


def test_several_workers(three_beats: pd.DataFrame) -> None:
    result = allocate_force(three_beats, _teams([("car", "day", 4)]), workers=4)
    assert _totals(result, "day") == {"a": 1, "b": 1, "c": 2}
    assert result.status == "optimal"
