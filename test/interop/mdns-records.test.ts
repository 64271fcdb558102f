/**
 * Interop audit, mDNS: the instance name and TXT properties a Python node reads (PROTOCOL.md).
 */
import { describe, expect, test } from "bun:test";
import { buildTxt, instanceName, parseTxt, txtCapabilities } from "../../src/membership/mdns-txt.ts";

describe("interop - mDNS instance name and TXT properties", () => {
  test("instance name as Python's _service_label: non-alphanumerics (str.isalnum) become '-', ends stripped, then the id's 8 chars", () => {
    expect(instanceName("worker_1.lab", "0123456789abcdef")).toBe("worker-1-lab-01234567");
    // Characters outside the BMP are one character each in Python, as here: one '-' apiece.
    expect(instanceName("a😀😀b", "0123456789")).toBe("a--b-01234567");
    // Letters and digits are Unicode ones, as Python's str.isalnum() says.
    expect(instanceName("𝒳 y", "fedcba9876")).toBe("𝒳-y-fedcba98");
    expect(instanceName("é", "abcdefgh99")).toBe("é-abcdefgh");
    expect(instanceName("_alpha.", "0123456789")).toBe("alpha-01234567");
    // Nothing left after stripping: the id's first 8 characters.
    expect(instanceName("***", "0123456789")).toBe("01234567-01234567");
  });

  test("an unnamed node: Python labels it with its id (its name is \"\"), so does a node left with the default name here", async () => {
    const { Node } = await import("../../src/node.ts");
    const unnamed = new Node({ id: "89abcdef".repeat(8) });
    expect(instanceName(unnamed.name, unnamed.id)).toBe("89abcdef-89abcdef");
    expect(instanceName("", "0123456789")).toBe("01234567-01234567");
    const named = new Node({ id: "89abcdef".repeat(8), name: "scout" });
    expect(instanceName(named.name, named.id)).toBe("scout-89abcdef");
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
