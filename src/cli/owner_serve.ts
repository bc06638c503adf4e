/**
 * `flhe owner serve`: the owner's decryption service.
 *
 * @module
 */

import { createLogger } from "../util/log.ts";
import { loadBundle } from "../federation/mod.ts";
import { runOwnerService } from "../parties/owner_service.ts";
import { type Command, defineCommand } from "./command.ts";
import { path } from "./option_kinds.ts";
import { bindAddress, readTls } from "./tls_files.ts";
import { hostOption, portOption, TLS_CERT, TLS_KEY, workersOption } from "./shared_options.ts";

/** `flhe owner serve`. */
export const ownerServe: Command = defineCommand({
  name: "owner serve",
  summary: "run the owner's decryption service (holds the secret key)",
  description: `
Runs the model owner's decryption service (owner mode): the only holder of
the secret key. The server forwards each round's encrypted aggregate; the
owner decrypts it once per round, only if at least the minimum number of
clients contributed, and returns the new global model sealed with AES-GCM
under the group key that only the owner and the clients hold. Exits after the
last round, leaving the final model in BUNDLE/state/.`,
  options: {
    bundle: path({ placeholder: "DIR", help: "the owner's bundle", default: "federation/owner" }),
    host: hostOption("ownerUrl", "address to bind"),
    port: portOption("ownerUrl"),
    workers: workersOption("decryption workers"),
    "tls-cert": TLS_CERT,
    "tls-key": TLS_KEY,
  },
  async run(v) {
    const bundle = await loadBundle(v.bundle);
    await runOwnerService({
      bundle,
      ...bindAddress({ host: v.host, port: v.port }, bundle.config.ownerUrl),
      workers: v.workers,
      tls: await readTls({ cert: v["tls-cert"], key: v["tls-key"] }, bundle.dir),
      log: createLogger("owner"),
    });
    return 0;
  },
});
