"""``python -m bench SUITE|all [--quick] [--json FILE] [--limit-s S] [--instances NAME ...] [--files PATH ...]``."""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import platform
import sys
from pathlib import Path

from ._common import table

SUITES = ("network", "risk", "coverage", "routing", "map", "batch")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("suite", choices=[*SUITES, "all"])
    parser.add_argument("--quick", action="store_true", help="Smaller instances, a few minutes in all.")
    parser.add_argument("--json", type=Path, metavar="FILE", help="Write all rows as JSON.")
    parser.add_argument("--limit-s", type=float, help="Time limit per solve (suites that take it).")
    parser.add_argument("--instances", nargs="+", metavar="NAME", help="Named instances (suites that take them).")
    parser.add_argument("--files", nargs="+", type=Path, metavar="PATH", help="Instance files (suites that take them).")
    args = parser.parse_args(argv)
    suites = SUITES if args.suite == "all" else (args.suite,)
    print(f"machine: {platform.machine()} {platform.system()} python {platform.python_version()}")
    rows = []
    for name in suites:
        run = importlib.import_module(f"bench.{name}").run
        extra = {k: getattr(args, k) for k in ("limit_s", "instances", "files") if getattr(args, k) is not None}
        accepted = inspect.signature(run).parameters
        suite_rows = run(quick=args.quick, **{k: v for k, v in extra.items() if k in accepted})
        print(f"\n== {name} ==\n{table(suite_rows)}")
        rows += suite_rows
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
