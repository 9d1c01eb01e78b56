"""Suite ``batch``: the demo swept into 16 runs on a Dask LocalCluster of 1 and of 2 workers.

Speed-up = wall time on 1 worker / wall time on 2 workers (same runs). The streets are
prepared once before the timing; each configuration starts with no risk surface or
camera plan cached, so each computes them once per distinct input and shares them
across its runs, as a real batch does. Peak memory per worker is the
largest resident set size of each worker process (``ru_maxrss``), not traced memory.
``--quick``: 2 runs on three time windows with 1 s solver limits.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from ._common import row


def demo_sweep(folder: Path, *, quick: bool, cache_dir: Path) -> Path:
    """The demo scenario with a sweep (16 runs, 2 with ``quick``) and absolute paths, in ``folder``."""
    from geoengine.demo import demo_scenario

    src = demo_scenario()
    data = yaml.safe_load(src.read_text(encoding="utf-8"))
    for layer in data.get("layers", {}).values():
        if isinstance(layer, dict) and "path" in layer:
            layer["path"] = str((src.parent / layer["path"]).resolve())
    data["network"]["cache_dir"] = str(cache_dir)
    data["outputs"] = {"folder": str(folder / "runs"), "map": False}
    data["solver"] = {"time_limit_s": 1 if quick else 5}
    data["cameras"]["budgets"] = []
    data["patrol"]["max_hotspots_per_window"] = 4
    params: dict[str, list[Any]] = {"cameras.budget_cost": [20, 60]}
    if quick:  # two runs on three windows
        data["windows"] = data["windows"][:3]
        for team in data["patrol"]["teams"]:
            if team.get("windows"):
                team["windows"] = [w for w in team["windows"] if w in {x["name"] for x in data["windows"]}]
    else:  # 2 budgets x 2 seeds x 2 team counts x 2 beat counts = 16 runs
        params["seed"] = [0, 1]
        params["patrol.teams.0.count"] = [1, 2]
        params["patrol.beats"] = [4, 6]
    data["sweep"] = {"parameters": params}
    path = folder / "demo_sweep.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def run(*, quick: bool = False) -> list[dict[str, Any]]:
    rows = []
    walls: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="geoengine-bench-batch-net-") as net_tmp:
        # the streets are prepared once, outside the timing; each configuration then starts
        # with the network cached and no risk surface or camera plan cached
        net_cache = Path(net_tmp)
        _prepare_network(demo_sweep(net_cache, quick=quick, cache_dir=net_cache / "cache"))
        for workers in (1, 2):
            rows.append(_one(workers, quick=quick, net_cache=net_cache / "cache", walls=walls))
    return rows


def _prepare_network(scenario: Path) -> None:
    from geoengine.network import load_network
    from geoengine.scenario import load_scenario

    load_network(load_scenario(scenario).network)


def _one(workers: int, *, quick: bool, net_cache: Path, walls: dict[int, float]) -> dict[str, Any]:
    import shutil

    from geoengine.batch import run_batch

    with tempfile.TemporaryDirectory(prefix="geoengine-bench-batch-") as tmp:
        folder = Path(tmp)
        (folder / "cache").mkdir()
        for f in net_cache.glob("network-*.zip"):
            shutil.copy2(f, folder / "cache" / f.name)
        scenario = demo_sweep(folder, quick=quick, cache_dir=folder / "cache")
        t0 = time.perf_counter()
        result = run_batch([scenario], out=folder / "runs", workers=workers)
        wall = time.perf_counter() - t0
        walls[workers] = wall
        per_worker: dict[str, float] = {}
        for r in result.records:
            if r.worker and r.peak_mb is not None:
                per_worker[r.worker] = max(per_worker.get(r.worker, 0.0), r.peak_mb)
        return row(
            "batch",
            f"demo sweep {len(result.records)} runs",
            f"LocalCluster {workers} worker{'s' * (workers > 1)}",
            wall_s=wall,
            peak_mb=max(per_worker.values()) if per_worker else None,
            runs_ok=sum(r.ok for r in result.records),
            runs_failed=len(result.failed),
            speedup=round(walls[1] / wall, 2) if 1 in walls else None,
            peak_mb_per_worker=sorted(round(v, 1) for v in per_worker.values()),
        )
