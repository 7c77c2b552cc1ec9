// The state-of-the-art chart: every dated result a point, the running best a stepped line.
(function () {
  "use strict";
  const canvas = document.getElementById("sota-chart");
  const source = document.getElementById("sota-series");
  if (!canvas || !source || typeof Chart === "undefined") return;
  const series = JSON.parse(source.textContent);
  const day = (text) => Date.parse(text + "T00:00:00Z");
  const iso = (ms) => new Date(ms).toISOString().slice(0, 10);
  const points = series.map((p) => ({ x: day(p.date), y: p.value, model: p.model_name, date: p.date }));
  const best = series.map((p) => ({ x: day(p.date), y: p.best, model: p.model_name, date: p.date }));

  new Chart(canvas, {
    type: "scatter",
    data: {
      datasets: [
        { label: "Result", data: points, backgroundColor: "rgba(31, 111, 235, 0.55)", pointRadius: 4, pointHoverRadius: 6 },
        { label: "State of the art", data: best, type: "line", stepped: "after", showLine: true, borderColor: "#1a7f37", backgroundColor: "#1a7f37", pointRadius: 0, pointHitRadius: 0, borderWidth: 2 },
      ],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "nearest", intersect: true },
      scales: {
        x: { type: "linear", ticks: { callback: (value) => iso(value).slice(0, 7), maxTicksLimit: 8 } },
        y: { title: { display: true, text: canvas.getAttribute("aria-label").split(" of each")[0] } },
      },
      plugins: {
        tooltip: {
          filter: (item) => item.datasetIndex === 0,
          callbacks: { label: (item) => item.raw.model + ": " + item.raw.y + " (" + item.raw.date + ")" },
        },
      },
    },
  });
})();
