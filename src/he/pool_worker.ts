/**
 * The Paillier worker: holds one key (and its fixed-base table) and runs
 * encryption, randomizer precomputation and decryption on typed buffers sent
 * by {@linkcode createPool}. Not meant to be imported.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { readBigint, writeBigint } from "../util/bigint_bytes.ts";
import { PublicKey, SecretKey } from "./keys.ts";
import {
  addCiphertexts,
  createRandomizerSource,
  decrypt,
  encrypt,
  type RandomizerSource,
} from "./paillier.ts";
import type { WorkerReply, WorkerRequest } from "./pool_protocol.ts";

let publicKey: PublicKey | undefined;
let secretKey: SecretKey | undefined;
let source: RandomizerSource | undefined;
// Randomizers computed ahead of time, used before fresh ones.
const stock: bigint[] = [];

function handle(req: WorkerRequest): { reply: WorkerReply; transfer: Transferable[] } {
  switch (req.type) {
    case "init": {
      const read = (bytes: Uint8Array) => readBigint(bytes, 0, bytes.length);
      publicKey = new PublicKey(read(req.n), read(req.hs), req.kind);
      if (req.p && req.q) {
        // The decryption exponents come from the key: p - 1 and q - 1, or 2 p0 and 2 q0.
        secretKey = new SecretKey(
          read(req.p),
          read(req.q),
          publicKey,
          req.p0 && req.q0 ? { p0: read(req.p0), q0: read(req.q0) } : undefined,
        );
      }
      // The fixed-base table (16 MB at 2048 bits), whose exponent length comes
      // from the key kind, is built on first use, so a decrypt-only pool never
      // pays for it.
      source = createRandomizerSource(publicKey, req.randomness);
      return { reply: { id: req.id, type: "done" }, transfer: [] };
    }
    case "precompute": {
      const start = performance.now();
      let made = 0;
      while (made < req.make && (made === 0 || performance.now() - start < req.budgetMs)) {
        stock.push(source!.next());
        made++;
      }
      return { reply: { id: req.id, type: "stock", size: stock.length, made }, transfer: [] };
    }
    case "encrypt": {
      const pk = publicKey!;
      const inWidth = pk.plaintextBytes;
      const count = req.data.length / inWidth;
      const out = new Uint8Array(count * pk.ciphertextBytes);
      for (let i = 0; i < count; i++) {
        const m = readBigint(req.data, i * inWidth, inWidth);
        const r = stock.pop() ?? source!.next();
        writeBigint(encrypt(pk, m, r), pk.ciphertextBytes, out, i * pk.ciphertextBytes);
      }
      return { reply: { id: req.id, type: "data", data: out }, transfer: [out.buffer] };
    }
    case "aggregate": {
      const pk = publicKey!;
      const width = pk.ciphertextBytes;
      const slots = req.data.length / width / req.vectors;
      const out = new Uint8Array(slots * width);
      for (let j = 0; j < slots; j++) {
        let sum = readBigint(req.data, j * width, width);
        for (let k = 1; k < req.vectors; k++) {
          sum = addCiphertexts(pk, sum, readBigint(req.data, (k * slots + j) * width, width));
        }
        writeBigint(sum, width, out, j * width);
      }
      return { reply: { id: req.id, type: "data", data: out }, transfer: [out.buffer] };
    }
    case "decrypt": {
      if (!secretKey) throw new Error("this pool holds no secret key");
      const pk = publicKey!;
      const inWidth = pk.ciphertextBytes;
      const count = req.data.length / inWidth;
      const out = new Uint8Array(count * pk.plaintextBytes);
      for (let i = 0; i < count; i++) {
        const c = readBigint(req.data, i * inWidth, inWidth);
        writeBigint(decrypt(secretKey, c), pk.plaintextBytes, out, i * pk.plaintextBytes);
      }
      return { reply: { id: req.id, type: "data", data: out }, transfer: [out.buffer] };
    }
  }
}

self.onmessage = (event: MessageEvent<WorkerRequest>) => {
  const req = event.data;
  try {
    const { reply, transfer } = handle(req);
    self.postMessage(reply, transfer);
  } catch (e) {
    self.postMessage({
      id: req.id,
      type: "error",
      message: e instanceof Error ? e.message : String(e),
    });
  }
};
