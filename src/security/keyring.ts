/**
 * Swarm keys: the 32-byte pre-shared secrets of a closed swarm, and the {@link SwarmKeyring} that
 * holds several of them for rotation, as Serf's keyring does: every key in the ring is accepted
 * from peers, the primary one is the key this node uses when it dials.
 *
 * Rotating a running swarm without downtime: install the new key on every node
 * ({@link SwarmKeyring.install}), then make it the primary on every node ({@link SwarmKeyring.use}),
 * then remove the old one ({@link SwarmKeyring.remove}). Connections already open keep their
 * session keys; only new handshakes look at the ring.
 *
 * @module
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { ConfigError } from "../errors.ts";
import { checkOwnerOnly } from "./identity.ts";

/** Length of a swarm key. */
export const SWARM_KEY_LEN = 32;

/**
 * A swarm key as users give it: 32 raw bytes, their base64 (44 characters, as `sn keygen` prints),
 * or the path of a file holding that base64 (owner-only, like an identity file).
 */
export type SwarmKeyInput = Uint8Array | string;

/** A new random swarm key in base64, as `sn keygen` prints it. */
export function generateSwarmKey(): string {
  return randomBytes(SWARM_KEY_LEN).toString("base64");
}

const BASE64_KEY = /^[A-Za-z0-9+/]{43}=$/;

/** The 32 bytes of a swarm key given as bytes, base64 or a file path. Throws {@link ConfigError}. */
export function parseSwarmKey(input: SwarmKeyInput): Uint8Array {
  if (input instanceof Uint8Array) {
    if (input.length !== SWARM_KEY_LEN) throw new ConfigError(`a swarm key has ${SWARM_KEY_LEN} bytes, not ${input.length}`);
    return Uint8Array.from(input);
  }
  if (typeof input !== "string") throw new ConfigError("a swarm key is 32 bytes, their base64, or the path of a file holding it");
  const text = input.trim();
  if (BASE64_KEY.test(text)) return new Uint8Array(Buffer.from(text, "base64"));
  let content: string;
  try {
    checkOwnerOnly(input, "swarm key");
    content = readFileSync(input, "utf8").trim();
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`a swarm key is 32 bytes in base64 (44 characters) or the path of a file holding it; cannot read ${input}: ${(error as Error).message}`, { cause: error });
  }
  if (!BASE64_KEY.test(content)) throw new ConfigError(`the swarm key file ${input} does not hold a 32-byte key in base64 (make one with \`sn keygen\`)`);
  return new Uint8Array(Buffer.from(content, "base64"));
}

/**
 * The keys a closed-swarm node accepts, the first being its primary (the one it dials with).
 * Mutable while the node runs, for rotation; never empty.
 */
export class SwarmKeyring {
  private ring: Uint8Array[];

  /** `keys`: one key or several, the first the primary. */
  constructor(keys: SwarmKeyInput | readonly SwarmKeyInput[]) {
    const list = Array.isArray(keys) ? (keys as readonly SwarmKeyInput[]) : [keys as SwarmKeyInput];
    if (list.length === 0) throw new ConfigError("a swarm keyring needs at least one key");
    this.ring = [];
    for (const key of list) this.addUnique(parseSwarmKey(key));
  }

  /** The keys in order, the primary first (copies). */
  get keys(): Uint8Array[] {
    return this.ring.map((k) => Uint8Array.from(k));
  }

  /** The key this node dials with. */
  get primary(): Uint8Array {
    return this.ring[0]!;
  }

  /** Accept `key` from peers too (it becomes the primary only through {@link use}). */
  install(key: SwarmKeyInput): void {
    this.addUnique(parseSwarmKey(key));
  }

  /** Make `key` (installed or not) the primary: this node dials with it from now on. */
  use(key: SwarmKeyInput): void {
    const bytes = parseSwarmKey(key);
    this.ring = [bytes, ...this.ring.filter((k) => !sameKey(k, bytes))];
  }

  /** Stop accepting `key`. The primary cannot be removed: {@link use} another first. */
  remove(key: SwarmKeyInput): void {
    const bytes = parseSwarmKey(key);
    if (sameKey(this.ring[0]!, bytes)) throw new ConfigError("cannot remove the primary swarm key: use another one first");
    this.ring = this.ring.filter((k) => !sameKey(k, bytes));
  }

  /** The ring as the handshake reads it (no copies: called per connection). */
  current(): readonly Uint8Array[] {
    return this.ring;
  }

  private addUnique(key: Uint8Array): void {
    if (!this.ring.some((k) => sameKey(k, key))) this.ring.push(key);
  }
}

function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
