import { describe, expect, test } from "bun:test";
import {
  DIFFERENT_SWARM,
  DIFFERENT_TEAM,
  PeerTable,
  buildTxt,
  checkMembership,
  dialTarget,
  instanceName,
  membershipRefusal,
  parseSeed,
  parseSeeds,
  parseTxt,
  txtCapabilities,
} from "../../src/membership/index.ts";
import { PEER_KEYS, readNodeInfo, readPeer } from "../../src/wire/peer.ts";
import { txtPeer } from "../../src/membership/mdns-txt.ts";
import { ConfigError, EndpointError } from "../../src/errors.ts";
import type { Peer } from "../../src/types.ts";

const beta = {
  id: "b".repeat(64),
  address: "127.0.0.1",
  port: 9002,
  swarm: "golden",
  team: "default",
  name: "beta",
  kind: "node",
  capabilities: [],
  last_seen: 1700000001.5,
};

function refusal(fn: () => unknown): EndpointError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EndpointError);
    return error as EndpointError;
  }
  throw new Error("expected a refusal");
}

describe("membership - peer records", () => {
  test("a Python peer record is accepted unchanged, keys in wire order", () => {
    const peer = readPeer(beta, { mode: "strict" });
    expect(peer).toEqual(beta as Peer);
    expect(Object.keys(peer)).toEqual([...PEER_KEYS]);
  });

  test("missing optional keys take Python's defaults; last_seen defaults to now", () => {
    const peer = readPeer({ id: "x", address: "10.1.1.1", port: 7 }, { mode: "strict", now: 42.5 });
    expect(peer).toEqual({
      id: "x",
      address: "10.1.1.1",
      port: 7,
      swarm: null,
      team: "default",
      name: "",
      kind: "node",
      capabilities: [],
      last_seen: 42.5,
    });
  });

  test("an integer last_seen is accepted", () => {
    expect(readPeer({ ...beta, last_seen: 1700000000 }, { mode: "strict" }).last_seen).toBe(1700000000);
  });

  test("malformed records are refused with bad_request and a clear message", () => {
    const cases: Array<[unknown, string]> = [
      ["not a map", "invalid peer record: expected a map, got str"],
      [[1, 2], "invalid peer record: expected a map, got array"],
      [null, "invalid peer record: expected a map, got nil"],
      [{ ...beta, port: undefined }, "invalid peer record: missing 'port'"],
      [(({ port: _p, ...rest }) => rest)(beta), "invalid peer record: missing 'port'"],
      [(({ id: _i, ...rest }) => rest)(beta), "invalid peer record: missing 'id'"],
      [{ ...beta, port: "9002" }, "invalid peer record: 'port' must be an integer from 1 to 65535, got str"],
      [{ ...beta, port: 70000 }, "invalid peer record: 'port' must be an integer from 1 to 65535, got 70000"],
      [{ ...beta, port: 1.5 }, "invalid peer record: 'port' must be an integer from 1 to 65535, got 1.5"],
      [{ ...beta, id: 5 }, "invalid peer record: 'id' must be a non-empty string, got int"],
      [{ ...beta, address: ["x"] }, "invalid peer record: 'address' must be a string, got array"],
      [{ ...beta, swarm: 3 }, "invalid peer record: 'swarm' must be a string or nil, got int"],
      [{ ...beta, kind: "boss" }, 'invalid peer record: \'kind\' must be "node" or "bootstrap", got "boss"'],
      [{ ...beta, capabilities: "a,b" }, "invalid peer record: 'capabilities' must be an array of strings"],
      [{ ...beta, capabilities: [1] }, "invalid peer record: 'capabilities' must be an array of strings"],
      [{ ...beta, last_seen: "yesterday" }, "invalid peer record: 'last_seen' must be a number, got str"],
      [{ ...beta, extra: 1 }, "invalid peer record: unexpected key 'extra'"],
      [{ ...beta, extra: 1, more: 2 }, "invalid peer record: unexpected keys 'extra', 'more'"],
    ];
    for (const [value, message] of cases) {
      const error = refusal(() => readPeer(value, { mode: "strict" }));
      expect(error.code).toBe("bad_request");
      expect(error.message).toBe(message);
    }
  });

  test("lenient mode (conversation records): extra keys dropped, mistyped optional fields replaced, wire order kept", () => {
    const messy = { extra: 1, last_seen: "later", capabilities: ["a", 2, "b"], kind: "boss", name: 7, team: 3, swarm: "golden", port: 0, address: "10.0.0.1", id: "p" };
    const peer = readPeer(messy, { mode: "lenient", now: 42 });
    expect(peer).toEqual({ id: "p", address: "10.0.0.1", port: 0, swarm: "golden", team: null, name: "", kind: "node", capabilities: ["a", "b"], last_seen: 42 });
    expect(Object.keys(peer)).toEqual([...PEER_KEYS]);
    // A missing team is nil here (strict mode gives Python's "default").
    expect(readPeer({ id: "p", address: "a", port: 1 }, { mode: "lenient" }).team).toBeNull();
    expect(readPeer({ id: "p", address: "a", port: 1 }, { mode: "strict" }).team).toBe("default");
  });

  test("lenient mode refuses only a non-map and a bad id, address or port, naming what was read", () => {
    const cases: Array<[unknown, string | undefined, string]> = [
      ["me", "broadcast origin", "invalid broadcast origin: not a map"],
      [{ ...beta, id: "" }, "broadcast reply peer", "invalid broadcast reply peer: id must be a non-empty string"],
      [{ ...beta, id: "x".repeat(257) }, undefined, "invalid peer: id must be a non-empty string"],
      [{ ...beta, address: 5 }, undefined, "invalid peer: address must be a string"],
      [{ ...beta, port: -1 }, "conversation event peer", "invalid conversation event peer: port must be an integer"],
    ];
    for (const [value, what, message] of cases) {
      const error = refusal(() => readPeer(value, { mode: "lenient", what }));
      expect(error.code).toBe("bad_request");
      expect(error.message).toBe(message);
    }
    // Over the id limit: refused in strict mode too (a size limit, see test/wire/peer-limits.test.ts).
    expect(refusal(() => readPeer({ ...beta, id: "x".repeat(300) }, { mode: "strict" })).message).toBe("invalid peer record: 'id' is longer than 256 characters");
  });

  test("readNodeInfo keeps the well-typed fields of a NodeInfo and never throws", () => {
    expect(readNodeInfo(null)).toEqual({});
    expect(readNodeInfo({ id: "i", name: 5, kind: "boss", port: 0, swarm: null, team: "t", capabilities: ["x", 1], role: "r" })).toEqual({ id: "i", swarm: null, team: "t" });
    expect(readNodeInfo({ name: "n", kind: "bootstrap", address: "a", port: 80, capabilities: ["x"] })).toEqual({ name: "n", kind: "bootstrap", address: "a", port: 80, capabilities: ["x"] });
  });

  test("membership check: swarm and team with the Python wording; null accepts any", () => {
    const scope = { swarm: "golden", team: "default" };
    expect(membershipRefusal(scope, { swarm: "golden", team: "default" })).toBeNull();
    expect(membershipRefusal(scope, { swarm: "silver", team: "default" })).toBe(DIFFERENT_SWARM);
    expect(membershipRefusal(scope, { swarm: null, team: "default" })).toBe(DIFFERENT_SWARM);
    expect(membershipRefusal(scope, { swarm: "golden", team: "red" })).toBe(DIFFERENT_TEAM);
    expect(membershipRefusal(scope, { swarm: "golden", team: null })).toBe(DIFFERENT_TEAM);
    expect(membershipRefusal({ swarm: null, team: "default" }, { swarm: "anything", team: "default" })).toBeNull();
    expect(membershipRefusal({ swarm: "golden", team: null }, { swarm: "golden", team: "red" })).toBeNull();
    expect(DIFFERENT_SWARM).toBe("peer requested a different swarm");
    expect(DIFFERENT_TEAM).toBe("peer requested a different team");
    const error = refusal(() => checkMembership(scope, { swarm: "silver", team: "default" }));
    expect(error.code).toBe("bad_request");
    expect(error.message).toBe("peer requested a different swarm");
  });
});

describe("membership - seeds", () => {
  test("host:port, bare host (port 9999), [host, port], IPv6", () => {
    expect(parseSeed("10.0.0.5:7000")).toEqual({ host: "10.0.0.5", port: 7000 });
    expect(parseSeed("seed.local")).toEqual({ host: "seed.local", port: 9999 });
    expect(parseSeed(["127.0.0.1", 1234])).toEqual({ host: "127.0.0.1", port: 1234 });
    expect(parseSeed("[::1]:8000")).toEqual({ host: "::1", port: 8000 });
    expect(parseSeed("[::1]")).toEqual({ host: "::1", port: 9999 });
    expect(parseSeed("fe80::1")).toEqual({ host: "fe80::1", port: 9999 });
  });

  test("bad seeds are configuration errors; duplicates are dropped", () => {
    for (const bad of ["", ":80", "host:", "host:0", "host:99999", "host:x"]) {
      expect(() => parseSeed(bad)).toThrow(ConfigError);
    }
    expect(() => parseSeed(["host", 0])).toThrow(ConfigError);
    expect(() => parseSeed(["", 80])).toThrow(ConfigError);
    expect(parseSeeds(["a:1", ["a", 1], "b"])).toEqual([
      { host: "a", port: 1 },
      { host: "b", port: 9999 },
    ]);
  });
});

describe("membership - peer table", () => {
  const record = (id: string, address: string, lastSeen = 100): Peer => ({ ...(beta as Peer), id, address, last_seen: lastSeen });

  test("upsert, touch, remove, and a version that counts only peers added and removed", () => {
    const table = new PeerTable();
    expect(table.upsert(record("a", "127.0.0.1"), "join").result).toBe("added");
    expect(table.version).toBe(1);
    expect(table.upsert(record("a", "127.0.0.1", 50), "heartbeat").result).toBe("updated");
    expect(table.get("a")!.peer.last_seen).toBe(100); // never moves back
    expect(table.touch("a", 200)).toBe(true);
    expect(table.touch("nobody", 200)).toBe(false);
    expect(table.version).toBe(1); // refreshes are not changes of the peers known
    table.upsert(record("b", "127.0.0.1", 150), "join");
    expect(table.remove("b")?.peer.id).toBe("b");
    expect(table.remove("b")).toBeUndefined();
    expect(table.version).toBe(3);
    expect(table.records().map((p) => p.id)).toEqual(["a"]);
    table.clear();
    table.clear();
    expect(table.version).toBe(4);
  });

  test("a wildcard address is replaced by the caller's; IPv4-mapped addresses are unwrapped", () => {
    const table = new PeerTable();
    const { entry } = table.upsert(record("a", "0.0.0.0"), "join", { remoteAddress: "::ffff:192.0.2.7" });
    expect(entry.peer.address).toBe("192.0.2.7");
    expect(entry.dialHost).toBe("192.0.2.7");
  });

  test("peers on this host are dialled on loopback, others at their address", () => {
    expect(dialTarget("127.0.0.1")).toEqual({ dialHost: "127.0.0.1", fallbackHost: null });
    expect(dialTarget("localhost")).toEqual({ dialHost: "127.0.0.1", fallbackHost: null });
    expect(dialTarget("192.0.2.99")).toEqual({ dialHost: "192.0.2.99", fallbackHost: null });
    expect(dialTarget("192.0.2.99", true)).toEqual({ dialHost: "127.0.0.1", fallbackHost: "192.0.2.99" });
  });
});

describe("membership - mDNS records", () => {
  test("instance name: label with other characters replaced by '-', then the first 8 id characters", () => {
    expect(instanceName("my node_1.x", "0123456789abcdef")).toBe("my-node-1-x-01234567");
    expect(instanceName("é", "abcdefgh99")).toBe("é-abcdefgh"); // a letter, as Python's str.isalnum() says
    expect(instanceName("n".repeat(100), "abcdefgh").length).toBe(63);
  });

  test("TXT keys of PROTOCOL.md plus ext; nil swarm written as a bare key", () => {
    const txt = buildTxt({
      id: "a".repeat(64),
      name: "alpha",
      kind: "node",
      swarm: null,
      team: "default",
      host: "box",
      capabilities: ["python", "math"],
      extensions: ["mux"],
    });
    expect(txt).toEqual([`id=${"a".repeat(64)}`, "name=alpha", "kind=node", "swarm", "team=default", "host=box", "capabilities=python,math", "ext=mux"]);
    const parsed = parseTxt(txt.map((t) => Buffer.from(t)));
    expect(parsed.swarm).toBeNull();
    expect(parsed.team).toBe("default");
    expect(txtCapabilities(parsed)).toEqual(["python", "math"]);
  });

  test("no TXT string exceeds 255 bytes: long capability lists are split, long values shortened", () => {
    const caps = Array.from({ length: 60 }, (_, i) => `capability-number-${i}`);
    const txt = buildTxt({ id: "x", name: "é".repeat(300), kind: "node", swarm: "s", team: "t", host: "h", capabilities: caps });
    for (const t of txt) expect(Buffer.byteLength(t)).toBeLessThanOrEqual(255);
    expect(txt.filter((t) => t.startsWith("capabilities")).length).toBeGreaterThan(1);
    expect(txtCapabilities(parseTxt(txt))).toEqual(caps);
    const name = parseTxt(txt).name!;
    expect(name.length).toBeGreaterThan(100);
    expect([...name].every((c) => c === "é")).toBe(true);
  });
});

describe("membership - mDNS advertisement to peer", () => {
  const txt = parseTxt([`id=${"c".repeat(64)}`, "name=gamma", "kind=bootstrap", "swarm=", "host=box", "capabilities=a,b", "ext=mux,x"]);
  const origin = { instance: "gamma-cccccccc._synapse._tcp.local", port: 7000, address: "127.0.0.1", source: "10.0.0.9", localHost: "other", now: 5 };

  test("TXT to Peer: empty swarm is nil, a missing team is \"default\", ext split", () => {
    expect(txtPeer(txt, origin)).toEqual({
      peer: { id: "c".repeat(64), address: "10.0.0.9", port: 7000, swarm: null, team: "default", name: "gamma", kind: "bootstrap", capabilities: ["a", "b"], last_seen: 5 },
      sameHost: false,
      extensions: ["mux", "x"],
    });
  });

  test("a loopback A record is kept only for a peer on this host; no id or a bad port gives nothing", () => {
    // From another host, a loopback A record is useless: the packet's source is used.
    expect(txtPeer(txt, origin)!.peer.address).toBe("10.0.0.9");
    const here = txtPeer(txt, { ...origin, localHost: "box" })!;
    expect([here.peer.address, here.sameHost]).toEqual(["127.0.0.1", true]);
    expect(txtPeer(txt, { ...origin, address: undefined })!.peer.address).toBe("10.0.0.9");
    expect(txtPeer({ ...txt, id: null }, origin)).toBeNull();
    expect(txtPeer(txt, { ...origin, port: 0 })).toBeNull();
    expect(txtPeer({ id: "d" }, origin)!.peer.name).toBe("gamma-cccccccc");
  });
});

describe("membership - node options", () => {
  test("invalid liveness settings and seeds are configuration errors", async () => {
    const { Node } = await import("../../src/node.ts");
    expect(() => new Node({ heartbeatInterval: 0 })).toThrow(ConfigError);
    expect(() => new Node({ heartbeatInterval: Number.NaN })).toThrow(ConfigError);
    expect(() => new Node({ peerTimeout: -1 })).toThrow(ConfigError);
    expect(() => new Node({ seeds: ["host:0"] })).toThrow(ConfigError);
    const node = new Node({ heartbeatInterval: null, peerTimeout: null, seeds: ["a", ["b", 1]] });
    expect(node.membership.heartbeatInterval).toBeNull();
    expect(node.membership.peerTimeout).toBeNull();
    expect(node.membership.seedStatus().map((s) => s.seed)).toEqual(["a:9999", "b:1"]);
    const defaults = new Node();
    expect([defaults.membership.heartbeatInterval, defaults.membership.peerTimeout]).toEqual([5, 20]);
    expect(defaults.peers.size).toBe(0);
  });
});
