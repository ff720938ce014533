/* Chợ Quê — never lose what was typed.
 * Forms marked data-draft keep their typed values in this phone's localStorage while being
 * filled in. If sending fails (no signal) or the page is closed, the values come back the next
 * time the form is opened (for two days). A draft is dropped once the server has accepted the
 * form. Passwords, files and hidden fields are never kept.
 */
(function () {
  "use strict";
  var PREFIX = "choque-draft:";
  var PENDING = "choque-draft-pending";
  var storage;
  try { storage = window.localStorage; storage.setItem(PREFIX + "test", "1"); storage.removeItem(PREFIX + "test"); }
  catch (e) { return; }

  function keyOf(form) {
    return PREFIX + window.location.pathname + "|" + (form.getAttribute("action") || "");
  }
  function kept(el) {
    var type = (el.type || "").toLowerCase();
    return el.name && el.name !== "csrf_token" &&
      ["password", "file", "hidden", "submit", "button", "reset"].indexOf(type) < 0;
  }
  function save(form) {
    var values = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!kept(el)) return;
      if (el.type === "checkbox" || el.type === "radio") {
        values[el.name + "=" + el.value] = el.checked;
      } else if (el.tagName === "SELECT" && el.multiple) {
        values[el.name] = Array.prototype.filter.call(el.options, function (o) { return o.selected; })
          .map(function (o) { return o.value; });
      } else {
        values[el.name] = el.value;
      }
    });
    try { storage.setItem(keyOf(form), JSON.stringify({ at: Date.now(), values: values })); } catch (e) {}
  }
  function restore(form) {
    var raw = storage.getItem(keyOf(form));
    if (!raw) return false;
    var draft;
    try { draft = JSON.parse(raw); } catch (e) { return false; }
    if (!draft || Date.now() - draft.at > 2 * 24 * 3600 * 1000) { storage.removeItem(keyOf(form)); return false; }
    var restored = false;
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!kept(el)) return;
      if (el.type === "checkbox" || el.type === "radio") {
        var k = el.name + "=" + el.value;
        if (k in draft.values) { el.checked = draft.values[k]; restored = true; }
      } else if (el.name in draft.values) {
        var v = draft.values[el.name];
        if (el.tagName === "SELECT" && el.multiple && Array.isArray(v)) {
          Array.prototype.forEach.call(el.options, function (o) { o.selected = v.indexOf(o.value) >= 0; });
        } else if (typeof v === "string" && v !== el.value) {
          el.value = v;
        } else { return; }
        restored = true;
        el.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
    return restored;
  }

  var forms = document.querySelectorAll("form[data-draft]");
  var rejected = document.querySelector(".form-errors, [aria-invalid='true']") !== null;
  // The last form sent was accepted when the server answered with a confirmation (a flash that
  // is not an error); after a failed send (no signal) its draft stays for the next visit.
  var pending = storage.getItem(PENDING);
  if (pending) {
    if (document.querySelector(".flash:not(.flash-error)") !== null && !rejected) {
      storage.removeItem(pending);
    }
    storage.removeItem(PENDING);
  }
  Array.prototype.forEach.call(forms, function (form) {
    // A form the server sent back with errors already holds what was typed.
    if (!rejected && restore(form)) {
      var note = document.createElement("p");
      note.className = "flash flash-warning draft-note";
      note.setAttribute("role", "status");
      note.textContent = form.getAttribute("data-draft") || "";
      if (note.textContent) form.insertBefore(note, form.firstChild);
    }
    form.addEventListener("input", function () { save(form); });
    form.addEventListener("change", function () { save(form); });
    form.addEventListener("submit", function () { save(form); storage.setItem(PENDING, keyOf(form)); });
  });
})();
