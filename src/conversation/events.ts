/**
 * Conversation event records: building them with the wire's key order, and checking the ones that
 * arrive from the network (a malformed event is refused with `bad_request`, never stored).
 *
 * @module
 */
import { EndpointError, ErrorCode } from "../errors.ts";
import type { ConversationEvent, NodeKind, Peer } from "../types.ts";
import { uuidv7 } from "./uuid.ts";
import { isMap, isPort } from "../util/guards.ts";
import { nowSeconds } from "../util/time.ts";

/** Built-in event kinds. Higher layers add their own (`task.offer`, ...). */
export const EventKind = {
  Message: "message",
  Ack: "ack",
  Reply: "reply",
  Error: "error",
  Summary: "summary",
} as const;

/** Longest accepted id or kind, in characters (ids are UUIDs or 64-char hex in practice). */
export const MAX_ID_LENGTH = 256;

function bad(message: string): EndpointError {
  return new EndpointError(ErrorCode.BadRequest, message);
}

/**
 * A {@link Peer} with exactly the wire's keys, in the wire's order. Extra keys are dropped: a Python
 * node rebuilds a Peer strictly and fails on any key it does not know.
 *
 * @throws {EndpointError} `bad_request` when `id`, `address` or `port` is missing or mistyped.
 */
export function normalisePeer(raw: unknown, what = "peer"): Peer {
  if (!isMap(raw)) throw bad(`invalid ${what}: not a map`);
  const { id, address, port } = raw;
  if (typeof id !== "string" || id.length === 0 || id.length > MAX_ID_LENGTH) throw bad(`invalid ${what}: id must be a non-empty string`);
  if (typeof address !== "string") throw bad(`invalid ${what}: address must be a string`);
  if (!isPort(port, true)) throw bad(`invalid ${what}: port must be an integer`);
  const optional = (v: unknown) => (typeof v === "string" ? v : null);
  const kind: NodeKind = raw.kind === "bootstrap" ? "bootstrap" : "node";
  const caps = Array.isArray(raw.capabilities) ? raw.capabilities.filter((c): c is string => typeof c === "string") : [];
  const lastSeen = typeof raw.last_seen === "number" && Number.isFinite(raw.last_seen) ? raw.last_seen : nowSeconds();
  return {
    id,
    address,
    port,
    swarm: optional(raw.swarm),
    team: optional(raw.team),
    name: typeof raw.name === "string" ? raw.name : "",
    kind,
    capabilities: caps,
    last_seen: lastSeen,
  };
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
  const peer = normalisePeer(raw.peer, "conversation event peer");
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

/** Order events as conversations list them: by `created_at`, ties by event id. */
export function compareEvents(a: ConversationEvent, b: ConversationEvent): number {
  return a.created_at - b.created_at || (a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0);
}
