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
  const path = `${dir}/client-state.bin`;
  const count = initial.length;
  return {
    async load() {
      await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
      const saved = await Deno.readFile(path).catch((e) => {
        if (e instanceof Deno.errors.NotFound) return undefined;
        throw new FlheError("input", `${path}: cannot read (${(e as Error).message})`);
      });
      if (!saved) return { round: 0, weights: Float32Array.from(initial) };
      if (saved.length !== 4 + count * 4) {
        throw new FlheError(
          "input",
          `${path}: ${saved.length} bytes, expected ${
            4 + count * 4
          }; restore it from a backup, or move it away to start from the initial model (the contribution ledger still holds)`,
        );
      }
      const round = new DataView(saved.buffer).getUint32(0);
      return { round, weights: new Float32Array(saved.buffer.slice(4)) };
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
