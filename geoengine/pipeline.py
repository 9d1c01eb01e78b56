"""The run: the only place that knows the order of the stages.

``run(scenario)`` loads the network, reads the layers, (later: estimates risk, plans
cameras and patrols, evaluates) and writes the run folder. Each stage is a plain
function of its inputs returning a new result; this module only composes them.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._io import prepare_out_dir
from ._stage_cache import cached_stage
from .coverage.plan import CoveragePlan, plan_coverage
from .errors import InfeasibleSettingsError
from .evaluation import evaluate_run
from .layers import Layers, load_layers, read_layer
from .network import RoadNetwork, load_network
from .risk import RiskEvaluation, RiskSurface, estimate_risk, evaluate_risk, split_incidents
from .scenario import Scenario, load_scenario

if TYPE_CHECKING:
    from .patrol.plan import PatrolPlan
    from .response import ResponseResult

__all__ = ["RunResult", "default_run_dir", "run"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunResult:
    """Everything a run produced: the stage results, the manifest and where it was written."""

    scenario: Scenario
    network: RoadNetwork
    layers: Layers
    manifest: dict[str, Any]
    out_dir: Path | None
    warnings: tuple[str, ...] = field(default=())
    risk: RiskSurface | None = None
    risk_evaluation: RiskEvaluation | None = None
    coverage: CoveragePlan | None = None
    patrol: PatrolPlan | None = None
    response: ResponseResult | None = None

    def summary(self) -> str:
        m = self.manifest["metrics"]
        lines = [
            f"scenario  {self.scenario.name}",
            f"network   {m['network']['nodes']} nodes, {m['network']['edges']} edges, "
            f"{m['network']['street_km']:.1f} km of streets ({m['network']['dropped_nodes']} nodes dropped)",
        ]
        for kind, block in m["layers"].items():
            lines.append(
                f"{kind:<9} {block['rows_used']} of {block['rows_read']} rows used ({block['rows_dropped']} dropped)"
                + (" [synthetic]" if block.get("synthetic") else "")
            )
        r = m["risk"]
        if r["windows"]:
            lines.append(
                f"risk      {len(r['windows'])} windows, {r['hotspot_segments']} hotspot segments"
                + (
                    f"; held-out PAI at 5 % {r['pai_5pct']:.2f} (baseline {r['baseline_pai_5pct']:.2f})"
                    if r.get("pai_5pct") is not None and r.get("baseline_pai_5pct") is not None
                    else ""
                )
            )
        if self.coverage is not None:
            lines.append(f"cameras   {self.coverage.summary().removeprefix('cameras: ')}")
        if self.patrol is not None:
            lines.append(f"patrol    {self.patrol.summary().removeprefix('patrol: ')}")
        if self.response is not None:
            lines.append(f"response  {self.response.summary().splitlines()[0].removeprefix('response circles: ')}")
        if self.out_dir is not None:
            lines.append(f"written   {self.out_dir}")
        if self.warnings:
            lines.append(f"warnings  {len(self.warnings)}")
            lines += [f"  - {w}" for w in self.warnings]
        return "\n".join(lines)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-").lower() or "run"


def default_run_dir(scenario: Scenario, *, now: dt.datetime | None = None) -> Path:
    """``<outputs.folder>/<scenario name>-<YYYYmmdd-HHMMSS>``."""
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    return Path(scenario.outputs.folder) / f"{_slug(scenario.name)}-{stamp}"


def run(
    scenario: Scenario | str | Path,
    *,
    out_dir: str | Path | None = None,
    write: bool = True,
    tiles: str | None = None,
    progress: bool = False,
    force: bool = False,
) -> RunResult:
    """Run a scenario end to end.

    Parameters
    ----------
    scenario
        A :class:`Scenario` or the path of its YAML file.
    out_dir
        Write exactly into this folder; default :func:`default_run_dir`.
    write
        Write the run folder (False: compute only, e.g. in a notebook).
    tiles
        ``"osm"`` adds web tiles to the map (the map also works without them).
    progress
        Show progress of long steps.
    force
        Replace ``out_dir`` even when it is a file or a folder that is not a geoengine
        run (without it such an ``out_dir`` is refused before any computing). A previous
        run folder is always replaced as a whole.
    """
    from .export import build_manifest, write_run

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    target = Path(out_dir) if out_dir is not None else default_run_dir(scenario)
    if write:  # --out mistakes (a file, a folder not a run, unwritable, no space) before any computing
        prepare_out_dir(target, force=force)
    t0 = time.perf_counter()
    timings: dict[str, float | None] = {}

    t = time.perf_counter()
    network = load_network(scenario.network, progress=progress, scenario_dir=scenario.base_dir)
    timings["network"] = time.perf_counter() - t

    t = time.perf_counter()
    layers = load_layers(scenario.layers, network=network)
    timings["layers"] = time.perf_counter() - t

    t = time.perf_counter()
    risk, evaluation, risk_warnings = cached_stage(
        "risk", scenario, network, layers, lambda: _risk_stage(scenario, network, layers)
    )
    timings["risk"] = time.perf_counter() - t if risk is not None else None

    t = time.perf_counter()
    coverage = cached_stage("coverage", scenario, network, layers, lambda: _coverage_stage(scenario, network, layers, risk))
    timings["coverage"] = time.perf_counter() - t if coverage is not None else None

    t = time.perf_counter()
    from .stop import start_safety_cap_log

    patrol_caps = start_safety_cap_log()  # every later solve stopped by its safety cap notes itself here
    tier_booths, response_keys, response_key_warnings = _booth_siting_stage(scenario, network, layers)
    patrol = _patrol_stage(scenario, network, layers, risk, coverage, booths=tier_booths)
    timings["patrol"] = time.perf_counter() - t if patrol is not None else None

    t = time.perf_counter()
    response = _response_stage(scenario, network, layers, patrol, key_sites=response_keys, booths=tier_booths)
    timings["response"] = time.perf_counter() - t if response is not None else None

    t = time.perf_counter()
    backtest = evaluate_run(
        scenario, network, layers, risk=risk, risk_evaluation=evaluation, coverage=coverage, patrol=patrol, response=response
    )
    timings["evaluation"] = time.perf_counter() - t if backtest is not None else None

    warnings = [
        *scenario.warnings,
        *_period_warnings(scenario, layers),
        *network.warnings,
        *layers.warnings,
        *risk_warnings,
        *(coverage.warnings if coverage else ()),
        *(patrol.warnings if patrol else ()),
        *response_key_warnings,
        *(response.warnings if response else ()),
    ]
    timings["total"] = time.perf_counter() - t0
    manifest = build_manifest(
        scenario=scenario,
        network=network,
        layers=layers,
        timings_s=timings,
        outputs={},
        warnings=warnings,
        reproducible_notes=[*(getattr(coverage, "safety_caps", ()) if coverage else ()), *patrol_caps],
        metrics={
            **(risk.metrics(evaluation) if risk is not None else {}),
            **({"coverage": coverage.metrics()} if coverage else {}),
            **({"patrol": patrol.metrics()} if patrol else {}),
            **({"response": response.metrics()} if response else {}),
            **({"evaluation": backtest.metrics()} if backtest is not None else {}),
        },
    )
    result = RunResult(
        scenario, network, layers, manifest, None, tuple(warnings), risk, evaluation, coverage, patrol, response=response
    )
    return write_run(result, target, force=force, tiles=tiles) if write else result


def _period_warnings(scenario: Scenario, layers: Layers) -> tuple[str, ...]:
    """Rolling folds that cannot fit the incidents' period (the scenario alone cannot know it)."""
    from .scenario import rolling_fold_warnings

    inc = layers.incidents
    if inc is None or scenario.evaluation.rolling is None or "time" not in inc.gdf or not len(inc.gdf):
        return ()
    times = inc.gdf["time"].dropna()
    if not len(times):
        return ()
    return tuple(rolling_fold_warnings(scenario, times.min().date(), times.max().date()))


def _booth_siting_stage(scenario: Scenario, network: RoadNetwork, layers: Layers) -> tuple[Any, Any, tuple[str, ...]]:
    """Booths sited for a response tier (``response.booth_siting``), the key sites of the
    response tiers (``response.key_sites``, else ``layers.key_sites``) and the warnings of reading them."""
    settings = scenario.response
    if settings is None:
        return None, None, ()
    keys = None
    key_warnings: tuple[str, ...] = ()
    if settings.key_sites is not None:
        key_layer = read_layer("key_sites", settings.key_sites, network=network, field="response.key_sites")
        keys, key_warnings = key_layer.gdf, tuple(f"response.key_sites: {w}" for w in key_layer.warnings)
    elif layers.key_sites is not None:
        keys = layers.key_sites.gdf
    siting = settings.booth_siting
    if siting is None or scenario.patrol is None:
        return None, keys, key_warnings
    from .response import site_booths, tier_demand
    from .stop import Limits

    tier = next(t for t in settings.tiers if t.name == siting.tier)
    demand = tier_demand(network, tier, key_sites=keys, districts=layers.districts.gdf if layers.districts is not None else None)
    work, cap = scenario.solver.work, scenario.solver.time_limit_s
    booths = site_booths(
        network,
        demand,
        minutes=tier.minutes,
        objective=siting.objective,
        k=scenario.patrol.booths or None,
        mode=settings.booth_mode or scenario.patrol.booth_mode,
        turnout_min=settings.turnout_min["booth"],
        backup=tier.backup,
        backup_weight=siting.backup_weight,
        stop=Limits(work / 4, max(1.0, cap / 4)),
        seed=scenario.seed,
        tier=tier.name,
    )
    return booths, keys, key_warnings


def _response_stage(
    scenario: Scenario, network: RoadNetwork, layers: Layers, patrol: Any, *, key_sites: Any = None, booths: Any = None
) -> Any:
    """Rapid-response circles of the patrol plan (geoengine.response): its booths, checkpoints and teams,
    and the stations."""
    settings = scenario.response
    stations = layers.stations.gdf if layers.stations is not None else None
    if settings is None or patrol is None:
        return None
    from .response import evaluate_response, plan_responders

    booth_mode = settings.booth_mode or (scenario.patrol.booth_mode if scenario.patrol is not None else "foot")
    responders = plan_responders(
        network, windows=scenario.windows, settings=settings, patrol=patrol, stations=stations, booth_mode=booth_mode
    )
    return evaluate_response(
        network,
        responders,
        settings=settings,
        windows=scenario.windows,
        key_sites=key_sites,
        districts=layers.districts.gdf if layers.districts is not None else None,
        booth_siting=None if booths is None else {k: v for k, v in booths.metrics.items() if not isinstance(v, (list, dict))},
    )


def _patrol_stage(
    scenario: Scenario,
    network: RoadNetwork,
    layers: Layers,
    risk: RiskSurface | None,
    coverage: CoveragePlan | None,
    *,
    booths: Any = None,
) -> Any:
    """Plan beats, posts and routes when the scenario has a ``patrol`` section."""
    settings = scenario.patrol
    if settings is None:
        return None
    if risk is None:
        raise InfeasibleSettingsError.single(
            "patrol planning needs incidents to find hotspots",
            file=scenario.path,
            field="patrol",
            hint="add an incidents layer, or remove the patrol section",
        )
    from .patrol.plan import plan_patrol

    return plan_patrol(
        network,
        settings=settings,
        windows=scenario.windows,
        risk=risk,
        stations=layers.stations.gdf if layers.stations is not None else None,
        districts=layers.districts.gdf if layers.districts is not None else None,
        coverage=coverage,
        time_limit_s=scenario.solver.time_limit_s,
        seed=scenario.seed,
        work=scenario.solver.work,
        workers=scenario.solver.workers,
        **({"booths": booths} if booths is not None else {}),
    )


def _coverage_stage(scenario: Scenario, network: RoadNetwork, layers: Layers, risk: RiskSurface | None) -> CoveragePlan | None:
    """Plan new cameras when the scenario has a ``cameras`` section."""
    settings = scenario.cameras
    if settings is None:
        return None

    extra = {}
    for name, kind in (("sites", "stations"), ("exclusion_zones", "districts"), ("must_cover", "districts")):
        source = getattr(settings, name)
        if source is not None:
            extra[name] = read_layer(kind, source, network=network, field=f"cameras.{name}").gdf
    return plan_coverage(
        network,
        settings=settings,
        risk=risk,
        cameras=layers.cameras.gdf if layers.cameras is not None else None,
        districts=layers.districts.gdf if layers.districts is not None else None,
        key_sites=layers.key_sites.gdf if layers.key_sites is not None else None,
        listed_sites=extra.get("sites"),
        exclusion=extra.get("exclusion_zones"),
        must_cover=extra.get("must_cover"),
        time_limit_s=scenario.solver.time_limit_s,
        seed=scenario.seed,
        work=scenario.solver.work,
    )


def _risk_stage(
    scenario: Scenario, network: RoadNetwork, layers: Layers
) -> tuple[RiskSurface | None, RiskEvaluation | None, list[str]]:
    """Estimate risk on the incidents before the split; score it on those after."""
    if layers.incidents is None:
        return None, None, []
    split = scenario.evaluation.split
    estimation, heldout = split_incidents(layers.incidents.gdf, split)
    if len(estimation) == 0:
        raise InfeasibleSettingsError.single(
            f"no incident lies before the split date {split}: nothing to estimate risk from",
            file=scenario.path,
            field="evaluation.split",
            hint="choose a later split date",
        )
    risk = estimate_risk(
        network,
        estimation,
        windows=scenario.windows,
        settings=scenario.risk,
        districts=layers.districts.gdf if layers.districts is not None else None,
        key_sites=layers.key_sites.gdf if layers.key_sites is not None else None,
        stations=layers.stations.gdf if layers.stations is not None else None,
        extent=layers.incidents.extent,
    )
    warnings = list(risk.warnings)
    evaluation = None
    if split is not None:
        if len(heldout):
            evaluation = evaluate_risk(risk, heldout, history=estimation)
        else:
            warnings.append(f"evaluation.split {split}: no incident on or after it, so nothing to score the plan on")
    return risk, evaluation, warnings
