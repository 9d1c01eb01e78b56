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
    "AuditReport": ".audit", "audit_run": ".audit",
    "BatchResult": ".batch", "run_batch": ".batch",
    "RunComparison": ".compare", "compare_runs": ".compare",
    "backtest_plan": ".evaluation",
    "Layer": ".layers", "Layers": ".layers", "load_layers": ".layers", "read_layer": ".layers",
    "RoadNetwork": ".network", "load_network": ".network", "network_from_bbox": ".network",
    "network_from_graphml": ".network", "network_from_pbf": ".network", "network_from_place": ".network",
    "network_from_xml": ".network", "save_graphml": ".network",
    "RunResult": ".pipeline", "run": ".pipeline",
    "Scenario": ".scenario", "TimeWindow": ".scenario", "load_scenario": ".scenario",
}  # fmt: skip

if TYPE_CHECKING:
    from .audit import AuditReport, audit_run
    from .batch import BatchResult, run_batch
    from .compare import RunComparison, compare_runs
    from .evaluation import backtest_plan
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
    from .pipeline import RunResult, run
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
    "Problem",
    "RoadNetwork",
    "RunComparison",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "TimeWindow",
    "__version__",
    "audit_run",
    "backtest_plan",
    "compare_runs",
    "load_layers",
    "load_network",
    "load_scenario",
    "network_from_bbox",
    "network_from_graphml",
    "network_from_pbf",
    "network_from_place",
    "network_from_xml",
    "read_layer",
    "run",
    "run_batch",
    "save_graphml",
]
