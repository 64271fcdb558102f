/**
 * The {@link Schedule} contract shared by intervals, cron expressions and solar events. It imports
 * nothing: every kind of schedule depends on it, never the other way round.
 *
 * @module
 */

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
