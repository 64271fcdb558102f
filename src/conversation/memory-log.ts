/**
 * The default conversation log: in memory, gone when the process ends, and bounded: past
 * `maxEvents` stored events, whole conversations are dropped, the least recently active first, so
 * that peers cannot make a node without retention hold events without limit. A node that must keep
 * everything uses a durable log ({@link SqliteConversationLog}) or raises the bound.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import type { ConversationEvent } from "../types.ts";
import type { ConversationLog } from "./log.ts";
import { compareEvents } from "./events.ts";

interface Thread {
  /** Kept sorted by {@link compareEvents}. */
  events: ConversationEvent[];
  /** Ids compacted away. */
  forgotten: Set<string>;
  newest: number;
}

/** Binary search: index at which `event` keeps `list` sorted. */
function insertionPoint(list: ConversationEvent[], event: ConversationEvent): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareEvents(list[mid]!, event) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Whether a reply's id is the pair id `<nonce>~<replier id>` its node files it under (the nonce,
 * its parent, holding no `~`: the first `~` of the id ends it).
 */
function isPairId(event: ConversationEvent): boolean {
  if (event.kind !== "reply") return false;
  const id = event.event_id;
  const nonce = event.parent_id;
  const peerId = event.peer?.id;
  return (
    typeof nonce === "string" &&
    typeof peerId === "string" &&
    nonce.length > 0 &&
    id.length === nonce.length + 1 + peerId.length &&
    id.charCodeAt(nonce.length) === 0x7e &&
    id.startsWith(nonce) &&
    id.endsWith(peerId) &&
    nonce.indexOf("~") < 0
  );
}

/** Default of {@link MemoryLogOptions.maxEvents}. */
export const DEFAULT_MEMORY_LOG_EVENTS = 100_000;

/** Options of a {@link MemoryConversationLog}. */
export interface MemoryLogOptions {
  /**
   * Events kept in all (compacted ones not counted). Past it, the least recently active
   * conversations are dropped whole, as retention would drop them (default 100,000).
   */
  maxEvents?: number;
}

/** An in-memory {@link ConversationLog} (synchronous). */
export class MemoryConversationLog implements ConversationLog {
  /** The largest number of events kept. */
  readonly maxEvents: number;
  private readonly threads = new Map<string, Thread>();
  /** The ids of stored and forgotten events alike, but for replies' pair ids (in {@link pairs}). */
  private readonly ids = new Set<string>();
  /**
   * The ids of stored and forgotten replies filed under the pair form `<nonce>~<replier id>`
   * (`replyEventId`, broadcast.ts): by nonce, the repliers' ids. A node files every reply it learns
   * (200 a broadcast at 200 peers), and a set of whole ids had each one's 101 characters joined
   * into one string, hashed and kept (about 8% of the CPU of a 200-peer broadcast); the nonce and
   * the replier's id are strings the node holds already, and their hashes are kept with them.
   */
  private readonly pairs = new Map<string, Set<string>>();
  /** Ids in {@link ids} that hold a `~` (read as a pair id, one could name a filed reply): while none, a reply's id is not looked for there. */
  private tilded = 0;
  /** Conversation ids, least recently appended to first (the order they are dropped in). */
  private readonly recency = new Map<string, true>();
  /** The conversation appended to last (last in `recency` already: appending to it again moves nothing). */
  private newest: string | null = null;
  /** Events stored in all threads. */
  private total = 0;
  /** Conversations dropped to keep `maxEvents` (for stats and tests). */
  evicted = 0;

  constructor(options: MemoryLogOptions = {}) {
    const max = options.maxEvents ?? DEFAULT_MEMORY_LOG_EVENTS;
    if (!Number.isSafeInteger(max) || max < 1) throw new ConfigError(`maxEvents must be a positive integer, got ${String(max)}`);
    this.maxEvents = max;
  }

  append(event: ConversationEvent): boolean {
    return this.store(event, isPairId(event));
  }

  /**
   * {@link append} for a reply whose `event_id` its caller made the pair id of its `parent_id` and
   * `peer.id` (`replyEventId`'s `<nonce>~<replier id>`): the id is not read back, so the string
   * joined for it is neither copied into one piece nor kept so (a node files one per reply it learns).
   * For the conversation layer's reply book; anything else goes through {@link append}.
   *
   * @internal
   */
  appendReply(event: ConversationEvent): boolean {
    return this.store(event, true);
  }

  /** Store `event` (`pair`: its id is its reply's pair id). */
  private store(event: ConversationEvent, pair: boolean): boolean {
    // Called for every event stored (a node files one per reply it learns): the usual path short,
    // the rest in functions of their own, so that the optimizing compilers take it up early.
    // A reply's pair id goes by its nonce and replier (strings held already, hashed once), any other whole.
    if (!(pair ? this.addPair(event) : this.addId(event.event_id))) return false;
    const thread = this.threads.get(event.conversation_id) ?? this.open(event);
    if (this.newest !== event.conversation_id) this.used(event.conversation_id);
    this.total++;
    const list = thread.events;
    // Events mostly arrive in time order: append at the end without searching.
    if (list.length === 0 || compareEvents(list[list.length - 1]!, event) <= 0) list.push(event);
    else list.splice(insertionPoint(list, event), 0, event);
    if (event.created_at > thread.newest) thread.newest = event.created_at;
    if (this.total > this.maxEvents) this.evict();
    return true;
  }

  /** Note a reply's pair id (see {@link pairs}): false when known already. */
  private addPair(event: ConversationEvent): boolean {
    // The same id filed as a plain id (an event of another kind that took it) is the same id.
    if (this.tilded > 0 && this.ids.has(event.event_id)) return false;
    const nonce = event.parent_id!;
    let repliers = this.pairs.get(nonce);
    if (repliers === undefined) this.pairs.set(nonce, (repliers = new Set()));
    const known = repliers.size;
    return repliers.add(event.peer.id).size !== known;
  }

  /** Note any other id: false when known already (a filed reply's pair id too). */
  private addId(id: string): boolean {
    const tilde = id.indexOf("~") >= 0;
    if (tilde && this.hasPair(id)) return false;
    // One look-up for the check and the insert: a known id leaves the set as it was.
    const known = this.ids.size;
    if (this.ids.add(id).size === known) return false;
    if (tilde) this.tilded++;
    return true;
  }

  /** Whether `id` is the pair id of a filed reply. */
  private hasPair(id: string): boolean {
    const at = id.indexOf("~");
    return at > 0 && this.pairs.get(id.slice(0, at))?.has(id.slice(at + 1)) === true;
  }

  /** Forget an id, in whichever set holds it. */
  private forgetId(id: string): void {
    const at = id.indexOf("~");
    if (this.ids.delete(id)) {
      if (at >= 0) this.tilded--;
      return;
    }
    if (at <= 0) return;
    const nonce = id.slice(0, at);
    const repliers = this.pairs.get(nonce);
    if (repliers?.delete(id.slice(at + 1)) && repliers.size === 0) this.pairs.delete(nonce);
  }

  /** A new conversation's thread, for its first event. */
  private open(event: ConversationEvent): Thread {
    const thread: Thread = { events: [], forgotten: new Set(), newest: event.created_at };
    this.threads.set(event.conversation_id, thread);
    return thread;
  }

  /** The conversation was appended to: now the most recently active. */
  private used(id: string): void {
    this.recency.delete(id);
    this.recency.set(id, true);
    this.newest = id;
  }

  /** Past {@link maxEvents}: drop the least recently active conversations (not the only one). */
  private evict(): void {
    while (this.total > this.maxEvents && this.recency.size > 1) {
      const oldest = this.recency.keys().next().value as string;
      this.drop(oldest);
      this.evicted++;
    }
  }

  /** Forget a conversation whole: its events and the ids it remembers. */
  private drop(id: string): void {
    const thread = this.threads.get(id);
    this.recency.delete(id);
    if (this.newest === id) this.newest = null;
    if (!thread) return;
    for (const e of thread.events) this.forgetId(e.event_id);
    for (const f of thread.forgotten) this.forgetId(f);
    this.total -= thread.events.length;
    this.threads.delete(id);
  }

  has(eventId: string): boolean {
    return this.ids.has(eventId) || this.hasPair(eventId);
  }

  events(conversationId: string, since?: number): ConversationEvent[] {
    const list = this.threads.get(conversationId)?.events ?? [];
    if (since === undefined) return list.slice();
    return list.filter((e) => e.created_at > since);
  }

  count(conversationId: string): number {
    return this.threads.get(conversationId)?.events.length ?? 0;
  }

  conversations(): string[] {
    return [...this.threads.keys()];
  }

  compact(conversationId: string, removed: string[], summary: ConversationEvent): void {
    const thread = this.threads.get(conversationId);
    if (!thread) throw new ConfigError(`unknown conversation: ${conversationId}`);
    const gone = new Set(removed);
    const before = thread.events.length;
    thread.events = thread.events.filter((e) => !gone.has(e.event_id));
    this.total -= before - thread.events.length;
    for (const id of gone) thread.forgotten.add(id);
    this.append(summary);
  }

  prune(before: number): string[] {
    const dropped: string[] = [];
    for (const [id, thread] of this.threads) {
      if (thread.newest >= before) continue;
      this.drop(id);
      dropped.push(id);
    }
    return dropped;
  }

  close(): void {
    this.threads.clear();
    this.ids.clear();
    this.pairs.clear();
    this.tilded = 0;
    this.recency.clear();
    this.newest = null;
    this.total = 0;
  }
}
