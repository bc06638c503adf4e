/**
 * A client's persistent state: the global model it holds and its round, in
 * one file, so that a crash can never pair a model with the wrong round
 * (which would apply an update twice). The model is what the federation
 * protects from the server: the folder and files are private to the client.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { writeFileAtomic } from "../util/fs.ts";

/** The file of the client's state: the round (uint32, big-endian), then the model. */
const CLIENT_STATE_FILE = "client-state.bin";

/** The global model a client holds. */
export interface HeldModel {
  /** The round it belongs to (0: the initial model). */
  readonly round: number;
  /** Its weights. */
  readonly weights: Float32Array;
}

/** Reads and writes the client's model state. */
export interface ClientStateStore {
  /** The saved model, or the initial one. */
  load(): Promise<HeldModel>;
  /**
   * Saves a model and its round.
   *
   * @param model The model.
   */
  save(model: HeldModel): Promise<void>;
}

/**
 * Reads the model a client holds from its state folder, without creating
 * anything.
 *
 * @param dir The client's state folder.
 * @param count The model's parameter count.
 * @returns The model and its round, or `undefined` if the client never saved one.
 * @throws {FlheError} `input` naming the file if it cannot be read or has the wrong size.
 * @example
 * ```ts
 * import { readClientState } from "./client_state.ts";
 * const held = await readClientState("federation/client-1/state", 131);
 * ```
 */
export async function readClientState(
  dir: string,
  count: number,
): Promise<HeldModel | undefined> {
  const path = `${dir}/${CLIENT_STATE_FILE}`;
  const saved = await Deno.readFile(path).catch((e) => {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new FlheError("input", `${path}: cannot read (${(e as Error).message})`);
  });
  if (!saved) return undefined;
  if (saved.length !== 4 + count * 4) {
    throw new FlheError(
      "input",
      `${path}: ${saved.length} bytes, expected ${
        4 + count * 4
      }; restore it from a backup, or move it away to start from the initial model (the contribution ledger still holds)`,
    );
  }
  const round = new DataView(saved.buffer, saved.byteOffset).getUint32(0);
  return { round, weights: new Float32Array(saved.slice(4).buffer) };
}

/**
 * Creates the store in `dir` (created private if missing).
 *
 * @param dir The client's state folder.
 * @param initial The federation's initial model.
 * @returns The store.
 *
 * @example Usage
 * ```ts
 * import { createClientStateStore } from "./client_state.ts";
 * const store = createClientStateStore("federation/client-1/state", new Float32Array(4));
 * const held = await store.load();
 * ```
 */
export function createClientStateStore(dir: string, initial: Float32Array): ClientStateStore {
  const path = `${dir}/${CLIENT_STATE_FILE}`;
  const count = initial.length;
  return {
    async load() {
      await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
      return await readClientState(dir, count) ?? { round: 0, weights: Float32Array.from(initial) };
    },
    async save(model) {
      const w = model.weights;
      const bytes = new Uint8Array(4 + w.byteLength);
      new DataView(bytes.buffer).setUint32(0, model.round);
      bytes.set(new Uint8Array(w.buffer, w.byteOffset, w.byteLength), 4);
      await writeFileAtomic(path, bytes, 0o600);
      // The model alone, for the user; never read back.
      await writeFileAtomic(`${dir}/model.f32`, bytes.subarray(4), 0o600);
    },
  };
}
