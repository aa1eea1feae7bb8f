// The reports' stacked area chart (uPlot): the series of the table beside it, bottom first.
// Each area is drawn up to the running sum of the series below and itself, top one first, so each
// fill covers only its own band; the legend shows each series' own value, not the running sum.
var holder = document.querySelector(".report-chart");
var data = JSON.parse(document.getElementById("chart-data").textContent);
var COLOURS = ["#2b4c7e", "#1f7a3a", "#b3261e", "#c9ced6", "#a86b00"];

if (holder && data && data.t.length) {
  var t = data.t.map(function (iso) { return Date.parse(iso) / 1000; });
  var running = t.map(function () { return 0; });
  var stacked = data.series.map(function (s) {
    running = running.map(function (v, i) { return v + (s.values[i] || 0); });
    return running.slice();
  });
  var order = data.series.map(function (_, i) { return i; }).reverse();
  var series = [{}].concat(order.map(function (i) {
    var own = data.series[i].values;
    return {
      label: data.series[i].label,
      stroke: COLOURS[i % COLOURS.length],
      fill: COLOURS[i % COLOURS.length] + "cc",
      width: 1,
      value: function (u, v, si, idx) { return idx == null ? "–" : own[idx].toFixed(2); },
    };
  }));
  var columns = [t].concat(order.map(function (i) { return stacked[i]; }));
  var width = Math.max(320, holder.clientWidth || 640);
  new uPlot({ width: width, height: 260, series: series, axes: [{}, { size: 64, label: "GPU-h" }] }, columns, holder);
}
