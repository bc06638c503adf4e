/**
 * A listener's accept loop: takes each TCP connection, closes it at once
 * when the cap on unauthenticated connections is reached, and otherwise
 * sets it up (TLS if configured) and hands it to be served.
 *
 * A failed accept (e.g. too many open files) must not stop the listener:
 * it sheds the oldest unauthenticated connections to free descriptors and
 * retries after a backoff (10 ms, doubling up to 1 s). Warnings about it,
 * and about refused connections, are logged at most once a minute per kind,
 * with a count of those held back, so a flood cannot flood the log too.
 *
 * @module
 */

import { acceptTls, closeQuietly, setNoDelay, type TlsServerContext } from "./byte_stream.ts";
import type { Connections, Slot } from "./connections.ts";

/** At most one warning of a kind per this many milliseconds. */
const WARNING_INTERVAL_MS = 60_000;
/** First wait after a failed accept. */
const MIN_BACKOFF_MS = 10;
/** Longest wait after failed accepts in a row. */
const MAX_BACKOFF_MS = 1_000;

/** Options of {@linkcode AcceptLoop}. */
export interface AcceptLoopOptions {
  /** The bound TCP listener. */
  readonly server: Deno.Listener;
  /** Where accepted connections are held. */
  readonly connections: Connections;
  /** Most unauthenticated connections at once; more are closed at once. */
  readonly maxUnauthenticatedConnections: number;
  /** Certificate and key to serve TLS with, if any. */
  readonly tlsContext: TlsServerContext | undefined;
  /** Where warnings go. */
  readonly onWarning: (message: string) => void;
  /** Serves one accepted connection, until it is done. */
  readonly serve: (slot: Slot) => Promise<void>;
}

/**
 * Accepts connections until stopped or until the listener is closed.
 *
 * @example Usage
 * ```ts
 * import { AcceptLoop } from "./accept_loop.ts";
 * import { Connections } from "./connections.ts";
 * const connections = new Connections();
 * const loop = new AcceptLoop({
 *   server: Deno.listen({ hostname: "127.0.0.1", port: 0 }),
 *   connections,
 *   maxUnauthenticatedConnections: 256,
 *   tlsContext: undefined,
 *   onWarning: console.error,
 *   serve: (slot) => Promise.resolve(slot.stream.close()),
 * });
 * connections.closing = true;
 * loop.stop();
 * await loop.done;
 * ```
 */
export class AcceptLoop {
  readonly #options: AcceptLoopOptions;
  readonly #label: string;
  readonly #warned = new Map<string, { atMs: number; suppressed: number }>();
  #acceptErrors = 0;
  #wake: (() => void) | undefined;
  #sleepTimer: ReturnType<typeof setTimeout> | undefined;
  /** Settles when the loop has ended. */
  readonly done: Promise<void>;

  /**
   * Starts accepting.
   *
   * @param options The listener, the connection table, the cap, TLS and the handler.
   */
  constructor(options: AcceptLoopOptions) {
    this.#options = options;
    const bound = options.server.addr as Deno.NetAddr;
    this.#label = `listener ${bound.hostname}:${bound.port}`;
    this.done = this.#run();
  }

  /** Failed accepts so far. */
  get acceptErrors(): number {
    return this.#acceptErrors;
  }

  /**
   * Ends the loop: closes the TCP listener and cuts a backoff short. Set
   * `connections.closing` first, so that the loop sees why accept failed.
   */
  stop(): void {
    closeQuietly(this.#options.server);
    clearTimeout(this.#sleepTimer);
    this.#wake?.();
  }

  async #run(): Promise<void> {
    const { server, connections } = this.#options;
    let backoffMs = MIN_BACKOFF_MS;
    while (!connections.closing) {
      let conn: Deno.Conn;
      try {
        conn = await server.accept();
      } catch (e) {
        if (connections.closing || e instanceof Deno.errors.BadResource) return;
        this.#acceptErrors++;
        this.#warn(
          "accept",
          `${this.#label}: accept failed (${(e as Error).message}); ` +
            `closing the oldest unauthenticated connections and retrying`,
        );
        connections.shedOldest();
        await this.#sleep(backoffMs);
        backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
        continue;
      }
      backoffMs = MIN_BACKOFF_MS;
      if (connections.closing) {
        closeQuietly(conn);
        return;
      }
      this.#admit(conn);
    }
  }

  /** Serves an accepted connection, or closes it at once if the cap is reached. */
  #admit(conn: Deno.Conn): void {
    const { connections, tlsContext } = this.#options;
    if (connections.unauthenticated >= this.#options.maxUnauthenticatedConnections) {
      connections.refused++;
      closeQuietly(conn);
      this.#warn(
        "cap",
        `${this.#label}: ${connections.unauthenticated} unauthenticated ` +
          `connections open (the cap); closing new ones`,
      );
      return;
    }
    setNoDelay(conn);
    const remote = conn.remoteAddr as Deno.NetAddr;
    connections.track({
      stream: tlsContext ? acceptTls(conn, tlsContext) : conn,
      peer: `${remote.hostname}:${remote.port}`,
    }, this.#options.serve);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#wake = resolve;
      this.#sleepTimer = setTimeout(resolve, ms);
    });
  }

  /** Reports a warning unless one of its kind went out within the last minute. */
  #warn(kind: string, message: string): void {
    const now = performance.now();
    const last = this.#warned.get(kind);
    if (last && now - last.atMs < WARNING_INTERVAL_MS) {
      last.suppressed++;
      return;
    }
    const more = last?.suppressed ? ` (${last.suppressed} more since the last report)` : "";
    this.#warned.set(kind, { atMs: now, suppressed: 0 });
    this.#options.onWarning(`${message}${more}`);
  }
}
