// The task's way through review: the status badge, submit for review, the next task, a reviewer's
// accept or reject (with a comment, optionally pinned to a shape), and the banner that shows the
// annotator a rejection.
import { send, sessionLost } from "../../portal/api.js";
import { EDITABLE, els, page, REVIEW, root, state, taskUrl } from "./context.js";
import { el, errorText, message } from "./dom.js";
import { focusedReport } from "./focused-time.js";
import { renderAll } from "./panels.js";
import { dirty, save, setStatus } from "./save.js";
import { shapeById } from "./shapes.js";

export function updateTaskStatus() {
  var task = state.task;
  els["ws-task-status"].textContent = task.status.replace("_", " ");
  els["ws-task-status"].dataset.status = task.status;
  root.dataset.taskStatus = task.status;
}

export function submitTask() {
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

export function nextTask() {
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

export function review(decision) {
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

export function showReviewBanner() {
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
