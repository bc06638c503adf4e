import assert from "node:assert/strict";
import { FlheError } from "../../src/util/error.ts";
import { listen } from "../../src/net/mod.ts";

Deno.test("listen() on a taken port fails with one line naming the address and what to do", async () => {
  const first = await listen({
    hostname: "127.0.0.1",
    port: 0,
    maxFrameBytes: 1 << 16,
    onChannel: (ch) => ch.close(),
  });
  try {
    await assert.rejects(
      () =>
        listen({
          hostname: "127.0.0.1",
          port: first.port,
          maxFrameBytes: 1 << 16,
          onChannel: (ch) => ch.close(),
        }),
      (e: unknown) =>
        e instanceof FlheError && e.code === "unavailable" &&
        e.message === `127.0.0.1:${first.port}: address already in use; ` +
            "stop the program using it or choose another --port",
    );
  } finally {
    await first.close();
  }
});
