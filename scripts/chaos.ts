/**
 * The long chaos run: many seeded kills -9 of any party at chosen moments,
 * each restarted within 3 s, over several federations; prints the kills by
 * party and phase and whether every run ended with every client holding the
 * owner's final model.
 *
 *   deno run -A scripts/chaos.ts [--runs N] [--kills K] [--rounds R] [--seed S]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { runChaos } from "../tests/parties/chaos.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "10" },
    kills: { type: "string", default: "5" },
    rounds: { type: "string", default: "6" },
    seed: { type: "string", default: "1000" },
  },
});
const counts = new Map<string, { tried: number }>();
let failedRuns = 0;
for (let i = 0; i < Number(values.runs); i++) {
  const seed = Number(values.seed) + i;
  const dir = await Deno.makeTempDir();
  try {
    const { kills } = await runChaos(`${dir}/fed`, {
      seed,
      kills: Number(values.kills),
      rounds: Number(values.rounds),
      deadlineMs: 300_000,
    });
    for (const k of kills) {
      const key = `${k.party.replace(/-\d+$/, "")} / ${k.phase}`;
      counts.set(key, { tried: (counts.get(key)?.tried ?? 0) + 1 });
    }
    console.log(`seed ${seed}: ok, ${kills.length} kills`);
  } catch (e) {
    failedRuns++;
    console.log(`seed ${seed}: FAILED: ${(e as Error).message.split("\n")[0]}`);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
console.log("\nkills by party / phase:");
for (const [key, { tried }] of [...counts].sort()) console.log(`  ${key}: ${tried}`);
console.log(`${Number(values.runs) - failedRuns} of ${values.runs} runs ended well`);
