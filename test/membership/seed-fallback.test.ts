/**
 * A seed too busy to exchange state (a mass join's one node every joiner asks): the joiner takes
 * the swarm from one member the seed listed instead, chosen at random (docs/membership.md,
 * "Joining through a Bun seed").
 */
import { afterEach, expect, test } from "bun:test";
import { SeedDiscovery } from "../../src/membership/seed-discovery.ts";
import { FakeDiscoveryHost, peer } from "./fakes.ts";

const ME = peer("me", "198.51.100.1", 9001);
const SEED = peer("seed", "198.51.100.2", 9002);
const LISTED = [peer("m1", "198.51.100.11", 9011), peer("m2", "198.51.100.12", 9012), peer("m3", "198.51.100.13", 9013)];

let discovery: SeedDiscovery | null = null;
afterEach(() => discovery?.stop());

/** A joiner whose seed answers `_synapse.join` with LISTED, and whose state exchange with the seed `exchanged`. */
async function joinWith(exchanged: boolean): Promise<FakeDiscoveryHost> {
  const host = new FakeDiscoveryHost(ME);
  const now = Date.now() / 1000;
  host.network.set(SEED.address, SEED.port, () => ({ accepted: true, self: { ...SEED, last_seen: now }, peers: [ME, ...LISTED].map((p) => ({ ...p, last_seen: now })) }));
  Object.assign(host, { gossipJoin: () => Promise.resolve(exchanged) });
  discovery = new SeedDiscovery(host, [{ host: SEED.address, port: SEED.port }], { heartbeatInterval: 5, peerTimeout: 20, joinTimeout: 1 });
  discovery.start();
  await discovery.refresh();
  return host;
}

test("a seed whose state exchange failed: one member it listed, at random, is probed (and so joined) instead", async () => {
  const host = await joinWith(false);
  const probed = host.admitted.filter((a) => a.source === "exchange").map((a) => a.peer.id);
  expect(probed).toHaveLength(1);
  expect(LISTED.map((p) => p.id)).toContain(probed[0]!);
  expect(host.knows(SEED.id)).toBe(true);
  // The seed is joined again at the next rejoin round (its exchange is still owed).
  expect(discovery!.status()[0]!.joinedAt).not.toBeNull();
});

test("a seed whose state exchange was answered: its SWIM members are not probed", async () => {
  const host = await joinWith(true);
  // The fake host's SWIM holds nobody, so the listed are probed as peers outside SWIM would be;
  // what matters here is that the fallback above adds no probe of its own: all three, once each.
  const probed = host.admitted.filter((a) => a.source === "exchange").map((a) => a.peer.id);
  expect(probed.sort()).toEqual(LISTED.map((p) => p.id).sort());
});
