// What every module of the workspace shares: the page's data (the JSON the template embeds), its
// elements by id, the API addresses of this task, and the one live state (the document, its version,
// the selection, the tool, the save in flight…). Modules read and change `state` in place; nothing
// else holds a copy. Loaded first: it only reads the page.

export var root = document.getElementById("workspace");
export var page = JSON.parse(document.getElementById("workspace-data").textContent);
export var REVIEW = page.mode === "review";
export var EDITABLE = ["new", "in_progress", "rejected"];
export var taskUrl = page.api.tasks + page.task + "/";
export var annotationUrl = taskUrl + "annotation/";
export var storageKey = "atelier:annotation:" + page.user.id + ":" + page.task;

export var els = {};
["viewer", "overview", "labels-toggle", "shape-prev", "shape-next", "save-status", "ws-title", "ws-task-status", "ws-message", "review-banner",
 "review-banner-title", "review-banner-comment", "show-pinned", "conflict-panel", "conflict-text",
 "conflict-server", "conflict-mine", "conflict-server-version", "conflict-reload", "conflict-keep",
 "tags-panel", "tag-list", "attr-body", "shape-list", "shape-count", "relation-list", "class-bar",
 "tool-bar", "relation-type", "undo", "redo", "delete-shape", "help-button", "help-dialog", "next-task",
 "zoom-in", "zoom-out", "zoom-fit",
 "submit-task", "review-comment", "review-pin", "review-pin-name", "review-accept", "review-reject"
].forEach(function (id) { els[id] = document.getElementById(id); });

export var state = {
  task: null, ws: null, classes: {}, classList: [], relationTypes: [], characters: null, unit: 1,
  doc: { shapes: [], relations: [] }, version: 0, flags: {}, editable: false,
  selected: null, tool: "select", drawClass: null, relationSource: null, pinned: null,
  undo: [], redo: [], coalesce: null,
  changeCount: 0, saving: null, timer: null, retryTimer: null, conflict: null, expired: false,
  sentIds: [], docSaveId: null,
  focusedMs: 0, lastInputAt: Date.now(), lastTick: Date.now(), lastReportAt: Date.now(),
  draft: null, drag: null, spaceHeld: false, view: { tx: 0, ty: 0, s: 1 }, labels: true
};
export var suggestions = null; // createSuggestions(...): the entry module (workspace.js) sets it in wire()
export function setSuggestions(value) { suggestions = value; }
