/**
 * Broadcast records: the nonce-bearing {@link Broadcast} map, the kwargs a broadcast call carries,
 * and the id under which a node files a reply.
 *
 * @module
 */
import type { Broadcast, ConversationEvent, Peer } from "../types.ts";
import type { Kwargs } from "../wire/messages.ts";
import { isUuidv7, uuidv7, uuidv7TimeMs } from "./uuid.ts";
import { nowSeconds } from "../util/time.ts";
import { EventKind, MAX_ID_LENGTH, fromTheFuture, makeEvent } from "./events.ts";
import { SIG_KEY } from "../security/records.ts";

/** Payload of the `broadcast.received` node event. */
export interface BroadcastReceived {
  broadcast: Broadcast;
  /** The endpoint that was called. */
  endpoint: string;
  args: unknown[];
  /** Keyword arguments without `broadcast`. */
  kwargs: Kwargs;
}

/** A new broadcast handle from `origin` (UUIDv7 nonce). */
export function newBroadcast(origin: Peer, endpoint: string): Broadcast {
  return { nonce: uuidv7(), origin, endpoint };
}

/** The kwargs of a broadcast call: `broadcast` first, then the caller's (as Python orders them). */
export function broadcastKwargs(broadcast: Broadcast, kwargs: Kwargs): Kwargs {
  return { broadcast: { nonce: broadcast.nonce, origin: broadcast.origin, endpoint: broadcast.endpoint }, ...kwargs };
}

/**
 * The opening `message` event of a broadcast (id and conversation: the nonce), as the origin and
 * every receiver record it: the same fields on every node, so that the origin's signature (in
 * `metadata._sig`, when given) verifies everywhere.
 */
export function openingMessage(nonce: string, origin: Peer, endpoint: string, args: unknown[], kwargs: Kwargs, sig?: string): ConversationEvent {
  return makeEvent({
    conversationId: nonce,
    eventId: nonce,
    kind: EventKind.Message,
    peer: origin,
    payload: { endpoint, args, kwargs },
    createdAt: broadcastTime(nonce),
    metadata: sig === undefined ? {} : { [SIG_KEY]: sig },
  });
}

/**
 * When a broadcast was made, in float Unix seconds: the time a UUIDv7 nonce carries (the same on
 * every node, so each node dates the opening `message` identically), else now; a nonce dated
 * further ahead than the allowed clock skew is dated now.
 */
export function broadcastTime(nonce: string): number {
  const now = nowSeconds();
  if (!isUuidv7(nonce)) return now;
  const time = uuidv7TimeMs(nonce) / 1000;
  return fromTheFuture(time, now) ? now : time;
}

/**
 * The event id a Bun node files the reply of `peerId` to `nonce` under: `<nonce>~<peer id>`.
 * Derived from the pair, so the same reply learnt twice (over several gossip paths, by sync, or
 * after a restart) is filed once. The first `~` ends the nonce, so two pairs never share an id. A
 * nonce that holds a `~` itself (never a UUID), or a pair too long for an event id
 * ({@link MAX_ID_LENGTH}), gets the hex SHA-256 of `reply\0<nonce>\0<peer id>` instead, which holds
 * no `~`. Joined rather than hashed: every node derives the id of every reply it learns, and the
 * SHA-256 of each took about 5% of a 200-peer broadcast's CPU.
 */
export function replyEventId(nonce: string, peerId: string): string {
  return pairForm(nonce, peerId) ? pairId(nonce, peerId) : hashedReplyId(nonce, peerId);
}

/** Whether {@link replyEventId} of the pair is {@link pairId} (else the SHA-256 form). */
export function pairForm(nonce: string, peerId: string): boolean {
  return nonce.length + peerId.length < MAX_ID_LENGTH && nonce.indexOf("~") < 0;
}

/** The pair id `<nonce>~<peer id>`: {@link replyEventId} where {@link pairForm} holds. */
export function pairId(nonce: string, peerId: string): string {
  return nonce + "~" + peerId;
}

function hashedReplyId(nonce: string, peerId: string): string {
  return Bun.SHA256.hash(`reply\0${nonce}\0${peerId}`, "hex");
}
