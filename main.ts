/**
 * `flhe`: federated learning whose aggregation server only ever sees
 * Paillier ciphertexts. This file hands the arguments to the command line
 * (`src/cli`) and turns its errors into one line and an exit code.
 *
 * @module
 */

import { FlheError } from "./src/util/error.ts";
import { invocation, type Io, STDIO } from "./src/cli/mod.ts";

/**
 * Runs the CLI.
 *
 * @param args Command-line arguments (without the program name).
 * @param io Where to write (default: standard output and error).
 * @returns The process exit code: 0 success, 1 failure, 2 usage error.
 *
 * @example Usage
 * ```ts
 * import { main } from "./main.ts";
 * const code = await main(["--version"]); // prints "flhe 0.1.0", returns 0
 * ```
 */
export async function main(args: string[], io: Io = STDIO): Promise<number> {
  const call = invocation(args);
  try {
    return await call.run(io);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    io.err(`${call.prefix}: ${message.split("\n")[0]}\n`);
    if (e instanceof FlheError && e.code === "usage") {
      io.err(call.usageHint);
      return 2;
    }
    if (!(e instanceof FlheError) && Deno.env.get("FLHE_DEBUG")) {
      io.err(`${e instanceof Error ? e.stack : e}\n`);
    }
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
