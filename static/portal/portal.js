/* Mandate portal: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  // Copy buttons: <button data-copy-target="#id">. The secret stays selectable by hand too.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) return;
    var field = document.querySelector(button.getAttribute("data-copy-target"));
    if (!field) return;
    var status = document.getElementById(button.getAttribute("aria-describedby") || "");
    function report(text) {
      var label = button.querySelector(".label");
      if (label) label.textContent = text;
      if (status) status.textContent = text;
    }
    var value = field.value || field.textContent;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(value).then(function () { report("Copied"); }, function () { fallback(); });
    } else {
      fallback();
    }
    function fallback() {
      field.focus();
      field.select && field.select();
      try {
        document.execCommand("copy");
        report("Copied");
      } catch (e) {
        report("Press Ctrl+C to copy");
      }
    }
  });

  // The request form marks what the chosen entitlement's policy asks for.
  document.addEventListener("change", function (event) {
    var needs = document.getElementById("policy-requirements");
    if (!needs || event.target.name !== "policy") return;
    var chosen = JSON.parse(needs.textContent)[event.target.value] || {};
    ["task_ref", "justification"].forEach(function (name) {
      var input = document.getElementById("id_" + name);
      var label = document.querySelector('label[for="id_' + name + '"]');
      if (!input || !label) return;
      input.required = !!chosen[name];
      label.querySelectorAll(".required-mark, .visually-hidden").forEach(function (mark) { mark.remove(); });
      if (chosen[name]) {
        label.insertAdjacentHTML("beforeend",
          '<span class="required-mark" aria-hidden="true">*</span><span class="visually-hidden"> (required)</span>');
      }
    });
  });

  // Suggest a slug from the name until the person edits the slug themselves.
  document.addEventListener("input", function (event) {
    var slug = document.querySelector('[data-slug-from="' + event.target.id + '"]');
    if (!slug || slug.dataset.touched) return;
    slug.value = event.target.value.toLowerCase().normalize("NFKD").replace(/[\u0300-\u036f]/g, "")
      .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 100);
  });
  document.addEventListener("change", function (event) {
    if (event.target.hasAttribute("data-slug-from")) event.target.dataset.touched = "1";
  });

  // "Select all": <input type="checkbox" data-select-all="FORM_ID"> ticks every enabled
  // checkbox that belongs to that form (rows name it with the form attribute).
  document.addEventListener("change", function (event) {
    var formId = event.target.getAttribute && event.target.getAttribute("data-select-all");
    if (!formId) return;
    document.querySelectorAll('input[type="checkbox"][form="' + formId + '"]').forEach(function (box) {
      if (!box.disabled) box.checked = event.target.checked;
    });
  });

  // A new secret is selected whole when focused (no inline handler: the CSP forbids them).
  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("[data-select-on-focus]")) event.target.select();
  });

  // After an in-place update, move focus to what changed so keyboard and screen-reader
  // users hear the outcome (the fragment marks it with data-focus).
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.elt && event.detail.elt.querySelector && event.detail.elt.querySelector("[data-focus]");
    if (target) {
      if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
      target.focus();
    }
  });
})();
