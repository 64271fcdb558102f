/** `systemCode`: the first system error code along an error's causes. */
import { describe, expect, test } from "bun:test";
import { systemCode } from "../../src/util/guards.ts";

describe("systemCode", () => {
  test("the first E... code along the causes counts; a package code (connection_closed) is passed over", () => {
    const bun = Object.assign(new Error("Failed to connect"), { code: "ECONNREFUSED" });
    const explained = Object.assign(new Error("out of descriptors", { cause: bun }), { code: "EMFILE" });
    const wrapped = Object.assign(new Error("cannot connect", { cause: explained }), { code: "connection_closed" });
    expect(systemCode(wrapped)).toBe("EMFILE");
    expect(systemCode(bun)).toBe("ECONNREFUSED");
    expect(systemCode(new Error("plain"))).toBeUndefined();
    expect(systemCode("not an error")).toBeUndefined();
    expect(systemCode(null)).toBeUndefined();
  });

  test("a few levels deep at most, and a cycle ends", () => {
    let deep: Error = Object.assign(new Error("root"), { code: "ENOENT" });
    for (let i = 0; i < 8; i++) deep = new Error(`level ${i}`, { cause: deep });
    expect(systemCode(deep)).toBeUndefined();
    const a = new Error("a") as Error & { cause?: unknown };
    a.cause = a;
    expect(systemCode(a)).toBeUndefined();
  });
});
