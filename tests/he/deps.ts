export * from "../../src/he/mod.ts";
export { FlheError } from "../../src/util/error.ts";
