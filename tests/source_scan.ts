/**
 * Reads the project's own source for the layout tests: the files under
 * `src`, their code with comments, strings and regular expressions blanked
 * out (lines kept), the relative modules each imports, and the functions
 * found by matching braces.
 */

/** The repository's root folder (with a trailing slash). */
export const REPO = decodeURIComponent(new URL("../", import.meta.url).pathname);

/** One source file under `src`. */
export interface SourceFile {
  /** Path from the repository root, e.g. `src/net/frame.ts`. */
  readonly path: string;
  /** The file's text. */
  readonly text: string;
}

/**
 * Every `.ts` and `.js` file under `src`, sorted by path.
 *
 * @returns The files.
 */
export function sourceFiles(): SourceFile[] {
  const files: SourceFile[] = [];
  const walk = (dir: string): void => {
    for (const entry of Deno.readDirSync(`${REPO}${dir}`)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) walk(path);
      else if (/\.(ts|js)$/.test(entry.name)) {
        files.push({ path, text: Deno.readTextFileSync(`${REPO}${path}`) });
      }
    }
  };
  walk("src");
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Characters after which a `/` starts a regular expression, not a division. */
const BEFORE_REGEX = new Set([..."(,=:[!&|?{};+-*%<>~^"]);
const KEYWORDS_BEFORE_REGEX = /(?:^|[^\w$])(?:return|typeof|case|do|else|in|of|void|yield|await)$/;

/**
 * The code with every comment, string, template text and regular
 * expression replaced by spaces; line breaks are kept, so line numbers and
 * offsets match the original. Template substitutions (`${...}`) stay code.
 *
 * @param text A TypeScript or JavaScript source.
 * @returns The blanked code.
 */
export function blankCode(text: string): string {
  const out = [...text];
  const blank = (from: number, to: number): void => {
    for (let k = from; k < to; k++) if (out[k] !== "\n") out[k] = " ";
  };
  // Braces opened inside template substitutions, innermost last: at 0 the
  // next `}` resumes the template's text.
  const templates: number[] = [];
  let i = 0;
  const lastCode = (): string => {
    let k = i - 1;
    while (k >= 0 && /\s/.test(out[k]!)) k--;
    return k < 0 ? "" : out.slice(Math.max(0, k - 8), k + 1).join("");
  };
  const templateText = (): void => {
    // From just after "`" or "}": to the closing "`" or the next "${".
    const start = i;
    while (i < text.length) {
      const c = text[i]!;
      if (c === "\\") i += 2;
      else if (c === "`") {
        blank(start, i);
        i++;
        return;
      } else if (c === "$" && text[i + 1] === "{") {
        blank(start, i);
        templates.push(0);
        i += 2;
        return;
      } else i++;
    }
    blank(start, i);
  };
  while (i < text.length) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === "/" && next === "/") {
      const end = text.indexOf("\n", i);
      const stop = end < 0 ? text.length : end;
      blank(i, stop);
      i = stop;
    } else if (c === "/" && next === "*") {
      const end = text.indexOf("*/", i + 2);
      const stop = end < 0 ? text.length : end + 2;
      blank(i, stop);
      i = stop;
    } else if (c === "'" || c === '"') {
      const start = i++;
      while (i < text.length && text[i] !== c && text[i] !== "\n") i += text[i] === "\\" ? 2 : 1;
      blank(start + 1, i);
      i++;
    } else if (c === "`") {
      i++;
      templateText();
    } else if (c === "/" && isRegexStart(lastCode())) {
      const start = i++;
      let inClass = false;
      while (i < text.length && text[i] !== "\n") {
        const d = text[i]!;
        if (d === "\\") i++;
        else if (d === "[") inClass = true;
        else if (d === "]") inClass = false;
        else if (d === "/" && !inClass) break;
        i++;
      }
      blank(start + 1, i);
      i++;
    } else if (c === "{" && templates.length > 0) {
      templates[templates.length - 1]!++;
      i++;
    } else if (c === "}" && templates.length > 0 && templates.at(-1) === 0) {
      templates.pop();
      i++;
      templateText();
    } else {
      if (c === "}" && templates.length > 0) templates[templates.length - 1]!--;
      i++;
    }
  }
  return out.join("");
}

function isRegexStart(before: string): boolean {
  if (before === "") return true;
  return BEFORE_REGEX.has(before.at(-1)!) || KEYWORDS_BEFORE_REGEX.test(before);
}

/**
 * The modules a source file imports or re-exports (static and dynamic
 * imports, `export ... from`), as written.
 *
 * @param text The file's text.
 * @returns The specifiers, in the order they appear.
 */
export function importSpecifiers(text: string): string[] {
  const code = blankCode(text);
  const specs: { at: number; specifier: string }[] = [];
  // The blanked code keeps each string's quotes and position: read the
  // specifier back from the original text.
  const at = (quote: number): string =>
    text.slice(quote + 1, code.indexOf(text[quote]!, quote + 1));
  const patterns = [
    /\b(?:import|export)\s[^;]*?\bfrom\s*(["'])/g,
    /\bimport\s*(["'])/g,
    /\bimport\s*\(\s*(["'])/g,
  ];
  for (const pattern of patterns) {
    for (const m of code.matchAll(pattern)) {
      const quote = m.index + m[0].length - 1;
      specs.push({ at: quote, specifier: at(quote) });
    }
  }
  return specs.sort((x, y) => x.at - y.at).map((s) => s.specifier);
}

/**
 * The `src` folder a relative import from a file lands in (`net` for
 * `../net/mod.ts` from `src/strategy/x.ts`), or `undefined` for a package,
 * a URL or a module outside `src`.
 *
 * @param from The importing file's path from the root (`src/...`).
 * @param specifier The import specifier.
 * @returns The folder under `src`.
 */
export function srcFolderOf(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  const parts = from.split("/").slice(0, -1);
  for (const part of specifier.split("/")) {
    if (part === "..") parts.pop();
    else if (part !== ".") parts.push(part);
  }
  return parts[0] === "src" && parts.length > 2 ? parts[1] : undefined;
}

/** A function found in a file. */
export interface FunctionSpan {
  /** Its name (or what it is assigned to), for messages. */
  readonly name: string;
  /** Line of its head (1-based). */
  readonly firstLine: number;
  /** Line of its closing brace. */
  readonly lastLine: number;
}

const CONTROL = new Set([
  "if",
  "for",
  "while",
  "switch",
  "catch",
  "with",
  "return",
  "typeof",
  "await",
  "new",
  "super",
  "import",
]);

/**
 * The functions of a source with a body in braces: declarations and
 * expressions (`function`), methods, accessors and constructors, and arrow
 * functions with a block body. Found in the blanked code: a body is the `{`
 * after `=>`, or after a parameter list `(...)` (and its return type, if
 * any) that follows `function` or a name that is not a keyword; it ends at
 * its matching `}`.
 *
 * @param text The file's text.
 * @returns The functions, in order of their heads.
 */
export function functionSpans(text: string): FunctionSpan[] {
  const code = blankCode(text);
  const lineAt = lineIndex(code);
  const closing = matchBraces(code);
  const heads = new Map<number, { name: string; at: number }>();
  for (const m of code.matchAll(/=>\s*\{/g)) {
    const body = m.index + m[0].length - 1;
    heads.set(body, { name: arrowName(code, m.index), at: arrowStart(code, m.index) });
  }
  for (let i = 0; i < code.length; i++) {
    if (code[i] !== "(") continue;
    const name = headName(code, i);
    if (name === undefined) continue;
    const body = bodyAfterParameters(code, i);
    if (body !== undefined && !heads.has(body)) heads.set(body, name);
  }
  const spans: FunctionSpan[] = [];
  for (const [body, head] of heads) {
    const end = closing.get(body);
    if (end === undefined) continue;
    spans.push({ name: head.name, firstLine: lineAt(head.at), lastLine: lineAt(end) });
  }
  return spans.sort((a, b) => a.firstLine - b.firstLine || b.lastLine - a.lastLine);
}

function lineIndex(code: string): (offset: number) => number {
  const starts = [0];
  for (let i = 0; i < code.length; i++) if (code[i] === "\n") starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

/** Each `{`'s offset mapped to its matching `}`. */
function matchBraces(code: string): Map<number, number> {
  const closing = new Map<number, number>();
  const open: number[] = [];
  for (let i = 0; i < code.length; i++) {
    if (code[i] === "{") open.push(i);
    else if (code[i] === "}") {
      const o = open.pop();
      if (o !== undefined) closing.set(o, i);
    }
  }
  return closing;
}

/** Skips whitespace backwards from `i` (inclusive); the index of the code character there. */
function back(code: string, i: number): number {
  while (i >= 0 && /\s/.test(code[i]!)) i--;
  return i;
}

/** Skips whitespace forwards from `i` (inclusive). */
function ahead(code: string, i: number): number {
  while (i < code.length && /\s/.test(code[i]!)) i++;
  return i;
}

const OPENERS: Record<string, string> = { "(": ")", "[": "]", "{": "}", "<": ">" };
const CLOSERS: Record<string, string> = { ")": "(", "]": "[", "}": "{", ">": "<" };

/** Whether the `>` at `i` is the end of an arrow `=>`. */
const isArrow = (code: string, i: number): boolean => code[i] === ">" && code[i - 1] === "=";

/** The index of the bracket matching the one at `i` (searching forwards or backwards), or -1. */
function match(code: string, i: number): number {
  const forward = code[i]! in OPENERS;
  const stack: string[] = [];
  for (let k = i; k >= 0 && k < code.length; k += forward ? 1 : -1) {
    const c = code[k]!;
    if (isArrow(code, k) || (c === "=" && code[k + 1] === ">")) continue;
    const opens = forward ? c in OPENERS : c in CLOSERS;
    const closes = forward ? c in CLOSERS : c in OPENERS;
    if (opens) stack.push(c);
    else if (closes) {
      const top = stack.pop();
      if (top === undefined || (forward ? OPENERS[top] : CLOSERS[top]) !== c) return -1;
      if (stack.length === 0) return k;
    }
  }
  return -1;
}

/** If the `(` at `i` opens a function's parameters: the function's name and head offset. */
function headName(code: string, i: number): { name: string; at: number } | undefined {
  let h = back(code, i - 1);
  if (code[h] === ">" && !isArrow(code, h)) {
    const o = match(code, h);
    if (o < 0) return undefined;
    h = back(code, o - 1);
  }
  if (code[h] === "*") h = back(code, h - 1);
  const word = /[\w$]+$/.exec(code.slice(Math.max(0, h - 100), h + 1))?.[0];
  if (word === undefined || CONTROL.has(word)) return undefined;
  const at = h - word.length + 1;
  if (word === "function") return { name: "function", at };
  // A name after "." is a call; after a keyword other than function/get/set/async/static it is
  // not a head either (those forms are calls or statements).
  const before = code.slice(Math.max(0, at - 30), at);
  if (/\.\s*$/.test(before)) return undefined;
  return { name: word, at };
}

/**
 * The offset of the body `{` that follows the parameter list opening at
 * `i`, past a return type if there is one; `undefined` if none follows
 * (a call, a condition, an arrow function's parameters).
 */
function bodyAfterParameters(code: string, i: number): number | undefined {
  const close = match(code, i);
  if (close < 0) return undefined;
  let k = ahead(code, close + 1);
  if (code[k] === "{") return k;
  if (code[k] !== ":") return undefined;
  // A return type: the body is the first "{" where a type cannot start.
  let expectType = true;
  for (k = ahead(code, k + 1); k < code.length; k = ahead(code, k + 1)) {
    const c = code[k]!;
    if (c === "{" && !expectType) return k;
    if (c === "=" && code[k + 1] === ">") {
      k++;
      expectType = true;
    } else if (c in OPENERS) {
      const o = match(code, k);
      if (o < 0) return undefined;
      k = o;
      expectType = false;
    } else if (c === "|" || c === "&" || c === "," || c === "?") expectType = true;
    else if (/[\w$."'`\-]/.test(c)) {
      while (k + 1 < code.length && /[\w$."'`\-]/.test(code[k + 1]!)) k++;
      expectType = /\b(?:is|keyof|typeof|readonly|asserts|infer|unique)$/.test(
        code.slice(0, k + 1),
      );
    } else return undefined;
  }
  return undefined;
}

/** Where an arrow function's head starts: its parameters, or its single parameter's name. */
function arrowStart(code: string, arrow: number): number {
  let k = back(code, arrow - 1);
  if (code[k] === ")") return Math.max(0, match(code, k));
  while (k > 0 && /[\w$]/.test(code[k - 1]!)) k--;
  return k;
}

function arrowName(code: string, arrow: number): string {
  const lineStart = code.lastIndexOf("\n", arrow) + 1;
  const line = code.slice(lineStart, arrow);
  return /(?:const|let|var)\s+([\w$]+)|([\w$]+)\s*[:=]/.exec(line)?.slice(1).find(Boolean) ??
    "arrow function";
}
