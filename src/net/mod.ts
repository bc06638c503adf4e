/**
 * The wire: a versioned binary frame format, typed and checked messages,
 * and WebSocket channels (Deno's built-in server and client).
 *
 * @module
 */

export * from "./frame.ts";
export * from "./messages.ts";
export * from "./channel.ts";
