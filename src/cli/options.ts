/**
 * Option tables: each command declares its options once (kind, value
 * placeholder, range or choices, default, help text), and both the parser
 * ({@linkcode parseOptions}, on `node:util` `parseArgs`) and the help text
 * (`help.ts`) are derived from that table, so `--help` prints the default
 * the parser really uses. The options themselves are built with the
 * builders of `option_kinds.ts`.
 *
 * A default is a value, a value derived from another option of the table
 * ({@linkcode derived}, {@linkcode sameAs}), or one that only the command
 * knows when it runs ({@linkcode runtime}: e.g. "the host of serverUrl"),
 * for which the parser yields `undefined`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { FlheError } from "../util/error.ts";
import type { Range } from "../federation/rules.ts";

/** What an option's value is. */
export type OptionKind = "int" | "number" | "string" | "path" | "choice" | "boolean";

/** Looks up the resolved value of another option of the same table. */
export type ValueOf = <V>(option: Option<V>) => V;

/** Names another option of the same table, for help texts. */
export type NameOf = (option: Option<unknown>) => string;

/** A constant default. */
export interface ValueDefault<T> {
  /** Which kind of default. */
  readonly kind: "value";
  /** The value. */
  readonly value: T;
}

/** A default computed from another option of the same table. */
export interface DerivedDefault<T> {
  /** Which kind of default. */
  readonly kind: "derived";
  /** The option it depends on. */
  readonly from: Option<unknown>;
  /**
   * The default, given the resolved values of the table.
   *
   * @param valueOf Resolves another option.
   * @returns The default.
   */
  resolve(valueOf: ValueOf): T;
  /**
   * The default as help text, e.g. `0.02 for momentum/nesterov, 0.05 for sgd`.
   *
   * @param nameOf Names another option.
   * @returns One line.
   */
  describe(nameOf: NameOf): string;
}

/** A default that only the command knows when it runs; the parser yields `undefined`. */
export interface RuntimeDefault {
  /** Which kind of default. */
  readonly kind: "runtime";
  /** What the command uses, e.g. `the host of serverUrl`. */
  readonly text: string;
}

/** No default: the option is absent unless given. */
export interface NoDefault {
  /** Which kind of default. */
  readonly kind: "none";
}

/** Any default. */
export type Default<T> = ValueDefault<T> | DerivedDefault<T> | RuntimeDefault | NoDefault;

/** One option of a table; its name is its key in the table. */
export interface Option<T> {
  /** What the value is. */
  readonly kind: OptionKind;
  /** Value placeholder in help, e.g. `K`; empty for flags. */
  readonly placeholder: string;
  /** What the option does, one sentence without the default. */
  readonly help: string;
  /** Allowed numbers (`int`, `number`). */
  readonly range?: Range;
  /** Allowed values (`choice`, `boolean`), in help order. */
  readonly choices?: readonly T[];
  /**
   * A note help prints after a choice, e.g. `slow` for `per-weight (slow)`.
   *
   * @param value One of the choices.
   * @returns The note, if any.
   */
  note?(value: T): string | undefined;
  /** The default. */
  readonly default: Default<T>;
  /**
   * Converts and checks a given value.
   *
   * @param raw The string given (`true` for a flag).
   * @param name The option name, for errors.
   * @returns The value.
   * @throws {FlheError} `usage`, naming the option.
   */
  parse(raw: string | boolean, name: string): T;
  /**
   * Formats a value for help text.
   *
   * @param value The value.
   * @returns Its text.
   */
  format(value: T): string;
}

/** An option table: option name (without dashes) to option. */
export type OptionTable = Readonly<Record<string, Option<unknown>>>;

/** The typed values a table parses to. */
export type OptionValues<T extends OptionTable> = {
  readonly [K in keyof T]: T[K] extends Option<infer V> ? V : never;
};

/** What {@linkcode parseOptions} returns. */
export type Parsed<T extends OptionTable> =
  | { readonly help: true }
  | { readonly help: false; readonly values: OptionValues<T> };

/**
 * A default that is a function of another option's value. Its help text is
 * computed by running `compute` over every value `from` can take (its
 * choices, or with and without a flag), grouped by result, the group of
 * `from`'s own default first: e.g. `0.02 for momentum/nesterov, 0.05 for sgd`.
 *
 * @param from A `choice` or `boolean` option of the same table.
 * @param compute The default for each value of `from`.
 * @returns The default.
 * @throws {Error} If `from` has no listed values.
 *
 * @example Usage
 * ```ts
 * import { derived } from "./options.ts";
 * import { choice, number } from "./option_kinds.ts";
 * import { reals } from "../federation/rules.ts";
 * const optimizer = choice({ placeholder: "RULE", help: "update rule", choices: ["sgd", "adam"], default: "sgd" });
 * const lr = number({
 *   placeholder: "RATE", help: "learning rate", range: reals(0, 1),
 *   default: derived(optimizer, (o) => (o === "sgd" ? 0.05 : 0.002)),
 * });
 * ```
 */
export function derived<D, T>(from: Option<D>, compute: (value: D) => T): DerivedDefault<T> {
  const domain = from.choices;
  if (!domain) throw new Error("derived(): the option it depends on has no listed values");
  return {
    kind: "derived",
    from,
    resolve: (valueOf) => compute(valueOf(from)),
    describe(nameOf) {
      const groups = new Map<string, D[]>();
      const first = from.default.kind === "value" ? [from.default.value] : [];
      for (const d of [...first, ...domain.filter((d) => !first.includes(d))]) {
        const text = String(compute(d));
        groups.set(text, [...(groups.get(text) ?? []), d]);
      }
      const label = (ds: D[]): string =>
        from.kind === "boolean"
          ? `${ds[0] ? "with" : "without"} --${nameOf(from)}`
          : `for ${ds.map((d) => from.format(d)).join("/")}`;
      if (groups.size === 1) return [...groups.keys()].join("");
      return [...groups].map(([text, ds]) => `${text} ${label(ds)}`).join(", ");
    },
  };
}

/**
 * A default equal to another option's value; help prints that option's
 * placeholder (e.g. `K` for `--clients K`).
 *
 * @param from The option whose value is the default.
 * @returns The default.
 *
 * @example Usage
 * ```ts
 * import { sameAs } from "./options.ts";
 * import { int } from "./option_kinds.ts";
 * import { integers } from "../federation/rules.ts";
 * const clients = int({ placeholder: "K", help: "clients", range: integers(2, 9), default: 2 });
 * const minClients = int({ placeholder: "M", help: "fewest", range: integers(1, 9), default: sameAs(clients) });
 * ```
 */
export function sameAs<T>(from: Option<T>): DerivedDefault<T> {
  return {
    kind: "derived",
    from,
    resolve: (valueOf) => valueOf(from),
    describe: () => from.placeholder,
  };
}

/**
 * A default that the command works out when it runs (the parser yields `undefined`).
 *
 * @param text What help prints, e.g. `the port of serverUrl`.
 * @returns The default.
 *
 * @example Usage
 * ```ts
 * import { runtime } from "./options.ts";
 * import { int } from "./option_kinds.ts";
 * import { integers } from "../federation/rules.ts";
 * int({ placeholder: "N", help: "workers", range: integers(1, 256), default: runtime("one per core") });
 * ```
 */
export function runtime(text: string): RuntimeDefault {
  return { kind: "runtime", text };
}

function usage(message: string): FlheError {
  return new FlheError("usage", message);
}

/**
 * Checks that a number lies in a range, with the CLI's one-line error.
 *
 * @param name Option name without dashes.
 * @param value The number.
 * @param range The range.
 * @returns `value`.
 * @throws {FlheError} `usage`: `--NAME: V is outside [MIN, MAX]`.
 *
 * @example Usage
 * ```ts
 * import { checkRange } from "./options.ts";
 * import { integers } from "../federation/rules.ts";
 * checkRange("port", 8080, integers(0, 65_535)); // 8080
 * ```
 */
export function checkRange(name: string, value: number, range: Range): number {
  if (value < range.min || value > range.max) {
    throw usage(`--${name}: ${value} is outside [${range.min}, ${range.max}]`);
  }
  return value;
}

/**
 * Parses a command's arguments against its table: unknown options, missing
 * values and positionals are usage errors; each given value is converted and
 * checked; every absent option gets its default (derived ones after the
 * option they depend on).
 *
 * @param table The command's options.
 * @param args The arguments after the command name.
 * @returns `{ help: true }` for `-h`/`--help`, else the typed values.
 * @throws {FlheError} `usage`, one line naming the option.
 *
 * @example Usage
 * ```ts
 * import { parseOptions } from "./options.ts";
 * import { int } from "./option_kinds.ts";
 * import { integers } from "../federation/rules.ts";
 * const table = { rounds: int({ placeholder: "R", help: "rounds", range: integers(1, 9), default: 5 }) };
 * const parsed = parseOptions(table, ["--rounds", "3"]);
 * if (!parsed.help) parsed.values.rounds; // 3
 * ```
 */
export function parseOptions<T extends OptionTable>(table: T, args: readonly string[]): Parsed<T> {
  const raw = readArgs(table, args);
  if (raw.help === true) return { help: true };
  const resolved = new Map<Option<unknown>, unknown>();
  const pending = new Set<Option<unknown>>();
  const valueOf = <V>(option: Option<V>): V => {
    if (!resolved.has(option)) {
      const name = nameIn(table, option);
      if (pending.has(option)) throw new Error(`option table: --${name} depends on itself`);
      pending.add(option);
      const given = raw[name];
      const d = option.default;
      resolved.set(
        option,
        given !== undefined
          ? option.parse(given, name)
          : d.kind === "value"
          ? d.value
          : d.kind === "derived"
          ? d.resolve(valueOf)
          : undefined,
      );
    }
    // The map holds, for each option, a value that option produced.
    return resolved.get(option) as V;
  };
  const values: Record<string, unknown> = {};
  for (const [name, option] of Object.entries(table)) values[name] = valueOf(option);
  return { help: false, values: values as OptionValues<T> };
}

/**
 * The name under which a table holds an option.
 *
 * @param table The table.
 * @param option One of its options.
 * @returns The name, without dashes.
 * @throws {Error} If the table does not hold the option.
 *
 * @example Usage
 * ```ts
 * import { nameIn } from "./options.ts";
 * import { flag } from "./option_kinds.ts";
 * const force = flag("replace");
 * nameIn({ force }, force); // "force"
 * ```
 */
export function nameIn(table: OptionTable, option: Option<unknown>): string {
  const entry = Object.entries(table).find(([, o]) => o === option);
  if (!entry) throw new Error(`option table: a default depends on an option not in the table`);
  return entry[0];
}

function readArgs(
  table: OptionTable,
  args: readonly string[],
): Record<string, string | boolean | undefined> {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const [name, o] of Object.entries(table)) {
    options[name] = { type: o.kind === "boolean" ? "boolean" : "string" };
  }
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw usage((e instanceof Error ? e.message : String(e)).split("\n")[0]!);
  }
}
