// Live log of the latest attempt: read what exists from the API, then append the `job.log` events of
// topic job.<id>. Pages and events both carry byte offsets and go through accept(): an overlap is
// trimmed and a gap is fetched from the API, so every byte shows once, whatever arrives first.
import { ApiError, getJson, getText } from "../portal/api.js";
import { onConnect, onEvent, subscribe } from "../portal/realtime.js";

var pre = document.getElementById("job-log");
var jobId = pre.dataset.job;
var attempt = null;
var offset = 0;
var fetching = false;
var encoder = new TextEncoder();
var decoder = new TextDecoder();

// `end` is the server's byte offset after the text: the text's own UTF-8 length differs where the job
// wrote bytes that are not UTF-8 (each shows as one replacement mark of 3 bytes).
function accept(start, text, end) {
  if (start > offset) { fetchFrom(); return; }
  if (end <= offset) return;
  var bytes = encoder.encode(text);
  var atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  pre.appendChild(document.createTextNode(decoder.decode(bytes.slice(offset - start))));
  offset = end;
  if (atBottom) pre.scrollTop = pre.scrollHeight;
}

function switchTo(number) {
  attempt = number;
  offset = 0;
  pre.textContent = "";
}

function fetchFrom() {
  if (fetching) return;
  fetching = true;
  var url = pre.dataset.logUrl + "?offset=" + offset + (attempt !== null ? "&attempt=" + attempt : "");
  getJson(url)
    .then(function (page) {
      fetching = false;
      if (attempt === null) switchTo(page.attempt);
      if (page.attempt !== attempt) return;
      var before = offset;
      accept(page.offset, page.data, page.next_offset);
      if (offset > before && !page.complete) fetchFrom();
    })
    .catch(function (error) {
      fetching = false;
      if (!(error instanceof ApiError)) throw error;  // a bug here, not an answer: let it show
    });
}

// Live utilization of the job's GPUs from the GPU agent's board ticks: rows [id, util, mem, temp, ...].
var gpuRows = {};
document.querySelectorAll("#job-gpus tr[data-gpu]").forEach(function (row) { gpuRows[row.dataset.gpu] = row; });
function showGpus(board) {
  board.forEach(function (g) {
    var row = gpuRows[String(g[0])];
    if (!row) return;
    row.querySelector('[data-field="util"]').textContent = g[1] === null ? "n/a" : g[1] + " %";
    row.querySelector('[data-field="memory"]').textContent = g[2] === null ? "n/a" : g[2] + " MiB";
    row.querySelector('[data-field="temp"]').textContent = g[3] === null ? "n/a" : g[3] + " °C";
  });
}

// State, queue reason and attempts come from one server render of the job, read again on each of its
// events, so the badge and the attempts table never tell two stories (a "Running" attempt under a
// cancelled job). A newer event while a read is in flight asks for one more read after it.
var live = document.getElementById("job-live");
var reading = false;
var again = false;
function refreshStory() {
  if (reading) { again = true; return; }
  reading = true;
  getText(live.dataset.fragmentUrl)
    .then(function (html) { live.innerHTML = html; })
    .catch(function () {})  // the next event reads again
    .finally(function () { reading = false; if (again) { again = false; refreshStory(); } });
}

onEvent(function (event) {
  if (event.kind === "gpu.tick") { showGpus(event.payload.g || []); return; }
  if (event.topic !== "job." + jobId) return;
  if (event.kind === "job.log") {
    var p = event.payload;
    if (attempt === null || p.attempt > attempt) switchTo(p.attempt);
    if (p.attempt === attempt) accept(p.offset, p.text, p.end);
    return;
  }
  refreshStory();
  var cancel = document.getElementById("cancel-form");
  if (event.kind === "job.ended" && cancel) cancel.remove();
  fetchFrom();
});

subscribe("job." + jobId);
onConnect(refreshStory);
// A safety net while the job can still change: read the story again every 10 s, so a page that
// missed an event (published before its subscription took effect) catches up without a reload.
setInterval(function () {
  var badge = document.getElementById("job-state");
  if (badge && /pending|running/i.test(badge.textContent)) refreshStory();
}, 10000);
// Before the first attempt there is no log to read (the API answers 404): the job.started event
// or the first job.log event starts reading.
if (pre.dataset.started) fetchFrom();

// Cancelling stops the job's processes and cannot be undone: ask first (the form posts without
// JavaScript too, where the browser's own resubmission prompt is the only guard).
var cancelForm = document.getElementById("cancel-form");
if (cancelForm) {
  cancelForm.addEventListener("submit", function (event) {
    var name = document.title.replace(/^Job /, "job ");
    if (!window.confirm("Cancel " + name + "? Its processes are stopped; this cannot be undone.")) {
      event.preventDefault();
    }
  });
}
