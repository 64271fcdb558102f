import { ConfigError, ScheduleError } from "../../src/errors.ts";
import { describe, expect, test } from "bun:test";
import { every, formatDuration, IntervalSchedule, isSchedule, toSchedule } from "../../src/schedule/index.ts";

describe("every()", () => {
  test("adds up its parts", () => {
    expect(every({ seconds: 30 }).milliseconds).toBe(30_000);
    expect(every({ minutes: 1, seconds: 30 }).milliseconds).toBe(90_000);
    expect(every({ days: 1, hours: 2, minutes: 3, seconds: 4 }).milliseconds).toBe(93_784_000);
    expect(every({ hours: 1, minutes: -30 }).milliseconds).toBe(1_800_000);
    expect(every({ seconds: 1.5 }).seconds).toBe(1.5);
  });

  test("nextAfter is the date plus the interval", () => {
    const schedule = every({ minutes: 5 });
    const from = new Date("2026-03-29T00:58:00Z");
    expect(schedule.nextAfter(from).toISOString()).toBe("2026-03-29T01:03:00.000Z");
    // Exactly 24 hours per day, whatever the clocks do.
    expect(every({ days: 1 }).nextAfter(from).toISOString()).toBe("2026-03-30T00:58:00.000Z");
  });

  test("describes itself", () => {
    expect(every({ seconds: 30 }).describe()).toBe("every 30s");
    expect(every({ hours: 1, minutes: 30 }).describe()).toBe("every 1h 30m");
    expect(every({ days: 2, seconds: 0.25 }).describe()).toBe("every 2d 250ms");
    expect(formatDuration(0)).toBe("0ms");
  });

  test("rounds to whole milliseconds, at least one", () => {
    expect(every({ seconds: 0.0000001 }).milliseconds).toBe(1);
    expect(every({ seconds: 0.0016 }).milliseconds).toBe(2);
  });

  test.each([
    ["no parts", {}],
    ["zero", { seconds: 0 }],
    ["negative", { seconds: -1 }],
    ["negative total", { minutes: 1, seconds: -90 }],
    ["NaN", { seconds: Number.NaN }],
    ["Infinity", { hours: Number.POSITIVE_INFINITY }],
    ["-Infinity", { days: Number.NEGATIVE_INFINITY }],
    ["a string part", { seconds: "5" }],
    ["a misspelt part", { second: 5 }],
    ["longer than a Date can hold", { days: 1e9 }],
  ])("rejects %s", (_label, parts) => {
    expect(() => every(parts as never)).toThrow(ScheduleError);
  });

  test("rejects something that is not an object", () => {
    expect(() => every(null as never)).toThrow(ScheduleError);
    expect(() => every(30 as never)).toThrow(/takes an object/);
  });

  test("nextAfter rejects an invalid date", () => {
    expect(() => every({ seconds: 1 }).nextAfter(new Date(Number.NaN))).toThrow(ConfigError);
  });
});

describe("toSchedule()", () => {
  test("a plain number means seconds", () => {
    const schedule = toSchedule(30);
    expect(schedule).toBeInstanceOf(IntervalSchedule);
    expect(schedule.describe()).toBe("every 30s");
    expect(schedule.nextAfter(new Date("2026-01-01T00:00:00Z")).toISOString()).toBe("2026-01-01T00:00:30.000Z");
    expect((toSchedule(0.5) as IntervalSchedule).milliseconds).toBe(500);
  });

  test("passes a schedule through", () => {
    const schedule = every({ hours: 1 });
    expect(toSchedule(schedule)).toBe(schedule);
    const custom = { nextAfter: (d: Date) => new Date(d.getTime() + 1), describe: () => "custom" };
    expect(toSchedule(custom)).toBe(custom);
    expect(isSchedule(custom)).toBe(true);
    expect(isSchedule({ nextAfter: 1, describe: () => "x" })).toBe(false);
  });

  test.each([0, -5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])("rejects the number %p", (value) => {
    expect(() => toSchedule(value)).toThrow(ScheduleError);
  });

  test.each([["a string", "30"], ["an empty object", {}], ["null", null], ["undefined", undefined]])("rejects %s", (_label, value) => {
    expect(() => toSchedule(value as never)).toThrow(ScheduleError);
  });
});

describe("ScheduleError", () => {
  test("is an Error with code invalid_schedule", () => {
    let caught: unknown;
    try {
      every({ seconds: -3 });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(Error);
    expect(caught).toBeInstanceOf(ScheduleError);
    const error = caught as ScheduleError;
    expect(error.code).toBe("invalid_schedule");
    expect(error.name).toBe("ScheduleError");
    expect(error.message).toContain("-3");
  });
});
