"""``python -m bench scaling [--quick] [--plot FILE]``: how the cost of each step grows with size.

Synthetic street grids of n × n intersections with a building in every block (so line of
sight is checked), n = 8 … 96 (``--quick``: 8, 16, 32), about 110 to 18,000 street
segments. For each size, timed alone in this process:

* **risk: kernel density** — 4 incidents per segment spread along the streets (150 m);
* **coverage: matrix** — demand points every 10 m, poles every 50 m, 8 headings, 60 m
  range, line of sight past the buildings;
* **coverage: greedy** and **coverage: SCIP** (ours) at p = 1 camera per 25 street segments,
  SCIP with a time limit (points where it stopped at the limit are marked, not fitted);
* **patrol: beats** — one beat per 150 segments, contiguous and balanced.

The chart (``--plot``, matplotlib) is log-log, wall time against street segments, with the
fitted slope k (time ∝ segments^k) of each step in the legend.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from ._common import measure, row
from .coverage import _instance, grid_city
from .risk import synthetic_incidents

SIZES = (8, 12, 16, 24, 32, 48, 64, 96)
QUICK_SIZES = (8, 16, 32)
STEPS = ("risk: kernel density", "coverage: matrix", "coverage: greedy", "coverage: SCIP", "patrol: beats")


def run(*, quick: bool = False) -> list[dict[str, Any]]:
    from geoengine.coverage.greedy import greedy_mclp
    from geoengine.coverage.problem import solve_mclp
    from geoengine.coverage.stop import MaxRuntime
    from geoengine.patrol.beats import make_beats
    from geoengine.risk import network_kernel_density

    limit_s = 10.0 if quick else 60.0
    rows: list[dict[str, Any]] = []
    for n in QUICK_SIZES if quick else SIZES:
        grid = grid_city(n)
        segments = len(grid.segments())
        label = f"grid {n}×{n}"
        size = {"segments": segments}

        incidents = synthetic_incidents(grid, 4 * segments)
        _, wall, peak = measure(lambda: network_kernel_density(grid, incidents.geometry, bandwidth_m=150.0))
        rows.append(row("scaling", label, STEPS[0], wall_s=wall, peak_mb=peak, **size, incidents=len(incidents)))

        inst, wall, peak = measure(
            lambda: _instance(label, grid, spacing_m=10, pole_spacing_m=50, range_m=60, fov_deg=90, headings=8)
        )
        problem = inst["problem"]
        size.update(demand=inst["demand"], orientations=inst["orientations"])
        rows.append(row("scaling", label, STEPS[1], wall_s=wall, peak_mb=peak, **size))

        p = max(4, segments // 25)
        _, wall, peak = measure(lambda: greedy_mclp(problem, budget_count=p))
        rows.append(row("scaling", label, STEPS[2], wall_s=wall, peak_mb=peak, **size, p=p))

        res, wall, peak = measure(lambda: solve_mclp(problem, budget_count=p, stop=MaxRuntime(limit_s), seed=0))
        rows.append(
            row(
                "scaling",
                label,
                STEPS[3],
                wall_s=wall,
                peak_mb=peak,
                objective=round(res.objective, 3),
                bound=None if res.bound is None else round(res.bound, 3),
                gap=res.gap,
                status=res.status,
                limit_s=limit_s,
                **size,
                p=p,
            )
        )

        k = max(2, segments // 150)
        _, wall, peak = measure(lambda: make_beats(grid, k=k, seed=0))
        rows.append(row("scaling", label, STEPS[4], wall_s=wall, peak_mb=peak, **size, beats=k))
        print(f"scaling: {label} ({segments:,} segments) done", flush=True)
    return rows


def _fitted(r: dict[str, Any]) -> bool:
    """The row's time measures the work (the solve did not stop at its time limit)."""
    return r.get("status") in (None, "optimal")


def slopes(rows: list[dict[str, Any]]) -> dict[str, float | None]:
    """Per step, the least-squares slope of log(wall) on log(segments) (rows at a time limit left out)."""
    out: dict[str, float | None] = {}
    for step in STEPS:
        pts = [(r["segments"], r["wall_s"]) for r in rows if r["solver"] == step and _fitted(r) and r["wall_s"] > 0]
        if len(pts) < 2:
            out[step] = None
            continue
        x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
        out[step] = float(np.polyfit(x, y, 1)[0])
    return out


def plot(rows: list[dict[str, Any]], path: Path) -> Path:
    """Draw the log-log chart of wall time against street segments into ``path``."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - matplotlib comes with the bench extra
        raise SystemExit("scaling --plot needs matplotlib: pip install -e '.[bench]'") from exc
    fitted = slopes(rows)
    fig, ax = plt.subplots(figsize=(7.0, 4.4), dpi=110)
    markers = dict(zip(STEPS, "osD^v"))
    for step in STEPS:
        mine = sorted((r for r in rows if r["solver"] == step), key=lambda r: r["segments"])
        if not mine:
            continue
        x = [r["segments"] for r in mine]
        y = [max(r["wall_s"], 1e-3) for r in mine]
        k = fitted[step]
        (line,) = ax.plot(x, y, marker=markers[step], ms=4.5, lw=1.4, label=f"{step}  (∝ n^{k:.2f})" if k is not None else step)
        limited = [(xi, yi) for r, xi, yi in zip(mine, x, y) if not _fitted(r)]
        if limited:
            ax.scatter(*zip(*limited), s=70, facecolors="none", edgecolors=line.get_color(), zorder=3)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("street segments n (synthetic grid with buildings)")
    ax.set_ylabel("wall time (s)")
    stamp = time.strftime("%Y-%m-%d")
    ax.set_title(f"How cost grows with size — python -m bench scaling, {stamp}", fontsize=10)
    ax.grid(True, which="both", lw=0.4, alpha=0.5)
    ax.legend(fontsize=8, loc="upper left", frameon=False)
    ax.annotate(
        "open circle: SCIP stopped at its time limit (not fitted)",
        xy=(0.99, 0.02),
        xycoords="axes fraction",
        ha="right",
        fontsize=7,
        color="0.35",
    )
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"Software": None} if path.suffix == ".png" else None)
    plt.close(fig)
    return path
