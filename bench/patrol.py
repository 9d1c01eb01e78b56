"""Suite ``patrol``: whole scenario runs, scored as a shift commander would read the plan.

``python -m bench patrol [--quick] [--before REV] [--json FILE]``; ``python -m bench patrol --district``

``--district``: the district scenario of :mod:`bench._district` (Baltimore's streets, synthetic
incidents, 18 beats, 50 teams in 3 shifts, 15 checkpoints, 20 booths; needs ``../shared/data``)
end to end in a fresh process, one row per stage (network, layers, risk, coverage, patrol,
evaluation, export) with its wall time and peak memory (the stage's growth of the process's
peak resident set) and a row for the whole run.

Each scenario runs end to end (``geoengine.run(scenario, out_dir=…)``, its own settings;
the network and stage caches are off so every run computes every stage) in a fresh Python
process, and its run folder is read back: wall time of the patrol stage and of the whole run
(manifest ``timings_s``), dosage met (``objective``) beside the capacity bound on it
(``bound``: the best dosage any plan could reach; ``gap = (bound − dosage) / bound``),
idle share of the teams' shifts, visits planned and dropped with the drop causes, the
audit's violations (count and by kind), the manifest's ``reproducible`` flag, and the
``routes.csv`` visit rows that repeat the previous stop with no travel (back-to-back stays)
and team routes with no visit at all (base to base).
``wall_s`` is the ``geoengine.run`` call, ``peak_mb`` the child process's peak resident set.

``--quick``: the demo only. Full: the demo and ``scenarios/sf_downtown.yaml`` (needs
``../shared/data``; skipped with a note when it is absent).

``--before REV``: also run the same scenarios with the code at git revision REV (a
``git worktree`` in ``/tmp/geoengine-before``, removed afterwards; the child process gets
``PYTHONPATH`` set to it; each scenario file as it was at REV, with the same data) and print
before and after side by side. Older code writes less:
what its folder lacks is computed from its files where possible — dosage from
``patrol_dosage.csv``, idle share from ``routes.csv`` (shift = window length per team and
window, busy = Σ travel + dwell), back-to-back rows — and the current
:func:`geoengine.audit.audit_run` checks the old folder when its files have the columns it
needs; otherwise the cell says ``n/a``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from ._common import SHARED, row

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = {
    "demo": REPO / "scenarios" / "demo.yaml",
    "sf_downtown": REPO / "scenarios" / "sf_downtown.yaml",
}
BEFORE_DIR = Path(tempfile.gettempdir()) / "geoengine-before"

_CHILD = """
import json, resource, sys, time
import geoengine
t0 = time.perf_counter()
geoengine.run(sys.argv[1], out_dir=sys.argv[2])
wall = time.perf_counter() - t0
print("BENCH " + json.dumps({"wall_s": wall, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                             "geoengine": geoengine.__file__}))
"""


_DISTRICT_CHILD = """
import json, re, sys, time
from pathlib import Path
import geoengine
from geoengine import pipeline

def _kb(field):
    m = re.search(rf"^{field}:\\s+(\\d+)\\s+kB", Path("/proc/self/status").read_text(), flags=re.M)
    return int(m.group(1)) if m else 0

stages = []
def wrap(name, label):
    fn = getattr(pipeline, name)
    def inner(*a, **k):
        try:
            Path("/proc/self/clear_refs").write_text("5")  # reset the peak resident set
        except OSError:
            pass
        before, t = _kb("VmRSS"), time.perf_counter()
        out = fn(*a, **k)
        stages.append({"stage": label, "wall_s": time.perf_counter() - t, "peak_mb": (_kb("VmHWM") - before) / 1024,
                       "rss_mb": _kb("VmRSS") / 1024})
        return out
    setattr(pipeline, name, inner)

for name, label in (("load_network", "network"), ("load_layers", "layers"), ("_risk_stage", "risk"),
                    ("_coverage_stage", "coverage"), ("_patrol_stage", "patrol"), ("evaluate_run", "evaluation")):
    wrap(name, label)
t0 = time.perf_counter()
geoengine.run(sys.argv[1], out_dir=sys.argv[2])
wall = time.perf_counter() - t0
print("BENCH " + json.dumps({"wall_s": wall, "peak_mb": _kb("VmHWM") / 1024, "stages": stages,
                             "geoengine": geoengine.__file__}))
"""


# --------------------------------------------------------------------------- scenarios
def bench_scenario(src: Path, folder: Path, *, base: Path | None = None) -> Path:
    """``src`` with absolute paths (relative ones resolved against ``base``, default its
    folder) and no caches (every stage computed), written into ``folder``."""
    data = yaml.safe_load(src.read_text(encoding="utf-8"))
    base = (base or src.parent).resolve()

    def absolute(value: str) -> str:
        return value if "://" in value or Path(value).is_absolute() else str((base / value).resolve())

    net = data.setdefault("network", {})
    if isinstance(net.get("source"), str):
        net["source"] = absolute(net["source"])
    net["cache"] = False
    net.pop("cache_dir", None)
    for layer in (data.get("layers") or {}).values():
        if isinstance(layer, dict) and isinstance(layer.get("path"), str):
            layer["path"] = absolute(layer["path"])
    data.setdefault("outputs", {})["folder"] = str(folder / "runs")
    path = folder / src.name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _needs_shared(src: Path) -> bool:
    return "shared/data" in src.read_text(encoding="utf-8")


def _scenarios(quick: bool) -> tuple[list[tuple[str, Path]], list[str]]:
    names = ["demo"] if quick else ["demo", "sf_downtown"]
    chosen, notes = [], []
    for name in names:
        src = SCENARIOS[name]
        if _needs_shared(src) and not SHARED.is_dir():
            notes.append(f"patrol: {name} needs {SHARED} (absent); skipped")
            continue
        chosen.append((name, src))
    return chosen, notes


# --------------------------------------------------------------------------- one run
def run_scenario(scenario: Path, out_dir: Path, *, code_root: Path = REPO, child: str = _CHILD) -> dict[str, Any]:
    """Run ``scenario`` into ``out_dir`` in a fresh process with the code at ``code_root``."""
    env = dict(
        os.environ,
        PYTHONPATH=str(code_root) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    )
    proc = subprocess.run(
        [sys.executable, "-c", child, str(scenario), str(out_dir)],
        check=False,
        cwd=out_dir.parent,
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"run of {scenario.name} with the code at {code_root} failed:\n{proc.stderr[-4000:]}")
    line = [x for x in proc.stdout.splitlines() if x.startswith("BENCH ")][-1]
    info = json.loads(line[len("BENCH ") :])
    if Path(info["geoengine"]).resolve().parents[1] != code_root.resolve():
        raise RuntimeError(f"the child imported {info['geoengine']}, not the code at {code_root}")
    return info


# --------------------------------------------------------------------------- reading a run folder
def _csv(path: Path) -> Any:
    import pandas as pd

    return pd.read_csv(path) if path.is_file() and path.stat().st_size > 0 else None


VISIT_KINDS = ("hotspot", "district")


def back_to_back(routes: Any) -> int:
    """Visit rows of ``routes.csv`` (hotspot, district) at the same place as the team's
    previous row in that window, with no travel and less than 15 min after it: one longer stay
    written as several visits (a team that left and came back is a revisit)."""
    if routes is None or not len(routes):
        return 0
    r = routes.sort_values(["team", "window", "seq"], kind="stable")
    prev = r.groupby(["team", "window"], sort=False)["place_id"].shift()
    travel = r["travel_min_from_prev"].fillna(0) if "travel_min_from_prev" in r else 0
    if {"arrive_s", "depart_s"} <= set(r.columns):
        gap = r["arrive_s"] - r.groupby(["team", "window"], sort=False)["depart_s"].shift()
    else:  # an older routes.csv without seconds: every repeat counts
        gap = 0
    return int(((r["place_id"] == prev) & (travel == 0) & r["place_kind"].isin(VISIT_KINDS) & (gap < 15 * 60)).sum())


def idle_routes(routes: Any) -> int:
    """Team routes (team and window) in ``routes.csv`` with no visit: base to base, the whole shift idle."""
    if routes is None or not len(routes):
        return 0
    visits = routes["place_kind"].isin(VISIT_KINDS).groupby([routes["team"], routes["window"]]).sum()
    return int((visits == 0).sum())


def idle_from_routes(routes: Any, window_min: dict[str, float]) -> float | None:
    """Σ idle / Σ shift over the teams and windows of ``routes.csv``: shift = the window's
    length, busy = Σ travel + dwell (breaks included where the file has them)."""
    if routes is None or not len(routes):
        return None
    shift = busy = 0.0
    for (_, window), g in routes.groupby(["team", "window"]):
        length = window_min.get(str(window))
        if length is None:
            continue
        shift += length
        busy += min(
            length,
            float(g["travel_min_from_prev"].fillna(0).sum() + g["dwell_min"].fillna(0).sum()),
        )
    return round((shift - busy) / shift, 4) if shift > 0 else None


def _window_minutes(scenario: Path | None) -> dict[str, float]:
    if scenario is None or not scenario.is_file():
        return {}
    data = yaml.safe_load(scenario.read_text(encoding="utf-8")) or {}
    out = {}
    for w in data.get("windows") or []:
        sm, em = (int(w[k][:2]) * 60 + int(w[k][3:5]) for k in ("start", "end"))
        out[w["name"]] = float(em - sm if em > sm else em + 24 * 60 - sm)
    return out


def _audit_old(run_dir: Path) -> tuple[int | str, dict[str, int] | str, str | None]:
    """The current audit on a folder whose manifest has none: (violations, by kind, note)."""
    try:
        from geoengine.audit import RunFolderError, audit_run
    except ImportError:
        return "n/a", "n/a", "no geoengine.audit"
    try:
        report = audit_run(run_dir)
    except RunFolderError as err:
        return "n/a", "n/a", f"audit: {str(err).splitlines()[0]}"
    note = "; ".join(report.notes) or None
    return len(report.violations), report.by_kind(), note


def summarize(run_dir: Path, *, scenario: Path | None = None, audit_missing: bool = True) -> dict[str, Any]:
    """The suite's columns for one run folder (see the module docstring)."""
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    timings = manifest.get("timings_s") or {}
    patrol = (manifest.get("metrics") or {}).get("patrol") or {}
    routes = _csv(run_dir / "routes.csv")
    notes: list[str] = []

    dosage = patrol.get("dosage_met_share")
    if dosage is None:
        d = _csv(run_dir / "patrol_dosage.csv")
        if d is not None and len(d):
            hot = d[d["kind"] == "hotspot"] if "kind" in d else d
            dosage = round(float(hot["met"].astype(str).str.lower().eq("true").mean()), 4) if len(hot) else None

    idle = patrol.get("idle_share")
    idle_from = "metrics"
    if idle is None:
        teams = _csv(run_dir / "teams.csv")
        if teams is not None and len(teams) and teams["shift_min"].sum() > 0:
            idle, idle_from = (
                round(float(teams["idle_min"].sum() / teams["shift_min"].sum()), 4),
                "teams.csv",
            )
        else:
            idle, idle_from = (
                idle_from_routes(routes, _window_minutes(scenario)),
                "routes.csv",
            )
            if idle is not None:
                notes.append("idle share from routes.csv (shift = window length; no break rows in old files)")

    planned = patrol.get("visits_planned")
    if planned is None and routes is not None:
        planned = int(routes["place_kind"].isin(["hotspot", "district"]).sum())
    dropped = patrol.get("visits_dropped")
    reasons = patrol.get("dropped_reasons")
    if reasons is None:
        dv = _csv(run_dir / "dropped_visits.csv")
        if dv is not None:
            col = "cause" if "cause" in dv else "reason" if "reason" in dv else None
            reasons = {str(k): int(n) for k, n in dv[col].value_counts().items()} if col else None
            if dropped is None:
                dropped = len(dv)

    audit = manifest.get("audit")
    if isinstance(audit, dict) and "violations" in audit:
        violations, by_kind = audit["violations"], audit.get("by_kind", {})
    elif audit_missing:
        violations, by_kind, note = _audit_old(run_dir)
        if note:
            notes.append(note)
    else:
        violations, by_kind = "n/a", "n/a"

    return {
        "patrol_s": timings.get("patrol"),
        "total_s": timings.get("total"),
        "dosage_met_share": dosage,
        "dosage_bound": patrol.get("dosage_bound"),
        "idle_share": idle,
        "idle_from": idle_from,
        "visits_planned": planned,
        "visits_dropped": dropped,
        "dropped_reasons": reasons,
        "audit_violations": violations,
        "audit_by_kind": by_kind,
        "reproducible": manifest.get("reproducible", "n/a"),
        "reproducible_notes": manifest.get("reproducible_notes") or None,
        "routes_rows": 0 if routes is None else len(routes),
        "back_to_back": back_to_back(routes),
        "idle_routes": idle_routes(routes),
        "notes": notes,
    }


def patrol_row(
    instance: str,
    code: str,
    summary: dict[str, Any],
    *,
    wall_s: float,
    peak_mb: float | None,
) -> dict[str, Any]:
    """One JSON row: objective = dosage met, bound = the capacity bound on it."""
    obj, bound = summary.get("dosage_met_share"), summary.get("dosage_bound")
    gap = round((bound - obj) / bound, 4) if obj is not None and bound else None
    return row(
        "patrol",
        instance,
        code,
        wall_s=wall_s,
        peak_mb=peak_mb,
        objective=obj,
        bound=bound,
        gap=gap,
        **{k: v for k, v in summary.items() if k not in ("dosage_met_share", "dosage_bound")},
    )


def _measure(name: str, src: Path, tmp: Path, *, code_root: Path, code: str) -> dict[str, Any]:
    folder = tmp / f"{name}-{code.split()[0]}"
    folder.mkdir()
    own = code_root / src.relative_to(REPO)  # the scenario as it was at that revision (same data)
    if code_root != REPO and own.is_file() and own.read_bytes() != src.read_bytes():
        print(f"patrol: {name} {code}: runs {src.relative_to(REPO)} as it was at that revision (the file changed since)")
    scenario = bench_scenario(own if own.is_file() else src, folder, base=src.parent)
    out = folder / "run"
    info = run_scenario(scenario, out, code_root=code_root)
    return patrol_row(
        name,
        code,
        summarize(out, scenario=scenario),
        wall_s=info["wall_s"],
        peak_mb=info["peak_mb"],
    )


# --------------------------------------------------------------------------- before / after
def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], check=True, capture_output=True, text=True).stdout.strip()


def _label(rev: str, when: str, *, tree: bool = False) -> str:
    """``before 1a2b3c4`` (REV); with ``tree``: the last commit that changed geoengine/, and
    ``+ edits`` when the working tree's geoengine/ has uncommitted changes."""
    if not tree:
        return f"{when} {_git('rev-parse', '--short', rev)}"
    dirty = bool(_git("status", "--porcelain", "--", "geoengine"))
    return f"{when} {_git('log', '-1', '--format=%h', rev, '--', 'geoengine')}" + (" + edits" if dirty else "")


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1 else f"{value:.1f}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items()) or "none"
    return str(value)


SIDE_BY_SIDE = (
    ("wall time, patrol stage (s)", "patrol_s"),
    ("wall time, whole run (s)", "total_s"),
    ("dosage met", "objective"),
    ("capacity bound on dosage", "bound"),
    ("idle share of shifts", "idle_share"),
    ("visits planned", "visits_planned"),
    ("visits dropped", "visits_dropped"),
    ("dropped, by cause", "dropped_reasons"),
    ("audit violations", "audit_violations"),
    ("audit, by kind", "audit_by_kind"),
    ("reproducible", "reproducible"),
    ("back-to-back visit rows / routes.csv rows", None),
    ("team routes with no visit", "idle_routes"),
    ("peak memory (MB)", "peak_mb"),
)


def side_by_side(rows: list[dict[str, Any]]) -> str:
    """Metrics down, (scenario, code) across."""
    cols = [(r["instance"], r["solver"]) for r in rows]
    head = ["metric", *(f"{i}: {s}" for i, s in cols)]
    lines = [head]
    for label, key in SIDE_BY_SIDE:
        if key is None:
            lines.append([label, *(f"{r['back_to_back']} / {r['routes_rows']}" for r in rows)])
        else:
            lines.append([label, *(_fmt(r.get(key)) for r in rows)])
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def run_district(folder: Path | None = None) -> list[dict[str, Any]]:
    """The district scenario end to end: one row per stage (wall time, peak memory) and one for the run."""
    from . import _district

    if not _district.PBF.is_file():
        print(f"patrol --district: {_district.PBF} not found; skipped")
        return []
    with tempfile.TemporaryDirectory(prefix="geoengine-bench-district-") as tmp_name:
        work = folder or Path(tmp_name)
        scenario = _district.write_district(work)
        out = work / "run"
        info = run_scenario(scenario, out, child=_DISTRICT_CHILD)
        summary = summarize(out, scenario=scenario)
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    timings = manifest.get("timings_s") or {}
    rows = [
        row(
            "patrol-district",
            "baltimore",
            s["stage"],
            wall_s=s["wall_s"],
            peak_mb=s["peak_mb"],
            rss_after_mb=round(s["rss_mb"], 1),
        )
        for s in info["stages"]
    ]
    for stage in ("audit", "export"):
        if timings.get(stage) is not None:
            rows.append(row("patrol-district", "baltimore", stage, wall_s=float(timings[stage])))
    rows.append(
        patrol_row(
            "baltimore",
            "whole run",
            summary,
            wall_s=info["wall_s"],
            peak_mb=info["peak_mb"],
        )
    )
    rows[-1].update(
        suite="patrol-district",
        teams=_district.n_teams(),
        beats=18,
        checkpoints=15,
        booths=20,
    )
    return rows


def run(*, quick: bool = False, before: str | None = None, district: bool = False) -> list[dict[str, Any]]:
    if district:
        return run_district()
    chosen, notes = _scenarios(quick)
    for note in notes:
        print(note)
    rows: list[dict[str, Any]] = []
    after = _label("HEAD", "after", tree=True) if before else "geoengine"
    with tempfile.TemporaryDirectory(prefix="geoengine-bench-patrol-") as tmp_name:
        tmp = Path(tmp_name)
        if before:
            old = _label(before, "before")
            if BEFORE_DIR.exists():
                _git("worktree", "remove", "--force", str(BEFORE_DIR))
            _git("worktree", "add", "--detach", str(BEFORE_DIR), before)
            try:
                for name, src in chosen:
                    rows.append(_measure(name, src, tmp, code_root=BEFORE_DIR, code=old))
                    rows.append(_measure(name, src, tmp, code_root=REPO, code=after))
            finally:
                _git("worktree", "remove", "--force", str(BEFORE_DIR))
            print(f"\npatrol before ({before}) and after (HEAD), side by side:\n{side_by_side(rows)}")
        else:
            for name, src in chosen:
                rows.append(_measure(name, src, tmp, code_root=REPO, code=after))
    for r in rows:
        for note in r.get("notes") or ():
            print(f"patrol: {r['instance']} {r['solver']}: {note}")
    return rows
