/**
 * Small IANA time-zone helpers on top of `Intl.DateTimeFormat` (no extra dependency).
 *
 * @module
 */

import { ScheduleError } from "../errors.ts";
import { describeValue } from "./validate.ts";

/** A calendar date and wall-clock time in some time zone (month is 1-12). */
export interface WallTime {
  /** Full year, such as 2026. */
  year: number;
  /** Month, 1 (January) to 12. */
  month: number;
  /** Day of the month, 1 to 31. */
  day: number;
  /** Hour, 0 to 23. */
  hour: number;
  /** Minute, 0 to 59. */
  minute: number;
  /** Second, 0 to 59. */
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, format);
  }
  return format;
}

/**
 * Check an IANA time-zone name and return its canonical spelling (`"europe/london"` becomes
 * `"Europe/London"`).
 *
 * @param what how the caller names the option in error messages, such as `cron(): tz`.
 * @throws {ScheduleError} for anything that is not a known time zone.
 */
export function resolveTimeZone(timeZone: unknown, what = "tz"): string {
  if (typeof timeZone !== "string" || timeZone.trim() === "") {
    throw new ScheduleError(`${what} must be an IANA time-zone name such as "Europe/London", got ${describeValue(timeZone)}`);
  }
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone }).resolvedOptions().timeZone;
  } catch (error) {
    throw new ScheduleError(`${what}: unknown time zone ${JSON.stringify(timeZone)} (expected an IANA name such as "Europe/London")`, {
      cause: error,
    });
  }
}

/** The wall-clock time of `instant` (epoch milliseconds) in `timeZone`. */
export function wallTimeAt(instant: number, timeZone: string): WallTime {
  const wall: WallTime = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const part of formatter(timeZone).formatToParts(new Date(instant))) {
    if (part.type === "year" || part.type === "month" || part.type === "day" || part.type === "hour" || part.type === "minute" || part.type === "second") {
      wall[part.type] = Number(part.value);
    }
  }
  return wall;
}

/** The offset of `timeZone` from UTC at `instant`, in milliseconds (positive east of Greenwich). */
export function offsetAt(instant: number, timeZone: string): number {
  const whole = Math.floor(instant / 1000) * 1000;
  const wall = wallTimeAt(whole, timeZone);
  return Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second) - whole;
}

/**
 * The instant at which the wall clock in `timeZone` shows the given local time. Meant for times
 * of day that exist exactly once (such as noon); in a daylight-saving gap or overlap it returns
 * one of the nearby instants.
 */
export function instantOfWallTime(year: number, month: number, day: number, hour: number, minute: number, timeZone: string): number {
  const asUtc = Date.UTC(year, month - 1, day, hour, minute);
  let guess = asUtc - offsetAt(asUtc, timeZone);
  // A second pass corrects the guess when the offset at the guess differs (a nearby DST change).
  guess = asUtc - offsetAt(guess, timeZone);
  return guess;
}
