/* Events pages: progressive enhancement only, every form works without this file. */
(function () {
  "use strict";

  // Refusals (409 conflict, 422 invalid, 429 too many) come back as fragments that explain
  // what happened: swap them into the carpool section instead of dropping them.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    var target = event.detail.target;
    if ((status === 409 || status === 422 || status === 429) && target && target.closest("[data-swap-errors]")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // A lost connection: say so next to the carpool section rather than doing nothing.
  document.addEventListener("htmx:sendError", function (event) {
    var section = event.detail.elt && event.detail.elt.closest("[data-swap-errors]");
    var box = section && section.querySelector("[role=status]");
    if (box && section.getAttribute("data-offline")) {
      box.innerHTML = "";
      var notice = document.createElement("p");
      notice.className = "notice notice-error";
      notice.textContent = section.getAttribute("data-offline");
      box.appendChild(notice);
    }
  });

  // Plain forms that ask before an irreversible step (cancelling a registration).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // The organisers' print button exists only when JavaScript can print.
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
  });
})();
