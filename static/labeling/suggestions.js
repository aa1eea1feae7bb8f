// Suggestions in the annotation workspace (docs/annotation.md "Suggestions"): a model's predicted
// shapes for the item, drawn dashed with their score, that the annotator accepts (the shape joins the
// document with origin prediction_accepted), adjusts (accepted, then changed: prediction_edited) or
// dismisses. The workspace (workspace.js and its modules: workspace/shapes.js, workspace/save.js) owns
// the document, the undo history and the saves; this module only reads the item's predictions, draws
// them and hands accepted shapes to `ws.change`.
//
// Dismissals stay on this device (localStorage, per user and task): a dismissed suggestion is simply
// not in the document, which is all the acceptance figures need.

var ACCEPTED = "prediction_accepted";
var EDITED = "prediction_edited";

// The fields that make a shape what it is: a change to any of them turns an accepted shape edited.
function signature(shape) {
  return JSON.stringify([shape.class, shape.type, shape.box || null, shape.points || null, shape.attributes || {}]);
}

function originKind(shape) { return shape.origin && shape.origin.kind ? shape.origin.kind : "manual"; }

// Before a change: the accepted shapes as they are. After it: those that changed become edited.
export function acceptedBefore(doc) {
  var map = {};
  doc.shapes.forEach(function (s) { if (originKind(s) === ACCEPTED) map[s.id] = signature(s); });
  return map;
}

export function markEdited(doc, before) {
  doc.shapes.forEach(function (s) {
    if (originKind(s) === ACCEPTED && before[s.id] !== undefined && before[s.id] !== signature(s)) {
      s.origin = { kind: EDITED, prediction: s.origin.prediction };
    }
  });
}

// ws: { state, change, select, renderAll, centreOn, message, newId, el, svg, clear, colourOf, toScreen,
//       send, url() (the item's predictions), storageKey, els: {panel, count, show, run, threshold,
//       acceptAll, list} }
export function createSuggestions(ws) {
  var els = ws.els;
  var data = { runs: [], prediction: null };
  var shown = true;
  var current = null; // the ref of the suggestion the keyboard is on
  var dismissed = readDismissed();
  var layer = null;

  function ref(shape) { return data.prediction.id + ":" + shape.id; }

  function readDismissed() {
    try { return JSON.parse(localStorage.getItem(ws.storageKey) || "[]") || []; } catch (err) { return []; }
  }

  function writeDismissed() {
    try { localStorage.setItem(ws.storageKey, JSON.stringify(dismissed.slice(-2000))); } catch (err) { /* storage off */ }
  }

  function active() { return ws.state.editable && !ws.state.conflict && data.prediction; }

  // The chosen prediction's shapes not yet in the document and not dismissed, highest score first.
  // Left out too: a class the schema no longer has (the save would refuse it) and an image tag the
  // document already carries (a tag is there or not).
  function open() {
    if (!data.prediction) return [];
    var taken = {}, tagged = {};
    ws.state.doc.shapes.forEach(function (s) {
      if (s.origin && s.origin.prediction) taken[s.origin.prediction] = true;
      if (s.type === "tag") tagged[s.class] = true;
    });
    return data.prediction.shapes.filter(function (s) {
      var r = ref(s);
      return !taken[r] && dismissed.indexOf(r) < 0 && ws.state.classes[s.class] && !(s.type === "tag" && tagged[s.class]);
    }).sort(function (a, b) { return b.score - a.score; });
  }

  function byRef(r) {
    var found = open().filter(function (s) { return ref(s) === r; });
    return found[0] || null;
  }

  function load(predictionId) {
    var url = ws.url() + (predictionId ? "?prediction=" + encodeURIComponent(predictionId) : "");
    return ws.send("GET", url).then(function (result) {
      if (!result.ok) { ws.message("Suggestions could not be loaded: " + ((result.data && result.data.detail) || result.status), "error"); return; }
      data = { runs: result.data.predictions || [], prediction: result.data.prediction };
      current = null;
      buildRuns();
      ws.renderAll();
    }, function () { /* offline: no suggestions, the workspace works without them */ });
  }

  function buildRuns() {
    ws.clear(els.run);
    data.runs.forEach(function (run) {
      var when = String(run.created_at || "").slice(0, 16).replace("T", " ");
      var option = ws.el("option", { value: String(run.id) },
                         run.model_ref + " · " + when + " · " + run.shape_count + " shape" + (run.shape_count === 1 ? "" : "s"));
      els.run.appendChild(option);
    });
    if (data.prediction) els.run.value = String(data.prediction.id);
    els.run.hidden = data.runs.length < 2;
  }

  function accept(r) {
    var shape = byRef(r);
    if (!shape || !active()) return null;
    var made = toShape(shape);
    if (!ws.change(function (doc) { doc.shapes.push(made); })) return null;
    current = null;
    ws.select(made.id);
    return made;
  }

  function toShape(predicted) {
    var shape = { id: ws.newId("s"), class: predicted.class, type: predicted.type,
                  attributes: JSON.parse(JSON.stringify(predicted.attributes || {})),
                  origin: { kind: ACCEPTED, prediction: ref(predicted) } };
    if (predicted.box) shape.box = predicted.box.slice();
    if (predicted.points) shape.points = predicted.points.map(function (p) { return p.slice(); });
    return shape;
  }

  function acceptAbove() {
    if (!active()) return;
    var threshold = Number(els.threshold.value);
    if (!isFinite(threshold) || threshold < 0 || threshold > 1) {
      ws.message("The score to accept from is a number from 0 to 1.", "error");
      return;
    }
    var chosen = open().filter(function (s) { return s.score >= threshold; });
    if (!chosen.length) { ws.message("No suggestion scores " + threshold + " or more.", "info"); return; }
    var made = chosen.map(toShape);
    ws.change(function (doc) { made.forEach(function (s) { doc.shapes.push(s); }); });
    current = null;
    ws.message("Accepted " + made.length + " suggestion" + (made.length === 1 ? "" : "s") + " scoring " + threshold + " or more.", "info");
  }

  function dismiss(r) {
    if (!r || dismissed.indexOf(r) >= 0) return;
    var order = open().map(ref), at = order.indexOf(r);
    dismissed.push(r);
    writeDismissed();
    if (current === r) current = order[at + 1] || order[at - 1] || null;
    ws.renderAll();
  }

  // An accepted shape deleted from the document: its suggestion does not come back.
  function forget(shape) {
    if (shape && shape.origin && shape.origin.prediction && dismissed.indexOf(shape.origin.prediction) < 0) {
      dismissed.push(shape.origin.prediction);
      writeDismissed();
    }
  }

  function go(step) {
    var order = open();
    if (!order.length) { ws.message("No suggestions left.", "info"); return; }
    if (!shown) setShown(true);
    var refs = order.map(ref), at = refs.indexOf(current);
    current = at < 0 ? refs[step > 0 ? 0 : refs.length - 1] : refs[(at + step + refs.length) % refs.length];
    ws.select(null);
    var shape = byRef(current);
    if (shape && (shape.box || shape.points)) ws.centreOn(shape);
    ws.renderAll();
    var entry = els.list.querySelector('[data-ref="' + CSS.escape(current) + '"]');
    if (entry) entry.scrollIntoView({ block: "nearest" });
  }

  function focus(r) {
    current = r;
    ws.select(null);
    ws.renderAll();
  }

  function setShown(on) {
    shown = on;
    els.show.checked = on;
    ws.renderAll();
  }

  // The keyboard (docs/annotation.md "Keyboard"): true when the key was about suggestions.
  function onKey(e) {
    if (!active()) return false;
    var key = e.key, state = ws.state;
    if ((key === "s" || key === "S") && !state.draft) { go(e.shiftKey ? -1 : 1); return true; }
    if (key === "o" || key === "O") { setShown(!shown); return true; }
    if ((key === "a" || key === "A") && e.shiftKey) { acceptAbove(); return true; }
    if (!current || state.selected || state.draft) return false;
    if (key === "a" || key === "A" || key === "Enter") { accept(current); return true; }
    if (key === "x" || key === "X" || key === "Delete" || key === "Backspace") { dismiss(current); return true; }
    if (key === "Escape") { current = null; ws.renderAll(); return true; }
    return false;
  }

  // ------------------------------------------------------------ drawing

  function attach(world, before) {
    layer = ws.svg("g", { "class": "suggestions" });
    world.insertBefore(layer, before);
  }

  function renderLayer() {
    if (!layer) return;
    ws.clear(layer);
    if (!shown || !active()) return;
    open().forEach(function (s) {
      var node;
      if (s.type === "box" && s.box) node = ws.svg("rect", { x: s.box[0], y: s.box[1], width: s.box[2], height: s.box[3] });
      else if (s.type === "polygon" && s.points) node = ws.svg("polygon", { points: s.points.map(function (p) { return p[0] + "," + p[1]; }).join(" ") });
      else return;
      var r = ref(s);
      node.setAttribute("class", "suggestion" + (r === current ? " current" : ""));
      node.setAttribute("stroke", ws.colourOf(s.class));
      node.setAttribute("fill", ws.colourOf(s.class));
      node.setAttribute("data-suggestion", r);
      var title = ws.svg("title");
      title.textContent = "Suggestion: " + s.class + " " + s.score.toFixed(2);
      node.appendChild(title);
      layer.appendChild(node);
    });
  }

  // Scores at each suggestion's top-left corner, in screen pixels (the workspace's screen layer).
  function renderScreen(screenLayer) {
    if (!shown || !active()) return;
    open().forEach(function (s) {
      var b = s.box || (s.points && bbox(s.points));
      if (!b) return;
      var p = ws.toScreen(b[0], b[1] + b[3]);
      var text = ws.svg("text", { x: p[0] + 3, y: p[1] - 4, "class": "suggestion-score" + (ref(s) === current ? " current" : "") });
      text.textContent = s.score.toFixed(2);
      screenLayer.appendChild(text);
    });
  }

  function bbox(points) {
    var xs = points.map(function (p) { return p[0]; }), ys = points.map(function (p) { return p[1]; });
    var x = Math.min.apply(null, xs), y = Math.min.apply(null, ys);
    return [x, y, Math.max.apply(null, xs) - x, Math.max.apply(null, ys) - y];
  }

  function renderPanel() {
    var visible = !!(ws.state.editable && data.prediction);
    els.panel.hidden = !visible;
    if (!visible) return;
    var order = open();
    els.count.textContent = "(" + order.length + " of " + data.prediction.shapes.length + ")";
    els.acceptAll.disabled = !order.length || !!ws.state.conflict;
    ws.clear(els.list);
    if (!order.length) { els.list.appendChild(ws.el("li", { "class": "muted" }, "None left.")); return; }
    order.forEach(function (s) {
      var r = ref(s);
      var li = ws.el("li", { "class": "suggestion-entry" + (r === current ? " current" : ""), "data-ref": r });
      var name = ws.el("button", { type: "button", "class": "linkish suggestion-go", title: "Show it (S goes to the next)" });
      var swatch = ws.el("span", { "class": "swatch" });
      swatch.style.background = ws.colourOf(s.class);
      name.appendChild(swatch);
      name.appendChild(ws.el("span", { "class": "shape-class" }, s.class));
      name.appendChild(ws.el("span", { "class": "suggestion-score-text muted" }, s.score.toFixed(2)));
      name.addEventListener("click", function () { focus(r); if (s.box || s.points) ws.centreOn(s); });
      var yes = ws.el("button", { type: "button", "class": "secondary suggestion-accept", title: "Accept (A or Enter)",
                                  "aria-label": "Accept " + s.class + " " + s.score.toFixed(2) }, "Accept");
      yes.addEventListener("click", function () { accept(r); });
      var no = ws.el("button", { type: "button", "class": "secondary suggestion-dismiss", title: "Dismiss (X or Delete)",
                                 "aria-label": "Dismiss " + s.class + " " + s.score.toFixed(2) }, "Dismiss");
      no.addEventListener("click", function () { dismiss(r); });
      li.appendChild(name);
      li.appendChild(yes);
      li.appendChild(no);
      els.list.appendChild(li);
    });
  }

  function render() {
    if (current && !byRef(current)) current = null;
    renderLayer();
    renderPanel();
  }

  els.show.addEventListener("change", function () { setShown(els.show.checked); });
  els.run.addEventListener("change", function () { load(els.run.value); });
  els.acceptAll.addEventListener("click", acceptAbove);

  return {
    load: load, attach: attach, accept: accept, render: render, renderLayer: renderLayer, renderPanel: renderPanel, renderScreen: renderScreen, onKey: onKey, forget: forget,
    focus: focus, clearCurrent: function () { current = null; },
    current: function () { return current; }, open: function () { return open().map(ref); }
  };
}
