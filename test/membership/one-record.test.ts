/**
 * One record per gossip peer: while a peer's wire record says what its SWIM member says (id,
 * address, port, and the meta's swarm, team, name, kind and capabilities), the table's entry keeps
 * only the record's `last_seen` and reads the rest off the member (`TableEntry` in
 * `peer-entry.ts`). Before, each gossip peer had a wire record of its own (112 bytes) beside the
 * member. What readers get is unchanged: the same values in the same key order, the address the
 * table admitted the peer with (SWIM's member may move), the name and capabilities of the newest
 * alive update, copies out of the table.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Gossip, swimConfig, type GossipHost } from "../../src/membership/gossip.ts";
import { PeerTable } from "../../src/membership/peer-table.ts";
import { TableEntry } from "../../src/membership/peer-entry.ts";
import type { MemberUpdate } from "../../src/membership/swim-types.ts";
import type { Peer } from "../../src/types.ts";
import { eventually, startNode, stopAll } from "./fixtures.ts";

afterEach(stopAll);

const SELF = "a".repeat(64);
const ID = "b".repeat(64);
const KEYS = ["id", "address", "port", "swarm", "team", "name", "kind", "capabilities", "last_seen"];

const alive = (incarnation: number, change: { port?: number; name?: string; capabilities?: string[] } = {}): MemberUpdate => ({
  id: ID,
  incarnation,
  state: "alive",
  address: "127.0.0.1",
  port: change.port ?? 4000,
  meta: { swarm: "lab", team: "default", name: change.name ?? "b", kind: "node", capabilities: change.capabilities ?? ["x"] },
});

/** A gossip bridge over a real peer table (no network: every call fails), as membership wires it. */
function rig(): { table: PeerTable; gossip: Gossip; entry: () => TableEntry } {
  const table = new PeerTable();
  const host: GossipHost = {
    self: () => ({ id: SELF, address: "127.0.0.1", port: 1, swarm: "lab", team: "default", name: "a", kind: "node", capabilities: [], last_seen: 0 }),
    table,
    features: () => null,
    call: () => Promise.reject(new Error("no network here")),
    admit: (peer, source) => table.upsert(peer, source).entry,
    drop: (id) => void table.remove(id),
    heard: () => {},
    emit: () => {},
  };
  const gossip = new Gossip(host, swimConfig({ heartbeatInterval: 1, heartbeatTimeout: 1, peerTimeout: 4, maxPeers: 10 }));
  gossip.start();
  return { table, gossip, entry: () => table.get(ID) as TableEntry };
}

let stop: (() => void) | null = null;
afterEach(() => {
  stop?.();
  stop = null;
});

describe("one record per gossip peer", () => {
  test("a peer SWIM admitted keeps no wire record of its own: each read makes the same record, frozen, in the table's key order", () => {
    const { table, gossip, entry } = rig();
    stop = () => gossip.stop();
    expect(gossip.core!.learn(alive(1))).toBe(true);
    const e = entry();
    expect(e.member).toBe(gossip.core!.member(ID));
    // The structure: the record is read off the member (no object of the entry's own).
    expect(e.shared).toBe(true);
    const first = e.peer;
    expect(e.peer).not.toBe(first);
    expect(e.peer).toEqual(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.keys(first)).toEqual(KEYS);
    expect(first).toMatchObject({ id: ID, address: "127.0.0.1", port: 4000, swarm: "lab", team: "default", name: "b", kind: "node", capabilities: ["x"] });
    // Out of the table, copies as before: not frozen, their own capability list.
    const [copy] = table.records();
    expect(copy).toEqual(first);
    expect(Object.keys(copy!)).toEqual(KEYS);
    expect(Object.isFrozen(copy)).toBe(false);
    expect(Object.isFrozen(copy!.capabilities)).toBe(false);
    // last_seen moves forward only, and the entry still holds no record.
    const seen = first.last_seen;
    expect(table.touch(ID, seen + 10)).toBe(true);
    expect(table.touch(ID, seen + 5)).toBe(true);
    expect(e.peer.last_seen).toBe(seen + 10);
    expect(e.shared).toBe(true);
  });

  test("a record is read off the member only with exactly the table's keys in its order: not with one more, one less, or another order", () => {
    const { gossip, entry } = rig();
    stop = () => gossip.stop();
    gossip.core!.learn(alive(1));
    const e = entry();
    const record = { ...e.peer, capabilities: e.peer.capabilities };
    expect(e.shared).toBe(true);
    const { last_seen, ...withoutSeen } = record;
    const reordered = { last_seen, ...withoutSeen };
    for (const other of [{ ...record, extra: 1 }, withoutSeen, reordered] as unknown as Peer[]) {
      e.peer = other;
      expect(e.shared).toBe(false);
    }
    // An inherited key is not the record's (as Object.keys leaves it out): shared again.
    e.peer = Object.assign(Object.create({ inherited: 1 }), record) as Peer;
    expect(e.shared).toBe(true);
    e.peer = { ...record };
    expect(e.shared).toBe(true);
    expect(Object.keys(e.peer)).toEqual(KEYS);
  });

  test("an entry's id, address and port are read without making its record (the hot paths read them per message)", () => {
    const { table, gossip, entry } = rig();
    stop = () => gossip.stop();
    gossip.core!.learn(alive(1));
    const e = entry() as TableEntry;
    const peer = Object.getOwnPropertyDescriptor(TableEntry.prototype, "peer")!;
    const read = (): [string, string, number] => {
      // With the record's getter out of the way: id and address do not go through it.
      Object.defineProperty(TableEntry.prototype, "peer", { ...peer, get: () => { throw new Error("record made"); } });
      try {
        return [e.id, e.address, e.port];
      } finally {
        Object.defineProperty(TableEntry.prototype, "peer", peer);
      }
    };
    expect(e.shared).toBe(true);
    expect(read()).toEqual([ID, "127.0.0.1", 4000]);
    // An entry with a record of its own reads them off that record.
    table.refresh(ID, { name: "other" });
    expect(e.shared).toBe(false);
    expect(read()).toEqual([ID, "127.0.0.1", 4000]);
    expect([e.id, e.address, e.port]).toEqual([e.peer.id, e.peer.address, e.peer.port]);
  });

  test("a newer alive update from another port: the table keeps the port it admitted and takes the new name and capabilities, as before", () => {
    const { gossip, entry } = rig();
    stop = () => gossip.stop();
    gossip.core!.learn(alive(1));
    const seen = entry().peer.last_seen;
    expect(gossip.core!.learn(alive(2, { port: 4001, name: "b2", capabilities: ["x", "y"] }))).toBe(true);
    expect(gossip.core!.member(ID)!.port).toBe(4001);
    // Without the list telling the store first (`MemberStore.changing`), the record would read 4001.
    expect(entry().peer).toMatchObject({ port: 4000, name: "b2", capabilities: ["x", "y"], last_seen: seen });
    expect(entry().shared).toBe(false);
    expect(Object.keys(entry().peer)).toEqual(KEYS);
  });

  test("a newer alive update at the same address: the record follows its name and capabilities and is read off the member again", () => {
    const { gossip, entry } = rig();
    stop = () => gossip.stop();
    gossip.core!.learn(alive(1));
    gossip.core!.learn(alive(2, { name: "renamed", capabilities: ["y"] }));
    expect(entry().peer).toMatchObject({ port: 4000, name: "renamed", capabilities: ["y"] });
    expect(entry().shared).toBe(true);
  });

  test("a record changed through the table (a heartbeat answer) is the entry's own until it says what the member says again", () => {
    const { table, gossip, entry } = rig();
    stop = () => gossip.stop();
    gossip.core!.learn(alive(1));
    expect(table.refresh(ID, { name: "other" })).toBe(true);
    expect(entry().shared).toBe(false);
    expect(entry().peer.name).toBe("other");
    // Its own record is changed in place, as before.
    const own = entry().peer;
    expect(entry().peer).toBe(own);
    expect(Object.isFrozen(own)).toBe(false);
    table.refresh(ID, { name: "b" });
    expect(entry().shared).toBe(true);
    expect(entry().peer.name).toBe("b");
    expect(table.refresh("c".repeat(64), { name: "nobody" })).toBe(false);
  });

  test("an entry keeps its record when the member leaves it: the table drops the peer, a new store takes the entries over", () => {
    const { table, gossip, entry } = rig();
    stop = () => gossip.stop();
    gossip.core!.learn(alive(1));
    const before = { ...entry().peer };
    const dropped = table.remove(ID) as TableEntry;
    expect(dropped.member).toBeUndefined();
    expect(dropped.shared).toBe(false);
    expect(dropped.peer).toEqual(before);
    // SWIM still holds its member (in the store's own map); taken back, the entry reads it again.
    const back = table.upsert({ ...before, last_seen: before.last_seen + 1 }, "heartbeat").entry as TableEntry;
    expect(back.member).toBe(gossip.core!.member(ID));
    expect(back.shared).toBe(true);
    expect(back.peer.last_seen).toBe(before.last_seen + 1);
    // A new store: the members leave the entries, which keep their records.
    table.memberStore();
    expect(back.member).toBeUndefined();
    expect(back.peer).toEqual({ ...before, last_seen: before.last_seen + 1 });
  });

  test("a peer without a SWIM member (mesh mode, a Python peer) keeps its record as it was given, one object", () => {
    const table = new PeerTable();
    const given: Peer = { id: ID, address: "10.0.0.2", port: 4000, swarm: "lab", team: "default", name: "py", kind: "node", capabilities: ["x"], last_seen: 1 };
    const e = table.upsert(given, "heartbeat").entry as TableEntry;
    expect(e.shared).toBe(false);
    expect(e.peer).toBe(e.peer);
    expect(e.peer).toEqual(given);
  });

  test("nodes in gossip mode hold each other's records read off SWIM's members, and node.peers gives the same records as the nodes advertise", async () => {
    const options = { swarm: "lab", heartbeatInterval: 0.3, peerTimeout: 3 };
    const a = await startNode({ ...options, name: "a" });
    const b = await startNode({ ...options, name: "b", seeds: [`127.0.0.1:${a.port}`] });
    await b.join();
    await eventually(() => a.membership.gossip!.owns(b.id) && b.membership.gossip!.owns(a.id), 10_000, "each to own the other by SWIM");
    await eventually(() => (a.membership.table.get(b.id) as TableEntry).shared && (b.membership.table.get(a.id) as TableEntry).shared, 10_000, "each record read off SWIM's member");
    const seen = a.peers.get(b.id)!;
    expect(Object.keys(seen)).toEqual(KEYS);
    expect(seen).toMatchObject({ id: b.id, address: "127.0.0.1", port: b.port, swarm: "lab", name: "b", kind: "node" });
    b.capability("fresh");
    await eventually(() => a.peers.get(b.id)?.capabilities.includes("fresh") === true, 5_000, "the new capability to reach a");
    expect((a.membership.table.get(b.id) as TableEntry).shared).toBe(true);
  });
});
