import { describe, expect, test } from "bun:test";
import { nowSeconds } from "../../src/util/time.ts";
import { uuidv7, uuidv7TimeMs } from "../../src/conversation/uuid.ts";

describe("nowSeconds", () => {
  test("never reads earlier than the wall clock's millisecond read just before it", () => {
    // A broadcast's opening event is dated by its UUIDv7 nonce (whole Date.now() milliseconds);
    // an ACK made after it is dated by nowSeconds(). Were nowSeconds() behind Date.now(), an ACK
    // made in the nonce's millisecond would be dated before the opening and listed first.
    let behind = 0;
    let worst = 0;
    for (let i = 0; i < 20_000; i++) {
      const wall = Date.now();
      const t = nowSeconds() * 1000;
      if (t < wall) {
        behind++;
        worst = Math.max(worst, wall - t);
      }
    }
    expect({ behind, worst }).toEqual({ behind: 0, worst: 0 });
  });

  test("an event dated after a nonce was drawn is never dated before the nonce's millisecond", () => {
    let earlier = 0;
    for (let i = 0; i < 20_000; i++) {
      const nonce = uuidv7();
      if (nowSeconds() * 1000 < uuidv7TimeMs(nonce)) earlier++;
    }
    expect(earlier).toBe(0);
  });

  test("stays within a millisecond of the wall clock and keeps sub-millisecond resolution", () => {
    const fractions = new Set<number>();
    for (let i = 0; i < 2_000; i++) {
      const before = Date.now();
      const t = nowSeconds() * 1000;
      const after = Date.now();
      expect(t).toBeGreaterThanOrEqual(before);
      expect(t).toBeLessThanOrEqual(after + 1);
      fractions.add(Math.round((t % 1) * 1000));
    }
    expect(fractions.size).toBeGreaterThan(1);
  });
});
