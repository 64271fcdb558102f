/**
 * What batched dissemination (`dissemination.ts`) counts, and what it needs of the conversation
 * layer: its ports, apart so that the dissemination itself stays one readable file.
 *
 * @module
 */
import type { ConversationEvent, Peer } from "../types.ts";
import type { Kwargs } from "../wire/messages.ts";
import type { PerPeerKwargs } from "./signing.ts";
import type { ConversationLog, MaybePromise } from "./log.ts";
import type { Item, RawItem } from "./batch-items.ts";
import { createLogger } from "../log.ts";
import { errorMessage } from "../util/guards.ts";

const log = createLogger("conversation");

/** Counters of the dissemination, in one place (for `node.metrics()` and diagnostics). */
export interface DisseminationStats {
  /** Events and replies peers sent here (per-event calls and batch items), new or not. */
  eventsReceived: number;
  /** Items (events and replies) authored by another node that this node sent on, per target. */
  eventsForwarded: number;
  /** Items that arrived again (in a batch or an answer) and were dropped before any work. */
  duplicatesDropped: number;
  /** `_synapse.conversation.batch` calls made. */
  batchesSent: number;
  /** `_synapse.conversation.batch` calls served. */
  batchesReceived: number;
  /** Conversations synced because an item's parent was missing. */
  repairs: number;
}

/** What the dissemination needs from the conversation layer. */
export interface DisseminationLayer {
  /** The layer's one ingest path for an event off the network: the event when new here, else null. @throws EndpointError */
  acceptEvent(raw: unknown, mac?: Uint8Array | null): Promise<ConversationEvent | null>;
  /**
   * The same for a reply: the replier's record when the reply is new here, else null (at once when
   * filed at once); `known`: `peer` is this node's own record of the replier (a reply by reference).
   * @throws EndpointError (at once, or the promise rejects)
   */
  acceptReply(nonce: unknown, peer: unknown, result: unknown, sig: unknown, mac?: Uint8Array | null, known?: boolean): MaybePromise<Peer | null>;
  /** The keyword arguments of a per-event `_synapse.broadcast.reply` (the signature, and MACs, only to peers that take them). */
  replyKwargs(result: unknown, sig: unknown, mac?: Uint8Array | null): Kwargs | PerPeerKwargs;
  /** The event store (to see whether a parent is held). */
  readonly log: Pick<ConversationLog, "has">;
  /** Catch up one conversation from a peer. */
  sync(peer: Peer, conversationId: string): Promise<unknown>;
}

/** What became of a batch item: the item when new here, null for a copy, or why it was refused. */
export type Taken = Item | null | { refused: unknown };

/** Whether a batch item's ingest brought a new item; a copy is counted in `stats`, a refusal logged. */
export function isNew(taken: Taken, stats: Pick<DisseminationStats, "duplicatesDropped">): taken is Item {
  if (taken === null) {
    stats.duplicatesDropped++;
    return false;
  }
  if ("refused" in taken) {
    log.debug(`batch item refused: ${errorMessage(taken.refused)}`);
    return false;
  }
  return true;
}

/**
 * A batch item through the layer's one ingest path: the item when new here, else null, or the
 * refusal (at once, with no promise, when the layer files it at once; never thrown).
 */
export function acceptItem(layer: DisseminationLayer, raw: RawItem): MaybePromise<Taken> {
  // Called for every new item of a batch (hundreds a broadcast): small, and without closures on
  // the path of a reply filed at once (no scope object per call); the waits are functions of their own.
  if (raw.kind === "event") return eventLater(layer, raw);
  let peer: MaybePromise<Peer | null>;
  try {
    peer = layer.acceptReply(raw.nonce, raw.peer, raw.result, raw.sig, raw.mac, raw.known);
  } catch (error) {
    return { refused: error };
  }
  return peer instanceof Promise ? replyLater(peer, raw) : peer ? replyItem(raw, peer) : null;
}

/** The item of a reply filed (`peer`: its replier's record). */
function replyItem(raw: Extract<RawItem, { kind: "reply" }>, peer: Peer): Item {
  return { kind: "reply", nonce: raw.nonce, peer, result: raw.result, sig: raw.sig, mac: raw.mac };
}

/** {@link acceptItem} of a reply whose filing waits (its check on the signature thread, a log that answers later). */
function replyLater(peer: Promise<Peer | null>, raw: Extract<RawItem, { kind: "reply" }>): Promise<Taken> {
  return peer.then(
    (p) => (p ? replyItem(raw, p) : null),
    (error: unknown) => ({ refused: error }),
  );
}

/** {@link acceptItem} of an event. */
function eventLater(layer: DisseminationLayer, raw: Extract<RawItem, { kind: "event" }>): MaybePromise<Taken> {
  try {
    return layer.acceptEvent(raw.raw, raw.mac).then(
      (event): Item | null => (event ? { kind: "event", event, mac: raw.mac } : null),
      (error: unknown) => ({ refused: error }),
    );
  } catch (error) {
    return { refused: error };
  }
}
