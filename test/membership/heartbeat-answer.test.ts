/**
 * What the peer table keeps of a heartbeat answer (the direct heartbeats every node still sends
 * to Python peers and, in mesh mode, to everyone): the answer's name and capabilities, the list
 * being the table's shared one, as gossip's updates give it, not each decoded answer's array.
 */
import { describe, expect, test } from "bun:test";
import { sharedList } from "../../src/membership/peer-table.ts";
import { FakeLivenessHost, peer } from "./fakes.ts";

describe("heartbeat answers - what the table keeps of them", () => {
  test("a peer's capability list from a heartbeat answer is the table's shared list, not the decoded array", async () => {
    const host = new FakeLivenessHost(peer("me", "198.51.100.1", 9001));
    const liveness = host.start({ heartbeatInterval: 5, peerTimeout: 20, heartbeatTimeout: 1 });
    const a = peer("a", "198.51.100.2", 9002);
    host.add(a, host.clock);
    // Each answer decoded anew brings its own array (as the codec makes one per message).
    const answered: string[][] = [];
    host.network.set(a.address, a.port, () => {
      const capabilities = ["translate", "summarize"];
      answered.push(capabilities);
      return { ok: true, self: { ...a, name: "renamed", capabilities } };
    });
    expect(await liveness.beat(host.table.get(a.id)!)).toBe(true);
    const kept = host.table.get(a.id)!.peer;
    expect(kept.name).toBe("renamed");
    expect(kept.capabilities).toEqual(["translate", "summarize"]);
    // The shared list is frozen; past the table's bound of distinct lists (other tests of the
    // process may have filled it) it is a frozen copy, never the answer's own array.
    expect(Object.isFrozen(kept.capabilities)).toBe(true);
    expect(answered).toHaveLength(1);
    expect(kept.capabilities).not.toBe(answered[0]!);
    expect(kept.capabilities).toEqual(sharedList(["translate", "summarize"]));
  });
});
