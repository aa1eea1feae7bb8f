// The SVG overlay on the viewer's canvas: shapes in a layer that follows the viewport (item pixels),
// handles, vertices, relation arrows and class labels in screen pixels so they keep their size at any
// zoom, and the draft of the shape being drawn.
import { els, state, suggestions } from "./context.js";
import { clear, svg } from "./dom.js";
import { bounds, centre, clampBox, colourOf, readingOrder, shapeById, summary } from "./shapes.js";
import { onDoubleClick, onPointerDown, onPointerMove, onPointerUp } from "./tools.js";
import { renderOverviewShapes, renderOverviewView, viewer, viewTransform } from "./viewer.js";

export var overlay; // the <svg> on the viewer's canvas (tools.js captures the pointer on it)
var world, shapeLayer, draftLayer, screenLayer;

export function itemPoint(event) {
  var rect = overlay.getBoundingClientRect(), t = viewTransform();
  return [(event.clientX - rect.left - t.tx) / t.s, (event.clientY - rect.top - t.ty) / t.s];
}

export function toScreen(x, y) { // item pixels -> overlay pixels
  var t = state.view;
  return [t.tx + x * t.s, t.ty + y * t.s];
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

export function renderShapes() {
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

export function renderDraft() {
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

export function setLabels(on) {
  state.labels = on;
  if (els["labels-toggle"]) els["labels-toggle"].setAttribute("aria-pressed", String(on));
  renderScreen();
}
