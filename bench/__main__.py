"""``python -m bench SUITE|all [--quick] [--json FILE] [--limit-s S] [--instances NAME ...] [--files PATH ...]``.

``python -m bench patrol [--quick] [--before REV]``: whole scenario runs; ``--before`` also runs
them with the code at git revision REV and prints before and after side by side.

``python -m bench scaling [--quick] [--json FILE] [--plot FILE]``: how cost grows with size.

``all`` runs every suite in turn and keeps going: a suite whose module is missing, or
whose optional reference library is not installed, prints a note; a suite that fails
prints its traceback and makes the exit code 1, after the other suites have run.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from ._common import machine, table

SUITES = ("network", "risk", "coverage", "routing", "map", "batch", "patrol", "response", "cli")
OPTIONAL = {"spopt", "pulp", "pyvrp", "playwright", "matplotlib", "dask", "distributed"}


def _load(name: str) -> Any:
    """The suite's ``run``, or a note (str) saying why it is not available."""
    try:
        module = importlib.import_module(f"bench.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"bench.{name}":
            return f"{name}: no module bench/{name}.py in this checkout; skipped"
        if exc.name and exc.name.split(".")[0] in OPTIONAL:
            return f"{name}: needs {exc.name} (pip install -e '.[bench]'); skipped"
        raise
    return module.run


def _run_suite(name: str, args: argparse.Namespace) -> list[dict[str, Any]] | str:
    run = _load(name)
    if isinstance(run, str):
        return run
    extra = {
        k: getattr(args, k)
        for k in ("limit_s", "instances", "files", "before", "suite_name", "work")
        if getattr(args, k) is not None
    }
    if args.district:
        extra["district"] = True
    accepted = inspect.signature(run).parameters
    try:
        return run(quick=args.quick, **{k: v for k, v in extra.items() if k in accepted})
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in OPTIONAL:
            return f"{name}: needs {exc.name} (pip install -e '.[bench]'); skipped"
        raise


def _write(path: Path | None, rows: list[dict[str, Any]]) -> None:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rows, indent=2, default=str) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("suite", choices=[*SUITES, "all", "scaling"])
    parser.add_argument("--quick", action="store_true", help="Smaller instances and limits (all: under 5 minutes).")
    parser.add_argument("--json", type=Path, metavar="FILE", help="Write all rows as JSON (after each suite).")
    parser.add_argument("--limit-s", type=float, help="Time limit per solve (suites that take it).")
    parser.add_argument("--instances", nargs="+", metavar="NAME", help="Named instances (suites that take them).")
    parser.add_argument("--files", nargs="+", type=Path, metavar="PATH", help="Instance files (suites that take them).")
    parser.add_argument("--before", metavar="REV", help="patrol: also run the scenarios with the code at git revision REV.")
    parser.add_argument("--district", action="store_true", help="patrol: the district scenario, per-stage time and memory.")
    parser.add_argument("--suite", dest="suite_name", metavar="NAME", help="routing: solomon (default) or gh200.")
    parser.add_argument("--work", type=float, help="routing: deterministic work units per solve (both solvers).")
    parser.add_argument("--plot", type=Path, metavar="FILE", help="scaling: draw the log-log chart into FILE (PNG/SVG).")
    args = parser.parse_args(argv)

    info = machine()
    print("machine: " + ", ".join(f"{k} {v}" for k, v in info.items() if v is not None))
    if args.suite == "scaling":
        from .scaling import plot, run

        rows = run(quick=args.quick)
        print(f"\n== scaling ==\n{table(rows)}")
        _write(args.json, rows)
        if args.plot is not None:
            print(f"scaling: chart written to {plot(rows, args.plot)}")
        return 0

    suites = SUITES if args.suite == "all" else (args.suite,)
    rows: list[dict[str, Any]] = []
    failed: list[str] = []
    t_all = time.perf_counter()
    for name in suites:
        t0 = time.perf_counter()
        try:
            result = _run_suite(name, args)
        except Exception:  # noqa: BLE001 - report, then run the other suites
            if args.suite != "all":
                raise
            failed.append(name)
            print(f"\n== {name} == FAILED after {time.perf_counter() - t0:.0f} s")
            traceback.print_exc()
            continue
        if isinstance(result, str):
            print(f"\n== {name} == {result}")
            continue
        print(f"\n== {name} == ({time.perf_counter() - t0:.0f} s)\n{table(result)}", flush=True)
        rows += result
        _write(args.json, rows)
    if args.suite == "all":
        print(
            f"\nbench: {len(suites) - len(failed)} of {len(suites)} suites ran in {time.perf_counter() - t_all:.0f} s"
            + (f"; failed: {', '.join(failed)}" if failed else "")
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
