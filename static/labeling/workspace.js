// The annotation workspace (/label/<task>/) and the review page (/review/<task>/): one entry module,
// two modes. It loads the task, builds the page and wires the modules under workspace/ to the page's
// events (docs/annotation.md "The workspace's front end"):
//   context.js       the page's data, its elements and the one live state every module reads
//   dom.js           elements, SVG nodes, ids, messages
//   viewer.js        OpenSeadragon, the overview column, moving through a tall item (wheel, page keys)
//   shapes.js        the document: geometry, classes, every change (undo, redo) and edit
//   canvas.js        the SVG overlay: shapes, the draft, handles, relation arrows, class labels
//   tools.js         selection, tools and the pointer: drawing, moving, resizing, linking
//   panels.js        the side panel: class bar, shape list, attributes, relations, tags
//   save.js          autosave, save ids, the local copy and what a reload does with it
//   conflict.js      the conflict view: the server's version and mine side by side
//   focused-time.js  active time per task, sent with the saves
//   review.js        submit, next task, accept and reject with a comment, the review banner
//   keyboard.js      the one key map
// The modules import each other's functions; none calls another's while it is being loaded (only
// this module runs anything then), so the import cycles between them are harmless.
//
// The viewer places each slice's Deep Zoom pyramid at its offset in the item's one vertical coordinate
// space (world units are the item's width, as in item.js), so a 20,000 px strip is only ever fetched as
// tiles. Shapes live in item pixels and are drawn in an SVG layer that follows the viewport; handles
// and relation arrows are drawn in screen pixels so they keep their size at any zoom.
//
// Never losing work, never fighting its author: save.js.
//
// Every user-supplied text (class names, attribute values, transcriptions, comments, names) reaches
// the page through textContent, form values or attributes set one by one: never innerHTML.
import { send, sessionLost } from "../portal/api.js";
import { createSuggestions } from "./suggestions.js";
import { overlay, setLabels, toScreen } from "./workspace/canvas.js";
import { resolveConflict } from "./workspace/conflict.js";
import {
  annotationUrl, EDITABLE, els, page, REVIEW, root, setSuggestions, state, suggestions, taskUrl
} from "./workspace/context.js";
import { clear, el, errorText, message, newId, svg } from "./workspace/dom.js";
import { FOCUS_TICK_MS, focusTick, noteInput } from "./workspace/focused-time.js";
import { onKeyDown, onKeyUp } from "./workspace/keyboard.js";
import { buildCharacterList, buildClassBar, buildRelationTypes, renderAll } from "./workspace/panels.js";
import { nextTask, review, showReviewBanner, submitTask, updateTaskStatus } from "./workspace/review.js";
import { dirty, flagMap, restoreLocal, save, saveOnHide, setStatus } from "./workspace/save.js";
import { change, colourOf, deleteShape, redo, undo } from "./workspace/shapes.js";
import { select, setTool } from "./workspace/tools.js";
import { centreOn, fitHeight, jumpShape, openViewer, viewer, viewTransform } from "./workspace/viewer.js";

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
