"""geoengine: camera coverage and patrol planning on real street networks.

The public API, for notebooks and scripts::

    import geoengine as ge
    scenario = ge.load_scenario("scenarios/demo.yaml")
    network = ge.load_network(scenario.network)
    layers = ge.load_layers(scenario.layers, network=network)
    result = ge.run(scenario, out_dir="runs/demo")
    batch = ge.run_batch(["scenarios/demo_sweep.yaml"], workers=2)   # on Dask
    ge.compare_runs(run_a, run_b)                                     # what changed
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import (
    CRSMismatchError,
    GeoEngineError,
    InfeasibleSettingsError,
    InputFileNotFoundError,
    LayerError,
    LayerOutsideNetworkError,
    NetworkSourceError,
    OfflineError,
    OutputError,
    Problem,
    ScenarioError,
)

# Heavy modules (geopandas, scipy, OR-Tools) load on first use, so ``geoengine --help`` starts fast.
_LAZY: dict[str, str] = {
    "AuditReport": ".audit",
    "audit_run": ".audit",
    "BatchResult": ".batch",
    "run_batch": ".batch",
    "RunComparison": ".compare",
    "compare_runs": ".compare",
    "backtest_plan": ".evaluation",
    "Layer": ".layers",
    "Layers": ".layers",
    "load_layers": ".layers",
    "read_layer": ".layers",
    "RoadNetwork": ".network",
    "load_network": ".network",
    "network_from_bbox": ".network",
    "network_from_graphml": ".network",
    "network_from_pbf": ".network",
    "network_from_place": ".network",
    "network_from_xml": ".network",
    "save_graphml": ".network",
    "RunResult": ".pipeline",
    "run": ".pipeline",
    "Scenario": ".scenario",
    "TimeWindow": ".scenario",
    "load_scenario": ".scenario",
    "RiskEvaluation": ".risk",
    "RiskSurface": ".risk",
    "estimate_risk": ".risk",
    "evaluate_risk": ".risk",
    "CoveragePlan": ".coverage.plan",
    "plan_coverage": ".coverage.plan",
    "PatrolPlan": ".patrol.plan",
    "plan_patrol": ".patrol.plan",
    "ResponseResult": ".response",
    "evaluate_response": ".response",
    "make_map": ".export",
    "write_briefing": ".export",
    "write_gpkg": ".export",
    "write_report": ".export",
    "write_run": ".export",
}

if TYPE_CHECKING:
    from .audit import AuditReport, audit_run
    from .batch import BatchResult, run_batch
    from .compare import RunComparison, compare_runs
    from .coverage.plan import CoveragePlan, plan_coverage
    from .evaluation import backtest_plan
    from .export import make_map, write_briefing, write_gpkg, write_report, write_run
    from .layers import Layer, Layers, load_layers, read_layer
    from .network import (
        RoadNetwork,
        load_network,
        network_from_bbox,
        network_from_graphml,
        network_from_pbf,
        network_from_place,
        network_from_xml,
        save_graphml,
    )
    from .patrol.plan import PatrolPlan, plan_patrol
    from .pipeline import RunResult, run
    from .response import ResponseResult, evaluate_response
    from .risk import RiskEvaluation, RiskSurface, estimate_risk, evaluate_risk
    from .scenario import Scenario, TimeWindow, load_scenario


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'geoengine' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "AuditReport",
    "BatchResult",
    "CRSMismatchError",
    "CoveragePlan",
    "GeoEngineError",
    "InfeasibleSettingsError",
    "InputFileNotFoundError",
    "Layer",
    "LayerError",
    "LayerOutsideNetworkError",
    "Layers",
    "NetworkSourceError",
    "OfflineError",
    "OutputError",
    "PatrolPlan",
    "Problem",
    "ResponseResult",
    "RiskEvaluation",
    "RiskSurface",
    "RoadNetwork",
    "RunComparison",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "TimeWindow",
    "audit_run",
    "backtest_plan",
    "compare_runs",
    "estimate_risk",
    "evaluate_response",
    "evaluate_risk",
    "load_layers",
    "load_network",
    "load_scenario",
    "make_map",
    "network_from_bbox",
    "network_from_graphml",
    "network_from_pbf",
    "network_from_place",
    "network_from_xml",
    "plan_coverage",
    "plan_patrol",
    "read_layer",
    "run",
    "run_batch",
    "save_graphml",
    "write_briefing",
    "write_gpkg",
    "write_report",
    "write_run",
    "__version__",
]
