/**
 * Errors of the periodic-task scheduler.
 *
 * @module
 */

import { SynapseError } from "../errors.ts";

/**
 * A schedule that cannot work: a bad interval, cron expression, time zone, solar event or
 * location, or a schedule whose event never occurs. Thrown when the schedule is built or
 * registered, never later from a timer.
 *
 * `code` is always `"invalid_schedule"`, like the `code` of the package's other errors.
 */
export class ScheduleError extends SynapseError {
  /**
   * @param message what is wrong, naming the offending value.
   * @param options standard error options; `cause` keeps the underlying library error.
   */
  constructor(message: string, options?: ErrorOptions) {
    super("invalid_schedule", message, options);
    this.name = "ScheduleError";
  }
}
