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

const log = createLogger("conversation");

/**
 * Seconds the split of known peers (batching or not) is reused. A peer that joined or connected
 * since is reached by others in the meantime (and, batching, by the pull half of its own rounds).
 */
export const VIEW_REFRESH = 0.5;
/** Peers not yet connected that one view refresh probes, at most. */
const MAX_PROBES = 16;

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
}

/** The peer views of one node. */
export class PeerViews {
  private cached: PeerView | null = null;
  /** The peers of the current view by id. */
  private byId = new Map<string, Peer>();

  constructor(
    private readonly host: Pick<ConversationHost, "self" | "peers" | "call" | "batches">,
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
   * at again (every round, until their connection is up). `latest`: take the list now (an author
   * reaches every peer it knows at the time, as without batching).
   */
  get(latest = false): PeerView {
    const now = monotonicMs();
    const cached = this.cached;
    if (!latest && cached !== null && now - cached.at < VIEW_REFRESH * 1000) {
      if (cached.unknown.length > 0 && now - cached.splitAt >= (this.interval ?? 0) * 1000) this.resplit(cached, now);
      return cached;
    }
    const self = this.host.self().id;
    const peers = this.host.peers().filter((p) => p.id !== self);
    const view: PeerView = { at: now, splitAt: now, batch: [], plain: [], unknown: [], count: peers.length };
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
  }

  /** A known peer by id (from the current view), or null. */
  find(id: string): Peer | null {
    this.get();
    return this.byId.get(id) ?? null;
  }

  /**
   * Open the connection (and its hello) to peers not yet connected, a few per refresh, with a
   * `_synapse.ping` (which every node answers), so that the next view knows whether they batch.
   */
  private probe(peers: Peer[]): void {
    for (const peer of peers.slice(0, MAX_PROBES)) {
      this.track(this.host.call(peer, "_synapse.ping", [], {}).catch((error) => log.debug(`probe of ${peer.name || peer.id.slice(0, 8)} failed: ${errorMessage(error)}`)));
    }
  }
}
