"""The run folder: every file of a run written from a :class:`~geoengine.pipeline.RunResult`.

:func:`write_run` is the only writer of a run folder. It writes into a staging folder next to
the target and moves it into place as a whole (never a half-written run); the independent
checker (:func:`geoengine.audit.audit_run`) reads the written files before the move, and its
verdict joins the manifest.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._io import staging_dir, write_json_atomic, write_text_atomic
from ._csv import csv_text
from ._places import hotspots_csv, place_names, with_places

if TYPE_CHECKING:
    from ..pipeline import RunResult

__all__ = ["null_non_finite", "write_run"]

log = logging.getLogger(__name__)


def write_run(result: RunResult, out_dir: str | Path, *, force: bool = False, tiles: str | None = None) -> RunResult:
    """Write the run folder of ``result`` into ``out_dir``; a new result with the final manifest.

    ``tiles="osm"`` adds web tiles to the map. ``force`` replaces an ``out_dir`` that is not a
    geoengine run (a previous run folder is always replaced as a whole).
    """
    from .._version import __version__
    from .gpkg import write_gpkg
    from .map import make_map

    scenario, network, layers = result.scenario, result.network, result.layers
    risk, evaluation, coverage, patrol, response = (
        result.risk,
        result.risk_evaluation,
        result.coverage,
        result.patrol,
        result.response,
    )
    target = Path(out_dir)
    base = copy.deepcopy(result.manifest)
    timings: dict[str, Any] = dict(base.get("timings_s") or {})
    computed_s = float(timings.get("total") or 0.0)
    warnings = list(result.warnings)
    outputs: dict[str, str] = {}
    audit: dict[str, Any] = {}
    t = time.perf_counter()

    def manifest() -> dict[str, Any]:
        timings["export"] = time.perf_counter() - t
        timings["total"] = computed_s + timings["export"]
        built = {**base, "outputs": dict(outputs), "warnings": list(warnings)}
        built["timings_s"] = {k: (None if v is None else round(float(v), 3)) for k, v in timings.items()}
        if audit:
            built["audit"] = dict(audit)
        return built

    with staging_dir(target, force=force) as stage:
        if scenario.outputs.map:
            subtitle = f"{scenario.description or ''} — geoengine {__version__}".strip(" —")
            fmap = make_map(
                network,
                layers,
                risk=risk,
                coverage=coverage,
                patrol=patrol,
                windows=scenario.windows,
                title=scenario.name,
                subtitle=subtitle,
                tiles=tiles,
                response=response,
            )
            write_text_atomic(stage / "map.html", fmap.get_root().render())
            outputs["map"] = "map.html"
        write_gpkg(stage / "plan.gpkg", network=network, layers=layers, risk=risk, coverage=coverage, patrol=patrol)
        outputs["gpkg"] = "plan.gpkg"
        tables: list[tuple[str, str, Any]] = []
        if risk is not None and layers.districts is not None:
            tables.append(("risk_by_district", "risk_by_district.csv", risk.district_table(layers.districts.gdf)))
        if evaluation is not None:
            tables.append(("risk_evaluation", "risk_evaluation.csv", evaluation.table))
        if coverage is not None:
            new = coverage.cameras_new.to_crs("EPSG:4326")
            cams = new.drop(columns="geometry").assign(lon=new.geometry.x.round(7), lat=new.geometry.y.round(7))
            tables.append(("cameras_new", "cameras_new.csv", cams))
            if len(coverage.curve):
                tables.append(("coverage_curve", "coverage_curve.csv", coverage.curve))
            tables.append(("coverage_districts", "coverage_districts.csv", coverage.district_table()))
            if len(coverage.actions()):
                tables.append(("camera_actions", "camera_actions.csv", coverage.actions()))
        if patrol is not None:
            names = place_names(patrol, network)  # human place names beside the ids
            tables.append(("routes", "routes.csv", with_places(patrol.routes_table(), names)))
            if len(patrol.hotspots):
                tables.append(("hotspots", "hotspots.csv", hotspots_csv(patrol, names)))
            tables.append(("patrol_dosage", "patrol_dosage.csv", patrol.requirements))
            dropped = patrol.dropped_table()
            if len(dropped):
                tables.append(("dropped_visits", "dropped_visits.csv", with_places(dropped, names)))
            tables.append(("teams", "teams.csv", patrol.team_summary()))
            tables.append(("team_beats", "team_beats.csv", patrol.team_beats))
            if patrol.allocation is not None:
                tables.append(("allocation", "allocation.csv", patrol.allocation.table))
        if response is not None:
            tables.append(("response", "response.csv", response.csv_table()))
        for key, name, table in tables:
            write_text_atomic(stage / name, csv_text(table))
            outputs[key] = name
        if patrol is not None:  # the independent checker reads the files just written
            from ..audit import audit_run

            t_audit = time.perf_counter()
            report = audit_run(stage, scenario=scenario, network=network)
            audit.update(report.to_dict())
            timings["audit"] = time.perf_counter() - t_audit
            if not report.clean:
                warnings.append(f"audit: {report.summary()} (geoengine audit {target} lists them)")
        _write_briefing_outputs(stage, outputs, result, manifest)
        final = null_non_finite(manifest())
        outputs["manifest"] = "manifest.json"
        final["outputs"] = dict(outputs)
        write_json_atomic(stage / "manifest.json", final)
    log.info("run %s written to %s", scenario.name, target)
    return dataclasses.replace(result, manifest=final, out_dir=target, warnings=tuple(warnings))


def _write_briefing_outputs(
    stage: Path, outputs: dict[str, str], result: RunResult, manifest: Callable[[], dict[str, Any]]
) -> None:
    """briefing.png/.pdf, geojson/ (on request), shift sheets and report.html, listed in ``outputs``."""
    from .briefing import briefing_facts, write_briefing
    from .gpkg import write_geojson
    from .report import write_report

    scenario, network, layers, risk, coverage, patrol = (
        result.scenario,
        result.network,
        result.layers,
        result.risk,
        result.coverage,
        result.patrol,
    )
    settings = scenario.outputs
    if settings.briefing:
        facts, notes = briefing_facts(manifest())
        write_briefing(
            stage / "briefing.png",
            stage / "briefing.pdf",
            network,
            title=f"Briefing: {scenario.name}",
            subtitle=scenario.description,
            layers=layers,
            risk=risk,
            coverage=coverage,
            patrol=patrol,
            window=settings.briefing_window,
            paper=settings.paper,
            facts=facts,
            notes=notes,
            response=result.response,
        )
        outputs["briefing_png"] = "briefing.png"
        outputs["briefing_pdf"] = "briefing.pdf"
    if settings.geojson and "gpkg" in outputs:
        write_geojson(stage / outputs["gpkg"], stage / "geojson")
        outputs["geojson"] = "geojson/"
    if patrol is not None and len(patrol.stops):
        from .shift_sheets import write_shift_sheets

        if write_shift_sheets(
            stage / "shift_sheets.pdf",
            stage / "shift_sheets.html",
            network,
            patrol,
            title=scenario.name,
            layers=layers,
            windows=scenario.windows,
        ):
            outputs["shift_sheets_pdf"] = "shift_sheets.pdf"
            outputs["shift_sheets_html"] = "shift_sheets.html"
    if settings.report:
        outputs["report"] = "report.html"
        district_risk = risk.district_table(layers.districts.gdf) if risk is not None and layers.districts is not None else None
        write_report(
            stage / "report.html",
            scenario=scenario,
            manifest=manifest(),
            layers=layers,
            risk=risk,
            coverage=coverage,
            patrol=patrol,
            district_risk=district_risk,
        )


def null_non_finite(value: Any) -> Any:
    """NaN/inf (e.g. a gap between visits of a place visited once) become null, as SPEC §4.1 says
    of a value that was not computed; JSON has no NaN."""
    if isinstance(value, dict):
        return {k: null_non_finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [null_non_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
