(function () {
  var map = {{ this._parent.get_name() }};
  var group = {{ this.get_name() }};
  var plans = {{ this.plans|tojson }};
  var initial = {{ this.initial|tojson }};
  // per response tier (tightest first): whether its circle is wanted; the clock shows the window's own layer
  var tiersOn = {{ this.tiers_on|tojson }};
  var state = {plan: 0, window: Math.max(0, initial), minute: 0, shown: []};
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
    writeHash();
    var note = document.querySelector(".geoengine-clock .ge-note");
    var circles = plans[0].windows[state.window] && plans[0].windows[state.window].response_note;
    if (note) { note.innerHTML = [w.staffed, w.note, circles].filter(function (x) { return x; }).join("<br>"); }
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
    wsel.value = String(state.window);
    slider.addEventListener("input", function () { state.minute = parseInt(slider.value, 10); draw(); });
    wsel.addEventListener("change", function () {
      state.window = parseInt(wsel.value, 10); state.minute = 0; follow(); reset();
    });
    if (psel) { psel.addEventListener("change", function () { state.plan = parseInt(psel.value, 10); reset(); }); }
    return div;
  };
  var slider = null;
  // the one time control: its window drives the risk styling, the routes, the stops, the dropped visits,
  // the checkpoints staffed and the response circles (of the tiers switched on)
  var following = false;  // the layer control fires overlayadd/overlayremove for our own changes too
  function follow() {
    following = true;
    try { show(); } finally { following = false; }
  }
  function show() {
    var w = win(), layers = window.geoengine.layers;
    plans[0].windows.forEach(function (x) {
      [x.routes, x.dropped, x.posts].forEach(function (key) {
        var l = key && layers[key];
        if (l) { if (x.name === w.name) { map.addLayer(l); } else { map.removeLayer(l); } }
      });
      (x.response || []).forEach(function (key, j) {
        var l = layers[key];
        if (l) { if (x.name === w.name && tiersOn[j]) { map.addLayer(l); } else { map.removeLayer(l); } }
      });
    });
    var back = window.geoengine.back;
    for (var b = back.length - 1; b >= 0; b--) { if (map.hasLayer(back[b])) { back[b].bringToBack(); } }
    if (window.geoengineRisk) {
      var k = window.geoengineRisk.names.indexOf(w.name);
      if (k >= 0) { window.geoengineRisk.select(k); }
      window.geoengineRisk.hideSelector();
    }
  }
  // the view in the address: #window=evening&time=18:30[&plan=1], so a link opens the same view
  function writeHash() {
    var w = win(), h = "window=" + encodeURIComponent(w.name) + "&time=" + hhmm(w.start_min + state.minute);
    if (state.plan) { h += "&plan=" + state.plan; }
    if (window.history && window.history.replaceState) { window.history.replaceState(null, "", "#" + h); }
  }
  function readHash() {
    var q = {};
    (window.location.hash || "").replace(/^#/, "").split("&").forEach(function (kv) {
      var i = kv.indexOf("=");
      if (i > 0) { q[kv.slice(0, i)] = decodeURIComponent(kv.slice(i + 1)); }
    });
    var p = parseInt(q.plan || "0", 10);
    if (p >= 0 && p < plans.length) { state.plan = p; }
    var ws = plans[state.plan].windows;
    for (var j = 0; j < ws.length; j++) { if (ws[j].name === q.window) { state.window = j; } }
    var m = /^(\d\d):(\d\d)$/.exec(q.time || "");
    if (m) {
      var w = win(), at = parseInt(m[1], 10) * 60 + parseInt(m[2], 10);
      state.minute = Math.min(w.length_min, Math.max(0, ((at - w.start_min) % 1440 + 1440) % 1440));
    }
  }
  readHash();
  // switching a tier's circle on or off in the layer control (any window's) switches that tier:
  // the clock then shows its layer of the window in view
  function tierOf(layer) {
    var layers = window.geoengine.layers, ws = plans[0].windows;
    for (var i = 0; i < ws.length; i++) {
      var r = ws[i].response || [];
      for (var j = 0; j < r.length; j++) { if (layers[r[j]] === layer) { return j; } }
    }
    return -1;
  }
  map.on("overlayadd overlayremove", function (e) {
    var j = following ? -1 : tierOf(e.layer);
    if (j < 0) { return; }
    tiersOn[j] = e.type === "overlayadd";
    setTimeout(follow, 0);  // after the layer control has finished its own change
  });
  function reset() {
    slider.max = String(win().length_min);
    slider.value = String(Math.min(state.minute, win().length_min));
    state.minute = parseInt(slider.value, 10);
    draw();
  }
  c.addTo(map);
  var psel0 = document.querySelector(".geoengine-clock .ge-plan");
  if (psel0) { psel0.value = String(state.plan); }
  follow();
  reset();
  window.addEventListener("hashchange", function () {
    readHash(); follow();
    var ws = document.querySelector(".geoengine-clock .ge-window"); if (ws) { ws.value = String(state.window); }
    reset();
  });
  window.geoengine.clock = {
    state: function () { var s = JSON.parse(JSON.stringify(state)); s.window_name = win().name; return s; },
    select: function (i) { var s = document.querySelector(".geoengine-clock .ge-window"); s.value = String(i);
                           s.dispatchEvent(new Event("change")); },
    set: function (minute) { var s = document.querySelector(".geoengine-clock .ge-slider"); s.value = String(minute);
                             s.dispatchEvent(new Event("input")); }
  };
})();
