/**
 * The heartbeat round and the reaper go over the peers gossip does not own only, as the peer table
 * keeps them: a node in an all-Bun swarm walked its whole table (and looked each peer up in
 * gossip's set) every interval and every reap, and, with that walk kept while the table and the
 * owned set stood, still every second of a paced join, where both change every moment.
 */
import { describe, expect, test } from "bun:test";
import { Liveness, type LivenessHost } from "../../src/membership/liveness.ts";
import { PeerTable, SWIM_OWNED } from "../../src/membership/peer-table.ts";
import { Scheduler } from "../../src/schedule/scheduler.ts";
import type { Peer } from "../../src/types.ts";
import { Gossip, swimConfig } from "../../src/membership/gossip.ts";
import { fakeGossipHost } from "./fakes.ts";

const peer = (id: string, lastSeen: number): Peer => ({ id, name: id, address: "127.0.0.1", port: 9000 + id.length, swarm: "lab", team: null, kind: "node", capabilities: [], last_seen: lastSeen });

/** A liveness host over `table` whose heartbeats go unanswered, its drops noted in `dropped`; `extra` replaces or adds hooks. */
function livenessHost(table: PeerTable, now: () => number, dropped: string[], extra: Partial<LivenessHost> = {}): LivenessHost {
  return {
    self: () => peer("me", now()),
    running: () => true,
    table,
    call: () => Promise.reject(new Error("no answer")),
    admit: () => null,
    heard: () => {},
    dropped: (p) => void dropped.push(p.id),
    scheduler: new Scheduler(),
    ...extra,
  };
}

/** A liveness over `table` whose calls all fail (each recorded in `called`), on a clock set by hand (`clock.now`). */
function calling(table: PeerTable): { called: string[]; dropped: string[]; clock: { now: number }; liveness: Liveness } {
  const called: string[] = [];
  const dropped: string[] = [];
  const clock = { now: 1000 };
  const host = livenessHost(table, () => clock.now, dropped, { call: async (target) => (called.push(target.peer.id), Promise.reject(new Error("no answer"))) });
  const liveness = new Liveness(host, { heartbeatInterval: 1, peerTimeout: 10, heartbeatTimeout: 0.5, now: () => clock.now });
  liveness.started();
  return { called, dropped, clock, liveness };
}

describe("membership - the peers liveness walks", () => {
  test("rounds and reaps look at the unowned peers only, and never walk the table", async () => {
    const table = new PeerTable();
    let walks = 0;
    const list = table.list.bind(table);
    table.list = () => (walks++, list());
    const { called, dropped, clock, liveness } = calling(table);
    for (let i = 0; i < 100; i++) table.own(table.upsert(peer(`bun${i}`, clock.now), "gossip").entry, true);
    table.upsert(peer("python", clock.now), "join");

    await liveness.round();
    expect(called).toEqual(["python"]);
    await liveness.round();
    clock.now += 5;
    liveness.reap();
    expect(called).toEqual(["python", "python"]);
    // A new peer is heartbeated from the next round on; a new owned one is not.
    table.upsert(peer("python2", clock.now), "join");
    table.own(table.upsert(peer("bun100", clock.now), "gossip").entry, true);
    await liveness.round();
    expect(called.slice(2).sort()).toEqual(["python", "python2"]);
    // A peer gossip lets go of is heartbeated, and reaped when silent.
    table.own(table.get("bun7")!, false);
    clock.now += 6; // the python peer and bun7 last heard 11 s ago, python2 6 s ago
    expect(liveness.reap().map((p) => p.id).sort()).toEqual(["bun7", "python"]);
    expect(dropped.sort()).toEqual(["bun7", "python"]);
    expect(table.has("bun8")).toBe(true); // owned peers are never reaped here
    await liveness.round();
    expect(called.at(-1)).toBe("python2");
    expect(walks).toBe(0);
  });

  test("a round has work only with a peer gossip does not own or a dropped peer: a gossip node whose every peer is owned skips its rounds", async () => {
    const table = new PeerTable();
    const { called, clock, liveness } = calling(table);
    expect(liveness.hasWork()).toBe(false);
    for (let i = 0; i < 10; i++) table.own(table.upsert(peer(`bun${i}`, clock.now), "gossip").entry, true);
    expect(table.unownedCount).toBe(0);
    expect(liveness.hasWork()).toBe(false);
    table.upsert(peer("python", clock.now), "join");
    expect(table.unownedCount).toBe(1);
    expect(liveness.hasWork()).toBe(true);
    // The python peer goes silent and is reaped: dropped, it is probed now and then, so rounds have work.
    clock.now += 11;
    expect(liveness.reap().map((p) => p.id)).toEqual(["python"]);
    expect(table.unownedCount).toBe(0);
    expect(liveness.hasWork()).toBe(true);
    clock.now += 11;
    await liveness.round();
    expect(called).toEqual(["python"]);
    // It comes back (in the table again, no longer dropped): heartbeated until gossip takes it over.
    const back = table.upsert(peer("python", clock.now), "join").entry;
    liveness.found("python");
    expect(liveness.hasWork()).toBe(true);
    table.own(back, true);
    expect(liveness.hasWork()).toBe(false);
    // A peer that left is not probed: no work either.
    liveness.drop("bun3", false);
    expect(liveness.hasWork()).toBe(false);
  });

  test("a silent peer gossip membership takes over (its SWIM holds it alive) is spared by the reaper; the rest are dropped", () => {
    const table = new PeerTable();
    const dropped: string[] = [];
    const asked: string[] = [];
    let now = 1000;
    // Gossip holds "alive" alive: it takes it over (owns it), as the bridge's adopt does.
    const host = livenessHost(table, () => now, dropped, { adopt: (entry) => (asked.push(entry.peer.id), entry.peer.id === "alive" && (table.own(entry, true), true)) });
    const liveness = new Liveness(host, { heartbeatInterval: 1, peerTimeout: 10, heartbeatTimeout: 0.5, now: () => now });
    liveness.started();
    for (const id of ["alive", "silent"]) table.upsert(peer(id, now), "join");
    table.upsert(peer("fresh", now + 8), "join");
    now += 11;
    expect(liveness.reap().map((p) => p.id)).toEqual(["silent"]);
    expect(dropped).toEqual(["silent"]);
    // Asked only about the silent ones; the one taken over is in the table, owned, and not asked again.
    expect(asked.sort()).toEqual(["alive", "silent"]);
    expect(table.has("alive")).toBe(true);
    expect(table.unowned().map((e) => e.peer.id)).toEqual(["fresh"]);
    now += 20;
    expect(liveness.reap().map((p) => p.id)).toEqual(["fresh"]);
    expect(asked.sort()).toEqual(["alive", "fresh", "silent"]);
    expect(liveness.counts.adopted).toBe(1);
  });

  test("the table's unowned peers follow its adds, removals and gossip's changes of hands", () => {
    const table = new PeerTable();
    const ids = () => table.unowned().map((e) => e.peer.id).sort();
    const a = table.upsert(peer("a", 1), "gossip").entry;
    table.upsert(peer("b", 1), "join");
    expect(ids()).toEqual(["a", "b"]);
    expect(table.own(a, true)).toBe(false);
    expect(a.swim & SWIM_OWNED).toBe(SWIM_OWNED);
    expect(ids()).toEqual(["b"]);
    expect(table.own(a, true)).toBe(true); // owned already
    table.upsert(peer("a", 2), "gossip"); // a refresh keeps it owned
    expect(ids()).toEqual(["b"]);
    table.remove("a");
    expect(ids()).toEqual(["b"]);
    // An entry no longer in the table does not come back through a late change of hands.
    expect(table.own(a, false)).toBe(true);
    expect(ids()).toEqual(["b"]);
    const again = table.upsert(peer("a", 3), "gossip").entry; // back: a new entry, not owned yet
    expect(ids()).toEqual(["a", "b"]);
    table.own(again, true);
    table.clear();
    expect(ids()).toEqual([]);
  });

  test("gossip's changes of hands go through the table (what keeps its unowned peers true)", () => {
    const { host, table } = fakeGossipHost("a".repeat(64), { swim: true });
    const changes: string[] = [];
    const own = host.table.own.bind(host.table);
    host.table.own = (entry, owned) => (changes.push(`${entry.peer.id[0]}:${owned}`), own(entry, owned));
    const gossip = new Gossip(host, swimConfig({ heartbeatInterval: 1, heartbeatTimeout: 1, peerTimeout: 4, maxPeers: 10 }));
    gossip.start();
    const alive = (id: string) => ({ id, incarnation: 1, state: "alive" as const, address: "127.0.0.1", port: 4000, meta: { swarm: "lab", team: "default", name: id.slice(0, 4), kind: "node" } });
    const [b, c] = ["b".repeat(64), "c".repeat(64)];
    expect(gossip.core!.learn(alive(b))).toBe(true); // SWIM holds it alive: admitted, owned
    expect(gossip.owns(b)).toBe(true);
    expect(table.get(b)!.swim).toBe(SWIM_OWNED); // a bit of its table entry: no set of ids per node
    expect(gossip.core!.learn(alive(c))).toBe(true);
    expect(gossip.core!.learn({ ...alive(b), state: "dead", from: c })).toBe(true); // dead: let go, and dropped
    expect(gossip.owns(b)).toBe(false);
    expect(table.has(b)).toBe(false);
    gossip.stop(); // every peer goes back to membership
    expect(gossip.owns(c)).toBe(false);
    expect(changes).toEqual(["b:true", "c:true", "b:false", "c:false"]);
  });
});
