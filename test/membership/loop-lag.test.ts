/**
 * The process's event-loop monitor (`loop-lag.ts`): how long the loop was blocked in all, and
 * within a recent window, which the reaper of silent peers does not count as their silence.
 */
import { expect, test } from "bun:test";
import { recordStall, watchLoopLag } from "../../src/membership/loop-lag.ts";
import { blockLoop as busy } from "../helpers/net.ts";

test("a blocked loop counts while it lasts and after, in all and within a window that holds it", async () => {
  const lag = watchLoopLag();
  try {
    await Bun.sleep(120);
    const before = lag.stalled();
    busy(300);
    // Under way: the tick that is due has not run.
    expect(lag.stalledWithin(10)).toBeGreaterThanOrEqual(0.2);
    await Bun.sleep(120);
    expect(lag.stalled() - before).toBeGreaterThanOrEqual(0.2);
    expect(lag.stalledWithin(10)).toBeGreaterThanOrEqual(0.2);
    // Never more than the window.
    expect(lag.stalledWithin(0.05)).toBeLessThanOrEqual(0.05);
    expect(lag.stalledWithin(0)).toBe(0);
  } finally {
    lag.release();
  }
});

test("a stall that ended before the window does not count; one that began before it counts from its start", async () => {
  const lag = watchLoopLag();
  try {
    recordStall(5);
    expect(lag.stalledWithin(60)).toBeGreaterThanOrEqual(5);
    // The window of the last 2 s holds the stall's last 2 s only.
    expect(lag.stalledWithin(2)).toBeLessThanOrEqual(2);
    expect(lag.stalledWithin(2)).toBeGreaterThan(1.5);
    await Bun.sleep(1100);
    // A window that began after it ended: none of it (what the loop did since is ordinary).
    expect(lag.stalledWithin(0.5)).toBeLessThan(0.3);
  } finally {
    lag.release();
  }
});
