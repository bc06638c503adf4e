export * from "../../src/he/mod.ts";
export { FlheError } from "../../src/error.ts";
