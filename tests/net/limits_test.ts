/**
 * Attacks on a listener running in its own process, with raw TCP sockets
 * speaking hand-made WebSocket frames: memory (VmRSS) and connections must
 * stay bounded, and a legitimate client must still be served afterwards.
 * Timeouts are short here so that the file runs in well under a minute;
 * each test prints its figures.
 */

import assert from "node:assert/strict";
import { encodeMessage } from "../../src/net/mod.ts";
import { sample, SINK_ID } from "./limits_listener.ts";
import {
  frame,
  frameHeader,
  legitimateRoundTrip,
  type ListenerProcess,
  RawPeer,
  samplePeak,
  startListener,
  upgradeRequest,
} from "./raw_peer.ts";

const MiB = 1024 * 1024;
const BINARY = 0x2;
const CONTINUATION = 0x0;

function report(name: string, figures: Record<string, unknown>): void {
  console.log(`  ${name}: ${JSON.stringify(figures)}`);
}

async function closeAll(peers: readonly RawPeer[]): Promise<void> {
  await Promise.all(peers.map((p) => p.close()));
}

async function withListener(
  options: Parameters<typeof startListener>[0],
  body: (listener: ListenerProcess) => Promise<void>,
  fileLimit?: number,
): Promise<void> {
  const listener = await startListener(options, fileLimit);
  try {
    await body(listener);
    assert.ok(!listener.exited(), `the listener exited:\n${listener.stderr.join("\n")}`);
  } finally {
    await listener.stop();
  }
}

function hello(id = "client-1") {
  return { ...sample("hello"), id };
}

Deno.test("limits: 8 parallel 60 MiB messages before authentication are skipped, not buffered", async () => {
  await withListener({}, async (listener) => {
    const before = listener.rssMiB();
    const peers = await Promise.all(
      Array.from({ length: 8 }, () => RawPeer.open(listener.port, true)),
    );
    const chunk = new Uint8Array(MiB).fill(0x5a);
    const peak = samplePeak(listener);
    const start = performance.now();
    await Promise.all(peers.map(async (p) => {
      await p.write(frameHeader(BINARY, 60 * MiB));
      for (let i = 0; i < 60; i++) if (!(await p.write(chunk))) break;
    }));
    const seconds = (performance.now() - start) / 1000;
    for (const p of peers) {
      await p.until(() => p.errors().length > 0, 5_000, "error frame");
      assert.match(
        p.errors()[0]!,
        new RegExp(`frame of ${60 * MiB} bytes exceeds the limit of 65536 before authentication`),
      );
    }
    const peakMiB = peak.stop();
    // The connections stay usable: a hello still authenticates.
    await peers[0]!.send(hello("client-2"));
    await peers[0]!.until(
      () => peers[0]!.messages.some((m) => m.type === "welcome"),
      5_000,
      "welcome",
    );
    await closeAll(peers);
    const rtt = await legitimateRoundTrip(listener);
    report("8 x 60 MiB unauthenticated", {
      rssBeforeMiB: before.toFixed(1),
      rssPeakMiB: peakMiB.toFixed(1),
      sentMiB: 480,
      seconds: seconds.toFixed(2),
      legitimateMs: rtt.toFixed(0),
    });
    assert.ok(peakMiB - before <= 200, `RSS grew from ${before} to ${peakMiB} MiB`);
  });
});

Deno.test("limits: an endless fragmented message is cut off, before and after authentication", async () => {
  await withListener({ maxFrameBytes: 4 * MiB }, async (listener) => {
    const before = listener.rssMiB();
    const peak = samplePeak(listener);
    const piece = new Uint8Array(32 * 1024).fill(1);
    piece[0] = 1;
    piece[1] = 4;
    const flood = async (peer: RawPeer): Promise<{ sentMiB: number; ms: number }> => {
      const start = performance.now();
      let sent = 0;
      let opcode = BINARY;
      // At most 10 s or 256 MiB, whichever comes first; the listener should close far sooner.
      while (performance.now() - start < 10_000 && sent < 256 * MiB && !peer.isClosed) {
        if (!(await peer.write(frame(opcode, piece, false)))) break;
        opcode = CONTINUATION;
        sent += piece.length;
      }
      await peer.closedBy(5_000);
      return { sentMiB: sent / MiB, ms: performance.now() - start };
    };
    const anonymous = await Promise.all(
      Array.from({ length: 4 }, () => RawPeer.open(listener.port, true)),
    );
    const authenticated = await RawPeer.open(listener.port, true);
    await authenticated.send(hello("client-3"));
    await authenticated.until(() => authenticated.messages.length > 0, 5_000, "welcome");
    const results = await Promise.all([...anonymous, authenticated].map(flood));
    const peakMiB = peak.stop();
    // The listener names how far the message got: one frame past the limit.
    const reached = [...anonymous, authenticated].map((p) => {
      const m = /fragmented message of at least (\d+) bytes exceeds the limit of (\d+)/.exec(
        p.errors().at(-1) ?? "",
      );
      assert.ok(m, `no error frame: ${p.errors()}`);
      assert.ok(Number(m[1]) <= Number(m[2]) + piece.length);
      return Number(m[1]);
    });
    await closeAll([...anonymous, authenticated]);
    const rtt = await legitimateRoundTrip(listener);
    report("endless fragments", {
      rssBeforeMiB: before.toFixed(1),
      rssPeakMiB: peakMiB.toFixed(1),
      bytesReachedWhenCut: reached,
      unauthenticated: results.slice(0, 4).map((r) =>
        `${r.sentMiB.toFixed(2)} MiB sent, closed after ${r.ms.toFixed(0)} ms`
      ),
      authenticated: `${results[4]!.sentMiB.toFixed(2)} MiB sent, closed after ${
        results[4]!.ms.toFixed(0)
      } ms`,
      legitimateMs: rtt.toFixed(0),
    });
    assert.ok(peakMiB - before <= 200, `RSS grew from ${before} to ${peakMiB} MiB`);
  });
});

Deno.test("limits: idle TCP connections and silent WebSockets are closed at their deadlines", async () => {
  const upgradeTimeoutMs = 1_500;
  const helloTimeoutMs = 2_000;
  await withListener({
    upgradeTimeoutMs,
    helloTimeoutMs,
    closeGraceMs: 500,
  }, async (listener) => {
    const silent = await Promise.all(
      Array.from({ length: 100 }, () => RawPeer.open(listener.port, true)),
    );
    const idle: RawPeer[] = [];
    for (let i = 0; i < 300; i++) idle.push(await RawPeer.open(listener.port, false));
    const all = [...silent, ...idle];
    const duringSockets = listener.sockets();
    await new Promise((r) => setTimeout(r, helloTimeoutMs + 2_000));
    const open = all.filter((p) => !p.isClosed).length;
    const stats = await listener.stats();
    const sockets = listener.sockets();
    const silentClosedMs = Math.max(...silent.map((p) => p.closedAfterMs ?? Infinity));
    const idleClosedMs = Math.max(...idle.map((p) => p.closedAfterMs ?? Infinity));
    const noHello = silent.filter((p) => p.errors().some((e) => /no hello within/.test(e))).length;
    await closeAll(all);
    const rtt = await legitimateRoundTrip(listener);
    report("300 idle TCP + 100 silent WebSockets", {
      listenerSocketsDuring: duringSockets,
      refusedAtOnce: stats.refused,
      stillOpenClientSide: open,
      listenerConnections: stats.connections,
      listenerSockets: sockets,
      lastSilentClosedMs: silentClosedMs.toFixed(0),
      lastIdleClosedMs: idleClosedMs.toFixed(0),
      noHelloErrorFrames: noHello,
      legitimateMs: rtt.toFixed(0),
    });
    assert.ok(open <= 20, `${open} connections still open`);
    assert.equal(stats.connections, 0);
  });
});

Deno.test("limits: slow-loris headers and frames are cut at the deadlines", async () => {
  const upgradeTimeoutMs = 1_500;
  const helloTimeoutMs = 2_000;
  await withListener({
    upgradeTimeoutMs,
    helloTimeoutMs,
    closeGraceMs: 500,
  }, async (listener) => {
    const headers = await Promise.all(
      Array.from({ length: 20 }, () => RawPeer.open(listener.port, false)),
    );
    const frames = await Promise.all(
      Array.from({ length: 5 }, () => RawPeer.open(listener.port, true)),
    );
    const request = upgradeRequest(listener.port);
    const helloFrame = frame(BINARY, encodeMessage(hello()));
    const drip = async (peer: RawPeer, bytes: Uint8Array) => {
      // One byte every 100 ms until the listener closes the connection.
      for (let i = 0; i < bytes.length && !peer.isClosed; i++) {
        if (!(await peer.write(bytes.subarray(i, i + 1)))) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await peer.closedBy(5_000);
    };
    await Promise.all([
      ...headers.map((p) => drip(p, request)),
      ...frames.map((p) => drip(p, helloFrame)),
    ]);
    const headerMs = headers.map((p) => p.closedAfterMs!);
    const frameMs = frames.map((p) => p.closedAfterMs!);
    await closeAll([...headers, ...frames]);
    const rtt = await legitimateRoundTrip(listener);
    report("slow-loris at 10 bytes/s", {
      headersClosedMs: `${Math.min(...headerMs).toFixed(0)}..${Math.max(...headerMs).toFixed(0)}`,
      framesClosedMs: `${Math.min(...frameMs).toFixed(0)}..${Math.max(...frameMs).toFixed(0)}`,
      legitimateMs: rtt.toFixed(0),
    });
    assert.ok(Math.max(...headerMs) < upgradeTimeoutMs + 1_000);
    assert.ok(Math.max(...frameMs) < helloTimeoutMs + 1_500);
  });
});

Deno.test("limits: the cap on unauthenticated connections closes further ones at once", async () => {
  await withListener({
    maxUnauthenticatedConnections: 50,
  }, async (listener) => {
    const peers: RawPeer[] = [];
    for (let i = 0; i < 50; i++) peers.push(await RawPeer.open(listener.port, true));
    const extra = await Promise.all(
      Array.from({ length: 10 }, () => RawPeer.open(listener.port, true).catch(() => undefined)),
    );
    const refusedAtOnce = extra.filter((p) => p === undefined).length;
    const stats = await listener.stats();
    // An authenticated peer frees its place.
    await peers[0]!.send(hello("client-4"));
    await peers[0]!.until(() => peers[0]!.messages.length > 0, 5_000, "welcome");
    const next = await RawPeer.open(listener.port, true);
    await closeAll([...peers, next, ...extra.filter((p) => p !== undefined)]);
    const rtt = await legitimateRoundTrip(listener);
    report("cap of 50 unauthenticated", {
      refusedAtOnce,
      refusedCounted: stats.refused,
      legitimateMs: rtt.toFixed(0),
    });
    assert.equal(refusedAtOnce, 10);
    assert.equal(stats.refused, 10);
  });
});

Deno.test("limits: a peer that floods an authenticated channel is closed when its receive queue is full", async () => {
  await withListener({}, async (listener) => {
    const before = listener.rssMiB();
    const peak = samplePeak(listener);
    const sink = await RawPeer.open(listener.port, true);
    await sink.send(hello(SINK_ID));
    await sink.until(() => sink.messages.length > 0, 5_000, "welcome");
    const message = frame(
      BINARY,
      encodeMessage({ ...sample("update"), payload: new Uint8Array(500_000) }),
    );
    let sent = 0;
    for (; sent < 400 && !sink.isClosed; sent++) if (!(await sink.write(message))) break;
    await sink.closedBy(5_000);
    const peakMiB = peak.stop();
    const errors = sink.errors();
    await sink.close();
    const rtt = await legitimateRoundTrip(listener);
    report("400 x 0.5 MB after authentication, never read", {
      rssBeforeMiB: before.toFixed(1),
      rssPeakMiB: peakMiB.toFixed(1),
      framesWritten: sent,
      error: errors.at(-1),
      legitimateMs: rtt.toFixed(0),
    });
    assert.match(errors.at(-1) ?? "", /receive queue full/);
    assert.ok(peakMiB - before <= 200, `RSS grew from ${before} to ${peakMiB} MiB`);
  });
});

Deno.test("limits: pings drop a peer that does not answer and keep one that does", async () => {
  await withListener({
    pingIntervalMs: 250,
    livenessTimeoutMs: 1_500,
  }, async (listener) => {
    // A raw peer authenticates, then never reads again: no pongs.
    const mute = await RawPeer.open(listener.port, true);
    await mute.send(hello("client-5"));
    await mute.until(() => mute.messages.length > 0, 5_000, "welcome");
    const authenticatedAt = performance.now() - mute.openedAtMs;
    // flhe's own client answers pings by itself, across more than the timeout.
    const live = legitimateRoundTrip(listener, "client-6");
    await mute.closedBy(5_000);
    const droppedAfterMs = mute.closedAfterMs! - authenticatedAt;
    await mute.close();
    const { connect } = await import("../../src/net/mod.ts");
    const channel = await connect(`ws://127.0.0.1:${listener.port}`, {
      peer: "listener",
      maxFrameBytes: 1 << 20,
    });
    channel.send(hello("client-7"));
    assert.equal((await channel.receive(5_000)).type, "welcome");
    await new Promise((r) => setTimeout(r, 3_000));
    assert.ok(!channel.isClosed, "a peer that answers pings stays");
    channel.send(sample("report"));
    assert.equal((await channel.receive(5_000)).type, "done");
    channel.close();
    await channel.closed;
    await live;
    report("pings every 250 ms, liveness 1,500 ms", {
      mutePeerDroppedAfterMs: droppedAfterMs.toFixed(0),
    });
    assert.ok(
      droppedAfterMs >= 1_400 && droppedAfterMs < 3_000,
      `dropped after ${droppedAfterMs} ms`,
    );
  });
});

Deno.test("limits: accept errors (too many open files) are survived and the listener serves afterwards", async () => {
  await withListener({
    // Above the descriptor limit, so that accept itself fails.
    maxUnauthenticatedConnections: 1_000,
    upgradeTimeoutMs: 30_000,
  }, async (listener) => {
    const peers: RawPeer[] = [];
    for (let i = 0; i < 400; i++) peers.push(await RawPeer.open(listener.port, false));
    await new Promise((r) => setTimeout(r, 1_000));
    const during = await listener.stats();
    // Shedding the oldest unauthenticated connections makes room for new ones.
    const duringMs = await legitimateRoundTrip(listener);
    await closeAll(peers);
    await new Promise((r) => setTimeout(r, 300));
    const afterMs = await legitimateRoundTrip(listener);
    const after = await listener.stats();
    const warnings = listener.stderr.filter((l) => /accept failed/.test(l));
    report("400 connections under ulimit -n 256", {
      acceptErrors: after.acceptErrors,
      shed: after.shed,
      connectionsDuring: during.connections,
      legitimateDuringMs: duringMs.toFixed(0),
      legitimateAfterMs: afterMs.toFixed(0),
      warningLines: warnings.length,
      warning: warnings[0],
    });
    assert.ok(after.acceptErrors > 0, "the descriptor limit was reached");
    assert.equal(warnings.length, 1, "logged once");
  }, 256);
});

Deno.test("limits: an idle TLS connection is closed at the upgrade deadline; wss:// still serves", async () => {
  await withListener({
    tls: true,
    upgradeTimeoutMs: 1_000,
  }, async (listener) => {
    const idle = await Promise.all(
      Array.from({ length: 20 }, () => RawPeer.open(listener.port, false)),
    );
    await Promise.all(idle.map((p) => p.closedBy(3_000)));
    const ms = Math.max(...idle.map((p) => p.closedAfterMs!));
    await closeAll(idle);
    const rtt = await legitimateRoundTrip(listener);
    report("20 idle TLS connections", {
      lastClosedMs: ms.toFixed(0),
      legitimateMs: rtt.toFixed(0),
    });
    assert.ok(ms < 2_000);
  });
});

Deno.test("limits: authenticate() with limits by message type", async () => {
  await withListener({
    limits: { maxMessageBytes: 4_096, byType: { update: 1_000_000 } },
  }, async (listener) => {
    const peer = await RawPeer.open(listener.port, true);
    await peer.send(hello("client-9"));
    await peer.until(() => peer.messages.length > 0, 5_000, "welcome");
    // An update of 600 kB passes; a report padded to 100 kB does not.
    await peer.send({ ...sample("update"), payload: new Uint8Array(600_000) });
    await peer.until(() => peer.messages.some((m) => m.type === "done"), 5_000, "answer");
    const report = encodeMessage(sample("report"));
    const padded = new Uint8Array(100_000);
    padded.set(report);
    await peer.write(frame(BINARY, padded));
    await peer.until(() => peer.errors().length > 0, 5_000, "error frame");
    assert.match(peer.errors()[0]!, /^report frame of 100000 bytes exceeds the limit of 4096$/);
    await peer.close();
  });
});

/** A hand-made WebSocket server for one connection, in this process. */
function rawServer(
  serve: (conn: Deno.Conn) => Promise<void>,
): { port: number; done: Promise<void> } {
  const server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const done = (async () => {
    const conn = await server.accept();
    server.close();
    try {
      await serve(conn);
    } finally {
      try {
        conn.close();
      } catch {
        // Closed already.
      }
    }
  })();
  return { port: (server.addr as Deno.NetAddr).port, done };
}

Deno.test("limits: connect() closes the TCP connection of a server that stalls the TLS handshake", async () => {
  const { connect } = await import("../../src/net/mod.ts");
  let closedAfterMs = Infinity;
  const server = rawServer(async (conn) => {
    const start = performance.now();
    const buffer = new Uint8Array(4_096);
    // Read the client hello and never answer; wait for the close.
    while ((await conn.read(buffer).catch(() => null)) !== null);
    closedAfterMs = performance.now() - start;
  });
  await assert.rejects(
    connect(`wss://127.0.0.1:${server.port}`, { peer: "server", maxFrameBytes: 1024 }, 500),
    /no connection within 500 ms/,
  );
  await server.done;
  report("TLS handshake stalled by the server", { tcpClosedAfterMs: closedAfterMs.toFixed(0) });
  assert.ok(closedAfterMs < 1_500);
});

Deno.test("limits: connect() skips a message over its limit from the server without buffering it", async () => {
  const { connect } = await import("../../src/net/mod.ts");
  const { acceptKey, readHttpHead } = await import("../../src/net/handshake.ts");
  const { encodeWsFrame } = await import("../../src/net/frame_codec.ts");
  const { writeAll } = await import("../../src/net/byte_stream.ts");
  const server = rawServer(async (conn) => {
    const head = await readHttpHead(conn);
    assert.ok(typeof head !== "string");
    const key = head.headers.get("sec-websocket-key")!;
    await writeAll(
      conn,
      new TextEncoder().encode(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          `Sec-WebSocket-Accept: ${await acceptKey(key)}\r\n\r\n`,
      ),
    );
    // 60 MiB announced in one unmasked frame header, then streamed.
    const header = Uint8Array.of(0x82, 127, 0, 0, 0, 0, 0x03, 0xc0, 0, 0);
    await writeAll(conn, header);
    const chunk = new Uint8Array(MiB);
    for (let i = 0; i < 60; i++) await writeAll(conn, chunk);
    await writeAll(conn, encodeWsFrame(BINARY, encodeMessage(sample("done")), false));
    // Wait for the client's close.
    const buffer = new Uint8Array(65_536);
    while ((await conn.read(buffer).catch(() => null)) !== null);
  });
  const channel = await connect(`ws://127.0.0.1:${server.port}`, {
    peer: "server",
    maxFrameBytes: 1 << 20,
  }, 5_000);
  const next = await channel.receive(10_000);
  assert.equal(next.type, "done");
  assert.ok(channel.bytesIn > 60 * MiB);
  channel.close();
  await channel.closed;
  await server.done;
});

Deno.test("limits: a stranger that sends bad frames and never reads the error answers is dropped", async () => {
  await withListener({}, async (listener) => {
    const before = listener.rssMiB();
    const peak = samplePeak(listener);
    // A raw socket that upgrades and then never reads a byte: every bad frame
    // is answered with an error message that has nowhere to go.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.port });
    const bad = frame(BINARY, Uint8Array.of(2, 7, 0)); // "frame of 3 bytes is truncated"
    const burst = new Uint8Array(bad.length * 10_000);
    for (let i = 0; i < 10_000; i++) burst.set(bad, i * bad.length);
    let dropped = false;
    let sent = 0;
    const write = (bytes: Uint8Array) => conn.write(bytes).then(() => false, () => true);
    try {
      await conn.write(upgradeRequest(listener.port));
      // 10,000 frames a burst, 200,000 in all: ~15 MB of error answers.
      for (; sent < 20 && !dropped; sent++) dropped = await write(burst);
      // Let the listener read them all and try to answer; a dropped peer's
      // next writes fail.
      await new Promise((r) => setTimeout(r, 3_000));
      for (let i = 0; i < 3 && !dropped; i++) {
        dropped = await write(burst);
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      conn.close();
    }
    const peakMiB = peak.stop();
    const rtt = await legitimateRoundTrip(listener);
    report("bad frames, answers never read", {
      rssBeforeMiB: before.toFixed(1),
      rssPeakMiB: peakMiB.toFixed(1),
      bursts: sent,
      dropped,
      legitimateMs: rtt.toFixed(0),
    });
    assert.ok(dropped, "the peer was never dropped");
    assert.ok(peakMiB - before <= 64, `RSS grew from ${before} to ${peakMiB} MiB`);
  });
});
