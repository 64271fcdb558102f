/**
 * The seam under the framed connections: the few things a {@link Connection} needs from a byte
 * stream ({@link SocketLike}), what the stream tells it ({@link SocketHandler}), and how streams
 * are made ({@link Transport}: connect and listen). TCP through Bun is the default
 * (`bun-transport.ts`); an in-memory network (`memory-transport.ts`) runs the same pool and
 * listener without sockets, for tests and in-process simulations.
 *
 * @module
 */

/**
 * A connected byte stream, as a {@link Connection} uses it. Bun's TCP socket is one as it is, so
 * the default transport hands it over unwrapped.
 */
export interface SocketLike {
  /**
   * Write bytes. Returns how many were taken: fewer than given under backpressure (the caller keeps
   * the rest and writes it on `drain`), 0 or -1 when nothing can be written. The caller may reuse
   * `bytes` once this returns.
   */
  write(bytes: Uint8Array): number;
  /** Half-close: send FIN after what was written; the other end may still answer. */
  end(): void;
  /** Close at once, dropping whatever was not written. */
  terminate(): void;
  /** Stop reading: nothing more is delivered, and the writer meets backpressure. */
  pause(): void;
  /** Read again after {@link pause}. */
  resume(): void;
  /** Keep the process alive while this socket is open. */
  ref(): void;
  /** Do not keep the process alive for this socket alone. */
  unref(): void;
  /** Address of the other end, as the socket reports it. */
  readonly remoteAddress: string;
  /** Port of the other end. */
  readonly remotePort: number;
  /**
   * The other end's verified node identity (the hex of the Ed25519 key that signed its handshake)
   * on a closed swarm's connection; absent on a plaintext one, which proves nothing.
   */
  readonly remoteIdentity?: string;
}

/** What happens on a socket, told to its owner. A {@link Connection} is one. */
export interface SocketHandler {
  /**
   * Bytes arrived. Valid only during the call, unless `owned`: the transport never writes to them
   * again (a socket read in a buffer of its own), so the handler may keep views of them.
   */
  handleData(chunk: Uint8Array, owned?: boolean): void;
  /** The socket takes writes again after a short write. */
  handleDrain(): void;
  /** The other end half-closed (sent FIN). */
  handleEnd(): void;
  /** The socket closed, for whatever reason. */
  handleClose(error?: Error): void;
  /** The socket failed; the handler tears it down. */
  handleError(error: Error): void;
}

/**
 * Makes the handler of a socket that just opened (a {@link Connection} around it). Called once per
 * socket, before any event of that socket is delivered.
 */
export type OpenHandler = (socket: SocketLike) => SocketHandler;

/** Where to connect. */
export interface DialOptions {
  hostname: string;
  port: number;
  /**
   * Keep our side writable after the other end's FIN (default false: ours ends too). Note: Bun
   * (1.4) closes a socket it dialed at once on `end()`, whatever this says, so nothing may count on
   * reading from a dialed socket after ending it; the in-memory transport keeps TCP's half-close.
   */
  allowHalfOpen?: boolean;
}

/** Where to listen. */
export interface ServeOptions {
  hostname: string;
  /** 0 picks a free port; read it from {@link ServerHandle.port}. */
  port: number;
  /** Keep accepted sockets writable after the client's FIN (default false). */
  allowHalfOpen?: boolean;
}

/** A listening server. */
export interface ServerHandle {
  /** The bound port. */
  readonly port: number;
  /** Stop accepting; with `closeActive`, also close every accepted socket at once. */
  stop(closeActive?: boolean): void;
}

/**
 * How connections are made. The pool dials with it, the listener accepts with it; the default is
 * TCP through Bun ({@link bunTransport}).
 */
export interface Transport {
  /**
   * Connect. Once connected, `open(socket)` makes the socket's handler, then the promise resolves.
   * Rejects with the connect failure, keeping the system's `code` (`ECONNREFUSED`, ...).
   */
  connect(options: DialOptions, open: OpenHandler): Promise<void>;
  /**
   * Listen; `open` makes the handler of every accepted socket. Throws when the address cannot be
   * bound, with `code` `EADDRINUSE` when another server holds it.
   */
  listen(options: ServeOptions, open: OpenHandler): ServerHandle;
}
