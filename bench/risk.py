"""Suite ``risk``: held-out accuracy of the chosen model, and the cost of the risk stage.

Accuracy (needs ../shared/data): SF Chinatown 2016 (split 2016-09-01), SF 2012 H2
(4 categories, on the SF downtown network, split 2012-11-01) and the City of London
(split 2017-03-01): PAI and PEI at 1 / 5 / 10 % of street length for the chosen
model, the network KDE alone, training-period counts per metre, previous-period counts
and the oracle (the best any ranking reaches: the ceiling), by harm and by count, and the
acceptance checks of issue 14.

Cost: Baltimore (the largest shared network; Helsinki when ../shared is absent) with
10k–100k synthetic incidents — the density step, the risk stage with explicit settings
(bandwidth 150 m, half-life 60 days: the stage before model selection) and with
``auto`` (rolling-origin model selection) and their ratio; synthetic square street
grids of growing size, to show how the cost grows.

Learned models (:func:`learned_rows`, not in ``--quick``; needs scikit-learn, skipped
without it): a Poisson regression and a Poisson gradient-boosted model on per-segment
features (weighted counts in the last 30 / 91 / 182 / 365 days and all history, months
active of the last 12, network KDE at 75 / 150 / 300 m of all and of the last 91 days'
incidents, the neighbouring segments' counts per metre, log length), fitted on rolling
monthly origins inside the estimation period only (features at the month's start, the
month's weighted incidents per metre as target, length as sample weight) and scored on
the held-out period like the chosen model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._common import SHARED, measure, row

GRID_CRS = "EPSG:32633"


def synthetic_incidents(network: Any, n: int, *, seed: int = 0, days: int = 180) -> gpd.GeoDataFrame:
    """Incidents uniformly along the streets (by length), over ``days``; 10 % date-only."""
    rng = np.random.default_rng(seed)
    segs = network.segments()
    length = segs["length_m"].to_numpy()
    pick = rng.choice(len(segs), size=n, p=length / length.sum())
    pts = shapely.line_interpolate_point(segs.geometry.values[pick], rng.uniform(0, 1, n), normalized=True)
    start = pd.Timestamp("2026-01-01")
    times = start + pd.to_timedelta(rng.uniform(0, days * 86400, n), unit="s")
    precision = np.where(rng.random(n) < 0.1, "date", "datetime")
    times = pd.Series(times).where(precision == "datetime", pd.Series(times).dt.normalize())
    cats = rng.choice(["theft", "robbery", "assault", "disorder"], size=n, p=[0.5, 0.1, 0.15, 0.25])
    return gpd.GeoDataFrame(
        {"time": times.to_numpy(), "time_precision": precision, "category": cats, "weight": 1.0},
        geometry=pts,
        crs=network.crs,
    )


def grid_network(n: int, *, block_m: float = 100.0) -> Any:
    """An n × n grid of streets (2·n·(n-1) segments) as a RoadNetwork."""
    from geoengine.synthetic import grid_network as make

    return make(n, block_m=block_m, crs=GRID_CRS)


DATASETS = (
    # name, scenario, incidents file (None: the scenario's), columns, split
    ("SF Chinatown 2016", "sf_downtown.yaml", None, None, "2016-09-01"),
    (
        "SF 2012 H2",
        "sf_downtown.yaml",
        "incidents/sf_2012h2_4categories.csv",
        {"date": "Date", "time": None, "category": "Category", "description": "Descript", "lon": "lon", "lat": "lat"},
        "2012-11-01",
    ),
    ("City of London", "london.yaml", None, None, "2017-03-01"),
)
METHODS = (("risk", "model"), ("kde", "KDE alone"), ("counts", "counts"), ("baseline", "previous-period counts"))


def _dataset(scenario: str, incidents: str | None, columns: dict[str, Any] | None) -> tuple[Any, Any, Any]:
    from geoengine.layers import load_layers
    from geoengine.network import load_network
    from geoengine.scenario import load_scenario

    sc = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / scenario)
    network = load_network(sc.network, scenario_dir=sc.base_dir)
    src = sc.layers.incidents
    if incidents is not None:
        src = src.model_copy(update={"path": SHARED / incidents, "columns": src.columns.model_copy(update=columns or {})})
    layers = load_layers(sc.layers.model_copy(update={"incidents": src, "cameras": None}), network=network)
    stations = getattr(layers, "stations", None)
    return sc, network, layers.incidents.gdf, (stations.gdf if stations is not None else None)


def accuracy_rows() -> list[dict[str, Any]]:
    """PAI / PEI at 1, 5, 10 % per dataset and method, and the acceptance checks (issue 14).

    Two like-for-like comparisons: the scenario's harm-weighted model scored by harm PAI
    (held-out incidents weighted by harm, baselines counting harm), and the same selection
    with every crime incident weighing 1 (``risk.weighting: count``) scored by count PAI.
    Held-out incidents are the ones a surface predicts (non-crime records and the handled
    station stacks set aside, as ``evaluate_risk`` does). The ``oracle`` row is the best PAI
    any ranking reaches on the held-out incidents: the ceiling of every method.
    """
    import datetime as dt
    import time

    from geoengine.risk import estimate_risk, evaluate_risk, split_incidents

    if not (SHARED / "incidents" / "sf_chinatown_2016.csv").exists():
        return [row("risk", "accuracy", "skipped: ../shared/data absent", wall_s=0.0)]
    rows: list[dict[str, Any]] = []
    checks: dict[str, dict[str, dict[float, tuple[float, float, float]]]] = {"harm": {}, "count": {}}
    for name, scenario, incidents, columns, split in DATASETS:
        sc, network, inc, stations = _dataset(scenario, incidents, columns)
        est, held = split_incidents(inc, dt.date.fromisoformat(split))
        for weighting, harm in (("harm", True), ("count", False)):
            settings = sc.risk.model_copy(update={"weighting": weighting})
            t = time.perf_counter()
            surface = estimate_risk(network, est, windows=sc.windows, settings=settings, stations=stations)
            wall = time.perf_counter() - t
            ev = evaluate_risk(surface, held, history=est)
            label = "harm PAI" if harm else "count PAI"
            for method, title in (*METHODS, ("oracle", "best possible (oracle)")):
                cells = {f"pai_{int(s * 100)}": _r(ev.pai(s, method=method, harm=harm)) for s in (0.01, 0.05, 0.10)}
                cells |= {f"pei_{int(s * 100)}": _r(ev.pei(s, method=method, harm=harm)) for s in (0.01, 0.05, 0.10)}
                rows.append(
                    row(
                        "risk",
                        f"{name} ({label})",
                        title,
                        wall_s=wall if method == "risk" else 0.0,
                        heldout=ev.heldout_incidents,
                        **cells,
                        model=surface.model.describe() if method == "risk" else None,
                    )
                )
            checks[weighting][name] = {
                s: (ev.pai(s, harm=harm), ev.pai(s, method="baseline", harm=harm), ev.pai(s, method="oracle", harm=harm))
                for s in (0.01, 0.05)
            }
    for weighting, per in checks.items():
        tag = f"{weighting} model, {weighting} PAI, vs previous-period {weighting}s"
        pai5 = {k: v[0.05] for k, v in per.items()}
        pai1 = {k: v[0.01] for k, v in per.items()}
        every = all(m >= b for m, b, _ in pai5.values())
        mean_m, mean_b, mean_o = (sum(v[i] for v in pai5.values()) / len(pai5) for i in range(3))
        wins1 = sum(m >= b for m, b, _ in pai1.values())
        rows.append(
            row(
                "risk",
                "acceptance",
                f"{tag}: PAI@5 % ≥ baseline on every dataset",
                wall_s=0.0,
                met=every,
                value=", ".join(f"{k} {m:.2f}/{b:.2f}" for k, (m, b, _) in pai5.items()),
            )
        )
        rows.append(
            row(
                "risk",
                "acceptance",
                f"{tag}: mean PAI@5 % ≥ 1.1 × baseline",
                wall_s=0.0,
                met=mean_m >= 1.1 * mean_b,
                value=f"{mean_m:.2f} / {mean_b:.2f} = {mean_m / mean_b:.3f} (ceiling: oracle {mean_o:.2f} = "
                f"{mean_o / mean_b:.3f}; the model closes {(mean_m - mean_b) / max(mean_o - mean_b, 1e-9):.0%} "
                "of the gap)",
            )
        )
        rows.append(
            row(
                "risk",
                "acceptance",
                f"{tag}: PAI@1 % ≥ baseline on 2 of 3",
                wall_s=0.0,
                met=wins1 >= 2,
                value=f"{wins1} of {len(pai1)}: " + ", ".join(f"{k} {m:.2f}/{b:.2f}" for k, (m, b, _) in pai1.items()),
            )
        )
    return rows


def segment_features(streets: Any, seg: np.ndarray, w: np.ndarray, t: pd.Series, origin: pd.Timestamp, adj: Any) -> pd.DataFrame:
    """Per-segment features from the incidents before ``origin`` (see the module docstring)."""
    from geoengine.risk import density_at_samples

    n, length = len(streets.length), streets.length
    age = (origin - t).dt.total_seconds().to_numpy() / 86400.0
    past = age > 0
    spans = (30, 91, 182, 365, None)
    c = np.column_stack(
        [np.bincount(seg[past & (age <= (d or np.inf))], weights=w[past & (age <= (d or np.inf))], minlength=n) for d in spans]
    )
    cols = {f"c{d or 'all'}": np.log1p(1000 * c[:, j] / np.maximum(length, 10)) for j, d in enumerate(spans)}
    month = np.floor(age / 30.44).astype(int)
    cols["active12"] = sum((np.bincount(seg[past & (month == k)], minlength=n) > 0).astype(float) for k in range(12))
    used = np.flatnonzero(c[:, [4, 1]].sum(axis=1) > 0)
    for bw in (75, 150, 300):
        dens = density_at_samples(streets, used, length[used] / 2, c[used][:, [4, 1]], bandwidth_m=bw, kernel="quartic")
        k = np.zeros((n, 2))
        np.add.at(k, streets.sample_seg, dens)
        k /= streets.seg_samples[:, None]
        cols[f"k{bw}"], cols[f"k{bw}_recent"] = np.log1p(1000 * k[:, 0]), np.log1p(1000 * k[:, 1])
    cols["lag"] = np.log1p(1000 * (adj @ c[:, 4]) / np.maximum(adj @ length, 1))
    cols["log_length"] = np.log(np.maximum(length, 1))
    return pd.DataFrame(cols)


def learned_rows(*, origins: int = 9) -> list[dict[str, Any]]:
    """Held-out PAI@1 / 5 % of a learned Poisson GLM and Poisson GBM against the chosen model (issue 14)."""
    import dataclasses
    import datetime as dt
    import warnings

    import scipy.sparse as sp

    import geoengine.risk as risk

    try:
        from sklearn.ensemble import HistGradientBoostingRegressor
        from sklearn.linear_model import PoissonRegressor
    except ImportError:
        return [row("risk", "learned", "skipped: scikit-learn absent", wall_s=0.0)]
    if not (SHARED / "incidents" / "sf_chinatown_2016.csv").exists():
        return [row("risk", "learned", "skipped: ../shared/data absent", wall_s=0.0)]
    rows: list[dict[str, Any]] = []
    seen: dict[str, Any] = {}
    select = risk.select_model

    def spy(streets: Any, seg: Any, weight: Any, eff: Any, settings: Any, *, kernel: str) -> Any:
        seen.update(streets=streets, seg=seg.copy(), weight=weight.copy(), eff=pd.to_datetime(eff).reset_index(drop=True))
        return select(streets, seg, weight, eff, settings, kernel=kernel)

    for name, scenario, incidents, columns, split in DATASETS:
        sc, network, inc, stations = _dataset(scenario, incidents, columns)
        est, held = risk.split_incidents(inc, dt.date.fromisoformat(split))
        for weighting, harm in (("harm", True), ("count", False)):
            risk.select_model = spy
            try:
                settings = sc.risk.model_copy(update={"weighting": weighting})
                surface = risk.estimate_risk(network, est, windows=sc.windows, settings=settings, stations=stations)
            finally:
                risk.select_model = select
            st, seg, w, t = seen["streets"], seen["seg"], seen["weight"], seen["eff"]
            s = len(st.length)
            inc_m = sp.csr_matrix((np.ones(2 * s), (np.r_[np.arange(s), np.arange(s)], np.r_[st.u, st.v])), shape=(s, st.n_nodes))
            adj = (inc_m @ inc_m.T).tocsr()
            adj.setdiag(0)
            adj.eliminate_zeros()
            adj.data[:] = 1.0
            start = pd.Timestamp(split)
            months = pd.period_range(t.min().to_period("M") + 3, start.to_period("M") - 1, freq="M")[-origins:]
            xs, ys, ws = [], [], []
            for m in months:  # rolling origins inside the estimation period only
                test = ((t >= m.start_time) & (t < (m + 1).start_time)).to_numpy()
                xs.append(segment_features(st, seg, w, t, m.start_time, adj))
                ys.append(np.bincount(seg[test], weights=w[test], minlength=s) / st.length * 1000)
                ws.append(st.length / 1000)
            x, y, sw = pd.concat(xs, ignore_index=True), np.concatenate(ys), np.concatenate(ws)
            x_now = segment_features(st, seg, w, t, start, adj)
            mu, sd = x.mean(), x.std().replace(0, 1)
            ev0 = risk.evaluate_risk(surface, held, history=est)
            label = "harm PAI" if harm else "count PAI"
            base = {f"baseline_{int(q * 100)}": _r(ev0.pai(q, method="baseline", harm=harm)) for q in (0.01, 0.05)}
            for title, model in (
                ("Poisson GLM", PoissonRegressor(alpha=1e-4, max_iter=500)),
                (
                    "Poisson GBM",
                    HistGradientBoostingRegressor(
                        loss="poisson", max_iter=200, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=40, random_state=0
                    ),
                ),
            ):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model.fit((x - mu) / sd, y, sample_weight=sw)
                    pred = model.predict((x_now - mu) / sd)
                ov = surface.overall.copy()
                ov["crime_per_km"] = pred
                ev = risk.evaluate_risk(dataclasses.replace(surface, overall=ov), held, history=est)
                rows.append(
                    row(
                        "risk",
                        f"{name} ({label})",
                        f"learned: {title}",
                        wall_s=0.0,
                        origins=len(months),
                        pai_1=_r(ev.pai(0.01, harm=harm)),
                        pai_5=_r(ev.pai(0.05, harm=harm)),
                        model_pai_1=_r(ev0.pai(0.01, harm=harm)),
                        model_pai_5=_r(ev0.pai(0.05, harm=harm)),
                        **base,
                    )
                )
    return rows


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 2)


def run(*, quick: bool = False) -> list[dict[str, Any]]:
    from geoengine.demo import helsinki_pbf
    from geoengine.network import network_from_pbf
    from geoengine.risk import estimate_risk, network_kernel_density
    from geoengine.scenario import RiskSettings, TimeWindow

    if (SHARED / "osm" / "baltimore.osm.pbf").exists():
        name, network = "baltimore", network_from_pbf(SHARED / "osm" / "baltimore.osm.pbf")
    else:
        name, network = "helsinki", network_from_pbf(helsinki_pbf())
    windows = tuple(
        TimeWindow(name=n, start=s, end=e)
        for n, s, e in (
            ("morning", "07:00", "12:00"),
            ("afternoon", "12:00", "18:00"),
            ("evening", "18:00", "23:00"),
            ("night", "23:00", "07:00"),
        )
    )
    explicit = RiskSettings(bandwidth_m=150.0, half_life_days=60.0, own_segment_share=0.5)
    auto = RiskSettings()
    rows = accuracy_rows() + ([] if quick else learned_rows())
    sizes = [10_000, 40_000] + ([] if quick else [100_000])
    for n in sizes:
        inc = synthetic_incidents(network, n)
        _, wall, peak = measure(lambda: network_kernel_density(network, inc.geometry, bandwidth_m=150.0))
        rows.append(
            row(
                "risk",
                f"{name} {n // 1000}k incidents",
                "density",
                wall_s=wall,
                peak_mb=peak,
                segments=len(network.segments()),
                incidents=n,
            )
        )
        _, wall, peak = measure(lambda: estimate_risk(network, inc, windows=windows, settings=explicit))
        rows.append(
            row(
                "risk",
                f"{name} {n // 1000}k incidents",
                "estimate_risk explicit (4 windows)",
                wall_s=wall,
                peak_mb=peak,
                segments=len(network.segments()),
                incidents=n,
            )
        )
        surface, wall_auto, peak = measure(lambda: estimate_risk(network, inc, windows=windows, settings=auto))
        rows.append(
            row(
                "risk",
                f"{name} {n // 1000}k incidents",
                "estimate_risk auto (model selection)",
                wall_s=wall_auto,
                peak_mb=peak,
                segments=len(network.segments()),
                incidents=n,
                candidates=len(surface.model.cv),
                cost_ratio=round(wall_auto / wall, 2),
            )
        )
    for side in [20, 40] + ([] if quick else [80]):
        grid = grid_network(side)
        inc = synthetic_incidents(grid, 10_000)
        _, wall, peak = measure(lambda: network_kernel_density(grid, inc.geometry, bandwidth_m=150.0))
        rows.append(
            row(
                "risk",
                f"grid {side}x{side} 10k incidents",
                "density",
                wall_s=wall,
                peak_mb=peak,
                segments=len(grid.segments()),
                incidents=10_000,
            )
        )
    return rows
