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

  // --- amounts: what is typed is euros, as on paper and as the server reads it ---
  // "12,5" and "1" "2" "," "5" are 12,50 €; keyboard, keypad, paste and no JavaScript agree.
  // A key that would make the text something the server refuses is refused at once, with the
  // server's words (app.core.i18n.parse_amount, mirrored by amountProblem).

  function amountProblem(text) {
    var cleaned = (text || "").replace(/[\s\u00a0\u202f]/g, "").replace(/€$/, "");
    if (cleaned.charAt(0) === "-") { return "amount-negative"; }
    if (/^\d+[.,]\d{3,}$/.test(cleaned)) { return "amount-decimals"; }
    if (/^\d{10,}(?:[.,]\d{0,2})?$/.test(cleaned)) { return "amount-large"; }
    // Not finished yet is no problem: "", "12," and "0" are on their way to an amount.
    var m = /^(\d{0,9})(?:[.,](\d{0,2}))?$/.exec(cleaned);
    if (!m || (m[1] === "" && cleaned !== "")) { return "amount-invalid"; }
    var cents = parseInt(m[1] || "0", 10) * 100 + parseInt(((m[2] || "") + "00").slice(0, 2), 10);
    var max = parseInt(say("max-cents") || "0", 10);
    if (max && cents > max) { return "amount-large"; }
    return null;
  }

  function fieldError(input, message) {
    var error = document.getElementById(input.id + "-error");
    var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
      return id && id !== input.id + "-error";
    });
    if (message) {
      if (!error) {
        error = document.createElement("p");
        error.className = "error";
        error.id = input.id + "-error";
        error.setAttribute("role", "alert");
        input.insertAdjacentElement("afterend", error);
      }
      error.textContent = message;
      input.setAttribute("aria-invalid", "true");
      described.push(error.id);
    } else {
      if (error) { error.remove(); }
      input.removeAttribute("aria-invalid");
    }
    if (described.length) { input.setAttribute("aria-describedby", described.join(" ")); }
    else { input.removeAttribute("aria-describedby"); }
  }

  function pressAmount(input, key) {
    var text = input.value;
    if (key === "back") { text = text.slice(0, -1); }
    else if (key === "clear") { text = ""; }
    else {
      if (key === "," || key === ".") { key = decimal(); if (text === "") { key = "0" + key; } }
      else if (text === "0" && /^\d$/.test(key)) { text = ""; } // "07" is "7"
      var problem = amountProblem(text + key);
      if (problem) { fieldError(input, say(problem)); return false; }
      text += key;
    }
    input.value = text;
    fieldError(input, null);
    return true;
  }

  function charger(input) { return input.form && input.form.querySelector("[data-charge]"); }

  function press(input, key) {
    if (input.readOnly) { return; } // a sale sent is locked until its answer
    if (input.getAttribute("data-pad") === "amount") {
      if (!pressAmount(input, key)) { return; }
    } else {
      var max = parseInt(input.getAttribute("data-max") || "12", 10);
      var digits = input.value.replace(/\D/g, "");
      var pin = input.name === "pin";
      if (key === "back") { digits = digits.slice(0, -1); }
      else if (key === "clear") { digits = ""; }
      else if (digits.length + key.length <= max) { digits += key; }
      else if (pin) { fieldError(input, say("pin-length")); return; } // refused, never cut
      input.value = digits;
      if (pin) {
        fieldError(input, null);
        // The 4th digit: Débiter waits, focused; the sale is still only made by pressing it.
        if (digits.length === max && charger(input)) { charger(input).focus(); }
      }
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

  // The keyboard goes through the same keys as the keypad: one meaning per keystroke.
  function bindKeys(input) {
    if (!bindOnce(input)) { return; }
    var amount = input.getAttribute("data-pad") === "amount";
    input.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey) { return; }
      var key = event.key;
      if (/^[0-9]$/.test(key)) { press(input, key); }
      else if (key === "Backspace") { press(input, "back"); }
      else if (key === "Delete" || key === "Escape") { press(input, "clear"); }
      else if (key === "Enter" && amount) {
        var pin = input.form && input.form.querySelector("input[name=pin]");
        if (pin) { pin.focus(); }
      }
      else if (key === "Enter") { return; } // the PIN: the form's own Enter, an explicit Débiter
      else if (key.length !== 1) { return; } // Tab, arrows...: the browser's
      else if (key === " ") { /* a space means nothing */ }
      else if (amount) { press(input, key); }
      else if (!input.readOnly) { fieldError(input, say("pin-length")); }
      event.preventDefault();
    });
    if (!amount) { return; }
    // Pasted or filled in one go: the same check, said at once (the server refuses it too).
    input.addEventListener("input", function () {
      var problem = amountProblem(input.value);
      fieldError(input, problem ? say(problem) : null);
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
      // A 6th digit with a valid check digit goes on by itself: no "Continue" to tap.
      if (digits.length === 6 && !bad && input.form && !input.form.hasAttribute("data-sent")) {
        input.form.setAttribute("data-sent", "");
        htmx.trigger(input.form, "submit");
      }
    });
  }

  function setUp(root, keepFocus) {
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
    root.querySelectorAll("input[data-pad=amount], input[name=pin][data-pad]").forEach(bindKeys);
    root.querySelectorAll("input[data-check=luhn]").forEach(bindLuhn);
    var scan = root.querySelector("[data-scan]");
    if (scan && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) { scan.hidden = false; }
    var focus = root.querySelector("[data-focus]");
    if (focus && root !== document && !keepFocus) { focus.focus(); }
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
    // Under the member's name, across the form: in view on a phone, above the keypads.
    var top = form.querySelector(".reg-member");
    if (top && status.previousElementSibling !== top) { top.insertAdjacentElement("afterend", status); }
    // Set after insertion, so that screen readers announce the live region's change.
    setTimeout(function () { status.textContent = message; }, 50);
  }

  // --- a form sent: locked until its answer, and a retry sends exactly what was sent ---

  function sending(form) {
    form.querySelectorAll("[type=submit]").forEach(function (button) {
      if (!button.hasAttribute("data-label")) { button.setAttribute("data-label", button.textContent); }
      button.disabled = true;
      button.classList.add("is-sending");
      button.textContent = say("sending"); // words and a spinner: not colour alone
    });
  }

  function sendable(form) {
    form.removeAttribute("data-sent");
    form.querySelectorAll("[type=submit]").forEach(function (button) {
      button.disabled = false;
      button.classList.remove("is-sending");
      if (button.hasAttribute("data-label")) { button.textContent = button.getAttribute("data-label"); }
    });
  }

  // Amount, category, PIN and keypads of a sale sent cannot change it any more (readonly and
  // inert keep the values in the form, unlike disabled); a new form comes with the answer.
  function lock(form) {
    form.classList.add("is-pending");
    form.setAttribute("aria-busy", "true");
    form.querySelectorAll("input:not([type=hidden]):not([type=radio])").forEach(function (input) { input.readOnly = true; });
    form.querySelectorAll(".reg-chips, [data-pad-slot]").forEach(function (part) { part.inert = true; });
    sending(form);
  }

  var sent = new WeakMap(); // money form -> the values of its first sending

  document.addEventListener("htmx:configRequest", function (event) {
    var form = event.detail.elt;
    if (!region || !form || !form.closest || !region.contains(form) || form.tagName !== "FORM") { return; }
    if (!moneyForm(form)) { sending(form); return; }
    var data = event.detail.formData;
    if (sent.has(form)) {
      Array.from(new Set(Array.from(data.keys()))).forEach(function (name) { data.delete(name); });
      sent.get(form).forEach(function (pair) { data.append(pair[0], pair[1]); });
    } else {
      sent.set(form, Array.from(data.entries()));
    }
    lock(form);
  });

  function checking(form, message) {
    form.classList.add("is-checking");
    lock(form);
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

  // A register closed by the association (shop suspended) checks again by itself when the
  // tablet is reopened or back online: the page comes again, open or still closed.
  function recheckClosed() {
    if (region && region.querySelector("[data-closed]") && navigator.onLine !== false) {
      window.location.reload();
    }
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { recheckClosed(); }
  });
  window.addEventListener("pageshow", function (event) { if (event.persisted) { recheckClosed(); } });

  window.addEventListener("offline", function () { banner("offline"); });
  window.addEventListener("online", function () {
    banner(pendingForm ? "failing" : null);
    if (pendingForm) { clearTimeout(retryTimer); retry(); }
    recheckClosed();
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
    if (form) { unknownOutcome(form); return; }
    banner("failing");
    // A look-up moves no money: its form can be sent again by hand.
    if (event.detail.elt && event.detail.elt.tagName === "FORM") { sendable(event.detail.elt); }
  }
  document.addEventListener("htmx:timeout", failed);
  document.addEventListener("htmx:sendError", failed);
  document.addEventListener("htmx:responseError", function (event) {
    var form = moneyForm(event.detail.elt);
    var status = event.detail.xhr.status;
    if (!form) {
      banner("failing");
      if (event.detail.elt && event.detail.elt.tagName === "FORM") { sendable(event.detail.elt); }
      return;
    }
    if (RETRYABLE.indexOf(status) >= 0) { unknownOutcome(form); return; }
    // A server error rolled the sale back: the cashier may tap again (the same values and
    // key, never twice); the amount and the PIN stay as they were sent.
    pendingForm = null;
    form.classList.remove("is-checking");
    sendable(form);
    note(form, say("server-error"));
  });

  // Step 1 answered with the member's name, reference and key: build the sale step from the
  // page's template (fewer bytes over 4G than sending the whole form back).
  var builtStep = false;
  document.addEventListener("htmx:afterSwap", function () {
    if (region && region.querySelector("[data-sale-done]")) { receiptShown = Date.now(); }
    var found = region && region.querySelector("[data-identified]");
    var template = document.getElementById("sale-template");
    if (!found || !template) { return; }
    var sale = template.content.cloneNode(true);
    sale.querySelector("input[name=member]").value = found.getAttribute("data-member");
    sale.querySelector("input[name=key]").value = found.getAttribute("data-key");
    sale.querySelector("[data-slot=name]").textContent = found.getAttribute("data-name");
    region.replaceChildren(sale);
    receiptShown = 0;
    htmx.process(region);
    // The keypads and the keyboard work from the moment the name shows, not after htmx's
    // settle delay: a cashier typing the amount at once would otherwise type plain text.
    setUp(region);
    builtStep = true;
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    if (!region || !(event.detail.target === region || region.contains(event.detail.target))) { return; }
    failures = 0;
    pendingForm = null;
    clearTimeout(retryTimer);
    banner(null);
    // A sale step built at the swap already took the focus: a cashier who moved on to the PIN
    // during htmx's settle delay keeps typing there.
    setUp(region, builtStep);
    builtStep = false;
    if (region.querySelector("[data-sale-done]")) { receiptShown = Date.now(); beep(); }
  });

  // --- the receipt stays until "Next sale" is tapped: an Enter meant for Débiter, pressed
  // again while the answer came, must not take it away before the member has read it ---

  var receiptShown = 0;
  var RECEIPT_GUARD_MS = 1500;

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.key === "Enter" && region && region.querySelector("[data-sale-done]") &&
        Date.now() - receiptShown < RECEIPT_GUARD_MS) {
      event.preventDefault();
      event.stopPropagation();
      return;
    }
    // The PIN's 4th digit moved the focus to Débiter: a 5th digit is refused, not lost.
    if (/^[0-9]$/.test(event.key) && target && target.matches && target.matches("[data-charge]")) {
      var pin = target.form && target.form.querySelector("input[name=pin]");
      if (pin && !pin.readOnly) { fieldError(pin, say("pin-length")); }
      event.preventDefault();
    }
  }, true);

  // --- "Next sale": a clean screen, the member's data gone from the page ---

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-next-sale]");
    if (!link || !region || !cleanStep) { return; }
    event.preventDefault();
    if (link.closest(".is-pending")) { return; } // a sale awaiting its answer stays on screen
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
    if (region && region.querySelector("[data-sale-done]")) { receiptShown = Date.now(); }
    var focus = document.querySelector("[data-focus]");
    if (focus) { focus.focus(); }
    banner(null);
  });
})();
