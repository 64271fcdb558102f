/**
 * Client-side connection pooling: one {@link PeerChannel} per peer (`host:port`), shared by every
 * Client that uses the pool; connections closed when idle, and the least recently used idle one
 * closed when a new one would pass the pool's cap.
 *
 * An open connection costs memory on both ends (its objects here and the socket's; no write
 * buffer while it has nothing to write), and a gossip node that probes every member over time
 * would otherwise keep one to every peer it ever called: the cap keeps that bounded whatever the
 * swarm's size. A connection closed too early costs a connect and a hello to reopen (and a Noise
 * handshake in a closed swarm), so the default cap is above the swarm sizes where every node
 * calls every peer each interval (mesh membership).
 *
 * @module
 */
import { PeerChannel, type ChannelHost } from "./peer-channel.ts";
import { IDLE_BUFFERS_MS } from "./connection.ts";
import { bunTransport } from "./bun-transport.ts";
import type { Transport } from "./socket.ts";
import { ConfigError } from "../errors.ts";
import { createLogger } from "../log.ts";
import { monotonicMs } from "../util/time.ts";

const log = createLogger("pool");

/** Options of a {@link Pool}. */
export interface PoolOptions {
  /**
   * Seconds a multiplexed connection with nothing in flight stays open (default 30; 0 = until
   * closed).
   */
  idleTimeout?: number;
  /** At most this many simultaneous connections to one single-request peer. Default 32. */
  maxSingleConnections?: number;
  /**
   * Most multiplexed connections open at once (default {@link DEFAULT_MAX_CONNECTIONS}; 0 = no
   * limit). Opening one more closes the least recently used connection that has no call in flight
   * (gracefully); when every connection has one, the pool goes over the cap until calls finish
   * rather than cut one. Set it at least to the number of peers a node calls every few seconds
   * (every peer in mesh membership), or connections are closed and reopened all the time.
   */
  maxConnections?: number;
  /** How connections are made (default: TCP through Bun). */
  transport?: Transport;
}

/**
 * Told that the peer at `host:port` closed a pooled connection without a going-away (see
 * {@link Pool.onDropped}); returns false when it has nothing to do with that peer.
 */
export type DroppedListener = (host: string, port: number) => boolean;

/** A connection idle this long (ms) is closed when the process runs out of file descriptors ({@link Pool.shortage}). */
export const SHED_IDLE_MS = 1000;
/** {@link Pool.shortage} closes connections at most once in this many ms. */
export const SHED_INTERVAL_MS = 1000;

/** {@link PoolOptions.maxConnections}'s default. */
export const DEFAULT_MAX_CONNECTIONS = 256;

/** Connection pool: one {@link PeerChannel} per `host:port`. */
export class Pool implements ChannelHost {
  /**
   * The channels by host, then by port: a lookup makes no `host:port` string (one was made and
   * hashed at every lookup, a few for every SWIM message sent: about 90 ns each, against 5 for
   * two lookups of strings and numbers held already).
   */
  private readonly channels = new Map<string, Map<number, PeerChannel>>();
  /** Channels whose multiplexed connection is open. */
  private readonly live = new Set<PeerChannel>();
  private evictions = 0;
  /** When {@link shortage} last ran (monotonic ms), and how many connections it closed in all. */
  private lastShed = 0;
  private shedCount = 0;
  /** {@link onDropped}'s listeners, and whose turn is next. */
  private readonly droppedListeners: DroppedListener[] = [];
  private droppedTurn = 0;
  private sweeper: ReturnType<typeof setInterval> | null = null;
  /** {@link PoolOptions.idleTimeout} in milliseconds (Infinity: never idle). */
  readonly idleTimeoutMs: number;
  /** {@link PoolOptions.maxSingleConnections}. */
  readonly maxSingleConnections: number;
  /** {@link PoolOptions.maxConnections} (Infinity: no limit). */
  readonly maxConnections: number;
  /** How this pool's connections are made. */
  readonly transport: Transport;

  /**
   * @throws {ConfigError} for a negative or NaN idle timeout, a single-request limit under 1, or a
   * connection cap that is not a whole number of at least 0.
   */
  constructor(options: PoolOptions = {}) {
    const idle = options.idleTimeout ?? 30;
    if (!(idle >= 0)) throw new ConfigError(`invalid idleTimeout: ${idle}`);
    const max = options.maxSingleConnections ?? 32;
    if (!(max >= 1)) throw new ConfigError(`invalid maxSingleConnections: ${max}`);
    const cap = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    if (!(Number.isInteger(cap) && cap >= 0)) throw new ConfigError(`invalid maxConnections: ${cap}`);
    this.idleTimeoutMs = idle === 0 ? Infinity : idle * 1000;
    this.maxSingleConnections = max;
    this.maxConnections = cap === 0 ? Infinity : cap;
    this.transport = options.transport ?? bunTransport;
  }

  /** @internal The channel of a peer, created on first use (the Client calls through it). */
  channel(host: string, port: number): PeerChannel {
    let ports = this.channels.get(host);
    let ch = ports?.get(port);
    if (!ch) {
      ch = new PeerChannel(host, port, this);
      if (!ports) this.channels.set(host, (ports = new Map()));
      ports.set(port, ch);
      this.ensureSweeper();
    }
    return ch;
  }

  /** @internal The channel of a peer when the pool has one (never creates it): a lookup on hot paths. */
  peek(host: string, port: number): PeerChannel | undefined {
    return this.channels.get(host)?.get(port);
  }

  /** @internal Known channels (for diagnostics and tests). */
  list(): PeerChannel[] {
    return [...this.all()];
  }

  /** Every channel of the pool. */
  private *all(): Generator<PeerChannel> {
    for (const ports of this.channels.values()) yield* ports.values();
  }

  /** Forget the channel of `host:port` (the pool holds no empty map for a host). */
  private forget(host: string, port: number): void {
    const ports = this.channels.get(host);
    if (!ports?.delete(port)) return;
    if (ports.size === 0) this.channels.delete(host);
  }

  /** Multiplexed connections open now (at most {@link maxConnections} but while every one has a call in flight). */
  get openConnections(): number {
    return this.live.size;
  }

  /** Connections closed so far to stay within {@link maxConnections}. */
  get evicted(): number {
    return this.evictions;
  }

  /** @internal A channel's connection opened: close the least recently used idle ones past the cap. */
  opened(channel: PeerChannel): void {
    this.live.add(channel);
    this.trim(channel);
  }

  /**
   * Close the least recently used idle connections (but `keep`'s) until at most
   * {@link maxConnections} are open. A connection with a call in flight is never closed: the pool
   * stays over its cap until those finish (the next connection opened or the sweep trims it then).
   */
  private trim(keep?: PeerChannel): void {
    if (this.live.size <= this.maxConnections) return;
    const now = monotonicMs();
    let excess = this.live.size - this.maxConnections;
    // Idle for longest first; a connection with a call in flight (idleFor -1) is never closed.
    const idle = [...this.live].filter((c) => c !== keep && c.idleFor(now) >= 0).sort((a, b) => b.idleFor(now) - a.idleFor(now));
    for (const victim of idle) {
      if (excess-- <= 0) break;
      victim.close();
      this.evictions++;
    }
  }

  /**
   * @internal A connect failed for want of file descriptors (`connect-failure.ts`): close the
   * connections idle for {@link SHED_IDLE_MS} or more, so that the process gets descriptors back
   * (and a listener of the process stops spinning on a connection it cannot accept: Bun retries
   * such an accept at once, over and over). At most once a {@link SHED_INTERVAL_MS}; each reopens
   * on its next call.
   *
   * @returns how many connections it closed.
   */
  shortage(): number {
    const now = monotonicMs();
    if (now - this.lastShed < SHED_INTERVAL_MS) return 0;
    this.lastShed = now;
    let closed = 0;
    for (const ch of [...this.live]) {
      if (ch.idleFor(now) < SHED_IDLE_MS) continue;
      ch.close();
      closed++;
    }
    this.shedCount += closed;
    if (closed > 0) log.debug(`out of file descriptors: closed ${closed} idle connections`);
    return closed;
  }

  /** Connections closed so far because the process ran out of file descriptors ({@link shortage}). */
  get shed(): number {
    return this.shedCount;
  }

  /** @internal A channel's connection closed (or is closing). */
  closed(channel: PeerChannel): void {
    this.live.delete(channel);
  }

  /**
   * Be told when a peer closes a pooled connection without a going-away: a Bun peer that stops
   * or sheds a connection says so first, so such a close is most often a process that died (or a
   * link that broke). A gossip node probes that peer at once rather than when its turn comes.
   * One listener is told per closed connection, in turn, until one returns true: a pool shared by
   * many nodes (one process's nodes in a benchmark) has each lost peer probed once, not once by
   * every node.
   *
   * @returns a function that removes the listener.
   */
  onDropped(listener: DroppedListener): () => void {
    this.droppedListeners.push(listener);
    return () => {
      const at = this.droppedListeners.indexOf(listener);
      if (at >= 0) this.droppedListeners.splice(at, 1);
    };
  }

  /** @internal The peer closed a channel's connection unannounced: tell one listener, in turn. */
  dropped(channel: PeerChannel): void {
    const listeners = this.droppedListeners;
    for (let tried = 0; tried < listeners.length; tried++) {
      const listener = listeners[this.droppedTurn++ % listeners.length]!;
      try {
        if (listener(channel.host, channel.port)) return;
      } catch (error) {
        log.warn(`a dropped-connection listener threw for ${channel.key}`, error);
      }
    }
  }

  /**
   * Close the channel of `host:port` and forget it (membership calls this when a peer goes
   * offline, leaves or is dropped, so that a table once poisoned with fakes leaves no channels
   * behind). A Client still holding it asks the pool for a fresh one on its next call.
   *
   * @returns true when the pool had a channel for that peer.
   */
  release(host: string, port: number): boolean {
    const ch = this.peek(host, port);
    if (!ch) return false;
    ch.retired = true;
    ch.close();
    this.forget(host, port);
    return true;
  }

  /** Close every pooled connection and forget every peer. */
  closeAll(): void {
    for (const ch of this.all()) {
      ch.retired = true;
      ch.close();
    }
    this.channels.clear();
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
  }

  private ensureSweeper(): void {
    if (this.sweeper || (this.idleTimeoutMs === Infinity && this.maxConnections === Infinity)) return;
    this.sweeper = setInterval(() => {
      this.trim();
      if (this.idleTimeoutMs === Infinity) return;
      const now = monotonicMs();
      for (const ch of this.all()) {
        const idle = ch.idleFor(now);
        if (idle > this.idleTimeoutMs) ch.close();
        else if (idle > IDLE_BUFFERS_MS) ch.connection?.releaseIdleBuffers();
        // A channel with nothing open or under way for the idle timeout is forgotten too, so that
        // peers called once (fakes a join listed, a broadcast origin) leave no channel behind.
        if (!ch.dormant) {
          ch.dormantSince = 0;
          continue;
        }
        if (ch.dormantSince === 0) ch.dormantSince = now;
        if (now - Math.max(ch.dormantSince, ch.lastSingleAt) > this.idleTimeoutMs) {
          ch.retired = true;
          this.forget(ch.host, ch.port);
        }
      }
    }, Math.max(50, Math.min(1000, this.idleTimeoutMs / 2)));
    this.sweeper.unref?.();
  }
}

/** The process-wide pool every Client uses unless given another (TCP through Bun). */
export const defaultPool = new Pool();

const sharedPools = new WeakMap<Transport, Pool>([[bunTransport, defaultPool]]);

/**
 * The process-wide pool of `transport`, made on first use: Clients given a transport but no pool
 * share it, as Clients given neither share {@link defaultPool} (which is the Bun transport's).
 */
export function sharedPool(transport: Transport): Pool {
  let pool = sharedPools.get(transport);
  if (!pool) {
    pool = new Pool({ transport });
    sharedPools.set(transport, pool);
  }
  return pool;
}
