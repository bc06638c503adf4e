/**
 * Any party killed at any moment and restarted at once (kill -9, then the
 * same command after 0 to 3 s): the federation still finishes, every client
 * with the owner's final sealed model, each round sealed at most once.
 * Seeded: a failure names its seed and kills, and replays the same way.
 */
import { runChaos } from "./chaos.ts";

for (const seed of [11, 23, 37]) {
  Deno.test(`chaos: seed ${seed}, three kills -9 of any party at chosen moments, restarted within 3 s`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const { kills } = await runChaos(`${dir}/fed`, { seed, kills: 3, rounds: 4 });
      console.log(
        `seed ${seed}: ${
          kills.map((k) => `${k.party} ${k.phase} +${k.restartDelayMs} ms`).join("; ")
        }`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
