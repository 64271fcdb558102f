/**
 * The heartbeat round and the reaper walk only the peers gossip does not own, and keep that list
 * while neither the table's peers nor gossip's set change: a node in an all-Bun swarm walked its
 * whole table (and looked each peer up in gossip's set) every interval and every reap.
 */
import { describe, expect, test } from "bun:test";
import { Liveness, type LivenessHost } from "../../src/membership/liveness.ts";
import { PeerTable, SWIM_OWNED } from "../../src/membership/peer-table.ts";
import { Scheduler } from "../../src/schedule/scheduler.ts";
import type { Peer } from "../../src/types.ts";
import { Gossip, swimConfig } from "../../src/membership/gossip.ts";
import { fakeGossipHost } from "./fakes.ts";

const peer = (id: string, lastSeen: number): Peer => ({ id, name: id, address: "127.0.0.1", port: 9000 + id.length, swarm: "lab", team: null, kind: "node", capabilities: [], last_seen: lastSeen });

describe("membership - the peers liveness walks", () => {
  test("rounds and reaps look at the unowned peers only, and the list is made again only when the table or the owned set changed", async () => {
    const table = new PeerTable();
    const owned = new Set<string>();
    let ownedVersion = 0;
    let lookups = 0;
    const given: unknown[] = [];
    const called: string[] = [];
    const dropped: string[] = [];
    let now = 1000;
    const host: LivenessHost = {
      self: () => peer("me", now),
      running: () => true,
      table,
      call: async (target) => {
        called.push(target.peer.id);
        throw new Error("no answer");
      },
      admit: () => null,
      // Given the table's entry itself, so that the host needs no lookup by id for each.
      owned: (entry) => (lookups++, given.push(entry), owned.has(entry.id)),
      unownedKey: () => `${table.version}:${ownedVersion}`,
      heard: () => {},
      dropped: (p) => void dropped.push(p.id),
      scheduler: new Scheduler(),
    };
    const liveness = new Liveness(host, { heartbeatInterval: 1, peerTimeout: 10, heartbeatTimeout: 0.5, now: () => now });
    liveness.started();
    for (let i = 0; i < 100; i++) table.upsert(peer(`bun${i}`, now), "gossip");
    for (let i = 0; i < 100; i++) owned.add(`bun${i}`);
    ownedVersion++;
    table.upsert(peer("python", now), "join");

    await liveness.round();
    expect(called).toEqual(["python"]);
    expect(lookups).toBe(101);
    expect(given.every((entry) => table.list().includes(entry as never))).toBe(true);
    // Nothing changed: the next rounds and reaps do not walk the table again.
    await liveness.round();
    now += 5;
    liveness.reap();
    expect(called).toEqual(["python", "python"]);
    expect(lookups).toBe(101);
    // A new peer (the table changed) is heartbeated from the next round on.
    table.upsert(peer("python2", now), "join");
    await liveness.round();
    expect(called.slice(2).sort()).toEqual(["python", "python2"]);
    expect(lookups).toBe(101 + 102);
    // A peer gossip lets go of (the owned set changed) is heartbeated, and reaped when silent.
    owned.delete("bun7");
    ownedVersion++;
    now += 6; // the python peer and bun7 last heard 11 s ago, python2 6 s ago
    expect(liveness.reap().map((p) => p.id).sort()).toEqual(["bun7", "python"]);
    expect(dropped.sort()).toEqual(["bun7", "python"]);
    expect(table.has("bun8")).toBe(true); // owned peers are never reaped here
    await liveness.round();
    expect(called.at(-1)).toBe("python2");
  });

  test("gossip's owned peers count their changes, not its no-ops (what membership's cached walk stands on)", async () => {
    const { host, table } = fakeGossipHost("a".repeat(64), { swim: true });
    const gossip = new Gossip(host, swimConfig({ heartbeatInterval: 1, heartbeatTimeout: 1, peerTimeout: 4, maxPeers: 10 }));
    gossip.start();
    const alive = (id: string) => ({ id, incarnation: 1, state: "alive" as const, address: "127.0.0.1", port: 4000, meta: { swarm: "lab", team: "default", name: id.slice(0, 4), kind: "node" } });
    const [b, c] = ["b".repeat(64), "c".repeat(64)];
    const start = gossip.ownedVersion;
    expect(gossip.core!.learn(alive(b))).toBe(true); // SWIM holds it alive: admitted, owned
    expect(gossip.owns(b)).toBe(true);
    expect(table.get(b)!.swim).toBe(SWIM_OWNED); // a bit of its table entry: no set of ids per node
    expect(await gossip.exchange(table.get(b)!)).toBe(true); // owned already: no change
    expect(gossip.ownedVersion).toBe(start + 1);
    expect(gossip.core!.learn({ ...alive(b), incarnation: 1, state: "dead", from: c })).toBe(true); // dead: let go, and dropped
    expect(gossip.owns(b)).toBe(false);
    expect(table.has(b)).toBe(false);
    expect(gossip.ownedVersion).toBe(start + 2);
    expect(gossip.owns(c)).toBe(false); // never known
    gossip.stop(); // every peer goes back to membership: one change
    expect(gossip.ownedVersion).toBe(start + 3);
  });
});
