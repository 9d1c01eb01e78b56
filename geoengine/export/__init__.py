"""Exporters: the interactive map, the static briefing map, the report, the GeoPackage and
the run manifest, and :func:`write_run`, which writes a run folder. Stages never import these."""

from .briefing import briefing_figure, write_briefing
from .gpkg import write_geojson, write_gpkg
from .manifest import build_manifest
from .map import make_map
from .report import report_html, write_report
from .run_folder import write_run

__all__ = [
    "briefing_figure",
    "build_manifest",
    "make_map",
    "report_html",
    "write_briefing",
    "write_geojson",
    "write_gpkg",
    "write_report",
    "write_run",
]
