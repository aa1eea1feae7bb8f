// A GPU's charts (uPlot): utilization, memory, temperature, power over 1 h / 24 h / 7 d / 30 d.
// Data from /api/v1/gpus/<id>/metrics/, which picks raw samples or 1-minute / 1-hour rollups by range.
import { getJson } from "../portal/api.js";

var data = JSON.parse(document.getElementById("gpu-data").textContent);
var charts = {};
var window_ = [0, 1];
// Fixed y ranges where the quantity has one (percent, the board's memory), so a flat idle line reads as idle.
var SERIES = [
  ["util", "chart-util", [["util", "mean", "#2b4c7e"], ["util_max", "max", "#9bb0d3"]], [0, 100]],
  ["memory", "chart-memory", [["memory_mb", "MiB", "#1f7a3a"]], [0, data.memoryTotal || null]],
  ["temperature", "chart-temperature", [["temperature_c", "°C", "#a86b00"]], null],
  ["power", "chart-power", [["power_w", "W", "#b3261e"]], [0, data.powerLimit || null]],
];

function width(el) { return Math.max(320, el.clientWidth || 560); }

function draw(body) {
  document.getElementById("chart-resolution").textContent = "resolution: " + body.resolution + " · " + body.t.length + " points";
  window_ = [Date.parse(body.start) / 1000, Date.parse(body.end) / 1000];
  SERIES.forEach(function (spec) {
    var el = document.getElementById(spec[1]);
    var columns = [body.t].concat(spec[2].map(function (s) { return body[s[0]]; }));
    if (charts[spec[0]]) { charts[spec[0]].setData(columns); return; }
    var series = [{}].concat(spec[2].map(function (s) { return { label: s[1], stroke: s[2], width: 1.5, spanGaps: false }; }));
    var scales = { x: { time: true, range: function () { return window_; } } };
    if (spec[3] && spec[3][1] !== null) scales.y = { range: spec[3] };
    var axes = [{}, { size: 64 }];  // room for "80,000" MiB labels
    charts[spec[0]] = new uPlot({ width: width(el), height: 200, series: series, scales: scales, axes: axes }, columns, el);
  });
}

function load(range) {
  var end = new Date();
  var start = new Date(end.getTime() - data.ranges[range] * 1000);
  var url = data.metricsUrl + "?start=" + encodeURIComponent(start.toISOString()) + "&end=" + encodeURIComponent(end.toISOString());
  getJson(url)
    .then(draw)
    .catch(function (error) { document.getElementById("chart-resolution").textContent = error.message; });
}

document.querySelectorAll(".range-picker button").forEach(function (button) {
  button.addEventListener("click", function () {
    document.querySelectorAll(".range-picker button").forEach(function (b) { b.setAttribute("aria-pressed", String(b === button)); });
    load(button.dataset.range);
  });
});
load("1h");
