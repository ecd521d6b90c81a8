// policybench viewer: sorting and filtering the runs table, live updates of a running run.
// Pages work without this file; it only adds to them.  No dependencies, no network but
// the viewer's own JSON endpoint.
"use strict";

function sortTable(table, col) {
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  const dir = table.dataset.sortCol === String(col) && table.dataset.sortDir === "asc" ? "desc" : "asc";
  const key = (row) => {
    const cell = row.cells[col];
    const raw = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim();
    const num = Number(raw);
    return raw !== "" && !Number.isNaN(num) ? num : raw.toLowerCase();
  };
  rows.sort((a, b) => {
    const ka = key(a), kb = key(b);
    const c = ka < kb ? -1 : ka > kb ? 1 : 0;
    return dir === "asc" ? c : -c;
  });
  rows.forEach((r) => body.appendChild(r));
  table.dataset.sortCol = String(col);
  table.dataset.sortDir = dir;
  table.querySelectorAll("th").forEach((th, i) =>
    th.setAttribute("aria-sort", i === col ? (dir === "asc" ? "ascending" : "descending") : "none"));
}

function filterRuns() {
  const text = document.getElementById("runs-filter").value.toLowerCase();
  const hideSim = document.getElementById("hide-sim").checked;
  document.querySelectorAll("#runs tbody tr").forEach((row) => {
    const show = row.textContent.toLowerCase().includes(text) &&
      !(hideSim && row.dataset.simulated === "true");
    row.hidden = !show;
  });
}

function setupRuns() {
  const table = document.getElementById("runs");
  if (!table) return;
  table.querySelectorAll("thead button.sort").forEach((button, i) =>
    button.addEventListener("click", () => sortTable(table, i)));
  document.getElementById("runs-filter").addEventListener("input", filterRuns);
  document.getElementById("hide-sim").addEventListener("change", filterRuns);
}

async function poll(url) {
  let data;
  try {
    const resp = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!resp.ok) throw new Error(String(resp.status));
    data = await resp.json();
  } catch (err) {
    setTimeout(() => poll(url), 3000);
    return;
  }
  document.getElementById("headline").innerHTML = data.headline_html;
  document.getElementById("newest-wrong").innerHTML = data.newest_wrong_html;
  const matrix = document.querySelector("table.confusion");
  if (matrix) matrix.outerHTML = data.binary_html;
  const progress = document.getElementById("progress");
  if (progress) progress.value = data.completed;
  if (data.status === "started") {
    setTimeout(() => poll(url), 1000);
  } else {
    window.location.reload(); // finished: show the stored summary
  }
}

async function fillCount(span) {
  try {
    const resp = await fetch(span.dataset.countUrl, { credentials: "same-origin" });
    if (!resp.ok) throw new Error(String(resp.status));
    const data = await resp.json();
    span.textContent = `${data.total.toLocaleString("en")} matching`;
  } catch (err) {
    span.textContent = "could not count the matches";
  }
}

document.addEventListener("DOMContentLoaded", () => {
  setupRuns();
  document.querySelectorAll("[data-count-url]").forEach(fillCount);
  const live = document.body.dataset.liveUrl;
  if (live) setTimeout(() => poll(live), 1000);
});
