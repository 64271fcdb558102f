/**
 * Finding where a MessagePack value ends without building it: for a sequence of values written
 * back to back (a batch's items as bytes, docs/protocol.md), to step over a value the fast decoder
 * declines before the general decoder reads it, and to look at a value's first bytes cheaply.
 *
 * @module
 */

/**
 * The offset after the MessagePack value that starts at `bytes[at]`, or -1 when it does not end
 * at or before `end` (truncated) or holds the never-used byte 0xc1. Walks headers only (string,
 * binary and extension payloads are stepped over); no recursion, so nesting depth costs no stack.
 */
export function skipValue(bytes: Uint8Array, at: number, end: number): number {
  // Values still to step over; every one takes at least a byte, so more than the bytes left is malformed.
  let pending = 1;
  while (pending > 0) {
    if (at >= end) return -1;
    pending--;
    const t = bytes[at++]!;
    let skip = 0;
    let members = 0;
    if (t < 0x80 || t >= 0xe0) continue; // fixints
    else if (t < 0x90) members = (t - 0x80) * 2;
    else if (t < 0xa0) members = t - 0x90;
    else if (t < 0xc0) skip = t - 0xa0;
    else {
      switch (t) {
        case 0xc0:
        case 0xc2:
        case 0xc3:
          continue;
        case 0xc4: // bin 8
        case 0xd9: // str 8
          if (at + 1 > end) return -1;
          skip = bytes[at]!;
          at += 1;
          break;
        case 0xc5:
        case 0xda:
          if (at + 2 > end) return -1;
          skip = (bytes[at]! << 8) | bytes[at + 1]!;
          at += 2;
          break;
        case 0xc6:
        case 0xdb:
          if (at + 4 > end) return -1;
          skip = u32(bytes, at);
          at += 4;
          break;
        case 0xc7: // ext 8: length, type, data
          if (at + 2 > end) return -1;
          skip = bytes[at]! + 1;
          at += 1;
          break;
        case 0xc8:
          if (at + 3 > end) return -1;
          skip = ((bytes[at]! << 8) | bytes[at + 1]!) + 1;
          at += 2;
          break;
        case 0xc9:
          if (at + 5 > end) return -1;
          skip = u32(bytes, at) + 1;
          at += 4;
          break;
        case 0xca:
          skip = 4;
          break;
        case 0xcb:
          skip = 8;
          break;
        case 0xcc:
        case 0xd0:
          skip = 1;
          break;
        case 0xcd:
        case 0xd1:
          skip = 2;
          break;
        case 0xce:
        case 0xd2:
          skip = 4;
          break;
        case 0xcf:
        case 0xd3:
          skip = 8;
          break;
        case 0xd4: // fixext 1, 2, 4, 8, 16 (type byte + data)
          skip = 2;
          break;
        case 0xd5:
          skip = 3;
          break;
        case 0xd6:
          skip = 5;
          break;
        case 0xd7:
          skip = 9;
          break;
        case 0xd8:
          skip = 17;
          break;
        case 0xdc:
        case 0xde:
          if (at + 2 > end) return -1;
          members = (bytes[at]! << 8) | bytes[at + 1]!;
          if (t === 0xde) members *= 2;
          at += 2;
          break;
        case 0xdd:
        case 0xdf:
          if (at + 4 > end) return -1;
          members = u32(bytes, at);
          if (t === 0xdf) members *= 2;
          at += 4;
          break;
        default:
          return -1; // 0xc1
      }
    }
    if (skip > 0) {
      if (skip > end - at) return -1;
      at += skip;
    }
    if (members > 0) {
      pending += members;
      if (pending > end - at) return -1;
    }
  }
  return at;
}

function u32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) >>> 0) + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!);
}
