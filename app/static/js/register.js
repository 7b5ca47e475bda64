/* The cash register (templates/merchant/): on-screen keypads, the retry of money requests
   with their idempotency key, the connection banner, the card scanner and the optional sound.
   Progressive enhancement: every register form works without this file. */
(function () {
  "use strict";

  var RETRYABLE = [0, 502, 503, 504];
  var SOUND_KEY = "patias-register-sound";
  var region = document.getElementById("register");
  var net = document.getElementById("net-status");
  var cleanStep = null; // the empty "who is paying" step: "Next sale" restores it without a request
  var retryTimer = null;
  var failures = 0;
  var pendingForm = null;
  var audio = null;
  var scanner = null;

  function say(name) { return (region && region.getAttribute("data-" + name)) || ""; }
  function decimal() { return say("decimal") || ","; }

  // --- amounts: keypad and keyboard fill from the right, in cents (5 -> 0,05; 5 0 -> 0,50) ---

  function parseEuros(text) {
    var m = /^(\d{1,7})(?:[.,](\d{1,2}))?$/.exec((text || "").replace(/[\s\u00a0\u202f€]/g, ""));
    if (!m) { return null; }
    return parseInt(m[1], 10) * 100 + parseInt(((m[2] || "") + "00").slice(0, 2), 10);
  }

  function formatCents(cents) {
    var rest = String(cents % 100);
    return Math.floor(cents / 100) + decimal() + (rest.length < 2 ? "0" + rest : rest);
  }

  function press(input, key) {
    if (input.getAttribute("data-pad") === "amount") {
      var cents = parseEuros(input.value) || 0;
      if (key === "back") { cents = Math.floor(cents / 10); }
      else if (key === "clear") { cents = 0; }
      else {
        var next = key === "00" ? cents * 100 : cents * 10 + parseInt(key, 10);
        if (String(next).length <= 7) { cents = next; }
      }
      input.value = cents ? formatCents(cents) : "";
    } else {
      var max = parseInt(input.getAttribute("data-max") || "12", 10);
      var digits = input.value.replace(/\D/g, "");
      if (key === "back") { digits = digits.slice(0, -1); }
      else if (key === "clear") { digits = ""; }
      else if (digits.length + key.length <= max) { digits += key; }
      input.value = digits;
    }
    // The caret follows, so that a keyboard continues where the keypad stopped.
    try { input.setSelectionRange(input.value.length, input.value.length); } catch (e) { /* not a text field */ }
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // setUp runs again on a region already set up (after the swap, then after the settle):
  // an input is bound once, or each key would count twice.
  var bound = new WeakSet();

  function bindOnce(input) {
    if (bound.has(input)) { return false; }
    bound.add(input);
    return true;
  }

  function bindAmount(input) {
    if (!bindOnce(input)) { return; }
    input.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey) { return; }
      var key = event.key;
      if (/^[0-9]$/.test(key)) { press(input, key); }
      else if (key === "Backspace") { press(input, "back"); }
      else if (key === "Delete" || key === "Escape") { press(input, "clear"); }
      else if (key === "Enter") {
        var pin = input.form && input.form.querySelector("input[name=pin]");
        if (pin) { pin.focus(); }
      }
      else if (key.length !== 1) { return; } // Tab, arrows...: the browser's
      event.preventDefault();
    });
    // A value pasted or filled in one go is euros ("12,50"), as without JavaScript.
    input.addEventListener("input", function () {
      var cents = parseEuros(input.value);
      if (cents !== null) { input.value = cents ? formatCents(cents) : ""; }
    });
  }

  // --- member number: a wrong check digit is caught while typing ---

  function luhnOk(number) {
    var total = 0;
    for (var i = 0; i < 5; i++) {
      var value = parseInt(number.charAt(4 - i), 10);
      if (i % 2 === 0) { value *= 2; if (value > 9) { value -= 9; } }
      total += value;
    }
    return (10 - total % 10) % 10 === parseInt(number.charAt(5), 10);
  }

  function bindLuhn(input) {
    if (!bindOnce(input)) { return; }
    input.addEventListener("input", function () {
      var digits = input.value.replace(/\D/g, "");
      var bad = digits.length === 6 && !luhnOk(digits);
      var error = document.getElementById(input.id + "-error");
      if (bad) {
        if (!error) {
          error = document.createElement("p");
          error.className = "error";
          error.id = input.id + "-error";
          input.insertAdjacentElement("afterend", error);
        }
        error.textContent = say("luhn");
        input.setAttribute("aria-invalid", "true");
        input.setAttribute("aria-describedby", error.id);
      } else if (error && digits.length < 6) {
        error.remove();
        input.removeAttribute("aria-invalid");
        input.removeAttribute("aria-describedby");
      }
    });
  }

  function setUp(root) {
    root.querySelectorAll("[data-pad-slot]").forEach(function (slot) {
      var input = document.getElementById(slot.getAttribute("data-pad-slot"));
      var template = input && document.getElementById("pad-" + input.getAttribute("data-pad"));
      if (!template || slot.firstElementChild) { return; }
      slot.appendChild(template.content.cloneNode(true));
      // The keypad replaces the system keyboard, which would cover it on a tablet.
      input.setAttribute("inputmode", "none");
      // A tap on a key leaves the focus (and the keyboard's input) in the field.
      slot.addEventListener("mousedown", function (event) { event.preventDefault(); });
      slot.addEventListener("click", function (event) {
        var key = event.target.closest("[data-key]");
        if (key && !key.disabled) { press(input, key.getAttribute("data-key")); }
      });
    });
    root.querySelectorAll("input[data-pad=amount]").forEach(bindAmount);
    root.querySelectorAll("input[data-check=luhn]").forEach(bindLuhn);
    var scan = root.querySelector("[data-scan]");
    if (scan && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) { scan.hidden = false; }
    var focus = root.querySelector("[data-focus]");
    if (focus && root !== document) { focus.focus(); }
  }

  // --- the connection, and money requests whose outcome is unknown ---

  function banner(kind) {
    if (!net) { return; }
    if (!kind && navigator.onLine === false) { kind = "offline"; }
    net.hidden = !kind;
    net.textContent = kind ? net.getAttribute("data-" + kind) : "";
  }

  function moneyForm(element) { return element && element.closest ? element.closest("form[data-money]") : null; }

  function note(form, message) {
    var status = form.querySelector(".reg-checking");
    if (!status) {
      status = document.createElement("p");
      status.className = "reg-checking";
      status.setAttribute("role", "status");
      form.appendChild(status);
    }
    // Set after insertion, so that screen readers announce the live region's change.
    setTimeout(function () { status.textContent = message; }, 50);
  }

  function checking(form, message) {
    form.classList.add("is-checking");
    form.querySelectorAll("button").forEach(function (button) { button.disabled = true; });
    note(form, message);
  }

  function unknownOutcome(form) {
    // No answer: the sale may or may not have been made. Send the same form again (same key):
    // the server answers with the receipt of the sale made, or makes it once.
    pendingForm = form;
    failures += 1;
    checking(form, say("checking"));
    banner(navigator.onLine === false ? "offline" : "failing");
    clearTimeout(retryTimer);
    retryTimer = setTimeout(retry, Math.min(1000 * failures, 5000));
  }

  function retry() {
    var form = pendingForm;
    if (!form || !document.body.contains(form)) { pendingForm = null; return; }
    if (navigator.onLine === false) { retryTimer = setTimeout(retry, 2000); return; }
    htmx.trigger(form, "submit");
  }

  window.addEventListener("offline", function () { banner("offline"); });
  window.addEventListener("online", function () {
    banner(pendingForm ? "failing" : null);
    if (pendingForm) { clearTimeout(retryTimer); retry(); }
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    // Refusals (wrong PIN, balance too low, bad amount...) are fragments meant to be shown.
    if (region && region.contains(event.detail.target) && status >= 400 && status < 500) {
      if (/^\s*<!doctype/i.test(event.detail.xhr.responseText)) {
        // A whole page (an expired form token): nothing was charged; start again from a fresh page.
        event.detail.shouldSwap = false;
        window.location.assign(window.location.pathname);
        return;
      }
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  function failed(event) {
    var form = moneyForm(event.detail.elt);
    if (form) { unknownOutcome(form); } else { banner("failing"); }
  }
  document.addEventListener("htmx:timeout", failed);
  document.addEventListener("htmx:sendError", failed);
  document.addEventListener("htmx:responseError", function (event) {
    var form = moneyForm(event.detail.elt);
    var status = event.detail.xhr.status;
    if (!form) { banner("failing"); return; }
    if (RETRYABLE.indexOf(status) >= 0) { unknownOutcome(form); return; }
    // A server error rolled the sale back: the cashier may tap again (same key, never twice).
    pendingForm = null;
    form.classList.remove("is-checking");
    form.querySelectorAll("button").forEach(function (button) { button.disabled = false; });
    note(form, say("server-error"));
  });

  // Step 1 answered with the member's name, reference and key: build the sale step from the
  // page's template (fewer bytes over 4G than sending the whole form back).
  document.addEventListener("htmx:afterSwap", function () {
    var found = region && region.querySelector("[data-identified]");
    var template = document.getElementById("sale-template");
    if (!found || !template) { return; }
    var sale = template.content.cloneNode(true);
    sale.querySelector("input[name=member]").value = found.getAttribute("data-member");
    sale.querySelector("input[name=key]").value = found.getAttribute("data-key");
    sale.querySelector("[data-slot=name]").textContent = found.getAttribute("data-name");
    region.replaceChildren(sale);
    htmx.process(region);
    // The keypads and the keyboard work from the moment the name shows, not after htmx's
    // settle delay: a cashier typing the amount at once would otherwise type plain text.
    setUp(region);
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    if (!region || !(event.detail.target === region || region.contains(event.detail.target))) { return; }
    failures = 0;
    pendingForm = null;
    clearTimeout(retryTimer);
    banner(null);
    setUp(region);
    if (region.querySelector("[data-sale-done]")) { beep(); }
  });

  // --- "Next sale": a clean screen, the member's data gone from the page ---

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-next-sale]");
    if (!link || !region || !cleanStep) { return; }
    event.preventDefault();
    if (link.closest(".is-checking")) { return; }
    closeScanner();
    region.innerHTML = cleanStep;
    htmx.process(region);
    setUp(region);
  });

  // --- the card's QR code: the scanner is loaded only when asked for ---

  function closeScanner() {
    if (scanner) { scanner.stop(); scanner.destroy(); scanner = null; }
    document.querySelectorAll("[data-scanner-box]").forEach(function (box) { box.hidden = true; });
  }

  function openScanner(form) {
    var box = form.querySelector("[data-scanner-box]");
    var video = box.querySelector("video");
    box.hidden = false;
    import(say("scanner")).then(function (module) {
      var QrScanner = module.default;
      scanner = new QrScanner(video, function (result) {
        form.querySelector("input[name=card]").value = result.data;
        closeScanner();
        htmx.trigger(form, "submit");
      }, { returnDetailedScanResult: true, preferredCamera: "environment" });
      return scanner.start();
    }).catch(function () {
      closeScanner();
      var input = form.querySelector("input[name=number]");
      var error = document.getElementById(input.id + "-error") || document.createElement("p");
      error.className = "error";
      error.id = input.id + "-error";
      error.textContent = say("camera");
      input.insertAdjacentElement("afterend", error);
      input.focus();
    });
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target : null;
    if (!target) { return; }
    if (target.closest("[data-scan]")) { openScanner(target.closest("form")); }
    else if (target.closest("[data-scan-stop]")) { closeScanner(); }
    else if (target.closest("[data-print]")) { window.print(); }
  });

  // --- optional sound on success: off unless the cashier turns it on (kept on this tablet) ---

  function soundOn() {
    try { return window.localStorage.getItem(SOUND_KEY) === "on"; } catch (e) { return false; }
  }

  function unlockAudio() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!audio && Context) { audio = new Context(); }
    if (audio && audio.state === "suspended") { audio.resume(); }
  }

  function beep() {
    if (!soundOn() || !audio) { return; }
    var tone = audio.createOscillator();
    var gain = audio.createGain();
    tone.frequency.value = 880;
    gain.gain.value = 0.2;
    tone.connect(gain);
    gain.connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.18);
  }

  // Browsers only let sound start from a tap: the context is opened on the cashier's taps.
  document.addEventListener("pointerdown", function () { if (soundOn()) { unlockAudio(); } }, { passive: true });

  document.addEventListener("DOMContentLoaded", function () {
    var sound = document.querySelector("[data-sound]");
    if (sound) {
      sound.hidden = false;
      sound.setAttribute("aria-pressed", soundOn() ? "true" : "false");
      sound.addEventListener("click", function () {
        var on = !soundOn();
        try { window.localStorage.setItem(SOUND_KEY, on ? "on" : "off"); } catch (e) { /* private mode: no memory */ }
        sound.setAttribute("aria-pressed", on ? "true" : "false");
        if (on) { unlockAudio(); beep(); }
      });
    }
    document.querySelectorAll("[data-print]").forEach(function (button) { button.hidden = false; });
    if (region && region.querySelector("form[action$='/membre']")) { cleanStep = region.innerHTML; }
    setUp(document);
    var focus = document.querySelector("[data-focus]");
    if (focus) { focus.focus(); }
    banner(null);
  });
})();
