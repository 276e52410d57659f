// The top bar's menus (notification bell, user menu): one open at a time, closed by a click
// elsewhere or Escape; a menu with data-menu-src loads its body each time it opens, so the
// bell always shows the current notifications.
(function () {
  "use strict";

  function menus() { return Array.prototype.slice.call(document.querySelectorAll("details[data-menu]")); }

  // "toggle" does not bubble: listen in the capture phase.
  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (!menu.matches || !menu.matches("details[data-menu]") || !menu.open) { return; }
    menus().forEach(function (other) { if (other !== menu) { other.open = false; } });
    var body = menu.querySelector("[data-menu-body]");
    if (menu.dataset.menuSrc && body && window.htmx) {
      window.htmx.ajax("GET", menu.dataset.menuSrc, { target: body, swap: "innerHTML" });
    }
  }, true);

  document.addEventListener("click", function (event) {
    menus().forEach(function (menu) {
      if (menu.open && !menu.contains(event.target)) { menu.open = false; }
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    menus().forEach(function (menu) {
      if (menu.open) { menu.open = false; menu.querySelector("summary").focus(); }
    });
  });
})();
