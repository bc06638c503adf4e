/**
 * `flhe serve`: the aggregation server.
 *
 * @module
 */

import { createLogger } from "../util/log.ts";
import { loadBundle } from "../federation/mod.ts";
import * as rules from "../federation/rules.ts";
import { runServer } from "../parties/server_setup.ts";
import { type Command, defineCommand } from "./command.ts";
import { checkRange, runtime } from "./options.ts";
import { flag, int, number, path, string } from "./option_kinds.ts";
import { bindAddress, readCa, readTls } from "./tls_files.ts";
import { hostOption, MAX_WAIT_SECONDS, portOption, TLS_CERT, TLS_KEY } from "./shared_options.ts";

/** `flhe serve`. */
export const serve: Command = defineCommand({
  name: "serve",
  summary: "run the aggregation server (public key only)",
  description: `
Runs the aggregation server with FedAvgHE: waits for the clients, runs the
rounds, multiplies the clients' ciphertexts (which adds their updates) and
returns the encrypted aggregate. It holds the public key only and never sees
a plaintext weight. In owner mode it has the owner service decrypt each
round's aggregate and relays the sealed model, which it cannot read.

Serves a read-only dashboard (round table, curves, clients) on its own port,
on loopback unless --dashboard-host says otherwise; then every request needs
the token in the URL the server prints once.`,
  options: {
    bundle: path({ placeholder: "DIR", help: "the server's bundle", default: "federation/server" }),
    host: hostOption(
      "serverUrl",
      "address to bind; 0.0.0.0 accepts clients from other machines",
    ),
    port: portOption("serverUrl"),
    history: path({
      placeholder: "FILE",
      help: "where to write the round history (JSON)",
      default: runtime("BUNDLE/history.json"),
    }),
    "round-timeout": number({
      placeholder: "SECONDS",
      help: "wait this long for a client's update or report",
      range: rules.reals(1, MAX_WAIT_SECONDS),
      default: 600,
    }),
    "min-clients": int({
      placeholder: "M",
      help: "fewest clients per round, at most the federation's clients (at least " +
        `${rules.MIN_PRIVATE_CLIENTS} in owner mode or with fedavg-he)`,
      range: rules.integers(1, rules.CLIENTS.max),
      default: runtime("the federation's minClients"),
    }),
    "min-available": int({
      placeholder: "N",
      help: "fewest connected clients before a round starts",
      range: rules.integers(1, rules.CLIENTS.max),
      default: runtime("--min-clients"),
    }),
    linger: number({
      placeholder: "SECONDS",
      help: "after the last round, stay up to this long for clients not yet told the " +
        "federation is done (a client restarted late gets the final model)",
      range: rules.reals(0, MAX_WAIT_SECONDS),
      default: 30,
    }),
    "tls-cert": TLS_CERT,
    "tls-key": TLS_KEY,
    ca: path({
      placeholder: "FILE",
      help: "trust this CA (PEM) for a wss:// owner service",
      default: runtime("BUNDLE/ca.pem if the owner URL is wss://"),
    }),
    "dashboard-port": int({
      placeholder: "N",
      help: "port of the read-only dashboard, https with TLS (0: any free port)",
      range: rules.integers(0, 65_535),
      default: 0,
    }),
    "dashboard-host": string({
      placeholder: "ADDR",
      help: "address of the dashboard; any but loopback requires the token it prints",
      default: "127.0.0.1",
    }),
    "no-dashboard": flag("do not serve the dashboard"),
  },
  async run(v) {
    const bundle = await loadBundle(v.bundle);
    const { config } = bundle;
    const floor = rules.minClientsFloor(config.mode, config.strategy);
    const minClients = v["min-clients"];
    if (minClients !== undefined) {
      checkRange("min-clients", minClients, rules.integers(floor, config.clients));
    }
    const minAvailable = v["min-available"];
    if (minAvailable !== undefined) {
      checkRange("min-available", minAvailable, rules.integers(1, config.clients));
    }
    const tls = await readTls({ cert: v["tls-cert"], key: v["tls-key"] }, bundle.dir);
    await runServer({
      bundle,
      ...bindAddress({ host: v.host, port: v.port }, config.serverUrl),
      historyPath: v.history ?? `${bundle.dir}/history.json`,
      stateDir: `${bundle.dir}/state`,
      roundTimeoutMs: v["round-timeout"] * 1000,
      lingerMs: v.linger * 1000,
      minClients,
      minAvailable,
      tls,
      ownerCaCerts: await readCa(v.ca, bundle.dir, config.ownerUrl),
      dashboard: v["no-dashboard"]
        ? undefined
        : { hostname: v["dashboard-host"], port: v["dashboard-port"] },
      log: createLogger("server"),
    });
    return 0;
  },
});
