import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { canonicalJson, compareCodePoints, pythonJsonNumber } from "../../src/conversation/canonical-json.ts";
import { isUuidv7, uuidv7, uuidv7TimeMs } from "../../src/conversation/uuid.ts";
import { ConfigError } from "../../src/errors.ts";

// Expected texts, sizes and digests were produced by CPython 3 with
// json.dumps(value, sort_keys=True, separators=(",", ":")) and hashlib.sha256.
const VECTORS: Array<{ name: string; value: unknown; json: string; size: number; sha256: string }> = [
  { name: "sorted keys", value: { b: [1, 2], a: 1 }, json: '{"a":1,"b":[1,2]}', size: 17, sha256: "8baa73198470c7bb4c3ce142a8fd651affc0310d878bb9bd159e37a573fb4874" },
  {
    name: "non-ASCII, astral, control characters and nested sorting",
    value: { name: "Zoë", city: "Kraków", emoji: "🦀", cjk: "日本語", nested: { z: { y: 1, x: [true, false, null] }, a: "\u0000\u001f\u007f\"\\\n\t/" } },
    json: '{"city":"Krak\\u00f3w","cjk":"\\u65e5\\u672c\\u8a9e","emoji":"\\ud83e\\udd80","name":"Zo\\u00eb","nested":{"a":"\\u0000\\u001f\\u007f\\"\\\\\\n\\t/","z":{"x":[true,false,null],"y":1}}}',
    size: 169,
    sha256: "480d68c230dacee55f22eff800f80acdd7d00dc968cd7099eaf0d6410e57b3fa",
  },
  {
    name: "Python float spelling",
    value: { floats: [2.5, -0.0001, 0.00001, 1.5e-7, 123456789.125, 1e16, 1e300, Math.PI], ints: [0, -1, 9007199254740991] },
    json: '{"floats":[2.5,-0.0001,1e-05,1.5e-07,123456789.125,1e+16,1e+300,3.141592653589793],"ints":[0,-1,9007199254740991]}',
    size: 114,
    sha256: "2e3ed53e989ed5b208af7cc1d6e12a0750bf409f4ac529904cf4cd3ee37f0b8f",
  },
  {
    name: "keys sorted by code point (astral after U+FFFF)",
    value: { "\uffff": 1, "😀": 2, "é": 3, E: 4, "": 5 },
    json: '{"":5,"E":4,"\\u00e9":3,"\\uffff":1,"\\ud83d\\ude00":2}',
    size: 51,
    sha256: "cce2aeddbc61e808819b6648685ab82cd5e14762f12fe8caf6d9191202c8cccf",
  },
  { name: "top-level array", value: ["x", { k: [] }, {}], json: '["x",{"k":[]},{}]', size: 17, sha256: "e26cc92ed89d1b7a5680cfb36b27af9683d5e284337e1f6125cf3e9753ead8d3" },
  { name: "string", value: "plain string", json: '"plain string"', size: 14, sha256: "100e95befce5c34a8927f2359d07d340222625dd67a32ea9c96031c7f9b5f74a" },
  { name: "null", value: null, json: "null", size: 4, sha256: "74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b" },
];

describe("conversation - canonical JSON", () => {
  for (const v of VECTORS) {
    test(`identical to Python: ${v.name}`, () => {
      const text = canonicalJson(v.value);
      expect(text).toBe(v.json);
      const bytes = new TextEncoder().encode(text);
      expect(bytes.byteLength).toBe(v.size);
      expect(createHash("sha256").update(bytes).digest("hex")).toBe(v.sha256);
    });
  }

  test("numbers: Python's exponent rules", () => {
    expect(pythonJsonNumber(0.0001)).toBe("0.0001");
    expect(pythonJsonNumber(0.00012)).toBe("0.00012");
    expect(pythonJsonNumber(0.000012)).toBe("1.2e-05");
    expect(pythonJsonNumber(1.5e300)).toBe("1.5e+300");
    expect(pythonJsonNumber(123.456)).toBe("123.456");
    expect(pythonJsonNumber(1e15)).toBe("1000000000000000");
    expect(pythonJsonNumber(Number.NaN)).toBe("NaN");
    expect(pythonJsonNumber(Number.NEGATIVE_INFINITY)).toBe("-Infinity");
  });

  test("undefined is written as null, Map as an object, bigint as digits", () => {
    expect(canonicalJson({ a: undefined, m: new Map([["z", 1], ["a", 2]]), n: 12345678901234567890n })).toBe(
      '{"a":null,"m":{"a":2,"z":1},"n":12345678901234567890}',
    );
  });

  test("refuses functions, bytes and cycles", () => {
    expect(() => canonicalJson({ f: () => 1 })).toThrow(ConfigError);
    expect(() => canonicalJson({ b: new Uint8Array(2) })).toThrow(ConfigError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow("circular");
    // A shared (non-cyclic) object is fine.
    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: shared })).toBe('{"a":{"x":1},"b":{"x":1}}');
  });

  test("compareCodePoints orders like Python", () => {
    const keys = ["😀", "\uffff", "a", "é", "\ue000", "A"];
    expect(keys.sort(compareCodePoints)).toEqual(["A", "a", "é", "\ue000", "\uffff", "😀"]);
  });
});

describe("conversation - uuidv7", () => {
  test("format, version and variant", () => {
    const id = uuidv7();
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(isUuidv7(id)).toBe(true);
    expect(isUuidv7("01890a5d-ac96-474b-bcce-b302099a8057")).toBe(false); // v4
  });

  test("carries its millisecond timestamp", () => {
    // (Ids never go back in time within a process, so only a current time can be checked exactly.)
    const at = Date.now() + 2;
    expect(uuidv7TimeMs(uuidv7(at))).toBe(at);
    // The vector nonce of wire-vectors.json.
    expect(uuidv7TimeMs("01890a5d-ac96-774b-bcce-b302099a8057")).toBe(0x01890a5dac96);
  });

  test("strictly increasing within one process, even in one millisecond", () => {
    const fixed = Date.now() + 3; // one millisecond: the counter must carry the order
    const ids = Array.from({ length: 5000 }, () => uuidv7(fixed));
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
