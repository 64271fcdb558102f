/**
 * Dropped peers are probed a few at a time, and a heartbeat round signs this node's claim once:
 * after a killed process of 250 nodes every survivor probed all 249 dropped peers every peer
 * timeout, each call with a claim signed for it alone.
 */
import { describe, expect, test } from "bun:test";
import { Liveness, MAX_LOST_PROBES, type LivenessHost } from "../../src/membership/liveness.ts";
import { PeerTable } from "../../src/membership/peer-table.ts";
import { Scheduler } from "../../src/schedule/scheduler.ts";
import { SignedRecords } from "../../src/security/records.ts";
import { NodeIdentity } from "../../src/security/identity.ts";
import { claimOf } from "../../src/membership/claims.ts";
import type { Peer } from "../../src/types.ts";

const peer = (id: string, lastSeen: number): Peer => ({ id, name: id, address: "127.0.0.1", port: 9000, swarm: "lab", team: null, kind: "node", capabilities: [], last_seen: lastSeen });

function silentSwarm(count: number, stepsSince?: (at: number) => number) {
  const table = new PeerTable();
  const called: string[] = [];
  let selves = 0;
  let now = 1000;
  const host: LivenessHost = {
    self: () => (selves++, peer("me", now)),
    running: () => true,
    table,
    call: async (target) => {
      called.push(target.peer.id);
      throw new Error("refused");
    },
    admit: () => null,
    heard: () => {},
    dropped: () => {},
    scheduler: new Scheduler(),
  };
  const liveness = new Liveness(host, { heartbeatInterval: 1, peerTimeout: 4, heartbeatTimeout: 0.5, now: () => now, ...(stepsSince ? { stepsSince } : {}) });
  liveness.started();
  for (let i = 0; i < count; i++) table.upsert(peer(`dead${i}`, now), "gossip");
  for (let i = 0; i < count; i++) liveness.drop(`dead${i}`);
  return { liveness, called, advance: (s: number) => void (now += s), selves: () => selves };
}


describe("membership - dropped peers probed a few at a time", () => {
  test("a round probes at most MAX_LOST_PROBES dropped peers, and the next rounds take the ones left waiting first", async () => {
    const count = 3 * MAX_LOST_PROBES + 1;
    const { liveness, called, advance, selves } = silentSwarm(count);
    expect(liveness.offlineCount).toBe(count);
    advance(4); // every one is due (a probe every peer timeout)
    await liveness.round();
    expect(called.length).toBe(MAX_LOST_PROBES);
    expect(selves()).toBe(1); // one record of this node for the round's calls
    for (let round = 1; round < 4; round++) {
      advance(1);
      await liveness.round();
    }
    // Four rounds: every dropped peer probed once, none twice before all had their turn.
    expect(called.length).toBe(count);
    expect(new Set(called).size).toBe(count);
    // The first probed are due again only a peer timeout after their probe.
    advance(1);
    await liveness.round();
    expect(called.slice(count)).toEqual(called.slice(0, MAX_LOST_PROBES));
    expect(liveness.offlineCount).toBe(count);
  });

  test("a round looks at the dropped peers due, not at every one; those past their retention are forgotten", async () => {
    let looks = 0;
    const { liveness, called, advance } = silentSwarm(500, () => (looks++, 0));
    advance(1);
    await liveness.round(); // the first round also looks for peers past their retention: all 500
    expect(called.length).toBe(0);
    // None due (a probe every peer timeout): one look, at the longest waiting.
    looks = 0;
    advance(1);
    await liveness.round();
    expect(called.length).toBe(0);
    expect(looks).toBe(1);
    // Due: MAX_LOST_PROBES probed, a few looks, not 500.
    looks = 0;
    advance(2);
    await liveness.round();
    expect(called.length).toBe(MAX_LOST_PROBES);
    expect(looks).toBeLessThan(3 * (MAX_LOST_PROBES + 1));
    // Past the retention (at least 300 s), every one is forgotten at the next look for them.
    expect(liveness.offlineCount).toBe(500);
    advance(301);
    await liveness.round();
    expect(liveness.offlineCount).toBe(0);
    expect(called.length).toBe(MAX_LOST_PROBES);
  });

  test("this node's claim signed once for the same claim, again when it changes", () => {
    const identity = NodeIdentity.generate();
    const records = new SignedRecords({ identity, closed: false, verifyThread: false });
    const me = { ...peer(identity.id, 1000) };
    const first = records.signClaim(claimOf(me));
    expect(records.signClaim(claimOf({ ...me }))).toEqual(first!);
    expect(records.stats.signed).toBe(1);
    const later = records.signClaim(claimOf({ ...me, last_seen: 1001 }));
    expect(records.stats.signed).toBe(2);
    expect(later).not.toEqual(first!);
    expect(records.verifyClaim(claimOf({ ...me, last_seen: 1001 }), later)).toBe(true);
  });
});
