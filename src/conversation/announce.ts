/**
 * The node events of an event stored in the log: `conversation.event`, `conversation.<kind>` and,
 * for a reply, `broadcast.reply`. Plain functions, called once the log answered (at once for an
 * in-memory log: no closure is made per event filed, and a node files one per reply it learns).
 *
 * @module
 */
import type { BroadcastReply, ConversationEvent } from "../types.ts";
import type { MaybePromise } from "./log.ts";

/** What announcing needs of the node. */
export interface AnnounceHost {
  emit(event: string, payload: unknown): void;
}

/** Node event names by event kind (`conversation.<kind>`), made once per kind, not once per event stored. */
const kindEvents = new Map<string, string>();
/** Kinds whose names are kept, at most (kinds are the users' to choose: the rest are made each time). */
const KIND_EVENTS_KEPT = 256;

/** The node event a stored event of `kind` fires besides `conversation.event`: `conversation.<kind>`. */
export function kindEventName(kind: string): string {
  let name = kindEvents.get(kind);
  if (name === undefined) {
    name = `conversation.${kind}`;
    if (kindEvents.size < KIND_EVENTS_KEPT) kindEvents.set(kind, name);
  }
  return name;
}

/** Fire a stored event's node events and tell the upkeep its conversation grew (`stored` false: the log refused it, nothing fires); `stored`. */
export function announceEvent(host: AnnounceHost, upkeep: { grew(conversationId: string): void }, event: ConversationEvent, stored: boolean): boolean {
  if (!stored) return false;
  host.emit("conversation.event", event);
  host.emit(kindEventName(event.kind), event);
  upkeep.grew(event.conversation_id);
  return true;
}

/**
 * {@link announceEvent} once `stored` (the log's answer, a promise or not) settled: never at once,
 * so that whoever stored the event (an author's `emit`, a broadcast's opening) listens first.
 */
export function announceEventLater(host: AnnounceHost, upkeep: { grew(conversationId: string): void }, event: ConversationEvent, stored: MaybePromise<boolean>): Promise<boolean> {
  return Promise.resolve(stored).then((yes) => announceEvent(host, upkeep, event, yes));
}

/** {@link announceReply} once the log's answer `stored` settled. */
export function announceReplyLater(host: AnnounceHost, event: ConversationEvent, stored: Promise<boolean>): Promise<boolean> {
  return stored.then((yes) => announceReply(host, event, yes));
}

/** Fire `broadcast.reply` for a reply event stored (`stored`); `stored`. */
export function announceReply(host: AnnounceHost, event: ConversationEvent, stored: boolean): boolean {
  if (stored) host.emit("broadcast.reply", { nonce: event.parent_id ?? event.conversation_id, peer: event.peer, result: event.payload.result ?? null } satisfies BroadcastReply);
  return stored;
}
