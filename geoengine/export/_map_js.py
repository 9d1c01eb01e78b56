"""The map page's own JavaScript (plain ES5 on Leaflet; no other library).

``RUNTIME`` defines ``window.geoengine``: panes (basemap under optional web tiles
under the data), one canvas renderer per pane, vector layers drawn from compact
GeoJSON whose ``properties`` hold a style index ``s``, a tooltip ``t`` and a popup ``p``
(HTML already escaped in Python), and the patrol clock (a window selector and a time
slider showing where each team is at that minute and the way it came; a team on its meal
break shows as a hollow marker and says so).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources
from typing import Any

import numpy as np
import shapely
from branca.element import Element, Figure, MacroElement


def _js(name: str) -> str:
    """A script shipped beside this module (package data), as text."""
    return (resources.files(__package__) / name).read_text(encoding="utf-8")


RUNTIME = _js("runtime.js")

CLOCK = _js("clock.js")


class _Raw(Element):
    """Text put on the page as it is (branca would compile it as a Jinja template)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def render(self, **kwargs: Any) -> str:
        return self.text


class RawMacro(MacroElement):
    """A MacroElement whose rendered header, HTML and script are not rendered a second time.

    branca's MacroElement wraps each rendered macro in ``Element(text)``, which compiles
    the text as a Jinja template: slow for megabytes of GeoJSON, and any ``{{ … }}`` in
    the data would be evaluated. Subclasses (and layers that list this class after
    folium's ``Layer``) render each macro once.
    """

    def render(self, **kwargs: Any) -> None:
        figure = self.get_root()
        assert isinstance(figure, Figure), "You cannot render this Element if it is not in a Figure."
        module = self._template.module.__dict__
        for part, target in (("header", figure.header), ("html", figure.html), ("script", figure.script)):
            macro = module.get(part)
            if macro is not None:
                target.add_child(_Raw(str(macro(self, kwargs))), name=self.get_name())
        for element in self._children.values():
            element.render(**kwargs)


_HTML_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027"})


def html_safe_json(value: Any) -> str:
    """JSON that is safe inside a ``<script>`` element (as Jinja's ``tojson``)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).translate(_HTML_SAFE)


def geojson_text(geoms: Any, props: Sequence[dict[str, Any]] | None = None, *, decimals: int = 6) -> tuple[str, int]:
    """A FeatureCollection as HTML-safe JSON text and its number of features.

    Coordinates are rounded to ``decimals`` (6: ~0.1 m); empty geometries are left out.
    Geometries are written by GEOS (vectorised), properties by :func:`html_safe_json`.
    """
    values = np.asarray(geoms.values if hasattr(geoms, "values") else geoms, dtype=object)
    keep = np.flatnonzero(~(shapely.is_missing(values) | shapely.is_empty(values)))
    rounded = shapely.transform(values[keep], lambda c: np.round(c, decimals))
    geometry = shapely.to_geojson(rounded)
    features = [
        '{"type":"Feature","geometry":' + g + ',"properties":' + (html_safe_json(props[i]) if props else "{}") + "}"
        for g, i in zip(geometry, keep)
    ]
    return '{"type":"FeatureCollection","features":[' + ",".join(features) + "]}", len(features)
