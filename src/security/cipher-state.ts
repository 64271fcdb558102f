/**
 * Noise's CipherState (revision 34, section 5.1) with AESGCM: one direction of a transport, or the
 * handshake's current key. The record layer's hot path: the key is imported once as a KeyObject,
 * and the 64-bit counter is two 32-bit words written into one reused nonce buffer, so that no
 * BigInt is allocated per message.
 *
 * @module
 */
import { SecureChannelError } from "../errors.ts";
import { aeadKey, aeadOpen, aeadSeal, TAG_LEN } from "./noise-crypto.ts";
import type { KeyObject } from "node:crypto";

/** Largest Noise message, handshake or transport (section 3). */
export const MAX_MESSAGE = 65535;
/** Largest plaintext one transport message carries. */
export const MAX_PLAINTEXT = MAX_MESSAGE - TAG_LEN;
const EMPTY = new Uint8Array(0);
/** The low and high 32 bits of 2^64 - 1: the nonce Noise reserves (section 5.1). */
const WORD_MAX = 0xffffffff;

/**
 * A key and its nonce counter (Noise 5.1): one direction of a transport, or the handshake's current key.
 *
 * The hot path of every record: the key is imported once as a KeyObject, and the 64-bit counter is
 * two 32-bit words written into one reused nonce buffer, so that no BigInt is allocated per message.
 */
export class CipherState {
  private k: Uint8Array | null;
  private key: KeyObject | null;
  /** The counter's high and low 32 bits. */
  private hi = 0;
  private lo = 0;
  /** Noise's AESGCM nonce for the counter: 4 zero bytes, then hi and lo big-endian (section 12.4). */
  private readonly nonceBytes = Buffer.alloc(12);

  constructor(key: Uint8Array | null = null) {
    this.k = key;
    this.key = key === null ? null : aeadKey(key);
  }

  /** A key is set: messages are encrypted. */
  hasKey(): boolean {
    return this.k !== null;
  }

  /** Noise's SetNonce (for tests of nonce exhaustion, and resuming a copied state). */
  setNonce(n: bigint): void {
    this.hi = Number((n >> 32n) & 0xffffffffn);
    this.lo = Number(n & 0xffffffffn);
  }

  /** The next nonce. */
  get nonce(): bigint {
    return (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }

  /** Encrypt (or pass through while no key is set). Throws once the nonces are used up. */
  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (this.key === null) return plaintext;
    return aeadSeal(this.key, this.nextNonce(), ad, plaintext, 0);
  }

  /** Decrypt; throws when it does not authenticate, leaving the nonce where it was. */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    if (this.key === null) return ciphertext;
    const out = aeadOpen(this.key, this.currentNonce(), ad, ciphertext);
    if (out === null) throw new SecureChannelError("a message did not authenticate (tampered, replayed, reordered, or another key)");
    this.advance();
    return out;
  }

  /** Encrypt one transport message (empty associated data). */
  encrypt(plaintext: Uint8Array): Uint8Array {
    if (plaintext.length > MAX_PLAINTEXT) throw new SecureChannelError(`a Noise message carries at most ${MAX_PLAINTEXT} bytes, not ${plaintext.length}`);
    return this.encryptWithAd(EMPTY, plaintext);
  }

  /**
   * Encrypt one transport message (empty associated data) as a record: its 2-byte big-endian
   * length, then the message, in one buffer (no second copy to prepend the length).
   */
  encryptRecord(plaintext: Uint8Array): Uint8Array {
    if (plaintext.length > MAX_PLAINTEXT) throw new SecureChannelError(`a Noise message carries at most ${MAX_PLAINTEXT} bytes, not ${plaintext.length}`);
    if (this.key === null) throw new SecureChannelError("a record needs a key");
    const out = aeadSeal(this.key, this.nextNonce(), EMPTY, plaintext, 2);
    const length = out.length - 2;
    out[0] = length >> 8;
    out[1] = length & 0xff;
    return out;
  }

  /** Decrypt one transport message (empty associated data). */
  decrypt(ciphertext: Uint8Array): Uint8Array {
    if (ciphertext.length > MAX_MESSAGE) throw new SecureChannelError(`a Noise message has at most ${MAX_MESSAGE} bytes, not ${ciphertext.length}`);
    return this.decryptWithAd(EMPTY, ciphertext);
  }

  /** The nonce to use now, then the counter moves on. Throws once the nonces are used up. */
  private nextNonce(): Uint8Array {
    const nonce = this.currentNonce();
    this.advance();
    return nonce;
  }

  /** The current counter as Noise's nonce; throws at 2^64 - 1, the value Noise reserves. */
  private currentNonce(): Uint8Array {
    if (this.hi === WORD_MAX && this.lo === WORD_MAX) throw new SecureChannelError("nonces used up: this key must not be used again");
    this.nonceBytes.writeUInt32BE(this.hi, 4);
    this.nonceBytes.writeUInt32BE(this.lo, 8);
    return this.nonceBytes;
  }

  private advance(): void {
    if (this.lo === WORD_MAX) {
      this.lo = 0;
      this.hi++;
    } else {
      this.lo++;
    }
  }

  /** An independent copy (for trial decryption). */
  clone(): CipherState {
    const copy = new CipherState(this.k);
    copy.hi = this.hi;
    copy.lo = this.lo;
    return copy;
  }
}
