/**
 * The pull half of batched dissemination, where a node could otherwise be left without an item:
 * the answer follows the caller's digest alone, a caller whose digest lists what this node lacks
 * makes it pull again, and a copy of an event held already costs no signature check.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Client, kw } from "../../src/rpc/client.ts";
import { keyHash, writeDigest } from "../../src/conversation/batch-items.ts";
import { CHECK_PULL_ROUNDS, HOT_ROUNDS, IDLE_PULL_ROUNDS } from "../../src/conversation/dissemination.ts";
import type { Node } from "../../src/node.ts";
import type { ConversationEvent } from "../../src/types.ts";
import { countCalls, eventually, settle, stopAll, swarm } from "./swarm.ts";

afterEach(stopAll);

const BATCH = "_synapse.conversation.batch";

type Answer = { items: Array<{ event?: ConversationEvent }> };

describe("conversation - batched dissemination, pulling", () => {
  test("the answer brings every remembered item the caller's digest does not list, even those this node already sent it", async () => {
    const nodes = await swarm(2);
    const [a, b] = nodes as [Node, Node];
    const event = await b.emitConversationEvent("pull", "note", { n: 1 });
    await settle(nodes);
    expect((await a.conversation("pull")).map((e) => e.event_id)).toEqual([event.event_id]);
    // b's answer to a's call (or its push) may never have reached a: a calls again without the
    // event in its digest, and gets it.
    const answer = await new Client("127.0.0.1", b.port).call<Answer>(BATCH, [], kw({ from: a.id, have: new Uint8Array(0) }));
    expect(answer.items.map((i) => i.event?.event_id)).toContain(event.event_id);
    const listed = await new Client("127.0.0.1", b.port).call<Answer>(BATCH, [], kw({ from: a.id, have: writeDigest([keyHash(event.event_id)]) }));
    expect(listed.items.map((i) => i.event?.event_id)).not.toContain(event.event_id);
  });

  test("a node whose pulls had stopped pulls again when a caller's digest lists an item it does not hold", async () => {
    const nodes = await swarm(2);
    const [a, b] = nodes as [Node, Node];
    await a.emitConversationEvent("quiet", "note");
    await settle(nodes);
    const pulls = countCalls(b, BATCH);
    const sent = a.conversationLayer.stats.batchesSent;
    await new Client("127.0.0.1", a.port).call(BATCH, [], kw({ from: b.id, have: writeDigest([keyHash("an item a never heard of")]) }));
    await eventually(() => pulls.count > 0 && a.conversationLayer.stats.batchesSent > sent, 5000, "a pull from a");
    await settle(nodes);
  });

  test("a node whose pulls stopped pulls again a few rounds after its last news, not only once a second", async () => {
    const nodes = await swarm(2);
    const [a, b] = nodes as [Node, Node];
    await a.emitConversationEvent("check", "note");
    await settle(nodes); // a's item cooled (HOT_ROUNDS rounds) and its pulls stopped
    const pulls = countCalls(b, BATCH);
    // In the next 1.2 s: a's check pulls (CHECK_PULL_ROUNDS after its last news) and its pull of
    // every IDLE_PULL_ROUNDS (50 rounds of 20 ms: 1 s after its last news). Only the latter before.
    await Bun.sleep(1200);
    expect(CHECK_PULL_ROUNDS.every((r) => r > HOT_ROUNDS + 1 && r < IDLE_PULL_ROUNDS)).toBe(true);
    expect(pulls.count).toBeGreaterThanOrEqual(2);
    await settle(nodes);
  });

  test("a copy of an event held already is dropped before its signature is checked", async () => {
    const nodes = await swarm(2);
    const [a, b] = nodes as [Node, Node];
    const event = await b.emitConversationEvent("once", "note");
    await settle(nodes);
    const checks = () => a.records.stats.verified + a.records.stats.cached;
    const before = checks();
    const client = new Client("127.0.0.1", a.port);
    for (let i = 0; i < 3; i++) expect(await client.call<{ ok: boolean; stored: boolean }>("_synapse.conversation.event", event)).toEqual({ ok: true, stored: false });
    expect(checks()).toBe(before);
    // A forged copy under a known id is not stored or sent on either: the log already holds that id.
    const forged = { ...event, payload: { forged: true } };
    expect(await client.call<{ ok: boolean; stored: boolean }>("_synapse.conversation.event", forged)).toEqual({ ok: true, stored: false });
    await settle(nodes);
    for (const node of nodes) expect((await node.conversation("once")).map((e) => e.payload)).toEqual([{}]);
  });
});
