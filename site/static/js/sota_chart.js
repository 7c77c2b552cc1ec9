// The state-of-the-art chart: every dated result a point, the running best a stepped line
// whose every step sits at the date of the result that set it. A point's tooltip names
// the model and paper; clicking it goes to the result's row in the table.
(function () {
  "use strict";
  const canvas = document.getElementById("sota-chart");
  const source = document.getElementById("sota-series");
  if (!canvas || !source || typeof Chart === "undefined") return;
  const series = JSON.parse(source.textContent);
  const css = getComputedStyle(document.documentElement);
  const colour = (name) => css.getPropertyValue(name).trim();
  const day = (text) => Date.parse(text + "T00:00:00Z");
  const DAY = 86400000;
  const KINDS = {
    archive: { style: "circle", colour: colour("--chart-result"), label: "archive" },
    self_reported: { style: "triangle", colour: colour("--chart-self"), label: "self-reported" },
    verified: { style: "rectRot", colour: colour("--chart-verified"), label: "verified" },
  };
  const kind = (p) => KINDS[p.provenance] || KINDS.archive;

  const points = series.map((p) => ({
    x: day(p.date), y: p.value, model: p.model_name, date: p.date, paper: p.paper,
    id: p.result_id, rank: p.rank, provenance: p.provenance,
  }));
  // The running best changes only at the results that improve it: one vertex per
  // improvement, at that result's date, and a last one at the latest result's date.
  const best = [];
  series.forEach(function (p) {
    if (!best.length || best[best.length - 1].y !== p.best) best.push({ x: day(p.date), y: p.best, model: p.model_name, date: p.date });
  });
  if (best.length && points.length) {
    const last = points[points.length - 1].x;
    if (best[best.length - 1].x < last) best.push({ x: last, y: best[best.length - 1].y, model: best[best.length - 1].model });
  }

  // Ticks on 1 January (or the first of a month for a short span), at a readable spacing.
  function calendarTicks(scale) {
    const min = scale.min, max = scale.max;
    const spanYears = (max - min) / (365.25 * DAY);
    const ticks = [];
    if (spanYears >= 2) {
      const step = Math.max(1, Math.ceil(spanYears / 8));
      const first = new Date(min).getUTCFullYear() + 1;
      for (let year = first; Date.UTC(year, 0, 1) <= max; year += 1) {
        if (year % step === 0) ticks.push({ value: Date.UTC(year, 0, 1) });
      }
    } else {
      const months = Math.max(1, Math.ceil((spanYears * 12) / 8));
      const start = new Date(min);
      for (let m = start.getUTCMonth() + 1, y = start.getUTCFullYear(); Date.UTC(y, m, 1) <= max; m += months) {
        ticks.push({ value: Date.UTC(y, m, 1) });
      }
    }
    scale.ticks = ticks;
  }
  function tickLabel(value, spanYears) {
    const date = new Date(value);
    if (spanYears >= 2) return String(date.getUTCFullYear());
    return date.toLocaleDateString("en", { month: "short", year: "numeric", timeZone: "UTC" });
  }

  // The page of the table that holds a result of this rank (the table is paged).
  function rowUrl(point) {
    const table = document.getElementById("sota-table");
    const anchor = "#result-" + point.id;
    if (document.querySelector(anchor)) return anchor;
    const size = Number(table.dataset.pageSize) || 50;
    const ranked = Number(table.dataset.ranked) || point.rank;
    const params = new URLSearchParams(window.location.search);
    const position = params.get("order") === "worst" ? ranked - point.rank + 1 : point.rank;
    params.set("page", String(Math.ceil(position / size)));
    return "?" + params.toString() + anchor;
  }

  Chart.defaults.color = colour("--muted");
  Chart.defaults.borderColor = colour("--line");
  const spanYears = points.length ? (points[points.length - 1].x - points[0].x) / (365.25 * DAY) : 0;

  new Chart(canvas, {
    type: "scatter",
    data: {
      datasets: [
        {
          label: "Result",
          data: points,
          pointStyle: (ctx) => (ctx.raw ? kind(ctx.raw).style : "circle"),
          backgroundColor: (ctx) => (ctx.raw ? kind(ctx.raw).colour : KINDS.archive.colour),
          borderColor: (ctx) => (ctx.raw ? kind(ctx.raw).colour : KINDS.archive.colour),
          pointRadius: (ctx) => (ctx.raw && ctx.raw.provenance !== "archive" ? 6 : 4),
          pointHoverRadius: 8,
        },
        {
          label: "State of the art",
          data: best,
          type: "line",
          stepped: "before",
          showLine: true,
          borderColor: colour("--chart-best"),
          backgroundColor: colour("--chart-best"),
          pointRadius: 0,
          pointHitRadius: 0,
          borderWidth: 2,
        },
      ],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "nearest", intersect: true },
      onHover: (event, elements) => {
        event.native.target.style.cursor = elements.some((e) => e.datasetIndex === 0) ? "pointer" : "default";
      },
      onClick: (event, elements) => {
        const hit = elements.find((e) => e.datasetIndex === 0);
        if (!hit) return;
        const url = rowUrl(points[hit.index]);
        if (url.startsWith("#")) {
          window.location.hash = url;
          const row = document.querySelector(url);
          if (row) row.scrollIntoView({ block: "center" });
        } else {
          window.location.assign(url);
        }
      },
      scales: {
        x: {
          type: "linear",
          afterBuildTicks: calendarTicks,
          ticks: { callback: (value) => tickLabel(value, spanYears), autoSkip: false, maxRotation: 0 },
        },
        y: { title: { display: true, text: canvas.getAttribute("aria-label").split(" of each")[0] } },
      },
      plugins: {
        legend: { display: false },
        tooltip: {
          filter: (item) => item.datasetIndex === 0,
          callbacks: {
            label: (item) => item.raw.model + ": " + item.raw.y + " (" + item.raw.date + ")",
            afterLabel: (item) => {
              const lines = [];
              if (item.raw.paper) lines.push(item.raw.paper.length > 70 ? item.raw.paper.slice(0, 69) + "…" : item.raw.paper);
              lines.push("Rank " + item.raw.rank + " · " + kind(item.raw).label + " · click for its row");
              return lines;
            },
          },
        },
      },
    },
  });
})();
