// Export page: post the chosen format and options to the API, then follow the export job live
// (realtime events on the team's topic) and by polling it (the source of truth if an event is missed).
(function () {
  "use strict";
  var page = JSON.parse(document.getElementById("export-page").textContent);
  var form = document.getElementById("export-form");
  if (!form) return;
  var statusBox = document.getElementById("export-status");
  var label = document.getElementById("export-label");
  var bar = document.getElementById("export-progress");
  var counts = document.getElementById("export-counts");
  var errorBox = document.getElementById("export-error");
  var jobUrl = null;
  var jobId = null;
  var finished = false;

  function chosenFormat() {
    return form.querySelector("input[name=format]:checked").value;
  }

  function showFormatOptions() {
    document.getElementById("yolo-options").hidden = chosenFormat() !== "yolo";
    document.getElementById("label-studio-options").hidden = chosenFormat() !== "label_studio";
  }

  function options() {
    var format = chosenFormat();
    var body = { layout: form.elements.layout.value, include_images: form.elements.include_images.checked };
    if (format === "yolo") {
      body.task = form.elements.task.value;
      if (form.elements.tile_height.value) body.tile_height = Number(form.elements.tile_height.value);
    }
    if (format === "label_studio" && form.elements.image_url_prefix.value) {
      body.image_url_prefix = form.elements.image_url_prefix.value;
    }
    return body;
  }

  function showError(text) {
    errorBox.textContent = text || "";
    errorBox.hidden = !text;
  }

  function submit(event) {
    event.preventDefault();
    showError(null);
    document.getElementById("export-button").disabled = true;
    fetch(page.create_url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json",
                 "X-CSRFToken": form.querySelector("input[name=csrfmiddlewaretoken]").value },
      body: JSON.stringify({ format: chosenFormat(), options: options() }),
    }).then(function (response) {
      return response.json().then(function (body) { return { response: response, body: body }; });
    }).then(function (result) {
      if (result.response.status !== 202) {
        showError(result.body.detail || ("Refused (" + result.response.status + ")"));
        document.getElementById("export-button").disabled = false;
        return;
      }
      jobUrl = result.response.headers.get("Location");
      jobId = result.body.id;
      finished = false;
      statusBox.hidden = false;
      document.getElementById("export-download").hidden = true;
      render(result.body);
      poll();
    }).catch(function () {
      showError("The server could not be reached; try again.");
      document.getElementById("export-button").disabled = false;
    });
  }

  function render(job) {
    bar.value = job.progress;
    label.textContent = job.state === "queued" ? "Queued…" : job.state === "running" ? "Exporting…" :
      job.state === "failed" ? "Export failed: " + job.error : "Done";
    if (job.items_total) counts.textContent = (job.items_done || 0) + " of " + job.items_total + " items";
    if (job.state === "succeeded" || job.state === "failed") finish(job);
  }

  function finish(job) {
    if (finished) return;
    finished = true;
    form.dataset.state = job.state;
    document.getElementById("export-button").disabled = false;
    if (job.state === "succeeded" && job.download_url) {
      document.getElementById("export-download-link").href = job.download_url;
      document.getElementById("export-download").hidden = false;
      counts.textContent = job.counts.images + " images, " + job.counts.annotations + " shapes";
    }
  }

  function poll() {
    if (finished || !jobUrl) return;
    fetch(jobUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (job) { if (job) render(job); })
      .finally(function () { if (!finished) setTimeout(poll, 1000); });
  }

  document.addEventListener("atelier:event", function (event) {
    var data = event.detail;
    if (data.kind !== "labeling.export_job" || !data.payload || data.payload.export_job !== jobId) return;
    if (data.payload.state === "running") {
      bar.value = data.payload.progress;
      label.textContent = "Exporting…";
    } else {
      poll();
    }
  });

  Array.prototype.forEach.call(form.querySelectorAll("input[name=format]"), function (input) {
    input.addEventListener("change", showFormatOptions);
  });
  form.addEventListener("submit", submit);
  showFormatOptions();
})();
