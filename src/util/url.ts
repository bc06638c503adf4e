/**
 * Where a URL points: loopback addresses never leave the machine, so plain
 * `ws://` is acceptable there and nowhere else by default.
 *
 * @module
 */

/**
 * Whether a URL's host is a loopback address (127.0.0.0/8, ::1, localhost).
 *
 * @param url An absolute URL.
 * @returns `true` for loopback hosts.
 *
 * @example Usage
 * ```ts
 * import { isLoopbackUrl } from "./url.ts";
 * isLoopbackUrl("ws://127.0.0.1:8765"); // true
 * isLoopbackUrl("ws://10.0.0.2:8765"); // false
 * ```
 */
export function isLoopbackUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return false;
  }
  return isLoopbackHost(host);
}

/**
 * Whether a host name or address is loopback (127.0.0.0/8, ::1, localhost),
 * with or without IPv6 brackets.
 *
 * @param hostname A host name or address.
 * @returns `true` for loopback hosts.
 *
 * @example Usage
 * ```ts
 * import { isLoopbackHost } from "./url.ts";
 * isLoopbackHost("[::1]"); // true
 * isLoopbackHost("0.0.0.0"); // false
 * ```
 */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h);
}
