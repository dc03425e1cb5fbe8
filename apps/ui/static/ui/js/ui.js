/* Patchbay UI behaviour: progressive enhancement only. Every form works without this file. */
(function () {
  "use strict";

  /* A <form data-confirm="..."> asks in a modal <dialog> before it submits (e.g. cancelling an instance). */
  function confirmDialog(form) {
    var dialog = document.getElementById("confirm-dialog");
    if (!dialog || typeof dialog.showModal !== "function") {
      return Promise.resolve(window.confirm(form.dataset.confirm));
    }
    dialog.querySelector("[data-confirm-text]").textContent = form.dataset.confirm;
    var ok = dialog.querySelector("[data-confirm-ok]");
    ok.textContent = form.dataset.confirmLabel || "Confirm";
    return new Promise(function (resolve) {
      dialog.addEventListener("close", function onClose() {
        dialog.removeEventListener("close", onClose);
        resolve(dialog.returnValue === "confirm");
      });
      dialog.showModal();
      dialog.querySelector("[data-confirm-cancel]").focus();
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.confirm || form.dataset.confirmed === "yes") {
      return;
    }
    event.preventDefault();
    var submitter = event.submitter;
    confirmDialog(form).then(function (confirmed) {
      if (!confirmed) { return; }
      form.dataset.confirmed = "yes";
      if (form.requestSubmit) { form.requestSubmit(submitter || undefined); } else { form.submit(); }
    });
  });

  /* Drag and drop onto [data-dropzone]: the dropped file goes into the zone's normal file input. */
  function setupDropzone(zone) {
    var input = zone.querySelector("input[type=file]");
    var label = zone.querySelector("[data-dropzone-file]");
    if (!input) { return; }
    function show() {
      label.textContent = input.files.length ? "Selected: " + input.files[0].name : "No file selected";
    }
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (event) {
        event.preventDefault();
        zone.classList.add("is-dragover");
      });
    });
    ["dragleave", "drop"].forEach(function (type) {
      zone.addEventListener(type, function () { zone.classList.remove("is-dragover"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
        show();
      }
    });
    input.addEventListener("change", show);
    show();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-dropzone]").forEach(setupDropzone);
  });
})();
