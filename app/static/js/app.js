/* Progressive enhancement only: every page works without this file. */
(function () {
  "use strict";
  // Move focus to the main region after an htmx-boosted navigation, for screen readers.
  document.addEventListener("htmx:afterSettle", function (event) {
    var live = event.target.closest && event.target.closest("[data-focus-on-swap]");
    if (live) { live.focus(); }
  });
})();
