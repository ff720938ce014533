// Council scoring form: show the total and proposed stars while typing.
// The page works without this; the server computes and checks both again on save.
(function () {
  "use strict";
  var form = document.querySelector("form[data-ocop-score]");
  if (!form) { return; }
  var out = form.querySelector("output[data-template-one]");
  if (!out) { return; }
  // Singular and plural forms come from the template (ngettext), chosen by the star count.
  var templates = { one: out.getAttribute("data-template-one"), other: out.getAttribute("data-template-other") };
  var maxima = { score_a: +form.getAttribute("data-max-a"), score_b: +form.getAttribute("data-max-b"),
                 score_c: +form.getAttribute("data-max-c") };

  function read(name) {
    var text = form.elements[name].value.trim().replace(",", ".");
    if (text === "" || !/^\d+(\.\d{1,2})?$/.test(text)) { return NaN; }
    var value = Number(text);
    return value <= maxima[name] ? value : NaN;
  }
  function stars(total) {
    if (total >= 90) { return 5; }
    if (total >= 70) { return 4; }
    if (total >= 50) { return 3; }
    if (total >= 30) { return 2; }
    return 1;
  }
  function update() {
    var parts = [read("score_a"), read("score_b"), read("score_c")];
    if (parts.some(isNaN)) { out.textContent = ""; return; }
    var hundredths = Math.round(parts[0] * 100) + Math.round(parts[1] * 100) + Math.round(parts[2] * 100);
    var total = hundredths / 100;
    var count = stars(total);
    var template = count === 1 ? templates.one : templates.other;
    out.textContent = template.replace("{total}", String(total).replace(".", ","))
                              .replace("{stars}", String(count));
  }
  form.addEventListener("input", update);
  update();
}());
