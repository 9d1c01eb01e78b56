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

__version__ = "0.1.0"

from .audit import AuditReport, audit_run
from .batch import BatchResult, run_batch
from .compare import RunComparison, compare_runs
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
