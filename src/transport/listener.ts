/**
 * The server side: a listening socket (TCP through Bun unless given another {@link Transport})
 * whose connections carry requests in and responses out.
 *
 * Requests on one connection are served concurrently and answered as they finish, matched by id;
 * a Python client's lone request on a fresh connection is simply the one-request case. Nothing a
 * peer sends can crash the process: undecodable or malformed frames get a `bad_request` answer with
 * id "", an oversize header gets `frame too large` and the connection is closed without the payload
 * being read, and idle or half-sent connections are closed by our own timers.
 *
 * @module
 */
import { Connection, IDLE_BUFFERS_MS, type ConnectionEvents } from "./connection.ts";
import { bunTransport } from "./bun-transport.ts";
import type { OpenHandler, ServeOptions, ServerHandle, Transport } from "./socket.ts";
import type { TrafficMeter } from "./traffic.ts";
import { decode } from "../wire/codec.ts";
import { HEADER_SIZE } from "../wire/frame.ts";
import { errorResponse, parseMessage, type RequestMessage, type ResponseMessage } from "../wire/messages.ts";
import { GOING_AWAY, HELLO_ENDPOINT, type RemoteAddress } from "../wire/protocol.ts";
import { EncodeError, ErrorCode, FrameTooLargeError, ListenError, ProtocolError } from "../errors.ts";
import { DEFAULT_MAX_BUFFERED_INPUT, defaultMaxConnections, type ServerLimits } from "./server-limits.ts";
import { createLogger } from "../log.ts";
import { monotonicMs } from "../util/time.ts";

const log = createLogger("server");

/**
 * Turns a request into a response; never throws. `remoteIdentity` is the connection's verified
 * node identity on a closed swarm's connection, `null` on a plaintext one.
 */
export type RequestHandler = (req: RequestMessage, remote: RemoteAddress, remoteIdentity: string | null) => ResponseMessage | Promise<ResponseMessage>;

/** Options of a {@link Listener}: the address, the handler, and the limits of `server-limits.ts`. */
export interface ListenerOptions extends Pick<ServerLimits, "maxFrame" | "readTimeoutMs" | "idleTimeoutMs">, Partial<Pick<ServerLimits, "maxConnections" | "maxBufferedInput">> {
  hostname: string;
  port: number;
  handler: RequestHandler;
  /** How connections are accepted (default: TCP through Bun). */
  transport?: Transport;
  /** Told of every request read and every answer written (the node's traffic counters). */
  meter?: TrafficMeter;
}

interface ServerConnState {
  remote: RemoteAddress;
  /** The socket's verified node identity (a closed swarm's connection), else null. */
  remoteIdentity: string | null;
  inFlight: number;
  /** The peer half-closed; end our side once every answer is out. */
  peerEnded: boolean;
  /**
   * Requests read while too many answer bytes waited for this peer to read them; they run once
   * those drain. Non-null means the socket is paused (not read).
   */
  waiting: RequestMessage[] | null;
  /** The client said hello (a Bun client): it understands a going-away before a graceful close. */
  helloed: boolean;
  /** We are closing: frames that still arrive are not run (the going-away promised so). */
  closing: boolean;
  /** Refused at once (too many connections): not counted among the open ones. */
  refused: boolean;
}

/**
 * Once this many answer bytes wait for a peer that does not read them, its next requests wait too
 * and its socket is no longer read, until they drain. So a client that pipelines requests without
 * reading the answers meets TCP backpressure instead of making the node buffer without bound.
 */
const QUEUE_HIGH_WATER = 8 * 1024 * 1024;

/**
 * At most this many requests of one connection run at once. Past it the connection's next requests
 * wait (and its socket is not read) until one finishes, so a peer that pipelines thousands of calls
 * to a slow async endpoint meets backpressure instead of piling up handlers without bound.
 */
export const MAX_IN_FLIGHT = 1024;

/** A connection of the listener, with its state. */
type ServerConn = Connection<ServerConnState>;

/** True when a connection may run one more request now. */
function canRun(conn: ServerConn): boolean {
  return conn.queuedBytes <= QUEUE_HIGH_WATER && conn.state.inFlight < MAX_IN_FLIGHT;
}

/** Grace period between answering "frame too large" and tearing the socket down. */
const REFUSE_GRACE_MS = 1000;

/** Connections being refused (answered "server busy") at once; past it more are cut without an answer. */
const MAX_REFUSING = 64;

/** A listening Synapse server. */
export class Listener {
  private server: ServerHandle | null = null;
  private readonly conns = new Set<ServerConn>();
  private sweeper: ReturnType<typeof setInterval> | null = null;
  private readonly events: ConnectionEvents<ServerConnState>;
  private readonly maxConnections: number;
  private readonly maxBufferedInput: number;
  /** Bytes held for partial frames across every connection. */
  private buffered = 0;
  /** Connections refused and not closed yet. */
  private refusing = 0;
  private refusedTotal = 0;
  private shedTotal = 0;
  private readonly meter: TrafficMeter | null;

  constructor(private readonly options: ListenerOptions) {
    this.maxConnections = options.maxConnections ?? defaultMaxConnections();
    this.maxBufferedInput = options.maxBufferedInput ?? DEFAULT_MAX_BUFFERED_INPUT;
    this.meter = options.meter ?? null;
    this.events = {
      onFrame: (conn, bytes, start, end, owned) => this.onFrame(conn, bytes, start, end, owned),
      onOversize: (conn, size) => this.refuse(conn, "", `frame too large: ${size} > ${this.options.maxFrame}`),
      onEnd: (conn) => this.onPeerEnd(conn),
      onClose: (conn) => {
        if (conn.state.refused) this.refusing--;
        else this.conns.delete(conn);
      },
      onDrain: (conn) => this.onDrain(conn),
      onBuffered: (conn, delta) => {
        this.buffered += delta;
        if (delta > 0 && this.buffered > this.maxBufferedInput) this.shedInput();
      },
    };
  }

  /** Bytes held for partial frames across every connection (at most `maxBufferedInput`, but briefly). */
  get bufferedInput(): number {
    return this.buffered;
  }

  /** Connections refused so far because `maxConnections` were open, and closed to keep `maxBufferedInput`. */
  get refusals(): { connections: number; input: number } {
    return { connections: this.refusedTotal, input: this.shedTotal };
  }

  /** The bound port (after {@link start}). */
  get port(): number {
    return this.server?.port ?? 0;
  }

  /** How many connections are open. */
  get connectionCount(): number {
    return this.conns.size;
  }

  /**
   * Bind and start accepting.
   *
   * @throws {ListenError} when the address cannot be bound.
   */
  start(): void {
    const { hostname, port, maxFrame, transport = bunTransport } = this.options;
    const events = this.events;
    this.server = listen(transport, { hostname, port, allowHalfOpen: true }, (socket) => {
      const state: ServerConnState = {
        remote: { address: socket.remoteAddress, port: socket.remotePort },
        remoteIdentity: socket.remoteIdentity || null,
        inFlight: 0,
        peerEnded: false,
        waiting: null,
        helloed: false,
        closing: false,
        refused: false,
      };
      const conn = new Connection(socket, maxFrame, events, state);
      if (this.conns.size >= this.maxConnections) this.refuseConnection(conn);
      else this.conns.add(conn);
      return conn;
    });
    this.sweeper = setInterval(() => this.sweep(), Math.min(1000, this.options.readTimeoutMs, this.options.idleTimeoutMs));
    this.sweeper.unref?.();
  }

  /**
   * Stop accepting and close every connection: a connection with nothing in flight closes
   * gracefully (with a going-away to a Bun client, so that a request already on its way is resent
   * elsewhere rather than lost); one with requests still running is cut.
   */
  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    for (const conn of this.conns) {
      const state = conn.state;
      if (state.inFlight === 0 && !state.waiting && !conn.backpressured) this.retire(conn);
      else conn.destroy();
    }
    this.conns.clear();
    this.server?.stop(false);
    this.server = null;
  }

  /**
   * Close a connection that has nothing in flight: tell a Bun client it is going away (every
   * request received so far has been answered; nothing received after runs), then half-close and
   * tear down after a grace period.
   */
  private retire(conn: ServerConn): void {
    const state = conn.state;
    if (state.closing) return;
    state.closing = true;
    if (state.helloed) conn.send(errorResponse("", GOING_AWAY, "connection closing; requests not answered were not run"));
    conn.end();
    setTimeout(() => conn.destroy(), REFUSE_GRACE_MS).unref?.();
  }

  /**
   * One connection too many: answer "server busy" (a Bun or Python client then fails that call
   * with a clear error) and close, without reading anything from it. Past {@link MAX_REFUSING}
   * refusals under way, cut at once: a flood must not hold descriptors open for the grace period.
   */
  private refuseConnection(conn: ServerConn): void {
    conn.state.refused = true;
    conn.state.closing = true;
    this.refusing++;
    this.refusedTotal++;
    if (this.refusedTotal === 1 || this.refusedTotal % 1000 === 0) {
      log.warn(`refusing connections: ${this.maxConnections} open (maxConnections); ${this.refusedTotal} refused so far`);
    }
    if (this.refusing > MAX_REFUSING) {
      conn.destroy();
      return;
    }
    conn.socket.pause();
    conn.send(errorResponse("", ErrorCode.BadRequest, `server busy: ${this.maxConnections} connections open; try again later`));
    conn.end();
    setTimeout(() => conn.destroy(), REFUSE_GRACE_MS).unref?.();
  }

  /**
   * Partial frames hold more than `maxBufferedInput` across all connections: close the connections
   * holding the most until they fit (the memory comes back as they close).
   */
  private shedInput(): void {
    let excess = this.buffered - this.maxBufferedInput;
    while (excess > 0) {
      let worst: ServerConn | null = null;
      for (const c of this.conns) {
        if (!c.state.closing && c.bufferedInput > (worst?.bufferedInput ?? 0)) worst = c;
      }
      if (worst === null) return;
      worst.state.closing = true;
      excess -= worst.bufferedInput;
      this.shedTotal++;
      log.warn(`closing ${worst.remote}: partial frames hold over ${this.maxBufferedInput} bytes (maxBufferedInput)`);
      worst.destroy();
    }
  }

  private onFrame(conn: ServerConn, bytes: Uint8Array, start: number, end: number, owned: boolean): void {
    const state = conn.state;
    if (state.closing) return; // after a going-away nothing runs: the client resends it elsewhere
    let req: RequestMessage;
    try {
      const msg = parseMessage(decode(bytes, start, end, owned));
      if (msg.type !== "request") throw new ProtocolError("invalid request: a server accepts only requests");
      req = msg;
    } catch (error) {
      // Counted under no endpoint: the frame named none that could be read.
      this.meter?.received("", end - start + HEADER_SIZE, true);
      this.answer(conn, errorResponse("", ErrorCode.BadRequest, (error as Error).message), "");
      return;
    }
    this.meter?.received(req.endpoint, end - start + HEADER_SIZE, true);
    if (req.endpoint === HELLO_ENDPOINT) state.helloed = true;
    if (state.waiting) {
      state.waiting.push(req);
    } else if (!canRun(conn)) {
      state.waiting = [req];
      conn.socket.pause();
    } else {
      this.dispatch(conn, req);
    }
  }

  private dispatch(conn: ServerConn, req: RequestMessage): void {
    const state = conn.state;
    let res: ResponseMessage | Promise<ResponseMessage>;
    try {
      res = this.options.handler(req, state.remote, state.remoteIdentity);
    } catch (error) {
      // The handler contract says it never throws; keep the connection alive if it does.
      res = errorResponse(req.id, ErrorCode.InternalError, (error as Error)?.message ?? String(error));
    }
    if (res instanceof Promise) {
      state.inFlight++;
      res.then(
        (r) => this.finish(conn, r, req.endpoint),
        (error) => this.finish(conn, errorResponse(req.id, ErrorCode.InternalError, String((error as Error)?.message ?? error)), req.endpoint),
      );
    } else {
      this.answer(conn, res, req.endpoint);
    }
  }

  private finish(conn: ServerConn, res: ResponseMessage, endpoint: string): void {
    const state = conn.state;
    state.inFlight--;
    this.answer(conn, res, endpoint);
    if (state.waiting) this.resumeWaiting(conn);
    else if (state.peerEnded && state.inFlight === 0) conn.end();
  }

  /** The peer read what waited for it: run the requests that waited in turn, then read again. */
  private onDrain(conn: ServerConn): void {
    this.resumeWaiting(conn);
  }

  /**
   * Run the requests that waited (for the peer to read its answers, or for a running request to
   * finish) while the connection may run more, then read from the socket again.
   */
  private resumeWaiting(conn: ServerConn): void {
    const state = conn.state;
    const waiting = state.waiting;
    if (!waiting) return;
    let next = 0;
    while (next < waiting.length && canRun(conn) && !conn.closed) this.dispatch(conn, waiting[next++]!);
    waiting.splice(0, next);
    if (waiting.length > 0) return; // still over a limit: the next drain or finish continues
    state.waiting = null;
    conn.socket.resume();
    if (state.peerEnded && state.inFlight === 0) conn.end();
  }

  /**
   * Send the response to a call of `endpoint`; a result MessagePack cannot carry becomes an
   * `internal_error` answer.
   */
  private answer(conn: ServerConn, res: ResponseMessage, endpoint: string): void {
    if (conn.closed) return;
    let bytes: number;
    try {
      bytes = conn.send(res);
    } catch (error) {
      const message =
        error instanceof FrameTooLargeError
          ? `result too large: ${error.size} bytes > ${error.limit} (the largest frame a peer accepts)`
          : `result cannot be encoded: ${error instanceof EncodeError ? error.message : String(error)}`;
      bytes = conn.send(errorResponse(res.id, ErrorCode.InternalError, message));
    }
    this.meter?.sent(endpoint, bytes, false);
  }

  /** Answer once, then close without reading anything more. */
  private refuse(conn: ServerConn, id: string, message: string): void {
    log.debug(`refusing ${conn.remote}: ${message}`);
    conn.send(errorResponse(id, ErrorCode.BadRequest, message));
    conn.end();
    setTimeout(() => conn.destroy(), REFUSE_GRACE_MS).unref?.();
  }

  private onPeerEnd(conn: ServerConn): void {
    const state = conn.state;
    state.peerEnded = true;
    if (conn.midFrame) {
      this.refuse(conn, "", "incomplete frame");
      return;
    }
    if (state.inFlight === 0 && !state.waiting) conn.end();
  }

  private sweep(): void {
    const now = monotonicMs();
    const { readTimeoutMs, idleTimeoutMs } = this.options;
    for (const conn of this.conns) {
      const state = conn.state;
      if (state.waiting) {
        // Paused by us (the peer does not read its answers): no read timeout, and not idle.
      } else if (conn.midFrame) {
        // Counted from the frame's first byte, not the last: trickling a byte now and then does not help.
        if (now - conn.frameStartedAt > readTimeoutMs) {
          log.debug(`closing ${conn.remote}: a frame not whole after ${readTimeoutMs} ms`);
          conn.destroy();
        }
      } else if (state.inFlight === 0 && !conn.backpressured && now - Math.max(conn.lastRead, conn.lastWrite) > idleTimeoutMs) {
        log.debug(`closing idle ${conn.remote}`);
        this.retire(conn);
      } else if (now - conn.lastRead > IDLE_BUFFERS_MS) conn.releaseIdleBuffers(); // quiet: keeps no read buffer
    }
  }
}

/** `transport.listen` with a typed error that names the address (Bun's says "Failed to listen at <host>"). */
function listen(transport: Transport, options: ServeOptions, open: OpenHandler): ServerHandle {
  try {
    return transport.listen(options, open);
  } catch (error) {
    const address = `${options.hostname}:${options.port}`;
    const inUse = (error as { code?: string }).code === "EADDRINUSE";
    throw new ListenError(
      address,
      inUse ? ErrorCode.AddressInUse : ErrorCode.ListenFailed,
      `cannot listen on ${address}: ${inUse ? "address in use" : (error as Error).message}`,
      { cause: error },
    );
  }
}
