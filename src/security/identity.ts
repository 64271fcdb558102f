/**
 * A node's identity: an Ed25519 key pair whose public key, in hex (64 characters, the node-id
 * format Python peers expect), is the node's id, so that the id itself verifies the node. Kept in
 * a file the user names (created on first start, owner-only), or in memory for one run.
 *
 * The Noise handshake of a closed swarm needs an X25519 static key, and `node:crypto` has no
 * Ed25519 → X25519 conversion; so the identity holds a separate X25519 key pair and *binds* it:
 * each side's handshake payload carries its Ed25519 public key and an Ed25519 signature over
 * {@link BINDING_LABEL}, its X25519 static public key and the handshake hash at that point (which
 * covers the protocol name, the swarm name in the prologue and both ephemeral keys). A peer that
 * verifies it knows the X25519 key it just completed the DH with belongs to that Ed25519 identity,
 * for this session only: the signature cannot be replayed into another handshake.
 *
 * The file is JSON: `{"version": 1, "ed25519": "<base64 private key>", "x25519": "<base64 private key>"}`
 * (32 raw bytes each).
 *
 * @module
 */
import { chmodSync, closeSync, linkSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from "node:crypto";
import { ConfigError } from "../errors.ts";
import { dhKeyPairFromPrivate, generateDhKeyPair, rawDhPrivateKey, type DhKeyPair } from "./noise-crypto.ts";

/** What the handshake signature starts with, so that it can mean nothing else. */
export const BINDING_LABEL = "synapse-p2p noise identity binding v1";
/** Length of an Ed25519 public key, and of the raw private key. */
const ED_LEN = 32;
/** Length of an Ed25519 signature. */
const SIG_LEN = 64;
/** DER of a PKCS#8 Ed25519 private key, before its 32 raw bytes (RFC 8410). */
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
/** DER of an SPKI Ed25519 public key, before its 32 raw bytes (RFC 8410). */
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/** A node's keys: the Ed25519 identity (its id) and the X25519 static key of its handshakes. */
export class NodeIdentity {
  /** The Ed25519 public key, 32 bytes. */
  readonly publicKey: Uint8Array;
  /** The node id: the public key in lowercase hex (64 characters). */
  readonly id: string;

  private constructor(
    private readonly signingKey: KeyObject,
    /** The X25519 key pair used as the Noise static key, bound to the identity by signature. */
    readonly staticKey: DhKeyPair,
  ) {
    const der = createPublicKey(signingKey).export({ format: "der", type: "spki" });
    this.publicKey = new Uint8Array(der.subarray(der.length - ED_LEN));
    this.id = Buffer.from(this.publicKey).toString("hex");
  }

  /** A fresh identity, in memory only. */
  static generate(): NodeIdentity {
    return new NodeIdentity(generateKeyPairSync("ed25519").privateKey, generateDhKeyPair());
  }

  /**
   * The identity kept in `path`: read it, or create it (mode 0600) when the file does not exist.
   * Refuses, with a {@link ConfigError}, a file that others than its owner may read, or one that
   * is not an identity file.
   */
  static load(path: string): NodeIdentity {
    let text: string;
    try {
      checkOwnerOnly(path, "identity");
      text = readFileSync(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return NodeIdentity.create(path);
      throw error;
    }
    return NodeIdentity.parse(text, path);
  }

  /** Sign `data` with the Ed25519 key. */
  sign(data: Uint8Array): Uint8Array {
    return new Uint8Array(sign(null, data, this.signingKey));
  }

  /** The handshake payload that binds {@link staticKey} to this identity for the session whose hash is `handshakeHash`. */
  bindingPayload(handshakeHash: Uint8Array): Uint8Array {
    const payload = new Uint8Array(1 + ED_LEN + SIG_LEN);
    payload[0] = 1; // format version
    payload.set(this.publicKey, 1);
    payload.set(this.sign(bindingMessage(this.staticKey.publicKey, handshakeHash)), 1 + ED_LEN);
    return payload;
  }

  private static create(path: string): NodeIdentity {
    const identity = NodeIdentity.generate();
    const der = identity.signingKey.export({ format: "der", type: "pkcs8" });
    const text = JSON.stringify({
      version: 1,
      ed25519: Buffer.from(der.subarray(der.length - ED_LEN)).toString("base64"),
      x25519: Buffer.from(rawDhPrivateKey(identity.staticKey.privateKey)).toString("base64"),
    });
    // Written whole to a private temporary file, then linked into place: the link fails if the
    // file exists (never overwrite), and nobody ever reads a half-written identity (two nodes
    // starting at once on one file: the second reads the first's).
    const temp = `${path}.${process.pid}.${Date.now()}.tmp`;
    try {
      const fd = openSync(temp, "wx", 0o600);
      try {
        chmodSync(temp, 0o600); // the umask may have narrowed it further; never wider
        writeSync(fd, text + "\n");
      } finally {
        closeSync(fd);
      }
      linkSync(temp, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") return NodeIdentity.load(path);
      throw new ConfigError(`cannot create the identity file ${path}: ${(error as Error).message}`, { cause: error });
    } finally {
      rmSync(temp, { force: true });
    }
    return identity;
  }

  private static parse(text: string, path: string): NodeIdentity {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new ConfigError(`${path} is not an identity file (not JSON)`, { cause: error });
    }
    const record = data as { version?: unknown; ed25519?: unknown; x25519?: unknown };
    const ed = typeof record.ed25519 === "string" ? Buffer.from(record.ed25519, "base64") : null;
    const x = typeof record.x25519 === "string" ? Buffer.from(record.x25519, "base64") : null;
    if (record.version !== 1 || !ed || ed.length !== ED_LEN || !x || x.length !== ED_LEN) {
      throw new ConfigError(`${path} is not an identity file (version 1 with 32-byte ed25519 and x25519 keys)`);
    }
    const signingKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, ed]), format: "der", type: "pkcs8" });
    return new NodeIdentity(signingKey, dhKeyPairFromPrivate(x));
  }
}

/** What a binding signature covers. */
function bindingMessage(staticPublic: Uint8Array, handshakeHash: Uint8Array): Uint8Array {
  const label = new TextEncoder().encode(BINDING_LABEL);
  const out = new Uint8Array(label.length + staticPublic.length + handshakeHash.length);
  out.set(label, 0);
  out.set(staticPublic, label.length);
  out.set(handshakeHash, label.length + staticPublic.length);
  return out;
}

/**
 * Check a peer's binding payload: that it is well formed and that its Ed25519 key signed the
 * X25519 static key the handshake authenticated, in this session. Returns the peer's node id
 * (hex public key), or `null` when the proof does not hold.
 */
export function verifyBinding(payload: Uint8Array, remoteStatic: Uint8Array, handshakeHash: Uint8Array): string | null {
  if (payload.length !== 1 + ED_LEN + SIG_LEN || payload[0] !== 1) return null;
  const publicKey = payload.subarray(1, 1 + ED_LEN);
  const signature = payload.subarray(1 + ED_LEN);
  try {
    const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, publicKey]), format: "der", type: "spki" });
    if (!verify(null, bindingMessage(remoteStatic, handshakeHash), key, signature)) return null;
  } catch {
    return null; // not a valid Ed25519 point
  }
  return Buffer.from(publicKey).toString("hex");
}

/**
 * Refuse a secret file that its group or others may read or write (as ssh does with its keys).
 * Throws the `stat` error as it is (ENOENT included) so that the caller decides.
 */
export function checkOwnerOnly(path: string, what: string): void {
  const mode = statSync(path).mode;
  if ((mode & 0o077) !== 0) {
    throw new ConfigError(
      `the ${what} file ${path} is readable or writable by others (mode ${(mode & 0o777).toString(8)}); make it owner-only: chmod 600 ${path}`,
    );
  }
}
