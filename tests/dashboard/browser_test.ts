/**
 * The dashboard in a real browser: Debian's chromium, driven by
 * puppeteer-core (which never downloads a browser), watches a real
 * federation (owner, server and two clients as processes, two rounds): round
 * 1's row and a drawn chart appear, then round 2 arrives without a reload.
 * The report written from the same history opens from file:// and shows the
 * same rows. Skipped, saying why, when chromium is not installed.
 */
import assert from "node:assert/strict";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { loadBundle } from "../../src/federation/mod.ts";
import { type FederationInfo, federationInfo, writeReport } from "../../src/dashboard/mod.ts";
import { readHistory, type RoundRecord } from "../../src/rounds/mod.ts";
import {
  freePort,
  type Party,
  QUICK_CLIENT_ARGS,
  smallFederation,
  startParty,
  stopAll,
} from "../parties/harness.ts";
import { failedRecord, FEDERATION, okRecord, regressionRecord } from "./fixtures.ts";

/** Chromium: `CHROMIUM_PATH`, else `chromium` or `chromium-browser` on the PATH. */
function findChromium(): string | undefined {
  const given = Deno.env.get("CHROMIUM_PATH");
  if (given) return given;
  for (const dir of (Deno.env.get("PATH") ?? "").split(":").filter(Boolean)) {
    for (const name of ["chromium", "chromium-browser"]) {
      try {
        if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
      } catch {
        // Not in this folder.
      }
    }
  }
  return undefined;
}

const chromium = findChromium();
const skipped = chromium === undefined
  ? " (skipped: no chromium on the PATH and CHROMIUM_PATH unset; `apt-get install chromium`)"
  : "";

async function launch(): Promise<Browser> {
  return await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    // As root (CI) chromium needs --no-sandbox; /dev/shm may be small in containers.
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
  });
}

// The functions below run in the page: written as strings, since Deno's types have no DOM.

/** The text of each row of the round table, cells joined by "|". */
async function rowTexts(page: Page): Promise<string[]> {
  return await page.evaluate(`[...document.querySelectorAll("#rounds tbody tr")]
    .map((r) => [...r.querySelectorAll("td")].map((c) => c.textContent).join("|"))`) as string[];
}

/** Pixels of a chart's canvas in the accuracy series' color (uPlot draws on a canvas). */
async function seriesPixels(page: Page, chart: string): Promise<number> {
  return await page.evaluate(`(() => {
    const c = document.querySelector("#${chart} canvas");
    const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      const near = Math.abs(data[i] - 31) + Math.abs(data[i + 1] - 119) + Math.abs(data[i + 2] - 180);
      if (data[i + 3] > 0 && near < 60) n++;
    }
    return n;
  })()`) as number;
}

async function text(page: Page, selector: string): Promise<string> {
  return await page.evaluate(
    `document.querySelector(${JSON.stringify(selector)}).textContent`,
  ) as string;
}

async function statusIs(page: Page, prefix: string): Promise<void> {
  await page.waitForFunction(
    `document.getElementById("status").textContent.startsWith(${JSON.stringify(prefix)})`,
    { timeout: 120_000 },
  );
}

async function watchLive(page: Page, url: string, startClients: () => void): Promise<string[]> {
  await page.goto(url);
  await statusIs(page, "live");
  await page.evaluate("globalThis.marker = 42");
  startClients();
  await page.waitForSelector('#rounds tr[data-round="1"]', { timeout: 120_000 });
  await page.waitForSelector("#chart-metrics canvas");
  assert.ok((await seriesPixels(page, "chart-metrics")) > 0, "round 1 is drawn on the chart");
  const facts = await text(page, "#facts");
  assert.match(facts, /owner \(fedavg-he\)/);
  assert.match(facts, /512-bit Paillier, standard/);
  await page.waitForSelector('#rounds tr[data-round="2"]', { timeout: 120_000 });
  assert.equal(await page.evaluate("globalThis.marker"), 42, "round 2 arrived without a reload");
  await statusIs(page, "finished");
  const clients = await page.evaluate(
    `[...document.querySelectorAll("#clients tbody tr td:first-child")].map((t) => t.textContent)`,
  ) as string[];
  assert.deepEqual([...clients].sort(), ["client-1", "client-2"]);
  return await rowTexts(page);
}

Deno.test({
  name: `the dashboard shows a running federation live, and its report the same rows${skipped}`,
  ignore: chromium === undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const parties: Party[] = [];
    let browser: Browser | undefined;
    try {
      await smallFederation(`${dir}/fed`);
      const port = freePort();
      parties.push(startParty("owner", ["owner", "serve", "--bundle", `${dir}/fed/owner`]));
      const server = startParty("server", [
        ...["serve", "--bundle", `${dir}/fed/server`, "--round-timeout", "120"],
        ...["--linger", "5", "--dashboard-port", `${port}`],
      ]);
      parties.push(server);
      const line = await server.waitFor(/dashboard: /, 60_000);
      assert.match(line, new RegExp(`^\\[server\\] dashboard: http://127\\.0\\.0\\.1:${port}/$`));
      browser = await launch();
      const page = await browser.newPage();
      const live = await watchLive(page, `http://127.0.0.1:${port}/`, () => {
        for (const i of [1, 2]) {
          const args = ["client", "--bundle", `${dir}/fed/client-${i}`, ...QUICK_CLIENT_ARGS];
          parties.push(startParty(`client-${i}`, args));
        }
      });
      assert.equal(live.length, 2);
      assert.equal((await server.done).code, 0, server.lines.join("\n"));

      const report = `${dir}/report.html`;
      const bundle = await loadBundle(`${dir}/fed/server`);
      const history = await readHistory(`${dir}/fed/server/history.json`);
      await writeReport(report, history, federationInfo(bundle));
      await page.goto(`file://${report}`);
      await page.waitForSelector('#rounds tr[data-round="2"]');
      assert.deepEqual(await rowTexts(page), live);
      assert.ok((await seriesPixels(page, "chart-metrics")) > 0, "the report draws its chart");
      assert.match(await text(page, "#status"), /^report: 2 rounds/);
    } finally {
      await browser?.close();
      await stopAll(parties);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** The round table's header cells and the metrics chart's caption. */
async function labels(page: Page): Promise<{ header: string[]; caption: string }> {
  const header = await page.evaluate(
    `[...document.querySelectorAll("#rounds thead th")].map((t) => t.textContent)`,
  ) as string[];
  return { header, caption: await text(page, "#metrics-caption") };
}

Deno.test({
  name: `the report of a regression shows test MSE and MAE, not accuracy${skipped}`,
  ignore: chromium === undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    let browser: Browser | undefined;
    try {
      browser = await launch();
      const page = await browser.newPage();
      const open = async (
        name: string,
        history: RoundRecord[],
        federation: FederationInfo | null,
      ) => {
        await writeReport(`${dir}/${name}`, history, federation);
        await page.goto(`file://${dir}/${name}`);
        await statusIs(page, "report");
      };
      const regression = [regressionRecord(1), failedRecord(2), regressionRecord(4)];
      // With the federation's task, and from a bare history (whose rows carry an MAE).
      for (const federation of [{ ...FEDERATION, task: "regression", model: "logreg" }, null]) {
        await open("regression.html", regression, federation);
        const { header, caption } = await labels(page);
        assert.deepEqual(header.slice(2, 4), ["test MSE", "test MAE"]);
        assert.equal(caption, "Test MSE and MAE by round");
        const rows = (await rowTexts(page)).map((r) => r.split("|").slice(0, 4));
        assert.deepEqual(rows, [["1", "2", "20.00", "4.000"], ["2", "2", "failed", "-"], [
          "4",
          "2",
          "5.000",
          "2.500",
        ]]);
        assert.ok((await seriesPixels(page, "chart-metrics")) > 0, "the MSE is drawn");
        assert.ok(!(await text(page, "#facts")).includes("accuracy"));
      }
      // A classifier's report is as before.
      await open("classifier.html", [okRecord(1), okRecord(2)], FEDERATION);
      const { header, caption } = await labels(page);
      assert.deepEqual(header.slice(2, 4), ["accuracy", "loss"]);
      assert.equal(caption, "Accuracy and loss by round");
      assert.deepEqual((await rowTexts(page))[0]!.split("|").slice(2, 4), ["60.00%", "1.0000"]);
    } finally {
      await browser?.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
