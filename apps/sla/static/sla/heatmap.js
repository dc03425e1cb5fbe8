/* Heatmap overlays on a definition's diagram with the vendored bpmn-js navigated viewer (global `BpmnJS`).
 * Config (json_script): xml_url, activities {activity_id: {tokens, mean_seconds, breach_rate}}.
 * Overlay text is set with textContent only: nothing from the model or the data becomes markup.
 */
(function () {
  "use strict";

  function duration(seconds) {
    if (seconds === null || seconds === undefined) { return null; }
    if (seconds < 120) { return seconds.toFixed(1) + " s"; }
    if (seconds < 7200) { return (seconds / 60).toFixed(1) + " min"; }
    return (seconds / 3600).toFixed(1) + " h";
  }

  function badge(kind, text, title) {
    var span = document.createElement("span");
    span.className = "heat-badge heat-" + kind;
    span.textContent = text;
    span.title = title;
    return span;
  }

  function overlay(stats, id) {
    var box = document.createElement("div");
    box.className = "heat-overlay";
    box.dataset.activity = id;
    if (stats.tokens) { box.appendChild(badge("tokens", String(stats.tokens), stats.tokens + " waiting")); }
    var mean = duration(stats.mean_seconds);
    if (mean) { box.appendChild(badge("mean", mean, "mean duration")); }
    if (stats.breach_rate !== null && stats.breach_rate !== undefined) {
      box.appendChild(badge("breach", Math.round(stats.breach_rate * 100) + "%", "SLA breach rate"));
    }
    return box.childNodes.length ? box : null;
  }

  function render(container) {
    var config = JSON.parse(document.getElementById(container.dataset.heatmap).textContent);
    var status = container.querySelector("[data-heatmap-status]");
    if (typeof window.BpmnJS !== "function") {
      status.textContent = "The diagram viewer is not available.";
      container.dataset.heatmapState = "failed";
      return;
    }
    var viewer = new window.BpmnJS({ container: container.querySelector("[data-heatmap-canvas]") });
    fetch(config.xml_url, { credentials: "same-origin", headers: { Accept: "application/xml" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("the server answered " + response.status); }
        return response.text();
      })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        var registry = viewer.get("elementRegistry");
        var overlays = viewer.get("overlays");
        viewer.get("canvas").zoom("fit-viewport", "auto");
        Object.keys(config.activities).forEach(function (id) {
          var html = registry.get(id) ? overlay(config.activities[id], id) : null;
          if (html) { overlays.add(id, "heatmap", { position: { bottom: 0, left: 0 }, html: html }); }
        });
        status.textContent = "";
        container.dataset.heatmapState = "ready";
      })
      .catch(function (error) {
        status.textContent = "The diagram cannot be drawn (" + (error && error.message ? error.message : "unknown error") + ").";
        container.dataset.heatmapState = "failed";
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-heatmap]").forEach(render);
  });
})();
