import { ConfigError, ScheduleError } from "../../src/errors.ts";
import { afterEach, beforeEach, describe, expect, jest, spyOn, test } from "bun:test";
import { disableLogging, enableLogging } from "../../src/log.ts";
import {
  cron,
  every,
  MAX_TIMER_DELAY_MS,
  PeriodicTask,
  Scheduler,
  type Schedule,
  type SchedulerOptions,
} from "../../src/schedule/index.ts";

const START = new Date("2026-01-05T00:00:00.000Z"); // a Monday
const T0 = START.getTime();

let schedulers: Scheduler[] = [];

/** A scheduler that afterEach stops. */
function makeScheduler(options?: SchedulerOptions): Scheduler {
  const scheduler = new Scheduler(options);
  schedulers.push(scheduler);
  return scheduler;
}

/** Let queued microtasks (immediate first runs, promise callbacks) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

/** Let microtasks run, advance the fake clock, and let promise callbacks settle again. */
async function advance(ms: number): Promise<void> {
  await settle();
  // advanceTimersByTime takes at most 2^32 - 1 ms at a time.
  for (let left = ms; left > 0; left -= MAX_TIMER_DELAY_MS) {
    jest.advanceTimersByTime(Math.min(left, MAX_TIMER_DELAY_MS));
    await settle();
  }
  if (ms === 0) jest.advanceTimersByTime(0);
  await settle();
}

/** A promise that resolves after `ms` of fake time. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Seconds since T0 of each recorded time. */
function offsets(times: number[]): number[] {
  return times.map((t) => (t - T0) / 1000);
}

beforeEach(() => {
  jest.useFakeTimers({ now: START });
});

afterEach(() => {
  for (const scheduler of schedulers) scheduler.stop();
  schedulers = [];
  disableLogging();
  jest.useRealTimers();
});

describe("Scheduler: first run and cadence", () => {
  test("the first run starts immediately on start", async () => {
    const scheduler = makeScheduler();
    const times: number[] = [];
    scheduler.add(every({ seconds: 10 }), () => times.push(Date.now()));
    expect(scheduler.list()[0]!.nextRun).toBeNull(); // not started yet
    scheduler.start();
    expect(scheduler.list()[0]!.nextRun?.getTime()).toBe(T0);
    await advance(0);
    expect(offsets(times)).toEqual([0]);
    expect(scheduler.list()[0]!.nextRun?.getTime()).toBe(T0 + 10_000);
    await advance(30_000);
    expect(offsets(times)).toEqual([0, 10, 20, 30]);
  });

  test("a task added after start runs immediately too", async () => {
    const scheduler = makeScheduler();
    scheduler.start();
    await advance(4_000);
    const times: number[] = [];
    scheduler.add(5, () => times.push(Date.now()));
    await advance(0);
    expect(offsets(times)).toEqual([4]);
    await advance(10_000);
    expect(offsets(times)).toEqual([4, 9, 14]);
  });

  test("a plain number is seconds", async () => {
    const scheduler = makeScheduler();
    const task = scheduler.add(2.5, () => {});
    expect(task.schedule.describe()).toBe("every 2s 500ms");
    scheduler.start();
    await advance(10_000);
    expect(task.runs).toBe(5); // 0, 2.5, 5, 7.5, 10
  });

  test("a slow task does not make the interval drift", async () => {
    const scheduler = makeScheduler();
    const starts: number[] = [];
    const ends: number[] = [];
    scheduler.add(every({ seconds: 10 }), async () => {
      starts.push(Date.now());
      await sleep(3_000);
      ends.push(Date.now());
    });
    scheduler.start();
    await advance(60_000);
    expect(offsets(starts)).toEqual([0, 10, 20, 30, 40, 50, 60]);
    expect(offsets(ends)).toEqual([3, 13, 23, 33, 43, 53]);
  });

  test("a late timer does not shift later runs", async () => {
    const scheduler = makeScheduler();
    const times: number[] = [];
    const task = scheduler.add(every({ seconds: 10 }), () => times.push(Date.now()));
    scheduler.start();
    await advance(5_000);
    // The event loop was busy for 700 ms: timers now fire 700 ms late by the wall clock.
    jest.setSystemTime(Date.now() + 700);
    await advance(5_000);
    expect(offsets(times)).toEqual([0, 10.7]);
    expect(task.nextRun?.getTime()).toBe(T0 + 20_000); // planned from 10 s, not from 10.7 s
    await advance(20_000);
    expect(offsets(times)).toEqual([0, 10.7, 20, 30]);
  });

  test("after falling far behind it skips to the next time instead of firing a burst", async () => {
    const scheduler = makeScheduler();
    const times: number[] = [];
    scheduler.add(every({ seconds: 10 }), () => times.push(Date.now()));
    scheduler.start();
    await advance(5_000);
    jest.setSystemTime(Date.now() + 95_000); // suspended for 95 s
    await advance(5_000); // the 10 s timer fires at 105 s
    expect(offsets(times)).toEqual([0, 105]);
    expect(scheduler.list()[0]!.nextRun?.getTime()).toBe(T0 + 110_000); // same phase as before
    await advance(25_000);
    expect(offsets(times)).toEqual([0, 105, 110, 120, 130]);
  });

  test("delays longer than setTimeout's limit are re-armed, not overflowed", async () => {
    const scheduler = makeScheduler();
    const times: number[] = [];
    scheduler.add(cron("0 0 1 1 *"), () => times.push(Date.now())); // once a year
    scheduler.start();
    await advance(0);
    expect(offsets(times)).toEqual([0]);
    const nextYear = new Date("2027-01-01T00:00:00Z").getTime();
    expect(scheduler.list()[0]!.nextRun?.getTime()).toBe(nextYear);
    await advance(MAX_TIMER_DELAY_MS + 1_000); // past the first re-arm: still nothing
    await advance(100 * 86_400_000);
    expect(times).toHaveLength(1);
    await advance(nextYear - Date.now());
    expect(times.map((t) => new Date(t).toISOString())).toEqual([START.toISOString(), "2027-01-01T00:00:00.000Z"]);
  });
});

describe("Scheduler: cron and daylight saving", () => {
  test("a weekday cron task runs immediately, then on weekdays only", async () => {
    jest.setSystemTime(new Date("2026-03-27T10:00:00Z")); // Friday
    const scheduler = makeScheduler();
    const times: string[] = [];
    scheduler.add(cron("0 9 * * mon-fri", { tz: "Europe/London" }), () => times.push(new Date().toISOString()), { name: "digest" });
    scheduler.start();
    await advance(5 * 86_400_000);
    expect(times).toEqual([
      "2026-03-27T10:00:00.000Z", // the immediate first run
      "2026-03-30T08:00:00.000Z", // Monday 09:00 BST
      "2026-03-31T08:00:00.000Z",
      "2026-04-01T08:00:00.000Z",
    ]);
  });

  test("30 1 * * * in Europe/London through the spring and autumn changes", async () => {
    jest.setSystemTime(new Date("2026-03-28T00:00:00Z"));
    const scheduler = makeScheduler();
    const times: string[] = [];
    scheduler.add(cron("30 1 * * *", { tz: "Europe/London" }), () => times.push(new Date().toISOString()));
    scheduler.start();
    await advance(3 * 86_400_000);
    expect(times).toEqual([
      "2026-03-28T00:00:00.000Z", // immediate
      "2026-03-28T01:30:00.000Z",
      "2026-03-29T01:00:00.000Z", // 01:30 does not exist; 02:00 BST
      "2026-03-30T00:30:00.000Z",
    ]);
    scheduler.stop();
    times.length = 0;
    jest.setSystemTime(new Date("2026-10-24T12:00:00Z"));
    scheduler.start();
    await advance(2 * 86_400_000);
    expect(times).toEqual([
      "2026-10-24T12:00:00.000Z", // immediate on restart
      "2026-10-25T00:30:00.000Z", // 01:30 BST, only once
      "2026-10-26T01:30:00.000Z", // 01:30 GMT
    ]);
  });
});

describe("Scheduler: errors", () => {
  test("throwing and rejecting tasks keep running and are reported by name", async () => {
    const lines: string[] = [];
    enableLogging("error", (_level, scope, message) => lines.push(`${scope}: ${message}`));
    const reported: Array<[string, string]> = [];
    const scheduler = makeScheduler({ onError: (name, error) => reported.push([name, (error as Error).message]) });
    let throws = 0;
    let rejects = 0;
    let fine = 0;
    scheduler.add(every({ seconds: 10 }), () => {
      throws++;
      throw new Error(`boom ${throws}`);
    }, { name: "thrower" });
    scheduler.add(every({ seconds: 10 }), async () => {
      rejects++;
      await sleep(1);
      throw new Error(`nope ${rejects}`);
    }, { name: "rejecter" });
    scheduler.add(every({ seconds: 10 }), () => {
      fine++;
    }, { name: "fine" });
    scheduler.start();
    await advance(20_001);
    expect([throws, rejects, fine]).toEqual([3, 3, 3]);
    expect(reported).toEqual([
      ["thrower", "boom 1"],
      ["rejecter", "nope 1"],
      ["thrower", "boom 2"],
      ["rejecter", "nope 2"],
      ["thrower", "boom 3"],
      ["rejecter", "nope 3"],
    ]);
    expect(lines).toContain('schedule: task "thrower" failed');
    expect(lines).toContain('schedule: task "rejecter" failed');
    expect(scheduler.list().map((t) => t.nextRun?.getTime())).toEqual([T0 + 30_000, T0 + 30_000, T0 + 30_000]);
  });

  test("a throwing onError hook does not break the scheduler", async () => {
    const scheduler = makeScheduler({
      onError: () => {
        throw new Error("hook broke");
      },
    });
    let runs = 0;
    scheduler.add(1, () => {
      runs++;
      throw new Error("task broke");
    });
    scheduler.start();
    await advance(3_000);
    expect(runs).toBe(4);
  });

  test("a schedule that stops giving times ends its task and is reported", async () => {
    const reported: string[] = [];
    const scheduler = makeScheduler({ onError: (name, error) => reported.push(`${name}: ${(error as Error).message}`) });
    let calls = 0;
    const flaky: Schedule = {
      nextAfter(date) {
        calls++;
        if (calls > 2) throw new Error("out of dates");
        return new Date(date.getTime() + 1_000);
      },
      describe: () => "flaky",
    };
    let runs = 0;
    const task = scheduler.add(flaky, () => runs++, { name: "flaky-task" });
    // call 1 was the registration check
    scheduler.start();
    await advance(10_000);
    expect(runs).toBe(2); // immediate run (call 2 plans 1 s), then the run at 1 s (call 3 throws)
    expect(task.nextRun).toBeNull();
    expect(reported).toEqual(["flaky-task: flaky: nextAfter() threw: out of dates"]);
  });
});

describe("Scheduler: overlapping runs", () => {
  test("long runs overlap by default", async () => {
    const scheduler = makeScheduler();
    let active = 0;
    let maxActive = 0;
    const task = scheduler.add(every({ seconds: 10 }), async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      await sleep(25_000);
      active--;
    });
    scheduler.start();
    await advance(0);
    expect(task.running).toBe(true);
    await advance(30_000);
    expect(task.runs).toBe(4); // 0, 10, 20, 30
    expect(maxActive).toBe(3);
    expect(scheduler.list()[0]!.running).toBe(true);
  });

  test("skipIfRunning skips runs while the previous one is still going", async () => {
    const scheduler = makeScheduler();
    const starts: number[] = [];
    const task = scheduler.add(
      every({ seconds: 10 }),
      async () => {
        starts.push(Date.now());
        await sleep(25_000);
      },
      { skipIfRunning: true },
    );
    scheduler.start();
    await advance(60_000);
    expect(offsets(starts)).toEqual([0, 30, 60]); // 10 and 20 skipped (busy until 25), 40 and 50 too (busy until 55)
    expect(task.skipped).toBe(4);
    expect(task.runs).toBe(3);
  });

  test("skipIfRunning does not skip when runs are short", async () => {
    const scheduler = makeScheduler();
    const task = scheduler.add(every({ seconds: 10 }), () => sleep(5_000), { skipIfRunning: true });
    scheduler.start();
    await advance(30_000);
    expect(task.runs).toBe(4);
    expect(task.skipped).toBe(0);
  });
});

describe("Scheduler: stop, remove, list", () => {
  test("stop cancels every pending run, and is idempotent", async () => {
    const scheduler = makeScheduler();
    let a = 0;
    let b = 0;
    scheduler.add(every({ seconds: 10 }), () => a++);
    scheduler.add(cron("* * * * *"), () => b++);
    scheduler.start();
    await advance(60_000);
    expect([a, b]).toEqual([7, 2]);
    scheduler.stop();
    scheduler.stop();
    expect(scheduler.started).toBe(false);
    expect(jest.getTimerCount()).toBe(0);
    expect(scheduler.list().map((t) => t.nextRun)).toEqual([null, null]);
    await advance(3_600_000);
    expect([a, b]).toEqual([7, 2]);
  });

  test("stop before the immediate first run cancels it", async () => {
    const scheduler = makeScheduler();
    let runs = 0;
    scheduler.add(10, () => runs++);
    scheduler.start();
    scheduler.stop();
    await advance(60_000);
    expect(runs).toBe(0);
  });

  test("start after stop resumes with an immediate run; start is idempotent", async () => {
    const scheduler = makeScheduler();
    const times: number[] = [];
    scheduler.add(10, () => times.push(Date.now()));
    scheduler.start();
    scheduler.start();
    await advance(15_000);
    scheduler.stop();
    await advance(10_000);
    scheduler.start();
    await advance(10_000);
    expect(offsets(times)).toEqual([0, 10, 25, 35]);
  });

  test("remove and cancel take a task out", async () => {
    const scheduler = makeScheduler();
    let a = 0;
    let b = 0;
    const first = scheduler.add(10, () => a++, { name: "first" });
    const second = scheduler.add(10, () => b++, { name: "second" });
    scheduler.start();
    await advance(10_000);
    expect(scheduler.remove(first)).toBe(true);
    expect(scheduler.remove(first)).toBe(false);
    expect(first.active).toBe(false);
    expect(first.nextRun).toBeNull();
    second.cancel();
    second.cancel();
    expect(scheduler.size).toBe(0);
    expect(scheduler.list()).toEqual([]);
    await advance(60_000);
    expect([a, b]).toEqual([2, 2]);
    expect(jest.getTimerCount()).toBe(0);
  });

  test("a task can cancel itself from inside its run", async () => {
    const scheduler = makeScheduler();
    let runs = 0;
    const task: PeriodicTask = scheduler.add(1, () => {
      runs++;
      if (runs === 3) task.cancel();
    });
    scheduler.start();
    await advance(10_000);
    expect(runs).toBe(3);
  });

  test("list reports name, schedule, next run, running and runs", async () => {
    const scheduler = makeScheduler();
    function waterPlants(): void {}
    scheduler.add(every({ minutes: 5 }), waterPlants);
    scheduler.add(cron("0 8 * * mon-fri", { tz: "Europe/London" }), () => sleep(120_000));
    scheduler.add(30, () => {}, { name: "custom-name" });
    scheduler.start();
    await advance(60_000);
    expect(scheduler.list()).toEqual([
      { name: "waterPlants", schedule: "every 5m", nextRun: new Date(T0 + 300_000), running: false, runs: 1 },
      { name: "task-2", schedule: 'cron "0 8 * * mon-fri" (Europe/London)', nextRun: new Date("2026-01-05T08:00:00Z"), running: true, runs: 1 },
      { name: "custom-name", schedule: "every 30s", nextRun: new Date(T0 + 90_000), running: false, runs: 3 },
    ]);
  });

  test("a task exposes its name, schedule and next run", () => {
    const scheduler = makeScheduler();
    const schedule = every({ hours: 1 });
    const task = scheduler.add(schedule, () => {}, { name: "hourly" });
    expect(task).toBeInstanceOf(PeriodicTask);
    expect(task.name).toBe("hourly");
    expect(task.schedule).toBe(schedule);
    expect(task.nextRun).toBeNull();
    scheduler.start();
    expect(task.nextRun).toEqual(START);
  });
});

describe("Scheduler: validation at registration", () => {
  test.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])("rejects the number %p as a schedule", (value) => {
    expect(() => makeScheduler().add(value, () => {})).toThrow(ScheduleError);
  });

  test.each([["a string", "10"], ["null", null], ["an object", { every: 10 }]])("rejects %s as a schedule", (_label, value) => {
    expect(() => makeScheduler().add(value as never, () => {})).toThrow(ScheduleError);
  });

  test("rejects a schedule whose nextAfter is not strictly after", () => {
    const stuck: Schedule = { nextAfter: (date) => date, describe: () => "stuck" };
    expect(() => makeScheduler().add(stuck, () => {})).toThrow(/not after it/);
    const broken: Schedule = { nextAfter: () => new Date(Number.NaN), describe: () => "broken" };
    expect(() => makeScheduler().add(broken, () => {})).toThrow(/valid Date/);
    const throwing: Schedule = {
      nextAfter: () => {
        throw new RangeError("no");
      },
      describe: () => "throwing",
    };
    expect(() => makeScheduler().add(throwing, () => {}, { name: "t" })).toThrow('task "t" (throwing): nextAfter() threw: no');
  });

  test("rejects a schedule that never fires (a solar event at the pole)", async () => {
    const { solar } = await import("../../src/schedule/index.ts");
    expect(() => makeScheduler().add(solar("sunrise", { latitude: 90, longitude: 0 }), () => {})).toThrow(ScheduleError);
  });

  test("rejects a missing function or a bad name", () => {
    const scheduler = makeScheduler();
    expect(() => scheduler.add(10, undefined as never)).toThrow(ConfigError);
    expect(() => scheduler.add(10, () => {}, { name: "" })).toThrow(ConfigError);
    expect(() => scheduler.add(10, () => {}, { name: 5 as never })).toThrow(ConfigError);
    expect(scheduler.size).toBe(0);
  });

  test("rejects a bad onError", () => {
    expect(() => new Scheduler({ onError: "log" as never })).toThrow(ConfigError);
  });
});

describe("Scheduler: steps of the system clock", () => {
  test("an interval task goes on after the clock is stepped back (real timers, Date.now stepped)", async () => {
    jest.useRealTimers();
    const { nowSeconds } = await import("../../src/util/time.ts");
    const scheduler = makeScheduler();
    let runs = 0;
    scheduler.add(every({ seconds: 0.05 }), () => void runs++);
    scheduler.start();
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(runs).toBeGreaterThanOrEqual(2);
    const real = Date.now.bind(Date);
    const clock = spyOn(Date, "now").mockImplementation(() => real() - 3_600_000); // NTP sets a clock an hour ahead
    try {
      const before = runs;
      await new Promise((resolve) => setTimeout(resolve, 400));
      // Every 50 ms still, not an hour from now.
      expect(runs - before).toBeGreaterThanOrEqual(3);
    } finally {
      clock.mockRestore();
      nowSeconds(); // the step back to the real clock, noticed now
    }
  });
});
