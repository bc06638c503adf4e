/**
 * `flhe client keygen`: a client makes its own mask and signing keys.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { createLogger } from "../util/log.ts";
import * as rules from "../federation/rules.ts";
import { clientKeygen as keygen } from "../parties/client_keygen.ts";
import { type Command, defineCommand } from "./command.ts";
import { int, path } from "./option_kinds.ts";

/** `flhe client keygen`. */
export const clientKeygen: Command = defineCommand({
  name: "client keygen",
  summary: "make a client's own mask and signing keys (only the public half leaves)",
  synopsis: "--shard I [options]",
  description: `
Generates client I's X25519 key (pairwise masks) and Ed25519 key (signed
updates) on this machine, so that nobody else ever holds their private
halves. Writes DIR/secagg.json (private, mode 0600: copy it into the
client's bundle folder once the owner has created it) and
DIR/client-I.public.json (give it to the owner, who passes all clients'
files to 'flhe owner init --client-keys'). Never overwrites a file.`,
  options: {
    shard: int({
      placeholder: "I",
      help: "client number",
      range: rules.integers(1, rules.CLIENTS.max),
    }),
    dir: path({ placeholder: "DIR", help: "folder to write the two files into", default: "keys" }),
  },
  async run(v) {
    const log = createLogger("keygen");
    if (v.shard === undefined) throw new FlheError("usage", "--shard: give the client number I");
    const id = `client-${v.shard}`;
    const { secretPath, publicPath } = await keygen(id, v.dir);
    log.info(`${id}: private keys in ${secretPath} (keep them; mode 0600)`);
    log.info(`${id}: public keys in ${publicPath} (give this file to the owner)`);
    return 0;
  },
});
