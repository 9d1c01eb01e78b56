"""Errors raised by geoengine.

Every error a user can cause derives from :class:`GeoEngineError` and also from the
matching built-in exception, so callers may catch either::

    try:
        scenario = geoengine.load_scenario("city.yaml")
    except FileNotFoundError: ...      # or: except geoengine.GeoEngineError

An error carries a list of :class:`Problem` records (what, where, how to fix) so that
validation can report every problem at once. The CLI turns these errors into exit
code 2 and prints one line per problem; anything else is an internal failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Self

__all__ = [
    "CRSMismatchError",
    "GeoEngineError",
    "InfeasibleSettingsError",
    "InputFileNotFoundError",
    "LayerError",
    "LayerOutsideNetworkError",
    "NetworkSourceError",
    "OfflineError",
    "OutputError",
    "Problem",
    "ScenarioError",
]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: where it is, what it is, and how to fix it."""

    message: str
    file: str | None = None
    field: str | None = None
    hint: str | None = None

    def __str__(self) -> str:
        where = ": ".join(p for p in (self.file, self.field) if p)
        text = f"{where}: {self.message}" if where else self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


class GeoEngineError(Exception):
    """Base class of every error caused by input the user can fix.

    Parameters
    ----------
    message
        A one-line summary.
    problems
        The individual problems (each with file, field and hint), reported together.
    """

    def __init__(self, message: str = "", *, problems: list[Problem] | None = None) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems or ())
        if not message and self.problems:
            message = "; ".join(str(p) for p in self.problems)
        super().__init__(message)

    @property
    def summary(self) -> str:
        """The one-line summary given when the error was raised."""
        return self.args[0] if self.args else ""

    @property
    def lines(self) -> list[str]:
        """The message as lines for a terminal: the summary, then one line per problem."""
        if len(self.problems) <= 1:
            return [str(self.problems[0]) if self.problems else self.summary]
        return [self.summary] + [f"  - {p}" for p in self.problems]

    def __str__(self) -> str:
        return "\n".join(self.lines)

    @classmethod
    def single(
        cls,
        message: str,
        *,
        file: str | Path | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> Self:
        """Build an error with exactly one problem."""
        problem = Problem(message, str(file) if file is not None else None, field, hint)
        return cls(str(problem), problems=[problem])


class ScenarioError(GeoEngineError, ValueError):
    """The scenario file is malformed or names settings that do not validate."""


class InputFileNotFoundError(GeoEngineError, FileNotFoundError):
    """A file that the scenario or the command names does not exist."""


class LayerError(GeoEngineError, ValueError):
    """A layer file cannot be read, lacks a column, or holds the wrong geometry."""


class CRSMismatchError(LayerError):
    """A layer's coordinates do not match its declared coordinate reference system."""


class LayerOutsideNetworkError(LayerError):
    """A layer lies wholly outside the road network's area."""


class NetworkSourceError(GeoEngineError, ValueError):
    """A road network source cannot be read or holds no usable streets."""


class OfflineError(GeoEngineError, ConnectionError):
    """An online source was asked for but the machine cannot reach it."""


class InfeasibleSettingsError(GeoEngineError, ValueError):
    """The settings ask for something that cannot be satisfied."""


class OutputError(GeoEngineError, OSError):
    """The run folder cannot be written where asked: ``--out`` names a file or a folder
    that is not a geoengine run, its parent is not writable, or the disk is full."""
