"""``python -m bench SUITE|all [--quick] [--json FILE]``."""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
from pathlib import Path

from ._common import table

SUITES = ("network", "risk", "coverage")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("suite", choices=[*SUITES, "all"])
    parser.add_argument("--quick", action="store_true", help="Smaller instances, a few minutes in all.")
    parser.add_argument("--json", type=Path, metavar="FILE", help="Write all rows as JSON.")
    args = parser.parse_args(argv)
    suites = SUITES if args.suite == "all" else (args.suite,)
    print(f"machine: {platform.machine()} {platform.system()} python {platform.python_version()}")
    rows = []
    for name in suites:
        suite_rows = importlib.import_module(f"bench.{name}").run(quick=args.quick)
        print(f"\n== {name} ==\n{table(suite_rows)}")
        rows += suite_rows
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
