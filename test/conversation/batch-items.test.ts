/**
 * The size a batch item is budgeted at (`wireSize`): a bound computed without encoding, never
 * below what the item really takes on the wire.
 */
import { describe, expect, test } from "bun:test";
import { DigestSet, itemBound, readDigest, sizeBound, toWire, wireSize, writeDigest, type Item } from "../../src/conversation/batch-items.ts";
import { encode } from "../../src/wire/codec.ts";
import { makeEvent } from "../../src/conversation/events.ts";
import type { Peer } from "../../src/types.ts";

const peer: Peer = { id: "a".repeat(64), name: "pëer-ü", address: "127.0.0.1", port: 7000, swarm: "s", team: null, kind: "node", capabilities: ["x", "y"], last_seen: 1.5 };

describe("batch items - size bound", () => {
  const values: unknown[] = [
    null,
    true,
    0,
    -1,
    2 ** 53,
    1.25,
    "",
    "short",
    "ünïcødé 🎉".repeat(3),
    "x".repeat(70),
    "🎉".repeat(200),
    new Uint8Array(300),
    [1, "two", [3, { four: 4 }]],
    { nested: { deep: { deeper: ["a", null, false] } }, "kéy": "välue" },
    peer,
  ];
  for (const value of values) {
    test(`never below the encoded size: ${JSON.stringify(value)?.slice(0, 40)}`, () => {
      expect(sizeBound(value)).toBeGreaterThanOrEqual(encode(value).length);
    });
  }

  test("an event and a reply are budgeted at least at their encoded size, and not far above it", () => {
    const event = makeEvent({ conversationId: "c", kind: "note", peer, payload: { text: "hello ".repeat(50), n: 3 }, metadata: { _sig: "s".repeat(88) } });
    const items: Item[] = [
      { kind: "event", event },
      { kind: "reply", nonce: "0190f0e1-5b2a-7c3d-8e4f-a1b2c3d4e5f6", peer, result: { from: "peer1", list: [1, 2, 3] }, sig: "s".repeat(88) },
    ];
    for (const item of items) {
      const exact = encode(toWire(item)).length;
      expect(wireSize(item)).toBeGreaterThanOrEqual(exact);
      expect(wireSize(item)).toBeLessThan(exact * 4);
    }
  });
});

describe("batch items - size bound without the wire form", () => {
  test("itemBound is the bound of the wire form, with and without a signature and MACs, for events and replies", () => {
    const event = makeEvent({ conversationId: "c", kind: "note", peer, payload: { text: "hé".repeat(40) } });
    const mac = new Uint8Array(48);
    const items: Item[] = [
      { kind: "event", event },
      { kind: "event", event, mac },
      { kind: "event", event, mac: null },
      { kind: "reply", nonce: "n-1", peer, result: null, sig: null },
      { kind: "reply", nonce: "n-1", peer, result: { from: "peer1" }, sig: "s".repeat(88) },
      { kind: "reply", nonce: "n-1", peer, result: [1, "two"], sig: undefined, mac },
      { kind: "reply", nonce: "n-1", peer, result: "x", sig: { odd: true }, mac: null },
    ];
    for (const item of items) expect(itemBound(item)).toBe(sizeBound(toWire(item)));
  });
});

describe("batch items - have digest", () => {
  test("one table read again holds the new digest alone (reset, grown when needed, 0 and 0xffffffff included)", () => {
    const table = new DigestSet(0);
    const first = [0, 5, 0xffffffff, 77];
    expect(readDigest(writeDigest(first), table)).toBe(table);
    for (const h of first) expect(table.has(h)).toBe(true);
    const second = Array.from({ length: 3000 }, (_, i) => 1000 + i * 7919);
    readDigest(writeDigest(second), table);
    expect(table.size).toBe(second.length);
    for (const h of first) expect(table.has(h)).toBe(false);
    for (const h of second) expect(table.has(h)).toBe(true);
    // A smaller digest after the large one uses the first slots alone; what the large one left
    // in the others is never read.
    const third = Array.from({ length: 100 }, (_, i) => 5 + i * 104729);
    readDigest(writeDigest(third), table);
    expect(table.size).toBe(third.length);
    for (const h of third) expect(table.has(h)).toBe(true);
    for (const h of second) expect(table.has(h)).toBe(third.includes(h));
    readDigest(writeDigest([0xffffffff]), table);
    expect(table.size).toBe(1);
    expect(table.has(0xffffffff)).toBe(true);
    expect(table.has(1000)).toBe(false);
    readDigest("not a digest", table);
    expect(table.size).toBe(0);
    expect(table.has(0xffffffff)).toBe(false);
  });

  test("a digest read back holds exactly the hashes written, 0 and 0xffffffff included", () => {
    const written = [0, 1, 0xffffffff, 0x80000000, 12345];
    for (let i = 0; i < 2000; i++) written.push(Math.floor(Math.random() * 2 ** 32));
    written.push(1, 0, 0xffffffff); // repeats count once
    const digest = readDigest(writeDigest(written));
    const expected = new Set(written);
    expect(digest.size).toBe(expected.size);
    for (const h of expected) expect(digest.has(h)).toBe(true);
    let absent = 0;
    for (let i = 0; i < 2000; i++) {
      const h = Math.floor(Math.random() * 2 ** 32);
      expect(digest.has(h)).toBe(expected.has(h));
      if (!expected.has(h)) absent++;
    }
    expect(absent).toBeGreaterThan(0);
  });

  test("a hash is the same hash in its unsigned and its signed 32-bit form (the table keeps them signed)", () => {
    const table = new DigestSet(4);
    for (const h of [0x80000000, 0xffffffff, 0xdeadbeef, 7]) table.add(h);
    expect(table.size).toBe(4);
    // The signed forms of the same four: found, and adding them again adds nothing.
    for (const h of [-0x80000000, -1, 0xdeadbeef | 0, 7]) {
      expect(table.has(h)).toBe(true);
      table.add(h);
    }
    expect(table.size).toBe(4);
    expect(table.has(0x7fffffff)).toBe(false);
    expect(table.has(-2)).toBe(false);
  });

  test("anything but whole hashes within the limit reads as an empty digest", () => {
    for (const raw of [null, "abcd", new Uint8Array(3), [1, 2, 3, 4]]) {
      const digest = readDigest(raw);
      expect(digest.size).toBe(0);
      expect(digest.has(0)).toBe(false);
      expect(digest.has(0xffffffff)).toBe(false);
    }
  });
});
