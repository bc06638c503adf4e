/**
 * The federation every party belongs to: its configuration, each party's
 * bundle folder, and the public keys of its members.
 *
 * @module
 */

export * from "./federation_config.ts";
export * from "./credentials.ts";
export * from "./bundle.ts";
export * from "./peers.ts";
export * from "./limits.ts";
export * from "./model_config.ts";
export * from "./dp_config.ts";
