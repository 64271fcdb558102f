/**
 * Catching up from a peer (`_synapse.conversation.list` and `_synapse.conversation.sync`): fetch
 * one conversation, or every conversation the peer lists, and keep what is new and acceptable here.
 *
 * @module
 */
import type { ConversationEvent, Peer } from "../types.ts";
import { ProtocolError } from "../errors.ts";
import { createLogger } from "../log.ts";
import { errorMessage, isMap } from "../util/guards.ts";
import { parseEvent } from "./events.ts";
import { ConversationEndpoint, type ConversationHost } from "./contracts.ts";

const log = createLogger("conversation");

/** What a sync needs from the conversation layer. */
export interface SyncPort extends Pick<ConversationHost, "call" | "admit"> {
  /** True when an event created then is outside the retention window. */
  tooOld(createdAt: number): boolean;
  /** Store an event (replies through their de-duplication); the stored event, or null when not new. */
  ingest(event: ConversationEvent): Promise<ConversationEvent | null>;
}

/**
 * Fetch `ids` (or, when null, every conversation the peer lists) from `peer` and store the events
 * that are new here. A malformed event is skipped; an event that names another conversation, an
 * author outside the swarm/team, or a time outside the retention is left out. Returns the new events.
 *
 * @throws {ProtocolError} when the peer's list is not a list.
 */
export async function syncFrom(port: SyncPort, peer: Pick<Peer, "address" | "port">, ids: string[] | null, since: number): Promise<ConversationEvent[]> {
  const listed = ids ?? (await port.call(peer, ConversationEndpoint.List, [], {}));
  if (!Array.isArray(listed)) throw new ProtocolError("_synapse.conversation.list did not answer a list");
  const fresh: ConversationEvent[] = [];
  for (const id of listed) {
    if (typeof id !== "string") continue;
    const answer = await port.call(peer, ConversationEndpoint.Sync, [id], { since });
    const events = isMap(answer) && Array.isArray(answer.events) ? answer.events : [];
    for (const raw of events) {
      let event: ConversationEvent;
      try {
        event = parseEvent(raw);
      } catch (error) {
        log.debug(`sync of ${id}: malformed event skipped: ${errorMessage(error)}`);
        continue;
      }
      if (event.conversation_id !== id || port.admit(event.peer) || port.tooOld(event.created_at)) continue;
      const stored = await port.ingest(event);
      if (stored) fresh.push(stored);
    }
  }
  return fresh;
}
