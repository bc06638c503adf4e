/**
 * The server's history (`history.json`, one {@linkcode RoundRecord} per
 * closed round) read back from a file and printed: as the text table that
 * `flhe demo` ends with and `flhe history` prints, or as CSV for
 * spreadsheets. Failed and recovered rounds are rows like the others, marked
 * as such.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { JsonFields, readJsonFile } from "../util/fs.ts";
import type { RoundRecord } from "./record.ts";

/** Longest history {@linkcode parseHistory} reads (the largest number of rounds). */
const MAX_ROUNDS = 100_000;

/** Most participants or failures a row may list (the largest federation). */
const MAX_CLIENTS = 1000;

const PHASES = ["train", "encrypt", "upload", "aggregate", "decrypt", "evaluate", "round"] as const;

/** What a row says about its round. */
export type RoundStatus = "ok" | "failed" | "recovered";

/**
 * What a row says about its round: a model (`ok`), no model (`failed`), or a
 * model recovered from the owner after a server restart (`recovered`, not
 * evaluated).
 *
 * @param r A history row.
 * @returns Its status.
 *
 * @example Usage
 * ```ts
 * import { roundStatus } from "./round_table.ts";
 * declare const row: import("./record.ts").RoundRecord;
 * roundStatus(row); // "ok", "failed" or "recovered"
 * ```
 */
export function roundStatus(r: RoundRecord): RoundStatus {
  return r.failed ? "failed" : r.recovered ? "recovered" : "ok";
}

/**
 * What a model learns, for the metrics shown: classifiers' accuracy and
 * loss, or regression's mean squared and mean absolute errors.
 */
export type MetricsKind = "multiclass" | "binary" | "regression";

/**
 * What a history's model learns, as far as its rows say: `regression` if a
 * round reports an MAE (only a regression's reports carry one), else
 * `multiclass` (whose columns a binary classifier shares).
 *
 * @param history The server's history.
 * @returns The metrics to show.
 *
 * @example Usage
 * ```ts
 * import { metricsKindOf } from "./round_table.ts";
 * metricsKindOf([]); // "multiclass"
 * ```
 */
export function metricsKindOf(history: readonly RoundRecord[]): MetricsKind {
  return history.some((r) => r.mae !== undefined) ? "regression" : "multiclass";
}

/** A regression metric as the tables show it: 4 significant digits, `-` where there is none. */
function errorCell(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? "-" : value.toPrecision(4);
}

/**
 * The last evaluated round's metric, as the demo's closing line says it.
 *
 * @param history The server's history.
 * @param task What the model learns.
 * @returns E.g. `test accuracy 98.10%`, or `test MSE 7.412, MAE 2.031`.
 *
 * @example Usage
 * ```ts
 * import { finalMetric } from "./round_table.ts";
 * finalMetric([], "multiclass"); // "test accuracy NaN%"
 * ```
 */
export function finalMetric(history: readonly RoundRecord[], task: MetricsKind): string {
  const last = history.findLast((r) => roundStatus(r) === "ok");
  return task === "regression"
    ? `test MSE ${errorCell(last?.loss)}, MAE ${errorCell(last?.mae)}`
    : `test accuracy ${((last?.accuracy ?? NaN) * 100).toFixed(2)}%`;
}

/**
 * Formats the per-round table: accuracy and loss of a classifier, or the
 * test MSE (carried in the rounds' loss) and MAE of a regression.
 *
 * @param history The server's history.
 * @param task What the model learns (default: what the rows say, {@linkcode metricsKindOf}).
 * @returns The table text, one line per round and one note per failed round.
 *
 * @example Usage
 * ```ts
 * import { roundTable } from "./round_table.ts";
 * roundTable([]).startsWith("round"); // true
 * ```
 */
export function roundTable(
  history: readonly RoundRecord[],
  task: MetricsKind = metricsKindOf(history),
): string {
  const regression = task === "regression";
  const metrics = regression ? ["test MSE", "test MAE"] : ["accuracy", "loss"];
  // Differential privacy: the worst epsilon any client has spent, where clients report one.
  const dp = history.some((r) => r.epsilon !== undefined);
  const header = [
    "round",
    "clients",
    ...metrics,
    ...(dp ? ["epsilon"] : []),
    "train s",
    "encrypt s",
    "upload s",
    "aggregate s",
    "decrypt s",
    "round s",
    "upload KiB/client",
  ];
  const rows = history.map((r) =>
    roundStatus(r) !== "ok"
      ? [
        `${r.round}`,
        `${r.participants.length}`,
        roundStatus(r),
        ...header.slice(3).map(() => "-"),
      ]
      : [
        `${r.round}`,
        `${r.participants.length}`,
        ...(regression
          ? [errorCell(r.loss), errorCell(r.mae)]
          : [`${(r.accuracy * 100).toFixed(2)}%`, r.loss.toFixed(4)]),
        ...(dp ? [r.epsilon === undefined ? "-" : r.epsilon.toFixed(3)] : []),
        r.seconds.train.toFixed(1),
        r.seconds.encrypt.toFixed(2),
        r.seconds.upload.toFixed(2),
        r.seconds.aggregate.toFixed(2),
        r.seconds.decrypt.toFixed(2),
        r.seconds.round.toFixed(1),
        (r.uploadBytesPerClient / 1024).toFixed(0),
      ]
  );
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join("  ");
  const notes = history.filter((r) => r.failed).map((r) => `round ${r.round} failed: ${r.failed}`);
  return [line(header), ...rows.map(line), ...notes].join("\n") + "\n";
}

/** One CSV cell: quoted when needed; text that a spreadsheet would run as a formula is escaped. */
function csvCell(value: string | number): string {
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "";
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * Formats the history as CSV: one header line, one line per round with every
 * phase's seconds, the bytes, and the status (`ok`, `failed`, `recovered`)
 * and reason. Loss and accuracy are empty for a round without an evaluation;
 * a regression's rows have the MSE as loss, the MAE, and no accuracy.
 *
 * @param history The server's history.
 * @returns The CSV text (RFC 4180 quoting, `\n` line ends).
 *
 * @example Usage
 * ```ts
 * import { roundCsv } from "./round_table.ts";
 * roundCsv([]).split("\n")[0]!.startsWith("round,status,"); // true
 * ```
 */
export function roundCsv(history: readonly RoundRecord[]): string {
  const header = [
    "round",
    "status",
    "clients",
    "accuracy",
    "loss",
    "mae",
    ...PHASES.map((p) => `${p}_s`),
    "bytes_in",
    "bytes_out",
    "upload_bytes_per_client",
    "total_weight",
    "failed_clients",
    "reason",
    "epsilon",
    "epsilon_by_client",
  ];
  const rows = history.map((r) => [
    r.round,
    roundStatus(r),
    r.participants.length,
    r.accuracy,
    r.loss,
    r.mae ?? NaN,
    ...PHASES.map((p) => r.seconds[p]),
    r.bytesIn,
    r.bytesOut,
    r.uploadBytesPerClient,
    r.totalWeight,
    r.failures.map((f) => f.clientId).join(" "),
    r.failed ?? "",
    r.epsilon ?? NaN,
    Object.entries(r.epsilonByClient ?? {}).map(([id, e]) => `${id}=${e}`).join(" "),
  ]);
  return [header, ...rows].map((row) => row.map(csvCell).join(",")).join("\n") + "\n";
}

/** A loss or accuracy: a number, or `null` (written for NaN) when the round had no evaluation. */
function metric(fields: JsonFields, value: unknown, field: string): number {
  return value === null || value === undefined ? NaN : fields.number(field, 0, 1e300, false);
}

function parseRecord(path: string, value: unknown, i: number): RoundRecord {
  const f = new JsonFields(path, value, `[${i}].`);
  const raw = value as Record<string, unknown>;
  const s = new JsonFields(path, raw.seconds, `[${i}].seconds.`);
  const seconds = Object.fromEntries(PHASES.map((p) => [p, s.number(p, 0, 1e12, false)]));
  const failures = f.objectList("failures", MAX_CLIENTS).map((x) => ({
    clientId: x.string("clientId"),
    reason: x.string("reason"),
  }));
  return {
    round: f.number("round", 1, Number.MAX_SAFE_INTEGER),
    ...(raw.failed !== undefined ? { failed: f.string("failed") } : {}),
    ...(raw.recovered === true ? { recovered: true } : {}),
    participants: f.stringList("participants", /^.{1,200}$/, MAX_CLIENTS),
    failures,
    totalWeight: f.number("totalWeight", 0, Number.MAX_SAFE_INTEGER, false),
    bytesIn: f.number("bytesIn", 0, Number.MAX_SAFE_INTEGER),
    bytesOut: f.number("bytesOut", 0, Number.MAX_SAFE_INTEGER),
    uploadBytesPerClient: f.number("uploadBytesPerClient", 0, Number.MAX_SAFE_INTEGER, false),
    seconds: seconds as unknown as RoundRecord["seconds"],
    loss: metric(f, raw.loss, "loss"),
    accuracy: metric(f, raw.accuracy, "accuracy"),
    // Regression rows only; null stands for a round without one.
    ...(raw.mae === undefined || raw.mae === null ? {} : { mae: metric(f, raw.mae, "mae") }),
    ...privacyFields(path, raw, i),
  };
}

/** The optional DP fields of a row: the worst epsilon and each client's. */
function privacyFields(
  path: string,
  raw: Record<string, unknown>,
  i: number,
): Pick<RoundRecord, "epsilon" | "epsilonByClient"> {
  if (raw.epsilon === undefined) return {};
  const f = new JsonFields(path, raw, `[${i}].`);
  const byClient = new JsonFields(path, raw.epsilonByClient ?? {}, `[${i}].epsilonByClient.`);
  const ids = Object.keys((raw.epsilonByClient ?? {}) as object).slice(0, MAX_CLIENTS);
  return {
    epsilon: f.number("epsilon", 0, 1e6, false),
    epsilonByClient: Object.fromEntries(ids.map((id) => [id, byClient.number(id, 0, 1e6, false)])),
  };
}

/**
 * Checks a parsed `history.json` and returns its rows.
 *
 * @param path Names the file in errors.
 * @param value The parsed JSON.
 * @returns One record per round, as written.
 * @throws {FlheError} `input` naming the file, the row and the field.
 *
 * @example Usage
 * ```ts
 * import { parseHistory } from "./round_table.ts";
 * parseHistory("history.json", []); // []
 * ```
 */
export function parseHistory(path: string, value: unknown): RoundRecord[] {
  if (!Array.isArray(value)) {
    throw new FlheError("input", `${path}: not a round history (expected a JSON list of rounds)`);
  }
  if (value.length > MAX_ROUNDS) {
    throw new FlheError("input", `${path}: ${value.length} rounds, more than ${MAX_ROUNDS}`);
  }
  return value.map((row, i) => parseRecord(path, row, i));
}

/**
 * Reads and checks a `history.json`.
 *
 * @param path The file.
 * @returns One record per round.
 * @throws {FlheError} `input` if the file is missing, not JSON, or not a history.
 *
 * @example Usage
 * ```ts
 * import { readHistory } from "./round_table.ts";
 * const history = await readHistory("federation/server/history.json");
 * ```
 */
export async function readHistory(path: string): Promise<RoundRecord[]> {
  return parseHistory(path, await readJsonFile(path));
}
