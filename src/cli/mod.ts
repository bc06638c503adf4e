/**
 * The command line of flhe: the commands, each with one option table from
 * which its parsing, `--help` and defaults all come, and the dispatch of an
 * argument list to one of them. `main.ts` turns what this throws into an
 * exit code.
 *
 * @example Usage
 * ```ts
 * import { invocation, STDIO } from "./mod.ts";
 * const call = invocation(["data", "--clients", "3"]);
 * const code = await call.run(STDIO);
 * ```
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import type { Command } from "./command.ts";
import type { Io } from "./output.ts";
import { ownerInit } from "./owner_init.ts";
import { ownerServe } from "./owner_serve.ts";
import { serve } from "./serve.ts";
import { client } from "./client.ts";
import { clientKeygen } from "./client_keygen.ts";
import { demo } from "./demo.ts";
import { data } from "./data.ts";
import { history } from "./history.ts";
import { exportCommand } from "./export.ts";
import { VERSION } from "./version.ts";

export type { Command } from "./command.ts";
export { type Io, STDIO } from "./output.ts";

export { VERSION } from "./version.ts";

/** Every command, in the order `flhe --help` lists them. */
export const commands: readonly Command[] = [
  ownerInit,
  ownerServe,
  serve,
  // Before `client`: the first command whose words match is run.
  clientKeygen,
  client,
  demo,
  data,
  history,
  exportCommand,
];

/**
 * The program's help: what it is and the list of commands.
 *
 * @returns The text, ending with a newline.
 *
 * @example Usage
 * ```ts
 * import { programHelp } from "./mod.ts";
 * programHelp().startsWith("flhe:"); // true
 * ```
 */
export function programHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return `flhe: federated learning whose aggregation server only sees Paillier ciphertexts

Usage: flhe <command> [options]

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join("\n")}

Run 'flhe <command> --help' for a command's options.
`;
}

/** One run of the program, ready to start. */
export interface Invocation {
  /** Prefix of error lines: `flhe` or `flhe <command>`. */
  readonly prefix: string;
  /** What follows a usage error's line. */
  readonly usageHint: string;
  /**
   * Runs it.
   *
   * @param io Where to write.
   * @returns The exit code: 0 success, 1 failure, 2 usage (help without a command).
   * @throws {FlheError} `usage` for an unknown command or bad options; whatever the command throws.
   */
  run(io: Io): Promise<number>;
}

/**
 * Works out what an argument list asks for: the program's help or version,
 * or a command (one or two words, e.g. `owner init`) and its arguments.
 *
 * @param args Command-line arguments, without the program name.
 * @returns What to run, with the prefix and hint of its error lines.
 *
 * @example Usage
 * ```ts
 * import { invocation } from "./mod.ts";
 * invocation(["serve", "--help"]).prefix; // "flhe serve"
 * ```
 */
export function invocation(args: readonly string[]): Invocation {
  const top = (run: (io: Io) => number): Invocation => ({
    prefix: "flhe",
    usageHint: `\n${programHelp()}`,
    run: (io) => Promise.resolve(run(io)),
  });
  const [first] = args;
  if (first === undefined || first === "--help" || first === "-h" || first === "help") {
    return top((io) => {
      io.out(programHelp());
      return first === undefined ? 2 : 0;
    });
  }
  if (first === "--version") {
    return top((io) => {
      io.out(`flhe ${VERSION}\n`);
      return 0;
    });
  }
  const command = commands.find((c) => c.name.split(" ").every((w, i) => args[i] === w));
  if (!command) {
    return top(() => {
      throw new FlheError("usage", `unknown command '${first}'`);
    });
  }
  const name = command.name;
  return {
    prefix: `flhe ${name}`,
    usageHint: `usage: flhe ${name} [options]; 'flhe ${name} --help' lists them\n`,
    run: (io) => command.execute(args.slice(name.split(" ").length), io),
  };
}
