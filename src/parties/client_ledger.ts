/**
 * A client's contribution ledger: what it contributed from each base model,
 * on disk before the upload leaves. Protocol v3's first rule lives here: an
 * honest client's data enters at most one decryptable sum per base model.
 * After any restart the client answers a request for a base it already
 * contributed from with the very same ciphertexts, and only for the very
 * same set; it never masks a second update from that base. In shared-key
 * mode it also records the last round it decrypted, so that no round is
 * decrypted twice.
 *
 * Each entry is two files in `ledger/`, named by the base model's SHA-256:
 * the ciphertexts (`.bin`), then the entry (`.json`) that names their
 * digest. Both are synced, with their folder, before the entry counts.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { JsonFields, writeFileAtomic } from "../util/fs.ts";
import { sha256Hex } from "../util/hex.ts";
import type { SetMember } from "../net/mod.ts";

/** One contribution, as recorded. */
export interface LedgerEntry {
  /** Round of the base model. */
  readonly baseRound: number;
  /** SHA-256 (hex) of the base model's float32 bytes. */
  readonly base: string;
  /** The set the client masked for. */
  readonly set: readonly SetMember[];
  /** The weight it declared. */
  readonly weight: number;
  /** Ciphertexts (or values) in the payload. */
  readonly count: number;
  /** Seconds masking and encryption took (repeated in every answer). */
  readonly encryptSeconds: number;
  /** The masked, encrypted update exactly as uploaded. */
  readonly payload: Uint8Array;
}

/** The ledger of one client. */
export interface ContributionLedger {
  /**
   * The contribution from a base model, if any.
   *
   * @param base SHA-256 (hex) of the base model.
   * @returns The entry, with its payload.
   * @throws {FlheError} `input` naming the file if the entry is damaged.
   */
  get(base: string): Promise<LedgerEntry | undefined>;
  /**
   * Records a contribution (synced to disk) before it is uploaded.
   *
   * @param entry The contribution.
   * @throws {FlheError} `protocol` if the base already has an entry.
   */
  record(entry: LedgerEntry): Promise<void>;
  /** The last round decrypted by this client (shared-key mode; 0: none). */
  readonly decryptedRound: number;
  /**
   * Records, before decrypting, that a round is being decrypted.
   *
   * @param round The round.
   */
  recordDecryption(round: number): Promise<void>;
}

const HEX64 = /^[0-9a-f]{64}$/;
const MEMBER_ID = /^client-[1-9]\d{0,4}$/;

/**
 * Opens (and creates, private) the ledger in `dir/ledger`.
 *
 * @param dir The client's state folder.
 * @returns The ledger.
 * @throws {FlheError} `input` naming the file if an entry or the decryption
 *   record is damaged: the client cannot keep its promise without them, so it
 *   does not start.
 *
 * @example Usage
 * ```ts
 * import { openLedger } from "./client_ledger.ts";
 * const ledger = await openLedger("federation/client-1/state");
 * await ledger.get("00".repeat(32)); // undefined before the first upload
 * ```
 */
export async function openLedger(dir: string): Promise<ContributionLedger> {
  const folder = `${dir}/ledger`;
  await Deno.mkdir(folder, { recursive: true, mode: 0o700 });
  let decryptedRound = await readDecrypted(`${folder}/decrypted.json`);
  const entries = new Map<string, LedgerEntry>();
  return {
    async get(base) {
      if (!HEX64.test(base)) throw new FlheError("usage", `ledger: base "${base}" is not a digest`);
      const known = entries.get(base);
      if (known) return known;
      const entry = await readEntry(folder, base);
      if (entry) entries.set(base, entry);
      return entry;
    },
    async record(entry) {
      if (entries.has(entry.base) || await readEntry(folder, entry.base)) {
        throw new FlheError(
          "protocol",
          `already contributed from the model of round ${entry.baseRound}`,
        );
      }
      await writeFileAtomic(`${folder}/${entry.base}.bin`, entry.payload, 0o600);
      const { payload, ...rest } = entry;
      const text = JSON.stringify({ ...rest, payloadSha256: await sha256Hex(payload) });
      await writeFileAtomic(`${folder}/${entry.base}.json`, text + "\n", 0o600);
      entries.set(entry.base, entry);
    },
    get decryptedRound() {
      return decryptedRound;
    },
    async recordDecryption(round) {
      await writeFileAtomic(
        `${folder}/decrypted.json`,
        JSON.stringify({ round }) + "\n",
        0o600,
      );
      decryptedRound = round;
    },
  };
}

async function readDecrypted(path: string): Promise<number> {
  const text = await readOptional(path);
  if (text === undefined) return 0;
  return parseLedgerFile(path, text, (f) => f.number("round", 0, 1_000_000));
}

async function readEntry(folder: string, base: string): Promise<LedgerEntry | undefined> {
  const path = `${folder}/${base}.json`;
  const text = await readOptional(path);
  if (text === undefined) return undefined;
  const head = parseLedgerFile(path, text, (f) => ({
    baseRound: f.number("baseRound", 0, 1_000_000),
    base: f.string("base", HEX64),
    set: f.objectList("set", 10_000).map((m) => ({
      id: m.string("id", MEMBER_ID),
      weight: m.number("weight", 1, 2 ** 24),
    })),
    weight: f.number("weight", 1, 2 ** 24),
    count: f.number("count", 1, 10_000_000),
    encryptSeconds: f.number("encryptSeconds", 0, 1e7, false),
    payloadSha256: f.string("payloadSha256", HEX64),
  }));
  const binPath = `${folder}/${base}.bin`;
  const payload = await Deno.readFile(binPath).catch(() => undefined);
  if (head.base !== base || !payload || await sha256Hex(payload) !== head.payloadSha256) {
    throw new FlheError(
      "input",
      `${binPath}: missing or not the ciphertexts its entry names; this client's contribution ledger is damaged and it cannot contribute safely (restore the state folder from a backup)`,
    );
  }
  const { payloadSha256: _, ...entry } = head;
  return { ...entry, payload };
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new FlheError("input", `${path}: cannot read (${(e as Error).message})`);
  }
}

function parseLedgerFile<T>(path: string, text: string, parse: (f: JsonFields) => T): T {
  try {
    return parse(new JsonFields(path, JSON.parse(text)));
  } catch (e) {
    throw new FlheError(
      "input",
      `${path}: ${
        (e as Error).message
      }; this client's contribution ledger is damaged and it cannot contribute safely (restore the state folder from a backup)`,
    );
  }
}
