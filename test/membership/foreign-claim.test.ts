/**
 * A SWIM message from a node of another swarm (or team) introduces nobody: its sender's claim
 * enters neither the table nor SWIM's list, which would otherwise gossip and probe it.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { NodeOptions } from "../../src/node-options.ts";
import { startNode, stopAll } from "./fixtures.ts";

afterEach(stopAll);

const GOSSIP: NodeOptions = { heartbeatInterval: 0.3, peerTimeout: 3 };

describe("membership - SWIM messages from outside the swarm", () => {
  for (const [what, other] of [
    ["swarm", { swarm: "elsewhere" }],
    ["team", { swarm: "lab", team: "blue" }],
  ] as const) {
    test(`a push-pull from a node of another ${what} is refused, and neither its table nor SWIM's list takes the sender`, async () => {
      const a = await startNode({ ...GOSSIP, swarm: "lab", name: "a" });
      const b = await startNode({ ...GOSSIP, ...other, name: "b" });
      // b's SWIM sends a's its join (a push-pull led by b's own signed claim), as a member of a's swarm would.
      const answered = await b.membership.gossip!.core!.join({ id: a.id, address: "127.0.0.1", port: a.port }, 2);
      expect(answered).toBe(false);
      expect(a.membership.gossip!.core!.member(b.id)).toBeUndefined();
      expect(a.peers.has(b.id)).toBe(false);
      expect(b.membership.gossip!.core!.member(a.id)).toBeUndefined();
    });
  }

  test("a push-pull from a node of the same swarm and team introduces it first-hand", async () => {
    const a = await startNode({ ...GOSSIP, swarm: "lab", name: "a" });
    const b = await startNode({ ...GOSSIP, swarm: "lab", name: "b" });
    expect(await b.membership.gossip!.core!.join({ id: a.id, address: "127.0.0.1", port: a.port }, 2)).toBe(true);
    expect(a.membership.gossip!.core!.member(b.id)?.state).toBe("alive");
    expect(a.peers.has(b.id)).toBe(true);
  });
});
