/**
 * Windowed digests (hello feature `have_window`): between Bun peers that offer it, batch calls
 * list only the items learnt within HAVE_WINDOW seconds and say so (`window`), and the callee
 * answers only with what it learnt within about as long; an idle pull and one call every
 * FULL_DIGEST_SECONDS carry the full digest, so that an older item a node lacks still comes by
 * pull, and so do the calls of a node whose latest broadcast has been spreading for more than
 * WINDOWED_SPREAD. A peer that does not offer the feature never gets `window`.
 */
import { afterEach, describe, expect, spyOn, test } from "bun:test";
import { Conversations } from "../../src/conversation/conversations.ts";
import { ConversationEndpoint, type ConversationHost } from "../../src/conversation/contracts.ts";
import { EAGER_PULL_ITEMS } from "../../src/conversation/dissemination.ts";
import { DigestChoice, FULL_DIGEST_SECONDS, HAVE_WINDOW, WINDOWED_SPREAD, WINDOW_SLACK, digestWindow } from "../../src/conversation/digest-window.ts";
import { keyHash, readDigest, writeDigest } from "../../src/conversation/batch-items.ts";
import { makeEvent } from "../../src/conversation/events.ts";
import type { Node } from "../../src/node.ts";
import type { ConversationEvent, Peer } from "../../src/types.ts";
import { settle, stopAll, swarm, withoutHelloFeature } from "./swarm.ts";

afterEach(stopAll);

const record = (i: number): Peer => ({ id: `${i}`.padStart(64, "0"), name: `p${i}`, address: "127.0.0.1", port: 7000 + i, swarm: "s", team: null, kind: "node", capabilities: [], last_seen: 1 });

/** performance.now() (what the layer's monotonic clock reads) moved on by `skew` ms. */
function skewedClock() {
  const real = performance.now.bind(performance);
  const clock = { skew: 0 };
  const spy = spyOn(performance, "now").mockImplementation(() => real() + clock.skew);
  return { clock, restore: () => spy.mockRestore() };
}

const events = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ event: makeEvent({ conversationId: "c", kind: "note", peer: record(1), payload: { tag, i } }) }));

type Call = { window: unknown; have: Set<number> };

/** A layer whose batch calls (to peer 1, which offers `have_window` when `windowed`) are answered with fresh events for `busy` calls, then nothing. */
function layerWith(windowed: boolean, busy: number) {
  const calls: Call[] = [];
  const host: ConversationHost = {
    self: () => record(0),
    peers: () => [record(1)],
    admit: () => null,
    call: async (_peer, endpoint, _args, kwargs) => {
      if (endpoint !== ConversationEndpoint.Batch) return { ok: true };
      const k = kwargs as { have: Uint8Array; window?: unknown };
      const digest = readDigest(k.have);
      const have = new Set<number>();
      const view = new DataView(k.have.buffer, k.have.byteOffset, k.have.byteLength);
      for (let at = 0; at < k.have.length; at += 4) have.add(view.getInt32(at) >>> 0);
      expect(have.size).toBe(digest.size);
      calls.push({ window: k.window, have });
      // Enough news for the next pull to go at once (eager), for `busy` calls.
      return { items: calls.length <= busy ? events(EAGER_PULL_ITEMS + 1, `answer${calls.length}`) : [] };
    },
    emit: () => undefined,
    batches: () => true,
    haveWindow: () => windowed,
  };
  const layer = new Conversations(host, { batchInterval: 0.02 });
  layer.start();
  return { layer, calls };
}

async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !done(); i++) await Bun.sleep(5);
}

describe("conversation - windowed digests, the caller", () => {
  test("to a peer that offers have_window: the news of the last HAVE_WINDOW seconds with `window`, and the full digest once every FULL_DIGEST_SECONDS", async () => {
    const { clock, restore } = skewedClock();
    try {
      const { layer, calls } = layerWith(true, 1000);
      // Items learnt long ago (HAVE_WINDOW + 2 s before the calls), from a peer's push.
      const old = events(3, "old");
      await layer.serveBatch(old, record(1).id, new Uint8Array(0));
      const oldHashes = old.map((i) => keyHash(i.event.event_id) >>> 0);
      clock.skew = (HAVE_WINDOW + 2) * 1000;
      calls.length = 0;
      void layer.emit("c", "note", { own: true }); // news here: the rounds (and eager pulls) start
      await until(() => calls.length >= 6);
      // A second later by the layer's clock: the next call carries the full digest again.
      const second = calls.length;
      clock.skew += FULL_DIGEST_SECONDS * 1000;
      await until(() => calls.length >= second + 6);
      layer.stop();
      const check = (c: Call) => {
        if (c.window === undefined) for (const h of oldHashes) expect(c.have.has(h)).toBe(true);
        else {
          expect(c.window).toBe(HAVE_WINDOW);
          for (const h of oldHashes) expect(c.have.has(h)).toBe(false);
        }
      };
      calls.forEach(check);
      // The first call of each second is full; windowed ones follow it.
      expect(calls[0]!.window).toBeUndefined();
      expect(calls[second]!.window).toBeUndefined();
      expect(calls.slice(1, second).some((c) => c.window === HAVE_WINDOW)).toBe(true);
      expect(calls.slice(second + 1).some((c) => c.window === HAVE_WINDOW)).toBe(true);
    } finally {
      restore();
    }
  });

  test("to a peer that does not offer it: every call lists everything remembered, without `window`", async () => {
    const { layer, calls } = layerWith(false, 4);
    void layer.emit("c", "note", { own: true });
    await until(() => calls.length >= 4);
    await layer.flush();
    layer.stop();
    expect(calls.length).toBeGreaterThanOrEqual(4);
    for (const c of calls) expect(c.window).toBeUndefined();
  });
});

describe("conversation - windowed digests, a slow spread", () => {
  const FULL = Uint8Array.of(1);
  const WINDOWED = Uint8Array.of(2);
  const memory = { haveDigest: () => FULL, haveDigestSince: () => WINDOWED };
  const kind = (choice: DigestChoice, now: number) => {
    const { have, window } = choice.pick(memory, () => true, false, now);
    expect(window === undefined).toBe(have === FULL);
    return have === FULL ? "full" : "windowed";
  };
  const spread = WINDOWED_SPREAD * 1000;

  test("windowed while the broadcast of the reply learnt last has spread here for at most WINDOWED_SPREAD, full after", () => {
    expect(WINDOWED_SPREAD * 1000).toBeLessThan(FULL_DIGEST_SECONDS * 1000);
    const choice = new DigestChoice();
    expect(kind(choice, 0)).toBe("full"); // the first call of a second
    choice.noteReply("n1", 0);
    expect(kind(choice, spread / 2)).toBe("windowed");
    expect(kind(choice, spread)).toBe("windowed");
    expect(kind(choice, spread + 1)).toBe("full"); // n1 is spreading slowly
    expect(kind(choice, spread + 20)).toBe("full");
    // A new broadcast's first reply: windowed again (the last full digest went out 20 ms ago).
    choice.noteReply("n2", spread + 30);
    expect(kind(choice, spread + 40)).toBe("windowed");
    // A late reply of the slow one: its broadcast counts from its own first reply.
    choice.noteReply("n1", spread + 50);
    expect(kind(choice, spread + 60)).toBe("full");
    choice.noteReply("n2", spread + 70);
    expect(kind(choice, spread + 80)).toBe("windowed");
  });

  test("the first replies of the latest 64 broadcasts are kept: an older one counts from when it is learnt again", () => {
    const choice = new DigestChoice();
    expect(kind(choice, 0)).toBe("full");
    choice.noteReply("first", 0);
    for (let i = 0; i < 64; i++) choice.noteReply(`n${i}`, 1 + i);
    // "first" was let go (65 broadcasts): learnt again, it counts from now.
    choice.noteReply("first", 900);
    expect(kind(choice, 950)).toBe("windowed");
    // n63 is kept: first learnt at 64 ms, spreading for 896 ms by 960.
    choice.noteReply("n63", 955);
    expect(kind(choice, 960)).toBe("full");
    // n0 was let go when "first" came back: it counts from now.
    choice.noteReply("n0", 965);
    expect(kind(choice, 970)).toBe("windowed");
  });
});

describe("conversation - windowed digests, the callee", () => {
  test("answers a windowed digest with what it learnt within window - WINDOW_SLACK only; a full digest (or a window that is no positive number) with everything", async () => {
    const { clock, restore } = skewedClock();
    try {
      const host: ConversationHost = { self: () => record(0), peers: () => [record(1), record(2)], admit: () => null, call: async () => ({ items: [] }), emit: () => undefined, batches: () => true };
      const layer = new Conversations(host, { batchInterval: 0.02 });
      layer.start();
      const old = events(2, "old");
      await layer.serveBatch(old, record(1).id, new Uint8Array(0));
      clock.skew = (HAVE_WINDOW + 1) * 1000;
      const fresh = events(2, "fresh");
      await layer.serveBatch(fresh, record(1).id, new Uint8Array(0));
      const ids = (answer: { items: unknown }) => (answer.items as Array<{ event: ConversationEvent }>).map((i) => i.event.payload.tag);
      // Peer 2 lists nothing: windowed, it gets the fresh items only; full, all four.
      expect(ids(await layer.serveBatch([], record(2).id, new Uint8Array(0), false, HAVE_WINDOW))).toEqual(["fresh", "fresh"]);
      expect(ids(await layer.serveBatch([], record(2).id, new Uint8Array(0), false))).toEqual(["old", "old", "fresh", "fresh"]);
      for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, "3", null]) {
        expect(ids(await layer.serveBatch([], record(2).id, new Uint8Array(0), false, bad))).toEqual(["old", "old", "fresh", "fresh"]);
      }
      // What a windowed digest lists is not sent back.
      const listed = writeDigest([keyHash(fresh[0]!.event.event_id)]);
      expect(ids(await layer.serveBatch([], record(2).id, listed, false, HAVE_WINDOW))).toEqual(["fresh"]);
      layer.stop();
    } finally {
      restore();
    }
  });

  test("digestWindow: matched over window + WINDOW_SLACK, answered within window - WINDOW_SLACK (never a negative span)", () => {
    expect(digestWindow(3, 10_000)).toEqual({ matchSince: 10_000 - (3 + WINDOW_SLACK) * 1000, answerSince: 10_000 - (3 - WINDOW_SLACK) * 1000 });
    expect(digestWindow(0.5, 10_000)).toEqual({ matchSince: 10_000 - (0.5 + WINDOW_SLACK) * 1000, answerSince: 10_000 });
    for (const bad of [0, -2, Number.NaN, Number.POSITIVE_INFINITY, "3", undefined, {}]) expect(digestWindow(bad, 10_000)).toBeUndefined();
  });
});

describe("conversation - windowed digests between Bun nodes", () => {
  /** Record the `window` of every batch call `node` serves. */
  function windows(node: Node): unknown[] {
    const seen: unknown[] = [];
    const batch = node.endpoints.get("_synapse.conversation.batch")!;
    const handler = batch.handler;
    batch.handler = (...args: unknown[]) => {
      seen.push((args as unknown[])[4]);
      return handler(...args);
    };
    return seen;
  }

  test("a node sends `window` to a peer that offered have_window, never to one that did not; every event reaches every node", async () => {
    const nodes = await swarm(3);
    const [a, b, c] = nodes as [Node, Node, Node];
    withoutHelloFeature(c, "have_window");
    for (const node of nodes) node.pool.closeAll(); // hellos are said on new connections
    const atB = windows(b);
    const atC = windows(c);
    for (let i = 0; i < 5; i++) await a.emitConversationEvent("w", "note", { i });
    await settle(nodes);
    for (const node of nodes) expect((await node.conversation("w")).length).toBe(5);
    expect(atC.length).toBeGreaterThan(0);
    for (const w of atC) expect(w).toBeUndefined();
    expect(atB.some((w) => w === HAVE_WINDOW)).toBe(true);
    for (const w of atB) expect([HAVE_WINDOW, undefined]).toContain(w as number | undefined);
  });
});
