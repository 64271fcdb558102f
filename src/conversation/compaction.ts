/**
 * Compaction: when a conversation grows past `maxEvents`, its older events fold into one local
 * `summary` event. The opening message and the `keepRecent` newest events stay verbatim; the text of
 * the summary comes from a pluggable {@link Summarizer} (a plain digest by default, an LLM call in an
 * agent swarm).
 *
 * @module
 */
import type { ConversationEvent, Peer } from "../types.ts";
import { ConfigError } from "../errors.ts";
import { canonicalJson } from "./canonical-json.ts";
import { EventKind, makeEvent } from "./events.ts";

/** Turns the events being folded into the summary text. */
export type Summarizer = (events: ConversationEvent[]) => string | Promise<string>;

/** Limits of {@link planCompaction}. */
export interface CompactionLimits {
  /** Compact when a conversation holds more than this many events. */
  maxEvents: number;
  /** Newest events kept verbatim (besides the opening message and the `keepKinds` events). */
  keepRecent: number;
  /**
   * Kinds always kept verbatim, wherever they are in the conversation (default none, as Python:
   * only the opening message). A layer whose state lives in its events keeps them so, e.g. the teams
   * layer's `task.offer`.
   */
  keepKinds?: readonly string[];
}

/** Which events a compaction folds. */
export interface CompactionPlan {
  /** Events folded into the summary, oldest first. */
  fold: ConversationEvent[];
  /** Events that stay (opening message, `keepKinds` events and the newest ones), oldest first. */
  keep: ConversationEvent[];
}

/** Default `keepRecent` for a given `maxEvents`. */
export function defaultKeepRecent(maxEvents: number): number {
  return Math.max(0, Math.min(10, Math.floor(maxEvents / 2)));
}

/** `keepRecent` of a compaction asked for by hand, as Python's `compact_conversation`. */
export const MANUAL_KEEP_RECENT = 25;

/** Check limits from user options. @throws {ConfigError} */
export function checkLimits(maxEvents: number, keepRecent: number): void {
  if (!Number.isInteger(maxEvents) || maxEvents < 3) throw new ConfigError(`conversationMaxEvents must be an integer >= 3, got ${maxEvents}`);
  if (!Number.isInteger(keepRecent) || keepRecent < 0 || keepRecent > maxEvents - 2) {
    throw new ConfigError(`conversationKeepRecent must be an integer from 0 to conversationMaxEvents - 2 (${maxEvents - 2}), got ${keepRecent}`);
  }
}

/** Check a `keepKinds` list. @throws {ConfigError} */
export function checkKeepKinds(kinds: unknown): readonly string[] {
  if (kinds === undefined) return [];
  if (!Array.isArray(kinds) || !kinds.every((k) => typeof k === "string" && k.length > 0)) {
    throw new ConfigError("keepKinds must be a list of event kinds (non-empty strings)");
  }
  return [...kinds];
}

/**
 * Decide what to fold, or null when the conversation is within its limit or fewer than `minFold`
 * events would fold. The opening message is the event whose id is the conversation id (a
 * broadcast's nonce), else the oldest event; it stays, as do events of `keepKinds` and the
 * `keepRecent` newest of the others.
 */
export function planCompaction(conversationId: string, events: ConversationEvent[], limits: CompactionLimits, minFold = 2): CompactionPlan | null {
  if (events.length <= limits.maxEvents) return null;
  let openingAt = events.findIndex((e) => e.event_id === conversationId);
  if (openingAt < 0) openingAt = 0;
  const kept = new Set(limits.keepKinds ?? []);
  const candidates = events.filter((e, i) => i !== openingAt && !kept.has(e.kind));
  const fold = candidates.slice(0, Math.max(0, candidates.length - limits.keepRecent));
  // Folding one event into one summary gains nothing, and re-folding a lone summary even less.
  if (fold.length < Math.max(1, minFold) || (fold.length === 1 && fold[0]!.kind === EventKind.Summary)) return null;
  const folded = new Set(fold);
  return { fold, keep: events.filter((e) => !folded.has(e)) };
}

/** Number of original events behind `events` (a folded summary counts for what it had folded). */
export function foldedCount(events: ConversationEvent[]): number {
  let n = 0;
  for (const e of events) {
    const inner = e.kind === EventKind.Summary ? e.payload.compacted_events : undefined;
    n += typeof inner === "number" && inner > 0 ? inner : 1;
  }
  return n;
}

/**
 * Build the `summary` event: payload `{summary, compacted_events, from, until}` (PROTOCOL.md), dated
 * at `until` so it sorts where the folded events were; its parent is the opening message that
 * stayed (as Python links it).
 */
export function summaryEvent(conversationId: string, fold: ConversationEvent[], text: string, author: Peer, parentId: string | null = null): ConversationEvent {
  let from = Number.POSITIVE_INFINITY;
  let until = Number.NEGATIVE_INFINITY;
  for (const e of fold) {
    const start = e.kind === EventKind.Summary && typeof e.payload.from === "number" ? e.payload.from : e.created_at;
    if (start < from) from = start;
    if (e.created_at > until) until = e.created_at;
  }
  return makeEvent({
    conversationId,
    kind: EventKind.Summary,
    peer: author,
    payload: { summary: text, compacted_events: foldedCount(fold), from, until },
    parentId,
    createdAt: until,
  });
}

const DIGEST_LINES = 40;
const DIGEST_PAYLOAD_CHARS = 120;

function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

/**
 * The default summarizer: a plain digest. One header line (how many events, the time span, who took
 * part, how many of each kind), then one line per event (author, kind, payload, shortened), at most
 * 40 lines.
 */
export const digestSummarizer: Summarizer = (events) => {
  if (events.length === 0) return "0 events";
  const kinds = new Map<string, number>();
  const authors: string[] = [];
  for (const e of events) {
    kinds.set(e.kind, (kinds.get(e.kind) ?? 0) + 1);
    const who = e.peer.name || e.peer.id.slice(0, 8);
    if (!authors.includes(who)) authors.push(who);
  }
  const first = events[0]!.created_at;
  const last = events[events.length - 1]!.created_at;
  const kindText = [...kinds].map(([k, n]) => `${n} ${k}`).join(", ");
  const lines = [`${foldedCount(events)} events from ${isoTime(first)} to ${isoTime(last)} by ${authors.join(", ")}: ${kindText}`];
  for (const e of events.slice(0, DIGEST_LINES)) {
    let body: string;
    try {
      body = canonicalJson(e.kind === EventKind.Summary ? e.payload.summary : e.payload);
    } catch {
      body = "(binary payload)";
    }
    if (body.length > DIGEST_PAYLOAD_CHARS) body = `${body.slice(0, DIGEST_PAYLOAD_CHARS - 3)}...`;
    lines.push(`- ${e.peer.name || e.peer.id.slice(0, 8)} ${e.kind}: ${body}`);
  }
  if (events.length > DIGEST_LINES) lines.push(`- ... ${events.length - DIGEST_LINES} more`);
  return lines.join("\n");
};
