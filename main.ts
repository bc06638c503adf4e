/**
 * `flhe`: federated learning whose aggregation server only ever sees
 * Paillier ciphertexts. This file parses the command line, dispatches to a
 * party in `src/parties`, and turns errors into one line and an exit code.
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";
import { FlheError } from "./src/util/error.ts";
import { commands, type OptionValues } from "./src/cli/commands.ts";

const USAGE = `flhe: federated learning whose aggregation server only sees Paillier ciphertexts

Usage: flhe <command> [options]

Commands:
${commands.map((c) => `  ${c.name.padEnd(13)}${c.summary}`).join("\n")}

Run 'flhe <command> --help' for a command's options.
`;

function write(text: string, stream: { writeSync(p: Uint8Array): number } = Deno.stdout): void {
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  while (offset < bytes.length) offset += stream.writeSync(bytes.subarray(offset));
}

function shortUsage(name: string): string {
  return `usage: flhe ${name} [options]; 'flhe ${name} --help' lists them\n`;
}

/**
 * Runs the CLI.
 *
 * @param args Command-line arguments (without the program name).
 * @returns The process exit code: 0 success, 1 failure, 2 usage error.
 */
export async function main(args: string[]): Promise<number> {
  if (args.length === 0 || args[0] === "--help" || args[0] === "-h" || args[0] === "help") {
    write(USAGE);
    return args.length === 0 ? 2 : 0;
  }
  if (args[0] === "--version") {
    write("flhe 0.1.0\n");
    return 0;
  }
  // Commands are one or two words ("serve", "owner init").
  const command = commands.find((c) => {
    const words = c.name.split(" ");
    return words.every((w, i) => args[i] === w);
  });
  if (!command) {
    write(`flhe: unknown command '${args[0]}'\n\n${USAGE}`, Deno.stderr);
    return 2;
  }
  const rest = args.slice(command.name.split(" ").length);
  let values: OptionValues;
  try {
    const config: ParseArgsConfig = {
      args: rest,
      options: { ...command.options, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: false,
    };
    values = parseArgs(config).values as OptionValues;
  } catch (e) {
    write(
      `flhe ${command.name}: ${(e as Error).message}\n${shortUsage(command.name)}`,
      Deno.stderr,
    );
    return 2;
  }
  if (values.help) {
    write(command.usage);
    return 0;
  }
  try {
    return await command.run(values);
  } catch (e) {
    if (e instanceof FlheError) {
      write(`flhe ${command.name}: ${e.message}\n`, Deno.stderr);
      if (e.code === "usage") {
        write(shortUsage(command.name), Deno.stderr);
        return 2;
      }
      return 1;
    }
    const message = e instanceof Error ? e.message : String(e);
    write(`flhe ${command.name}: ${message.split("\n")[0]}\n`, Deno.stderr);
    if (Deno.env.get("FLHE_DEBUG")) write(`${(e as Error).stack}\n`, Deno.stderr);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
