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
 * This entry is the public API: every name is listed here, and every type a public method takes
 * or returns is exported. Durations are in seconds unless a name says otherwise (`timeoutMs`).
 * The wire and transport internals (codec, frame decoder, message builders, connections) are
 * behind `synapse-p2p/internal`, for tests and tools; they may change in any release.
 *
 * @module
 */

// The node and calling it.
export { Node } from "./node.ts";
export { METRICS_ENDPOINT, TRAFFIC_GROUPS, endpointGroup } from "./node-metrics.ts";
export { Client, kw } from "./rpc/client.ts";
export { EndpointRegistry } from "./rpc/endpoints.ts";
export { Pool, defaultPool, sharedPool } from "./transport/pool.ts";
export { bunTransport } from "./transport/bun-transport.ts";
export { MemoryNetwork } from "./transport/memory-transport.ts";
export { NodeIdentity } from "./security/identity.ts";
export { SwarmKeyring, generateSwarmKey } from "./security/keyring.ts";
export { secureTransport, isSecureTransport } from "./security/secure-transport.ts";
export { SignedRecords, SIGNED_FEATURE, verifySignature } from "./security/records.ts";
export { readPeer, readNodeInfo } from "./wire/peer.ts";
export { Emitter, waitFor, reportUserError } from "./events.ts";

// Membership: seeds, peers, heartbeats, mDNS.
export {
  Membership,
  PeerTable,
  MdnsDiscovery,
  DEFAULT_SEED_PORT,
  SERVICE_TYPE,
  DIFFERENT_SWARM,
  DIFFERENT_TEAM,
  parseSeed,
  instanceName,
} from "./membership/index.ts";

// Periodic tasks.
export {
  Scheduler,
  PeriodicTask,
  IntervalSchedule,
  CronSchedule,
  SolarSchedule,
  every,
  cron,
  solar,
  isSchedule,
  toSchedule,
  formatDuration,
  SOLAR_EVENTS,
} from "./schedule/index.ts";

// Conversations: broadcasts, events, ask, artifacts, logs.
export {
  Conversations,
  ConversationEndpoint,
  EventKind,
  MemoryConversationLog,
  SqliteConversationLog,
  ArtifactStore,
  agentCard,
  checkArtifact,
  AGENT_CARD_MIME_TYPE,
  canonicalJson,
  canonicalJsonBytes,
  digestSummarizer,
  makeEvent,
  parseEvent,
  replyEventId,
  uuidv7,
  isUuidv7,
} from "./conversation/index.ts";

// Teams: one worker per task, under a lease.
export { Team, Worker, TaskKind } from "./teams/index.ts";

// Logging.
export { enableLogging, disableLogging, createLogger } from "./log.ts";

// Errors.
export {
  ErrorCode,
  isErrorCode,
  SynapseError,
  RemoteError,
  CallTimeoutError,
  WaitTimeoutError,
  ConnectionError,
  FrameTooLargeError,
  ProtocolError,
  EncodeError,
  EndpointError,
  ConfigError,
  ListenError,
  ScheduleError,
  UsageError,
  TeamTaskError,
  HandshakeError,
  SecureChannelError,
  SignatureError,
  UnsupportedError,
} from "./errors.ts";

export type { NodeOptions, NodeEvents, NodeEventName, NodeEventMap, ConversationKindEvent } from "./node.ts";
export type { NodeMetrics, TrafficCounts, TrafficGroup, Counters } from "./node-metrics.ts";
export type { TrafficMeter } from "./transport/traffic.ts";
export type { ClientOptions, RequestOptions, KeywordArguments } from "./rpc/client.ts";
export type { CallContext, Endpoint, EndpointOptions, Handler } from "./rpc/endpoints.ts";
export type { RemoteAddress } from "./wire/protocol.ts";
export type { Kwargs } from "./wire/messages.ts";
export type { DroppedListener, PoolOptions } from "./transport/pool.ts";
export type { PeerMode } from "./transport/peer-channel.ts";
export type { Transport, SocketLike, SocketHandler, OpenHandler, DialOptions, ServeOptions, ServerHandle } from "./transport/socket.ts";
export type { MemoryNetworkOptions } from "./transport/memory-transport.ts";
export type { EmitterListener, EmitterOptions, UserErrorHandler } from "./events.ts";
export type { SwarmKeyInput } from "./security/keyring.ts";
export type { SwarmKeyOption } from "./security/closed-swarm.ts";
export type { SecureSocket, SecureTransport, SecureTransportOptions } from "./security/secure-transport.ts";
export type { HandshakeFailure, SignatureFailure } from "./errors.ts";
export type { Peer, NodeInfo, Capability, Broadcast, NodeKind, ConversationEvent, BroadcastReply } from "./types.ts";
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
  StopOptions,
  UpsertResult,
} from "./membership/index.ts";
export type {
  Schedule,
  ScheduleLike,
  EveryOptions,
  CronScheduleOptions,
  SolarEvent,
  CanonicalSolarEvent,
  SolarOptions,
  SchedulerOptions,
  AddTaskOptions,
  TaskInfo,
  TaskFunction,
} from "./schedule/index.ts";
export type {
  ConversationHost,
  ConversationOptions,
  ConversationLog,
  MaybePromise,
  EmitOptions,
  EventFields,
  SyncOptions,
  SyncFailure,
  SyncResult,
  AskHandler,
  AskInfo,
  BroadcastRef,
  BroadcastReceived,
  Summarizer,
  SqliteLogOptions,
  AgentCardSource,
  AgentCard,
  AskSwarmOptions,
  SwarmAnswer,
  CompactOptions,
  ArtifactDescriptor,
  ArtifactDocument,
  ArtifactSignature,
  ArtifactEncoding,
  ArtifactOptions,
} from "./conversation/index.ts";
export type {
  TeamOptions,
  OfferOptions,
  TeamWaitOptions,
  WorkerOptions,
  Assignment,
  TaskHandler,
  TeamTask,
  TeamTaskStatus,
  TaskProgress,
  TaskAssignee,
  TeamTaskEvent,
  WorkerTaskEvent,
  TeamEvents,
  TeamHost,
} from "./teams/index.ts";
export type { LogLevel, LogSink, Logger } from "./log.ts";
export type { ConnectionErrorOptions, WireErrorCode } from "./errors.ts";
