import assert from "node:assert/strict";
import { SELF_PERMISSIONS, selfCommand } from "../../src/parties/self_command.ts";

const repo = decodeURIComponent(new URL("../../", import.meta.url).pathname);

Deno.test("selfCommand() in a checkout runs main.ts with deno and the launcher's permissions", () => {
  assert.equal(Deno.build.standalone, false);
  const { command, args } = selfCommand(["data", "--clients", "2"]);
  assert.equal(command, Deno.execPath());
  assert.deepEqual(args, [
    "run",
    "--quiet",
    ...SELF_PERMISSIONS,
    "--config",
    `${repo}deno.json`,
    `${repo}main.ts`,
    "data",
    "--clients",
    "2",
  ]);
});

Deno.test("selfCommand() in a compiled binary runs the binary itself with the arguments only", () => {
  const args = ["serve", "--bundle", "fed/server"];
  const cmd = selfCommand(args, { standalone: true, execPath: "/opt/bin/flhe" });
  assert.deepEqual(cmd, { command: "/opt/bin/flhe", args });
  assert.notEqual(cmd.args, args, "returns a copy");
});

Deno.test("selfCommand() starts a working flhe from another directory", async () => {
  const { command, args } = selfCommand(["--help"]);
  const out = await new Deno.Command(command, {
    args,
    cwd: Deno.makeTempDirSync(),
    stdin: "null",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.match(new TextDecoder().decode(out.stdout), /^Usage: flhe <command>/m);
});
