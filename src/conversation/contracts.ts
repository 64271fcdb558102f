/**
 * The conversation layer's contracts: its endpoint names, what it needs from its node
 * ({@link ConversationHost}), its options, and the small types its methods take.
 *
 * @module
 */
import type { Broadcast, ConversationEvent, Peer } from "../types.ts";
import type { Kwargs } from "../wire/messages.ts";
import { ConfigError } from "../errors.ts";
import { checkKeepKinds, checkLimits, defaultKeepRecent, digestSummarizer, type Summarizer } from "./compaction.ts";
import type { ConversationLog } from "./log.ts";
import type { SignedRecords } from "../security/records.ts";

/** Endpoint names of the conversation layer (PROTOCOL.md). */
export const ConversationEndpoint = {
  Reply: "_synapse.broadcast.reply",
  Event: "_synapse.conversation.event",
  Sync: "_synapse.conversation.sync",
  List: "_synapse.conversation.list",
  /** Bun extension (hello feature `batch`): many events and replies in one call, see dissemination.ts. */
  Batch: "_synapse.conversation.batch",
} as const;

/** What the conversation layer needs from its node. */
export interface ConversationHost {
  /** This node as a Peer record. */
  self(): Peer;
  /** Known peers (never self). */
  peers(): Peer[];
  /** How many peers {@link peers} would list, without the copies it makes (default: its length). */
  peerCount?(): number;
  /** The ids of the peers {@link peers} would list, without copying their records (default: from {@link peers}). */
  peerIds?(): string[];
  /** A number that changes whenever a peer is added to or removed from {@link peers} (absent: unknown). */
  peersVersion?(): number;
  /** Why `peer` may not take part (different swarm or team), or null when it may. */
  admit(peer: Peer): string | null;
  /** Call `endpoint` on a peer; rejects on any failure. */
  call(peer: Pick<Peer, "address" | "port">, endpoint: string, args: unknown[], kwargs: Kwargs): Promise<unknown>;
  /** Emit a node event (never throws). */
  emit(event: string, payload: unknown): void;
  /**
   * Whether the peer pages conversation sync and list (it offered the `sync_pages` hello feature):
   * true or false once this node has a connection to it, null before (default: always false, the
   * plain answers every peer gives).
   */
  pagesSync?(peer: Pick<Peer, "address" | "port">): boolean | null;
  /**
   * How this node signs and checks records (docs/security.md). Default: it signs nothing and
   * accepts unsigned records, as a Python node does.
   */
  records?: SignedRecords;
  /**
   * Whether the peer takes a signature as the Bun-only `sig` keyword argument (it offered the
   * `signed` hello feature): true or false once this node has a connection to it, null before.
   */
  signs?(peer: Pick<Peer, "address" | "port">): boolean | null;
  /**
   * Whether the peer takes `_synapse.conversation.batch`: true when it offered the `batch` hello
   * feature on the connection this node has to it, false when it did not (every Python peer), null
   * before this node has a connection to it (default: always false, no batching).
   */
  batches?(peer: Pick<Peer, "address" | "port">): boolean | null;
  /**
   * Whether the peer takes record MACs (it offered the `mac` hello feature, docs/security.md#record-macs):
   * true or false once this node has a connection to it, null before (default: never).
   */
  macs?(peer: Pick<Peer, "address" | "port">): boolean | null;
  /**
   * Whether the peer takes batched replies by reference (it offered the `reply_ref` hello feature,
   * docs/protocol.md): true or false once this node has a connection to it, null before (default: never).
   */
  replyRefs?(peer: Pick<Peer, "address" | "port">): boolean | null;
  /**
   * Whether the peer takes a batch's items as bytes (it offered the `item_bytes` hello feature,
   * docs/protocol.md): true or false once this node has a connection to it, null before (default: never).
   */
  itemBytes?(peer: Pick<Peer, "address" | "port">): boolean | null;
  /**
   * Whether the peer takes windowed digests (it offered the `have_window` hello feature,
   * docs/protocol.md): true or false once this node has a connection to it, null before (default: never).
   */
  haveWindow?(peer: Pick<Peer, "address" | "port">): boolean | null;
  /**
   * Whether the peer sends the replies to its broadcasts down a reply tree, and takes tree calls (it
   * offered the `reply_tree` hello feature, docs/protocol.md): true or false once this node has a
   * connection to it, null before (default: never).
   */
  replyTree?(peer: Pick<Peer, "address" | "port">): boolean | null;
}

/** Options of the conversation layer (node options `conversation*`). Times in seconds. */
export interface ConversationOptions {
  /** Where events are kept (default: a new {@link MemoryConversationLog}). */
  log?: ConversationLog;
  /** Compact a conversation once it holds more than this many events (default: never). */
  maxEvents?: number | null;
  /** Newest events kept verbatim by compaction (default: min(10, maxEvents / 2)). */
  keepRecent?: number;
  /**
   * Event kinds compaction always keeps verbatim, besides the opening message (default none, as
   * Python). A layer whose state lives in its events lists them, e.g. `["task.offer"]`.
   */
  keepKinds?: string[];
  /** Prune conversations quiet for this long, and refuse events older than this (default: keep forever). */
  retention?: number | null;
  /**
   * How many peers a node relays a new event or reply to. Default: all of them (flooding, as Python
   * nodes do). A small number (3 to 5) keeps traffic linear in the swarm size: the author still sends
   * to every peer it knows, relays only cover peers the author did not reach.
   */
  gossipFanout?: number;
  /**
   * Seconds between two dissemination rounds among Bun peers (default {@link DEFAULT_BATCH_INTERVAL}):
   * each round makes one `_synapse.conversation.batch` call to each of `batchFanout` random Bun
   * peers, carrying every new event and reply they are not known to have (docs/conversations.md).
   * `null`: no batching, every peer gets per-event calls (flooding, or `gossipFanout`), as Python
   * nodes do. Python peers always get per-event calls.
   */
  batchInterval?: number | null;
  /** Bun peers called per dissemination round (default {@link DEFAULT_BATCH_FANOUT}). */
  batchFanout?: number;
  /**
   * Send the replies to this node's broadcasts on down a reply tree, and let the origin of another
   * Bun node's broadcast do so with this node's reply (default true; hello feature `reply_tree`,
   * docs/conversations.md#the-reply-tree). `false`: replies spread from their repliers by the
   * push-pull rounds alone. Only with batching (`batchInterval` not null).
   */
  replyTree?: boolean;
  /** Text of compaction summaries (default: {@link digestSummarizer}). */
  summarizer?: Summarizer;
  /**
   * Seconds: compaction calls the summarizer at most once per conversation in this time (default
   * {@link DEFAULT_SUMMARIZER_INTERVAL}); sooner, it folds with {@link digestSummarizer}. 0: no limit.
   */
  summarizerInterval?: number;
}

/**
 * Default seconds between two summarizer calls for one conversation's automatic compaction: a
 * summarizer may be an LLM call (seconds and money), and a forged burst of events would otherwise
 * trigger one every `maxEvents - keepRecent - 2` events.
 */
export const DEFAULT_SUMMARIZER_INTERVAL = 60;

/** Default seconds between two dissemination rounds (see {@link ConversationOptions.batchInterval}). */
export const DEFAULT_BATCH_INTERVAL = 0.02;

/** Default Bun peers called per dissemination round. */
export const DEFAULT_BATCH_FANOUT = 1;

/** Options of {@link Conversations.emit} (and of `ack`, whose parent defaults to the nonce). */
export interface EmitOptions {
  /** The event this one answers (for an `ack` or `reply`: the nonce). */
  parentId?: string | null;
  metadata?: Record<string, unknown>;
}

/** Options of {@link Conversations.sync}. */
export interface SyncOptions {
  /** Only events with `created_at` after this (float Unix seconds; default 0: everything). */
  since?: number;
  /**
   * Largest page, in bytes of events, asked of a Bun peer that pages (default and maximum: the 4 MiB
   * frame limit less 64 KiB for the envelope; at least 1024). Python peers are not asked for pages.
   */
  pageBytes?: number;
}

/** A conversation a full sync could not fetch, and why. */
export interface SyncFailure {
  conversation_id: string;
  /** The error's message. */
  error: string;
}

/**
 * What a sync returns: the events that were new here (an array, as before), and the conversations
 * a full sync could not fetch (`failed`; always empty for a one-conversation sync, which throws).
 * `failed` is always set on the result of a sync; it is typed optional so that a plain array of
 * events (a test's expectation, a caller's own value) still passes for a SyncResult.
 */
export type SyncResult = ConversationEvent[] & { readonly failed?: SyncFailure[] };

/** What the ask handler learns besides the task and context. */
export interface AskInfo {
  /** The broadcast the ask came in, or null for a direct `_node.ask`. */
  broadcast: Broadcast | null;
}

/** The default task handler of a node (`node.ask(handler)`). */
export type AskHandler = (task: string, context: Record<string, unknown>, info: AskInfo) => unknown;

/** A broadcast, or its nonce. */
export type BroadcastRef = Broadcast | string;

/** The nonce of a broadcast reference. @throws {ConfigError} for anything but a Broadcast or a non-empty string. */
export function nonceOf(ref: BroadcastRef): string {
  const nonce = typeof ref === "string" ? ref : ref?.nonce;
  if (typeof nonce !== "string" || nonce.length === 0) throw new ConfigError("expected a Broadcast or a nonce string");
  return nonce;
}

/** {@link ConversationOptions} checked, with their defaults filled in. */
export interface ConversationSettings {
  maxEvents: number | null;
  keepRecent: number;
  keepKinds: readonly string[];
  retention: number | null;
  gossipFanout: number;
  batchInterval: number | null;
  batchFanout: number;
  replyTree: boolean;
  summarizer: Summarizer;
  summarizerInterval: number;
}

/**
 * Check the conversation options and fill in their defaults.
 *
 * @throws {ConfigError} for limits compaction cannot keep, a retention that is not a positive number
 * of seconds, a summarizer interval under 0, a fan-out under 1, or a batch interval outside (0, 60] s.
 */
export function conversationSettings(options: ConversationOptions): ConversationSettings {
  const maxEvents = options.maxEvents ?? null;
  const keepRecent = options.keepRecent ?? (maxEvents === null ? 10 : defaultKeepRecent(maxEvents));
  if (maxEvents !== null) checkLimits(maxEvents, keepRecent);
  const retention = options.retention ?? null;
  if (retention !== null && !(typeof retention === "number" && retention > 0)) {
    throw new ConfigError(`conversationRetention must be a positive number of seconds or null, got ${String(retention)}`);
  }
  const interval = options.summarizerInterval ?? DEFAULT_SUMMARIZER_INTERVAL;
  if (!(typeof interval === "number" && interval >= 0 && Number.isFinite(interval))) {
    throw new ConfigError(`conversationSummarizerInterval must be a number of seconds >= 0, got ${String(interval)}`);
  }
  const fanout = options.gossipFanout ?? Number.POSITIVE_INFINITY;
  if (!(fanout >= 1)) throw new ConfigError(`gossipFanout must be at least 1, got ${String(fanout)}`);
  const batchInterval = options.batchInterval === undefined ? DEFAULT_BATCH_INTERVAL : options.batchInterval;
  if (batchInterval !== null && !(typeof batchInterval === "number" && batchInterval > 0 && batchInterval <= 60)) {
    throw new ConfigError(`conversationBatchInterval must be a number of seconds in (0, 60] or null, got ${String(batchInterval)}`);
  }
  const batchFanout = options.batchFanout ?? DEFAULT_BATCH_FANOUT;
  if (!(Number.isInteger(batchFanout) && batchFanout >= 1)) throw new ConfigError(`conversationBatchFanout must be an integer >= 1, got ${String(batchFanout)}`);
  const replyTree = options.replyTree ?? true;
  if (typeof replyTree !== "boolean") throw new ConfigError(`conversationReplyTree must be true or false, got ${String(replyTree)}`);
  return {
    maxEvents,
    batchInterval,
    batchFanout,
    replyTree: replyTree && batchInterval !== null,
    keepRecent,
    keepKinds: checkKeepKinds(options.keepKinds),
    retention,
    gossipFanout: fanout === Number.POSITIVE_INFINITY ? fanout : Math.floor(fanout),
    summarizer: options.summarizer ?? digestSummarizer,
    summarizerInterval: interval,
  };
}
