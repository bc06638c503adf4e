/**
 * Tables of text cells from CSV (RFC 4180: a header row, `"`-quoted cells,
 * `""` for a quote) or from JSON lists of records, before any column is
 * read as numbers.
 *
 * @module
 */

/** A table: column names and rows of cells, each row with its line in the file. */
export interface Table {
  /** Column names, from the header row (or the first record's keys). */
  readonly columns: readonly string[];
  /** Cells, one array per row, `null` for a JSON null. */
  readonly rows: readonly (readonly (string | number | null)[])[];
  /** Where each row is, for messages: `line 12` (CSV) or `record 11` (JSON). */
  readonly where: (row: number) => string;
}

/**
 * Parses CSV text. The delimiter is `,` (or tab for `.tsv` names); line ends
 * may be `\n` or `\r\n`; a blank last line is ignored.
 *
 * @param text The file's text.
 * @param file Names the file in errors.
 * @returns The table.
 * @throws {Error} Naming the file and line: an empty file, no data row, an
 *   unclosed quote, a row with more or fewer cells than the header, a
 *   repeated column name.
 * @example
 * ```ts
 * parseCsv("a,b\n1,2\n", "t.csv").rows; // [["1", "2"]]
 * ```
 */
export function parseCsv(text: string, file: string): Table {
  const delimiter = /\.tsv$/i.test(file) ? "\t" : ",";
  const records = splitRecords(text.replace(/^\uFEFF/, ""), delimiter, file);
  while (records.length > 0 && isBlank(records[records.length - 1]!.cells)) records.pop();
  if (records.length === 0) throw new Error(`${file}: empty file (a header row is needed)`);
  const header = records[0]!.cells.map((c) => c.trim());
  checkHeader(header, file);
  const body = records.slice(1);
  if (body.length === 0) throw new Error(`${file}: a header but no data rows`);
  for (const r of body) {
    if (r.cells.length !== header.length) {
      throw new Error(
        `${file}: line ${r.line} has ${r.cells.length} cells, the header ${header.length}`,
      );
    }
  }
  return {
    columns: header,
    rows: body.map((r) => r.cells),
    where: (row) => `line ${body[row]!.line}`,
  };
}

function isBlank(cells: readonly string[]): boolean {
  return cells.length === 1 && cells[0]!.trim() === "";
}

function checkHeader(header: readonly string[], file: string): void {
  const seen = new Set<string>();
  header.forEach((name, i) => {
    if (name === "") throw new Error(`${file}: line 1, column ${i + 1} has no name`);
    if (seen.has(name)) throw new Error(`${file}: line 1 names column "${name}" twice`);
    seen.add(name);
  });
}

function splitRecords(
  text: string,
  delimiter: string,
  file: string,
): { line: number; cells: string[] }[] {
  const out: { line: number; cells: string[] }[] = [];
  let cells: string[] = [];
  let cell = "";
  let quoted = false;
  let line = 1;
  let start = 1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else {
        if (ch === "\n") line++;
        cell += ch;
      }
    } else if (ch === '"' && cell.trim() === "") {
      quoted = true;
      cell = "";
    } else if (ch === delimiter) {
      cells.push(cell);
      cell = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      cells.push(cell);
      out.push({ line: start, cells });
      cells = [];
      cell = "";
      start = ++line;
    } else cell += ch;
  }
  if (quoted) throw new Error(`${file}: line ${start}: a quoted cell is never closed`);
  if (cell !== "" || cells.length > 0) {
    cells.push(cell);
    out.push({ line: start, cells });
  }
  return out;
}

/**
 * Reads a JSON list of flat records (`[{"a": 1, "b": "x"}, ...]`) as a
 * table; the columns are the first record's keys.
 *
 * @param value The parsed JSON.
 * @param file Names the file in errors.
 * @returns The table.
 * @throws {Error} Naming the file and record: not a list, no records, a
 *   record that is not an object, a nested value.
 * @example
 * ```ts
 * parseRecords([{ a: 1 }, { a: 2 }], "t.json").rows; // [[1], [2]]
 * ```
 */
export function parseRecords(value: unknown, file: string): Table {
  if (!Array.isArray(value)) throw new Error(`${file}: not a JSON list of records`);
  if (value.length === 0) throw new Error(`${file}: empty list (no records)`);
  const first = value[0];
  if (typeof first !== "object" || first === null || Array.isArray(first)) {
    throw new Error(`${file}: record 1 is not an object`);
  }
  const columns = Object.keys(first);
  const rows = value.map((r, i) => {
    if (typeof r !== "object" || r === null || Array.isArray(r)) {
      throw new Error(`${file}: record ${i + 1} is not an object`);
    }
    return columns.map((c) => {
      const v = (r as Record<string, unknown>)[c];
      if (v === undefined || v === null) return null;
      if (typeof v === "number" || typeof v === "string") return v;
      if (typeof v === "boolean") return v ? 1 : 0;
      throw new Error(`${file}: record ${i + 1}, field "${c}" is not a number or text`);
    });
  });
  return { columns, rows, where: (row) => `record ${row + 1}` };
}
