/**
 * The bounds on what other nodes can make membership hold or do (issue #14): the size of the peer
 * table, how many peers a join answer or a peer list names, and how fast one source may introduce
 * peers that this node has not verified yet. {@link Admission} verifies second-hand peers: a peer
 * learnt from someone else (a seed's join answer, an mDNS advertisement, a heartbeat from an address
 * other than the one its record names) becomes a peer only once it answered a heartbeat from this
 * node at its advertised address, as itself. Probes are bounded per source (who named the peers)
 * and per target host (the host dialed), so that a peer list naming many ports or ids of one victim
 * host cannot make this node flood it.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import { createLogger } from "../log.ts";
import type { Peer } from "../types.ts";
import { errorMessage, isMap } from "../util/guards.ts";
import { nowSeconds } from "../util/time.ts";
import { readNodeInfo } from "../wire/peer.ts";
import type { AdmitOptions, IntroduceResult } from "./discovery.ts";
import { dialTarget, type PeerEntry, type PeerSource, type PeerTable } from "./peer-table.ts";

const log = createLogger("membership");

/**
 * Default of `maxPeers`. A heartbeat round calls every known peer at once, and each peer keeps a
 * pooled connection: 1,000 peers are 200 calls a second (at the default 5 s interval) and about
 * 1,000 descriptors, within a default `ulimit -n` of 1,024 plus the listener's own limit; a swarm
 * larger than that needs a gossip membership (a partial view) rather than a full table anyway.
 */
export const DEFAULT_MAX_PEERS = 1000;

/**
 * At most this many peer records in a join answer or a `_synapse.peers` list (a random sample of
 * the table). 256 records of the largest size a record may have (PEER_FIELD_LIMITS) stay well under
 * the 4 MiB frame; real records (~200 bytes) make an answer of about 50 KB. A sample is what gossip
 * membership needs anyway: the newcomer learns the rest from the peers it meets.
 */
export const MAX_LISTED_PEERS = 256;

/**
 * One source (a seed, or the address a mismatched call came from) may have this many unverified
 * peers probed per {@link UNVERIFIED_WINDOW}: each probe is a connection to an address someone else
 * named, so a forged list of thousands must not become thousands of connections. 64 per 5 s lets
 * a genuine answer of {@link MAX_LISTED_PEERS} be verified within 20 s (the seed is asked again
 * after each window while records were left over).
 */
export const UNVERIFIED_PER_SOURCE = 64;

/** Seconds of the per-source window of {@link UNVERIFIED_PER_SOURCE}. */
export const UNVERIFIED_WINDOW = 5;

/** At most this many probes of unverified peers in flight at once (all sources together). */
export const MAX_PENDING_PROBES = 256;

/** Sources whose window is tracked at once; past it a new source introduces nobody until windows expire. */
const MAX_SOURCES = 4096;

/**
 * Probes of one target host under way at once; more wait their turn. Whoever names the peers, and
 * however many sources name them, one host never gets more than this many probe connections from
 * this node at a time, while a host that runs many genuine peers (a developer's machine, a big
 * server) still has them all verified, a few at a time.
 */
export const PROBES_PER_HOST = 8;

/**
 * Failed probes of one target host per {@link UNVERIFIED_WINDOW}: past it, that host is not probed
 * again (waiting probes included) until the window ends. A probe fails when nothing answers as
 * the peer named: a victim host that runs no such peer. So a list naming thousands of ports or ids
 * on one host costs that host at most this many failed connections (and {@link PROBES_PER_HOST}
 * under way) per window from this node, from every source together.
 */
export const FAILED_PROBES_PER_HOST = 16;

/** Target hosts tracked at once (under way, waiting or with failures in the window); past it new hosts are not probed. */
const MAX_HOSTS = 4096;

/** The probe budget of one target host. */
interface HostBudget {
  /** Probes under way. */
  running: number;
  /** Probes waiting for a turn: resolved true to run, false when the host's failures ran out. */
  waiting: Array<(go: boolean) => void>;
  /** Failed probes since `windowStart`. */
  failures: number;
  windowStart: number;
}

/** The host a probe dials, as a key of {@link HostBudget}s: lower case, an IPv4-mapped IPv6 address as IPv4. */
function hostKey(address: string): string {
  const host = address.toLowerCase();
  return host.startsWith("::ffff:") && host.includes(".") ? host.slice(7) : host;
}

/**
 * Validate `maxPeers` (a positive integer; default {@link DEFAULT_MAX_PEERS}).
 *
 * @throws {ConfigError} for anything else.
 */
export function maxPeersOption(value: number | undefined): number {
  if (value === undefined) return DEFAULT_MAX_PEERS;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) throw new ConfigError(`maxPeers must be a positive integer, got ${String(value)}`);
  return value;
}

/** The `maxPeers` check: counts the new peers refused, and warns once each time the table fills. */
export class PeerCap {
  /** New peers refused because the table was full. */
  refused = 0;
  private warned = false;

  constructor(
    private readonly table: Pick<PeerTable, "has" | "size">,
    readonly maxPeers: number,
  ) {}

  /** True when `id` may be upserted: it is known (a refresh), or the table has room. */
  allows(id: string): boolean {
    if (this.table.has(id)) return true;
    if (this.table.size < this.maxPeers) {
      // Room again: the next time the table fills is worth a warning of its own.
      if (this.table.size < this.maxPeers - 1) this.warned = false;
      return true;
    }
    this.refused++;
    if (!this.warned) {
      this.warned = true;
      log.warn(`peer table full (maxPeers ${this.maxPeers}): new peers are refused until some go offline`);
    }
    return false;
  }
}

/** A peer to call or release: its dial host, fallback address and port. */
type Target = Pick<PeerEntry, "dialHost" | "fallbackHost"> & { peer: Pick<Peer, "port"> };

/**
 * Releases the pool's channels of peers that left the table (or were never admitted), except an
 * address and port that another known peer is still reached at. The releases asked for within one
 * turn of the event loop are checked against the table in one walk, at its end: a killed process's
 * peers leave each node together (250 at once in the swarm bench), and a walk for each was O(N²).
 */
export class ChannelReleases {
  #pending: Array<{ host: string; port: number }> = [];

  constructor(
    private readonly table: Pick<PeerTable, "list">,
    private readonly release: (host: string, port: number) => void,
  ) {}

  /** Release `target`'s channels once this turn is over, unless a known peer is reached there then. */
  add(target: Target): void {
    const port = target.peer.port;
    if (this.#pending.length === 0) queueMicrotask(() => this.flush());
    this.#pending.push({ host: target.dialHost, port });
    if (target.fallbackHost !== null) this.#pending.push({ host: target.fallbackHost, port });
  }

  /** Release what is pending now (one walk over the table). */
  flush(): void {
    const pending = this.#pending;
    if (pending.length === 0) return;
    this.#pending = [];
    const ports = new Set(pending.map((p) => p.port));
    // The addresses still in use at the ports concerned (entries' port read without their records).
    const used = new Set<string>();
    for (const e of this.table.list()) {
      if (!ports.has(e.port)) continue;
      used.add(`${e.dialHost} ${e.port}`);
      if (e.fallbackHost !== null) used.add(`${e.fallbackHost} ${e.port}`);
    }
    for (const { host, port } of pending) {
      const key = `${host} ${port}`;
      if (used.has(key)) continue;
      used.add(key); // released once
      this.release(host, port);
    }
  }
}

/** What admission needs of membership. */
export interface AdmissionHost {
  /** This node's record (the probe heartbeat's argument). */
  self(): Peer;
  /** True when `id` is in the table. */
  knows(id: string): boolean;
  /** True when the table has room for a new peer. */
  hasRoom(): boolean;
  /** Call `endpoint` on a peer at its dial host (with the fallback to its advertised address). */
  call(target: Target, endpoint: string, args: unknown[], timeout: number): Promise<unknown>;
  /** Add a verified peer to the table. */
  admit(peer: Peer, source: PeerSource, options?: AdmitOptions): PeerEntry | null;
  /** Release what the pool holds for a peer that was not admitted. */
  release(target: Target): void;
}

/** Admission counters. */
export interface AdmissionCounts {
  /** Unverified peers probed. */
  probed: number;
  /** Probed peers that answered as themselves and were admitted. */
  verified: number;
  /**
   * Unverified peers not probed: their source's budget was spent, too many probes were in flight,
   * or their host had too many failed probes in the window.
   */
  dropped: number;
}

/** Verifies second-hand peers with one probe each, within a budget per source. */
export class Admission {
  readonly counts: AdmissionCounts = { probed: 0, verified: 0, dropped: 0 };
  private readonly windows = new Map<string, { start: number; used: number }>();
  private readonly pending = new Set<string>();
  private readonly hosts = new Map<string, HostBudget>();

  constructor(
    private readonly host: AdmissionHost,
    private readonly timeout: () => number,
    private readonly now: () => number = nowSeconds,
  ) {}

  /**
   * Probe `peer` (introduced by `source`, learnt `via`): call `_synapse.heartbeat` at its advertised
   * address, and admit it when it answers with its own id. The heartbeat also tells the peer of this
   * node, as the announce of a peer exchange did.
   *
   * @returns what became of it ({@link IntroduceResult}).
   */
  async introduce(peer: Peer, source: string, via: PeerSource, options: AdmitOptions = {}): Promise<IntroduceResult> {
    if (this.host.knows(peer.id)) return "verified";
    if (this.pending.has(peer.id)) return "dropped";
    if (!this.host.hasRoom() || this.pending.size >= MAX_PENDING_PROBES || !this.spend(source)) {
      this.counts.dropped++;
      return "dropped";
    }
    this.pending.add(peer.id);
    const target = { ...dialTarget(peer.address, options.sameHost), peer };
    // The host actually dialed: a record that says it runs on this host is dialed on loopback.
    const host = hostKey(target.dialHost);
    if (!(await this.turn(host))) {
      this.pending.delete(peer.id);
      this.counts.dropped++;
      return "dropped";
    }
    // Known by now (another source, or gossip membership's exchange while this probe waited its
    // turn): no probe needed, and the turn goes to the next one.
    if (this.host.knows(peer.id)) {
      this.pending.delete(peer.id);
      this.done(host, true);
      return "verified";
    }
    this.counts.probed++;
    let verified = false;
    try {
      const answer = await this.host.call(target, "_synapse.heartbeat", [this.host.self()], this.timeout());
      const info = readNodeInfo(isMap(answer) ? answer.self : undefined);
      if (info.id !== peer.id) {
        log.debug(`${peer.address}:${peer.port} (named by ${source}) answered as ${info.id?.slice(0, 8) ?? "nobody"}, not ${peer.id.slice(0, 8)}`);
        this.host.release(target);
        return "failed";
      }
      const record: Peer = { ...peer, capabilities: [...(info.capabilities ?? peer.capabilities)], last_seen: this.now() };
      if (info.name !== undefined) record.name = info.name;
      if (info.kind !== undefined) record.kind = info.kind;
      // It answered as itself: the host runs the peer named, whatever becomes of the record.
      verified = true;
      // No announce: the probe was the heartbeat that tells the peer of this node.
      const entry = this.host.admit(record, via, { ...options, announce: false });
      if (!entry) return "failed";
      this.counts.verified++;
      return "verified";
    } catch (error) {
      log.debug(`probe of ${peer.address}:${peer.port} (named by ${source}) failed: ${errorMessage(error)}`);
      this.host.release(target);
      return "failed";
    } finally {
      this.pending.delete(peer.id);
      this.done(host, verified);
    }
  }

  /** Wait for a probe's turn at `host`; false when the host is not to be probed now. */
  private turn(host: string): Promise<boolean> | boolean {
    const now = this.now();
    let budget = this.hosts.get(host);
    if (!budget) {
      if (this.hosts.size >= MAX_HOSTS) {
        for (const [key, b] of this.hosts) if (b.running === 0 && b.waiting.length === 0 && now - b.windowStart >= UNVERIFIED_WINDOW) this.hosts.delete(key);
        if (this.hosts.size >= MAX_HOSTS) return false;
      }
      budget = { running: 0, waiting: [], failures: 0, windowStart: now };
      this.hosts.set(host, budget);
    }
    if (now - budget.windowStart >= UNVERIFIED_WINDOW) {
      budget.windowStart = now;
      budget.failures = 0;
    }
    if (budget.failures >= FAILED_PROBES_PER_HOST) return false;
    if (budget.running < PROBES_PER_HOST) {
      budget.running++;
      return true;
    }
    return new Promise<boolean>((resolve) => budget.waiting.push(resolve));
  }

  /** A probe of `host` ended: count a failure, hand the turn on (or refuse the waiting ones), forget an idle host. */
  private done(host: string, verified: boolean): void {
    const budget = this.hosts.get(host);
    if (!budget) return;
    budget.running--;
    const now = this.now();
    if (now - budget.windowStart >= UNVERIFIED_WINDOW) {
      budget.windowStart = now;
      budget.failures = 0;
    }
    if (!verified) budget.failures++;
    // Past the failures allowed, every waiting probe is refused (running no longer grows).
    while (budget.waiting.length > 0 && budget.running < PROBES_PER_HOST) {
      const next = budget.waiting.shift()!;
      const go = budget.failures < FAILED_PROBES_PER_HOST;
      if (go) budget.running++;
      next(go);
    }
    if (budget.running === 0 && budget.waiting.length === 0 && budget.failures === 0) this.hosts.delete(host);
  }

  /** Take one probe from `source`'s budget; false when it is spent for this window. */
  private spend(source: string): boolean {
    const now = this.now();
    let window = this.windows.get(source);
    if (!window || now - window.start >= UNVERIFIED_WINDOW) {
      if (!window && this.windows.size >= MAX_SOURCES) {
        for (const [key, w] of this.windows) if (now - w.start >= UNVERIFIED_WINDOW) this.windows.delete(key);
        if (this.windows.size >= MAX_SOURCES) return false;
      }
      window = { start: now, used: 0 };
      this.windows.set(source, window);
    }
    if (window.used >= UNVERIFIED_PER_SOURCE) return false;
    window.used++;
    return true;
  }
}
