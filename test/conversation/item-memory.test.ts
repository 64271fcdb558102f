/**
 * `conversation/item-memory.ts`: what a node's dissemination remembers. An author's `emit` waits
 * on its item's entry until the first push is answered, or until the item cooled without one.
 */
import { describe, expect, test } from "bun:test";
import { HOT_ROUNDS, ItemMemory, type Entry } from "../../src/conversation/item-memory.ts";
import type { Item, WireItem } from "../../src/conversation/batch-items.ts";

function entry(at: number, pushes: number): { entry: Entry; settled: () => boolean } {
  let settled = false;
  const e: Entry = { item: {} as Item, wire: {} as WireItem, at, learntAt: 0, size: 1, pushes, waiters: [() => void (settled = true)], hash: at, peers: new Set() };
  return { entry: e, settled: () => settled };
}

describe("item memory - cooling", () => {
  test("an entry that cooled without a push settles its waiter; one pushed waits for its push's answer", () => {
    const memory = new ItemMemory();
    const unpushed = entry(1, 0);
    const pushed = entry(1, 1);
    memory.add("a", unpushed.entry);
    memory.add("b", pushed.entry);
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
});

describe("item memory - hot", () => {
  test("busy (hasHot) and the rounds (hot) agree: an entry is hot through its last round, and then neither holds it", () => {
    const memory = new ItemMemory();
    const e = entry(1, 0);
    memory.add("a", e.entry);
    for (const round of [1, 1 + HOT_ROUNDS]) {
      expect(memory.hot(round)).toEqual([e.entry]);
      expect(memory.hasHot(round)).toBe(true);
    }
    expect(memory.hot(2 + HOT_ROUNDS)).toEqual([]);
    expect(memory.hasHot(2 + HOT_ROUNDS)).toBe(false);
  });
});
