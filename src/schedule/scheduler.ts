/**
 * The periodic-task scheduler: runs functions on {@link Schedule}s with `setTimeout`.
 *
 * @module
 */

import { ConfigError, ScheduleError } from "../errors.ts";
import { createLogger } from "../log.ts";
import { IntervalSchedule } from "./every.ts";
import type { Schedule } from "./schedule.ts";
import { toSchedule } from "./every.ts";
import { describeValue } from "./validate.ts";
import { MAX_TIMER_DELAY_MS, nowSeconds, wallStepsSince } from "../util/time.ts";
import { errorMessage } from "../util/guards.ts";

const log = createLogger("schedule");

/** A task body. Its return value is ignored, except that a promise is awaited for errors and `running`. */
export type TaskFunction = () => unknown | Promise<unknown>;

/** Options of the {@link Scheduler} constructor. */
export interface SchedulerOptions {
  /**
   * Called with the task's name when a run throws or its promise rejects (after the error is
   * logged). The task keeps its schedule either way.
   */
  onError?: (taskName: string, error: unknown) => void;
}

/** Options of {@link Scheduler.add}. */
export interface AddTaskOptions {
  /** Name used in logs, errors and {@link Scheduler.list}; defaults to `fn.name`, else `task-N`. */
  name?: string;
  /**
   * Skip a run while the previous run of the same task is still going (its promise has not
   * settled). Off by default: long runs may overlap, as in the Python original.
   */
  skipIfRunning?: boolean;
}

/** One row of {@link Scheduler.list}. */
export interface TaskInfo {
  /** The task's name. */
  name: string;
  /** The schedule's {@link Schedule.describe} text. */
  schedule: string;
  /** When the next run is planned, or `null` when the task is not scheduled (scheduler stopped, task removed). */
  nextRun: Date | null;
  /** True while at least one run of the task has not finished. */
  running: boolean;
  /** How many runs have started (skipped runs are not counted). */
  runs: number;
}

/** What a task needs from its scheduler. */
interface TaskOwner {
  report(task: PeriodicTask, error: unknown): void;
  detach(task: PeriodicTask): void;
}

/**
 * A function registered on a {@link Scheduler}. Create one with {@link Scheduler.add}; the
 * constructor is internal.
 */
export class PeriodicTask {
  /** The task's name. */
  readonly name: string;
  /** When the task runs. */
  readonly schedule: Schedule;
  /** Whether a run is skipped while the previous one still runs. */
  readonly skipIfRunning: boolean;

  readonly #fn: TaskFunction;
  readonly #owner: TaskOwner;
  #removed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Identifies the pending immediate first run; cleared to cancel it. */
  #immediate: object | null = null;
  /** The planned time (epoch ms) of the next run, or null when not scheduled. */
  #planned: number | null = null;
  #inFlight = 0;
  #runs = 0;
  #skipped = 0;

  /** @internal Use {@link Scheduler.add}. */
  constructor(name: string, schedule: Schedule, fn: TaskFunction, skipIfRunning: boolean, owner: TaskOwner) {
    this.name = name;
    this.schedule = schedule;
    this.skipIfRunning = skipIfRunning;
    this.#fn = fn;
    this.#owner = owner;
  }

  /** When the next run is planned, or `null` when the task is not scheduled. */
  get nextRun(): Date | null {
    return this.#planned === null ? null : new Date(this.#planned);
  }

  /** True while at least one run has not finished. */
  get running(): boolean {
    return this.#inFlight > 0;
  }

  /** How many runs have started. */
  get runs(): number {
    return this.#runs;
  }

  /** How many runs were skipped because the previous one was still running (`skipIfRunning`). */
  get skipped(): number {
    return this.#skipped;
  }

  /** False once the task has been cancelled or removed from its scheduler. */
  get active(): boolean {
    return !this.#removed;
  }

  /**
   * Remove the task from its scheduler and cancel its pending run. A run in progress is not
   * interrupted. Idempotent.
   */
  cancel(): void {
    if (this.#removed) return;
    this.#removed = true;
    this.halt();
    this.#owner.detach(this);
  }

  /** @internal Schedule the first run right away (in a microtask); later runs follow the schedule. */
  begin(): void {
    if (this.#removed || this.#planned !== null) return;
    const planned = Date.now();
    const token = {};
    this.#planned = planned;
    this.#immediate = token;
    // A microtask rather than setTimeout(0), which would wait at least a millisecond; `add()`
    // still returns before the task first runs.
    queueMicrotask(() => {
      if (this.#immediate !== token) return;
      this.#immediate = null;
      this.#fire(planned);
    });
  }

  /** @internal Cancel the pending run (the task stays registered). */
  halt(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#immediate = null;
    this.#planned = null;
  }

  /** Wait for `planned`, in steps no longer than setTimeout's limit. */
  #arm(planned: number): void {
    this.#planned = planned;
    const delay = planned - Date.now();
    if (delay > MAX_TIMER_DELAY_MS) {
      this.#timer = setTimeout(() => this.#arm(planned), MAX_TIMER_DELAY_MS);
    } else {
      this.#timer = setTimeout(() => this.#fire(planned), Math.max(0, delay));
    }
  }

  #fire(planned: number): void {
    this.#timer = undefined;
    // An interval counts the time that passed, not what the wall clock reads: a step of the
    // system clock back since the planned time (NTP setting a clock that ran ahead) moves the
    // planned time with it; it had held every interval task (a node's heartbeats, its reaper) for
    // the step's length. A step forward (or a system's sleep) skips the runs it passed over, as
    // when the process falls behind; a calendar schedule follows the wall clock, as it should.
    if (this.schedule instanceof IntervalSchedule) {
      nowSeconds(); // what notices a step
      planned += Math.min(0, wallStepsSince(planned / 1000)) * 1000;
    }
    // Plan the next run before this one starts, from this run's planned time, so neither the
    // task's duration nor the timer's lateness shifts the cadence.
    let next: number | null = null;
    try {
      next = this.#following(planned, Date.now());
    } catch (error) {
      this.#planned = null;
      log.error(`task "${this.name}": ${this.schedule.describe()} has no next run; the task stops`, error);
      this.#owner.report(this, error);
    }
    if (next !== null) this.#arm(next);
    else this.#planned = null;
    this.#run();
  }

  /**
   * The first planned time after `planned` that is also after `now`: when the process fell
   * behind, the missed times are skipped rather than fired in a burst.
   */
  #following(planned: number, now: number): number {
    const schedule = this.schedule;
    const next = checkedNext(schedule, planned);
    if (next > now) return next;
    if (schedule instanceof IntervalSchedule) {
      // Jump over whole intervals, keeping the phase of the original cadence.
      const step = schedule.milliseconds;
      return next + (Math.floor((now - next) / step) + 1) * step;
    }
    // Calendar schedules (cron, solar) are sets of instants: the first one after now is the answer.
    return checkedNext(schedule, now);
  }

  #run(): void {
    if (this.skipIfRunning && this.#inFlight > 0) {
      this.#skipped++;
      log.debug(`task "${this.name}": previous run still in progress, skipping this one`);
      return;
    }
    this.#runs++;
    this.#inFlight++;
    log.debug(`task "${this.name}": run ${this.#runs}`);
    let result: unknown;
    try {
      result = this.#fn();
    } catch (error) {
      this.#inFlight--;
      this.#failed(error);
      return;
    }
    if (isThenable(result)) {
      Promise.resolve(result).then(
        () => {
          this.#inFlight--;
        },
        (error: unknown) => {
          this.#inFlight--;
          this.#failed(error);
        },
      );
    } else {
      this.#inFlight--;
    }
  }

  #failed(error: unknown): void {
    log.error(`task "${this.name}" failed`, error);
    this.#owner.report(this, error);
  }
}

/**
 * Runs periodic tasks. Every task runs once as soon as the scheduler starts (or as soon as it is
 * added to a started scheduler), then at the times its schedule gives, each computed from the
 * previous planned time. A run that throws or rejects is logged, reported to `onError`, and
 * never stops later runs.
 *
 * ```ts
 * const scheduler = new Scheduler({ onError: (name, error) => console.error(name, error) });
 * scheduler.add(every({ minutes: 5 }), checkSoil, { skipIfRunning: true });
 * scheduler.add(cron("0 8 * * mon-fri", { tz: "Europe/London" }), sendDigest);
 * scheduler.start();
 * ```
 */
export class Scheduler {
  readonly #tasks = new Set<PeriodicTask>();
  readonly #onError: ((taskName: string, error: unknown) => void) | undefined;
  readonly #owner: TaskOwner;
  #started = false;
  #counter = 0;

  /** @param options `onError` is called when a run fails. */
  constructor(options: SchedulerOptions = {}) {
    if (options.onError !== undefined && typeof options.onError !== "function") {
      throw new ConfigError(`Scheduler: onError must be a function, got ${describeValue(options.onError)}`);
    }
    this.#onError = options.onError;
    this.#owner = {
      report: (task, error) => this.#report(task, error),
      detach: (task) => {
        this.#tasks.delete(task);
      },
    };
  }

  /** True between {@link start} and {@link stop}. */
  get started(): boolean {
    return this.#started;
  }

  /** How many tasks are registered. */
  get size(): number {
    return this.#tasks.size;
  }

  /**
   * Register `fn` to run on `schedule` (a {@link Schedule}, or a number of seconds). The schedule
   * is checked now: it must give a valid time after the present. On a started scheduler the task
   * runs right away.
   *
   * @throws {ScheduleError} for an invalid schedule.
   * @throws {ConfigError} when `fn` is not a function or `name` is not a non-empty string.
   */
  add(schedule: Schedule | number, fn: TaskFunction, options: AddTaskOptions = {}): PeriodicTask {
    const resolved = toSchedule(schedule);
    if (typeof fn !== "function") {
      throw new ConfigError(`Scheduler.add: fn must be a function, got ${describeValue(fn)}`);
    }
    if (typeof options !== "object" || options === null) {
      throw new ConfigError(`Scheduler.add: options must be an object, got ${describeValue(options)}`);
    }
    if (options.name !== undefined && (typeof options.name !== "string" || options.name === "")) {
      throw new ConfigError(`Scheduler.add: name must be a non-empty string, got ${describeValue(options.name)}`);
    }
    this.#counter++;
    const name = options.name ?? (fn.name !== "" ? fn.name : `task-${this.#counter}`);
    // Validate at registration: a schedule that cannot give a next run fails here, not in a timer.
    checkedNext(resolved, Date.now(), name);
    const task = new PeriodicTask(name, resolved, fn, options.skipIfRunning === true, this.#owner);
    this.#tasks.add(task);
    log.debug(`task "${name}" added: ${resolved.describe()}`);
    if (this.#started) task.begin();
    return task;
  }

  /** Start every task (each runs right away, then on its schedule). Idempotent. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    log.debug(`scheduler started with ${this.#tasks.size} task(s)`);
    for (const task of this.#tasks) task.begin();
  }

  /**
   * Cancel every pending run. Runs in progress finish on their own; tasks stay registered, so a
   * later {@link start} resumes them (each runs right away again). Idempotent.
   */
  stop(): void {
    if (!this.#started) return;
    this.#started = false;
    for (const task of this.#tasks) task.halt();
    log.debug("scheduler stopped");
  }

  /** A snapshot of every task, in registration order. */
  list(): TaskInfo[] {
    return [...this.#tasks].map((task) => ({
      name: task.name,
      schedule: task.schedule.describe(),
      nextRun: task.nextRun,
      running: task.running,
      runs: task.runs,
    }));
  }

  /**
   * Cancel a task and forget it (same as `task.cancel()`).
   *
   * @returns true when the task was registered here.
   */
  remove(task: PeriodicTask): boolean {
    if (!this.#tasks.has(task)) return false;
    task.cancel();
    return true;
  }

  #report(task: PeriodicTask, error: unknown): void {
    if (this.#onError === undefined) return;
    try {
      this.#onError(task.name, error);
    } catch (hookError) {
      log.error(`onError hook threw for task "${task.name}"`, hookError);
    }
  }
}

/** `schedule.nextAfter(after)`, checked to be a valid Date strictly after `after`. */
function checkedNext(schedule: Schedule, after: number, name?: string): number {
  // Described only for an error: every run of every task comes through here.
  const label = () => (name === undefined ? schedule.describe() : `task "${name}" (${schedule.describe()})`);
  let next: unknown;
  try {
    next = schedule.nextAfter(new Date(after));
  } catch (error) {
    if (error instanceof ScheduleError) throw error;
    throw new ScheduleError(`${label()}: nextAfter() threw: ${errorMessage(error)}`, { cause: error });
  }
  if (!(next instanceof Date) || Number.isNaN(next.getTime())) {
    throw new ScheduleError(`${label()}: nextAfter() must return a valid Date, got ${next instanceof Date ? "Invalid Date" : describeValue(next)}`);
  }
  if (next.getTime() <= after) {
    throw new ScheduleError(`${label()}: nextAfter(${new Date(after).toISOString()}) returned ${next.toISOString()}, which is not after it`);
  }
  return next.getTime();
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") && value !== null && typeof (value as { then?: unknown }).then === "function";
}
