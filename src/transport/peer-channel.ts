/**
 * Every connection to one peer (`host:port`), and how that peer takes connections.
 *
 * A peer is either *multiplexing* (a Bun node: one long-lived connection carries many concurrent
 * requests, matched by id) or *single* (a Python node: it answers one request per connection and
 * closes). Which one is decided by a hello: every new connection first sends `_synapse.hello`
 * alone and waits for its answer before anything else is written. A Bun node answers it; a Python
 * node answers `bad_request` "Unregistered endpoint called: _synapse.hello" (harmless: no handler
 * ran) and closes. A single peer then gets one fresh connection per call, so no request is ever
 * pipelined behind another on a connection that would drop it, and none is sent twice. The verdict
 * is kept for {@link SINGLE_RECHECK_MS}, then checked again (a port may change hands). A peer that
 * answered the hello with a refusal speaks the original protocol only: a call to one of this
 * implementation's extension endpoints, or one giving a built-in an argument it has no parameter
 * for ({@link originalRefusal}), fails with an {@link UnsupportedError} before any byte of it is
 * written, whichever path of the node asked for it.
 *
 * @module
 */
import { ClientConnection, type ConnectionOwner, type Pending } from "./client-connection.ts";
import type { Connection } from "./connection.ts";
import { clock, deadlineOf, untilDeadline, type CallSettings } from "./call-settings.ts";
import type { Transport } from "./socket.ts";
import { request, type Kwargs, type RequestMessage, type ResponseMessage } from "../wire/messages.ts";
import { HELLO_ENDPOINT, HELLO_FEATURES, originalRefusal } from "../wire/protocol.ts";
import { outOfDescriptors } from "./connect-failure.ts";
import { CallTimeoutError, ConnectionError, UnsupportedError } from "../errors.ts";
import { createLogger } from "../log.ts";
import { monotonicMs } from "../util/time.ts";

const log = createLogger("pool");

/** The budget of setting up a pooled connection (connect and hello), whatever the callers' timeouts. */
export const SETUP_TIMEOUT_MS = 10_000;

/** How long a "one request per connection" verdict is trusted before the next hello. */
export const SINGLE_RECHECK_MS = 60_000;

/** How a peer takes connections. */
export type PeerMode = "unknown" | "multiplex" | "single";

/** What a channel needs from the pool that holds it. */
export interface ChannelHost {
  /** How connections are made. */
  readonly transport: Transport;
  /** At most this many simultaneous connections to one single-request peer. */
  readonly maxSingleConnections: number;
  /** The channel's multiplexed connection is open now (the pool counts them, and may close an idle one). */
  opened(channel: PeerChannel): void;
  /** The channel's multiplexed connection is closing or closed (told at least once per {@link opened}). */
  closed(channel: PeerChannel): void;
  /** The peer closed the channel's multiplexed connection without a going-away (after {@link closed}). */
  dropped?(channel: PeerChannel): void;
  /**
   * A connect failed for want of file descriptors: close idle connections to get some back;
   * returns how many it closed (0 when it closed some a moment ago already).
   */
  shortage?(): number;
}

/** The features of a peer that said no hello yet: shared, frozen (a channel costs no object of its own). */
const NO_FEATURES: Readonly<Record<string, unknown>> = Object.freeze({});

let idPrefix = "";
let idCounter = 0;

/** A request id unique in this process (and, by its random prefix, among processes). */
function nextId(): string {
  if (!idPrefix) idPrefix = crypto.randomUUID().replace(/-/g, "").slice(0, 12);
  return idPrefix + (idCounter++).toString(36);
}

/** All connections to one peer, and its mode. */
export class PeerChannel implements ConnectionOwner {
  mode: PeerMode = "unknown";
  /** True while the single verdict came from a hello answered with a refusal (a Python node), not a connection closed on it. */
  original = false;
  private modeAt = 0;
  private shared: ClientConnection | null = null;
  private connecting: Promise<ClientConnection | null> | null = null;
  /** Live one-request connections (single mode). */
  private singles = 0;
  /** Calls waiting for the multiplexed connection (its setup, or their turn) before they send. */
  private waiters = 0;
  /** Calls waiting for a one-request connection (made on first use: most peers never need it). */
  private singleQueue: Array<() => void> | null = null;
  /** Features the peer answered in its hello. */
  features: Readonly<Record<string, unknown>> = NO_FEATURES;
  /** Set when the pool forgot this channel ({@link Pool.closeAll}); holders must ask the pool again. */
  retired = false;
  /** When a one-request call last ended (ms, `monotonicMs()`); 0 for none. */
  lastSingleAt = 0;
  /** @internal The pool's sweeper: when it first saw this channel {@link dormant} (0: not dormant). */
  dormantSince = 0;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly pool: ChannelHost,
  ) {}

  get key(): string {
    return `${this.host}:${this.port}`;
  }

  /** @internal The pooled connection's framed connection (null when none is open), for tests and diagnostics. */
  get connection(): Connection<ClientConnection> | null {
    return this.shared?.conn ?? null;
  }

  /** True when a pooled connection is open. */
  get connected(): boolean {
    return this.shared?.open ?? false;
  }

  /** True when nothing is open or under way on this channel (no connection, no setup, no call). */
  get dormant(): boolean {
    return !this.connected && this.connecting === null && this.singles === 0;
  }

  /**
   * Milliseconds since the shared connection last saw traffic, or -1 when it is in use (a call in
   * flight, or waiting to send on it) or there is none.
   */
  idleFor(now: number): number {
    const c = this.shared;
    if (!c || !c.open || c.pending.size > 0 || this.waiters > 0) return -1;
    return now - Math.max(c.conn!.lastRead, c.conn!.lastWrite);
  }

  /** Make one call; resolves with the whole response. Rejects with a typed error; never throws. */
  async call(endpoint: string, args: unknown[], kwargs: Kwargs, settings: CallSettings): Promise<ResponseMessage> {
    const req = request(endpoint, nextId(), args, kwargs);
    const timed: CallSettings = { ...settings, deadline: deadlineOf(settings) };
    try {
      if (this.mode === "single" && monotonicMs() - this.modeAt > SINGLE_RECHECK_MS) this.mode = "unknown";
      if (this.mode !== "single") {
        // While calls wait for the connection, it counts as in use: the pool's cap and idle
        // sweep leave it open until they have sent (see idleFor).
        this.waiters++;
        let shared: ClientConnection | null;
        try {
          shared = await this.sharedConnection(timed);
          // Closed anyway between its setup and this turn (the server went away, the pool was
          // closed): nothing was sent on it, so the call takes a fresh one.
          for (let retry = 0; shared !== null && !shared.open && retry < 2; retry++) shared = await this.sharedConnection(timed);
        } finally {
          this.waiters--;
        }
        if (shared) {
          if (clock() >= timed.deadline!) throw new CallTimeoutError(endpoint, this.key, settings.timeoutMs);
          return await shared.send(req, timed);
        }
      }
      // A Python node is never sent an endpoint or argument it does not know, whatever asked for it.
      if (this.original) {
        const refusal = originalRefusal(endpoint, args, kwargs);
        if (refusal !== null) throw new UnsupportedError(endpoint, this.key, { reason: refusal });
      }
      return await this.callSingle(req, timed);
    } catch (error) {
      // The hello and the connect share the call's budget; their timeout is this call's.
      if (error instanceof CallTimeoutError && error.endpoint !== endpoint) throw new CallTimeoutError(endpoint, this.key, settings.timeoutMs);
      if (error instanceof ConnectionError && error.endpoint !== endpoint) {
        throw new ConnectionError(error.message, this.key, { endpoint, sent: false, cause: error });
      }
      throw error;
    }
  }

  /** @internal Send a request again on a fresh connection after a going-away, settling the first caller. */
  resend(p: Pending): void {
    const settings: CallSettings = { ...p.settings, deadline: p.deadline };
    this.call(p.req.endpoint, p.req.args, p.req.kwargs, settings).then((res) => {
      if (!p.unwrap) p.resolve(res);
      else if (res.ok) p.resolve(res.result);
      else p.reject(settings.toError(res, p.req.endpoint, this.key));
    }, p.reject);
  }

  /** @internal The pooled connection takes no more requests (going away, or closed; `dropped`: by the peer, unannounced). */
  lost(cc: ClientConnection, dropped = false): void {
    if (this.shared !== cc) return;
    this.shared = null;
    this.pool.closed(this);
    if (dropped && !this.retired) this.pool.dropped?.(this);
  }

  /**
   * Make one call; resolves with its result and rejects `ok: false` with `settings.toError` (and
   * anything else with its typed error); never throws. The hot path: on an open multiplexed
   * connection the request goes out at once and the caller's promise is the only one made.
   */
  invoke(endpoint: string, args: unknown[], kwargs: Kwargs, settings: CallSettings): Promise<unknown> {
    const shared = this.shared;
    if (shared !== null && shared.open) return shared.invoke(request(endpoint, nextId(), args, kwargs), settings);
    return this.call(endpoint, args, kwargs, settings).then((res) => {
      if (!res.ok) throw settings.toError(res, endpoint, this.key);
      return res.result;
    });
  }

  /**
   * The peer's hello answer once this channel's setup under way is over (at once when its pooled
   * connection is open); null when nothing is open or being set up, when the peer takes one
   * request per connection, or when the setup failed. Starts nothing; never rejects. A caller that
   * started a call here a moment ago learns what the peer offered as that call's request goes out.
   */
  async settled(): Promise<Readonly<Record<string, unknown>> | null> {
    if (!this.shared?.open) {
      if (this.connecting === null) return null;
      await this.connecting.catch(() => null);
    }
    return this.shared?.open && this.mode === "multiplex" ? this.features : null;
  }

  /** Close the pooled connection (gracefully: what is queued is written first). */
  close(): void {
    const shared = this.shared;
    if (shared === null) return;
    this.shared = null;
    shared.close();
    this.pool.closed(this);
  }

  /**
   * The multiplexed connection, opened and negotiated if needed; null when the peer is single.
   * Calls that arrive while a connection is being set up share that setup, each waiting no longer
   * than its own deadline; the setup itself has a budget of its own ({@link SETUP_TIMEOUT_MS}), so
   * that no caller's short or missing timeout decides it for the others.
   */
  private async sharedConnection(settings: CallSettings): Promise<ClientConnection | null> {
    if (this.shared?.open) return this.shared;
    this.connecting ??= this.negotiate(settings).finally(() => {
      this.connecting = null;
    });
    return untilDeadline(this.connecting, settings.deadline ?? Infinity, () => new CallTimeoutError(HELLO_ENDPOINT, this.key, settings.timeoutMs));
  }

  /** Open a connection and say hello; `first` is the settings of the call that asked first. */
  private async negotiate(first: CallSettings): Promise<ClientConnection | null> {
    const settings: CallSettings = {
      timeoutMs: SETUP_TIMEOUT_MS,
      maxFrame: first.maxFrame,
      toError: first.toError,
      deadline: clock() + SETUP_TIMEOUT_MS,
      meter: first.meter,
    };
    const cc = await this.open(HELLO_ENDPOINT, settings);
    let res: ResponseMessage;
    try {
      const hello = request(HELLO_ENDPOINT, nextId(), [{ features: [...HELLO_FEATURES] }], {});
      res = await cc.send(hello, settings);
    } catch (error) {
      cc.destroy();
      // A peer that closed on the hello without answering cannot take reuse either.
      if (error instanceof ConnectionError && error.sent) return this.setSingle(false);
      throw error;
    }
    if (this.retired) {
      // The pool was closed while this connection was being set up: keep nothing open.
      cc.close();
      throw new ConnectionError(`the pool was closed while connecting to ${this.key}`, this.key, { endpoint: HELLO_ENDPOINT });
    }
    const features = res.ok && res.result && typeof res.result === "object" ? (res.result as Record<string, unknown>) : null;
    if (!features || features.multiplex !== true) {
      cc.close();
      // Refused (Python's "Unregistered endpoint called"): a node of the original protocol.
      return this.setSingle(!res.ok);
    }
    this.features = features;
    this.original = false;
    this.mode = "multiplex";
    this.modeAt = monotonicMs();
    this.shared = cc;
    cc.owner = this;
    this.pool.opened(this);
    log.debug(`${this.key}: multiplexing`);
    return cc;
  }

  /**
   * Open a connection to the peer. One that fails for want of file descriptors has the pool close
   * its idle connections, and is tried once more when that gave some back (after a turn of the
   * event loop, in which the closed sockets let go of theirs).
   */
  private async open(endpoint: string, settings: CallSettings): Promise<ClientConnection> {
    try {
      return await ClientConnection.open(this.pool.transport, this.host, this.port, endpoint, settings);
    } catch (error) {
      if (!outOfDescriptors(error) || !(this.pool.shortage?.() ?? 0)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 0));
      return await ClientConnection.open(this.pool.transport, this.host, this.port, endpoint, settings);
    }
  }

  /** The peer takes one request per connection; `original`: it refused the hello (a Python node). */
  private setSingle(original: boolean): null {
    if (this.mode !== "single") log.debug(`${this.key}: one request per connection${original ? " (the original protocol)" : ""}`);
    this.mode = "single";
    this.original = original;
    this.modeAt = monotonicMs();
    return null;
  }

  /** One fresh connection for one request, as a Python client does. */
  private async callSingle(req: RequestMessage, settings: CallSettings): Promise<ResponseMessage> {
    const limit = this.pool.maxSingleConnections;
    while (this.singles >= limit) await this.waitForSlot(req.endpoint, settings);
    this.singles++;
    let cc: ClientConnection | null = null;
    try {
      cc = await this.open(req.endpoint, settings);
      return await cc.send(req, settings);
    } finally {
      cc?.close();
      this.lastSingleAt = monotonicMs();
      this.singles--;
      this.singleQueue?.shift()?.();
    }
  }

  /**
   * Wait for a one-request connection to be free. The wait comes out of the call's budget: when
   * its deadline passes first, the call leaves the queue and rejects with a CallTimeoutError
   * (rather than waiting behind calls with longer timeouts).
   */
  private waitForSlot(endpoint: string, settings: CallSettings): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const deadline = deadlineOf(settings);
      let timer: ReturnType<typeof setTimeout> | null = null;
      const wake = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
      const queue = (this.singleQueue ??= []);
      queue.push(wake);
      if (deadline < Infinity) {
        timer = setTimeout(() => {
          const at = queue.indexOf(wake);
          if (at >= 0) queue.splice(at, 1);
          reject(new CallTimeoutError(endpoint, this.key, settings.timeoutMs));
        }, Math.max(0, deadline - clock()));
      }
    });
  }
}
