/**
 * The dashboard's HTML: one page skeleton for both the live page (its
 * scripts and style sheets loaded from the dashboard, its data streamed by
 * Server-Sent Events) and the report (everything inlined, the data as JSON
 * in the page, opened from `file://` without a server). The page's script
 * (`static/dashboard.js`) fills in the same elements in both.
 *
 * @module
 */

import type { Assets } from "./assets.ts";
import { PAGE_FILES, UPLOT_FILES } from "./assets.ts";
import type { Snapshot } from "./state.ts";

/** Where the live page loads its files from (relative to the page). */
export const ASSET_PATHS = {
  uplotScript: `assets/${UPLOT_FILES.script}`,
  uplotStyle: `assets/${UPLOT_FILES.style}`,
  pageScript: `assets/${PAGE_FILES.script}`,
  pageStyle: `assets/${PAGE_FILES.style}`,
} as const;

/** Marks a report written by flhe, so that a later run may replace it. */
export const REPORT_GENERATOR = "flhe report";

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Text that may stand inside a `<script>` or `<style>` element. */
function rawText(text: string, element: "script" | "style"): string {
  return text.replace(new RegExp(`</(${element})`, "gi"), "<\\/$1");
}

function body(title: string): string {
  return `<header>
<h1>${escapeHtml(title)}</h1>
<p id="status" role="status">loading…</p>
</header>
<main>
<section id="federation" aria-label="federation"><dl id="facts"></dl></section>
<section aria-labelledby="rounds-title">
<h2 id="rounds-title">Rounds</h2>
<div class="scroll"><table id="rounds">
<thead><tr><th>round</th><th>clients</th><th id="metric-a">accuracy</th><th id="metric-b">loss</th><th>ε spent</th><th>train s</th>
<th>encrypt s</th><th>upload s</th><th>aggregate s</th><th>decrypt s</th><th>evaluate s</th>
<th>round s</th><th>upload KiB/client</th><th>in KiB</th><th>out KiB</th></tr></thead>
<tbody></tbody>
</table></div>
<ul id="notes"></ul>
</section>
<section class="charts" aria-label="charts">
<figure><figcaption id="metrics-caption">Accuracy and loss by round</figcaption><div id="chart-metrics"></div></figure>
<figure><figcaption>Seconds per phase by round</figcaption><div id="chart-phases"></div></figure>
<figure><figcaption>Privacy spent by round (largest ε of any client; DP-SGD only)</figcaption><div id="chart-privacy"></div></figure>
</section>
<section id="clients-section" aria-labelledby="clients-title">
<h2 id="clients-title">Clients</h2>
<table id="clients"><thead><tr><th>client</th><th>activity</th><th>since</th></tr></thead>
<tbody></tbody></table>
</section>
</main>`;
}

function head(title: string, extra: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="generator" content="${REPORT_GENERATOR}">
<title>${escapeHtml(title)}</title>
${extra}
</head>`;
}

/**
 * The live page: loads uPlot and its own script from the dashboard and
 * listens to `events` for the state.
 *
 * @param title The page title.
 * @returns The HTML.
 *
 * @example Usage
 * ```ts
 * import { livePage } from "./page.ts";
 * livePage("flhe dashboard").includes("assets/uPlot.iife.min.js"); // true
 * ```
 */
export function livePage(title: string): string {
  const links = `<link rel="stylesheet" href="${ASSET_PATHS.uplotStyle}">
<link rel="stylesheet" href="${ASSET_PATHS.pageStyle}">`;
  return `${head(title, links)}
<body data-mode="live">
${body(title)}
<script src="${ASSET_PATHS.uplotScript}"></script>
<script src="${ASSET_PATHS.pageScript}"></script>
</body>
</html>
`;
}

/**
 * A self-contained report: the same page with uPlot, its own script and
 * style, and the snapshot inlined; no server needed.
 *
 * @param title The page title.
 * @param snapshot What to show.
 * @param assets The page's files.
 * @returns The HTML.
 *
 * @example Usage
 * ```ts
 * import { reportPage } from "./page.ts";
 * import { loadAssets } from "./assets.ts";
 * import { snapshotOfHistory } from "./state.ts";
 * const html = reportPage("flhe report", snapshotOfHistory([], null), await loadAssets());
 * ```
 */
export function reportPage(title: string, snapshot: Snapshot, assets: Assets): string {
  const styles = `<style>
${rawText(assets.uplotStyle, "style")}
</style>
<style>
${rawText(assets.pageStyle, "style")}
</style>`;
  // JSON in a script element: "<" escaped so that no "</script>" can end it.
  const data = JSON.stringify(snapshot).replaceAll("<", "\\u003c");
  return `${head(title, styles)}
<body data-mode="report">
${body(title)}
<script type="application/json" id="flhe-snapshot">${data}</script>
<script>
${rawText(assets.uplotScript, "script")}
</script>
<script>
${rawText(assets.pageScript, "script")}
</script>
</body>
</html>
`;
}
