"""Stop criteria of the location solvers; they live in :mod:`geoengine.stop` (kept here for compatibility)."""

from __future__ import annotations

from geoengine.stop import Limits, MaxRuntime, MaxWork, Stop, as_limits

__all__ = ["Limits", "MaxRuntime", "MaxWork", "Stop", "as_limits"]
