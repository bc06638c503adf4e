/**
 * A CLI command: its option table, help, and what it runs with the typed
 * values the table parses to.
 *
 * @module
 */

import { formatHelp } from "./help.ts";
import { type OptionTable, type OptionValues, type Parsed, parseOptions } from "./options.ts";
import type { Io } from "./output.ts";

/** How a command is declared. */
export interface CommandSpec<T extends OptionTable> {
  /** One or two words, e.g. `owner init`. */
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** What follows the name in the usage line (default `[options]`). */
  readonly synopsis?: string;
  /** Paragraphs for `--help`, before the options. */
  readonly description: string;
  /** The option table. */
  readonly options: T;
  /**
   * Runs the command.
   *
   * @param values The parsed options.
   * @param io Where to write results.
   * @returns The exit code.
   */
  run(values: OptionValues<T>, io: Io): Promise<number>;
}

/** A declared command, its option types erased so that commands fit in one list. */
export interface Command {
  /** One or two words, e.g. `owner init`. */
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The option table. */
  readonly options: OptionTable;
  /**
   * The `--help` text.
   *
   * @returns The text.
   */
  help(): string;
  /**
   * Parses arguments without running anything.
   *
   * @param args Arguments after the command name.
   * @returns Help requested, or the values by option name.
   * @throws {FlheError} `usage`, naming the option.
   */
  parse(args: readonly string[]): Parsed<OptionTable>;
  /**
   * Parses the arguments and prints help or runs the command.
   *
   * @param args Arguments after the command name.
   * @param io Where to write.
   * @returns The exit code.
   * @throws {FlheError} `usage` for bad options; whatever the command throws.
   */
  execute(args: readonly string[], io: Io): Promise<number>;
}

/**
 * Declares a command.
 *
 * @param spec Name, summary, description, option table and run.
 * @returns The command.
 *
 * @example Usage
 * ```ts
 * import { defineCommand } from "./command.ts";
 * import { int } from "./option_kinds.ts";
 * import { integers } from "../federation/rules.ts";
 * const hello = defineCommand({
 *   name: "hello",
 *   summary: "greets",
 *   description: "Greets N times.",
 *   options: { times: int({ placeholder: "N", help: "greetings", range: integers(1, 9), default: 1 }) },
 *   run: (values, io) => {
 *     io.out("hello\n".repeat(values.times));
 *     return Promise.resolve(0);
 *   },
 * });
 * ```
 */
export function defineCommand<T extends OptionTable>(spec: CommandSpec<T>): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    options: spec.options,
    help: () => formatHelp(spec),
    parse: (args) => parseOptions(spec.options, args),
    async execute(args, io) {
      const parsed = parseOptions(spec.options, args);
      if (parsed.help) {
        io.out(formatHelp(spec));
        return 0;
      }
      return await spec.run(parsed.values, io);
    },
  };
}
