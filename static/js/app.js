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

  // Exact times in the reader's own time zone, in one format everywhere: 24-hour "HH:MM" and
  // the zone's abbreviation ("2026-03-02 14:05 EST" on hover, "14:05 EST" for a clock).
  var clockParts = new Intl.DateTimeFormat("en-US", {
    year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short"
  });
  function clockOf(when) {
    var p = {};
    clockParts.formatToParts(when).forEach(function (part) { p[part.type] = part.value; });
    return { date: p.year + "-" + p.month + "-" + p.day, time: p.hour + ":" + p.minute, zone: p.timeZoneName };
  }
  function localizeTimes(root) {
    if (!root.querySelectorAll) { return; }
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when)) { return; }
      var c = clockOf(when);
      el.title = c.date + " " + c.time + " " + c.zone;
      if (el.hasAttribute("data-clock")) { el.textContent = c.time + " " + c.zone; }
    });
  }
  document.addEventListener("DOMContentLoaded", function () { localizeTimes(document); });
  // htmx:load fires on content htmx has just put in the page (and bubbles, unlike events on
  // an element an outerHTML swap replaced).
  document.addEventListener("htmx:load", function (event) { localizeTimes(event.target); });

  function typing(target) {
    // A queue row's checkbox keeps the queue's keys (x, j, k) working after a click on it.
    if (!target || (target.matches && target.matches("input.pick"))) { return false; }
    return target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName);
  }

  function toggleHelp() {
    var help = document.getElementById("help");
    if (!help) { return; }
    if (help.open) { help.close(); } else { help.showModal(); }
  }

  // --- Review queue: j/k move, x select, enter/o open, a approve, e edit, r reject ---------
  var selectedId = null;
  var selectedIndex = 0;
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("[data-queue] .qrow")); }
  function select(row, scroll) {
    rows().forEach(function (r) { r.classList.remove("is-selected"); r.removeAttribute("aria-selected"); });
    if (!row) { selectedId = null; return; }
    row.classList.add("is-selected");
    row.setAttribute("aria-selected", "true");
    selectedId = row.id;
    selectedIndex = rows().indexOf(row);
    if (scroll !== false) { row.scrollIntoView({ block: "nearest" }); }
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
    if (selectedId && event.target.id === selectedId) { select(event.target, false); }
  });
  document.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest("[data-queue] .qrow");
    if (!row || event.target.closest("a, button, form, input, select, label, .q-pick")) { return; }
    window.location.href = row.dataset.href;
  });

  // Bulk selection: a checkbox per row, x toggles the focused row, shift-click a range.
  function picks() { return Array.prototype.slice.call(document.querySelectorAll("[data-queue] input.pick")); }
  function picked() { return picks().filter(function (box) { return box.checked; }); }
  function updateBulkBar() {
    var bar = document.querySelector("[data-bulk]");
    if (!bar) { return; }
    var n = picked().length;
    bar.querySelector("[data-bulk-count]").textContent = String(n);
    bar.hidden = n === 0;
    picks().forEach(function (box) { box.closest(".qrow").classList.toggle("is-picked", box.checked); });
  }
  var lastPick = null;
  document.addEventListener("click", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("[data-queue] input.pick")) { return; }
    var all = picks();
    if (event.shiftKey && lastPick && all.indexOf(lastPick) >= 0) {
      var a = all.indexOf(lastPick), b = all.indexOf(box);
      all.slice(Math.min(a, b), Math.max(a, b) + 1).forEach(function (other) { other.checked = box.checked; });
    }
    lastPick = box;
    updateBulkBar();
  });
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("[data-queue] input.pick")) { updateBulkBar(); }
  });
  document.addEventListener("click", function (event) {
    if (!event.target.closest || !event.target.closest("[data-bulk-clear]")) { return; }
    picks().forEach(function (box) { box.checked = false; });
    lastPick = null;
    updateBulkBar();
  });
  function togglePick() {
    var row = selected();
    var box = row && row.querySelector("input.pick");
    if (!box) { return; }
    box.checked = !box.checked;
    lastPick = box;
    updateBulkBar();
  }

  // Live: the list polls every few seconds, but not while the operator is in the middle of
  // something (rows selected, a field or menu open, the help shown, the tab hidden). An
  // explicit refresh (after a bulk action or an undo) always goes through.
  function queueBusy() {
    if (document.hidden || picked().length) { return true; }
    var active = document.activeElement;
    if (active && active.closest && active.closest("main") && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName) && !active.matches("input.pick")) { return true; }
    if (document.querySelector("main details[open], dialog[open]")) { return true; }
    return false;
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (!elt || !elt.matches || !elt.matches("[data-live]")) { return; }
    var trigger = event.detail.requestConfig && event.detail.requestConfig.triggeringEvent;
    if (trigger && trigger.type === "queue-refresh") { return; }
    if (queueBusy()) { event.preventDefault(); }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (!event.detail.target || !event.detail.target.matches || !event.detail.target.matches("[data-live]")) { return; }
    // Keep the keyboard focus on the same draft (or the same place if it left the list).
    var all = rows();
    var same = selectedId && document.getElementById(selectedId);
    if (same) { select(same, false); } else if (all.length) { select(all[Math.min(selectedIndex, all.length - 1)], false); }
    lastPick = null;
    updateBulkBar();
  });

  // The nav's badges follow the counts each refresh brings.
  function navBadge(href, n) {
    var link = document.querySelector('.mainnav a[href="' + href + '"]');
    if (!link) { return; }
    var badge = link.querySelector(".count");
    if (!n) { if (badge) { badge.remove(); } return; }
    if (!badge) {
      badge = document.createElement("span");
      badge.className = "count";
      link.appendChild(document.createTextNode(" "));
      link.appendChild(badge);
    }
    badge.textContent = String(n);
  }
  document.addEventListener("htmx:load", function (event) {
    var root = event.target;
    var counts = root.matches && root.matches("[data-nav-counts]") ? root : root.querySelector && root.querySelector("[data-nav-counts]");
    if (!counts) { return; }
    navBadge("/", parseInt(counts.dataset.pending, 10) || 0);
    navBadge("/proposals/", parseInt(counts.dataset.proposals, 10) || 0);
  });

  // The undo flash counts down to the send; once it has gone, Undo goes away.
  function tickUndo() {
    document.querySelectorAll("[data-undo-until]").forEach(function (flash) {
      var left = Math.ceil((new Date(flash.dataset.undoUntil) - new Date()) / 1000);
      var seconds = flash.querySelector("[data-undo-seconds]");
      if (left > 0) { if (seconds) { seconds.textContent = String(left); } return; }
      flash.removeAttribute("data-undo-until");
      var label = flash.querySelector("[data-undo-label]");
      if (label) { label.textContent = "Sending now."; }
      var undo = flash.querySelector("form.undo");
      if (undo) { undo.remove(); }
    });
  }
  setInterval(tickUndo, 1000);
  document.addEventListener("click", function (event) {
    var close = event.target.closest && event.target.closest("[data-flash-close]");
    if (close) { close.closest(".qflash").remove(); }
  });

  function onQueueKey(event) {
    var row = selected();
    switch (event.key) {
      case "j": case "ArrowDown": move(1); return true;
      case "k": case "ArrowUp": move(-1); return true;
      case "x": togglePick(); return !!row;
      case "/": if (document.getElementById("f-q")) { document.getElementById("f-q").focus(); } return true;
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
    if (document.querySelector("[data-live]")) { handled = onQueueKey(event); }
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
