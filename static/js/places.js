// Reload the commune list when the province changes (the form also works without this file:
// its "show communes" button re-renders the page with the province's communes).
(function () {
  "use strict";
  var form = document.querySelector("form[data-places-api]");
  if (!form || !window.fetch) { return; }
  var province = form.querySelector("select[name=province_code]");
  var ward = form.querySelector("select[name=ward_code]");
  if (!province || !ward) { return; }
  document.documentElement.classList.add("js");
  var api = form.getAttribute("data-places-api");

  function option(value, text) {
    var o = document.createElement("option");
    o.value = value;
    o.textContent = text;
    return o;
  }

  province.addEventListener("change", function () {
    var code = province.value;
    var placeholder = form.getAttribute("data-ward-prompt") || "";
    ward.disabled = true;
    if (!/^\d+$/.test(code)) {
      ward.replaceChildren(option("", placeholder));
      ward.disabled = false;
      return;
    }
    fetch(api + "/" + code + "/wards", { headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status); }
        return response.json();
      })
      .then(function (body) {
        var items = [option("", placeholder)];
        body.wards.forEach(function (w) { items.push(option(String(w.code), w.name)); });
        ward.replaceChildren.apply(ward, items);
      })
      .catch(function () {
        // Offline or the server failed: fall back to the no-JavaScript step.
        document.documentElement.classList.remove("js");
      })
      .finally(function () { ward.disabled = false; });
  });
})();
