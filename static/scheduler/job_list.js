// Refresh the job rows when any job of the user's teams changes state (events on team.<id>).
(function () {
  "use strict";
  var table = document.getElementById("job-table");
  if (!table) return;
  var pending = null;
  function refresh() {
    pending = null;
    fetch(table.dataset.fragmentUrl, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        table.querySelector("#job-rows").outerHTML = html;
      });
  }
  document.addEventListener("atelier:event", function (e) {
    if (e.detail.kind.indexOf("job.") !== 0 || e.detail.kind === "job.log") return;
    if (!pending) pending = setTimeout(refresh, 300);
  });
})();
