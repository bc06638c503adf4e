/**
 * The ranges and choices a federation's settings must respect, in one place:
 * the command line (`flhe owner init`, `flhe demo`, `flhe serve`) builds its
 * option tables from them, and `federation.json` is checked against them
 * when a bundle is loaded, so a file accepts exactly what the CLI accepts.
 *
 * Tests and benchmarks create federations with 512-bit keys, for speed. Loading such a federation needs the explicit
 * escape {@linkcode TEST_FEDERATIONS_ENV} in the environment; the command
 * line never accepts them.
 *
 * @module
 */

import { type Encoding, KEY_BITS_ALLOWED, type Randomness } from "../he/mod.ts";
import type { KeyMode, StrategyName } from "./federation_config.ts";

/** An inclusive range of numbers; `integer` when only whole numbers are allowed. */
export interface Range {
  /** Smallest allowed value. */
  readonly min: number;
  /** Largest allowed value. */
  readonly max: number;
  /** Whether the value must be an integer. */
  readonly integer: boolean;
}

/**
 * An inclusive range of integers.
 *
 * @param min Smallest allowed value.
 * @param max Largest allowed value.
 * @returns The range.
 *
 * @example Usage
 * ```ts
 * import { integers } from "./rules.ts";
 * integers(1, 10); // { min: 1, max: 10, integer: true }
 * ```
 */
export function integers(min: number, max: number): Range {
  return Object.freeze({ min, max, integer: true });
}

/**
 * An inclusive range of real numbers.
 *
 * @param min Smallest allowed value.
 * @param max Largest allowed value.
 * @returns The range.
 *
 * @example Usage
 * ```ts
 * import { reals } from "./rules.ts";
 * reals(0, 1); // { min: 0, max: 1, integer: false }
 * ```
 */
export function reals(min: number, max: number): Range {
  return Object.freeze({ min, max, integer: false });
}

/** Paillier key sizes a federation may use, in bits. */
export { KEY_BITS_ALLOWED };

/** Clients of a federation: fewer than two would let whoever decrypts see one client's update. */
export const CLIENTS: Range = integers(2, 1000);

/**
 * Fewest contributors of a round that keep each client's update hidden in
 * the aggregate, wherever {@linkcode minClientsFloor} asks for it.
 */
export const MIN_PRIVATE_CLIENTS = 2;

/** Training rounds of a federation. */
export const ROUNDS: Range = integers(1, 100_000);

/** Update encodings. */
export const ENCODINGS: readonly Encoding[] = ["packed", "per-weight"];

/** Kinds of encryption randomness. */
export const RANDOMNESS_KINDS: readonly Randomness[] = ["djn", "classic"];

/** Quantization bits of packed updates. */
export const QUANT_BITS: Range = integers(2, 24);

/** Clip range R of update values, which are clipped to [-R, R]. */
export const CLIP_RANGE: Range = reals(1e-6, 1e6);

/**
 * Packing headroom: the declared weights of a round's set are scaled so that
 * the packed weights sum to at most this (the slots have `log2` of it bits
 * of room above the quantization bits).
 */
export const MAX_TOTAL_WEIGHT: Range = integers(3, 2 ** 24);

/** The largest weight (training examples) one client may declare. */
export const MAX_CLIENT_WEIGHT: Range = integers(1, 2 ** 24);

/** Fraction bits of the per-weight fixed-point encoding. */
export const FRAC_BITS: Range = integers(0, 64);

/** Local epochs per round. */
export const EPOCHS: Range = integers(1, 1000);

/** Local batch size. */
export const BATCH_SIZE: Range = integers(1, 65_536);

/** Peak learning rate. */
export const LEARNING_RATE: Range = reals(1e-9, 100);

/** Momentum of the heavy-ball update rules. */
export const MOMENTUM: Range = reals(0, 0.999999);

/** Dirichlet concentration of the `dirichlet` partition. */
export const ALPHA: Range = reals(1e-6, 1e6);

/** Shards per client of the `shards` partition. */
export const SHARDS_PER_CLIENT: Range = integers(1, 1000);

/** Seed of the initial model, the partition and the shuffles. */
export const SEED: Range = integers(0, 2 ** 32 - 1);

/** A `ws://` or `wss://` URL, as the server and owner addresses must be. */
export const WS_URL: RegExp = /^wss?:\/\/\S+$/;

/**
 * Fewest clients a round of any federation may aggregate. With one
 * contributor the aggregate is that client's update, and the pairwise masks
 * that hide each update need a peer; plaintext comparison runs keep the same
 * rule so that they compare like with like.
 *
 * @param _mode Key custody.
 * @param _strategy Aggregation strategy.
 * @returns The smallest allowed `minClients`: {@linkcode MIN_PRIVATE_CLIENTS}.
 *
 * @example Usage
 * ```ts
 * import { minClientsFloor } from "./rules.ts";
 * minClientsFloor("shared-key", "fedavg"); // 2
 * ```
 */
export function minClientsFloor(_mode: KeyMode, _strategy: StrategyName): number {
  return MIN_PRIVATE_CLIENTS;
}

/**
 * Environment variable that, set to `1`, lets a party load a federation made
 * for tests: keys of {@linkcode TEST_KEY_BITS} instead of
 * {@linkcode KEY_BITS_ALLOWED} only. Such keys
 * are insecure; only the test harness and benchmarks set it, and the command
 * line ignores it.
 */
export const TEST_FEDERATIONS_ENV = "FLHE_INSECURE_TEST_FEDERATIONS";

/** Key sizes accepted from a test federation under {@linkcode TEST_FEDERATIONS_ENV}. */
export const TEST_KEY_BITS: Range = integers(512, 16_384);

/**
 * Whether {@linkcode TEST_FEDERATIONS_ENV} is set to `1` (`false` without
 * permission to read it).
 *
 * @returns `true` if test federations may be loaded.
 *
 * @example Usage
 * ```ts
 * import { testFederationsAllowed } from "./rules.ts";
 * testFederationsAllowed(); // false unless FLHE_INSECURE_TEST_FEDERATIONS=1
 * ```
 */
export function testFederationsAllowed(): boolean {
  try {
    return Deno.env.get(TEST_FEDERATIONS_ENV) === "1";
  } catch {
    return false;
  }
}
