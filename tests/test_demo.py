"""The embedded demo: committed layers match the documented model and command."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from geoengine.demo import (
    DEMO_CATEGORIES,
    commercial_districts,
    demo_scenario,
    demo_scenario_text,
    helsinki_pbf,
    synthetic_incidents,
    write_demo_layers,
)
from geoengine.network import RoadNetwork, network_from_pbf

REPO = Path(__file__).resolve().parents[1]
LAYERS = REPO / "layers"


@pytest.fixture(scope="module")
def helsinki() -> RoadNetwork:
    return network_from_pbf(helsinki_pbf())


@pytest.fixture(scope="module")
def incidents() -> pd.DataFrame:
    return pd.read_csv(LAYERS / "helsinki_incidents_synthetic.csv", dtype={"time": str})


def test_committed_layers_are_what_the_documented_command_writes(tmp_path, helsinki):
    paths = write_demo_layers(tmp_path, network=helsinki)
    for kind, path in paths.items():
        committed = LAYERS / path.name
        if path.suffix == ".csv":
            assert path.read_bytes() == committed.read_bytes(), f"regenerate: geoengine demo --write-layers layers/ ({kind})"
        else:
            assert json.loads(path.read_text()) == json.loads(committed.read_text()), kind


def test_committed_scenario_is_the_template():
    assert (REPO / "scenarios" / "demo.yaml").read_text() == demo_scenario_text(layers="../layers", runs="../runs")


def test_incident_history_is_large_long_and_labelled_synthetic(incidents):
    assert len(incidents) >= 2000
    dates = pd.to_datetime(incidents["date"])
    assert (dates.max() - dates.min()).days + 1 >= 90
    assert (incidents["synthetic"] == "yes").all()
    date_only = incidents["time"].isna().mean()
    assert 0.05 < date_only < 0.15, "about 10 % of records keep only their date"


def test_incidents_follow_the_time_profiles(incidents):
    timed = incidents.dropna(subset=["time"])
    hour = timed["time"].str.slice(0, 2).astype(int)
    night = hour.isin([22, 23, 0, 1, 2, 3])
    afternoon = hour.between(12, 19)
    assault = timed["category"] == "assault"
    theft = timed["category"] == "theft"
    assert night[assault].mean() > 0.5 > night[theft].mean()
    assert afternoon[theft].mean() > 0.5 > afternoon[assault].mean()
    dow = pd.to_datetime(timed["date"]).dt.day_of_week
    weekend = dow.isin([4, 5])  # Friday, Saturday
    assert weekend[assault].mean() > weekend[theft].mean()


def test_incidents_cluster_in_commercial_districts(incidents, helsinki):
    districts = gpd.read_file(LAYERS / "helsinki_districts.geojson").to_crs(helsinki.crs)
    pts = gpd.GeoSeries(gpd.points_from_xy(incidents.lon, incidents.lat), crs="EPSG:4326").to_crs(helsinki.crs)
    inside = pts.within(districts.union_all())
    segs = helsinki.segments()
    street_share_inside = segs.clip(districts.union_all()).length.sum() / segs.length.sum()
    assert inside.mean() > 1.5 * street_share_inside, "more incidents per street metre inside districts"


def test_seed_controls_the_history(helsinki):
    a = synthetic_incidents(helsinki, n_incidents=300, seed=1)
    b = synthetic_incidents(helsinki, n_incidents=300, seed=1)
    c = synthetic_incidents(helsinki, n_incidents=300, seed=2)
    pd.testing.assert_frame_equal(pd.DataFrame(a.drop(columns="geometry")), pd.DataFrame(b.drop(columns="geometry")))
    assert not a[["lon", "lat"]].equals(c[["lon", "lat"]])
    assert set(a["category"]) <= {c.name for c in DEMO_CATEGORIES}


def test_districts_are_named_after_their_main_street(helsinki):
    d = commercial_districts(helsinki)
    assert len(d) >= 3
    assert d.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    named = d["name"].str.endswith("commercial district")
    assert named.all()
    street_names = set(helsinki.segments()["name"].dropna())
    assert all(n.removesuffix(" commercial district") in street_names for n in d["name"])
    assert d["priority"].between(1, 2).all()


def test_demo_scenario_outside_a_checkout_generates_its_layers(tmp_path, helsinki):
    path = demo_scenario(work_dir=tmp_path / "demo")
    assert path.read_text() == demo_scenario_text(layers="layers", runs="runs")
    assert sorted(p.name for p in (tmp_path / "demo" / "layers").iterdir()) == sorted(p.name for p in LAYERS.glob("helsinki_*"))
