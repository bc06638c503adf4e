/**
 * File helpers shared by every part: atomic writes with a given mode, and
 * JSON reads whose errors name the file.
 *
 * @module
 */

import { FlheError } from "./error.ts";

/**
 * Writes a file atomically and durably: a temporary file beside it (created
 * with `mode` and synced to disk) is renamed over the target and the folder
 * is synced, so readers never see half a file, and a crash or power loss
 * leaves the old content or the new, never an empty file nor a rolled-back
 * rename after the call returned.
 *
 * @param path Target path.
 * @param data Bytes or text.
 * @param mode File mode (default 0o644; 0o600 for secrets).
 *
 * @example Usage
 * ```ts
 * import { writeFileAtomic } from "./fs.ts";
 * await writeFileAtomic("/tmp/x.json", "{}", 0o600);
 * ```
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  mode = 0o644,
): Promise<void> {
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true, mode });
    try {
      for (let written = 0; written < bytes.length;) {
        written += await file.write(bytes.subarray(written));
      }
      // On disk before the rename: a crash never leaves a renamed empty file.
      await file.sync();
    } finally {
      file.close();
    }
    // The umask may have narrowed the mode at creation: set it exactly.
    await Deno.chmod(tmp, mode);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  await syncDirectory(path);
}

/**
 * Syncs the folder holding `path`, so that a rename into it survives a power
 * loss (without it the folder's entry may still name the old file).
 */
async function syncDirectory(path: string): Promise<void> {
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
  if (Deno.build.os === "windows") return;
  const handle = await Deno.open(dir, { read: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
}

/**
 * Refuses a file holding a secret that group or others can read.
 *
 * @param path The file.
 * @throws {FlheError} `auth` naming the file, its mode and the fix; `input`
 *   if it does not exist.
 *
 * @example Usage
 * ```ts
 * import { checkPrivateFile } from "./fs.ts";
 * await checkPrivateFile("federation/owner/secret.json");
 * ```
 */
export async function checkPrivateFile(path: string): Promise<void> {
  let mode: number | null;
  try {
    mode = (await Deno.stat(path)).mode;
  } catch {
    throw new FlheError("input", `${path}: file not found`);
  }
  if (mode !== null && (mode & 0o077) !== 0) {
    throw new FlheError(
      "auth",
      `${path}: holds a secret but has mode ${(mode & 0o777).toString(8)}, ` +
        `readable by group or others; run chmod 600 ${path}`,
    );
  }
}

/**
 * Reads and parses a JSON file.
 *
 * @param path The file.
 * @returns The parsed value (untrusted: check it before use).
 * @throws {FlheError} `input` naming the file if it is missing or not JSON.
 *
 * @example Usage
 * ```ts
 * import { readJsonFile } from "./fs.ts";
 * const value = await readJsonFile("federation.json");
 * ```
 */
export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new FlheError("input", `${path}: file not found`);
    throw new FlheError("input", `${path}: cannot read (${(e as Error).message})`, { cause: e });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new FlheError("input", `${path}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
}

/**
 * Reads typed fields out of an untrusted JSON object, with errors that name
 * the file and the field.
 */
export class JsonFields {
  readonly #file: string;
  readonly #obj: Record<string, unknown>;

  /**
   * @param file Names the source in error messages.
   * @param value The parsed JSON.
   * @param prefix Field path prefix for nested objects (e.g. `encoding.`).
   * @throws {FlheError} `input` if `value` is not an object.
   */
  constructor(file: string, value: unknown, readonly prefix = "") {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      const where = prefix ? `field "${prefix.replace(/\.$/, "")}"` : "top level";
      throw new FlheError("input", `${file}: ${where} is not a JSON object`);
    }
    this.#file = file;
    this.#obj = value as Record<string, unknown>;
  }

  #fail(field: string, want: string): never {
    throw new FlheError("input", `${this.#file}: field "${this.prefix}${field}" ${want}`);
  }

  /**
   * A string field.
   *
   * @param field Field name.
   * @param pattern Optional pattern the value must match.
   * @returns The value.
   */
  string(field: string, pattern?: RegExp): string {
    const v = this.#obj[field];
    if (typeof v !== "string") this.#fail(field, "is missing or not a string");
    if (pattern && !pattern.test(v)) this.#fail(field, `does not match ${pattern}`);
    return v;
  }

  /**
   * An optional string field.
   *
   * @param field Field name.
   * @param pattern Pattern the value must match when present.
   * @returns The value, or `undefined` if absent or null.
   */
  optionalString(field: string, pattern?: RegExp): string | undefined {
    const v = this.#obj[field];
    return v === undefined || v === null ? undefined : this.string(field, pattern);
  }

  /**
   * A hex string field as a bigint.
   *
   * @param field Field name.
   * @returns The value.
   */
  hex(field: string): bigint {
    return BigInt("0x" + this.string(field, /^[0-9a-f]+$/));
  }

  /**
   * A number field within bounds.
   *
   * @param field Field name.
   * @param min Smallest allowed.
   * @param max Largest allowed.
   * @param integer Whether it must be an integer (default true).
   * @returns The value.
   */
  number(field: string, min: number, max: number, integer = true): number {
    const v = this.#obj[field];
    if (typeof v !== "number" || !Number.isFinite(v)) {
      this.#fail(field, "is missing or not a number");
    }
    if (integer && !Number.isInteger(v)) this.#fail(field, `is ${v}, not an integer`);
    if (v < min || v > max) this.#fail(field, `is ${v}, outside [${min}, ${max}]`);
    return v;
  }

  /**
   * A string field that must be one of `choices`.
   *
   * @param field Field name.
   * @param choices Allowed values.
   * @returns The value.
   */
  oneOf<T extends string>(field: string, choices: readonly T[]): T {
    const v = this.string(field);
    if (!(choices as readonly string[]).includes(v)) {
      this.#fail(field, `is "${v}", not one of ${choices.join(", ")}`);
    }
    return v as T;
  }

  /**
   * A boolean field.
   *
   * @param field Field name.
   * @returns The value.
   */
  boolean(field: string): boolean {
    const v = this.#obj[field];
    if (typeof v !== "boolean") this.#fail(field, "is missing or not true/false");
    return v;
  }

  /**
   * A list of strings, each matching `pattern`.
   *
   * @param field Field name.
   * @param pattern Pattern every entry must match.
   * @param maxLength Longest list allowed.
   * @returns The list.
   */
  stringList(field: string, pattern: RegExp, maxLength: number): string[] {
    const v = this.#obj[field];
    if (!Array.isArray(v) || v.length > maxLength) {
      this.#fail(field, `is missing, not a list, or longer than ${maxLength}`);
    }
    return v.map((entry, i) => {
      if (typeof entry !== "string" || !pattern.test(entry)) {
        this.#fail(`${field}[${i}]`, `is not a string matching ${pattern}`);
      }
      return entry;
    });
  }

  /**
   * A list of objects, each read through its own {@linkcode JsonFields}.
   *
   * @param field Field name.
   * @param maxLength Longest list allowed.
   * @returns One reader per entry.
   */
  objectList(field: string, maxLength: number): JsonFields[] {
    const v = this.#obj[field];
    if (!Array.isArray(v) || v.length > maxLength) {
      this.#fail(field, `is missing, not a list, or longer than ${maxLength}`);
    }
    return v.map((entry, i) => new JsonFields(this.#file, entry, `${this.prefix}${field}[${i}].`));
  }

  /**
   * A nested object field.
   *
   * @param field Field name.
   * @returns Its fields.
   */
  object(field: string): JsonFields {
    return new JsonFields(this.#file, this.#obj[field], `${this.prefix}${field}.`);
  }
}
