/**
 * Where the CLI writes: standard output for results and help, standard error
 * for errors. Tests pass their own {@linkcode Io} to capture both.
 *
 * @module
 */

/** The CLI's two output streams. */
export interface Io {
  /**
   * Writes to standard output.
   *
   * @param text The text, newlines included.
   */
  out(text: string): void;
  /**
   * Writes to standard error.
   *
   * @param text The text, newlines included.
   */
  err(text: string): void;
}

function writeAll(text: string, stream: { writeSync(p: Uint8Array): number }): void {
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  while (offset < bytes.length) offset += stream.writeSync(bytes.subarray(offset));
}

/** The process's standard output and standard error. */
export const STDIO: Io = {
  out: (text) => writeAll(text, Deno.stdout),
  err: (text) => writeAll(text, Deno.stderr),
};
