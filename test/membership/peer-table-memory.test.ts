/**
 * The peer table's records share their lists of names: one frozen array per distinct capability
 * (or extension) list, so that a table of thousands holds a few arrays, not one per peer; records
 * leave the table as copies, so nobody outside holds the shared ones.
 */
import { describe, expect, test } from "bun:test";
import { isFrozenNames } from "../../src/wire/peer.ts";
import { KNOWS_THIS_NODE, PeerTable, SWIM_OWNED, sharedList, sharedMeta, sharedString, swimBit } from "../../src/membership/peer-table.ts";
import { RecordLabel, canonicalRecord } from "../../src/security/records.ts";
import type { Peer } from "../../src/types.ts";

function peer(i: number, capabilities: string[] = []): Peer {
  return { id: `p${i}`, address: `10.0.0.${i}`, port: 9000, swarm: "s", team: "t", name: `n${i}`, kind: "node", capabilities, last_seen: 1 };
}

describe("peer table - shared lists", () => {
  test("equal capability lists are one frozen array; the caller's array is not kept", () => {
    const table = new PeerTable();
    const given = ["gpu", "llm"];
    const a = table.upsert(peer(1, given), "gossip").entry;
    const b = table.upsert(peer(2, ["gpu", "llm"]), "gossip").entry;
    const c = table.upsert(peer(3, ["llm", "gpu"]), "gossip").entry;
    expect(a.peer.capabilities).toBe(b.peer.capabilities);
    expect(a.peer.capabilities).not.toBe(c.peer.capabilities);
    expect(a.peer.capabilities).not.toBe(given);
    expect(Object.isFrozen(a.peer.capabilities)).toBe(true);
    given.push("changed");
    expect(a.peer.capabilities).toEqual(["gpu", "llm"]);
    // Peers with no capabilities and no extensions share the one empty array.
    const d = table.upsert(peer(4), "gossip").entry;
    const e = table.upsert(peer(5), "gossip", { extensions: [] }).entry;
    expect(d.peer.capabilities).toBe(e.peer.capabilities);
    expect(d.extensions).toBe(e.extensions);
    expect(d.extensions).toBe(sharedList([]));
  });

  test("an update replaces the list rather than changing it; records and samples are copies", () => {
    const table = new PeerTable();
    const first = table.upsert(peer(1, ["a"]), "gossip", { extensions: ["mux"] }).entry;
    const other = table.upsert(peer(2, ["a"]), "gossip", { extensions: ["mux"] }).entry;
    const shared = first.peer.capabilities;
    table.upsert(peer(1, ["a", "b"]), "heartbeat", { extensions: ["mux", "swim"] });
    expect(first.peer.capabilities).toEqual(["a", "b"]);
    expect(first.extensions).toEqual(["mux", "swim"]);
    // The other peer's list (the same array before) did not change.
    expect(other.peer.capabilities).toBe(shared);
    expect(shared).toEqual(["a"]);
    expect(other.extensions).toEqual(["mux"]);
    for (const record of [...table.records(), ...table.sample(2)]) {
      expect(Object.isFrozen(record.capabilities)).toBe(false);
      record.capabilities.push("mine");
    }
    expect(table.get("p2")!.peer.capabilities).toEqual(["a"]);
  });

  test("a fresh list with the names of the list shared last is given that list; another list its own", () => {
    const first = sharedList(["p", "q"]);
    expect(sharedList(["p", "q"])).toBe(first);
    const other = sharedList(["p", "r"]);
    expect(other).toEqual(["p", "r"]);
    expect(other).not.toBe(first);
    expect(sharedList(["p"])).toEqual(["p"]);
    // Back to the first: found by its key, as before.
    expect(sharedList(["p", "q"])).toBe(first);
    expect(sharedList(["p", "q"])).toBe(first);
    // Known for frozen without asking the engine (frozenNames), and kept as they are.
    expect(isFrozenNames(first)).toBe(true);
    expect(sharedList(first)).toBe(first);
    // A list frozen elsewhere is kept as it is too, as before.
    const theirs = Object.freeze(["p", "z"]);
    expect(sharedList(theirs)).toBe(theirs as string[]);
  });

  test("past the bound of distinct lists, new lists are still kept (copied, frozen), just not shared", () => {
    // More distinct lists than the table shares (256): each still comes back equal, frozen and
    // apart from the caller's array, whether it was shared or copied.
    const lists = Array.from({ length: 300 }, (_, i) => [`cap${i}`, "x"]);
    for (const list of lists) {
      const kept = sharedList(list);
      expect(kept).toEqual(list);
      expect(kept).not.toBe(list);
      expect(Object.isFrozen(kept)).toBe(true);
      expect(sharedList(list)).toEqual(kept);
      // A list it gave back is kept as it is, shared or not: a frozen array cannot change.
      expect(sharedList(kept)).toBe(kept);
    }
  });
});

describe("peer table - shared strings and gossip meta", () => {
  test("records share one string per distinct swarm, team and kind value; values are unchanged", () => {
    const table = new PeerTable();
    const a = table.upsert({ ...peer(1), swarm: ["sw", "arm"].join(""), team: ["te", "am"].join("") }, "gossip").entry.peer;
    const b = table.upsert({ ...peer(2), swarm: ["s", "warm"].join(""), team: ["t", "eam"].join("") }, "gossip").entry.peer;
    expect([a.swarm, a.team, b.swarm, b.team]).toEqual(["swarm", "team", "swarm", "team"]);
    expect(sharedString(["sw", "arm"].join(""))).toBe("swarm");
    expect(sharedString(null)).toBeNull();
  });

  test("a member's meta keeps its keys, their order and its values (what its claim's signature covers); lists are shared and frozen", () => {
    const meta = { swarm: "s", team: "t", name: "n1", kind: "node", capabilities: ["gpu", "llm"], extra: { nested: [1, 2] }, n: 3 };
    const one = sharedMeta(meta);
    const two = sharedMeta({ ...meta, name: "n2", capabilities: ["gpu", "llm"] });
    expect(Object.keys(one)).toEqual(Object.keys(meta));
    expect(one).toEqual(meta);
    expect(one.capabilities).toBe(two.capabilities);
    expect(Object.isFrozen(one.capabilities)).toBe(true);
    expect(one.extra).toBe(meta.extra);
    expect(canonicalRecord(RecordLabel.GossipClaim, [one])).toEqual(canonicalRecord(RecordLabel.GossipClaim, [meta]));
  });
});

describe("peer table - the entry's fields", () => {
  test("an entry keeps source and SWIM's bits in one packed field: three own properties and three private ones (the record, the bits, SWIM's member), six fields in all (JSC's 64-byte size class, not 80)", () => {
    const table = new PeerTable();
    const entry = table.upsert(peer(1), "mdns").entry;
    // The structure: no own `source` or `swim` property (they were two of seven own fields);
    // `peer` and `member` are accessors too (see one-record.test.ts).
    expect(Object.keys(entry).sort()).toEqual(["dialHost", "extensions", "fallbackHost"]);
    expect(entry.source).toBe("mdns");
    expect(entry.swim).toBe(0);
    // The bits and the source stay apart.
    entry.swim = SWIM_OWNED | KNOWS_THIS_NODE;
    expect(entry.source).toBe("mdns");
    expect(swimBit(entry, KNOWS_THIS_NODE, false)).toBe(true);
    expect(entry.swim).toBe(SWIM_OWNED);
    entry.source = "gossip";
    expect(entry.swim).toBe(SWIM_OWNED);
    for (const [i, source] of (["seed", "join", "heartbeat", "exchange", "mdns", "gossip"] as const).entries()) expect(table.upsert(peer(10 + i), source).entry.source).toBe(source);
    // A refreshed peer keeps its entry (and what it holds).
    expect(table.upsert({ ...peer(1), name: "renamed" }, "heartbeat").entry).toBe(entry);
    expect(entry.source).toBe("gossip");
    expect(entry.swim).toBe(SWIM_OWNED);
  });
});
