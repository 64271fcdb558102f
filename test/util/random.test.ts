import { describe, expect, test } from "bun:test";
import { sample, seededRandom } from "../../src/util/random.ts";

describe("util - a uniform random sample", () => {
  test("all items in order when few, else n distinct ones of them", () => {
    expect(sample([1, 2, 3], 5)).toEqual([1, 2, 3]);
    const items = Array.from({ length: 50 }, (_, i) => i);
    const picked = sample(items, 10);
    expect(picked.length).toBe(10);
    expect(new Set(picked).size).toBe(10);
    expect(picked.every((i) => items.includes(i))).toBe(true);
  });

  test("drawn from the source given: a seeded one repeats its sample", () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    const first = sample(items, 10, seededRandom(7));
    expect(sample(items, 10, seededRandom(7))).toEqual(first);
    expect(sample(items, 10, seededRandom(8))).not.toEqual(first);
  });
});
