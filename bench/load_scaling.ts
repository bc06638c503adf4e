/**
 * Load measurement: N real client processes (each its own TensorFlow.js and
 * worker) against one server and the owner service on loopback, owner mode,
 * tiny data (`--train-limit 50 --test-limit 100 --workers 1`). With
 * `--key-bits 2048` the federation uses owner init's default packing
 * (10-bit levels, clip 1, W = 32 per client rounded up to a power of two);
 * with 512 (the default, as in the CI test) the tests' 16-bit packing. Prints per N the seconds per round and
 * the server's aggregation and the owner's decryption seconds (from the
 * history), the clients' median seconds to mask, encrypt and sign (from
 * their lines), the peak resident memory (VmRSS sampled every 100 ms) of the
 * server, the owner and the largest client, and the time until all N
 * clients were connected.
 *
 * Run: `deno run -A bench/load_scaling.ts [--clients 5,10,20] [--rounds 2] [--key-bits 2048]`
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { RoundRecord } from "../src/rounds/mod.ts";
import {
  type Party,
  readModel,
  smallFederation,
  startParty,
  stopAll,
} from "../tests/parties/harness.ts";
import { loadBundle } from "../src/federation/mod.ts";
import { DEFAULT_QUANT_BITS } from "../src/parties/owner_init.ts";

/** What one load run measured. */
export interface LoadResult {
  readonly clients: number;
  /** The federation's packing headroom (to check the packed total weight). */
  readonly maxTotalWeight: number;
  readonly history: RoundRecord[];
  /** Seconds from the first process start until all clients were connected. */
  readonly connectSeconds: number;
  /** Seconds from the first process start until the server exited. */
  readonly wallSeconds: number;
  /** Per round, the median over clients of seconds to mask, encrypt and sign. */
  readonly contributeSeconds: readonly number[];
  /** Peak VmRSS in MiB. */
  readonly serverRssMiB: number;
  readonly ownerRssMiB: number;
  readonly clientRssMiB: number;
  /** Clients whose final model differs from the owner's. */
  readonly mismatched: string[];
  /** Processes that did not exit with 0, with their output. */
  readonly failed: string[];
}

function rssMiB(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
    return kb / 1024;
  } catch (e) {
    // Without full permissions /proc is off limits: say so rather than print 0.
    if (e instanceof Deno.errors.NotCapable) throw e;
    return 0; // Exited, or no /proc.
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Per round, the median of the clients' "masked ..., encrypted and signed in X s". */
function contributeMedians(clients: readonly Party[], rounds: number): number[] {
  const perRound: number[][] = Array.from({ length: rounds }, () => []);
  for (const c of clients) {
    for (const line of c.lines) {
      const hit = /round (\d+): masked for \d+ clients, encrypted and signed in ([\d.]+) s/.exec(
        line,
      );
      if (hit) perRound[Number(hit[1]) - 1]?.push(Number(hit[2]));
    }
  }
  return perRound.map((v) => v.length ? median(v) : NaN);
}

/**
 * Runs one federation of `clients` client processes for `rounds` rounds in a
 * fresh folder under `dir`.
 *
 * @param dir A folder for the federation (`fed-N` is made in it).
 * @param clients Client processes.
 * @param rounds Rounds.
 * @param keyBits Paillier key size: 512 (the tests' packing) or a real size (the defaults).
 * @returns The figures and any failures.
 *
 * @example Usage
 * ```ts
 * import { describe, runLoad } from "./load_scaling.ts";
 * console.log(describe(await runLoad(await Deno.makeTempDir(), 5, 2)));
 * ```
 */
export async function runLoad(
  dir: string,
  clients: number,
  rounds: number,
  keyBits = 512,
): Promise<LoadResult> {
  const fed = `${dir}/fed-${clients}`;
  const packing = keyBits === 512
    ? {}
    : { keyBits, quantBits: DEFAULT_QUANT_BITS, clipRange: 1, maxTotalWeight: undefined };
  await smallFederation(fed, { clients, rounds, ...packing });
  const { config } = await loadBundle(`${fed}/server`);
  const parties: Party[] = [];
  const peak = { server: 0, owner: 0, client: 0 };
  const start = performance.now();
  let sampler: ReturnType<typeof setInterval> | undefined;
  try {
    const owner = startParty("owner", [
      "owner",
      "serve",
      "--bundle",
      `${fed}/owner`,
      "--workers",
      "1",
    ]);
    const server = startParty("server", [
      "serve",
      "--bundle",
      `${fed}/server`,
      "--round-timeout",
      "300",
    ]);
    parties.push(owner, server);
    for (let i = 1; i <= clients; i++) {
      parties.push(startParty(`client-${i}`, [
        "client",
        "--bundle",
        `${fed}/client-${i}`,
        "--train-limit",
        "50",
        "--test-limit",
        "100",
        "--workers",
        "1",
      ]));
    }
    sampler = setInterval(() => {
      peak.server = Math.max(peak.server, rssMiB(server.child.pid));
      peak.owner = Math.max(peak.owner, rssMiB(owner.child.pid));
      for (const p of parties.slice(2)) peak.client = Math.max(peak.client, rssMiB(p.child.pid));
    }, 100);
    await server.waitFor(new RegExp(`\\(${clients} connected\\)`), 600_000);
    const connectSeconds = (performance.now() - start) / 1000;
    const failed: string[] = [];
    for (const p of parties) {
      const status = await p.done;
      if (status.code !== 0) failed.push(`${p.name} exited ${status.code}:\n${p.lines.join("\n")}`);
    }
    const wallSeconds = (performance.now() - start) / 1000;
    const history = JSON.parse(
      await Deno.readTextFile(`${fed}/server/history.json`),
    ) as RoundRecord[];
    const final = await readModel(`${fed}/owner/state/model-round-${rounds}.f32`);
    const mismatched: string[] = [];
    for (let i = 1; i <= clients; i++) {
      const m = await readModel(`${fed}/client-${i}/state/model.f32`);
      if (m.length !== final.length || m.some((v, j) => v !== final[j])) {
        mismatched.push(`client-${i}`);
      }
    }
    return {
      clients,
      maxTotalWeight: config.encoding.maxTotalWeight,
      history,
      connectSeconds,
      wallSeconds,
      contributeSeconds: contributeMedians(parties.slice(2), rounds),
      serverRssMiB: peak.server,
      ownerRssMiB: peak.owner,
      clientRssMiB: peak.client,
      mismatched,
      failed,
    };
  } finally {
    clearInterval(sampler);
    await stopAll(parties);
  }
}

/** One line of figures for a run. */
export function describe(r: LoadResult): string {
  const perRound = r.history.map((h) => h.seconds.round.toFixed(1)).join(", ");
  const upload = r.history.map((h) => h.seconds.upload.toFixed(1)).join(", ");
  const aggregate = r.history.map((h) => h.seconds.aggregate.toFixed(2)).join(", ");
  const decrypt = r.history.map((h) => h.seconds.decrypt.toFixed(2)).join(", ");
  const contribute = r.contributeSeconds.map((s) => s.toFixed(2)).join(", ");
  return `${r.clients} clients: round s [${perRound}] (upload phase [${upload}], ` +
    `server aggregation [${aggregate}], owner decryption [${decrypt}], ` +
    `client mask+encrypt+sign median [${contribute}]), ` +
    `all connected after ${r.connectSeconds.toFixed(1)} s, wall ${r.wallSeconds.toFixed(1)} s, ` +
    `peak RSS server ${r.serverRssMiB.toFixed(0)} MiB, owner ${r.ownerRssMiB.toFixed(0)} MiB, ` +
    `largest client ${r.clientRssMiB.toFixed(0)} MiB`;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      clients: { type: "string", default: "5,10,20" },
      rounds: { type: "string", default: "2" },
      "key-bits": { type: "string", default: "512" },
    },
  });
  const keyBits = Number(values["key-bits"]);
  if (![512, 2048, 3072].includes(keyBits)) {
    throw new Error(`--key-bits: ${values["key-bits"]} is not 512, 2048 or 3072`);
  }
  const dir = await Deno.makeTempDir({ prefix: "flhe-load-" });
  try {
    for (const n of values.clients.split(",").map(Number)) {
      const r = await runLoad(dir, n, Number(values.rounds), keyBits);
      console.log(describe(r));
      if (r.failed.length || r.mismatched.length) {
        console.log(`  problems: ${[...r.failed, ...r.mismatched].join("\n")}`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
