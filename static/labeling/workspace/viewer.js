// The viewer: OpenSeadragon showing each slice's Deep Zoom pyramid at its offset in the item's one
// vertical coordinate space (world units are the item's width), the overview column of the whole
// item, and moving through a tall item: the wheel scrolls (Ctrl/⌘ zooms), PageUp/PageDown/Home/End,
// the next and previous shape, and the page's own zoom buttons.
import { applyTransform, buildOverlay } from "./canvas.js";
import { els, page, root, state } from "./context.js";
import { clear, message, svg } from "./dom.js";
import { bounds, colourOf, readingOrder } from "./shapes.js";
import { select } from "./tools.js";

export var viewer = null;
var overview, overviewShapes, overviewView;

export function viewTransform() {
  var vp = viewer.viewport;
  var p0 = vp.pixelFromPoint(new OpenSeadragon.Point(0, 0), true);
  var p1 = vp.pixelFromPoint(new OpenSeadragon.Point(1, 0), true);
  return { tx: p0.x, ty: p0.y, s: (p1.x - p0.x) / state.unit };
}

export function revealShape(shape) {
  var b = shape && bounds(shape);
  if (!b || !viewer) return;
  var u = state.unit, view = viewer.viewport.getBounds(true);
  var cx = (b[0] + b[2] / 2) / u, cy = (b[1] + b[3] / 2) / u;
  if (cx < view.x || cx > view.x + view.width || cy < view.y || cy > view.y + view.height) {
    viewer.viewport.panTo(new OpenSeadragon.Point(cx, cy));
  }
}

// The whole item in its own column at the right of the viewer: each slice's picture (drawPictures), a
// mark per shape, and a frame for what the viewer shows. A tall strip is stretched to the column's
// width (a 60,000 px strip would otherwise be a few pixels wide); click or drag to go there. It lives
// in its own element, so the layout never depends on the viewer library.
function buildOverview(item) {
  overview = svg("svg", { "data-testid": "overview", viewBox: "0 0 " + item.width + " " + item.height });
  var box = els.overview.getBoundingClientRect();
  var tall = item.height / item.width > box.height / Math.max(box.width, 1);
  overview.setAttribute("preserveAspectRatio", tall ? "none" : "xMidYMin meet");
  overview.appendChild(svg("rect", { "class": "ov-item", x: 0, y: 0, width: item.width, height: item.height }));
  var pictures = svg("g", { "class": "ov-pictures" });
  overview.appendChild(pictures);
  item.slices.forEach(function (s) {
    if (s.offset_y > 0) overview.appendChild(svg("line", { "class": "ov-slice", x1: 0, y1: s.offset_y, x2: item.width, y2: s.offset_y }));
  });
  viewer.addHandler("open", function () { drawPictures(item.slices, pictures, box.width); });
  overviewShapes = svg("g", { "class": "ov-shapes" });
  overviewView = svg("rect", { "class": "ov-view", "data-testid": "overview-view" });
  overview.appendChild(overviewShapes);
  overview.appendChild(overviewView);
  els.overview.appendChild(overview);
  var dragging = false;
  els.overview.addEventListener("pointerdown", function (e) {
    if (e.button !== 0) return;
    dragging = true;
    els.overview.setPointerCapture(e.pointerId);
    overviewJump(e);
  });
  els.overview.addEventListener("pointermove", function (e) { if (dragging) overviewJump(e); });
  els.overview.addEventListener("pointerup", function () { dragging = false; });
  els.overview.addEventListener("pointercancel", function () { dragging = false; });
}

// Each slice's picture, from a low level of the pyramid the viewer opened for it (its tile source,
// in the slices' order): the smallest level at least half the column's width, every tile placed where
// its pixels lie in the slice (overlaps land on each other). Ten 100 px tiles for an 800 x 20,000 strip.
function drawPictures(slices, into, columnWidth) {
  if (viewer.world.getItemCount() !== slices.length) return; // a slice failed to open: the viewer says so
  slices.forEach(function (s, index) {
    var source = viewer.world.getItemAt(index).source;
    var level = source.maxLevel;
    while (level > source.minLevel && source.getLevelScale(level - 1) * s.width >= columnWidth / 2) level--;
    var tiles = source.getNumTiles(level);
    for (var x = 0; x < tiles.x; x++) {
      for (var y = 0; y < tiles.y; y++) {
        var bounds = source.getTileBounds(level, x, y); // in units of the slice's width
        into.appendChild(svg("image", { href: source.getTileUrl(level, x, y), preserveAspectRatio: "none",
                                        x: bounds.x * s.width, y: s.offset_y + bounds.y * s.width,
                                        width: bounds.width * s.width, height: bounds.height * s.width }));
      }
    }
  });
}

function overviewPoint(e) {
  var point = overview.createSVGPoint();
  point.x = e.clientX;
  point.y = e.clientY;
  return point.matrixTransform(overview.getScreenCTM().inverse());
}

function overviewJump(e) {
  if (!viewer) return;
  var p = overviewPoint(e), vp = viewer.viewport, b = vp.getBounds(true), u = state.unit;
  var tall = overview.getAttribute("preserveAspectRatio") === "none";
  var x = tall ? b.x + b.width / 2 : p.x / u; // a strip keeps its sideways position
  vp.panTo(new OpenSeadragon.Point(x, p.y / u), true);
  vp.applyConstraints(true);
}

// Marks at least 3 screen pixels tall, so a small shape on a long strip still shows.
function overviewMinHeight() {
  var h = els.overview.clientHeight || 1;
  return 3 * state.ws.item.height / h;
}

export function renderOverviewShapes() {
  if (!overviewShapes) return;
  clear(overviewShapes);
  var minHeight = overviewMinHeight();
  state.doc.shapes.forEach(function (shape) {
    var b = bounds(shape);
    if (!b) return;
    var mark = svg("rect", { "class": "ov-shape" + (shape.id === state.selected ? " selected" : ""), "data-id": shape.id,
                             x: b[0], y: b[1], width: Math.max(b[2], 1), height: Math.max(b[3], minHeight) });
    mark.setAttribute("fill", colourOf(shape.class));
    overviewShapes.appendChild(mark);
  });
}

export function renderOverviewView() {
  if (!overviewView || !viewer) return;
  var item = state.ws.item, b = viewer.viewport.getBounds(true), u = state.unit;
  var x0 = Math.max(0, b.x * u), y0 = Math.max(0, b.y * u);
  var x1 = Math.min(item.width, (b.x + b.width) * u), y1 = Math.min(item.height, (b.y + b.height) * u);
  var minHeight = overviewMinHeight();
  overviewView.setAttribute("x", x0);
  overviewView.setAttribute("y", y0);
  overviewView.setAttribute("width", Math.max(x1 - x0, 1));
  overviewView.setAttribute("height", Math.max(y1 - y0, minHeight));
}

// The wheel and a trackpad's two-finger swipe scroll (Shift: sideways); with Ctrl or ⌘, and a
// trackpad's pinch (which browsers send as a wheel with ctrlKey), they zoom at the pointer.
function onWheel(e) {
  if (!viewer) return;
  e.preventDefault();
  e.stopPropagation();
  var vp = viewer.viewport, rect = els.viewer.getBoundingClientRect();
  var unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? rect.height : 1;
  if (e.ctrlKey || e.metaKey) {
    var factor = Math.min(2, Math.max(0.5, Math.pow(2, -e.deltaY * unit / 300)));
    vp.zoomBy(factor, vp.pointFromPixel(new OpenSeadragon.Point(e.clientX - rect.left, e.clientY - rect.top), true), true);
    vp.applyConstraints(true);
    return;
  }
  var dx = e.deltaX * unit, dy = e.deltaY * unit;
  if (e.shiftKey && !dx) { dx = dy; dy = 0; }
  var perPixel = vp.getBounds(true).width / rect.width;
  vp.panBy(new OpenSeadragon.Point(dx * perPixel, dy * perPixel), true);
  vp.applyConstraints(true);
}

export function scrollScreens(count) {
  var vp = viewer.viewport;
  vp.panBy(new OpenSeadragon.Point(0, vp.getBounds(true).height * 0.9 * count), true);
  vp.applyConstraints(true);
}

export function scrollToEnd(top) {
  var vp = viewer.viewport, b = vp.getBounds(true), height = state.ws.item.height / state.unit;
  var y = top ? 0 : Math.max(0, height - b.height);
  vp.panTo(new OpenSeadragon.Point(b.x + b.width / 2, y + b.height / 2), true);
  vp.applyConstraints(true);
}

// The next (step 1) or previous (-1) shape in reading order after the selected one; with none
// selected, the first starting at or below the top of the view (or the last starting above its bottom).
export function jumpShape(step) {
  var ordered = readingOrder(state.doc.shapes).filter(function (s) { return bounds(s); });
  if (!ordered.length) { message("No shapes yet.", "info"); return; }
  var index = -1;
  for (var i = 0; i < ordered.length; i++) if (ordered[i].id === state.selected) index = i;
  var next;
  if (index >= 0) next = ordered[(index + step + ordered.length) % ordered.length];
  else {
    var view = viewer.viewport.getBounds(true), top = view.y * state.unit, bottom = (view.y + view.height) * state.unit;
    var below = ordered.filter(function (s) { return bounds(s)[1] >= top; });
    var above = ordered.filter(function (s) { return bounds(s)[1] < bottom; });
    next = step > 0 ? (below[0] || ordered[0]) : (above[above.length - 1] || ordered[ordered.length - 1]);
  }
  select(next.id);
  centreOn(next);
}

export function centreOn(shape) {
  var b = bounds(shape), u = state.unit, vp = viewer.viewport, view = vp.getBounds(true);
  var across = b[0] / u >= view.x && (b[0] + b[2]) / u <= view.x + view.width;
  var down = b[1] / u >= view.y && (b[1] + b[3]) / u <= view.y + view.height;
  if (across && down) return;
  // A shape already in view sideways keeps the view's sideways position (a fitted strip stays fitted).
  var x = across ? view.x + view.width / 2 : (b[0] + b[2] / 2) / u;
  vp.panTo(new OpenSeadragon.Point(x, (b[1] + b[3] / 2) / u), true);
}

function fitWidthAtTop(item, immediately) {
  var top = new OpenSeadragon.Rect(0, 0, 1, Math.min(item.height / state.unit, els.viewer.clientHeight / els.viewer.clientWidth));
  viewer.viewport.fitBounds(top, immediately);
  applyTransform();
}

export function openViewer(item) {
  state.unit = item.width || 1;
  viewer = OpenSeadragon({
    element: els.viewer,
    prefixUrl: page.prefixUrl,
    // The overview is the page's own (buildOverview): OpenSeadragon's navigator fits a tall strip
    // into a few pixels of width and inserted its elements where the layout did not expect them.
    showNavigator: false,
    // The page's own zoom buttons instead of OpenSeadragon's: those are 16 images (four states of
    // four buttons) fetched before the first tile, and on HTTP/1.1 they held the browser's six
    // connections while the strip's descriptor and first tiles waited (docs/benchmarks.md).
    showNavigationControl: false,
    // Canvas 2D, not the WebGL default: where WebGL falls back to software (no GPU, remote
    // desktops, headless) it costs seconds before the first tile; canvas draws tiles at once.
    drawer: "canvas",
    visibilityRatio: 0.2,
    minZoomImageRatio: 0.5,
    maxZoomPixelRatio: 6,
    preserveViewport: true,
    gestureSettingsMouse: { clickToZoom: false, dblClickToZoom: false, scrollToZoom: false },
    tileSources: item.slices.map(function (s) {
      return { tileSource: s.dzi, x: 0, y: s.offset_y / state.unit, width: s.width / state.unit };
    })
  });
  buildOverlay();
  buildOverview(item);
  els.viewer.addEventListener("wheel", onWheel, { capture: true, passive: false });
  viewer.addHandler("update-viewport", applyTransform);
  viewer.addHandler("resize", function () { applyTransform(); renderOverviewShapes(); });
  viewer.addHandler("canvas-key", function (e) {
    if (/^[rRfF]$/.test(e.originalEvent && e.originalEvent.key)) e.preventDefaultAction = true;
  });
  viewer.addHandler("canvas-click", function (e) {
    if (e.quick && state.tool === "select" && !state.drag) select(null);
  });
  viewer.addHandler("open", function () {
    fitWidthAtTop(item, true);
    els.viewer.dataset.opened = "true";
  });
  els["zoom-in"].onclick = function () { viewer.viewport.zoomBy(1.25); };
  els["zoom-out"].onclick = function () { viewer.viewport.zoomBy(0.8); };
  els["zoom-fit"].onclick = function () { fitWidthAtTop(item, false); };
  viewer.addHandler("tile-loaded", function () {
    els.viewer.dataset.tilesLoaded = String(Number(els.viewer.dataset.tilesLoaded || 0) + 1);
  });
}

// The viewer, overview and side panel take the window's height below the bars, however many lines
// the bars wrap to.
export function fitHeight() {
  var main = root.querySelector(".ws-main");
  var top = main.getBoundingClientRect().top + window.scrollY;
  main.style.height = Math.max(420, Math.floor(window.innerHeight - top - 12)) + "px";
}
