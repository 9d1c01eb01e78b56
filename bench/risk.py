"""Suite ``risk``: cost of the network kernel density step and of the whole risk stage.

Baltimore (the largest shared network; Helsinki when ../shared is absent) with 10k
and 100k synthetic incidents, a scaling series (1×, 2×, 4× incidents) and synthetic
square street grids of growing size, to show how the cost grows.
"""

from __future__ import annotations

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
        for n, s, e in (("morning", "07:00", "12:00"), ("afternoon", "12:00", "18:00"), ("evening", "18:00", "23:00"), ("night", "23:00", "07:00"))
    )
    settings = RiskSettings()
    rows = []
    sizes = [10_000, 20_000, 40_000] + ([] if quick else [100_000])
    for n in sizes:
        inc = synthetic_incidents(network, n)
        _, wall, peak = measure(lambda: network_kernel_density(network, inc.geometry, bandwidth_m=150.0))
        rows.append(row("risk", f"{name} {n // 1000}k incidents", "density", wall_s=wall, peak_mb=peak,
                        segments=len(network.segments()), incidents=n))  # fmt: skip
        _, wall, peak = measure(lambda: estimate_risk(network, inc, windows=windows, settings=settings))
        rows.append(row("risk", f"{name} {n // 1000}k incidents", "estimate_risk (4 windows)", wall_s=wall,
                        peak_mb=peak, segments=len(network.segments()), incidents=n))  # fmt: skip
    for side in [20, 40] + ([] if quick else [80]):
        grid = grid_network(side)
        inc = synthetic_incidents(grid, 10_000)
        _, wall, peak = measure(lambda: network_kernel_density(grid, inc.geometry, bandwidth_m=150.0))
        rows.append(row("risk", f"grid {side}x{side} 10k incidents", "density", wall_s=wall, peak_mb=peak,
                        segments=len(grid.segments()), incidents=10_000))  # fmt: skip
    return rows
