// Selection, tools and the pointer: drawing boxes and polygons, moving and resizing shapes, editing a
// polygon's vertices, and linking two shapes with a relation.
import { itemPoint, overlay, renderDraft, renderShapes, toScreen } from "./canvas.js";
import { els, REVIEW, state, suggestions } from "./context.js";
import { copy, message, newId } from "./dom.js";
import { renderAll } from "./panels.js";
import {
  addRelation, addShape, bounds, change, clampBox, clampPoint, drawableClass, relationRule, relationsFrom,
  round2, shapeById, shapeLabel
} from "./shapes.js";
import { revealShape } from "./viewer.js";

var MIN_DRAG_PX = 4;

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

export function setTool(tool) {
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

export function startRelationFrom(shape) {
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

export function onPointerDown(e) {
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

export function onPointerMove(e) {
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

export function onPointerUp(e) {
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

export function onDoubleClick(e) {
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

export function moveShape(shape, before, dx, dy) {
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

export function finishPolygon() {
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
