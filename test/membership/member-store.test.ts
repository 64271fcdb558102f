/**
 * One map keyed by id for a gossip peer's two records: SWIM's member list keeps its records on the
 * peer table's entries (`PeerTable.memberStore`), and in a map of its own only the members the
 * table does not hold. Before, the list had a `Map` of its own beside the table's (about 52 bytes
 * a peer each at 200 peers). The list behaves as before: the same members, states and size, a
 * member moving between an entry and the store's own map as the table admits and drops its peer.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { SwimCore } from "../../src/membership/swim.ts";
import type { MemberUpdate, SwimPorts } from "../../src/membership/swim-types.ts";
import { PeerTable } from "../../src/membership/peer-table.ts";
import type { Peer } from "../../src/types.ts";
import { eventually, startNode, stopAll } from "./fixtures.ts";

afterEach(stopAll);

const N = 20;
const idOf = (i: number) => i.toString(16).padStart(64, "0");
const alive = (i: number, incarnation = 1): MemberUpdate => ({ id: idOf(i), incarnation, state: "alive", address: "10.0.0.9", port: 9000 + i, meta: { name: `m${i}` } });
const peerOf = (m: Readonly<MemberUpdate>): Peer => ({ id: m.id, address: m.address, port: m.port, swarm: "lab", team: null, name: `m${m.port}`, kind: "node", capabilities: [], last_seen: 1 });

/** A core whose members live on `table`'s entries; members with an even index are admitted by the table as they become known (as gossip admits them). */
function rig(): { table: PeerTable; swim: SwimCore; store: ReturnType<PeerTable["memberStore"]> } {
  const table = new PeerTable();
  const store = table.memberStore<MemberUpdate>();
  const ports: SwimPorts = {
    now: () => 0,
    schedule: () => () => {},
    send: () => Promise.reject(new Error("no network")),
    members: store,
    onChange: (m, previous) => {
      if (previous === null && Number.parseInt(m.id, 16) % 2 === 0) table.upsert(peerOf(m), "gossip");
    },
  };
  return { table, swim: new SwimCore({ id: "self", address: "h", port: 1 }, ports, { deadRetention: 10 }), store };
}

describe("SWIM's members on the peer table's entries", () => {
  test("a member whose peer the table holds is on its entry, with no entry in a map of the list's own", () => {
    const { table, swim, store } = rig();
    for (let i = 0; i < N; i++) expect(swim.learn(alive(i))).toBe(true);
    expect(swim.size).toBe(N);
    expect(table.size).toBe(N / 2);
    // The structure: the table's entry holds the record the list reads; only the members the
    // table refused are in the store's own map.
    for (let i = 0; i < N; i += 2) expect(table.get(idOf(i))!.member).toBe(swim.member(idOf(i)));
    expect(store.loose).toBe(N / 2);
    for (let i = 1; i < N; i += 2) expect(swim.member(idOf(i))?.state).toBe("alive");
    // The list reads and iterates them as it did its map, by the generator and by the walk its hot paths take.
    expect(new Set([...swim.members()].map((m) => m.id))).toEqual(new Set(Array.from({ length: N }, (_, i) => idOf(i))));
    const walked: unknown[] = [];
    store.forEach((m) => void walked.push(m));
    expect(walked).toEqual([...store.values()]);
    expect(walked).toHaveLength(N);
    expect(swim.stats().alive).toBe(N);
    // News about a member on an entry changes the record there.
    expect(swim.learn({ ...alive(4, 2), state: "suspect", from: idOf(1) })).toBe(true);
    expect((table.get(idOf(4))!.member as MemberUpdate).state).toBe("suspect");
  });

  test("a member moves to the store's own map when the table drops its peer, and back onto the entry when the table takes it again", () => {
    const { table, swim, store } = rig();
    for (let i = 0; i < N; i++) swim.learn(alive(i));
    const record = swim.member(idOf(2));
    table.remove(idOf(2));
    expect(store.loose).toBe(N / 2 + 1);
    expect(swim.member(idOf(2))).toBe(record);
    expect(swim.size).toBe(N);
    table.upsert(peerOf(record!), "heartbeat");
    expect(store.loose).toBe(N / 2);
    expect(table.get(idOf(2))!.member).toBe(record);
    // A peer the table held before SWIM knew it: its record goes onto that entry at once.
    table.upsert(peerOf({ ...alive(101), port: 9101 }), "seed");
    swim.learn(alive(101));
    expect(table.get(idOf(101))!.member).toBe(swim.member(idOf(101)));
    expect(store.loose).toBe(N / 2);
    expect(swim.size).toBe(N + 1);
    // Cleared, the table hands every member back to the store: the list still holds them all.
    table.clear();
    expect(store.loose).toBe(N + 1);
    expect(swim.size).toBe(N + 1);
    expect(swim.member(idOf(4))?.state).toBe("alive");
  });

  test("a new store takes the entries over: the last one's records are no longer on them", () => {
    const { table, swim } = rig();
    for (let i = 0; i < 4; i++) swim.learn(alive(i));
    expect(table.get(idOf(0))!.member).toBeDefined();
    const next = table.memberStore();
    expect(table.get(idOf(0))!.member).toBeUndefined();
    expect(next.size).toBe(0);
  });

  test("a node in gossip mode keeps each SWIM member on its peer's table entry", async () => {
    const options = { swarm: "lab", heartbeatInterval: 0.3, peerTimeout: 3 };
    const a = await startNode({ ...options, name: "a" });
    const b = await startNode({ ...options, name: "b", seeds: [`127.0.0.1:${a.port}`] });
    await b.join();
    await eventually(() => a.membership.gossip!.owns(b.id) && b.membership.gossip!.owns(a.id), 10_000, "each to own the other by SWIM");
    expect(a.membership.table.get(b.id)!.member).toBe(a.membership.gossip!.core!.member(b.id));
    expect(b.membership.table.get(a.id)!.member).toBe(b.membership.gossip!.core!.member(a.id));
  });
});
