/**
 * Who may read the dashboard. On a loopback address, anyone on this machine
 * (and, against DNS rebinding, only requests addressed to a loopback host
 * name). Anywhere else, only a request carrying the dashboard's token, in
 * the `token` query parameter or in the cookie the dashboard sets on the
 * first such request; tokens are compared in constant time.
 *
 * @module
 */

import { isLoopbackHost } from "../util/url.ts";
import { toHex } from "../util/hex.ts";

/** Bytes of a dashboard token (hex: twice as many characters). */
export const TOKEN_BYTES = 24;

/**
 * Whether an address to bind is loopback only: `localhost`, `127.0.0.0/8`
 * or `::1`.
 *
 * @param hostname The address to bind.
 * @returns Whether only this machine can connect.
 *
 * @example Usage
 * ```ts
 * import { isLoopback } from "./access.ts";
 * isLoopback("127.0.0.1"); // true
 * isLoopback("0.0.0.0"); // false
 * ```
 */
export function isLoopback(hostname: string): boolean {
  return isLoopbackHost(hostname);
}

/**
 * A new random dashboard token.
 *
 * @returns {@linkcode TOKEN_BYTES} random bytes, hex.
 *
 * @example Usage
 * ```ts
 * import { createToken } from "./access.ts";
 * createToken().length; // 48
 * ```
 */
export function createToken(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(TOKEN_BYTES)));
}

/**
 * Compares a given token with the expected one in time that does not depend
 * on where they differ (only on the expected token's length, which is public).
 *
 * @param given What the request carried.
 * @param expected The dashboard's token.
 * @returns Whether they are equal.
 *
 * @example Usage
 * ```ts
 * import { tokensEqual } from "./access.ts";
 * tokensEqual("abc", "abc"); // true
 * ```
 */
export function tokensEqual(given: string, expected: string): boolean {
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i] ?? 0) ^ b[i]!;
  return diff === 0;
}

/**
 * The name of the dashboard's cookie on a port: browsers share cookies
 * across the ports of a host, so the port is part of the name.
 *
 * @param port The dashboard's port.
 * @returns The cookie name.
 *
 * @example Usage
 * ```ts
 * import { cookieName } from "./access.ts";
 * cookieName(8080); // "flhe_dashboard_8080"
 * ```
 */
export function cookieName(port: number): string {
  return `flhe_dashboard_${port}`;
}

function cookieValue(request: Request, name: string): string | undefined {
  const header = request.headers.get("cookie") ?? "";
  for (const part of header.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return rest.join("=");
  }
  return undefined;
}

/** How the dashboard checks requests. */
export interface AccessPolicy {
  /** The token every request must carry (none on loopback). */
  readonly token?: string;
  /** The bound port (names the cookie). */
  readonly port: number;
}

/** What {@linkcode checkAccess} decided. */
export type AccessDecision =
  | { readonly allowed: true; readonly viaQuery: boolean }
  | { readonly allowed: false; readonly status: 401 | 421; readonly reason: string };

function hostIsLoopback(request: Request): boolean {
  const host = request.headers.get("host") ?? "";
  const name = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0]!;
  return isLoopback(name);
}

/**
 * Checks one request against the policy.
 *
 * @param request The request.
 * @param policy The token, if any, and the port.
 * @returns Allowed (and whether the token came in the query), or the status and why not.
 *
 * @example Usage
 * ```ts
 * import { checkAccess } from "./access.ts";
 * const request = new Request("http://127.0.0.1:8000/?token=x");
 * checkAccess(request, { token: "x", port: 8000 }).allowed; // true
 * ```
 */
export function checkAccess(request: Request, policy: AccessPolicy): AccessDecision {
  if (policy.token === undefined) {
    return hostIsLoopback(request)
      ? { allowed: true, viaQuery: false }
      : { allowed: false, status: 421, reason: "this dashboard answers loopback host names only" };
  }
  const query = new URL(request.url).searchParams.get("token");
  if (query !== null && tokensEqual(query, policy.token)) return { allowed: true, viaQuery: true };
  const cookie = cookieValue(request, cookieName(policy.port));
  if (cookie !== undefined && tokensEqual(cookie, policy.token)) {
    return { allowed: true, viaQuery: false };
  }
  return {
    allowed: false,
    status: 401,
    reason: "open the URL with ?token= that the server printed",
  };
}
