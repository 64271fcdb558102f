/**
 * The Client: calls endpoints on one peer over the process-wide connection pool, and turns a
 * failed answer into a {@link RemoteError}.
 *
 * @module
 */
import { defaultPool, sharedPool, type Pool } from "../transport/pool.ts";
import type { PeerChannel, PeerMode } from "../transport/peer-channel.ts";
import type { CallSettings } from "../transport/call-settings.ts";
import type { TrafficMeter } from "../transport/traffic.ts";
import type { Transport } from "../transport/socket.ts";
import { DEFAULT_MAX_FRAME } from "../wire/frame.ts";
import { ConfigError, ErrorCode, RemoteError, type SynapseError } from "../errors.ts";
import type { Kwargs, ResponseMessage } from "../wire/messages.ts";
import type { NodeInfo, Peer } from "../types.ts";
import { isPort } from "../util/guards.ts";
import { closedSwarmTransport, type ClosedSwarmClientOptions } from "./closed-swarm-client.ts";

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

/** The `kwargs` of a call without keyword arguments. Never mutated: nothing writes to a request's kwargs. */
const NO_KWARGS: Kwargs = Object.freeze({}) as Kwargs;

/**
 * Turn a failed response into the error a call rejects with: a {@link RemoteError} with the
 * peer's code and message. The pool calls it (through the call's settings) for an `ok: false`
 * answer and for an id-less error the peer sent before closing.
 */
export function responseError(res: ResponseMessage, endpoint: string, peer: string): SynapseError {
  const e = res.error ?? { code: ErrorCode.InternalError, message: "request failed" };
  return new RemoteError(e.code, e.message, endpoint, peer);
}

/** Options of a {@link Client}. */
export interface ClientOptions extends ClosedSwarmClientOptions {
  /** Seconds to wait for each response (default 10; 0 waits forever). */
  timeout?: number;
  /** Largest accepted response frame in bytes (default 4 MiB). */
  maxDownloadSize?: number;
  /** Connection pool (default: the process-wide pool of the transport, shared by every Client of the process). */
  pool?: Pool;
  /**
   * How connections are made (default: TCP through Bun). A Client given a transport but no pool
   * uses that transport's process-wide pool; a pool given too must use the same transport.
   */
  transport?: Transport;
  /**
   * Told of the size and endpoint of every request this Client sends and every response it gets
   * (a node counts its own calls so, for `node.metrics()`). None by default.
   */
  meter?: TrafficMeter;
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
 * A node of a closed swarm answers only a client that holds its swarm key: give `swarmKey` (and
 * the node's `swarm` name, which the handshake binds).
 *
 * @example
 * const client = new Client("127.0.0.1", 9999);
 * const three = await client.call<number>("sum", 1, 2);
 * const alsoThree = await client.call<number>("sum", kw({ a: 1, b: 2 }));
 * const member = new Client("127.0.0.1", 9998, { swarmKey: "swarm.key", swarm: "lab" });
 */
export class Client {
  readonly host: string;
  readonly port: number;
  private readonly timeoutMs: number;
  private readonly maxFrame: number;
  private readonly pool: Pool;
  /** This peer's channel, kept between calls; asked for again once the pool retires it. */
  private channelRef: PeerChannel | null = null;
  /** The settings of calls without a timeout of their own (one object, not one per call). */
  private readonly settings: CallSettings;

  constructor(host: string, port: number, options: ClientOptions = {}) {
    if (!host) throw new ConfigError("host is required");
    if (!isPort(port)) throw new ConfigError(`invalid port: ${port}`);
    const timeout = options.timeout ?? 10;
    if (!(timeout >= 0)) throw new ConfigError(`invalid timeout: ${timeout}`);
    this.host = host;
    this.port = port;
    this.timeoutMs = timeout * 1000;
    this.maxFrame = options.maxDownloadSize ?? DEFAULT_MAX_FRAME;
    if (options.pool && options.transport && options.pool.transport !== options.transport) {
      throw new ConfigError("the pool given uses another transport than the one given");
    }
    if (options.swarmKey === undefined && (options.swarm !== undefined || options.identity !== undefined)) {
      throw new ConfigError("swarm and identity are the options of a closed swarm's Client: give swarmKey too");
    }
    const transport = options.swarmKey !== undefined ? closedSwarmTransport(options) : options.transport;
    this.pool = options.pool ?? (transport ? sharedPool(transport) : defaultPool);
    this.settings = { timeoutMs: this.timeoutMs, maxFrame: this.maxFrame, toError: responseError, meter: options.meter };
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
    const last = args.length > 0 ? args[args.length - 1] : undefined;
    if (isKeywordArguments(last)) return this.request<T>(endpoint, { args: args.slice(0, -1), kwargs: last[KWARGS] });
    return this.channel().invoke(endpoint, args, NO_KWARGS, this.settings) as Promise<T>;
  }

  /** Call with explicit `args`, `kwargs` and an optional per-call timeout (seconds). */
  request<T = unknown>(endpoint: string, options: RequestOptions = {}): Promise<T> {
    if (options.timeout !== undefined && !(options.timeout >= 0)) return Promise.reject(new ConfigError(`invalid timeout: ${options.timeout}`));
    const settings =
      options.timeout === undefined ? this.settings : { ...this.settings, timeoutMs: options.timeout * 1000 };
    return this.channel().invoke(endpoint, options.args ?? [], options.kwargs ?? NO_KWARGS, settings) as Promise<T>;
  }

  private channel(): PeerChannel {
    const ch = this.channelRef;
    if (ch !== null && !ch.retired) return ch;
    return (this.channelRef = this.pool.channel(this.host, this.port));
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

  /** `_synapse.peers`: the peers this peer knows, as {@link Peer} records (wire keys). */
  peers(): Promise<Peer[]> {
    return this.call<Peer[]>("_synapse.peers");
  }

  /** How the pool talks to this peer: `"multiplex"`, `"single"` or `"unknown"` before the first call. */
  get mode(): PeerMode {
    return this.pool.channel(this.host, this.port).mode;
  }

  /** Close this peer's pooled connection (it reopens on the next call). */
  close(): void {
    this.pool.channel(this.host, this.port).close();
  }
}
