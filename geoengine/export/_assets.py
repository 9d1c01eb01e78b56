"""Third-party JavaScript and CSS of the offline map, read from installed packages.

Nothing is copied into this repository and nothing is fetched when a map is written:
every asset is a file of a package installed from PyPI with geoengine
(``XStatic-Leaflet`` for Leaflet itself, ``folium`` for the Leaflet.heat plugin it
ships). :func:`inline_assets` replaces each ``<script src>`` / ``<link href>`` that
names an asset (``geoengine-asset:NAME``) with the file's text, CSS images as ``data:``
URIs; :func:`check_offline` fails loudly when anything in a page would still be
loaded from the network.
"""

from __future__ import annotations

import base64
import importlib.metadata
import importlib.resources
import re
from dataclasses import dataclass
from functools import cache

__all__ = ["ASSETS", "Asset", "MapAssetError", "asset_url", "check_offline", "inline_assets"]

SCHEME = "geoengine-asset:"


class MapAssetError(RuntimeError):
    """A map page would load something from the network, or an asset is missing."""


@dataclass(frozen=True)
class Asset:
    """One JavaScript or CSS file shipped by an installed package."""

    name: str
    kind: str  # "js" or "css"
    distribution: str  # the PyPI project that installs it
    package: str  # the importable package holding the file
    path: str  # the file, relative to ``package``
    project: str  # the upstream project
    licence: str

    @property
    def version(self) -> str:
        """The installed version of the distribution that ships the file."""
        return importlib.metadata.version(self.distribution)

    def text(self) -> str:
        """The file's text; a stylesheet's relative ``url(...)`` images become ``data:`` URIs."""
        return _read(self)


ASSETS: dict[str, Asset] = {
    a.name: a
    for a in (
        Asset("leaflet.js", "js", "XStatic-Leaflet", "xstatic.pkg.leaflet", "data/leaflet.js", "Leaflet 1.9", "BSD-2-Clause"),
        Asset("leaflet.css", "css", "XStatic-Leaflet", "xstatic.pkg.leaflet", "data/leaflet.css", "Leaflet 1.9", "BSD-2-Clause"),
        Asset(
            "leaflet-heat.js",
            "js",
            "folium",
            "folium",
            "templates/leaflet_heat.min.js",
            "Leaflet.heat with simpleheat",
            "BSD-2-Clause",
        ),
    )
}


def asset_url(name: str) -> str:
    """The placeholder URL that :func:`inline_assets` replaces with the asset's text."""
    if name not in ASSETS:
        raise MapAssetError(f"unknown map asset {name!r}; known: {', '.join(ASSETS)}")
    return SCHEME + name


@cache
def _read(asset: Asset) -> str:
    root = importlib.resources.files(asset.package)
    file = root.joinpath(asset.path)
    try:
        text = file.read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError) as exc:  # pragma: no cover - a broken install
        raise MapAssetError(f"{asset.name}: {asset.path} not found in {asset.distribution} ({exc})") from exc
    if asset.kind == "css":
        folder = file.parent if hasattr(file, "parent") else root

        def inline(m: re.Match[str]) -> str:
            ref = m.group(2)
            if ref.startswith(("data:", "#")):
                return m.group(0)
            if re.match(r"^(?:[a-z]+:)?//", ref, re.I):
                raise MapAssetError(f"{asset.name} refers to {ref}, which would be loaded from the network")
            data = folder.joinpath(ref).read_bytes()
            mime = (
                "image/png" if ref.endswith(".png") else "image/svg+xml" if ref.endswith(".svg") else "application/octet-stream"
            )
            return f"url(data:{mime};base64,{base64.b64encode(data).decode('ascii')})"

        text = re.sub(r"url\((['\"]?)([^'\")]+)\1\)", inline, text)
    return text


def _banner(asset: Asset) -> str:
    return f"/* {asset.name}: {asset.project}, from PyPI {asset.distribution} {asset.version} ({asset.path}), {asset.licence} */"


_SCRIPT_SRC = re.compile(r"<script[^>]*\ssrc\s*=\s*[\"']" + re.escape(SCHEME) + r"([^\"']+)[\"'][^>]*>\s*</script>", re.I)
_LINK_HREF = re.compile(r"<link[^>]*\shref\s*=\s*[\"']" + re.escape(SCHEME) + r"([^\"']+)[\"'][^>]*>", re.I)


def inline_assets(page: str) -> str:
    """Replace every ``geoengine-asset:`` script and stylesheet link with the file's text."""

    def script(m: re.Match[str]) -> str:
        asset = ASSETS.get(m.group(1))
        if asset is None or asset.kind != "js":
            raise MapAssetError(f"unknown map script {m.group(1)!r}")
        body = asset.text().replace("</script", "<\\/script").replace("<!--", "<\\!--")
        return f"<script>{_banner(asset)}\n{body}\n</script>"

    def link(m: re.Match[str]) -> str:
        asset = ASSETS.get(m.group(1))
        if asset is None or asset.kind != "css":
            raise MapAssetError(f"unknown map stylesheet {m.group(1)!r}")
        body = asset.text().replace("</style", "<\\/style")
        return f"<style>{_banner(asset)}\n{body}\n</style>"

    page = _SCRIPT_SRC.sub(lambda m: script(m), page)
    return _LINK_HREF.sub(lambda m: link(m), page)


# what a browser would fetch on its own while loading the page (input data cannot
# produce these: it reaches the page HTML-escaped inside HTML-safe JSON)
_NETWORK_PATTERNS = {
    "script with src": re.compile(r"<script[^>]*\ssrc\s*=", re.I),
    "stylesheet or icon link": re.compile(r"<link[^>]*\shref\s*=", re.I),
    "image, frame or media source": re.compile(
        r"<(?:img|iframe|embed|video|audio|source|object)[^>]*\s(?:src|data)\s*=\s*[\"']?(?:[a-z][a-z0-9+.-]*:)?//", re.I
    ),
}
_STYLE_BLOCK = re.compile(r"<style[^>]*>(.*?)</style>", re.I | re.S)
_CSS_PATTERNS = {
    "CSS url() on the network": re.compile(r"url\(\s*[\"']?\s*(?:[a-z][a-z0-9+.-]*:)?//", re.I),
    "CSS @import": re.compile(r"@import\b", re.I),
}
_TILE_TEMPLATE = re.compile(r"[\"'](?:https?:)?//[^\"'\s]*\{z\}[^\"'\s]*[\"']", re.I)


def check_offline(page: str, *, tiles_allowed: bool = False) -> None:
    """Raise :class:`MapAssetError` if the page would load anything from the network.

    ``tiles_allowed``: web map tiles (a ``{z}/{x}/{y}`` URL template) were asked for;
    they are optional on the page, which renders without them.
    """
    found = []
    for what, pattern in _NETWORK_PATTERNS.items():
        m = pattern.search(page)
        if m:
            found.append(f"{what}: {page[m.start() : m.start() + 120]!r}")
    css = "\n".join(_STYLE_BLOCK.findall(page))
    for what, pattern in _CSS_PATTERNS.items():
        m = pattern.search(css)
        if m:
            found.append(f"{what}: {css[m.start() : m.start() + 120]!r}")
    if not tiles_allowed:
        m = _TILE_TEMPLATE.search(page)
        if m:
            found.append(f"web tile URL: {m.group(0)!r}")
    if found:
        raise MapAssetError("the map page is not self-contained; it would load from the network:\n  " + "\n  ".join(found))
