/**
 * The report: self-contained, its inlined data cannot end its script
 * element, it replaces only files that are reports, and `flhe demo` refuses
 * a report folder holding other files before it starts anything.
 */
import assert from "node:assert/strict";
import { main } from "../../main.ts";
import type { Io } from "../../src/cli/output.ts";
import { renderReport, writeReport } from "../../src/dashboard/report.ts";
import { livePage } from "../../src/dashboard/page.ts";
import { UPLOT_VERSION } from "../../src/dashboard/assets.ts";
import { assertNoSecrets, failedRecord, FEDERATION, okRecord } from "./fixtures.ts";

Deno.test("report: one file with uPlot, the page script and the rows inlined", async () => {
  const html = await renderReport([okRecord(1), failedRecord(2)], FEDERATION);
  assert.ok(!/<script[^>]* src=/.test(html) && !/<link /.test(html), "nothing loaded from outside");
  assert.match(html, new RegExp(`uPlot \\(v${UPLOT_VERSION.replaceAll(".", "\\.")}\\)`));
  assert.match(html, /<body data-mode="report">/);
  const data = html.match(/<script type="application\/json" id="flhe-snapshot">(.*?)<\/script>/s);
  assert.ok(data);
  const snapshot = JSON.parse(data[1]!);
  assert.deepEqual(snapshot.rounds.map((r: { status: string }) => r.status), ["ok", "failed"]);
  assert.equal(snapshot.federation.fingerprint, FEDERATION.fingerprint);
  assertNoSecrets(data[1]!);
});

Deno.test("report: a hostile failure reason cannot end the data's script element", async () => {
  const record = { ...failedRecord(1), failed: "</script><script>alert(1)</script>" };
  const html = await renderReport([record], null);
  assert.ok(!html.includes("<script>alert(1)"), "the reason stays data");
  const data = html.match(/id="flhe-snapshot">(.*?)<\/script>/s)![1]!;
  assert.equal(JSON.parse(data).rounds[0].reason, "</script><script>alert(1)</script>");
  assert.match(livePage("a <b> & 'c'"), /<title>a &#60;b&#62; &#38; &#39;c&#39;<\/title>/);
});

Deno.test("report: replaces a report, refuses any other file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeReport(`${dir}/r.html`, [okRecord(1)], null);
    await writeReport(`${dir}/r.html`, [okRecord(1), okRecord(2)], null);
    assert.match(await Deno.readTextFile(`${dir}/r.html`), /"round":2/);
    await Deno.writeTextFile(`${dir}/mine.html`, "<html></html>");
    await assert.rejects(
      writeReport(`${dir}/mine.html`, [], null),
      /mine\.html: exists and is not a report flhe wrote/,
    );
    assert.equal(await Deno.readTextFile(`${dir}/mine.html`), "<html></html>");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("flhe demo refuses a --report folder with files it did not write, before starting", async () => {
  const dir = await Deno.makeTempDir();
  let stderr = "";
  const io: Io = { out: () => {}, err: (t) => (stderr += t) };
  try {
    await Deno.writeTextFile(`${dir}/report.html`, "<p>someone's page</p>");
    assert.equal(await main(["demo", "--report", dir], io), 2);
    assert.match(stderr, /report\.html: exists and is not a report flhe wrote/);
    await Deno.remove(`${dir}/report.html`);
    stderr = "";
    await Deno.writeTextFile(`${dir}/history.json`, '{"notes": true}');
    assert.equal(await main(["demo", "--report", dir], io), 2);
    assert.match(stderr, /history\.json: exists and is not a round history/);
    assert.equal(await Deno.readTextFile(`${dir}/history.json`), '{"notes": true}');
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("assets: UPLOT_VERSION is the version deno.json pins", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  assert.equal(config.imports.uplot, `npm:uplot@${UPLOT_VERSION}`);
});
