// Export page: post the chosen format and options to the API, then follow the export job live
// (realtime events on the team's topic) and by polling it (the source of truth if an event is missed).
import { poll, request } from "../portal/api.js";
import { onEvent } from "../portal/realtime.js";

var page = JSON.parse(document.getElementById("export-page").textContent);
var form = document.getElementById("export-form");  // absent for those who may not export
var statusBox = document.getElementById("export-status");
var label = document.getElementById("export-label");
var bar = document.getElementById("export-progress");
var counts = document.getElementById("export-counts");
var errorBox = document.getElementById("export-error");
var jobId = null;
var exportPoll = null;  // reads the export job once there is one
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
  request("POST", page.create_url, { body: { format: chosenFormat(), options: options() } }).then(function (result) {
    if (exportPoll) exportPoll.stop();
    jobId = result.data.id;
    finished = false;
    statusBox.hidden = false;
    document.getElementById("export-download").hidden = true;
    render(result.data);
    if (!finished) {
      exportPoll = poll(result.headers.get("Location"), { onUpdate: render, isDone: function (j) { return isFinal(j.state); } });
    }
  }, function (error) {
    showError(error.message);
    document.getElementById("export-button").disabled = false;
  });
}

function isFinal(state) { return state === "succeeded" || state === "failed"; }

function render(job) {
  bar.value = job.progress;
  label.textContent = job.state === "queued" ? "Queued…" : job.state === "running" ? "Exporting…" :
    job.state === "failed" ? "Export failed: " + job.error : "Done";
  if (job.items_total) counts.textContent = (job.items_done || 0) + " of " + job.items_total + " items";
  if (isFinal(job.state)) finish(job);
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

onEvent(function (data) {
  if (data.kind !== "labeling.export_job" || !data.payload || data.payload.export_job !== jobId) return;
  if (data.payload.state === "running") {
    bar.value = data.payload.progress;
    label.textContent = "Exporting…";
  } else if (exportPoll) {
    exportPoll.now();
  }
});

if (form) {
  Array.prototype.forEach.call(form.querySelectorAll("input[name=format]"), function (input) {
    input.addEventListener("change", showFormatOptions);
  });
  form.addEventListener("submit", submit);
  showFormatOptions();
}
