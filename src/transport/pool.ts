/**
 * Client-side connection pooling: one {@link PeerChannel} per peer (`host:port`), shared by every
 * Client that uses the pool, and closed when idle.
 *
 * @module
 */
import { PeerChannel, type ChannelHost } from "./peer-channel.ts";
import { bunTransport } from "./bun-transport.ts";
import type { Transport } from "./socket.ts";
import { ConfigError } from "../errors.ts";

/** Options of a {@link Pool}. */
export interface PoolOptions {
  /**
   * Seconds a multiplexed connection with nothing in flight stays open (default 30; 0 = until
   * closed).
   */
  idleTimeout?: number;
  /** At most this many simultaneous connections to one single-request peer. Default 32. */
  maxSingleConnections?: number;
  /** How connections are made (default: TCP through Bun). */
  transport?: Transport;
}

/** Connection pool: one {@link PeerChannel} per `host:port`. */
export class Pool implements ChannelHost {
  private readonly channels = new Map<string, PeerChannel>();
  private sweeper: ReturnType<typeof setInterval> | null = null;
  /** {@link PoolOptions.idleTimeout} in milliseconds (Infinity: never idle). */
  readonly idleTimeoutMs: number;
  /** {@link PoolOptions.maxSingleConnections}. */
  readonly maxSingleConnections: number;
  /** How this pool's connections are made. */
  readonly transport: Transport;

  /** @throws {ConfigError} for a negative or NaN idle timeout, or a connection limit under 1. */
  constructor(options: PoolOptions = {}) {
    const idle = options.idleTimeout ?? 30;
    if (!(idle >= 0)) throw new ConfigError(`invalid idleTimeout: ${idle}`);
    const max = options.maxSingleConnections ?? 32;
    if (!(max >= 1)) throw new ConfigError(`invalid maxSingleConnections: ${max}`);
    this.idleTimeoutMs = idle === 0 ? Infinity : idle * 1000;
    this.maxSingleConnections = max;
    this.transport = options.transport ?? bunTransport;
  }

  /** @internal The channel of a peer, created on first use (the Client calls through it). */
  channel(host: string, port: number): PeerChannel {
    const key = `${host}:${port}`;
    let ch = this.channels.get(key);
    if (!ch) {
      ch = new PeerChannel(host, port, this);
      this.channels.set(key, ch);
      this.ensureSweeper();
    }
    return ch;
  }

  /** The channel of `host:port` when there is one (unlike {@link channel}, never makes one). */
  find(host: string, port: number): PeerChannel | undefined {
    return this.channels.get(`${host}:${port}`);
  }

  /** @internal Known channels (for diagnostics and tests). */
  list(): PeerChannel[] {
    return [...this.channels.values()];
  }

  /**
   * Close the channel of `host:port` and forget it (membership calls this when a peer goes
   * offline, leaves or is dropped, so that a table once poisoned with fakes leaves no channels
   * behind). A Client still holding it asks the pool for a fresh one on its next call.
   *
   * @returns true when the pool had a channel for that peer.
   */
  release(host: string, port: number): boolean {
    const key = `${host}:${port}`;
    const ch = this.channels.get(key);
    if (!ch) return false;
    ch.retired = true;
    ch.close();
    this.channels.delete(key);
    return true;
  }

  /** Close every pooled connection and forget every peer. */
  closeAll(): void {
    for (const ch of this.channels.values()) {
      ch.retired = true;
      ch.close();
    }
    this.channels.clear();
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
  }

  private ensureSweeper(): void {
    if (this.sweeper || this.idleTimeoutMs === Infinity) return;
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const [key, ch] of this.channels) {
        const idle = ch.idleFor(now);
        if (idle > this.idleTimeoutMs) ch.close();
        // A channel with nothing open or under way for the idle timeout is forgotten too, so that
        // peers called once (fakes a join listed, a broadcast origin) leave no channel behind.
        if (!ch.dormant) {
          ch.dormantSince = 0;
          continue;
        }
        if (ch.dormantSince === 0) ch.dormantSince = now;
        if (now - Math.max(ch.dormantSince, ch.lastSingleAt) > this.idleTimeoutMs) {
          ch.retired = true;
          this.channels.delete(key);
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
