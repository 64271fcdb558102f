/**
 * What `sn watch`'s live view shows, kept apart from drawing it: the peers with their status
 * (offline ones kept, marked, for a few minutes) and a bounded log of recent events. Pure state:
 * every method takes the time, so it is tested without a clock or a terminal.
 *
 * @module
 */
import type { Peer } from "../index.ts";

/**
 * A peer's status mark: `fresh` joined a moment ago, `online` heard from recently, `stale` silent
 * for longer than two heartbeats (it may be going away), `offline` dropped by membership.
 */
export type PeerStatus = "fresh" | "online" | "stale" | "offline";

/** One peer of the view. */
export interface WatchedPeer {
  peer: Peer;
  /** Unix seconds when it (last) joined. */
  joinedAt: number;
  /** Unix seconds when it was last heard from. */
  lastSeen: number;
  /** Unix seconds when it went offline, or null while it is online. */
  offlineAt: number | null;
  /** Its role (`_synapse.info`), once known. */
  role: string | null;
}

/** One line of the event log. */
export interface WatchEvent {
  /** Unix seconds. */
  time: number;
  /** `JOINED`, `BEAT`, `OFFLINE`, `ASK`, `MESSAGE`, `CALL`, `ACK`, `REPLY`, `ERROR`, or a custom kind in capitals. */
  kind: string;
  /** Who: the peer's name (or the first 8 characters of its id). */
  who: string;
  /** What: the task, the message, the result. */
  text: string;
  /** The conversation's short nonce, or "". */
  tag: string;
}

/** Options of {@link WatchModel}. */
export interface WatchModelOptions {
  /** Seconds between heartbeats (a peer silent for two of them is `stale`). */
  heartbeat: number;
  /** Seconds a peer is `fresh` after joining. Default 5. */
  freshFor?: number;
  /** Seconds an offline peer stays in the table. Default 180. */
  keepOffline?: number;
  /** Events kept for the log. Default 500. */
  maxEvents?: number;
}

/** Status marks, in the order of the legend. */
export const STATUS_MARKS: Record<PeerStatus, string> = { fresh: "+", online: "●", stale: "~", offline: "✗" };

/** The view's state: peers by id and recent events. */
export class WatchModel {
  private readonly peers = new Map<string, WatchedPeer>();
  /** Recent events, oldest first. */
  readonly events: WatchEvent[] = [];
  private readonly freshFor: number;
  private readonly keepOffline: number;
  private readonly maxEvents: number;

  constructor(private readonly options: WatchModelOptions) {
    this.freshFor = options.freshFor ?? 5;
    this.keepOffline = options.keepOffline ?? 180;
    this.maxEvents = options.maxEvents ?? 500;
  }

  /** A peer joined (or came back). */
  joined(peer: Peer, now: number): void {
    const role = this.peers.get(peer.id)?.role ?? null;
    this.peers.set(peer.id, { peer, joinedAt: now, lastSeen: now, offlineAt: null, role });
  }

  /** A peer's role became known. */
  setRole(id: string, role: string | null): void {
    const entry = this.peers.get(id);
    if (entry) entry.role = role;
  }

  /** A peer was heard from (a heartbeat, a call). Unknown peers are added. */
  seen(peer: Peer, now: number): void {
    const entry = this.peers.get(peer.id);
    if (!entry || entry.offlineAt !== null) this.joined(peer, now);
    else {
      entry.peer = peer;
      entry.lastSeen = now;
    }
  }

  /** A peer went offline: kept, marked, for `keepOffline` seconds. */
  offline(peer: Peer, now: number): void {
    const entry = this.peers.get(peer.id);
    if (entry) entry.offlineAt = now;
    else this.peers.set(peer.id, { peer, joinedAt: now, lastSeen: now, offlineAt: now, role: null });
  }

  /** Add a line to the event log (the oldest go beyond `maxEvents`). */
  log(event: WatchEvent): void {
    this.events.push(event);
    if (this.events.length > this.maxEvents) this.events.splice(0, this.events.length - this.maxEvents);
  }

  /** The entry of one peer, or undefined (the dashboard looks peers up by id). */
  get(id: string): WatchedPeer | undefined {
    return this.peers.get(id);
  }

  /** A peer's status at `now`. */
  status(entry: WatchedPeer, now: number): PeerStatus {
    if (entry.offlineAt !== null) return "offline";
    if (now - entry.joinedAt < this.freshFor) return "fresh";
    return now - entry.lastSeen > 2 * this.options.heartbeat ? "stale" : "online";
  }

  /**
   * The peers to show at `now`: online ones first, then offline ones, each by name; offline peers
   * older than `keepOffline` are forgotten.
   */
  list(now: number): Array<WatchedPeer & { status: PeerStatus }> {
    for (const [id, entry] of this.peers) if (entry.offlineAt !== null && now - entry.offlineAt > this.keepOffline) this.peers.delete(id);
    return [...this.peers.values()]
      .map((entry) => ({ ...entry, status: this.status(entry, now) }))
      .sort((a, b) => Number(a.status === "offline") - Number(b.status === "offline") || a.peer.name.localeCompare(b.peer.name) || a.peer.id.localeCompare(b.peer.id));
  }
}
