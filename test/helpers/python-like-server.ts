/**
 * A fake peer that behaves like a node of the original Python synapse-p2p, as PROTOCOL.md describes
 * it: it reads ONE request from a new connection, writes ONE response, then closes the connection
 * at once; a second request pipelined on the same connection is never read nor answered; an
 * unknown endpoint (including this project's `_synapse.hello`) is answered with bad_request
 * "Unregistered endpoint called: X"; a handler that throws is answered with internal_error; there
 * is no read timeout. Every request it reads is appended to {@link PythonLikeServer.log}, so tests
 * can prove that nothing was lost or sent twice (with its raw payload bytes, for byte-level
 * checks); a request with a top-level key beyond the five is refused with bad_request
 * "unknown request fields: [...]", as a Python node refuses it.
 *
 * @module
 */
import type { Socket, TCPSocketListener } from "bun";
import { decode, encode } from "../../src/wire/codec.ts";
import { HEADER_SIZE } from "../../src/wire/frame.ts";
import { LOOPBACK, track } from "./net.ts";

/** A Python-style endpoint: positional and keyword arguments in, result out (or a throw). */
export type PythonHandler = (args: unknown[], kwargs: Record<string, unknown>) => unknown;

/** Thrown by a handler to answer bad_request (as a Python node refuses a join) instead of internal_error. */
export class PythonBadRequest extends Error {}

/** One request the server read. */
export interface LoggedRequest {
  endpoint: string;
  id: unknown;
  args: unknown[];
  kwargs: Record<string, unknown>;
  /** Sequence number of the connection it arrived on (1-based). */
  connection: number;
  /** The payload bytes exactly as received (a copy), for byte-level checks. */
  raw: Uint8Array;
}

/** The top-level keys a Python node accepts in a request; any other one is refused. */
const REQUEST_KEYS = new Set(["endpoint", "id", "args", "kwargs", "type"]);

interface ConnState {
  number: number;
  buffer: Uint8Array;
  /** True once the one request was read: everything after it is ignored. */
  done: boolean;
  /** Response bytes the socket has not taken yet. */
  pending: Uint8Array | null;
}

const DEFAULT_MAX = 4 * 1024 * 1024;

/** The fake Python node. */
export class PythonLikeServer {
  /** Requests read, in arrival order. */
  readonly log: LoggedRequest[] = [];
  /** Connections accepted so far. */
  connections = 0;
  /** Connections on which more bytes arrived after the one request (those are never answered). */
  pipelinedIgnored = 0;

  private server: TCPSocketListener<ConnState> | null = null;
  private readonly handlers = new Map<string, PythonHandler>();

  constructor(private readonly maxUploadSize = DEFAULT_MAX) {}

  /** Add an endpoint. */
  endpoint(name: string, handler: PythonHandler): this {
    this.handlers.set(name, handler);
    return this;
  }

  /** The bound port. */
  get port(): number {
    return this.server?.port ?? 0;
  }

  /** Listen on 127.0.0.1 (port 0 by default). */
  start(port = 0): this {
    this.server = Bun.listen<ConnState>({
      hostname: LOOPBACK,
      port,
      socket: {
        open: (socket) => {
          socket.data = { number: ++this.connections, buffer: new Uint8Array(0), done: false, pending: null };
        },
        data: (socket, chunk) => this.onData(socket, chunk),
        drain: (socket) => this.flush(socket),
        error: () => {},
      },
    });
    return track(this);
  }

  /** Stop listening and drop every connection. */
  stop(): void {
    this.server?.stop(true);
    this.server = null;
  }

  /** Requests for `endpoint` in the log. */
  requestsFor(endpoint: string): LoggedRequest[] {
    return this.log.filter((r) => r.endpoint === endpoint);
  }

  private onData(socket: Socket<ConnState>, chunk: Uint8Array): void {
    const state = socket.data;
    if (state.done) {
      this.pipelinedIgnored++;
      return;
    }
    const joined = new Uint8Array(state.buffer.length + chunk.length);
    joined.set(state.buffer);
    joined.set(chunk, state.buffer.length);
    state.buffer = joined;
    if (joined.length < HEADER_SIZE) return;
    const size = new DataView(joined.buffer, joined.byteOffset).getUint32(0);
    if (size > this.maxUploadSize) {
      state.done = true;
      this.reply(socket, this.error("", "bad_request", `frame too large: ${size} > ${this.maxUploadSize}`));
      return;
    }
    if (joined.length < HEADER_SIZE + size) return;
    state.done = true;
    if (joined.length > HEADER_SIZE + size) this.pipelinedIgnored++;
    let message: Record<string, unknown>;
    try {
      const value = decode(joined, HEADER_SIZE, HEADER_SIZE + size);
      if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("payload is not a map");
      message = value as Record<string, unknown>;
    } catch (error) {
      this.reply(socket, this.error("", "bad_request", (error as Error).message));
      return;
    }
    const endpoint = String(message.endpoint);
    const id = message.id ?? "";
    const args = (message.args as unknown[] | undefined) ?? [];
    const kwargs = (message.kwargs as Record<string, unknown> | undefined) ?? {};
    const raw = joined.slice(HEADER_SIZE, HEADER_SIZE + size);
    this.log.push({ endpoint, id, args, kwargs, connection: state.number, raw });
    // A Python node refuses a request with any top-level key beyond the five (PROTOCOL.md).
    const extra = Object.keys(message).filter((k) => !REQUEST_KEYS.has(k)).sort();
    if (extra.length > 0) {
      this.reply(socket, this.error("", "bad_request", `unknown request fields: [${extra.map((k) => `'${k}'`).join(", ")}]`));
      return;
    }
    const handler = this.handlers.get(endpoint);
    if (!handler) {
      this.reply(socket, this.error(String(id), "bad_request", `Unregistered endpoint called: ${endpoint}`));
      return;
    }
    Promise.resolve()
      .then(() => handler(args, kwargs))
      .then(
        (result) => this.reply(socket, { id: String(id), ok: true, result: result ?? null, error: null, type: "response" }),
        (error) =>
          this.reply(socket, this.error(String(id), error instanceof PythonBadRequest ? "bad_request" : "internal_error", (error as Error).message)),
      );
  }

  private error(id: string, code: string, message: string): Record<string, unknown> {
    return { id, ok: false, result: null, error: { code, message }, type: "response" };
  }

  /** Write one response, then close as soon as it is out. */
  private reply(socket: Socket<ConnState>, response: Record<string, unknown>): void {
    const payload = encode(response);
    const out = new Uint8Array(HEADER_SIZE + payload.length);
    new DataView(out.buffer).setUint32(0, payload.length);
    out.set(payload, HEADER_SIZE);
    socket.data.pending = out;
    this.flush(socket);
  }

  private flush(socket: Socket<ConnState>): void {
    const pending = socket.data.pending;
    if (!pending) return;
    const written = socket.write(pending);
    if (written < pending.length) {
      socket.data.pending = pending.subarray(Math.max(written, 0));
      return;
    }
    socket.data.pending = null;
    socket.end();
  }
}
