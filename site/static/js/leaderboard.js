// Re-sorts the leaderboard in place when a metric header is clicked. Without
// JavaScript the header links ask the server for the same order (?metric=…).
(function () {
  "use strict";
  const table = document.getElementById("sota-table");
  // With more rows than one page holds, only the server can re-rank: the links do it.
  if (!table || table.dataset.complete !== "true") return;
  const headers = Array.from(table.tHead.rows[0].cells);
  const body = table.tBodies[0];
  const form = document.querySelector("form.filters");

  function numberIn(row, index) {
    const text = row.cells[index].dataset.value;
    return text === undefined || text === "" ? null : Number(text);
  }

  // The documented ranking rule: best value first in the metric's direction,
  // rows without the metric last, ties to the earlier result (date, then id).
  function bestFirst(index, higherIsBetter) {
    return function (a, b) {
      const x = numberIn(a, index), y = numberIn(b, index);
      if (x === null || y === null) {
        if (x !== y) return x === null ? 1 : -1;
      } else if (x !== y) {
        return higherIsBetter ? y - x : x - y;
      }
      const da = a.dataset.date || "9999-12-31", db = b.dataset.date || "9999-12-31";
      if (da !== db) return da < db ? -1 : 1;
      return Number(a.dataset.id) - Number(b.dataset.id);
    };
  }

  function setHiddenInput(name, value) {
    if (!form) return;
    let input = form.querySelector('input[type="hidden"][name="' + name + '"]');
    if (value === null) { if (input) input.remove(); return; }
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden"; input.name = name; form.prepend(input);
    }
    input.value = value;
  }

  function sortBy(th, worstFirst) {
    const index = headers.indexOf(th);
    const higher = th.dataset.higherIsBetter === "true";
    const rows = Array.from(body.rows).filter((row) => row.cells.length === headers.length);
    rows.sort(bestFirst(index, higher));
    let rank = 0;
    rows.forEach(function (row) {
      const has = numberIn(row, index) !== null;
      if (has) rank += 1;
      row.cells[0].textContent = has ? String(rank) : "–";
    });
    if (worstFirst) rows.reverse();
    rows.forEach((row) => body.appendChild(row));
    headers.forEach(function (other) {
      if (!other.classList.contains("metric")) return;
      const active = other === th;
      const descending = higher !== worstFirst;
      other.setAttribute("aria-sort", active ? (descending ? "descending" : "ascending") : "none");
      other.querySelector(".arrow").textContent = active ? (descending ? "▼" : "▲") : "";
    });
    const rankedBy = document.getElementById("ranked-by");
    if (rankedBy) rankedBy.textContent = th.dataset.metric;
    const params = new URLSearchParams(window.location.search);
    params.set("metric", th.dataset.metric);
    if (worstFirst) params.set("order", "worst"); else params.delete("order");
    params.delete("page");
    history.replaceState(null, "", "?" + params.toString());
    setHiddenInput("metric", th.dataset.metric);
    setHiddenInput("order", worstFirst ? "worst" : null);
  }

  headers.forEach(function (th) {
    const link = th.querySelector("a.sort");
    if (!link) return;
    link.addEventListener("click", function (event) {
      event.preventDefault();
      const sorted = th.getAttribute("aria-sort");
      const higher = th.dataset.higherIsBetter === "true";
      const showingBest = sorted === (higher ? "descending" : "ascending");
      sortBy(th, sorted !== "none" && showingBest);
    });
  });

  if (form) {
    const select = form.querySelector("select");
    const button = form.querySelector('button[type="submit"]');
    if (select) select.addEventListener("change", () => form.requestSubmit ? form.requestSubmit() : form.submit());
    if (button) button.classList.add("js-optional");
  }
})();
