"""Input files of a small synthetic city for tests that run whole scenarios."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoengine.network import RoadNetwork, save_graphml
from geoengine.synthetic import grid_network


def write_grid_and_incidents(folder: Path, *, block_m: float = 120.0, n_incidents: int = 300, seed: int = 0) -> RoadNetwork:
    """Write ``grid.graphml`` (a 6 × 6 street grid) and ``incidents.csv`` (60 % on four hot
    streets, over four months from 2026-01-01, WGS84 lon/lat) into ``folder``; return the grid."""
    folder.mkdir(parents=True, exist_ok=True)
    net = grid_network(6, block_m=block_m)
    save_graphml(net, folder / "grid.graphml")
    rng = np.random.default_rng(seed)
    segs = net.segments()
    hot = rng.choice(len(segs), 4, replace=False)
    n = n_incidents
    pick = np.where(rng.random(n) < 0.6, rng.choice(hot, n), rng.integers(0, len(segs), n))
    pts = shapely.line_interpolate_point(segs.geometry.values[pick], rng.uniform(0, 1, n), normalized=True)
    ll = gpd.GeoSeries(pts, crs=net.crs).to_crs("EPSG:4326")
    t = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.uniform(0, 120 * 86400, n), unit="s")
    pd.DataFrame(
        {
            "date": t.strftime("%Y-%m-%d"),
            "time": t.strftime("%H:%M"),
            "category": rng.choice(["theft", "robbery"], n),
            "lon": ll.x.round(7),
            "lat": ll.y.round(7),
        }
    ).to_csv(folder / "incidents.csv", index=False)
    return net
