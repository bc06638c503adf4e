/**
 * A pool of module workers, one per core by default, that runs Paillier
 * encryption, randomizer precomputation and decryption in parallel, under
 * a key of either kind (the workers take the randomizer exponent length and
 * the decryption exponents from the key).
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { writeBigint } from "../util/bigint_bytes.ts";
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
   * Tops the stock of randomizers up to `count`, spread over the workers:
   * what they lack when this top-up starts (after any earlier one) is made,
   * in short steps that let encryptions and decryptions in; what those take
   * meanwhile is left to the next top-up. Encryptions use the stock first.
   *
   * @param count Number of randomizers.
   * @returns How many were made (what was stocked already is not made again).
   */
  precompute(count: number): Promise<number>;
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
   * be checked (see `checkCiphertexts`).
   *
   * @param vectors Fixed-width ciphertext vectors.
   * @returns The summed vector.
   */
  aggregate(vectors: readonly Uint8Array[]): Promise<Uint8Array>;
  /** Stops the workers; pending calls reject. */
  close(): void;
}

/** A request without its `id`, which {@linkcode Dispatcher.call} assigns. */
type RequestBody = WorkerRequest extends infer R ? R extends unknown ? Omit<R, "id"> : never
  : never;

/** The running workers and the requests they have not answered yet. */
interface Dispatcher {
  /** The workers, in a fixed order. */
  readonly workers: readonly Worker[];
  /**
   * Sends a request to one worker.
   *
   * @param worker The worker.
   * @param body The request; its `id` is assigned here.
   * @param transfer Buffers to move to the worker.
   * @returns The worker's reply; rejects on an error reply or when the pool closes.
   */
  call(worker: Worker, body: RequestBody, transfer?: Transferable[]): Promise<WorkerReply>;
  /**
   * Stops every worker and rejects every pending call (once; later calls do nothing).
   *
   * @param reason Why the pool stops (default: it was closed).
   */
  close(reason?: FlheError): void;
}

interface Pending {
  resolve(reply: WorkerReply): void;
  reject(error: Error): void;
}

function closedError(): FlheError {
  return new FlheError("unavailable", "paillier pool is closed");
}

/**
 * Starts `count` workers and routes their replies to the pending calls by
 * request id. A worker that fails stops the whole pool: its share of every
 * later call would go unanswered.
 */
function startWorkers(count: number): Dispatcher {
  const pending = new Map<number, Pending>();
  const workers: Worker[] = [];
  let nextId = 1;
  let closed = false;
  const close = (reason = closedError()): void => {
    if (closed) return;
    closed = true;
    for (const w of workers) w.terminate();
    for (const p of pending.values()) p.reject(reason);
    pending.clear();
  };
  const onReply = (event: MessageEvent<WorkerReply>): void => {
    const p = pending.get(event.data.id);
    if (!p) return;
    pending.delete(event.data.id);
    if (event.data.type === "error") p.reject(new FlheError("input", event.data.message));
    else p.resolve(event.data);
  };
  const onError = (event: ErrorEvent): void => {
    event.preventDefault();
    close(new FlheError("unavailable", `paillier worker failed: ${event.message}`));
  };
  for (let i = 0; i < count; i++) {
    const worker = new Worker(new URL("./pool_worker.ts", import.meta.url), { type: "module" });
    worker.onmessage = onReply;
    worker.onerror = onError;
    workers.push(worker);
  }
  const call = (worker: Worker, body: RequestBody, transfer: Transferable[] = []) => {
    if (closed) return Promise.reject(closedError());
    const req = { ...body, id: nextId++ } as WorkerRequest;
    return new Promise<WorkerReply>((resolve, reject) => {
      pending.set(req.id, { resolve, reject });
      worker.postMessage(req, transfer);
    });
  };
  return { workers, call, close };
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

/** The `init` request: the key as fixed-width bytes, and the randomness kind. */
function initRequest(options: PoolOptions): RequestBody {
  const { publicKey, secretKey } = options;
  const width = publicKey.plaintextBytes;
  return {
    type: "init",
    n: keyBytes(publicKey.n, width),
    hs: keyBytes(publicKey.hs, publicKey.ciphertextBytes),
    kind: publicKey.kind,
    ...(secretKey ? { p: keyBytes(secretKey.p, width), q: keyBytes(secretKey.q, width) } : {}),
    ...(secretKey?.p0 !== undefined && secretKey.q0 !== undefined
      ? { p0: keyBytes(secretKey.p0, width), q0: keyBytes(secretKey.q0, width) }
      : {}),
    randomness: options.randomness ?? "djn",
  };
}

/** The contiguous run `[start, end)` of `items` that worker `i` of `count` handles. */
function share(items: number, count: number, i: number): [number, number] {
  const per = Math.ceil(items / count);
  const start = Math.min(items, i * per);
  return [start, Math.min(items, start + per)];
}

function replyData(reply: WorkerReply): Uint8Array {
  return reply.type === "data" ? reply.data : new Uint8Array(0);
}

/**
 * Time a worker spends per precompute request (at least one randomizer): an
 * encryption or decryption asked for during a top-up waits for one step,
 * whatever the key size and randomness, not for the whole stock.
 */
const PRECOMPUTE_STEP_MS = 25;

/**
 * Splits `total` randomizers over the workers and tops each up to its share:
 * what a worker lacks when asked is made, in steps; what encryptions take
 * meanwhile is not made again (that is the next top-up's work).
 */
async function precomputeOn(d: Dispatcher, total: number): Promise<number> {
  const per = Math.ceil(total / d.workers.length);
  const made = await Promise.all(d.workers.map(async (w, i) => {
    const quota = Math.max(0, Math.min(per, total - i * per));
    const ask = (make: number) =>
      d.call(w, { type: "precompute", make, budgetMs: PRECOMPUTE_STEP_MS }).then((r) =>
        r.type === "stock" ? r : { size: quota, made: make }
      );
    const missing = Math.max(0, quota - (await ask(0)).size);
    for (let left = missing; left > 0;) left -= (await ask(left)).made;
    return missing;
  }));
  return made.reduce((sum, m) => sum + m, 0);
}

/**
 * Encrypts or decrypts fixed-width items: one contiguous run per worker, the
 * answers joined in order.
 */
async function spread(
  d: Dispatcher,
  type: "encrypt" | "decrypt",
  data: Uint8Array,
  inWidth: number,
  outWidth: number,
): Promise<Uint8Array> {
  if (data.length % inWidth !== 0) {
    throw new FlheError("input", `${type}: ${data.length} bytes is not a multiple of ${inWidth}`);
  }
  const items = data.length / inWidth;
  const parts = await Promise.all(d.workers.map((w, i) => {
    const [start, end] = share(items, d.workers.length, i);
    if (start === end) return Promise.resolve(new Uint8Array(0));
    const chunk = data.slice(start * inWidth, end * inWidth);
    return d.call(w, { type, data: chunk }, [chunk.buffer]).then(replyData);
  }));
  return concat(parts, items * outWidth);
}

/**
 * Sums ciphertext vectors slot-wise: each worker gets its slot range of
 * every vector, vector after vector, and returns the sums of that range.
 */
async function aggregateOn(
  d: Dispatcher,
  vectors: readonly Uint8Array[],
  width: number,
): Promise<Uint8Array> {
  const length = vectors[0]?.length ?? 0;
  if (vectors.length === 0 || vectors.some((v) => v.length !== length) || length % width !== 0) {
    throw new FlheError(
      "input",
      "aggregate: needs one or more vectors of equal whole-ciphertext length",
    );
  }
  const slots = length / width;
  const parts = await Promise.all(d.workers.map((w, i) => {
    const [start, end] = share(slots, d.workers.length, i);
    if (start === end) return Promise.resolve(new Uint8Array(0));
    const run = (end - start) * width;
    const chunk = new Uint8Array(vectors.length * run);
    vectors.forEach((v, k) => chunk.set(v.subarray(start * width, end * width), k * run));
    return d.call(w, { type: "aggregate", data: chunk, vectors: vectors.length }, [chunk.buffer])
      .then(replyData);
  }));
  return concat(parts, length);
}

function workerCount(options: PoolOptions): number {
  const count = options.workers ?? navigator.hardwareConcurrency ?? 2;
  if (!Number.isInteger(count) || count < 1 || count > 256) {
    throw new FlheError("input", `workers: ${count} is not an integer in [1, 256]`);
  }
  return count;
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
  const count = workerCount(options);
  const d = startWorkers(count);
  try {
    const init = initRequest(options);
    await Promise.all(d.workers.map((w) => d.call(w, init)));
  } catch (e) {
    d.close();
    throw e;
  }
  const { plaintextBytes, ciphertextBytes } = publicKey;
  // One top-up at a time: each sees the stock the previous one left, so two
  // overlapping asks never make the same randomizers twice.
  let stocking: Promise<number> = Promise.resolve(0);
  return {
    workers: count,
    precompute: (total) => {
      const next = stocking.catch(() => 0).then(() => precomputeOn(d, total));
      stocking = next;
      return next;
    },
    encrypt: (plaintexts) => spread(d, "encrypt", plaintexts, plaintextBytes, ciphertextBytes),
    aggregate: (vectors) => aggregateOn(d, vectors, ciphertextBytes),
    decrypt: (ciphertexts) => {
      if (!secretKey) {
        return Promise.reject(new FlheError("auth", "decrypt: this party holds no secret key"));
      }
      return spread(d, "decrypt", ciphertexts, ciphertextBytes, plaintextBytes);
    },
    close: () => d.close(),
    [Symbol.dispose]: () => d.close(),
  };
}
