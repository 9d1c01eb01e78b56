"""Exporters: the briefing map and the run manifest. Stages never import these."""

from .manifest import build_manifest
from .map import make_map

__all__ = ["build_manifest", "make_map"]
