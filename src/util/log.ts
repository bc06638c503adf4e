/**
 * Party output: one line per event on stderr, prefixed with the party's
 * name, so that the demo can interleave several parties readably. Secrets
 * never go through here.
 *
 * @module
 */

/** Writes lines for one party. */
export interface Logger {
  /** The party name in the prefix. */
  readonly name: string;
  /**
   * Writes one line.
   *
   * @param message The line.
   */
  info(message: string): void;
  /**
   * Writes one warning line.
   *
   * @param message The line.
   */
  warn(message: string): void;
}

const encoder = new TextEncoder();

/**
 * Creates a logger that writes `[name] message` lines to stderr.
 *
 * @param name Party name, e.g. `server` or `client-1`.
 * @param sink Where lines go (default: stderr).
 * @returns The logger.
 *
 * @example Usage
 * ```ts
 * import { createLogger } from "./log.ts";
 * createLogger("server").info("listening on ws://127.0.0.1:8765");
 * ```
 */
export function createLogger(name: string, sink?: (line: string) => void): Logger {
  const write = sink ?? ((line: string) => Deno.stderr.writeSync(encoder.encode(line + "\n")));
  return {
    name,
    info: (message) => write(`[${name}] ${message}`),
    warn: (message) => write(`[${name}] warning: ${message}`),
  };
}

/**
 * A warning writer that lets through at most `perMinute` lines a minute and
 * then says how many it held back, so that a peer sending garbage cannot
 * flood the log.
 *
 * @param log Where lines go.
 * @param perMinute Lines let through per minute.
 * @returns The writer.
 *
 * @example Usage
 * ```ts
 * import { createLogger, rateLimitedWarn } from "./log.ts";
 * const warn = rateLimitedWarn(createLogger("server"), 10);
 * warn("rejected a frame from 127.0.0.1:5000: bad version");
 * ```
 */
export function rateLimitedWarn(log: Logger, perMinute: number): (message: string) => void {
  let windowStart = -Infinity;
  let shown = 0;
  let held = 0;
  return (message) => {
    const now = performance.now();
    if (now - windowStart >= 60_000) {
      if (held > 0) log.warn(`${held} more such warnings in the last minute were not shown`);
      windowStart = now;
      shown = 0;
      held = 0;
    }
    if (shown < perMinute) {
      shown++;
      log.warn(message);
    } else held++;
  };
}
