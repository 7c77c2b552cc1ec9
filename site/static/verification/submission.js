// Live progress of a submission: poll the API while its run is queued or running.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !live.dataset.active) return;
  var url = live.dataset.api;
  var finished = ["succeeded", "failed", "cancelled"];

  function text(id, value) {
    var node = document.getElementById(id);
    if (node) node.textContent = value == null ? "" : value;
  }

  function showMetrics(metrics) {
    var body = document.querySelector("#run-metrics tbody");
    if (!body || !metrics) return;
    body.textContent = "";
    Object.keys(metrics).forEach(function (name) {
      var row = body.insertRow();
      var head = document.createElement("th");
      head.scope = "row";
      head.textContent = name;
      row.appendChild(head);
      var cell = row.insertCell();
      cell.className = "num";
      cell.textContent = metrics[name];
    });
  }

  function show(run) {
    text("run-status", run.status);
    var bar = document.getElementById("run-progress");
    bar.max = run.progress.total || 1;
    bar.value = run.progress.done;
    text("run-progress-text", run.progress.done + " / " + run.progress.total);
    text("run-error", run.error);
    text("run-log", run.log);
    showMetrics(run.metrics);
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (submission) {
        if (!submission || !submission.run) return setTimeout(poll, 3000);
        show(submission.run);
        if (finished.indexOf(submission.run.status) === -1) return setTimeout(poll, 1000);
        // Finished: reload once for the history, the CED plot and the leaderboard link.
        window.location.reload();
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
})();
