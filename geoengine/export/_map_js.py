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
from typing import Any

import numpy as np
import shapely
from branca.element import Element, Figure, MacroElement

RUNTIME = r"""
(function () {
  var map = {{ this._parent.get_name() }};
  var api = window.geoengine = {map: map, layers: {}, back: [], front: []};
  var renderers = {};
  function pane(name, z, events) {
    var p = map.createPane(name);
    p.style.zIndex = String(z);
    if (!events) { p.style.pointerEvents = "none"; }
    return p;
  }
  pane("basemap", 250, false);
  pane("webtiles", 300, false);
  map.getContainer().style.background = "#f4f3ef";
  api.renderer = function (name) {
    if (!renderers[name]) { renderers[name] = L.canvas({pane: name, padding: 0.3}); }
    return renderers[name];
  };
  function icon(st) {
    var size = st.size || 12;
    if (st.shape === "pause") {  // a meal break: a white disc with two bars in the team's colour
      var bar = "display:inline-block;width:3px;height:" + Math.round(size * 0.5) + "px;margin:0 1px;background:" + st.color;
      var disc = "width:" + size + "px;height:" + size + "px;background:" + st.fillColor + ";border:2px solid " + st.color +
        ";border-radius:50%;box-shadow:0 0 2px #000;box-sizing:border-box;display:flex;align-items:center;justify-content:center";
      return L.divIcon({className: "geoengine-icon geoengine-break",
                        html: "<div style='" + disc + "'><span style='" + bar + "'></span><span style='" + bar + "'></span></div>",
                        iconSize: [size, size], iconAnchor: [size / 2, size / 2]});
    }
    var css = "width:" + size + "px;height:" + size + "px;background:" + st.fillColor + ";border:2px solid " +
      (st.color || "#fff") + ";box-shadow:0 0 2px #000;box-sizing:border-box";
    if (st.shape === "diamond") { css += ";transform:rotate(45deg)"; }
    if (st.shape === "dot") { css += ";border-radius:50%"; }
    return L.divIcon({className: "geoengine-icon", html: "<div style='" + css + "'></div>",
                      iconSize: [size, size], iconAnchor: [size / 2, size / 2]});
  }
  api.vector = function (key, data, o) {
    var styles = o.styles;
    function style(f) { return styles[(f.properties && f.properties.s) || 0]; }
    var opts = {
      interactive: !!o.interactive,
      style: style,
      pointToLayer: function (f, ll) {
        var st = style(f);
        if (st.shape) { return L.marker(ll, {icon: icon(st), interactive: !!o.interactive, keyboard: false}); }
        return L.circleMarker(ll, L.extend({}, st, {interactive: !!o.interactive}));
      },
      onEachFeature: function (f, layer) {
        var p = f.properties || {};
        if (p.t) { layer.bindTooltip(p.t, {sticky: !layer.getLatLng, direction: "top"}); }
        if (p.p) { layer.bindPopup(p.p, {maxWidth: 340}); }
      }
    };
    if (o.pane) { opts.pane = o.pane; opts.renderer = api.renderer(o.pane); }
    var layer = L.geoJson(data, opts);
    api.layers[key] = layer;
    if (o.order === "back") { api.back.push(layer); }
    if (o.order === "front") { api.front.push(layer); }
    return layer;
  };
  // areas stay under the streets and points above them when a layer is switched back on
  map.on("overlayadd", function () {
    for (var i = api.back.length - 1; i >= 0; i--) { if (map.hasLayer(api.back[i])) { api.back[i].bringToBack(); } }
    for (var j = 0; j < api.front.length; j++) { if (map.hasLayer(api.front[j])) { api.front[j].bringToFront(); } }
  });
  L.control.scale({imperial: false, maxWidth: 180, position: "bottomleft"}).addTo(map);
  api.box = function (position, cls, html, css) {
    var c = L.control({position: position});
    c.onAdd = function () {
      var div = L.DomUtil.create("div", "geoengine-box " + cls);
      div.style.cssText = "background:rgba(255,255,255,0.94);padding:6px 10px;border-radius:4px;" +
        "font:12px/1.35 sans-serif;box-shadow:0 1px 4px rgba(0,0,0,0.3);" + (css || "");
      div.innerHTML = html;
      // on a small screen the legend starts folded, leaving the map and the clock visible
      var details = div.querySelector("details");
      if (details && map.getSize().y < 820) { details.open = false; }
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    };
    c.addTo(map);
    return c;
  };
})();
"""

CLOCK = r"""
(function () {
  var map = {{ this._parent.get_name() }};
  var group = {{ this.get_name() }};
  var plans = {{ this.plans|tojson }};
  var state = {plan: 0, window: 0, minute: 0, shown: []};
  function hhmm(min) {
    var m = ((Math.round(min) % 1440) + 1440) % 1440;
    return ("0" + Math.floor(m / 60)).slice(-2) + ":" + ("0" + (m % 60)).slice(-2);
  }
  function win() { return plans[state.plan].windows[state.window]; }
  function clock(s) { return hhmm(win().start_min + s / 60); }
  function position(team, t) {
    var s = team.s;
    if (!s.length) { return {d: 0, status: "no stops"}; }
    if (t < s[0][0]) { return {d: s[0][2], status: "not yet out (leaves " + clock(s[0][1]) + ")"}; }
    // a meal break first: the break row lies between (or at) the stops it falls among
    for (var b = 0; b < s.length; b++) {
      if (s[b][4] && t >= s[b][0] && t < s[b][1]) {
        return {d: s[b][2], on_break: true,
                status: "on a meal break " + clock(s[b][0]) + "–" + clock(s[b][1]) + " (" + s[b][3] + ")"};
      }
    }
    for (var i = 0; i < s.length; i++) {
      if (t >= s[i][0] && t <= s[i][1] && !s[i][4]) {
        return {d: s[i][2], status: "at " + s[i][3] + " until " + clock(s[i][1])};
      }
      if (i + 1 < s.length && t > s[i][1] && t < s[i + 1][0]) {
        var f = (t - s[i][1]) / Math.max(1, s[i + 1][0] - s[i][1]);
        var to = s[i + 1][4] ? "its " + s[i + 1][3] + " (starts " : s[i + 1][3] + " (arrives ";
        return {d: s[i][2] + f * (s[i + 1][2] - s[i][2]), status: "on the way to " + to + clock(s[i + 1][0]) + ")"};
      }
    }
    return {d: s[s.length - 1][2], status: "back, route done"};
  }
  function trail(team, d) {
    var c = team.c, cum = team.d, out = [c[0]];
    for (var i = 1; i < c.length; i++) {
      if (cum[i] <= d) { if (cum[i] > cum[i - 1]) { out.push(c[i]); } continue; }
      var f = (d - cum[i - 1]) / Math.max(1e-9, cum[i] - cum[i - 1]);
      if (f > 0) { out.push([c[i - 1][0] + f * (c[i][0] - c[i - 1][0]), c[i - 1][1] + f * (c[i][1] - c[i - 1][1])]); }
      break;
    }
    return out;
  }
  function draw() {
    group.clearLayers();
    state.shown = [];
    var w = win(), t = state.minute * 60;
    for (var k = 0; k < w.teams.length; k++) {
      var team = w.teams[k], p = position(team, t), tr = trail(team, p.d);
      if (tr.length > 1) {
        group.addLayer(L.polyline(tr, {color: team.colour, weight: 5, opacity: 0.9, interactive: false}));
      }
      var head = tr[tr.length - 1];
      // on a meal break the team's marker is a large white disc ringed (dashed) in its colour, around the break marker
      var mark = p.on_break ? {radius: 13, color: team.colour, weight: 4, dashArray: "4 3", fillColor: "#ffffff", fillOpacity: 0.9}
                            : {radius: 8, color: "#ffffff", weight: 2.5, fillColor: team.colour, fillOpacity: 1};
      group.addLayer(L.circleMarker(head, mark)
        .bindTooltip("<b>" + team.team + "</b> (" + team.mode + ") " + hhmm(w.start_min + state.minute) + ": " + p.status));
      state.shown.push({team: team.team, status: p.status, on_break: !!p.on_break, trail: tr.length, lat: head[0], lon: head[1]});
    }
    var label = document.querySelector(".geoengine-clock .ge-time");
    if (label) { label.textContent = hhmm(w.start_min + state.minute); }
    var note = document.querySelector(".geoengine-clock .ge-note");
    if (note) { note.innerHTML = w.note || ""; }
  }
  var c = L.control({position: "bottomleft"});
  c.onAdd = function () {
    var div = L.DomUtil.create("div", "geoengine-box geoengine-clock");
    div.style.cssText = "background:rgba(255,255,255,0.95);padding:6px 10px;border-radius:4px;" +
      "font:12px/1.4 sans-serif;box-shadow:0 1px 4px rgba(0,0,0,0.3);min-width:260px";
    var html = "<b>Patrols at <span class='ge-time' style='font-size:14px'></span></b><br>";
    if (plans.length > 1) {
      html += "<select class='ge-plan' style='margin:3px 4px 3px 0;max-width:130px'>";
      for (var i = 0; i < plans.length; i++) { html += "<option value='" + i + "'>" + plans[i].label + "</option>"; }
      html += "</select>";
    }
    html += "<select class='ge-window' style='margin:3px 0;max-width:190px'>";
    var ws = plans[0].windows;
    for (var j = 0; j < ws.length; j++) { html += "<option value='" + j + "'>" + ws[j].label + "</option>"; }
    html += "</select><br><input type='range' class='ge-slider' min='0' step='1' value='0' style='width:250px'>" +
      "<div class='ge-note' style='color:#555;max-width:260px'></div>";
    div.innerHTML = html;
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    slider = div.querySelector(".ge-slider");
    var wsel = div.querySelector(".ge-window"), psel = div.querySelector(".ge-plan");
    slider.addEventListener("input", function () { state.minute = parseInt(slider.value, 10); draw(); });
    wsel.addEventListener("change", function () {
      state.window = parseInt(wsel.value, 10); state.minute = 0; reset(); follow();
    });
    if (psel) { psel.addEventListener("change", function () { state.plan = parseInt(psel.value, 10); reset(); }); }
    return div;
  };
  var slider = null;
  // choosing a window in the clock shows that window's routes and its risk
  function follow() {
    var w = win(), layers = window.geoengine.layers;
    plans[0].windows.forEach(function (x) {
      var l = layers[x.routes];
      if (l) { if (x.name === w.name) { map.addLayer(l); } else { map.removeLayer(l); } }
    });
    if (window.geoengineRisk) {
      var k = window.geoengineRisk.names.indexOf(w.name);
      if (k >= 0) { window.geoengineRisk.select(k); }
    }
  }
  function reset() {
    slider.max = String(win().length_min);
    slider.value = String(Math.min(state.minute, win().length_min));
    state.minute = parseInt(slider.value, 10);
    draw();
  }
  c.addTo(map);
  reset();
  window.geoengine.clock = {
    state: function () { return JSON.parse(JSON.stringify(state)); },
    set: function (minute) { var s = document.querySelector(".geoengine-clock .ge-slider"); s.value = String(minute);
                             s.dispatchEvent(new Event("input")); }
  };
})();
"""


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
