/**
 * The kinds of options a table holds, one builder each: {@linkcode int},
 * {@linkcode number}, {@linkcode string}, {@linkcode path},
 * {@linkcode choice} and {@linkcode flag}. Each converts and checks the
 * given text with a one-line error naming the option
 * (`--clients: 'x' is not an integer`).
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import type { Range } from "../federation/rules.ts";
import {
  checkRange,
  type Default,
  type DerivedDefault,
  type Option,
  type RuntimeDefault,
} from "./options.ts";

function usage(message: string): FlheError {
  return new FlheError("usage", message);
}

function toNumber(raw: string | boolean, name: string, range: Range): number {
  const v = Number(raw);
  if (
    typeof raw !== "string" || raw.trim() === "" || !Number.isFinite(v) ||
    (range.integer && !Number.isInteger(v))
  ) {
    throw usage(`--${name}: '${raw}' is not ${range.integer ? "an integer" : "a number"}`);
  }
  return checkRange(name, v, range);
}

function toText(raw: string | boolean, name: string, pattern?: RegExp, what?: string): string {
  if (typeof raw !== "string" || raw === "") throw usage(`--${name}: needs a value`);
  if (pattern && !pattern.test(raw)) throw usage(`--${name}: '${raw}' is not ${what}`);
  return raw;
}

function toDefault<T>(value: T | DerivedDefault<T> | RuntimeDefault | undefined): Default<T> {
  if (value === undefined) return { kind: "none" };
  if (typeof value === "object" && value !== null && "kind" in value) {
    if (value.kind === "derived" || value.kind === "runtime") return value;
  }
  return { kind: "value", value: value as T };
}

/** Fields every option declares. */
export interface OptionSpec {
  /** Value placeholder in help, e.g. `K`. */
  readonly placeholder: string;
  /** What the option does, without the default. */
  readonly help: string;
}

/** Fields of a numeric option. */
export interface NumberSpec extends OptionSpec {
  /** Allowed values. */
  readonly range: Range;
}

/** Fields of a text option. */
export interface TextSpec extends OptionSpec {
  /** A pattern the value must match. */
  readonly pattern?: RegExp;
  /** What a matching value is, for errors: `--NAME: 'x' is not WHAT`. */
  readonly patternText?: string;
}

/** Fields of a choice option. */
export interface ChoiceSpec<T extends string | number> extends OptionSpec {
  /** Allowed values, in help order. */
  readonly choices: readonly T[];
  /** Notes help prints after some choices. */
  readonly notes?: Partial<Record<NoInfer<T>, string>>;
}

function numeric(kind: "int" | "number", spec: NumberSpec, dflt: Default<number>): Option<number> {
  return {
    kind,
    ...spec,
    default: dflt,
    parse: (raw, name) => toNumber(raw, name, spec.range),
    format: String,
  };
}

/**
 * An integer option.
 *
 * @param spec Placeholder, help, range and default.
 * @returns The option; its value is `number`, or `number | undefined` without a value default.
 *
 * @example Usage
 * ```ts
 * import { int } from "./option_kinds.ts";
 * import { integers } from "../federation/rules.ts";
 * int({ placeholder: "R", help: "training rounds", range: integers(1, 100), default: 5 });
 * ```
 */
export function int(
  spec: NumberSpec & { default: number | DerivedDefault<number> },
): Option<number>;
/** Without a value default: the value is `undefined` unless given. */
export function int(spec: NumberSpec & { default?: RuntimeDefault }): Option<number | undefined>;
export function int(
  spec: NumberSpec & { default?: number | DerivedDefault<number> | RuntimeDefault },
): Option<number> {
  return numeric("int", spec, toDefault(spec.default));
}

/**
 * A real-number option.
 *
 * @param spec Placeholder, help, range and default.
 * @returns The option.
 *
 * @example Usage
 * ```ts
 * import { number } from "./option_kinds.ts";
 * import { reals } from "../federation/rules.ts";
 * number({ placeholder: "A", help: "Dirichlet concentration", range: reals(1e-6, 1e6), default: 0.5 });
 * ```
 */
export function number(
  spec: NumberSpec & { default: number | DerivedDefault<number> },
): Option<number>;
/** Without a value default: the value is `undefined` unless given. */
export function number(spec: NumberSpec & { default?: RuntimeDefault }): Option<number | undefined>;
export function number(
  spec: NumberSpec & { default?: number | DerivedDefault<number> | RuntimeDefault },
): Option<number> {
  return numeric("number", spec, toDefault(spec.default));
}

function text(kind: "string" | "path", spec: TextSpec, dflt: Default<string>): Option<string> {
  return {
    kind,
    ...spec,
    default: dflt,
    parse: (raw, name) => toText(raw, name, spec.pattern, spec.patternText),
    format: String,
  };
}

/**
 * A text option (an address, a URL).
 *
 * @param spec Placeholder, help, optional pattern, and default.
 * @returns The option.
 *
 * @example Usage
 * ```ts
 * import { string } from "./option_kinds.ts";
 * string({ placeholder: "URL", help: "server address", pattern: /^wss?:\/\//, patternText: "a ws:// URL", default: "ws://127.0.0.1:8765" });
 * ```
 */
export function string(
  spec: TextSpec & { default: string | DerivedDefault<string> },
): Option<string>;
/** Without a value default: the value is `undefined` unless given. */
export function string(spec: TextSpec & { default?: RuntimeDefault }): Option<string | undefined>;
export function string(
  spec: TextSpec & { default?: string | DerivedDefault<string> | RuntimeDefault },
): Option<string> {
  return text("string", spec, toDefault(spec.default));
}

/**
 * A file or folder option.
 *
 * @param spec Placeholder, help and default.
 * @returns The option.
 *
 * @example Usage
 * ```ts
 * import { path } from "./option_kinds.ts";
 * path({ placeholder: "DIR", help: "folder to create", default: "federation" });
 * ```
 */
export function path(spec: OptionSpec & { default: string }): Option<string>;
/** Without a value default: the value is `undefined` unless given. */
export function path(spec: OptionSpec & { default?: RuntimeDefault }): Option<string | undefined>;
export function path(spec: OptionSpec & { default?: string | RuntimeDefault }): Option<string> {
  return text("path", spec, toDefault(spec.default));
}

/**
 * An option that must be one of a list of values (strings or numbers).
 *
 * @param spec Placeholder, help, choices, optional notes, and default.
 * @returns The option.
 *
 * @example Usage
 * ```ts
 * import { choice } from "./option_kinds.ts";
 * choice({ placeholder: "BITS", help: "key size", choices: [2048, 3072], default: 2048 });
 * ```
 */
export function choice<const T extends string | number>(
  spec: ChoiceSpec<T> & { default: T | DerivedDefault<T> },
): Option<T>;
/** Without a value default: the value is `undefined` unless given. */
export function choice<const T extends string | number>(
  spec: ChoiceSpec<T> & { default?: RuntimeDefault },
): Option<T | undefined>;
export function choice<const T extends string | number>(
  spec: ChoiceSpec<T> & { default?: T | DerivedDefault<T> | RuntimeDefault },
): Option<T> {
  return {
    kind: "choice",
    placeholder: spec.placeholder,
    help: spec.help,
    choices: spec.choices,
    note: (c) => spec.notes?.[c],
    default: toDefault(spec.default),
    parse(raw, name) {
      const found = spec.choices.find((c) => String(c) === raw);
      if (found === undefined) {
        throw usage(`--${name}: '${raw}' is not one of ${spec.choices.join(", ")}`);
      }
      return found;
    },
    format: String,
  };
}

/**
 * A flag: `true` when given, else `false`.
 *
 * @param help What it does.
 * @returns The option.
 *
 * @example Usage
 * ```ts
 * import { flag } from "./option_kinds.ts";
 * flag("replace an existing folder");
 * ```
 */
export function flag(help: string): Option<boolean> {
  return {
    kind: "boolean",
    placeholder: "",
    help,
    choices: [false, true],
    default: { kind: "value", value: false },
    parse: (raw) => raw === true,
    format: String,
  };
}
