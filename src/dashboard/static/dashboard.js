/**
 * The dashboard page's script, for the live page and the report alike: it
 * keeps a snapshot of the federation (see `../state.ts`) and renders the
 * facts, the round table, two uPlot charts and the clients from it. Live, the
 * snapshot comes from the dashboard's Server-Sent Events (`events`: first
 * the whole state, then each change); in a report it is inlined as JSON.
 */

/** @typedef {import("../state.ts").Snapshot} Snapshot */
/** @typedef {import("../state.ts").Update} Update */
/** @typedef {import("../state.ts").RoundRow} RoundRow */
/** @typedef {import("../state.ts").ClientView} ClientView */
/** @typedef {import("uplot")} UPlotChart */
/** @typedef {import("uplot").Options} UPlotOptions */
/** @typedef {import("uplot").AlignedData} UPlotData */

/** @type {typeof import("uplot")} */
const UPlot = /** @type {any} */ (globalThis).uPlot;

const PHASES =
  /** @type {const} */ (["train", "encrypt", "upload", "aggregate", "decrypt", "evaluate"]);
const COLORS = [
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#9467bd",
  "#ff7f0e",
  "#8c564b",
  "#e377c2",
  "#17becf",
];

/** @type {Snapshot} */
let snapshot = { federation: null, phase: null, clients: [], rounds: [] };
/** @type {{ metrics?: UPlotChart, phases?: UPlotChart, privacy?: UPlotChart }} */
const charts = {};
/** Whether the metrics chart was drawn for a regression (its series differ). */
let chartedRegression = false;

/**
 * @param {string} id
 * @returns {HTMLElement}
 */
function byId(id) {
  const found = document.getElementById(id);
  if (!found) throw new Error(`page: no #${id}`);
  return found;
}

/**
 * @param {string} tag
 * @param {string} text
 * @param {string} [className]
 * @returns {HTMLElement}
 */
function el(tag, text, className) {
  const e = document.createElement(tag);
  e.textContent = text;
  if (className) e.className = className;
  return e;
}

/**
 * @param {number | null} n
 * @param {number} digits
 * @returns {string}
 */
function fixed(n, digits) {
  return n === null || !Number.isFinite(n) ? "-" : n.toFixed(digits);
}

/**
 * @param {number | null | undefined} n
 * @returns {string}
 */
function precise(n) {
  return n === null || n === undefined || !Number.isFinite(n) ? "-" : n.toPrecision(4);
}

/**
 * A regression's metrics are its test MSE (the loss) and MAE, a classifier's
 * its accuracy and loss. A report without the federation's facts goes by
 * the rows: only a regression's carry an MAE.
 *
 * @returns {boolean}
 */
function regression() {
  const task = snapshot.federation?.task;
  if (task) return task === "regression";
  return snapshot.rounds.some((r) => r.mae !== null && r.mae !== undefined);
}

/** @param {number} ms */
function ago(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 120 ? `${s} s` : `${Math.round(s / 60)} min`;
}

/**
 * @param {RoundRow} r
 * @returns {string[]}
 */
function rowCells(r) {
  const kib = (/** @type {number} */ b) => (b / 1024).toFixed(0);
  const head = [String(r.round), String(r.clients)];
  if (r.status !== "ok") return [...head, r.status, ...Array(12).fill("-")];
  const s = r.seconds;
  const metrics = regression()
    ? [precise(r.loss), precise(r.mae)]
    : [r.accuracy === null ? "-" : `${(r.accuracy * 100).toFixed(2)}%`, fixed(r.loss, 4)];
  return [
    ...head,
    ...metrics,
    r.epsilon === null ? "-" : fixed(r.epsilon, 3),
    fixed(s.train, 1),
    fixed(s.encrypt, 2),
    fixed(s.upload, 2),
    fixed(s.aggregate, 2),
    fixed(s.decrypt, 2),
    fixed(s.evaluate, 2),
    fixed(s.round, 1),
    kib(r.uploadBytesPerClient),
    kib(r.bytesIn),
    kib(r.bytesOut),
  ];
}

function renderFacts() {
  const f = snapshot.federation;
  const closed = snapshot.rounds.length;
  const connected = snapshot.clients.filter((c) => c.activity !== "disconnected").length;
  const p = snapshot.phase;
  /** @type {[string, string][]} */
  const facts = [
    ["mode", f ? `${f.mode} (${f.strategy})` : "unknown"],
    [
      "key",
      !f
        ? "unknown"
        : f.strategy === "fedavg"
        ? "none (plaintext FedAvg)"
        : `${f.keyBits}-bit Paillier, ${f.keyKind}`,
    ],
    ["fingerprint", f?.fingerprint || "unknown"],
    ...(f?.model
      ? [[
        "model",
        `${f.model} (${f.task === "regression" ? "regression: test MSE and MAE" : f.task})`,
      ]]
      : []),
    ["rounds closed", f ? `${closed} of ${f.rounds}` : String(closed)],
  ];
  if (document.body.dataset.mode === "live") {
    facts.push(["clients connected", f ? `${connected} of ${f.clients}` : String(connected)]);
    facts.push(["now", p ? `round ${p.round}: ${p.phase} for ${ago(p.since)}` : "starting"]);
  }
  byId("facts").replaceChildren(
    ...facts.flatMap(([k, v]) => [el("dt", k), el("dd", v, k === "fingerprint" ? "mono" : "")]),
  );
}

function renderRounds() {
  const [a, b] = regression() ? ["test MSE", "test MAE"] : ["accuracy", "loss"];
  byId("metric-a").textContent = a;
  byId("metric-b").textContent = b;
  const rows = snapshot.rounds.map((r) => {
    const tr = document.createElement("tr");
    tr.dataset.round = String(r.round);
    tr.className = r.status;
    tr.append(...rowCells(r).map((c) => el("td", c)));
    return tr;
  });
  byId("rounds").querySelector("tbody")?.replaceChildren(...rows);
  const notes = snapshot.rounds.flatMap((r) => [
    ...(r.reason ? [`round ${r.round} failed: ${r.reason}`] : []),
    ...r.failures.map((x) => `round ${r.round}: ${x.client}: ${x.reason}`),
  ]);
  byId("notes").replaceChildren(...notes.map((n) => el("li", n)));
}

function renderClients() {
  const section = byId("clients-section");
  section.hidden = snapshot.clients.length === 0;
  const rows = snapshot.clients.map((c) => {
    const tr = document.createElement("tr");
    tr.className = c.activity;
    tr.append(el("td", c.id), el("td", c.activity), el("td", `${ago(c.since)} ago`));
    return tr;
  });
  byId("clients").querySelector("tbody")?.replaceChildren(...rows);
}

/**
 * @param {string} label
 * @param {string} scale
 * @param {number} i
 * @returns {import("uplot").Series}
 */
function series(label, scale, i) {
  return { label, scale, stroke: COLORS[i % COLORS.length], width: 2, points: { show: true } };
}

/** @returns {import("uplot").Scale} */
function roundScale() {
  return {
    time: false,
    range: (_u, min, max) => {
      const last = Math.max(max ?? 1, snapshot.federation?.rounds ?? 1);
      return [Math.min(min ?? 1, 1) - 0.5, last + 0.5];
    },
  };
}

/**
 * @param {"metrics" | "phases" | "privacy"} which
 * @returns {UPlotOptions}
 */
function chartOptions(which) {
  const width = Math.max(320, byId(`chart-${which}`).clientWidth || 600);
  const x = { label: "round", incrs: [1, 2, 5, 10, 20, 50, 100, 1000] };
  if (which === "metrics" && regression()) {
    return {
      width,
      height: 260,
      scales: {
        x: roundScale(),
        mse: { range: (_u, _min, max) => [0, Math.max(0.1, max ?? 1)] },
        mae: { range: (_u, _min, max) => [0, Math.max(0.1, max ?? 1)] },
      },
      series: [{ label: "round" }, series("test MSE", "mse", 0), series("test MAE", "mae", 1)],
      axes: [x, { scale: "mse", label: "test MSE" }, {
        scale: "mae",
        label: "test MAE",
        side: 1,
        grid: { show: false },
      }],
    };
  }
  if (which === "metrics") {
    return {
      width,
      height: 260,
      scales: {
        x: roundScale(),
        acc: { range: [0, 100] },
        loss: { range: (_u, _min, max) => [0, Math.max(0.1, max ?? 1)] },
      },
      series: [{ label: "round" }, series("accuracy %", "acc", 0), series("loss", "loss", 1)],
      axes: [x, { scale: "acc", label: "accuracy %" }, {
        scale: "loss",
        label: "loss",
        side: 1,
        grid: { show: false },
      }],
    };
  }
  if (which === "privacy") {
    return {
      width,
      height: 200,
      scales: { x: roundScale(), eps: { range: (_u, _min, max) => [0, Math.max(0.1, max ?? 1)] } },
      series: [{ label: "round" }, series("epsilon spent", "eps", 0)],
      axes: [x, { scale: "eps", label: "epsilon" }],
    };
  }
  return {
    width,
    height: 260,
    scales: { x: roundScale(), s: { range: (_u, _min, max) => [0, Math.max(0.1, max ?? 1)] } },
    series: [{ label: "round" }, ...PHASES.map((p, i) => series(`${p} s`, "s", i + 2))],
    axes: [x, { scale: "s", label: "seconds" }],
  };
}

/** @returns {{ metrics: UPlotData, phases: UPlotData, privacy: UPlotData }} */
function chartData() {
  const ok = snapshot.rounds.filter((r) => r.status === "ok");
  const xs = ok.map((r) => r.round);
  return {
    metrics: regression() ? [xs, ok.map((r) => r.loss), ok.map((r) => r.mae)] : [
      xs,
      ok.map((r) => (r.accuracy === null ? null : r.accuracy * 100)),
      ok.map((r) => r.loss),
    ],
    phases: [xs, ...PHASES.map((p) => ok.map((r) => r.seconds[p]))],
    privacy: [xs, ok.map((r) => r.epsilon)],
  };
}

function renderCharts() {
  const data = chartData();
  if (charts.metrics && chartedRegression !== regression()) {
    // The federation's task arrived after the first rows: draw the other series.
    charts.metrics.destroy();
    delete charts.metrics;
  }
  chartedRegression = regression();
  byId("metrics-caption").textContent = chartedRegression
    ? "Test MSE and MAE by round"
    : "Accuracy and loss by round";
  for (const which of /** @type {const} */ (["metrics", "phases", "privacy"])) {
    const chart = charts[which];
    if (chart) chart.setData(data[which]);
    else charts[which] = new UPlot(chartOptions(which), data[which], byId(`chart-${which}`));
  }
}

function render() {
  renderFacts();
  renderRounds();
  renderClients();
  renderCharts();
}

/** @param {Update} u */
function applyUpdate(u) {
  if (u.type === "phase") snapshot = { ...snapshot, phase: u.phase };
  else if (u.type === "client") {
    const others = snapshot.clients.filter((c) => c.id !== u.client.id);
    const at = snapshot.clients.findIndex((c) => c.id === u.client.id);
    others.splice(at < 0 ? others.length : at, 0, u.client);
    snapshot = { ...snapshot, clients: others };
  } else {
    const rounds = snapshot.rounds.filter((r) => r.round !== u.row.round);
    snapshot = { ...snapshot, rounds: [...rounds, u.row].sort((a, b) => a.round - b.round) };
  }
}

/** @param {string} text */
function setStatus(text) {
  byId("status").textContent = text;
}

function finished() {
  const f = snapshot.federation;
  return f !== null && snapshot.rounds.some((r) => r.round >= f.rounds);
}

function live() {
  const events = new EventSource("events");
  events.addEventListener("snapshot", (e) => {
    snapshot = JSON.parse(/** @type {MessageEvent} */ (e).data);
    setStatus(finished() ? "finished" : "live");
    render();
  });
  for (const type of ["client", "phase", "round"]) {
    events.addEventListener(type, (e) => {
      applyUpdate(JSON.parse(/** @type {MessageEvent} */ (e).data));
      setStatus(finished() ? "finished" : "live");
      render();
    });
  }
  events.addEventListener("error", () => {
    setStatus(
      finished()
        ? "finished; the server has stopped"
        : "connection lost, retrying… (last state shown)",
    );
  });
  setInterval(() => {
    renderFacts();
    renderClients();
  }, 1000);
  addEventListener("resize", () => {
    for (const which of /** @type {const} */ (["metrics", "phases"])) {
      charts[which]?.setSize({
        width: Math.max(320, byId(`chart-${which}`).clientWidth),
        height: 260,
      });
    }
  });
}

function report() {
  snapshot = JSON.parse(byId("flhe-snapshot").textContent ?? "{}");
  setStatus(`report: ${snapshot.rounds.length} rounds`);
  render();
}

if (document.body.dataset.mode === "report") report();
else live();
