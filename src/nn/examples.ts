/**
 * What the models train on: typed arrays, not any data set type of
 * `src/data` (which knows nothing of `src/nn` either; its `Dataset` happens to
 * have these fields).
 *
 * @module
 */

/**
 * Examples and their labels.
 *
 * @example
 * ```ts
 * const data: Examples = { features: new Float32Array(8), labels: new Uint8Array(2), count: 2 };
 * ```
 */
export interface Examples {
  /** `count` examples of the model's input size each, row-major, before input scaling. */
  readonly features: Uint8Array | Float32Array;
  /** One label per example: a class index, 0/1 (binary) or a target (regression). */
  readonly labels: Uint8Array | Int32Array | Float32Array;
  /** Number of examples. */
  readonly count: number;
}
