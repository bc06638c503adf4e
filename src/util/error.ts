/**
 * The one error class of flhe. Callers branch on {@linkcode FlheError.code}
 * (the CLI maps it to an exit code, the wire maps it to an error frame);
 * the message is a single line meant for the user.
 *
 * @module
 */

/** What kind of failure an {@linkcode FlheError} reports. */
export type FlheErrorCode =
  /** Bad command line: unknown command or option, missing value. Exit code 2. */
  | "usage"
  /** A file or value given by the user is malformed or inconsistent. */
  | "input"
  /** A value is outside what the encoding can represent without loss. */
  | "range"
  /** A peer sent a message that is malformed or not allowed now. */
  | "protocol"
  /** Authentication or key mismatch. */
  | "auth"
  /** The operation would destroy existing data. */
  | "exists"
  /** A peer did not answer in time or went away. */
  | "unavailable"
  /** A client's privacy budget does not allow another round: it leaves the federation. */
  | "budget";

/**
 * An error whose message is one line naming the file, field, option or
 * message that was wrong, and whose `code` says what kind of failure it is.
 *
 * @example Usage
 * ```ts
 * import { FlheError } from "./error.ts";
 * try {
 *   throw new FlheError("range", "codec: value 3 outside [-1, 1] (clipRange)");
 * } catch (e) {
 *   if (e instanceof FlheError && e.code === "range") console.log(e.message);
 * }
 * ```
 */
export class FlheError extends Error {
  /** What kind of failure this is. */
  readonly code: FlheErrorCode;

  /**
   * @param code What kind of failure this is.
   * @param message One line for the user.
   * @param options `cause`: the underlying error, if any.
   */
  constructor(code: FlheErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "FlheError";
    this.code = code;
  }
}
