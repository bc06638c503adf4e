/**
 * `federation.json` is checked at load with the rules the command line uses
 * (src/federation/rules.ts): the same key sizes, ranges and choices.
 */
import assert from "node:assert/strict";
import { parseFederationConfig } from "../../src/federation/mod.ts";
import * as rules from "../../src/federation/rules.ts";
import { commands } from "../../src/cli/mod.ts";

const HEX64 = "ab".repeat(32);

/** A valid federation.json value, with `edit` applied. */
function config(edit: (v: Record<string, Record<string, unknown>>) => void = () => {}): unknown {
  const value: Record<string, unknown> = {
    format: "flhe-federation",
    version: 1,
    strategy: "fedavg-he",
    model: "lenet",
    parameterCount: 61_706,
    rounds: 5,
    clients: 2,
    minClients: 2,
    mode: "owner",
    keyBits: 2048,
    fingerprint: HEX64,
    encoding: {
      encoding: "packed",
      quantBits: 16,
      clipRange: 1,
      maxTotalWeight: 256,
      maxClientWeight: 60_000,
      fracBits: 32,
      randomness: "djn",
    },
    training: {
      epochs: 1,
      batchSize: 32,
      optimizer: "momentum",
      learningRate: 0.02,
      momentum: 0.9,
      schedule: "cosine",
    },
    data: { partition: "dirichlet", alpha: 0.5, shardsPerClient: 2, seed: 1 },
    serverUrl: "ws://127.0.0.1:8765",
    ownerUrl: "ws://127.0.0.1:8766",
    modelSha256: HEX64,
  };
  edit(value as Record<string, Record<string, unknown>>);
  return value;
}

/** Runs `fn` with the test-federation escape unset (the parties' harness sets it). */
function strictly<T>(fn: () => T): T {
  const saved = Deno.env.get(rules.TEST_FEDERATIONS_ENV);
  Deno.env.delete(rules.TEST_FEDERATIONS_ENV);
  try {
    return fn();
  } finally {
    if (saved !== undefined) Deno.env.set(rules.TEST_FEDERATIONS_ENV, saved);
  }
}

function rejects(edit: (v: Record<string, Record<string, unknown>>) => void, pattern: RegExp) {
  strictly(() =>
    assert.throws(() => parseFederationConfig("f.json", config(edit)), (e: Error) => {
      assert.match(e.message, /^f\.json: /);
      assert.match(e.message, pattern);
      return true;
    })
  );
}

Deno.test("federation.json with the CLI's defaults loads", () => {
  const parsed = strictly(() => parseFederationConfig("f.json", config()));
  assert.equal(parsed.keyBits, 2048);
  assert.equal(parsed.encoding.clipRange, 1);
});

Deno.test("federation.json is refused outside the CLI's key sizes, ranges and choices", () => {
  rejects((v) => (v.keyBits = 128 as never), /field "keyBits" is 128, not one of 2048, 3072/);
  rejects((v) => (v.keyBits = 512 as never), /field "keyBits" is 512, not one of 2048, 3072/);
  rejects((v) => (v.clients = 1 as never), /field "clients" is 1, outside \[2, 1000\]/);
  rejects((v) => (v.minClients = 1 as never), /field "minClients" is 1, below 2 \(owner mode/);
  rejects((v) => (v.minClients = 3 as never), /field "minClients" is 3, outside \[1, 2\]/);
  rejects((v) => (v.encoding!.clipRange = 1e-9), /field "encoding\.clipRange" is 1e-9/);
  rejects((v) => (v.encoding!.quantBits = 25), /field "encoding\.quantBits" is 25, outside/);
  rejects((v) => (v.encoding!.maxTotalWeight = 2 ** 24 + 1), /"encoding\.maxTotalWeight"/);
  rejects((v) => (v.encoding!.randomness = "weak"), /"encoding\.randomness" is "weak"/);
  rejects((v) => (v.training!.momentum = 1), /field "training\.momentum" is 1, outside/);
  rejects((v) => (v.serverUrl = "http://x" as never), /field "serverUrl" does not match/);
});

Deno.test("federation.json refuses one-client rounds in every mode and strategy", () => {
  for (
    const [mode, strategy] of [["shared-key", "fedavg-he"], ["owner", "fedavg"], [
      "shared-key",
      "fedavg",
    ]]
  ) {
    rejects(
      (v: Record<string, unknown>) => Object.assign(v, { mode, strategy, minClients: 1 }),
      new RegExp(`"minClients" is 1, below 2 \\(${mode} mode, ${strategy}\\)`),
    );
  }
});

Deno.test("a test federation (512-bit key) loads only with the explicit escape", () => {
  const small = config((v) => Object.assign(v, { keyBits: 512 }));
  strictly(() => assert.throws(() => parseFederationConfig("f.json", small), /"keyBits" is 512/));
  const saved = Deno.env.get(rules.TEST_FEDERATIONS_ENV);
  Deno.env.set(rules.TEST_FEDERATIONS_ENV, "1");
  try {
    const parsed = parseFederationConfig("f.json", small);
    assert.equal(parsed.keyBits, 512);
    assert.throws(
      () => parseFederationConfig("f.json", config((v) => (v.keyBits = 128 as never))),
      /"keyBits" is 128, outside \[512, 16384\]/,
    );
  } finally {
    if (saved === undefined) Deno.env.delete(rules.TEST_FEDERATIONS_ENV);
    else Deno.env.set(rules.TEST_FEDERATIONS_ENV, saved);
  }
});

Deno.test("the CLI's option tables use the federation rules", () => {
  const init = commands.find((c) => c.name === "owner init")!.options;
  const ranges: [string, rules.Range][] = [
    ["clients", rules.CLIENTS],
    ["rounds", rules.ROUNDS],
    ["quant-bits", rules.QUANT_BITS],
    ["clip", rules.CLIP_RANGE],
    ["max-total-weight", rules.MAX_TOTAL_WEIGHT],
    ["epochs", rules.EPOCHS],
    ["batch-size", rules.BATCH_SIZE],
    ["lr", rules.LEARNING_RATE],
    ["momentum", rules.MOMENTUM],
    ["alpha", rules.ALPHA],
    ["shards-per-client", rules.SHARDS_PER_CLIENT],
    ["seed", rules.SEED],
  ];
  for (const [name, range] of ranges) assert.deepEqual(init[name]!.range, range, `--${name}`);
  assert.deepEqual(init["key-bits"]!.choices, rules.KEY_BITS_ALLOWED);
  assert.deepEqual(init.encoding!.choices, rules.ENCODINGS);
  assert.deepEqual(init.randomness!.choices, rules.RANDOMNESS_KINDS);
  const demo = commands.find((c) => c.name === "demo")!.options;
  assert.deepEqual(demo["key-bits"]!.choices, rules.KEY_BITS_ALLOWED);
});
