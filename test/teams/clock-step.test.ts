/**
 * A team's leases against steps of the system clock (NTP setting the clock of a box that booted
 * without a real-time clock): a step forward is no time passed, so it re-offers nothing; a step
 * back hides no time, so a quiet task is still re-offered after its lease. `Date.now` is stepped
 * here (`nowSeconds` notices it, `wallStepsSince` tells the team).
 */
import { afterEach, expect, spyOn, test } from "bun:test";
import { Team } from "../../src/index.ts";
import { nowSeconds } from "../../src/util/time.ts";
import { crew, sleep, stopAll } from "./helpers.ts";

afterEach(stopAll);

for (const [label, by] of [["forward an hour", 3_600_000], ["back an hour", -3_600_000]] as const) {
  test(`a step of the clock ${label} moves no lease`, async () => {
    const [boss] = await crew(["boss"]);
    const team = new Team(boss!, { lease: 0.4 }); // checked every 0.1 s
    const real = Date.now.bind(Date);
    const clock = spyOn(Date, "now");
    try {
      const task = await team.offer("nobody can");
      clock.mockImplementation(() => real() + by);
      nowSeconds();
      await sleep(150);
      expect(task.attempt).toBe(1); // not re-offered by a step forward
      // Back to the real clock before a re-offer makes ids: a UUIDv7 never goes back in time in
      // a process, and ids dated an hour ahead would date every later one of this test run.
      if (by > 0) clock.mockRestore();
      await sleep(600);
      expect(task.attempt).toBeGreaterThanOrEqual(2); // re-offered after a step back too
    } finally {
      clock.mockRestore();
      nowSeconds(); // the step back to the real clock, noticed now
      team.close();
    }
  });
}
