/**
 * Choosing and starting the TensorFlow.js backend.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { FlheError } from "../util/error.ts";
import { registerWasmKernels } from "./wasm_kernels.ts";

/** Backends flhe can train on. */
export type BackendName = "wasm" | "cpu";

/** Options of {@link initBackend}. */
export interface InitBackendOptions {
  /** Backend wanted; default `"wasm"` (single-threaded SIMD build). */
  backend?: BackendName;
  /** Called with a one-line reason when `wasm` cannot start and `cpu` is used instead. */
  onWarn?: (message: string) => void;
}

/**
 * Starts a backend: `wasm` (SIMD, one thread, loaded from the installed
 * `@tensorflow/tfjs-backend-wasm` by file path, with the missing
 * `Conv2DBackpropFilter` kernel registered) or the pure-JS `cpu` backend
 * (about 40x slower). If `wasm` fails, falls back to `cpu` and reports why
 * through `onWarn`.
 *
 * @param opts Backend wanted and warning callback.
 * @returns The backend in use.
 * @throws {FlheError} `unavailable` if not even the `cpu` backend starts.
 * @example
 * ```ts
 * const backend = await initBackend({ onWarn: (m) => console.error(m) });
 * ```
 */
export async function initBackend(opts: InitBackendOptions = {}): Promise<BackendName> {
  const wanted = opts.backend ?? "wasm";
  if (wanted === "wasm") {
    if (tf.getBackend() === "wasm") return "wasm";
    try {
      const dir = new URL("./", import.meta.resolve("@tensorflow/tfjs-backend-wasm"));
      const file = (name: string): string => decodeURIComponent(new URL(name, dir).pathname);
      setWasmPaths({
        "tfjs-backend-wasm.wasm": file("tfjs-backend-wasm.wasm"),
        "tfjs-backend-wasm-simd.wasm": file("tfjs-backend-wasm-simd.wasm"),
        "tfjs-backend-wasm-threaded-simd.wasm": file("tfjs-backend-wasm-threaded-simd.wasm"),
      });
      registerWasmKernels();
      if (await tf.setBackend("wasm")) return "wasm";
      opts.onWarn?.("nn: wasm backend did not start; training on the slow cpu backend");
    } catch (e) {
      opts.onWarn?.(
        `nn: wasm backend failed (${
          e instanceof Error ? e.message : e
        }); training on the slow cpu backend`,
      );
    }
  }
  if (tf.getBackend() !== "cpu" && !(await tf.setBackend("cpu"))) {
    throw new FlheError(
      "unavailable",
      "nn: neither the wasm nor the cpu TensorFlow.js backend starts",
    );
  }
  return "cpu";
}
