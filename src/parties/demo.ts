/**
 * `flhe demo`: the whole federation on one machine. Creates a federation in
 * a temporary folder and starts the owner service, the server and the
 * clients as separate processes of this same program, talking WebSocket on
 * loopback, on the MNIST that ships with flhe; prints each party's lines with
 * its name and the address of the server's dashboard as soon as the server
 * prints it, then a table per round; writes a self-contained report and a
 * copy of the history into a folder that outlives the run, and optionally a
 * JSON summary.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { writeFileAtomic } from "../util/fs.ts";
import { freePort } from "../util/free_port.ts";
import type { PartitionScheme } from "../data/mod.ts";
import type { Logger } from "../util/log.ts";
import type { KeyKind } from "../he/mod.ts";
import { type FederationConfig, type KeyMode, loadBundle } from "../federation/mod.ts";
import { DEFAULT_QUANT_BITS, initFederation } from "./owner_init.ts";
import type { DataSource } from "../data/mod.ts";
import type { FederationModel, ModelRequest } from "./model_choice.ts";
import { type DemoFiles, demoFiles } from "./demo_files.ts";
import { selfCommand } from "./self_command.ts";
import { finalMetric, readHistory, type RoundRecord, roundTable } from "../rounds/mod.ts";
import { checkReportTarget, federationInfo, writeReport } from "../dashboard/mod.ts";

/** Options of {@linkcode runDemo}. */
export interface DemoOptions {
  readonly keyBits: number;
  /** Paillier key structure (default `standard`). */
  readonly keyKind?: KeyKind;
  readonly clients: number;
  readonly rounds: number;
  readonly mode: KeyMode;
  readonly partition: PartitionScheme;
  readonly alpha: number;
  readonly seed: number;
  /** Same pipeline and seeds without encryption (plaintext FedAvg). */
  readonly plaintext: boolean;
  /** Local training of each round. */
  readonly training: FederationConfig["training"];
  /** Differential privacy (DP-SGD on every client); absent: off. */
  readonly dp?: FederationConfig["dp"];
  /** Train each client on only the first N examples of its share. */
  readonly trainLimit?: number;
  /** Evaluate on only the first N test images. */
  readonly testLimit?: number;
  /** Paillier workers per client process (default 1: the clients share the cores). */
  readonly clientWorkers?: number;
  /** Where to write the JSON summary. */
  readonly summaryPath?: string;
  /** Keep the federation folder (default: removed at the end). */
  readonly keep?: boolean;
  /** Serve the server's dashboard on this port (0: any free port; default: no dashboard). */
  readonly dashboardPort?: number;
  /** Write `report.html` and a copy of `history.json` into this folder (default: none). */
  readonly reportDir?: string;
  /** The model (default: the `lenet5` built-in). */
  readonly model?: ModelRequest;
  /** One file split among the clients instead of MNIST, and its test share. */
  readonly data?: { readonly source: DataSource; readonly testFraction: number };
  /** Lines of the demo itself. */
  readonly log: Logger;
  /** Where the parties' lines go (default: stderr). */
  readonly output?: (line: string) => void;
}

/** The JSON summary of a demo run. */
export interface DemoSummary {
  /** The last evaluated round's accuracy (null in the JSON for a regression). */
  readonly final_accuracy: number;
  /** The last evaluated round's loss (the test MSE of a regression). */
  readonly final_loss: number;
  /** The last evaluated round's mean absolute error (regression only). */
  readonly final_mae?: number;
  /** What the model learns. */
  readonly task: string;
  readonly total_seconds: number;
  readonly mode: KeyMode | "plaintext";
  readonly key_bits: number | null;
  readonly clients: number;
  readonly partition: PartitionScheme;
  readonly rounds: readonly {
    readonly round: number;
    readonly accuracy: number;
    readonly loss: number;
    readonly seconds: number;
    readonly bytes_in: number;
    readonly bytes_out: number;
    readonly upload_bytes_per_client: number;
    readonly phases: RoundRecord["seconds"];
    /** The test mean absolute error (regression). */
    readonly mae?: number;
    /** The largest epsilon a client has spent (DP federations). */
    readonly epsilon?: number;
  }[];
}

async function pipeLines(
  stream: ReadableStream<Uint8Array>,
  write: (line: string) => void,
): Promise<void> {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      write(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
    }
  }
  if (buffer) write(buffer);
}

/**
 * Writes party lines to stderr. On a terminal, progress lines ("training
 * 40%") replace each other on one status line instead of scrolling.
 */
function terminalWriter(): (line: string) => void {
  const encoder = new TextEncoder();
  const out = (text: string) => Deno.stderr.writeSync(encoder.encode(text));
  if (!Deno.stderr.isTerminal()) return (line) => out(line + "\n");
  let status = false;
  return (line) => {
    const progress = /training \d+%/.test(line);
    out(`${status ? "\r\x1b[K" : ""}${line}${progress ? "" : "\n"}`);
    status = progress;
  };
}

interface Party {
  readonly name: string;
  readonly child: Deno.ChildProcess;
  readonly output: Promise<void>;
}

/** A started federation: its parties and where the server writes its history. */
interface Running {
  readonly parties: Party[];
  readonly server: Deno.ChildProcess;
  readonly historyPath: string;
}

async function createDemoFederation(
  options: DemoOptions,
  dir: string,
  model?: FederationModel,
): Promise<string> {
  const he = !options.plaintext;
  const fed = `${dir}/federation`;
  await initFederation({
    model,
    dir: fed,
    clients: options.clients,
    rounds: options.rounds,
    mode: options.mode,
    keyBits: options.keyBits,
    keyKind: options.keyKind,
    encoding: "packed",
    quantBits: DEFAULT_QUANT_BITS,
    clipRange: 1,
    randomness: "djn",
    strategy: he ? "fedavg-he" : "fedavg",
    partition: options.partition,
    alpha: options.alpha,
    shardsPerClient: 2,
    seed: options.seed,
    training: options.training,
    dp: options.dp,
    serverUrl: `ws://127.0.0.1:${freePort()}`,
    ownerUrl: `ws://127.0.0.1:${freePort()}`,
    force: false,
  }, options.log);
  return fed;
}

/** The server's arguments: its bundle, the history, no lingering, the dashboard. */
function serverArgs(options: DemoOptions, fed: string, historyPath: string): string[] {
  const dashboard = options.dashboardPort === undefined
    ? ["--no-dashboard"]
    : ["--dashboard-port", `${options.dashboardPort}`];
  return ["serve", "--bundle", `${fed}/server`, "--history", historyPath, "--linger", "0"]
    .concat(dashboard);
}

/** Passes the server's lines on, and tells the dashboard's URL as soon as the server does. */
function serverWriter(options: DemoOptions, write: (line: string) => void): (line: string) => void {
  return (line) => {
    write(line);
    const url = line.match(/^\[server\] dashboard: (https?:\/\/\S+)$/)?.[1];
    if (url) options.log.info(`dashboard: ${url}`);
  };
}

function startParties(
  options: DemoOptions,
  dir: string,
  fed: string,
  write: (line: string) => void,
  files?: DemoFiles,
): Running {
  const parties: Party[] = [];
  const start = (name: string, args: string[], out = write) => {
    const cmd = selfCommand(args);
    const child = new Deno.Command(cmd.command, {
      args: cmd.args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = Promise.all([pipeLines(child.stdout, out), pipeLines(child.stderr, out)])
      .then(() => {});
    parties.push({ name, child, output });
    return child;
  };
  const historyPath = `${dir}/history.json`;
  if (!options.plaintext && options.mode === "owner") {
    start("owner", ["owner", "serve", "--bundle", `${fed}/owner`, ...(files?.owner ?? [])]);
  }
  const server = start(
    "server",
    serverArgs(options, fed, historyPath),
    serverWriter(options, write),
  );
  for (let i = 1; i <= options.clients; i++) {
    start(`client-${i}`, [
      "client",
      "--bundle",
      `${fed}/client-${i}`,
      "--workers",
      `${options.clientWorkers ?? 1}`,
      "--connect-timeout",
      "60",
      // Reproducible: the same seed gives the same demo, encrypted or not.
      "--train-seed",
      `${options.seed}`,
      ...(options.trainLimit ? ["--train-limit", `${options.trainLimit}`] : []),
      ...(options.testLimit ? ["--test-limit", `${options.testLimit}`] : []),
      ...(files?.clients[i - 1] ?? []),
    ]);
  }
  return { parties, server, historyPath };
}

/** Waits for the server to finish; a party that dies first is a failure. */
async function awaitServer(running: Running): Promise<void> {
  const { parties, server } = running;
  const exits = parties.map((p) => p.child.status.then((status) => ({ party: p, status })));
  const first = await Promise.race([
    server.status.then((status) => ({ party: parties.find((p) => p.child === server)!, status })),
    ...exits.filter((_, i) => parties[i]!.child !== server).map((e) =>
      e.then((x) => (x.status.success ? new Promise<never>(() => {}) : x))
    ),
  ]);
  if (!first.status.success) {
    throw new FlheError("unavailable", `${first.party.name} exited with code ${first.status.code}`);
  }
  // Give the others a moment to finish on the server's "done".
  const grace = new Promise((r) => setTimeout(r, 15_000));
  await Promise.race([Promise.all(exits), grace]);
  for (const p of parties) {
    try {
      p.child.kill("SIGTERM");
    } catch {
      // Already exited.
    }
  }
  await Promise.all(parties.map((p) => p.output));
}

function summarize(
  options: DemoOptions,
  task: string,
  history: readonly RoundRecord[],
  totalSeconds: number,
): DemoSummary {
  const he = !options.plaintext;
  const last = history.findLast((r) => !r.failed && !r.recovered);
  return {
    final_accuracy: last?.accuracy ?? NaN,
    final_loss: last?.loss ?? NaN,
    ...(task === "regression" ? { final_mae: last?.mae ?? NaN } : {}),
    task,
    total_seconds: Math.round(totalSeconds * 10) / 10,
    mode: he ? options.mode : "plaintext",
    key_bits: he ? options.keyBits : null,
    clients: options.clients,
    partition: options.partition,
    rounds: history.map((r) => ({
      round: r.round,
      accuracy: r.accuracy,
      loss: r.loss,
      seconds: r.seconds.round,
      bytes_in: r.bytesIn,
      bytes_out: r.bytesOut,
      upload_bytes_per_client: r.uploadBytesPerClient,
      phases: r.seconds,
      ...(r.mae === undefined ? {} : { mae: r.mae }),
      ...(r.epsilon === undefined ? {} : { epsilon: r.epsilon }),
    })),
  };
}

/** The files a demo writes into its report folder. */
function reportFiles(dir: string): { html: string; history: string } {
  return { html: `${dir}/report.html`, history: `${dir}/history.json` };
}

/**
 * Refuses, before anything runs, a report folder whose files the demo did
 * not write: `report.html` must be a report, `history.json` a round history.
 */
async function checkReportDir(dir: string): Promise<void> {
  const files = reportFiles(dir);
  await checkReportTarget(files.html);
  try {
    await readHistory(files.history);
  } catch (e) {
    if (e instanceof FlheError && /file not found$/.test(e.message)) return;
    throw new FlheError(
      "usage",
      `${files.history}: exists and is not a round history; move it away or pass --report DIR`,
    );
  }
}

/** Writes the report and a copy of the history next to it; returns the report's path. */
async function saveReport(dir: string, fed: string, historyPath: string): Promise<string> {
  const files = reportFiles(dir);
  await Deno.mkdir(dir, { recursive: true });
  const history = await readHistory(historyPath);
  const federation = federationInfo(await loadBundle(`${fed}/server`));
  await writeReport(files.html, history, federation);
  await writeFileAtomic(files.history, await Deno.readTextFile(historyPath));
  return await Deno.realPath(files.html);
}

/**
 * Runs the demo.
 *
 * @param options What to run.
 * @returns The summary.
 * @throws {FlheError} `unavailable` if a party fails; `usage`, before starting anything, if the
 *   report folder holds a `report.html` or `history.json` that the demo did not write.
 *
 * @example Usage
 * ```ts
 * import { runDemo } from "./demo.ts";
 * declare const options: import("./demo.ts").DemoOptions;
 * const summary = await runDemo(options);
 * ```
 */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const { log } = options;
  const started = performance.now();
  const write = options.output ?? terminalWriter();
  if (options.reportDir !== undefined) await checkReportDir(options.reportDir);
  const dir = await Deno.makeTempDir({ prefix: "flhe-demo-" });
  let running: Running | undefined;
  try {
    log.info(
      `${options.clients} clients, ${options.rounds} rounds, ${options.partition} partition, ` +
        (options.plaintext
          ? "plaintext FedAvg (no encryption)"
          : `${options.mode} mode, ${options.keyBits}-bit ${
            options.keyKind ?? "standard"
          } Paillier key`) +
        `, in ${dir}`,
    );
    const files = await demoFiles(options, dir);
    const fed = await createDemoFederation(options, dir, files?.model);
    running = startParties(options, dir, fed, write, files);
    await awaitServer(running);
    const history = await readHistory(running.historyPath);
    const task = files?.model.config.task ?? "multiclass";
    write(`\n${roundTable(history, task)}`);
    if (options.reportDir !== undefined) {
      const path = await saveReport(options.reportDir, fed, running.historyPath)
        .catch((e) => log.warn(`no report: ${e instanceof Error ? e.message : e}`));
      if (path) log.info(`report: ${path}`);
    }
    const summary = summarize(options, task, history, (performance.now() - started) / 1000);
    log.info(
      `final ${finalMetric(history, task)} after ${history.length} ` +
        `rounds, ${summary.total_seconds.toFixed(1)} s in all`,
    );
    if (options.summaryPath) {
      await writeFileAtomic(options.summaryPath, JSON.stringify(summary, null, 2) + "\n");
      log.info(`summary written to ${options.summaryPath}`);
    }
    return summary;
  } finally {
    for (const p of running?.parties ?? []) {
      try {
        p.child.kill("SIGKILL");
      } catch {
        // Already exited.
      }
    }
    if (options.keep) log.info(`federation kept in ${dir}`);
    else await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
