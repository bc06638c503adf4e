/**
 * The layering rules of the layout, read from the imports of every file in
 * `src`: strategy speaks rounds, never wire messages; the dashboard reads the
 * round vocabulary, never the server's files; he, secagg, nn and data know
 * nothing of each other or of the network; util knows nothing of the rest.
 * A rule that comes back broken fails here, naming the file and the import.
 */
import assert from "node:assert/strict";
import { importSpecifiers, sourceFiles, srcFolderOf } from "./source_scan.ts";

const FILES = sourceFiles();

/** `file: specifier` for each import from a file in `from` into one of the `into` folders. */
function crossings(from: string, into: (folder: string) => boolean): string[] {
  const found: string[] = [];
  for (const file of FILES) {
    if (srcFolderOf(file.path, "./x") !== from) continue;
    for (const specifier of importSpecifiers(file.text)) {
      const folder = srcFolderOf(file.path, specifier);
      if (folder !== undefined && folder !== from && into(folder)) {
        found.push(`${file.path}: ${specifier}`);
      }
    }
  }
  return found;
}

function assertNone(from: string, into: readonly string[], found: string[]): void {
  assert.deepEqual(
    found,
    [],
    `src/${from} must not import src/${into.join(", src/")}; found:\n  ${found.join("\n  ")}`,
  );
}

Deno.test("src/strategy imports nothing from src/net (the server translates wire messages)", () => {
  assertNone("strategy", ["net"], crossings("strategy", (f) => f === "net"));
});

Deno.test("src/dashboard imports nothing from src/parties (it reads src/rounds)", () => {
  assertNone("dashboard", ["parties"], crossings("dashboard", (f) => f === "parties"));
});

Deno.test("src/nn imports nothing from src/data (models take tensors, not data sets)", () => {
  assertNone("nn", ["data"], crossings("nn", (f) => f === "data"));
});

Deno.test("src/he, src/secagg, src/nn and src/data import none of each other, src/net or src/parties", () => {
  const leaves = ["he", "secagg", "nn", "data"];
  for (const from of leaves) {
    // nn -> data has its own test above.
    const into = [...leaves, "net", "parties"].filter((f) => f !== from)
      .filter((f) => !(from === "nn" && f === "data"));
    assertNone(from, into, crossings(from, (f) => into.includes(f)));
  }
});

Deno.test("src/util imports nothing else in src", () => {
  assertNone("util", ["(anything)"], crossings("util", () => true));
});

Deno.test("src/rounds imports nothing from src/parties, src/dashboard, src/net or src/cli", () => {
  const into = ["parties", "dashboard", "net", "cli"];
  assertNone("rounds", into, crossings("rounds", (f) => into.includes(f)));
});

Deno.test("importSpecifiers() finds every kind of import and none in comments or strings", () => {
  const text = [
    'import { a } from "../net/mod.ts";',
    'import type {\n  B,\n  C,\n} from "../net/messages.ts";',
    'export * from "./x.ts";',
    'export { d } from "./y.ts";',
    'import "./side_effect.ts";',
    'const m = await import("../data/mod.ts");',
    '// import { e } from "../parties/server.ts";',
    '/** @example\n * import { f } from "../parties/demo.ts";\n */',
    'const s = "import { g } from \\"../parties/x.ts\\"";',
    'const t = `from "../parties/y.ts"`;',
  ].join("\n");
  assert.deepEqual(importSpecifiers(text), [
    "../net/mod.ts",
    "../net/messages.ts",
    "./x.ts",
    "./y.ts",
    "./side_effect.ts",
    "../data/mod.ts",
  ]);
});

Deno.test("srcFolderOf() names the folder a relative import lands in", () => {
  assert.equal(srcFolderOf("src/strategy/fedavg.ts", "../net/mod.ts"), "net");
  assert.equal(srcFolderOf("src/strategy/fedavg.ts", "./strategy.ts"), "strategy");
  assert.equal(srcFolderOf("src/dashboard/static/x.js", "../../parties/a.ts"), "parties");
  assert.equal(srcFolderOf("src/net/frame.ts", "paillier-bigint"), undefined);
  assert.equal(srcFolderOf("src/net/frame.ts", "../../main.ts"), undefined);
});
