/**
 * The forgery matrix of signed records (issue #13), in an open and in a closed swarm: an event, a
 * reply and a broadcast in another node's name are refused (0 stored, 0 forwarded), whether
 * unsigned, signed by another key, or carrying the victim's genuine signature over altered
 * content; the genuine ones are accepted. An attacker in the open swarm is anyone who can reach a
 * port; in the closed swarm, a member holding the key (the handshake authenticates it, not what it
 * says about others). Python-like (unsigned, never seen signing) authors stay accepted in the open
 * swarm only. Over the in-memory network.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { makeEvent } from "../../src/conversation/events.ts";
import { kw } from "../../src/rpc/client.ts";
import { NodeIdentity } from "../../src/security/identity.ts";
import { SIG_KEY, SignedRecords } from "../../src/security/records.ts";
import type { ConversationEvent } from "../../src/types.ts";
import { cleanUp, MemoryNetwork, nodeAt } from "./helpers.ts";
import { pythonPeer, refusal, setup, stored, SWARM, until } from "./signed-helpers.ts";

afterEach(cleanUp);

/** Sign `event` with a key that is not its author's. */
function signedByAnother(event: ConversationEvent): ConversationEvent {
  return new SignedRecords({ identity: NodeIdentity.generate(), closed: false }).signEvent(event);
}

for (const closed of [false, true]) {
  const swarmKind = closed ? "closed" : "open";

  describe(`signed records - ${swarmKind} swarm`, () => {
    test("an event in another node's name is refused unsigned, signed by another key, or with the author's signature over altered content; the genuine one is stored and relayed", async () => {
      const { a, b, d, attacker } = await setup(closed);
      const genuine = await a.emitConversationEvent("c1", "task.offer", { task: "sort" });
      await until(async () => (await b.conversation("c1")).length === 1 && (await d.conversation("c1")).length === 1, "the genuine event everywhere");
      expect(typeof genuine.metadata[SIG_KEY]).toBe("string");
      const before = { b: await stored(b), d: await stored(d) };

      const template = makeEvent({ conversationId: "c1", kind: "task.done", peer: a.toPeer(), payload: { result: "forged" } });
      const altered = { ...genuine, event_id: "forged-1", payload: { task: "wire the money" } };
      const cases: Array<[string, ConversationEvent]> = [
        ["unsigned", template],
        ["signed by another key", signedByAnother({ ...template, event_id: "forged-2" })],
        ["the author's signature over other content", altered],
        ["a garbage signature", { ...template, event_id: "forged-3", metadata: { [SIG_KEY]: "AAAA" } }],
      ];
      for (const [what, event] of cases) {
        const message = await refusal(attacker.call("_synapse.conversation.event", event));
        expect(message, what).toContain(a.id.slice(0, 8));
      }
      await Promise.all([b, d].map((n) => n.conversationLayer.flush()));
      expect(await stored(b)).toEqual(before.b); // 0 stored
      expect(await stored(d)).toEqual(before.d); // 0 forwarded
      expect(b.records.stats.refused).toBeGreaterThanOrEqual(cases.length);

      // A copy of the genuine event is what it is: accepted (not new).
      expect(await attacker.call("_synapse.conversation.event", genuine)).toEqual({ ok: true, stored: false });
    });

    test("a reply in another node's name is not recorded; the genuine one reaches everyone", async () => {
      const { a, b, d, attacker } = await setup(closed);
      const broadcast = await d.broadcast("nothing.here", "question");
      await a.reply(broadcast, { answer: 42 });
      await until(async () => (await b.replies(broadcast)).length === 1 && (await d.replies(broadcast)).length === 1, "the genuine reply everywhere");

      const forgedReply = async (nonce: string, sig?: Uint8Array) =>
        refusal(attacker.call("_synapse.broadcast.reply", nonce, a.toPeer(), kw(sig ? { result: "forged", sig } : { result: "forged" })));
      const other = new SignedRecords({ identity: NodeIdentity.generate(), closed: false });
      const second = await d.broadcast("nothing.here", "again");
      await forgedReply(second.nonce); // unsigned
      await forgedReply(second.nonce, other.signReply(second.nonce, "forged")!); // another key
      await forgedReply(second.nonce, a.records.signReply(broadcast.nonce, "forged")!); // a's key, another broadcast
      // As a gossiped `reply` event, with a's genuine reply signature over another result.
      const original = (await b.conversation(broadcast)).find((e) => e.kind === "reply")!;
      const asEvent = makeEvent({ conversationId: second.nonce, kind: "reply", peer: a.toPeer(), payload: { result: "forged" }, parentId: second.nonce, metadata: { [SIG_KEY]: original.metadata[SIG_KEY] } });
      await refusal(attacker.call("_synapse.conversation.event", asEvent));
      await Promise.all([b, d].map((n) => n.conversationLayer.flush()));
      expect(await b.replies(second)).toEqual([]);
      expect(await d.replies(second)).toEqual([]);

      // The genuine reply to the second broadcast still gets in after the forgeries.
      await a.reply(second, "real");
      await until(async () => (await b.replies(second)).map((r) => r.result).join() === "real" && (await d.replies(second)).length === 1, "the genuine reply");
    });

    test("a broadcast in another node's name is served but its message is not recorded in that name", async () => {
      const { a, b, attacker } = await setup(closed);
      await a.emitConversationEvent("warm-up", "note", {}); // b has seen a sign (in the open swarm that is what tells)
      await until(async () => (await b.conversation("warm-up")).length === 1, "warm-up");
      const forged = { nonce: "0190f5c0-0000-7000-8000-000000000001", origin: a.toPeer(), endpoint: "echo" };
      expect(await attacker.call("echo", "x", kw({ broadcast: forged }))).toBe("x");
      await b.conversationLayer.flush();
      expect(await b.conversation(forged.nonce)).toEqual([]);
      // The genuine broadcast's message is recorded, with the origin's signature.
      const real = await a.broadcast("echo", "y");
      await until(async () => (await b.conversation(real)).length === 1, "the genuine message");
      expect(typeof (await b.conversation(real))[0]!.metadata[SIG_KEY]).toBe("string");
    });

    test(closed ? "an unsigned event of any author is refused (no Python peer is in a closed swarm)" : "an unsigned event of a Python-like author is accepted and relayed", async () => {
      const { b, d, attacker } = await setup(closed);
      const event = makeEvent({ conversationId: "py", kind: "note", peer: pythonPeer(), payload: { hi: 1 } });
      if (closed) {
        expect(await refusal(attacker.call("_synapse.conversation.event", event))).toContain("closed swarm");
        await b.conversationLayer.flush();
        expect(await b.conversation("py")).toEqual([]);
      } else {
        expect(await attacker.call("_synapse.conversation.event", event)).toEqual({ ok: true, stored: true });
        await until(async () => (await d.conversation("py")).length === 1, "relayed to d");
        // And its unsigned reply too.
        const nonce = "py-broadcast";
        expect(await attacker.call("_synapse.broadcast.reply", nonce, pythonPeer(), kw({ result: 1 }))).toEqual({ ok: true });
        expect((await b.replies(nonce)).map((r) => r.peer.id)).toEqual([pythonPeer().id]);
      }
    });
  });
}

describe("signed records - sync", () => {
  test("a synced event in a signer's name whose signature fails is left out; the genuine ones come", async () => {
    const { a, b } = await setup(false);
    await a.emitConversationEvent("s1", "note", { n: 1 });
    await until(async () => (await b.conversation("s1")).length === 1, "delivered");
    // A fake peer answers sync with a tampered copy and a new genuine-looking one in a's name.
    const net = new MemoryNetwork();
    const liar = await nodeAt(net, "10.1.0.1", { swarm: SWARM });
    const victim = await nodeAt(net, "10.1.0.2", { swarm: SWARM });
    const good = await a.conversation("s1");
    liar.endpoints.unregister("_synapse.conversation.sync");
    liar.endpoint("_synapse.conversation.sync", { params: ["conversation_id", "since", "page"] }, () => ({
      events: [good[0], { ...good[0], event_id: "tampered", payload: { n: 2 } }],
    }));
    const fresh = await victim.syncConversation({ address: "10.1.0.1", port: 9999 }, "s1");
    expect(fresh.map((e) => e.event_id)).toEqual([good[0]!.event_id]);
    expect((await victim.conversation("s1")).map((e) => e.event_id)).toEqual([good[0]!.event_id]);
  });
});
