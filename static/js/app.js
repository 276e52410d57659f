// Replydesk page behaviour: no inline scripts (the CSP forbids them).
(function () {
  "use strict";

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el && el.matches && el.matches("[data-autosubmit]")) { el.form.submit(); }
  });
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { event.detail.headers["X-CSRFToken"] = meta.content; }
  });

  // Refusals (400/403/409) come back as the fragment to show, with the reason in it.
  if (window.htmx) {
    // Settling copies the style attribute, which the CSP (style-src 'self') refuses.
    window.htmx.config.attributesToSettle = ["class", "width", "height"];
    window.htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "40[039]", swap: true, error: false },
      { code: "[45]..", swap: false, error: true }
    ];
  }

  // Exact times in the reader's own time zone.
  function localizeTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when)) { return; }
      el.title = when.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
      if (el.hasAttribute("data-clock")) {
        el.textContent = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      }
    });
  }
  document.addEventListener("DOMContentLoaded", function () { localizeTimes(document); });
  // htmx:load fires on content htmx has just put in the page (and bubbles, unlike events on
  // an element an outerHTML swap replaced).
  document.addEventListener("htmx:load", function (event) { localizeTimes(event.target); });

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  function toggleHelp() {
    var help = document.getElementById("help");
    if (!help) { return; }
    if (help.open) { help.close(); } else { help.showModal(); }
  }

  // --- Review queue: j/k move, enter/o open, a approve, e edit, r reject ---------------------
  var selectedId = null;
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("[data-queue] .qrow")); }
  function select(row) {
    rows().forEach(function (r) { r.classList.remove("is-selected"); r.removeAttribute("aria-selected"); });
    if (!row) { selectedId = null; return; }
    row.classList.add("is-selected");
    row.setAttribute("aria-selected", "true");
    selectedId = row.id;
    row.scrollIntoView({ block: "nearest" });
  }
  function selected() { return selectedId ? document.getElementById(selectedId) : null; }
  function move(step) {
    var all = rows();
    if (!all.length) { return; }
    var index = all.indexOf(selected());
    var next = index < 0 ? 0 : Math.min(all.length - 1, Math.max(0, index + step));
    select(all[next]);
  }
  function approveSelected() {
    var row = selected();
    // One request per row: the redrawn row has no approve URL once the draft is booked.
    if (!row || !row.dataset.approveUrl || row.dataset.approving || !window.htmx) { return; }
    row.dataset.approving = "1";
    window.htmx.ajax("POST", row.dataset.approveUrl, { target: "#" + row.id, swap: "outerHTML" });
  }
  document.addEventListener("htmx:load", function (event) {
    if (selectedId && event.target.id === selectedId) { select(event.target); }
  });
  document.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest("[data-queue] .qrow");
    if (!row || event.target.closest("a, button, form")) { return; }
    window.location.href = row.dataset.href;
  });

  function onQueueKey(event) {
    var row = selected();
    switch (event.key) {
      case "j": case "ArrowDown": move(1); return true;
      case "k": case "ArrowUp": move(-1); return true;
      case "Enter": case "o": if (row) { window.location.href = row.dataset.href; } return !!row;
      case "a": approveSelected(); return !!row;
      case "e": if (row) { window.location.href = row.dataset.href + "#edit"; } return !!row;
      case "r": if (row) { window.location.href = row.dataset.href + "#reject"; } return !!row;
      default: return false;
    }
  }

  // --- Draft page: e edit, r reject, a approve; ctrl+enter approves from the editor ---------
  function editor() { return document.querySelector("[data-editor]"); }
  function openReject() {
    var reject = document.getElementById("reject");
    if (!reject) { return; }
    reject.open = true;
    var first = reject.querySelector("input[type=radio]");
    if (first) { first.focus(); }
  }
  function focusEditor() {
    var box = editor();
    if (box) { box.focus(); box.setSelectionRange(box.value.length, box.value.length); }
  }
  function approveForm() { return document.getElementById("approve-form"); }
  function onDraftKey(event) {
    switch (event.key) {
      case "e": focusEditor(); return !!editor();
      case "r": openReject(); return !!document.getElementById("reject");
      case "a": if (approveForm()) { approveForm().requestSubmit(); } return !!approveForm();
      default: return false;
    }
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.defaultPrevented || event.altKey) { return; }
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter" && target.matches && target.matches("[data-editor]")) {
      event.preventDefault();
      target.form.requestSubmit();
      return;
    }
    if (event.ctrlKey || event.metaKey) { return; }
    if (event.key === "Escape" && typing(target)) { target.blur(); return; }
    if (typing(target)) { return; }
    if (event.key === "?") { event.preventDefault(); toggleHelp(); return; }
    var handled = false;
    if (document.querySelector("[data-queue]")) { handled = onQueueKey(event); }
    else if (document.querySelector("[data-draft]")) { handled = onDraftKey(event); }
    if (handled) { event.preventDefault(); }
  });

  // A double click on Approve or Reject submits once (the server books once either way).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.submitted) { event.preventDefault(); return; }
    if (!form.hasAttribute("hx-post")) {
      form.dataset.submitted = "1";
      setTimeout(function () { delete form.dataset.submitted; }, 4000);
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector("[data-queue]")) { move(0); }
    if (window.location.hash === "#edit") { focusEditor(); }
    if (window.location.hash === "#reject") { openReject(); }
  });
})();
