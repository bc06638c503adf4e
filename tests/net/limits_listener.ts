/**
 * A listener for the limit tests, run as its own process so that its memory
 * (VmRSS) and file descriptors can be measured alone. It plays a minimal
 * party: the first message must be the sample hello with the sample token;
 * then it calls `authenticate`, sends the sample welcome
 * and answers every message with the sample `done`. The client id
 * `client-99` is a sink: authenticated, never read.
 *
 * Usage: `deno run -A tests/net/limits_listener.ts '<json ListenOptions subset>'`.
 * Prints one JSON line `{"port": N, "caPem"?: "..."}` on stdout, then answers
 * each `stats` line on stdin with a JSON line of {@linkcode ListenerStats}.
 *
 * @module
 */

import {
  type Channel,
  listen,
  type ListenOptions,
  type Message,
  type MessageLimits,
  refuse,
} from "../../src/net/mod.ts";
import { createCertificateAuthority, issueCertificate } from "../../src/net/tls.ts";
import { SAMPLES } from "./samples.ts";

/** Options the test passes (JSON). */
export interface ListenerScriptOptions
  extends Partial<Omit<ListenOptions, "onChannel" | "onInvalid" | "onWarning" | "cert" | "key">> {
  /** Serve wss:// with a certificate from a fresh CA (printed). */
  readonly tls?: boolean;
  /** What to pass to authenticate. */
  readonly limits?: MessageLimits;
}

/** The sample message of a type. */
export function sample<T extends Message["type"]>(type: T): Message & { type: T } {
  return SAMPLES.find((m) => m.type === type)! as Message & { type: T };
}

/** The id whose channel is never read. */
export const SINK_ID = "client-99";

if (import.meta.main) {
  const options = JSON.parse(Deno.args[0] ?? "{}") as ListenerScriptOptions;
  const hello = sample("hello");
  let caPem: string | undefined;
  let tls: { cert: string; key: string } | undefined;
  if (options.tls) {
    const ca = await createCertificateAuthority("limits test CA");
    const pair = await issueCertificate(ca, "listener", ["127.0.0.1"]);
    caPem = ca.certPem;
    tls = { cert: pair.certPem, key: pair.keyPem };
  }
  const serveChannel = async (channel: Channel) => {
    let first: Message;
    try {
      first = await channel.receive(60_000);
    } catch {
      return channel.close("no hello");
    }
    if (first.type !== "hello" || first.token !== hello.token) {
      return refuse(channel, "auth", "wrong token");
    }
    channel.authenticate(options.limits);
    channel.send({ ...sample("welcome"), id: first.id });
    if (first.id === SINK_ID) return;
    try {
      for (;;) {
        await channel.receive();
        channel.send(sample("done"));
      }
    } catch {
      // Closed.
    }
  };
  const listener = await listen({
    hostname: "127.0.0.1",
    port: 0,
    maxFrameBytes: 1 << 20,
    ...options,
    ...tls,
    onChannel: (channel) => void serveChannel(channel),
    onWarning: (message) => console.error(`warning: ${message}`),
  });
  const encoder = new TextEncoder();
  const print = (value: unknown) =>
    Deno.stdout.writeSync(encoder.encode(JSON.stringify(value) + "\n"));
  print({ port: listener.port, caPem });
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of Deno.stdin.readable) {
    pending += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const command = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      if (command === "stats") print(listener.stats());
    }
  }
  await listener.close();
}
