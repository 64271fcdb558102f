/**
 * Fixed intervals: `every({ minutes: 5 })`, and {@link toSchedule}, which reads a plain number of
 * seconds as one.
 *
 * @module
 */

import { ScheduleError } from "../errors.ts";
import { isSchedule, type Schedule, type ScheduleLike } from "./schedule.ts";
import { assertValidDate, describeValue } from "./validate.ts";

/** The parts of an interval; they are added up, so `{ minutes: 1, seconds: 30 }` is 90 seconds. */
export interface EveryOptions {
  /** Seconds (may be fractional). */
  seconds?: number;
  /** Minutes. */
  minutes?: number;
  /** Hours. */
  hours?: number;
  /** Days of exactly 24 hours (an interval ignores daylight-saving changes; use `cron` for wall-clock times). */
  days?: number;
}

const UNIT_MS: Readonly<Record<keyof EveryOptions, number>> = {
  seconds: 1_000,
  minutes: 60_000,
  hours: 3_600_000,
  days: 86_400_000,
};

/** The largest offset a `Date` can represent, in milliseconds. */
const MAX_DATE_MS = 8.64e15;

/**
 * A fixed interval. `nextAfter(date)` is `date` plus the interval, so a scheduler that feeds it
 * the previous planned run time keeps a steady cadence.
 */
export class IntervalSchedule implements Schedule {
  /** The interval in whole milliseconds (at least 1). */
  readonly milliseconds: number;

  /**
   * Prefer {@link every}, which validates and adds up the parts.
   *
   * @param milliseconds the interval; must be a finite number of at least 1 ms.
   */
  constructor(milliseconds: number) {
    if (!Number.isFinite(milliseconds) || milliseconds <= 0) {
      throw new ScheduleError(`interval must be a positive, finite duration, got ${milliseconds} ms`);
    }
    if (milliseconds > MAX_DATE_MS) {
      throw new ScheduleError(`interval of ${milliseconds} ms is longer than a Date can represent`);
    }
    // Whole milliseconds, because that is what a Date holds; never 0, so nextAfter stays strictly after.
    this.milliseconds = Math.max(1, Math.round(milliseconds));
  }

  /** The interval in seconds. */
  get seconds(): number {
    return this.milliseconds / 1000;
  }

  /** `date` plus the interval. */
  nextAfter(date: Date): Date {
    assertValidDate(date);
    const next = new Date(date.getTime() + this.milliseconds);
    if (Number.isNaN(next.getTime())) {
      throw new ScheduleError(`${this.describe()}: no run after ${date.toISOString()} within the range of Date`);
    }
    return next;
  }

  /** For example `every 1h 30m` or `every 250ms`. */
  describe(): string {
    return `every ${formatDuration(this.milliseconds)}`;
  }
}

/**
 * An interval schedule: the sum of the given parts.
 *
 * ```ts
 * every({ seconds: 30 });              // every 30s
 * every({ hours: 1, minutes: 30 });    // every 1h 30m
 * ```
 *
 * A plain number wherever a schedule is accepted means seconds, so `30` is `every({ seconds: 30 })`.
 * The total is rounded to whole milliseconds (at least 1 ms).
 *
 * @throws {ScheduleError} when the total is not positive and finite, a part is not a number, or
 * an unknown part (such as a misspelt `second`) is given.
 */
export function every(parts: EveryOptions): IntervalSchedule {
  if (typeof parts !== "object" || parts === null || Array.isArray(parts)) {
    throw new ScheduleError(`every() takes an object such as { seconds: 30 }, got ${describeValue(parts)}`);
  }
  let total = 0;
  for (const [key, value] of Object.entries(parts)) {
    if (!(key in UNIT_MS)) {
      throw new ScheduleError(`every(): unknown part "${key}"; use seconds, minutes, hours or days`);
    }
    if (value === undefined) continue;
    if (typeof value !== "number") {
      throw new ScheduleError(`every(): ${key} must be a number, got ${describeValue(value)}`);
    }
    total += value * UNIT_MS[key as keyof EveryOptions];
  }
  if (!Number.isFinite(total) || total <= 0) {
    throw new ScheduleError(`every(): the interval must be positive and finite, got ${total / 1000} seconds`);
  }
  return new IntervalSchedule(total);
}

/** Render a duration in milliseconds as `1d 2h 3m 4s 5ms`, leaving out zero parts. */
export function formatDuration(milliseconds: number): string {
  let rest = Math.round(milliseconds);
  const parts: string[] = [];
  for (const [unit, size] of [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1_000],
    ["ms", 1],
  ] as const) {
    const count = Math.floor(rest / size);
    if (count > 0) parts.push(`${count}${unit}`);
    rest -= count * size;
  }
  return parts.length > 0 ? parts.join(" ") : "0ms";
}

/**
 * Normalise a {@link ScheduleLike}: a number means that many seconds (`toSchedule(30)` is
 * `every({ seconds: 30 })`), a {@link Schedule} is returned as it is.
 *
 * @throws {ScheduleError} for a non-positive or non-finite number, or anything that is not a schedule.
 */
export function toSchedule(value: ScheduleLike): Schedule {
  if (typeof value === "number") return every({ seconds: value });
  if (isSchedule(value)) return value;
  throw new ScheduleError(`expected a Schedule or a number of seconds, got ${describeValue(value)}`);
}
