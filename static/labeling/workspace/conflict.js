// A real conflict: someone else saved this task since the version this device's changes were made on.
// The server's version and mine are listed side by side, each shape marked where they differ; the
// person keeps theirs (saved on top of the server's version) or takes the server's.
import { els, state } from "./context.js";
import { clear, el } from "./dom.js";
import { renderAll } from "./panels.js";
import { clearLocal, flagMap, readLocal, save, setStatus, writeLocal } from "./save.js";
import { readingOrder, shapeById, shapeLabel, summary } from "./shapes.js";

export function openConflict(current, cause) {
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

export function resolveConflict(keepMine) {
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
