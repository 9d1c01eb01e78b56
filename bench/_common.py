"""Shared bench helpers: timing with peak memory, rows, tables."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
ROW_KEYS = ("suite", "instance", "solver", "objective", "bound", "gap", "best_known", "gap_to_best_known", "wall_s", "peak_mb")


def measure(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """Run ``fn``; return its result, wall seconds and peak traced memory in MB."""
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        result = fn()
    finally:
        wall = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return result, wall, peak / 2**20


def row(suite: str, instance: str, solver: str, *, wall_s: float, peak_mb: float | None = None, **extra: Any) -> dict[str, Any]:
    out = {key: None for key in ROW_KEYS}
    out.update(suite=suite, instance=instance, solver=solver, wall_s=round(wall_s, 3),
               peak_mb=None if peak_mb is None else round(peak_mb, 1))
    out.update(extra)
    return out


def table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(no rows)"
    keys = list(rows[0].keys())
    cells = [[("" if r.get(k) is None else str(r.get(k))) for k in keys] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    lines = ["  ".join(k.ljust(w) for k, w in zip(keys, widths)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(cell, widths)) for cell in cells]
    return "\n".join(lines)
