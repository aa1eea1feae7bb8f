// Saving. Never losing work: each change is copied to localStorage at once and saved to the server
// ~800 ms later (and on pagehide/visibilitychange with fetch keepalive), with If-Match naming the
// version the change was made on. The copy is dropped only when the server confirmed it. An expired
// session keeps the copy, which the next load of the page sends after logging in.
//
// Never fighting its author: every save carries a fresh save id, and the local copy keeps the ids of
// the saves sent from its base version whose answer never came (a reload, a closed tab). The server
// gives back the id of the save that made its latest version, so a later load (or a 412) can tell its
// own save from someone else's: its own is taken as the new base; only someone else's is a conflict
// (conflict.js).
import { send, sessionLost } from "../../portal/api.js";
import { openConflict } from "./conflict.js";
import { annotationUrl, els, page, root, state, storageKey } from "./context.js";
import { clear, el, errorText, message, newId } from "./dom.js";
import { focusedGiveBack, focusedReport, focusedTake } from "./focused-time.js";
import { renderAll } from "./panels.js";
import { updateTaskStatus } from "./review.js";
import { docJson } from "./shapes.js";

var SAVE_DELAY_MS = 800;
var RETRY_MS = 5000;
var KEEPALIVE_LIMIT = 60000; // browsers refuse keepalive bodies over 64 KiB; the local copy covers those

function newSaveId() {
  return typeof crypto.randomUUID === "function" ? crypto.randomUUID() : newId("save-") + newId("-");
}

export function setStatus(stateName, text, link) {
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

export function readLocal() {
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

export function clearLocal() {
  try { localStorage.removeItem(storageKey); } catch (err) { /* nothing to do */ }
}

export function dirty() { return state.changeCount !== state.savedCount; }

export function scheduleSave() {
  clearTimeout(state.timer);
  if (state.conflict) return;
  if (!state.expired) setStatus("saving", "Saving…");
  state.timer = setTimeout(function () { save(); }, SAVE_DELAY_MS);
}

// One save at a time; changes made meanwhile are sent by the next one. Resolves when this save ends.
export function save(options) {
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

export function flagMap(flags) {
  var map = {};
  (flags || []).forEach(function (f) { if (f && f.shape) map[f.shape] = f.reason || "Flagged."; });
  return map;
}

export function saveOnHide() {
  if (dirty() && !state.conflict && state.editable) {
    writeLocal();
    save({ keepalive: true });
  } else {
    focusedReport({ keepalive: true });
  }
}

// A copy kept on this device whose save was never confirmed. Dropped when the server's latest version
// is that very save; sent without a word when the server is still at the copy's base version, or its
// latest version is an earlier save of this copy (the copy descends from it); otherwise the person
// chooses (the conflict panel: someone else saved meanwhile).
export function restoreLocal(annotation) {
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
