/**
 * Interop audit, mDNS: the instance name and TXT properties a Python node reads (PROTOCOL.md).
 */
import { describe, expect, test } from "bun:test";
import { buildTxt, instanceName, parseTxt, txtCapabilities } from "../../src/membership/mdns-txt.ts";

describe("interop - mDNS instance name and TXT properties", () => {
  test("instance name: every character (code point) other than a letter, digit or '-' becomes one '-'", () => {
    expect(instanceName("worker_1.lab", "0123456789abcdef")).toBe("worker-1-lab-01234567");
    // Characters outside the BMP are one character each in Python, as here: one '-' apiece.
    expect(instanceName("a😀b", "0123456789")).toBe("a-b-01234567");
    expect(instanceName("𝒳 y", "fedcba9876")).toBe("--y-fedcba98");
    expect(instanceName("é", "abcdefgh99")).toBe("--abcdefgh");
  });

  test("TXT: id, name, kind, swarm, team, host, capabilities in that order, every value a string", () => {
    const txt = buildTxt({ id: "a".repeat(64), name: "alpha", kind: "bootstrap", swarm: "golden", team: "default", host: "box", capabilities: ["python", "math"] });
    expect(txt).toEqual([`id=${"a".repeat(64)}`, "name=alpha", "kind=bootstrap", "swarm=golden", "team=default", "host=box", "capabilities=python,math"]);
    const parsed = parseTxt(txt.map((t) => Buffer.from(t)));
    expect(Object.keys(parsed)).toEqual(["id", "name", "kind", "swarm", "team", "host", "capabilities"]);
    for (const value of Object.values(parsed)) expect(typeof value).toBe("string");
    expect(txtCapabilities(parsed)).toEqual(["python", "math"]);
  });

  test("no capabilities: an empty comma-joined string, as Python's ','.join([]) writes it", () => {
    const txt = buildTxt({ id: "i", name: "n", kind: "node", swarm: "s", team: "t", host: "h", capabilities: [] });
    expect(txt.at(-1)).toBe("capabilities=");
    expect(txtCapabilities(parseTxt(txt))).toEqual([]);
  });
});
