export * from "../../src/dp/mod.ts";
export { FlheError } from "../../src/util/error.ts";
