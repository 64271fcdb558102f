import { describe, expect, test } from "bun:test";
import { ConfigError } from "../../src/errors.ts";
import { parseAddress, parseKeywords, parseValue, portNumber, seconds } from "../../src/cli/args.ts";
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
    expect(parseValue("")).toBe("");
    expect(parseValue("1.2.3")).toBe("1.2.3");
    // Starts like JSON but does not parse: refused, not sent as text.
    expect(() => parseValue("{not json", "argument 1")).toThrow("argument 1 looks like JSON but does not parse");
    expect(() => parseValue("[1,2")).toThrow(ConfigError);
    expect(() => parseValue('"open')).toThrow(ConfigError);
  });

  test("--kw key=value splits at the first '=' and parses the value", () => {
    expect(parseKeywords(["a=1", "b=x=y", "c=", 'd={"k":true}'])).toEqual({ a: 1, b: "x=y", c: "", d: { k: true } });
    expect(() => parseKeywords(["novalue"])).toThrow(ConfigError);
    expect(() => parseKeywords(["=1"])).toThrow("--kw expects key=value");
    expect(() => parseKeywords(["x"], "--context")).toThrow("--context expects key=value");
    expect(() => parseKeywords(["d={"], "--context")).toThrow("--context d looks like JSON");
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
    expect(portNumber("0", 9)).toBe(0);
    expect(portNumber(undefined, 9)).toBe(9);
    expect(() => portNumber("1.5", 9)).toThrow("--port expects 0..65535");
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
