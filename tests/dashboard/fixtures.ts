/**
 * History rows and secrets for the dashboard tests: a finished, a failed and
 * a recovered round, and texts shaped like what must never reach a page.
 *
 * @module
 */

import { emptyRoundRecord, type RoundRecord } from "../../src/rounds/mod.ts";
import type { FederationInfo } from "../../src/dashboard/mod.ts";

/** A ciphertext as the wire carries it (hex of a 1,024-bit number). */
export const CIPHERTEXT_HEX = "9f".repeat(128);

/** A client token as bundles hold it (64 hex). */
export const CLIENT_TOKEN = "5a".repeat(32);

/** A public key fingerprint (64 hex), which the page does show. */
export const FINGERPRINT = "0123456789abcdef".repeat(4);

/** A federation as the dashboard shows it. */
export const FEDERATION: FederationInfo = {
  mode: "owner",
  strategy: "fedavg-he",
  keyBits: 2048,
  keyKind: "standard",
  fingerprint: FINGERPRINT,
  rounds: 3,
  clients: 2,
};

/** A finished round. */
export function okRecord(round: number, accuracy = 0.5 + round / 10): RoundRecord {
  return {
    round,
    participants: ["client-1", "client-2"],
    failures: [],
    totalWeight: 1200,
    bytesIn: 1_054_159,
    bytesOut: 494_408,
    uploadBytesPerClient: 526_592,
    seconds: {
      train: 10.25,
      encrypt: 0.1,
      upload: 0.75,
      aggregate: 0.03,
      decrypt: 4.5,
      evaluate: 1.25,
      round: 17.5,
    },
    loss: 1 / round,
    accuracy,
  };
}

/** A finished round of a regression: the loss is the test MSE, with an MAE and no accuracy. */
export function regressionRecord(round: number): RoundRecord {
  return { ...okRecord(round), loss: 20 / round, mae: 2 + 2 / round, accuracy: NaN };
}

/** A failed round whose reasons carry a ciphertext and a token, as a hostile client might. */
export function failedRecord(round: number): RoundRecord {
  return {
    ...okRecord(round),
    failed: `no update from client-2 (sent ${CIPHERTEXT_HEX})`,
    participants: ["client-1", "client-2"],
    failures: [{ clientId: "client-2", reason: `bad token ${CLIENT_TOKEN}\nsecond line` }],
    loss: NaN,
    accuracy: NaN,
  };
}

/** A round whose model a restarted server recovered from the owner. */
export function recoveredRecord(round: number): RoundRecord {
  return emptyRoundRecord(round, undefined);
}

/** Fails if a text holds a ciphertext-like run of hex (longer than a fingerprint) or the token. */
export function assertNoSecrets(text: string): void {
  const long = text.match(/[0-9a-fA-F]{65,}/);
  if (long) throw new Error(`a long hex run reached the output: ${long[0].slice(0, 40)}...`);
  if (text.includes(CLIENT_TOKEN)) throw new Error("a client token reached the output");
  if (text.includes(CIPHERTEXT_HEX.slice(0, 32))) throw new Error("ciphertext reached the output");
}
