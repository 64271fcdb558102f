/**
 * Liveness: heartbeat rounds (every known peer concurrently, each call with its own timeout, so
 * one unreachable peer never delays the rest), reaping peers not heard from for `peerTimeout`,
 * and probing recently dropped peers so that a healed partition heals the membership too.
 *
 * @module
 */
import { createLogger } from "../log.ts";
import type { Peer } from "../types.ts";
import { readInfo } from "./peer-record.ts";
import { nowSeconds } from "../util/time.ts";
import type { PeerEntry } from "./peer-table.ts";
import type { Membership } from "./membership.ts";
import { isMap } from "../util/guards.ts";

const log = createLogger("heartbeat");

/** Dropped peers are remembered (and probed) for at most this many. */
const MAX_LOST = 1024;
/** ...and for at least this long (seconds), or ten peer timeouts when that is longer. */
const MIN_LOST_RETENTION = 300;

/** Who to heartbeat: a table entry, or what is left of a dropped one. */
type Target = Pick<PeerEntry, "dialHost" | "fallbackHost" | "peer" | "extensions">;

interface LostPeer {
  target: Target;
  droppedAt: number;
  nextProbe: number;
}

/** The heartbeat and reaping work of one {@link Membership}. */
export class Liveness {
  private readonly inFlight = new Set<string>();
  private readonly lost = new Map<string, LostPeer>();

  /** Unix seconds of the last start. */
  private startedAt = 0;

  constructor(private readonly m: Membership) {}

  /** The node (re)started. */
  started(): void {
    this.startedAt = nowSeconds();
  }

  /** A peer is (again) in the table: stop probing it. */
  found(id: string): void {
    this.lost.delete(id);
  }

  /** One round: a heartbeat to every known peer, and a probe to the dropped peers that are due. */
  async round(): Promise<void> {
    if (!this.m.host.running) return;
    const now = nowSeconds();
    const calls: Array<Promise<boolean>> = this.m.table.list().map((entry) => this.beat(entry));
    const retention = Math.max(MIN_LOST_RETENTION, 10 * (this.m.peerTimeout ?? 0));
    for (const [id, lost] of this.lost) {
      if (now - lost.droppedAt > retention) this.lost.delete(id);
      else if (now >= lost.nextProbe) {
        lost.nextProbe = now + Math.max(this.m.heartbeatInterval ?? 5, this.m.peerTimeout ?? 0);
        calls.push(this.beat(lost.target));
      }
    }
    await Promise.all(calls);
  }

  /**
   * Heartbeat one peer. On an answer the peer is marked seen (and re-added when it had been
   * dropped meanwhile); on a failure nothing happens: silence is what the reaper counts.
   *
   * @returns true when the peer answered as itself.
   */
  async beat(target: Target): Promise<boolean> {
    const m = this.m;
    const id = target.peer.id;
    if (this.inFlight.has(id) || !m.host.running) return false;
    this.inFlight.add(id);
    m.stats.heartbeatsSent++;
    try {
      const answer = await m.callPeer<unknown>(target, "_synapse.heartbeat", [m.host.toPeer()], m.heartbeatTimeout);
      const info = readInfo(isMap(answer) ? answer.self : undefined);
      if (info.id !== undefined && info.id !== id) {
        // Another node now listens at that address; the old peer stays silent and will be reaped.
        m.stats.heartbeatsFailed++;
        log.debug(`${target.dialHost}:${target.peer.port} answered as ${info.id.slice(0, 8)}, not ${id.slice(0, 8)}`);
        return false;
      }
      m.stats.heartbeatsAnswered++;
      const now = nowSeconds();
      const entry = m.table.get(id);
      if (entry) {
        refresh(entry.peer, info);
        m.table.touch(id, now);
        m.emit("peer.heartbeat", entry.peer);
      } else {
        // Dropped (or never admitted) but alive: back in the swarm.
        const peer: Peer = { ...target.peer, capabilities: [...target.peer.capabilities], last_seen: now };
        refresh(peer, info);
        const back = m.admit(peer, "heartbeat", { extensions: target.extensions });
        if (back) m.emit("peer.heartbeat", back.peer);
      }
      return true;
    } catch (error) {
      m.stats.heartbeatsFailed++;
      log.debug(`heartbeat to ${target.peer.name || id.slice(0, 8)} at ${target.dialHost}:${target.peer.port} failed`, error);
      return false;
    } finally {
      this.inFlight.delete(id);
    }
  }

  /** Drop every peer not heard from for `peerTimeout`; `peer.offline` fires once for each. */
  reap(): Peer[] {
    const timeout = this.m.peerTimeout;
    if (timeout === null) return [];
    const now = nowSeconds();
    const dropped: Peer[] = [];
    // After a (re)start every peer gets a full timeout: the node could not hear anyone while stopped.
    if (now - this.startedAt < timeout) return dropped;
    for (const entry of this.m.table.staleSince(now - timeout)) {
      if (!this.m.table.remove(entry.peer.id)) continue;
      this.remember(entry, now);
      log.debug(`peer ${entry.peer.name} (${entry.peer.id.slice(0, 8)}) silent for ${(now - entry.peer.last_seen).toFixed(1)} s: offline`);
      dropped.push(entry.peer);
      this.m.emit("peer.offline", entry.peer);
    }
    return dropped;
  }

  /** Forget a peer at once (an mDNS goodbye); `peer.offline` fires when it was known. */
  drop(id: string): Peer | null {
    const entry = this.m.table.remove(id);
    if (!entry) return null;
    this.remember(entry, nowSeconds());
    this.m.emit("peer.offline", entry.peer);
    return entry.peer;
  }

  private remember(entry: PeerEntry, now: number): void {
    if (this.lost.size >= MAX_LOST) {
      const oldest = this.lost.keys().next().value;
      if (oldest !== undefined) this.lost.delete(oldest);
    }
    const wait = Math.max(this.m.heartbeatInterval ?? 5, this.m.peerTimeout ?? 0);
    this.lost.set(entry.peer.id, { target: { ...entry }, droppedAt: now, nextProbe: now + wait });
  }
}

/** Copy what a heartbeat answer's `self` says into a peer record. */
function refresh(peer: Peer, info: ReturnType<typeof readInfo>): void {
  if (info.name !== undefined) peer.name = info.name;
  if (info.kind !== undefined) peer.kind = info.kind;
  if (info.capabilities !== undefined) peer.capabilities = info.capabilities;
}
