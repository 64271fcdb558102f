/**
 * The checks every conversation item from the network passes before it is stored, whichever way it
 * came (a `_synapse.conversation.event` or `_synapse.broadcast.reply` call, a batch item, a sync
 * page, a broadcast call's opening message): well-formed, authored inside this node's swarm and
 * team, and dated inside the retention window and the allowed clock skew. One home for them, so
 * that a further check (a signature) goes in one place.
 *
 * @module
 */
import type { Broadcast, ConversationEvent, Peer } from "../types.ts";
import type { Kwargs } from "../wire/messages.ts";
import { EndpointError, ErrorCode } from "../errors.ts";
import { readPeer } from "../wire/peer.ts";
import { MAX_CLOCK_SKEW, MAX_ID_LENGTH, fromTheFuture, parseEvent } from "./events.ts";
import { openingMessage } from "./broadcast.ts";

/** What the checks need of the layer. */
export interface InboundChecks {
  /** Why `peer` may not take part (different swarm or team), or null when it may. */
  admit(peer: Peer): string | null;
  /** True when an event created then is outside the retention window. */
  tooOld(createdAt: number): boolean;
  /** The retention in seconds (for the error text), or null. */
  readonly retention: number | null;
}

/**
 * An event off the network, checked and rebuilt with the wire's keys.
 *
 * @throws {EndpointError} `bad_request` for a malformed event, an author outside the swarm/team, or
 * a time outside the retention window or the allowed clock skew.
 */
export function checkEvent(raw: unknown, checks: InboundChecks): ConversationEvent {
  const event = parseEvent(raw);
  const refusal = checks.admit(event.peer);
  if (refusal) throw new EndpointError(ErrorCode.BadRequest, refusal);
  if (checks.tooOld(event.created_at)) throw new EndpointError(ErrorCode.BadRequest, `conversation event older than the retention window (${checks.retention} s)`);
  if (fromTheFuture(event.created_at)) {
    throw new EndpointError(ErrorCode.BadRequest, `conversation event dated more than ${MAX_CLOCK_SKEW} s ahead of this node's clock`);
  }
  return event;
}

/**
 * A reply off the network (`_synapse.broadcast.reply(nonce, peer, result=...)` or a batch item):
 * its nonce and its replier, checked.
 *
 * @throws {EndpointError} `bad_request` for a malformed reply or a replier outside the swarm/team.
 */
export function checkReply(nonce: unknown, peerRaw: unknown, checks: Pick<InboundChecks, "admit">, known = false): { nonce: string; peer: Peer } {
  if (typeof nonce !== "string" || nonce.length === 0 || nonce.length > MAX_ID_LENGTH) {
    throw new EndpointError(ErrorCode.BadRequest, "invalid broadcast reply: nonce must be a non-empty string");
  }
  // `known`: this node's own record of the replier (a reply by reference), read already.
  const peer = known ? (peerRaw as Peer) : readPeer(peerRaw, { mode: "lenient", what: "broadcast reply peer" });
  const refusal = checks.admit(peer);
  if (refusal) throw new EndpointError(ErrorCode.BadRequest, refusal);
  return { nonce, peer };
}

/**
 * The opening `message` event of a broadcast call this node serves (event id = nonce, dated by the
 * nonce, with the origin's signature `sig` in its metadata when the call carried one), and the
 * broadcast as the node reports it; or why it is not recorded. The signature is checked by the
 * caller, as every record's is.
 */
export function receivedOpening(
  broadcast: Broadcast,
  endpoint: string,
  args: unknown[],
  kwargs: Kwargs,
  checks: Pick<InboundChecks, "admit">,
  sig?: string,
): { event: ConversationEvent; broadcast: Broadcast; kwargs: Kwargs } | { refused: string } {
  let origin: Peer;
  try {
    origin = readPeer(broadcast.origin, { mode: "lenient", what: "broadcast origin" });
  } catch (error) {
    return { refused: error instanceof Error ? error.message : String(error) };
  }
  if (broadcast.nonce.length > MAX_ID_LENGTH) return { refused: "nonce too long" };
  const refusal = checks.admit(origin);
  if (refusal) return { refused: `from outside the swarm: ${refusal}` };
  const { broadcast: _omitted, ...rest } = kwargs;
  const event = openingMessage(broadcast.nonce, origin, endpoint, args, rest, sig);
  return { event, broadcast: { nonce: broadcast.nonce, origin, endpoint: broadcast.endpoint || endpoint }, kwargs: rest };
}
