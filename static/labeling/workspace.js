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
import { createSuggestions } from "./suggestions.js";
import { overlay, renderShapes, setLabels, toScreen } from "./workspace/canvas.js";
import {
  annotationUrl, EDITABLE, els, page, REVIEW, root, setSuggestions, state, storageKey, suggestions, taskUrl
} from "./workspace/context.js";
import { clear, copy, el, errorText, message, newId, svg } from "./workspace/dom.js";
import { buildCharacterList, buildClassBar, buildRelationTypes, renderAll } from "./workspace/panels.js";
import {
  change, colourOf, deleteShape, docJson, pickClass, readingOrder, redo, shapeById, shapeLabel, summary, undo
} from "./workspace/shapes.js";
import { finishPolygon, moveShape, select, setTool } from "./workspace/tools.js";
import {
  centreOn, fitHeight, jumpShape, openViewer, scrollScreens, scrollToEnd, viewer, viewTransform
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

function newSaveId() {
  return typeof crypto.randomUUID === "function" ? crypto.randomUUID() : newId("save-") + newId("-");
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

export function writeLocal() {
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

export function scheduleSave() {
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
