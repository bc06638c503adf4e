/**
 * The option tables: `--help` prints the defaults the parser really uses,
 * README states the same defaults, and a bad value is one line naming the
 * option with exit code 2.
 */
import assert from "node:assert/strict";
import { main } from "../../main.ts";
import { type Command, commands } from "../../src/cli/mod.ts";
import type { Io } from "../../src/cli/output.ts";
import { KEY_BITS_ALLOWED, MIN_PRIVATE_CLIENTS } from "../../src/federation/rules.ts";
import {
  DP_RECIPE,
  roundsFor,
  type TRAINING_OPTIONS,
  trainingConfig,
} from "../../src/cli/shared_options.ts";
import type { OptionValues } from "../../src/cli/options.ts";

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function flhe(args: string[]): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const io: Io = { out: (t) => (stdout += t), err: (t) => (stderr += t) };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

function command(name: string): Command {
  const found = commands.find((c) => c.name === name);
  assert.ok(found, `no command ${name}`);
  return found;
}

/** Parsed values of a command line that must parse. */
function values(name: string, args: string[] = []): Record<string, unknown> {
  const parsed = command(name).parse(args);
  assert.ok(!parsed.help);
  return parsed.values;
}

interface HelpEntry {
  readonly name: string;
  readonly placeholder: string;
  /** The text inside `(default: ...)`, if printed. */
  readonly defaultText?: string;
}

/** Reads the option entries of a help text: `--name PLACEHOLDER  description (default: X)`. */
function helpEntries(help: string): HelpEntry[] {
  const lines = help.slice(help.indexOf("\nOptions:\n") + 10).trimEnd().split("\n");
  const joined: string[] = [];
  for (const line of lines) {
    if (line.startsWith("  -")) joined.push(line.trim());
    else joined[joined.length - 1] += ` ${line.trim()}`;
  }
  return joined.filter((l) => l.startsWith("--")).map((l) => {
    const m = l.match(/^--([a-z][a-z-]*)(?: ([A-Z][A-Z_]*))?\s+(.*)$/);
    assert.ok(m, `unreadable help entry: ${l}`);
    const description = m[3]!;
    const at = description.lastIndexOf("(default: ");
    return {
      name: m[1]!,
      placeholder: m[2] ?? "",
      defaultText: at < 0 ? undefined : description.slice(at + 10).replace(/\)$/, ""),
    };
  });
}

/** A valid value of an integer option other than `value`. */
function otherInt(c: Command, name: string, value: number): string {
  const range = c.options[name]!.range!;
  return String(value + 1 <= range.max ? value + 1 : value - 1);
}

/** Checks a derived default printed as `X for a/b, Y for c` or `X without --f, Y with --f`. */
function checkDerived(c: Command, entry: HelpEntry, text: string): void {
  for (const group of text.split(", ")) {
    const m = group.match(/^(.+) (for|with|without) (\S+)$/);
    assert.ok(m, `--${entry.name}: unreadable default '${text}'`);
    const [expected, how, what] = [m[1]!, m[2]!, m[3]!];
    if (how === "for") {
      for (const choice of what.split("/")) {
        const dep = Object.keys(c.options).find((n) =>
          c.options[n]!.choices?.some((x) => String(x) === choice)
        );
        assert.ok(dep, `--${entry.name}: no option has the choice ${choice}`);
        const got = values(c.name, [`--${dep}`, choice])[entry.name];
        assert.equal(String(got), expected, `--${entry.name} with --${dep} ${choice}`);
      }
    } else {
      const flagName = what.replace(/^--/, "");
      const got = values(c.name, how === "with" ? [`--${flagName}`] : [])[entry.name];
      assert.equal(String(got), expected, `--${entry.name} ${how} --${flagName}`);
    }
  }
}

for (const c of commands) {
  Deno.test(`flhe ${c.name} --help prints the defaults the parser uses`, async () => {
    const run = await flhe([...c.name.split(" "), "--help"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, "");
    assert.ok(run.stdout.startsWith(`Usage: flhe ${c.name} `), run.stdout);
    const entries = helpEntries(run.stdout);
    assert.deepEqual(entries.map((e) => e.name).sort(), Object.keys(c.options).sort());
    const parsed = values(c.name);
    for (const entry of entries) {
      const value = parsed[entry.name];
      const text = entry.defaultText;
      if (text === undefined) {
        assert.ok(value === undefined || value === false, `--${entry.name}: ${value} unprinted`);
      } else if (value === undefined) {
        // Known only when the command runs (e.g. "the host of serverUrl").
        assert.equal(c.options[entry.name]!.default.kind, "runtime", `--${entry.name}`);
      } else if (String(value) !== text) {
        const dep = entries.find((e) => e.placeholder === text && e.name !== entry.name);
        if (dep) {
          // "K": the value of --clients K.
          const other = otherInt(c, dep.name, Number(parsed[dep.name]));
          assert.equal(value, parsed[dep.name], `--${entry.name} without --${dep.name}`);
          const got = values(c.name, [`--${dep.name}`, other]);
          assert.equal(String(got[entry.name]), other, `--${entry.name} with --${dep.name}`);
        } else checkDerived(c, entry, text);
      }
    }
  });
}

Deno.test("flhe owner init derives --min-clients, --lr, --momentum and the URLs from other options", () => {
  const base = values("owner init");
  assert.equal(base["min-clients"], 2);
  assert.equal(base.lr, undefined);
  assert.equal(base.momentum, 0.9);
  assert.equal(base["server-url"], "ws://127.0.0.1:8765");
  assert.equal(base["owner-url"], "ws://127.0.0.1:8766");
  assert.equal(base.clip, 1);

  assert.equal(values("owner init", ["--clients", "5"])["min-clients"], 5);
  assert.equal(values("owner init", ["--clients", "5", "--min-clients", "3"])["min-clients"], 3);
  const adam = values("owner init", ["--optimizer", "adam"]);
  assert.equal(adam.momentum, 0);
  const sgd = values("owner init", ["--optimizer", "sgd", "--lr", "0.1"]);
  assert.deepEqual([sgd.lr, sgd.momentum], [0.1, 0]);
  const tls = values("owner init", ["--tls"]);
  assert.equal(tls["server-url"], "wss://127.0.0.1:8765");
  assert.equal(tls["owner-url"], "wss://127.0.0.1:8766");
  const given = values("owner init", ["--tls", "--server-url", "wss://10.0.0.2:9000"]);
  assert.equal(given["server-url"], "wss://10.0.0.2:9000");
  assert.equal(values("serve").port, undefined);
});

Deno.test("trainingConfig() takes the plain defaults without DP and the DP recipe with it", () => {
  const training = (args: string[], dp: boolean) =>
    trainingConfig(values("owner init", args) as OptionValues<typeof TRAINING_OPTIONS>, dp);
  const plain = training([], false);
  assert.deepEqual(
    [plain.batchSize, plain.learningRate, plain.momentum, plain.schedule],
    [32, 0.02, 0.9, "cosine"],
  );
  assert.equal(training(["--optimizer", "adam"], false).learningRate, 0.002);
  assert.equal(training(["--optimizer", "nesterov"], false).learningRate, 0.02);
  const dp = training([], true);
  assert.deepEqual(
    [dp.batchSize, dp.learningRate, dp.momentum, dp.schedule],
    [DP_RECIPE.batchSize, DP_RECIPE.heavyBallLearningRate, 0.9, DP_RECIPE.schedule],
  );
  // What is given wins over the recipe; the recipe's rate is for heavy-ball rules only.
  const given = training(["--batch-size", "64", "--lr", "0.1", "--schedule", "cosine"], true);
  assert.deepEqual([given.batchSize, given.learningRate, given.schedule], [64, 0.1, "cosine"]);
  assert.equal(training(["--optimizer", "adam"], true).learningRate, 0.002);
  assert.deepEqual([roundsFor(undefined, false), roundsFor(undefined, true), roundsFor(3, true)], [
    5,
    DP_RECIPE.rounds,
    3,
  ]);
});

/** Rows `| \`--name PLACEHOLDER\` | default |` of README's options table. */
function readmeRows(readme: string): Map<string, string> {
  const rows = new Map<string, string>();
  for (const m of readme.matchAll(/^\| `--([a-z-]+)(?: [A-Z]+)?` +\| (.+?) +\|$/gm)) {
    rows.set(m[1]!, m[2]!);
  }
  return rows;
}

function defaultIn(name: string, option: string): string | undefined {
  const entry = helpEntries(command(name).help()).find((e) => e.name === option);
  return entry?.defaultText;
}

Deno.test("README.md states the defaults of the option tables", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const rows = readmeRows(readme);
  assert.ok(rows.size >= 20, `README options table has ${rows.size} rows`);
  for (const [option, text] of rows) {
    assert.equal(text, defaultIn("owner init", option), `README --${option} (owner init)`);
    const demoDefault = defaultIn("demo", option);
    if (demoDefault !== undefined) assert.equal(text, demoDefault, `README --${option} (demo)`);
  }
  // Prose: the encoding, the key sizes, the quick start.
  const prose = (pattern: RegExp): string => {
    const m = readme.replace(/\s+/g, " ").match(pattern);
    assert.ok(m, `README does not say ${pattern}`);
    return m[1]!;
  };
  assert.equal(prose(/`--clip R`, default R = ([\d.]+)\)/), defaultIn("owner init", "clip"));
  assert.equal(
    prose(/`--quant-bits b`, default b = (\d+)\)/),
    defaultIn("owner init", "quant-bits"),
  );
  assert.equal(
    prose(/`--max-total-weight W`, default W = ([^)]+)\)/),
    defaultIn("owner init", "max-total-weight"),
  );
  assert.equal(prose(/Keys are (\d+ or \d+) bits/), KEY_BITS_ALLOWED.join(" or "));
  assert.equal(prose(/a round needs at least (\d+) clients/), String(MIN_PRIVATE_CLIENTS));
  assert.equal(
    prose(/deno task demo # owner, server and (\d+ clients .*?, \d+)-bit keys/),
    `${defaultIn("demo", "clients")} clients as separate processes, ${
      defaultIn("demo", "key-bits")
    }`,
  );
});

const USAGE = (name: string): string =>
  `usage: flhe ${name} [options]; 'flhe ${name} --help' lists them`;

Deno.test("a bad option value exits 2 with one line naming the option", async (t) => {
  const cases: [string[], string][] = [
    [["owner", "init", "--clients", "x"], "--clients: 'x' is not an integer"],
    [["owner", "init", "--clients", "2.5"], "--clients: '2.5' is not an integer"],
    [["owner", "init", "--clients", "1"], "--clients: 1 is outside [2, 1000]"],
    [["owner", "init", "--clip", "wide"], "--clip: 'wide' is not a number"],
    [["owner", "init", "--clip", "0"], "--clip: 0 is outside [0.000001, 1000000]"],
    [["owner", "init", "--key-bits", "128"], "--key-bits: '128' is not one of 2048, 3072"],
    [["owner", "init", "--mode", "solo"], "--mode: 'solo' is not one of owner, shared-key"],
    [["owner", "init", "--quant-bits", "25"], "--quant-bits: 25 is outside [2, 24]"],
    [["owner", "init", "--min-clients", "1"], "--min-clients: 1 is outside [2, 2]"],
    [
      ["owner", "init", "--clients", "3", "--min-clients", "4"],
      "--min-clients: 4 is outside [2, 3]",
    ],
    [
      ["owner", "init", "--server-url", "http://10.0.0.2"],
      "--server-url: 'http://10.0.0.2' is not a ws:// or wss:// URL",
    ],
    [["demo", "--clients", "65"], "--clients: 65 is outside [2, 64]"],
    [
      ["demo", "--optimizer", "lion"],
      "--optimizer: 'lion' is not one of sgd, momentum, nesterov, adam",
    ],
    [["serve", "--port", "70000"], "--port: 70000 is outside [0, 65535]"],
    [["serve", "--round-timeout", "soon"], "--round-timeout: 'soon' is not a number"],
    [["client", "--workers", "0"], "--workers: 0 is outside [1, 256]"],
    [["client"], "give --shard I or --bundle DIR"],
    [["data", "--clients", ""], "--clients: '' is not an integer"],
  ];
  for (const [args, message] of cases) {
    await t.step(args.join(" "), async () => {
      const name = args[0] === "owner" ? `owner ${args[1]}` : args[0]!;
      const run = await flhe(args);
      assert.equal(run.code, 2, run.stderr);
      assert.equal(run.stdout, "");
      assert.deepEqual(run.stderr.trimEnd().split("\n"), [`flhe ${name}: ${message}`, USAGE(name)]);
    });
  }
});

Deno.test("an unknown option, a missing value or a stray argument exits 2 with one line", async () => {
  for (
    const [args, pattern] of [
      [["serve", "--bogus"], /^flhe serve: Unknown option '--bogus'/],
      [["serve", "--bundle"], /^flhe serve: Option '--bundle <value>' argument missing/],
      [["data", "extra"], /^flhe data: Unexpected argument 'extra'/],
    ] as const
  ) {
    const run = await flhe([...args]);
    assert.equal(run.code, 2, run.stderr);
    const lines = run.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 2, run.stderr);
    assert.match(lines[0]!, pattern);
    assert.equal(lines[1], USAGE(args[0]));
  }
});

Deno.test("flhe without a command, with --help, --version or an unknown command", async () => {
  const none = await flhe([]);
  assert.equal(none.code, 2);
  assert.match(none.stdout, /^flhe: federated learning/);
  // Every name is followed by two spaces, then its summary.
  for (const c of commands) assert.ok(none.stdout.includes(`  ${c.name}  `), c.name);
  assert.equal((await flhe(["--help"])).code, 0);
  const version = await flhe(["--version"]);
  assert.deepEqual([version.code, version.stdout], [0, "flhe 0.1.0\n"]);
  const bogus = await flhe(["bogus"]);
  assert.equal(bogus.code, 2);
  const lines = bogus.stderr.split("\n");
  assert.equal(lines[0], "flhe: unknown command 'bogus'");
  assert.ok(lines.includes("Usage: flhe <command> [options]"), bogus.stderr);
});
