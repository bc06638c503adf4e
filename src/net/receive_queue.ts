/**
 * The receive side of a channel: messages that arrived before the party
 * asked for them, bounded in count and bytes (a peer that sends faster
 * than the party reads must not grow this party's memory), and the
 * `receive` calls waiting for a message, each with an optional timeout.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import type { Message } from "./messages.ts";

/** Default receive queue bound, in messages. */
const DEFAULT_MAX_QUEUED_MESSAGES = 1_024;
/** Least default receive queue bound of an accepted connection, in bytes. */
const MIN_QUEUED_BYTES_ACCEPTED = 8 * 1024 * 1024;
/** Least default receive queue bound of a connection we opened, in bytes. */
const MIN_QUEUED_BYTES_OPENED = 256 * 1024 * 1024;

/** Bounds of a {@linkcode ReceiveQueue}. */
export interface ReceiveQueueBounds {
  /** Most messages waiting (default 1,024). */
  readonly maxMessages?: number;
  /**
   * Most bytes waiting. Default on accepted connections (`server`): 8 MiB
   * or four of the largest message allowed, whichever is more (a peer
   * answers what it is asked); on connections we opened (`client`): 256 MiB
   * or sixteen of the largest message (a server may send a burst, e.g. the
   * models a client missed).
   */
  readonly maxBytes?: number;
  /** Which side of the connection this is, for the default byte bound. */
  readonly role: "server" | "client";
  /** The largest message allowed now; asked at each message, as authentication may raise it. */
  readonly largest: () => number;
}

type Waiter = { resolve(m: Message): void; reject(e: Error): void };

/**
 * Messages waiting for `receive`, and `receive` calls waiting for messages
 * (never both at once), until the channel closes.
 *
 * @example Usage
 * ```ts
 * import { ReceiveQueue } from "./receive_queue.ts";
 * const inbox = new ReceiveQueue("peer", { role: "server", largest: () => 65_536 });
 * inbox.push({ type: "done", rounds: 2 }, 20); // true: within the bounds
 * await inbox.receive(); // { type: "done", rounds: 2 }
 * inbox.close("closed");
 * ```
 */
export class ReceiveQueue {
  readonly #peer: string;
  readonly #bounds: ReceiveQueueBounds;
  #queue: { message: Message; bytes: number }[] = [];
  #queuedBytes = 0;
  #waiters: Waiter[] = [];
  #closeReason: string | undefined;

  /**
   * Creates an empty, open queue.
   *
   * @param peer Names the peer in errors.
   * @param bounds Most messages and bytes waiting.
   */
  constructor(peer: string, bounds: ReceiveQueueBounds) {
    this.#peer = peer;
    this.#bounds = bounds;
  }

  /** Messages waiting. */
  get length(): number {
    return this.#queue.length;
  }

  /** Bytes of the messages waiting (their size on the wire). */
  get bytes(): number {
    return this.#queuedBytes;
  }

  /** Whether {@linkcode ReceiveQueue.close} was called. */
  get isClosed(): boolean {
    return this.#closeReason !== undefined;
  }

  /** Why the queue closed (`undefined` while open). */
  get closeReason(): string | undefined {
    return this.#closeReason;
  }

  /**
   * Hands a message to the oldest waiting `receive`, or queues it.
   *
   * @param message The message.
   * @param bytes Its size on the wire.
   * @returns False if the queue is now over a bound (the caller drops the peer).
   */
  push(message: Message, bytes: number): boolean {
    const waiter = this.#waiters.shift();
    if (waiter) {
      waiter.resolve(message);
      return true;
    }
    this.#queue.push({ message, bytes });
    this.#queuedBytes += bytes;
    return this.#queue.length <= this.#maxMessages && this.#queuedBytes <= this.#maxBytes;
  }

  /** Drops every waiting message. */
  clear(): void {
    this.#queue.length = 0;
    this.#queuedBytes = 0;
  }

  /**
   * The next message, from the queue or once one arrives.
   *
   * @param timeoutMs Give up after this long (default: wait forever).
   * @returns The message.
   * @throws {FlheError} `unavailable` on close or timeout.
   */
  receive(timeoutMs?: number): Promise<Message> {
    const next = this.#queue.shift();
    if (next) {
      this.#queuedBytes -= next.bytes;
      return Promise.resolve(next.message);
    }
    if (this.#closeReason !== undefined) {
      return Promise.reject(new FlheError("unavailable", `${this.#peer}: ${this.#closeReason}`));
    }
    return new Promise<Message>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waiter: Waiter = {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          const i = this.#waiters.indexOf(waiter);
          if (i >= 0) this.#waiters.splice(i, 1);
          reject(new FlheError("unavailable", `${this.#peer}: no message within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.#waiters.push(waiter);
    });
  }

  /**
   * Closes the queue: waiting `receive` calls fail now, later ones once the
   * queued messages are taken. Only the first call counts.
   *
   * @param reason Why, for the errors.
   */
  close(reason: string): void {
    if (this.#closeReason !== undefined) return;
    this.#closeReason = reason;
    for (const w of this.#waiters.splice(0)) {
      w.reject(new FlheError("unavailable", `${this.#peer}: ${reason}`));
    }
  }

  get #maxMessages(): number {
    return this.#bounds.maxMessages ?? DEFAULT_MAX_QUEUED_MESSAGES;
  }

  get #maxBytes(): number {
    const { maxBytes, role, largest } = this.#bounds;
    return maxBytes ??
      (role === "server"
        ? Math.max(MIN_QUEUED_BYTES_ACCEPTED, 4 * largest())
        : Math.max(MIN_QUEUED_BYTES_OPENED, 16 * largest()));
  }
}
