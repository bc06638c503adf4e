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
