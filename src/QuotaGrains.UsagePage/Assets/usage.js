// The usage page's only script (served from the assembly). It replaces the live panel with what the server sends on
// its event stream, and counts down to the renewal each second. Without it the page still shows every number.
(function () {
  "use strict";
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  // The same text as Fmt.Countdown on the server: "3d 04h 05m 06s".
  function countdown() {
    var el = document.getElementById("countdown");
    if (!el) { return; }
    var left = Math.floor((Date.parse(el.getAttribute("data-renewal")) - Date.now()) / 1000);
    if (isNaN(left)) { return; }
    el.textContent = left <= 0 ? "renewing"
      : Math.floor(left / 86400) + "d " + pad(Math.floor(left / 3600) % 24) + "h " + pad(Math.floor(left / 60) % 60) + "m " + pad(left % 60) + "s";
  }
  function start() {
    var live = document.getElementById("live");
    var source = live && live.getAttribute("data-live");
    if (source && window.EventSource) {
      var events = new EventSource(source);
      // The server renders the panel (HTML-encoded, as the page itself): it replaces the old one whole.
      events.addEventListener("update", function (e) { live.innerHTML = e.data; live.setAttribute("data-updates", String(Number(live.getAttribute("data-updates") || "0") + 1)); countdown(); });
      // The link expired or the member left: reload, and the server answers with the page that shows nothing.
      events.addEventListener("gone", function () { events.close(); window.location.reload(); });
    }
    countdown();
    window.setInterval(countdown, 1000);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
