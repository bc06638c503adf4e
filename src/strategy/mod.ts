/**
 * Aggregation strategies, shaped like Flower's: {@linkcode Strategy} owns a
 * round's state; {@linkcode Finisher} turns its aggregate into the model
 * clients receive.
 *
 * @module
 */

export * from "./rounds.ts";
export * from "./strategy.ts";
export * from "./fedavg.ts";
export * from "./fedavg_he.ts";
export * from "./finishers.ts";
