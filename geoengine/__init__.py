"""geoengine: camera coverage and patrol planning on real street networks."""

from __future__ import annotations

__version__ = "0.1.0"
