/**
 * The conversation log contract. A node keeps every conversation event it knows in one log; the
 * in-memory log is the default and {@link SqliteConversationLog} keeps them across restarts. Any
 * other store (a server database, a file) can be plugged in by implementing this interface; the
 * shared suite in `test/conversation/log.test.ts` states what an implementation must do.
 *
 * Methods may answer synchronously or with a promise; the node always awaits them.
 *
 * @module
 */
import type { ConversationEvent } from "../types.ts";

/** A value, or a promise of it. */
export type MaybePromise<T> = T | Promise<T>;

/** Where a node keeps conversation events. */
export interface ConversationLog {
  /**
   * Store `event` unless an event with the same id is stored or was compacted away. Must be atomic:
   * of two concurrent appends of one id exactly one returns true. When it returns, the event must be
   * as durable as the log promises (for SQLite: it survives the process being killed).
   */
  append(event: ConversationEvent): MaybePromise<boolean>;
  /** True when the id is stored, or was stored and then compacted away. */
  has(eventId: string): MaybePromise<boolean>;
  /** Events of one conversation with `created_at > since` (all by default), oldest first (ties: the opening event, then by event id; see `compareEvents`). */
  events(conversationId: string, since?: number): MaybePromise<ConversationEvent[]>;
  /** Number of events stored for one conversation. */
  count(conversationId: string): MaybePromise<number>;
  /** Conversation ids, in the order they were first stored. */
  conversations(): MaybePromise<string[]>;
  /**
   * Replace `removed` events of one conversation with `summary` in one step, and remember the
   * removed ids so that {@link append} refuses them from now on.
   */
  compact(conversationId: string, removed: string[], summary: ConversationEvent): MaybePromise<void>;
  /**
   * Drop every conversation whose newest event has `created_at < before` (with its remembered ids).
   * Returns the dropped conversation ids.
   */
  prune(before: number): MaybePromise<string[]>;
  /** Release resources. The log is not used afterwards. */
  close(): MaybePromise<void>;
}

/**
 * `next` of a value, or of a promise's value once it settles: a log (or a check) that answers at
 * once costs no promise (the hot path of a broadcast's replies files hundreds a batch).
 */
export function andThen<T, U>(value: MaybePromise<T>, next: (value: T) => MaybePromise<U>): MaybePromise<U> {
  return value instanceof Promise ? value.then(next) : next(value);
}
