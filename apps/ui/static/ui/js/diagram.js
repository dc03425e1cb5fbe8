/* Draws BPMN diagrams with the vendored bpmn-js navigated viewer (global `BpmnJS`).
 *
 * Each [data-diagram] element names a <script type="application/json"> (Django's json_script) with:
 *   xml_url | xml            where the XML comes from (an authenticated UI endpoint, or an inline string)
 *   completed, active, failed, current   activity ids to mark (CSS classes pb-<kind> on the shapes)
 * Problems of a validation report are buttons [data-locate="<element id>"] inside the same [data-diagram-scope].
 * The XML is only ever parsed by bpmn-js (its own moddle, no script execution); labels become SVG text.
 */
(function () {
  "use strict";
  var MARKER_KINDS = ["completed", "active", "failed", "current"];

  function loadXml(config) {
    if (typeof config.xml === "string") { return Promise.resolve(config.xml); }
    return fetch(config.xml_url, { credentials: "same-origin", headers: { Accept: "application/xml" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("the server answered " + response.status); }
        return response.text();
      });
  }

  function addMarkers(viewer, config) {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    MARKER_KINDS.forEach(function (kind) {
      (config[kind] || []).forEach(function (id) {
        if (registry.get(id)) { canvas.addMarker(id, "pb-" + kind); }
      });
    });
  }

  function addProblems(viewer, scope) {
    var registry = viewer.get("elementRegistry");
    var overlays = viewer.get("overlays");
    var canvas = viewer.get("canvas");
    var focused = null;
    scope.querySelectorAll("[data-locate]").forEach(function (button) {
      var id = button.dataset.locate;
      var element = registry.get(id);
      if (!element) { return; }
      canvas.addMarker(id, "pb-problem");
      var badge = document.createElement("span");
      badge.className = "pb-problem-badge";
      badge.textContent = "!";  /* text only: problem messages never become markup */
      badge.title = id;
      overlays.add(id, "pb-problem", { position: { top: -10, right: 8 }, html: badge });
      button.hidden = false;
      button.addEventListener("click", function () {
        if (focused) { canvas.removeMarker(focused, "pb-focus"); }
        focused = id;
        canvas.addMarker(id, "pb-focus");
        canvas.zoom(1);
        canvas.scrollToElement(element, { top: 120, bottom: 120, left: 160, right: 160 });
        scope.querySelector("[data-diagram]").scrollIntoView({ block: "center", behavior: "smooth" });
      });
    });
  }

  function setupZoom(viewer, container) {
    var canvas = viewer.get("canvas");
    container.querySelectorAll("[data-zoom]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var how = button.dataset.zoom;
        if (how === "fit") { canvas.zoom("fit-viewport", "auto"); return; }
        canvas.zoom(canvas.zoom() * (how === "in" ? 1.25 : 0.8));
      });
    });
  }

  function render(container) {
    var status = container.querySelector("[data-diagram-status]");
    var canvasEl = container.querySelector("[data-diagram-canvas]");
    var config = JSON.parse(document.getElementById(container.dataset.diagram).textContent);
    var scope = container.closest("[data-diagram-scope]") || document;
    if (typeof window.BpmnJS !== "function") {
      status.textContent = "The diagram viewer is not available.";
      container.dataset.diagramState = "failed";
      return;
    }
    var viewer = new window.BpmnJS({ container: canvasEl });
    loadXml(config)
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        viewer.get("canvas").zoom("fit-viewport", "auto");
        addMarkers(viewer, config);
        addProblems(viewer, scope);
        setupZoom(viewer, container);
        status.textContent = "";
        container.dataset.diagramState = "ready";
      })
      .catch(function (error) {
        canvasEl.hidden = true;
        status.textContent = "The diagram cannot be drawn (" + (error && error.message ? error.message : "unknown error") + ").";
        container.dataset.diagramState = "failed";
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-diagram]").forEach(render);
  });
})();
