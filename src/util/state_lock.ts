/**
 * One process per state folder. A client's spent privacy budget and its
 * contribution ledger, and the owner's record of what it decrypted, are
 * read, checked and rewritten by the process that owns the folder: two
 * processes on one folder (a restarter that starts a new one before the old
 * one died) would each charge and each contribute, and the last write would
 * hide the other's. An advisory lock (`flock`) on `lock` in the folder keeps
 * them apart; the kernel releases it when the process ends, even on kill -9,
 * so a restart never finds a stale lock.
 *
 * @module
 */

import { FlheError } from "./error.ts";

/** A held lock on a state folder. */
export interface StateLock {
  /** Releases the lock (closing its file). Idempotent. */
  release(): void;
}

/** How long to wait for a lock that a dying process still holds. */
const LOCK_WAIT_MS = 3_000;

/**
 * Takes the exclusive lock of a state folder, creating the folder if needed.
 *
 * @param dir The state folder.
 * @param who What uses the folder, for the error (e.g. `client-1`).
 * @returns The lock; release it when the party stops.
 * @throws {FlheError} `exists` if another process holds the lock for more
 *   than a few seconds, naming the folder.
 * @example
 * ```ts
 * const lock = await lockStateDir("federation/client-1/state", "client-1");
 * try {
 *   // read and write the state
 * } finally {
 *   lock.release();
 * }
 * ```
 */
export async function lockStateDir(dir: string, who: string): Promise<StateLock> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const file = await Deno.open(`${dir}/lock`, { create: true, write: true, mode: 0o600 });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), LOCK_WAIT_MS);
  });
  try {
    const got = await Promise.race([file.lock(true).then(() => "locked" as const), timeout]);
    if (got === "timeout") {
      throw new FlheError(
        "exists",
        `${dir}: another ${who} process is using this state folder (it holds ${dir}/lock); stop it first, one process per bundle`,
      );
    }
  } catch (e) {
    // Closing the file drops a lock request still pending in the runtime.
    file.close();
    throw e;
  } finally {
    clearTimeout(timer);
  }
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      file.close();
    },
  };
}
