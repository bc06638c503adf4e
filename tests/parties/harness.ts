/**
 * Test harness for the parties: real processes of this program, started the
 * way `flhe demo` starts them, with their output captured.
 *
 * @module
 */

import { initFederation, type InitOptions } from "../../src/parties/owner_init.ts";
import { selfCommand } from "../../src/parties/self_command.ts";
import { createLogger } from "../../src/util/log.ts";
import { TEST_FEDERATIONS_ENV } from "../../src/federation/rules.ts";

// The federations below use 512-bit keys and may have rounds of one client,
// for speed; the explicit escape lets this process and the parties it starts
// (which inherit the environment) load them.
Deno.env.set(TEST_FEDERATIONS_ENV, "1");

/** Client options for quick runs: small slices of the data, one worker. */
export const QUICK_CLIENT_ARGS: readonly string[] = [
  "--train-limit",
  "200",
  "--test-limit",
  "200",
  "--workers",
  "1",
];

/** A running party. */
export interface Party {
  readonly name: string;
  readonly child: Deno.ChildProcess;
  /** Output lines so far. */
  readonly lines: string[];
  /** Resolves with the first line matching `pattern`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves when the process exits and its output is read. */
  readonly done: Promise<Deno.CommandStatus>;
}

import { freePort } from "../../src/util/free_port.ts";

/** A free loopback port. */
export { freePort };

/** Creates a small, fast federation in `dir`. */
export async function smallFederation(
  dir: string,
  overrides: Partial<InitOptions> = {},
): Promise<void> {
  await initFederation({
    dir,
    clients: 2,
    rounds: 2,
    mode: "owner",
    keyBits: 512,
    encoding: "packed",
    quantBits: 16,
    clipRange: 0.5,
    maxTotalWeight: 65_536,
    randomness: "djn",
    partition: "iid",
    alpha: 0.5,
    shardsPerClient: 2,
    seed: 3,
    training: {
      epochs: 1,
      batchSize: 32,
      optimizer: "adam",
      learningRate: 0.002,
      momentum: 0,
      schedule: "cosine",
    },
    serverUrl: `ws://127.0.0.1:${freePort()}`,
    ownerUrl: `ws://127.0.0.1:${freePort()}`,
    force: false,
    ...overrides,
  }, createLogger("test", () => {}));
}

/**
 * Starts `flhe ARGS` as a process and captures its lines; `prefix` runs it
 * through another program (e.g. `["ip", "netns", "exec", "ns1"]`).
 */
export function startParty(name: string, args: string[], prefix: string[] = []): Party {
  const cmd = selfCommand(args);
  const [command, ...rest] = [...prefix, cmd.command, ...cmd.args];
  const child = new Deno.Command(command!, {
    args: rest,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const watchers: { pattern: RegExp; resolve(line: string): void }[] = [];
  const read = async (stream: ReadableStream<Uint8Array>) => {
    let buffer = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        lines.push(line);
        if (Deno.env.get("FLHE_TEST_VERBOSE")) console.error(`${name}| ${line}`);
        for (const w of [...watchers]) {
          if (w.pattern.test(line)) {
            watchers.splice(watchers.indexOf(w), 1);
            w.resolve(line);
          }
        }
      }
    }
    if (buffer) lines.push(buffer);
  };
  const output = Promise.all([read(child.stdout), read(child.stderr)]);
  const done = child.status.then(async (status) => {
    await output;
    return status;
  });
  return {
    name,
    child,
    lines,
    done,
    waitFor(pattern: RegExp, timeoutMs = 120_000): Promise<string> {
      const seen = lines.find((l) => pattern.test(l));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `${name}: no line matching ${pattern} within ${timeoutMs} ms:\n${lines.join("\n")}`,
              ),
            ),
          timeoutMs,
        );
        watchers.push({
          pattern,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
      });
    },
  };
}

/** Kills what is still running and waits for every party. */
export async function stopAll(parties: readonly Party[]): Promise<void> {
  for (const p of parties) {
    try {
      p.child.kill("SIGKILL");
    } catch {
      // Exited already.
    }
  }
  await Promise.all(parties.map((p) => p.done));
}

/** Reads a little-endian float32 file. */
export async function readModel(path: string): Promise<Float32Array> {
  const bytes = await Deno.readFile(path);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

/** Pearson correlation of two equally long vectors. */
export function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ma = 0, mb = 0;
  for (let i = 0; i < a.length; i++) (ma += a[i]!, mb += b[i]!);
  ma /= a.length;
  mb /= b.length;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < a.length; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

/** Largest absolute difference of two vectors. */
export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
