// The job page's GPU chart (uPlot): utilization and memory of the latest attempt's GPUs over its life,
// one line per GPU, from /api/v1/gpus/<id>/metrics/ (raw samples or rollups, as the range asks).
// A running job's chart is read again every 30 s, up to now.
import { getJson } from "../portal/api.js";

var data = JSON.parse(document.getElementById("job-chart-data").textContent);
var status = document.getElementById("job-chart-status");
var COLOURS = ["#2b4c7e", "#1f7a3a", "#a86b00", "#b3261e", "#6b3fa0", "#00838f", "#5d4037", "#546e7a"];
var charts = {};

function windowOf() {
  var end = data.end ? new Date(data.end) : new Date();
  return { start: new Date(data.start), end: end };
}

// Series of different GPUs come with their own time points: join them on one time axis.
function joined(bodies, field) {
  var times = new Set();
  bodies.forEach(function (b) { b.t.forEach(function (t) { times.add(t); }); });
  var axis = Array.from(times).sort(function (a, b) { return a - b; });
  var columns = [axis];
  bodies.forEach(function (b) {
    var at = new Map(b.t.map(function (t, i) { return [t, b[field][i]]; }));
    columns.push(axis.map(function (t) { return at.has(t) ? at.get(t) : null; }));
  });
  return columns;
}

function draw(bodies, span) {
  var points = bodies.reduce(function (n, b) { return n + b.t.length; }, 0);
  status.textContent = points ? "resolution: " + bodies[0].resolution + " · " + points + " points" : "no samples yet";
  [["util", "job-chart-util", [0, 100]], ["memory_mb", "job-chart-memory", null]].forEach(function (spec) {
    var columns = joined(bodies, spec[0]);
    if (charts[spec[0]]) { charts[spec[0]].setData(columns); return; }
    var series = [{}].concat(data.gpus.map(function (gpu, i) {
      return { label: gpu.label, stroke: COLOURS[i % COLOURS.length], width: 1.5, spanGaps: true };
    }));
    var scales = { x: { time: true, range: function () { return [span.start / 1000, span.end / 1000]; } } };
    if (spec[2]) scales.y = { range: spec[2] };
    var el = document.getElementById(spec[1]);
    var width = Math.max(320, el.clientWidth || 560);
    charts[spec[0]] = new uPlot({ width: width, height: 200, series: series, scales: scales, axes: [{}, { size: 64 }] }, columns, el);
  });
}

function load() {
  var span = windowOf();
  var query = "?start=" + encodeURIComponent(span.start.toISOString()) + "&end=" + encodeURIComponent(span.end.toISOString());
  Promise.all(data.gpus.map(function (gpu) { return getJson(gpu.url + query); }))
    .then(function (bodies) { draw(bodies, span); })
    .catch(function (error) { status.textContent = error.message; });
}

load();
if (!data.end) setInterval(load, 30000);
