/**
 * Client-side connection pooling, one channel per peer (`host:port`), shared by every Client of
 * the process.
 *
 * A peer is either *multiplexing* (a Bun node: one long-lived connection carries many concurrent
 * requests, matched by id) or *single* (a Python node: it answers one request per connection and
 * closes). Which one is decided by a hello: every new connection first sends `_synapse.hello`
 * alone and waits for its answer before anything else is written. A Bun node answers it; a Python
 * node answers `bad_request` "Unregistered endpoint called: _synapse.hello" (harmless: no handler
 * ran) and closes. A single peer then gets one fresh connection per call, so no request is ever
 * pipelined behind another on a connection that would drop it, and none is sent twice. The verdict
 * is kept for {@link SINGLE_RECHECK_MS}, then checked again (a port may change hands).
 *
 * @module
 */
import type { Socket } from "bun";
import { Connection, type ConnectionEvents } from "./connection.ts";
import { decode } from "../wire/codec.ts";
import { parseMessage, request, type Kwargs, type RequestMessage, type ResponseMessage } from "../wire/messages.ts";
import { CallTimeoutError, ConnectionError, FrameTooLargeError, RemoteError, SynapseError } from "../errors.ts";
import { createLogger } from "../log.ts";
import { DEFAULT_MAX_FRAME } from "../wire/frame.ts";

const log = createLogger("pool");

/** The extension endpoint a Bun node answers and a Python node refuses harmlessly. */
export const HELLO_ENDPOINT = "_synapse.hello";
/** Features this implementation offers in the hello. */
export const HELLO_FEATURES = ["multiplex"] as const;
/** The budget of setting up a pooled connection (connect and hello), whatever the callers' timeouts. */
export const SETUP_TIMEOUT_MS = 10_000;

/** How long a "one request per connection" verdict is trusted before the next hello. */
export const SINGLE_RECHECK_MS = 60_000;

/** How a peer takes connections. */
export type PeerMode = "unknown" | "multiplex" | "single";

/** Per-call settings. */
export interface CallSettings {
  /** Milliseconds; 0 or Infinity = no timeout. */
  timeoutMs: number;
  /** Largest accepted response frame, bytes. */
  maxFrame: number;
  /**
   * When the call times out, on the `performance.now()` clock. Set once when the call starts, so
   * that connecting, the hello and a retry all come out of the same budget.
   */
  deadline?: number;
}

/**
 * The wire error code a Bun server sends (with id "") to a client that said hello, before it
 * closes a connection gracefully (idle, or stopping). It promises that every request it received
 * before has been answered and that nothing after it will run, so the client resends whatever is
 * still unanswered on a fresh connection: nothing is lost and nothing runs twice.
 */
export const GOING_AWAY = "going_away";

/** Options of a {@link Pool}. */
export interface PoolOptions {
  /** A multiplexed connection with nothing in flight is closed after this long (ms). Default 30 s. */
  idleTimeoutMs?: number;
  /** At most this many simultaneous connections to one single-request peer. Default 32. */
  maxSingleConnections?: number;
}

let idPrefix = "";
let idCounter = 0;
function nextId(): string {
  if (!idPrefix) idPrefix = crypto.randomUUID().replace(/-/g, "").slice(0, 12);
  return idPrefix + (idCounter++).toString(36);
}

interface Pending {
  endpoint: string;
  /** Kept for a resend after the server said it is going away. */
  req: RequestMessage;
  maxFrame: number;
  /** Settles the caller: with the whole response, or (when `unwrap`) with its result. */
  resolve(value: unknown): void;
  reject(error: Error): void;
  /** Resolve with `result` and reject `ok: false` with a RemoteError, instead of handing over the response. */
  unwrap: boolean;
  /** `performance.now()` after which the call times out; Infinity for none. */
  deadline: number;
  timeoutMs: number;
}

/** Bytes of an oversize response read to find which call it answers (a map header, "id", a 64-char id). */
const RESPONSE_PEEK = 128;

/**
 * The id of a response from its first bytes, when the map's first key is "id" with a string value
 * wholly inside `head`; otherwise null.
 */
export function peekResponseId(head: Uint8Array): string | null {
  let at: number;
  const b = head[0];
  if (b === undefined) return null;
  if (b >= 0x80 && b <= 0x8f) at = 1;
  else if (b === 0xde) at = 3;
  else if (b === 0xdf) at = 5;
  else return null;
  if (head[at] !== 0xa2 || head[at + 1] !== 0x69 || head[at + 2] !== 0x64) return null; // "id"
  at += 3;
  const t = head[at];
  let len: number;
  if (t === undefined) return null;
  if (t >= 0xa0 && t <= 0xbf) {
    len = t & 0x1f;
    at += 1;
  } else if (t === 0xd9 && at + 1 < head.length) {
    len = head[at + 1]!;
    at += 2;
  } else if (t === 0xda && at + 2 < head.length) {
    len = (head[at + 1]! << 8) | head[at + 2]!;
    at += 3;
  } else return null;
  if (at + len > head.length) return null;
  return new TextDecoder().decode(head.subarray(at, at + len));
}

/** Clock of the call deadlines: monotonic and much cheaper than `Date.now()`. */
const clock = () => performance.now();

/** The deadline of a call starting now. */
function deadlineOf(settings: CallSettings): number {
  if (settings.deadline !== undefined) return settings.deadline;
  const t = settings.timeoutMs;
  return t > 0 && t < Infinity ? clock() + t : Infinity;
}

/** `promise`, or `onTimeout()` when `deadline` (clock ms) comes first. */
function untilDeadline<T>(promise: Promise<T>, deadline: number, onTimeout: () => Error): Promise<T> {
  if (deadline === Infinity) return promise;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), Math.max(0, deadline - clock()));
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Re-sends a request (after a going-away) and settles the original caller. */
type Resend = (p: Pending) => void;

/**
 * A client connection: requests out, responses in, matched by id.
 *
 * Call timeouts share one timer per connection, armed for the earliest deadline: a call costs a
 * clock read, not a `setTimeout`/`clearTimeout` pair. When the timer fires it rejects every
 * expired call with a CallTimeoutError and re-arms for the next deadline.
 */
class ClientConnection {
  readonly pending = new Map<string, Pending>();
  conn: Connection | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** When the armed timer fires (clock ms); Infinity when none is armed. */
  private timerAt = Infinity;
  /** An id-less error the server sent before closing (e.g. "frame too large"). */
  private lastError: { code: string; message: string } | null = null;
  private oversize: FrameTooLargeError | null = null;
  /** The server said it is going away: send nothing more here, resend what is unanswered. */
  goingAway = false;
  onClosed: (() => void) | null = null;
  onGoingAway: (() => void) | null = null;
  resend: Resend | null = null;

  constructor(readonly peer: string) {}

  /**
   * Connect. `deadline` (clock ms) bounds the connect itself: a peer that never answers the SYN
   * makes the call time out, not hang for the kernel's connect timeout.
   */
  static open(host: string, port: number, maxFrame: number, deadline = Infinity, endpoint = "(connect)", timeoutMs = 0): Promise<ClientConnection> {
    const cc = new ClientConnection(`${host}:${port}`);
    const events: ConnectionEvents = {
      onFrame: (_conn, bytes, start, end) => cc.onFrame(bytes, start, end),
      onOversize: (conn, size, head) => {
        // A response names its call first ({"id": ..., ...}, as Python and Bun peers write it):
        // fail just that call and skip the frame unread; the connection goes on for the others.
        const id = head ? peekResponseId(head) : null;
        const pending = id === null ? undefined : cc.pending.get(id);
        if (pending) {
          cc.pending.delete(id!);
          cc.afterSettle();
          pending.reject(new FrameTooLargeError(size, maxFrame));
          return true;
        }
        cc.oversize = new FrameTooLargeError(size, maxFrame);
        conn.destroy();
        return false;
      },
      onClose: () => cc.closed(),
    };
    return new Promise<ClientConnection>((resolve, reject) => {
      let settled = false;
      let timer: ReturnType<typeof setTimeout> | null = null;
      if (deadline < Infinity) {
        timer = setTimeout(() => {
          settled = true;
          reject(new CallTimeoutError(endpoint, cc.peer, timeoutMs));
        }, Math.max(0, deadline - clock()));
      }
      const fail = (error: Error) => {
        if (timer) clearTimeout(timer);
        if (settled) return;
        settled = true;
        reject(new ConnectionError(`cannot connect to ${cc.peer}: ${error.message}`, cc.peer, { endpoint, cause: error }));
      };
      Bun.connect<unknown>({
        hostname: host,
        port,
        socket: {
          open: (socket: Socket<unknown>) => {
            const conn = new Connection(socket, maxFrame, events, RESPONSE_PEEK);
            socket.data = conn;
            cc.conn = conn;
            if (timer) clearTimeout(timer);
            if (settled) {
              // The call gave up while connecting: nothing was sent on this socket.
              conn.destroy();
              return;
            }
            settled = true;
            socket.unref();
            resolve(cc);
          },
          data: (socket, chunk) => (socket.data as Connection).handleData(chunk),
          drain: (socket) => (socket.data as Connection).handleDrain(),
          close: (socket, error) => (socket.data as Connection | undefined)?.handleClose(error),
          error: (socket, error) => {
            log.debug(`socket error on ${cc.peer}`, error);
            (socket.data as Connection | undefined)?.destroy();
          },
          connectError: (_socket, error) => fail(error),
        },
      }).catch(fail);
    });
  }

  get open(): boolean {
    return this.conn !== null && !this.conn.closed;
  }

  /** Send a request and wait for its response. Rejects, never throws. */
  send(req: RequestMessage, settings: CallSettings): Promise<ResponseMessage> {
    return new Promise<ResponseMessage>((resolve, reject) => {
      this.enqueue(req, settings, false, resolve as (value: unknown) => void, reject);
    });
  }

  /** Send a request; resolve with its result, reject `ok: false` with a RemoteError. Never throws. */
  invoke(req: RequestMessage, settings: CallSettings): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      this.enqueue(req, settings, true, resolve, reject);
    });
  }

  private enqueue(
    req: RequestMessage,
    settings: CallSettings,
    unwrap: boolean,
    resolve: (value: unknown) => void,
    reject: (error: Error) => void,
  ): void {
    const conn = this.conn;
    if (!conn || conn.closed || this.goingAway) {
      reject(new ConnectionError(`connection to ${this.peer} is closed`, this.peer, { endpoint: req.endpoint }));
      return;
    }
    try {
      conn.send(req);
    } catch (error) {
      reject(error as Error); // EncodeError: nothing was sent
      return;
    }
    const timeoutMs = settings.timeoutMs;
    const deadline = deadlineOf(settings);
    if (this.pending.size === 0) conn.socket.ref();
    this.pending.set(req.id, { endpoint: req.endpoint, req, maxFrame: settings.maxFrame, resolve, reject, unwrap, deadline, timeoutMs });
    if (deadline < this.timerAt) this.arm(deadline);
  }

  /** (Re-)arm the timeout timer to fire at `at` (clock ms). */
  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    // +1: a timer may fire a fraction of a millisecond early; the sweep must find the call expired.
    this.timer = setTimeout(() => this.expire(), Math.max(0, at - clock()) + 1);
    // The socket keeps the process alive while calls are pending; the timer need not.
    this.timer.unref?.();
  }

  /** Reject every call past its deadline, then re-arm for the earliest remaining one. */
  private expire(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const now = clock();
    let next = Infinity;
    for (const [id, p] of this.pending) {
      if (p.deadline <= now) {
        this.pending.delete(id);
        p.reject(new CallTimeoutError(p.endpoint, this.peer, p.timeoutMs));
      } else if (p.deadline < next) {
        next = p.deadline;
      }
    }
    this.afterSettle();
    if (next < Infinity) this.arm(next);
  }

  close(): void {
    this.conn?.end();
  }

  destroy(): void {
    this.conn?.destroy();
  }

  private afterSettle(): void {
    if (this.pending.size === 0 && this.conn && !this.conn.closed) this.conn.socket.unref();
  }

  private onFrame(bytes: Uint8Array, start: number, end: number): void {
    let res: ResponseMessage;
    try {
      const msg = parseMessage(decode(bytes, start, end));
      if (msg.type !== "response") throw new Error("expected a response");
      res = msg;
    } catch (error) {
      log.warn(`undecodable response from ${this.peer}; closing the connection`, error);
      this.conn?.destroy();
      return;
    }
    const pending = this.pending.get(res.id);
    if (!pending) {
      if (res.id === "" && res.error?.code === GOING_AWAY) {
        this.goingAway = true;
        this.onGoingAway?.();
      } else if (res.id === "" && res.error) this.lastError = res.error;
      else log.debug(`response for unknown id ${res.id} from ${this.peer}`);
      return;
    }
    this.pending.delete(res.id);
    this.afterSettle();
    if (!pending.unwrap) pending.resolve(res);
    else if (res.ok) pending.resolve(res.result);
    else pending.reject(responseError(res, pending.endpoint, this.peer));
  }

  private closed(): void {
    const failure = (endpoint: string): Error =>
      this.oversize ??
      (this.lastError
        ? new RemoteError(this.lastError.code, this.lastError.message, endpoint, this.peer)
        : new ConnectionError(`connection to ${this.peer} closed before the response to ${endpoint}`, this.peer, {
            endpoint,
            sent: true,
          }));
    const all = [...this.pending.values()];
    this.pending.clear();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
    // After a going-away, an unanswered request is one the server never ran: send it again.
    const resend = this.goingAway && !this.oversize ? this.resend : null;
    for (const p of all) {
      if (resend) resend(p);
      else p.reject(failure(p.endpoint));
    }
    this.onClosed?.();
  }
}

/** All connections to one peer, and its mode. */
export class PeerChannel {
  mode: PeerMode = "unknown";
  private modeAt = 0;
  private shared: ClientConnection | null = null;
  private connecting: Promise<ClientConnection | null> | null = null;
  /** Live one-request connections (single mode). */
  private singles = 0;
  private readonly singleQueue: Array<() => void> = [];
  /** Features the peer answered in its hello. */
  features: Record<string, unknown> = {};
  /** Set when the pool forgot this channel ({@link Pool.closeAll}); holders must ask the pool again. */
  retired = false;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly pool: Pool,
  ) {}

  get key(): string {
    return `${this.host}:${this.port}`;
  }

  /** True when a pooled connection is open. */
  get connected(): boolean {
    return this.shared?.open ?? false;
  }

  /** Milliseconds since the shared connection last saw traffic, or -1 when there is none. */
  idleFor(now: number): number {
    const c = this.shared;
    if (!c || !c.open || c.pending.size > 0) return -1;
    return now - Math.max(c.conn!.lastRead, c.conn!.lastWrite);
  }

  /** Make one call; resolves with the whole response. Rejects with a typed error; never throws. */
  async call(endpoint: string, args: unknown[], kwargs: Kwargs, settings: CallSettings): Promise<ResponseMessage> {
    const req = request(endpoint, nextId(), args, kwargs);
    const timed: CallSettings = { ...settings, deadline: deadlineOf(settings) };
    try {
      if (this.mode === "single" && Date.now() - this.modeAt > SINGLE_RECHECK_MS) this.mode = "unknown";
      if (this.mode !== "single") {
        const shared = await this.sharedConnection(timed);
        if (shared) {
          if (clock() >= timed.deadline!) throw new CallTimeoutError(endpoint, this.key, settings.timeoutMs);
          return await shared.send(req, timed);
        }
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

  /** Send a request again on a fresh connection after a going-away, settling the first caller. */
  private readonly resendPending: Resend = (p) => {
    const settings: CallSettings = { timeoutMs: p.timeoutMs, maxFrame: p.maxFrame, deadline: p.deadline };
    this.call(p.req.endpoint, p.req.args, p.req.kwargs, settings).then((res) => {
      if (!p.unwrap) p.resolve(res);
      else if (res.ok) p.resolve(res.result);
      else p.reject(responseError(res, p.endpoint, this.key));
    }, p.reject);
  };

  /**
   * Make one call; resolves with its result and rejects `ok: false` with a RemoteError (and
   * anything else with its typed error); never throws. The hot path: on an open multiplexed
   * connection the request goes out at once and the caller's promise is the only one made.
   */
  invoke(endpoint: string, args: unknown[], kwargs: Kwargs, settings: CallSettings): Promise<unknown> {
    const shared = this.shared;
    if (shared !== null && shared.open) return shared.invoke(request(endpoint, nextId(), args, kwargs), settings);
    return this.call(endpoint, args, kwargs, settings).then((res) => {
      if (!res.ok) throw responseError(res, endpoint, this.key);
      return res.result;
    });
  }

  /** Close the pooled connection (gracefully). */
  close(): void {
    this.shared?.close();
    this.shared = null;
  }

  /**
   * The multiplexed connection, opened and negotiated if needed; null when the peer is single.
   * Calls that arrive while a connection is being set up share that setup, each waiting no longer
   * than its own deadline; the setup itself has a budget of its own ({@link SETUP_TIMEOUT_MS}), so
   * that no caller's short or missing timeout decides it for the others.
   */
  private async sharedConnection(settings: CallSettings): Promise<ClientConnection | null> {
    if (this.shared?.open) return this.shared;
    this.connecting ??= this.negotiate(settings.maxFrame).finally(() => {
      this.connecting = null;
    });
    return untilDeadline(this.connecting, settings.deadline ?? Infinity, () => new CallTimeoutError(HELLO_ENDPOINT, this.key, settings.timeoutMs));
  }

  private async negotiate(maxFrame: number): Promise<ClientConnection | null> {
    const settings: CallSettings = { timeoutMs: SETUP_TIMEOUT_MS, maxFrame, deadline: clock() + SETUP_TIMEOUT_MS };
    const cc = await ClientConnection.open(this.host, this.port, maxFrame, settings.deadline, HELLO_ENDPOINT, SETUP_TIMEOUT_MS);
    let res: ResponseMessage;
    try {
      const hello = request(HELLO_ENDPOINT, nextId(), [{ features: [...HELLO_FEATURES] }], {});
      res = await cc.send(hello, settings);
    } catch (error) {
      cc.destroy();
      // A peer that closed on the hello without answering cannot take reuse either.
      if (error instanceof ConnectionError && error.sent) return this.setSingle(null);
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
      return this.setSingle(null);
    }
    this.features = features;
    this.mode = "multiplex";
    this.modeAt = Date.now();
    this.shared = cc;
    cc.resend = this.resendPending;
    cc.onClosed = cc.onGoingAway = () => {
      if (this.shared === cc) this.shared = null;
    };
    log.debug(`${this.key}: multiplexing`);
    return cc;
  }

  private setSingle(value: null): null {
    if (this.mode !== "single") log.debug(`${this.key}: one request per connection`);
    this.mode = "single";
    this.modeAt = Date.now();
    return value;
  }

  /** One fresh connection for one request, as a Python client does. */
  private async callSingle(req: RequestMessage, settings: CallSettings): Promise<ResponseMessage> {
    const limit = this.pool.maxSingleConnections;
    while (this.singles >= limit) await this.waitForSlot(req.endpoint, settings);
    this.singles++;
    let cc: ClientConnection | null = null;
    try {
      cc = await ClientConnection.open(this.host, this.port, settings.maxFrame, deadlineOf(settings), req.endpoint, settings.timeoutMs);
      return await cc.send(req, settings);
    } finally {
      cc?.close();
      this.singles--;
      this.singleQueue.shift()?.();
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
      this.singleQueue.push(wake);
      if (deadline < Infinity) {
        timer = setTimeout(() => {
          const at = this.singleQueue.indexOf(wake);
          if (at >= 0) this.singleQueue.splice(at, 1);
          reject(new CallTimeoutError(endpoint, this.key, settings.timeoutMs));
        }, Math.max(0, deadline - clock()));
      }
    });
  }
}

/** Connection pool: one {@link PeerChannel} per `host:port`. */
export class Pool {
  private readonly channels = new Map<string, PeerChannel>();
  private sweeper: ReturnType<typeof setInterval> | null = null;
  readonly idleTimeoutMs: number;
  readonly maxSingleConnections: number;

  constructor(options: PoolOptions = {}) {
    this.idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
    this.maxSingleConnections = options.maxSingleConnections ?? 32;
  }

  /** The channel of a peer, created on first use. */
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

  /** Known channels (for diagnostics and tests). */
  list(): PeerChannel[] {
    return [...this.channels.values()];
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
    if (this.sweeper) return;
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const ch of this.channels.values()) {
        const idle = ch.idleFor(now);
        if (idle > this.idleTimeoutMs) ch.close();
      }
    }, Math.max(50, Math.min(1000, this.idleTimeoutMs / 2)));
    this.sweeper.unref?.();
  }
}

/** The process-wide pool every Client uses unless given another. */
export const defaultPool = new Pool();

/** Turn a failed response into the error a call rejects with. */
export function responseError(res: ResponseMessage, endpoint: string, peer: string): SynapseError {
  const e = res.error ?? { code: "internal_error", message: "request failed" };
  return new RemoteError(e.code, e.message, endpoint, peer);
}
