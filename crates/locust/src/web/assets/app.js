// swarmlab's web UI: Locust's page, drawn from swarmlab's endpoints. Statistics poll
// /stats/requests every 2 s (as Locust's page does); charts load the server's per-second
// history once and then follow the /events stream, so a reload or a long run keeps them.
"use strict";

const args = window.templateArgs || {};
const $ = (id) => document.getElementById(id);
let state = args.state || "ready";
let formMode = "start"; // or "edit"
let lastStats = null;

// ---------- formatting ----------
function ms(v) {
  if (v === null || v === undefined) return "N/A";
  if (v < 10) return v.toFixed(2);
  if (v < 100) return v.toFixed(1);
  return Math.round(v).toString();
}
function num(v, digits) {
  if (v === null || v === undefined) return "N/A";
  return Number(v).toFixed(digits);
}
function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
function when(unix) {
  if (!unix) return "";
  return new Date(unix * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

// ---------- header, buttons, form ----------
function setState(s) {
  state = s;
  $("h-state").textContent = s;
  const running = s === "spawning" || s === "running";
  const compare = !!args.compare;
  $("b-stop").hidden = compare || !running;
  $("b-edit").hidden = compare || !running;
  $("b-new").hidden = compare || s !== "stopped";
  $("b-reset").hidden = compare || s === "ready";
  if (s === "ready" && !compare && formMode === "start") showForm("start");
}

function showForm(mode) {
  formMode = mode;
  const edit = mode === "edit";
  $("form-title").textContent = edit ? "Edit running load test" : "Start new load test";
  $("f-submit").textContent = edit ? "Update" : "Start";
  document.querySelectorAll(".start-only").forEach((el) => (el.hidden = edit));
  $("f-cancel").hidden = state === "ready";
  $("form-error").hidden = true;
  if (edit && lastStats) $("f-users").value = lastStats.user_count;
  $("form-backdrop").hidden = false;
  $("f-users").focus();
}
function hideForm() {
  $("form-backdrop").hidden = true;
}

async function post(path, body) {
  const r = await fetch(path, { method: "POST", body });
  const text = await r.text();
  try {
    return JSON.parse(text);
  } catch (_) {
    return { success: r.ok, message: text };
  }
}

$("start-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const data = new URLSearchParams(new FormData($("start-form")));
  if (formMode === "edit") {
    for (const k of ["host", "run_time", "wait_time"]) data.delete(k);
  }
  const res = await post("./swarm", data);
  if (!res.success) {
    $("form-error").textContent = res.message;
    $("form-error").hidden = false;
    return;
  }
  hideForm();
  if (res.host) $("h-host").textContent = res.host;
  formMode = "done";
  refresh();
});
$("f-cancel").addEventListener("click", hideForm);
$("b-stop").addEventListener("click", async () => { await post("./stop"); refresh(); });
$("b-reset").addEventListener("click", async () => { await post("./stats/reset"); resetCharts(); refresh(); });
$("b-new").addEventListener("click", () => showForm("start"));
$("b-edit").addEventListener("click", () => showForm("edit"));

// ---------- tabs ----------
let activeTab = "statistics";
document.querySelectorAll(".tabs button").forEach((b) =>
  b.addEventListener("click", () => {
    activeTab = b.dataset.tab;
    document.querySelectorAll(".tabs button").forEach((x) => x.classList.toggle("active", x === b));
    document.querySelectorAll(".tab").forEach((t) => (t.hidden = t.id !== "tab-" + activeTab));
    if (activeTab === "charts") sizeCharts();
    if (activeTab === "ratio") loadRatio();
    if (activeTab === "exceptions") loadExceptions();
  })
);

// ---------- statistics ----------
function renderStats(s) {
  lastStats = s;
  $("h-host").textContent = s.host || args.host || "—";
  $("h-users").textContent = s.user_count;
  $("h-rps").textContent = num(s.total_rps, 1);
  $("h-fail").textContent = Math.round((s.fail_ratio || 0) * 100) + "%";
  if (s.state && s.state !== state) setState(s.state);
  const body = $("stats-table").tBodies[0];
  body.innerHTML = s.stats
    .map((r) => {
      const total = r.name === "Aggregated" && r.method === "";
      return `<tr class="${total ? "total" : ""}"><td>${esc(r.method)}</td><td>${esc(r.name)}</td>` +
        `<td>${r.num_requests}</td><td>${r.num_failures}</td><td>${ms(r.median_response_time)}</td>` +
        `<td>${ms(r["response_time_percentile_0.95"])}</td><td>${ms(r["response_time_percentile_0.99"])}</td>` +
        `<td>${ms(r.avg_response_time)}</td><td>${ms(r.min_response_time)}</td><td>${ms(r.max_response_time)}</td>` +
        `<td>${num(r.avg_content_length, 0)}</td><td>${num(r.current_rps, 1)}</td><td>${num(r.current_fail_per_sec, 1)}</td></tr>`;
    })
    .join("");
  $("failures-table").tBodies[0].innerHTML = s.errors
    .map((e) => `<tr><td>${e.occurrences}</td><td>${esc(e.method)}</td><td>${esc(e.name)}</td><td>${esc(e.error)}</td>` +
      `<td>${when(e.first_seen)}</td><td>${when(e.last_seen)}</td></tr>`)
    .join("");
  const sat = s.swarmlab && (s.swarmlab.saturated || s.swarmlab.delayed);
  $("saturated").hidden = !sat;
  if (sat) $("saturated").textContent = sat;
  if (s.compare) {
    $("banner").hidden = !s.compare.banner && !s.compare.report;
    $("banner").innerHTML = esc(s.compare.banner || "") +
      (s.compare.report ? ` &middot; <a href="./compare/report" target="_blank">open the finished report</a>` : "");
  }
}

async function refresh() {
  try {
    const r = await fetch("./stats/requests", { cache: "no-store" });
    if (r.ok) renderStats(await r.json());
  } catch (_) {
    /* the server went away; try again next time */
  }
}

async function loadExceptions() {
  const r = await fetch("./exceptions");
  const e = await r.json();
  $("exceptions-table").tBodies[0].innerHTML = e.exceptions
    .map((x) => `<tr><td>${x.count}</td><td>${esc(x.msg)}</td><td><pre>${esc(x.traceback)}</pre></td></tr>`)
    .join("");
}

async function loadRatio() {
  const r = await fetch("./tasks");
  const t = await r.json();
  const block = (title, m) =>
    `<h3>${title}</h3>` +
    Object.entries(m)
      .map(([cls, v]) => `<div class="ratio-class"><b>${(v.ratio * 100).toFixed(1)}% ${esc(cls)}</b><ul>` +
        Object.entries(v.tasks).map(([task, tv]) => `<li>${(tv.ratio * 100).toFixed(1)}% ${esc(task)}</li>`).join("") +
        `</ul></div>`)
      .join("");
  $("ratio").innerHTML = block("Ratio per User class", t.per_class) + block("Total ratio", t.total);
}

// ---------- charts ----------
const series = {
  rps: { el: "chart-rps", lines: [["RPS", "#2f9e6e", (r) => r.rps], ["Failures/s", "#c8413b", (r) => r.fps]] },
  rt: {
    el: "chart-rt",
    lines: [["50th percentile", "#2f9e6e", (r) => r.p50_ms], ["95th percentile", "#e0a100", (r) => r.p95_ms], ["99th percentile", "#7b4fd6", (r) => r.p99_ms]],
  },
  users: { el: "chart-users", lines: [["Users", "#3b7dd8", (r) => r.users]] },
};
const charts = {};
let data = {};

function emptyData() {
  const d = {};
  for (const [k, s] of Object.entries(series)) d[k] = [[], ...s.lines.map(() => [])];
  return d;
}

// 1,250 -> "1.25k", 125000 -> "125k": axis labels that fit.
function compact(v) {
  if (v === null || v === undefined) return "";
  const a = Math.abs(v);
  if (a >= 1e6) return +(v / 1e6).toFixed(2) + "M";
  if (a >= 1e4) return +(v / 1e3).toFixed(1) + "k";
  return +v.toFixed(a < 10 ? 2 : 1) + "";
}
// whole seconds at the finest: a short run is not labelled every 250 ms
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400];

function makeCharts() {
  data = emptyData();
  for (const [k, s] of Object.entries(series)) {
    const el = $(s.el);
    const opts = {
      width: Math.max(el.clientWidth - 24, 300),
      height: 240,
      series: [{}, ...s.lines.map(([label, stroke]) => ({ label, stroke, width: 2, spanGaps: true, value: (u, v) => compact(v) }))],
      axes: [{ incrs: TIME_STEPS, space: 70 }, { size: 64, values: (u, splits) => splits.map(compact) }],
      scales: { x: { time: true } },
      legend: { live: true },
    };
    charts[k] = new uPlot(opts, data[k], el);
  }
}

function push(row) {
  for (const [k, s] of Object.entries(series)) {
    const d = data[k];
    d[0].push(row.time);
    s.lines.forEach(([, , f], i) => d[i + 1].push(f(row) ?? null));
  }
}

function redraw() {
  for (const k of Object.keys(series)) charts[k].setData(data[k]);
}

function resetCharts() {
  data = emptyData();
  redraw();
}

async function loadHistory() {
  const r = await fetch("./stats/history", { cache: "no-store" });
  const h = await r.json();
  data = emptyData();
  h.rows.forEach(push);
  redraw();
}

function sizeCharts() {
  for (const [k, s] of Object.entries(series)) {
    const w = $(s.el).clientWidth - 24;
    if (w > 0) charts[k].setSize({ width: w, height: 240 });
  }
}
window.addEventListener("resize", () => activeTab === "charts" && sizeCharts());

// ---------- live events ----------
function listen() {
  const es = new EventSource("./events");
  es.addEventListener("row", (e) => {
    push(JSON.parse(e.data));
    if (data.rps[0].length > 20000) loadHistory(); // the server keeps a thinned history
    else redraw();
  });
  es.addEventListener("state", (e) => {
    setState(JSON.parse(e.data).state);
    refresh();
  });
  es.addEventListener("swarm", () => { loadHistory(); refresh(); });
  es.addEventListener("banner", () => refresh());
  es.addEventListener("report", () => refresh());
}

// ---------- start ----------
$("version").textContent = args.version || "";
$("h-host").textContent = args.host || "—";
$("f-users").value = args.num_users || 1;
$("f-rate").value = args.spawn_rate || 1;
$("f-host").value = args.host || "";
$("f-time").value = args.run_time || "";
$("f-wait").value = args.wait_time || "";
$("f-open").value = args.rate || "";
$("dl-full-item").hidden = !args.full_history;
makeCharts();
setState(state);
loadHistory();
refresh();
listen();
setInterval(refresh, 2000);
setInterval(() => { if (activeTab === "ratio") loadRatio(); }, 5000);
