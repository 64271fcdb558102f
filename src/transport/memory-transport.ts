/**
 * An in-process network: {@link Transport}s whose connections are pairs of in-memory sockets, so
 * that pools, listeners and whole nodes run in one process without TCP (tests, and simulations of
 * many nodes). Listeners are found by `host:port`; every host of a simulation gets a transport of
 * its own ({@link MemoryNetwork.transport}), whose outgoing connections come from its address.
 *
 * It keeps the stream semantics the transport layer relies on: bytes arrive in order, in chunks
 * that need not match the writes (`maxRead` splits them); `end()` is a half-close delivered after
 * the data before it, and a socket that does not allow half-open ends its side in turn; both FINs
 * delivered close both ends; `terminate()` closes both at once, dropping what was not read. A
 * paused socket reads nothing, so its writer's buffer fills: writes become partial and `drain`
 * follows once the reader took bytes again (`bufferSize`, `maxWrite`).
 *
 * Events are delivered on a later turn of the event loop (`setImmediate`), never inside the call
 * that caused them, as sockets do. Memory sockets do not keep the process alive (`ref` does
 * nothing).
 *
 * @module
 */
import type { DialOptions, OpenHandler, ServeOptions, ServerHandle, SocketHandler, SocketLike, Transport } from "./socket.ts";

/** Options of a {@link MemoryNetwork}. */
export interface MemoryNetworkOptions {
  /**
   * Bytes written but not yet read that one direction of a connection holds (the kernel buffers);
   * past it, writes are partial and the writer waits for `drain`. Default 4 MiB.
   */
  bufferSize?: number;
  /** Most bytes one `write` takes, to make writes partial without a slow reader. Default: no limit. */
  maxWrite?: number;
  /** Most bytes one `data` event delivers, to split frames across reads. Default: no limit. */
  maxRead?: number;
}

/** First port handed out for port 0 (listeners) and for the client side of connections. */
const FIRST_EPHEMERAL = 49152;

/** An error as a socket reports it: with the system's `code`. */
function socketError(code: string, message: string): Error {
  return Object.assign(new Error(`${message} (${code})`), { code });
}

/** A connect on its way. */
interface ConnectAttempt {
  from: string;
  options: DialOptions;
  open: OpenHandler;
  resolve(): void;
  reject(error: Error): void;
}

/** A listening address of the network. */
interface MemoryServer extends ServerHandle {
  readonly host: string;
  readonly allowHalfOpen: boolean;
  readonly open: OpenHandler;
  readonly accepted: Set<MemorySocket>;
}

/** One end of an in-memory connection. */
class MemorySocket implements SocketLike {
  /** The other end (set right after both ends are made). */
  peer!: MemorySocket;
  handler: SocketHandler | null = null;
  /** Bytes the peer wrote that this end has not read yet, oldest first (made on the first bytes). */
  private inbox: Uint8Array[] | null = null;
  /** Total length of {@link inbox}. */
  inboxBytes = 0;
  /** The peer's FIN waits behind {@link inbox}. */
  private finQueued = false;
  /** The peer's FIN was delivered: nothing more arrives. */
  readEnded = false;
  /** This end sent FIN: it writes nothing more. */
  writeEnded = false;
  /** A write was short: `drain` is owed once the peer reads. */
  private wantDrain = false;
  private paused = false;
  /** A delivery is scheduled. */
  private scheduled = false;
  /** Closed (no more events after the close event, which may still be on its way). */
  closed = false;

  constructor(
    private readonly net: MemoryNetwork,
    readonly remoteAddress: string,
    readonly remotePort: number,
    private readonly allowHalfOpen: boolean,
    /** Removes this end from whatever tracks it once it closes. */
    private readonly forget: () => void,
  ) {}

  write(bytes: Uint8Array): number {
    if (this.closed || this.writeEnded) return -1;
    const room = this.net.bufferSize - this.peer.inboxBytes;
    const n = Math.min(bytes.length, this.net.maxWrite, Math.max(room, 0));
    if (n < bytes.length) {
      this.wantDrain = true;
      this.net.stats.shortWrites++;
    }
    // A copy: the caller may reuse its buffer (and a Buffer's `slice` would be a view, not a copy).
    if (n > 0) this.peer.receive(Uint8Array.prototype.slice.call(bytes, 0, n));
    return n;
  }

  end(): void {
    if (this.closed || this.writeEnded) return;
    this.writeEnded = true;
    this.peer.finQueued = true;
    this.peer.schedule();
  }

  terminate(): void {
    if (this.closed) return;
    this.close(undefined);
    this.peer.close(socketError("ECONNRESET", "connection reset by peer"));
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.schedule();
  }

  ref(): void {}

  unref(): void {}

  /** Bytes from the peer. */
  private receive(chunk: Uint8Array): void {
    (this.inbox ??= []).push(chunk);
    this.inboxBytes += chunk.length;
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    this.net.later(() => this.deliver());
  }

  /** Hand what arrived to the handler: data, then the drain the peer is owed, then a FIN. */
  private deliver(): void {
    this.scheduled = false;
    const handler = this.handler;
    if (this.closed || this.paused || !handler) return;
    if (this.inboxBytes > 0) {
      const chunk = this.take(this.net.maxRead);
      handler.handleData(chunk, true); // a copy of what was written (see write), never written again
      const writer = this.peer;
      if (writer.wantDrain && !writer.closed && this.inboxBytes < this.net.bufferSize) {
        writer.wantDrain = false;
        writer.net.later(() => {
          if (writer.closed) return;
          writer.net.stats.drains++;
          writer.handler?.handleDrain();
        });
      }
      if (this.inboxBytes > 0) {
        this.schedule(); // the rest on a later turn, as a socket reads in chunks
        return;
      }
    }
    if (this.finQueued && !this.readEnded && !this.closed) {
      this.readEnded = true;
      handler.handleEnd();
      if (!this.allowHalfOpen) this.end();
      if (this.writeEnded && this.peer.readEnded) {
        // Both directions are finished: the connection is closed at both ends.
        this.close(undefined);
        this.peer.close(undefined);
      }
    }
  }

  /** Up to `max` bytes off the inbox, in one chunk. */
  private take(max: number): Uint8Array {
    const inbox = this.inbox!;
    const first = inbox[0]!;
    if (first.length >= max || inbox.length === 1) {
      const chunk = first.length > max ? first.subarray(0, max) : first;
      if (chunk === first) inbox.shift();
      else inbox[0] = first.subarray(max);
      this.inboxBytes -= chunk.length;
      if (this.inboxBytes === 0) this.inbox = null; // an idle end holds no array
      return chunk;
    }
    const size = Math.min(max, this.inboxBytes);
    const out = new Uint8Array(size);
    let at = 0;
    while (at < size) {
      const head = inbox[0]!;
      const n = Math.min(head.length, size - at);
      out.set(head.subarray(0, n), at);
      at += n;
      if (n === head.length) inbox.shift();
      else inbox[0] = head.subarray(n);
    }
    this.inboxBytes -= size;
    if (this.inboxBytes === 0) this.inbox = null;
    return out;
  }

  /** Close this end now; its handler hears of it on a later turn. */
  private close(error: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.inbox = null;
    this.inboxBytes = 0;
    this.forget();
    this.net.later(() => this.handler?.handleClose(error));
  }
}

/**
 * An in-process network of listeners and connections. Make one per test or simulation, and a
 * {@link transport} per simulated host.
 *
 * @example
 * const net = new MemoryNetwork();
 * const a = new Node({ bind: "10.0.0.1", advertise: "10.0.0.1", port: 9999, transport: net.transport("10.0.0.1") });
 * const b = new Node({ bind: "10.0.0.2", advertise: "10.0.0.2", port: 9999, transport: net.transport("10.0.0.2") });
 */
export class MemoryNetwork {
  /** {@link MemoryNetworkOptions.bufferSize}. */
  readonly bufferSize: number;
  /** {@link MemoryNetworkOptions.maxWrite} (Infinity: no limit). */
  readonly maxWrite: number;
  /** {@link MemoryNetworkOptions.maxRead} (Infinity: no limit). */
  readonly maxRead: number;
  /** What happened on the network so far: writes the buffers cut short, and the drains after them. */
  readonly stats = { shortWrites: 0, drains: 0 };
  private readonly servers = new Map<string, MemoryServer>();
  private readonly sockets = new Set<MemorySocket>();
  private readonly unreachable = new Set<string>();
  /** Connects waiting for an unreachable address to come back. */
  private held: ConnectAttempt[] = [];
  private readonly transports = new Map<string, Transport>();
  private nextPort = FIRST_EPHEMERAL;
  private queue: Array<() => void> = [];
  private pumping = false;

  constructor(options: MemoryNetworkOptions = {}) {
    this.bufferSize = options.bufferSize ?? 4 * 1024 * 1024;
    this.maxWrite = options.maxWrite ?? Infinity;
    this.maxRead = options.maxRead ?? Infinity;
  }

  /**
   * The transport of the host at `address`: its connections come from there. The same object for
   * the same address, so that Clients given it share one pool (see `sharedPool`).
   */
  transport(address = "127.0.0.1"): Transport {
    let t = this.transports.get(address);
    if (!t) {
      t = {
        connect: (options, open) => this.connect(address, options, open),
        listen: (options, open) => this.listen(options, open),
      };
      this.transports.set(address, t);
    }
    return t;
  }

  /** `host:port` of every listener. */
  get listening(): string[] {
    return [...this.servers.keys()];
  }

  /** Connection ends open right now (two per connection). */
  get openSockets(): number {
    return this.sockets.size;
  }

  /**
   * Make `host` (or just `host:port`) unreachable: connects to it hang, as to a machine that drops
   * the SYN, until {@link restore} (as a retransmitted SYN then gets through). Connections already
   * open are not touched (see {@link cut}).
   */
  drop(address: string): void {
    this.unreachable.add(address);
  }

  /** Make an address reachable again after {@link drop}; the connects that hung go on. */
  restore(address: string): void {
    this.unreachable.delete(address);
    const held = this.held;
    this.held = [];
    for (const attempt of held) this.attempt(attempt);
  }

  /**
   * Reset every open connection with an end at `address` (`host` or `host:port`; every connection
   * when omitted), as a machine that dies does. Returns how many connections were cut.
   */
  cut(address?: string): number {
    let count = 0;
    for (const s of [...this.sockets]) {
      if (s.closed) continue;
      const here = `${s.peer.remoteAddress}:${s.peer.remotePort}`;
      const there = `${s.remoteAddress}:${s.remotePort}`;
      if (address === undefined || [here, there, s.remoteAddress, s.peer.remoteAddress].includes(address)) {
        s.terminate();
        count++;
      }
    }
    return count;
  }

  /** Run `task` on a later turn of the event loop; tasks run in the order they were queued. */
  later(task: () => void): void {
    this.queue.push(task);
    if (!this.pumping) {
      this.pumping = true;
      setImmediate(() => this.pump());
    }
  }

  private pump(): void {
    // What the tasks queue now runs on the next turn, so that timers and I/O get their turn too.
    const tasks = this.queue;
    this.queue = [];
    for (const task of tasks) task();
    if (this.queue.length > 0) setImmediate(() => this.pump());
    else this.pumping = false;
  }

  private port(): number {
    return this.nextPort++;
  }

  private find(hostname: string, port: number): MemoryServer | undefined {
    return this.servers.get(`${hostname}:${port}`) ?? this.servers.get(`0.0.0.0:${port}`) ?? this.servers.get(`:::${port}`);
  }

  private listen(options: ServeOptions, open: OpenHandler): ServerHandle {
    let port = options.port;
    if (port === 0) while (this.servers.has(`${options.hostname}:${(port = this.port())}`));
    const key = `${options.hostname}:${port}`;
    if (this.servers.has(key)) throw socketError("EADDRINUSE", `address in use: ${key}`);
    const accepted = new Set<MemorySocket>();
    const server: MemoryServer = {
      host: options.hostname,
      port,
      allowHalfOpen: options.allowHalfOpen ?? false,
      open,
      accepted,
      stop: (closeActive = false) => {
        if (this.servers.get(key) === server) this.servers.delete(key);
        if (closeActive) for (const s of [...accepted]) s.terminate();
      },
    };
    this.servers.set(key, server);
    return server;
  }

  private connect(from: string, options: DialOptions, open: OpenHandler): Promise<void> {
    return new Promise<void>((resolve, reject) => this.attempt({ from, options, open, resolve, reject }));
  }

  /** Complete a connect on a later turn, or hold it while its address is unreachable. */
  private attempt(attempt: ConnectAttempt): void {
    const { from, options, open, resolve, reject } = attempt;
    const target = `${options.hostname}:${options.port}`;
    if (this.unreachable.has(target) || this.unreachable.has(options.hostname)) {
      this.held.push(attempt);
      return;
    }
    this.later(() => {
      const server = this.find(options.hostname, options.port);
      if (!server) {
        reject(socketError("ECONNREFUSED", `connection refused: ${target}`));
        return;
      }
      const [client, accepted] = this.pair(from, options, server);
      accepted.handler = server.open(accepted);
      client.handler = open(client);
      resolve();
    });
  }

  /**
   * The two ends of a new connection, tracked until they close. (Made here rather than in the
   * connect's closure, so that what each end keeps to forget itself holds nothing of the connect.)
   */
  private pair(from: string, options: DialOptions, server: MemoryServer): [MemorySocket, MemorySocket] {
    const client = new MemorySocket(this, options.hostname, options.port, options.allowHalfOpen ?? false, () => this.sockets.delete(client));
    const accepted: MemorySocket = new MemorySocket(this, from, this.port(), server.allowHalfOpen, () => {
      this.sockets.delete(accepted);
      server.accepted.delete(accepted);
    });
    client.peer = accepted;
    accepted.peer = client;
    this.sockets.add(client).add(accepted);
    server.accepted.add(accepted);
    return [client, accepted];
  }
}
