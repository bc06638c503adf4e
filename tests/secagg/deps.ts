export * from "../../src/secagg/mod.ts";
export { FlheError } from "../../src/util/error.ts";
