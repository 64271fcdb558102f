/**
 * What a server lets its peers make it hold: the largest frame, how long a frame may take to arrive,
 * how long an idle connection stays, how many connections are open at once, and how much memory
 * partial frames may hold across all connections. A node's options (seconds, bytes, counts) in;
 * the listener's limits (milliseconds, bytes, counts) out.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import { DEFAULT_MAX_FRAME } from "../wire/frame.ts";
import { descriptorLimit } from "./descriptors.ts";

/** A node's server options, as given (sizes in bytes, times in seconds). */
export interface ServerLimitOptions {
  /** Largest accepted request frame, bytes (default 4 MiB). */
  maxUploadSize?: number;
  /** Seconds a frame may take to arrive whole, from its first byte (default 30; 0 = no limit). */
  readTimeout?: number;
  /** Seconds an inbound connection may stay idle (default 120; 0 = never closed for it). */
  idleTimeout?: number;
  /**
   * Inbound connections open at once; past it a new connection is answered "server busy" and
   * closed (default: three quarters of the process's file-descriptor limit, at most 10,000).
   */
  maxConnections?: number;
  /**
   * Bytes that partial frames may hold across all inbound connections (default 256 MiB); past it
   * the connections holding the most are closed, so many half-sent frames cannot exhaust memory.
   */
  maxBufferedInput?: number;
}

/** The limits a listener enforces. */
export interface ServerLimits {
  /** Largest accepted request frame, bytes. */
  maxFrame: number;
  /** A frame not whole this long after its first byte closes its connection (ms; Infinity: never). */
  readTimeoutMs: number;
  /** A connection with nothing in flight and no traffic for this long is closed (ms; Infinity: never). */
  idleTimeoutMs: number;
  /** Inbound connections open at once. */
  maxConnections: number;
  /** Bytes held for partial frames across all connections. */
  maxBufferedInput: number;
}

/** Default of {@link ServerLimitOptions.maxBufferedInput}. */
export const DEFAULT_MAX_BUFFERED_INPUT = 256 * 1024 * 1024;

/** Connections allowed when the descriptor limit cannot be read. */
const FALLBACK_MAX_CONNECTIONS = 4096;

/**
 * Default of {@link ServerLimitOptions.maxConnections}: three quarters of the descriptor limit
 * (the rest stays for the node's own connections to its peers, logs and files), at least 16 and
 * at most 10,000. Refusing below the limit keeps the process from running out of descriptors,
 * where accepting fails over and over and a listener can spin.
 */
export function defaultMaxConnections(): number {
  const limit = descriptorLimit();
  if (limit === null) return FALLBACK_MAX_CONNECTIONS;
  return Math.max(16, Math.min(10_000, Math.floor(limit * 0.75)));
}

/**
 * Check a node's server options and turn them into listener limits. A timeout of 0 (or Infinity)
 * means none, as a Python node has none: it must not mean "close at once".
 *
 * @throws {ConfigError} for a size or count that is not a positive integer, or a negative or NaN timeout.
 */
export function serverLimits(options: ServerLimitOptions): ServerLimits {
  const positive = (name: string, value: number): number => {
    if (!Number.isSafeInteger(value) || value <= 0) throw new ConfigError(`invalid ${name}: ${value}`);
    return value;
  };
  const ms = (name: string, seconds: number): number => {
    if (!(seconds >= 0)) throw new ConfigError(`invalid ${name}: ${seconds}`);
    return seconds === 0 ? Infinity : seconds * 1000;
  };
  return {
    maxFrame: positive("maxUploadSize", options.maxUploadSize ?? DEFAULT_MAX_FRAME),
    readTimeoutMs: ms("readTimeout", options.readTimeout ?? 30),
    idleTimeoutMs: ms("idleTimeout", options.idleTimeout ?? 120),
    maxConnections: positive("maxConnections", options.maxConnections ?? defaultMaxConnections()),
    maxBufferedInput: positive("maxBufferedInput", options.maxBufferedInput ?? DEFAULT_MAX_BUFFERED_INPUT),
  };
}
