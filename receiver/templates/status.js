// While a brief is in flight, ask the JSON feed every 2 s whether anything changed; when it did, swap in the page's
// new <main>, rendered by the server as on a full load. Stops once nothing is in flight.
(function () {
  "use strict";
  var EVERY_MS = 2000, AFTER_ERROR_MS = 5000;
  function main() { return document.querySelector("main[data-feed]"); }
  function schedule(ms) { window.setTimeout(tick, ms); }
  function tick() {
    var current = main();
    if (!current) { return; }
    fetch(current.dataset.feed, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (answer) {
        if (answer.status === 401) { window.location.reload(); throw new Error("logged out"); }
        return answer.json();
      })
      .then(function (feed) {
        if (feed.version === current.dataset.version) {
          if (feed.in_flight) { schedule(EVERY_MS); }
          return null;
        }
        return fetch(window.location.href, { credentials: "same-origin" })
          .then(function (page) { return page.text(); })
          .then(function (html) {
            var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("main[data-feed]");
            if (fresh) { current.replaceWith(fresh); }
            if (fresh && fresh.dataset.inFlight === "true") { schedule(EVERY_MS); }
          });
      })
      .catch(function () { schedule(AFTER_ERROR_MS); });
  }
  var first = main();
  if (first && first.dataset.inFlight === "true") { schedule(EVERY_MS); }
})();
