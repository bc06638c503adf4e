/**
 * The dashboard's HTTP server: routes, Server-Sent Events, the token off
 * loopback (and the cookie it trades for), the loopback host check, the cap
 * on pages, and that nothing it sends holds a ciphertext or a token.
 */
import assert from "node:assert/strict";
import {
  type Dashboard,
  type DashboardOptions,
  startDashboard,
} from "../../src/dashboard/server.ts";
import { checkAccess, isLoopback, tokensEqual } from "../../src/dashboard/access.ts";
import { createLogger } from "../../src/util/log.ts";
import { createCertificateAuthority, issueCertificate } from "../../src/net/tls.ts";
import { assertNoSecrets, failedRecord, FEDERATION, okRecord } from "./fixtures.ts";

async function withDashboard(
  options: Partial<DashboardOptions>,
  fn: (d: Dashboard, lines: string[]) => Promise<void>,
): Promise<void> {
  const lines: string[] = [];
  const dashboard = await startDashboard({
    hostname: "127.0.0.1",
    port: 0,
    federation: FEDERATION,
    log: createLogger("server", (l) => lines.push(l)),
    ...options,
  });
  try {
    await fn(dashboard, lines);
  } finally {
    await dashboard.close();
  }
}

/** Reads an event stream until `until` matches what came so far. */
async function readEvents(response: Response, until: RegExp): Promise<string> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const deadline = setTimeout(() => reader.cancel(), 10_000);
  try {
    while (!until.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
  } finally {
    clearTimeout(deadline);
    await reader.cancel();
  }
  return text;
}

/** The status of a GET / with this Host header (fetch would set its own). */
async function statusFor(port: number, host: string): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const request = `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
    await conn.write(new TextEncoder().encode(request));
    const head = new Uint8Array(64);
    const n = await conn.read(head);
    return Number(new TextDecoder().decode(head.subarray(0, n ?? 0)).split(" ")[1]);
  } finally {
    conn.close();
  }
}

Deno.test("dashboard: serves its page, files and state on loopback and logs its URL", async () => {
  await withDashboard({}, async (d, lines) => {
    assert.deepEqual(lines, [`[server] dashboard: http://127.0.0.1:${d.port}/`]);
    assert.equal(d.token, undefined);
    const page = await fetch(d.url);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-security-policy")!, /default-src 'none'/);
    const html = await page.text();
    assert.match(html, /<script src="assets\/uPlot\.iife\.min\.js"><\/script>/);
    for (
      const [path, pattern] of [
        ["assets/uPlot.iife.min.js", /uPlot/],
        ["assets/uPlot.min.css", /\.uplot/],
        ["assets/dashboard.js", /EventSource/],
        ["assets/dashboard.css", /#rounds/],
      ] as const
    ) {
      const r = await fetch(`${d.url}${path}`);
      assert.equal(r.status, 200, path);
      assert.match(await r.text(), pattern, path);
    }
    const missing = await fetch(`${d.url}secret.json`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
    const post = await fetch(d.url, { method: "POST", body: "x" });
    assert.equal(post.status, 405);
    await post.body?.cancel();
    d.observe({ type: "round", record: okRecord(1) });
    const state = await (await fetch(`${d.url}state`)).json();
    assert.equal(state.rounds[0].round, 1);
  });
});

Deno.test("dashboard: pages get the state, then each change, without secrets", async () => {
  await withDashboard({}, async (d) => {
    d.observe({ type: "round", record: failedRecord(1) });
    const events = await fetch(`${d.url}events`);
    assert.equal(events.headers.get("content-type"), "text/event-stream; charset=utf-8");
    const reading = readEvents(events, /event: round[^]*"round":2/);
    await new Promise((r) => setTimeout(r, 50));
    d.observe({ type: "client", id: "client-1", activity: "uploading" });
    d.observe({ type: "phase", round: 2, phase: "aggregating" });
    d.observe({ type: "round", record: okRecord(2) });
    const text = await reading;
    assert.match(text, /^retry: 3000\n\nevent: snapshot\ndata: \{"federation"/);
    assert.deepEqual([...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]), [
      "snapshot",
      "client",
      "phase",
      "round",
    ]);
    assertNoSecrets(text);
    const state = await (await fetch(`${d.url}state`)).text();
    assertNoSecrets(state);
    assert.equal(d.stats().events, 4);
  });
});

Deno.test("dashboard: refuses pages past its cap and requests to other host names", async () => {
  await withDashboard({ maxSubscribers: 2 }, async (d) => {
    const open = [await fetch(`${d.url}events`), await fetch(`${d.url}events`)];
    const third = await fetch(`${d.url}events`);
    assert.equal(third.status, 503);
    await third.body?.cancel();
    assert.equal(d.stats().refused, 1);
    for (const r of open) await r.body?.cancel();
    // DNS rebinding: a page of another site that resolves its name to 127.0.0.1.
    assert.equal(await statusFor(d.port, `evil.example:${d.port}`), 421);
    assert.equal(await statusFor(d.port, `localhost:${d.port}`), 200);
    assert.equal(await statusFor(d.port, `[::1]:${d.port}`), 200);
  });
});

Deno.test("dashboard: with a token, every request needs it; the first trades it for a cookie", async () => {
  const token = "ab".repeat(24);
  await withDashboard({ token }, async (d, lines) => {
    assert.deepEqual(lines, [`[server] dashboard: ${d.url}?token=${token}`]);
    for (
      const path of ["", "state", "events", "assets/dashboard.js", `?token=${"cd".repeat(24)}`]
    ) {
      const r = await fetch(`${d.url}${path}`);
      assert.equal(r.status, 401, path);
      assert.doesNotMatch(await r.text(), new RegExp(token));
    }
    const first = await fetch(`${d.url}?token=${token}`, { redirect: "manual" });
    assert.equal(first.status, 303);
    assert.equal(first.headers.get("location"), "/");
    const cookie = first.headers.get("set-cookie")!;
    assert.match(cookie, /HttpOnly; SameSite=Strict/);
    await first.body?.cancel();
    const headers = { cookie: cookie.split(";")[0]! };
    const page = await fetch(d.url, { headers });
    assert.equal(page.status, 200);
    assert.ok(!(await page.text()).includes(token), "the page does not hold the token");
    const events = await fetch(`${d.url}events`, { headers });
    assert.equal(events.status, 200);
    assertNoSecrets(await readEvents(events, /event: snapshot/));
    const query = await fetch(`${d.url}state?token=${token}`);
    assert.equal(query.status, 200);
    await query.body?.cancel();
  });
});

Deno.test("dashboard: off loopback it makes a token and refuses requests without it", async () => {
  await withDashboard({ hostname: "0.0.0.0" }, async (d, lines) => {
    assert.ok(d.token && /^[0-9a-f]{48}$/.test(d.token));
    assert.equal(lines[0], `[server] dashboard: http://0.0.0.0:${d.port}/?token=${d.token}`);
    assert.match(lines[1]!, /warning: the dashboard is served over http off loopback/);
    const url = `http://127.0.0.1:${d.port}/`;
    const refused = await fetch(url);
    assert.equal(refused.status, 401);
    await refused.body?.cancel();
    const allowed = await fetch(`${url}state?token=${d.token}`);
    assert.equal(allowed.status, 200);
    await allowed.body?.cancel();
  });
});

Deno.test("dashboard: over https with the server's certificate", async () => {
  const ca = await createCertificateAuthority("dashboard test CA");
  const { certPem, keyPem } = await issueCertificate(ca, "server", ["127.0.0.1"]);
  const token = "ef".repeat(24);
  await withDashboard({ tls: { cert: certPem, key: keyPem }, token }, async (d) => {
    assert.equal(d.url, `https://127.0.0.1:${d.port}/`);
    const client = Deno.createHttpClient({ caCerts: [ca.certPem] });
    try {
      const first = await fetch(`${d.url}?token=${token}`, { client, redirect: "manual" });
      assert.equal(first.status, 303);
      assert.match(first.headers.get("set-cookie")!, /; Secure$/);
      await first.body?.cancel();
      const state = await fetch(`${d.url}state?token=${token}`, { client });
      assert.equal((await state.json()).federation.keyBits, 2048);
    } finally {
      client.close();
    }
  });
});

Deno.test("dashboard: a taken port is one error naming --no-dashboard", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    await assert.rejects(
      startDashboard({
        hostname: "127.0.0.1",
        port: (taken.addr as Deno.NetAddr).port,
        federation: FEDERATION,
        log: createLogger("server", () => {}),
      }),
      /^FlheError: dashboard: cannot listen on 127\.0\.0\.1:\d+ .*; --no-dashboard runs the server without it$/,
    );
  } finally {
    taken.close();
  }
});

Deno.test("access: loopback addresses, constant-time token comparison, the decision", () => {
  for (const h of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]", "LOCALHOST"]) {
    assert.ok(isLoopback(h), h);
  }
  for (const h of ["0.0.0.0", "::", "10.0.0.2", "192.168.1.1", "example.com", "127.0.0.1.nip.io"]) {
    assert.ok(!isLoopback(h), h);
  }
  assert.ok(tokensEqual("abc", "abc"));
  for (const given of ["abd", "ab", "abcd", "", "ABC"]) {
    assert.ok(!tokensEqual(given, "abc"), given);
  }
  const policy = { token: "t0k3n", port: 9 };
  const at = (url: string, headers: HeadersInit = {}) =>
    checkAccess(new Request(url, { headers }), policy).allowed;
  assert.ok(at("http://10.0.0.1:9/?token=t0k3n"));
  assert.ok(at("http://10.0.0.1:9/", { cookie: "other=1; flhe_dashboard_9=t0k3n" }));
  assert.ok(!at("http://10.0.0.1:9/", { cookie: "flhe_dashboard_8=t0k3n" }));
  assert.ok(!at("http://10.0.0.1:9/?token=t0k3"));
  assert.ok(!at("http://127.0.0.1:9/"));
});
