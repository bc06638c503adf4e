/**
 * The wire: a versioned binary frame format, typed and checked messages,
 * and WebSocket channels with limits (flhe's own RFC 6455 implementation
 * over Deno TCP and TLS connections).
 *
 * @module
 */

export * from "./frame.ts";
export * from "./messages.ts";
export {
  type Channel,
  type ChannelOptions,
  createChannel,
  type CreateChannelOptions,
  type MessageLimits,
  refuse,
} from "./channel.ts";
export { connect, type ConnectOptions } from "./connect.ts";
export {
  listen,
  LISTEN_DEFAULTS,
  type Listener,
  type ListenerStats,
  type ListenOptions,
} from "./listener.ts";
