/**
 * Errors of the periodic-task scheduler.
 *
 * @module
 */

/**
 * A schedule that cannot work: a bad interval, cron expression, time zone, solar event or
 * location, or a schedule whose event never occurs. Thrown when the schedule is built or
 * registered, never later from a timer.
 *
 * `code` is always `"invalid_schedule"`, like the `code` of the package's other errors.
 */
export class ScheduleError extends Error {
  /** Machine-readable code: always `"invalid_schedule"`. */
  readonly code = "invalid_schedule" as const;

  /**
   * @param message what is wrong, naming the offending value.
   * @param options standard error options; `cause` keeps the underlying library error.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ScheduleError";
  }
}
