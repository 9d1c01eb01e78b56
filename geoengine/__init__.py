"""geoengine: camera coverage and patrol planning on real street networks.

The public API, for notebooks and scripts::

    import geoengine as ge
    scenario = ge.load_scenario("scenarios/demo.yaml")
    network = ge.load_network(scenario.network)
    layers = ge.load_layers(scenario.layers, network=network)
    result = ge.run(scenario, out_dir="runs/demo")
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import (
    CRSMismatchError,
    GeoEngineError,
    InfeasibleSettingsError,
    InputFileNotFoundError,
    LayerError,
    LayerOutsideNetworkError,
    NetworkSourceError,
    OfflineError,
    Problem,
    ScenarioError,
)
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
    "Problem",
    "RoadNetwork",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "TimeWindow",
    "__version__",
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
    "save_graphml",
]
