// Filters the findings table by text and severity. Reads only the page's own
// text (never evaluates it); allowed by the page's CSP through its hash.
(function () {
  var table = document.getElementById("findings");
  var rows = table ? Array.prototype.slice.call(table.tBodies[0].rows) : [];
  var text = document.getElementById("filter");
  var sev = document.getElementById("severity");
  var shown = document.getElementById("shown");
  function apply() {
    var q = text ? text.value.trim().toLowerCase() : "";
    var s = sev ? sev.value : "";
    var n = 0;
    rows.forEach(function (r) {
      var ok = (!q || r.textContent.toLowerCase().indexOf(q) >= 0) &&
        (!s || r.getAttribute("data-severity") === s);
      r.hidden = !ok;
      if (ok) n++;
    });
    if (shown) shown.textContent = n + " of " + rows.length;
  }
  if (text) text.addEventListener("input", apply);
  if (sev) sev.addEventListener("change", apply);
  apply();
  document.body.setAttribute("data-rows", String(rows.length));
})();
