// Draws the dashboard's charts from the JSON beside each table; the tables hold the same numbers.
(function () {
  "use strict";
  function draw(root) {
    if (typeof Chart === "undefined") { return; }
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var source = document.getElementById(canvas.dataset.source);
      if (!source || canvas.dataset.drawn) { return; }
      var rows = JSON.parse(source.textContent);
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
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (event) { draw(event.target); });
})();
