/**
 * The teams benchmark's measurement, small: it must complete and give figures of the right shape
 * (no timing thresholds: the numbers themselves are not checked).
 */
import { expect, test } from "bun:test";
import { measureTeams } from "../../bench/teams.ts";

test("bench - teams: a small team measures tasks/s and the direct-call baseline", async () => {
  const r = await measureTeams(3, 6, 2);
  expect([r.workers, r.gossip, r.tasks]).toEqual([3, "flood", 6]);
  for (const v of [r.tasksPerSec, r.taskLatencyMs, r.directCallsPerSec, r.directCallMs]) expect(v).toBeGreaterThan(0);
  // offer + one claim per idle worker (at most 3) + grant + done
  expect(r.eventsPerTask).toBeGreaterThanOrEqual(4);
  expect(r.eventsPerTask).toBeLessThanOrEqual(6);
}, 60_000);
