/**
 * `synapse-p2p/internal`: the wire and transport internals, for tests, benchmarks and tools that
 * speak the protocol byte by byte. Not the public API: these names may change in any release.
 * Applications use the main entry (`synapse-p2p`).
 *
 * @example
 * import { encode, FrameDecoder, request } from "synapse-p2p/internal";
 * const payload = encode(request("_synapse.ping", "1", [], {}));
 *
 * @module
 */

// Wire: MessagePack codec, the hot-path codec, frames, messages.
export { encode, decode, decodeGeneral } from "./wire/codec.ts";
export { fastEncodeInto, fastDecode, NOT_FAST, NOT_PLAIN, NO_ROOM } from "./wire/fast-codec.ts";
export { FrameDecoder, DEFAULT_MAX_FRAME, HEADER_SIZE } from "./wire/frame.ts";
export { request, okResponse, errorResponse, parseMessage } from "./wire/messages.ts";

// Transport: connections, the listener, pooled channels and the hello extension.
export { Connection } from "./transport/connection.ts";
export { Listener, MAX_IN_FLIGHT } from "./transport/listener.ts";
export { serverLimits, defaultMaxConnections } from "./transport/server-limits.ts";
export { descriptorLimit, descriptorShortage } from "./transport/descriptors.ts";
export { connectFailure } from "./transport/connect-failure.ts";
export { PeerChannel } from "./transport/peer-channel.ts";
export { ClientConnection } from "./transport/client-connection.ts";
export { peekResponseId, GOING_AWAY, HELLO_ENDPOINT, HELLO_FEATURES, RESPONSE_ID_PEEK } from "./wire/protocol.ts";

// RPC: argument binding and the built-in endpoints.
export { bindArguments, readBroadcast } from "./rpc/endpoints.ts";
export { parameterNames } from "./rpc/params.ts";
export { splitArguments, responseError } from "./rpc/client.ts";
export { registerCoreBuiltins, IMPLEMENTATION, VERSION } from "./rpc/builtins.ts";

export type { FrameSink, FrameDecoderOptions } from "./wire/frame.ts";
export type { RequestMessage, ResponseMessage, IncomingMessage, WireError } from "./wire/messages.ts";
export type { ConnectionEvents } from "./transport/connection.ts";
export type { ListenerOptions, RequestHandler } from "./transport/listener.ts";
export type { ServerLimitOptions, ServerLimits } from "./transport/server-limits.ts";
export type { CallSettings, ResponseErrorMapper } from "./transport/call-settings.ts";
export type { BroadcastObserver, BuiltinHandler } from "./rpc/endpoints.ts";
export type { BuiltinHost } from "./rpc/builtins.ts";
