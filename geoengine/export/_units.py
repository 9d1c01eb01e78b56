"""The units the briefing outputs state beside their numbers (one wording for map, report and files).

Risk (:mod:`geoengine.risk`) is a density of weighted incidents over the incident history the
surface was estimated from: each incident counts by the harm of its category and by how
recent it is, and streets in key districts or near key sites count more (priority). It is
not divided by the number of days of the history.
"""

from __future__ import annotations

__all__ = ["RISK_EXPLAINED", "RISK_PER_KM", "RISK_TOTAL"]

RISK_PER_KM = "harm-weighted incidents per km over the incident history"
"""The unit of ``risk_per_km`` (and of the risk grades)."""
RISK_TOTAL = "harm-weighted incidents over the incident history"
"""The unit of ``risk`` summed over streets (a segment, a hotspot, a beat)."""
RISK_EXPLAINED = (
    "the incidents of the history on and near a street, each counted by the harm its category does "
    "and more the more recent it is, per km of street, raised on streets in key districts and near key sites"
)
