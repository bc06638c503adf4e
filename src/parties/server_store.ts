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
import type { RoundRecord } from "../rounds/mod.ts";

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
