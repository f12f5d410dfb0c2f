// The study form: rows of sites, conditions, interventions and contacts are added and
// removed (with undo); each unit menu lists the units of the care provider beside it;
// after a failed save the error summary takes the focus. Without JavaScript the form
// still works: one empty row per list and a "remove" box on each row.
(function () {
  "use strict";

  function renumber(fieldset) {
    var rows = fieldset.querySelectorAll("[data-row]");
    rows.forEach(function (row, index) {
      row.querySelectorAll("[data-row-number]").forEach(function (span) {
        span.textContent = String(index + 1);
      });
    });
  }

  function setRemoved(row, removed) {
    var box = row.querySelector("[data-delete-box] input[type=checkbox]");
    if (box) { box.checked = removed; }
    row.querySelector("[data-row-fields]").hidden = removed;
    row.querySelector("[data-remove-row]").hidden = removed;
    row.querySelector("[data-removed-note]").hidden = !removed;
    var focus = removed ? row.querySelector("[data-undo-remove]") : row.querySelector("[data-remove-row]");
    if (focus) { focus.focus(); }
  }

  function enhanceRow(row) {
    var box = row.querySelector("[data-delete-box]");
    var checkbox = box && box.querySelector("input[type=checkbox]");
    box.hidden = true;
    row.querySelector("[data-remove-row]").hidden = false;
    row.querySelector("[data-remove-row]").addEventListener("click", function () { setRemoved(row, true); });
    row.querySelector("[data-undo-remove]").addEventListener("click", function () { setRemoved(row, false); });
    if (checkbox && checkbox.checked) { setRemoved(row, true); }
    row.querySelectorAll("select[name$='-care_provider']").forEach(followProvider);
  }

  function followProvider(providerSelect) {
    var row = providerSelect.closest("[data-row]");
    var unitSelect = row && row.querySelector("select[name$='-unit']");
    if (!unitSelect) { return; }
    var all = Array.prototype.map.call(unitSelect.options, function (option) { return option.cloneNode(true); });
    function update() {
      var chosen = unitSelect.value;
      unitSelect.replaceChildren.apply(unitSelect, all.filter(function (option) {
        return !option.dataset.careProvider || option.dataset.careProvider === providerSelect.value;
      }).map(function (option) { return option.cloneNode(true); }));
      unitSelect.value = chosen;
      if (unitSelect.value !== chosen) { unitSelect.value = ""; }
      unitSelect.disabled = !providerSelect.value;
    }
    providerSelect.addEventListener("change", update);
    update();
  }

  function enhanceFormset(fieldset) {
    var total = fieldset.querySelector("input[name$='-TOTAL_FORMS']");
    var template = fieldset.querySelector("template[data-empty-row]");
    var rows = fieldset.querySelector(".formset-rows");
    var add = fieldset.querySelector("[data-add-row]");
    rows.querySelectorAll("[data-row]").forEach(enhanceRow);
    add.hidden = false;
    add.addEventListener("click", function () {
      var index = Number(total.value);
      var html = template.innerHTML.replace(/__prefix__/g, String(index));
      var holder = document.createElement("div");
      holder.innerHTML = html;
      var row = holder.firstElementChild;
      rows.appendChild(row);
      total.value = String(index + 1);
      enhanceRow(row);
      renumber(fieldset);
      var first = row.querySelector("[data-row-fields] input, [data-row-fields] select, [data-row-fields] textarea");
      if (first) { first.focus(); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-formset]").forEach(enhanceFormset);
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
  });
})();
