/**
 * The seam between membership and the ways it finds peers. A {@link Discovery} (seeds, mDNS, ...)
 * is given a {@link DiscoveryHost}: the few things it needs of membership, so that it can be
 * built and tested alone against a fake host, and membership never needs to know which
 * discoveries it runs.
 *
 * @module
 */
import type { Schedule } from "../schedule/schedule.ts";
import type { AddTaskOptions, TaskFunction } from "../schedule/scheduler.ts";
import type { Peer } from "../types.ts";
import type { PeerSource } from "./peer-table.ts";

/** How a discovered peer is to be added. */
export interface AdmitOptions {
  /** The address the peer's packet or call came from (replaces a wildcard advertised address). */
  remoteAddress?: string;
  /** The peer says it runs on this host (dial it on loopback). */
  sameHost?: boolean;
  /** Implementation extensions the peer advertised (mDNS `ext`), e.g. `["mux"]`. */
  extensions?: string[];
  /** Send the new peer one heartbeat at once, so that it learns of this node too. */
  announce?: boolean;
}

/**
 * What became of a second-hand peer: `verified` (it is a peer now, or was already), `dropped` (not
 * probed: its source's budget was spent, or the table is full; the source may name it again later),
 * `failed` (it did not answer as itself, or it is not of this swarm).
 */
export type IntroduceResult = "verified" | "dropped" | "failed";

/** Where periodic work goes: the node's `Scheduler`, or a fake in tests. */
export interface TaskScheduler {
  /** Run `fn` on `schedule` while the scheduler runs (what it returns is not used). */
  add(schedule: Schedule, fn: TaskFunction, options?: AddTaskOptions): unknown;
}

/** What a discovery needs of membership. */
export interface DiscoveryHost {
  /** This node's record: what a join sends and what mDNS advertises. */
  self(): Peer;
  /** True while the node runs; nothing is sent otherwise. */
  running(): boolean;
  /** True when the peer `id` is known. */
  knows(id: string): boolean;
  /** How many peers are known (for log lines). */
  peerCount(): number;
  /**
   * Add a discovered peer (a new one fires `peer.joined`). Membership refuses this node itself
   * and peers of another swarm or team. True when the peer is known afterwards.
   */
  admit(peer: Peer, source: PeerSource, options?: AdmitOptions): boolean;
  /**
   * A peer someone else named (`source`: who, e.g. a seed's `host:port`): probe it at its
   * advertised address and admit it when it answers as itself, within a budget per source and per
   * target host (see `bounds.ts`). `via` is what the admitted peer is recorded as learnt from
   * (default `exchange`), `options` how it is admitted. Never rejects.
   */
  introduce(peer: Peer, source: string, via?: PeerSource, options?: AdmitOptions): Promise<IntroduceResult>;
  /**
   * Join the known peer `id` by gossip membership (SWIM's join: one full-state exchange), waiting
   * at most `timeout` seconds. True when it is done: the peer runs gossip membership with this
   * node, which now has its view of the swarm (so the SWIM members it listed are known, and only
   * the others are probed); false when the exchange failed (the seed is not joined again for it); null
   * when this node or the peer does not gossip (a Python peer, mesh mode). Optional: without it
   * every listed peer is probed.
   */
  gossipJoin?(id: string, timeout: number): Promise<boolean | null>;
  /**
   * Start SWIM's first join with the seed at `host:port` now, beside the `_synapse.join` call just
   * made to it (its id is not known yet): the exchange goes out as soon as the hello of the
   * connection says the seed speaks SWIM, and a {@link gossipJoin} that follows waits for it rather
   * than sending one of its own (unless it failed). Nothing when this node has joined already or does
   * not gossip. Optional: without it the exchange follows the join's answer.
   */
  gossipJoinAt?(host: string, port: number, timeout: number): void;
  /**
   * After a {@link gossipJoin} that was answered with a page of the seed's members (a large swarm):
   * settles once this node has taken the rest of the state from a member of the page (or failed
   * to); null when the state came whole at once. The seed's listed peers are probed only then, so
   * that the SWIM members among them are known and not probed. Optional.
   */
  gossipWhole?(): Promise<void> | null;
  /** Forget a peer at once (it said goodbye); `peer.offline` fires when it was known. */
  forget(id: string): void;
  /** Call `endpoint(...args)` on `host:port`, waiting at most `timeout` seconds for the answer. */
  call(host: string, port: number, endpoint: string, args: unknown[], timeout: number): Promise<unknown>;
  /**
   * Seconds this process's event loop has been blocked so far (a running total that never
   * decreases; `loop-lag.ts`). Optional: seed discovery watches the process's loop itself without it.
   */
  stalled?(): number;
  /** Where to put periodic work (it runs while the node runs). */
  readonly scheduler: TaskScheduler;
}

/**
 * One way of finding peers. Membership starts it when the node starts, stops it when the node
 * stops, asks it to look now (`refresh`) when the application joins, and tells it when a peer
 * went offline. Every discovery passes the shared contract suite
 * (`test/membership/discovery-contract.test.ts`).
 */
export interface Discovery {
  /** Short name for diagnostics and log lines (`"seeds"`, `"mdns"`). */
  readonly name: string;
  /**
   * Seconds `join()` waits by default for the peers this discovery reports late (answers that
   * arrive after `refresh` resolved): 0 when `refresh` already waits for them.
   */
  readonly settleTime: number;
  /** Begin (the node listens now). Never throws; a discovery that cannot work here logs why. */
  start(): void;
  /** End: no peer is admitted and nothing is sent afterwards, until the next `start`. Idempotent. */
  stop(): Promise<void>;
  /**
   * Look for peers now. Resolves when this look is over: for seeds, every seed answered or
   * failed; for mDNS, once the query is sent (answers come later, see `settleTime`). Never rejects.
   */
  refresh(): Promise<void>;
  /** A peer went offline: look again soon, in case it comes back. */
  peerLost(peer: Peer): void;
}
