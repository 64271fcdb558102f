import { describe, expect, test } from "bun:test";
import { ScheduleError } from "../../src/errors.ts";
import { cron, CronSchedule, type Schedule } from "../../src/schedule/index.ts";

/** The next `count` run times after `from`, as ISO strings. */
function runs(schedule: Schedule, from: string, count: number): string[] {
  const out: string[] = [];
  let at = new Date(from);
  for (let i = 0; i < count; i++) {
    at = schedule.nextAfter(at);
    out.push(at.toISOString());
  }
  return out;
}

describe("cron()", () => {
  test("reads five fields in UTC by default", () => {
    const schedule = cron("30 6 * * *");
    expect(schedule).toBeInstanceOf(CronSchedule);
    expect(schedule.tz).toBe("UTC");
    expect(runs(schedule, "2026-05-01T12:00:00Z", 2)).toEqual(["2026-05-02T06:30:00.000Z", "2026-05-03T06:30:00.000Z"]);
  });

  test("weekday expression skips the weekend", () => {
    // 2026-03-27 is a Friday.
    expect(runs(cron("0 9 * * mon-fri"), "2026-03-27T10:00:00Z", 3)).toEqual([
      "2026-03-30T09:00:00.000Z",
      "2026-03-31T09:00:00.000Z",
      "2026-04-01T09:00:00.000Z",
    ]);
    expect(runs(cron("0 9 * * MON-FRI"), "2026-03-27T08:00:00Z", 2)).toEqual(["2026-03-27T09:00:00.000Z", "2026-03-30T09:00:00.000Z"]);
    expect(runs(cron("0 10 * * sat,sun"), "2026-03-27T10:00:00Z", 3)).toEqual([
      "2026-03-28T10:00:00.000Z",
      "2026-03-29T10:00:00.000Z",
      "2026-04-04T10:00:00.000Z",
    ]);
  });

  test("six fields add a leading seconds field", () => {
    expect(runs(cron("*/15 * * * * *"), "2026-01-01T00:00:07Z", 3)).toEqual([
      "2026-01-01T00:00:15.000Z",
      "2026-01-01T00:00:30.000Z",
      "2026-01-01T00:00:45.000Z",
    ]);
  });

  test("month names", () => {
    expect(runs(cron("0 0 1 jan,jul *"), "2026-01-01T00:00:00Z", 3)).toEqual([
      "2026-07-01T00:00:00.000Z",
      "2027-01-01T00:00:00.000Z",
      "2027-07-01T00:00:00.000Z",
    ]);
  });

  test("nextAfter is strictly after the date", () => {
    const schedule = cron("30 6 * * *");
    expect(schedule.nextAfter(new Date("2026-05-02T06:30:00Z")).toISOString()).toBe("2026-05-03T06:30:00.000Z");
    expect(schedule.nextAfter(new Date("2026-05-02T06:30:00.400Z")).toISOString()).toBe("2026-05-03T06:30:00.000Z");
    expect(schedule.nextAfter(new Date("2026-05-02T06:29:59.999Z")).toISOString()).toBe("2026-05-02T06:30:00.000Z");
  });

  test("reads the expression in an IANA time zone", () => {
    const newYork = cron("0 9 * * *", { tz: "America/New_York" });
    expect(runs(newYork, "2026-01-10T00:00:00Z", 1)).toEqual(["2026-01-10T14:00:00.000Z"]);
    expect(runs(newYork, "2026-07-10T00:00:00Z", 1)).toEqual(["2026-07-10T13:00:00.000Z"]);
    expect(cron("0 9 * * *", { tz: "europe/london" }).tz).toBe("Europe/London");
  });

  test("describes itself", () => {
    expect(cron("0 8 * * mon-fri", { tz: "Europe/London" }).describe()).toBe('cron "0 8 * * mon-fri" (Europe/London)');
    expect(cron("@daily").describe()).toBe('cron "@daily" (UTC)');
  });
});

describe("cron() across the London daylight-saving changes", () => {
  const london = { tz: "Europe/London" };

  test("30 1 * * * in spring: 01:30 does not exist on 29 March, runs at 02:00 BST", () => {
    expect(runs(cron("30 1 * * *", london), "2026-03-27T12:00:00Z", 4)).toEqual([
      "2026-03-28T01:30:00.000Z", // 01:30 GMT
      "2026-03-29T01:00:00.000Z", // the gap: first valid time after it, 02:00 BST
      "2026-03-30T00:30:00.000Z", // 01:30 BST
      "2026-03-31T00:30:00.000Z",
    ]);
  });

  test("30 1 * * * in autumn: 01:30 happens twice on 25 October, runs once at the first", () => {
    expect(runs(cron("30 1 * * *", london), "2026-10-23T12:00:00Z", 4)).toEqual([
      "2026-10-24T00:30:00.000Z", // 01:30 BST
      "2026-10-25T00:30:00.000Z", // first 01:30 (BST); not again at 01:30 GMT
      "2026-10-26T01:30:00.000Z", // 01:30 GMT
      "2026-10-27T01:30:00.000Z",
    ]);
  });

  test("0 9 * * mon-fri keeps 09:00 local time across both changes", () => {
    expect(runs(cron("0 9 * * mon-fri", london), "2026-03-26T12:00:00Z", 3)).toEqual([
      "2026-03-27T09:00:00.000Z", // Friday, GMT
      "2026-03-30T08:00:00.000Z", // Monday, BST
      "2026-03-31T08:00:00.000Z",
    ]);
    expect(runs(cron("0 9 * * mon-fri", london), "2026-10-22T12:00:00Z", 3)).toEqual([
      "2026-10-23T08:00:00.000Z", // Friday, BST
      "2026-10-26T09:00:00.000Z", // Monday, GMT
      "2026-10-27T09:00:00.000Z",
    ]);
  });

  test("an interval job runs on both passes through the repeated hour", () => {
    expect(runs(cron("*/30 * * * *", london), "2026-10-24T23:30:00Z", 5)).toEqual([
      "2026-10-25T00:00:00.000Z", // 01:00 BST
      "2026-10-25T00:30:00.000Z", // 01:30 BST
      "2026-10-25T01:00:00.000Z", // 01:00 GMT
      "2026-10-25T01:30:00.000Z", // 01:30 GMT
      "2026-10-25T02:00:00.000Z",
    ]);
    // In spring the missing hour is skipped: 00:30 GMT is followed by 02:00 BST.
    expect(runs(cron("*/30 * * * *", london), "2026-03-29T00:00:00Z", 2)).toEqual(["2026-03-29T00:30:00.000Z", "2026-03-29T01:00:00.000Z"]);
  });
});

describe("cron() rejects bad input", () => {
  test.each([
    ["an empty expression", ""],
    ["blank", "   "],
    ["one word", "bad"],
    ["four fields", "* * * *"],
    ["seven fields", "0 0 0 * * * 2026"],
    ["an out-of-range minute", "61 * * * *"],
    ["an out-of-range hour", "0 24 * * *"],
    ["a misspelt day name", "0 9 * * mon-fry"],
    ["a date that never comes", "0 0 30 2 *"],
  ])("%s", (_label, expression) => {
    expect(() => cron(expression)).toThrow(ScheduleError);
  });

  test("the message names the expression", () => {
    expect(() => cron("0 9 * * mon-fry")).toThrow(/invalid expression "0 9 \* \* mon-fry"/);
    expect(() => cron("0 0 30 2 *")).toThrow(/never matches/);
  });

  test("a non-string expression", () => {
    expect(() => cron(42 as never)).toThrow(ScheduleError);
  });

  test.each(["Mars/Olympus", "", "Europe/Londinium", "GMT+25"])("unknown time zone %p", (tz) => {
    expect(() => cron("0 9 * * *", { tz })).toThrow(ScheduleError);
  });

  test("the time-zone error is clear", () => {
    let caught: unknown;
    try {
      cron("0 9 * * *", { tz: "Mars/Olympus" });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ScheduleError);
    expect((caught as ScheduleError).code).toBe("invalid_schedule");
    expect((caught as ScheduleError).message).toContain('unknown time zone "Mars/Olympus"');
  });
});

describe("schedule - cron dayOr (Python croniter's day_or)", () => {
  test("true by default: day-of-month OR day-of-week; false: both must match", () => {
    // 2026-06-01 is a Monday. "0 9 1-7 * mon": OR runs on June 1..7 and every Monday; AND only on the first Monday.
    const start = new Date("2026-05-31T12:00:00Z");
    const runs = (schedule: CronSchedule, n: number) => {
      const out: string[] = [];
      let at = start;
      for (let i = 0; i < n; i++) out.push((at = schedule.nextAfter(at)).toISOString().slice(0, 10));
      return out;
    };
    expect(runs(cron("0 9 1-7 * mon"), 8)).toEqual(["2026-06-01", "2026-06-02", "2026-06-03", "2026-06-04", "2026-06-05", "2026-06-06", "2026-06-07", "2026-06-08"]);
    const and = cron("0 9 1-7 * mon", { dayOr: false });
    expect(and.dayOr).toBe(false);
    expect(runs(and, 3)).toEqual(["2026-06-01", "2026-07-06", "2026-08-03"]);
    expect(and.describe()).toBe('cron "0 9 1-7 * mon" (UTC, day AND weekday)');
    expect(() => cron("* * * * *", { dayOr: "no" as unknown as boolean })).toThrow(ScheduleError);
  });
});
