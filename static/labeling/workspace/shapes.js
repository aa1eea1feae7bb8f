// Shapes and classes: the document's geometry (item pixels), what a shape is called and coloured,
// and every change to the document. A change goes through change(): a snapshot for undo, the edit,
// the suggestions' bookkeeping, then the local copy, the save and the redraw.
import { acceptedBefore, markEdited } from "../suggestions.js";
import { renderShapes } from "./canvas.js";
import { state, suggestions } from "./context.js";
import { message, newId } from "./dom.js";
import { renderAll, renderClassBar, renderList, renderRelations } from "./panels.js";
import { scheduleSave, writeLocal } from "./save.js";
import { select, setTool } from "./tools.js";

var UNDO_LIMIT = 300;

export function docJson(doc) { return JSON.stringify({ shapes: doc.shapes, relations: doc.relations }); }

export function bounds(shape) {
  if (shape.type === "box" && shape.box) return shape.box.slice();
  if (shape.type === "polygon" && shape.points && shape.points.length) {
    var xs = shape.points.map(function (p) { return p[0]; }), ys = shape.points.map(function (p) { return p[1]; });
    var x = Math.min.apply(null, xs), y = Math.min.apply(null, ys);
    return [x, y, Math.max.apply(null, xs) - x, Math.max.apply(null, ys) - y];
  }
  return null;
}

export function centre(shape) {
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

export function round2(v) { return Math.round(v * 100) / 100; }

export function clampPoint(p) {
  var w = state.ws.item.width, h = state.ws.item.height;
  return [round2(Math.min(w, Math.max(0, p[0]))), round2(Math.min(h, Math.max(0, p[1])))];
}

export function clampBox(x0, y0, x1, y1) {
  var a = clampPoint([Math.min(x0, x1), Math.min(y0, y1)]), b = clampPoint([Math.max(x0, x1), Math.max(y0, y1)]);
  return [a[0], a[1], round2(b[0] - a[0]), round2(b[1] - a[1])];
}

export function shapeById(id) {
  for (var i = 0; i < state.doc.shapes.length; i++) if (state.doc.shapes[i].id === id) return state.doc.shapes[i];
  return null;
}

export function classOf(shape) { return state.classes[shape.class] || null; }

export function colourOf(name) { return state.classes[name] ? state.classes[name].color : "#888888"; }

export function characterName(value) {
  if (state.characters === null || state.characters === undefined) return value;
  for (var i = 0; i < state.characters.length; i++) if (state.characters[i].id === value) return state.characters[i].name;
  return "#" + value;
}

export function summary(shape) {
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

export function shapeLabel(shape) {
  var b = bounds(shape);
  return shape.class + (b ? " @ " + Math.round(b[0]) + "," + Math.round(b[1]) : " (tag)");
}

// Every change goes through here: a snapshot for undo (typing into one field is one step), then the
// change, the redraw and the save. `coalesce` names a run of changes that undo takes back at once.
export function change(mutate, coalesce) {
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

export function undo() {
  if (!state.editable || !state.undo.length) return;
  state.redo.push(docJson(state.doc));
  state.doc = JSON.parse(state.undo.pop());
  state.coalesce = null;
  afterHistory();
}

export function redo() {
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

export function addShape(shape) {
  change(function (doc) { doc.shapes.push(shape); });
  select(shape.id);
}

export function deleteShape(id) {
  if (!shapeById(id)) return;
  if (state.editable && !state.conflict) suggestions.forget(shapeById(id));
  change(function (doc) {
    doc.shapes = doc.shapes.filter(function (s) { return s.id !== id; });
    doc.relations = doc.relations.filter(function (r) { return r.from !== id && r.to !== id; });
  });
  if (state.selected === id) select(null);
}

export function drawableClass(type) {
  var cls = state.classes[state.drawClass];
  if (cls && cls.shapes.indexOf(type) >= 0) return cls;
  if (cls) {
    message("Class “" + cls.name + "” allows " + cls.shapes.join(", ") + ", not " + type + ".", "error");
    return null;
  }
  message("Pick a class first (keys 1–9).", "error");
  return null;
}

export function pickClass(cls) {
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

export function setClass(id, name) {
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

export function toggleTag(name) {
  var existing = state.doc.shapes.filter(function (s) { return s.type === "tag" && s.class === name; })[0];
  if (existing) deleteShape(existing.id);
  else change(function (doc) { doc.shapes.push({ id: newId("t"), class: name, type: "tag", attributes: {} }); });
}

export function setAttribute(id, name, value, coalesce) {
  change(function (doc) {
    doc.shapes.forEach(function (s) {
      if (s.id !== id) return;
      s.attributes = s.attributes || {};
      if (value === "" || value === null || value === undefined || (Array.isArray(value) && !value.length)) delete s.attributes[name];
      else s.attributes[name] = value;
    });
  }, coalesce);
}

export function relationRule(name) {
  for (var i = 0; i < state.relationTypes.length; i++) if (state.relationTypes[i].name === name) return state.relationTypes[i];
  return null;
}

export function addRelation(type, from, to) {
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

export function deleteRelation(id) {
  change(function (doc) { doc.relations = doc.relations.filter(function (r) { return r.id !== id; }); });
}

export function relationsFrom(className) {
  return state.relationTypes.filter(function (r) { return r.from === className; });
}
