import assert from "node:assert/strict";
import {
  clientShare,
  describePartition,
  labelCounts,
  partition,
  type PartitionOptions,
  Rng,
} from "../../src/data/mod.ts";
import { deriveSeed } from "../../src/util/rng.ts";
import { FlheError } from "../../src/util/error.ts";

// 6,000 labels, 600 of each class, in a scrambled order.
const labels = new Rng(99).shuffle(Uint8Array.from({ length: 6000 }, (_, i) => i % 10));

function assertExactCover(shares: Uint32Array[], n: number): void {
  const seen = new Uint8Array(n);
  for (const s of shares) for (const i of s) seen[i]! += 1;
  assert.ok(seen.every((c) => c === 1), "every sample in exactly one share");
}

/** Largest share of a single label within a client, averaged over clients. */
function meanTopLabelFraction(shares: Uint32Array[]): number {
  const counts = labelCounts(labels, shares);
  return counts.reduce((s, row, c) => s + Math.max(...row) / shares[c]!.length, 0) / shares.length;
}

for (const scheme of ["iid", "dirichlet", "shards"] as const) {
  Deno.test(`partition() ${scheme} puts every sample in exactly one share, deterministically`, () => {
    const opts: PartitionOptions = { scheme, clients: 5, seed: 3 };
    const shares = partition(labels, opts);
    assert.equal(shares.length, 5);
    assertExactCover(shares, labels.length);
    assert.deepEqual(partition(labels, opts), shares);
    assert.notDeepEqual(partition(labels, { ...opts, seed: 4 }), shares);
    assert.deepEqual(clientShare(labels, opts, 2), shares[2]);
    for (const s of shares) assert.ok(s.every((v, i) => i === 0 || s[i - 1]! < v), "ascending");
  });
}

Deno.test("partition() iid gives near-equal, label-balanced shares", () => {
  const shares = partition(labels, { scheme: "iid", clients: 4, seed: 1 });
  assert.deepEqual(shares.map((s) => s.length), [1500, 1500, 1500, 1500]);
  assert.ok(meanTopLabelFraction(shares) < 0.15);
});

Deno.test("partition() shards gives each client about shardsPerClient labels", () => {
  const shares = partition(labels, { scheme: "shards", clients: 10, seed: 1 });
  assert.deepEqual(shares.map((s) => s.length), new Array(10).fill(600));
  for (const row of labelCounts(labels, shares)) {
    assert.ok(row.filter((c) => c > 0).length <= 4, `few labels per client: ${row}`);
  }
  const one = partition(labels, { scheme: "shards", clients: 10, seed: 1, shardsPerClient: 1 });
  for (const row of labelCounts(labels, one)) assert.equal(Math.max(...row), 600);
});

Deno.test("partition() dirichlet skews labels more as alpha falls", () => {
  const skewed = partition(labels, { scheme: "dirichlet", clients: 4, seed: 1, alpha: 0.1 });
  const mild = partition(labels, { scheme: "dirichlet", clients: 4, seed: 1, alpha: 100 });
  assert.ok(meanTopLabelFraction(skewed) > 0.3, `alpha 0.1: ${meanTopLabelFraction(skewed)}`);
  assert.ok(meanTopLabelFraction(mild) < 0.15, `alpha 100: ${meanTopLabelFraction(mild)}`);
  for (const s of skewed) assert.ok(s.length >= 10);
});

Deno.test("partition() dirichlet gives up when no draw meets the minimum size", () => {
  assert.throws(
    () =>
      partition(labels, {
        scheme: "dirichlet",
        clients: 50,
        seed: 1,
        alpha: 0.01,
        minPartitionSize: 200,
      }),
    /no Dirichlet\(alpha 0.01\) draw in 10 tries gave every one of 50 clients >= 200 samples/,
  );
});

Deno.test("partition() rejects bad options", () => {
  assert.throws(() => partition(labels, { scheme: "iid", clients: 0, seed: 1 }), /clients 0/);
  assert.throws(
    () => partition(labels, { scheme: "nope" as "iid", clients: 2, seed: 1 }),
    /unknown scheme "nope"/,
  );
  assert.throws(() => clientShare(labels, { scheme: "iid", clients: 2, seed: 1 }, 2), /index 2/);
  assert.throws(
    () => partition(Uint8Array.of(1, 2), { scheme: "iid", clients: 3, seed: 1 }),
    /2 samples cannot be split among 3 clients/,
  );
});

Deno.test("describePartition() prints one row per client and a total", () => {
  const text = describePartition(labels, { scheme: "shards", clients: 3, seed: 2 });
  const lines = text.trimEnd().split("\n");
  assert.equal(lines.length, 1 + 1 + 3 + 1);
  assert.match(lines[0]!, /^partition shards, 3 clients, seed 2, 2 shards per client$/);
  assert.match(lines[1]!, /^client\s+size\s+0\s+1\s+2\s+3\s+4\s+5\s+6\s+7\s+8\s+9$/);
  assert.match(lines[5]!, /^total\s+6000(\s+600){10}$/);
});

Deno.test("Rng is deterministic and its samplers are sane", () => {
  const a = new Rng(5);
  const b = new Rng(5);
  for (let i = 0; i < 100; i++) assert.equal(a.u32(), b.u32());
  const rng = new Rng(1);
  let sum = 0;
  for (let i = 0; i < 20000; i++) sum += rng.gamma(0.5);
  assert.ok(Math.abs(sum / 20000 - 0.5) < 0.03, `gamma(0.5) mean ${sum / 20000}`);
  const p = rng.dirichlet(0.5, 7);
  assert.ok(Math.abs(p.reduce((s, x) => s + x, 0) - 1) < 1e-12);
  for (let i = 0; i < 1000; i++) {
    const k = rng.int(7);
    assert.ok(k >= 0 && k < 7);
  }
});

Deno.test("Rng rejects bad numbers with a range FlheError naming the parameter", () => {
  const range = (pattern: RegExp) => (e: unknown): boolean =>
    e instanceof FlheError && e.code === "range" && pattern.test(e.message);
  assert.throws(() => new Rng(1.5), range(/seed 1.5 is not an integer/));
  assert.throws(() => deriveSeed(1, 2, NaN), range(/tag 1 \(NaN\) is not an integer/));
  const rng = new Rng(1);
  assert.throws(() => rng.int(0), range(/bound n 0/));
  assert.throws(() => rng.gamma(-1), range(/gamma shape -1/));
  assert.throws(() => rng.dirichlet(0.5, 0), range(/dirichlet size k 0/));
});
