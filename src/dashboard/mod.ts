/**
 * The dashboard: a read-only web page of a running federation, served by
 * `flhe serve` on its own port (`server.ts`), built from the server's events
 * only (`state.ts`), live through Server-Sent Events; and the same page as a
 * self-contained report of a finished one (`report.ts`).
 *
 * @example Usage
 * ```ts
 * import { startDashboard } from "./mod.ts";
 * import { createLogger } from "../util/log.ts";
 * const dashboard = await startDashboard({
 *   hostname: "127.0.0.1", port: 0, log: createLogger("server"),
 *   federation: { mode: "owner", strategy: "fedavg-he", keyBits: 2048, keyKind: "standard",
 *     fingerprint: "", rounds: 5, clients: 2 },
 * });
 * await dashboard.close();
 * ```
 *
 * @module
 */

export {
  type Dashboard,
  type DashboardOptions,
  type DashboardStats,
  MAX_SUBSCRIBERS,
  startDashboard,
} from "./server.ts";
export { checkReportTarget, renderReport, writeReport } from "./report.ts";
export {
  type FederationInfo,
  federationInfo,
  type RoundRow,
  type Snapshot,
  snapshotOfHistory,
} from "./state.ts";
export { isLoopback } from "./access.ts";
