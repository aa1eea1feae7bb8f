// The annotation workspace (/label/<task>/) and the review page (/review/<task>/): one entry module,
// two modes. It loads the task, builds the page and wires the modules under workspace/ to the page's
// events (docs/annotation.md "The workspace's front end"):
//   context.js       the page's data, its elements and the one live state every module reads
//   dom.js           elements, SVG nodes, ids, messages
//   viewer.js        OpenSeadragon, the overview column, moving through a tall item (wheel, page keys)
// The modules import each other's functions; none calls another's while it is being loaded (only
// this module runs anything then), so the import cycles between them are harmless.
//
// The viewer places each slice's Deep Zoom pyramid at its offset in the item's one vertical coordinate
// space (world units are the item's width, as in item.js), so a 20,000 px strip is only ever fetched as
// tiles. Shapes live in item pixels and are drawn in an SVG layer that follows the viewport; handles
// and relation arrows are drawn in screen pixels so they keep their size at any zoom.
//
// Never losing work: each change is copied to localStorage at once and saved to the server ~800 ms
// later (and on pagehide/visibilitychange with fetch keepalive), with If-Match naming the version the
// change was made on. The copy is dropped only when the server confirmed it. An expired session keeps
// the copy, which the next load of the page sends after logging in.
//
// Never fighting its author: every save carries a fresh save id, and the local copy keeps the ids of
// the saves sent from its base version whose answer never came (a reload, a closed tab). The server
// gives back the id of the save that made its latest version, so a later load (or a 412) can tell its
// own save from someone else's: its own is taken as the new base; only someone else's is a conflict.
//
// Every user-supplied text (class names, attribute values, transcriptions, comments, names) reaches
// the page through textContent, form values or attributes set one by one: never innerHTML.
import { send, sessionLost } from "../portal/api.js";
import { acceptedBefore, createSuggestions, markEdited } from "./suggestions.js";
import {
  annotationUrl, EDITABLE, els, page, REVIEW, root, setSuggestions, state, storageKey, suggestions, taskUrl
} from "./workspace/context.js";
import { clear, copy, el, errorText, message, newId, svg } from "./workspace/dom.js";
import {
  centreOn, fitHeight, jumpShape, openViewer, renderOverviewShapes, renderOverviewView, revealShape,
  scrollScreens, scrollToEnd, viewer, viewTransform
} from "./workspace/viewer.js";

var SAVE_DELAY_MS = 800;
var RETRY_MS = 5000;
var KEEPALIVE_LIMIT = 60000; // browsers refuse keepalive bodies over 64 KiB; the local copy covers those
// Focused time: counted while the page is visible and focused and an input came within IDLE_MS; a
// tick never adds more than two periods (a laptop waking from sleep is not work).
var FOCUS_TICK_MS = 1000;
var IDLE_MS = 60000;
var FOCUS_REPORT_MS = 120000;
var FOCUS_REPORT_MAX_S = 600;
var UNDO_LIMIT = 300;
var MIN_DRAG_PX = 4;
var overlay, world, shapeLayer, draftLayer, screenLayer;

function newSaveId() {
  return typeof crypto.randomUUID === "function" ? crypto.randomUUID() : newId("save-") + newId("-");
}

function docJson(doc) { return JSON.stringify({ shapes: doc.shapes, relations: doc.relations }); }

export function bounds(shape) {
  if (shape.type === "box" && shape.box) return shape.box.slice();
  if (shape.type === "polygon" && shape.points && shape.points.length) {
    var xs = shape.points.map(function (p) { return p[0]; }), ys = shape.points.map(function (p) { return p[1]; });
    var x = Math.min.apply(null, xs), y = Math.min.apply(null, ys);
    return [x, y, Math.max.apply(null, xs) - x, Math.max.apply(null, ys) - y];
  }
  return null;
}

function centre(shape) {
  var b = bounds(shape);
  return b ? [b[0] + b[2] / 2, b[1] + b[3] / 2] : null;
}

export function readingOrder(shapes) {
  return shapes.slice().sort(function (a, b) {
    var ba = bounds(a), bb = bounds(b);
    var ka = ba ? [ba[1], ba[0]] : [-1, 0], kb = bb ? [bb[1], bb[0]] : [-1, 0];
    return ka[0] - kb[0] || ka[1] - kb[1];
  });
}

function round2(v) { return Math.round(v * 100) / 100; }

function clampPoint(p) {
  var w = state.ws.item.width, h = state.ws.item.height;
  return [round2(Math.min(w, Math.max(0, p[0]))), round2(Math.min(h, Math.max(0, p[1])))];
}

function clampBox(x0, y0, x1, y1) {
  var a = clampPoint([Math.min(x0, x1), Math.min(y0, y1)]), b = clampPoint([Math.max(x0, x1), Math.max(y0, y1)]);
  return [a[0], a[1], round2(b[0] - a[0]), round2(b[1] - a[1])];
}

function itemPoint(event) {
  var rect = overlay.getBoundingClientRect(), t = viewTransform();
  return [(event.clientX - rect.left - t.tx) / t.s, (event.clientY - rect.top - t.ty) / t.s];
}

function toScreen(x, y) { // item pixels -> overlay pixels
  var t = state.view;
  return [t.tx + x * t.s, t.ty + y * t.s];
}

function shapeById(id) {
  for (var i = 0; i < state.doc.shapes.length; i++) if (state.doc.shapes[i].id === id) return state.doc.shapes[i];
  return null;
}

function classOf(shape) { return state.classes[shape.class] || null; }

export function colourOf(name) { return state.classes[name] ? state.classes[name].color : "#888888"; }

function characterName(value) {
  if (state.characters === null || state.characters === undefined) return value;
  for (var i = 0; i < state.characters.length; i++) if (state.characters[i].id === value) return state.characters[i].name;
  return "#" + value;
}

function summary(shape) {
  var attrs = shape.attributes || {}, cls = classOf(shape), parts = [];
  (cls ? cls.attributes : []).forEach(function (a) {
    var v = attrs[a.name];
    if (v === undefined || v === null || v === "") return;
    if (a.type === "character") v = characterName(v);
    if (Array.isArray(v)) v = v.join(", ");
    parts.push(String(v));
  });
  var text = parts.join(" · ");
  return text.length > 60 ? text.slice(0, 59) + "…" : text;
}

function shapeLabel(shape) {
  var b = bounds(shape);
  return shape.class + (b ? " @ " + Math.round(b[0]) + "," + Math.round(b[1]) : " (tag)");
}

// Every change goes through here: a snapshot for undo (typing into one field is one step), then the
// change, the redraw and the save. `coalesce` names a run of changes that undo takes back at once.
function change(mutate, coalesce) {
  if (!state.editable || state.conflict) return false;
  if (!coalesce || coalesce !== state.coalesce) {
    state.undo.push(docJson(state.doc));
    if (state.undo.length > UNDO_LIMIT) state.undo.shift();
    state.redo = [];
  }
  state.coalesce = coalesce || null;
  var accepted = acceptedBefore(state.doc);
  mutate(state.doc);
  markEdited(state.doc, accepted); // an accepted suggestion changed in any way is an edited one
  changed(coalesce ? "typing" : "all");
  return true;
}

function changed(scope) {
  state.changeCount += 1;
  state.docSaveId = null; // no save has carried this document yet
  writeLocal();
  scheduleSave();
  if (scope === "typing") { renderShapes(); renderList(); renderRelations(); }
  else renderAll();
}

function undo() {
  if (!state.editable || !state.undo.length) return;
  state.redo.push(docJson(state.doc));
  state.doc = JSON.parse(state.undo.pop());
  state.coalesce = null;
  afterHistory();
}

function redo() {
  if (!state.editable || !state.redo.length) return;
  state.undo.push(docJson(state.doc));
  state.doc = JSON.parse(state.redo.pop());
  state.coalesce = null;
  afterHistory();
}

function afterHistory() {
  if (state.selected && !shapeById(state.selected)) state.selected = null;
  changed("all");
}

function addShape(shape) {
  change(function (doc) { doc.shapes.push(shape); });
  select(shape.id);
}

function deleteShape(id) {
  if (!shapeById(id)) return;
  if (state.editable && !state.conflict) suggestions.forget(shapeById(id));
  change(function (doc) {
    doc.shapes = doc.shapes.filter(function (s) { return s.id !== id; });
    doc.relations = doc.relations.filter(function (r) { return r.from !== id && r.to !== id; });
  });
  if (state.selected === id) select(null);
}

function drawableClass(type) {
  var cls = state.classes[state.drawClass];
  if (cls && cls.shapes.indexOf(type) >= 0) return cls;
  if (cls) {
    message("Class “" + cls.name + "” allows " + cls.shapes.join(", ") + ", not " + type + ".", "error");
    return null;
  }
  message("Pick a class first (keys 1–9).", "error");
  return null;
}

function pickClass(cls) {
  if (!cls) return;
  if (cls.shapes.length === 1 && cls.shapes[0] === "tag") { toggleTag(cls.name); return; }
  var selected = state.selected && shapeById(state.selected);
  if (state.tool === "select" && selected && selected.type !== "tag") {
    if (cls.shapes.indexOf(selected.type) < 0) {
      message("Class “" + cls.name + "” allows " + cls.shapes.join(", ") + ", not " + selected.type + ".", "error");
      return;
    }
    state.drawClass = cls.name;
    setClass(selected.id, cls.name);
    renderClassBar();
    return;
  }
  state.drawClass = cls.name;
  if (state.tool === "select" || state.tool === "relation" || cls.shapes.indexOf(state.tool) < 0) {
    setTool(cls.shapes.indexOf("box") >= 0 && state.tool !== "polygon" ? "box" : cls.shapes[0] === "tag" ? "box" : cls.shapes[0]);
  }
  renderClassBar();
}

function setClass(id, name) {
  change(function (doc) {
    doc.shapes.forEach(function (s) {
      if (s.id !== id) return;
      s.class = name;
      var cls = state.classes[name], keep = {};
      (cls ? cls.attributes : []).forEach(function (a) { if (s.attributes && a.name in s.attributes) keep[a.name] = s.attributes[a.name]; });
      s.attributes = keep; // attributes the new class lacks would be refused by the server
    });
    var byId = {};
    doc.shapes.forEach(function (s) { byId[s.id] = s; });
    doc.relations = doc.relations.filter(function (r) {
      var rule = relationRule(r.type);
      return !rule || (byId[r.from] && byId[r.to] && byId[r.from].class === rule.from && byId[r.to].class === rule.to);
    });
  });
}

function toggleTag(name) {
  var existing = state.doc.shapes.filter(function (s) { return s.type === "tag" && s.class === name; })[0];
  if (existing) deleteShape(existing.id);
  else change(function (doc) { doc.shapes.push({ id: newId("t"), class: name, type: "tag", attributes: {} }); });
}

function setAttribute(id, name, value, coalesce) {
  change(function (doc) {
    doc.shapes.forEach(function (s) {
      if (s.id !== id) return;
      s.attributes = s.attributes || {};
      if (value === "" || value === null || value === undefined || (Array.isArray(value) && !value.length)) delete s.attributes[name];
      else s.attributes[name] = value;
    });
  }, coalesce);
}

function relationRule(name) {
  for (var i = 0; i < state.relationTypes.length; i++) if (state.relationTypes[i].name === name) return state.relationTypes[i];
  return null;
}

function addRelation(type, from, to) {
  var rule = relationRule(type), source = shapeById(from), target = shapeById(to);
  if (!rule || !source || !target) return;
  if (source.class !== rule.from || target.class !== rule.to) {
    message("A “" + rule.name + "” relation goes from a " + rule.from + " to a " + rule.to + ".", "error");
    return;
  }
  var twin = state.doc.relations.some(function (r) { return r.type === type && r.from === from && r.to === to; });
  if (twin) { message("These two shapes are already linked.", "info"); return; }
  change(function (doc) { doc.relations.push({ id: newId("r"), type: type, from: from, to: to }); });
  message("Linked: " + rule.name + ".", "info");
}

function deleteRelation(id) {
  change(function (doc) { doc.relations = doc.relations.filter(function (r) { return r.id !== id; }); });
}

export function select(id, reveal) {
  state.selected = id && shapeById(id) ? id : null;
  if (state.selected) suggestions.clearCurrent();
  renderAll();
  if (reveal && state.selected) revealShape(shapeById(state.selected));
  if (REVIEW && els["review-pin"]) {
    els["review-pin"].disabled = !state.selected;
    if (!state.selected) els["review-pin"].checked = false;
    els["review-pin-name"].textContent = state.selected ? "(" + shapeLabel(shapeById(state.selected)) + ")" : "";
  }
}

function setTool(tool) {
  if (!state.editable && tool !== "select") return;
  state.tool = tool;
  state.draft = null;
  state.relationSource = null;
  if (tool === "relation" && state.selected) {
    var s = shapeById(state.selected);
    if (s && relationsFrom(s.class).length) startRelationFrom(s);
  }
  renderAll();
}

function relationsFrom(className) {
  return state.relationTypes.filter(function (r) { return r.from === className; });
}

function startRelationFrom(shape) {
  var types = relationsFrom(shape.class);
  if (!types.length) { message("No relation starts at a " + shape.class + ".", "error"); return; }
  var chosen = els["relation-type"] && els["relation-type"].value;
  if (!types.some(function (t) { return t.name === chosen; })) {
    chosen = types[0].name;
    if (els["relation-type"]) els["relation-type"].value = chosen;
  }
  state.tool = "relation";
  state.relationSource = shape.id;
  message("Now click the " + relationRule(chosen).to + " it points to (" + chosen + "). Esc cancels.", "info");
  renderAll();
}

export function buildOverlay() {
  overlay = svg("svg", { "class": "ws-overlay", "data-testid": "overlay" });
  var defs = svg("defs");
  var marker = svg("marker", { id: "ws-arrow", viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "8",
                               markerHeight: "8", orient: "auto-start-reverse" });
  marker.appendChild(svg("path", { d: "M0,0 L10,5 L0,10 z", "class": "arrow-head" }));
  defs.appendChild(marker);
  overlay.appendChild(defs);
  overlay.appendChild(svg("rect", { "class": "catcher", x: "0", y: "0", width: "100%", height: "100%" }));
  world = svg("g", { "class": "world" });
  shapeLayer = svg("g", { "class": "shapes" });
  draftLayer = svg("g", { "class": "draft" });
  world.appendChild(shapeLayer);
  world.appendChild(draftLayer);
  suggestions.attach(world, shapeLayer); // under the shapes: a click on a shape never lands on a suggestion
  overlay.appendChild(world);
  screenLayer = svg("g", { "class": "screen" });
  overlay.appendChild(screenLayer);
  viewer.canvas.appendChild(overlay);
  overlay.addEventListener("pointerdown", onPointerDown);
  overlay.addEventListener("pointermove", onPointerMove);
  overlay.addEventListener("pointerup", onPointerUp);
  overlay.addEventListener("pointercancel", onPointerUp);
  overlay.addEventListener("dblclick", onDoubleClick);
  ["click", "contextmenu"].forEach(function (type) {
    overlay.addEventListener(type, function (e) { if (e.target !== overlay) e.stopPropagation(); });
  });
}

export function applyTransform() {
  if (!viewer || !world) return;
  state.view = viewTransform();
  var t = state.view;
  world.setAttribute("transform", "translate(" + t.tx + " " + t.ty + ") scale(" + t.s + ")");
  renderScreen();
  renderOverviewView();
}

function renderShapes() {
  if (!shapeLayer) return;
  clear(shapeLayer);
  suggestions.renderLayer();
  var relationPick = state.tool === "relation";
  state.doc.shapes.forEach(function (shape) {
    if (shape.type === "tag") return;
    var node;
    if (shape.type === "box" && shape.box) {
      node = svg("rect", { x: shape.box[0], y: shape.box[1], width: shape.box[2], height: shape.box[3] });
    } else if (shape.type === "polygon" && shape.points) {
      node = svg("polygon", { points: shape.points.map(function (p) { return p[0] + "," + p[1]; }).join(" ") });
    } else return;
    var classes = ["shape"];
    if (shape.id === state.selected) classes.push("selected");
    if (shape.id === state.pinned) classes.push("pinned");
    if (state.flags[shape.id]) classes.push("flagged");
    if (shape.id === state.relationSource) classes.push("source");
    if (relationPick) classes.push("pickable");
    node.setAttribute("class", classes.join(" "));
    node.setAttribute("stroke", colourOf(shape.class));
    node.setAttribute("fill", colourOf(shape.class));
    node.setAttribute("data-id", shape.id);
    node.setAttribute("data-class", shape.class);
    var title = svg("title");
    title.textContent = shape.class + (summary(shape) ? ": " + summary(shape) : "");
    node.appendChild(title);
    shapeLayer.appendChild(node);
  });
  overlay.setAttribute("class", "ws-overlay tool-" + state.tool + (state.spaceHeld ? " panning" : "") +
                       (state.editable ? " editable" : " readonly"));
  renderDraft();
  renderScreen();
  renderOverviewShapes();
}

function renderDraft() {
  clear(draftLayer);
  var d = state.draft;
  if (!d) return;
  var colour = colourOf(d.class);
  if (d.kind === "box" && d.end) {
    var b = clampBox(d.start[0], d.start[1], d.end[0], d.end[1]);
    draftLayer.appendChild(svg("rect", { x: b[0], y: b[1], width: b[2], height: b[3], stroke: colour, "class": "draft-shape" }));
  }
  if (d.kind === "polygon" && d.points.length) {
    var pts = d.points.concat(d.cursor ? [d.cursor] : []);
    draftLayer.appendChild(svg("polyline", { points: pts.map(function (p) { return p[0] + "," + p[1]; }).join(" "),
                                             stroke: colour, "class": "draft-shape" }));
  }
}

// Handles, vertices and relation arrows in screen pixels: constant size at any zoom.
function renderScreen() {
  if (!screenLayer) return;
  clear(screenLayer);
  state.doc.relations.forEach(function (r) {
    var a = shapeById(r.from), b = shapeById(r.to);
    var ca = a && centre(a), cb = b && centre(b);
    if (!ca || !cb) return;
    var p = toScreen(ca[0], ca[1]), q = toScreen(cb[0], cb[1]);
    var line = svg("line", { x1: p[0], y1: p[1], x2: q[0], y2: q[1], "class": "relation", "marker-end": "url(#ws-arrow)",
                             "data-relation": r.id });
    var title = svg("title");
    title.textContent = r.type;
    line.appendChild(title);
    screenLayer.appendChild(line);
  });
  suggestions.renderScreen(screenLayer);
  if (state.labels) renderLabels();
  var shape = state.selected && shapeById(state.selected);
  if (shape && state.editable && state.tool === "select") {
    if (shape.type === "box") {
      var b = shape.box, x0 = b[0], y0 = b[1], x1 = b[0] + b[2], y1 = b[1] + b[3], xm = (x0 + x1) / 2, ym = (y0 + y1) / 2;
      [["nw", x0, y0], ["n", xm, y0], ["ne", x1, y0], ["e", x1, ym], ["se", x1, y1], ["s", xm, y1], ["sw", x0, y1], ["w", x0, ym]]
        .forEach(function (h) {
          var p = toScreen(h[1], h[2]);
          screenLayer.appendChild(svg("rect", { x: p[0] - 5, y: p[1] - 5, width: 10, height: 10, "class": "handle handle-" + h[0],
                                                "data-handle": h[0] }));
        });
    } else if (shape.type === "polygon") {
      var pts = shape.points;
      pts.forEach(function (pt, i) {
        var p = toScreen(pt[0], pt[1]), q = toScreen(pts[(i + 1) % pts.length][0], pts[(i + 1) % pts.length][1]);
        screenLayer.appendChild(svg("line", { x1: p[0], y1: p[1], x2: q[0], y2: q[1], "class": "edge", "data-edge": i }));
      });
      pts.forEach(function (pt, i) {
        var p = toScreen(pt[0], pt[1]);
        screenLayer.appendChild(svg("circle", { cx: p[0], cy: p[1], r: 5, "class": "vertex", "data-vertex": i }));
      });
    }
  }
  var d = state.draft;
  if (d && d.kind === "polygon" && d.points.length) {
    var first = toScreen(d.points[0][0], d.points[0][1]);
    screenLayer.appendChild(svg("circle", { cx: first[0], cy: first[1], r: 6, "class": "vertex first" }));
  }
}

// Each shape's number (reading order, as in the list) and class at its top-left corner, in screen
// pixels; only shapes in view are drawn.
function renderLabels() {
  var width = overlay.clientWidth, height = overlay.clientHeight;
  readingOrder(state.doc.shapes).forEach(function (shape, index) {
    var b = bounds(shape);
    if (!b) return;
    var p = toScreen(b[0], b[1]), q = toScreen(b[0] + b[2], b[1] + b[3]);
    if (q[0] < 0 || q[1] < 0 || p[0] > width || p[1] > height) return;
    var text = (index + 1) + " " + shape.class;
    var x = Math.max(0, p[0]), y = Math.max(0, p[1] - 18);
    var group = svg("g", { "class": "shape-label", "data-label-for": shape.id });
    var box = svg("rect", { x: x, y: y, width: text.length * 7.5 + 10, height: 17, rx: 3 });
    box.setAttribute("fill", colourOf(shape.class));
    var label = svg("text", { x: x + 4, y: y + 13 });
    label.textContent = text;
    group.appendChild(box);
    group.appendChild(label);
    screenLayer.appendChild(group);
  });
}

function setLabels(on) {
  state.labels = on;
  if (els["labels-toggle"]) els["labels-toggle"].setAttribute("aria-pressed", String(on));
  renderScreen();
}

function renderAll() {
  suggestions.render();
  renderShapes();
  renderList();
  renderRelations();
  renderAttributes();
  renderTags();
  renderToolbar();
}

function renderToolbar() {
  if (!els["tool-bar"]) return;
  Array.prototype.forEach.call(els["tool-bar"].querySelectorAll(".tool"), function (b) {
    b.setAttribute("aria-pressed", String(b.dataset.tool === state.tool));
    b.disabled = !state.editable;
  });
  els.undo.disabled = !state.editable || !state.undo.length;
  els.redo.disabled = !state.editable || !state.redo.length;
  els["delete-shape"].disabled = !state.editable || !state.selected;
  els["relation-type"].disabled = !state.editable || !state.relationTypes.length;
  if (els["submit-task"]) els["submit-task"].disabled = !state.editable;
  root.dataset.tool = state.tool;
  renderClassBar();
}

function renderClassBar() {
  var bar = els["class-bar"];
  if (!bar) return;
  Array.prototype.forEach.call(bar.children, function (b) {
    b.setAttribute("aria-pressed", String(b.dataset.class === state.drawClass));
    b.disabled = !state.editable;
  });
}

function buildClassBar() {
  var bar = els["class-bar"];
  if (!bar) return;
  clear(bar);
  state.classList.forEach(function (cls) {
    var button = el("button", { type: "button", "class": "class-button secondary", "data-class": cls.name,
                                title: cls.shapes.join(", ") });
    var swatch = el("span", { "class": "swatch" });
    swatch.style.background = cls.color;
    button.appendChild(swatch);
    if (cls.hotkey) button.appendChild(el("kbd", {}, cls.hotkey));
    button.appendChild(el("span", { "class": "class-name" }, cls.name));
    button.addEventListener("click", function () { pickClass(cls); });
    bar.appendChild(button);
  });
}

function buildRelationTypes() {
  var select = els["relation-type"];
  if (!select) return;
  clear(select);
  state.relationTypes.forEach(function (r) {
    select.appendChild(el("option", { value: r.name }, r.name + " (" + r.from + " → " + r.to + ")"));
  });
  if (!state.relationTypes.length) select.appendChild(el("option", { value: "" }, "no relation types"));
}

function renderList() {
  var list = els["shape-list"];
  clear(list);
  var ordered = readingOrder(state.doc.shapes);
  els["shape-count"].textContent = "(" + ordered.length + ")";
  ordered.forEach(function (shape, index) {
    var li = el("li", { "data-id": shape.id, "class": "shape-entry" + (shape.id === state.selected ? " selected" : "") +
                        (shape.id === state.pinned ? " pinned" : "") + (state.flags[shape.id] ? " flagged" : "") });
    var button = el("button", { type: "button", "class": "linkish shape-button" });
    var swatch = el("span", { "class": "swatch" });
    swatch.style.background = colourOf(shape.class);
    button.appendChild(swatch);
    button.appendChild(el("span", { "class": "shape-index" }, String(index + 1) + "."));
    button.appendChild(el("span", { "class": "shape-class" }, shape.class));
    button.appendChild(el("span", { "class": "shape-kind muted" }, shape.type));
    var text = summary(shape);
    if (text) button.appendChild(el("span", { "class": "shape-summary" }, text));
    button.addEventListener("click", function () { select(shape.id, true); });
    li.appendChild(button);
    list.appendChild(li);
  });
}

function renderRelations() {
  var list = els["relation-list"];
  clear(list);
  if (!state.doc.relations.length) { list.appendChild(el("li", { "class": "muted" }, "None.")); return; }
  state.doc.relations.forEach(function (r) {
    var a = shapeById(r.from), b = shapeById(r.to);
    var li = el("li", { "data-relation": r.id, "data-type": r.type });
    li.appendChild(el("span", { "class": "relation-type" }, r.type));
    li.appendChild(document.createTextNode(": "));
    li.appendChild(relationEnd(a));
    li.appendChild(document.createTextNode(" → "));
    li.appendChild(relationEnd(b));
    if (state.editable) {
      var remove = el("button", { type: "button", "class": "linkish remove-relation", title: "Remove this relation" }, "✕");
      remove.addEventListener("click", function () { deleteRelation(r.id); });
      li.appendChild(remove);
    }
    list.appendChild(li);
  });
}

function relationEnd(shape) {
  if (!shape) return el("span", { "class": "muted" }, "?");
  var button = el("button", { type: "button", "class": "linkish" }, shape.class + (summary(shape) ? " “" + summary(shape) + "”" : ""));
  button.addEventListener("click", function () { select(shape.id, true); });
  return button;
}

function renderTags() {
  var tagClasses = state.classList.filter(function (c) { return c.shapes.indexOf("tag") >= 0; });
  els["tags-panel"].hidden = !tagClasses.length;
  clear(els["tag-list"]);
  tagClasses.forEach(function (cls) {
    var on = state.doc.shapes.some(function (s) { return s.type === "tag" && s.class === cls.name; });
    var label = el("label", { "class": "check" });
    var box = el("input", { type: "checkbox", "data-tag": cls.name });
    box.checked = on;
    box.disabled = !state.editable;
    box.addEventListener("change", function () { toggleTag(cls.name); });
    label.appendChild(box);
    label.appendChild(document.createTextNode(" " + cls.name + (cls.hotkey ? " (" + cls.hotkey + ")" : "")));
    els["tag-list"].appendChild(label);
  });
}

function renderAttributes() {
  var body = els["attr-body"];
  var active = document.activeElement;
  if (active && body.contains(active) && active.dataset.shape === state.selected) return; // typing: leave it be
  clear(body);
  var shape = state.selected && shapeById(state.selected);
  if (!shape) { body.appendChild(el("p", { "class": "muted" }, "Nothing selected.")); return; }
  var cls = classOf(shape);
  var head = el("p", { "class": "attr-head" });
  if (state.editable) {
    var select = el("select", { id: "attr-class", "aria-label": "Class", "data-shape": shape.id });
    state.classList.filter(function (c) { return c.shapes.indexOf(shape.type) >= 0; }).forEach(function (c) {
      select.appendChild(el("option", { value: c.name }, c.name));
    });
    if (!cls) select.appendChild(el("option", { value: shape.class }, shape.class + " (removed from the schema)"));
    select.value = shape.class;
    select.addEventListener("change", function () { setClass(shape.id, select.value); });
    head.appendChild(select);
  } else {
    head.appendChild(el("strong", { "class": "attr-class-name" }, shape.class));
  }
  head.appendChild(el("span", { "class": "muted" }, " " + shape.type + " · " + shape.id));
  body.appendChild(head);
  if (state.flags[shape.id]) body.appendChild(el("p", { "class": "flag-note" }, state.flags[shape.id]));
  if (shape.id === state.pinned && state.ws.latest_review) {
    body.appendChild(el("p", { "class": "pinned-note" }, "Reviewer: " + state.ws.latest_review.comment));
  }
  (cls ? cls.attributes : []).forEach(function (attribute) { body.appendChild(attributeField(shape, attribute)); });
  var links = state.doc.relations.filter(function (r) { return r.from === shape.id || r.to === shape.id; });
  if (links.length) {
    var ul = el("ul", { "class": "relation-list" });
    links.forEach(function (r) {
      var other = shapeById(r.from === shape.id ? r.to : r.from);
      var li = el("li", { "data-relation": r.id });
      li.appendChild(el("span", {}, (r.from === shape.id ? r.type + " → " : r.type + " ← ")));
      li.appendChild(relationEnd(other));
      ul.appendChild(li);
    });
    body.appendChild(ul);
  }
  if (state.editable && relationsFrom(shape.class).length) {
    relationsFrom(shape.class).forEach(function (rule) {
      var b = el("button", { type: "button", "class": "secondary link-from", "data-relation-type": rule.name },
                 "Link " + rule.name + " → " + rule.to);
      b.addEventListener("click", function () {
        els["relation-type"].value = rule.name;
        startRelationFrom(shape);
      });
      body.appendChild(b);
    });
  }
}

function attributeField(shape, attribute) {
  var id = "attr-" + attribute.name.replace(/[^A-Za-z0-9_-]/g, "_");
  var wrap = el("div", { "class": "attr-field", "data-attribute": attribute.name, "data-type": attribute.type });
  wrap.appendChild(el("label", { "for": id }, attribute.name));
  var value = (shape.attributes || {})[attribute.name];
  var input;
  var key = shape.id + ":" + attribute.name;
  if (attribute.type === "text") {
    input = el("textarea", { id: id, rows: "3", maxlength: "10000" });
    input.value = value || "";
    input.addEventListener("input", function () { setAttribute(shape.id, attribute.name, input.value, key); });
  } else if (attribute.type === "choice") {
    input = el("select", { id: id });
    input.appendChild(el("option", { value: "" }, "—"));
    attribute.choices.forEach(function (c) { input.appendChild(el("option", { value: c }, c)); });
    input.value = value || "";
    input.addEventListener("change", function () { setAttribute(shape.id, attribute.name, input.value); });
  } else if (attribute.type === "tags") {
    input = el("input", { id: id, placeholder: "comma, separated" });
    input.value = Array.isArray(value) ? value.join(", ") : "";
    input.addEventListener("input", function () {
      var tags = input.value.split(",").map(function (t) { return t.trim(); }).filter(Boolean);
      setAttribute(shape.id, attribute.name, tags, key);
    });
  } else {
    input = characterField(shape, attribute, id, value, key);
  }
  input.dataset.shape = shape.id;
  input.disabled = !state.editable;
  wrap.appendChild(input);
  return wrap;
}

// A character: a name typed with the series registry's names (and aliases) offered by a datalist;
// what is stored is the character's id. Without a series the name itself is stored.
function characterField(shape, attribute, id, value, key) {
  var input = el("input", { id: id, list: "character-options", autocomplete: "off", placeholder: "character name" });
  var registry = state.characters;
  if (registry === null || registry === undefined) {
    input.value = value || "";
    input.addEventListener("input", function () { setAttribute(shape.id, attribute.name, input.value.trim(), key); });
    return input;
  }
  input.value = value === undefined || value === null ? "" : characterName(value);
  input.addEventListener("change", function () {
    var typed = input.value.trim().toLowerCase();
    if (!typed) { setAttribute(shape.id, attribute.name, null); input.removeAttribute("aria-invalid"); return; }
    var found = registry.filter(function (c) {
      return c.name.toLowerCase() === typed || (c.aliases || []).some(function (a) { return String(a).toLowerCase() === typed; });
    })[0];
    if (!found) {
      var near = registry.filter(function (c) { return c.name.toLowerCase().indexOf(typed) === 0; });
      if (near.length === 1) found = near[0];
    }
    if (!found) {
      input.setAttribute("aria-invalid", "true");
      message("No character “" + input.value.trim() + "” in the series' registry: pick one from the list.", "error");
      return;
    }
    input.removeAttribute("aria-invalid");
    input.value = found.name;
    setAttribute(shape.id, attribute.name, found.id);
  });
  return input;
}

function buildCharacterList() {
  var list = el("datalist", { id: "character-options" });
  (state.characters || []).forEach(function (c) {
    var option = el("option", { value: c.name });
    if (c.aliases && c.aliases.length) option.label = c.aliases.join(", ");
    list.appendChild(option);
  });
  root.appendChild(list);
}

function onPointerDown(e) {
  if (e.button !== 0 || state.spaceHeld) return;
  var target = e.target, data = target.dataset || {};
  var shapeId = target.getAttribute && target.getAttribute("data-id");
  var pt = itemPoint(e);
  var handled = false;
  if (!state.editable || state.conflict) {
    if (shapeId) { select(shapeId); handled = true; }
  } else if (data.suggestion && state.tool === "select") {
    suggestions.focus(data.suggestion);
    handled = true;
  } else if (state.tool === "box") {
    var cls = drawableClass("box");
    if (cls) { state.draft = { kind: "box", class: cls.name, start: pt, end: null, x: e.clientX, y: e.clientY }; handled = true; }
  } else if (state.tool === "polygon") {
    handled = polygonClick(pt, e);
  } else if (state.tool === "relation") {
    if (shapeId) { relationClick(shapeId); handled = true; }
  } else if (data.handle) {
    state.drag = { kind: "resize", handle: data.handle, id: state.selected, start: pt,
                   before: copy(shapeById(state.selected)) };
    handled = true;
  } else if (data.vertex !== undefined) {
    var index = Number(data.vertex), shape = shapeById(state.selected);
    if (e.altKey) {
      if (shape.points.length > 3) change(function () { shape.points.splice(index, 1); });
      else message("A polygon keeps at least 3 points.", "error");
    } else {
      state.drag = { kind: "vertex", index: index, id: state.selected, start: pt, before: copy(shape) };
    }
    handled = true;
  } else if (data.edge !== undefined) {
    handled = true; // a double-click on an edge adds a vertex (onDoubleClick)
  } else if (shapeId) {
    select(shapeId);
    state.drag = { kind: "move", id: shapeId, start: pt, before: copy(shapeById(shapeId)) };
    handled = true;
  }
  if (handled) {
    e.stopPropagation();
    e.preventDefault();
    if (state.draft || state.drag) overlay.setPointerCapture(e.pointerId);
  }
}

function onPointerMove(e) {
  var pt;
  if (state.draft) {
    pt = itemPoint(e);
    if (state.draft.kind === "box") state.draft.end = pt;
    else state.draft.cursor = pt;
    renderDraft();
    return;
  }
  var drag = state.drag;
  if (!drag) return;
  pt = itemPoint(e);
  drag.moved = true;
  var shape = shapeById(drag.id);
  if (!shape) return;
  var dx = pt[0] - drag.start[0], dy = pt[1] - drag.start[1];
  if (drag.kind === "move") moveShape(shape, drag.before, dx, dy);
  if (drag.kind === "resize") resizeBox(shape, drag.before.box, drag.handle, dx, dy);
  if (drag.kind === "vertex") shape.points[drag.index] = clampPoint(pt);
  renderShapes();
}

function onPointerUp(e) {
  if (state.draft && state.draft.kind === "box") {
    var d = state.draft;
    state.draft = null;
    var far = Math.abs(e.clientX - d.x) >= MIN_DRAG_PX && Math.abs(e.clientY - d.y) >= MIN_DRAG_PX;
    var end = itemPoint(e);
    var box = clampBox(d.start[0], d.start[1], end[0], end[1]);
    if (far && box[2] > 0 && box[3] > 0) addShape({ id: newId("s"), class: d.class, type: "box", box: box, attributes: {} });
    else if (far) message("That box lies outside the image.", "error");
    renderShapes();
    return;
  }
  var drag = state.drag;
  state.drag = null;
  if (!drag || !drag.moved) return;
  var shape = shapeById(drag.id), after = copy(shape);
  // Put the shape back as it was, then make the move one undoable change.
  Object.keys(drag.before).forEach(function (k) { shape[k] = drag.before[k]; });
  change(function () { Object.keys(after).forEach(function (k) { shape[k] = after[k]; }); });
}

function onDoubleClick(e) {
  if (!state.editable) return;
  var suggestion = e.target.dataset ? e.target.dataset.suggestion : undefined;
  if (suggestion && state.tool === "select") { e.stopPropagation(); suggestions.accept(suggestion); return; }
  var index = e.target.dataset ? e.target.dataset.edge : undefined;
  if (index === undefined || state.tool !== "select") return;
  var shape = shapeById(state.selected);
  if (!shape || shape.type !== "polygon") return;
  var pt = clampPoint(itemPoint(e));
  e.stopPropagation();
  change(function () { shape.points.splice(Number(index) + 1, 0, pt); });
}

function moveShape(shape, before, dx, dy) {
  var w = state.ws.item.width, h = state.ws.item.height, b = bounds(before);
  dx = Math.min(Math.max(dx, -b[0]), w - b[0] - b[2]); // keep it whole inside the image
  dy = Math.min(Math.max(dy, -b[1]), h - b[1] - b[3]);
  if (before.type === "box") shape.box = [round2(before.box[0] + dx), round2(before.box[1] + dy), before.box[2], before.box[3]];
  else shape.points = before.points.map(function (p) { return [round2(p[0] + dx), round2(p[1] + dy)]; });
}

function resizeBox(shape, box, handle, dx, dy) {
  var x0 = box[0], y0 = box[1], x1 = box[0] + box[2], y1 = box[1] + box[3];
  if (handle.indexOf("w") >= 0) x0 += dx;
  if (handle.indexOf("e") >= 0) x1 += dx;
  if (handle.indexOf("n") >= 0) y0 += dy;
  if (handle.indexOf("s") >= 0) y1 += dy;
  var b = clampBox(x0, y0, x1, y1);
  if (b[2] >= 1 && b[3] >= 1) shape.box = b;
}

function polygonClick(pt, e) {
  var d = state.draft;
  if (!d) {
    var cls = drawableClass("polygon");
    if (!cls) return true;
    state.draft = { kind: "polygon", class: cls.name, points: [clampPoint(pt)], cursor: null };
    renderShapes();
    return true;
  }
  if (e.detail >= 2) { finishPolygon(); return true; } // the second click of a double-click closes it
  var first = toScreen(d.points[0][0], d.points[0][1]), rect = overlay.getBoundingClientRect();
  var near = Math.hypot(e.clientX - rect.left - first[0], e.clientY - rect.top - first[1]) <= 8;
  if (near && d.points.length >= 3) { finishPolygon(); return true; }
  d.points.push(clampPoint(pt));
  renderShapes();
  return true;
}

function finishPolygon() {
  var d = state.draft;
  if (!d || d.kind !== "polygon") return;
  var points = d.points.filter(function (p, i) { return i === 0 || p[0] !== d.points[i - 1][0] || p[1] !== d.points[i - 1][1]; });
  state.draft = null;
  if (points.length < 3) { message("A polygon needs at least 3 points.", "error"); renderShapes(); return; }
  addShape({ id: newId("s"), class: d.class, type: "polygon", points: points, attributes: {} });
}

function relationClick(id) {
  var shape = shapeById(id);
  if (!state.relationSource) { startRelationFrom(shape); return; }
  var type = els["relation-type"].value;
  addRelation(type, state.relationSource, id);
  state.relationSource = null;
  state.tool = "select";
  select(id);
}

function typing(target) {
  return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
}

function onKeyDown(e) {
  if (!state.ws) return;
  if (els["help-dialog"].open) return;
  if (typing(e.target)) {
    if (e.key === "Escape") e.target.blur();
    return;
  }
  var key = e.key, ctrl = e.ctrlKey || e.metaKey, handled = true;
  var selected = state.selected && shapeById(state.selected);
  if (ctrl && (key === "z" || key === "Z")) { if (e.shiftKey) redo(); else undo(); }
  else if (ctrl && (key === "y" || key === "Y")) redo();
  else if (ctrl || e.altKey) handled = false;
  else if (suggestions.onKey(e)) { /* S, A, X, O, Enter, Delete on a suggestion: suggestions.js */ }
  else if (key === "?") els["help-dialog"].showModal();
  else if (/^[1-9]$/.test(key) && state.editable) pickClass(state.classList.filter(function (c) { return c.hotkey === key; })[0]);
  else if ((key === "v" || key === "V")) setTool("select");
  else if ((key === "b" || key === "B") && state.editable) setTool("box");
  else if ((key === "p" || key === "P") && state.editable) setTool("polygon");
  else if ((key === "l" || key === "L") && state.editable) setTool("relation");
  else if (key === "Enter" && state.draft && state.draft.kind === "polygon") finishPolygon();
  else if (key === "Backspace" && state.draft && state.draft.kind === "polygon") {
    state.draft.points.pop();
    if (!state.draft.points.length) state.draft = null;
    renderShapes();
  }
  else if ((key === "Delete" || key === "Backspace") && selected && state.editable) deleteShape(selected.id);
  else if (key === "Escape") {
    if (state.draft || state.relationSource) { state.draft = null; state.relationSource = null; renderShapes(); }
    else select(null);
  }
  else if (/^Arrow/.test(key) && selected && selected.type !== "tag" && state.editable) {
    var step = e.shiftKey ? 10 : 1, dx = 0, dy = 0;
    if (key === "ArrowLeft") dx = -step;
    if (key === "ArrowRight") dx = step;
    if (key === "ArrowUp") dy = -step;
    if (key === "ArrowDown") dy = step;
    var before = copy(selected);
    change(function () { moveShape(selected, before, dx, dy); }, "nudge:" + selected.id);
  }
  else if (key === " ") { state.spaceHeld = true; renderShapes(); }
  else if (key === "PageDown" && viewer) scrollScreens(1);
  else if (key === "PageUp" && viewer) scrollScreens(-1);
  else if (key === "Home" && viewer) scrollToEnd(true);
  else if (key === "End" && viewer) scrollToEnd(false);
  else if ((key === "n" || key === "N") && viewer) jumpShape(e.shiftKey ? -1 : 1);
  else if (key === "t" || key === "T") setLabels(!state.labels);
  else if (/^[rRfF]$/.test(key)) { /* OpenSeadragon would rotate or flip the view */ }
  else handled = false;
  if (handled) { e.preventDefault(); e.stopPropagation(); }
}

function onKeyUp(e) {
  if (e.key === " " && state.spaceHeld) { state.spaceHeld = false; renderShapes(); }
}

function setStatus(stateName, text, link) {
  var box = els["save-status"];
  clear(box);
  box.dataset.state = stateName;
  box.appendChild(document.createTextNode(text));
  if (link) {
    box.appendChild(document.createTextNode(" "));
    box.appendChild(el("a", { href: link.href, id: "login-again" }, link.text));
  }
  root.dataset.saveState = stateName;
}

function readLocal() {
  try {
    var raw = localStorage.getItem(storageKey);
    return raw ? JSON.parse(raw) : null;
  } catch (err) { return null; }
}

function writeLocal() {
  try {
    localStorage.setItem(storageKey, JSON.stringify({
      task: page.task, base: state.version, at: Date.now(), saveId: state.docSaveId, sent: state.sentIds,
      doc: { shapes: state.doc.shapes, relations: state.doc.relations }
    }));
  } catch (err) { /* storage full or off: the server save still runs */ }
}

// Nothing left to send, but this tab has seen version `base`: a reload whose page was drawn before
// this tab's last save landed (the old page lives on until the new one arrives) reads it again.
function writeClean() {
  try {
    localStorage.setItem(storageKey, JSON.stringify({ task: page.task, base: state.version, at: Date.now(),
                                                      saveId: state.docSaveId, sent: [], doc: null }));
  } catch (err) { /* storage full or off */ }
}

function clearLocal() {
  try { localStorage.removeItem(storageKey); } catch (err) { /* nothing to do */ }
}

function dirty() { return state.changeCount !== state.savedCount; }

function scheduleSave() {
  clearTimeout(state.timer);
  if (state.conflict) return;
  if (!state.expired) setStatus("saving", "Saving…");
  state.timer = setTimeout(function () { save(); }, SAVE_DELAY_MS);
}

// One save at a time; changes made meanwhile are sent by the next one. Resolves when this save ends.
function save(options) {
  options = options || {};
  clearTimeout(state.timer);
  if (state.conflict || !state.editable) return Promise.resolve(false);
  if (state.saving) {
    state.saveAgain = true;
    return state.saving;
  }
  if (!dirty()) return Promise.resolve(true);
  var sentCount = state.changeCount, base = state.version, saveId = newSaveId(), focused = focusedTake();
  // The id is on this device before the request leaves, so a reload during the save knows it.
  state.sentIds = state.sentIds.concat([saveId]);
  state.docSaveId = saveId;
  writeLocal();
  var body = JSON.stringify({ shapes: state.doc.shapes, relations: state.doc.relations, save_id: saveId,
                              focused_seconds: focused });
  var keepalive = !!options.keepalive && body.length < KEEPALIVE_LIMIT;
  setStatus("saving", "Saving…");
  state.saving = send("PUT", annotationUrl, { body: body, headers: { "If-Match": '"' + base + '"' }, keepalive: keepalive })
    .then(function (result) {
            if (!result.ok) focusedGiveBack(focused);
            return saved(result, sentCount);
          },
          function () {
            focusedGiveBack(focused);
            return offline("Offline — your changes are kept on this device and will be sent when the network is back.");
          })
    .then(function (ok) {
      state.saving = null;
      if (state.saveAgain) {
        state.saveAgain = false;
        if (ok && dirty()) return save();
      }
      return ok;
    });
  return state.saving;
}

function saved(result, sentCount) {
  if (result.ok) {
    state.expired = false;
    state.version = result.data.version;
    state.sentIds = []; // older saves of this page named older versions: they can no longer land
    state.flags = flagMap(result.data.flags);
    if (state.task.status === "new" || state.task.status === "rejected") state.task.status = "in_progress";
    if (state.changeCount === sentCount) {
      state.savedCount = sentCount;
      if (result.data.clipped && result.data.clipped.length) adoptServerShapes(result.data);
      writeClean();
      setStatus("saved", "Saved (version " + state.version + ")");
    } else {
      state.docSaveId = null;
      writeLocal(); // newer changes ride on the new version
      scheduleSave();
    }
    updateTaskStatus();
    return true;
  }
  var current = result.status === 412 && result.data ? result.data.current : null;
  if (current && ownSave(current.save_id)) return rebase(current);
  if (result.status === 412) { openConflict(current, "save"); return false; }
  if (sessionLost(result)) {
    state.expired = true;
    setStatus("offline", "Session expired — your work is kept on this device and will be sent after you log in again.",
              { href: page.pages.login, text: "Log in again" });
    message("Your session has expired. Log in again: nothing is lost, the changes will be sent then.", "error");
    return false;
  }
  if (result.status >= 500 || result.status === 0) return offline("The server did not answer — retrying; your changes are kept on this device.");
  setStatus("error", "Not saved: " + errorText(result.data, "the server refused the document (" + result.status + ")."));
  message(errorText(result.data, "The server refused the save."), "error");
  return false;
}

function ownSave(saveId) { return !!saveId && state.sentIds.indexOf(saveId) >= 0; }

// The server's latest version was made by a save of ours whose answer we never saw (a reload while it
// was in flight, the page-hide save, a slow answer): our document descends from it, so it becomes
// the base and what is left is saved on top. No dialog: nobody else wrote.
function rebase(current) {
  state.version = current.version;
  state.flags = flagMap(current.flags);
  if (docJson(current) === docJson(state.doc)) {
    state.savedCount = state.changeCount;
    state.docSaveId = current.save_id;
    writeClean();
    setStatus("saved", "Saved (version " + state.version + ")");
    return true;
  }
  state.docSaveId = null;
  writeLocal();
  scheduleSave();
  return true;
}

function offline(text) {
  setStatus("offline", text);
  clearTimeout(state.retryTimer);
  state.retryTimer = setTimeout(function () { save(); }, RETRY_MS);
  return false;
}

function adoptServerShapes(data) {
  state.doc = { shapes: data.shapes, relations: data.relations };
  message("Cut back to the image: " + data.clipped.length + " shape(s).", "info");
  renderAll();
}

function flagMap(flags) {
  var map = {};
  (flags || []).forEach(function (f) { if (f && f.shape) map[f.shape] = f.reason || "Flagged."; });
  return map;
}

function saveOnHide() {
  if (dirty() && !state.conflict && state.editable) {
    writeLocal();
    save({ keepalive: true });
  } else {
    focusedReport({ keepalive: true });
  }
}

function noteInput() { state.lastInputAt = Date.now(); }

function focusTick() {
  var now = Date.now(), gap = Math.min(Math.max(now - state.lastTick, 0), 2 * FOCUS_TICK_MS);
  state.lastTick = now;
  var present = document.visibilityState === "visible" && document.hasFocus() && now - state.lastInputAt < IDLE_MS;
  if (present && state.editable) state.focusedMs += gap;
  root.dataset.focusedMs = String(Math.floor(state.focusedMs));
  if (now - state.lastReportAt >= FOCUS_REPORT_MS && !dirty()) focusedReport({});
}

function focusedTake() {
  var seconds = Math.min(Math.floor(state.focusedMs / 1000), FOCUS_REPORT_MAX_S);
  state.focusedMs -= seconds * 1000;
  state.lastReportAt = Date.now();
  return seconds;
}

function focusedGiveBack(seconds) { state.focusedMs += seconds * 1000; }

// Time spent with nothing to save (reading, checking before submit): saves carry the rest.
function focusedReport(options) {
  if (!state.editable || state.focusedMs < 1000) return Promise.resolve(true);
  var seconds = focusedTake();
  return send("POST", taskUrl + "focused-time/", { body: { seconds: seconds }, keepalive: !!options.keepalive })
    .then(function (result) {
      if (!result.ok) focusedGiveBack(seconds);
      return result.ok;
    }, function () { focusedGiveBack(seconds); return false; });
}

function openConflict(current, cause) {
  if (!current) { setStatus("error", "Not saved: the server's version changed."); return; }
  clearTimeout(state.timer);
  state.conflict = current;
  setStatus("conflict", "Conflict — the server has version " + current.version + "; choose below.");
  els["conflict-text"].textContent = cause === "restore"
    ? "This device kept changes that never reached the server, made on version " + (readLocal() || {}).base +
      "; since then version " + current.version + " was saved" + (current.updated_by ? " by " + current.updated_by : "") + "."
    : "Your changes were not saved: version " + current.version + " was saved" +
      (current.updated_by ? " by " + current.updated_by : "") + " in the meantime. Nothing has been overwritten.";
  els["conflict-server-version"].textContent = "(version " + current.version + ")";
  conflictList(els["conflict-server"], current.shapes || [], state.doc.shapes);
  conflictList(els["conflict-mine"], state.doc.shapes, current.shapes || []);
  els["conflict-panel"].hidden = false;
  renderAll();
}

function conflictList(list, shapes, others) {
  clear(list);
  var byId = {};
  others.forEach(function (s) { byId[s.id] = s; });
  readingOrder(shapes).forEach(function (s) {
    var mark = !byId[s.id] ? "only here" : JSON.stringify(byId[s.id]) !== JSON.stringify(s) ? "changed" : "";
    var li = el("li", { "data-id": s.id, "class": mark ? "differs" : "" }, shapeLabel(s) + (summary(s) ? " “" + summary(s) + "”" : ""));
    if (mark) li.appendChild(el("span", { "class": "badge" }, mark));
    list.appendChild(li);
  });
  if (!shapes.length) list.appendChild(el("li", { "class": "muted" }, "No shapes."));
}

function resolveConflict(keepMine) {
  var current = state.conflict;
  if (!current) return;
  state.conflict = null;
  els["conflict-panel"].hidden = true;
  state.version = current.version;
  if (keepMine) {
    state.changeCount += 1; // a save of mine on top of the server's version
    writeLocal();
    save();
  } else {
    state.doc = { shapes: current.shapes || [], relations: current.relations || [] };
    state.flags = flagMap(current.flags);
    state.undo = [];
    state.redo = [];
    state.savedCount = state.changeCount;
    clearLocal();
    setStatus("saved", "Showing the server's version " + current.version);
  }
  if (state.selected && !shapeById(state.selected)) state.selected = null;
  renderAll();
}

function updateTaskStatus() {
  var task = state.task;
  els["ws-task-status"].textContent = task.status.replace("_", " ");
  els["ws-task-status"].dataset.status = task.status;
  root.dataset.taskStatus = task.status;
}

function submitTask() {
  if (state.conflict) { message("Settle the conflict first.", "error"); return; }
  els["submit-task"].disabled = true;
  save().then(function () {
    if (dirty()) {
      els["submit-task"].disabled = false;
      message("Not submitted: the latest changes are not saved yet.", "error");
      return null;
    }
    return focusedReport({}).then(function () { return send("POST", taskUrl + "submit/", { body: { version: state.version } }); });
  }).then(function (result) {
    if (!result) return;
    if (!result.ok) {
      els["submit-task"].disabled = false;
      message(sessionLost(result) ? "Your session has expired: log in again to submit." : errorText(result.data, "Not submitted."), "error");
      return;
    }
    state.task.status = (result.data && result.data.status) || "submitted";
    state.editable = false;
    state.tool = "select";
    state.draft = null;
    updateTaskStatus();
    els["review-banner"].hidden = true;
    setStatus("saved", "Submitted for review (version " + state.version + ")");
    message("Submitted for review.", "info");
    renderAll();
  });
}

function nextTask() {
  var go = function () {
    send("POST", page.api.next, { body: {} }).then(function (result) {
      if (result.status === 204) { message("No task waits for you.", "info"); return; }
      if (!result.ok) { message(errorText(result.data, "Could not get the next task."), "error"); return; }
      if (result.data.id === page.task) { message("This is your next task.", "info"); return; }
      location.href = page.pages.label + result.data.id + "/";
    });
  };
  if (state.editable && dirty()) save().then(function (ok) { if (ok) go(); else message("Not moving on: this task is not saved.", "error"); });
  else go();
}

function review(decision) {
  var comment = els["review-comment"].value.trim();
  if (decision === "reject" && !comment) {
    message("Write a comment to reject: the annotator needs to know what to fix.", "error");
    els["review-comment"].focus();
    return;
  }
  var body = { decision: decision, comment: comment };
  if (decision === "reject" && els["review-pin"].checked && state.selected) body.shape = state.selected;
  els["review-accept"].disabled = els["review-reject"].disabled = true;
  send("POST", taskUrl + "review/", { body: body }).then(function (result) {
    if (!result.ok) {
      els["review-accept"].disabled = els["review-reject"].disabled = false;
      message(sessionLost(result) ? "Your session has expired: log in again." : errorText(result.data, "The review was not recorded."), "error");
      return;
    }
    state.task.status = decision === "accept" ? "accepted" : "rejected";
    updateTaskStatus();
    message(decision === "accept" ? "Accepted." : "Rejected: the task goes back to its annotator with your comment.", "info");
    setStatus("saved", decision === "accept" ? "Accepted" : "Rejected");
    nextReviewLink();
  });
}

function nextReviewLink() {
  send("GET", page.api.tasks + "?review=true").then(function (result) {
    var rows = result.ok && result.data ? (result.data.results || result.data) : [];
    var next = (rows || []).filter(function (t) { return t.id !== page.task; })[0];
    if (!next) return;
    var p = el("p", { id: "next-review" });
    p.appendChild(el("a", { href: page.pages.review + next.id + "/" }, "Next task to review: " + next.item_name));
    document.getElementById("review-panel").appendChild(p);
  });
}

function showReviewBanner() {
  var r = state.ws.latest_review;
  if (!r || r.decision !== "reject") return;
  var open = REVIEW || EDITABLE.indexOf(state.task.status) >= 0;
  if (!open) return;
  els["review-banner-title"].textContent = "Rejected by " + (r.reviewer || "the reviewer") + ":";
  els["review-banner-comment"].textContent = r.comment;
  els["review-banner"].hidden = false;
  if (r.shape && shapeById(r.shape)) {
    state.pinned = r.shape;
    els["show-pinned"].hidden = false;
  }
}

function load() {
  if (page.initial) {  // the page came with the task and its document: no round trip before the viewer
    var initial = page.initial;
    page.initial = null;  // later loads (reload after a conflict) ask the server
    start(initial.task, initial.annotation);
    return;
  }
  Promise.all([send("GET", taskUrl), send("GET", annotationUrl)]).then(function (results) {
    var taskResult = results[0], docResult = results[1];
    if (sessionLost(taskResult)) { location.href = page.pages.login; return; }
    if (!taskResult.ok || !docResult.ok) {
      setStatus("error", errorText(taskResult.ok ? docResult.data : taskResult.data, "This task could not be loaded."));
      return;
    }
    start(taskResult.data, docResult.data);
  }, function () { setStatus("offline", "Offline — the task could not be loaded. Reload when the network is back."); });
}

function start(task, annotation) {
  state.task = task;
  state.ws = task.workspace;
  state.classList = state.ws.schema.classes;
  state.classList.forEach(function (c) { state.classes[c.name] = c; });
  state.relationTypes = state.ws.schema.relations || [];
  state.characters = state.ws.characters;
  state.doc = { shapes: annotation.shapes || [], relations: annotation.relations || [] };
  state.version = annotation.version;
  state.flags = flagMap(annotation.flags);
  state.editable = !REVIEW && task.assignee === page.user.id && EDITABLE.indexOf(task.status) >= 0;
  state.changeCount = state.savedCount = 0;
  els["ws-title"].textContent = state.ws.dataset.name + " / " + state.ws.item.name;
  document.title = state.ws.item.name + " · Atelier";
  updateTaskStatus();
  buildClassBar();
  buildRelationTypes();
  buildCharacterList();
  var firstDrawable = state.classList.filter(function (c) { return c.shapes.indexOf("tag") < 0 || c.shapes.length > 1; })[0];
  state.drawClass = firstDrawable ? firstDrawable.name : null;
  openViewer(state.ws.item);
  showReviewBanner();
  if (REVIEW) {
    var reviewable = task.status === "submitted";
    els["review-accept"].disabled = els["review-reject"].disabled = !reviewable;
    setStatus("readonly", reviewable ? "Read-only: review" : "Read-only: this task is " + task.status.replace("_", " "));
  } else if (!state.editable) {
    setStatus("readonly", "Read-only: this task is " + task.status.replace("_", " "));
  } else {
    setStatus("saved", annotation.version ? "Saved (version " + annotation.version + ")" : "Nothing saved yet");
  }
  restoreLocal(annotation);
  renderAll();
  if (state.editable) suggestions.load();
  root.dataset.state = "ready";
}

// A copy kept on this device whose save was never confirmed. Dropped when the server's latest version
// is that very save; sent without a word when the server is still at the copy's base version, or its
// latest version is an earlier save of this copy (the copy descends from it); otherwise the person
// chooses (the conflict panel: someone else saved meanwhile).
function restoreLocal(annotation) {
  var local = readLocal();
  if (!local) return;
  if (typeof local.base === "number" && local.base > annotation.version && !state.refetched) {
    refetch();
    return;
  }
  if (!local.doc) { clearLocal(); return; }
  if (docJson(local.doc) === docJson(annotation)) { clearLocal(); return; }
  if (local.saveId && annotation.save_id === local.saveId) { clearLocal(); return; }
  if (!state.editable) {
    message("This device kept changes to this task that never reached the server, but the task is " +
            state.task.status.replace("_", " ") + " now: they were not applied.", "error");
    return;
  }
  state.doc = { shapes: local.doc.shapes || [], relations: local.doc.relations || [] };
  state.sentIds = (local.sent || []).filter(function (id) { return typeof id === "string"; });
  var ownLatest = ownSave(annotation.save_id);
  if (local.base === annotation.version || ownLatest) {
    state.changeCount += 1;
    message("Changes kept on this device were restored and are being saved.", "info");
    save();
  } else {
    state.version = local.base;
    openConflict({ version: annotation.version, shapes: annotation.shapes, relations: annotation.relations,
                   flags: annotation.flags, updated_by: annotation.updated_by }, "restore");
  }
}

// The page was drawn before this tab's last save landed: read the document again, then the copy.
function refetch() {
  state.refetched = true;
  setStatus("saving", "Reading the latest version…");
  send("GET", annotationUrl).then(function (result) {
    if (!result.ok) { setStatus("error", errorText(result.data, "This task could not be read again: reload the page.")); return; }
    state.doc = { shapes: result.data.shapes || [], relations: result.data.relations || [] };
    state.version = result.data.version;
    state.flags = flagMap(result.data.flags);
    if (state.editable) setStatus("saved", "Saved (version " + state.version + ")");
    restoreLocal(result.data);
    renderAll();
  }, function () { setStatus("offline", "Offline — reload the page when the network is back."); });
}

function wire() {
  setSuggestions(createSuggestions({
    state: state, change: change, select: select, renderAll: renderAll, centreOn: centreOn, message: message,
    newId: newId, el: el, svg: svg, clear: clear, colourOf: colourOf, toScreen: toScreen, send: send,
    url: function () { return page.api.items + state.task.item + "/predictions/"; },
    storageKey: "atelier:suggestions-dismissed:" + page.user.id + ":" + page.task,
    els: { panel: document.getElementById("suggestions-panel"), count: document.getElementById("suggestion-count"),
           show: document.getElementById("suggestions-show"), run: document.getElementById("suggestion-run"),
           threshold: document.getElementById("suggestion-threshold"),
           acceptAll: document.getElementById("suggestion-accept-all"), list: document.getElementById("suggestion-list") }
  }));
  window.addEventListener("keydown", onKeyDown, true);
  ["pointerdown", "pointermove", "keydown", "wheel", "input"].forEach(function (type) {
    window.addEventListener(type, noteInput, { capture: true, passive: true });
  });
  setInterval(focusTick, FOCUS_TICK_MS);
  window.addEventListener("keyup", onKeyUp, true);
  document.addEventListener("visibilitychange", function () { if (document.visibilityState === "hidden") saveOnHide(); });
  window.addEventListener("pagehide", saveOnHide);
  window.addEventListener("online", function () { if (dirty()) save(); });
  els["help-button"].addEventListener("click", function () { els["help-dialog"].showModal(); });
  els["labels-toggle"].addEventListener("click", function () { setLabels(!state.labels); });
  els["shape-next"].addEventListener("click", function () { if (viewer) jumpShape(1); });
  els["shape-prev"].addEventListener("click", function () { if (viewer) jumpShape(-1); });
  els["conflict-reload"].addEventListener("click", function () { resolveConflict(false); });
  els["conflict-keep"].addEventListener("click", function () { resolveConflict(true); });
  els["show-pinned"].addEventListener("click", function () { select(state.pinned, true); });
  if (els["tool-bar"]) {
    Array.prototype.forEach.call(els["tool-bar"].querySelectorAll(".tool"), function (b) {
      b.addEventListener("click", function () { setTool(b.dataset.tool); });
    });
    els.undo.addEventListener("click", undo);
    els.redo.addEventListener("click", redo);
    els["delete-shape"].addEventListener("click", function () { if (state.selected) deleteShape(state.selected); });
  }
  if (els["submit-task"]) els["submit-task"].addEventListener("click", submitTask);
  if (els["next-task"]) els["next-task"].addEventListener("click", nextTask);
  if (els["review-accept"]) {
    els["review-accept"].addEventListener("click", function () { review("accept"); });
    els["review-reject"].addEventListener("click", function () { review("reject"); });
  }
}

wire();
fitHeight();
window.addEventListener("resize", fitHeight);
if (window.ResizeObserver) { // a message, the review banner or the conflict panel above it
  var above = new ResizeObserver(fitHeight);
  Array.prototype.forEach.call(root.querySelectorAll(".ws > :not(.ws-main):not(dialog)"), function (node) { above.observe(node); });
}
load();

// For tests and the curious: item pixels <-> screen, the live state.
window.atelierWorkspace = {
  state: state,
  viewer: function () { return viewer; },
  clientPoint: function (x, y) {
    var rect = overlay.getBoundingClientRect(), t = viewTransform();
    return { x: rect.left + t.tx + x * t.s, y: rect.top + t.ty + y * t.s };
  },
  save: save
};
