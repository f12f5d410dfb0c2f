// The search page: the filters fold away on narrow screens (results first) and keep
// the state the user gave them across updates; each update's result count is announced.
(function () {
  "use strict";
  var narrow = window.matchMedia("(max-width: 47.99rem)");
  var filtersOpen = null;

  function fold() {
    var filters = document.getElementById("filters");
    if (!filters) { return; }
    if (filtersOpen === null) { filtersOpen = !narrow.matches; }
    filters.open = filtersOpen;
  }

  function announce() {
    var heading = document.getElementById("results-heading");
    var status = document.getElementById("search-status");
    if (heading && status) { status.textContent = heading.textContent.trim(); }
  }

  document.addEventListener("DOMContentLoaded", fold);
  // "toggle" does not bubble; a capturing listener still hears it.
  document.addEventListener("toggle", function (event) {
    if (event.target.id === "filters") { filtersOpen = event.target.open; }
  }, true);
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[href='#filters']");
    if (link) { filtersOpen = true; fold(); }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target.id === "search-form") { fold(); announce(); }
  });
  document.addEventListener("htmx:historyRestore", fold);
})();
