/**
 * The four parties on four "hosts": the owner, the server and two clients
 * each in its own network namespace, joined by veth links to a bridge in a
 * fifth namespace, on a 10.213.X.0/24 subnet. Needs root and `ip netns`;
 * skipped otherwise.
 */

import assert from "node:assert/strict";
import type { RoundRecord } from "../../src/rounds/mod.ts";
import {
  type Party,
  QUICK_CLIENT_ARGS,
  readModel,
  smallFederation,
  startParty,
  stopAll,
} from "./harness.ts";

const tag = crypto.randomUUID().slice(0, 8);

async function ip(...args: string[]): Promise<void> {
  const out = await new Deno.Command("ip", { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`ip ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

/** Why the test cannot run here, or null if it can. */
async function unsupported(): Promise<string | null> {
  if (Deno.build.os !== "linux") return "not Linux";
  if (Deno.uid() !== 0) return "not root";
  const probe = `flhe-probe-${tag}`;
  try {
    await ip("netns", "add", probe);
  } catch (e) {
    return e instanceof Deno.errors.NotFound
      ? "the ip command (iproute2) is missing"
      : `ip netns does not work (${(e as Error).message})`;
  }
  await ip("netns", "del", probe).catch(() => {});
  return null;
}

const reason = await unsupported();
if (reason) console.log(`netns_test: skipped: ${reason}`);

Deno.test({
  name: `owner, server and two clients in four network namespaces run a round${
    reason ? ` (skipped: ${reason})` : ""
  }`,
  ignore: reason !== null,
  async fn() {
    const subnet = `10.213.${1 + Math.floor(Math.random() * 254)}`;
    const bridge = `flhe-${tag}-br`;
    const hosts = ["owner", "server", "c1", "c2"] as const;
    const ns = (h: string) => `flhe-${tag}-${h}`;
    const address = (i: number) => `${subnet}.${10 + i}`;
    const created: string[] = [];
    const parties: Party[] = [];
    const dir = await Deno.makeTempDir();
    try {
      await ip("netns", "add", bridge);
      created.push(bridge);
      await ip("-n", bridge, "link", "add", "br0", "type", "bridge");
      await ip("-n", bridge, "link", "set", "br0", "up");
      for (const [i, h] of hosts.entries()) {
        await ip("netns", "add", ns(h));
        created.push(ns(h));
        await ip("-n", ns(h), "link", "set", "lo", "up");
        await ip(
          "-n",
          ns(h),
          "link",
          "add",
          "eth0",
          "type",
          "veth",
          "peer",
          "name",
          `v${i}`,
          "netns",
          bridge,
        );
        await ip("-n", ns(h), "addr", "add", `${address(i)}/24`, "dev", "eth0");
        await ip("-n", ns(h), "link", "set", "eth0", "up");
        await ip("-n", bridge, "link", "set", `v${i}`, "master", "br0");
        await ip("-n", bridge, "link", "set", `v${i}`, "up");
      }

      const fed = `${dir}/fed`;
      await smallFederation(fed, {
        rounds: 1,
        serverUrl: `ws://${address(1)}:8765`,
        ownerUrl: `ws://${address(0)}:8766`,
      });
      const exec = (h: string) => ["ip", "netns", "exec", ns(h)];
      parties.push(
        startParty("owner", [
          "owner",
          "serve",
          "--bundle",
          `${fed}/owner`,
          "--host",
          "0.0.0.0",
          "--workers",
          "1",
        ], exec("owner")),
      );
      const server = startParty("server", [
        "serve",
        "--bundle",
        `${fed}/server`,
        "--host",
        "0.0.0.0",
        "--round-timeout",
        "120",
      ], exec("server"));
      parties.push(server);
      for (const i of [1, 2]) {
        parties.push(
          startParty(`client-${i}`, [
            "client",
            "--bundle",
            `${fed}/client-${i}`,
            ...QUICK_CLIENT_ARGS,
          ], exec(`c${i}`)),
        );
      }
      for (const p of parties) {
        assert.equal((await p.done).code, 0, `${p.name}:\n${p.lines.join("\n")}`);
      }
      // Each party saw the others at their namespace addresses.
      assert.ok(
        server.lines.some((l) => l.includes(`connected from ${address(2)}:`)),
        server.lines.join("\n"),
      );
      assert.ok(server.lines.some((l) => l.includes(`owner service at ws://${address(0)}:8766`)));
      const history = JSON.parse(
        await Deno.readTextFile(`${fed}/server/history.json`),
      ) as RoundRecord[];
      assert.deepEqual(history.map((r) => r.round), [1]);
      assert.deepEqual([...history[0]!.participants].sort(), ["client-1", "client-2"]);
      const final = await readModel(`${fed}/owner/state/model-round-1.f32`);
      for (const c of ["client-1", "client-2"]) {
        assert.deepEqual(await readModel(`${fed}/${c}/state/model.f32`), final);
      }
    } finally {
      await stopAll(parties);
      // Deleting a namespace removes its end of each veth pair, and with it the pair.
      for (const n of created.reverse()) await ip("netns", "del", n).catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});
