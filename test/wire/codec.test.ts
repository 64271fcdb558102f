import { describe, expect, test } from "bun:test";
import { decode, encode } from "../../src/wire/codec.ts";
import { EncodeError, ProtocolError } from "../../src/errors.ts";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const unhex = (text: string) => new Uint8Array(Buffer.from(text, "hex"));

function decodeError(bytes: Uint8Array): ProtocolError {
  try {
    decode(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
  throw new Error(`decoded without error: ${hex(bytes)}`);
}

function encodeError(value: unknown): EncodeError {
  try {
    encode(value);
  } catch (error) {
    expect(error).toBeInstanceOf(EncodeError);
    return error as EncodeError;
  }
  throw new Error("encoded without error");
}

describe("codec - encoding rules", () => {
  test("undefined goes out as nil, alone and inside maps and arrays", () => {
    expect(hex(encode(undefined))).toBe("c0");
    expect(hex(encode({ a: undefined }))).toBe("81a161c0");
    expect(hex(encode([undefined, 1]))).toBe("92c001");
  });

  test("a Date is float unix seconds, never the timestamp extension", () => {
    expect(hex(encode(new Date(1_700_000_000_500)))).toBe("cb41d954fc40200000");
    expect(decode(encode({ at: new Date(1_700_000_000_500) }))).toEqual({ at: 1_700_000_000.5 });
    // A whole second is a whole number: the smallest int, as for any other number.
    expect(hex(encode(new Date(1_700_000_000_000)))).toBe("ce6553f100");
  });

  test("a Map is a plain map, a Set a plain array", () => {
    expect(hex(encode(new Map<string, unknown>([["a", 1], ["b", "x"]])))).toBe("82a16101a162a178");
    expect(hex(encode(new Set([1, 2])))).toBe("920102");
  });

  test("smallest integer formats; non-negative integers are unsigned", () => {
    const cases: Array<[number, string]> = [
      [0, "00"],
      [1, "01"],
      [127, "7f"],
      [128, "cc80"],
      [255, "ccff"],
      [256, "cd0100"],
      [65_535, "cdffff"],
      [65_536, "ce00010000"],
      [2 ** 32 - 1, "ceffffffff"],
      [2 ** 32, "cf0000000100000000"],
      [Number.MAX_SAFE_INTEGER, "cf001fffffffffffff"],
      [-1, "ff"],
      [-32, "e0"],
      [-33, "d0df"],
      [-128, "d080"],
      [-129, "d1ff7f"],
      [-32_768, "d18000"],
      [-32_769, "d2ffff7fff"],
      [-(2 ** 31), "d280000000"],
      [-(2 ** 31) - 1, "d3ffffffff7fffffff"],
    ];
    for (const [value, bytes] of cases) expect([value, hex(encode(value))]).toEqual([value, bytes]);
  });

  test("a millisecond timestamp (beyond 32 bits) is an integer to Python, also deep inside", () => {
    const value = { at: 1_700_000_000_123, list: [2 ** 40, 1.5, "x"], map: new Map([["k", -(2 ** 35)]]) };
    const bytes = encode(value);
    expect(hex(bytes)).toBe(
      "83a26174cf0000018bcfe5687ba46c69737493cf0000010000000000cb3ff8000000000000a178a36d617081a16bd3fffffff800000000",
    );
    expect(decode(bytes)).toEqual({ at: 1_700_000_000_123, list: [2 ** 40, 1.5, "x"], map: { k: -(2 ** 35) } });
  });

  test("non-integers stay float64 (never float32)", () => {
    expect(hex(encode(1.5))).toBe("cb3ff8000000000000");
    expect(hex(encode(0.1))).toBe("cb3fb999999999999a");
    expect(hex(encode(2 ** 64))).toBe("cb43f0000000000000");
  });

  test("minimal map, array, string and binary headers", () => {
    const map = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 0]));
    expect(hex(encode(map(0)))).toBe("80");
    expect(hex(encode(map(15))).slice(0, 2)).toBe("8f");
    expect(hex(encode(map(16))).slice(0, 6)).toBe("de0010");
    expect(hex(encode(new Array(15).fill(0))).slice(0, 2)).toBe("9f");
    expect(hex(encode(new Array(16).fill(0))).slice(0, 6)).toBe("dc0010");
    expect(hex(encode("a".repeat(31))).slice(0, 2)).toBe("bf");
    expect(hex(encode("a".repeat(32))).slice(0, 4)).toBe("d920");
    expect(hex(encode("a".repeat(256))).slice(0, 6)).toBe("da0100");
    expect(hex(encode(new Uint8Array([1, 2, 3])))).toBe("c403010203");
  });

  test("strings are str (UTF-8), binary is bin", () => {
    expect(hex(encode("é"))).toBe("a2c3a9");
    expect(decode(encode(new Uint8Array([0, 255])))).toEqual(new Uint8Array([0, 255]));
  });

  test("a value that cannot be carried is an EncodeError", () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(encodeError(cyclic).message).toContain("cannot encode");
    expect(encodeError(Symbol("s")).message).toContain("cannot encode");
    expect(encodeError({ nested: [Symbol("s")] }).message).toContain("cannot encode");
    // A function would otherwise go out silently as nil.
    expect(encodeError(() => 1).message).toContain("function");
    expect(encodeError({ callback: () => 1 }).message).toContain("function");
    expect(encodeError(2n ** 70n).message).toContain("cannot encode");
  });

  test("the encoder is sound after a failure", () => {
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    encodeError(cyclic);
    encodeError({ big: "x".repeat(100_000), bad: Symbol("s") });
    expect(hex(encode({ a: 1 }))).toBe("81a16101");
    const first = encode([1, 2]);
    const second = encode([3, 4]);
    expect([hex(first), hex(second)]).toEqual(["920102", "920304"]);
  });
});

describe("codec - decoding", () => {
  test("reads a value from a slice of a buffer without copying the input", () => {
    const bytes = unhex("ff81a161019203");
    expect(decode(bytes, 1, 5)).toEqual({ a: 1 });
  });

  test("binary values do not alias the input buffer", () => {
    const bytes = unhex("c403010203");
    const value = decode(bytes) as Uint8Array;
    bytes.fill(0);
    expect([...value]).toEqual([1, 2, 3]);
  });

  test("uint64 and int64 read as numbers", () => {
    expect(decode(unhex("cf0000018bcfe5687b"))).toBe(1_700_000_000_123);
    expect(decode(unhex("d3fffffff800000000"))).toBe(-(2 ** 35));
  });

  test("undecodable bytes", () => {
    expect(decodeError(unhex("")).message).toStartWith("undecodable MessagePack");
    expect(decodeError(unhex("81a161")).message).toStartWith("undecodable MessagePack");
    expect(decodeError(unhex("92")).message).toStartWith("undecodable MessagePack");
  });

  test("the never-used byte 0xc1 is undecodable, at the top and nested", () => {
    expect(decodeError(unhex("c1")).message).toStartWith("undecodable MessagePack");
    expect(decodeError(unhex("91c1")).message).toStartWith("undecodable MessagePack");
    expect(decodeError(unhex("81a3666f6fc1")).message).toStartWith("undecodable MessagePack");
    // 0xc1 as data (inside an int and a bin) is fine.
    expect(decode(unhex("92ccc1c401c1"))).toEqual([0xc1, new Uint8Array([0xc1])]);
  });

  test("trailing bytes: Python's own message", () => {
    expect(decodeError(unhex("0102")).message).toBe("unpack(b) received extra data.");
    expect(decodeError(unhex("81a1610100")).message).toBe("unpack(b) received extra data.");
  });

  test("an unknown extension type", () => {
    expect(decodeError(unhex("d40100")).message).toContain("Unknown extension");
    expect(decodeError(unhex("c7020501ff")).message).toContain("Unknown extension");
  });

  test("structured-clone references cannot build cyclic values from the wire", () => {
    // [ <id 1> [ <pointer to 1> ] ]: msgpackr would rebuild a cycle.
    expect(decodeError(unhex("d6690000000191d67000000001")).message).toStartWith("undecodable MessagePack");
  });

  test("a __proto__ key cannot reach the prototype", () => {
    const value = decode(unhex("81a95f5f70726f746f5f5f81a17801")) as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});
