/**
 * Server-Sent Events to a bounded number of pages: each subscriber gets
 * every broadcast message; one that does not read (its queue past a byte
 * limit) is dropped, so a stalled browser cannot grow the server's memory,
 * and a subscriber beyond the limit is refused. A comment line every
 * 15 seconds keeps idle connections open through proxies.
 *
 * @module
 */

/** Options of {@linkcode createSseHub}. */
export interface SseHubOptions {
  /** Most pages at once. */
  readonly maxSubscribers: number;
  /** Bytes queued for one page before it is dropped. */
  readonly maxQueuedBytes: number;
  /** Milliseconds between keep-alive comments (default 15,000). */
  readonly keepAliveMs?: number;
}

/** What a hub has sent. */
export interface SseStats {
  /** Pages connected now. */
  readonly subscribers: number;
  /** Pages refused because the hub was full. */
  readonly refused: number;
  /** Pages dropped for not reading. */
  readonly dropped: number;
  /** Bytes of broadcast messages (what each page connected throughout received). */
  readonly broadcastBytes: number;
  /** Bytes of first messages (one per page). */
  readonly firstBytes: number;
}

/** Sends events to pages. */
export interface SseHub {
  /**
   * A new page's event stream, starting with `first`.
   *
   * @param first Makes the page's first event (e.g. the whole state); not
   *   called when the hub is full, so a refused page costs no serialising.
   * @returns The response, or `undefined` when the hub is full.
   */
  subscribe(first: () => string): Response | undefined;
  /**
   * Sends an event to every page.
   *
   * @param event The event, as {@linkcode sseEvent} formats it.
   */
  broadcast(event: string): void;
  /**
   * What the hub has sent.
   *
   * @returns Counts and bytes.
   */
  stats(): SseStats;
  /** Ends every stream and the keep-alive timer. */
  close(): void;
}

const encoder = new TextEncoder();

/** The keep-alive comment, encoded once for every page and tick. */
const KEEP_ALIVE = encoder.encode(": keep-alive\n\n");

/**
 * Formats one event: its type and its data (one line of JSON).
 *
 * @param type The event type, e.g. `round`.
 * @param data Any JSON value.
 * @returns `event: TYPE\ndata: JSON\n\n`.
 *
 * @example Usage
 * ```ts
 * import { sseEvent } from "./sse.ts";
 * sseEvent("phase", { round: 1 }); // 'event: phase\ndata: {"round":1}\n\n'
 * ```
 */
export function sseEvent(type: string, data: unknown): string {
  // JSON.stringify escapes line breaks inside strings: the data is one line.
  return `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * Creates a hub.
 *
 * @param options Limits.
 * @returns The hub.
 *
 * @example Usage
 * ```ts
 * import { createSseHub, sseEvent } from "./sse.ts";
 * const hub = createSseHub({ maxSubscribers: 32, maxQueuedBytes: 1 << 20 });
 * const response = hub.subscribe(() => sseEvent("snapshot", {}));
 * hub.broadcast(sseEvent("phase", { round: 1 }));
 * hub.close();
 * ```
 */
export function createSseHub(options: SseHubOptions): SseHub {
  const subscribers = new Set<ReadableStreamDefaultController<Uint8Array>>();
  const counts = { refused: 0, dropped: 0, broadcastBytes: 0, firstBytes: 0 };
  const drop = (c: ReadableStreamDefaultController<Uint8Array>) => {
    subscribers.delete(c);
    try {
      c.close();
    } catch {
      // Already closed or cancelled.
    }
  };
  const send = (c: ReadableStreamDefaultController<Uint8Array>, bytes: Uint8Array) => {
    // desiredSize = highWaterMark (0) - queued bytes.
    if ((c.desiredSize ?? 0) < -options.maxQueuedBytes) {
      counts.dropped++;
      return drop(c);
    }
    c.enqueue(bytes);
  };
  const timer = setInterval(() => {
    for (const c of [...subscribers]) send(c, KEEP_ALIVE);
  }, options.keepAliveMs ?? 15_000);
  return {
    subscribe(first) {
      if (subscribers.size >= options.maxSubscribers) {
        counts.refused++;
        return undefined;
      }
      const bytes = encoder.encode(`retry: 3000\n\n${first()}`);
      counts.firstBytes += bytes.length;
      let self: ReadableStreamDefaultController<Uint8Array>;
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          self = c;
          subscribers.add(c);
          c.enqueue(bytes);
        },
        cancel: () => void subscribers.delete(self),
      }, new ByteLengthQueuingStrategy({ highWaterMark: 0 }));
      return new Response(body, {
        headers: {
          "content-type": "text/event-stream; charset=utf-8",
          "cache-control": "no-store",
          "x-accel-buffering": "no",
        },
      });
    },
    broadcast(event) {
      const bytes = encoder.encode(event);
      counts.broadcastBytes += bytes.length;
      for (const c of [...subscribers]) send(c, bytes);
    },
    stats: () => ({ subscribers: subscribers.size, ...counts }),
    close() {
      clearInterval(timer);
      for (const c of [...subscribers]) drop(c);
    },
  };
}
