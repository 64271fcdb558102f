/**
 * The forgery matrix of membership claims (issue #13): a heartbeat or join in another node's name
 * moves no known peer's entry (unsigned, signed by another key, or with the owner's signature over
 * another address), and neither does a peer list that says the peer moved; the owner's own signed
 * claim does. In a closed swarm every claim must be signed. A Python-like peer (never seen signing)
 * of an open swarm is believed as before. Over the in-memory network.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { kw } from "../../src/rpc/client.ts";
import { claimOf } from "../../src/membership/claims.ts";
import { NodeIdentity } from "../../src/security/identity.ts";
import { SignedRecords } from "../../src/security/records.ts";
import type { Peer } from "../../src/types.ts";
import { eventually, sleep } from "../helpers/net.ts";
import { cleanUp, nodeAt } from "./helpers.ts";
import { pythonPeer, refusal, setup } from "./signed-helpers.ts";

afterEach(cleanUp);

for (const closed of [false, true]) {
  describe(`signed claims - ${closed ? "closed" : "open"} swarm`, () => {
    test("a heartbeat or join in another node's name does not move its entry; its owner's signed claim does", async () => {
      const { a, b, attacker } = await setup(closed);
      // b has a's signed claims from the mesh's joins and heartbeats.
      await eventually(() => b.records.knownSigner(a.id), 5000, "b knows that a signs");
      const moved: Peer = { ...a.toPeer(), address: "10.0.0.66" };
      const other = new SignedRecords({ identity: NodeIdentity.generate(), closed: false });
      for (const endpoint of ["_synapse.heartbeat", "_synapse.join"]) {
        await refusal(attacker.call(endpoint, moved)); // unsigned
        await refusal(attacker.call(endpoint, moved, kw({ sig: other.sign(new TextEncoder().encode("x")) }))); // another key
        await refusal(attacker.call(endpoint, moved, kw({ sig: a.records.signClaim(claimOf(a.toPeer())) }))); // a's claim of its real address
      }
      expect(b.peers.get(a.id)!.address).toBe("10.0.0.1");
      // a's own signature moves it (a node that really moved says so in its heartbeat).
      expect(await attacker.call("_synapse.heartbeat", moved, kw({ sig: a.records.signClaim(claimOf(moved)) }))).toMatchObject({ ok: true });
      expect(b.peers.get(a.id)!.address).toBe("10.0.0.66");
      // A recorded older claim of a's, replayed, does not move it back; it still counts as alive.
      const old: Peer = { ...a.toPeer(), last_seen: 1_000 };
      const oldSig = a.records.signClaim(claimOf(old));
      await refusal(attacker.call("_synapse.heartbeat", old, kw({ sig: oldSig })));
      expect(b.peers.get(a.id)!.address).toBe("10.0.0.66");
      const oldHere: Peer = { ...moved, last_seen: 1_000 };
      expect(await attacker.call("_synapse.heartbeat", oldHere, kw({ sig: a.records.signClaim(claimOf(oldHere)) }))).toMatchObject({ ok: true });
    });

    test("a replayed heartbeat or join is no sign of life: the entry's last_seen stays, and an unknown member is probed first", async () => {
      const { a, b, attacker } = await setup(closed);
      await eventually(() => b.records.knownSigner(a.id), 5000, "b knows that a signs");
      // a's genuine claim, recorded by the attacker as it went by.
      const recorded: Peer = { ...a.toPeer(), last_seen: Date.now() / 1000 };
      const sig = a.records.signClaim(claimOf(recorded));
      expect(await attacker.call("_synapse.heartbeat", recorded, kw({ sig }))).toMatchObject({ ok: true });
      const seen = b.peers.get(a.id)!.last_seen;
      for (const endpoint of ["_synapse.heartbeat", "_synapse.join", "_synapse.heartbeat"]) {
        await sleep(20);
        // Answered as any call (the replayer learns nothing), but not counted.
        expect(await attacker.call(endpoint, recorded, kw({ sig }))).toBeTruthy();
        expect(b.peers.get(a.id)!.last_seen).toBe(seen);
      }
      // a's next claim (a newer last_seen) counts again.
      await sleep(20);
      const next: Peer = { ...a.toPeer(), last_seen: Date.now() / 1000 };
      await attacker.call("_synapse.heartbeat", next, kw({ sig: a.records.signClaim(claimOf(next)) }));
      expect(b.peers.get(a.id)!.last_seen).toBeGreaterThan(seen);
      // Once a is gone from b's table, its replayed claim does not bring it back unprobed: b probes
      // a's address first (a still answers here, so it is admitted again, from the probe).
      const probesBefore = b.membership.stats.unverifiedProbed;
      b.membership.table.remove(a.id);
      await attacker.call("_synapse.heartbeat", next, kw({ sig: a.records.signClaim(claimOf(next)) }));
      await eventually(() => b.membership.stats.unverifiedProbed > probesBefore, 5000, "b probes a before taking the replayed claim");
    });

    test("a peer list that moves a known signer is not believed", async () => {
      const { a, b, net, options } = await setup(closed);
      await eventually(() => b.records.knownSigner(a.id), 5000, "b knows that a signs");
      const liar = await nodeAt(net, "10.0.0.8", options);
      liar.endpoints.unregister("_synapse.join");
      liar.endpoint("_synapse.join", { params: ["peer", "sig"] }, () => ({ accepted: true, self: liar.toPeer(), peers: [{ ...a.toPeer(), address: "10.0.0.66" }] }));
      await b.join({ seeds: ["10.0.0.8:9999"], wait: 0 });
      expect(b.peers.has(liar.id)).toBe(true);
      expect(b.peers.get(a.id)!.address).toBe("10.0.0.1");
    });

    test(closed ? "an unsigned claim is refused even for an unknown member" : "a Python-like peer's unsigned claims are believed, moves included", async () => {
      const { b, attacker } = await setup(closed);
      const py = pythonPeer();
      if (closed) {
        expect(await refusal(attacker.call("_synapse.heartbeat", py))).toContain("closed swarm");
        expect(b.peers.has(py.id)).toBe(false);
        return;
      }
      // It calls from 10.0.0.9 but says 10.0.0.7: probed first (bounds.ts), so say where it calls from.
      const here = { ...py, address: "10.0.0.9" };
      expect(await attacker.call("_synapse.heartbeat", here)).toMatchObject({ ok: true });
      await eventually(() => b.peers.has(py.id), 5000, "the Python-like peer admitted");
      expect(await attacker.call("_synapse.heartbeat", { ...here, port: 9998 })).toMatchObject({ ok: true });
      expect(b.peers.get(py.id)!.port).toBe(9998);
    });
  });
}
