/**
 * `conversation/item-memory.ts`: what a node's dissemination remembers. An author's `emit` waits
 * on its item's entry until the first push is answered, or until the item cooled without one.
 */
import { describe, expect, test } from "bun:test";
import { HOT_ROUNDS, KEEP_ROUNDS, ItemMemory, MAX_ENTRIES, type Entry } from "../../src/conversation/item-memory.ts";
import { MAX_DIGEST_HASHES, itemHash, itemKey, keyHash, replyKey, replyKeyHash, writeDigest, type Item, type WireItem } from "../../src/conversation/batch-items.ts";
import type { ConversationEvent, Peer } from "../../src/types.ts";

/** An event item whose key (its id) is `key`. */
const itemOf = (key: string): Item => ({ kind: "event", event: { event_id: key } as ConversationEvent });

/** Remember `e` as the item keyed `key`. */
function remember(memory: ItemMemory, key: string, e: Entry): void {
  e.item = itemOf(key);
  memory.add(e);
}

function entry(at: number, pushes: number): { entry: Entry; settled: () => boolean } {
  let settled = false;
  const e: Entry = { item: {} as Item, wire: {} as WireItem, ref: null, bytes: null, form: 0, at, learntAt: 0, size: 1, pushes, waiters: [() => void (settled = true)], hash: at, peers: new Set() };
  return { entry: e, settled: () => settled };
}

describe("item memory - cooling", () => {
  test("an entry that cooled without a push settles its waiter; one pushed waits for its push's answer", () => {
    const memory = new ItemMemory();
    const unpushed = entry(1, 0);
    const pushed = entry(1, 1);
    remember(memory, "a", unpushed.entry);
    remember(memory, "b", pushed.entry);
    memory.age(1 + HOT_ROUNDS, 0);
    expect([unpushed.settled(), pushed.settled()]).toEqual([false, false]);
    memory.age(2 + HOT_ROUNDS, 0);
    expect(unpushed.settled()).toBe(true);
    expect(pushed.settled()).toBe(false);
    expect(memory.hot(2 + HOT_ROUNDS)).toEqual([]);
    // Forgetting everything settles every waiter.
    memory.clear();
    expect(pushed.settled()).toBe(true);
  });

  test("who holds an entry is kept while it is hot and dropped when it cools; the entry stays remembered", () => {
    const memory = new ItemMemory();
    const hot = entry(1, 0).entry;
    hot.peers!.add("peer-a");
    remember(memory, "a", hot);
    memory.age(1 + HOT_ROUNDS, 0);
    // Its last hot round: the rounds still look at whom it was pushed to.
    expect(memory.hot(1 + HOT_ROUNDS)).toEqual([hot]);
    expect(hot.peers).toEqual(new Set(["peer-a"]));
    memory.age(2 + HOT_ROUNDS, 0);
    expect(memory.hot(2 + HOT_ROUNDS)).toEqual([]);
    expect(hot.peers).toBeNull();
    expect(memory.index.find(itemOf("a"))).toBe(hot);
  });
});

describe("item memory - hot", () => {
  test("busy (hasHot) and the rounds (hot) agree: an entry is hot through its last round, and then neither holds it", () => {
    const memory = new ItemMemory();
    const e = entry(1, 0);
    remember(memory, "a", e.entry);
    for (const round of [1, 1 + HOT_ROUNDS]) {
      expect(memory.hot(round)).toEqual([e.entry]);
      expect(memory.hasHot(round)).toBe(true);
    }
    expect(memory.hot(2 + HOT_ROUNDS)).toEqual([]);
    expect(memory.hasHot(2 + HOT_ROUNDS)).toBe(false);
  });
});

describe("item memory - have digest", () => {
  const hashed = (hash: number, at: number): Entry => ({ ...entry(at, 2).entry, hash });
  /** The digest as it was written before it was kept up to date: every remembered hash, in order, the newest MAX_DIGEST_HASHES. */
  const expected = (memory: ItemMemory) => writeDigest(memory.remembered().map((e) => e.hash).slice(-MAX_DIGEST_HASHES));

  test("lists every remembered item in the order learnt, through forgetting, growing and clearing; a digest handed out never changes", () => {
    const memory = new ItemMemory();
    expect(memory.haveDigest()).toEqual(new Uint8Array(0));
    const handed: Array<{ digest: Uint8Array; copy: Uint8Array }> = [];
    let n = 0;
    // Hashes with every byte set (and 0, 0xffffffff) so that a wrong byte order shows.
    const hashOf = (i: number) => (i === 0 ? 0 : i === 1 ? 0xffffffff : Math.imul(i, 0x9e3779b1) >>> 0);
    for (let round = 1; round <= KEEP_ROUNDS + 60; round++) {
      for (let k = 0; k < 40; k++, n++) remember(memory, `k${n}`, hashed(hashOf(n), round)); // 40 a round: the buffer grows several times
      memory.age(round, Number.MAX_SAFE_INTEGER); // forgets what is older than KEEP_ROUNDS rounds
      const digest = memory.haveDigest();
      expect(digest).toEqual(expected(memory));
      handed.push({ digest, copy: digest.slice() });
    }
    expect(memory.index.size).toBe((KEEP_ROUNDS + 1) * 40);
    for (const { digest, copy } of handed) expect(digest).toEqual(copy);
    memory.clear();
    expect(memory.haveDigest()).toEqual(new Uint8Array(0));
    remember(memory, "again", hashed(7, 1));
    expect(memory.haveDigest()).toEqual(writeDigest([7]));
  });

  test("past MAX_ENTRIES the oldest is forgotten from the digest too, and it lists the newest MAX_DIGEST_HASHES", () => {
    const memory = new ItemMemory();
    for (let i = 0; i < MAX_ENTRIES + 5; i++) remember(memory, `k${i}`, hashed(i, 1));
    expect(memory.index.size).toBe(MAX_ENTRIES);
    const digest = memory.haveDigest();
    expect(digest.length).toBe(Math.min(MAX_ENTRIES, MAX_DIGEST_HASHES) * 4);
    expect(digest).toEqual(expected(memory));
  });

  test("what a caller lacks: the entries its digest does not list, in the order learnt, but those it sent now; and whether it lists others (after forgetting and growing)", () => {
    const memory = new ItemMemory();
    const hashOf = (i: number) => (Math.imul(i + 1, 0x9e3779b1) ^ 0xa5a5a5a5) >>> 0;
    // 40 a round for KEEP_ROUNDS + 30 rounds: the oldest are forgotten and the digest grows.
    let n = 0;
    for (let round = 1; round <= KEEP_ROUNDS + 30; round++) {
      for (let k = 0; k < 40; k++, n++) remember(memory, `k${n}`, hashed(hashOf(n), round));
      memory.age(round, Number.MAX_SAFE_INTEGER);
    }
    const kept = memory.remembered();
    expect(kept.length).toBeLessThan(n);
    // The caller lists every other kept entry, one forgotten here, and nothing else; it sent kept[1] now.
    const listed = kept.filter((_, i) => i % 2 === 0).map((e) => e.hash);
    const { answer, unknown } = memory.unlisted(writeDigest(listed), () => new Set([kept[1]!]));
    expect(answer).toEqual(kept.filter((_, i) => i % 2 === 1 && i !== 1));
    expect(unknown).toBe(false);
    expect(memory.unlisted(writeDigest([...listed, hashOf(0)]), () => new Set()).unknown).toBe(true);
    // A caller that lists everything lacks nothing (and the sent-now set is not even made).
    const all = memory.unlisted(memory.haveDigest(), () => {
      throw new Error("not needed");
    });
    expect(all).toEqual({ answer: [], unknown: false });
  });

  test("a windowed digest: the items learnt since a time, a suffix of the full digest; served, matched and answered within its window", () => {
    const memory = new ItemMemory();
    // 10 entries learnt at 0, 100, ..., 900 ms; one taken in late with its batch's earlier time keeps the order.
    for (let i = 0; i < 10; i++) remember(memory, `k${i}`, { ...hashed(1000 + i, 1), learntAt: i * 100 });
    const late = { ...hashed(2000, 1), learntAt: 50 };
    remember(memory, "late", late);
    expect(late.learntAt).toBe(900);
    expect(memory.haveDigestSince(0)).toEqual(memory.haveDigest());
    expect(memory.haveDigestSince(450)).toEqual(writeDigest([1005, 1006, 1007, 1008, 1009, 2000]));
    expect(memory.haveDigestSince(10_000)).toEqual(new Uint8Array(0));
    const keys = (answer: Entry[]) => answer.map((e) => e.hash);
    // Looked at from 300 ms (matched), answered from 600 ms: the caller lists 1007.
    const window = { matchSince: 300, answerSince: 600 };
    expect(keys(memory.unlisted(writeDigest([1007]), () => new Set(), window).answer)).toEqual([1006, 1008, 1009, 2000]);
    // It lists an entry learnt before the match window: taken for one this node lacks (unknown).
    expect(memory.unlisted(writeDigest([1001]), () => new Set(), window).unknown).toBe(true);
    expect(memory.unlisted(writeDigest([1004]), () => new Set(), window).unknown).toBe(false);
    // Without a window: every entry it does not list.
    expect(memory.unlisted(writeDigest([1007]), () => new Set()).answer.length).toBe(10);
  });
});

describe("item memory - keys", () => {
  const replier = (id: string) => ({ id }) as Peer;
  const reply = (nonce: string, id: string): Item => ({ kind: "reply", nonce, peer: replier(id), result: null, sig: null });

  test("a reply's digest hash is its key's, made without the key, whichever nonce came before", () => {
    const ids = ["a".repeat(64), "b1", "\u00e9t\u00e9"];
    for (const nonce of ["n1", "n2", "n1", "0193a5c2-7b7e-7c3a-9f0e-3d2b1a0c9e8f", "n1\0x", "n1"]) {
      for (const id of ids) {
        expect(replyKeyHash(nonce, id)).toBe(keyHash(replyKey(nonce, id)));
        expect(itemHash(reply(nonce, id))).toBe(keyHash(itemKey(reply(nonce, id))));
      }
    }
    const event = itemOf("e1");
    expect(itemHash(event)).toBe(keyHash("e1"));
  });

  test("replies are found by nonce and replier, events by id, as an item or as read; forgetting drops them", () => {
    const memory = new ItemMemory();
    const items = [reply("n1", "p1"), reply("n1", "p2"), reply("n2", "p1"), itemOf("e1")];
    for (const item of items) memory.add({ ...entry(1, 2).entry, item, waiters: null });
    expect(memory.index.size).toBe(4);
    for (const item of items) expect(memory.index.find(item)?.item).toBe(item);
    expect(memory.index.find(reply("n2", "p2"))).toBeUndefined();
    expect(memory.index.find(itemOf("p1"))).toBeUndefined();
    expect(memory.index.findRaw({ kind: "reply", nonce: "n1", peerId: "p2", peer: undefined, result: null, sig: null, mac: null, known: false, bytes: null, form: 0 })?.item).toBe(items[1]!);
    expect(memory.index.findRaw({ kind: "event", id: "e1", raw: {}, mac: null, bytes: null, form: 0 })?.item).toBe(items[3]!);
    // Past KEEP_ROUNDS rounds and the seconds kept, everything is forgotten, by either lookup.
    memory.age(2 + KEEP_ROUNDS, Number.MAX_SAFE_INTEGER);
    expect(memory.index.size).toBe(0);
    for (const item of items) expect(memory.index.find(item)).toBeUndefined();
    // A reply remembered again after its nonce's others were forgotten is found again.
    memory.add({ ...entry(3 + KEEP_ROUNDS, 2).entry, item: items[0]!, waiters: null });
    expect(memory.index.find(reply("n1", "p1"))?.item).toBe(items[0]!);
    expect(memory.index.find(reply("n1", "p2"))).toBeUndefined();
  });
});
