// The draft page: keep the reviewer's hold while the page is open, let go of it when the
// page is left, and count down the undo window. No inline scripts (the CSP forbids them).
(function () {
  "use strict";

  var RENEW_MS = 4 * 60 * 1000; // holds last 10 minutes (settings.REVIEW_HOLD_DURATION)
  var lastRenew = Date.now();

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }
  function holdEl() { return document.getElementById("hold"); }

  // Renew through the existing hold endpoint; the answer is the hold paragraph to show.
  function renew() {
    var hold = holdEl();
    if (!hold || !hold.dataset.holdUrl) { return; }
    lastRenew = Date.now();
    fetch(hold.dataset.holdUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken() }
    }).then(function (response) {
      if (!response.ok) { return null; }
      return response.text();
    }).then(function (html) {
      var current = holdEl();
      if (!html || !current) { return; }
      var box = document.createElement("div");
      box.innerHTML = html.trim();
      var fresh = box.firstElementChild;
      if (fresh && fresh.id === "hold") { current.replaceWith(fresh); }
    }).catch(function () { /* offline for a moment: the next tick tries again */ });
  }

  // Leaving the page (navigating, closing the tab, reloading): release the hold we showed.
  // sendBeacon survives the unload; the CSRF token travels in the form body.
  function release() {
    var hold = holdEl();
    if (!hold || !hold.dataset.releaseUrl || !hold.dataset.holdUntil || !navigator.sendBeacon) { return; }
    var body = new FormData();
    body.append("csrfmiddlewaretoken", csrfToken());
    body.append("until", hold.dataset.holdUntil);
    navigator.sendBeacon(hold.dataset.releaseUrl, body);
  }

  function startUndoCountdown() {
    var box = document.querySelector("[data-undo-until]");
    if (!box) { return; }
    var until = new Date(box.dataset.undoUntil).getTime();
    var seconds = box.querySelector("[data-undo-seconds]");
    var text = box.querySelector("[data-undo-text]");
    var timer = setInterval(function () {
      var left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
      if (seconds) { seconds.textContent = String(left); }
      if (left > 0) { return; }
      clearInterval(timer);
      if (text) { text.textContent = "Sending now…"; }
      var button = box.querySelector("button[type=submit]");
      if (button) { button.disabled = true; }
      // Show what happened (sent, or failed) once the delivery beat has had its turn.
      setTimeout(function () { window.location.reload(); }, 6000);
    }, 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!document.querySelector("[data-draft]")) { return; }
    // On a phone the lead panel starts folded (its summary line says the essentials), so the
    // thread and the draft come first; it stays open if it holds an error to read.
    var panel = document.querySelector("[data-lead-panel]");
    if (panel && window.matchMedia("(max-width: 600px)").matches && !panel.querySelector(".error")) {
      panel.open = false;
    }
    // Refused for want of the confirmation: the checkbox is where to go next.
    var confirmBox = document.querySelector(".confirm-blocked.is-invalid input[type=checkbox]");
    if (confirmBox) { confirmBox.focus(); }
    setInterval(function () { if (!document.hidden) { renew(); } }, RENEW_MS);
    startUndoCountdown();
  });
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && Date.now() - lastRenew > 60 * 1000) { renew(); }
  });
  window.addEventListener("pagehide", release);
  // Back to the page from the back-forward cache: take the hold again.
  window.addEventListener("pageshow", function (event) { if (event.persisted) { renew(); } });
})();
