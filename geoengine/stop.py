"""Stop criteria of every solver: small frozen objects, as in PyVRP.

Two kinds of limit:

* :class:`MaxWork` — a **deterministic** work budget. The same input and seed give the same
  answer on any machine at any load, because the solver stops after a count of its own
  steps, never after a number of seconds. One work unit is about one second of solving on
  one unloaded core of the calibration machine (a 2-core VM); each solver converts units to
  its own counter:

  ==========================  ============================================================
  solver                      one work unit
  ==========================  ============================================================
  routing (OR-Tools)          :data:`ROUTING_SOLUTIONS_PER_UNIT` solutions (``solution_limit``;
                              guided local search counts every accepted move, iterated
                              local search every local optimum and improvement)
  allocation (CP-SAT)         one deterministic second (``max_deterministic_time``)
  camera siting (SCIP)        :data:`SCIP_NODES_PER_UNIT` branch-and-bound nodes
                              (``limits/totalnodes``) and at most :data:`SCIP_LP_ITERATIONS_PER_UNIT`
                              simplex iterations per LP (``lp/iterlim``, ``lp/rootiterlim``)
  greedy + 1-swap             fixed: at most ``max_passes`` swap passes (no time involved)
  ==========================  ============================================================

* :class:`MaxRuntime` — wall-clock seconds. Beside a work limit it is only a **safety cap**: a
  solve stopped by it is not reproducible and says so (``stopped_by == "safety_cap"``; the run
  manifest lists it under ``reproducible_notes``). Alone (the old behaviour) the machine's load
  decides how far a solve gets.

Combine them with :class:`Limits` (``Limits(work=10, max_runtime_s=30)``) or ``MaxWork(10) |
MaxRuntime(30)``. Every solver accepts any of the three as ``stop=`` and reports
``stopped_by``: ``"work"`` (the work limit), ``"complete"`` (proven optimal, or the search ran
out of moves) or ``"safety_cap"`` (the wall clock).

    >>> stop = MaxWork(10) | MaxRuntime(30)
    >>> stop, stop.share(1 / 5)
    (Limits(work=10.0, max_runtime_s=30.0), Limits(work=2.0, max_runtime_s=6.0))
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "DEFAULT_WORK",
    "ROUTING_SOLUTIONS_PER_UNIT",
    "SCIP_LP_ITERATIONS_PER_UNIT",
    "SCIP_NODES_PER_UNIT",
    "Limits",
    "MaxRuntime",
    "MaxWork",
    "Stop",
    "StoppedBy",
    "as_limits",
    "merge_stopped_by",
    "record_safety_caps",
    "report_stop",
    "start_safety_cap_log",
]

StoppedBy = Literal["work", "complete", "safety_cap"]

DEFAULT_WORK = 10.0
"""Default work units of one planning stage (``solver.work``); see the README's performance notes."""

ROUTING_SOLUTIONS_PER_UNIT = 60
"""OR-Tools routing solutions (``solution_limit``) per work unit: guided local search makes 30-90 a second
on the demo's windows (2 cores, unloaded), 250 on a 60-visit toy problem."""

SCIP_NODES_PER_UNIT = 200
"""SCIP branch-and-bound nodes per work unit (the demo's camera MIPs close at the root node: their
root solve, 8-25 s, is deterministic but not bounded by the work)."""

SCIP_LP_ITERATIONS_PER_UNIT = 20_000
"""Simplex iterations one SCIP LP solve may take, per work unit (root LP included), never fewer than
:data:`SCIP_MIN_LP_ITERATIONS`: a guard against a runaway LP, not the main limit (a truncated root LP
makes SCIP slower and worse: measured on the demo)."""

SCIP_MIN_LP_ITERATIONS = 200_000

_NO_CAP_S = 7 * 24 * 3600.0
"""Wall-clock cap when a ``Limits`` has a work limit only (a week: in practice none)."""


def _positive(name: str, value: object) -> float:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(out) or out <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return out


@dataclass(frozen=True)
class MaxRuntime:
    """Stop a solve after ``seconds`` of wall-clock time (alone: not reproducible; with work: the safety cap).

    >>> MaxRuntime(30).seconds
    30.0
    """

    seconds: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "seconds", _positive("MaxRuntime: seconds", self.seconds))

    def __or__(self, other: object) -> Limits:
        return as_limits(self) | other


@dataclass(frozen=True)
class MaxWork:
    """Stop a solve after ``units`` of deterministic work (see the module docstring for the units).

    >>> MaxWork(5).units
    5.0
    """

    units: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "units", _positive("MaxWork: units", self.units))

    def __or__(self, other: object) -> Limits:
        return as_limits(self) | other


@dataclass(frozen=True)
class Limits:
    """A deterministic work limit and/or a wall-clock safety cap (at least one of them).

    ``work`` in work units (None: no work limit, the wall clock decides: not reproducible);
    ``max_runtime_s`` in seconds (None: no cap).
    """

    work: float | None = None
    max_runtime_s: float | None = None

    def __post_init__(self) -> None:
        if self.work is None and self.max_runtime_s is None:
            raise ValueError("Limits needs a work limit, a max_runtime_s, or both")
        if self.work is not None:
            object.__setattr__(self, "work", _positive("Limits: work", self.work))
        if self.max_runtime_s is not None:
            object.__setattr__(self, "max_runtime_s", _positive("Limits: max_runtime_s", self.max_runtime_s))

    @property
    def deterministic(self) -> bool:
        """True when a work limit is set (the result does not depend on the machine's speed)."""
        return self.work is not None

    @property
    def cap_s(self) -> float:
        """The wall-clock limit in seconds (a week when none is set)."""
        return self.max_runtime_s if self.max_runtime_s is not None else _NO_CAP_S

    def share(self, fraction: float, *, min_runtime_s: float = 0.0) -> Limits:
        """Both limits times ``fraction`` (a stage split into parts); the cap at least ``min_runtime_s``."""
        f = _positive("Limits.share: fraction", fraction)
        cap = None if self.max_runtime_s is None else max(self.max_runtime_s * f, min_runtime_s)
        return Limits(None if self.work is None else self.work * f, cap)

    def __or__(self, other: object) -> Limits:
        o = as_limits(other)  # type: ignore[arg-type]
        work = [w for w in (self.work, o.work) if w is not None]
        cap = [c for c in (self.max_runtime_s, o.max_runtime_s) if c is not None]
        return Limits(min(work) if work else None, min(cap) if cap else None)

    def stopped_by(self, *, finished: bool, elapsed_s: float, cap_s: float | None = None, margin: float = 0.97) -> StoppedBy:
        """Classify how a solve ended: it ``finished`` (optimal / out of moves), or it used
        ``elapsed_s`` of its wall-clock limit ``cap_s`` (default :attr:`cap_s`)."""
        if finished:
            return "complete"
        if self.work is None or elapsed_s >= margin * (self.cap_s if cap_s is None else cap_s):
            return "safety_cap"
        return "work"

    def scip_limits(self) -> dict[str, Any]:
        """SCIP's deterministic limits for this work: ``node_limit`` and ``lp_iteration_limit``."""
        if self.work is None:
            return {"node_limit": None, "lp_iteration_limit": None}
        return {
            "node_limit": max(1, math.ceil(self.work * SCIP_NODES_PER_UNIT)),
            "lp_iteration_limit": max(SCIP_MIN_LP_ITERATIONS, math.ceil(self.work * SCIP_LP_ITERATIONS_PER_UNIT)),
        }

    def routing_solutions(self) -> int | None:
        """OR-Tools routing ``solution_limit`` for this work (None: no work limit)."""
        return None if self.work is None else max(1, math.ceil(self.work * ROUTING_SOLUTIONS_PER_UNIT))


def merge_stopped_by(*endings: StoppedBy) -> StoppedBy:
    """One ending for phases run one after the other: any safety cap wins, then any work limit."""
    if "safety_cap" in endings:
        return "safety_cap"
    return "work" if "work" in endings else "complete"


Stop = MaxRuntime | MaxWork | Limits


def as_limits(stop: Stop) -> Limits:
    """``stop`` as a :class:`Limits`; ``TypeError`` for anything else."""
    if isinstance(stop, Limits):
        return stop
    if isinstance(stop, MaxRuntime):
        return Limits(None, stop.seconds)
    if isinstance(stop, MaxWork):
        return Limits(stop.units, None)
    raise TypeError(f"stop must be a MaxWork, MaxRuntime or Limits, got {type(stop).__name__}")


# --------------------------------------------------------------------------------------------
# the log of solves stopped by the safety cap (the manifest's reproducible_notes)

_LOGS: contextvars.ContextVar[tuple[list[str], ...]] = contextvars.ContextVar("geoengine_safety_caps", default=())


def start_safety_cap_log() -> list[str]:
    """Start a fresh log (dropping any earlier one of this context); returns the list that fills up."""
    notes: list[str] = []
    _LOGS.set((notes,))
    return notes


@contextlib.contextmanager
def record_safety_caps() -> Iterator[list[str]]:
    """Collect, inside the block, a note per solve stopped by its safety cap (outer logs get them too)."""
    notes: list[str] = []
    token = _LOGS.set((*_LOGS.get(), notes))
    try:
        yield notes
    finally:
        _LOGS.reset(token)


def report_stop(solver: str, stopped_by: StoppedBy, limits: Limits, elapsed_s: float, what: str = "") -> None:
    """Log a solve that ``stopped_by`` the safety cap (nothing for the other endings)."""
    if stopped_by != "safety_cap":
        return
    label = f"{solver} ({what})" if what else solver
    if limits.work is None:
        note = f"{label}: stopped by the wall-clock limit of {limits.cap_s:g} s (no work limit set)"
    else:
        note = (
            f"{label}: stopped by the {limits.cap_s:g} s safety cap after {elapsed_s:.1f} s, "
            f"before its work limit of {limits.work:g} units"
        )
    for notes in _LOGS.get():
        notes.append(note)
