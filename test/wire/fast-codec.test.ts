/**
 * The hand-written hot-path coder (src/wire/fast-codec.ts) against the general codec (msgpackr with
 * the package's rules): same bytes out, same values in, and on anything it does not handle it must
 * decline rather than guess.
 */
import { describe, expect, test } from "bun:test";
import { decodeGeneral, encode, encodeOwn } from "../../src/wire/codec.ts";
import { seededRandom } from "../../src/util/random.ts";
import { NOT_FAST, NOT_PLAIN, NO_ROOM, everyKind, fastDecode, fastEncodeInto, fixstr } from "../../src/wire/fast-codec.ts";
import { skipValue } from "../../src/wire/msgpack-skip.ts";
import { BinParts, binaryOf } from "../../src/wire/bin-parts.ts";
import { COPY_BYTES_MAX, concatBytes } from "../../src/util/bytes.ts";

/** A small deterministic PRNG (mulberry32), so a failure can be replayed. */
const rng = seededRandom;

const INTS = [
  0, 1, 31, 32, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 63, 2 ** 64 - 2048, 2 ** 64,
  -1, -31, -32, -33, -127, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 53), -(2 ** 63), -(2 ** 63) - 4096,
];
const FLOATS = [0.5, -1.25, 1e300, -1e-300, Number.MIN_VALUE, Number.NaN, Infinity, -Infinity, -0, 1.7e308];
const TEXT = ["", "a", "sum", "request", "é", "€", "😀", "\ud800", "x\udc00", "\uFEFF", "日本語", "\u0000", "\u007f", "\u0080"];

function randomString(r: () => number): string {
  const lengths = [0, 1, 5, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 255, 256, 300];
  const len = lengths[Math.floor(r() * lengths.length)]!;
  let s = "";
  const mode = r();
  while (s.length < len) {
    if (mode < 0.6) s += String.fromCharCode(32 + Math.floor(r() * 95));
    else s += TEXT[Math.floor(r() * TEXT.length)]!;
  }
  return s;
}

function randomBinary(r: () => number): Uint8Array {
  const sizes = [0, 1, 10, 255, 256, 300, 65535, 65536];
  const n = sizes[Math.floor(r() * (r() < 0.9 ? 5 : sizes.length))]!;
  const b = r() < 0.5 ? new Uint8Array(n) : Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

function randomValue(r: () => number, depth = 0): unknown {
  const x = r();
  if (depth > 3 || x < 0.45) {
    const y = r();
    if (y < 0.05) return null;
    if (y < 0.08) return undefined;
    if (y < 0.12) return r() < 0.5;
    if (y < 0.35) return INTS[Math.floor(r() * INTS.length)]! + (r() < 0.3 ? Math.floor(r() * 3) - 1 : 0);
    if (y < 0.45) return FLOATS[Math.floor(r() * FLOATS.length)]! * (r() < 0.5 ? 1 : r());
    if (y < 0.9) return randomString(r);
    return randomBinary(r);
  }
  if (x < 0.7) {
    const n = r() < 0.9 ? Math.floor(r() * 6) : 14 + Math.floor(r() * 5);
    return Array.from({ length: n }, () => randomValue(r, depth + 1));
  }
  const n = r() < 0.9 ? Math.floor(r() * 6) : 14 + Math.floor(r() * 5);
  const o: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) o[r() < 0.7 ? `k${Math.floor(r() * 40)}` : randomString(r)] = randomValue(r, depth + 1);
  return o;
}

function fastEncode(value: unknown): Uint8Array | number {
  const target = new Uint8Array(1 << 20);
  const end = fastEncodeInto(value, target, 7, target.length);
  return end < 0 ? end : target.slice(7, end);
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

/** The general decoder's verdict: its value, or the error it throws. */
function general(bytes: Uint8Array, start = 0, end = bytes.length): { value?: unknown; error?: unknown } {
  try {
    return { value: decodeGeneral(bytes, start, end) };
  } catch (error) {
    return { error };
  }
}

describe("fast codec - encoding", () => {
  test("boundary values encode to the general codec's bytes", () => {
    const values: unknown[] = [null, undefined, true, false, ...INTS, ...FLOATS, ...TEXT, "x".repeat(31), "x".repeat(32), "é".repeat(16)];
    values.push("x".repeat(255), "x".repeat(256), "€".repeat(100), "y".repeat(70_000), new Uint8Array(300), Buffer.from("hi"));
    values.push([], {}, new Array(16).fill(0), Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i])));
    values.push({ endpoint: "sum", id: "abc", args: [1, 2], kwargs: {}, type: "request" }, [undefined], { u: undefined });
    for (const v of values) {
      const mine = fastEncode(v);
      expect(typeof mine).not.toBe("number");
      expect(hex(mine as Uint8Array)).toBe(hex(encode(v)));
    }
  });

  test("random plain values encode to the general codec's bytes (3,000 values)", () => {
    const r = rng(1);
    for (let i = 0; i < 3000; i++) {
      const v = randomValue(r);
      const mine = fastEncode(v);
      if (typeof mine === "number" || hex(mine) !== hex(encode(v))) {
        throw new Error(`value #${i} differs: ${Bun.inspect(v).slice(0, 200)}`);
      }
    }
  });

  test("values only the general codec writes are declined, never guessed", () => {
    class Point {
      x = 1;
    }
    let deep: unknown = 1;
    for (let i = 0; i < 80; i++) deep = [deep];
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const declined = [new Date(0), new Map([["a", 1]]), new Set([1]), 10n, new Point(), new Uint16Array(2), () => 1, Symbol("s"), deep, cyclic, Object.create(null), { at: new Date(0) }];
    for (const v of declined) expect(fastEncode(v)).toBe(NOT_PLAIN);
  });

  test("a value that does not fit is NO_ROOM and nothing past the limit is written", () => {
    const target = new Uint8Array(64).fill(0xee);
    expect(fastEncodeInto({ text: "x".repeat(100) }, target, 4, 40)).toBe(NO_ROOM);
    expect([...target.subarray(40)].every((b) => b === 0xee)).toBe(true);
    expect([...target.subarray(0, 4)].every((b) => b === 0xee)).toBe(true);
    // Room checks are conservative (a number reserves 9 bytes): NO_ROOM near the end, success with room.
    expect(fastEncodeInto([1, 2, 3], target, 60, 64)).toBe(NO_ROOM);
    expect(fastEncodeInto([1, 2, 3], target, 0, 64)).toBe(4);
    expect([...target.subarray(0, 4)]).toEqual([0x93, 1, 2, 3]);
  });
});

describe("binary values given as parts", () => {
  // Sizes around each bin header's bounds: bin 8, bin 16 and bin 32.
  const partsOf = (sizes: number[]) => sizes.map((n, k) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + k) & 0xff));
  const cases = [[], [0], [3, 0, 5], [255], [200, 56], [65_535], [40_000, 25_536], [70_000, 1]].map(partsOf);

  test("are written as the one bin of their bytes, by the fast encoder and by the general codec", () => {
    for (const parts of cases) {
      const length = parts.reduce((n, p) => n + p.length, 0);
      const given = new BinParts(parts);
      expect(given.length).toBe(length);
      const joined = concatBytes(parts);
      expect([...given.bytes()]).toEqual([...joined]);
      const want = [...encode({ items: joined, n: 1 })];
      // The fast encoder, straight into a target.
      const target = new Uint8Array(length + 64);
      const end = fastEncodeInto({ items: given, n: 1 }, target, 0, target.length);
      expect([...target.subarray(0, end)]).toEqual(want);
      // The general codec (a message the fast encoder declines: a Map beside it), and encodeOwn.
      expect([...encode({ items: given, n: 1 })]).toEqual(want);
      expect([...encode(new Map<string, unknown>([["items", given], ["n", 1]]))]).toEqual(want);
      expect([...encodeOwn({ items: given, n: 1 })]).toEqual(want);
      // Read back: an ordinary bin.
      expect(decodeGeneral(new Uint8Array(want))).toEqual({ items: new Uint8Array(joined), n: 1 });
    }
  });

  test("a value that does not fit is NO_ROOM, nothing written past the limit", () => {
    const parts = partsOf([30, 30]);
    const target = new Uint8Array(80).fill(0xee);
    expect(fastEncodeInto([new BinParts(parts)], target, 0, 40)).toBe(NO_ROOM);
    expect([...target.subarray(40)].every((b) => b === 0xee)).toBe(true);
  });

  test("binaryOf: the bytes of a Uint8Array or of parts, null for anything else", () => {
    const parts = partsOf([2, 3]);
    expect([...binaryOf(new BinParts(parts))!]).toEqual([...concatBytes(parts)]);
    const bytes = Uint8Array.of(1, 2);
    expect(binaryOf(bytes)).toBe(bytes);
    expect(binaryOf([1, 2])).toBeNull();
    expect(binaryOf("ab")).toBeNull();
  });
});

describe("encodeOwn - bytes kept past the call", () => {
  test("each result is an array of its own with the general codec's bytes: plain, larger than the scratch, and declined values", () => {
    const values = [{ id: "a", n: 1, list: [1, "x", null, true] }, { text: "y".repeat(100_000), n: -5 }, new Map([["k", 1]]), 10n];
    const got = values.map((v) => encodeOwn(v));
    values.forEach((v, i) => {
      expect([...got[i]!]).toEqual([...encode(v)]);
      // Not a view of a reused buffer: its own, exactly as long.
      expect(got[i]!.byteOffset).toBe(0);
      expect(got[i]!.buffer.byteLength).toBe(got[i]!.length);
    });
    // A later call does not touch earlier results.
    const first = [...got[0]!];
    encodeOwn({ other: "z".repeat(50) });
    expect([...got[0]!]).toEqual(first);
  });
});

describe("fast codec - decoding", () => {
  test("random values decode to the general decoder's result, also inside a larger buffer", () => {
    const r = rng(2);
    for (let i = 0; i < 3000; i++) {
      const bytes = encode(randomValue(r));
      // Socket reads are Buffers; other callers may pass a plain Uint8Array (another string path).
      const padded = i % 2 === 0 ? Buffer.alloc(bytes.length + 20, 0xc1) : new Uint8Array(bytes.length + 20).fill(0xc1);
      padded.set(bytes, 11);
      const mine = fastDecode(padded, 11, 11 + bytes.length);
      const ref = general(bytes);
      expect(ref.error).toBeUndefined();
      if (mine === NOT_FAST) continue; // declined: fine (e.g. a __proto__ key)
      expect(mine).toStrictEqual(ref.value);
    }
  });

  test("short strings sharing a cache slot stay distinct (keys and values, ASCII and not)", () => {
    // Keys over 10 bytes of the same length, first, middle and last byte share a slot of the
    // decoder's string cache; shorter strings are placed by every byte.
    const value = { abcde: "abcde", aXcYe: "aXcYe", "a\u00e9ce": "aZcZe", list: ["abcde", "aXcYe", "a\u00e9ce", "aXcYe"], abcdefghijkl: 1, abcdefgXijkl: 2 };
    for (let round = 0; round < 3; round++) {
      const bytes = Buffer.from(encode(value));
      expect(fastDecode(bytes, 0, bytes.length)).toStrictEqual(value);
    }
  });

  test("names that differ in a byte or two (node-0 to node-299) each decode as themselves, twice over", () => {
    const value = { names: Array.from({ length: 300 }, (_, i) => `node-${i}`) };
    for (let round = 0; round < 2; round++) {
      const bytes = encode(value);
      expect(fastDecode(bytes, 0, bytes.length)).toStrictEqual(value);
    }
  });

  test("binary values are copies of the input's type", () => {
    const bytes = encode({ b: Buffer.from([1, 2, 3]) });
    const fromBuffer = fastDecode(Buffer.from(bytes), 0, bytes.length) as { b: Uint8Array };
    const fromArray = fastDecode(new Uint8Array(bytes), 0, bytes.length) as { b: Uint8Array };
    expect(fromBuffer.b).toBeInstanceOf(Buffer);
    expect([...fromBuffer.b]).toEqual([1, 2, 3]);
    expect(fromBuffer.b.byteLength).toBe(3);
    expect(fromArray.b.constructor).toBe(Uint8Array);
    expect([...fromArray.b]).toEqual([1, 2, 3]);
  });

  test("owned input: a binary value of at least half of it is a view, a smaller one a copy; never from a Buffer or input not owned", () => {
    const big = new Uint8Array(600).map((_, i) => i & 0xff);
    const small = Uint8Array.of(1, 2, 3);
    const bytes = encode({ big, small });
    const input = new Uint8Array(bytes); // a plain socket read of this frame alone
    const owned = fastDecode(input, 0, input.length, true) as { big: Uint8Array; small: Uint8Array };
    expect(owned.big).toEqual(big);
    expect(owned.big.buffer).toBe(input.buffer); // a view: no copy of most of the read
    expect(owned.small).toEqual(small);
    expect(owned.small.buffer).not.toBe(input.buffer); // a copy: a small value never holds the read
    // Not owned (the decoder's reused buffer, a caller's scratch): copies, as before.
    const copied = fastDecode(input, 0, input.length) as { big: Uint8Array };
    expect(copied.big.buffer).not.toBe(input.buffer);
    // Less than half of the read (a read of several frames): a copy even when owned.
    const wide = new Uint8Array(bytes.length * 3);
    wide.set(bytes, 5);
    const inWide = fastDecode(wide, 5, 5 + bytes.length, true) as { big: Uint8Array };
    expect(inWide.big).toEqual(big);
    expect(inWide.big.buffer).not.toBe(wide.buffer);
    // A Buffer (a frame gathered across reads) is never viewed.
    const fromBuffer = fastDecode(Buffer.from(bytes), 0, bytes.length, true) as { big: Uint8Array };
    expect(fromBuffer.big).toBeInstanceOf(Buffer);
    expect(fromBuffer.big.byteLength).toBe(fromBuffer.big.buffer.byteLength);
    // The next decode without `owned` copies again (the flag is the call's alone).
    expect((fastDecode(input, 0, input.length) as { big: Uint8Array }).big.buffer).not.toBe(input.buffer);
  });

  test("a Buffer in the middle of a larger one is read in place, its binary values copied out as Buffers", () => {
    // The decoder reads a Buffer through a plain view of the same bytes (one kind of view for the
    // optimizing compiler): the view must start at the Buffer's own offset.
    const value = { id: "peer-0123456789abcdef", b: Buffer.from([9, 8, 7]), n: [1, -2, 3.5], s: "€uro" };
    const bytes = encode(value);
    const outer = Buffer.alloc(bytes.length + 40, 0xc1);
    outer.set(bytes, 17);
    const inner = outer.subarray(10, 17 + bytes.length + 5);
    const got = fastDecode(inner, 7, 7 + bytes.length) as typeof value;
    expect(got).toEqual(decodeGeneral(bytes) as typeof value);
    expect(got.b).toBeInstanceOf(Buffer);
    outer.fill(0);
    expect([...got.b]).toEqual([9, 8, 7]); // a copy, not a view of the input
    // The same Buffer read again (a connection reuses its gather buffer) shows its new bytes.
    const next = encode({ id: "another", n: 2 });
    inner.set(next, 7);
    expect(fastDecode(inner, 7, 7 + next.length)).toEqual({ id: "another", n: 2 });
    const other = Buffer.alloc(next.length + 3);
    other.set(next, 3);
    expect(fastDecode(other, 3, 3 + next.length)).toEqual({ id: "another", n: 2 });
    expect(fastDecode(inner, 7, 7 + next.length)).toEqual({ id: "another", n: 2 });
  });

  test("a small Buffer is read from a plain copy, never asked for its `.buffer`; a large one through a view of its memory", () => {
    // A `.buffer` asked of a small Buffer moves its bytes out of the engine's heap (util/bytes.ts):
    // a packed member update decoded out of a gathered frame paid it for every record merged.
    const getter = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), "buffer")!.get!;
    const spied = (b: Buffer) => {
      const seen = { asked: 0 };
      Object.defineProperty(b, "buffer", { get: () => (seen.asked++, getter.call(b)) });
      return seen;
    };
    const value = { id: "peer-0123456789abcdef", incarnation: 7, b: Buffer.from([9, 8, 7]), s: "€uro" };
    const small = Buffer.from(encode(value));
    const askedSmall = spied(small);
    const got = fastDecode(small, 0, small.length) as typeof value;
    expect(got).toEqual(decodeGeneral(encode(value)) as typeof value);
    expect(got.b).toBeInstanceOf(Buffer); // still the input's type, as the general decoder gives
    expect(askedSmall.asked).toBe(0);
    small.fill(0);
    expect([...got.b]).toEqual([9, 8, 7]);
    // Over the size a copy pays for (COPY_BYTES_MAX): viewed, once.
    const large = Buffer.from(encode({ ...value, pad: "x".repeat(COPY_BYTES_MAX) }));
    const askedLarge = spied(large);
    expect((fastDecode(large, 0, large.length) as typeof value).incarnation).toBe(7);
    expect(askedLarge.asked).toBe(1);
  });

  test("what the general decoder refuses or reads specially is declined", () => {
    const declined = [
      "c1", // never used
      "93c1c1c1", // nested never-used
      "d6ff00000000", // timestamp extension
      "d6690000000191d67000000001", // structured-clone references
      "81a95f5f70726f746f5f5f01", // {"__proto__": 1}
      "8101a0", // integer key
      "92", // truncated array
      "a5616263", // truncated string
      "0101", // trailing bytes
      "a2c328", // invalid UTF-8
      "dd7fffffff", // absurd array length
    ];
    for (const h of declined) expect(fastDecode(Buffer.from(h, "hex"), 0, h.length / 2)).toBe(NOT_FAST);
  });

  test("corrupted input: the fast decoder agrees with the general one or declines (10,000 mutations)", () => {
    const r = rng(3);
    let agreed = 0;
    for (let i = 0; i < 10_000; i++) {
      const bytes = Buffer.from(encode(randomValue(r)));
      const op = r();
      let mutated: Buffer;
      if (op < 0.4 && bytes.length > 0) {
        mutated = Buffer.from(bytes);
        mutated[Math.floor(r() * bytes.length)] = Math.floor(r() * 256);
      } else if (op < 0.7) {
        mutated = bytes.subarray(0, Math.floor(r() * bytes.length));
      } else {
        mutated = Buffer.concat([bytes, Buffer.from([Math.floor(r() * 256)])]);
      }
      const mine = fastDecode(mutated, 0, mutated.length);
      if (mine === NOT_FAST) continue;
      const ref = general(mutated);
      if (ref.error !== undefined) throw new Error(`fast decoder accepted what the general one refuses: ${mutated.toString("hex").slice(0, 200)}`);
      expect(mine).toStrictEqual(ref.value);
      agreed++;
    }
    expect(agreed).toBeGreaterThan(500);
  });

  test("fixstr writes a short string as the general encoder does, and refuses one over 31 bytes", () => {
    for (const text of ["", "reply", "\u00e9t\u00e9", "x".repeat(31)]) expect(fixstr(text)).toEqual(new Uint8Array(encode(text)));
    expect(() => fixstr("x".repeat(32))).toThrow(RangeError);
  });

  test("the sample the decoder reads when it loads has a value for every case of its type byte, read as the general decoder reads it", () => {
    const sample = everyKind();
    const read = fastDecode(sample, 0, sample.length);
    expect(read).not.toBe(NOT_FAST);
    expect(read).toStrictEqual(general(Buffer.from(sample)).value);
    // The first byte of each of its values, by case: fixint, negative fixint, fixmap, fixarray, fixstr, or the byte itself.
    const caseOf = (t: number) => (t < 0x80 ? 0 : t < 0x90 ? 0x80 : t < 0xa0 ? 0x90 : t < 0xc0 ? 0xa0 : t >= 0xe0 ? 0xe0 : t);
    const cases = new Set<number>();
    for (let at = 3; at < sample.length; at = skipValue(sample, at, sample.length)) cases.add(caseOf(sample[at]!));
    const expected = [0, 0x80, 0x90, 0xa0, 0xe0, 0xc0, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf];
    expect([...cases].sort((a, b) => a - b)).toEqual(expected.sort((a, b) => a - b));
  });
});
