import assert from "node:assert/strict";

/** Relative imports of every TypeScript file in a src folder, as `file: specifier` lines. */
async function imports(folder: string): Promise<string[]> {
  const dir = new URL(`../../src/${folder}/`, import.meta.url);
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".ts")) continue;
    const text = await Deno.readTextFile(new URL(entry.name, dir));
    for (const m of text.matchAll(/(?:import|export)[^"']*?from\s+["']([^"']+)["']/g)) {
      found.push(`${folder}/${entry.name}: ${m[1]}`);
    }
  }
  return found;
}

Deno.test("layering: no file in src/nn imports src/data, and src/data none of src/nn", async () => {
  // nn takes typed arrays; data reads files: neither knows the other (DESIGN.md, Layout).
  const outward = /\.\.\/(data|net|parties|secagg|he|federation|cli|strategy|dashboard)\//;
  assert.deepEqual((await imports("nn")).filter((line) => outward.test(line)), []);
  const fromData = /\.\.\/(nn|net|parties|secagg|he|federation|cli|strategy|dashboard)\//;
  assert.deepEqual((await imports("data")).filter((line) => fromData.test(line)), []);
});
