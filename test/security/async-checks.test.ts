/**
 * The conversation layer with its signature checks off the event loop (docs/security.md#cost): a
 * gate holds every check until the test opens it, so that what happens while a record is being
 * checked can be seen.
 */
import { describe, expect, test } from "bun:test";
import { Conversations } from "../../src/conversation/conversations.ts";
import { ConversationEndpoint, type ConversationHost } from "../../src/conversation/contracts.ts";
import { MemoryConversationLog } from "../../src/conversation/memory-log.ts";
import { authoredEvent } from "../../src/conversation/events.ts";
import { openingMessage } from "../../src/conversation/broadcast.ts";
import { EndpointError } from "../../src/errors.ts";
import { NodeIdentity } from "../../src/security/identity.ts";
import { SignedRecords, SIG_KEY, verifySignature } from "../../src/security/records.ts";
import type { ConversationEvent, Peer } from "../../src/types.ts";

/** A verification service that holds every check until {@link open}. */
class Gate {
  readonly asked: Array<{ id: string; bytes: Uint8Array; sig: Uint8Array; resolve: (ok: boolean) => void }> = [];
  /** Checks asked, in all. */
  count = 0;
  acquire(): void {}
  release(): void {}
  check(id: string, bytes: Uint8Array, sig: Uint8Array): Promise<boolean> {
    this.count++;
    return new Promise((resolve) => this.asked.push({ id, bytes, sig, resolve }));
  }
  /** Answer every check held, in order. */
  open(): void {
    for (const a of this.asked.splice(0)) a.resolve(verifySignature(a.id, a.bytes, a.sig));
  }
}

const peerOf = (id: string, name: string): Peer => ({ id, address: "10.0.0.1", port: 9999, swarm: "s", team: "default", name, kind: "node", capabilities: [], last_seen: 1 });
const author = NodeIdentity.generate();
const authorPeer = peerOf(author.id, "author");
const authorRecords = new SignedRecords({ identity: author, closed: false, verifyThread: false });
const third = peerOf("c".repeat(64), "third");

/** A log that refuses to be written once closed, as a closed SQLite log would. */
class ClosingLog extends MemoryConversationLog {
  closed = false;
  override append(event: ConversationEvent): boolean {
    if (this.closed) throw new Error("the log is closed");
    return super.append(event);
  }
}

function receiver(syncAnswer: unknown[] = []) {
  const gate = new Gate();
  const records = new SignedRecords({ identity: NodeIdentity.generate(), closed: false, verifier: gate });
  records.start();
  const calls: string[] = [];
  const emitted: string[] = [];
  const host: ConversationHost = {
    self: () => peerOf(records.signerId!, "receiver"),
    peers: () => [third],
    admit: () => null,
    call: async (_peer, endpoint) => {
      calls.push(endpoint);
      return endpoint === ConversationEndpoint.Sync ? { events: syncAnswer } : { ok: true };
    },
    emit: (event, payload) => void emitted.push(event === "conversation.event" ? `event:${(payload as ConversationEvent).kind}` : event),
    records,
  };
  const log = new ClosingLog();
  // Per-event relays (no batching): what is sent on shows as calls.
  const layer = new Conversations(host, { log, batchInterval: null });
  layer.start();
  return { gate, layer, calls, emitted, records, log };
}

const turns = async (n = 3) => {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};
const note = (conversation: string, payload: Record<string, unknown> = {}) => authorRecords.signEvent(authoredEvent(authorPeer, conversation, "note", payload, {}));
const replySig = (nonce: string, result: unknown) => authorRecords.signReply(nonce, result)!;

describe("security - conversation records checked off the event loop", () => {
  test("an event is not stored, emitted or sent on before its signature passed; a copy meanwhile is neither checked nor filed again", async () => {
    const r = receiver();
    const event = note("c1", { n: 1 });
    const first = r.layer.receiveEvent(structuredClone(event));
    const copy = r.layer.receiveEvent(structuredClone(event));
    await turns();
    expect(r.gate.count).toBe(1);
    expect(await r.layer.conversation("c1")).toEqual([]);
    expect(r.emitted).toEqual([]);
    expect(r.calls).toEqual([]);
    r.gate.open();
    expect(await first).toEqual({ ok: true, stored: true });
    expect(await copy).toEqual({ ok: true, stored: false });
    await r.layer.flush();
    expect(r.gate.count).toBe(1);
    expect((await r.layer.conversation("c1")).map((e) => e.event_id)).toEqual([event.event_id]);
    expect(r.emitted).toEqual(["event:note", "conversation.note"]);
    expect(r.calls).toEqual([ConversationEndpoint.Event]); // sent on once, to the third node
  });

  test("a reply: the same, whether its copies come by reply calls or in a batch", async () => {
    const r = receiver();
    const sig = replySig("n1", "yes");
    const first = r.layer.receiveReply("n1", authorPeer, "yes", sig);
    const copy = r.layer.receiveReply("n1", authorPeer, "yes", sig);
    const batched = r.layer.serveBatch([{ reply: { nonce: "n1", peer: authorPeer, result: "yes", sig } }], third.id, new Uint8Array());
    await turns();
    expect(r.gate.count).toBe(1);
    expect(await r.layer.replies("n1")).toEqual([]);
    expect(r.emitted).toEqual([]);
    r.gate.open();
    await Promise.all([first, copy, batched]);
    await r.layer.flush();
    expect(r.gate.count).toBe(1);
    expect(await r.layer.replies("n1")).toEqual([{ nonce: "n1", peer: authorPeer, result: "yes" }]);
    expect(r.emitted).toEqual(["event:reply", "conversation.reply", "broadcast.reply"]);
    expect(r.layer.stats.duplicatesDropped).toBe(2);
  });

  test("a forged record is refused as before: the same error, counter and nothing stored; a genuine copy after it is checked and filed", async () => {
    const r = receiver();
    const event = note("c2", { n: 2 });
    const forged = { ...event, payload: { n: 3 } };
    const refused = r.layer.receiveEvent(structuredClone(forged));
    const genuine = r.layer.receiveEvent(structuredClone(event)); // same id, waits for the forged copy's check
    await turns();
    r.gate.open();
    const error = await refused.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EndpointError);
    expect((error as EndpointError).code).toBe("bad_request");
    expect((error as Error).message).toBe(`a note event in the name of ${author.id.slice(0, 8)} has a signature that does not verify`);
    await turns();
    r.gate.open();
    expect(await genuine).toEqual({ ok: true, stored: true });
    expect(r.records.stats.refused).toBe(1);
    expect(r.gate.count).toBe(2);
    expect((await r.layer.conversation("c2")).map((e) => e.payload)).toEqual([{ n: 2 }]);
  });

  test("a batch's checks go together; a reply to an opening still being checked is filed after it, and no repair is due", async () => {
    const r = receiver();
    const opening = authorRecords.signEvent(openingMessage("n2", authorPeer, "work", [], {}));
    const items = [{ event: opening }, { reply: { nonce: "n2", peer: authorPeer, result: 1, sig: replySig("n2", 1) } }];
    const served = r.layer.serveBatch(items, authorPeer.id, new Uint8Array());
    await turns();
    expect(r.gate.asked).toHaveLength(2); // one turn: one batch for the thread
    expect(await r.layer.conversation("n2")).toEqual([]);
    r.gate.open();
    await served;
    expect((await r.layer.conversation("n2")).map((e) => e.kind)).toEqual(["message", "reply"]);
    expect(r.emitted.filter((e) => e.startsWith("event:"))).toEqual(["event:message", "event:reply"]);
    expect(r.layer.stats.repairs).toBe(0);
  });

  test("an ACK and then a reply of one node, both being checked: the ACK is filed and announced first", async () => {
    const r = receiver();
    const ack = authorRecords.signEvent(authoredEvent(authorPeer, "n3", "ack", {}, { parentId: "n3" }));
    const acked = r.layer.receiveEvent(ack);
    const replied = r.layer.receiveReply("n3", authorPeer, "done", replySig("n3", "done"));
    await turns();
    r.gate.open();
    await Promise.all([acked, replied]);
    expect(r.emitted.filter((e) => e === "conversation.ack" || e === "broadcast.reply")).toEqual(["conversation.ack", "broadcast.reply"]);
  });

  test("a broadcast's opening is recorded, and announced, only once its signature passed", async () => {
    const r = receiver();
    const opening = authorRecords.signEvent(openingMessage("n4", authorPeer, "work", [1], {}));
    r.layer.observe({ nonce: "n4", origin: authorPeer, endpoint: "work" }, "work", [1], { broadcast: {} }, opening.metadata[SIG_KEY]);
    await turns();
    expect(r.emitted).toEqual([]);
    expect(await r.layer.conversation("n4")).toEqual([]);
    r.gate.open();
    await r.layer.flush();
    expect(r.emitted).toContain("broadcast.received");
    expect((await r.layer.conversation("n4")).map((e) => e.kind)).toEqual(["message"]);
  });

  test("a sync page's checks go together; the new events come in the page's order, the forged one left out", async () => {
    const events = [note("c5", { n: 1 }), note("c5", { n: 2 }), { ...note("c5", { n: 3 }), payload: { n: 4 } }, note("c5", { n: 5 })];
    const r = receiver(events);
    const synced = r.layer.sync(third, "c5");
    await turns(6);
    expect(r.gate.asked).toHaveLength(4);
    r.gate.open();
    expect((await synced).map((e) => e.payload)).toEqual([{ n: 1 }, { n: 2 }, { n: 5 }]);
  });

  test("a node stopped while records are being checked files none of them, and nothing is thrown", async () => {
    const r = receiver();
    const event = note("c6");
    const got = r.layer.receiveEvent(event);
    const reply = r.layer.receiveReply("n6", authorPeer, 2, replySig("n6", 2));
    await turns();
    r.layer.stop();
    r.records.stop();
    r.log.closed = true; // its owner closes the log after the stop
    r.gate.open();
    expect(await got).toEqual({ ok: true, stored: false });
    expect(await reply).toEqual({ ok: true });
    r.log.closed = false;
    expect(await r.layer.conversation("c6")).toEqual([]);
    expect(await r.layer.conversation("n6")).toEqual([]);
    expect(r.emitted).toEqual([]);
  });
});
