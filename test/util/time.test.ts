import { describe, expect, spyOn, test } from "bun:test";
import { nowSeconds, wallStepsSince } from "../../src/util/time.ts";
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

describe("wallStepsSince", () => {
  test("tells how far the system clock was stepped since a time nowSeconds gave, forward and back", () => {
    const real = Date.now.bind(Date);
    const before = nowSeconds();
    expect(wallStepsSince(before)).toBe(0);
    const clock = spyOn(Date, "now");
    try {
      clock.mockImplementation(() => real() + 3_600_000); // NTP sets a clock an hour behind
      const ahead = nowSeconds();
      expect(ahead - before).toBeCloseTo(3600, 0);
      expect(wallStepsSince(before)).toBeCloseTo(3600, 1);
      expect(wallStepsSince(ahead)).toBe(0);
      clock.mockImplementation(() => real() - 7_200_000); // then three hours back
      const back = nowSeconds();
      expect(wallStepsSince(before)).toBeCloseTo(-7200, 1);
      expect(wallStepsSince(ahead)).toBeCloseTo(-10800, 1);
      expect(wallStepsSince(back)).toBe(0);
      // What really passed since each, in seconds: next to nothing.
      for (const at of [before, ahead, back]) expect(Math.abs(nowSeconds() - at - wallStepsSince(at))).toBeLessThan(1);
    } finally {
      clock.mockRestore();
      nowSeconds(); // the step back to the real clock, noticed now
    }
    expect(wallStepsSince(before)).toBeCloseTo(0, 1);
    // Slewing, or the millisecond alignment, is no step.
    const t = nowSeconds();
    expect(wallStepsSince(t)).toBe(0);
  });
});
