/**
 * The {@link Transport} of a closed swarm: a decorator over any transport (TCP, the in-memory
 * network) that runs a `Noise_XXpsk3_25519_AESGCM_SHA256` handshake first on every connection and
 * then carries the connection's bytes in authenticated, encrypted records. The pool and the
 * listener above it see a plain {@link SocketLike} that appears only once the handshake is done,
 * so nothing above the transport knows about it.
 *
 * On the wire (every length big-endian):
 *
 * ```
 * initiator:  MAGIC  u16 len  message 1 (e)
 * responder:  MAGIC  u16 len  message 2 (e, ee, s, es, identity proof)
 * initiator:         u16 len  message 3 (s, se, psk, identity proof)
 * then both:         u16 len  record (AES-256-GCM of up to 65519 bytes, nonce = records sent so far)
 * ```
 *
 * `MAGIC` (`ff 53 4e 01`) makes a plaintext peer fail fast: read as the 4-byte frame length of the
 * open protocol it announces about 4 GB, which every open node refuses; and a closed node that
 * reads anything else than `MAGIC` knows at once that a plaintext peer (an open or Python node) is
 * speaking, closes, and says so in one log line. The prologue binds the swarm name, so nodes of
 * two swarms sharing a key still fail. Every write batch of the connection (one tick of coalesced
 * frames) becomes one record, split at Noise's 65535-byte limit; each direction counts its own
 * nonces, so a record replayed, dropped, reordered or moved to another connection does not
 * authenticate, and the first failure closes the connection. No byte of the open protocol is ever
 * sent or accepted.
 *
 * @module
 */
import type { HandshakeError } from "../errors.ts";
import { createLogger } from "../log.ts";
import type { DialOptions, OpenHandler, ServeOptions, ServerHandle, SocketLike, Transport } from "../transport/socket.ts";
import { NodeIdentity } from "./identity.ts";
import { SwarmKeyring, type SwarmKeyInput } from "./keyring.ts";
import { Session, type SessionConfig } from "./secure-session.ts";

export { MAGIC, type SecureSocket } from "./secure-session.ts";

const log = createLogger("security");

/** Seconds a handshake may take before the connection is closed (default of {@link SecureTransportOptions.handshakeTimeout}). */
export const DEFAULT_HANDSHAKE_TIMEOUT = 5;
/** Seconds between two log lines about the same remote address failing the handshake. */
const LOG_INTERVAL_MS = 60_000;
const PROLOGUE_PREFIX = "synapse-p2p closed swarm v1\n";

/** Options of {@link secureTransport}. */
export interface SecureTransportOptions {
  /** The swarm keys: a {@link SwarmKeyring} (shared, rotatable), or one key or several (the first the primary). */
  keys: SwarmKeyring | SwarmKeyInput | readonly SwarmKeyInput[];
  /** This node's identity (default: a fresh one, in memory). */
  identity?: NodeIdentity;
  /** The swarm name, bound into every handshake (`null` or omitted: the empty name). */
  swarm?: string | null;
  /** Seconds the handshake may take (default 5). */
  handshakeTimeout?: number;
}

/** A {@link Transport} whose connections are all closed-swarm connections. */
export interface SecureTransport extends Transport {
  /** The keys it accepts (rotate through it). */
  readonly keyring: SwarmKeyring;
  /** The identity it proves. */
  readonly identity: NodeIdentity;
  /** The transport underneath. */
  readonly inner: Transport;
}

/** True when `transport` is a closed swarm's ({@link secureTransport}). */
export function isSecureTransport(transport: Transport): transport is SecureTransport {
  return transport instanceof SecureTransportImpl;
}

/**
 * Wrap `inner` so that every connection, dialed or accepted, is a closed-swarm connection: the
 * Noise handshake first (bounded in time), then encrypted records. A connection that fails the
 * handshake never reaches the pool or the listener.
 */
export function secureTransport(inner: Transport, options: SecureTransportOptions): SecureTransport {
  return new SecureTransportImpl(inner, options);
}

class SecureTransportImpl implements SecureTransport, SessionConfig {
  readonly keyring: SwarmKeyring;
  readonly identity: NodeIdentity;
  readonly prologue: Uint8Array;
  readonly timeoutMs: number;
  pending = 0;
  /** Last time a failure from an address was logged, for the rate limit. */
  private readonly logged = new Map<string, number>();

  constructor(
    readonly inner: Transport,
    options: SecureTransportOptions,
  ) {
    this.keyring = options.keys instanceof SwarmKeyring ? options.keys : new SwarmKeyring(options.keys);
    this.identity = options.identity ?? NodeIdentity.generate();
    this.prologue = new TextEncoder().encode(PROLOGUE_PREFIX + (options.swarm ?? ""));
    const timeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
    if (!(timeout > 0)) throw new RangeError(`handshakeTimeout must be a positive number of seconds, not ${timeout}`);
    this.timeoutMs = timeout * 1000;
  }

  connect(options: DialOptions, open: OpenHandler): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let session: Session | null = null;
      this.inner
        .connect(options, (raw) => {
          session = new Session(this, raw, true, open, resolve, reject);
          return session;
        })
        .then(() => session?.begin(), reject);
    });
  }

  listen(options: ServeOptions, open: OpenHandler): ServerHandle {
    return this.inner.listen(options, (raw) => {
      const session = new Session(this, raw, false, open, () => {}, (error) => this.refused(raw, error));
      queueMicrotask(() => session.begin());
      return session;
    });
  }

  /** One clear line on this (closed) node about a peer that failed the handshake, at most once a minute per address. */
  private refused(raw: SocketLike, error: HandshakeError): void {
    const address = raw.remoteAddress;
    const now = Date.now();
    const last = this.logged.get(address);
    if (last !== undefined && now - last < LOG_INTERVAL_MS) return;
    if (this.logged.size >= 1000) this.logged.clear(); // bounded: a scan from many addresses
    this.logged.set(address, now);
    const why =
      error.reason === "not_noise"
        ? "spoke plaintext (an open-swarm or Python node?); this node is in a closed swarm and answers only its handshake"
        : `failed the closed swarm's handshake (${error.reason}): ${error.message}`;
    // A socket that merely opened and closed (a port scan, a health check) is not worth a warning.
    (error.reason === "closed" ? log.debug : log.warn)(`connection from ${address}:${raw.remotePort} closed: it ${why}`);
  }
}
