// Draws the dashboard's charts from the JSON beside each table; the tables hold the same numbers.
(function () {
  "use strict";
  function draw(root, again) {
    if (typeof Chart === "undefined") { return; }
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var source = document.getElementById(canvas.dataset.source);
      if (!source || (canvas.dataset.drawn && !again)) { return; }
      var rows = JSON.parse(source.textContent);
      var previous = Chart.getChart(canvas);
      if (previous) { previous.destroy(); }
      canvas.dataset.drawn = "1";
      new Chart(canvas, {
        type: canvas.dataset.chart,
        data: {
          labels: rows.map(function (row) { return row[0]; }),
          datasets: [{ data: rows.map(function (row) { return row[row.length - 1]; }),
                       backgroundColor: "#1d5c8f", borderColor: "#1d5c8f" }]
        },
        options: { animation: false, plugins: { legend: { display: false } },
                   scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
                   maintainAspectRatio: false }
      });
    });
  }
  // The address holds only the filters that are set ("All of Sweden" is no region=).
  document.addEventListener("htmx:configRequest", function (event) {
    if (!event.detail.elt.classList.contains("stats-filters")) { return; }
    var parameters = event.detail.parameters;
    Object.keys(parameters).forEach(function (name) {
      if (parameters[name] === "") { delete parameters[name]; }
    });
  });
  document.addEventListener("DOMContentLoaded", function () { draw(document, false); });
  // After an update the new canvases are drawn; after Back, htmx puts back a copy of the
  // page whose canvases are marked drawn but blank, so every chart is drawn again.
  document.addEventListener("htmx:afterSettle", function () { draw(document, false); });
  document.addEventListener("htmx:historyRestore", function () { draw(document, true); });
})();
