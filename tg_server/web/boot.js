// Starts the day report's request while the dashboard's modules are still loading, so the
// first render waits for one of them, not both. app.js picks the response up (api.js).
(function () {
  var match = /^#\/day(?:\/(\d{4}-\d{2}-\d{2}))?$/.exec(location.hash || "#/day");
  if (!match) return;
  var query = new URLSearchParams();
  if (match[1]) query.set("date", match[1]);
  var host = localStorage.getItem("tg.host");
  if (host) query.set("host", host);
  var search = query.toString();
  var path = "/api/0/reports/day" + (search ? "?" + search : "");
  window.__tgPrefetch = { path: path, response: fetch(path, { credentials: "same-origin" }) };
})();
