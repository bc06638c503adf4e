/**
 * A free TCP port on loopback, for parties started on this machine.
 *
 * @module
 */

/**
 * Asks the system for a free loopback port. Another program may take it
 * before it is used: fine for local runs and tests, not for services.
 *
 * @returns The port.
 *
 * @example Usage
 * ```ts
 * import { freePort } from "./free_port.ts";
 * const port = freePort();
 * ```
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}
