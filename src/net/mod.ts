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
  refuse,
} from "./channel.ts";
export type { MessageLimits } from "./channel_limits.ts";
export { connect, type ConnectOptions } from "./connect.ts";
export { listen, type Listener, type ListenerStats } from "./listener.ts";
export { LISTEN_DEFAULTS, type ListenOptions } from "./listen_options.ts";
