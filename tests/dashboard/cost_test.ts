/**
 * What the dashboard costs the server per round: the events of a real round
 * (the same kinds and counts `server_round.ts` emits) replayed into a
 * running dashboard with pages attached that read everything; milliseconds
 * of the server's time in the event handling (state, JSON, queueing to
 * every page) and bytes sent to each page. Prints the figures. Also: a page
 * that stops reading is dropped instead of growing the server's memory.
 */
import assert from "node:assert/strict";
import { startDashboard } from "../../src/dashboard/server.ts";
import { createSseHub, sseEvent } from "../../src/dashboard/sse.ts";
import type { ServerEvent } from "../../src/rounds/mod.ts";
import { createLogger } from "../../src/util/log.ts";
import { FEDERATION, okRecord } from "./fixtures.ts";

/** The events of one round with `clients` clients, in the order the server emits them. */
function roundEvents(round: number, clients: number): ServerEvent[] {
  const ids = Array.from({ length: clients }, (_, i) => `client-${i + 1}`);
  const each = (
    activity: "training" | "ready" | "uploading" | "uploaded" | "evaluating" | "waiting",
  ) => ids.map((id): ServerEvent => ({ type: "client", id, activity }));
  return [
    ...each("training"),
    { type: "phase", round, phase: "training" },
    ...each("ready"),
    { type: "phase", round, phase: "uploading" },
    ...each("uploading"),
    ...each("uploaded"),
    { type: "phase", round, phase: "aggregating" },
    { type: "phase", round, phase: "decrypting" },
    { type: "phase", round, phase: "evaluating" },
    ...each("evaluating"),
    ...each("waiting"),
    { type: "round", record: { ...okRecord(round), participants: ids } },
  ];
}

/** Reads a page's stream to its end; resolves with the bytes read. */
async function drain(response: Response): Promise<number> {
  let bytes = 0;
  for await (const chunk of response.body!) bytes += chunk.length;
  return bytes;
}

async function measure(clients: number, pages: number, rounds: number) {
  const dashboard = await startDashboard({
    hostname: "127.0.0.1",
    port: 0,
    federation: { ...FEDERATION, clients, rounds },
    log: createLogger("server", () => {}),
  });
  const responses = await Promise.all(
    Array.from({ length: pages }, () => fetch(`${dashboard.url}events`)),
  );
  const readers = responses.map(drain);
  for (let round = 1; round <= rounds; round++) {
    for (const event of roundEvents(round, clients)) dashboard.observe(event);
    // Let the pages read, as a round's seconds of training would.
    await new Promise((r) => setTimeout(r, 5));
  }
  const stats = dashboard.stats();
  await dashboard.close();
  const received = await Promise.all(readers);
  return { stats, received };
}

Deno.test("dashboard cost per round: milliseconds of event handling and bytes per page", async () => {
  const rounds = 20;
  const lines: string[] = [];
  for (const [clients, pages] of [[2, 1], [2, 32], [20, 1], [20, 32]] as const) {
    const { stats, received } = await measure(clients, pages, rounds);
    assert.equal(stats.events, rounds * (6 * clients + 6));
    const perPage = stats.bytesPerPage / rounds;
    const ms = stats.eventMs / rounds;
    // Every page got the first message and every change.
    for (const bytes of received) {
      assert.ok(bytes >= stats.bytesPerPage, `${bytes} < ${stats.bytesPerPage}`);
    }
    lines.push(
      `${clients} clients, ${pages} pages: ${ms.toFixed(3)} ms and ${
        perPage.toFixed(0)
      } bytes per page per round (${stats.events / rounds} events)`,
    );
    // Generous bounds for a shared 2-core machine; the figures printed are what counts.
    assert.ok(ms < 50, `${ms} ms per round`);
    assert.ok(perPage < 200 * (6 * clients + 6), `${perPage} bytes per page per round`);
  }
  console.log(`dashboard cost per round:\n  ${lines.join("\n  ")}`);
});

Deno.test("sse hub: a page that does not read is dropped, not buffered without end", async () => {
  const hub = createSseHub({ maxSubscribers: 4, maxQueuedBytes: 10_000, keepAliveMs: 60_000 });
  try {
    const stalled = hub.subscribe(() => sseEvent("snapshot", {}))!;
    const event = sseEvent("phase", { text: "x".repeat(1000) });
    for (let i = 0; i < 50; i++) hub.broadcast(event);
    const stats = hub.stats();
    assert.equal(stats.dropped, 1);
    assert.equal(stats.subscribers, 0);
    // What was queued before the drop is still delivered, then the stream ends.
    const text = await stalled.text();
    assert.ok(text.length < 20_000, `${text.length} bytes queued`);
  } finally {
    hub.close();
  }
});

Deno.test("sse hub: a page over the cap is refused before the state is serialised", async () => {
  const hub = createSseHub({ maxSubscribers: 2, maxQueuedBytes: 10_000, keepAliveMs: 60_000 });
  let serialised = 0;
  const first = () => {
    serialised++;
    return sseEvent("snapshot", { rows: [] });
  };
  try {
    const pages = [hub.subscribe(first)!, hub.subscribe(first)!];
    assert.equal(hub.subscribe(first), undefined);
    assert.equal(hub.stats().refused, 1);
    assert.equal(serialised, 2, "only the pages let in are serialised");
    hub.close();
    for (const page of pages) assert.match(await page.text(), /^retry: 3000\n\nevent: snapshot\n/);
  } finally {
    hub.close();
  }
});

Deno.test("sse hub: the keep-alive comment is encoded once, not on every tick", async () => {
  const encode = TextEncoder.prototype.encode;
  let keepAliveEncodes = 0;
  TextEncoder.prototype.encode = function (this: TextEncoder, input?: string) {
    if (input?.includes("keep-alive")) keepAliveEncodes++;
    return encode.call(this, input);
  };
  const hub = createSseHub({ maxSubscribers: 2, maxQueuedBytes: 10_000, keepAliveMs: 5 });
  try {
    const page = hub.subscribe(() => sseEvent("snapshot", {}))!;
    await new Promise((r) => setTimeout(r, 60));
    hub.close();
    const comments = (await page.text()).split(": keep-alive\n\n").length - 1;
    assert.ok(comments >= 2, `${comments} keep-alive comments`);
    assert.equal(keepAliveEncodes, 0, "encoded when the module loaded, not per tick");
  } finally {
    TextEncoder.prototype.encode = encode;
    hub.close();
  }
});
