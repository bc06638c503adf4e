/**
 * The server's checkpoint: every round it has closed (finished or failed),
 * the model message of each finished round, and the history, so a restarted
 * server resumes after the last closed round and never reuses a round number.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { writeFileAtomic } from "../util/fs.ts";
import type { ModelMessage } from "../net/mod.ts";
import type { Failure } from "../strategy/mod.ts";

/** One row of the history file. */
export interface RoundRecord {
  /** The round, from 1. */
  readonly round: number;
  /** Why the round produced no model (absent when it did). */
  readonly failed?: string;
  /** The model was recovered from the owner after a server restart (not evaluated). */
  readonly recovered?: boolean;
  /** Clients whose updates are in the aggregate. */
  readonly participants: readonly string[];
  /** Selected clients without a usable update, and why. */
  readonly failures: readonly Failure[];
  /** Sum of the participants' weights. */
  readonly totalWeight: number;
  /** Bytes the server received from clients during the round. */
  readonly bytesIn: number;
  /** Bytes the server sent to clients during the round. */
  readonly bytesOut: number;
  /** Upload bytes per participant (mean). */
  readonly uploadBytesPerClient: number;
  /** Seconds per phase; train and encrypt are the slowest client's. */
  readonly seconds: {
    readonly train: number;
    readonly encrypt: number;
    readonly upload: number;
    readonly aggregate: number;
    readonly decrypt: number;
    readonly evaluate: number;
    readonly round: number;
  };
  /** Clients' test loss, weighted by test examples. */
  readonly loss: number;
  /** Clients' test accuracy, weighted by test examples. */
  readonly accuracy: number;
}

/**
 * The record of a round the server did not run itself: one it recovered
 * from the owner after a restart, or one closed while it was away (`failed`).
 *
 * @param round The round.
 * @param failed Why the round failed; `undefined` for a recovered round.
 * @returns A record with no participants, bytes or seconds.
 *
 * @example Usage
 * ```ts
 * import { emptyRoundRecord } from "./server_store.ts";
 * emptyRoundRecord(3, undefined).recovered; // true
 * ```
 */
export function emptyRoundRecord(round: number, failed: string | undefined): RoundRecord {
  const zero = { train: 0, encrypt: 0, upload: 0, aggregate: 0, decrypt: 0, evaluate: 0, round: 0 };
  return {
    round,
    ...(failed ? { failed } : { recovered: true }),
    participants: [],
    failures: [],
    totalWeight: 0,
    bytesIn: 0,
    bytesOut: 0,
    uploadBytesPerClient: 0,
    seconds: zero,
    loss: NaN,
    accuracy: NaN,
  };
}

/** What the server keeps across restarts. */
export interface ServerState {
  /** The last round closed, finished or failed (0: none). */
  readonly closedRounds: number;
  /** One record per closed round. */
  readonly history: readonly RoundRecord[];
  /** The model message of every finished round, in order. */
  readonly models: readonly ModelMessage[];
}

/** Reads and writes the checkpoint. */
export interface CheckpointStore {
  /** Reads the checkpoint (empty state if there is none). */
  load(): Promise<ServerState>;
  /**
   * Writes the state after a round closed; the history file too.
   *
   * @param state The new state.
   */
  save(state: ServerState): Promise<void>;
}

/**
 * Creates the store.
 *
 * @param dir Folder of the checkpoint and the round models.
 * @param historyPath Where the history is written for people and tools.
 * @returns The store.
 *
 * @example Usage
 * ```ts
 * import { createCheckpointStore } from "./server_store.ts";
 * const store = createCheckpointStore("federation/server/state", "history.json");
 * const state = await store.load();
 * ```
 */
export function createCheckpointStore(dir: string, historyPath: string): CheckpointStore {
  const checkpointPath = `${dir}/checkpoint.json`;
  return {
    async load() {
      await Deno.mkdir(dir, { recursive: true });
      let text: string;
      try {
        text = await Deno.readTextFile(checkpointPath);
      } catch {
        return { closedRounds: 0, history: [], models: [] };
      }
      try {
        return await parseCheckpoint(dir, text);
      } catch (e) {
        throw new FlheError(
          "input",
          `${checkpointPath}: unreadable checkpoint (${
            (e as Error).message
          }); move it away to start afresh`,
        );
      }
    },
    async save(state) {
      const latest = state.models.at(-1);
      if (latest && !(await exists(`${dir}/round-${latest.round}.model`))) {
        await writeFileAtomic(`${dir}/round-${latest.round}.model`, latest.payload);
      }
      const models = state.models.map(({ payload: _, evaluate: __, ...rest }) => rest);
      await writeFileAtomic(
        checkpointPath,
        JSON.stringify({
          format: "flhe-server-checkpoint",
          version: 2,
          closedRounds: state.closedRounds,
          models,
          history: state.history,
        }) + "\n",
      );
      await writeFileAtomic(historyPath, JSON.stringify(state.history, null, 2) + "\n");
    },
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function parseCheckpoint(dir: string, text: string): Promise<ServerState> {
  // Written by this server only, after its own checks: a wrong shape is a
  // corrupt or foreign file, reported as such by the caller.
  const body = JSON.parse(text) as {
    version: number;
    closedRounds: number;
    models: Omit<ModelMessage, "payload" | "evaluate">[];
    history: RoundRecord[];
  };
  if (body.version !== 2 || !Number.isInteger(body.closedRounds)) {
    throw new Error(`checkpoint version ${body.version}, expected 2`);
  }
  const models: ModelMessage[] = [];
  for (const m of body.models) {
    const payload = await Deno.readFile(`${dir}/round-${m.round}.model`);
    models.push({ ...m, evaluate: false, payload });
  }
  return { closedRounds: body.closedRounds, history: body.history, models };
}
