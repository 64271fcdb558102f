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
  /** The ids of stored and forgotten events alike. */
  private readonly ids = new Set<string>();
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
    // Called for every event stored (a node files one per reply it learns): the usual path short,
    // the rest in functions of their own, so that the optimizing compilers take it up early.
    // One look-up for the check and the insert (a node's ids are many, and each look-up mostly waits
    // for memory): a known id leaves the set as it was.
    const known = this.ids.size;
    if (this.ids.add(event.event_id).size === known) return false;
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
    for (const e of thread.events) this.ids.delete(e.event_id);
    for (const f of thread.forgotten) this.ids.delete(f);
    this.total -= thread.events.length;
    this.threads.delete(id);
  }

  has(eventId: string): boolean {
    return this.ids.has(eventId);
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
    this.recency.clear();
    this.newest = null;
    this.total = 0;
  }
}
