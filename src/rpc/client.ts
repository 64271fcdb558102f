/**
 * The Client: calls endpoints on one peer over the process-wide connection pool.
 *
 * @module
 */
import { defaultPool, responseError, type Pool } from "../transport/pool.ts";
import { DEFAULT_MAX_FRAME } from "../wire/frame.ts";
import { ConfigError } from "../errors.ts";
import type { Kwargs } from "../wire/messages.ts";
import type { NodeInfo, Peer } from "../types.ts";

const KWARGS = Symbol.for("synapse-p2p.kwargs");

/** Keyword arguments wrapped by {@link kw}; pass as the last argument of `client.call`. */
export interface KeywordArguments {
  readonly [KWARGS]: Kwargs;
}

/**
 * Mark keyword arguments for a call: `client.call("sum", kw({ a: 1, b: 2 }))` sends
 * `args: [], kwargs: {a: 1, b: 2}` — what Python's `client.call("sum", a=1, b=2)` sends.
 */
export function kw(kwargs: Kwargs): KeywordArguments {
  return { [KWARGS]: kwargs };
}

function isKeywordArguments(value: unknown): value is KeywordArguments {
  return typeof value === "object" && value !== null && KWARGS in value;
}

/** Split `call`'s rest arguments into positional and keyword arguments. */
export function splitArguments(args: unknown[]): { args: unknown[]; kwargs: Kwargs } {
  const last = args[args.length - 1];
  if (args.length > 0 && isKeywordArguments(last)) return { args: args.slice(0, -1), kwargs: last[KWARGS] };
  return { args, kwargs: {} };
}

/** Options of a {@link Client}. */
export interface ClientOptions {
  /** Seconds to wait for each response (default 10; 0 waits forever). */
  timeout?: number;
  /** Largest accepted response frame in bytes (default 4 MiB). */
  maxDownloadSize?: number;
  /** Connection pool (default: the process-wide pool shared by every Client and Node). */
  pool?: Pool;
}

/** Per-call overrides for {@link Client.request}. */
export interface RequestOptions {
  args?: unknown[];
  kwargs?: Kwargs;
  /** Seconds; overrides the client's timeout for this call. */
  timeout?: number;
}

/**
 * Calls endpoints on one peer. Connections are pooled per peer and shared by every Client of the
 * process: between Bun nodes one connection carries many concurrent calls; against a Python node
 * each call gets a connection of its own.
 *
 * @example
 * const client = new Client("127.0.0.1", 9999);
 * const three = await client.call<number>("sum", 1, 2);
 * const alsoThree = await client.call<number>("sum", kw({ a: 1, b: 2 }));
 */
export class Client {
  readonly host: string;
  readonly port: number;
  private readonly timeoutMs: number;
  private readonly maxFrame: number;
  private readonly pool: Pool;

  constructor(host: string, port: number, options: ClientOptions = {}) {
    if (!host) throw new ConfigError("host is required");
    if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new ConfigError(`invalid port: ${port}`);
    const timeout = options.timeout ?? 10;
    if (!(timeout >= 0)) throw new ConfigError(`invalid timeout: ${timeout}`);
    this.host = host;
    this.port = port;
    this.timeoutMs = timeout * 1000;
    this.maxFrame = options.maxDownloadSize ?? DEFAULT_MAX_FRAME;
    this.pool = options.pool ?? defaultPool;
  }

  /** A client for a known peer record (uses its `address` and `port`). */
  static fromPeer(peer: Pick<Peer, "address" | "port">, options?: ClientOptions): Client {
    return new Client(peer.address, peer.port, options);
  }

  /** `host:port`. */
  get peer(): string {
    return `${this.host}:${this.port}`;
  }

  /**
   * Call `endpoint` with positional arguments; end with {@link kw}(...) to add keyword arguments.
   *
   * @throws {RemoteError} the peer answered `ok: false` (`code`, `message`).
   * @throws {CallTimeoutError} no answer within the timeout.
   * @throws {ConnectionError} the peer could not be reached or went away mid-call.
   * @throws {EncodeError} an argument MessagePack cannot carry (nothing was sent).
   */
  call<T = unknown>(endpoint: string, ...args: unknown[]): Promise<T> {
    const split = splitArguments(args);
    return this.request<T>(endpoint, split);
  }

  /** Call with explicit `args`, `kwargs` and an optional per-call timeout (seconds). */
  async request<T = unknown>(endpoint: string, options: RequestOptions = {}): Promise<T> {
    const timeoutMs = options.timeout === undefined ? this.timeoutMs : options.timeout * 1000;
    const channel = this.pool.channel(this.host, this.port);
    const res = await channel.call(endpoint, options.args ?? [], options.kwargs ?? {}, {
      timeoutMs,
      maxFrame: this.maxFrame,
    });
    if (!res.ok) throw responseError(res, endpoint, this.peer);
    return res.result as T;
  }

  /** `_synapse.ping` → `"pong"`. */
  ping(): Promise<string> {
    return this.call<string>("_synapse.ping");
  }

  /** `_synapse.info`. */
  info(): Promise<NodeInfo> {
    return this.call<NodeInfo>("_synapse.info");
  }

  /** `_synapse.methods`: the peer's published endpoints. */
  methods(): Promise<Array<{ name: string; publish: boolean; description: string }>> {
    return this.call("_synapse.methods");
  }

  /** How the pool talks to this peer: `"multiplex"`, `"single"` or `"unknown"` before the first call. */
  get mode(): string {
    return this.pool.channel(this.host, this.port).mode;
  }

  /** Close this peer's pooled connection (it reopens on the next call). */
  close(): void {
    this.pool.channel(this.host, this.port).close();
  }
}
