/**
 * The size rules of the layout: no file in `src` over 450 lines, no
 * function over 100 (from the line of its head to its closing brace,
 * found by matching braces in code without comments and strings).
 */
import assert from "node:assert/strict";
import { functionSpans, sourceFiles } from "./source_scan.ts";

const MAX_FILE_LINES = 450;
const MAX_FUNCTION_LINES = 100;

const lineCount = (text: string): number => text.split("\n").length - (text.endsWith("\n") ? 1 : 0);

Deno.test(`no file in src is over ${MAX_FILE_LINES} lines`, () => {
  const over = sourceFiles()
    .map((f) => ({ path: f.path, lines: lineCount(f.text) }))
    .filter((f) => f.lines > MAX_FILE_LINES)
    .map((f) => `${f.path}: ${f.lines} lines`);
  assert.deepEqual(over, [], `split by job:\n  ${over.join("\n  ")}`);
});

Deno.test(`no function in src is over ${MAX_FUNCTION_LINES} lines`, () => {
  const over: string[] = [];
  for (const file of sourceFiles()) {
    for (const f of functionSpans(file.text)) {
      const lines = f.lastLine - f.firstLine + 1;
      if (lines > MAX_FUNCTION_LINES) over.push(`${file.path}:${f.firstLine} ${f.name}: ${lines}`);
    }
  }
  assert.deepEqual(over, [], `split into named steps:\n  ${over.join("\n  ")}`);
});

Deno.test("functionSpans() finds every kind of function body and where it ends", () => {
  const text = [
    "export async function load(path: string): Promise<{ a: number }> {", // 1
    "  const inner = (x: number) => {", // 2
    "    if (x > 0) {", // 3
    '      return "}";', // 4
    "    }", // 5
    "    return `${x}{`; // }", // 6
    "  };", // 7
    "  return { a: inner(1).length };", // 8
    "}", // 9
    "class Store {", // 10
    "  constructor(private readonly dir: string) {}", // 11
    "  get size(): number {", // 12
    "    return /[{]/.test(this.dir) ? 1 : 0;", // 13
    "  }", // 14
    "  *rows<T>(xs: T[]): Generator<T> {", // 15
    "    for (const x of xs) {", // 16
    "      yield x;", // 17
    "    }", // 18
    "  }", // 19
    "}", // 20
    "const f = function (): void {", // 21
    "};", // 22
    "const o = { run(a: string): a is string { return true; }, b: g(1) ? h(2) : { c: 3 } };", // 23
  ].join("\n");
  assert.deepEqual(
    functionSpans(text).map((s) => [s.name, s.firstLine, s.lastLine]),
    [
      ["load", 1, 9],
      ["inner", 2, 7],
      ["constructor", 11, 11],
      ["size", 12, 14],
      ["rows", 15, 19],
      ["function", 21, 22],
      ["run", 23, 23],
    ],
  );
});

Deno.test("functionSpans() counts a long function from its head to its closing brace", () => {
  const body = Array.from({ length: MAX_FUNCTION_LINES }, (_, i) => `  step(${i});`);
  const text = ["function long(): void {", ...body, "}"].join("\n");
  const [span] = functionSpans(text);
  assert.equal(span!.lastLine - span!.firstLine + 1, MAX_FUNCTION_LINES + 2);
});
