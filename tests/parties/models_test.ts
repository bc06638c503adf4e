import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import type { RoundRecord } from "../../src/rounds/mod.ts";
import type { DataSource } from "../../src/data/mod.ts";
import type { Task } from "../../src/nn/mod.ts";
import { initBackend } from "../../src/nn/mod.ts";
import { chooseModel } from "../../src/parties/model_choice.ts";
import { splitFile, writeSplit } from "../../src/parties/demo_data.ts";
import { loadBundle } from "../../src/federation/bundle.ts";
import { sha256Hex } from "../../src/util/hex.ts";
import { converterJson, SMALL_CNN_WEIGHTS, writeSmallCnn } from "../nn/keras_fixtures.ts";
import {
  freePort,
  type Party,
  QUICK_CLIENT_ARGS,
  readModel,
  smallFederation,
  startParty,
  stopAll,
} from "./harness.ts";

// Only to build and save the tfjs models below, as a model owner would.
await initBackend({ onWarn: () => {} });

/** Palmer Penguins as vega-datasets ships them (JSON records, CC0). */
const PENGUINS = new URL(import.meta.resolve("vega-datasets")).pathname.replace(
  /build\/.*$/,
  "data/penguins.json",
);
const FEATURES = ["Beak Length (mm)", "Beak Depth (mm)", "Flipper Length (mm)", "Body Mass (g)"];

/** Cars (vega-datasets, BSD-3-Clause): miles per gallon from 5 measurements, for regression. */
const CARS = PENGUINS.replace(/penguins\.json$/, "cars.json");
const CAR_FEATURES = ["Cylinders", "Displacement", "Horsepower", "Weight_in_lbs", "Acceleration"];

/** Splits a file among clients as CSV files (and a test and reference CSV), as `flhe demo --data` does. */
async function tableShares(
  dir: string,
  source: DataSource,
  task: Task,
  clients: number,
): Promise<{ clients: DataSource[]; test: DataSource; reference: DataSource }> {
  const split = await splitFile({
    source,
    task,
    testFraction: 0.2,
    partition: { scheme: "iid", clients, seed: 5 },
  });
  return await writeSplit(split, source, dir);
}

/** Splits the penguins among clients as CSV files, as `flhe demo --data` does. */
function penguinShares(dir: string, clients = 3) {
  const source = { path: PENGUINS, label: "Species", features: FEATURES, dropMissing: true };
  return tableShares(dir, source, "multiclass", clients);
}

async function penguinFederation(dir: string) {
  const files = await penguinShares(dir);
  const model = await chooseModel({ spec: "mlp:8", scale: "standard", reference: files.reference });
  await smallFederation(`${dir}/fed`, {
    clients: 3,
    rounds: 4,
    model,
    training: {
      epochs: 10,
      batchSize: 16,
      optimizer: "adam",
      learningRate: 0.01,
      momentum: 0,
      schedule: "cosine",
    },
  });
  return files;
}

/**
 * Runs `owner serve`, `serve` and one client per bundle, as processes, to
 * the end of the federation; `clientArgs(i)` gives client i's data options.
 */
async function runFederation(
  fed: string,
  ownerArgs: string[],
  clients: number,
  clientArgs: (i: number) => string[],
): Promise<{ history: RoundRecord[]; lines: Record<string, string[]> }> {
  const parties: Party[] = [];
  try {
    parties.push(startParty("owner", ["owner", "serve", "--bundle", `${fed}/owner`, ...ownerArgs]));
    const server = startParty("server", ["serve", "--bundle", `${fed}/server`, "--no-dashboard"]);
    parties.push(server);
    for (let i = 1; i <= clients; i++) {
      parties.push(startParty(`client-${i}`, [
        ...["client", "--bundle", `${fed}/client-${i}`, "--workers", "1"],
        ...clientArgs(i),
      ]));
    }
    assert.equal((await server.done).code, 0, server.lines.join("\n"));
    for (const p of parties) {
      assert.equal((await p.done).code, 0, `${p.name}:\n${p.lines.join("\n")}`);
    }
    const history = JSON.parse(
      await Deno.readTextFile(`${fed}/server/history.json`),
    ) as RoundRecord[];
    return { history, lines: Object.fromEntries(parties.map((p) => [p.name, p.lines])) };
  } finally {
    await stopAll(parties);
  }
}

/**
 * Runs a federation on table shares: the owner with the test file as its
 * validation set, each client on its share.
 */
function runTabular(
  fed: string,
  files: { clients: readonly DataSource[]; test: DataSource },
  label: string,
): Promise<{ history: RoundRecord[]; lines: Record<string, string[]> }> {
  return runFederation(
    fed,
    ["--eval", files.test.path, "--label", label],
    files.clients.length,
    (i) => ["--data", files.clients[i - 1]!.path, "--label", label, "--test", files.test.path],
  );
}

/** The owner's validation of each round, as `owner serve --eval` appends it. */
async function ownerEvals(fed: string): Promise<Record<string, number>[]> {
  const text = await Deno.readTextFile(`${fed}/owner/state/eval.jsonl`);
  return text.trim().split("\n").map((l) => JSON.parse(l));
}

Deno.test("an MLP federates on CSV shares of a real tabular data set, with the owner's validation set", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const files = await penguinFederation(dir);
    const fed = `${dir}/fed`;
    const bundle = await loadBundle(`${fed}/client-1`);
    assert.equal(bundle.config.model.name, "mlp:8");
    assert.deepEqual(bundle.config.model.classNames, ["Adelie", "Chinstrap", "Gentoo"]);
    assert.equal(bundle.config.parameterCount, 4 * 8 + 8 + 8 * 3 + 3);
    const { history, lines } = await runTabular(fed, files, "Species");
    assert.equal(history.length, 4);
    assert.deepEqual(history.map((r) => r.participants.length), [3, 3, 3, 3]);
    assert.ok(history[3]!.accuracy > 0.85, `final accuracy ${history[3]!.accuracy}`);
    assert.ok(history[3]!.loss < history[0]!.loss);
    assert.ok(history.every((r) => r.mae === undefined), "a classifier's rounds have no MAE");
    // The owner evaluated every round's model on its own copy of the test set.
    const evals = await ownerEvals(fed);
    assert.deepEqual(evals.map((e) => e.round), [1, 2, 3, 4]);
    assert.equal(evals[3]!.accuracy, history[3]!.accuracy);
    assert.ok(
      lines["client-1"]!.some((l) =>
        /training and \d+ test examples .*client-1\.csv.*model mlp:8 \(67 parameters\)/.test(l)
      ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Saves a tfjs model as `LayersModel.save()` writes it to a folder
 * (tfjs-node's `file://`): `model.json` with the topology and a weights
 * manifest, and the weights in `weights.bin`.
 */
async function saveModel(
  model: tfl.LayersModel,
  dir: string,
): Promise<{ path: string; weights: Float32Array }> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler((artifacts) => {
    saved = artifacts;
    return Promise.resolve({
      modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" },
    });
  }));
  model.dispose();
  const bytes = new Uint8Array(saved!.weightData as ArrayBuffer).slice();
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeFile(`${dir}/weights.bin`, bytes);
  await Deno.writeTextFile(
    `${dir}/model.json`,
    JSON.stringify({
      format: saved!.format,
      generatedBy: saved!.generatedBy,
      convertedBy: saved!.convertedBy ?? null,
      modelTopology: saved!.modelTopology,
      weightsManifest: [{ paths: ["weights.bin"], weights: saved!.weightSpecs }],
    }),
  );
  return { path: `${dir}/model.json`, weights: new Float32Array(bytes.buffer) };
}

/**
 * `flhe owner init --model FILE` as a process (2 clients, 2 rounds, a real
 * 2048-bit key: the command line takes no smaller), with more options;
 * returns its lines.
 */
async function ownerInit(fed: string, model: string, args: string[]): Promise<string[]> {
  const init = startParty("owner-init", [
    ...["owner", "init", "--dir", fed, "--clients", "2", "--rounds", "2", "--model", model],
    ...["--server-url", `ws://127.0.0.1:${freePort()}`],
    ...["--owner-url", `ws://127.0.0.1:${freePort()}`],
    ...args,
  ]);
  assert.equal((await init.done).code, 0, init.lines.join("\n"));
  return init.lines;
}

/** `owner init`'s options for a reference file, its label and standard scaling. */
function referenceArgs(reference: DataSource, label: string): string[] {
  return ["--reference", reference.path, "--label", label, "--scale", "standard"];
}

/** The bundles of a federation agree on the model file, and federation.json records its SHA-256. */
async function assertTopologyRecorded(fed: string): Promise<string> {
  const digests = new Set<string>();
  for (const party of ["owner", "server", "client-1", "client-2"]) {
    const config = JSON.parse(await Deno.readTextFile(`${fed}/${party}/federation.json`));
    const file = await Deno.readFile(`${fed}/${party}/model.json`);
    assert.match(config.model.topologySha256, /^[0-9a-f]{64}$/);
    assert.equal(config.model.topologySha256, await sha256Hex(file), `${party}'s model.json`);
    digests.add(config.model.topologySha256);
  }
  assert.equal(digests.size, 1, "every bundle records the same topology");
  return [...digests][0]!;
}

Deno.test("a Sequential model saved by tfjs (model.json and weights.bin) federates over HE", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const files = await penguinShares(dir, 2);
    const saved = await saveModel(
      tfl.sequential({
        layers: [
          tfl.layers.dense({ inputShape: [4], units: 8, activation: "relu" }),
          tfl.layers.dense({ units: 3, activation: "softmax" }),
        ],
      }),
      `${dir}/penguin_model`,
    );
    const fed = `${dir}/fed`;
    const init = await ownerInit(fed, saved.path, [
      ...referenceArgs(files.reference, "Species"),
      ...["--epochs", "5", "--batch-size", "16", "--optimizer", "adam", "--lr", "0.01"],
    ]);
    assert.ok(
      init.some((l) =>
        /model model\.json: multiclass, input 4, 67 parameters, weights from the file/.test(l)
      ),
      init.join("\n"),
    );
    await assertTopologyRecorded(fed);
    const bundle = await loadBundle(`${fed}/client-1`);
    assert.deepEqual(bundle.config.model.classNames, ["Adelie", "Chinstrap", "Gentoo"]);
    // The file's weights are the initial model, in the order of its weights manifest.
    const initial = await readModel(`${fed}/owner/model.f32`);
    assert.deepEqual(initial, saved.weights);

    const { history, lines } = await runTabular(fed, files, "Species");
    assert.deepEqual(history.map((r) => [r.round, r.participants.length]), [[1, 2], [2, 2]]);
    assert.ok(history[1]!.accuracy > 0.8, `final accuracy ${history[1]!.accuracy}`);
    assert.ok(history.every((r) => r.mae === undefined));
    // The owner decrypted the aggregate each round; every client holds its final model.
    const final = await readModel(`${fed}/owner/state/model-round-2.f32`);
    assert.equal(final.length, 67);
    assert.ok(final.every(Number.isFinite) && final.some((w, i) => w !== initial[i]));
    for (const c of ["client-1", "client-2"]) {
      assert.deepEqual(await readModel(`${fed}/${c}/state/model.f32`), final);
      assert.ok(lines[c]!.some((l) => /round 2: global model test accuracy [\d.]+%/.test(l)));
    }
    assert.equal((await ownerEvals(fed))[1]!.accuracy, history[1]!.accuracy);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a functional regression model saved by tfjs federates over HE; rounds report the test MSE and MAE", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const source = { path: CARS, label: "Miles_per_Gallon", features: CAR_FEATURES };
    const files = await tableShares(dir, { ...source, dropMissing: true }, "regression", 2);
    const input = tfl.input({ shape: [5] });
    const hidden = tfl.layers.dense({ units: 8, activation: "relu" }).apply(input);
    const output = tfl.layers.dense({ units: 1 }).apply(hidden) as tfl.SymbolicTensor;
    const saved = await saveModel(tfl.model({ inputs: input, outputs: output }), `${dir}/mpg`);
    assert.equal(JSON.parse(await Deno.readTextFile(saved.path)).modelTopology.class_name, "Model");
    const fed = `${dir}/fed`;
    await ownerInit(fed, saved.path, [
      ...referenceArgs(files.reference, "Miles_per_Gallon"),
      ...["--epochs", "10", "--batch-size", "16", "--optimizer", "adam", "--lr", "0.1"],
    ]);
    await assertTopologyRecorded(fed);
    const bundle = await loadBundle(`${fed}/server`);
    assert.equal(bundle.config.model.task, "regression");
    assert.deepEqual(await readModel(`${fed}/owner/model.f32`), saved.weights);

    const { history, lines } = await runTabular(fed, files, "Miles_per_Gallon");
    assert.equal(history.length, 2);
    for (const r of history) {
      // The MSE is the loss; the MAE comes with it, and no MAE exceeds the root of the MSE.
      assert.ok(r.mae !== undefined && r.mae > 0, `round ${r.round}: MAE ${r.mae}`);
      assert.ok(r.mae ** 2 <= r.loss * (1 + 1e-9), `MAE ${r.mae}, MSE ${r.loss}`);
      assert.equal(r.accuracy, null, "a regression has no accuracy (null in the file)");
    }
    assert.ok(history[1]!.loss < history[0]!.loss, history.map((r) => r.loss).join(", "));
    // The owner's validation on the same test file gives the clients' MAE.
    const evals = await ownerEvals(fed);
    assert.ok(Math.abs(evals[1]!.mae! - history[1]!.mae!) < 1e-9 * history[1]!.mae!);
    assert.ok(Math.abs(evals[1]!.mse! - history[1]!.loss) < 1e-9 * history[1]!.loss);
    assert.ok(
      lines["client-1"]!.some((l) => /round 2: global model test MSE [\d.]+, MAE [\d.]+/.test(l)),
    );
    assert.ok(
      lines.server!.some((l) =>
        /round 2 done in .*: test MSE [\d.]+, MAE [\d.]+, 2 clients/.test(l)
      ),
    );
    // flhe history shows them, as the table and the CSV.
    const table = startParty("history", ["history", `${fed}/server/history.json`]);
    assert.equal((await table.done).code, 0, table.lines.join("\n"));
    assert.match(table.lines[0]!, /^round +clients +test MSE +test MAE +train s/);
    const row = table.lines[2]!.trim().split(/\s+/);
    assert.deepEqual(row.slice(2, 4), [
      history[1]!.loss.toPrecision(4),
      history[1]!.mae!.toPrecision(4),
    ]);
    const csv = startParty("csv", ["history", "--csv", `${fed}/server/history.json`]);
    assert.equal((await csv.done).code, 0);
    assert.deepEqual(csv.lines[0]!.split(",").slice(3, 6), ["accuracy", "loss", "mae"]);
    assert.equal(Number(csv.lines[2]!.split(",")[5]), history[1]!.mae);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Offsets of the small CNN's weights in the flat vector (the manifest's order). */
function cnnOffset(name: string): number {
  const i = SMALL_CNN_WEIGHTS.findIndex((w) => w.name === name);
  assert.ok(i >= 0, name);
  return SMALL_CNN_WEIGHTS.slice(0, i).reduce((s, w) => s + w.shape.reduce((a, b) => a * b), 0);
}

for (const kind of ["Functional", "Sequential"] as const) {
  Deno.test(`a hand-written converter-style ${kind} CNN (Conv2D, BatchNormalization, MaxPooling2D, Flatten, Dropout) federates over HE on MNIST`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      // As tensorflowjs_converter --input_format keras writes a Keras 2 model.
      const saved = await writeSmallCnn(`${dir}/keras_cnn`, kind, 7);
      const fed = `${dir}/fed`;
      const init = await ownerInit(fed, saved.path, [
        ...["--scale", "1/255", "--epochs", "2", "--optimizer", "adam", "--lr", "0.01"],
      ]);
      assert.ok(
        init.some((l) =>
          /model model\.json: multiclass, input 28x28x1, 6826 parameters, weights from the file/
            .test(l)
        ),
        init.join("\n"),
      );
      await assertTopologyRecorded(fed);
      const initial = await readModel(`${fed}/owner/model.f32`);
      assert.deepEqual(initial, saved.weights, "the initial model is the .bin's weights");

      // Each client trains on its share of the federation's (Dirichlet) partition of MNIST.
      const { history, lines } = await runFederation(fed, [], 2, () => [...QUICK_CLIENT_ARGS]);
      assert.deepEqual(history.map((r) => [r.round, r.participants.length]), [[1, 2], [2, 2]]);
      // 10 classes: chance is 0.1.
      assert.ok(history[1]!.accuracy > 0.3, `accuracy ${history.map((r) => r.accuracy)}`);
      assert.ok(history.every((r) => Number.isFinite(r.loss) && r.mae === undefined));
      const final = await readModel(`${fed}/owner/state/model-round-2.f32`);
      assert.equal(final.length, 6826);
      assert.ok(final.every(Number.isFinite) && final.some((w, i) => w !== initial[i]));
      for (const c of ["client-1", "client-2"]) {
        assert.deepEqual(await readModel(`${fed}/${c}/state/model.f32`), final, c);
        assert.ok(
          lines[c]!.some((l) => /round 2: global model test accuracy [\d.]+%/.test(l)),
          lines[c]!.join("\n"),
        );
      }
      // The batch-norm moving statistics are in the vector and were averaged
      // with the rest: they left their initial 0 and 1. (A channel whose mean
      // moves by less than a quantization step may stay at 0, as updates are
      // rounded stochastically; a mean of ReLU outputs never goes below 0.)
      const at = cnnOffset("batch_normalization/moving_mean");
      const mean = final.subarray(at, at + 4);
      const variance = final.subarray(at + 4, at + 8);
      assert.deepEqual([...initial.subarray(at, at + 8)], [0, 0, 0, 0, 1, 1, 1, 1]);
      assert.ok(mean.every((v) => v >= 0), `moving mean ${mean}`);
      assert.ok(mean.filter((v) => v > 0).length >= 2, `moving mean ${mean}`);
      assert.ok(variance.every((v) => v < 0.99 && v > 0), `moving variance ${variance}`);
      // The trainable batch-norm and convolution weights moved too.
      const gamma = cnnOffset("batch_normalization/gamma");
      assert.ok(final.subarray(gamma, gamma + 4).some((v) => v !== 1));
      assert.ok(final.subarray(0, 36).some((v, i) => v !== initial[i]));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("owner init refuses an unsupported layer or a weights manifest that does not match, in one line, writing nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const lstm = `${dir}/lstm/model.json`;
    await Deno.mkdir(`${dir}/lstm`);
    await Deno.writeTextFile(
      lstm,
      JSON.stringify(converterJson([
        { class_name: "InputLayer", config: { name: "in", batch_input_shape: [null, 10, 4] } },
        { class_name: "LSTM", config: { name: "lstm", units: 8, return_sequences: false } },
        { class_name: "Dense", config: { name: "out", units: 3, activation: "softmax" } },
      ])),
    );
    const short = await writeSmallCnn(`${dir}/short`, "Functional", 1);
    const bin = `${dir}/short/group1-shard1of1.bin`;
    await Deno.writeFile(bin, (await Deno.readFile(bin)).subarray(0, 400));
    const missing = await writeSmallCnn(`${dir}/missing`, "Functional", 1);
    await Deno.remove(`${dir}/missing/group1-shard1of1.bin`);
    const renamed = await writeSmallCnn(`${dir}/renamed`, "Sequential", 1);
    const json = await Deno.readTextFile(renamed.path);
    await Deno.writeTextFile(renamed.path, json.replace('"dense/bias"', '"dense/offset"'));
    const cases: [string, RegExp][] = [
      [
        lstm,
        /lstm\/model\.json: layer "lstm" has class LSTM, which flhe does not train \(supported: InputLayer, Dense, Conv2D/,
      ],
      [
        short.path,
        /short\/model\.json: weight files group1-shard1of1\.bin hold 400 bytes, the manifest's weights need 27304/,
      ],
      [
        missing.path,
        /missing\/model\.json: weight file .*missing\/group1-shard1of1\.bin cannot be read/,
      ],
      [renamed.path, /renamed\/model\.json: the weights manifest has no weight named dense\/bias/],
    ];
    const runs = cases.map(([model], i) =>
      startParty("owner-init", [
        ...["owner", "init", "--dir", `${dir}/fed-${i}`, "--model", model, "--scale", "1/255"],
      ])
    );
    for (const [i, [, message]] of cases.entries()) {
      const run = runs[i]!;
      assert.equal((await run.done).code, 1, run.lines.join("\n"));
      assert.equal(run.lines.length, 1, run.lines.join("\n"));
      assert.match(run.lines[0]!, /^flhe owner init: /);
      assert.match(run.lines[0]!, message);
      await assert.rejects(() => Deno.stat(`${dir}/fed-${i}`), Deno.errors.NotFound);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A TCP listener that only counts who connects: a client that sends nothing never reaches it. */
function countingListener(): { port: number; connections: () => number; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let count = 0;
  (async () => {
    for await (const conn of listener) {
      count++;
      conn.close();
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    connections: () => count,
    close: () => listener.close(),
  };
}

Deno.test("a client with bad data stops with one line naming file, line and column, and sends nothing", async () => {
  const dir = await Deno.makeTempDir();
  const server = countingListener();
  try {
    const files = await penguinFederation(dir);
    const good = await Deno.readTextFile(files.clients[0]!.path);
    const [header, first, ...rest] = good.trim().split("\n");
    const cells = first!.split(",");
    const write = async (name: string, text: string) => {
      await Deno.writeTextFile(`${dir}/${name}`, text);
      return `${dir}/${name}`;
    };
    const cases: [string[], RegExp][] = [
      [[
        "--data",
        await write("nan.csv", [header, ["x", ...cells.slice(1)].join(","), ...rest].join("\n")),
      ], /nan\.csv: line 2, column "Beak Length \(mm\)": "x" is not a number/],
      [[
        "--data",
        await write("gap.csv", [header, ["", ...cells.slice(1)].join(","), ...rest].join("\n")),
      ], /gap\.csv: line 2, column "Beak Length \(mm\)": missing value/],
      [["--data", await write("empty.csv", "")], /empty\.csv: cannot read \(empty file\)/],
      [
        [
          "--data",
          await write(
            "bird.csv",
            [header, [...cells.slice(0, -1), "Emperor"].join(","), ...rest].join("\n"),
          ),
        ],
        /bird\.csv: line 2, column "Species": label "Emperor" is not one of the classes Adelie, Chinstrap, Gentoo/,
      ],
      [
        ["--data", files.clients[0]!.path, "--features", FEATURES.slice(0, 3).join(",")],
        /client-1\.csv: examples are 3, the model takes 4/,
      ],
      [
        ["--data", files.clients[0]!.path, "--label", "species"],
        /client-1\.csv: no column "species"/,
      ],
      [
        [
          "--data",
          files.clients[0]!.path,
          "--test",
          await write("short.csv", `${header}\n1,2,3\n`),
        ],
        /short\.csv: line 2 has 3 cells, the header 5/,
      ],
    ];
    for (const [args, message] of cases) {
      const label = args.includes("--label") ? [] : ["--label", "Species"];
      const client = startParty("client", [
        "client",
        "--bundle",
        `${dir}/fed/client-1`,
        "--server",
        `ws://127.0.0.1:${server.port}`,
        // A client that passed its checks would give up on this server at once.
        "--connect-timeout",
        "1",
        ...label,
        ...args,
      ]);
      const status = await client.done;
      assert.notEqual(status.code, 0, client.lines.join("\n"));
      const errors = client.lines.filter((l) => l.startsWith("flhe client:"));
      assert.equal(errors.length, 1, client.lines.join("\n"));
      assert.match(errors[0]!, message);
    }
    assert.equal(server.connections(), 0, "no client connected");
  } finally {
    server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
