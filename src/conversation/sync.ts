/**
 * Catching up from a peer (`_synapse.conversation.list` and `_synapse.conversation.sync`): fetch
 * one conversation, or every conversation the peer lists, and keep what is new and acceptable here.
 *
 * A peer that offered the `sync_pages` hello feature (a Bun node) is asked for pages with an exact
 * cursor (paging.ts); any other peer gets the plain calls Python sends. A full sync goes on past a
 * conversation that fails and reports it in the result's `failed`.
 *
 * @module
 */
import type { ConversationEvent, Peer } from "../types.ts";
import { EndpointError, ProtocolError } from "../errors.ts";
import { createLogger } from "../log.ts";
import { errorMessage, isMap } from "../util/guards.ts";
import { encode } from "../wire/codec.ts";
import { parseEvent } from "./events.ts";
import { ConversationEndpoint, type ConversationHost, type SyncFailure, type SyncResult } from "./contracts.ts";
import { peerOffers } from "./signing.ts";
import { MIN_PAGE_BYTES, PAGE_BUDGET, type SyncCursor } from "./paging.ts";

const log = createLogger("conversation");

/**
 * Most pages fetched for one conversation or one list (10,000 pages of up to 4 MiB): a peer that
 * keeps answering `more` cannot keep a sync going forever.
 */
export const MAX_SYNC_PAGES = 10_000;

/** What a sync needs from the conversation layer. */
export interface SyncPort extends Pick<ConversationHost, "call" | "admit" | "pagesSync"> {
  /** True when an event created then is outside the retention window. */
  tooOld(createdAt: number): boolean;
  /** Store an event (replies through their de-duplication); the stored event, or null when not new. */
  ingest(event: ConversationEvent): Promise<ConversationEvent | null>;
}

type Target = Pick<Peer, "address" | "port">;

/** Whether `peer` pages; for a peer not yet connected, a ping first opens the connection (and its hello). */
function pages(port: SyncPort, peer: Target): Promise<boolean> {
  return peerOffers(port, port.pagesSync?.bind(port), peer);
}

function pageBytesOf(pageBytes: number | undefined): number {
  return Math.max(MIN_PAGE_BYTES, Math.min(PAGE_BUDGET, Math.floor(pageBytes ?? PAGE_BUDGET)));
}

/** Every conversation id `peer` lists, page by page when it pages. */
async function listAll(port: SyncPort, peer: Target, paged: boolean, maxBytes: number): Promise<unknown[]> {
  if (!paged) {
    const listed = await port.call(peer, ConversationEndpoint.List, [], {});
    if (!Array.isArray(listed)) throw new ProtocolError("_synapse.conversation.list did not answer a list");
    return listed;
  }
  const ids: unknown[] = [];
  let offset = 0;
  for (let page = 0; page < MAX_SYNC_PAGES; page++) {
    const answer = await port.call(peer, ConversationEndpoint.List, [], { page: { offset, max_bytes: maxBytes } });
    if (!isMap(answer) || !Array.isArray(answer.ids)) throw new ProtocolError("_synapse.conversation.list did not answer a page");
    ids.push(...answer.ids);
    if (answer.next === null || answer.next === undefined) return ids;
    if (typeof answer.next !== "number" || !Number.isInteger(answer.next) || answer.next <= offset) throw new ProtocolError("_synapse.conversation.list answered a page that does not move on");
    offset = answer.next;
  }
  throw new ProtocolError(`_synapse.conversation.list answered more than ${MAX_SYNC_PAGES} pages`);
}

function readCursor(raw: unknown, previous: SyncCursor | null): SyncCursor {
  if (!Array.isArray(raw) || raw.length !== 2 || typeof raw[0] !== "number" || !Number.isFinite(raw[0]) || !Number.isInteger(raw[1])) {
    throw new ProtocolError("_synapse.conversation.sync answered a malformed cursor");
  }
  const cursor: SyncCursor = [raw[0], raw[1] as number];
  if (previous && (cursor[0] < previous[0] || (cursor[0] === previous[0] && cursor[1] <= previous[1]))) {
    throw new ProtocolError("_synapse.conversation.sync answered a page that does not move on");
  }
  return cursor;
}

/** Fetch one conversation from `peer` (all its pages) and store what is new into `fresh`. */
async function syncOne(port: SyncPort, peer: Target, id: string, since: number, paged: boolean, maxBytes: number, fresh: ConversationEvent[]): Promise<void> {
  let cursor: SyncCursor | null = null;
  let after = since;
  for (let page = 0; page < MAX_SYNC_PAGES; page++) {
    const kwargs = paged ? { since, page: { cursor, max_bytes: maxBytes } } : { since: after };
    const answer = await port.call(peer, ConversationEndpoint.Sync, [id], kwargs);
    const events = isMap(answer) && Array.isArray(answer.events) ? answer.events : [];
    let newest = after;
    const taking: Array<Promise<ConversationEvent | null>> = [];
    for (const raw of events) {
      let event: ConversationEvent;
      try {
        event = parseEvent(raw);
      } catch (error) {
        log.debug(`sync of ${id}: malformed event skipped: ${errorMessage(error)}`);
        continue;
      }
      newest = Math.max(newest, event.created_at);
      if (event.conversation_id !== id || port.admit(event.peer) || port.tooOld(event.created_at)) continue;
      // A record the signature rules refuse (docs/security.md) is left out, as a malformed one.
      // Every event of the page is taken in at once, so that their signature checks go to the
      // thread together; the new ones are listed in the page's order.
      taking.push(
        port.ingest(event).catch((error: unknown) => {
          if (!(error instanceof EndpointError)) throw error;
          log.debug(`sync of ${id}: event ${event.event_id} refused: ${errorMessage(error)}`);
          return null;
        }),
      );
    }
    for (const stored of await Promise.all(taking)) if (stored) fresh.push(stored);
    if (paged) {
      if (!isMap(answer) || answer.more !== true) return;
      cursor = readCursor(answer.cursor, cursor);
      continue;
    }
    // A peer that cannot page answers everything at once (Python) or, a Bun node reached without
    // its hello, as much as fits: a page over half the budget may have been cut, so ask again
    // after its newest event (Python's own `since` semantics).
    if (newest <= after || encode(events).length <= PAGE_BUDGET / 2) return;
    after = newest;
  }
  throw new ProtocolError(`_synapse.conversation.sync of ${id} answered more than ${MAX_SYNC_PAGES} pages`);
}

/**
 * Fetch `ids` (or, when null, every conversation the peer lists) from `peer` and store the events
 * that are new here. A malformed event is skipped; an event that names another conversation, an
 * author outside the swarm/team, or a time outside the retention is left out. Returns the new
 * events; a full sync (`ids` null) goes on past a conversation that fails and lists it in `failed`.
 *
 * @throws {ProtocolError} when the peer's list is not a list; any error of a one-conversation sync.
 */
export async function syncFrom(port: SyncPort, peer: Target, ids: string[] | null, since: number, pageBytes?: number): Promise<SyncResult> {
  const paged = await pages(port, peer);
  const maxBytes = pageBytesOf(pageBytes);
  const listed = ids ?? (await listAll(port, peer, paged, maxBytes));
  const fresh: ConversationEvent[] = [];
  const failed: SyncFailure[] = [];
  for (const id of listed) {
    if (typeof id !== "string") continue;
    if (ids !== null) {
      await syncOne(port, peer, id, since, paged, maxBytes, fresh);
      continue;
    }
    try {
      await syncOne(port, peer, id, since, paged, maxBytes, fresh);
    } catch (error) {
      log.warn(`sync of ${id} from ${peer.address}:${peer.port} failed: ${errorMessage(error)}`);
      failed.push({ conversation_id: id, error: errorMessage(error) });
    }
  }
  return Object.assign(fresh, { failed });
}
