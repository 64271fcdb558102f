import { describe, expect, test } from "bun:test";
import { ConfigError } from "../../src/errors.ts";
import { jsonObject, parseAddress, parseKeywords, parseValue, repeated, seconds, seedList } from "../../src/cli/args.ts";
import { brief, callText, conversationTag, fit, peerLabel, table, toJson } from "../../src/cli/output.ts";

describe("cli args - values and flags", () => {
  test("values are JSON when they parse, text otherwise", () => {
    expect(parseValue("1")).toBe(1);
    expect(parseValue("-2.5")).toBe(-2.5);
    expect(parseValue("true")).toBe(true);
    expect(parseValue("null")).toBeNull();
    expect(parseValue('"1"')).toBe("1");
    expect(parseValue('{"a":[1,"b"]}')).toEqual({ a: [1, "b"] });
    expect(parseValue("ada")).toBe("ada");
    expect(parseValue("hello world")).toBe("hello world");
    expect(parseValue("{not json")).toBe("{not json");
    expect(parseValue("")).toBe("");
  });

  test("--kw key=value splits at the first '=' and parses the value", () => {
    expect(parseKeywords(["a=1", "b=x=y", "c=", 'd={"k":true}'])).toEqual({ a: 1, b: "x=y", c: "", d: { k: true } });
    expect(() => parseKeywords(["novalue"])).toThrow(ConfigError);
    expect(() => parseKeywords(["=1"])).toThrow("--kw expects key=value");
  });

  test("repeated flags are collected from the raw arguments, up to --", () => {
    const raw = ["--kw", "a=1", "x", "--kw=b=2", "--seed", "h:1,h:2", "--seed=h:3", "--", "--kw", "c=3"];
    expect(repeated(raw, "kw")).toEqual(["a=1", "b=2"]);
    expect(seedList(raw)).toEqual(["h:1", "h:2", "h:3"]);
    expect(repeated(["--kw"], "kw")).toEqual([]);
  });

  test("addresses default to port 9999; numbers and objects are checked", () => {
    expect(parseAddress("10.0.0.5")).toEqual({ host: "10.0.0.5", port: 9999 });
    expect(parseAddress("node-a:4000")).toEqual({ host: "node-a", port: 4000 });
    expect(() => parseAddress("h:70000")).toThrow(ConfigError);
    expect(() => parseAddress("")).toThrow(ConfigError);
    expect(seconds("2.5", "wait", 5)).toBe(2.5);
    expect(seconds(undefined, "wait", 5)).toBe(5);
    expect(() => seconds("-1", "wait", 5)).toThrow("--wait expects a number of seconds >= 0");
    expect(() => seconds("soon", "wait", 5)).toThrow(ConfigError);
    expect(jsonObject('{"hint":1}', "context")).toEqual({ hint: 1 });
    expect(jsonObject(undefined, "context")).toEqual({});
    expect(() => jsonObject("[1]", "context")).toThrow("--context expects a JSON object");
  });
});

describe("cli output - formatting", () => {
  test("values become printable JSON: bytes, bigints, Maps, undefined", () => {
    expect(toJson({ b: new Uint8Array([1, 2, 3]), n: 5n, big: 2n ** 64n, u: undefined, m: new Map([["k", 1]]), s: new Set([1]) })).toEqual({
      b: { $base64: "AQID" },
      n: 5,
      big: "18446744073709551616",
      u: null,
      m: { k: 1 },
      s: [1],
    });
    expect(toJson(Buffer.from("hi"))).toEqual({ $base64: "aGk=" });
  });

  test("names, ids, calls and columns for people", () => {
    expect(fit("short", 8)).toBe("short   ");
    expect(fit("much-too-long", 8)).toBe("much-to…");
    expect(peerLabel({ name: "ana", id: "1a2b3c4d5e6f" })).toBe(`ana${" ".repeat(15)} 1a2b3c4d`);
    expect(callText("kitchen.who_can", ["soup", 2], { spicy: true })).toBe('kitchen.who_can("soup", 2, spicy=true)');
    expect(conversationTag("01a212f0-827c-76cd-b2ee-b22d1a4bd90c")).toBe("…1a4bd90c");
    expect(conversationTag("task-7")).toBe("task-7");
    expect(brief({ text: "x".repeat(50) }, 20)).toHaveLength(20);
    expect(table([["a", "bb", "c"], ["ccc", "d", ""]])).toEqual(["a    bb  c", "ccc  d"]);
  });
});
