/**
 * One round as the server runs it, in named steps: select and send the fit,
 * collect who is ready, announce the contributors, collect their updates,
 * aggregate, finish, send the model and collect the evaluations. A round
 * that cannot finish is closed as failed: its number is never used again.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import type { Logger } from "../util/log.ts";
import type { ModelMessage, ReadyMessage, ReportMessage, UpdateMessage } from "../net/mod.ts";
import type {
  Aggregate,
  Announcement,
  Finisher,
  ModelKind,
  Ready,
  Strategy,
} from "../strategy/mod.ts";
import type { ClientRegistry, ConnectedClient } from "./server_clients.ts";
import { collect, trySend } from "./collect.ts";
import { announceMessage, evaluateResultOf, fitMessage, updateOf } from "./round_wire.ts";
import type { RoundRecord, ServerObserver } from "../rounds/mod.ts";

/** What a round needs from the server. */
export interface RoundContext {
  readonly strategy: Strategy;
  readonly finisher: Finisher;
  readonly clients: ClientRegistry;
  /** How long to wait for each client's answer. */
  readonly roundTimeoutMs: number;
  /** Rounds in all, for log lines. */
  readonly rounds: number;
  readonly log: Logger;
  /** Told what happens (phases, client activity). */
  readonly observe: ServerObserver;
}

/** A closed round: its record, and its model if it finished. */
export interface ClosedRound {
  readonly record: RoundRecord;
  readonly model?: ModelMessage;
}

const seconds = (fromMs: number) => Math.round(performance.now() - fromMs) / 1000;

/**
 * Runs one round once enough clients are connected.
 *
 * @param ctx Strategy, finisher, clients, timeouts.
 * @param round The round number (never used before).
 * @param baseRound The round of the current global model (0: initial).
 * @returns The closed round.
 *
 * @example Usage
 * ```ts
 * import { runRound } from "./server_round.ts";
 * declare const ctx: import("./server_round.ts").RoundContext;
 * const { record } = await runRound(ctx, 1, 0);
 * ```
 */
export async function runRound(
  ctx: RoundContext,
  round: number,
  baseRound: number,
): Promise<ClosedRound> {
  const { strategy, log } = ctx;
  const selected = await startRound(ctx, round, baseRound);
  const started = performance.now();
  const bytesBefore = ctx.clients.bytes();
  const ready = await collectReady(ctx, round, selected);
  const train = Math.max(0, ...ready.map((r) => r.trainSeconds));
  const uploadStart = performance.now();
  const upload = await uploadStep(ctx, strategy.configureAnnounce(ready));
  // From the announcement until the last update arrived, less the slowest encryption.
  const uploadSeconds = Math.max(0, seconds(uploadStart) - upload.encrypt);
  const closed = (failed: string, aggregateSeconds = 0): ClosedRound => {
    log.warn(`round ${round} failed: ${failed}`);
    return {
      record: record(ctx, round, started, bytesBefore, {
        failed,
        participants: upload.announcement?.set.map((m) => m.id) ?? [],
        totalWeight: 0,
        train,
        aggregate: aggregateSeconds,
      }),
    };
  };
  if (!upload.aggregateReady) return closed(upload.reason);
  ctx.observe({ type: "phase", round, phase: "aggregating" });
  const aggregateStart = performance.now();
  const aggregate = await strategy.aggregateFit();
  if (!aggregate) return closed("an update of the announced set is missing");
  const aggregateSeconds = seconds(aggregateStart);
  let finished;
  ctx.observe({ type: "phase", round, phase: "decrypting" });
  try {
    finished = await ctx.finisher.finish(aggregate);
  } catch (e) {
    if (!(e instanceof FlheError) || e.code !== "protocol") throw e;
    return closed(e.message, aggregateSeconds);
  }
  const model: ModelMessage = {
    type: "model",
    round,
    baseRound: finished.kind === "sealed" ? 0 : baseRound,
    kind: finished.kind,
    totalWeight: aggregate.totalWeight,
    contributors: aggregate.announcement.set.length,
    ...updatesOf(finished.kind, aggregate),
    evaluate: false,
    signature: finished.signature,
    payload: finished.payload,
  };
  ctx.observe({ type: "phase", round, phase: "evaluating" });
  const evaluateStart = performance.now();
  const reports = await evaluateStep(ctx, model, selected);
  const evaluation = strategy.aggregateEvaluate(reports.map(evaluateResultOf));
  const clientDecrypt = Math.max(0, ...reports.map((r) => r.decryptSeconds));
  const r = record(ctx, round, started, bytesBefore, {
    participants: aggregate.announcement.set.map((m) => m.id),
    totalWeight: aggregate.totalWeight,
    train,
    encrypt: upload.encrypt,
    upload: uploadSeconds,
    uploadBytes: upload.bytes,
    aggregate: aggregateSeconds,
    decrypt: finished.decryptSeconds + clientDecrypt,
    evaluate: seconds(evaluateStart),
    ...evaluation,
    ...privacyOf(reports),
  });
  return { record: r, model };
}

/** Waits for enough clients, then sends the fit to the selected ones. */
async function startRound(
  ctx: RoundContext,
  round: number,
  baseRound: number,
): Promise<ConnectedClient[]> {
  let lastLog = -Infinity;
  for (;;) {
    const instructions = ctx.strategy.configureFit(round, baseRound, ctx.clients.ids());
    if (instructions) {
      const selected = instructions.clients.map((id) => ctx.clients.get(id))
        .filter((c): c is ConnectedClient => c !== undefined);
      ctx.log.info(
        `round ${round}/${ctx.rounds}: training on ${selected.map((c) => c.id).join(", ")}`,
      );
      const fit = fitMessage(instructions.fit);
      for (const c of selected) {
        trySend(c.channel, fit);
        ctx.observe({ type: "client", id: c.id, activity: "training" });
      }
      ctx.observe({ type: "phase", round, phase: "training" });
      return selected;
    }
    if (lastLog < 0) ctx.observe({ type: "phase", round, phase: "waiting" });
    if (performance.now() - lastLog > 10_000) {
      ctx.log.info(`round ${round}: waiting for clients (${ctx.clients.ids().length} connected)`);
      lastLog = performance.now();
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Collects each selected client's "ready" (trained, with its weight). */
async function collectReady(
  ctx: RoundContext,
  round: number,
  selected: readonly ConnectedClient[],
): Promise<Ready[]> {
  const ready: Ready[] = [];
  await Promise.all(selected.map(async (c) => {
    const outcome = await collect<ReadyMessage>(c.channel, ctx.roundTimeoutMs, (m) => {
      if (m.type === "leave") {
        ctx.clients.depart(c.id, m.reason);
        return `left the federation: ${m.reason}`;
      }
      if (m.type !== "ready") {
        return `unexpected ${m.type} message; expected ready for round ${round}`;
      }
      if (m.round !== round) return `ready for round ${m.round}, but round ${round} is open`;
      return { value: m };
    });
    if (typeof outcome === "string") {
      ctx.strategy.fail({ clientId: c.id, reason: outcome });
      ctx.observe({ type: "client", id: c.id, activity: "failed" });
      ctx.log.warn(`round ${round}: ${c.id} not ready: ${outcome}`);
      return;
    }
    const m = outcome.value;
    ready.push({
      clientId: c.id,
      weight: m.weight,
      trainSeconds: m.trainSeconds,
      contributed: m.contributed,
    });
    ctx.observe({ type: "client", id: c.id, activity: "ready" });
  }));
  return ready;
}

interface UploadOutcome {
  readonly aggregateReady: boolean;
  readonly reason: string;
  readonly announcement?: Announcement;
  /** Slowest member's encryption seconds. */
  readonly encrypt: number;
  /** Mean upload bytes per member. */
  readonly bytes: number;
}

/**
 * Announces the set and collects its updates. There is no second set for a
 * round (protocol v3): members that uploaded are bound to this set for
 * their base model, so a round with a missing update fails, and a later
 * round from the same model can only announce the same set again.
 */
async function uploadStep(
  ctx: RoundContext,
  announcement: Announcement | null,
): Promise<UploadOutcome> {
  if (!announcement) {
    return { aggregateReady: false, reason: "too few clients ready", encrypt: 0, bytes: 0 };
  }
  const outcome = await collectUpdates(ctx, announcement);
  const missing = ctx.strategy.missing();
  return {
    aggregateReady: missing.length === 0,
    reason: `no update from ${missing.join(", ")}`,
    announcement,
    ...outcome,
  };
}

async function collectUpdates(
  ctx: RoundContext,
  a: Announcement,
): Promise<{ encrypt: number; bytes: number }> {
  let encrypt = 0;
  let bytes = 0;
  ctx.observe({ type: "phase", round: a.round, phase: "uploading" });
  await Promise.all(a.set.map(async ({ id }) => {
    const c = ctx.clients.get(id);
    ctx.observe({ type: "client", id, activity: "uploading" });
    if (!c || !trySend(c.channel, announceMessage(a))) {
      ctx.strategy.fail({ clientId: id, reason: "disconnected before the announcement" });
      return;
    }
    const outcome = await collect<UpdateMessage>(c.channel, ctx.roundTimeoutMs, (m) => {
      if (m.type !== "update") return `unexpected ${m.type} message; expected an update`;
      return { value: m };
    });
    try {
      if (typeof outcome === "string") throw new FlheError("unavailable", outcome);
      await ctx.strategy.acceptUpdate(id, updateOf(outcome.value));
      encrypt = Math.max(encrypt, outcome.value.encryptSeconds);
      bytes += outcome.value.payload.length;
      ctx.observe({ type: "client", id, activity: "uploaded" });
      ctx.log.info(
        `round ${a.round}: accepted the update of ${id} (weight ${outcome.value.weight})`,
      );
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      if (typeof outcome !== "string") {
        trySend(c.channel, { type: "error", code: "protocol", message: reason });
      }
      ctx.strategy.fail({ clientId: id, reason });
      ctx.observe({ type: "client", id, activity: "failed" });
      ctx.log.warn(`round ${a.round}: no usable update from ${id}: ${reason}`);
    }
  }));
  return { encrypt, bytes: Math.round(bytes / Math.max(1, a.set.length)) };
}

/** The set and signatures a model of updates carries, so that each client checks what it multiplies. */
function updatesOf(
  kind: ModelKind,
  aggregate: Aggregate,
): Pick<ModelMessage, "set" | "contributions"> {
  if (kind !== "updates") return { set: [], contributions: [] };
  return {
    set: aggregate.announcement.set.map(({ id, weight }) => ({ id, weight })),
    contributions: aggregate.contributions.map(({ id, signature }) => ({ id, signature })),
  };
}

/** Sends the model to every connected client; collects the selected ones' reports. */
async function evaluateStep(
  ctx: RoundContext,
  model: ModelMessage,
  selected: readonly ConnectedClient[],
): Promise<(ReportMessage & { readonly clientId: string })[]> {
  for (const c of ctx.clients.all()) {
    if (trySend(c.channel, { ...model, evaluate: selected.includes(c) })) {
      c.modelRound = model.round;
      if (selected.includes(c)) ctx.observe({ type: "client", id: c.id, activity: "evaluating" });
    }
  }
  const reports: (ReportMessage & { readonly clientId: string })[] = [];
  await Promise.all(selected.map(async (c) => {
    const outcome = await collect<ReportMessage>(c.channel, ctx.roundTimeoutMs, (m) => {
      if (m.type !== "report") return `unexpected ${m.type} message; expected a report`;
      if (m.round !== model.round) return `report for round ${m.round}, not ${model.round}`;
      return { value: m };
    });
    if (typeof outcome === "string") ctx.log.warn(`round ${model.round}: no report from ${c.id}`);
    else reports.push({ ...outcome.value, clientId: c.id });
    ctx.observe({ type: "client", id: c.id, activity: "waiting" });
  }));
  return reports;
}

interface RecordParts {
  readonly failed?: string;
  readonly participants: readonly string[];
  readonly totalWeight: number;
  readonly train: number;
  readonly encrypt?: number;
  readonly upload?: number;
  readonly uploadBytes?: number;
  readonly aggregate?: number;
  readonly decrypt?: number;
  readonly evaluate?: number;
  readonly loss?: number;
  readonly accuracy?: number;
  readonly mae?: number;
  readonly epsilonByClient?: Readonly<Record<string, number>>;
  readonly epsilon?: number;
}

/** The epsilon each DP client reported, and the worst: absent where nobody trains with DP. */
function privacyOf(
  reports: readonly (ReportMessage & { readonly clientId: string })[],
): Pick<RecordParts, "epsilon" | "epsilonByClient"> {
  const dp = reports.filter((r) => r.epsilon >= 0);
  if (dp.length === 0) return {};
  const byClient = Object.fromEntries(dp.map((r) => [r.clientId, r.epsilon]));
  return { epsilonByClient: byClient, epsilon: Math.max(...dp.map((r) => r.epsilon)) };
}

function record(
  ctx: RoundContext,
  round: number,
  started: number,
  bytesBefore: { in: number; out: number },
  parts: RecordParts,
): RoundRecord {
  const bytes = ctx.clients.bytes();
  const r3 = (x: number | undefined) => Math.round((x ?? 0) * 1000) / 1000;
  return {
    round,
    ...(parts.failed ? { failed: parts.failed } : {}),
    participants: parts.participants,
    failures: [...ctx.strategy.failures],
    totalWeight: parts.totalWeight,
    bytesIn: Math.max(0, bytes.in - bytesBefore.in),
    bytesOut: Math.max(0, bytes.out - bytesBefore.out),
    uploadBytesPerClient: parts.uploadBytes ?? 0,
    seconds: {
      train: r3(parts.train),
      encrypt: r3(parts.encrypt),
      upload: r3(parts.upload),
      aggregate: r3(parts.aggregate),
      decrypt: r3(parts.decrypt),
      evaluate: r3(parts.evaluate),
      round: r3(seconds(started)),
    },
    loss: parts.loss ?? NaN,
    accuracy: parts.accuracy ?? NaN,
    // Regression only: a classifier's reports carry no MAE.
    ...(parts.mae === undefined || Number.isNaN(parts.mae) ? {} : { mae: parts.mae }),
    ...(parts.epsilon === undefined
      ? {}
      : { epsilon: parts.epsilon, epsilonByClient: parts.epsilonByClient }),
  };
}
