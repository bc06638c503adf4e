/**
 * Tools for the limit tests: a raw TCP peer that speaks hand-made WebSocket
 * frames, and a handle on a listener running in its own process.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  connect,
  decodeMessage,
  encodeMessage,
  type ListenerStats,
  type Message,
} from "../../src/net/mod.ts";
import { writeAll } from "../../src/net/byte_stream.ts";
import { MessageReader } from "../../src/net/frame_reader.ts";
import { readHttpHead } from "../../src/net/handshake.ts";
import { type ListenerScriptOptions, sample } from "./limits_listener.ts";

const encoder = new TextEncoder();

/** A WebSocket frame header; the payload (masked with a zero key: unchanged) follows separately. */
export function frameHeader(opcode: number, length: number, fin = true): Uint8Array {
  const size = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const out = new Uint8Array(size + 4);
  const view = new DataView(out.buffer);
  out[0] = (fin ? 0x80 : 0) | opcode;
  if (size === 2) out[1] = 0x80 | length;
  else if (size === 4) {
    out[1] = 0x80 | 126;
    view.setUint16(2, length);
  } else {
    out[1] = 0x80 | 127;
    view.setUint32(2, Math.floor(length / 2 ** 32));
    view.setUint32(6, length >>> 0);
  }
  // Mask key 0,0,0,0 (already zero).
  return out;
}

/** A whole masked frame. */
export function frame(opcode: number, payload: Uint8Array, fin = true): Uint8Array {
  const head = frameHeader(opcode, payload.length, fin);
  const out = new Uint8Array(head.length + payload.length);
  out.set(head);
  out.set(payload, head.length);
  return out;
}

/** The upgrade request. */
export function upgradeRequest(port: number): Uint8Array {
  return encoder.encode(
    `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  );
}

/** A peer on a raw TCP connection; it notices when the listener closes it. */
export class RawPeer {
  readonly conn: Deno.Conn;
  readonly openedAtMs = performance.now();
  /** When the listener closed the connection (EOF or reset), in ms after opening. */
  closedAfterMs: number | undefined;
  /** Messages the listener sent. */
  readonly messages: Message[] = [];
  /** Whether the WebSocket handshake succeeded. */
  upgraded = false;
  readonly #loop: Promise<void>;
  readonly #upgradeDone = Promise.withResolvers<boolean>();
  #waiters: (() => void)[] = [];

  private constructor(conn: Deno.Conn, upgrade: boolean) {
    this.conn = conn;
    this.#loop = this.#read(upgrade);
  }

  /** Opens a TCP connection; with `upgrade`, completes the WebSocket handshake. */
  static async open(port: number, upgrade: boolean): Promise<RawPeer> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const peer = new RawPeer(conn, upgrade);
    if (upgrade) {
      await peer.write(upgradeRequest(port));
      assert.ok(await peer.#upgradeDone.promise, "the WebSocket handshake failed");
    }
    return peer;
  }

  get isClosed(): boolean {
    return this.closedAfterMs !== undefined;
  }

  async #read(upgrade: boolean): Promise<void> {
    const reader = new MessageReader({
      expectMasked: false,
      limit: () => 1 << 24,
      events: {
        message: (bytes) => this.messages.push(decodeMessage(bytes, 1 << 24)),
        text: () => {},
        tooLarge: () => {},
        ping: () => {},
        pong: () => {},
        close: () => {},
        fail: () => {},
      },
    });
    const buffer = new Uint8Array(65_536);
    try {
      if (upgrade) {
        const head = await readHttpHead(this.conn);
        this.upgraded = typeof head !== "string" && head.startLine.includes(" 101 ");
        this.#upgradeDone.resolve(this.upgraded);
        if (typeof head === "string") return;
        reader.push(head.rest);
        this.#notify();
      }
      for (;;) {
        const n = await this.conn.read(buffer);
        if (n === null) return;
        if (upgrade) reader.push(buffer.subarray(0, n));
        this.#notify();
      }
    } catch {
      // Reset or closed by us.
    } finally {
      this.#upgradeDone.resolve(false);
      this.closedAfterMs ??= performance.now() - this.openedAtMs;
      this.#notify();
    }
  }

  #notify(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Writes bytes; false if the connection is gone. */
  async write(bytes: Uint8Array): Promise<boolean> {
    try {
      await writeAll(this.conn, bytes);
      return true;
    } catch {
      return false;
    }
  }

  /** Sends a message as one masked binary frame. */
  send(message: Message): Promise<boolean> {
    return this.write(frame(0x2, encodeMessage(message)));
  }

  /** Waits until `test` holds (checked on every event) or throws after `timeoutMs`. */
  async until(test: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!test()) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`${what}: not within ${timeoutMs} ms`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, Math.min(left, 100));
      });
      clearTimeout(timer);
    }
  }

  /** Waits for the listener to close the connection. */
  closedBy(timeoutMs: number): Promise<void> {
    return this.until(() => this.isClosed, timeoutMs, "connection closed by the listener");
  }

  /** The error messages received. */
  errors(): string[] {
    return this.messages.flatMap((m) => m.type === "error" ? [m.message] : []);
  }

  /** Closes our end and waits for the read loop. */
  async close(): Promise<void> {
    try {
      this.conn.close();
    } catch {
      // Closed already.
    }
    await this.#loop;
  }
}

/** A listener process. */
export interface ListenerProcess {
  readonly port: number;
  readonly pid: number;
  readonly caPem?: string;
  /** Lines the process wrote on stderr so far. */
  readonly stderr: string[];
  /** Whether the process has exited. */
  exited(): boolean;
  /** The listener's counters. */
  stats(): Promise<ListenerStats>;
  /** Resident memory in MiB (VmRSS). */
  rssMiB(): number;
  /** Open socket descriptors of the process (the listening one included). */
  sockets(): number;
  stop(): Promise<void>;
}

/** Starts `limits_listener.ts` in its own process, optionally under `ulimit -n`. */
export async function startListener(
  options: ListenerScriptOptions,
  fileLimit?: number,
): Promise<ListenerProcess> {
  const script = new URL("./limits_listener.ts", import.meta.url).pathname;
  const args = ["run", "-A", script, JSON.stringify(options)];
  const command = fileLimit
    ? new Deno.Command("bash", {
      args: ["-c", `ulimit -n ${fileLimit}; exec "$0" "$@"`, Deno.execPath(), ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    })
    : new Deno.Command(Deno.execPath(), {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    });
  const child = command.spawn();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const stdin = child.stdin.getWriter();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(splitLines())
    .getReader();
  const stderr: string[] = [];
  const stderrDone = (async () => {
    for await (
      const line of child.stderr.pipeThrough(new TextDecoderStream()).pipeThrough(splitLines())
    ) {
      stderr.push(line);
    }
  })();
  const first = await lines.read();
  if (first.done) throw new Error(`listener exited:\n${stderr.join("\n")}`);
  const { port, caPem } = JSON.parse(first.value) as { port: number; caPem?: string };
  return {
    port,
    pid: child.pid,
    caPem,
    stderr,
    exited: () => exited,
    async stats() {
      await stdin.write(encoder.encode("stats\n"));
      const line = await lines.read();
      if (line.done) throw new Error(`listener exited:\n${stderr.join("\n")}`);
      return JSON.parse(line.value);
    },
    rssMiB() {
      const status = Deno.readTextFileSync(`/proc/${child.pid}/status`);
      return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
    },
    sockets() {
      let n = 0;
      for (const e of Deno.readDirSync(`/proc/${child.pid}/fd`)) {
        try {
          if (Deno.readLinkSync(`/proc/${child.pid}/fd/${e.name}`).startsWith("socket:")) n++;
        } catch {
          // Closed meanwhile.
        }
      }
      return n;
    },
    async stop() {
      try {
        await stdin.close();
      } catch {
        // Gone already.
      }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // Exited.
        }
      }, 5_000);
      await status;
      clearTimeout(timer);
      await lines.cancel().catch(() => {});
      await stderrDone.catch(() => {});
    },
  };
}

function splitLines(): TransformStream<string, string> {
  let pending = "";
  return new TransformStream({
    transform(chunk, controller) {
      pending += chunk;
      const parts = pending.split("\n");
      pending = parts.pop()!;
      for (const line of parts) controller.enqueue(line);
    },
    flush(controller) {
      if (pending) controller.enqueue(pending);
    },
  });
}

/** Samples a process's RSS every 50 ms until stopped; returns the peak in MiB. */
export function samplePeak(listener: ListenerProcess): { stop(): number } {
  let peak = listener.rssMiB();
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, listener.rssMiB());
    } catch {
      // The process is gone; the test notices.
    }
  }, 50);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, listener.rssMiB());
    },
  };
}

/**
 * A legitimate client (flhe's own `connect`): hello, welcome, one message
 * answered. Returns the round-trip time in ms.
 */
export async function legitimateRoundTrip(
  listener: ListenerProcess,
  id = "client-1",
): Promise<number> {
  const start = performance.now();
  const scheme = listener.caPem ? "wss" : "ws";
  const channel = await connect(`${scheme}://127.0.0.1:${listener.port}`, {
    peer: "listener",
    maxFrameBytes: 1 << 20,
    caCerts: listener.caPem ? [listener.caPem] : undefined,
  }, 10_000);
  try {
    channel.send({ ...sample("hello"), id });
    assert.equal((await channel.receive(10_000)).type, "welcome");
    channel.send(sample("report"));
    assert.equal((await channel.receive(10_000)).type, "done");
    return performance.now() - start;
  } finally {
    channel.close("bye");
    await channel.closed;
  }
}
