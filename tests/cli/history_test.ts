/**
 * `flhe history FILE`: the round table of a history.json, `--csv`, `--html`;
 * failed and recovered rounds shown as such; bad files are one error line.
 */
import assert from "node:assert/strict";
import { main } from "../../main.ts";
import type { Io } from "../../src/cli/output.ts";
import {
  failedRecord,
  okRecord,
  recoveredRecord,
  regressionRecord,
} from "../dashboard/fixtures.ts";

async function flhe(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: Io = { out: (t) => (stdout += t), err: (t) => (stderr += t) };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

async function withHistory(fn: (file: string, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/history.json`;
    // As the server writes it: JSON.stringify turns NaN into null.
    const rows = [okRecord(1), failedRecord(2), recoveredRecord(3), okRecord(4, 0.9712)];
    await Deno.writeTextFile(file, JSON.stringify(rows, null, 2));
    await fn(file, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("flhe history FILE prints the round table, failed and recovered rounds as such", async () => {
  await withHistory(async (file) => {
    const run = await flhe(["history", file]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, "");
    const lines = run.stdout.trimEnd().split("\n");
    assert.match(lines[0]!, /^round +clients +accuracy +loss +train s/);
    const cells = lines.slice(1, 5).map((l) => l.trim().split(/\s+/));
    assert.deepEqual(cells[0]!.slice(0, 5), ["1", "2", "60.00%", "1.0000", "10.3"]);
    assert.deepEqual(cells[1]!.slice(0, 4), ["2", "2", "failed", "-"]);
    assert.deepEqual(cells[2]!.slice(0, 4), ["3", "0", "recovered", "-"]);
    assert.deepEqual(cells[3]!.slice(0, 3), ["4", "2", "97.12%"]);
    assert.equal(cells[3]!.at(-1), "514", "upload KiB per client");
    assert.match(lines[5]!, /^round 2 failed: no update from client-2/);
  });
});

Deno.test("flhe history FILE --csv prints one line per round with the status", async () => {
  await withHistory(async (file) => {
    const run = await flhe(["history", "--csv", file]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trimEnd().split("\n");
    assert.equal(
      lines[0],
      "round,status,clients,accuracy,loss,mae,train_s,encrypt_s,upload_s,aggregate_s,decrypt_s," +
        "evaluate_s,round_s,bytes_in,bytes_out,upload_bytes_per_client,total_weight," +
        "failed_clients,reason,epsilon,epsilon_by_client",
    );
    assert.equal(
      lines[1],
      "1,ok,2,0.6,1,,10.25,0.1,0.75,0.03,4.5,1.25,17.5,1054159,494408,526592,1200,,,,",
    );
    const failed = lines[2]!.split(",");
    assert.deepEqual(failed.slice(0, 5), ["2", "failed", "2", "", ""]);
    assert.equal(failed[17], "client-2");
    assert.match(lines[2]!, /,"?no update from client-2 \(sent 9f9f/);
    assert.match(lines[3]!, /^3,recovered,0,,,/);
    assert.equal(lines.length, 5);
  });
});

Deno.test("flhe history FILE shows a regression's test MSE and MAE, as table and CSV", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/history.json`;
    const rows = [regressionRecord(1), failedRecord(2), regressionRecord(4)];
    await Deno.writeTextFile(file, JSON.stringify(rows, null, 2));
    // No bundle: the rows say it is a regression (only a regression's carry an MAE).
    const run = await flhe(["history", file]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trimEnd().split("\n");
    assert.match(lines[0]!, /^round +clients +test MSE +test MAE +train s/);
    assert.deepEqual(lines[1]!.trim().split(/\s+/).slice(0, 5), [
      "1",
      "2",
      "20.00",
      "4.000",
      "10.3",
    ]);
    assert.deepEqual(lines[2]!.trim().split(/\s+/).slice(0, 4), ["2", "2", "failed", "-"]);
    assert.deepEqual(lines[3]!.trim().split(/\s+/).slice(0, 4), ["4", "2", "5.000", "2.500"]);
    assert.ok(!run.stdout.includes("accuracy"), run.stdout);
    const csv = await flhe(["history", "--csv", file]);
    const cells = csv.stdout.split("\n").map((l) => l.split(",").slice(0, 6));
    assert.deepEqual(cells[0], ["round", "status", "clients", "accuracy", "loss", "mae"]);
    assert.deepEqual(cells[1], ["1", "ok", "2", "", "20", "4"]);
    assert.deepEqual(cells[2], ["2", "failed", "2", "", "", ""]);
    assert.deepEqual(cells[3], ["4", "ok", "2", "", "5", "2.5"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("flhe history --html writes a report and will not replace another file", async () => {
  await withHistory(async (file, dir) => {
    const out = `${dir}/report.html`;
    const run = await flhe(["history", file, "--html", out]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, `history: report written to ${out}\n`);
    const html = await Deno.readTextFile(out);
    assert.match(html, /<meta name="generator" content="flhe report">/);
    assert.match(html, /uPlot/);
    assert.ok(!html.includes("<script src="), "self-contained: no script is loaded");
    assert.equal((await flhe(["history", file, "--html", out])).code, 0, "replaces its own report");
    const notes = `${dir}/notes.html`;
    await Deno.writeTextFile(notes, "<p>mine</p>");
    const refused = await flhe(["history", file, "--html", notes]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /notes\.html: exists and is not a report flhe wrote/);
    assert.equal(await Deno.readTextFile(notes), "<p>mine</p>");
  });
});

Deno.test("flhe history: a missing or malformed file is one line; no file is a usage error", async () => {
  await withHistory(async (file, dir) => {
    const none = await flhe(["history"]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^flhe history: give the history file: flhe history FILE\n/);
    const two = await flhe(["history", file, file]);
    assert.equal(two.code, 2);
    const missing = await flhe(["history", `${dir}/nope.json`]);
    assert.deepEqual([missing.code, missing.stderr], [
      1,
      `flhe history: ${dir}/nope.json: file not found\n`,
    ]);
    await Deno.writeTextFile(`${dir}/bad.json`, JSON.stringify([{ round: 1 }]));
    const bad = await flhe(["history", `${dir}/bad.json`]);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /^flhe history: .*bad\.json: field "\[0\]\.seconds" is not a JSON object\n$/,
    );
  });
});
