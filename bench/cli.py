"""``python -m bench cli``: how long the ``geoengine`` command takes to start.

Each command runs in a fresh interpreter (as a user types it), several times; the row
keeps the fastest wall time (the least disturbed by other load) and the median. The
target is under 1.5 s for ``--help`` and ``validate`` (lazy imports in ``geoengine``
and ``geoengine.cli``); this is a bench, so nothing is asserted.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ._common import row

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 1.5
COMMANDS: dict[str, list[str]] = {
    "--help": ["--help"],
    "validate demo": ["validate", str(ROOT / "scenarios" / "demo.yaml")],
    "run --help": ["run", "--help"],
}


def _time(args: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "geoengine", *args],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    return time.perf_counter() - t0


def run(*, quick: bool = False) -> list[dict[str, Any]]:
    repeats = 3 if quick else 7
    rows = []
    for name, args in COMMANDS.items():
        _time(args)  # warm the file cache (bytecode, shared libraries)
        walls = [_time(args) for _ in range(repeats)]
        best = min(walls)
        rows.append(
            row(
                "cli",
                name,
                "geoengine",
                wall_s=best,
                median_s=round(statistics.median(walls), 3),
                target_s=TARGET_S,
                under_target=best < TARGET_S,
            )
        )
    return rows
