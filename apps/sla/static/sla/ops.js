/* Ops dashboard charts with the vendored Chart.js (global `Chart`), from the page's json_script data.
 * Data shape (apps/sla/ui_views.py _charts): labels (hours), breach_rate {process: {hour: 0..1}},
 * cycle {process: {hour: {p50, p95}}} in seconds, throughput {started: {hour: n}, completed: {hour: n}}.
 */
(function () {
  "use strict";
  var PALETTE = ["#0b5cad", "#b42318", "#1a7f37", "#9a6700", "#6f42c1", "#0f766e", "#c2410c", "#57606a"];

  function series(labels, byHour, pick) {
    return labels.map(function (hour) {
      var value = byHour[hour];
      if (value === undefined || value === null) { return null; }
      return pick ? pick(value) : value;
    });
  }

  function lineChart(id, labels, datasets, yTitle) {
    var canvas = document.getElementById(id);
    if (!canvas) { return; }
    canvas.dataset.chartState = "ready";
    new window.Chart(canvas, {
      type: "line",
      data: { labels: labels.map(function (h) { return h.slice(5, 13).replace("T", " ") + "h"; }), datasets: datasets },
      options: {
        animation: false, spanGaps: true, responsive: true,
        scales: { y: { beginAtZero: true, title: { display: true, text: yTitle } } },
        plugins: { legend: { position: "bottom" } }
      }
    });
  }

  function render() {
    var source = document.getElementById("ops-charts-data");
    if (!source) { return; }
    var data = JSON.parse(source.textContent);
    if (typeof window.Chart !== "function") {
      document.querySelectorAll(".ops-charts canvas").forEach(function (c) { c.dataset.chartState = "failed"; });
      return;
    }
    var labels = data.labels;
    lineChart("chart-breach-rate", labels, Object.keys(data.breach_rate).map(function (key, i) {
      return { label: key, data: series(labels, data.breach_rate[key], function (v) { return v * 100; }),
               borderColor: PALETTE[i % PALETTE.length] };
    }), "% breached");
    var cycle = [];
    Object.keys(data.cycle).forEach(function (key, i) {
      var color = PALETTE[i % PALETTE.length];
      cycle.push({ label: key + " p50", data: series(labels, data.cycle[key], function (v) { return v.p50; }), borderColor: color });
      cycle.push({ label: key + " p95", data: series(labels, data.cycle[key], function (v) { return v.p95; }),
                   borderColor: color, borderDash: [6, 4] });
    });
    lineChart("chart-cycle-time", labels, cycle, "seconds");
    lineChart("chart-throughput", labels, [
      { label: "started", data: series(labels, data.throughput.started), borderColor: PALETTE[0] },
      { label: "completed", data: series(labels, data.throughput.completed), borderColor: PALETTE[2] }
    ], "instances");
  }

  document.addEventListener("DOMContentLoaded", render);
})();
