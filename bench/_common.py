"""Shared bench helpers: timing with peak memory, rows, tables, the machine."""

from __future__ import annotations

import ctypes
import gc
import os
import platform
import re
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
ROW_KEYS = ("suite", "instance", "solver", "objective", "bound", "gap", "best_known", "gap_to_best_known", "wall_s", "peak_mb")

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _vm_kb(field: str) -> int | None:
    try:
        match = re.search(rf"^{field}:\s+(\d+)\s+kB", _STATUS.read_text(), flags=re.M)
    except OSError:
        return None
    return int(match.group(1)) if match else None


def _trim() -> None:
    """Give freed heap memory back to the system, so that reuse of it counts as growth."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _reset_peak_rss() -> bool:
    """Reset the process's resident-set high-water mark (Linux ≥ 4.0: write 5 to clear_refs)."""
    try:
        _trim()
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return _vm_kb("VmHWM") is not None


def measure(fn: Callable[[], Any]) -> tuple[Any, float, float | None]:
    """Run ``fn``; return its result, wall seconds and its peak memory in MB.

    Peak memory is the growth of the process's peak resident set over the call (Linux:
    freed heap is returned to the system and the high-water mark reset before the call,
    so native memory of SCIP, OR-Tools or GDAL counts, and timing is not slowed). Elsewhere it falls back to tracemalloc's peak
    of Python allocations, which slows Python-heavy code: compare wall times only between
    rows measured the same way.
    """
    if _reset_peak_rss():
        before = _vm_kb("VmRSS") or 0
        t0 = time.perf_counter()
        result = fn()
        wall = time.perf_counter() - t0
        peak = max((_vm_kb("VmHWM") or before) - before, 0)
        return result, wall, peak / 1024
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        result = fn()
    finally:
        wall = time.perf_counter() - t0
        _, peak_b = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return result, wall, peak_b / 2**20


def row(suite: str, instance: str, solver: str, *, wall_s: float, peak_mb: float | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {key: None for key in ROW_KEYS}
    out.update(
        suite=suite,
        instance=instance,
        solver=solver,
        wall_s=round(wall_s, 3),
        peak_mb=None if peak_mb is None else round(peak_mb, 1),
    )
    out.update(extra)
    return out


def fill_best_known(rows: list[dict[str, Any]], *, maximize: bool) -> None:
    """Per instance, set ``best_known`` to the best objective any row reached in this run
    (unless a row already names one) and ``gap_to_best_known`` relative to it."""
    by_instance: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_instance.setdefault(r["instance"], []).append(r)
    for group in by_instance.values():
        values = [r["objective"] for r in group if r["objective"] is not None]
        if not values:
            continue
        best = max(values) if maximize else min(values)
        for r in group:
            if r["best_known"] is None:
                r["best_known"] = best
            if r["objective"] is not None and r["best_known"]:
                sign = 1 if maximize else -1
                r["gap_to_best_known"] = round(sign * (r["best_known"] - r["objective"]) / abs(r["best_known"]), 6)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return str(value)


def table(rows: list[dict[str, Any]]) -> str:
    """A plain-text table of the rows; columns empty in every row are left out."""
    if not rows:
        return "(no rows)"
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    keys = [k for k in keys if any(r.get(k) is not None for r in rows) or k in ("suite", "instance", "solver")]
    cells = [[_cell(r.get(k)) for k in keys] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    lines = ["  ".join(k.ljust(w) for k, w in zip(keys, widths)).rstrip(), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(cell, widths)).rstrip() for cell in cells]
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    """The machine and the solver versions, for the record."""
    info: dict[str, Any] = {
        "platform": f"{platform.system()} {platform.machine()}",
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    try:
        text = Path("/proc/cpuinfo").read_text()
        model = re.search(r"^model name\s*:\s*(.+)$", text, flags=re.M)
        if model:
            info["cpu"] = model.group(1).strip()
        mem = re.search(r"^MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text(), flags=re.M)
        if mem:
            info["memory_gb"] = round(int(mem.group(1)) / 2**20, 1)
    except OSError:
        pass
    try:
        info["load_1min"] = round(os.getloadavg()[0], 2)
    except OSError:
        pass
    from importlib.metadata import PackageNotFoundError, version

    for package in ("ortools", "pyvrp", "spopt", "pulp", "shapely", "numpy"):
        try:
            info[package] = version(package)
        except PackageNotFoundError:
            info[package] = None
    return info
