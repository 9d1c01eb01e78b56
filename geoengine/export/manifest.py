"""The run manifest (SPEC §4.1): a contract that scripts and tests read.

Every key of the contract is present; a metric that the run did not compute is
``None`` (JSON ``null``), never left out or invented.
"""

from __future__ import annotations

import platform
from typing import TYPE_CHECKING, Any

from .._version import __version__

if TYPE_CHECKING:
    from ..layers import Layers
    from ..network import RoadNetwork
    from ..scenario import Scenario

__all__ = ["METRIC_KEYS", "TIMING_KEYS", "build_manifest"]

TIMING_KEYS = ("network", "layers", "risk", "coverage", "patrol", "response", "evaluation", "audit", "export", "total")
METRIC_KEYS: dict[str, tuple[str, ...]] = {
    "network": ("nodes", "edges", "street_km", "dropped_nodes"),
    "risk": ("windows", "hotspot_segments", "pai_5pct"),
    "coverage": (
        "cameras_existing",
        "cameras_new",
        "demand_points",
        "covered_weight_share",
        "covered_weight_share_existing",
        "objective",
        "bound",
        "gap",
        "status",
        "solve_s",
    ),
    "patrol": (
        "teams",
        "beats",
        "checkpoints",
        "booths",
        "visits_planned",
        "visits_dropped",
        "dosage_met_share",
        "max_revisit_gap_min",
        "workload_cv",
        "time_window_violations",
        "dosage_bound",
        "capacity",
        "dropped_reasons",
        "hotspots_cut",
        "idle_share",
    ),
    "evaluation": (
        "heldout_incidents",
        "in_camera_view_share",
        "within_response_share",
        "response_minutes",
        "pai_5pct",
    ),
}


def _nulls(block: str) -> dict[str, Any]:
    return {key: None for key in METRIC_KEYS[block]}


def build_manifest(
    *,
    scenario: Scenario,
    network: RoadNetwork,
    layers: Layers,
    timings_s: dict[str, float | None],
    outputs: dict[str, str],
    warnings: list[str],
    metrics: dict[str, dict[str, Any]] | None = None,
    reproducible_notes: list[str] | None = None,
) -> dict[str, Any]:
    """Assemble ``manifest.json`` for a run.

    ``metrics`` holds the blocks of later stages (risk, coverage, …) that were
    computed; each is merged over a block of nulls so every contract key exists.
    ``reproducible_notes`` lists the solves stopped by their wall-clock safety cap (see
    :mod:`geoengine.stop`): ``reproducible`` is true when there is none, i.e. every solver
    stopped on its deterministic work limit or finished, so the same scenario and seed give
    the same plan on any machine.
    """
    notes = list(dict.fromkeys(reproducible_notes or []))
    inputs: dict[str, dict[str, Any]] = {}
    src = network.source
    inputs["network"] = {
        "path": str(src.path) if src.path is not None else src.description,
        "sha256": src.sha256,
        "rows": int(network.stats.edges),
    }
    for kind, layer in layers.items():
        inputs[kind] = {"path": str(layer.path), "sha256": layer.sha256, "rows": int(layer.rows_read)}

    stats = network.stats
    blocks: dict[str, Any] = {
        "network": {
            "nodes": int(stats.nodes),
            "edges": int(stats.edges),
            "street_km": round(float(stats.street_km), 3),
            "dropped_nodes": int(stats.dropped_nodes),
        },
        "layers": {
            kind: {
                "rows_read": int(layer.rows_read),
                "rows_used": int(layer.rows_used),
                "rows_dropped": int(layer.rows_dropped),
                "drop_reasons": {k: int(v) for k, v in layer.drop_reasons.items()},
                "synthetic": bool(layer.synthetic),
            }
            for kind, layer in layers.items()
        },
    }
    for block in ("risk", "coverage", "patrol", "evaluation"):
        blocks[block] = {**_nulls(block), **((metrics or {}).get(block) or {})}
    if (metrics or {}).get("response") is not None:  # rapid-response circles (geoengine.response), when computed
        blocks["response"] = metrics["response"]  # type: ignore[index]

    return {
        "geoengine_version": __version__,
        "scenario": str(scenario.path) if scenario.path is not None else scenario.name,
        "scenario_name": scenario.name,
        "scenario_sha256": scenario.sha256,
        "seed": int(scenario.seed),
        "reproducible": not notes,
        "reproducible_notes": notes,
        "python": platform.python_version(),
        "inputs": inputs,
        "timings_s": {key: (None if (s := timings_s.get(key)) is None else round(float(s), 3)) for key in TIMING_KEYS},
        "metrics": blocks,
        "outputs": dict(outputs),
        "warnings": list(warnings),
    }
