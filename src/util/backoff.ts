/**
 * Retry with exponential backoff, the one policy for every reconnecting
 * party (client to server, server to owner).
 *
 * @module
 */

/** Options of {@linkcode retry}. */
export interface RetryOptions {
  /** First delay. */
  readonly initialDelayMs: number;
  /** Longest delay. */
  readonly maxDelayMs: number;
  /** Give up after this long without success (default: never). */
  readonly deadlineMs?: number;
  /** Whether an error is final (not retried). */
  readonly isFatal?: (error: unknown) => boolean;
  /** Called before each wait, e.g. for a log line. */
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

/**
 * Calls `attempt` until it resolves, waiting longer after each failure.
 *
 * @param attempt The operation.
 * @param options Delays, deadline and which errors are final.
 * @returns What `attempt` resolved to.
 * @throws The last error once it is fatal or the deadline has passed.
 *
 * @example Usage
 * ```ts
 * import { retry } from "./backoff.ts";
 * await retry(() => Promise.resolve(1), { initialDelayMs: 200, maxDelayMs: 5_000 });
 * ```
 */
export async function retry<T>(attempt: () => Promise<T>, options: RetryOptions): Promise<T> {
  const start = performance.now();
  for (let n = 1;; n++) {
    try {
      return await attempt();
    } catch (e) {
      const late = options.deadlineMs !== undefined &&
        performance.now() - start > options.deadlineMs;
      if (late || options.isFatal?.(e)) throw e;
      const delayMs = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** Math.min(n, 16));
      options.onRetry?.(e, n, delayMs);
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}
