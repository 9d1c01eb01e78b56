"""Stop criteria for the location solvers (small validated objects, as in PyVRP)."""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["MaxRuntime"]


@dataclass(frozen=True)
class MaxRuntime:
    """Stop a solve after ``seconds`` of wall-clock time (greedy, local search and MIP together).

    >>> MaxRuntime(30).seconds
    30.0
    """

    seconds: float

    def __post_init__(self) -> None:
        try:
            value = float(self.seconds)
        except (TypeError, ValueError):
            raise ValueError(f"MaxRuntime: seconds must be a number, got {self.seconds!r}") from None
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"MaxRuntime: seconds must be a finite number > 0, got {self.seconds!r}")
        object.__setattr__(self, "seconds", value)
