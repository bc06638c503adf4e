/**
 * `flhe export`: the federated model as a TensorFlow.js Layers model
 * (`model.json` and `weights.bin`), for TensorFlow.js or, through
 * `tensorflowjs_converter`, Keras.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import * as rules from "../federation/rules.ts";
import type { ModelConfig } from "../federation/mod.ts";
import { exportModel } from "../parties/model_export.ts";
import { type Command, defineCommand } from "./command.ts";
import { flag, int, path } from "./option_kinds.ts";
import { VERSION } from "./version.ts";

/** How the exported model wants its inputs, in words. */
function scalingText(scaling: ModelConfig["scaling"]): string {
  const { center, divisor } = scaling;
  if (typeof center !== "number" || typeof divisor !== "number") {
    return "(x - center) / divisor per feature, as in training (center and divisor in " +
      "model.json's userDefinedMetadata.flhe.inputScaling)";
  }
  if (center === 0 && divisor === 1) return "raw values, as in training (no scaling)";
  const x = center === 0 ? "x" : `(x - ${center})`;
  return `${x} / ${divisor}, as in training`;
}

/** `flhe export`. */
export const exportCommand: Command = defineCommand({
  name: "export",
  summary: "write the federated model as a TensorFlow.js model.json (for tfjs and Keras)",
  synopsis: "--bundle DIR --out OUT [options]",
  description: `
Writes the model a bundle holds as a TensorFlow.js Layers model: OUT/model.json
(the bundle's topology, a weights manifest) and OUT/weights.bin (float32,
batch-norm moving statistics included). tf.loadLayersModel loads it, and
'tensorflowjs_converter --input_format tfjs_layers_model --output_format keras
OUT/model.json model.h5' turns it into a Keras model.

From the owner's bundle: the model of the latest decrypted round (the owner
keeps every round's; --round N picks one). From a client's bundle: the latest
global model the client received (a client keeps no other). --round 0 exports
the initial model. The model takes inputs scaled as in training (printed, and
kept in model.json's userDefinedMetadata.flhe). The files are private (mode
0600), as the state they come from; an existing OUT/model.json or
OUT/weights.bin is never replaced without --force.`,
  options: {
    bundle: path({ placeholder: "DIR", help: "the owner's or a client's bundle" }),
    out: path({ placeholder: "OUT", help: "folder to write model.json and weights.bin into" }),
    round: int({
      placeholder: "N",
      help: "the round whose model to export (0: the initial model); default the latest",
      range: rules.integers(0, 1_000_000),
    }),
    force: flag("replace model.json and weights.bin in --out"),
  },
  async run(v, io) {
    if (v.bundle === undefined) {
      throw new FlheError("usage", "--bundle: give the owner's or a client's bundle folder");
    }
    if (v.out === undefined) throw new FlheError("usage", "--out: give the folder to write to");
    const r = await exportModel({
      bundleDir: v.bundle,
      round: v.round,
      outDir: v.out,
      force: v.force,
      producer: `flhe ${VERSION}`,
    });
    const what = r.round === 0 ? "the initial model" : `the model of round ${r.round}`;
    io.out(
      `export: ${what} from ${r.source} (${r.parameterCount.toLocaleString("en")} parameters) ` +
        `-> ${r.modelPath}, ${r.weightsPath}\n`,
    );
    io.out(`export: inputs: ${scalingText(r.model.scaling)}\n`);
    const names = r.model.classNames;
    if (names) {
      io.out(
        r.model.task === "binary"
          ? `export: output: the probability of ${names[1]} (against ${names[0]})\n`
          : `export: outputs: ${names.join(", ")} (in this order)\n`,
      );
    }
    io.out(
      "export: for Keras: tensorflowjs_converter --input_format tfjs_layers_model " +
        `--output_format keras ${r.modelPath} model.h5\n`,
    );
    return 0;
  },
});
