/**
 * Conversation event records: building them with the wire's key order, and checking the ones that
 * arrive from the network (a malformed event is refused with `bad_request`, never stored).
 *
 * @module
 */
import { ConfigError, EndpointError, ErrorCode } from "../errors.ts";
import type { ConversationEvent, Peer } from "../types.ts";
import { uuidv7 } from "./uuid.ts";
import { isMap } from "../util/guards.ts";
import { nowSeconds } from "../util/time.ts";
import { MAX_ID_LENGTH, readPeer } from "../wire/peer.ts";

/**
 * Seconds an event may be dated ahead of this node's clock. Further ahead, it is refused (or, for
 * the opening message dated by its nonce, dated now): an event from the future would otherwise keep
 * a conversation from ever being pruned and take compaction's "newest" places for good.
 */
export const MAX_CLOCK_SKEW = 300;

/** True when `createdAt` (Unix seconds) is further ahead of `now` than {@link MAX_CLOCK_SKEW}. */
export function fromTheFuture(createdAt: number, now: number = nowSeconds()): boolean {
  return createdAt > now + MAX_CLOCK_SKEW;
}

/** Built-in event kinds. Higher layers add their own (`task.offer`, ...). */
export const EventKind = {
  Message: "message",
  Ack: "ack",
  Reply: "reply",
  Error: "error",
  Summary: "summary",
} as const;

// The one limit on ids and kinds, shared with the Peer reader.
export { MAX_ID_LENGTH } from "../wire/peer.ts";

function bad(message: string): EndpointError {
  return new EndpointError(ErrorCode.BadRequest, message);
}

function requireId(raw: Record<string, unknown>, key: string): string {
  const value = raw[key];
  if (typeof value !== "string" || value.length === 0) throw bad(`invalid conversation event: ${key} must be a non-empty string`);
  if (value.length > MAX_ID_LENGTH) throw bad(`invalid conversation event: ${key} is longer than ${MAX_ID_LENGTH} characters`);
  return value;
}

/**
 * Check an event that came off the network and rebuild it with the wire's keys and order (extra
 * top-level keys are dropped, as Python drops them). `parent_id`, `metadata` and `payload` may be
 * missing; `created_at` may be an integer.
 *
 * @throws {EndpointError} `bad_request` "invalid conversation event: ..." for anything else.
 */
export function parseEvent(raw: unknown): ConversationEvent {
  if (!isMap(raw)) throw bad("invalid conversation event: not a map");
  const conversationId = requireId(raw, "conversation_id");
  const eventId = requireId(raw, "event_id");
  const kind = requireId(raw, "kind");
  const peer = readPeer(raw.peer, { mode: "lenient", what: "conversation event peer" });
  const payload = raw.payload ?? {};
  if (!isMap(payload)) throw bad("invalid conversation event: payload must be a map");
  const metadata = raw.metadata ?? {};
  if (!isMap(metadata)) throw bad("invalid conversation event: metadata must be a map");
  const parent = raw.parent_id ?? null;
  if (parent !== null && typeof parent !== "string") throw bad("invalid conversation event: parent_id must be a string or nil");
  const createdAt = raw.created_at;
  if (typeof createdAt !== "number" || !Number.isFinite(createdAt)) throw bad("invalid conversation event: created_at must be a number");
  return makeEvent({ conversationId, eventId, kind, peer, payload, parentId: parent, createdAt, metadata });
}

/** Fields of {@link makeEvent}; ids and time default to fresh ones. */
export interface EventFields {
  conversationId: string;
  kind: string;
  peer: Peer;
  payload?: Record<string, unknown>;
  parentId?: string | null;
  metadata?: Record<string, unknown>;
  eventId?: string;
  createdAt?: number;
}

/** Build an event with the wire's key order (a fresh UUIDv7 id and the current time by default). */
export function makeEvent(fields: EventFields): ConversationEvent {
  return {
    conversation_id: fields.conversationId,
    event_id: fields.eventId ?? uuidv7(),
    kind: fields.kind,
    peer: fields.peer,
    payload: fields.payload ?? {},
    parent_id: fields.parentId ?? null,
    created_at: fields.createdAt ?? nowSeconds(),
    metadata: fields.metadata ?? {},
  };
}

/**
 * Order events as conversations list them: by `created_at`; at the same time the conversation's
 * opening event (its id is the conversation's) first, then by event id. An ACK made within the
 * millisecond its broadcast was sent (loopback, one process) has the opening's `created_at`, and
 * a UUIDv7 drawn in the same millisecond sorts before or after the opening's at random.
 */
export function compareEvents(a: ConversationEvent, b: ConversationEvent): number {
  return a.created_at - b.created_at || opens(b) - opens(a) || (a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0);
}

/** 1 for a conversation's opening event (its id is the conversation's), else 0. */
function opens(event: ConversationEvent): number {
  return event.event_id === event.conversation_id ? 1 : 0;
}

/**
 * A new event authored by `author` (its fields checked as a user gives them), before signing.
 *
 * @throws {ConfigError} for an empty kind, the `reply` kind (replies have their own call), or a
 * payload or metadata that is not a plain object.
 */
export function authoredEvent(
  author: Peer,
  conversationId: string,
  kind: string,
  payload: Record<string, unknown>,
  options: { parentId?: string | null; metadata?: Record<string, unknown> },
): ConversationEvent {
  if (typeof kind !== "string" || kind.length === 0 || kind.length > MAX_ID_LENGTH) throw new ConfigError("an event kind must be a non-empty string");
  if (kind === EventKind.Reply) throw new ConfigError("use reply() to answer a broadcast");
  if (!isMap(payload)) throw new ConfigError("an event payload must be a plain object");
  if (options.metadata !== undefined && !isMap(options.metadata)) throw new ConfigError("event metadata must be a plain object");
  return makeEvent({ conversationId, kind, peer: author, payload, parentId: options.parentId ?? null, metadata: options.metadata ?? {} });
}
