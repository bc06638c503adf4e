import assert from "node:assert/strict";
import {
  checkShape,
  loadDataFile,
  npyBytes,
  parseCsv,
  parseNpy,
  parseRecords,
  tableToDataset,
} from "../../src/data/mod.ts";

Deno.test("parseCsv() reads quotes, CRLF, a BOM and tabs, and names the bad line", () => {
  const t = parseCsv('\uFEFFa,"b ""q""",c\r\n1,"2,5",x\r\n3,4,"multi\nline"\r\n', "t.csv");
  assert.deepEqual(t.columns, ["a", 'b "q"', "c"]);
  assert.deepEqual(t.rows, [["1", "2,5", "x"], ["3", "4", "multi\nline"]]);
  assert.equal(t.where(1), "line 3");
  assert.deepEqual(parseCsv("a\tb\n1\t2\n", "t.tsv").rows, [["1", "2"]]);
  assert.throws(() => parseCsv("", "e.csv"), /e\.csv: empty file/);
  assert.throws(() => parseCsv("a,b\n", "h.csv"), /h\.csv: a header but no data rows/);
  assert.throws(
    () => parseCsv("a,b\n1,2\n3\n", "r.csv"),
    /r\.csv: line 3 has 1 cells, the header 2/,
  );
  assert.throws(
    () => parseCsv('a,b\n1,"2\n', "q.csv"),
    /q\.csv: line 2: a quoted cell is never closed/,
  );
  assert.throws(() => parseCsv("a,a\n1,2\n", "d.csv"), /d\.csv: line 1 names column "a" twice/);
  assert.throws(() => parseCsv("a,,b\n1,2,3\n", "n.csv"), /n\.csv: line 1, column 2 has no name/);
});

Deno.test("parseRecords() reads JSON records and refuses other JSON", () => {
  const t = parseRecords([{ x: 1, y: "a" }, { x: null, y: "b" }], "r.json");
  assert.deepEqual(t.columns, ["x", "y"]);
  assert.deepEqual(t.rows, [[1, "a"], [null, "b"]]);
  assert.throws(() => parseRecords({}, "r.json"), /r\.json: not a JSON list of records/);
  assert.throws(() => parseRecords([], "r.json"), /r\.json: empty list/);
  assert.throws(() => parseRecords([{ x: 1 }, 3], "r.json"), /r\.json: record 2 is not an object/);
  assert.throws(() => parseRecords([{ x: [1] }], "r.json"), /record 1, field "x" is not a number/);
});

Deno.test("tableToDataset() reads features and labels, naming file, line and column of bad cells", () => {
  const csv = (text: string) => parseCsv(text, "p.csv");
  const ok = tableToDataset(csv("f1,f2,species\n1.5,2,b\n3,4,a\n"), "p.csv", {
    label: "species",
    kind: "class",
    discoverClasses: true,
  });
  assert.deepEqual(Array.from(ok.dataset.features), [1.5, 2, 3, 4]);
  assert.deepEqual(Array.from(ok.dataset.labels), [1, 0]);
  assert.deepEqual(ok.classNames, ["a", "b"]);
  assert.deepEqual(ok.dataset.shape, [2]);
  const fixed = { label: "species", kind: "class" as const, classNames: ["a", "b"] };
  assert.throws(
    () => tableToDataset(csv("f1,f2,species\n1,2,a\n1,x,b\n"), "p.csv", fixed),
    /p\.csv: line 3, column "f2": "x" is not a number/,
  );
  assert.throws(
    () => tableToDataset(csv("f1,f2,species\n1,,a\n"), "p.csv", fixed),
    /p\.csv: line 2, column "f2": missing value \(pass --drop-missing/,
  );
  assert.throws(
    () => tableToDataset(csv("f1,f2,species\n1,2,c\n"), "p.csv", fixed),
    /p\.csv: line 2, column "species": label "c" is not one of the classes a, b/,
  );
  assert.throws(
    () => tableToDataset(csv("f1,f2,species\n1,2,a\n"), "p.csv", { label: "kind", kind: "class" }),
    /p\.csv: no column "kind" \(columns: f1, f2, species\)/,
  );
  assert.throws(
    () => tableToDataset(csv("f1,y\n1,a\n"), "p.csv", { label: "y", kind: "class" }),
    /p\.csv: line 2, column "y": label "a" is not a class index/,
  );
  assert.throws(
    () => tableToDataset(csv("f1,y\n1,2\n"), "p.csv", { label: "y", kind: "binary" }),
    /label "2" is not 0 or 1/,
  );
  const dropped = tableToDataset(csv("f1,f2,y\n1,NA,0.5\n2,3,1.5\n"), "p.csv", {
    label: "y",
    kind: "target",
    dropMissing: true,
  });
  assert.equal(dropped.dropped, 1);
  assert.deepEqual(Array.from(dropped.dataset.labels), [1.5]);
  assert.equal(dropped.where(0), "line 3");
  const some = tableToDataset(csv("a,b,c,y\n1,2,3,0\n"), "p.csv", {
    label: "y",
    kind: "class",
    features: ["c", "a"],
  });
  assert.deepEqual(Array.from(some.dataset.features), [3, 1]);
});

Deno.test("parseNpy() reads every supported dtype and refuses the rest", () => {
  const x = parseNpy(npyBytes(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]), "x.npy");
  assert.deepEqual(x.shape, [2, 3]);
  assert.deepEqual(Array.from(x.data), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(Array.from(parseNpy(npyBytes(Int32Array.of(0, 2), [2]), "y.npy").data), [0, 2]);
  assert.ok(parseNpy(npyBytes(Uint8Array.of(9), [1]), "u.npy").data instanceof Uint8Array);
  const withDtype = (descr: string, payload: Uint8Array, shape = "(2,)") => {
    const header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`.padEnd(
      117,
    ) + "\n";
    const head = new TextEncoder().encode(header);
    const out = new Uint8Array(10 + head.length + payload.length);
    out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    new DataView(out.buffer).setUint16(8, head.length, true);
    out.set(head, 10);
    out.set(payload, 10 + head.length);
    return out;
  };
  const f8 = new Uint8Array(new Float64Array([0.5, -2]).buffer);
  assert.deepEqual(Array.from(parseNpy(withDtype("<f8", f8), "d.npy").data), [0.5, -2]);
  const i8 = new Uint8Array(new BigInt64Array([3n, -4n]).buffer);
  assert.deepEqual(Array.from(parseNpy(withDtype("<i8", i8), "l.npy").data), [3, -4]);
  assert.throws(
    () => parseNpy(withDtype("<c8", f8), "c.npy"),
    /c\.npy: dtype <c8 is not supported/,
  );
  assert.throws(
    () => parseNpy(withDtype(">f8", f8), "b.npy"),
    /b\.npy: dtype >f8 is not supported/,
  );
  assert.throws(
    () => parseNpy(withDtype("<f8", f8.subarray(0, 12)), "t.npy"),
    /t\.npy: 12 bytes of data, shape \(2\) of <f8 needs 16/,
  );
  const big = new Uint8Array(new BigInt64Array([2n ** 40n, 0n]).buffer);
  assert.throws(
    () => parseNpy(withDtype("<i8", big), "o.npy"),
    /o\.npy: value 0 .* does not fit in 32 bits/,
  );
  const nan = new Uint8Array(new Float64Array([NaN, 1]).buffer);
  assert.throws(() => parseNpy(withDtype("<f8", nan), "n.npy"), /n\.npy: value 0 is NaN/);
  assert.throws(() => parseNpy(new Uint8Array(20), "z.npy"), /z\.npy: not a \.npy file/);
  const fortran = withDtype("<f8", f8);
  fortran.set(new TextEncoder().encode("True "), 10 + "{'descr': '<f8', 'fortran_order': ".length);
  assert.throws(() => parseNpy(fortran, "f.npy"), /f\.npy: Fortran-ordered array/);
});

async function tempFiles(files: Record<string, string | Uint8Array>): Promise<string> {
  const dir = await Deno.makeTempDir();
  for (const [name, content] of Object.entries(files)) {
    const path = `${dir}/${name}`;
    if (typeof content === "string") await Deno.writeTextFile(path, content);
    else await Deno.writeFile(path, content);
  }
  return dir;
}

function idx(dims: number[], payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x0800 + dims.length, false);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(payload, 4 + 4 * dims.length);
  return out;
}

Deno.test("loadDataFile() reads CSV, JSON, .npy and IDX of any shape, and refuses bad files", async () => {
  const dir = await tempFiles({
    "t.csv": "a,b,y\n1,2,0\n3,4,2\n",
    "t.json": JSON.stringify([{ a: 1, y: 0.5 }, { a: 2, y: 1 }]),
    "x.npy": npyBytes(Float32Array.of(1, 2, 3, 4), [2, 2]),
    "y.npy": npyBytes(Int32Array.of(1, 0), [2]),
    "y3.npy": npyBytes(Int32Array.of(1, 0, 1), [3]),
    "x.idx": idx([2, 2, 2, 3], new Uint8Array(24).fill(7)),
    "y.idx": idx([2], Uint8Array.of(4, 1)),
    "empty.csv": "",
  });
  try {
    const csv = await loadDataFile({ path: `${dir}/t.csv`, label: "y" }, {
      kind: "class",
      classes: 3,
    });
    assert.deepEqual(Array.from(csv.dataset.labels), [0, 2]);
    await assert.rejects(
      loadDataFile({ path: `${dir}/t.csv`, label: "y" }, { kind: "class", classes: 2 }),
      /t\.csv: line 3: label 2 is not one of the model's 2 classes \(0-1\)/,
    );
    const json = await loadDataFile({ path: `${dir}/t.json`, label: "y" }, { kind: "target" });
    assert.deepEqual(Array.from(json.dataset.labels), [0.5, 1]);
    const npy = await loadDataFile({ path: `${dir}/x.npy`, labels: `${dir}/y.npy` }, {
      kind: "binary",
    });
    assert.deepEqual(npy.dataset.shape, [2]);
    const image = await loadDataFile({ path: `${dir}/x.idx`, labels: `${dir}/y.idx` }, {
      kind: "class",
      classes: 5,
    });
    assert.deepEqual(image.dataset.shape, [2, 2, 3]);
    assert.equal(image.dataset.count, 2);
    await assert.rejects(
      loadDataFile({ path: `${dir}/x.npy`, labels: `${dir}/y3.npy` }, { kind: "class" }),
      /y3\.npy: 3 labels for 2 examples/,
    );
    await assert.rejects(
      loadDataFile({ path: `${dir}/empty.csv`, label: "y" }, { kind: "class" }),
      /empty\.csv: cannot read \(empty file\)/,
    );
    await assert.rejects(
      loadDataFile({ path: `${dir}/missing.csv`, label: "y" }, { kind: "class" }),
      /missing\.csv: cannot read/,
    );
    await assert.rejects(
      loadDataFile({ path: `${dir}/t.csv` }, { kind: "class" }),
      /t\.csv: name the label column with --label COLUMN/,
    );
    await assert.rejects(
      loadDataFile({ path: `${dir}/x.npy` }, { kind: "class" }),
      /x\.npy: give the labels file with --labels FILE/,
    );
    await assert.rejects(
      loadDataFile({ path: `${dir}/x.npy`, labels: `${dir}/y.npy`, label: "y" }, { kind: "class" }),
      /--label and --features name table columns/,
    );
    await assert.rejects(
      loadDataFile({ path: `${dir}/t.csv`, label: "y" }, { kind: "binary" }),
      /t\.csv: line 3, column "y": label "2" is not 0 or 1/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkShape() takes equal shapes, a missing channel axis, and flat inputs of the same size", () => {
  const ds = { features: new Uint8Array(8), labels: new Uint8Array(2), count: 2, shape: [2, 2] };
  checkShape(ds, [2, 2], "f");
  checkShape(ds, [2, 2, 1], "f");
  checkShape(ds, [4], "f");
  assert.throws(
    () => checkShape(ds, [2, 2, 3], "f.idx"),
    /f\.idx: examples are 2x2, the model takes 2x2x3/,
  );
  assert.throws(() => checkShape(ds, [5], "f.idx"), /f\.idx: examples are 2x2, the model takes 5/);
});
