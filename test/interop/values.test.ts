/**
 * Interop audit, values: whatever JavaScript value a user hands to a call or returns from an
 * endpoint goes out as plain MessagePack in the formats Python writes (smallest integer format,
 * unsigned when non-negative, float64, str/bin, no extension types), both through the general
 * codec and through a live node's answer.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { encode } from "../../src/wire/codec.ts";
import { startNode, stopAll } from "../helpers/net.ts";
import { pyCall } from "./python-node.ts";
import { PyFloat, field, plain, readStrict } from "./python-strict.ts";

afterEach(stopAll);

const VALUES: Array<[string, unknown]> = [
  ["small bigint", 5n],
  ["negative bigint", -200n],
  ["32-bit bigint", 70_000n],
  ["64-bit bigint", 2n ** 40n],
  ["top uint64 bigint", 2n ** 64n - 1n],
  ["lowest int64 bigint", -(2n ** 63n)],
  ["bigints inside a structure", { a: [1n, "Ϗ", 1.5], b: 2n ** 33n }],
  ["wide integers", [2 ** 40, -(2 ** 40), 2 ** 53]],
  ["a Date", new Date(1_700_000_000_250)],
  ["a Set", new Set([1, "a"])],
  ["a Map with string keys", new Map<string, unknown>([["a", 1], ["b", [2]]])],
  ["typed arrays and buffers", [new Uint16Array([1, 2]), Buffer.from([1, 2]), new ArrayBuffer(3), new DataView(new ArrayBuffer(2))]],
  ["undefined and null", [undefined, null, { u: undefined }]],
  ["odd numbers", [-0, Number.NaN, Number.POSITIVE_INFINITY, 1e-300, 0.1]],
  ["an Error and a RegExp", [new Error("boom"), /ab+c/g]],
  ["a class instance", new (class Point { x = 1; y = 2 })()],
  ["long strings and lone surrogates", ["x".repeat(70_000), "\ud800", "😀".repeat(20)]],
];

describe("interop - user values go out in Python's formats", () => {
  for (const [name, value] of VALUES) {
    test(`${name}: no extension type, smallest integer formats`, () => {
      const { violations } = readStrict(encode(value));
      expect(violations).toEqual([]);
    });
  }

  test("bigints: the value survives, in the smallest format (5n is one byte, as Python writes 5)", () => {
    expect(Buffer.from(encode(5n)).toString("hex")).toBe("05");
    expect(Buffer.from(encode(200n)).toString("hex")).toBe("ccc8");
    expect(Buffer.from(encode(-200n)).toString("hex")).toBe("d1ff38");
    expect(Buffer.from(encode(2n ** 40n)).toString("hex")).toBe("cf0000010000000000");
    expect(plain(readStrict(encode({ big: 2n ** 33n })).value)).toEqual({ big: 2 ** 33 });
  });

  test("a live node's answers carrying such values are all in Python's formats", async () => {
    const node = await startNode({ heartbeatInterval: null });
    node.endpoint("value", (i: number) => VALUES[i]![1]);
    for (let i = 0; i < VALUES.length; i++) {
      const { response } = await pyCall(node.port, "value", [i]);
      expect({ name: VALUES[i]![0], violations: response.violations }).toEqual({ name: VALUES[i]![0], violations: [] });
      expect(field(response.value, "ok")).toBe(true);
    }
    const date = await pyCall(node.port, "value", [VALUES.findIndex(([n]) => n === "a Date")]);
    const seconds = field(date.response.value, "result");
    expect(seconds).toBeInstanceOf(PyFloat);
    expect((seconds as PyFloat).value).toBe(1_700_000_000.25);
  });
});
