"""Solomon / Gehring–Homberger VRPTW instances as :class:`~geoengine.patrol.routing.RoutingProblem`.

Convention (as the best-known solutions assume): Euclidean distances, not rounded; travel
time = distance; service times as given; one depot (node 0) where every vehicle starts
and ends; every customer mandatory; vehicle capacity as a capacity dimension.

The routing core works in integers, so distances, times and windows are multiplied by
:data:`SCALE` (1000) and travel times are rounded *up* (``ceil``): every plan feasible for
the scaled problem is feasible with the exact distances, and the cost differs from the
exact one by less than 0.001 per arc. The exact, unrounded distance of a plan is
``RoutingResult.distance_m`` (the problem's ``distance`` matrix holds it unscaled).

>>> from geoengine.patrol.solomon import read_instance  # doctest: +SKIP
>>> problem = read_instance("C101.txt")                 # doctest: +SKIP
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .routing import RoutingProblem, Vehicle

__all__ = ["SCALE", "BestKnown", "SolomonInstance", "parse_instance", "read_best_known", "read_instance"]

SCALE = 1000
"""Distances and times are multiplied by this before rounding to integers."""


@dataclass(frozen=True, eq=False)
class SolomonInstance:
    """The raw instance as read: name, fleet, and one row per node (depot first)."""

    name: str
    n_vehicles: int
    capacity: int
    xy: np.ndarray  # (n, 2)
    demand: np.ndarray  # (n,)
    ready: np.ndarray  # (n,)
    due: np.ndarray  # (n,)
    service: np.ndarray  # (n,)

    def distance(self) -> np.ndarray:
        """Euclidean distances, not rounded."""
        diff = self.xy[:, None, :] - self.xy[None, :, :]
        return np.sqrt((diff**2).sum(axis=-1))

    def to_problem(
        self, *, n_vehicles: int | None = None, drop_penalty: int | None = None, vehicle_fixed_cost: int = 0
    ) -> RoutingProblem:
        """The scaled integer routing problem (see the module notes).

        ``drop_penalty`` (scaled units) makes customers optional at that cost; ``None`` =
        every customer mandatory (the benchmark's rule). ``vehicle_fixed_cost`` (scaled units)
        is the cost of each vehicle used (0: distance only, the distance benchmark's rule).
        """
        dist = self.distance()
        travel = np.ceil(dist * SCALE - 1e-9).astype(np.int64)
        np.fill_diagonal(travel, 0)
        horizon = int(round(self.due[0] * SCALE))
        nv = self.n_vehicles if n_vehicles is None else n_vehicles
        vehicles = [Vehicle(f"vehicle {i + 1}", 0, 0, int(round(self.ready[0] * SCALE)), horizon) for i in range(nv)]
        penalty = np.full(len(self.xy), -1 if drop_penalty is None else drop_penalty, dtype=np.int64)
        return RoutingProblem.from_arrays(
            travel,
            service_s=np.rint(self.service * SCALE).astype(np.int64),
            tw_start_s=np.rint(self.ready * SCALE).astype(np.int64),
            tw_end_s=np.rint(self.due * SCALE).astype(np.int64),
            vehicles=vehicles,
            penalty=penalty,
            distance=dist,
            demand=self.demand.astype(np.int64),
            capacity=self.capacity,
            name=self.name,
            vehicle_fixed_cost=vehicle_fixed_cost,
        )


def parse_instance(text: str, *, name: str | None = None) -> SolomonInstance:
    """Parse the Solomon text format (also used by the Gehring–Homberger 200–1000 instances)."""
    lines = [line.strip() for line in text.splitlines()]
    problems = []
    title = name or next((line for line in lines if line), "")
    fleet = None
    rows: list[list[float]] = []
    section = None
    for line in lines:
        upper = line.upper()
        if upper.startswith("VEHICLE"):
            section = "vehicle"
            continue
        if upper.startswith("CUSTOMER"):
            section = "customer"
            continue
        parts = line.split()
        try:
            numbers = [float(p) for p in parts]
        except ValueError:
            continue  # a header line
        if not numbers:
            continue
        if section == "vehicle" and fleet is None and len(numbers) == 2:
            fleet = (int(numbers[0]), int(numbers[1]))
        elif section == "customer":
            if len(numbers) != 7:
                problems.append(f"customer line with {len(numbers)} fields (expected 7): {line!r}")
            else:
                rows.append(numbers)
    if fleet is None:
        problems.append("no VEHICLE section with NUMBER and CAPACITY")
    if not rows:
        problems.append("no CUSTOMER rows")
    elif [int(r[0]) for r in rows] != list(range(len(rows))):
        problems.append("customer numbers must run 0, 1, 2, … (depot first)")
    if problems:
        raise ValueError(f"{title}: not a Solomon instance:\n  - " + "\n  - ".join(problems))
    data = np.array(rows, dtype=float)
    return SolomonInstance(
        name=title,
        n_vehicles=fleet[0],
        capacity=fleet[1],
        xy=data[:, 1:3],
        demand=data[:, 3].astype(np.int64),
        ready=data[:, 4],
        due=data[:, 5],
        service=data[:, 6],
    )


def read_instance(path: str | Path) -> SolomonInstance:
    """Read a Solomon-format file."""
    path = Path(path)
    return parse_instance(path.read_text(encoding="utf-8", errors="replace"), name=None)


@dataclass(frozen=True)
class BestKnown:
    """A best-known solution: its vehicle count and distance."""

    name: str
    vehicles: int
    distance: float
    distance_only: bool


def read_best_known(path: str | Path) -> dict[str, BestKnown]:
    """Read ``BKS.json``: for each instance name (upper case), the distance-only record when
    there is one (key ``NAME_distance``), else the classic vehicles-then-distance record.
    Records as ``{"solved_with_vehicles", "best_known_cost"}`` (Solomon, VROOM's files) or
    ``{"vehicles", "distance"}`` (Gehring–Homberger, SINTEF TOP)."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    out: dict[str, BestKnown] = {}
    for key, rec in raw.items():
        distance_only = key.endswith("_distance")
        name = (key[: -len("_distance")] if distance_only else key).upper()
        if name in out and out[name].distance_only and not distance_only:
            continue
        vehicles = rec["solved_with_vehicles"] if "solved_with_vehicles" in rec else rec["vehicles"]
        distance = rec["best_known_cost"] if "best_known_cost" in rec else rec["distance"]
        out[name] = BestKnown(name, int(vehicles), float(distance), distance_only)
    return out
