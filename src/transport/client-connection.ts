/**
 * The client side of one connection: requests out, responses in, matched by id.
 *
 * @module
 */
import { Connection, type ConnectionEvents } from "./connection.ts";
import { clock, deadlineOf, type CallSettings } from "./call-settings.ts";
import type { Transport } from "./socket.ts";
import { decode } from "../wire/codec.ts";
import { HEADER_SIZE } from "../wire/frame.ts";
import { parseMessage, type RequestMessage, type ResponseMessage } from "../wire/messages.ts";
import { GOING_AWAY, RESPONSE_ID_PEEK, peekResponseId } from "../wire/protocol.ts";
import { CallTimeoutError, ConnectionError, FrameTooLargeError, ProtocolError } from "../errors.ts";
import { createLogger } from "../log.ts";
import { afterReads } from "../util/turn.ts";

const log = createLogger("pool");

/**
 * Once this many request bytes wait unsent for a peer that does not read them (its process frozen
 * or saturated, or a peer that accepts and never reads), further calls on the connection wait
 * unencoded, in order, until the socket drains; their deadlines still run. Without it every call to
 * such a peer added its bytes to the backlog until the connection closed, however many calls had
 * timed out meanwhile. One frame larger than this still goes (the mark is checked before a write).
 */
export const CLIENT_QUEUE_HIGH_WATER = 8 * 1024 * 1024;

/**
 * Answers this size or larger are looked at first for the call they answer: one to a call no
 * longer waited for (it timed out) is skipped unread. In a saturated 1,000-node join many state
 * exchanges timed out before their answers (member lists of up to 1,000 records) came, and each
 * was decoded whole, every packed record copied, to be dropped. Smaller answers are decoded as
 * they come (the look costs more than it saves there).
 */
export const LATE_ANSWER_PEEK_MIN = 1024;

/** @internal Answers skipped unread in this process because their call had ended (see {@link LATE_ANSWER_PEEK_MIN}): for diagnostics and tests. */
export const lateAnswers = { frames: 0, bytes: 0 };

/** A call waiting for its response. */
export interface Pending {
  /** Kept for a resend after the server said it is going away. */
  req: RequestMessage;
  settings: CallSettings;
  /** Settles the caller: with the whole response, or (when `unwrap`) with its result. */
  resolve(value: unknown): void;
  reject(error: Error): void;
  /** Resolve with `result` and reject `ok: false` with `settings.toError`, instead of handing over the response. */
  unwrap: boolean;
  /** {@link clock} time after which the call times out; Infinity for none. */
  deadline: number;
}

/**
 * Who holds a connection in a pool (a `PeerChannel`): told when the connection takes no more
 * requests, and asked to resend what a going-away left unanswered. (An object with methods rather
 * than callbacks: an open connection keeps no closures alive.)
 */
export interface ConnectionOwner {
  /** Send a request again on a fresh connection (after a going-away), settling its caller. */
  resend(p: Pending): void;
  /**
   * The connection takes no more requests: the server said it is going away, or it closed.
   * `dropped`: the peer closed it without a going-away (its process died, or the link broke),
   * not this side and not after an error it named.
   */
  lost(cc: ClientConnection, dropped?: boolean): void;
}

/** The events of every client connection go to the {@link ClientConnection} in its state. */
const clientEvents: ConnectionEvents<ClientConnection> = {
  onFrame: (conn, bytes, start, end, owned) => conn.state.onFrame(bytes, start, end, owned),
  onOversize: (conn, size, head) => conn.state.onOversize(size, head),
  onClose: (conn) => conn.state.closed(),
  onDrain: (conn) => conn.state.drained(),
};

/**
 * A client connection: requests out, responses in, matched by id.
 *
 * Call timeouts share one timer per connection, armed for the earliest deadline: a call costs a
 * clock read, not a `setTimeout`/`clearTimeout` pair. When the timer fires it rejects every
 * expired call with a CallTimeoutError and re-arms for the next deadline.
 */
export class ClientConnection {
  readonly pending = new Map<string, Pending>();
  /** Calls waiting to be written while the peer reads nothing (see {@link CLIENT_QUEUE_HIGH_WATER}), oldest first. */
  private held: Pending[] = [];
  conn: Connection<ClientConnection> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Cancels the sweep that waits for its turn's reads (the timer fired; see {@link arm}). */
  private sweepWait: (() => void) | null = null;
  /** When the armed timer fires (clock ms); Infinity when none is armed. */
  private timerAt = Infinity;
  /** An id-less error response the server sent before closing (e.g. "frame too large"). */
  private lastError: ResponseMessage | null = null;
  private oversize: FrameTooLargeError | null = null;
  /** The server said it is going away: send nothing more here, resend what is unanswered. */
  goingAway = false;
  /** {@link close} was called: nothing more is sent here (the socket is ending). */
  private closing = false;
  /** The pool's holder of this connection, if any. */
  owner: ConnectionOwner | null = null;

  private constructor(
    /** `host:port`, for errors and logs. */
    readonly peer: string,
    private readonly maxFrame: number,
  ) {}

  /**
   * Connect through `transport`. The call's deadline bounds the connect itself: a peer that never
   * answers the SYN makes the call (named `endpoint` in the timeout) time out, not hang for the
   * kernel's connect timeout.
   */
  static open(transport: Transport, host: string, port: number, endpoint: string, settings: CallSettings): Promise<ClientConnection> {
    const cc = new ClientConnection(`${host}:${port}`, settings.maxFrame);
    const deadline = deadlineOf(settings);
    return new Promise<ClientConnection>((resolve, reject) => {
      let settled = false;
      let timer: ReturnType<typeof setTimeout> | null = null;
      if (deadline < Infinity) {
        timer = setTimeout(() => {
          settled = true;
          reject(new CallTimeoutError(endpoint, cc.peer, settings.timeoutMs));
        }, Math.max(0, deadline - clock()));
      }
      const fail = (error: Error) => {
        if (timer) clearTimeout(timer);
        if (settled) return;
        settled = true;
        reject(new ConnectionError(`cannot connect to ${cc.peer}: ${error.message}`, cc.peer, { endpoint, cause: error }));
      };
      transport
        .connect({ hostname: host, port }, (socket) => {
          const conn = new Connection(socket, settings.maxFrame, clientEvents, cc, RESPONSE_ID_PEEK);
          cc.conn = conn;
          if (timer) clearTimeout(timer);
          timer = null;
          if (settled) {
            // The call gave up while connecting: nothing was sent on this socket. Close it once
            // the transport holds the handler, so that the close reaches it.
            queueMicrotask(() => conn.destroy());
          } else {
            settled = true;
            socket.unref();
            resolve(cc);
          }
          return conn;
        })
        .catch(fail);
    });
  }

  /** True while requests may be sent: connected, and neither closed nor closing. */
  get open(): boolean {
    return this.conn !== null && !this.conn.closed && !this.closing;
  }

  /** Send a request and wait for its response. Rejects, never throws. */
  send(req: RequestMessage, settings: CallSettings): Promise<ResponseMessage> {
    return new Promise<ResponseMessage>((resolve, reject) => {
      this.enqueue(req, settings, false, resolve as (value: unknown) => void, reject);
    });
  }

  /** Send a request; resolve with its result, reject `ok: false` with `settings.toError`. Never throws. */
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
    if (!conn || conn.closed || this.goingAway || this.closing) {
      reject(new ConnectionError(`connection to ${this.peer} is closed`, this.peer, { endpoint: req.endpoint }));
      return;
    }
    const p: Pending = { req, settings, resolve, reject, unwrap, deadline: deadlineOf(settings) };
    if (this.pending.size === 0 && this.held.length === 0) conn.socket.ref();
    if (p.deadline < this.timerAt) this.arm(p.deadline);
    // Behind calls already held, or past the mark: wait for the socket to drain (in order).
    if (this.held.length > 0 || conn.unsentBytes > CLIENT_QUEUE_HIGH_WATER) this.held.push(p);
    else this.write(conn, p);
  }

  /** Write a call's request and wait for its response. */
  private write(conn: Connection<ClientConnection>, p: Pending): void {
    let bytes: number;
    try {
      bytes = conn.send(p.req);
    } catch (error) {
      p.reject(error as Error); // EncodeError or FrameTooLargeError: nothing was sent
      this.afterSettle();
      return;
    }
    p.settings.meter?.sent(p.req.endpoint, bytes, true);
    this.pending.set(p.req.id, p);
  }

  /** The socket took everything queued: write the held calls, oldest first, up to the mark again. */
  drained(): void {
    const conn = this.conn;
    if (!conn || conn.closed) return;
    // Frames gathered this tick count too: a drain may release many small calls at once.
    while (this.held.length > 0 && conn.unsentBytes <= CLIENT_QUEUE_HIGH_WATER) this.write(conn, this.held.shift()!);
  }

  /** Calls waiting unsent (see {@link CLIENT_QUEUE_HIGH_WATER}). */
  get heldCount(): number {
    return this.held.length;
  }

  /** (Re-)arm the timeout timer to fire at `at` (clock ms). */
  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    // +1: a timer may fire a fraction of a millisecond early; the sweep must find the call expired.
    // The sweep runs after the reads of the turn the timer fires in: an answer that arrived while
    // the event loop was blocked settles its call, rather than a timeout (util/turn.ts).
    this.timer = setTimeout(() => {
      this.timer = null;
      this.sweepWait ??= afterReads(() => {
        this.sweepWait = null;
        this.expire();
      });
    }, Math.max(0, at - clock()) + 1);
    // The socket keeps the process alive while calls are pending; the timer need not.
    this.timer.unref?.();
  }

  /** Reject every call past its deadline, then re-arm for the earliest remaining one. */
  private expire(): void {
    this.timerAt = Infinity;
    const now = clock();
    let next = Infinity;
    for (const [id, p] of this.pending) {
      if (p.deadline <= now) {
        this.pending.delete(id);
        p.reject(new CallTimeoutError(p.req.endpoint, this.peer, p.settings.timeoutMs));
      } else if (p.deadline < next) {
        next = p.deadline;
      }
    }
    if (this.held.length > 0) {
      // A held call that timed out was never sent: dropped here, unencoded.
      const kept: Pending[] = [];
      for (const p of this.held) {
        if (p.deadline <= now) p.reject(new CallTimeoutError(p.req.endpoint, this.peer, p.settings.timeoutMs));
        else {
          kept.push(p);
          if (p.deadline < next) next = p.deadline;
        }
      }
      this.held = kept;
    }
    this.afterSettle();
    if (next < Infinity) this.arm(next);
  }

  /** Close after whatever is queued is written. */
  close(): void {
    this.closing = true;
    this.conn?.end();
  }

  destroy(): void {
    this.closing = true;
    this.conn?.destroy();
  }

  private afterSettle(): void {
    if (this.pending.size === 0 && this.held.length === 0 && this.conn && !this.conn.closed) this.conn.socket.unref();
  }

  /** A response arrived (`owned`: see `ConnectionEvents.onFrame`). */
  onFrame(bytes: Uint8Array, start: number, end: number, owned = false): void {
    if (end - start >= LATE_ANSWER_PEEK_MIN) {
      const id = peekResponseId(bytes.subarray(start, start + RESPONSE_ID_PEEK));
      // Not "": a going-away or a connection-level error names no call, and is read below.
      if (id !== null && id !== "" && !this.pending.has(id)) {
        lateAnswers.frames++;
        lateAnswers.bytes += end - start;
        log.debug(`skipped a late answer (${end - start} bytes) from ${this.peer}: its call had ended`);
        return;
      }
    }
    let res: ResponseMessage;
    try {
      const msg = parseMessage(decode(bytes, start, end, owned));
      if (msg.type !== "response") throw new ProtocolError("expected a response");
      res = msg;
    } catch (error) {
      log.warn(`undecodable response from ${this.peer}; closing the connection`, error);
      this.destroy();
      return;
    }
    const pending = this.pending.get(res.id);
    if (!pending) {
      if (res.id === "" && res.error?.code === GOING_AWAY) {
        this.goingAway = true;
        this.owner?.lost(this);
      } else if (res.id === "" && res.error) this.lastError = res;
      else log.debug(`response for unknown id ${res.id} from ${this.peer}`);
      return;
    }
    this.pending.delete(res.id);
    this.afterSettle();
    pending.settings.meter?.received(pending.req.endpoint, end - start + HEADER_SIZE, false);
    if (!pending.unwrap) pending.resolve(res);
    else if (res.ok) pending.resolve(res.result);
    else pending.reject(pending.settings.toError(res, pending.req.endpoint, this.peer));
  }

  /**
   * A response over the frame limit. A response names its call first ({"id": ..., ...}, as
   * Python and Bun peers write it): fail just that call and skip the frame unread; the connection
   * goes on for the others. Otherwise give up on the connection.
   */
  onOversize(size: number, head: Uint8Array | undefined): boolean {
    const id = head ? peekResponseId(head) : null;
    const pending = id === null ? undefined : this.pending.get(id);
    if (pending) {
      this.pending.delete(id!);
      this.afterSettle();
      pending.reject(new FrameTooLargeError(size, this.maxFrame));
      return true;
    }
    this.oversize = new FrameTooLargeError(size, this.maxFrame);
    this.destroy();
    return false;
  }

  /** The socket closed: fail (or, after a going-away, resend) every call still waiting. */
  closed(): void {
    const failure = (p: Pending): Error =>
      this.oversize ??
      (this.lastError
        ? p.settings.toError(this.lastError, p.req.endpoint, this.peer)
        : new ConnectionError(`connection to ${this.peer} closed before the response to ${p.req.endpoint}`, this.peer, {
            endpoint: p.req.endpoint,
            sent: true,
          }));
    const all = [...this.pending.values()];
    this.pending.clear();
    const held = this.held;
    this.held = [];
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.sweepWait?.();
    this.sweepWait = null;
    this.timerAt = Infinity;
    // After a going-away, an unanswered request is one the server never ran: send it again.
    const owner = this.owner;
    const resend = this.goingAway && !this.oversize && owner !== null;
    for (const p of all) {
      if (resend) owner.resend(p);
      else p.reject(failure(p));
    }
    // Held calls were never sent: safe to send again after a going-away, else failed as unsent.
    for (const p of held) {
      if (resend) owner.resend(p);
      else p.reject(new ConnectionError(`connection to ${this.peer} closed before the request to ${p.req.endpoint} was sent`, this.peer, { endpoint: p.req.endpoint }));
    }
    // Neither this side nor a going-away or an error answer ended it: the peer dropped it.
    owner?.lost(this, !this.closing && !this.goingAway && this.lastError === null && this.oversize === null);
  }
}
