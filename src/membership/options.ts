/**
 * Membership options as the node takes them, and the validated timing every part shares
 * (liveness, seed rejoins).
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import { createLogger } from "../log.ts";
import { DEFAULT_MAX_CONNECTIONS } from "../transport/pool.ts";
import { maxPeersOption } from "./bounds.ts";
import type { MdnsOptions } from "./mdns.ts";
import type { SeedLike } from "./seeds.ts";

const log = createLogger("membership");

/** Options of membership (the node passes its own; times in seconds). */
export interface MembershipOptions {
  /** First contacts: `"host:port"`, `"host"` (port 9999) or `["host", port]`. */
  seeds?: readonly SeedLike[];
  /** Seconds between heartbeat rounds (default 5); `null` turns heartbeats off. */
  heartbeatInterval?: number | null;
  /** A peer not heard from for this many seconds is dropped (default 20); `null` never drops. */
  peerTimeout?: number | null;
  /** Seconds to wait for one heartbeat answer (default: half the peer timeout, at most 5). */
  heartbeatTimeout?: number;
  /**
   * Seconds to wait for a seed's join answer (default 5), of this node's own time: the seconds its
   * event loop was blocked meanwhile are waited again, up to three times this more in all.
   */
  joinTimeout?: number;
  /** `true` (or options) to advertise and browse `_synapse._tcp.local.` over mDNS. */
  mdns?: boolean | MdnsOptions;
  /** Network interface (name such as `"eth0"`, or its IPv4 address) for mDNS. */
  interface?: string;
  /**
   * The most peers the table holds (default 1000, see `DEFAULT_MAX_PEERS`); past it new peers are
   * refused (logged once, counted in `stats.peersRefused`) while known ones are still refreshed.
   */
  maxPeers?: number;
  /**
   * How liveness runs among Bun peers (default `"gossip"`): `"gossip"` probes them by SWIM (a few
   * calls per node per interval whatever the swarm's size, docs/membership.md); `"mesh"` heartbeats
   * every peer every interval, as the Python original. Python peers get direct heartbeats either way.
   */
  membership?: "gossip" | "mesh";
}

/** Options of `Membership.join`. */
export interface JoinOptions {
  /**
   * Seconds to wait for discovery after the seeds answered, until `minPeers` peers are known
   * (default: 2 with mDNS, else 0).
   */
  wait?: number;
  /** Stop waiting once this many peers are known (default 1). */
  minPeers?: number;
  /** More seeds to join now (they are kept for later rejoins). */
  seeds?: readonly SeedLike[];
}

/** Options of `Membership.stop` (and `node.stop()`). */
export interface StopOptions {
  /**
   * Tell the Bun peers that answer `_synapse.leave` that this node leaves, so they drop it at once
   * (default true). `false` stops silently, as a crash would: peers drop the node after their peer
   * timeout (mDNS still says goodbye).
   */
  leave?: boolean;
}

/** The timing of one membership, validated (seconds). */
export interface MembershipTiming {
  /** Seconds between heartbeat rounds, or null when off. */
  readonly heartbeatInterval: number | null;
  /** Seconds of silence after which a peer is dropped, or null. */
  readonly peerTimeout: number | null;
  /** Seconds to wait for one heartbeat answer. */
  readonly heartbeatTimeout: number;
  /** Seconds to wait for a seed's join answer. */
  readonly joinTimeout: number;
}

function positiveOrNull(value: number | null | undefined, fallback: number | null, what: string): number | null {
  if (value === undefined) return fallback;
  if (value === null) return null;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) throw new ConfigError(`${what} must be a positive number of seconds or null, got ${String(value)}`);
  return value;
}

/**
 * Validate the timing options and fill in the defaults (heartbeats every 5 s, peers dropped after
 * 20 s of silence). Warns when peers would flap (a timeout not longer than the interval).
 *
 * @throws {ConfigError} for a non-positive or non-finite time.
 */
export function membershipTiming(options: MembershipOptions): MembershipTiming {
  const heartbeatInterval = positiveOrNull(options.heartbeatInterval, 5, "heartbeatInterval");
  const peerTimeout = positiveOrNull(options.peerTimeout, 20, "peerTimeout");
  const heartbeatTimeout = options.heartbeatTimeout ?? Math.max(0.1, Math.min(5, (peerTimeout ?? 10) / 2));
  if (!(heartbeatTimeout > 0)) throw new ConfigError(`heartbeatTimeout must be positive, got ${heartbeatTimeout}`);
  const joinTimeout = options.joinTimeout ?? 5;
  if (!(joinTimeout > 0)) throw new ConfigError(`joinTimeout must be positive, got ${joinTimeout}`);
  if (heartbeatInterval !== null && peerTimeout !== null && peerTimeout <= heartbeatInterval) {
    log.warn(`peerTimeout (${peerTimeout} s) is not longer than heartbeatInterval (${heartbeatInterval} s): peers will flap offline`);
  }
  return { heartbeatInterval, peerTimeout, heartbeatTimeout, joinTimeout };
}

/** Connections a mesh node's pool holds beyond one per peer: seeds, second-hand peers being verified, callers' replies. */
const POOL_HEADROOM = 64;

/**
 * The connection cap (`PoolOptions.maxConnections`) of a node's own pool, by membership mode. Mesh
 * membership heartbeats every peer every interval, so its pool holds one connection per peer
 * (`maxPeers`, and some headroom): under that, the least recently used connections would be
 * closed and reopened (a connect and a hello each) every interval. Gossip membership calls a few
 * members a second (a probe, its indirect probes, gossip while there is news), so the default
 * cap holds what it calls within the pool's idle timeout.
 */
export function poolCapacity(options: Pick<MembershipOptions, "membership" | "maxPeers">): number {
  if (options.membership === "mesh") return maxPeersOption(options.maxPeers) + POOL_HEADROOM;
  return DEFAULT_MAX_CONNECTIONS;
}
