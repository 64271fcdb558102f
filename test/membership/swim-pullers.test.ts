import { describe, expect, test } from "bun:test";
import { RecentPullers } from "../../src/membership/swim-pullers.ts";

describe("swim core - the members pulling at a node", () => {
  test("those that pulled since a moment, newest pull last; older ones are forgotten as they are passed", () => {
    const pullers = new RecentPullers(8);
    pullers.add("a", 1);
    pullers.add("b", 2);
    pullers.add("c", 3);
    pullers.add("a", 4);
    expect(pullers.since(0, () => true)).toEqual(["b", "c", "a"]);
    expect(pullers.since(2.5, (id) => id !== "c")).toEqual(["a"]);
    // "b" pulled before 2.5: forgotten; "c" was only left out.
    expect(pullers.size).toBe(2);
    expect(pullers.since(0, () => true)).toEqual(["c", "a"]);
  });

  test("holds a member that pulled since a moment; counts those, forgetting the others", () => {
    const pullers = new RecentPullers(8);
    pullers.add("a", 1);
    pullers.add("b", 2);
    pullers.add("c", 3);
    expect(pullers.holds("b", 2)).toBe(true);
    expect(pullers.holds("a", 2)).toBe(false);
    expect(pullers.holds("z", 0)).toBe(false);
    expect(pullers.count(2)).toBe(2);
    // "a" is forgotten: pulling again, it is held from its new pull on.
    expect(pullers.size).toBe(2);
    pullers.add("a", 4);
    expect(pullers.count(2.5)).toBe(2);
    expect(pullers.since(0, () => true)).toEqual(["c", "a"]);
  });

  test("bounded: past its size the member that pulled longest ago goes", () => {
    const pullers = new RecentPullers(3);
    for (const [i, id] of ["a", "b", "c", "d", "b", "e"].entries()) pullers.add(id, i);
    expect(pullers.size).toBe(3);
    expect(pullers.since(0, () => true)).toEqual(["d", "b", "e"]);
  });
});
