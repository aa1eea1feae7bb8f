// Active time per task (Task.focused_seconds, docs/annotation.md): saves carry it; with nothing to
// save it is reported on its own.
import { send } from "../../portal/api.js";
import { root, state, taskUrl } from "./context.js";
import { dirty } from "./save.js";

// Focused time: counted while the page is visible and focused and an input came within IDLE_MS; a
// tick never adds more than two periods (a laptop waking from sleep is not work).
export var FOCUS_TICK_MS = 1000;
var IDLE_MS = 60000;
var FOCUS_REPORT_MS = 120000;
var FOCUS_REPORT_MAX_S = 600;

export function noteInput() { state.lastInputAt = Date.now(); }

export function focusTick() {
  var now = Date.now(), gap = Math.min(Math.max(now - state.lastTick, 0), 2 * FOCUS_TICK_MS);
  state.lastTick = now;
  var present = document.visibilityState === "visible" && document.hasFocus() && now - state.lastInputAt < IDLE_MS;
  if (present && state.editable) state.focusedMs += gap;
  root.dataset.focusedMs = String(Math.floor(state.focusedMs));
  if (now - state.lastReportAt >= FOCUS_REPORT_MS && !dirty()) focusedReport({});
}

export function focusedTake() {
  var seconds = Math.min(Math.floor(state.focusedMs / 1000), FOCUS_REPORT_MAX_S);
  state.focusedMs -= seconds * 1000;
  state.lastReportAt = Date.now();
  return seconds;
}

export function focusedGiveBack(seconds) { state.focusedMs += seconds * 1000; }

// Time spent with nothing to save (reading, checking before submit): saves carry the rest.
export function focusedReport(options) {
  if (!state.editable || state.focusedMs < 1000) return Promise.resolve(true);
  var seconds = focusedTake();
  return send("POST", taskUrl + "focused-time/", { body: { seconds: seconds }, keepalive: !!options.keepalive })
    .then(function (result) {
      if (!result.ok) focusedGiveBack(seconds);
      return result.ok;
    }, function () { focusedGiveBack(seconds); return false; });
}
