/**
 * Shared conversations: broadcasts and replies, gossiped conversation events, the ask flow,
 * artifacts, pluggable durable logs, compaction and retention.
 *
 * @module
 */
export { Conversations } from "./conversations.ts";
export { askSwarm, ASK_ENDPOINT, type AskSwarmOptions, type AskSwarmPort, type SwarmAnswer } from "./ask-swarm.ts";
export type { CompactOptions } from "./upkeep.ts";
export {
  ConversationEndpoint,
  type ConversationHost,
  type ConversationOptions,
  type ConversationStats,
  type EmitOptions,
  type SyncOptions,
  type SyncFailure,
  type SyncResult,
  type AskHandler,
  type AskInfo,
  type BroadcastRef,
} from "./contracts.ts";
export { registerConversationEndpoints } from "./endpoints.ts";
export { EventKind, makeEvent, parseEvent, compareEvents, type EventFields } from "./events.ts";
export { broadcastKwargs, broadcastTime, replyEventId, newBroadcast, type BroadcastReceived } from "./broadcast.ts";
export type { ConversationLog, MaybePromise } from "./log.ts";
export { MemoryConversationLog, DEFAULT_MEMORY_LOG_EVENTS, type MemoryLogOptions } from "./memory-log.ts";
export { SqliteConversationLog, type SqliteLogOptions } from "./sqlite-log.ts";
export {
  digestSummarizer,
  planCompaction,
  summaryEvent,
  defaultKeepRecent,
  MANUAL_KEEP_RECENT,
  type Summarizer,
  type CompactionLimits,
  type CompactionPlan,
} from "./compaction.ts";
export {
  ArtifactStore,
  agentCard,
  AGENT_CARD_MIME_TYPE,
  canonicalBytes,
  defaultEncoding,
  type ArtifactDescriptor,
  type ArtifactDocument,
  type ArtifactEncoding,
  type ArtifactOptions,
  type AgentCardSource,
  type AgentCard,
} from "./artifacts.ts";
export { canonicalJson, canonicalJsonBytes, pythonJsonNumber, pythonJsonString, compareCodePoints } from "./canonical-json.ts";
export { uuidv7, isUuidv7, uuidv7TimeMs } from "./uuid.ts";
