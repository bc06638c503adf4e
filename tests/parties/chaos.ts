/**
 * Chaos for a whole federation on loopback: owner, server and clients run as
 * real processes under a small supervisor that restarts any of them, with
 * the same command, after a kill -9. Kills are drawn from a seeded generator:
 * which party, at which moment (a line the party prints: mid-training,
 * mid-decryption, between seal and relay, during recovery, during the linger
 * after the last round) and how long until the restart.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Rng } from "../../src/util/rng.ts";
import type { InitOptions } from "../../src/parties/owner_init.ts";
import {
  type Party,
  QUICK_CLIENT_ARGS,
  readModel,
  smallFederation,
  startParty,
} from "./harness.ts";

/** A moment to kill at: a party kind and a line it prints. */
export interface Moment {
  readonly kind: "owner" | "server" | "client";
  readonly phase: string;
  readonly pattern: RegExp;
}

/** The moments a kill may be aimed at. */
export const MOMENTS: readonly Moment[] = [
  { kind: "owner", phase: "mid-decryption", pattern: /checking and decrypting the updates/ },
  { kind: "owner", phase: "after sealing", pattern: /sealed the model of/ },
  { kind: "server", phase: "between seal and relay", pattern: /sealed the model of/ },
  { kind: "server", phase: "training", pattern: /training on client/ },
  { kind: "server", phase: "uploads", pattern: /accepted the update of/ },
  { kind: "server", phase: "recovery", pattern: /connected to the owner service/ },
  { kind: "server", phase: "linger", pattern: /all \d+ rounds (were already )?done/ },
  { kind: "client", phase: "training", pattern: /training 25%/ },
  { kind: "client", phase: "after upload", pattern: /masked for \d+ clients/ },
  { kind: "client", phase: "after the model", pattern: /global model test accuracy/ },
];

/** What one kill did. */
export interface Kill {
  readonly party: string;
  readonly phase: string;
  readonly restartDelayMs: number;
}

/** A supervised party: restarted with the same command after each kill. */
interface Supervised {
  readonly name: string;
  readonly args: string[];
  incarnations: Party[];
  /** Every line of every incarnation. */
  readonly lines: string[];
}

/** The outcome of one chaos run. */
export interface ChaosResult {
  readonly kills: readonly Kill[];
  /** Lines of each party (all incarnations), for a failure's message. */
  readonly lines: ReadonlyMap<string, readonly string[]>;
}

/** Options of {@linkcode runChaos}. */
export interface ChaosOptions {
  readonly seed: number;
  readonly kills: number;
  readonly rounds: number;
  readonly clients?: number;
  readonly overrides?: Partial<InitOptions>;
  /** Longest the whole run may take. */
  readonly deadlineMs?: number;
}

function supervise(name: string, args: string[]): Supervised {
  const s: Supervised = { name, args, incarnations: [], lines: [] };
  restart(s);
  return s;
}

function restart(s: Supervised): void {
  const p = startParty(`${s.name}#${s.incarnations.length + 1}`, s.args);
  void p.done.then(() => gone.add(p));
  s.incarnations.push(p);
  // Lines are shared so that a pattern is looked for across incarnations.
  const push = p.lines.push.bind(p.lines);
  p.lines.push = (...items: string[]) => {
    s.lines.push(...items);
    return push(...items);
  };
}

const current = (s: Supervised): Party => s.incarnations.at(-1)!;

function seen(s: Supervised, pattern: RegExp, from: number): boolean {
  return s.lines.slice(from).some((l) => pattern.test(l));
}

/**
 * Runs a federation with `kills` seeded kills and restarts, and checks the
 * outcome: every party exits by itself with 0, every client holds the
 * owner's final sealed model (byte equal), the owner sealed each round at
 * most once.
 */
export async function runChaos(fed: string, options: ChaosOptions): Promise<ChaosResult> {
  const rng = new Rng(options.seed);
  const clients = options.clients ?? 2;
  await smallFederation(fed, { rounds: options.rounds, clients, ...options.overrides });
  const parties = new Map<string, Supervised>();
  parties.set(
    "owner",
    supervise("owner", ["owner", "serve", "--bundle", `${fed}/owner`, "--workers", "1"]),
  );
  parties.set(
    "server",
    supervise("server", [
      "serve",
      "--bundle",
      `${fed}/server`,
      "--round-timeout",
      "60",
      "--linger",
      "10",
    ]),
  );
  for (let i = 1; i <= clients; i++) {
    parties.set(
      `client-${i}`,
      supervise(`client-${i}`, ["client", "--bundle", `${fed}/client-${i}`, ...QUICK_CLIENT_ARGS]),
    );
  }
  const kills: Kill[] = [];
  const deadline = Date.now() + (options.deadlineMs ?? 240_000);
  try {
    for (let k = 0; k < options.kills; k++) {
      const moment = MOMENTS[Math.floor(rng.float() * MOMENTS.length)]!;
      const name = moment.kind === "client"
        ? `client-${1 + Math.floor(rng.float() * clients)}`
        : moment.kind;
      const target = parties.get(name)!;
      const watch = moment.phase === "between seal and relay" ? parties.get("owner")! : target;
      const from = watch.lines.length;
      const hit = await until(() => seen(watch, moment.pattern, from), deadline, parties);
      if (!hit) break;
      const restartDelayMs = Math.floor(rng.float() * 3000);
      const victim = current(target);
      victim.child.kill("SIGKILL");
      await victim.done;
      kills.push({ party: name, phase: moment.phase, restartDelayMs });
      await new Promise((r) => setTimeout(r, restartDelayMs));
      restart(target);
    }
    await finishes(parties, deadline);
    await checkOutcome(fed, parties, clients);
    return { kills, lines: new Map([...parties].map(([n, s]) => [n, s.lines])) };
  } finally {
    for (const s of parties.values()) {
      for (const p of s.incarnations) {
        try {
          p.child.kill("SIGKILL");
        } catch { /* already gone */ }
        await p.done;
      }
    }
  }
}

/** Waits for `ok()`; false when the run is over (all exited) or past the deadline. */
async function until(
  ok: () => boolean,
  deadline: number,
  parties: Map<string, Supervised>,
): Promise<boolean> {
  while (Date.now() < deadline) {
    if (ok()) return true;
    const running = [...parties.values()].some((s) => !exited(current(s)));
    if (!running) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

const gone = new WeakSet<Party>();

function exited(p: Party): boolean {
  return gone.has(p);
}

async function finishes(parties: Map<string, Supervised>, deadline: number): Promise<void> {
  const report = () =>
    [...parties.values()].map((s) => `${s.name}:\n${s.lines.slice(-25).join("\n")}`).join("\n\n");
  for (const s of parties.values()) {
    const left = Math.max(1, deadline - Date.now());
    const status = await Promise.race([
      current(s).done,
      new Promise<undefined>((r) => setTimeout(() => r(undefined), left)),
    ]);
    assert.ok(status, `${s.name} still running at the deadline\n\n${report()}`);
    assert.equal(status.code, 0, `${s.name} exited with ${status.code}\n\n${report()}`);
  }
}

async function checkOutcome(
  fed: string,
  parties: Map<string, Supervised>,
  clients: number,
): Promise<void> {
  const owner = JSON.parse(await Deno.readTextFile(`${fed}/owner/state/owner.json`));
  const sealed = new Map<number, number>();
  for (const line of parties.get("owner")!.lines) {
    const m = /round (\d+): sealed the model of/.exec(line);
    if (m) sealed.set(Number(m[1]), (sealed.get(Number(m[1])) ?? 0) + 1);
  }
  for (const [round, n] of sealed) assert.equal(n, 1, `round ${round} sealed ${n} times`);
  assert.ok(owner.modelRound > 0, "no round produced a model");
  const final = await readModel(`${fed}/owner/state/model-round-${owner.modelRound}.f32`);
  for (let i = 1; i <= clients; i++) {
    assert.deepEqual(
      await readModel(`${fed}/client-${i}/state/model.f32`),
      final,
      `client-${i} holds the owner's final model`,
    );
  }
}
