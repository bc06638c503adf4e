/**
 * Malformed or missing bundle files: each party refuses to start with one
 * line naming the file (and field), exit code 1, and changes nothing.
 */
import assert from "node:assert/strict";
import { selfCommand } from "../../src/parties/self_command.ts";
import { packingWeights } from "../../src/federation/limits.ts";
import { loadBundle } from "../../src/federation/mod.ts";
import { smallFederation } from "../parties/harness.ts";

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function flhe(args: string[], cwd: string): Promise<Run> {
  const cmd = selfCommand(args);
  const out = await new Deno.Command(cmd.command, {
    args: cmd.args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

/** Every file below `dir` with its mode and content, to check that nothing changed. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (path: string) => {
    for await (const e of Deno.readDir(path)) {
      const p = `${path}/${e.name}`;
      const info = await Deno.lstat(p);
      if (e.isDirectory) {
        out.set(p, `dir ${info.mode}`);
        await walk(p);
      } else out.set(p, `${info.mode} ${(await Deno.readFile(p)).join(",")}`);
    }
  };
  await walk(dir);
  return out;
}

function copyDir(from: string, to: string): Promise<Deno.CommandOutput> {
  // cp -a keeps the modes of the secret files.
  return new Deno.Command("cp", { args: ["-a", from, to] }).output();
}

interface Case {
  readonly name: string;
  /** Command and bundle folder in the federation copy. */
  readonly command: string[];
  readonly bundle: string;
  /** Spoils the bundle copy (absent: the bundle folder is missing). */
  readonly spoil?: (dir: string) => Promise<void>;
  /** The one stderr line must match. */
  readonly error: RegExp;
}

async function editJson(path: string, edit: (v: Record<string, unknown>) => void): Promise<void> {
  const value = JSON.parse(await Deno.readTextFile(path));
  edit(value);
  const info = await Deno.stat(path);
  await Deno.writeTextFile(path, JSON.stringify(value, null, 2));
  await Deno.chmod(path, info.mode! & 0o777);
}

const CASES: Case[] = [
  {
    name: "a truncated federation.json",
    command: ["serve"],
    bundle: "server",
    spoil: async (d) => {
      const text = await Deno.readTextFile(`${d}/federation.json`);
      await Deno.writeTextFile(`${d}/federation.json`, text.slice(0, text.length / 2));
    },
    error: /server\/federation\.json: not valid JSON/,
  },
  {
    name: "a field of the wrong type in federation.json",
    command: ["client"],
    bundle: "client-1",
    spoil: (d) => editJson(`${d}/federation.json`, (v) => (v.rounds = "two")),
    error: /client-1\/federation\.json: field "rounds" is missing or not a number/,
  },
  {
    name: "a nested field of the wrong type in federation.json",
    command: ["owner", "serve"],
    bundle: "owner",
    spoil: (d) =>
      editJson(
        `${d}/federation.json`,
        (v) => ((v.encoding as Record<string, unknown>).quantBits = true),
      ),
    error: /owner\/federation\.json: field "encoding\.quantBits" is missing or not a number/,
  },
  {
    name: "federation.json that is not an object",
    command: ["serve"],
    bundle: "server",
    spoil: (d) => Deno.writeTextFile(`${d}/federation.json`, "[1, 2]\n"),
    error: /server\/federation\.json: top level is not a JSON object/,
  },
  {
    name: "the public.json of another federation",
    command: ["client"],
    bundle: "client-1",
    spoil: (d) => Deno.copyFile(`${d}/../../other/client-1/public.json`, `${d}/public.json`),
    error:
      /client-1\/public\.json: public key fingerprint does not match field "fingerprint" of .*client-1\/federation\.json/,
  },
  {
    name: "a missing public.json",
    command: ["serve"],
    bundle: "server",
    spoil: (d) => Deno.remove(`${d}/public.json`),
    error: /server\/public\.json: file not found/,
  },
  {
    name: "a wrong type in credentials.json",
    command: ["serve"],
    bundle: "server",
    spoil: (d) => editJson(`${d}/credentials.json`, (v) => (v.token = 5)),
    error: /server\/credentials\.json: field "token" is missing or not a string/,
  },
  {
    name: "a world-readable secret.json",
    command: ["owner", "serve"],
    bundle: "owner",
    spoil: (d) => Deno.chmod(`${d}/secret.json`, 0o644),
    error: /owner\/secret\.json: holds a secret but has mode 644.*chmod 600/,
  },
  {
    name: "a world-readable credentials.json",
    command: ["serve"],
    bundle: "server",
    spoil: (d) => Deno.chmod(`${d}/credentials.json`, 0o644),
    error:
      /server\/credentials\.json: holds a secret but has mode 644, readable by group or others; run chmod 600/,
  },
  {
    name: "a world-readable group.key",
    command: ["client"],
    bundle: "client-2",
    spoil: (d) => Deno.chmod(`${d}/group.key`, 0o644),
    error:
      /client-2\/group\.key: holds a secret but has mode 644, readable by group or others; run chmod 600/,
  },
  {
    name: "a missing bundle folder (serve)",
    command: ["serve"],
    bundle: "server",
    error: /server: bundle folder not found/,
  },
  {
    name: "a missing bundle folder (client)",
    command: ["client"],
    bundle: "client-1",
    error: /client-1: bundle folder not found/,
  },
  {
    name: "a missing bundle folder (owner serve)",
    command: ["owner", "serve"],
    bundle: "owner",
    error: /owner: bundle folder not found/,
  },
];

Deno.test("a malformed, foreign, world-readable or missing bundle file stops each party with one line naming it", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    await Promise.all([smallFederation(`${dir}/fed`), smallFederation(`${dir}/other`)]);
    // Each case spoils its own copy of one bundle; all run at once.
    const prepared = await Promise.all(CASES.map(async (c, i) => {
      const caseDir = `${dir}/case-${i}`;
      await Deno.mkdir(caseDir);
      const bundle = `${caseDir}/${c.bundle}`;
      if (c.spoil) {
        await copyDir(`${dir}/fed/${c.bundle}`, bundle);
        await c.spoil(bundle);
      }
      const before = await snapshot(caseDir);
      const run = await flhe([...c.command, "--bundle", bundle], caseDir);
      return { c, caseDir, before, run };
    }));
    for (const { c, caseDir, before, run } of prepared) {
      await t.step(`${c.name}: exit 1, one line naming the file, nothing changed`, async () => {
        const lines = run.stderr.trimEnd().split("\n");
        assert.equal(run.code, 1, run.stderr);
        assert.equal(lines.length, 1, run.stderr);
        assert.match(lines[0]!, new RegExp(`^flhe ${c.command.join(" ")}: `));
        assert.match(lines[0]!, c.error);
        assert.deepEqual(await snapshot(caseDir), before);
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("owner init refuses an existing folder without --force and leaves it untouched", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await smallFederation(`${dir}/fed`);
    const before = await snapshot(`${dir}/fed`);
    const run = await flhe(["owner", "init", "--dir", `${dir}/fed`, "--clients", "3"], dir);
    assert.equal(run.code, 1, run.stderr);
    const lines = run.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, run.stderr);
    assert.match(
      lines[0]!,
      /^flhe owner init: .*\/fed: already exists; pass --force to replace it$/,
    );
    assert.deepEqual(await snapshot(`${dir}/fed`), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an unknown command or option exits 2 with a one-line error and a usage line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const [bogus, badOption, badValue] = await Promise.all([
      flhe(["bogus"], dir),
      flhe(["serve", "--bogus"], dir),
      flhe(["owner", "init", "--clients", "many"], dir),
    ]);
    assert.equal(bogus.code, 2);
    const bogusLines = bogus.stderr.split("\n");
    assert.equal(bogusLines[0], "flhe: unknown command 'bogus'");
    assert.ok(bogusLines.some((l) => l.startsWith("Usage: flhe <command>")), bogus.stderr);

    assert.equal(badOption.code, 2);
    const optionLines = badOption.stderr.trimEnd().split("\n");
    assert.equal(optionLines.length, 2, badOption.stderr);
    assert.match(optionLines[0]!, /^flhe serve: Unknown option '--bogus'/);
    assert.match(optionLines[1]!, /^usage: flhe serve \[options\]/);

    assert.equal(badValue.code, 2);
    const valueLines = badValue.stderr.trimEnd().split("\n");
    assert.deepEqual(valueLines, [
      "flhe owner init: --clients: 'many' is not an integer",
      "usage: flhe owner init [options]; 'flhe owner init --help' lists them",
    ]);
    // Nothing was created in the working folder.
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("packingWeights() scales declared weights into the headroom, at least 1 each", () => {
  const set = (...w: number[]) => w.map((weight, i) => ({ id: `client-${i + 1}`, weight }));
  assert.deepEqual(packingWeights(set(30_000, 10_000), 256), [190, 63]);
  assert.deepEqual(packingWeights(set(5, 5, 5), 8), [1, 1, 1]);
  const many = set(...Array.from({ length: 100 }, (_, i) => 1 + i * 997));
  const packed = packingWeights(many, 256);
  assert.ok(packed.every((w) => w >= 1));
  assert.ok(packed.reduce((a, b) => a + b, 0) <= 256);
  // Proportions survive the scaling, within one unit.
  const total = many.reduce((a, m) => a + m.weight, 0);
  many.forEach((m, i) => assert.ok(Math.abs(packed[i]! - (156 * m.weight) / total) <= 1));
  assert.throws(() => packingWeights(set(1, 1, 1), 3), /does not fit maxTotalWeight 3/);
});

Deno.test("loadBundle() refuses a key whose size is not the one federation.json claims", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await smallFederation(`${dir}/fed`);
    const path = `${dir}/fed/server/federation.json`;
    const config = JSON.parse(await Deno.readTextFile(path));
    config.keyBits = 2048; // the key is 512-bit
    await Deno.writeTextFile(path, JSON.stringify(config));
    await assert.rejects(
      () => loadBundle(`${dir}/fed/server`),
      /public\.json: a 512-bit key, but field "keyBits" of .*federation\.json says 2048/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
