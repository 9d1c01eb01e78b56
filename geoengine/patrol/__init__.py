"""Patrol planning: beats, posts, force allocation and routes per time window.

The stage is :func:`plan_patrol` (→ :class:`PatrolPlan`); its matrix-level parts are public
too, so they can be tested and reused on small hand-built problems: the routing problem
(:class:`RoutingProblem`, :func:`solve_routing`), the repair and cause checks
(:func:`insert_dropped`, :func:`drop_causes`), the capacity bound (:func:`capacity_bound`)
and the teams' shifts (:func:`expand_teams`).
"""

from __future__ import annotations

from .plan import CAUSES, PatrolPlan, plan_patrol
from .repair import capacity_bound, drop_causes, find_insertion, insert_dropped
from .routing import Route, RoutingProblem, RoutingResult, Stop, Vehicle, solve_routing
from .shifts import expand_teams, window_overlaps

__all__ = [
    "CAUSES",
    "PatrolPlan",
    "Route",
    "RoutingProblem",
    "RoutingResult",
    "Stop",
    "Vehicle",
    "capacity_bound",
    "drop_causes",
    "expand_teams",
    "find_insertion",
    "insert_dropped",
    "plan_patrol",
    "solve_routing",
    "window_overlaps",
]
