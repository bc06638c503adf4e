/**
 * The owner's record of its decisions: the last round decided (decrypted or
 * burned), its latest model, and a request being decrypted, in `owner.json`
 * and `model-round-N.f32` under its state folder, written durably. Without
 * this record the owner would not know which rounds it already decrypted,
 * so a damaged one stops it: there is no starting afresh.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { JsonFields, writeFileAtomic } from "../util/fs.ts";
import { sha256Hex, toHex } from "../util/hex.ts";
import type { Logger } from "../util/log.ts";
import type { PaillierPool } from "../he/mod.ts";
import { sealModel, signModel } from "../secagg/mod.ts";
import type { Bundle } from "../federation/mod.ts";
import type { PolicyContext } from "./owner_policy.ts";

/** The owner's decisions so far. */
export interface OwnerState {
  /** The last round decided (decrypted or burned; 0: none). */
  round: number;
  /** The model after the last decrypted round. */
  model: Float32Array;
  /** The round of `model`. */
  modelRound: number;
  /** The answer for `round`, if it was decrypted. */
  answer?: { readonly payload: Uint8Array; readonly signature: string };
  /**
   * Digest of the request for `round` while it is being decrypted: if the
   * owner dies meanwhile, only this very request may be decrypted again
   * (the same ciphertexts give the same plaintext; nothing new is learned).
   */
  pending?: string;
}

export interface OwnerParts {
  readonly bundle: Bundle;
  readonly policy: PolicyContext;
  readonly pool: PaillierPool;
  readonly stateDir: string;
  readonly log: Logger;
  readonly onModel?: (round: number, model: Float32Array) => void;
}

/** What `owner.json` records. */
export interface OwnerRecord {
  /** The last round decided (decrypted or burned). */
  readonly round: number;
  /** The round of the latest model (0: the initial model). */
  readonly modelRound: number;
  /** Digest of the request being decrypted, if any. */
  readonly pending?: string;
}

/**
 * The file of the model after a decrypted round. The owner keeps every
 * round's model.
 *
 * @param stateDir The owner's state folder.
 * @param round The round.
 * @returns `STATE/model-round-R.f32`.
 * @example
 * ```ts
 * modelRoundPath("federation/owner/state", 3); // "federation/owner/state/model-round-3.f32"
 * ```
 */
export function modelRoundPath(stateDir: string, round: number): string {
  return `${stateDir}/model-round-${round}.f32`;
}

/**
 * Reads the owner's record of its decisions, `STATE/owner.json`.
 *
 * @param stateDir The owner's state folder.
 * @returns The record, or `undefined` if the owner never decided a round.
 * @throws {FlheError} `input` naming the file if it cannot be read or parsed.
 * @example
 * ```ts
 * const record = await readOwnerRecord("federation/owner/state");
 * ```
 */
export async function readOwnerRecord(stateDir: string): Promise<OwnerRecord | undefined> {
  const statePath = `${stateDir}/owner.json`;
  const text = await Deno.readTextFile(statePath).catch((e) => {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new FlheError("input", `${statePath}: cannot read (${(e as Error).message})`);
  });
  if (text === undefined) return undefined;
  try {
    const f = new JsonFields(statePath, JSON.parse(text));
    const round = f.number("round", 0, 1_000_000);
    const modelRound = f.number("modelRound", 0, round);
    return { round, modelRound, pending: f.optionalString("pending", /^[0-9a-f]{64}$/) };
  } catch (e) {
    throw new FlheError(
      "input",
      `${statePath}: ${
        (e as Error).message
      }; this file is the owner's record of the rounds it decrypted, and the owner does not decrypt without it (restore the state folder from a backup)`,
    );
  }
}

export async function loadOwnerState(parts: OwnerParts): Promise<OwnerState> {
  const { bundle, stateDir } = parts;
  await Deno.mkdir(stateDir, { recursive: true, mode: 0o700 });
  const initial = Float32Array.from(bundle.initialModel!);
  const record = await readOwnerRecord(stateDir);
  if (record === undefined) return { round: 0, model: initial, modelRound: 0 };
  const { round, modelRound, pending } = record;
  if (modelRound === 0) return { round, model: initial, modelRound, pending };
  const modelPath = modelRoundPath(stateDir, modelRound);
  const bytes = await Deno.readFile(modelPath).catch(() => new Uint8Array(0));
  if (bytes.length !== bundle.config.parameterCount * 4) {
    throw new FlheError(
      "input",
      `${modelPath}: missing or ${bytes.length} bytes, expected ${
        bundle.config.parameterCount * 4
      }`,
    );
  }
  const model = new Float32Array(bytes.buffer, 0, bundle.config.parameterCount);
  const state: OwnerState = { round, model, modelRound, pending };
  if (modelRound === round) state.answer = await seal(parts, round, model);
  parts.log.info(`resuming at round ${round} (model of round ${modelRound}) from ${stateDir}`);
  return state;
}

export async function saveOwnerState(parts: OwnerParts, state: OwnerState): Promise<void> {
  await writeFileAtomic(
    `${parts.stateDir}/owner.json`,
    JSON.stringify({ round: state.round, modelRound: state.modelRound, pending: state.pending }) +
      "\n",
    0o600,
  );
}

export async function seal(
  parts: OwnerParts,
  round: number,
  model: Float32Array,
): Promise<{ payload: Uint8Array; signature: string }> {
  const { config, groupKey, ownerSigningKey } = parts.bundle;
  const payload = await sealModel(groupKey!, round, config.fingerprint, model);
  const signature = await signModel(ownerSigningKey!.signing.privateKey, {
    context: config.fingerprint,
    round,
    digest: await sha256Hex(payload),
  });
  return { payload, signature: toHex(signature) };
}
