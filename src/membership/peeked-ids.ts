/**
 * The ids of packed SWIM updates read lately (`swim-wire.ts`), kept by a hash of a few of their
 * bytes, so that the same bytes give the same id string.
 *
 * @module
 */
import { fastDecode } from "../wire/fast-codec.ts";

/**
 * Ids peeked lately, by a hash of a few of their bytes: the same id string for the same bytes.
 * Every copy of an update a node receives names its member, and most are old news: a fresh
 * string per copy (64 characters for a node's id) cost its allocation, and the member list's
 * lookup hashed it anew each time (JavaScriptCore keeps a string's hash with the string).
 */
const PEEKED_IDS: Array<string | undefined> = new Array(4096);

/** The id string whose MessagePack string (header included) is `b[at, end)`; a peeked one when the bytes match. */
export function peekId(b: Uint8Array, at: number, end: number): unknown {
  const t = b[at]!;
  const start = at + (t >= 0xa0 && t < 0xc0 ? 1 : t === 0xd9 ? 2 : 3);
  const n = end - start;
  if (n === 0) return fastDecode(b, at, end);
  const h = ((n << 7) ^ (b[start]! << 4) ^ (b[end - 1]! << 1) ^ (b[start + (n >> 1)]! << 3) ^ b[start + (n >> 2)]! ^ (b[end - 2]! << 6)) & 0xfff;
  const hit = PEEKED_IDS[h];
  if (hit !== undefined && hit.length === n) {
    let i = 0;
    while (i < n && hit.charCodeAt(i) === b[start + i]) i++;
    if (i === n) return hit;
  }
  const id = fastDecode(b, at, end);
  // ASCII only (one byte, one UTF-16 unit: the check above compares them so).
  if (typeof id === "string" && id.length === n) PEEKED_IDS[h] = id;
  return id;
}
