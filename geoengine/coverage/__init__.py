"""Camera coverage: demand, candidate sites, visibility past buildings, location problems.

The location problems (:class:`CoverageProblem` built from a coverage or cost matrix,
:func:`solve_mclp`, :func:`solve_lscp`, :func:`solve_pmedian`) know nothing of
cameras, so the patrol planner reuses them for booths.
"""

from .candidates import candidate_sites
from .demand import combine_demand, key_site_demand, street_demand
from .plan import CoveragePlan, plan_coverage
from .problem import CoverageProblem, LocationResult, coverage_curve, solve_lscp, solve_mclp, solve_pmedian
from .stop import MaxRuntime
from .visibility import Visibility, existing_credit, view_polygons, visibility

__all__ = [
    "CoveragePlan",
    "CoverageProblem",
    "LocationResult",
    "MaxRuntime",
    "Visibility",
    "candidate_sites",
    "combine_demand",
    "coverage_curve",
    "existing_credit",
    "key_site_demand",
    "plan_coverage",
    "solve_lscp",
    "solve_mclp",
    "solve_pmedian",
    "street_demand",
    "view_polygons",
    "visibility",
]
