/**
 * Which known peers batch: the peer list split into those whose hello offered `batch`, those known
 * not to (Python peers) and those this node has no connection to yet, reused for a short while so
 * that dissemination does not copy the peer list and look up the pool for every item and round.
 *
 * @module
 */
import type { Peer } from "../types.ts";
import { createLogger } from "../log.ts";
import { errorMessage } from "../util/guards.ts";
import { monotonicMs } from "../util/time.ts";
import type { ConversationHost } from "./contracts.ts";
import type { RawItem } from "./batch-items.ts";

const log = createLogger("conversation");

/**
 * Seconds the split of known peers (batching or not) is reused. A peer that joined or connected
 * since is reached by others in the meantime (and, batching, by the pull half of its own rounds).
 */
export const VIEW_REFRESH = 2;
/**
 * Seconds the split is reused at most when the host tells that no peer came, went or moved since
 * it was taken (`peersVersion`): then a retake every {@link VIEW_REFRESH} would only find the same
 * peers (and cost a copy of every record and a pool lookup per peer, every 2 s, at every node).
 * Within it, the records a view holds (a reply by reference is filed with its replier's) may lag a
 * peer's name or capabilities by as much.
 */
export const VIEW_RENEW = 30;
/** Probes of peers not yet connected in flight at once, at most. */
const MAX_PROBES = 16;
/** Seconds before a peer still not connected is probed again. */
const PROBE_AGAIN = 1;

/** The known peers at one time, split by whether they batch. */
export interface PeerView {
  /** When the peer list was taken, and when it was last split (ms, monotonic). */
  at: number;
  splitAt: number;
  batch: Peer[];
  /** Peers known not to batch (Python peers). */
  plain: Peer[];
  /** Peers this node has no connection to yet. */
  unknown: Peer[];
  /** Known peers (this node left out). */
  count: number;
  /** The host's `peersVersion` when the list was taken (undefined: the host tells none). */
  version: number | undefined;
}

/** The peer views of one node. */
export class PeerViews {
  private cached: PeerView | null = null;
  /** The peers of the current view by id. */
  private byId = new Map<string, Peer>();
  /** Peers being probed, and when each was last probed (ms, monotonic). */
  private readonly probing = new Set<string>();
  private readonly probed = new Map<string, number>();

  constructor(
    private readonly host: Pick<ConversationHost, "self" | "peers" | "call" | "batches" | "peersVersion">,
    private readonly track: (work: Promise<unknown>) => void,
    /** Seconds between dissemination rounds, or null (no batching: no probes). */
    private readonly interval: number | null,
  ) {}

  /** Forget the current view. */
  reset(): void {
    this.cached = null;
    this.byId = new Map();
  }

  /** Whether the peer batches: null before this node has a connection to it (false without the host's answer). */
  private batches(peer: Peer): boolean | null {
    return this.host.batches ? this.host.batches(peer) : false;
  }

  /**
   * The known peers split by whether they batch, the list taken afresh at most every
   * {@link VIEW_REFRESH} seconds: the peer list (copies of the records) and the pool's channels are
   * not looked up for every item and round. In between, only the peers not yet connected are looked
   * at again (every round, until their connection is up). Past {@link VIEW_REFRESH} the list is
   * taken again only when the host's `peersVersion` changed (or tells none), or past
   * {@link VIEW_RENEW}. `latest`: a list that holds every peer known now (an author reaches every
   * peer it knows at the time, as without batching): taken now unless `peersVersion` tells that no
   * peer came, went or moved since the cached one.
   */
  get(latest = false): PeerView {
    // Kept small: called for every batch, round and served call, it is compiled by the optimizing
    // tiers early; the list taken afresh (every few seconds) is a function of its own, so that its
    // copies and pool lookups are not compiled into this one and every caller it is inlined into.
    const now = monotonicMs();
    const cached = this.cached;
    const version = this.host.peersVersion?.();
    const same = version !== undefined && version === cached?.version;
    if (cached !== null && (same ? now - cached.at < VIEW_RENEW * 1000 : !latest && now - cached.at < VIEW_REFRESH * 1000)) {
      if (cached.unknown.length > 0 && now - cached.splitAt >= (this.interval ?? 0) * 1000) this.resplit(cached, now);
      return cached;
    }
    return this.take(now, version);
  }

  /** Take the peer list afresh (see {@link get}). */
  private take(now: number, version: number | undefined): PeerView {
    const self = this.host.self().id;
    const peers = this.host.peers().filter((p) => p.id !== self);
    const view: PeerView = { at: now, splitAt: now, batch: [], plain: [], unknown: [], count: peers.length, version };
    this.byId = new Map();
    for (const p of peers) {
      this.byId.set(p.id, p);
      const batches = this.batches(p);
      (batches === true ? view.batch : batches === false ? view.plain : view.unknown).push(p);
    }
    this.cached = view;
    if (this.interval !== null) this.probe(view.unknown);
    return view;
  }

  /** Look again at the peers of `view` not yet connected (in place: a view is read synchronously). */
  private resplit(view: PeerView, now: number): void {
    const still: Peer[] = [];
    for (const p of view.unknown) {
      const batches = this.batches(p);
      (batches === true ? view.batch : batches === false ? view.plain : still).push(p);
    }
    view.unknown = still;
    view.splitAt = now;
    if (this.interval !== null) this.probe(still);
  }

  /** A known peer by id (from the current view), or null. */
  find(id: string): Peer | null {
    this.get();
    return this.byId.get(id) ?? null;
  }

  /**
   * Resolve a reply by reference (`peer_id`, docs/protocol.md) to this node's own record of its
   * replier (`raw.peer`, marked `known`): false when the replier is not a known peer (nor this node).
   * Looked up in the view {@link get} took last (the caller takes one per batch, not one per item).
   */
  resolve(raw: Extract<RawItem, { kind: "reply" }>, selfId: string, host: Pick<ConversationHost, "self">): boolean {
    const peer = raw.peerId === selfId ? host.self() : (this.byId.get(raw.peerId) ?? null);
    if (peer === null) return false;
    raw.peer = peer;
    raw.known = true;
    return true;
  }

  /**
   * Open the connection (and its hello) to peers not yet connected, with a `_synapse.ping` (which
   * every node answers), so that a later look knows whether they batch: at most {@link MAX_PROBES}
   * at a time, each peer at most once per {@link PROBE_AGAIN} seconds.
   */
  private probe(peers: Peer[]): void {
    const now = monotonicMs();
    for (const peer of peers) {
      if (this.probing.size >= MAX_PROBES) break;
      const last = this.probed.get(peer.id);
      if (this.probing.has(peer.id) || (last !== undefined && now - last < PROBE_AGAIN * 1000)) continue;
      this.probing.add(peer.id);
      this.probed.set(peer.id, now);
      const ping = this.host.call(peer, "_synapse.ping", [], {}).then(
        () => undefined,
        (error) => log.debug(`probe of ${peer.name || peer.id.slice(0, 8)} failed: ${errorMessage(error)}`),
      );
      this.track(ping.finally(() => this.probing.delete(peer.id)));
    }
    if (this.probed.size > 4 * MAX_PROBES + peers.length) {
      for (const [id, at] of this.probed) if (now - at >= PROBE_AGAIN * 1000) this.probed.delete(id);
    }
  }
}
