// clearline portal: the little script the pages need. Everything works without it except
// live updates and keyboard shortcuts; the server checks everything again.
(function () {
  "use strict";

  function typing(event) {
    var tag = (event.target && event.target.tagName) || "";
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || event.ctrlKey || event.metaKey || event.altKey;
  }

  // --- Live regions: on a case event, fetch this page again and swap every [data-live]
  // region. The services apply events a moment after they are published, so the page is
  // fetched a few times after the last event rather than once.
  var refreshTimers = [];
  function refreshLive() {
    fetch(location.href, { credentials: "same-origin", headers: { "X-Live": "1" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var doc = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live]").forEach(function (region) {
          var fresh = doc.getElementById(region.id);
          if (fresh && fresh.innerHTML !== region.innerHTML) {
            var selected = region.querySelector("tr.selected");
            var keep = selected && selected.getAttribute("data-case");
            region.innerHTML = fresh.innerHTML;
            if (keep) { select(region.querySelector('tr[data-case="' + keep + '"]')); }
          }
        });
        document.dispatchEvent(new CustomEvent("live-refreshed"));
      })
      .catch(function () {});
  }
  function scheduleRefresh() {
    refreshTimers.forEach(clearTimeout);
    refreshTimers = [150, 700, 1800, 4000].map(function (ms) { return setTimeout(refreshLive, ms); });
  }
  if (document.body && document.body.hasAttribute("data-live-page") && window.EventSource) {
    var source = new EventSource("/live");
    source.addEventListener("case", function () {
      var note = document.querySelector("[data-live-note]");
      if (note) { note.hidden = false; }
      scheduleRefresh();
    });
    source.addEventListener("open", function () {
      document.body.setAttribute("data-live-connected", "1");
    });
  }

  // --- Queue keyboard: j/k move, Enter opens, a approves, r / m open the case to reject
  // or return it.
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("[data-keys=queue] tr[data-case]")); }
  function select(row) {
    rows().forEach(function (r) { r.classList.remove("selected"); r.removeAttribute("aria-selected"); });
    if (row) {
      row.classList.add("selected");
      row.setAttribute("aria-selected", "true");
      var link = row.querySelector("a");
      if (link) { link.focus(); }
    }
  }
  document.addEventListener("keydown", function (event) {
    if (typing(event)) { return; }
    var queue = document.querySelector("[data-keys=queue]");
    var page = document.querySelector("[data-keys=case]");
    var key = event.key;
    if (queue) {
      var all = rows();
      var current = all.indexOf(document.querySelector("[data-keys=queue] tr.selected"));
      if (key === "j" || key === "k") {
        var next = key === "j" ? Math.min(current + 1, all.length - 1) : Math.max(current - 1, 0);
        select(all[next]);
        event.preventDefault();
        return;
      }
      var row = all[current];
      if (!row) { return; }
      if (key === "Enter" || key === "o") {
        location.href = row.getAttribute("data-href");
        event.preventDefault();
      } else if (key === "a") {
        var form = row.querySelector("form[data-approve]");
        if (form) { form.submit(); }
        event.preventDefault();
      } else if (key === "r" || key === "m") {
        location.href = row.getAttribute("data-href") + (key === "r" ? "#reject" : "#return");
        event.preventDefault();
      }
    } else if (page) {
      if (key === "a") {
        var approve = document.getElementById("approve-form");
        if (approve) { approve.submit(); event.preventDefault(); }
      } else if (key === "r") {
        var reason = document.getElementById("reject-reason");
        if (reason) { reason.focus(); event.preventDefault(); }
      } else if (key === "m") {
        var item = document.querySelector("#return-form input[type=checkbox]");
        if (item) { item.focus(); event.preventDefault(); }
      } else if (key === "j" || key === "k") {
        var link = document.getElementById(key === "j" ? "next-case" : "prev-case");
        if (link) { location.href = link.href; event.preventDefault(); }
      }
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var first = rows()[0];
    if (first && document.querySelector("[data-keys=queue]")) { select(first); }
    var hash = location.hash === "#reject" ? "reject-reason" : location.hash === "#return" ? "return-first" : null;
    if (hash) {
      var target = document.getElementById(hash) || document.querySelector("#return-form input[type=checkbox]");
      if (target) { target.focus(); }
    }
  });

  // --- Intake form: the chosen service's checklist only; ID and phone checked as typed.
  function showService(select) {
    var code = select.value;
    document.querySelectorAll("fieldset[data-service]").forEach(function (fs) {
      var on = fs.getAttribute("data-service") === code;
      fs.hidden = !on;
      fs.disabled = !on;
    });
  }
  var ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  var ID_CHECKS = "10X98765432";
  function idProblem(value) {
    var v = value.trim().toUpperCase();
    if (!/^\d{17}[\dX]$/.test(v)) { return "format"; }
    var y = +v.substr(6, 4), m = +v.substr(10, 2), d = +v.substr(12, 2);
    var date = new Date(Date.UTC(y, m - 1, d));
    if (y < 1900 || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) { return "format"; }
    var sum = 0;
    for (var i = 0; i < 17; i++) { sum += (+v[i]) * ID_WEIGHTS[i]; }
    return ID_CHECKS[sum % 11] === v[17] ? null : "check";
  }
  function phoneProblem(value) {
    var v = value.replace(/[\s-]/g, "").replace(/^\+86/, "");
    if (/^1[3-9]\d{9}$/.test(v) || /^0\d{9,11}$/.test(v)) { return null; }
    return "format";
  }
  function validate(input, check) {
    var problem = input.value.trim() === "" ? null : check(input.value);
    var out = document.getElementById(input.id + "-error");
    var message = problem ? input.getAttribute("data-msg-" + problem) : "";
    input.setAttribute("aria-invalid", problem ? "true" : "false");
    input.setCustomValidity(message || "");
    if (out) { out.textContent = message || ""; }
  }
  document.addEventListener("DOMContentLoaded", function () {
    var service = document.getElementById("service_type");
    if (service) {
      showService(service);
      service.addEventListener("change", function () { showService(service); });
    }
    var id = document.getElementById("id_number");
    if (id) { ["input", "blur"].forEach(function (e) { id.addEventListener(e, function () { validate(id, idProblem); }); }); }
    var phone = document.getElementById("phone");
    if (phone) { ["input", "blur"].forEach(function (e) { phone.addEventListener(e, function () { validate(phone, phoneProblem); }); }); }
    document.querySelectorAll("[data-print]").forEach(function (b) {
      b.addEventListener("click", function () { window.print(); });
    });
    document.querySelectorAll("select[data-mode]").forEach(function (mode) {
      var when = document.getElementById(mode.getAttribute("data-mode"));
      function sync() {
        if (!when) { return; }
        var home = mode.value === "home_visit";
        when.hidden = !home;
        var input = when.querySelector("input");
        if (input) { input.required = home; }
      }
      mode.addEventListener("change", sync);
      sync();
    });
  });
})();
