/**
 * `wire/msgpack-skip.ts` and `fastDecodeNext` (wire/fast-codec.ts): values written back to back are
 * stepped over and decoded one by one, each ending where its bytes end; a truncated value, the
 * never-used byte, or a count beyond the input is found malformed (never read past the end).
 */
import { describe, expect, test } from "bun:test";
import { Packr } from "msgpackr";
import { encode } from "../../src/wire/codec.ts";
import { NOT_FAST, decodedEnd, fastDecodeNext } from "../../src/wire/fast-codec.ts";
import { skipValue } from "../../src/wire/msgpack-skip.ts";
import { concatBytes } from "../../src/util/bytes.ts";

/** Values of every format family: fixints and wide ints, floats, strings and bins of each header size, nested containers. */
const VALUES: unknown[] = [
  0,
  127,
  -1,
  -32,
  -33,
  200,
  -200,
  70_000,
  -70_000,
  2 ** 40,
  -(2 ** 40),
  1.5,
  null,
  true,
  false,
  "",
  "short",
  "x".repeat(40),
  "y".repeat(300),
  "z".repeat(70_000),
  "é ünïcödé ☃",
  new Uint8Array(3),
  new Uint8Array(300),
  new Uint8Array(70_000),
  [],
  [1, [2, [3, [4]]]],
  new Array(20).fill("a"),
  new Array(70_000).fill(0),
  {},
  { a: 1, b: { c: [1, 2, { d: "e" }] } },
  Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i])),
];

describe("msgpack skip", () => {
  test("every value's end is found, alone and among others written back to back", () => {
    const parts = VALUES.map((v) => new Uint8Array(encode(v)));
    for (const bytes of parts) expect(skipValue(bytes, 0, bytes.length)).toBe(bytes.length);
    const joined = concatBytes(parts);
    let at = 0;
    for (const p of parts) {
      const end = skipValue(joined, at, joined.length);
      expect(end).toBe(at + p.length);
      at = end;
    }
    expect(at).toBe(joined.length);
  });

  test("extension values (which the fast decoder leaves to the general one) are stepped over too", () => {
    // (Not msgpackr's `moreTypes` Set: an extension header followed by the array as a value of its
    // own, which no standard reader takes as one value; this package never writes it.)
    const packr = new Packr({ useRecords: false });
    for (const v of [new Map([[1, "a"]]), 1n << 40n, new Date(1_700_000_000_123)]) {
      const bytes = new Uint8Array(packr.pack(v));
      expect(skipValue(bytes, 0, bytes.length)).toBe(bytes.length);
    }
    // fixext 1, 2, 4, 8, 16 and ext 8, by hand.
    for (const bytes of [[0xd4, 1, 0], [0xd5, 1, 0, 0], [0xd6, 1, 0, 0, 0, 0], [0xd7, 1, 0, 0, 0, 0, 0, 0, 0, 0], [0xd8, 1, ...new Array(16).fill(0)], [0xc7, 2, 5, 9, 9]]) {
      expect(skipValue(Uint8Array.from(bytes), 0, bytes.length)).toBe(bytes.length);
    }
  });

  test("a truncated value, the never-used byte or counts beyond the input are malformed: -1", () => {
    for (const v of VALUES) {
      const bytes = new Uint8Array(encode(v));
      for (const cut of [0, 1, bytes.length >> 1, bytes.length - 1]) {
        if (cut < bytes.length) expect(skipValue(bytes, 0, cut)).toBe(-1);
      }
    }
    expect(skipValue(Uint8Array.of(0xc1), 0, 1)).toBe(-1);
    expect(skipValue(Uint8Array.of(0x91, 0xc1), 0, 2)).toBe(-1);
    // An array header claiming 2^32-1 members in 5 bytes, a map of 65,535 pairs in 3.
    expect(skipValue(Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff), 0, 5)).toBe(-1);
    expect(skipValue(Uint8Array.of(0xde, 0xff, 0xff), 0, 3)).toBe(-1);
    // A string of 2^32-1 bytes.
    expect(skipValue(Uint8Array.of(0xdb, 0xff, 0xff, 0xff, 0xff, 0x41), 0, 6)).toBe(-1);
  });

  test("fastDecodeNext decodes values one by one and says where each ends; a truncated one is NOT_FAST", () => {
    const values = [{ a: 1 }, "two", [3, 4], new Uint8Array([5]), null, 2 ** 40];
    const parts = values.map((v) => new Uint8Array(encode(v)));
    const joined = concatBytes(parts);
    let at = 0;
    for (let i = 0; i < values.length; i++) {
      expect(fastDecodeNext(joined, at, joined.length)).toEqual(values[i]);
      expect(decodedEnd()).toBe(at + parts[i]!.length);
      at = decodedEnd();
    }
    expect(fastDecodeNext(joined, 0, parts[0]!.length - 1)).toBe(NOT_FAST);
  });
});
