/**
 * One connection of a closed swarm, from its first byte: the handshake (magic, three
 * length-prefixed Noise messages, identity proofs), then the record layer. A {@link Session} is
 * the raw socket's handler throughout, and the {@link SecureSocket} the layers above use once the
 * handshake is done. The wire format is described in `secure-transport.ts`.
 *
 * @module
 */
import { HandshakeError, SecureChannelError } from "../errors.ts";
import { createLogger } from "../log.ts";
import type { OpenHandler, SocketHandler, SocketLike } from "../transport/socket.ts";
import { verifyBinding, type NodeIdentity } from "./identity.ts";
import type { SwarmKeyring } from "./keyring.ts";
import { MAX_PLAINTEXT, XXpsk3Handshake, type CipherState } from "./noise.ts";
import { concatBytes } from "../util/bytes.ts";
import { afterReads } from "../util/turn.ts";

const log = createLogger("security");

/** The first bytes of a closed swarm's connection, both ways. */
export const MAGIC = Uint8Array.of(0xff, 0x53, 0x4e, 0x01);
/** Handshakes under way at once on one transport; more are closed unread (a flood of silent sockets). */
const MAX_PENDING_HANDSHAKES = 1024;

/** A connection of a closed swarm, as the layers above see it: a socket, plus who is at the other end. */
export interface SecureSocket extends SocketLike {
  /** The other side's node identity: the hex of the Ed25519 key that signed the handshake. */
  readonly remoteIdentity: string;
}

/** What every session of one transport shares. */
export interface SessionConfig {
  readonly keyring: SwarmKeyring;
  readonly identity: NodeIdentity;
  /** The handshake prologue (binds the swarm name). */
  readonly prologue: Uint8Array;
  readonly timeoutMs: number;
  /** Handshakes under way (sessions count themselves in and out). */
  pending: number;
}

/**
 * One connection, from the first byte: the handshake, then the record layer. It is the raw
 * socket's handler throughout, and the {@link SecureSocket} the layers above write to.
 */
export class Session implements SocketHandler, SecureSocket {
  private handshake: XXpsk3Handshake | null;
  private send: CipherState | null = null;
  private receive: CipherState | null = null;
  private outer: SocketHandler | null = null;
  remoteIdentity = "";
  private timer: ReturnType<typeof setTimeout> | null = null;
  private failed = false;
  private closed = false;
  /** Bytes read but not yet a whole message or record: `input[0..inputLen]`, at most one record's worth. */
  private input: Uint8Array = new Uint8Array(0);
  private inputLen = 0;
  /** The magic is still expected first. */
  private wantMagic = true;
  /** Ciphertext the raw socket did not take yet. */
  private pendingOut: Uint8Array[] = [];
  private endAfterFlush = false;
  private paused = false;
  /** Plaintext decrypted while the reader was paused, delivered on resume. */
  private heldPlain: Uint8Array[] = [];

  constructor(
    private readonly transport: SessionConfig,
    private readonly raw: SocketLike,
    private readonly initiator: boolean,
    private readonly open: OpenHandler,
    private readonly ready: () => void,
    private readonly fail: (error: HandshakeError) => void,
  ) {
    this.handshake = new XXpsk3Handshake({
      initiator,
      prologue: transport.prologue,
      psks: initiator ? [transport.keyring.primary] : transport.keyring.current(),
      staticKey: transport.identity.staticKey,
    });
  }

  get remoteAddress(): string {
    return this.raw.remoteAddress;
  }

  get remotePort(): number {
    return this.raw.remotePort;
  }

  /** Start: arm the deadline; the initiator writes message 1. */
  begin(): void {
    if (this.closed || this.failed) return;
    if (this.transport.pending >= MAX_PENDING_HANDSHAKES) {
      this.abort(new HandshakeError("protocol", `too many handshakes under way (${MAX_PENDING_HANDSHAKES})`));
      return;
    }
    this.transport.pending++;
    // The verdict waits for the turn's reads (util/turn.ts): a handshake message that arrived
    // while the event loop was blocked completes the handshake first (which settles the timer).
    const timer = setTimeout(() => afterReads(() => this.timer === timer && this.abort(new HandshakeError("timeout", `no handshake within ${this.transport.timeoutMs / 1000} s`))), this.transport.timeoutMs);
    this.timer = timer;
    this.timer.unref?.(); // a stranger's half-open handshake must not keep the process alive
    if (this.initiator) this.writeHandshake(new Uint8Array(0), true);
  }

  // --- the raw socket's events ---

  handleData(chunk: Uint8Array): void {
    if (this.closed || this.failed) return;
    // Parse the transport's chunk in place when nothing is held over (the common case); else
    // append it to what is held. Either way at most one unfinished record stays behind.
    let data = chunk;
    if (this.inputLen > 0) {
      this.reserve(this.inputLen + chunk.length);
      this.input.set(chunk, this.inputLen);
      this.inputLen += chunk.length;
      data = this.input.subarray(0, this.inputLen);
    }
    let at = 0;
    try {
      if (this.wantMagic && this.handshake) {
        // Judged on the first byte already: an open peer's frame length starts with 0x00.
        for (let i = 0; i < Math.min(MAGIC.length, data.length); i++) {
          if (data[i] !== MAGIC[i]) throw new HandshakeError("not_noise", "the peer does not speak the closed-swarm protocol (a plaintext, open-swarm or Python node?)");
        }
        if (data.length < MAGIC.length) return this.keep(data, 0);
        this.wantMagic = false;
        at = MAGIC.length;
      }
      while (at + 2 <= data.length && !this.failed && !this.closed) {
        const len = (data[at]! << 8) | data[at + 1]!;
        if (at + 2 + len > data.length) break;
        const message = data.subarray(at + 2, at + 2 + len);
        at += 2 + len;
        if (this.handshake) this.readHandshake(message);
        else this.readRecord(message);
      }
    } catch (error) {
      this.abort(error);
      return;
    }
    if (!this.failed && !this.closed) this.keep(data, at);
  }

  handleDrain(): void {
    while (this.pendingOut.length > 0) {
      const head = this.pendingOut[0]!;
      const written = this.raw.write(head);
      if (written < head.length) {
        this.pendingOut[0] = head.slice(Math.max(written, 0));
        return;
      }
      this.pendingOut.shift();
    }
    if (this.endAfterFlush) this.raw.end();
    else this.outer?.handleDrain();
  }

  handleEnd(): void {
    if (this.outer) this.outer.handleEnd();
    else this.abort(new HandshakeError("closed", "the peer closed the connection during the handshake"));
  }

  handleClose(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.settleTimer();
    if (this.outer) this.outer.handleClose(error);
    else if (!this.failed) {
      this.failed = true;
      this.fail(new HandshakeError("closed", "the connection closed during the handshake", error ? { cause: error } : undefined));
    }
  }

  handleError(error: Error): void {
    if (this.outer) this.outer.handleError(error);
    else this.abort(new HandshakeError("closed", `socket error during the handshake: ${error.message}`, { cause: error }));
  }

  // --- the socket the layers above use ---

  write(bytes: Uint8Array): number {
    if (this.closed || this.failed || !this.send) return -1;
    if (this.pendingOut.length > 0) return 0; // the caller keeps the bytes and writes them on drain
    const records = this.seal(bytes);
    const written = this.raw.write(records);
    if (written < records.length) this.pendingOut.push(records.slice(Math.max(written, 0)));
    return bytes.length;
  }

  end(): void {
    if (this.pendingOut.length > 0) this.endAfterFlush = true;
    else this.raw.end();
  }

  terminate(): void {
    this.raw.terminate();
  }

  pause(): void {
    this.paused = true;
    this.raw.pause();
  }

  resume(): void {
    this.paused = false;
    // Records decrypted while paused are delivered on a later turn, as a socket delivers data,
    // never inside the caller's resume(); the raw socket stays paused until they are.
    if (this.heldPlain.length === 0) this.raw.resume();
    else queueMicrotask(() => this.deliverHeld());
  }

  private deliverHeld(): void {
    while (this.heldPlain.length > 0 && !this.paused && !this.closed) this.outer?.handleData(this.heldPlain.shift()!, true);
    if (!this.paused && !this.closed && this.heldPlain.length === 0) this.raw.resume();
  }

  ref(): void {
    this.raw.ref();
  }

  unref(): void {
    this.raw.unref();
  }

  // --- inside ---

  /** Hold `data[from..]` over to the next chunk (`data` is the transport's chunk, valid only now, or {@link input}). */
  private keep(data: Uint8Array, from: number): void {
    const rest = data.length - from;
    // Nothing left (most chunks: whole records): no look at `data.buffer`, which a small chunk
    // answers by moving its bytes out of the engine's heap first (util/bytes.ts).
    if (rest === 0) {
      this.inputLen = 0;
      return;
    }
    if (data.buffer === this.input.buffer && data.byteOffset === this.input.byteOffset) {
      this.input.copyWithin(0, from, data.length);
    } else {
      this.reserve(rest);
      this.input.set(data.subarray(from), 0);
    }
    this.inputLen = rest;
  }

  private reserve(size: number): void {
    if (this.input.length >= size) return;
    const grown = new Uint8Array(Math.max(size, this.input.length * 2, 1024));
    grown.set(this.input.subarray(0, this.inputLen), 0);
    this.input = grown;
  }

  private writeHandshake(payload: Uint8Array | ((hash: Uint8Array) => Uint8Array), withMagic: boolean): void {
    const message = this.handshake!.writeMessage(payload);
    const out = new Uint8Array((withMagic ? MAGIC.length : 0) + 2 + message.length);
    let at = 0;
    if (withMagic) {
      out.set(MAGIC, 0);
      at = MAGIC.length;
    }
    out[at] = message.length >> 8;
    out[at + 1] = message.length & 0xff;
    out.set(message, at + 2);
    const written = this.raw.write(out);
    if (written < out.length) this.pendingOut.push(out.slice(Math.max(written, 0)));
  }

  private readHandshake(message: Uint8Array): void {
    const hs = this.handshake!;
    const { payload, hashBeforePayload } = hs.readMessage(message);
    const identity = this.transport.identity;
    if (hs.complete) {
      // The responder read message 3: the initiator's proof is in it.
      this.remoteIdentity = requireBinding(payload, hs.readRemoteStatic(), hashBeforePayload);
      this.established();
    } else if (this.initiator) {
      // Message 2: check the responder's proof, then send message 3 with ours.
      this.remoteIdentity = requireBinding(payload, hs.readRemoteStatic(), hashBeforePayload);
      this.writeHandshake((hash) => identity.bindingPayload(hash), false);
      this.established();
    } else {
      // Message 1 (an empty payload by our protocol; anything else is not ours).
      if (payload.length !== 0) throw new HandshakeError("protocol", "handshake message 1 carries a payload");
      this.writeHandshake((hash) => identity.bindingPayload(hash), true);
    }
  }

  /** The handshake is done: switch to records and hand the socket to the layer above. */
  private established(): void {
    const keys = this.handshake!.split();
    this.handshake = null;
    this.send = keys.send;
    this.receive = keys.receive;
    this.settleTimer();
    this.outer = this.open(this);
    this.ready();
  }

  private readRecord(message: Uint8Array): void {
    let plain: Uint8Array;
    try {
      plain = this.receive!.decrypt(message);
    } catch (error) {
      log.warn(`closing the connection with ${this.raw.remoteAddress}:${this.raw.remotePort}: ${(error as Error).message}`);
      this.raw.terminate();
      this.failed = true;
      return;
    }
    if (plain.length === 0) return;
    // A record's plaintext is a buffer of its own (the decipher's output), never written again: owned.
    if (this.paused) this.heldPlain.push(plain);
    else this.outer!.handleData(plain, true);
  }

  /** `bytes` as records: one per 65519 bytes. */
  private seal(bytes: Uint8Array): Uint8Array {
    const send = this.send!;
    if (bytes.length <= MAX_PLAINTEXT) return send.encryptRecord(bytes);
    const parts: Uint8Array[] = [];
    for (let at = 0; at < bytes.length; at += MAX_PLAINTEXT) parts.push(send.encryptRecord(bytes.subarray(at, at + MAX_PLAINTEXT)));
    return concatBytes(parts);
  }

  /** A handshake failure: close at once, tell whoever waits. */
  private abort(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.settleTimer();
    this.raw.terminate();
    if (this.outer) return; // after the handshake: the close reaches the layer above
    const hsError =
      error instanceof HandshakeError
        ? error
        : error instanceof SecureChannelError
          ? new HandshakeError("bad_key", error.message, { cause: error })
          : new HandshakeError("protocol", String(error), { cause: error });
    this.fail(hsError);
  }

  private settleTimer(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
      this.transport.pending--;
    }
  }
}

function requireBinding(payload: Uint8Array, remoteStatic: Uint8Array, hash: Uint8Array): string {
  const id = verifyBinding(payload, remoteStatic, hash);
  if (id === null) throw new HandshakeError("bad_identity", "the peer's identity proof (an Ed25519 signature over its handshake key) does not verify");
  return id;
}
