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
from typing import Any

from ._io import staging_dir, write_json_atomic, write_text_atomic
from .layers import Layers, load_layers
from .network import RoadNetwork, load_network
from .scenario import Scenario, load_scenario

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
    """
    from .export import build_manifest, make_map

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    t0 = time.perf_counter()
    timings: dict[str, float | None] = {}

    t = time.perf_counter()
    network = load_network(scenario.network, progress=progress)
    timings["network"] = time.perf_counter() - t

    t = time.perf_counter()
    layers = load_layers(scenario.layers, network=network)
    timings["layers"] = time.perf_counter() - t

    warnings = [*network.warnings, *layers.warnings]
    target = Path(out_dir) if out_dir is not None else default_run_dir(scenario)
    outputs: dict[str, str] = {}
    manifest: dict[str, Any]

    def _manifest() -> dict[str, Any]:
        timings["total"] = time.perf_counter() - t0
        return build_manifest(
            scenario=scenario, network=network, layers=layers, timings_s=timings, outputs=outputs, warnings=warnings
        )

    if not write:
        return RunResult(scenario, network, layers, _manifest(), None, tuple(warnings))

    t = time.perf_counter()
    with staging_dir(target) as stage:
        if scenario.outputs.map:
            subtitle = f"{scenario.description or ''} — geoengine {_version()}".strip(" —")
            fmap = make_map(network, layers, title=scenario.name, subtitle=subtitle, tiles=tiles)
            write_text_atomic(stage / "map.html", fmap.get_root().render())
            outputs["map"] = "map.html"
        timings["export"] = time.perf_counter() - t
        manifest = _manifest()
        outputs["manifest"] = "manifest.json"
        manifest["outputs"] = dict(outputs)
        write_json_atomic(stage / "manifest.json", manifest)
    log.info("run %s written to %s", scenario.name, target)
    return RunResult(scenario, network, layers, manifest, target, tuple(warnings))


def _version() -> str:
    from . import __version__

    return __version__
