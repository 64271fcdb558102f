/**
 * The {@link Schedule} contract shared by intervals, cron expressions and solar events, and
 * {@link toSchedule}, which turns a plain number of seconds into an interval.
 *
 * @module
 */

import { ScheduleError } from "../errors.ts";
import { every } from "./every.ts";
import { describeValue } from "./validate.ts";

/**
 * When a periodic task runs. A schedule is a pure function of time: it keeps no state, so the
 * same schedule object can drive any number of tasks.
 */
export interface Schedule {
  /**
   * The first time the schedule fires strictly after `date`.
   *
   * @throws {ScheduleError} when there is no such time (for instance a solar event that does not
   * occur within the search window).
   */
  nextAfter(date: Date): Date;
  /** A short human-readable description, such as `every 30s` or `cron "0 8 * * mon-fri" (UTC)`. */
  describe(): string;
}

/** What every API that takes a schedule accepts: a {@link Schedule}, or a number of seconds. */
export type ScheduleLike = Schedule | number;

/** True when `value` looks like a {@link Schedule} (has `nextAfter` and `describe` methods). */
export function isSchedule(value: unknown): value is Schedule {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as { nextAfter?: unknown; describe?: unknown };
  return typeof candidate.nextAfter === "function" && typeof candidate.describe === "function";
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
