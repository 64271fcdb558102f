/**
 * Cron expressions on top of `croner`: `cron("0 8 * * mon-fri", { tz: "Europe/London" })`.
 *
 * @module
 */

import { Cron } from "croner";
import { ScheduleError } from "../errors.ts";
import type { Schedule } from "./schedule.ts";
import { resolveTimeZone } from "./time-zone.ts";
import { assertValidDate, describeValue } from "./validate.ts";

/** Options of {@link cron}. */
export interface CronScheduleOptions {
  /** IANA time zone the expression is read in, such as `"Europe/London"`; `"UTC"` by default. */
  tz?: string;
  /**
   * How a day-of-month field and a day-of-week field that are both restricted combine: `true`
   * (default, Vixie cron and Python's `croniter(day_or=True)`): a day matching either runs;
   * `false`: only a day matching both (`0 9 1-7 * mon`: the first Monday of the month).
   */
  dayOr?: boolean;
}

/**
 * A cron expression read in a time zone. Daylight-saving changes follow croner's documented
 * rules: a fixed-time job (a single value in each of the second, minute and hour fields, such as
 * `30 1 * * *`) whose time falls into the spring-forward gap runs at the first valid time after
 * the gap, and runs once (at the first occurrence) when its time repeats in autumn; other jobs
 * skip times in the gap and run on both occurrences of a repeated time.
 */
export class CronSchedule implements Schedule {
  /** The expression as given. */
  readonly expression: string;
  /** The canonical IANA time-zone name the expression is read in. */
  readonly tz: string;
  /** Day-of-month and day-of-week combine with OR (true) or AND (false). */
  readonly dayOr: boolean;
  readonly #job: Cron;

  /**
   * Prefer {@link cron}, which documents the accepted syntax.
   *
   * @throws {ScheduleError} for an invalid expression or an unknown time zone.
   */
  constructor(expression: string, options: CronScheduleOptions = {}) {
    if (typeof expression !== "string" || expression.trim() === "") {
      throw new ScheduleError(`cron(): the expression must be a non-empty string such as "0 8 * * mon-fri", got ${describeValue(expression)}`);
    }
    if (typeof options !== "object" || options === null) {
      throw new ScheduleError(`cron(): options must be an object such as { tz: "UTC" }, got ${describeValue(options)}`);
    }
    if (options.dayOr !== undefined && typeof options.dayOr !== "boolean") {
      throw new ScheduleError(`cron(): dayOr must be true or false, got ${describeValue(options.dayOr)}`);
    }
    this.expression = expression;
    this.dayOr = options.dayOr ?? true;
    this.tz = resolveTimeZone(options.tz ?? "UTC", "cron(): tz");
    try {
      // A paused job without a callback never arms a timer; it is only asked for run times.
      this.#job = new Cron(expression.trim(), { timezone: this.tz, paused: true, mode: "5-or-6-parts", domAndDow: !this.dayOr });
    } catch (error) {
      const reason = error instanceof Error ? error.message.replace(/^CronPattern:\s*/, "") : String(error);
      throw new ScheduleError(`cron(): invalid expression ${JSON.stringify(expression)}: ${reason}`, { cause: error });
    }
    // An expression such as "0 0 30 2 *" (February 30th) parses but never fires.
    if (this.#job.nextRun(new Date()) === null) {
      throw new ScheduleError(`cron(): expression ${JSON.stringify(expression)} never matches a date`);
    }
  }

  /** The next time the expression matches, strictly after `date` (whole seconds). */
  nextAfter(date: Date): Date {
    assertValidDate(date);
    const next = this.#job.nextRun(date);
    if (next === null) {
      throw new ScheduleError(`${this.describe()}: no run after ${date.toISOString()}`);
    }
    return next;
  }

  /** For example `cron "0 8 * * mon-fri" (Europe/London)`. */
  describe(): string {
    return `cron ${JSON.stringify(this.expression)} (${this.tz}${this.dayOr ? "" : ", day AND weekday"})`;
  }
}

/**
 * A cron schedule. The expression has five fields (`minute hour day-of-month month day-of-week`)
 * or six (a leading `second` field), with the usual `*`, lists, ranges, steps and names
 * (`mon-fri`, `jan`), plus croner's extensions (`L`, `W`, `#`, `@daily`...). Day-of-month and
 * day-of-week combine with OR, as in Vixie cron and Python's croniter (`{ dayOr: false }`: AND). The expression is read in `tz` (`"UTC"` by
 * default); see {@link CronSchedule} for daylight-saving behaviour.
 *
 * ```ts
 * cron("0 8 * * mon-fri", { tz: "Europe/London" }); // 08:00 London time on weekdays
 * cron("30 * * * * *");                            // second 30 of every minute, UTC
 * ```
 *
 * @throws {ScheduleError} at construction for an invalid expression or an unknown time zone.
 */
export function cron(expression: string, options: CronScheduleOptions = {}): CronSchedule {
  return new CronSchedule(expression, options);
}
