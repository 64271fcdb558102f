/**
 * Input checks shared by the schedule builders.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";

/** A short rendering of an arbitrary value for error messages. */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "object") return Array.isArray(value) ? "an array" : "an object";
  if (typeof value === "function") return "a function";
  return String(value);
}

/** Check that `date` is a valid `Date` (schedules are asked about real instants only). */
export function assertValidDate(date: unknown, what = "date"): asserts date is Date {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
    throw new ConfigError(`${what} must be a valid Date, got ${date instanceof Date ? "Invalid Date" : describeValue(date)}`);
  }
}
