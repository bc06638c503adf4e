/**
 * `flhe history FILE`: the round table of a server's `history.json`, as
 * text, as CSV, or as a self-contained HTML report.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { loadBundle } from "../federation/mod.ts";
import { readHistory, roundCsv, roundTable } from "../rounds/mod.ts";
import { federationInfo, writeReport } from "../dashboard/mod.ts";
import { type Command, type CommandSpec, defineCommand } from "./command.ts";
import type { OptionValues } from "./options.ts";
import { flag, path } from "./option_kinds.ts";
import type { Io } from "./output.ts";

const OPTIONS = {
  csv: flag("print CSV (one line per round, every phase and byte count) instead of the table"),
  html: path({
    placeholder: "FILE",
    help: "also write a self-contained HTML report (table and charts) to FILE",
  }),
  bundle: path({
    placeholder: "DIR",
    help: "a bundle of the federation, for the report's mode, key, fingerprint, model and task",
  }),
};

async function run(file: string, v: OptionValues<typeof OPTIONS>, io: Io): Promise<number> {
  const history = await readHistory(file);
  const bundle = v.bundle === undefined ? undefined : await loadBundle(v.bundle);
  io.out(v.csv ? roundCsv(history) : roundTable(history, bundle?.config.model.task));
  if (v.html !== undefined) {
    const federation = bundle === undefined ? null : federationInfo(bundle);
    await writeReport(v.html, history, federation);
    io.err(`history: report written to ${v.html}\n`);
  }
  return 0;
}

function spec(file: string | undefined): CommandSpec<typeof OPTIONS> {
  return {
    name: "history",
    summary: "print the round table of a history.json (or CSV, or an HTML report)",
    synopsis: "FILE [options]",
    description: `
Prints the round table of FILE, a history.json that flhe serve or flhe demo
wrote: per round the clients, the test accuracy and loss (the test MSE and
MAE of a regression), seconds per phase and upload size; failed and
recovered rounds are shown as such.`,
    options: OPTIONS,
    run: (v, io) => {
      if (file === undefined) {
        throw new FlheError("usage", "give the history file: flhe history FILE");
      }
      return run(file, v, io);
    },
  };
}

/** Splits the one positional argument (the file) from the options and their values. */
function splitFile(args: readonly string[]): { file?: string; rest: string[] } {
  const rest: string[] = [];
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      files.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      files.push(arg);
      continue;
    }
    rest.push(arg);
    const name = arg.replace(/^--?/, "");
    const option = (OPTIONS as Record<string, { kind: string }>)[name];
    if (option && option.kind !== "boolean" && i + 1 < args.length) rest.push(args[++i]!);
  }
  if (files.length > 1) {
    throw new FlheError("usage", `one history file, got ${files.map((f) => `'${f}'`).join(", ")}`);
  }
  return { file: files[0], rest };
}

const base = defineCommand(spec(undefined));

/** `flhe history`. */
export const history: Command = {
  name: base.name,
  summary: base.summary,
  options: base.options,
  help: base.help,
  parse: base.parse,
  execute(args, io) {
    const { file, rest } = splitFile(args);
    return defineCommand(spec(file)).execute(rest, io);
  },
};
