// The labeling queue (/label/): my tasks with progress and "Next task"; for reviewers, the submitted
// work waiting for them. Rows are built with textContent only (names come from users).
(function () {
  "use strict";
  var page = JSON.parse(document.getElementById("queue-data").textContent);
  var MAX_PAGES = 10;
  var STATUSES = ["new", "in_progress", "rejected", "submitted", "accepted"];

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function getJson(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); });
  }

  // Follows `next` links (cursor pagination) up to MAX_PAGES pages.
  function allPages(url, pages) {
    return getJson(url).then(function (data) {
      var rows = Array.isArray(data) ? data : data.results || [];
      if (data.next && (pages || 1) < MAX_PAGES) {
        return allPages(data.next, (pages || 1) + 1).then(function (more) { return rows.concat(more); });
      }
      return rows;
    });
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
    fetch(page.api.next, { method: "POST", credentials: "same-origin",
                           headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
                           body: "{}" })
      .then(function (r) {
        if (r.status === 204) { note.textContent = "No task waits for you."; return null; }
        if (!r.ok) { note.textContent = "Could not get a task (" + r.status + ")."; return null; }
        return r.json();
      })
      .then(function (task) { if (task) location.href = page.pages.label + task.id + "/"; })
      .catch(function () { note.textContent = "Offline: try again."; });
  });

  allPages(page.api.tasks + "?mine=true").then(showMine, function () {
    document.getElementById("queue-message").textContent = "Your tasks could not be loaded.";
  });
  allPages(page.api.tasks + "?review=true").then(showReview, function () {
    document.getElementById("review-empty").hidden = false;
  });
})();
