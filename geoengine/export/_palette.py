"""One palette for the map, the briefing, the shift sheets and the report.

Teams take Paul Tol's *muted* qualitative scheme (distinct for the common colour-vision
deficiencies), in the order of their sorted names, so a team has the same colour in
every file. Its rose and sand are left out: they read as the red and yellow risk levels.
The mode is told by the dash pattern (car solid, foot dotted, e-bike dashed), so two
teams that share a colour after the seventh still differ when their modes do.

Streets with no risk estimate (``"no data"``: outside the incidents' extent) are grey,
never blue.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "MODE_DASH_MAP",
    "MODE_DASH_MPL",
    "NO_DATA",
    "NO_DATA_COLOUR",
    "POST_STYLE",
    "TEAM_PALETTE",
    "team_colours",
]

TEAM_PALETTE: tuple[str, ...] = ("#332288", "#44AA99", "#882255", "#117733", "#AA4499", "#999933", "#88CCEE")
"""Paul Tol's muted scheme without rose and sand: indigo, teal, wine, green, purple, olive, cyan."""

MODE_DASH_MAP: dict[str, str | None] = {"car": None, "foot": "2 6", "ebike": "10 5", "bike": "10 5"}
"""Leaflet ``dashArray`` per mode (pixels)."""
MODE_DASH_MPL: dict[str, object] = {"car": "solid", "foot": (0, (1.0, 1.4)), "ebike": (0, (4.0, 1.6)), "bike": (0, (4.0, 1.6))}
"""matplotlib line styles per mode (in line widths)."""

NO_DATA = "no data"
NO_DATA_COLOUR = "#9e9e9e"

POST_STYLE: dict[str, dict[str, str]] = {
    "checkpoint": {"fill": "#000000", "text": "#ffffff", "letter": "C"},
    "booth": {"fill": "#ffffff", "text": "#000000", "letter": "B"},
}
"""Posts are black or white lettered squares: never a risk colour."""
KEY_SITE_COLOUR = "#5e3c99"
"""Key sites: a purple star (no risk level is purple)."""


def team_colours(teams: Iterable[object]) -> dict[str, str]:
    """Each team's colour: the palette in the order of the sorted team names."""
    names = sorted({str(t) for t in teams})
    return {t: TEAM_PALETTE[i % len(TEAM_PALETTE)] for i, t in enumerate(names)}
