/* A message's delivery progress: ask the page's JSON (data-json-url) every two seconds and
   write the figures into the elements marked data-field="…". Without this script the page
   still shows the figures of the moment it loaded, and its Refresh link. Every text comes
   from the server (translated there) or from the page. No inline code (CSP: script-src
   'self'). */
(function () {
  "use strict";

  var EVERY_MS = 2000;
  var root = document.querySelector("[data-delivery-progress]");
  if (!root || !window.fetch) {
    return;
  }
  var url = root.getAttribute("data-json-url");

  function set(name, value) {
    var nodes = root.querySelectorAll('[data-field="' + name + '"]');
    for (var i = 0; i < nodes.length; i += 1) {
      nodes[i].textContent = String(value);
    }
  }

  function cell(text) {
    var td = document.createElement("td");
    td.textContent = String(text);
    return td;
  }

  function showFailures(failures) {
    var body = root.querySelector('[data-field="failures"]');
    if (!body) {
      return;
    }
    while (body.firstChild) {
      body.removeChild(body.firstChild);
    }
    if (!failures.length) {
      var empty = root.querySelector("template[data-empty-failures]");
      if (empty) {
        body.appendChild(empty.content.cloneNode(true));
      }
      return;
    }
    failures.forEach(function (failure) {
      var tr = document.createElement("tr");
      tr.appendChild(cell(failure.status_label));
      tr.appendChild(cell(failure.reason));
      tr.appendChild(cell(failure.count));
      body.appendChild(tr);
    });
  }

  function show(data) {
    Object.keys(data.channels).forEach(function (channel) {
      var statuses = data.channels[channel];
      Object.keys(statuses).forEach(function (status) {
        set(channel + "." + status, statuses[status]);
      });
    });
    Object.keys(data.totals).forEach(function (status) {
      set("total." + status, data.totals[status]);
    });
    set("rate", data.rate_per_minute);
    set("open", data.open);
    set("rows", data.rows);
    set("eta", data.eta_text);
    set("in_doubt", data.in_doubt);
    set("resent", data.resent);
    showFailures(data.failures || []);
  }

  function poll() {
    window
      .fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (data) {
          show(data);
        }
        if (!data || !data.finished) {
          window.setTimeout(poll, EVERY_MS);
        }
      })
      .catch(function () {
        window.setTimeout(poll, EVERY_MS); /* a network blip: try again */
      });
  }

  window.setTimeout(poll, EVERY_MS);
})();
