// The reports' charts (uPlot), one per table that has one, from the series of the table beside it.
// "stacked": parts of a whole (the GPU time split): each area is drawn up to the running sum of the
// series below and itself, top one first, so each fill covers only its own band; the legend shows each
// series' own value. "lines": series of their own (the quota burn-down), gaps where a value is blank.
var COLOURS = ["#2b4c7e", "#1f7a3a", "#b3261e", "#c9ced6", "#a86b00", "#6b3fa0", "#2a8a8a", "#8a5a2a"];

function stackedChart(data, t) {
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
  return { series: series, columns: [t].concat(order.map(function (i) { return stacked[i]; })) };
}

function lineChart(data, t) {
  var series = [{}].concat(data.series.map(function (s, i) {
    var projected = /projected/.test(s.label);
    return {
      label: s.label,
      stroke: i === 0 ? "#5b6475" : COLOURS[Math.floor((i - 1) / 2) % COLOURS.length],
      width: i === 0 ? 1 : 2,
      dash: projected || i === 0 ? [6, 4] : undefined,
      spanGaps: false,
    };
  }));
  return { series: series, columns: [t].concat(data.series.map(function (s) { return s.values; })) };
}

document.querySelectorAll(".report-chart").forEach(function (holder) {
  var source = document.getElementById(holder.dataset.data);
  var data = source && JSON.parse(source.textContent);
  if (!data || !data.t.length) return;
  var t = data.t.map(function (iso) { return Date.parse(iso) / 1000; });
  var chart = data.kind === "lines" ? lineChart(data, t) : stackedChart(data, t);
  var width = Math.max(320, holder.clientWidth || 640);
  var axes = [{}, { size: 64, label: data.unit }];
  new uPlot({ width: width, height: 260, series: chart.series, axes: axes }, chart.columns, holder);
});
