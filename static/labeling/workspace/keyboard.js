// The one key map of the workspace (the help dialog lists it): undo and redo, the suggestions' keys,
// class hotkeys 1–9, tools, finishing a polygon, deleting and nudging shapes, space to pan, moving
// through the item and the class labels' toggle. Keys typed into a field stay there.
import { renderShapes, setLabels } from "./canvas.js";
import { els, state, suggestions } from "./context.js";
import { copy } from "./dom.js";
import { change, deleteShape, pickClass, redo, shapeById, undo } from "./shapes.js";
import { finishPolygon, moveShape, select, setTool } from "./tools.js";
import { jumpShape, scrollScreens, scrollToEnd, viewer } from "./viewer.js";

function typing(target) {
  return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
}

export function onKeyDown(e) {
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

export function onKeyUp(e) {
  if (e.key === " " && state.spaceHeld) { state.spaceHeld = false; renderShapes(); }
}
