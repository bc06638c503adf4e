/**
 * The owner's federation defaults that depend on the federation itself.
 */

import assert from "node:assert/strict";
import { loadBundle } from "../../src/federation/mod.ts";
import { defaultMaxTotalWeight } from "../../src/parties/owner_init.ts";
import { smallFederation } from "./harness.ts";

Deno.test("defaultMaxTotalWeight() gives 32 units per client, a power of two, at least 64", () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 8, 9, 20, 50].map(defaultMaxTotalWeight),
    [64, 64, 128, 128, 256, 256, 512, 1024, 2048],
  );
});

Deno.test("initFederation() writes the packing headroom of its client count unless given one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await smallFederation(`${dir}/three`, { clients: 3, maxTotalWeight: undefined });
    const three = await loadBundle(`${dir}/three/server`);
    assert.equal(three.config.encoding.maxTotalWeight, 128);
    await smallFederation(`${dir}/given`, { clients: 3, maxTotalWeight: 1000 });
    const given = await loadBundle(`${dir}/given/server`);
    assert.equal(given.config.encoding.maxTotalWeight, 1000);
    // Every member gets at least 1 within W: W = K could never pack a full round.
    await assert.rejects(
      () => smallFederation(`${dir}/tight`, { clients: 3, maxTotalWeight: 3 }),
      /--max-total-weight 3 must exceed --clients 3/,
    );
    await assert.rejects(() => Deno.stat(`${dir}/tight`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
