/**
 * The vector of record MACs (record-macs.ts, docs/security.md#record-macs) as bytes: one byte
 * {@link VECTOR_VERSION}, then entries of {@link ENTRY_BYTES}, each a recipient's hint (the first 4
 * bytes of its id) and its tag. Reading a vector off the network, finding a recipient's entry, and
 * cutting a vector to some recipients (the reply tree sends each group only its members' entries).
 *
 * @module
 */

/** First byte of a vector. */
export const VECTOR_VERSION = 1;
/** Bytes of one vector entry: a 4-byte hint and a 16-byte tag. */
export const ENTRY_BYTES = 20;
/** Bytes of an entry's hint, and of its tag (HMAC-SHA256-128). */
export const HINT_BYTES = 4;
export const TAG_BYTES = 16;
/** Most entries a vector read off the network may hold (a longer one is ignored whole). */
export const MAX_VECTOR_ENTRIES = 1024;

/** Entries of a well-formed vector (0 for anything else: not bytes, a wrong version or length, too many). */
export function readVector(vector: unknown): number {
  if (!(vector instanceof Uint8Array) || vector.length < 1 + ENTRY_BYTES || vector[0] !== VECTOR_VERSION) return 0;
  const entries = (vector.length - 1) / ENTRY_BYTES;
  return Number.isInteger(entries) && entries <= MAX_VECTOR_ENTRIES ? entries : 0;
}

/** The hint of the entry of `v` at `at`, as one big-endian word (no view per entry). */
export function hintAt(v: Uint8Array, at: number): number {
  return ((v[at]! << 24) | (v[at + 1]! << 16) | (v[at + 2]! << 8) | v[at + 3]!) >>> 0;
}

/** The hint of `id`'s entries in a vector: the first 4 bytes of the id (64 hex digits), as one word. */
export function hintOf(id: string): number {
  return Number.parseInt(id.slice(0, HINT_BYTES * 2), 16);
}

/**
 * Where each recipient's entry of `vector` (well-formed: {@link readVector}) starts, by its hint;
 * null when two entries share a hint (hints may collide: such a vector is not cut, {@link vectorOf}).
 */
export function entriesByHint(vector: Uint8Array): Map<number, number> | null {
  const entries = (vector.length - 1) / ENTRY_BYTES;
  const where = new Map<number, number>();
  for (let i = 0, at = 1; i < entries; i++, at += ENTRY_BYTES) where.set(hintAt(vector, at), at);
  return where.size === entries ? where : null;
}

/**
 * The entries of `vector` that start at `offsets` ({@link entriesByHint}), as a vector of their own
 * in a new array that starts with `room` bytes left for the caller: what a relay sends on to those
 * recipients only (the entries of others would be read by nobody on that path). At least one
 * offset: a vector of no entry is not well-formed ({@link readVector}), so a record none of whose
 * entries is kept travels without a vector (reply-tree.ts).
 */
export function vectorOf(vector: Uint8Array, offsets: readonly number[], room = 0): Uint8Array {
  const out = new Uint8Array(room + 1 + offsets.length * ENTRY_BYTES);
  out[room] = VECTOR_VERSION;
  let to = room + 1;
  for (const at of offsets) {
    for (let i = 0; i < ENTRY_BYTES; i++) out[to + i] = vector[at + i]!;
    to += ENTRY_BYTES;
  }
  return out;
}

/**
 * A vector off the network as a record keeps and relays it: itself when well-formed, else null (the
 * codec copies a binary value out of its frame, or views a read at most twice its size; a batch's
 * reply read straight from its bytes keeps a view of the item's own bytes, which its entry keeps
 * anyway: either way no large read is kept alive for it).
 */
export function keptVector(vector: unknown): Uint8Array | null {
  return readVector(vector) > 0 ? (vector as Uint8Array) : null;
}
