import assert from "node:assert/strict";
import { lockStateDir } from "../../src/util/state_lock.ts";
import { FlheError } from "../../src/util/error.ts";

Deno.test("lockStateDir() refuses a second holder naming the folder, and a released lock is taken again", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const state = `${dir}/client-1/state`;
    const first = await lockStateDir(state, "client-1");
    assert.equal((await Deno.stat(`${state}/lock`)).mode! & 0o777, 0o600);
    // flock conflicts between two opens of the file, in one process as in two.
    await assert.rejects(
      () => lockStateDir(state, "client-1"),
      (e: unknown) =>
        e instanceof FlheError && e.code === "exists" &&
        e.message.startsWith(`${state}: another client-1 process is using this state folder`),
    );
    first.release();
    first.release();
    const again = await lockStateDir(state, "client-1");
    again.release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
