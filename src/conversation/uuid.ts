/**
 * UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits, so ids sort by creation time.
 * Broadcast nonces and conversation event ids are made here.
 *
 * @module
 */
import { randomFillSync } from "node:crypto";

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const bytes = new Uint8Array(16);
let lastMs = 0;
let counter = 0;

/**
 * A new UUIDv7 string (`xxxxxxxx-xxxx-7xxx-yxxx-xxxxxxxxxxxx`). Within one millisecond the 12-bit
 * `rand_a` field counts up from a random start (RFC 9562, method 1), so ids made by one process
 * are strictly increasing; when the counter runs out the timestamp is advanced by one.
 *
 * @param nowMs milliseconds since the epoch (default `Date.now()`).
 */
export function uuidv7(nowMs: number = Date.now()): string {
  randomFillSync(bytes);
  let ms = Math.max(Math.floor(nowMs), lastMs);
  if (ms === lastMs) {
    counter++;
    if (counter > 0xfff) {
      ms++;
      counter = bytes[6]! & 0x07; // fresh low start leaves room to count
    }
  } else {
    counter = ((bytes[6]! & 0x07) << 8) | bytes[7]!; // random start in the lower half
  }
  lastMs = ms;
  // 48-bit big-endian timestamp (split: JS bit operators are 32-bit).
  const high = Math.floor(ms / 0x1000000);
  const low = ms % 0x1000000;
  bytes[0] = (high >>> 16) & 0xff;
  bytes[1] = (high >>> 8) & 0xff;
  bytes[2] = high & 0xff;
  bytes[3] = (low >>> 16) & 0xff;
  bytes[4] = (low >>> 8) & 0xff;
  bytes[5] = low & 0xff;
  bytes[6] = 0x70 | ((counter >>> 8) & 0x0f);
  bytes[7] = counter & 0xff;
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  let out = "";
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) out += "-";
    out += HEX[bytes[i]!];
  }
  return out;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** True for a lowercase UUIDv7 string. */
export function isUuidv7(value: unknown): value is string {
  return typeof value === "string" && UUID_RE.test(value);
}

/** The Unix milliseconds a UUIDv7 carries. */
export function uuidv7TimeMs(id: string): number {
  const hex = id.replace(/-/g, "").slice(0, 12);
  return Number.parseInt(hex, 16);
}
