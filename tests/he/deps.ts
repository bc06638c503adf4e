export * from "../../src/he/mod.ts";
export { FlheError } from "../../src/util/error.ts";
export { toHex } from "../../src/util/hex.ts";
