// Live updates: the server says which tickets changed; the page reloads what it shows through
// htmx (elements listening for "tickets-changed"). Without JavaScript, pages still work.
(function () {
  "use strict";
  var url = document.body && document.body.dataset.live;
  if (!url || !window.EventSource) { return; }
  var ticket = document.querySelector("[data-ticket]");
  var source = new EventSource(url);
  source.addEventListener("tickets", function (event) {
    var data = JSON.parse(event.data);
    document.body.dispatchEvent(new CustomEvent("tickets-changed", { detail: data }));
    var live = document.getElementById("live");
    if (ticket && data.ids.indexOf(Number(ticket.dataset.ticket)) !== -1) {
      // The open ticket changed elsewhere: its thread, details and history reload in place;
      // the composer is left alone so that a draft is never lost.
      document.body.dispatchEvent(new CustomEvent("this-ticket-changed"));
      if (live) { live.textContent = ticket.dataset.changedText || ""; }
    } else if (live && data.mine.length) {
      live.textContent = document.body.dataset.newForYou || "";
    }
  });
})();
