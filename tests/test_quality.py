"""Incident data quality (geoengine.quality) and harm tables (geoengine.harm): each rule on a
hand-built table with a known answer, and the SF Chinatown station stack on the real file."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geoengine.harm import harm_table, incident_harm, load_harm_table
from geoengine.quality import check_incidents
from geoengine.risk import estimate_risk
from geoengine.scenario import DEFAULT_HARM, RiskSettings, parse_scenario
from geoengine.synthetic import grid_network

from .conftest import SHARED

CRS = "EPSG:32633"
X0, Y0 = 500_000.0, 6_600_000.0
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def grid():
    """An 8 × 8 grid of 100 m blocks."""
    return grid_network(8, crs=CRS, origin=(X0, Y0))


def table(xy, times=None, categories=None, precision="datetime", description=None) -> gpd.GeoDataFrame:
    n = len(xy)
    data = {
        "time": pd.to_datetime(
            times if times is not None else [f"2026-01-{1 + i % 28:02d} {i % 24:02d}:30" for i in range(n)], format="ISO8601"
        ),
        "time_precision": [precision] * n if isinstance(precision, str) else precision,
        "category": categories if categories is not None else ["theft"] * n,
        "weight": 1.0,
    }
    if description is not None:
        data["description"] = description
    return gpd.GeoDataFrame(data, geometry=[shapely.Point(x, y) for x, y in xy], crs=CRS)


STACK = (X0 + 375.0, Y0 + 200.0)  # on the street y = 200, away from the other points


def stacked_table(stack_categories=None, stack_n=30):
    """``stack_n`` incidents at STACK, and 35 other points with 2 incidents each (median 2)."""
    others = [(X0 + 50 + 100 * (i % 7), Y0 + 100 * (i // 7)) for i in range(35)]  # 35 distinct points
    xy = [STACK] * stack_n + [p for p in others for _ in range(2)]
    cats = (stack_categories or ["theft"] * stack_n) + ["theft"] * 70
    return table(xy, categories=cats)


STATION = gpd.GeoDataFrame({"name": ["Test Station (1 Main St)"]}, geometry=[shapely.Point(STACK[0] + 12, STACK[1])], crs=CRS)


# --------------------------------------------------------------------------- stacked coordinates
def test_a_30_incident_stack_at_a_station_is_downweighted_to_the_median(grid):
    inc = stacked_table()
    q = check_incidents(inc, settings=RiskSettings(), network=grid, stations=STATION)
    assert len(q.stacks) == 1
    s = q.stacks[0]
    assert (s.incidents, s.kind, s.station) == (30, "station", "Test Station (1 Main St)")
    assert s.distance_m == pytest.approx(12.0)
    assert q.median_per_point == 2.0
    # each stacked incident weighs 2 / 30: the point counts as the median point (2)
    assert s.weight == pytest.approx(2 / 30) and s.counts_as == pytest.approx(2.0)
    assert q.weight[:30] == pytest.approx(np.full(30, 2 / 30)) and (q.weight[30:] == 1).all()
    msg = next(w for w in q.warnings if "30 incidents at one point" in w)
    assert "12 m from Test Station (1 Main St)" in msg and "downweighted to count as 2" in msg
    assert "station's address" in msg
    m = q.metrics()
    json.dumps(m)
    assert m["stacked"]["points"][0]["counts_as"] == 2.0 and m["stacked"]["incidents"] == 30


def test_stack_handling_drop_and_keep(grid):
    inc = stacked_table()
    drop = check_incidents(inc, settings=RiskSettings(stacked="drop"), network=grid, stations=STATION)
    keep = check_incidents(inc, settings=RiskSettings(stacked="keep"), network=grid, stations=STATION)
    assert (drop.weight[:30] == 0).all() and (drop.weight[30:] == 1).all()
    assert (keep.weight == 1).all() and keep.stacks[0].kind == "station"
    assert any("dropped" in w for w in drop.warnings) and any("kept at full weight" in w for w in keep.warnings)


def test_the_stack_counts_as_the_median_in_the_risk_surface(grid):
    settings = RiskSettings(bandwidth_m=100, half_life_days=None, own_segment_share=1.0)
    down = estimate_risk(grid, stacked_table(), settings=settings, stations=STATION)
    # the same table with the stack replaced by two incidents (the median point), kept
    inc = stacked_table()
    two = pd.concat([inc.iloc[:2], inc.iloc[30:]], ignore_index=True)
    ref = estimate_risk(grid, gpd.GeoDataFrame(two, crs=CRS), settings=settings.model_copy(update={"stacked": "keep"}))
    seg = int(grid.snap(gpd.GeoSeries([shapely.Point(*STACK)], crs=CRS))["segment_id"].iloc[0])
    a = down.overall.set_index("segment_id").loc[seg, "crime_per_km"]
    b = ref.overall.set_index("segment_id").loc[seg, "crime_per_km"]
    assert a == pytest.approx(b, rel=1e-9)
    assert down.quality is not None and down.quality.stacks[0].station == "Test Station (1 Main St)"
    assert any("30 incidents at one point" in w for w in down.warnings)


def test_held_out_incidents_at_the_stack_or_non_crime_do_not_score(grid):
    """The backtest scores what the surface predicts: held-out incidents at the station's address (where
    they happened is unknown) and non-crime records are set aside, and the baselines do not count them."""
    from geoengine.risk import evaluate_risk

    settings = RiskSettings(bandwidth_m=100, half_life_days=None, own_segment_share=1.0)
    surface = estimate_risk(grid, stacked_table(), settings=settings, stations=STATION)
    others = [(X0 + 50 + 100 * (i % 7), Y0 + 100 * (i // 7)) for i in range(5)]
    held = table(
        [STACK] * 20 + others + others[:2],
        categories=["theft"] * 25 + ["MISSING PERSON"] * 2,
        times=[f"2026-02-{1 + i % 28:02d} 10:00" for i in range(27)],
    )
    ev = evaluate_risk(surface, held, history=stacked_table())
    assert (ev.heldout_given, ev.heldout_incidents) == (27, 5)
    assert ev.excluded == {"non_crime": 2, "stacked": 20}
    # history's stack does not count for the counts baseline: the stack's segment is not the top one
    raw = evaluate_risk(surface, held, history=stacked_table(), clean=False)
    assert raw.heldout_incidents == 27 and raw.pai(0.05, method="counts") > ev.pai(0.05, method="counts")
    assert ev.metrics()["scored"]["not_scored"] == {"non_crime": 2, "stacked": 20}
    # harm PAI exists beside count PAI for every method
    assert ev.pai(0.05, harm=True) is not None and ev.pei(0.05, method="baseline", harm=True) is not None


def test_count_weighting_gives_every_crime_incident_weight_one(grid):
    inc = table([(X0 + 50, Y0), (X0 + 50, Y0), (X0 + 450, Y0 + 300)], categories=["robbery", "robbery", "MISSING PERSON"])
    base = RiskSettings(bandwidth_m=100, half_life_days=None, own_segment_share=1.0, extent="none")
    harm = estimate_risk(grid, inc, settings=base)
    count = estimate_risk(grid, inc, settings=base.model_copy(update={"weighting": "count"}))

    def total(surface):  # weighted incidents over the whole network
        length = surface.segments.loc[surface.overall["segment_id"], "length_m"].to_numpy()
        return float((surface.overall["crime_per_km"].to_numpy() * length / 1000).sum())

    assert total(count) == pytest.approx(2.0)  # two robberies, the missing person weighs 0
    assert total(harm) > total(count)  # robbery's harm weight is above 1


def test_a_stack_needs_both_the_count_and_the_share(grid):
    # 9 at one point (below 10): not a stack, even as 9 % of the incidents
    few = stacked_table(stack_n=9)
    assert check_incidents(few, network=grid).stacks == ()
    # 12 at one point among 1,000 incidents (1.2 % < 2 %): not a stack; with share 0 it is
    rng = np.random.default_rng(1)
    xy = [STACK] * 12 + [(X0 + float(x), Y0 + 100.0 * int(y)) for x, y in zip(rng.uniform(0, 700, 988), rng.integers(0, 8, 988))]
    big = table(xy)
    assert check_incidents(big, network=grid).stacks == ()
    assert len(check_incidents(big, settings=RiskSettings(stack_min_share=0), network=grid).stacks) == 1


def test_stack_places_district_centroid_geocoder_default_and_one_place(grid):
    district = gpd.GeoDataFrame({"name": ["North"]}, geometry=[shapely.Point(*STACK).buffer(80)], crs=CRS)
    q = check_incidents(stacked_table(), network=grid, districts=district)
    assert q.stacks[0].kind == "district centroid" and "centroid of district North" in q.stacks[0].place
    assert q.weight[0] == pytest.approx(2 / 30)
    # many categories at one point, nowhere known: a geocoder default (downweighted)
    many = stacked_table(stack_categories=[f"cat {i % 6}" for i in range(30)])
    q = check_incidents(many, network=grid)
    assert q.stacks[0].kind == "geocoder default" and q.weight[0] == pytest.approx(2 / 30)
    assert any("geocoder's default" in w for w in q.warnings)
    # one category at one point: possibly a real place (a shop): reported, kept
    q = check_incidents(stacked_table(), network=grid)
    assert q.stacks[0].kind == "one place" and (q.weight == 1).all()
    assert any("possibly a real place" in w for w in q.warnings)


def test_police_uk_map_points_are_reported_and_kept(grid):
    inc = stacked_table(stack_categories=[f"cat {i % 6}" for i in range(30)])
    inc["description"] = ["On or near Bride Lane"] * 30 + [f"On or near Street {i}" for i in range(70)]
    q = check_incidents(inc, network=grid)
    assert q.stacks[0].kind == "map point" and (q.weight == 1).all()
    assert any("anonymised map points" in w and "'On or near Bride Lane' (30)" in w for w in q.warnings)
    inc["description"] = ["On or near Police Station"] * 30 + [f"On or near Street {i}" for i in range(70)]
    q = check_incidents(inc, network=grid)
    assert q.stacks[0].kind == "station" and q.weight[0] == pytest.approx(2 / 30)


# --------------------------------------------------------------------------- other rules
def test_exact_duplicates_are_counted_for_timed_incidents_only(grid):
    xy = [(X0 + 50, Y0)] * 3 + [(X0 + 150, Y0)] * 2 + [(X0 + 250, Y0)] * 2
    times = ["2026-01-01 10:00"] * 3 + ["2026-01-02"] * 2 + ["2026-01-03 10:00", "2026-01-03 10:05"]
    prec = ["datetime"] * 3 + ["date"] * 2 + ["datetime"] * 2
    q = check_incidents(table(xy, times=times, precision=prec), network=grid)
    assert q.duplicates == 2  # the 2nd and 3rd of the first point; dates alone and other minutes are not
    assert q.metrics()["duplicates"] == {"count": 2, "share": round(2 / 7, 4)}
    assert any("2 incidents" in w and "repeat another incident" in w for w in q.warnings)


def test_share_far_from_streets(grid):
    xy = [(X0 + 50, Y0 + 5)] * 3 + [(X0 + 350, Y0 - 400)]  # 400 m south of the grid's first street
    q = check_incidents(table(xy), network=grid)
    assert q.far_from_street == 1 and q.metrics()["far_from_street"]["share"] == 0.25
    assert any("1 incidents (25.0%) lie more than 150 m" in w for w in q.warnings)
    assert check_incidents(table(xy)).far_from_street is None  # no network: not measured


def test_dates_outside_the_stated_period_and_implausible_dates(grid):
    times = ["2026-01-05 10:00", "2026-02-28 23:59", "2026-03-01 00:00", "1900-01-01 00:00", "2099-01-01 12:00"]
    q = check_incidents(
        table([(X0 + 50, Y0)] * 5, times=times),
        network=grid,
        period=(dt.date(2026, 1, 1), dt.date(2026, 2, 28)),
        today=dt.date(2026, 6, 1),
    )
    assert q.outside_period == 3 and q.implausible_dates == 2
    assert q.metrics()["dates"] == {"period": ["2026-01-01", "2026-02-28"], "outside_period": 3, "implausible": 2}
    # in the risk stage, the stated end is risk.reference_date
    s = estimate_risk(
        grid,
        table([(X0 + 50, Y0)] * 2, times=["2026-01-05 10:00", "2026-02-10 10:00"]),
        settings=RiskSettings(reference_date=dt.date(2026, 2, 1)),
    )
    assert s.quality.outside_period == 1 and any("outside the stated period" in w for w in s.warnings)


def test_share_with_a_time_of_day_and_midnight_defaults(grid):
    n = 40
    times = ["2026-01-03 00:01"] * 12 + [f"2026-01-03 {10 + i % 10}:15" for i in range(20)] + ["2026-01-04"] * 8
    prec = ["datetime"] * 32 + ["date"] * 8
    q = check_incidents(table([(X0 + 50 + i, Y0) for i in range(n)], times=times, precision=prec), network=grid)
    assert q.timed_share == pytest.approx(32 / 40)
    assert q.default_time_share == pytest.approx(12 / 32)
    assert any("00:00 or 00:01" in w for w in q.warnings)


# --------------------------------------------------------------------------- harm tables
def test_default_table_is_todays_keyword_weights():
    t = harm_table("default")
    crimes = {t.labels[k]: w for k, (w, non_crime) in t.rows.items() if not non_crime}
    assert crimes == DEFAULT_HARM


def test_sfpd_severity_ordering_non_crime_and_unknown():
    cats = pd.Series(
        [
            "KIDNAPPING",
            "ROBBERY",
            "ASSAULT",
            "LARCENY/THEFT",
            "BURGLARY",
            "VEHICLE THEFT",
            "VANDALISM",
            "DRUNKENNESS",
            "MISSING PERSON",
            "WARRANTS",
            "RECOVERED VEHICLE",
            "NON-CRIMINAL",
            "ZZ NEW CODE",
            "WARRANTS",
        ]
    )
    r = incident_harm(cats, RiskSettings(harm="sfpd"))
    w = dict(zip(cats, r.weights))
    assert w["KIDNAPPING"] > w["ROBBERY"] >= w["ASSAULT"] > w["BURGLARY"] >= w["LARCENY/THEFT"] == w["VEHICLE THEFT"]
    assert w["LARCENY/THEFT"] > w["VANDALISM"] > w["DRUNKENNESS"] > 0
    assert w["MISSING PERSON"] == w["WARRANTS"] == w["RECOVERED VEHICLE"] == w["NON-CRIMINAL"] == 0
    assert r.non_crime == {"MISSING PERSON": 1, "WARRANTS": 2, "RECOVERED VEHICLE": 1, "NON-CRIMINAL": 1}
    assert w["ZZ NEW CODE"] == 1.0 and r.unknown == {"ZZ NEW CODE": 1}
    text = " ".join(r.warnings())
    assert "WARRANTS (2)" in text and "excluded from risk" in text and "ZZ NEW CODE (1)" in text
    counted = incident_harm(cats, RiskSettings(harm="sfpd", exclude_non_crime=False))
    assert dict(zip(cats, counted.weights))["WARRANTS"] == 0.5


def test_uk_types_as_names_or_api_slugs():
    cats = pd.Series(
        [
            "Violence and sexual offences",
            "violence-and-sexual-offences",
            "Robbery",
            "Burglary",
            "Theft from the person",
            "Shoplifting",
            "Anti-social behaviour",
            "anti-social-behaviour",
        ]
    )
    w = incident_harm(cats, RiskSettings(harm="uk")).weights
    assert w[0] == w[1] == w[2] == 3 and w[2] > w[3] > w[4] > w[5] > w[6] == w[7] > 0


def test_cn_categories_exact_and_by_containing():
    cats = pd.Series(
        ["抢劫", "抢夺", "飞车抢夺", "盗窃", "盗窃自行车", "入室盗窃", "故意伤害", "诈骗", "寻衅滋事", "走失", "其他"]
    )
    r = incident_harm(cats, RiskSettings(harm="cn"))
    w = dict(zip(cats, r.weights))
    assert w["抢劫"] == w["抢夺"] == w["飞车抢夺"] == w["故意伤害"] == 3
    assert w["入室盗窃"] > w["盗窃"] == w["盗窃自行车"] == 2 > w["诈骗"] == w["寻衅滋事"]
    assert w["走失"] == 0 and r.non_crime == {"走失": 1} and r.unknown == {"其他": 1}


def test_a_harm_table_file_and_category_weights_on_top(tmp_path):
    f = tmp_path / "harm.csv"
    f.write_text("# our table\ncategory,weight,non_crime\nAffray,2.5,0\nLost dog,1,1\n", encoding="utf-8")
    sc = parse_scenario({"name": "t", "network": {"source": str(f)}, "risk": {"harm": "harm.csv"}}, base_dir=tmp_path)
    assert sc.risk.harm == f.resolve()
    r = incident_harm(pd.Series(["AFFRAY", "Lost dog", "robbery"]), sc.risk)
    assert r.weights.tolist() == [2.5, 0.0, 1.0] and r.unknown == {"robbery": 1}
    over = incident_harm(pd.Series(["AFFRAY", "robbery"]), RiskSettings(harm=f, category_weights={"robbery": 4}))
    assert over.weights.tolist() == [2.5, 4.0]
    bad = tmp_path / "bad.csv"
    bad.write_text("name,score\nx,1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="needs columns category and weight"):
        RiskSettings(harm=bad)
    bad.write_text("category,weight\nx,-1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="weight >= 0"):
        load_harm_table(bad)


def test_shipped_tables_document_their_source():
    from importlib import resources

    for name in ("default", "sfpd", "uk", "cn"):
        text = resources.files("geoengine").joinpath(f"data/harm/{name}.csv").read_text(encoding="utf-8")
        assert text.startswith("#") and len(harm_table(name).rows) >= 10
        if name != "default":
            assert "Cambridge Crime Harm Index" in text and "not copied" in text


# --------------------------------------------------------------------------- the real SF file
@pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared real data not available at {SHARED}")
def test_sf_station_stack_is_flagged_and_no_longer_a_red_hotspot():
    from geoengine.layers import load_layers
    from geoengine.network import load_network
    from geoengine.risk import split_incidents
    from geoengine.scenario import load_scenario

    sc = load_scenario(REPO / "scenarios" / "sf_downtown.yaml")
    assert sc.risk.harm == "sfpd" and sc.risk.stacked == "downweight"
    net = load_network(sc.network, scenario_dir=sc.base_dir)
    layers = load_layers(sc.layers, network=net)
    full = check_incidents(layers.incidents.gdf, settings=sc.risk, network=net, stations=layers.stations.gdf)
    (stack,) = full.stacks
    assert stack.incidents == 67 and stack.kind == "station" and "Central Station (766 Vallejo St" in stack.station
    assert stack.distance_m < 50

    est, _ = split_incidents(layers.incidents.gdf, sc.evaluation.split)
    station = layers.stations.gdf[layers.stations.gdf["name"].str.contains("Central")].geometry.iloc[0]

    def station_segment(settings):
        r = estimate_risk(net, est, windows=sc.windows, settings=settings, stations=layers.stations.gdf)
        seg = int(net.snap(gpd.GeoSeries([station], crs=net.crs))["segment_id"].iloc[0])
        return r, r.overall.set_index("segment_id").loc[seg], r.table[r.table["segment_id"] == seg]

    r, overall, per_window = station_segment(sc.risk)
    assert any("10 m from SFPD Central Station (766 Vallejo St" in w and "downweighted" in w for w in r.warnings)
    assert r.quality.stacks[0].counts_as == pytest.approx(r.quality.median_per_point)
    # all times of day: neither red nor a hotspot; in no window a red hotspot
    assert overall["level"] != "red" and not overall["hotspot"]
    assert not (per_window["hotspot"] & (per_window["level"] == "red")).any()
    # kept at full weight, the station is the red hotspot the issue saw
    _, kept, _ = station_segment(sc.risk.model_copy(update={"stacked": "keep"}))
    assert kept["level"] == "red" and kept["hotspot"]
    assert overall["crime_per_km"] < kept["crime_per_km"] / 2
