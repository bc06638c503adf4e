/**
 * Load: 20 client processes against one server on loopback, two rounds.
 * Every update must be in the aggregate and every client must end with the
 * owner's model. `bench/load_scaling.ts` measures 5, 10 and 20 clients.
 */

import assert from "node:assert/strict";
import { describe, runLoad } from "../../bench/load_scaling.ts";
import { packingTotal } from "../../src/federation/limits.ts";

Deno.test("20 clients against one server: every update is aggregated, all end with the owner's model", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const clients = 20;
    const r = await runLoad(dir, clients, 2);
    console.log(describe(r));
    assert.deepEqual(r.failed, []);
    const everyone = Array.from({ length: clients }, (_, i) => `client-${i + 1}`).sort();
    assert.deepEqual(r.history.map((h) => h.round), [1, 2]);
    for (const h of r.history) {
      assert.deepEqual([...h.participants].sort(), everyone, `round ${h.round}`);
      assert.deepEqual(h.failures, []);
      // Every client declares 50: the packing weights are equal shares of the headroom.
      const set = everyone.map((id) => ({ id, weight: 50 }));
      const packed = packingTotal(set, r.maxTotalWeight);
      assert.equal(h.totalWeight, packed);
    }
    assert.deepEqual(r.mismatched, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
