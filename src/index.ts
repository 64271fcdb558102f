/**
 * synapse-p2p for Bun: the swarm layer agents stand on. Nodes with names, swarms, peers,
 * capabilities and RPC endpoints over length-prefixed MessagePack on TCP, wire-compatible with the
 * Python `synapse-p2p`.
 *
 * @example
 * import { Node, Client } from "synapse-p2p";
 * const node = new Node({ name: "calculator", port: 9999 });
 * node.endpoint("sum", { description: "Add two numbers" }, (a: number, b: number) => a + b);
 * await node.start();
 * console.log(await new Client("127.0.0.1", 9999).call("sum", 1, 2)); // 3
 *
 * @module
 */
export { Node } from "./node.ts";
export { Client, kw } from "./rpc/client.ts";
export { Pool, defaultPool, sharedPool } from "./transport/pool.ts";
export { bunTransport } from "./transport/bun-transport.ts";
export { MemoryNetwork } from "./transport/memory-transport.ts";
export { encode, decode } from "./wire/codec.ts";
export { FrameDecoder, DEFAULT_MAX_FRAME, HEADER_SIZE } from "./wire/frame.ts";
export { request, okResponse, errorResponse, parseMessage } from "./wire/messages.ts";
export { Emitter, waitFor } from "./events.ts";
export {
  Membership,
  PeerTable,
  MdnsDiscovery,
  DEFAULT_SEED_PORT,
  SERVICE_TYPE,
  DIFFERENT_SWARM,
  DIFFERENT_TEAM,
  parseSeed,
  parsePeer,
  instanceName,
} from "./membership/index.ts";
export {
  Scheduler,
  PeriodicTask,
  ScheduleError,
  every,
  cron,
  solar,
  toSchedule,
  SOLAR_EVENTS,
} from "./schedule/index.ts";
export {
  Conversations,
  ConversationEndpoint,
  EventKind,
  MemoryConversationLog,
  SqliteConversationLog,
  ArtifactStore,
  agentCard,
  canonicalJson,
  canonicalJsonBytes,
  digestSummarizer,
  makeEvent,
  parseEvent,
  replyEventId,
  uuidv7,
  isUuidv7,
} from "./conversation/index.ts";
export { enableLogging, disableLogging, createLogger } from "./log.ts";
export {
  SynapseError,
  RemoteError,
  CallTimeoutError,
  ConnectionError,
  FrameTooLargeError,
  ProtocolError,
  EncodeError,
  EndpointError,
  ConfigError,
  ListenError,
  ErrorCode,
} from "./errors.ts";

export type { NodeOptions, NodeEvents } from "./node.ts";
export type {
  JoinOptions,
  MembershipEvents,
  MembershipOptions,
  MembershipStats,
  MdnsOptions,
  PeerEntry,
  PeerSource,
  Seed,
  SeedLike,
  SeedStatus,
} from "./membership/index.ts";
export type { ClientOptions, RequestOptions, KeywordArguments } from "./rpc/client.ts";
export type { PoolOptions } from "./transport/pool.ts";
export type { PeerMode } from "./transport/peer-channel.ts";
export type { Transport, SocketLike, SocketHandler, OpenHandler, DialOptions, ServeOptions, ServerHandle } from "./transport/socket.ts";
export type { MemoryNetworkOptions } from "./transport/memory-transport.ts";
export type { CallContext, EndpointOptions, Handler } from "./rpc/endpoints.ts";
export type { RemoteAddress } from "./wire/protocol.ts";
export type { RequestMessage, ResponseMessage, Kwargs, WireError } from "./wire/messages.ts";
export type { Peer, NodeInfo, Capability, Broadcast, NodeKind, ConversationEvent, BroadcastReply } from "./types.ts";
export type {
  ConversationHost,
  ConversationOptions,
  ConversationLog,
  EmitOptions,
  SyncOptions,
  AskHandler,
  AskInfo,
  BroadcastRef,
  BroadcastReceived,
  Summarizer,
  SqliteLogOptions,
  ArtifactDescriptor,
  ArtifactDocument,
  ArtifactEncoding,
  ArtifactOptions,
} from "./conversation/index.ts";
export type { LogLevel, LogSink, Logger } from "./log.ts";
export type {
  Schedule,
  ScheduleLike,
  EveryOptions,
  CronScheduleOptions,
  SolarEvent,
  SolarOptions,
  AddTaskOptions,
  TaskInfo,
  TaskFunction,
} from "./schedule/index.ts";
