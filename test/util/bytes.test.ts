/**
 * The byte helpers that read and write small typed arrays without asking for their `.buffer`
 * (`src/util/bytes.ts`): what they return, on plain arrays, Buffers and views into larger ones.
 */
import { expect, test } from "bun:test";
import { COPY_BYTES_MAX, base64Of, equalBytes, latin1Range, latin1String, plainBytes, readUint32, writeUint32 } from "../../src/util/bytes.ts";

test("latin1String gives one character per byte, on plain arrays, Buffers and views", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const s = latin1String(all);
  expect(s.length).toBe(256);
  for (let i = 0; i < 256; i++) expect(s.charCodeAt(i)).toBe(i);
  expect(latin1String(Buffer.from(all))).toBe(s);
  // A view in the middle of a larger array: only its own bytes.
  expect(latin1String(all.subarray(65, 68))).toBe("ABC");
  expect(latin1String(new Uint8Array(0))).toBe("");
  // Back to the same bytes.
  expect(new Uint8Array(Buffer.from(s, "latin1"))).toEqual(all);
});

test("latin1Range reads only its range, of a plain array and of a view into a larger one", () => {
  const bytes = Uint8Array.from([0x61, 0x62, 0x63, 0xe9, 0x64]);
  expect(latin1Range(bytes, 1, 4)).toBe("bc\u00e9");
  expect(latin1Range(bytes, 2, 2)).toBe("");
  const view = Uint8Array.from([0x7a, ...bytes]).subarray(1);
  expect(latin1Range(view, 0, 3)).toBe("abc");
  expect(latin1Range(Buffer.from(bytes), 3, 5)).toBe("\u00e9d");
});

test("readUint32 and writeUint32 are big-endian and agree with a DataView", () => {
  const bytes = new Uint8Array(12);
  for (const [at, value] of [[0, 0], [4, 0xdeadbeef], [8, 0xffffffff]] as const) {
    writeUint32(bytes, at, value);
    expect(readUint32(bytes, at)).toBe(value);
    expect(new DataView(bytes.buffer).getUint32(at)).toBe(value);
  }
  expect([...bytes.subarray(4, 8)]).toEqual([0xde, 0xad, 0xbe, 0xef]);
  // A view's offset is its own.
  const view = bytes.subarray(4);
  expect(readUint32(view, 0)).toBe(0xdeadbeef);
  // A negative salt as the filters pass it (`salt >>> 0`), and one past 32 bits, keep their low 32 bits.
  writeUint32(bytes, 0, -1 >>> 0);
  expect(readUint32(bytes, 0)).toBe(0xffffffff);
  writeUint32(bytes, 0, 2 ** 32 + 5);
  expect(readUint32(bytes, 0)).toBe(5);
});

test("equalBytes compares length and every byte", () => {
  expect(equalBytes(Uint8Array.of(1, 2, 3), Buffer.from([1, 2, 3]))).toBe(true);
  expect(equalBytes(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 4))).toBe(false);
  expect(equalBytes(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2))).toBe(false);
  expect(equalBytes(new Uint8Array(0), new Uint8Array(0))).toBe(true);
  expect(equalBytes(Uint8Array.of(9, 1, 2).subarray(1), Uint8Array.of(1, 2))).toBe(true);
});

test("plainBytes: a plain Uint8Array of the same bytes; a small Buffer copied, a large one viewed", () => {
  const small = Buffer.from([1, 2, 3, 4, 5]).subarray(1, 4);
  const a = plainBytes(small);
  expect(a.constructor).toBe(Uint8Array);
  expect([...a]).toEqual([2, 3, 4]);
  small[0] = 9; // a copy: the source may change after
  expect(a[0]).toBe(2);
  const atLimit = plainBytes(Buffer.alloc(COPY_BYTES_MAX, 7));
  expect(atLimit.constructor).toBe(Uint8Array);
  expect(atLimit.length).toBe(COPY_BYTES_MAX);
  const largeSource = Buffer.alloc(COPY_BYTES_MAX + 100, 1).subarray(50);
  const large = plainBytes(largeSource);
  expect(large.constructor).toBe(Uint8Array);
  expect(large.length).toBe(COPY_BYTES_MAX + 50);
  largeSource[0] = 42; // a view: the same memory
  expect(large[0]).toBe(42);
});

test("base64Of writes what a Buffer's toString('base64') writes, on plain arrays, Buffers and views", () => {
  const all = Uint8Array.from({ length: 300 }, (_, i) => (i * 37) & 0xff);
  for (const n of [0, 1, 2, 3, 4, 63, 64, 65, 300]) {
    const bytes = all.subarray(0, n);
    expect(base64Of(bytes)).toBe(Buffer.from(bytes).toString("base64"));
    // A view in the middle of a larger array: only its own bytes.
    expect(base64Of(all.subarray(7, 7 + Math.min(n, 290)))).toBe(Buffer.from(all.subarray(7, 7 + Math.min(n, 290))).toString("base64"));
    expect(base64Of(Buffer.from(bytes))).toBe(Buffer.from(bytes).toString("base64"));
  }
});
