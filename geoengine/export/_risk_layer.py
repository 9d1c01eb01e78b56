"""The risk layer of the briefing map: streets coloured by level, one window at a time."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np
import shapely
from branca.element import Template
from folium.map import Layer

from ._csv import round_sig
from ._map_js import RawMacro, geojson_text

if TYPE_CHECKING:
    from ..risk import RiskSurface

from ..risk import LEVEL_COLOURS, LEVELS
from ._palette import NO_DATA, NO_DATA_COLOUR

SHOWN = (*LEVELS, *(() if NO_DATA in LEVELS else (NO_DATA,)))
"""The levels of the layer: the four graded ones, then "no data" (grey, never blue)."""

_TEMPLATE = """
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.featureGroup();
(function () {
  var map = {{ this._parent.get_name() }};
  var group = {{ this.get_name() }};
  var data = {{ this.data_json }};
  var windows = {{ this.windows|tojson }};
  var colours = {{ this.colours|tojson }};
  var levels = {{ this.levels|tojson }};
  var legendText = {{ this.legend|tojson }};
  var current = 0;
  function style(f) {
    var lv = f.properties.l[current];
    var name = levels[lv];
    if (name === "no data") { return {color: colours[lv], weight: 1.5, opacity: 0.8, dashArray: "2 4"}; }
    return {color: colours[lv], weight: name === "red" ? 4.5 : (name === "blue" ? 1.5 : 3), opacity: name === "blue" ? 0.6 : 0.95};
  }
  function casingStyle(f) {
    var on = f.properties.h[current] === 1;
    return {color: "#111111", weight: on ? 9 : 0, opacity: on ? 0.85 : 0};
  }
  function tip(f) {
    var p = f.properties;
    var text = "<b>" + (p.n || "(unnamed street)") + "</b><br>" + windows[current] + ": <b>" +
      levels[p.l[current]] + "</b>" + (levels[p.l[current]] === "no data" ? " (outside the incidents' extent)" :
      ", risk " + p.r[current] + " harm-weighted incidents per km over the incident history");
    if (p.h[current] === 1) { text += "<br><b>significant hotspot</b> (Gi*, FDR-corrected)"; }
    return text;
  }
  var casing = L.geoJson(data, {filter: function (f) { return f.properties.h.indexOf(1) >= 0; },
                                style: casingStyle, interactive: false});
  var streets = L.geoJson(data, {style: style, onEachFeature: function (f, layer) {
    layer.bindTooltip(function () { return tip(f); }, {sticky: true});
  }});
  window.geoengine.layers["risk"] = streets;
  group.addLayer(casing);
  group.addLayer(streets);

  var control = L.control({position: "bottomright"});
  control.onAdd = function () {
    var div = L.DomUtil.create("div", "geoengine-risk-legend");
    div.style.cssText = "background:rgba(255,255,255,0.95);padding:8px 10px;border-radius:4px;" +
      "font:13px/1.4 sans-serif;box-shadow:0 1px 4px rgba(0,0,0,0.3)";
    var html = "<b>Risk level</b> — time window<br><select class='geoengine-window' style='margin:4px 0;max-width:220px'>";
    for (var i = 0; i < windows.length; i++) { html += "<option value='" + i + "'>" + windows[i] + "</option>"; }
    html += "</select>";
    for (var k = 0; k < levels.length; k++) {
      html += "<div><span style='display:inline-block;width:22px;height:5px;margin:0 6px 3px 0;background:" +
        colours[k] + "'></span>" + legendText[k] + "</div>";
    }
    html += "<div><span style='display:inline-block;width:22px;height:7px;margin:0 6px 2px 0;background:#111'></span>" +
      "significant hotspot (Gi*)</div>";
    div.innerHTML = html;
    L.DomEvent.disableClickPropagation(div);
    var select = div.querySelector("select");
    select.addEventListener("change", function () {
      current = parseInt(select.value, 10);
      streets.setStyle(style);
      casing.setStyle(casingStyle);
      var n = document.querySelector(".geoengine-window-shown");
      if (n) { n.textContent = windows[current] + " (set by the time control)"; }
    });
    return div;
  };
  control.addTo(map);
  // the selector and legend show while the layer does
  map.on("overlayadd overlayremove", function (e) {
    if (e.layer === group) { control.getContainer().style.display = e.type === "overlayadd" ? "" : "none"; }
  });
  window.geoengineRisk = {windows: windows, names: {{ this.names|tojson }}, select: function (i) {
    var s = document.querySelector("select.geoengine-window"); s.value = String(i);
    s.dispatchEvent(new Event("change"));
  }, current: function () { return current; }, hideSelector: function () {
    // the patrol clock is the one time control: the legend names its window instead of a second selector
    var s = document.querySelector("select.geoengine-window");
    if (s && s.style.display !== "none") {
      s.style.display = "none";
      var note = document.createElement("div");
      note.className = "geoengine-window-shown";
      s.parentNode.insertBefore(note, s);
    }
    var n = document.querySelector(".geoengine-window-shown");
    if (n) { n.textContent = windows[current] + " (set by the time control)"; }
  }};
})();
{% endmacro %}
"""


class RiskLayer(Layer, RawMacro):
    """The graded streets as one overlay, with a window selector and a legend (escaped labels)."""

    _template = Template(_TEMPLATE)

    def __init__(self, surface: RiskSurface, *, name: str = "Risk level by time window", show: bool = True) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "RiskLayer"
        names = ["*", *surface.window_names]
        labels = ["all times of day"] + [
            f"{w.name} ({w.start}–{w.end}{'' if w.days is None else ', ' + ' '.join(w.days)})" for w in surface.windows
        ]
        self.windows = [_esc(s) for s in labels]
        self.names = [_esc(s) for s in names]
        self.levels = list(SHOWN)
        self.colours = [LEVEL_COLOURS.get(lv, NO_DATA_COLOUR) if lv != NO_DATA else NO_DATA_COLOUR for lv in SHOWN]
        shares = surface.settings.level_shares
        if surface.settings.thresholds_per_km is None:
            cum = np.cumsum(shares) * 100
            self.legend = [
                f"red — top {cum[0]:g} % of street length",
                f"orange — next {shares[1] * 100:g} %",
                f"yellow — next {shares[2] * 100:g} %",
                "blue — the rest",
            ]
        else:
            r, o, y = surface.settings.thresholds_per_km
            self.legend = [f"red — ≥ {r:g} per km", f"orange — ≥ {o:g} per km", f"yellow — ≥ {y:g} per km", "blue — below"]
        self.legend.append("grey — no data (outside the incidents' extent)")
        self.data_json, self.n_features = _features(surface, names)


def _esc(value: str) -> str:
    """HTML-escape text from input data, braces included (see ``map._esc``)."""
    return html.escape(value, quote=True).replace("{", "&#123;").replace("}", "&#125;")


def _features(surface: RiskSurface, names: list[str]) -> tuple[str, int]:
    seg = surface.segments.to_crs("EPSG:4326")
    code = {lv: i for i, lv in enumerate(SHOWN)}
    levels, risk, hot = [], [], []
    for name in names:
        b = surface.for_window(name)
        levels.append(b["level"].map(code).fillna(code[NO_DATA]).to_numpy(dtype=int))
        risk.append(round_sig(b["risk_per_km"].to_numpy(dtype=float), 3))  # 3 significant digits, as the report
        hot.append(b["hotspot"].to_numpy(dtype=bool).astype(int))
    lv, rk, ht = np.column_stack(levels).tolist(), np.column_stack(risk).tolist(), np.column_stack(hot).tolist()
    seg_names = seg["name"].fillna("").astype(str).map(_esc).tolist()
    props = [{"n": n, "l": a, "r": b, "h": c} for n, a, b, c in zip(seg_names, lv, rk, ht)]
    return geojson_text(shapely.simplify(seg.geometry.values, 1e-5), props)
