/**
 * A pool of module workers, one per core by default, that runs Paillier
 * encryption, randomizer precomputation and decryption in parallel, under
 * a key of either kind (the workers take the randomizer exponent length and
 * the decryption exponents from the key).
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { writeBigint } from "./bytes.ts";
import type { PublicKey, SecretKey } from "./keys.ts";
import type { Randomness } from "./paillier.ts";
import type { WorkerReply, WorkerRequest } from "./pool_protocol.ts";

/** Options of {@linkcode createPool}. */
export interface PoolOptions {
  /** The public key every worker encrypts under. */
  readonly publicKey: PublicKey;
  /** The secret key, only where this party may decrypt. */
  readonly secretKey?: SecretKey;
  /** Number of workers (default: `navigator.hardwareConcurrency`). */
  readonly workers?: number;
  /** Randomness kind (default `djn`). */
  readonly randomness?: Randomness;
}

/** A running pool. Close it (or `await using` it) to stop the workers. */
export interface PaillierPool extends Disposable {
  /** Number of workers. */
  readonly workers: number;
  /**
   * Computes `count` randomizers ahead of time, spread over the workers;
   * later encryptions use them first.
   *
   * @param count Number of randomizers.
   */
  precompute(count: number): Promise<void>;
  /**
   * Encrypts fixed-width plaintexts (`publicKey.plaintextBytes` each).
   *
   * @param plaintexts The plaintexts, each below `n`.
   * @returns Fixed-width ciphertexts (`publicKey.ciphertextBytes` each), same order.
   */
  encrypt(plaintexts: Uint8Array): Promise<Uint8Array>;
  /**
   * Decrypts fixed-width ciphertexts; needs the secret key.
   *
   * @param ciphertexts The ciphertexts.
   * @returns Fixed-width plaintexts, same order.
   */
  decrypt(ciphertexts: Uint8Array): Promise<Uint8Array>;
  /**
   * Homomorphic sum of ciphertext vectors of equal length, slot-wise mod
   * `n^2`, with the slots split over the workers. The vectors must already
   * be checked (see `parseCiphertexts`).
   *
   * @param vectors Fixed-width ciphertext vectors.
   * @returns The summed vector.
   */
  aggregate(vectors: readonly Uint8Array[]): Promise<Uint8Array>;
  /** Stops the workers; pending calls reject. */
  close(): void;
}

interface Pending {
  resolve(reply: WorkerReply): void;
  reject(error: Error): void;
}

function concat(parts: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function keyBytes(value: bigint, width: number): Uint8Array {
  const out = new Uint8Array(width);
  writeBigint(value, width, out, 0);
  return out;
}

/**
 * Starts a pool and waits until every worker has loaded the key and built
 * its fixed-base table.
 *
 * @param options Keys, worker count and randomness.
 * @returns The running pool.
 * @throws {FlheError} `input` if `workers` is not a positive integer.
 *
 * @example Usage
 * ```ts
 * import { createPool, generateKeyPair } from "./mod.ts";
 * const { publicKey, secretKey } = await generateKeyPair(512);
 * const pool = await createPool({ publicKey, secretKey, workers: 2 });
 * try {
 *   const c = await pool.encrypt(new Uint8Array(publicKey.plaintextBytes));
 *   await pool.decrypt(c);
 * } finally {
 *   pool.close();
 * }
 * ```
 */
export async function createPool(options: PoolOptions): Promise<PaillierPool> {
  const { publicKey, secretKey } = options;
  const count = options.workers ?? navigator.hardwareConcurrency ?? 2;
  if (!Number.isInteger(count) || count < 1 || count > 256) {
    throw new FlheError("input", `workers: ${count} is not an integer in [1, 256]`);
  }
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let closed = false;
  const workers: Worker[] = [];
  const fail = (error: Error) => {
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };
  for (let i = 0; i < count; i++) {
    const worker = new Worker(new URL("./pool_worker.ts", import.meta.url), { type: "module" });
    worker.onmessage = (event: MessageEvent<WorkerReply>) => {
      const p = pending.get(event.data.id);
      if (!p) return;
      pending.delete(event.data.id);
      if (event.data.type === "error") p.reject(new FlheError("input", event.data.message));
      else p.resolve(event.data);
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      // A lost worker leaves its share of every later call unanswered: stop all.
      close(new FlheError("unavailable", `paillier worker failed: ${event.message}`));
    };
    workers.push(worker);
  }
  const call = (worker: Worker, req: WorkerRequest, transfer: Transferable[] = []) => {
    if (closed) return Promise.reject(new FlheError("unavailable", "paillier pool is closed"));
    return new Promise<WorkerReply>((resolve, reject) => {
      pending.set(req.id, { resolve, reject });
      worker.postMessage(req, transfer);
    });
  };
  const close = (reason = new FlheError("unavailable", "paillier pool is closed")) => {
    if (closed) return;
    closed = true;
    for (const w of workers) w.terminate();
    fail(reason);
  };
  // Splits fixed-width items into one contiguous run per worker and joins the answers.
  const spread = async (
    type: "encrypt" | "decrypt",
    data: Uint8Array,
    inWidth: number,
    outWidth: number,
  ): Promise<Uint8Array> => {
    if (data.length % inWidth !== 0) {
      throw new FlheError("input", `${type}: ${data.length} bytes is not a multiple of ${inWidth}`);
    }
    const items = data.length / inWidth;
    const per = Math.ceil(items / count);
    const parts = await Promise.all(workers.map((w, i) => {
      const start = Math.min(items, i * per);
      const end = Math.min(items, start + per);
      if (start === end) return Promise.resolve(new Uint8Array(0));
      const chunk = data.slice(start * inWidth, end * inWidth);
      return call(w, { id: nextId++, type, data: chunk }, [chunk.buffer]).then((r) =>
        r.type === "data" ? r.data : new Uint8Array(0)
      );
    }));
    return concat(parts, items * outWidth);
  };

  try {
    await Promise.all(workers.map((w) =>
      call(w, {
        id: nextId++,
        type: "init",
        n: keyBytes(publicKey.n, publicKey.plaintextBytes),
        hs: keyBytes(publicKey.hs, publicKey.ciphertextBytes),
        kind: publicKey.kind,
        ...(secretKey
          ? {
            p: keyBytes(secretKey.p, publicKey.plaintextBytes),
            q: keyBytes(secretKey.q, publicKey.plaintextBytes),
          }
          : {}),
        ...(secretKey?.p0 !== undefined && secretKey.q0 !== undefined
          ? {
            p0: keyBytes(secretKey.p0, publicKey.plaintextBytes),
            q0: keyBytes(secretKey.q0, publicKey.plaintextBytes),
          }
          : {}),
        randomness: options.randomness ?? "djn",
      })
    ));
  } catch (e) {
    close();
    throw e;
  }

  return {
    workers: count,
    async precompute(total: number): Promise<void> {
      const per = Math.ceil(total / count);
      await Promise.all(
        workers.map((w, i) =>
          call(w, {
            id: nextId++,
            type: "precompute",
            count: Math.max(0, Math.min(per, total - i * per)),
          })
        ),
      );
    },
    encrypt: (plaintexts) =>
      spread("encrypt", plaintexts, publicKey.plaintextBytes, publicKey.ciphertextBytes),
    async aggregate(vectors: readonly Uint8Array[]): Promise<Uint8Array> {
      const width = publicKey.ciphertextBytes;
      const length = vectors[0]?.length ?? 0;
      if (
        vectors.length === 0 || vectors.some((v) => v.length !== length) || length % width !== 0
      ) {
        throw new FlheError(
          "input",
          "aggregate: needs one or more vectors of equal whole-ciphertext length",
        );
      }
      const slots = length / width;
      const per = Math.ceil(slots / count);
      const parts = await Promise.all(workers.map((w, i) => {
        const start = Math.min(slots, i * per);
        const end = Math.min(slots, start + per);
        if (start === end) return Promise.resolve(new Uint8Array(0));
        // Each worker gets its slot range of every vector, vector after vector.
        const chunk = new Uint8Array(vectors.length * (end - start) * width);
        vectors.forEach((v, k) =>
          chunk.set(v.subarray(start * width, end * width), k * (end - start) * width)
        );
        return call(w, { id: nextId++, type: "aggregate", data: chunk, vectors: vectors.length }, [
          chunk.buffer,
        ])
          .then((r) => (r.type === "data" ? r.data : new Uint8Array(0)));
      }));
      return concat(parts, length);
    },
    decrypt: (ciphertexts) => {
      if (!secretKey) {
        return Promise.reject(new FlheError("auth", "decrypt: this party holds no secret key"));
      }
      return spread("decrypt", ciphertexts, publicKey.ciphertextBytes, publicKey.plaintextBytes);
    },
    close: () => close(),
    [Symbol.dispose]: () => close(),
  };
}
