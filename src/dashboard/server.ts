/**
 * The dashboard's HTTP server, on its own port beside `flhe serve`: the
 * page (`/`), its files (`/assets/...`), the state as JSON (`/state`) and as
 * a stream of Server-Sent Events (`/events`: the whole state first, then
 * each change). Read-only (GET only), bound to loopback unless
 * told otherwise, and then only with a token (`access.ts`); over https with
 * the server's certificate when the server uses TLS.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import type { Logger } from "../util/log.ts";
import type { RoundRecord, ServerEvent, ServerObserver } from "../rounds/mod.ts";
import { checkAccess, cookieName, createToken, isLoopback } from "./access.ts";
import { type Assets, loadAssets } from "./assets.ts";
import { ASSET_PATHS, livePage } from "./page.ts";
import { createSseHub, sseEvent, type SseHub } from "./sse.ts";
import { createDashboardState, type DashboardState, type FederationInfo } from "./state.ts";

/** Most pages that follow the live state at once. */
export const MAX_SUBSCRIBERS = 32;

/** Bytes queued for a page that does not read before it is dropped. */
export const MAX_QUEUED_BYTES = 1 << 20;

/** Options of {@linkcode startDashboard}. */
export interface DashboardOptions {
  /** Address to bind (a non-loopback address requires the token). */
  readonly hostname: string;
  /** Port (0: any free port). */
  readonly port: number;
  /** What the page shows of the federation. */
  readonly federation: FederationInfo;
  /** Rounds closed before this start (a resumed server's history). */
  readonly history?: readonly RoundRecord[];
  /** The server's TLS certificate and key: serve https. */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** Require this token even on loopback (default: a new one off loopback, none on it). */
  readonly token?: string;
  /** Most pages following the live state (default {@linkcode MAX_SUBSCRIBERS}). */
  readonly maxSubscribers?: number;
  /** Where the URL goes. */
  readonly log: Logger;
}

/** What the dashboard cost so far. */
export interface DashboardStats {
  /** Server events taken in. */
  readonly events: number;
  /** Milliseconds spent on them: state, JSON, queueing to every page. */
  readonly eventMs: number;
  /** Bytes of changes sent to each page that followed from the start. */
  readonly bytesPerPage: number;
  /** Bytes of first messages (the whole state), all pages together. */
  readonly firstBytes: number;
  /** Pages following now. */
  readonly pages: number;
  /** Pages refused (too many). */
  readonly refused: number;
}

/** A running dashboard. */
export interface Dashboard {
  /** The page's address, without the token. */
  readonly url: string;
  /** The bound port. */
  readonly port: number;
  /** The token requests need (off loopback), else `undefined`. */
  readonly token?: string;
  /** Give it to the server: takes in its events. Never throws. */
  readonly observe: ServerObserver;
  /**
   * What it cost so far.
   *
   * @returns Counts, milliseconds and bytes.
   */
  stats(): DashboardStats;
  /** Ends every page's stream and stops listening. */
  close(): Promise<void>;
}

const SECURITY_HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; " +
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; " +
    "frame-ancestors 'none'",
};

function reply(body: string | null, status: number, type: string): Response {
  return new Response(body, {
    status,
    headers: { ...SECURITY_HEADERS, "content-type": `${type}; charset=utf-8` },
  });
}

function assetResponse(path: string, assets: Assets): Response | undefined {
  const files: Record<string, [string, string]> = {
    [ASSET_PATHS.uplotScript]: [assets.uplotScript, "text/javascript"],
    [ASSET_PATHS.uplotStyle]: [assets.uplotStyle, "text/css"],
    [ASSET_PATHS.pageScript]: [assets.pageScript, "text/javascript"],
    [ASSET_PATHS.pageStyle]: [assets.pageStyle, "text/css"],
  };
  const file = files[path.slice(1)];
  return file ? reply(file[0], 200, file[1]) : undefined;
}

interface Routes {
  readonly state: DashboardState;
  readonly hub: SseHub;
  readonly assets: Assets;
  readonly token?: string;
  readonly port: number;
  readonly secure: boolean;
}

function route(request: Request, r: Routes): Response {
  if (request.method !== "GET") return reply("read-only: GET only\n", 405, "text/plain");
  const access = checkAccess(request, { token: r.token, port: r.port });
  if (!access.allowed) return reply(`${access.reason}\n`, access.status, "text/plain");
  const path = new URL(request.url).pathname;
  if (access.viaQuery && path === "/") {
    // Trade the token in the address bar for a cookie, and drop it from the URL.
    const cookie = `${cookieName(r.port)}=${r.token}; Path=/; HttpOnly; SameSite=Strict` +
      (r.secure ? "; Secure" : "");
    return new Response(null, {
      status: 303,
      headers: { ...SECURITY_HEADERS, location: "/", "set-cookie": cookie },
    });
  }
  if (path === "/") return reply(livePage("flhe dashboard"), 200, "text/html");
  if (path === "/state") return reply(JSON.stringify(r.state.snapshot()), 200, "application/json");
  if (path === "/events") {
    const stream = r.hub.subscribe(() => sseEvent("snapshot", r.state.snapshot()));
    return stream ?? reply("too many dashboard pages open\n", 503, "text/plain");
  }
  return assetResponse(path, r.assets) ?? reply("not found\n", 404, "text/plain");
}

function displayHost(hostname: string): string {
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

function makeObserver(
  state: DashboardState,
  hub: SseHub,
  cost: { events: number; ms: number },
): ServerObserver {
  return (event: ServerEvent) => {
    const start = performance.now();
    try {
      const update = state.apply(event);
      if (update) hub.broadcast(sseEvent(update.type, update));
    } catch {
      // The server must never fail because of its dashboard.
    }
    cost.events++;
    cost.ms += performance.now() - start;
  };
}

/**
 * Starts the dashboard.
 *
 * @param options Address, federation, TLS, logger.
 * @returns The running dashboard; its URL (with `?token=` off loopback) is logged once.
 * @throws {FlheError} `unavailable` if the address cannot be bound; `input` if uplot is missing.
 *
 * @example Usage
 * ```ts
 * import { startDashboard } from "./server.ts";
 * import { createLogger } from "../util/log.ts";
 * const dashboard = await startDashboard({
 *   hostname: "127.0.0.1", port: 0, log: createLogger("server"),
 *   federation: { mode: "owner", strategy: "fedavg-he", keyBits: 2048, keyKind: "standard",
 *     fingerprint: "", rounds: 5, clients: 2 },
 * });
 * dashboard.observe({ type: "phase", round: 1, phase: "training" });
 * await dashboard.close();
 * ```
 */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const assets = await loadAssets();
  const token = options.token ?? (isLoopback(options.hostname) ? undefined : createToken());
  const state = createDashboardState(options.federation);
  for (const record of options.history ?? []) state.apply({ type: "round", record });
  const hub = createSseHub({
    maxSubscribers: options.maxSubscribers ?? MAX_SUBSCRIBERS,
    maxQueuedBytes: MAX_QUEUED_BYTES,
  });
  const cost = { events: 0, ms: 0 };
  const routes = { state, hub, assets, token, port: 0, secure: options.tls !== undefined };
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: options.hostname,
      port: options.port,
      ...(options.tls ? { cert: options.tls.cert, key: options.tls.key } : {}),
      onListen: () => {},
      onError: () => reply("internal error\n", 500, "text/plain"),
    }, (request) => route(request, routes));
  } catch (e) {
    hub.close();
    throw new FlheError(
      "unavailable",
      `dashboard: cannot listen on ${options.hostname}:${options.port} ` +
        `(${(e as Error).message}); --no-dashboard runs the server without it`,
    );
  }
  routes.port = server.addr.port;
  const url = `${options.tls ? "https" : "http"}://${
    displayHost(options.hostname)
  }:${server.addr.port}/`;
  logUrl(options, url, token);
  return {
    url,
    port: server.addr.port,
    token,
    observe: makeObserver(state, hub, cost),
    stats: () => {
      const s = hub.stats();
      return {
        events: cost.events,
        eventMs: cost.ms,
        bytesPerPage: s.broadcastBytes,
        firstBytes: s.firstBytes,
        pages: s.subscribers,
        refused: s.refused,
      };
    },
    async close() {
      hub.close();
      await server.shutdown();
    },
  };
}

function logUrl(options: DashboardOptions, url: string, token: string | undefined): void {
  if (token === undefined) {
    options.log.info(`dashboard: ${url}`);
    return;
  }
  // The only place the token is ever shown.
  options.log.info(`dashboard: ${url}?token=${token}`);
  if (!options.tls && !isLoopback(options.hostname)) {
    options.log.warn(
      "the dashboard is served over http off loopback: its token and page travel in clear " +
        "(serve with TLS, e.g. a federation made with `owner init --tls`)",
    );
  }
}
