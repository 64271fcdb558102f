/**
 * The primitives of `Noise_*_25519_AESGCM_SHA256`, from Bun's `node:crypto` only: X25519 key
 * pairs and Diffie-Hellman, AES-256-GCM with Noise's nonce layout, SHA-256, HMAC-SHA256 and
 * Noise's HKDF (Noise spec revision 34, sections 4 and 12). `node:crypto` takes X25519 keys as
 * KeyObjects, not as raw bytes, so raw keys go in and out through their fixed DER wrappings
 * (PKCS#8 for private keys, SPKI for public ones: a constant prefix before the 32 key bytes).
 *
 * @module
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, createPrivateKey, createPublicKey, createSecretKey, diffieHellman, generateKeyPairSync, type KeyObject } from "node:crypto";
import { plainBytes } from "../util/bytes.ts";

/** Length of an X25519 key, a SHA-256 hash and an AES-256 key, in bytes. */
export const KEY_LEN = 32;
/** Length of an AES-GCM tag. */
export const TAG_LEN = 16;

/** DER of a PKCS#8 X25519 private key, before its 32 raw bytes (RFC 8410). */
const X25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");
/** DER of an SPKI X25519 public key, before its 32 raw bytes (RFC 8410). */
const X25519_SPKI_PREFIX = Buffer.from("302a300506032b656e032100", "hex");

/** An X25519 key pair: the private key as a KeyObject, the public key as raw bytes. */
export interface DhKeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: Uint8Array;
}

/** A fresh random X25519 key pair. */
export function generateDhKeyPair(): DhKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("x25519");
  return { privateKey, publicKey: rawPublicKey(publicKey) };
}

/** The X25519 key pair of 32 raw private bytes (test vectors inject their keys this way). */
export function dhKeyPairFromPrivate(raw: Uint8Array): DhKeyPair {
  if (raw.length !== KEY_LEN) throw new RangeError(`an X25519 private key has ${KEY_LEN} bytes, not ${raw.length}`);
  const privateKey = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, raw]), format: "der", type: "pkcs8" });
  return { privateKey, publicKey: rawPublicKey(createPublicKey(privateKey)) };
}

/** The 32 raw bytes of an X25519 private key (to keep it in a file). */
export function rawDhPrivateKey(key: KeyObject): Uint8Array {
  const der = key.export({ format: "der", type: "pkcs8" });
  return new Uint8Array(der.subarray(der.length - KEY_LEN));
}

function rawPublicKey(key: KeyObject): Uint8Array {
  const der = key.export({ format: "der", type: "spki" });
  return new Uint8Array(der.subarray(der.length - KEY_LEN));
}

/**
 * X25519(private, public). Throws on a public key of the wrong length or one that gives the
 * all-zero shared secret (a low-order point): OpenSSL refuses those, which is what Noise allows.
 */
export function dh(privateKey: KeyObject, publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== KEY_LEN) throw new RangeError(`an X25519 public key has ${KEY_LEN} bytes, not ${publicKey.length}`);
  const pub = createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, publicKey]), format: "der", type: "spki" });
  return new Uint8Array(diffieHellman({ privateKey, publicKey: pub }));
}

/** SHA-256 of the concatenation of `parts`. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

function hmac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const mac = createHmac("sha256", key);
  for (const part of parts) mac.update(part);
  return new Uint8Array(mac.digest());
}

/** Noise's HKDF (section 4.3): two or three 32-byte outputs from a chaining key and input key material. */
export function hkdf(chainingKey: Uint8Array, ikm: Uint8Array, outputs: 2 | 3): Uint8Array[] {
  const tempKey = hmac(chainingKey, ikm);
  const out1 = hmac(tempKey, Uint8Array.of(1));
  const out2 = hmac(tempKey, out1, Uint8Array.of(2));
  if (outputs === 2) return [out1, out2];
  return [out1, out2, hmac(tempKey, out2, Uint8Array.of(3))];
}

/**
 * An AES-256 key prepared once for {@link aeadSeal} and {@link aeadOpen}: a KeyObject spares
 * `createCipheriv` importing the raw bytes on every message of a transport.
 */
export function aeadKey(key: Uint8Array): KeyObject {
  return createSecretKey(key);
}

/**
 * AES-256-GCM encryption of `plaintext` under `nonce` (12 bytes, Noise's layout), written after
 * `headroom` free bytes: `[headroom][ciphertext][tag]`. The record layer asks for 2 bytes of
 * headroom to put the record's length in without copying the ciphertext again.
 */
export function aeadSeal(key: KeyObject, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array, headroom: number): Uint8Array {
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  if (ad.length > 0) cipher.setAAD(ad);
  const head = cipher.update(plaintext);
  cipher.final(); // GCM is a stream mode: final() adds nothing, it computes the tag
  const out = new Uint8Array(headroom + head.length + TAG_LEN);
  out.set(head, headroom);
  out.set(cipher.getAuthTag(), headroom + head.length);
  return out;
}

/** AES-256-GCM decryption of `ciphertext` (tag last) under `nonce`; `null` when it does not authenticate. */
export function aeadOpen(key: KeyObject, nonce: Uint8Array, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array | null {
  if (ciphertext.length < TAG_LEN) return null;
  const decipher = createDecipheriv("aes-256-gcm", key, nonce);
  if (ad.length > 0) decipher.setAAD(ad);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_LEN));
  const head = decipher.update(ciphertext.subarray(0, ciphertext.length - TAG_LEN));
  try {
    decipher.final();
  } catch {
    return null;
  }
  return plainBytes(head);
}
