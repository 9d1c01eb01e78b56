"""The district scenario of ``python -m bench patrol --district``: a whole district at the SPEC's scale.

Baltimore's streets (``../shared/data/osm/baltimore.osm.pbf``, real OSM), with layers drawn
by the demo's models (:mod:`geoengine.demo`): key commercial districts and key sites from the
extract's points of interest, two synthetic team bases, and a **synthetic** incident history
(:func:`geoengine.demo.synthetic_incidents`, seeded). The plan: 18 grid beats, 50 patrol teams
in three 8-hour shifts (day 07–15, swing 15–23, night 23–07), 15 checkpoints, 20 booths, and
cameras on a budget. Everything is seeded; the layers are written once per folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ._common import SHARED

PBF = SHARED / "osm" / "baltimore.osm.pbf"
N_INCIDENTS = 12_000
DAYS = 120

TEAMS: tuple[dict[str, Any], ...] = (
    {
        "name": "day-car",
        "mode": "car",
        "count": 8,
        "base": 0,
        "windows": ["day"],
        "break_min": 30,
    },
    {"name": "day-foot", "mode": "foot", "count": 6, "base": 0, "windows": ["day"]},
    {
        "name": "day-ebike",
        "mode": "ebike",
        "count": 3,
        "base": 1,
        "windows": ["day"],
        "break_min": 30,
    },
    {
        "name": "swing-car",
        "mode": "car",
        "count": 8,
        "base": 1,
        "windows": ["swing"],
        "break_min": 30,
    },
    {"name": "swing-foot", "mode": "foot", "count": 6, "base": 0, "windows": ["swing"]},
    {
        "name": "swing-ebike",
        "mode": "ebike",
        "count": 3,
        "base": 1,
        "windows": ["swing"],
        "break_min": 30,
    },
    {
        "name": "night-car",
        "mode": "car",
        "count": 10,
        "base": 0,
        "windows": ["night"],
        "break_min": 30,
    },
    {
        "name": "night-ebike",
        "mode": "ebike",
        "count": 6,
        "base": 1,
        "windows": ["night"],
        "break_min": 30,
    },
)
"""50 teams in three shifts (17 + 17 + 16)."""


def n_teams() -> int:
    return sum(int(t["count"]) for t in TEAMS)


def write_district(folder: Path, *, seed: int = 0, network_type: str = "all") -> Path:
    """Write the layers (once) and the scenario YAML into ``folder``; return the scenario path."""
    import shapely

    from geoengine.demo import (
        commercial_districts,
        key_sites,
        patrol_bases,
        synthetic_incidents,
    )
    from geoengine.network import network_from_pbf

    folder.mkdir(parents=True, exist_ok=True)
    layers = folder / "layers"
    paths = {k: layers / f"baltimore_{k}.geojson" for k in ("districts", "key_sites", "stations")}
    paths["incidents"] = layers / "baltimore_incidents_synthetic.csv"
    if not all(p.is_file() for p in paths.values()):
        layers.mkdir(exist_ok=True)
        network = network_from_pbf(PBF, network_type=network_type)  # type: ignore[arg-type]
        sites = key_sites(network)
        frames = {
            "districts": commercial_districts(network),
            "key_sites": sites,
            "stations": patrol_bases(sites),
        }
        for kind, gdf in frames.items():
            g = gdf.to_crs("EPSG:4326")
            g["geometry"] = shapely.set_precision(g.geometry.values, 1e-6)
            paths[kind].write_text(g.to_json(drop_id=True) + "\n", encoding="utf-8")
        incidents = synthetic_incidents(network, n_incidents=N_INCIDENTS, days=DAYS, seed=seed)
        incidents.drop(columns="geometry").to_csv(paths["incidents"], index=False, lineterminator="\n")
    scenario = {
        "name": "baltimore-district",
        "description": "Baltimore: real OSM streets, synthetic incidents; 18 beats, 50 teams in 3 shifts",
        "seed": seed,
        "network": {"source": str(PBF), "network_type": network_type, "cache": False},
        "layers": {
            "incidents": {
                "path": str(paths["incidents"]),
                "synthetic": True,
                "columns": {
                    "date": "date",
                    "time": "time",
                    "category": "category",
                    "description": "description",
                    "lon": "lon",
                    "lat": "lat",
                },
            },
            "districts": {"path": str(paths["districts"])},
            "key_sites": {"path": str(paths["key_sites"])},
            "stations": {"path": str(paths["stations"])},
        },
        "windows": [
            {"name": "day", "start": "07:00", "end": "15:00"},
            {"name": "swing", "start": "15:00", "end": "23:00"},
            {"name": "night", "start": "23:00", "end": "07:00"},
        ],
        "cameras": {
            "models": [
                {"name": "fixed bullet", "range_m": 40, "fov_deg": 90, "cost": 1.0},
                {"name": "PTZ dome", "range_m": 60, "fov_deg": 360, "cost": 3.0},
            ],
            "budget_cost": 200,
            "budget_count": None,
        },
        "patrol": {
            "teams": [dict(t) for t in TEAMS],
            "beats": 18,
            "checkpoints": 15,
            "checkpoint_crews": 5,
            "booths": 20,
            "booth_minutes": 5,
        },
        "evaluation": {"split": "2026-09-01"},
        "solver": {"time_limit_s": 300},  # a safety cap: every solve stops on its work first
        "outputs": {"folder": str(folder / "runs")},
    }
    path = folder / "baltimore_district.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False), encoding="utf-8")
    return path
