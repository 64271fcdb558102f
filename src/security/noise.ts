/**
 * The Noise protocol framework (revision 34), as much of it as `Noise_XXpsk3_25519_AESGCM_SHA256`
 * needs: the SymmetricState and HandshakeState objects of sections 5.2-5.3 (the CipherState of 5.1
 * is in `cipher-state.ts`, re-exported here), the `psk`
 * modifier of section 9, and the XX pattern with `psk3`:
 *
 * ```
 * XXpsk3:
 *   -> e
 *   <- e, ee, s, es
 *   -> s, se, psk
 * ```
 *
 * Checked byte for byte against the cacophony test vector (`test/fixtures/noise-vector.json`).
 * Failures throw: {@link HandshakeError} during the handshake, {@link SecureChannelError} for the
 * transport CipherStates; a failed decryption leaves the state as it was (Noise 5.1), though
 * every caller here closes the connection on the first failure anyway.
 *
 * @module
 */
import { concatBytes } from "../util/bytes.ts";
import { HandshakeError, SecureChannelError } from "../errors.ts";
import { dh, generateDhKeyPair, hkdf, KEY_LEN, sha256, TAG_LEN, type DhKeyPair } from "./noise-crypto.ts";
import { CipherState, MAX_MESSAGE } from "./cipher-state.ts";
import { errorMessage } from "../util/guards.ts";

export { CipherState, MAX_MESSAGE, MAX_PLAINTEXT } from "./cipher-state.ts";

/** The protocol name, hashed into every handshake. */
export const PROTOCOL_NAME = "Noise_XXpsk3_25519_AESGCM_SHA256";
const EMPTY = new Uint8Array(0);

/** The chaining key and handshake hash (Noise 5.2). */
class SymmetricState {
  ck: Uint8Array;
  h: Uint8Array;
  cs = new CipherState();

  constructor(protocolName: string) {
    const name = new TextEncoder().encode(protocolName);
    // A name of at most HASHLEN bytes is padded with zeros, a longer one hashed.
    this.h = name.length <= KEY_LEN ? Uint8Array.from({ length: KEY_LEN }, (_, i) => name[i] ?? 0) : sha256(name);
    this.ck = this.h;
  }

  mixKey(ikm: Uint8Array): void {
    const [ck, k] = hkdf(this.ck, ikm, 2);
    this.ck = ck!;
    this.cs = new CipherState(k!);
  }

  mixHash(data: Uint8Array): void {
    this.h = sha256(this.h, data);
  }

  mixKeyAndHash(ikm: Uint8Array): void {
    const [ck, h, k] = hkdf(this.ck, ikm, 3);
    this.ck = ck!;
    this.mixHash(h!);
    this.cs = new CipherState(k!);
  }

  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ciphertext = this.cs.encryptWithAd(this.h, plaintext);
    this.mixHash(ciphertext);
    return ciphertext;
  }

  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    const plaintext = this.cs.decryptWithAd(this.h, ciphertext);
    this.mixHash(ciphertext);
    return plaintext;
  }

  split(): [CipherState, CipherState] {
    const [k1, k2] = hkdf(this.ck, EMPTY, 2);
    return [new CipherState(k1!), new CipherState(k2!)];
  }

  clone(): SymmetricState {
    const copy = Object.create(SymmetricState.prototype) as SymmetricState;
    copy.ck = this.ck;
    copy.h = this.h;
    copy.cs = this.cs.clone();
    return copy;
  }
}

/** How a handshake starts. */
export interface HandshakeOptions {
  /** This side dials (writes messages 1 and 3). */
  initiator: boolean;
  /** Bytes both sides must agree on without sending them (the swarm name goes here). */
  prologue: Uint8Array;
  /**
   * The pre-shared keys (32 bytes each). The initiator uses the first; the responder accepts any,
   * trying each on message 3 (a keyring, for rotation).
   */
  psks: readonly Uint8Array[];
  /** This side's static X25519 key pair. */
  staticKey: DhKeyPair;
  /** A fixed ephemeral key pair, for test vectors only (default: a fresh one). */
  ephemeralKey?: DhKeyPair;
}

/** What {@link XXpsk3Handshake.readMessage} found. */
export interface ReadResult {
  payload: Uint8Array;
  /** The handshake hash just before the payload was decrypted: what the sender's payload could sign. */
  hashBeforePayload: Uint8Array;
}

/** The transport keys a finished handshake gives one side. */
export interface TransportKeys {
  send: CipherState;
  receive: CipherState;
  /** The final handshake hash: unique to this session, the same on both sides. */
  handshakeHash: Uint8Array;
  /** The other side's static X25519 public key. */
  remoteStatic: Uint8Array;
  /** Index, in the `psks` given, of the key the handshake used (always 0 for the initiator). */
  pskIndex: number;
}

/**
 * One side of a `Noise_XXpsk3_25519_AESGCM_SHA256` handshake (Noise 5.3 with the `psk`
 * modifier): three messages, initiator first; then {@link split} gives the transport keys.
 */
export class XXpsk3Handshake {
  private ss: SymmetricState;
  private readonly e: DhKeyPair;
  private re: Uint8Array | null = null;
  private rs: Uint8Array | null = null;
  /** Messages processed so far (0..3). */
  private step = 0;
  private pskIndex = 0;

  constructor(private readonly options: HandshakeOptions) {
    if (options.psks.length === 0) throw new RangeError("a psk handshake needs at least one key");
    for (const psk of options.psks) if (psk.length !== KEY_LEN) throw new RangeError(`a psk has ${KEY_LEN} bytes, not ${psk.length}`);
    this.ss = new SymmetricState(PROTOCOL_NAME);
    this.ss.mixHash(options.prologue);
    this.e = options.ephemeralKey ?? generateDhKeyPair();
  }

  /** All three messages went through. */
  get complete(): boolean {
    return this.step === 3;
  }

  /** It is this side's turn to write. */
  get writing(): boolean {
    return this.step < 3 && (this.step % 2 === 0) === this.options.initiator;
  }

  /**
   * Write the next message. `payload` is given the handshake hash as it stands just before the
   * payload is encrypted, so that the payload can sign it.
   */
  writeMessage(payload: Uint8Array | ((hash: Uint8Array) => Uint8Array)): Uint8Array {
    if (!this.writing) throw new HandshakeError("protocol", `handshake message ${this.step + 1} is not ours to write`);
    const ss = this.ss;
    const parts: Uint8Array[] = [];
    const s = this.options.staticKey;
    if (this.step === 0) {
      parts.push(this.writeE());
    } else if (this.step === 1) {
      parts.push(this.writeE());
      ss.mixKey(dh(this.e.privateKey, this.re!)); // ee
      parts.push(ss.encryptAndHash(s.publicKey)); // s
      ss.mixKey(dh(s.privateKey, this.re!)); // es (responder side: s with the initiator's e)
    } else {
      parts.push(ss.encryptAndHash(s.publicKey)); // s
      ss.mixKey(dh(s.privateKey, this.re!)); // se (initiator side: s with the responder's e)
      ss.mixKeyAndHash(this.options.psks[0]!); // psk
    }
    const body = typeof payload === "function" ? payload(ss.h) : payload;
    parts.push(ss.encryptAndHash(body));
    const message = concatBytes(parts);
    if (message.length > MAX_MESSAGE) throw new HandshakeError("protocol", `a handshake message has at most ${MAX_MESSAGE} bytes, not ${message.length}`);
    this.step++;
    return message;
  }

  /** Read the other side's next message; throws {@link HandshakeError} when it does not authenticate. */
  readMessage(message: Uint8Array): ReadResult {
    if (this.writing || this.step >= 3) throw new HandshakeError("protocol", `handshake message ${this.step + 1} is not theirs to write`);
    if (message.length > MAX_MESSAGE) throw new HandshakeError("protocol", `a handshake message has at most ${MAX_MESSAGE} bytes, not ${message.length}`);
    if (this.step === 2) return this.readLast(message);
    const before = this.ss.clone();
    try {
      const result = this.readFirstTwo(message);
      this.step++;
      return result;
    } catch (error) {
      this.ss = before;
      throw asHandshakeError(error);
    }
  }

  /** The transport keys, once {@link complete}: the initiator sends with the first, as Noise's Split orders them. */
  split(): TransportKeys {
    if (!this.complete) throw new HandshakeError("protocol", "the handshake is not finished");
    const [c1, c2] = this.ss.split();
    const initiator = this.options.initiator;
    return { send: initiator ? c1 : c2, receive: initiator ? c2 : c1, handshakeHash: this.ss.h, remoteStatic: this.rs!, pskIndex: this.pskIndex };
  }

  /** The other side's static public key, once a message carrying it was read. */
  readRemoteStatic(): Uint8Array {
    if (this.rs === null) throw new HandshakeError("protocol", "the peer's static key is not known yet");
    return this.rs;
  }

  /** The handshake hash so far (the final one once complete). */
  get handshakeHash(): Uint8Array {
    return this.ss.h;
  }

  private writeE(): Uint8Array {
    const pub = this.e.publicKey;
    this.ss.mixHash(pub);
    this.ss.mixKey(pub); // the psk modifier: `e` also mixes the key (Noise 9.2)
    return pub;
  }

  private readE(message: Uint8Array, at: number): number {
    if (message.length < at + KEY_LEN) throw new HandshakeError("protocol", "handshake message too short for an ephemeral key");
    this.re = message.slice(at, at + KEY_LEN);
    this.ss.mixHash(this.re);
    this.ss.mixKey(this.re);
    return at + KEY_LEN;
  }

  /** Message 1 (the responder reads `e`) or message 2 (the initiator reads `e, ee, s, es`). */
  private readFirstTwo(message: Uint8Array): ReadResult {
    const ss = this.ss;
    let at = this.readE(message, 0);
    if (this.step === 1) {
      ss.mixKey(dh(this.e.privateKey, this.re!)); // ee
      const sLen = KEY_LEN + TAG_LEN;
      if (message.length < at + sLen) throw new HandshakeError("protocol", "handshake message 2 too short for a static key");
      this.rs = ss.decryptAndHash(message.subarray(at, at + sLen));
      at += sLen;
      ss.mixKey(dh(this.e.privateKey, this.rs)); // es (initiator side: e with the responder's s)
    }
    const hashBeforePayload = ss.h;
    return { payload: ss.decryptAndHash(message.subarray(at)), hashBeforePayload };
  }

  /**
   * Message 3 (`s, se, psk`), read by the responder: each accepted psk is tried in turn on a copy
   * of the state, the first that authenticates the payload wins (a keyring during rotation).
   */
  private readLast(message: Uint8Array): ReadResult {
    const sLen = KEY_LEN + TAG_LEN;
    if (message.length < sLen + TAG_LEN) throw new HandshakeError("protocol", "handshake message 3 too short");
    let last: unknown = null;
    for (let i = 0; i < this.options.psks.length; i++) {
      const ss = this.ss.clone();
      try {
        const rs = ss.decryptAndHash(message.subarray(0, sLen));
        ss.mixKey(dh(this.e.privateKey, rs)); // se (responder side: e with the initiator's s)
        ss.mixKeyAndHash(this.options.psks[i]!);
        const hashBeforePayload = ss.h;
        const payload = ss.decryptAndHash(message.subarray(sLen));
        this.ss = ss;
        this.rs = rs;
        this.pskIndex = i;
        this.step++;
        return { payload, hashBeforePayload };
      } catch (error) {
        last = error;
      }
    }
    throw asHandshakeError(last);
  }
}

function asHandshakeError(error: unknown): HandshakeError {
  if (error instanceof HandshakeError) return error;
  if (error instanceof SecureChannelError) {
    return new HandshakeError("bad_key", "a handshake message did not authenticate: the peer holds none of our swarm keys, or names another swarm", { cause: error });
  }
  return new HandshakeError("protocol", `bad handshake message: ${errorMessage(error)}`, { cause: error });
}
