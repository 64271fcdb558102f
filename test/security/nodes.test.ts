/**
 * Whole closed-swarm nodes over real TCP on 127.0.0.1: they join through a seed, broadcast and
 * call each other encrypted; an open node naming the same swarm does not get in.
 */
import { afterEach, expect, test } from "bun:test";
import { generateSwarmKey } from "../../src/security/keyring.ts";
import { eventually, startNode, stopAll } from "../helpers/net.ts";

afterEach(stopAll);

test("closed nodes over TCP join through a seed and broadcast; an open node of the same swarm is refused", async () => {
  const swarmKey = generateSwarmKey();
  const seed = await startNode({ swarm: "lab", swarmKey, heartbeatInterval: null });
  const members = await Promise.all([1, 2].map(() => startNode({ swarm: "lab", swarmKey, heartbeatInterval: null, seeds: [`127.0.0.1:${seed.port}`] })));
  const heard = new Set<string>();
  for (const m of members) m.endpoint("hear", () => void heard.add(m.id));
  await Promise.all(members.map((m) => m.join()));
  expect(seed.peers.size).toBe(2);
  await seed.broadcast("hear");
  await eventually(() => heard.size === 2, 5000, "both members heard the broadcast");
  // Node ids are the identities' public keys, 64 hex characters as Python expects.
  for (const n of [seed, ...members]) expect(n.id).toMatch(/^[0-9a-f]{64}$/);

  const outsider = await startNode({ swarm: "lab", heartbeatInterval: null, seeds: [`127.0.0.1:${seed.port}`] });
  await outsider.join().catch(() => undefined);
  expect(outsider.peers.size).toBe(0);
  expect(seed.peers.has(outsider.id)).toBe(false);
});
