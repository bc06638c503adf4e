/**
 * Help text of a command, built from its option table: one entry per option
 * with its placeholder, help, choices and the default the parser uses.
 *
 * @module
 */

import { type Default, nameIn, type Option, type OptionTable } from "./options.ts";

/** Width of the help text, in columns. */
export const HELP_WIDTH = 80;

/** Column where option descriptions start. */
export const HELP_INDENT = 28;

/**
 * The default of an option as help prints it, or `undefined` when help
 * prints none (no default, or a flag).
 *
 * @param table The table holding the option (names the options a default depends on).
 * @param option The option.
 * @returns E.g. `5`, `K`, `0.02 for momentum/nesterov, 0.05 for sgd`, `one per core`.
 *
 * @example Usage
 * ```ts
 * import { defaultText } from "./help.ts";
 * import { int } from "./option_kinds.ts";
 * import { integers } from "../federation/rules.ts";
 * const rounds = int({ placeholder: "R", help: "rounds", range: integers(1, 9), default: 5 });
 * defaultText({ rounds }, rounds); // "5"
 * ```
 */
export function defaultText(table: OptionTable, option: Option<unknown>): string | undefined {
  const d: Default<unknown> = option.default;
  if (option.kind === "boolean") return undefined;
  switch (d.kind) {
    case "value":
      return option.format(d.value);
    case "derived":
      return d.describe((o) => nameIn(table, o));
    case "runtime":
      return d.text;
    case "none":
      return undefined;
  }
}

function choiceList(option: Option<unknown>): string {
  const items = (option.choices ?? []).map((c) => {
    const note = option.note?.(c);
    return note ? `${option.format(c)} (${note})` : option.format(c);
  });
  return items.length < 2
    ? items.join("")
    : `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`;
}

/**
 * One option's description: help, choices, and `(default: ...)` last.
 *
 * @param table The table holding the option.
 * @param option The option.
 * @returns One line, before wrapping.
 *
 * @example Usage
 * ```ts
 * import { describeOption } from "./help.ts";
 * import { choice } from "./option_kinds.ts";
 * const mode = choice({ placeholder: "MODE", help: "key custody", choices: ["owner", "shared-key"], default: "owner" });
 * describeOption({ mode }, mode); // "key custody: owner or shared-key (default: owner)"
 * ```
 */
export function describeOption(table: OptionTable, option: Option<unknown>): string {
  const choices = option.kind === "choice" ? `: ${choiceList(option)}` : "";
  const dflt = defaultText(table, option);
  return `${option.help}${choices}${dflt === undefined ? "" : ` (default: ${dflt})`}`;
}

function wrap(words: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of words.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

function entry(left: string, description: string): string {
  const pad = " ".repeat(HELP_INDENT);
  // Keep "(default: X" on one line when X is one word.
  const glued = description.replace("(default: ", "(default:\u00a0");
  const [first = "", ...rest] = wrap(glued, HELP_WIDTH - HELP_INDENT)
    .map((l) => l.replace("\u00a0", " "));
  const head = `  ${left}`;
  const lines = head.length < HELP_INDENT
    ? [`${head.padEnd(HELP_INDENT)}${first}`]
    : [head, `${pad}${first}`];
  return [...lines, ...rest.map((l) => `${pad}${l}`)].join("\n");
}

/** What {@linkcode formatHelp} needs of a command. */
export interface HelpSource {
  /** Command name, e.g. `owner init`. */
  readonly name: string;
  /** What follows the name in the usage line (default `[options]`). */
  readonly synopsis?: string;
  /** Paragraphs explaining the command. */
  readonly description: string;
  /** The option table. */
  readonly options: OptionTable;
}

/**
 * The full `--help` text of a command.
 *
 * @param command Name, synopsis, description and options.
 * @returns The text, ending with a newline.
 *
 * @example Usage
 * ```ts
 * import { formatHelp } from "./help.ts";
 * formatHelp({ name: "data", description: "Prints a partition.", options: {} });
 * ```
 */
export function formatHelp(command: HelpSource): string {
  const options = Object.entries(command.options).map(([name, option]) =>
    entry(
      option.placeholder ? `--${name} ${option.placeholder}` : `--${name}`,
      describeOption(command.options, option),
    )
  );
  const description = command.description.trim().split(/\n\s*\n/)
    .map((p) => wrap(p.replace(/\s+/g, " "), HELP_WIDTH - 2).join("\n"))
    .join("\n\n");
  return [
    `Usage: flhe ${command.name} ${command.synopsis ?? "[options]"}`,
    "",
    description,
    "",
    "Options:",
    ...options,
    entry("-h, --help", "show this help"),
    "",
  ].join("\n");
}
