"""The one version: the installed distribution's (pyproject.toml), read with importlib.metadata."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("geoengine")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
