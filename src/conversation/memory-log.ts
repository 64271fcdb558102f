/**
 * The default conversation log: everything in memory, gone when the process ends.
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

/** An in-memory {@link ConversationLog} (synchronous). */
export class MemoryConversationLog implements ConversationLog {
  private readonly threads = new Map<string, Thread>();
  /** event id -> conversation id, for stored and forgotten ids alike. */
  private readonly ids = new Map<string, string>();

  append(event: ConversationEvent): boolean {
    if (this.ids.has(event.event_id)) return false;
    let thread = this.threads.get(event.conversation_id);
    if (!thread) this.threads.set(event.conversation_id, (thread = { events: [], forgotten: new Set(), newest: event.created_at }));
    this.ids.set(event.event_id, event.conversation_id);
    const list = thread.events;
    // Events mostly arrive in time order: append at the end without searching.
    if (list.length === 0 || compareEvents(list[list.length - 1]!, event) <= 0) list.push(event);
    else list.splice(insertionPoint(list, event), 0, event);
    if (event.created_at > thread.newest) thread.newest = event.created_at;
    return true;
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
    thread.events = thread.events.filter((e) => !gone.has(e.event_id));
    for (const id of gone) thread.forgotten.add(id);
    this.append(summary);
  }

  prune(before: number): string[] {
    const dropped: string[] = [];
    for (const [id, thread] of this.threads) {
      if (thread.newest >= before) continue;
      for (const e of thread.events) this.ids.delete(e.event_id);
      for (const f of thread.forgotten) this.ids.delete(f);
      this.threads.delete(id);
      dropped.push(id);
    }
    return dropped;
  }

  close(): void {
    this.threads.clear();
    this.ids.clear();
  }
}
