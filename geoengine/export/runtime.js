// The map page runtime, rendered by branca as a Jinja macro (the map is named by this._parent).
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
  function icon(st, text) {
    var size = st.size || 12;
    if (st.shape === "badge") {  // a post: a lettered square (C1, B2) in black or white, never a risk colour
      return L.divIcon({className: "geoengine-icon geoengine-badge",
                        html: "<div style='background:" + st.fillColor + ";color:" + st.color + ";border:1.5px solid #000;" +
                          "font:bold 11px/13px sans-serif;padding:0 3px;white-space:nowrap;box-shadow:0 0 2px #fff'>" +
                          (text || "") + "</div>", iconSize: null, iconAnchor: [8, 8]});
    }
    if (st.shape === "star") {  // a key site
      return L.divIcon({className: "geoengine-icon geoengine-star",
                        html: "<div style='color:" + st.fillColor + ";font-size:" + size + "px;line-height:" + size +
                          "px;text-shadow:0 0 2px #fff,0 0 2px #fff'>\u2605</div>",
                        iconSize: [size, size], iconAnchor: [size / 2, size / 2]});
    }
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
        if (st.shape) { return L.marker(ll, {icon: icon(st, f.properties && f.properties.b), interactive: !!o.interactive, keyboard: false}); }
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
// Names on the map (beats, hotspots, posts), shown from a zoom level on, as small text labels.
(function () {
  var api = window.geoengine, map = api.map;
  api.labels = function (key, data, minZoom) {
    var group = L.layerGroup();
    (data.features || []).forEach(function (f) {
      var c = f.geometry.coordinates, p = f.properties || {};
      group.addLayer(L.marker([c[1], c[0]], {interactive: false, keyboard: false, icon: L.divIcon({
        className: "geoengine-label geoengine-label-" + (p.k || "place"), iconSize: null, iconAnchor: [-6, 6],
        html: "<span style='font:" + (p.k === "beat" ? "bold 13px" : "11px") + " sans-serif;color:#111;white-space:nowrap;" +
          "text-shadow:0 0 2px #fff,0 0 2px #fff,0 0 3px #fff'>" + p.t + "</span>"})}));
    });
    function update() { if (map.getZoom() >= minZoom) { map.addLayer(group); } else { map.removeLayer(group); } }
    map.on("zoomend", update);
    update();
    api.layers[key] = group;
    return group;
  };
})();
