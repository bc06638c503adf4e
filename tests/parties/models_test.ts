import assert from "node:assert/strict";
import type { RoundRecord } from "../../src/rounds/mod.ts";
import { chooseModel } from "../../src/parties/model_choice.ts";
import { splitFile, writeSplit } from "../../src/parties/demo_data.ts";
import { loadBundle } from "../../src/federation/bundle.ts";
import { type Party, smallFederation, startParty, stopAll } from "./harness.ts";

/** Palmer Penguins as vega-datasets ships them (JSON records, CC0). */
const PENGUINS = new URL(import.meta.resolve("vega-datasets")).pathname.replace(
  /build\/.*$/,
  "data/penguins.json",
);
const FEATURES = ["Beak Length (mm)", "Beak Depth (mm)", "Flipper Length (mm)", "Body Mass (g)"];

/** Splits the penguins among 3 clients as CSV files, as `flhe demo --data` does. */
async function penguinShares(dir: string) {
  const source = { path: PENGUINS, label: "Species", features: FEATURES, dropMissing: true };
  const split = await splitFile({
    source,
    task: "multiclass",
    testFraction: 0.2,
    partition: { scheme: "iid", clients: 3, seed: 5 },
  });
  return await writeSplit(split, source, dir);
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

Deno.test("an MLP federates on CSV shares of a real tabular data set, with the owner's validation set", async () => {
  const dir = await Deno.makeTempDir();
  const parties: Party[] = [];
  try {
    const files = await penguinFederation(dir);
    const fed = `${dir}/fed`;
    const bundle = await loadBundle(`${fed}/client-1`);
    assert.equal(bundle.config.model.name, "mlp:8");
    assert.deepEqual(bundle.config.model.classNames, ["Adelie", "Chinstrap", "Gentoo"]);
    assert.equal(bundle.config.parameterCount, 4 * 8 + 8 + 8 * 3 + 3);
    parties.push(startParty("owner", [
      "owner",
      "serve",
      "--bundle",
      `${fed}/owner`,
      "--eval",
      files.test.path,
      "--label",
      "Species",
    ]));
    const server = startParty("server", ["serve", "--bundle", `${fed}/server`, "--no-dashboard"]);
    parties.push(server);
    for (let i = 1; i <= 3; i++) {
      parties.push(startParty(`client-${i}`, [
        "client",
        "--bundle",
        `${fed}/client-${i}`,
        "--workers",
        "1",
        "--data",
        files.clients[i - 1]!.path,
        "--label",
        "Species",
        "--test",
        files.test.path,
      ]));
    }
    assert.equal((await server.done).code, 0, server.lines.join("\n"));
    for (const p of parties) {
      assert.equal((await p.done).code, 0, `${p.name}:\n${p.lines.join("\n")}`);
    }
    const history = JSON.parse(
      await Deno.readTextFile(`${fed}/server/history.json`),
    ) as RoundRecord[];
    assert.equal(history.length, 4);
    assert.deepEqual(history.map((r) => r.participants.length), [3, 3, 3, 3]);
    assert.ok(history[3]!.accuracy > 0.85, `final accuracy ${history[3]!.accuracy}`);
    assert.ok(history[3]!.loss < history[0]!.loss);
    // The owner evaluated every round's model on its own copy of the test set.
    const evals = (await Deno.readTextFile(`${fed}/owner/state/eval.jsonl`)).trim().split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual(evals.map((e) => e.round), [1, 2, 3, 4]);
    assert.equal(evals[3].accuracy, history[3]!.accuracy);
    assert.ok(
      parties[2]!.lines.some((l) =>
        /training and \d+ test examples .*client-1\.csv.*model mlp:8 \(67 parameters\)/.test(l)
      ),
    );
  } finally {
    await stopAll(parties);
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
