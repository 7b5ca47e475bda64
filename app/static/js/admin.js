// Back office: a print button on printable pages (the page works without it: use the browser's Print).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-print]");
  if (button) {
    event.preventDefault();
    window.print();
  }
});
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-print][hidden]")) {
    button.hidden = false;
  }
});
