/**
 * Conversation input a peer forges to pin a node's memory or its sync: a broadcast whose nonce is
 * empty (it would open conversation "", which a full sync then trips over) and events dated in the
 * future (retention would never prune them, compaction would keep them as the "newest" for good).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Client, kw } from "../../src/rpc/client.ts";
import { MAX_CLOCK_SKEW, fromTheFuture, makeEvent } from "../../src/conversation/events.ts";
import { broadcastTime } from "../../src/conversation/broadcast.ts";
import { uuidv7 } from "../../src/conversation/uuid.ts";
import { nowSeconds } from "../../src/util/time.ts";
import { readBroadcast } from "../../src/rpc/endpoints.ts";
import type { Peer } from "../../src/types.ts";
import { remoteError, settle, stopAll, swarm } from "./swarm.ts";

afterEach(stopAll);

const author = (port: number): Peer => ({ id: "c".repeat(64), address: "127.0.0.1", port, swarm: "conv", team: "default", name: "forger", kind: "node", capabilities: [], last_seen: nowSeconds() });

describe("conversation - hostile input", () => {
  test("a broadcast with an empty or oversize nonce is no broadcast: no conversation is opened", async () => {
    expect(readBroadcast({ nonce: "", origin: { id: "x" } })).toBeNull();
    expect(readBroadcast({ nonce: "n".repeat(257), origin: { id: "x" } })).toBeNull();
    expect(readBroadcast({ nonce: "n", origin: { id: "x" } })).not.toBeNull();
    const [node] = await swarm(1);
    let seen: unknown = "unset";
    node!.endpoint("echo", (x: unknown, ctx) => ((seen = ctx.broadcast), x));
    const client = new Client("127.0.0.1", node!.port);
    const forged = { nonce: "", origin: author(1), endpoint: "echo" };
    const refused = await remoteError(client.call("echo", 1, kw({ broadcast: forged })));
    expect([refused.code, refused.message]).toEqual(["bad_request", "invalid broadcast: a nonce of 1 to 256 characters and an origin map are required"]);
    await settle([node!]);
    expect(seen).toBe("unset"); // the handler never ran
    expect(await node!.conversations()).toEqual([]);
  });

  test("an event dated beyond the clock-skew window is refused and not stored; one within it is stored", async () => {
    const [node] = await swarm(1);
    const client = new Client("127.0.0.1", node!.port);
    const ahead = makeEvent({ conversationId: "c1", kind: "note", peer: author(node!.port), payload: {}, createdAt: nowSeconds() + 10 * 365 * 86400 });
    const error = await remoteError(client.call("_synapse.conversation.event", ahead));
    expect([error.code, error.message]).toEqual(["bad_request", `conversation event dated more than ${MAX_CLOCK_SKEW} s ahead of this node's clock`]);
    const near = makeEvent({ conversationId: "c2", kind: "note", peer: author(node!.port), payload: {}, createdAt: nowSeconds() + 5 });
    expect(await client.call("_synapse.conversation.event", near)).toEqual({ ok: true, stored: true });
    await settle([node!]);
    expect(await node!.conversations()).toEqual(["c2"]);
  });

  test("an opening message dated by a nonce from the future is dated now", () => {
    const now = nowSeconds();
    const future = uuidv7(Date.now() + 3 * 86400 * 1000);
    expect(fromTheFuture(broadcastTime(future), now)).toBe(false);
    expect(broadcastTime(future)).toBeLessThan(now + MAX_CLOCK_SKEW);
    const present = uuidv7();
    expect(Math.abs(broadcastTime(present) - now)).toBeLessThan(MAX_CLOCK_SKEW);
  });
});
