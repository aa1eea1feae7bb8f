// Upload page: drag and drop, one XHR for all files (per-file upload progress derived from the
// byte offsets: files are sent in order), then the import job's per-file outcomes, live from the
// team's realtime topic and by polling the job (which is the source of truth if an event is missed).
import { poll, upload } from "../portal/api.js";
import { onEvent } from "../portal/realtime.js";

var form = document.getElementById("upload-form");
var input = document.getElementById("file-input");
var dropzone = document.getElementById("dropzone");
var button = document.getElementById("upload-button");
var rows = document.getElementById("file-rows");
var overall = document.getElementById("overall-progress");
var overallLabel = document.getElementById("overall-label");
var counts = document.getElementById("overall-counts");
var errorBox = document.getElementById("upload-error");
var maxFiles = Number(form.dataset.maxFiles);
var maxBytes = Number(form.dataset.maxFileBytes);
var chosen = [];
var jobId = null;
var importPoll = null;  // reads the import job once there is one
var finished = false;

function choose(fileList) {
  chosen = Array.prototype.slice.call(fileList).sort(function (a, b) {
    return a.name.localeCompare(b.name, undefined, { numeric: true });
  });
  rows.textContent = "";
  chosen.forEach(function (file, index) { rows.appendChild(rowFor(file, index)); });
  document.getElementById("upload-status").hidden = chosen.length === 0;
  overallLabel.textContent = chosen.length + " file(s) ready";
  var problem = chosen.length > maxFiles ? "Choose at most " + maxFiles + " files per upload." : null;
  chosen.forEach(function (file) {
    if (file.size > maxBytes) problem = file.name + " is larger than " + maxBytes + " bytes.";
  });
  showError(problem);
  button.disabled = chosen.length === 0 || problem !== null;
}

function rowFor(file, index) {
  var row = document.createElement("tr");
  row.dataset.position = String(index);
  row.dataset.outcome = "waiting";
  [file.name, formatBytes(file.size)].forEach(function (text) {
    var cell = document.createElement("td");
    cell.textContent = text;
    row.appendChild(cell);
  });
  var bar = document.createElement("progress");
  bar.max = 1;
  bar.value = 0;
  var barCell = document.createElement("td");
  barCell.appendChild(bar);
  row.appendChild(barCell);
  var outcome = document.createElement("td");
  outcome.className = "outcome";
  outcome.textContent = "waiting";
  row.appendChild(outcome);
  return row;
}

function formatBytes(size) {
  if (size < 1024) return size + " B";
  if (size < 1024 * 1024) return (size / 1024).toFixed(1) + " KiB";
  return (size / 1024 / 1024).toFixed(1) + " MiB";
}

function showError(message) {
  errorBox.hidden = !message;
  errorBox.textContent = message || "";
}

function onUploadProgress(event) {
  if (!event.lengthComputable) return;
  overall.value = event.loaded / event.total / 2;  // the first half is the transfer, the second the import
  var offset = 0;
  var sent = event.loaded * (sumSizes() / event.total);  // multipart overhead spread evenly
  chosen.forEach(function (file, index) {
    var bar = rows.children[index].querySelector("progress");
    bar.value = file.size === 0 ? 1 : Math.max(0, Math.min(1, (sent - offset) / file.size));
    offset += file.size;
  });
}

function sumSizes() {
  return chosen.reduce(function (total, file) { return total + file.size; }, 0) || 1;
}

function submit(event) {
  event.preventDefault();
  if (!chosen.length) return;
  button.disabled = true;
  showError(null);
  overallLabel.textContent = "Uploading…";
  var data = new FormData();
  chosen.forEach(function (file) { data.append("files", file, file.name); });
  data.append("as_episode", document.getElementById("as-episode").checked ? "true" : "false");
  data.append("episode_name", document.getElementById("episode-name").value);
  upload(form.dataset.uploadUrl, data, { onProgress: onUploadProgress }).then(onUploaded, function (error) {
    showError(error.status ? "Upload refused: " + error.message : "The upload failed: " + error.message);
    overallLabel.textContent = error.status ? "Refused" : "Not sent";
    button.disabled = false;
  });
}

function onUploaded(result) {
  var body = result.data;
  Array.prototype.forEach.call(rows.querySelectorAll("progress"), function (bar) { bar.value = 1; });
  jobId = body.id;
  overallLabel.textContent = "Importing…";
  form.dataset.importJob = String(jobId);
  render(body);
  if (!finished) {
    importPoll = poll(result.headers.get("Location"), { onUpdate: render, isDone: function (j) { return isFinal(j.state); } });
  }
}

function isFinal(state) { return state === "succeeded" || state === "failed"; }

function render(job) {
  overall.value = 0.5 + job.progress / 2;
  counts.textContent = job.accepted + " accepted, " + job.refused + " refused, " + job.duplicates + " duplicate(s)" +
    (job.near_duplicates ? ", " + job.near_duplicates + " near-duplicate(s)" : "") +
    (job.skipped ? ", " + job.skipped + " not an image (skipped)" : "") +
    (job.ignored ? ", " + job.ignored + " system file(s) ignored" : "");
  (job.files || []).forEach(showOutcome);
  if (isFinal(job.state)) finish(job);
}

function showOutcome(file) {
  var row = rows.querySelector('tr[data-position="' + file.position + '"]');
  if (!row || file.outcome === "pending") return;
  row.dataset.outcome = file.outcome;
  var text = file.outcome;
  if (file.reason) text += ": " + file.reason;
  if (file.near_duplicate_of) text += " (near-duplicate)";
  row.querySelector(".outcome").textContent = text;
}

function finish(job) {
  if (finished) return;
  finished = true;
  overall.value = 1;
  overallLabel.textContent = job.state === "failed" ? "Import failed: " + job.detail : "Done";
  document.getElementById("done-link").hidden = false;
  form.dataset.state = job.state;
}

onEvent(function (data) {
  if (!jobId || !data.payload || data.payload.import_job !== jobId) return;
  if (data.kind === "labeling.import_file") {
    showOutcome(data.payload);
    overall.value = 0.5 + data.payload.progress / 2;
  } else if (data.kind === "labeling.import_job" && importPoll) {
    importPoll.now();
  }
});

input.addEventListener("change", function () { choose(input.files); });
["dragenter", "dragover"].forEach(function (name) {
  dropzone.addEventListener(name, function (event) { event.preventDefault(); dropzone.classList.add("over"); });
});
["dragleave", "drop"].forEach(function (name) {
  dropzone.addEventListener(name, function () { dropzone.classList.remove("over"); });
});
dropzone.addEventListener("drop", function (event) {
  event.preventDefault();
  choose(event.dataTransfer.files);
});
form.addEventListener("submit", submit);
