/**
 * `flhe demo`: the whole federation on one machine. Creates a federation in
 * a temporary folder and starts the owner service, the server and the
 * clients as separate processes of this same program, talking WebSocket on
 * loopback, on the MNIST that ships with flhe; prints each party's lines with
 * its name, then a table per round, and optionally a JSON summary.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { readJsonFile, writeFileAtomic } from "../util/fs.ts";
import type { PartitionScheme } from "../data/mod.ts";
import type { Logger } from "../util/log.ts";
import type { KeyKind } from "../he/mod.ts";
import type { FederationConfig, KeyMode } from "../federation/bundle.ts";
import { initFederation } from "./owner_init.ts";
import { selfCommand } from "./self_command.ts";
import type { RoundRecord } from "./server.ts";

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
  /** Lines of the demo itself. */
  readonly log: Logger;
  /** Where the parties' lines go (default: stderr). */
  readonly output?: (line: string) => void;
}

/** The JSON summary of a demo run. */
export interface DemoSummary {
  readonly final_accuracy: number;
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
  }[];
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
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

/**
 * Formats the per-round table.
 *
 * @param history The server's history.
 * @returns The table text.
 *
 * @example Usage
 * ```ts
 * import { roundTable } from "./demo.ts";
 * roundTable([]);
 * ```
 */
export function roundTable(history: readonly RoundRecord[]): string {
  const header = [
    "round",
    "clients",
    "accuracy",
    "loss",
    "train s",
    "encrypt s",
    "upload s",
    "aggregate s",
    "decrypt s",
    "round s",
    "upload KiB/client",
  ];
  const rows = history.map((r) =>
    r.failed || r.recovered
      ? [
        `${r.round}`,
        `${r.participants.length}`,
        r.failed ? "failed" : "recovered",
        ...header.slice(3).map(() => "-"),
      ]
      : [
        `${r.round}`,
        `${r.participants.length}`,
        `${(r.accuracy * 100).toFixed(2)}%`,
        r.loss.toFixed(4),
        r.seconds.train.toFixed(1),
        r.seconds.encrypt.toFixed(2),
        r.seconds.upload.toFixed(2),
        r.seconds.aggregate.toFixed(2),
        r.seconds.decrypt.toFixed(2),
        r.seconds.round.toFixed(1),
        (r.uploadBytesPerClient / 1024).toFixed(0),
      ]
  );
  const failed = history.filter((r) => r.failed);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join("  ");
  const notes = failed.map((r) => `round ${r.round} failed: ${r.failed}`);
  return [line(header), ...rows.map(line), ...notes].join("\n") + "\n";
}

/**
 * Runs the demo.
 *
 * @param options What to run.
 * @returns The summary.
 * @throws {FlheError} `unavailable` if a party fails.
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
  const dir = await Deno.makeTempDir({ prefix: "flhe-demo-" });
  const parties: Party[] = [];
  try {
    const [serverPort, ownerPort] = [freePort(), freePort()];
    const he = !options.plaintext;
    log.info(
      `${options.clients} clients, ${options.rounds} rounds, ${options.partition} partition, ` +
        (he
          ? `${options.mode} mode, ${options.keyBits}-bit Paillier`
          : "plaintext FedAvg (no encryption)") +
        `, in ${dir}`,
    );
    const fed = `${dir}/federation`;
    await initFederation({
      dir: fed,
      clients: options.clients,
      rounds: options.rounds,
      mode: options.mode,
      keyBits: options.keyBits,
      keyKind: options.keyKind,
      encoding: "packed",
      quantBits: 16,
      clipRange: 1,
      maxTotalWeight: 65_536,
      randomness: "djn",
      strategy: he ? "fedavg-he" : "fedavg",
      partition: options.partition,
      alpha: options.alpha,
      shardsPerClient: 2,
      seed: options.seed,
      training: options.training,
      serverUrl: `ws://127.0.0.1:${serverPort}`,
      ownerUrl: `ws://127.0.0.1:${ownerPort}`,
      force: false,
    }, log);

    const start = (name: string, args: string[]) => {
      const cmd = selfCommand(args);
      const child = new Deno.Command(cmd.command, {
        args: cmd.args,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const output = Promise.all([pipeLines(child.stdout, write), pipeLines(child.stderr, write)])
        .then(() => {});
      parties.push({ name, child, output });
      return child;
    };
    const historyPath = `${dir}/history.json`;
    if (he && options.mode === "owner") {
      start("owner", ["owner", "serve", "--bundle", `${fed}/owner`]);
    }
    const server = start("server", [
      "serve",
      "--bundle",
      `${fed}/server`,
      "--history",
      historyPath,
    ]);
    for (let i = 1; i <= options.clients; i++) {
      start(`client-${i}`, [
        "client",
        "--bundle",
        `${fed}/client-${i}`,
        "--workers",
        `${options.clientWorkers ?? 1}`,
        "--connect-timeout",
        "60",
        ...(options.trainLimit ? ["--train-limit", `${options.trainLimit}`] : []),
        ...(options.testLimit ? ["--test-limit", `${options.testLimit}`] : []),
      ]);
    }
    // The server decides when the federation is done; a party that dies first is a failure.
    const exits = parties.map((p) => p.child.status.then((status) => ({ party: p, status })));
    const serverStatus = await Promise.race([
      server.status.then((status) => ({ party: parties.find((p) => p.child === server)!, status })),
      ...exits.filter((_, i) => parties[i]!.child !== server).map((e) =>
        e.then((x) => (x.status.success ? new Promise<never>(() => {}) : x))
      ),
    ]);
    if (!serverStatus.status.success) {
      throw new FlheError(
        "unavailable",
        `${serverStatus.party.name} exited with code ${serverStatus.status.code}`,
      );
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
    const history = (await readJsonFile(historyPath)) as RoundRecord[];
    const totalSeconds = (performance.now() - started) / 1000;
    write(`\n${roundTable(history)}`);
    const summary: DemoSummary = {
      final_accuracy: history.findLast((r) => !r.failed)?.accuracy ?? NaN,
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
      })),
    };
    log.info(
      `final test accuracy ${
        (summary.final_accuracy * 100).toFixed(2)
      }% after ${history.length} rounds, ` +
        `${summary.total_seconds.toFixed(1)} s in all`,
    );
    if (options.summaryPath) {
      await writeFileAtomic(options.summaryPath, JSON.stringify(summary, null, 2) + "\n");
      log.info(`summary written to ${options.summaryPath}`);
    }
    return summary;
  } finally {
    for (const p of parties) {
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
