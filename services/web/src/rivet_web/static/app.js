// Live pages: follow /live (server-sent events) and apply each change without a reload.
// The browser reconnects by itself and sends Last-Event-ID; a "resync" event (the server no
// longer holds what was missed) reloads the page's data from the server.
(function () {
  "use strict";

  function refresh(target, url) {
    if (window.htmx) {
      window.htmx.ajax("GET", url, { target: target, select: target, swap: "outerHTML" });
    }
  }

  function countColumns(board) {
    board.querySelectorAll(".column").forEach(function (column) {
      var count = column.querySelector(".count");
      var more = count && count.textContent.indexOf("+") >= 0 ? "+" : "";
      if (count) { count.textContent = column.querySelectorAll(".card").length + more; }
    });
  }

  function onBoardChange(board, change) {
    var old = document.getElementById("card-" + change.number);
    if (old) { old.remove(); }
    var column = board.querySelector('.column[data-status="' + change.status + '"] .cards');
    if (column) { column.insertAdjacentHTML("afterbegin", change.html); }
    board.dataset.changes = String(Number(board.dataset.changes || 0) + 1);
    countColumns(board);
  }

  function start() {
    var live = document.querySelector("[data-live]");
    if (!live || !window.EventSource) { return; }
    var state = document.getElementById("live-state");
    var source = new EventSource("/live");
    source.addEventListener("open", function () {
      if (state) { state.textContent = "Live: changes appear as they happen."; }
      document.body.dataset.live = "open";
    });
    source.addEventListener("error", function () {
      if (state) { state.textContent = "Live updates interrupted; reconnecting..."; }
      document.body.dataset.live = "reconnecting";
    });
    source.addEventListener("change", function (event) {
      var change = JSON.parse(event.data);
      if (live.dataset.live === "board") {
        onBoardChange(live, change);
      } else if (live.dataset.number === change.number) {
        refresh("#order", window.location.pathname);
      }
    });
    source.addEventListener("resync", function () {
      if (live.dataset.live === "board") {
        window.htmx && window.htmx.ajax("GET", live.dataset.columns, { target: "#board", swap: "innerHTML" });
      } else {
        refresh("#order", window.location.pathname);
      }
    });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
