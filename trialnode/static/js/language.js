// The language switch returns to the page as it is now. A search or a statistics
// filter answered by htmx changes the address without reloading the page, and the
// switch would otherwise go back to the address the page was loaded with.
(function () {
  "use strict";
  function follow() {
    var next = document.querySelector(".language-switch input[name='next']");
    if (next) { next.value = window.location.pathname + window.location.search; }
  }
  ["htmx:pushedIntoHistory", "htmx:replacedInHistory", "htmx:historyRestore"].forEach(
    function (name) { document.addEventListener(name, follow); }
  );
})();
