"""Many runs on Dask: sweeps, resumable and fault-isolated runs, a summary that compares them.

``run_batch(paths)`` finds the scenarios (files, folders, globs), expands each
scenario's ``sweep:`` into named runs, and runs every run as one task on a
``dask.distributed`` cluster: by default a :class:`~distributed.LocalCluster` with N
worker processes on this machine, or an existing cluster named by its scheduler address.
Scenarios and their inputs travel to the workers *by path*: on a cluster of several
machines every worker must see the same files at the same paths (shared storage).

- **Run folders** are named ``<run name>-<hash>``, the hash of the scenario's content,
  its input files' bytes and the engine version. A folder is complete exactly when its
  ``manifest.json`` is there. A run writes into a hidden temporary folder beside it and
  renames that into place when it is done, so a batch killed at any moment (even
  ``kill -9``) leaves no folder that looks complete but is not.
- **Resume**: a rerun skips runs whose folder is complete and redoes the others.
- **Fault isolation**: a run that fails (bad input, infeasible settings, a crash, its
  worker killed) is recorded as failed with its reason; the others go on.
- **Shared work**: the network, the risk surface and the camera plan are cached on disk
  by the content hash of their inputs (see :mod:`geoengine._stage_cache`), so runs of a
  sweep that differ only in later settings compute them once.
- **Progress**: a live bar (done / failed / running, elapsed time) and one line per run
  in ``batch.log``; at the end ``summary.csv``, ``summary.html`` (self-contained, with
  charts) and ``batch.json`` in the output folder.
"""

from __future__ import annotations

import datetime as dt
import glob
import json
import logging
import os
import re
import shutil
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ._io import sha256_file, sha256_text, write_json_atomic, write_text_atomic
from .errors import GeoEngineError, InfeasibleSettingsError, ScenarioError

__all__ = [
    "BatchProgress",
    "BatchResult",
    "RunRecord",
    "RunSpec",
    "expand_scenario",
    "find_scenarios",
    "is_complete",
    "plan_batch",
    "run_batch",
    "run_one",
]

log = logging.getLogger(__name__)
SCENARIO_SUFFIXES = (".yaml", ".yml")


# --------------------------------------------------------------------------- records
@dataclass(frozen=True)
class RunSpec:
    """One run of a batch: a scenario (or the reason it could not be read) and its folder."""

    name: str
    source: Path
    folder: Path
    run_id: str
    scenario: Any = field(default=None, repr=False)  # Scenario | None
    params: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class RunRecord:
    """What became of one run: ``status`` is ``complete`` (run now), ``skipped`` (complete
    before) or ``failed`` (with ``reason`` and ``failure``: input, infeasible, crash, worker)."""

    name: str
    source: str
    folder: str
    run_id: str
    status: str
    params: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    failure: str | None = None
    wall_s: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    worker: str | None = None
    peak_mb: float | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("complete", "skipped")


@dataclass(frozen=True)
class BatchProgress:
    """A snapshot for progress displays: counts, elapsed seconds, runs being worked on (name → worker)."""

    total: int
    done: int
    failed: int
    skipped: int
    running: dict[str, str]
    elapsed_s: float


@dataclass(frozen=True)
class BatchResult:
    """Every run's record, the output folder and the summary files."""

    records: tuple[RunRecord, ...]
    out_dir: Path
    elapsed_s: float
    workers: int | None = None

    @property
    def failed(self) -> tuple[RunRecord, ...]:
        return tuple(r for r in self.records if r.status == "failed")

    @property
    def ok(self) -> bool:
        return not self.failed

    def table(self) -> Any:
        """One row per run (the rows of ``summary.csv``) as a DataFrame."""
        import pandas as pd

        return pd.DataFrame([_summary_row(r) for r in self.records]).convert_dtypes()

    def summary(self) -> str:
        counts = {s: sum(r.status == s for r in self.records) for s in ("complete", "skipped", "failed")}
        lines = [
            f"batch: {len(self.records)} runs — {counts['complete']} complete, {counts['skipped']} already complete "
            f"(skipped), {counts['failed']} failed; {self.elapsed_s:.1f} s",
            f"summary  {self.out_dir / 'summary.html'}",
        ]
        lines += [f"failed   {r.name}: {r.reason}" for r in self.failed]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return self.table()._repr_html_()


# --------------------------------------------------------------------------- finding and expanding
def find_scenarios(paths: Iterable[str | Path]) -> list[Path]:
    """Scenario files from files, folders (their ``*.yaml``/``*.yml``) and glob patterns.

    A path that matches nothing is kept as given: running it fails with "file not found"
    like any other bad input, without stopping the rest of the batch.
    """
    out: list[Path] = []
    for raw in paths:
        text = str(raw)
        p = Path(text).expanduser()
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.suffix.lower() in SCENARIO_SUFFIXES and q.is_file())
        elif any(c in text for c in "*?["):
            found = sorted(Path(q) for q in glob.glob(os.path.expanduser(text), recursive=True))
            found = [q for q in found if q.is_file() and q.suffix.lower() in SCENARIO_SUFFIXES]
        else:
            found = [p]
        for q in found:
            if q.resolve() not in {o.resolve() for o in out}:
                out.append(q)
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]+", "-", text).strip("-").lower() or "run"


def expand_scenario(path: str | Path) -> list[tuple[str, Any, dict[str, Any]]]:
    """The runs of one scenario file: ``(name, Scenario, parameters)`` per sweep point, or
    the scenario itself when it has no ``sweep``. Raises the scenario's own errors."""
    import yaml

    from .scenario import load_scenario, parse_scenario, sweep_variants

    path = Path(path)
    base = load_scenario(path)
    if base.sweep is None:
        return [(base.name, base, {})]
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    runs = []
    # one expansion for validate and batch (scenario.sweep_variants); load_scenario has checked every path
    for label, variant, chosen, problem in sweep_variants(data, base.sweep, base.name):
        if problem is not None or variant is None:
            raise ScenarioError.single(problem or "sweep run cannot be built", file=path, field="sweep.parameters")
        sc = parse_scenario(variant, base_dir=path.resolve().parent, file=f"{path} [sweep {label}]")
        sc._path = path.resolve()
        sc._sha256 = sha256_text(json.dumps(variant, sort_keys=True, default=str))
        runs.append((sc.name, sc, chosen))
    return runs


def _input_files(model: Any) -> list[Path]:
    """Every existing file a scenario names (network source, layers, camera sites, previous run)."""
    found: list[Path] = []

    def walk(value: Any) -> None:
        if isinstance(value, Path):
            if value.is_file():
                found.append(value)
            elif value.is_dir() and (value / "manifest.json").is_file():
                found.append(value / "manifest.json")
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)

    walk(model.model_dump(mode="python", exclude={"outputs", "sweep"}))
    return sorted(set(found))


def run_hash(scenario: Any) -> str:
    """Hash of the scenario's content, its input files' bytes and the engine version."""
    from ._version import __version__

    content = {
        "scenario": scenario.model_dump(mode="json", exclude={"sweep"}),
        "inputs": {str(p): sha256_file(p) for p in _input_files(scenario)},
        "geoengine": __version__,
    }
    return sha256_text(json.dumps(content, sort_keys=True, default=str))


def is_complete(folder: str | Path) -> bool:
    """A run folder is complete exactly when its manifest is there."""
    return (Path(folder) / "manifest.json").is_file()


def _default_out(paths: list[Path]) -> Path:
    from .scenario import load_scenario

    for p in paths:
        try:
            return Path(load_scenario(p).outputs.folder)
        except GeoEngineError:
            continue
    return Path("runs")


def plan_batch(paths: Iterable[str | Path], *, out: str | Path | None = None) -> tuple[Path, list[RunSpec]]:
    """The output folder and the runs of a batch (one per scenario or sweep point); a
    scenario that cannot be read becomes a run with its ``error``."""
    files = find_scenarios(paths)
    if not files:
        raise ScenarioError.single("no scenario files found", field="PATHS", hint="give .yaml files, folders or globs")
    out_dir = Path(out) if out is not None else _default_out(files)
    specs: list[RunSpec] = []
    for f in files:
        try:
            runs = expand_scenario(f)
        except GeoEngineError as err:
            name = _slug(f.stem)
            specs.append(RunSpec(name=name, source=f, folder=out_dir / f"{name}-invalid", run_id="", error=_reason(err)))
            continue
        for name, sc, params in runs:
            try:
                rid = run_hash(sc)
            except OSError as err:
                specs.append(
                    RunSpec(
                        name=name,
                        source=f,
                        folder=out_dir / f"{_slug(name)}-invalid",
                        run_id="",
                        params=params,
                        error=f"cannot read an input file: {err}",
                    )
                )
                continue
            specs.append(
                RunSpec(name=name, source=f, folder=out_dir / f"{_slug(name)}-{rid[:12]}", run_id=rid, scenario=sc, params=params)
            )
    seen: set[str] = set()
    unique = []
    for s in specs:  # the same run given twice runs once
        key = s.run_id or f"invalid:{s.source}"
        if key not in seen:
            seen.add(key)
            unique.append(s)
    return out_dir, unique


# --------------------------------------------------------------------------- one run (on a worker)
def _reason(err: BaseException) -> str:
    if isinstance(err, GeoEngineError):
        return " | ".join(err.lines)
    return f"{type(err).__name__}: {err}"


def _failure_kind(err: BaseException) -> str:
    if isinstance(err, InfeasibleSettingsError):
        return "infeasible"
    if isinstance(err, GeoEngineError):
        return "input"
    return "crash"


KEY_METRICS = {
    "cameras_new": ("coverage", "cameras_new"),
    "new_camera_cost": ("coverage", "new_camera_cost"),
    "covered_weight_share": ("coverage", "covered_weight_share"),
    "covered_weight_share_existing": ("coverage", "covered_weight_share_existing"),
    "coverage_gap": ("coverage", "gap"),
    "teams": ("patrol", "teams"),
    "beats": ("patrol", "beats"),
    "visits_planned": ("patrol", "visits_planned"),
    "visits_dropped": ("patrol", "visits_dropped"),
    "dosage_met_share": ("patrol", "dosage_met_share"),
    "heldout_incidents": ("evaluation", "heldout_incidents"),
    "in_camera_view_share": ("evaluation", "in_camera_view_share"),
    "within_response_share": ("evaluation", "within_response_share"),
    "pai_5pct": ("evaluation", "pai_5pct"),
}


def _key_metrics(manifest: dict[str, Any]) -> dict[str, Any]:
    m = manifest.get("metrics", {})
    out = {k: (m.get(block) or {}).get(name) for k, (block, name) in KEY_METRICS.items()}
    out["run_s"] = (manifest.get("timings_s") or {}).get("total")
    return out


def _peak_mb() -> float | None:
    try:
        import resource
        import sys

        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return round(rss / (2**20 if sys.platform == "darwin" else 2**10), 1)
    except (ImportError, OSError):  # pragma: no cover - Windows
        return None


def _worker_address() -> str | None:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_stale(folder: Path) -> None:
    """Remove temporary folders of this run left by a process on this host that died."""
    host = socket.gethostname()
    for tmp in folder.parent.glob(f".{folder.name}.*.tmp"):
        parts = tmp.name[len(folder.name) + 2 : -4].rsplit(".", 1)
        if len(parts) == 2 and parts[0] == host and parts[1].isdigit() and not _pid_alive(int(parts[1])):
            shutil.rmtree(tmp, ignore_errors=True)


def run_one(spec: RunSpec) -> RunRecord:
    """Run one batch run into its folder (temporary folder, then rename); never raises for
    a failure of the run itself: it comes back as a failed record with the reason."""
    from .pipeline import run as run_pipeline

    t0 = time.perf_counter()
    base = RunRecord(
        name=spec.name,
        source=str(spec.source),
        folder=str(spec.folder),
        run_id=spec.run_id,
        status="failed",
        params=dict(spec.params),
        worker=_worker_address(),
    )
    if spec.error is not None or spec.scenario is None:
        return replace(base, reason=spec.error or "no scenario", failure="input", wall_s=0.0)
    folder = spec.folder
    if is_complete(folder):
        return replace(base, status="skipped", metrics=_read_metrics(folder), wall_s=0.0)
    folder.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale(folder)
    tmp = folder.parent / f".{folder.name}.{socket.gethostname()}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        result = run_pipeline(spec.scenario, out_dir=tmp / "run", progress=False)
        if folder.exists() and not is_complete(folder):
            shutil.rmtree(folder)  # an incomplete folder of an earlier, interrupted attempt
        if is_complete(folder):  # a concurrent batch finished the same run first
            return replace(
                base, status="complete", metrics=_read_metrics(folder), wall_s=time.perf_counter() - t0, peak_mb=_peak_mb()
            )
        os.rename(tmp / "run", folder)
        return replace(
            base, status="complete", metrics=_key_metrics(result.manifest), wall_s=time.perf_counter() - t0, peak_mb=_peak_mb()
        )
    except GeoEngineError as err:
        return replace(base, reason=_reason(err), failure=_failure_kind(err), wall_s=time.perf_counter() - t0, peak_mb=_peak_mb())
    except Exception as err:  # noqa: BLE001 - a crash of one run must not stop the batch
        log.exception("run %s crashed", spec.name)
        return replace(
            base, reason=f"crash: {_reason(err)}", failure="crash", wall_s=time.perf_counter() - t0, peak_mb=_peak_mb()
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _read_metrics(folder: Path) -> dict[str, Any]:
    try:
        return _key_metrics(json.loads((folder / "manifest.json").read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


# --------------------------------------------------------------------------- the batch (client side)
@contextmanager
def _client(workers: int | None, scheduler: str | None) -> Iterator[Any]:
    import dask
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as err:
            raise ScenarioError.single(
                f"cannot reach the Dask scheduler: {err}",
                field="--scheduler",
                hint="start one with `dask scheduler` and workers with `dask worker ADDRESS`",
            ) from None
        try:
            yield client
        finally:
            client.close()
        return
    n = workers or max(1, min(os.cpu_count() or 1, 8))
    # a run that kills its worker twice (e.g. out of memory) is failed rather than retried forever
    with (
        _quiet_dask(),
        dask.config.set(
            {
                "distributed.scheduler.allowed-failures": 1,
                "distributed.worker.daemon": False,
                "distributed.scheduler.worker-saturation": 1.0,
            }
        ),
    ):
        cluster = LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.ERROR
        )
        try:
            client = Client(cluster)
            try:
                yield client
            finally:
                client.close()
        finally:
            cluster.close()


@contextmanager
def _quiet_dask() -> Iterator[None]:
    """Dask's own INFO chatter (cluster start and stop) stays out of the terminal while the batch runs."""
    loggers = [logging.getLogger(n) for n in ("distributed", "tornado", "bokeh")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(max(lg.getEffectiveLevel(), logging.ERROR))
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


class _Log:
    """``batch.log``: one line per event, appended and flushed at once."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def line(self, text: str) -> None:
        stamp = dt.datetime.now().isoformat(timespec="seconds")
        self._fh.write(f"{stamp} {text}\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


def _record_line(r: RunRecord) -> str:
    if r.status == "failed":
        return f"failed   {r.name} ({r.failure}): {r.reason}"
    wall = "" if r.wall_s is None else f" in {r.wall_s:.1f} s"
    where = f" on {r.worker}" if r.worker else ""
    return f"{r.status:<8} {r.name}{wall}{where} -> {r.folder}"


def _bar(enabled: bool, total: int, initial: int) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        initial=initial,
        desc="batch",
        unit="run",
        dynamic_ncols=True,
        bar_format="{desc}: {n_fmt}/{total_fmt} |{bar}| [{elapsed}]{postfix}",
    )


def run_batch(
    paths: Iterable[str | Path],
    *,
    out: str | Path | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = False,
    on_progress: Callable[[BatchProgress], None] | None = None,
    poll_s: float = 0.25,
) -> BatchResult:
    """Run every scenario (and sweep point) of ``paths`` on Dask; see the module docstring.

    Parameters
    ----------
    paths
        Scenario files, folders holding them, or glob patterns.
    out
        Parent folder of the run folders and of ``summary.csv``/``summary.html``/
        ``batch.log``; default the first scenario's ``outputs.folder``.
    workers
        Worker processes of the local cluster (default: the machine's cores, at most 8).
    scheduler
        Address of an existing Dask scheduler (``tcp://host:8786``) instead of a local cluster.
    progress
        Show a live progress bar (done / failed / running, elapsed).
    on_progress
        Called with a :class:`BatchProgress` snapshot every ``poll_s`` seconds while runs are going.
    """
    from distributed import wait

    t0 = time.perf_counter()
    out_dir, specs = plan_batch(paths, out=out)
    out_dir.mkdir(parents=True, exist_ok=True)
    logf = _Log(out_dir / "batch.log")
    records: dict[str, RunRecord] = {}  # by run key (names of different scenario files may repeat)
    todo: list[RunSpec] = []
    for s in specs:
        if s.error is not None:
            records[_key(s)] = run_one(s)
        elif is_complete(s.folder):
            records[_key(s)] = RunRecord(
                name=s.name,
                source=str(s.source),
                folder=str(s.folder),
                run_id=s.run_id,
                status="skipped",
                params=dict(s.params),
                metrics=_read_metrics(s.folder),
            )
        else:
            todo.append(s)
    logf.line(
        f"batch    {len(specs)} runs: {len(todo)} to run, "
        f"{sum(r.status == 'skipped' for r in records.values())} already complete, "
        f"{sum(r.status == 'failed' for r in records.values())} unreadable"
    )
    for r in records.values():
        logf.line(_record_line(r))
    n_workers: int | None = None
    bar = _bar(progress, len(specs), len(records))

    def snapshot(running: dict[str, str]) -> BatchProgress:
        done = sum(r.status in ("complete", "skipped") for r in records.values())
        failed = sum(r.status == "failed" for r in records.values())
        skipped = sum(r.status == "skipped" for r in records.values())
        return BatchProgress(
            total=len(specs), done=done, failed=failed, skipped=skipped, running=running, elapsed_s=time.perf_counter() - t0
        )

    last: list[Any] = [None, 0.0]

    def show(p: BatchProgress) -> None:
        state = (p.done, p.failed, len(p.running))
        if bar is not None and (state != last[0] or p.elapsed_s - last[1] >= 1.0):
            last[0], last[1] = state, p.elapsed_s
            bar.n = p.done + p.failed
            bar.set_postfix_str(f"done {p.done}  failed {p.failed}  running {len(p.running)}", refresh=True)
        if on_progress is not None:
            on_progress(p)

    try:
        if todo:
            with _client(workers, scheduler) as client:
                n_workers = len(client.scheduler_info().get("workers", {}))
                pending = {
                    client.submit(run_one, s, key=f"geoengine-run-{s.run_id[:24]}-{os.getpid()}", pure=False, retries=0): s
                    for s in todo
                }
                key_name = {f.key: s.name for f, s in pending.items()}
                waiting = set(key_name)
                show(snapshot({}))
                while pending:
                    try:
                        finished, _ = wait(list(pending), timeout=poll_s, return_when="FIRST_COMPLETED")
                    except TimeoutError:
                        finished = set()
                    for fut in finished:
                        spec = pending.pop(fut)
                        waiting.discard(fut.key)
                        record = _collect(fut, spec)
                        records[_key(spec)] = record
                        logf.line(_record_line(record))
                    running: dict[str, str] = {}
                    try:
                        for worker, keys in client.processing().items():
                            for k in keys:
                                if k in waiting:
                                    running[key_name[k]] = worker
                    except Exception:  # noqa: BLE001 - the scheduler is busy or a worker just died: show the counts only
                        pass
                    show(snapshot(running))
        show(snapshot({}))
    except BaseException as err:
        logf.line(f"stopped  {type(err).__name__}: {err}; {len(records)} of {len(specs)} runs recorded, rerun to go on")
        logf.close()
        raise
    finally:
        if bar is not None:
            bar.close()
    ordered = tuple(records[_key(s)] for s in specs if _key(s) in records)
    result = BatchResult(records=ordered, out_dir=out_dir, elapsed_s=time.perf_counter() - t0, workers=n_workers)
    try:
        write_summary(result)
        failed = result.failed
        logf.line(
            f"finished {len(ordered)} runs in {result.elapsed_s:.1f} s: {len(failed)} failed"
            + (": " + ", ".join(r.name for r in failed) if failed else "")
        )
    finally:
        logf.close()
    return result


def _key(spec: RunSpec) -> str:
    return spec.run_id or f"invalid:{spec.source}"


def _collect(fut: Any, spec: RunSpec) -> RunRecord:
    """The record a finished future gives, or a failed one saying why the task itself failed."""
    base = RunRecord(
        name=spec.name,
        source=str(spec.source),
        folder=str(spec.folder),
        run_id=spec.run_id,
        status="failed",
        params=dict(spec.params),
    )
    if fut.status == "finished":
        try:
            return fut.result()
        except Exception as err:  # noqa: BLE001
            return replace(base, reason=f"could not fetch the result: {_reason(err)}", failure="crash")
    if fut.status == "cancelled":
        return replace(base, reason="cancelled (the scheduler or its workers went away)", failure="worker")
    exc = fut.exception()
    from distributed import KilledWorker

    if isinstance(exc, KilledWorker):
        return replace(base, reason="the worker process running it died (killed, or out of memory)", failure="worker")
    return replace(base, reason=f"crash: {_reason(exc)}", failure="crash")


# --------------------------------------------------------------------------- summary
def _summary_row(r: RunRecord) -> dict[str, Any]:
    row: dict[str, Any] = {"run": r.name, "status": r.status, "reason": r.reason or ""}
    for k, v in r.params.items():
        row[f"param:{k}"] = v if not isinstance(v, (dict, list, tuple)) else json.dumps(v, default=str)
    row.update({k: r.metrics.get(k) for k in (*KEY_METRICS, "run_s")})
    row.update(
        {
            "wall_s": None if r.wall_s is None else round(r.wall_s, 2),
            "peak_mb": r.peak_mb,
            "worker": r.worker or "",
            "scenario": r.source,
            "folder": r.folder,
            "run_id": r.run_id,
        }
    )
    return row


def write_summary(result: BatchResult) -> dict[str, Path]:
    """Write ``summary.csv``, ``summary.html`` and ``batch.json`` into the batch folder."""
    from .export.pages import summary_html

    table = result.table()
    out = result.out_dir
    paths = {
        "csv": write_text_atomic(out / "summary.csv", table.to_csv(index=False)),
        "html": write_text_atomic(out / "summary.html", summary_html(table, title=f"geoengine batch — {out.name}")),
        "json": write_json_atomic(
            out / "batch.json",
            {
                "elapsed_s": round(result.elapsed_s, 3),
                "workers": result.workers,
                "runs": [json.loads(json.dumps(r.__dict__, default=str)) for r in result.records],
            },
        ),
    }
    return paths
