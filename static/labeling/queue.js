// The labeling queue (/label/): my tasks with progress and "Next task"; for reviewers, the submitted
// work waiting for them. Rows are built with textContent only (names come from users).
import { getAllPages, request } from "../portal/api.js";

var page = JSON.parse(document.getElementById("queue-data").textContent);
var MAX_PAGES = 10;  // of the API's cursor pages, each following `next`
var STATUSES = ["new", "in_progress", "rejected", "submitted", "accepted"];

function el(tag, attrs, text) {
  var node = document.createElement(tag);
  Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function when(value) { return value ? new Date(value).toLocaleString() : ""; }

function taskRow(task, href, cells) {
  var tr = el("tr", { "data-task": task.id, "data-status": task.status });
  var first = el("td");
  first.appendChild(el("a", { href: href }, "#" + task.id));
  tr.appendChild(first);
  cells.forEach(function (text) { tr.appendChild(el("td", {}, text)); });
  return tr;
}

function showMine(tasks) {
  var body = document.getElementById("my-task-rows");
  var counts = {};
  STATUSES.forEach(function (s) { counts[s] = 0; });
  tasks.forEach(function (t) { counts[t.status] = (counts[t.status] || 0) + 1; });
  var order = { rejected: 0, in_progress: 1, new: 2, submitted: 3, accepted: 4 };
  tasks.sort(function (a, b) { return (order[a.status] - order[b.status]) || a.id - b.id; });
  tasks.forEach(function (t) {
    body.appendChild(taskRow(t, page.pages.label + t.id + "/", [t.item_name, t.dataset_name, t.status.replace("_", " "),
                                                                 when(t.submitted_at || t.assigned_at || t.created_at)]));
  });
  document.getElementById("my-empty").hidden = tasks.length > 0;
  var progress = document.getElementById("my-progress");
  var done = counts.accepted, total = tasks.length;
  progress.appendChild(el("span", { id: "progress-done" }, done + " of " + total + " accepted"));
  STATUSES.forEach(function (s) {
    progress.appendChild(el("span", { "class": "badge", "data-status": s }, s.replace("_", " ") + ": " + counts[s]));
  });
}

function showReview(tasks) {
  var body = document.getElementById("review-task-rows");
  tasks.forEach(function (t) {
    body.appendChild(taskRow(t, page.pages.review + t.id + "/", [t.item_name, t.dataset_name, t.assignee_username || "",
                                                                  when(t.submitted_at)]));
  });
  document.getElementById("review-empty").hidden = tasks.length > 0;
}

document.getElementById("next-task").addEventListener("click", function () {
  var note = document.getElementById("queue-message");
  request("POST", page.api.next, { body: {} })
    .then(function (result) {
      if (result.status === 204) { note.textContent = "No task waits for you."; return; }
      location.href = page.pages.label + result.data.id + "/";
    })
    .catch(function (error) { note.textContent = "Could not get a task: " + error.message; });
});

getAllPages(page.api.tasks + "?mine=true", { maxPages: MAX_PAGES }).then(showMine, function () {
  document.getElementById("queue-message").textContent = "Your tasks could not be loaded.";
});
getAllPages(page.api.tasks + "?review=true", { maxPages: MAX_PAGES }).then(showReview, function () {
  document.getElementById("review-empty").hidden = false;
});
