/**
 * `flhe export`'s step: the model a bundle holds (the owner's model of a
 * round, or the latest global model a client holds) written as a
 * TensorFlow.js Layers model with the bundle's topology, so that the model
 * goes back to TensorFlow.js or Keras in the format it came in.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { writeFileAtomic } from "../util/fs.ts";
import {
  type Bundle,
  LEGACY_LENET,
  loadBundle,
  MODEL_FILE,
  type ModelConfig,
  readBundleTopology,
} from "../federation/mod.ts";
import { builtinTopology, layersModelFiles } from "../nn/mod.ts";
import { modelRoundPath, readOwnerRecord } from "./owner_state.ts";
import { readClientState } from "./client_state.ts";

/** What to export, and where. */
export interface ExportRequest {
  /** The owner's or a client's bundle folder. */
  readonly bundleDir: string;
  /** The round whose model to export (0: the initial model); default the latest. */
  readonly round?: number;
  /** The folder to write `model.json` and `weights.bin` into (created if missing). */
  readonly outDir: string;
  /** Replace an existing `model.json` or `weights.bin` there. */
  readonly force: boolean;
  /** Names flhe and its version in the file's `generatedBy` and `convertedBy`. */
  readonly producer: string;
}

/** What was exported. */
export interface ExportResult {
  /** `owner` or the client's id. */
  readonly party: string;
  /** The round of the model (0: the initial model). */
  readonly round: number;
  /** Values in the weight vector. */
  readonly parameterCount: number;
  /** The file the weights came from. */
  readonly source: string;
  /** The `model.json` written. */
  readonly modelPath: string;
  /** The weights shard written. */
  readonly weightsPath: string;
  /** The model's configuration: task, classes and the input scaling it expects. */
  readonly model: ModelConfig;
}

/** The shard's name in the exported folder. */
export const EXPORT_SHARD = "weights.bin";

/**
 * Exports a bundle's model as a TensorFlow.js Layers model.
 *
 * @param req Bundle, round, output folder, whether to overwrite.
 * @returns What was written.
 * @throws {FlheError} `input` naming the bundle or file for a bundle
 *   without a model or the round asked for; `exists` naming the file for an
 *   output that is there already (nothing is written then).
 * @example
 * ```ts
 * const r = await exportModel({
 *   bundleDir: "federation/owner", outDir: "final", force: false, producer: "flhe 0.1.0",
 * });
 * ```
 */
export async function exportModel(req: ExportRequest): Promise<ExportResult> {
  const bundle = await loadBundle(withoutSlash(req.bundleDir));
  const found = await findModel(bundle, req.round);
  const topology = await readBundleTopology(bundle.dir, bundle.config.model) ?? legacyTopology();
  const { model } = bundle.config;
  const files = layersModelFiles(topology, found.weights, {
    generatedBy: req.producer,
    convertedBy: `${req.producer} export`,
    shardName: EXPORT_SHARD,
    file: `${bundle.dir}/${MODEL_FILE}`,
    metadata: {
      flhe: {
        round: found.round,
        party: found.party,
        model: model.name,
        task: model.task,
        ...(model.classNames ? { classNames: model.classNames } : {}),
        // The model takes inputs scaled as every party scaled them in training.
        inputScaling: { ...model.scaling, formula: "(x - center) / divisor" },
      },
    },
  });
  const outDir = withoutSlash(req.outDir);
  const modelPath = `${outDir}/model.json`;
  const weightsPath = `${outDir}/${EXPORT_SHARD}`;
  await prepareOut(outDir, [modelPath, weightsPath], req.force);
  // The shard first: a model.json never names weights that are not there yet.
  await writeFileAtomic(weightsPath, files.weightData, 0o600);
  await writeFileAtomic(modelPath, JSON.stringify(files.modelJson) + "\n", 0o600);
  return {
    party: found.party,
    round: found.round,
    parameterCount: found.weights.length,
    source: found.source,
    modelPath,
    weightsPath,
    model,
  };
}

interface FoundModel {
  readonly party: string;
  readonly round: number;
  readonly weights: Float32Array;
  readonly source: string;
}

/** The model of `round` (default: the latest) that the bundle's party holds. */
async function findModel(bundle: Bundle, round: number | undefined): Promise<FoundModel> {
  const { dir, credentials } = bundle;
  const party = credentials.role === "client" ? credentials.id : credentials.role;
  if (credentials.role === "server" || !bundle.initialModel) {
    throw new FlheError(
      "input",
      `${dir}: a ${party} bundle holds no model; export from the owner's bundle or a client's`,
    );
  }
  const stateDir = `${dir}/state`;
  const initial = { party, round: 0, weights: bundle.initialModel, source: `${dir}/model.f32` };
  if (round === 0) return initial;
  const count = bundle.config.parameterCount;
  if (credentials.role === "client") {
    const held = await readClientState(stateDir, count);
    const latest = held?.round ?? 0;
    if (round !== undefined && round !== latest) {
      throw new FlheError(
        "input",
        `--round ${round}: ${party} keeps only the latest global model it received (${
          latest === 0 ? "none yet" : `round ${latest}`
        }); the owner's bundle keeps every round's model`,
      );
    }
    if (!held) throw noRoundYet(dir, `${stateDir}/client-state.bin is not there`);
    return { party, round: held.round, weights: held.weights, source: `${stateDir}/model.f32` };
  }
  const latest = (await readOwnerRecord(stateDir))?.modelRound ?? 0;
  if (round === undefined && latest === 0) {
    throw noRoundYet(dir, `${stateDir}/owner.json records none`);
  }
  const wanted = round ?? latest;
  if (wanted > latest) {
    throw new FlheError(
      "input",
      `--round ${wanted}: not decrypted yet; the owner's latest model is of round ${latest}`,
    );
  }
  const source = modelRoundPath(stateDir, wanted);
  const bytes = await Deno.readFile(source).catch(async () => {
    const held = await ownerRounds(stateDir);
    throw new FlheError(
      "input",
      `--round ${wanted}: no ${source} (the round was not decrypted); models of rounds ${
        held.join(", ") || "none"
      }`,
    );
  });
  if (bytes.length !== count * 4) {
    throw new FlheError("input", `${source}: ${bytes.length} bytes, expected ${count * 4}`);
  }
  return { party, round: wanted, weights: new Float32Array(bytes.buffer, 0, count), source };
}

function noRoundYet(dir: string, why: string): FlheError {
  return new FlheError(
    "input",
    `${dir}: no round's model yet (${why}); --round 0 exports the initial model`,
  );
}

/** The rounds whose model the owner's state folder holds, ascending. */
async function ownerRounds(stateDir: string): Promise<number[]> {
  const rounds: number[] = [];
  for await (const e of Deno.readDir(stateDir)) {
    const m = e.name.match(/^model-round-(\d+)\.f32$/);
    if (m) rounds.push(Number(m[1]));
  }
  return rounds.sort((a, b) => a - b);
}

/** `final/` as `final`, so that the paths named read `final/model.json`. */
function withoutSlash(dir: string): string {
  return dir.replace(/(?<=.)\/+$/, "");
}

/** The topology of a federation from before models were a choice: LeNet-5. */
function legacyTopology(): Record<string, unknown> {
  return {
    format: "layers-model",
    generatedBy: "flhe",
    modelTopology: builtinTopology("lenet5", {
      inputShape: LEGACY_LENET.inputShape,
      task: LEGACY_LENET.task,
      classes: LEGACY_LENET.outputs,
    }),
  };
}

/** Creates the output folder; refuses files there unless `force`. */
async function prepareOut(dir: string, paths: string[], force: boolean): Promise<void> {
  const stat = await Deno.stat(dir).catch(() => undefined);
  if (stat && !stat.isDirectory) {
    throw new FlheError("input", `--out: ${dir} is a file, not a folder`);
  }
  if (!stat) await Deno.mkdir(dir, { recursive: true });
  if (force) return;
  for (const path of paths) {
    if (await Deno.lstat(path).then(() => true, () => false)) {
      throw new FlheError("exists", `${path} exists; pass --force to replace it`);
    }
  }
}
