/**
 * The report: the dashboard's page of a finished federation as one
 * self-contained HTML file (uPlot, the page's script and the rows inlined),
 * to open from `file://` without a server. Written by `flhe demo` at the end
 * and by `flhe history FILE --html OUT` from any history file. A report
 * replaces an existing file only if that file is itself a report.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { writeFileAtomic } from "../util/fs.ts";
import type { RoundRecord } from "../rounds/mod.ts";
import { loadAssets } from "./assets.ts";
import { REPORT_GENERATOR, reportPage } from "./page.ts";
import { type FederationInfo, snapshotOfHistory } from "./state.ts";

/**
 * The report's HTML.
 *
 * @param history The server's history.
 * @param federation The federation, if known.
 * @returns The page.
 * @throws {FlheError} `input` if uplot is not installed.
 *
 * @example Usage
 * ```ts
 * import { renderReport } from "./report.ts";
 * const html = await renderReport([], null);
 * ```
 */
export async function renderReport(
  history: readonly RoundRecord[],
  federation: FederationInfo | null,
): Promise<string> {
  const title = federation
    ? `flhe report: ${federation.strategy}, ${federation.mode} mode, ${history.length} rounds`
    : `flhe report: ${history.length} rounds`;
  return reportPage(title, snapshotOfHistory(history, federation), await loadAssets());
}

/**
 * Whether a file may be written as a report: it does not exist, or it is a
 * report flhe wrote (its generator tag says so).
 *
 * @param path The file.
 * @throws {FlheError} `usage` if the file exists and is something else.
 *
 * @example Usage
 * ```ts
 * import { checkReportTarget } from "./report.ts";
 * await checkReportTarget("flhe-report.html");
 * ```
 */
export async function checkReportTarget(path: string): Promise<void> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw new FlheError("usage", `${path}: exists and cannot be read; choose another file`);
  }
  if (!text.includes(`<meta name="generator" content="${REPORT_GENERATOR}">`)) {
    throw new FlheError(
      "usage",
      `${path}: exists and is not a report flhe wrote; move it away or choose another file`,
    );
  }
}

/**
 * Writes a report (atomically), refusing to replace a file that is not one.
 *
 * @param path The HTML file.
 * @param history The server's history.
 * @param federation The federation, if known.
 * @throws {FlheError} `usage` if `path` holds something else; `input` if uplot is missing.
 *
 * @example Usage
 * ```ts
 * import { writeReport } from "./report.ts";
 * await writeReport("report.html", [], null);
 * ```
 */
export async function writeReport(
  path: string,
  history: readonly RoundRecord[],
  federation: FederationInfo | null,
): Promise<void> {
  await checkReportTarget(path);
  await writeFileAtomic(path, await renderReport(history, federation));
}
