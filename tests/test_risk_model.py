"""Model selection of the risk surface: held-out months only, PEI, counts preferred where crime repeats."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import shapely

from geoengine.risk import estimate_risk, evaluate_risk, split_incidents
from geoengine.risk_model import month_folds
from geoengine.scenario import RiskSettings
from geoengine.synthetic import grid_network

CRS = "EPSG:32633"
X0, Y0 = 500_000.0, 6_600_000.0
SPLIT = dt.date(2026, 5, 1)
FLAT = {"category_weights": {}, "district_boost": 0, "key_site_boost": 0}


@pytest.fixture(scope="module")
def grid():
    return grid_network(8, crs=CRS, origin=(X0, Y0))


def _incidents(xy: list[tuple[float, float]], times: list[pd.Timestamp]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"time": pd.to_datetime(times), "time_precision": "datetime", "category": "theft", "weight": 1.0},
        geometry=[shapely.Point(x, y) for x, y in xy],
        crs=CRS,
    )


def _repeat_city(seed: int = 0, months: int = 4) -> gpd.GeoDataFrame:
    """Every month: 12 incidents on one street (x 300–400 m at y 200 m), 4 on another, 10 scattered."""
    rng = np.random.default_rng(seed)
    xy, times = [], []
    for m in range(months):
        start = pd.Timestamp(2026, 1 + m, 1)
        pts = [(X0 + 350 + rng.uniform(-40, 40), Y0 + 200) for _ in range(12)]
        pts += [(X0 + 600, Y0 + 550 + rng.uniform(-40, 40)) for _ in range(4)]
        pts += [(X0 + 100 * rng.integers(0, 7) + 50, Y0 + 100 * rng.integers(0, 8)) for _ in range(10)]
        xy += pts
        times += list(start + pd.to_timedelta(rng.uniform(0, 27 * 86400, len(pts)), unit="s"))
    return _incidents(xy, times)


def test_folds_train_only_on_months_before_their_test_month():
    t = pd.Series(pd.date_range("2026-01-01", "2026-04-30 23:00", freq="7h"))
    folds = month_folds(t, 3, 10)
    assert [f[0].strftime("%Y-%m") for f in folds] == ["2026-02", "2026-03", "2026-04"]
    for start, end in folds:
        assert end == start + pd.offsets.MonthBegin(1)
    assert month_folds(t[t < "2026-02-01"], 3, 10) == []  # one month: nothing to score on


def test_a_future_only_hotspot_is_not_used_in_selection(grid):
    inc = _repeat_city()
    rng = np.random.default_rng(5)
    # after the split: 200 incidents on a street that never had one
    future = _incidents(
        [(X0 + 700, Y0 + 150 + rng.uniform(-40, 40)) for _ in range(200)],
        list(pd.Timestamp(SPLIT) + pd.to_timedelta(rng.uniform(0, 20 * 86400, 200), unit="s")),
    )
    plain = estimate_risk(grid, split_incidents(inc, SPLIT)[0], settings=RiskSettings(**FLAT))
    planted = estimate_risk(
        grid, split_incidents(pd.concat([inc, future], ignore_index=True), SPLIT)[0], settings=RiskSettings(**FLAT)
    )
    assert plain.model.searched and len(plain.model.folds) == 3
    assert all(f["test_month"] < "2026-05" for f in plain.model.folds)
    assert planted.model.as_dict() == plain.model.as_dict()
    pd.testing.assert_frame_equal(planted.model.cv, plain.model.cv)
    pd.testing.assert_frame_equal(planted.overall, plain.overall)
    # the same hotspot planted inside the last training month does change the scores: the test can see it
    inside = future.assign(time=future["time"] - pd.Timedelta(days=25))
    seen = estimate_risk(
        grid, split_incidents(pd.concat([inc, inside], ignore_index=True), SPLIT)[0], settings=RiskSettings(**FLAT)
    )
    assert not seen.model.cv["score"].equals(plain.model.cv["score"])


def test_pei_is_at_most_one_and_one_for_the_oracle(grid):
    inc = _repeat_city(months=5)
    est, held = split_incidents(inc, SPLIT)
    s = estimate_risk(grid, est, settings=RiskSettings(**FLAT))
    ev = evaluate_risk(s, held, history=est)
    t = ev.table
    assert (t["pei"].dropna() <= 1 + 1e-9).all()
    assert np.allclose(t.loc[t["method"] == "oracle", "pei"], 1.0)
    assert set(t["method"]) == {"risk", "kde", "counts", "baseline", "oracle"}
    m = ev.metrics(s.window_names)
    assert set(m["pai"]) == {"1pct", "5pct", "10pct"} and set(m["pai"]["5pct"]) == {"risk", "kde", "counts", "baseline", "oracle"}
    assert m["pei"]["5pct"]["risk"] == pytest.approx(ev.pei(0.05), abs=1e-4)
    assert m["pei_harm"]["5pct"]["oracle"] == pytest.approx(1.0) and m["pai_harm"]["5pct"]["risk"] is not None
    assert (t["pei_harm"].dropna() <= 1 + 1e-9).all()
    assert "counts_beat_model_at" in m


def test_selection_prefers_own_segment_counts_where_crime_repeats(grid):
    s = estimate_risk(grid, split_incidents(_repeat_city(seed=1), SPLIT)[0], settings=RiskSettings(**FLAT))
    w = s.model.weights
    assert w["counts"] >= 0.5 and w["counts"] == max(w.values())
    assert s.settings.bandwidth_m == s.model.bandwidth_m != "auto"
    assert s.requested_settings.bandwidth_m == "auto"


def test_explicit_settings_skip_the_search(grid):
    inc = split_incidents(_repeat_city(), SPLIT)[0]
    explicit = RiskSettings(bandwidth_m=90, half_life_days=45, blend={"counts": 2, "kde": 1, "recent": 1}, **FLAT)
    s = estimate_risk(grid, inc, settings=explicit)
    assert s.model.searched == () and s.model.cv.empty
    assert (s.model.bandwidth_m, s.model.half_life_days) == (90.0, 45.0)
    assert s.model.weights == pytest.approx({"counts": 0.5, "kde": 0.25, "recent": 0.25})
    # explicit bandwidth and half-life: only the blend weights are searched, on one bandwidth
    part = estimate_risk(grid, inc, settings=RiskSettings(bandwidth_m=90, half_life_days=45, **FLAT))
    assert part.model.searched == ("blend",)
    assert set(part.model.cv["bandwidth_m"]) == {90.0} and set(part.model.cv["half_life_days"]) == {45.0}


def test_report_backtest_chart_and_where_counts_beat_the_model():
    from geoengine.export.report import _svg, backtest_sentences, chart_backtest

    metrics = {
        "pai": {
            "1pct": {"risk": 21.2, "kde": 16.0, "counts": 25.7, "baseline": 25.0},
            "5pct": {"risk": 13.1, "kde": 11.0, "counts": 12.3, "baseline": 12.0},
        },
        "pei": {
            "1pct": {"risk": 0.6, "kde": 0.5, "counts": 0.8, "baseline": 0.7},
            "5pct": {"risk": 0.8, "kde": 0.7, "counts": 0.75, "baseline": 0.7},
        },
    }
    text = backtest_sentences(metrics)
    assert text[0] == "At 1 % of street length training-period counts per metre beat the model: PAI 25.70 against 21.20."
    assert "beat" not in text[1]
    assert _svg(chart_backtest(metrics), salt="t").startswith("<svg")
    assert chart_backtest({}) is None


def test_learned_model_features_use_only_incidents_before_their_origin(grid):
    """The bench's learned models (bench.risk.learned_rows) are fitted on features at rolling
    origins inside the estimation period: an incident at or after an origin never enters them,
    and the windows count what they say (30 days, 91 days, all history)."""
    import geoengine.risk as risk
    from bench.risk import segment_features

    make = getattr(risk, "streets", None) or risk._streets
    st = make(grid, 10.0)
    s = len(st.length)
    adj = sp.csr_matrix(([1.0] * 2 * s, (np.r_[np.arange(s), np.arange(s)], np.r_[st.u, st.v])), shape=(s, st.n_nodes))
    adj = (adj @ adj.T).tocsr()
    adj.setdiag(0)
    adj.eliminate_zeros()
    origin = pd.Timestamp("2026-05-01")
    past_seg, future_seg = 3, 7
    seg = np.array([past_seg, past_seg, future_seg, future_seg, future_seg])
    t = pd.Series(origin + pd.to_timedelta([-10, -100, 0, 5, 40], unit="D"))
    w = np.ones(len(seg))
    got = segment_features(st, seg, w, t, origin, adj)
    only_past = segment_features(st, seg[:2], w[:2], t[:2].reset_index(drop=True), origin, adj)
    pd.testing.assert_frame_equal(got, only_past)
    per_km = lambda n: np.log1p(1000 * n / max(st.length[past_seg], 10))  # noqa: E731
    assert got.loc[past_seg, "c30"] == pytest.approx(per_km(1))  # the incident 10 days before
    assert got.loc[past_seg, "c182"] == pytest.approx(per_km(2))  # both
    assert got.loc[past_seg, "active12"] == 2  # months 0 and 3 before the origin
    assert got.loc[future_seg, ["c30", "c91", "c365", "call"]].eq(0).all()  # its incidents are all at or after the origin
